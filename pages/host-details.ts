/** A host's section on its network's page: its facts and who may talk to it. */
import { cell, code, table, type Page } from "./markdown";
import type { DocsHost, DocsVm } from "./contract";
import { recoveryPointText } from "../model/words";
import { kindText, pairAnchor, portsText, relative, sizeText, type DocsContext } from "./context";

/** Where a VM goes when its node fails, and what it loses. */
function failoverText(vm: DocsVm): string {
  if (!vm.ha)
    return `pinned${vm.passthrough.length > 0 ? ` (passes through ${vm.passthrough.join(", ")})` : ""}: down until ${cell(vm.node)} returns`;
  if (!vm.failover) return `HA, but no other node can take it: down until ${cell(vm.node)} returns`;
  return `HA: restarts on ${cell(vm.failover.to)}; recovery point: it loses ${recoveryPointText(vm.failover)}`;
}

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
    facts.push(["when its node fails", failoverText(h.vm)]);
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
