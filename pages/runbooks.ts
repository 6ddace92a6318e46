/**
 * The runbooks for the bad nights (docs/runbooks/): a node down, a firewall dead, an NVMe lost, a
 * service down, a restore from backup. Each is the lab's own facts (which VMs a node carries and
 * where they go, each router's box and path, each service's hops, each ledger entry's restore)
 * around fixed steps, read from the docs contracts only. The alerts' own runbooks are the
 * monitoring pages'.
 */
import type { DocsBackupEntry, SegmentDocs } from "../model/contracts";
import { nav, relative, type DocsContext } from "./context";
import { cell, code, Page, table } from "./markdown";

/** One bad-night runbook. */
export interface Runbook {
  readonly path: string;
  readonly title: string;
  readonly summary: string;
  readonly render: (ctx: DocsContext, from: string) => Page;
}

function start(from: string, title: string, intro: string): Page {
  const p = new Page();
  p.heading(1, title);
  p.add(`${nav(from)} · [Backups](${relative(from, "backups.md")})`);
  p.add(intro);
  return p;
}

function steps(lines: readonly string[]): string {
  return lines.map((l, i) => `${i + 1}. ${l}`).join("\n");
}

function nodeDown(ctx: DocsContext, from: string): Page {
  const p = start(
    from,
    "When a Proxmox node is down",
    "A node stopped answering (power, a kernel panic, a dead board). HA VMs restart on their failover node by themselves, from their last replica; pinned VMs are down until the node is back, or until they are restored elsewhere.",
  );
  p.add(
    steps([
      "Confirm it from another node: `ha-manager status` and `pvecm status` (quorum: a majority of the nodes must still vote). Do not fence or remove the node while it may come back.",
      "Wait for HA: each HA VM below moves to its failover node within a few minutes; its disks are its last replica there, at most its replication interval old (docs/backups.md, Storage replication).",
      "For each pinned VM of the node, decide: wait for the node, or restore its last backup on another node ([Restore from backup](restore-from-backup.md)). A VM with a passed-through device runs only where that device is.",
      "When the node is back: `ha-manager status` shows its VMs' replicas catching up; HA VMs move back by themselves (no failback pinning is set). Check the pinned VMs started.",
      "If the node is lost for good: [When an NVMe is lost](when-an-nvme-is-lost.md), from step 3.",
    ]),
  );
  const pl = ctx.dmz.placement;
  p.heading(2, "What each node's loss does");
  p.add(
    table(
      ["node", "HA VMs move", "pinned VMs down"],
      pl.failover.map((f) => [
        code(f.failed),
        f.moves.length === 0 ? "none" : f.moves.map((m) => `${code(m.vm)} → ${code(m.to)}`).join(", "),
        f.down.length === 0 ? "none" : f.down.map((v) => code(v)).join(", "),
      ]),
    ),
  );
  return p;
}

function firewallDead(ctx: DocsContext, from: string): Page {
  const p = start(
    from,
    "When a segment's firewall is dead",
    "A router box died (its NVMe, its board) or its configuration is lost. Its whole configuration is code: the ruleset, DHCP, sshd, routes and its end of the WireGuard tunnel are rendered from this repository and deployed by `pulumi up -s <segment>`. Its segment is cut off meanwhile: nothing reaches it and nothing leaves it.",
  );
  p.add(
    steps([
      "Take a replacement box with the same number of ports (or spare ports) and install Debian on it (no desktop; the installer's network is enough for apt).",
      "If it is other hardware, write its WAN port's MAC as `wanMac` of its box under `hardware.routers` in `homelab.yaml` (and its interface names as `wanInterface`/`lanInterface`), run `npm run check`, and deploy the DMZ after the segment: every DMZ party binds the router's WAN address to that MAC.",
      "On a trusted machine: `npm run bootstrap -- <router>`. It pins a new host key in `Pulumi.<segment>.yaml` (commit it, run `npm run docs`) and writes `out/bootstrap/<router>-bootstrap.sh`, root-only: it holds the box's private host key.",
      "Copy the script to the box with the router's tunnel key (`pulumi config get --show-secrets homelab:wireguardKey -s <segment> > wireguard.key`) and run, from its console, `sudo bash <router>-bootstrap.sh < wireguard.key`: it installs the packages, the deploy user and its one sudo rule, the host key, the WAN and LAN addresses, and applies and confirms the router's first release with its own apply.sh, then deletes itself. Reboot the box. The jump host VM itself lives on Proxmox and is unaffected.",
      "Run `pulumi up -s <segment>`: from now on every change goes through the release, which uploads every rendered file, applies it with the commit-confirm watchdog and confirms it over a fresh connection. The WireGuard private key is still the stack's secret `homelab:wireguardKey`; apply.sh checks it against `router.tunnel.publicKey`.",
      "Check: `npm run docs` is unchanged; from an admin workstation `ssh <jump alias>` works (docs/ssh.md); a published service of the segment answers through the proxy; the monitor scrapes the router again.",
      "Write down what failed in the box's `description`, so the next one is bought knowing.",
    ]),
  );
  p.heading(2, "The routers");
  p.add(
    table(
      ["segment", "router", "box", "WAN", "LAN", "jump host", "deploy"],
      ctx.segments.map((s: SegmentDocs) => [
        code(s.name),
        code(s.router.name),
        `${code(s.router.hardware)} (${s.router.linkGbps} Gb/s)`,
        `${code(s.router.wanInterface)} ${code(s.router.wanAddress)} ${code(s.router.wanMac)}`,
        `${code(s.router.lanInterface)} ${code(s.router.lanAddress)}`,
        `${code(s.jumpHost.name)} ${code(s.jumpHost.address)}`,
        code(`pulumi up -s ${s.name}`),
      ]),
    ),
  );
  return p;
}

function nvmeLost(ctx: DocsContext, from: string): Page {
  const p = start(
    from,
    "When a node's NVMe is lost",
    "A node's disk failed (SMART critical warning, media errors, or gone). Every VM disk on its node-local ZFS is gone with it: HA VMs come back from their replica on their failover node, pinned VMs only from their last backup.",
  );
  p.add(
    steps([
      "If the disk is still readable, migrate what you can off the node now (`ha-manager crm-command node-maintenance enable <node>` moves its HA VMs) and back up the pinned VMs by hand (`vzdump <vmid> --storage <backup storage> --mode snapshot`).",
      "Otherwise treat it as [a node down](when-a-node-is-down.md): HA VMs restart from their replicas.",
      "Replace the disk, install Proxmox VE on the node with its old name and address (`hardware.proxmox.nodes` in `homelab.yaml`), and join it to the cluster (`pvecm add <another node>`); remove the dead node's old entry first (`pvecm delnode <node>`) if it was removed.",
      "Recreate the node's datastores (its `local-zfs` pool) and the backup storage, then `pulumi up -s <stack>` for every stack with VMs on it: each re-creates its images, user-data snippets, HA rules and replications.",
      "Restore each pinned VM of the node from its last backup ([Restore from backup](restore-from-backup.md)); a VM declared `none` in the ledger is re-created empty by `pulumi up` and reinstalled.",
    ]),
  );
  p.heading(2, "VMs on each node's disks");
  const entries = ctx.segments.flatMap((s) => s.backups?.entries ?? []);
  const backupOf = (segment: string, host: string) => entries.find((e) => e.id === `${segment}/vm:${host}`);
  p.add(
    table(
      ["node", "VM", "comes back from"],
      ctx.dmz.placement.vms.map((v) => {
        const b = backupOf(v.segment, v.host);
        const from = v.failover
          ? `its replica on ${code(v.failover.to)}${v.failover.replicationMinutes !== undefined ? ` (at most ${v.failover.replicationMinutes} min old)` : ""}`
          : b
            ? `its backup (${code(b.id)}, ${b.kind === "vzdump" ? code(b.schedule!) : b.kind})`
            : "nowhere: stateless, re-created by `pulumi up` and rebuilt from code";
        return [code(v.node), code(`${v.segment}/${v.host}`), from];
      }),
    ),
  );
  return p;
}

function serviceDown(ctx: DocsContext, from: string): Page {
  const p = start(
    from,
    "When a published service is down",
    "A name does not answer, or answers 502 or 504. Walk its path from the outside in: DNS, the proxy on the infra host, the WireGuard tunnel to the segment's firewall, the firewall's DNAT, the backend.",
  );
  p.add(
    steps([
      `DNS: \`dig +short <name> @${ctx.dmz.dmz.dns}\` gives the proxy, ${code(ctx.dmz.dmz.proxy)}.`,
      "The proxy: on the infra host, `systemctl status homelab-nginx` and `journalctl -u homelab-nginx`; a 502 after a backend's certificate changed means its pin or CA in the lab is stale (README, Changing the lab).",
      "The tunnel: on the infra host, `wg show wg-homelab` (a recent handshake with the router's peer); on the router, `systemctl status homelab-wireguard`.",
      "The firewall: on the router, `nft list counters` (a drop counter that moves names the rule that drops it) and `systemctl status homelab-router`.",
      "The backend: from the segment's jump host, connect to the backend's address and port below; then its own logs on the host. If it lost its data, [restore it](restore-from-backup.md).",
    ]),
  );
  p.heading(2, "Each service's path");
  p.add(
    table(
      ["service", "segment", "proxy", "firewall (tunnel)", "backend"],
      ctx.segments.flatMap((s) =>
        s.services.map((sv) => [
          code(sv.name),
          code(s.name),
          code(sv.url ?? sv.endpoint ?? sv.name),
          code(s.router.name),
          code(`${sv.backend.host}:${sv.backend.port}`),
        ]),
      ),
    ),
  );
  return p;
}

function restoreSteps(e: DocsBackupEntry): string {
  switch (e.kind) {
    case "vzdump":
      return `Proxmox UI: Datacenter > Storage ${code(e.storage!)} > Backups, the newest of VM ${code(String(e.vmId!))}, Restore (or \`qmrestore <archive> ${e.vmId!}\`); to look inside without replacing it, restore to a free VM id`;
    case "dump":
      return `restore ${code(e.via!)} (to a free VM id) or take the live host's file; then, on ${code(e.host!)}, \`zcat ${e.location!}/<database>.gz \\| mariadb <database>\``;
    case "included":
      return `restore ${code(e.via!)}'s backup to a free VM id, copy the files back, then delete the copy`;
    case "none":
      return `nothing to restore: ${cell(e.reason!)}`;
  }
}

function restore(ctx: DocsContext, from: string): Page {
  const p = start(
    from,
    "Restore from backup",
    "What to restore, from where, per ledger entry ([the ledger](../backups.md)). Restore to a new VM id first when you can, check it, then swap: a backup restored over a running VM cannot be undone.",
  );
  p.add(
    steps([
      "Find the newest good copy: the freshness series of the entry (`homelab_backup_last_success_timestamp_seconds`) says when the last one succeeded.",
      "Stop what writes to the thing (the app in the cluster for a database) so nothing changes under the restore.",
      "Restore as the entry says below, and start it again.",
      "Configuration is code: a router or a NixOS host's configuration is restored by `pulumi up -s <stack>`, never from a backup.",
    ]),
  );
  const entries = ctx.segments.flatMap((s) => s.backups?.entries ?? []);
  p.add(
    table(
      ["id", "kind", "how"],
      entries.map((e) => [code(e.id), code(e.kind), restoreSteps(e)]),
    ),
  );
  return p;
}

/** Every bad-night runbook, in the order the ledger page lists them. */
export const RUNBOOKS: readonly Runbook[] = [
  {
    path: "runbooks/when-a-node-is-down.md",
    title: "When a Proxmox node is down",
    summary: "what moves where, what waits",
    render: nodeDown,
  },
  {
    path: "runbooks/when-a-firewall-is-dead.md",
    title: "When a segment's firewall is dead",
    summary: "rebuild it from code, step by step",
    render: firewallDead,
  },
  {
    path: "runbooks/when-an-nvme-is-lost.md",
    title: "When a node's NVMe is lost",
    summary: "replicas, backups, rebuilding the node",
    render: nvmeLost,
  },
  {
    path: "runbooks/when-a-service-is-down.md",
    title: "When a published service is down",
    summary: "its path, hop by hop",
    render: serviceDown,
  },
  { path: "runbooks/restore-from-backup.md", title: "Restore from backup", summary: "per ledger entry", render: restore },
];

/** The runbooks' pages. */
export function renderRunbooks(ctx: DocsContext): { path: string; content: string }[] {
  return RUNBOOKS.map((r) => ({ path: r.path, content: r.render(ctx, r.path).text() }));
}
