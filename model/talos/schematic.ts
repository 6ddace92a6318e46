/**
 * Image Factory schematics. A schematic's id is content-addressed: the SHA-256 of the schematic
 * as the factory serialises it (Go yaml.v3: four-space indents, empty fields left out), so the
 * model can pin the id without asking the factory. Checked against the two ids the Talos docs
 * print: the vanilla schematic `customization: {}` is 376567988ad3...b4ba and one with only
 * siderolabs/qemu-guest-agent is ce4c980550dd...7515 (tests/unit/talos-schematic.test.ts).
 */
import { createHash } from "crypto";
import type { Talos } from "./schema";

/** Where the factory serves images and installers. */
export const IMAGE_FACTORY = "factory.talos.dev";

/** The schematic's YAML, byte for byte as the factory hashes it. */
export function renderSchematic(s: Talos["schematic"]): string {
  if (s.officialExtensions.length === 0) return "customization: {}\n";
  return [
    "customization:",
    "    systemExtensions:",
    "        officialExtensions:",
    ...s.officialExtensions.map((e) => `            - ${e}`),
    "",
  ].join("\n");
}

/** The schematic's id: the hex SHA-256 of its YAML. */
export function schematicId(s: Talos["schematic"]): string {
  return createHash("sha256").update(renderSchematic(s)).digest("hex");
}

/** The installer image of a schematic and Talos version: what `machine.install.image` names. */
export function installerImage(id: string, talosVersion: string): string {
  return `${IMAGE_FACTORY}/installer/${id}:${talosVersion}`;
}

/** The factory's image path of a URL: `https://factory.talos.dev/image/<id>/<version>/<file>`, or undefined. */
export function factoryImage(url: string): { readonly id: string; readonly version: string; readonly file: string } | undefined {
  const m = /^https:\/\/factory\.talos\.dev\/image\/([0-9a-f]{64})\/(v\d+\.\d+\.\d+)\/([^/]+)$/.exec(url);
  return m ? { id: m[1]!, version: m[2]!, file: m[3]! } : undefined;
}
