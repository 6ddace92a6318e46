/** A host's section on its network's page: its facts and who may talk to it. */
import { cell, code, table, type Page } from "./markdown";
import type { DocsHost } from "./contract";
import { kindText, pairAnchor, portsText, relative, sizeText, type DocsContext } from "./context";

/** The facts of one host and who may talk to it. */
export function hostDetails(
  p: Page,
  ctx: DocsContext,
  from: string,
  zone: string,
  h: DocsHost,
  extra: { ssh?: string; who?: string[][] },
): void {
  const facts: string[][] = [
    ["address", code(h.address)],
    ["name", code(h.fqdn)],
    ...(h.mac ? [["MAC", code(h.mac)]] : []),
    ["role", cell(h.role)],
    ["OS", cell(h.os)],
    ["what", `${kindText(h)}: ${cell(h.description)}`],
  ];
  if (h.vm) {
    facts.push(["runs on", `Proxmox node ${cell(h.vm.node)} ([placement](${relative(from, "placement.md")}#vms)), ${sizeText(h)}`]);
    facts.push([
      "when its node fails",
      h.vm.ha
        ? "HA: it restarts on another node"
        : `pinned${h.vm.passthrough.length > 0 ? ` (passes through ${h.vm.passthrough.join(", ")})` : ""}: down until ${cell(h.vm.node)} returns`,
    ]);
  }
  if (h.listens.length > 0) facts.push(["serves", portsText(h.listens)]);
  facts.push([
    "SSH",
    extra.ssh ?? (h.sshAlias ? `\`ssh ${h.sshAlias}\` ([how](${relative(from, "ssh.md")}))` : "no SSH login (no sshd an admin logs in to)"),
  ]);
  p.add(table(["", ""], facts));
  const flows = ctx.flowsTo(zone, h.name);
  const rows = [
    ...(extra.who ?? []),
    ...flows.map((f) => [
      cell(f.from.label),
      `${portsText(f.ports)}${f.via ? ` (at ${code(f.via.address)} ${f.via.ports.join(", ")})` : ""}`,
      cell(f.reason),
      `[${code(f.id)}](${relative(from, "flows.md")}#${pairAnchor(f.from.zone, f.to.zone)})`,
    ]),
  ];
  p.add(
    rows.length === 0
      ? "Who may talk to it: nobody from another network (no flow targets it); hosts on the same network switch reach it directly."
      : `Who may talk to it (from other networks, or the flows its network allows inside; everything else is denied at the firewall):\n\n${table(["from", "ports", "reason", "flow"], rows)}`,
  );
}
