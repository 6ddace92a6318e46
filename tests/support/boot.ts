/**
 * A stand-in for systemd at boot, for boxes whose files live under a test root (HOMELAB_ROOT):
 * read the units enabled there (the `<target>.wants/` links under etc/systemd/system), order
 * them by their own Before=/After=, and run each unit's ExecStartPre=, ExecStart= and
 * ExecStartPost= lines one after the other, as systemd runs a oneshot service: the first line
 * that fails ends the unit (unless it starts with `-`), and a unit that Requires= a unit which
 * failed is not started at all. Nothing is hard-coded: the commands are the rendered unit's own.
 *
 * Paths: a command word that names a file under the root (`/etc/nftables.conf`, the installed
 * script) is read from the root, as if the root were `/`; programs (`/usr/sbin/nft`) are the
 * host's. Not modelled: the rest of systemd's unit semantics (conditions, environment files,
 * targets' own dependencies); the units this lab renders use none of them.
 */
import * as fs from "fs";
import * as path from "path";
import type { Run } from "./proc";

/** One command line of a unit. */
export interface UnitCommand {
  readonly argv: readonly string[];
  /** `-` prefix: a failure does not end the unit. */
  readonly ignoreFailure: boolean;
}

/** One unit as read from the root. */
export interface BootUnit {
  readonly name: string;
  readonly text: string;
}

/** What one command did. */
export interface BootStep {
  readonly unit: string;
  readonly argv: readonly string[];
  readonly run: Run;
}

/** `key=value` lines of a unit, in order, by section. Continuation lines and quoting are not used by the lab's units and refused. */
export function unitEntries(text: string): { section: string; key: string; value: string }[] {
  const out: { section: string; key: string; value: string }[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    if (line.endsWith("\\") || /["']/.test(line)) throw new Error(`boot: unit line not modelled here (continuation or quoting): ${line}`);
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`boot: not a key=value line: ${line}`);
    out.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}

/** The commands systemd runs to start a service unit, in its order. */
export function startCommands(text: string): UnitCommand[] {
  const entries = unitEntries(text).filter((e) => e.section === "Service");
  return ["ExecStartPre", "ExecStart", "ExecStartPost"].flatMap((key) =>
    entries
      .filter((e) => e.key === key)
      .map((e) => {
        const ignoreFailure = e.value.startsWith("-");
        const argv = e.value.replace(/^[-@:+!]+/, "").split(/\s+/);
        return { argv, ignoreFailure };
      }),
  );
}

/** The units enabled under `root`: every link in etc/systemd/system/*.wants/, read from the root by name. */
export function enabledUnits(root: string): BootUnit[] {
  const dir = path.join(root, "etc/systemd/system");
  if (!fs.existsSync(dir)) return [];
  const names = fs
    .readdirSync(dir)
    .filter((d) => d.endsWith(".wants"))
    .flatMap((d) => fs.readdirSync(path.join(dir, d)));
  return [...new Set(names)].sort().map((name) => ({ name, text: fs.readFileSync(path.join(dir, name), "utf8") }));
}

/** The units in start order: a unit named in another's Before= (or naming it in After=) starts first. */
export function bootOrder(units: readonly BootUnit[]): BootUnit[] {
  const names = new Set(units.map((u) => u.name));
  const after = new Map(units.map((u) => [u.name, new Set<string>()]));
  for (const u of units) {
    for (const e of unitEntries(u.text).filter((x) => x.section === "Unit")) {
      for (const other of e.value.split(/\s+/).filter((n) => names.has(n))) {
        if (e.key === "After") after.get(u.name)!.add(other);
        if (e.key === "Before") after.get(other)!.add(u.name);
      }
    }
  }
  const order: BootUnit[] = [];
  const left = [...units];
  while (left.length > 0) {
    const i = left.findIndex((u) => [...after.get(u.name)!].every((n) => order.some((o) => o.name === n)));
    if (i < 0) throw new Error(`boot: ordering cycle among ${left.map((u) => u.name).join(", ")}`);
    order.push(...left.splice(i, 1));
  }
  return order;
}

/** argv with every word that names a file under `root` taken from the root. */
export function reroot(argv: readonly string[], root: string): string[] {
  return argv.map((w) => (w.startsWith("/") && fs.existsSync(path.join(root, w)) ? path.join(root, w) : w));
}

/** Targets that stand for "the network is up": a unit ordered after one starts after `network`. */
const NETWORK_TARGETS = new Set(["network.target", "network-online.target"]);

/**
 * Boot: start every unit enabled under `root`, in order, each command through `exec`. Returns
 * every command that ran, with its outcome; a unit whose command failed runs no further line.
 * `network`, when given, brings the interfaces up (ifupdown's networking.service): once, before
 * the first unit ordered After= a network target, or after the last unit when none is.
 */
export async function bootUnits(
  root: string,
  exec: (argv: readonly string[]) => Promise<Run>,
  network?: () => Promise<unknown>,
): Promise<BootStep[]> {
  const steps: BootStep[] = [];
  const failed = new Set<string>();
  let networkUp = network === undefined;
  const bringUp = async () => {
    if (networkUp) return;
    networkUp = true;
    await network!();
  };
  for (const unit of bootOrder(enabledUnits(root))) {
    const afterNetwork = unitEntries(unit.text).some(
      (e) => e.section === "Unit" && e.key === "After" && e.value.split(/\s+/).some((t) => NETWORK_TARGETS.has(t)),
    );
    if (afterNetwork) await bringUp();
    const requires = unitEntries(unit.text)
      .filter((e) => e.section === "Unit" && e.key === "Requires")
      .flatMap((e) => e.value.split(/\s+/));
    if (requires.some((r) => failed.has(r))) {
      failed.add(unit.name);
      continue;
    }
    for (const c of startCommands(unit.text)) {
      const argv = reroot(c.argv, root);
      const run = await exec(argv);
      steps.push({ unit: unit.name, argv, run });
      if (run.code !== 0 && !c.ignoreFailure) {
        failed.add(unit.name);
        break;
      }
    }
  }
  await bringUp();
  return steps;
}
