/**
 * SSH, planned: who may log in (from the lab-wide facts), and each segment's SSH paths:
 * which boxes an admin can log in to, what ssh connects to for each, and through which
 * jump host. The client config (render/ssh-client.ts) and the docs (pages/) both read
 * these paths, so the two cannot disagree.
 */
import { keyMaterial, type Lab } from "../lab";
import { Cidr, compareIp } from "../net";
import { compareText } from "../order";
import type { SegmentPlan } from "../plan";
import type { PlannedHost } from "./hosts";

/** Who may log in over SSH, with which keys. The same list feeds every sshd and NixOS host. */
export interface SshAccess {
  /** Admins and the deploy identity, in name order. */
  readonly users: readonly { readonly name: string; readonly keys: readonly string[]; readonly deploy: boolean }[];
  /** The admins' workstations: the only sources a jump host (or the DMZ infra host) accepts. */
  readonly adminSources: readonly Cidr[];
}

/** SSH users and keys from the lab-wide facts. */
export function planSshAccess(lab: Lab): SshAccess {
  const users = [
    ...Object.entries(lab.admins).map(([name, a]) => ({ name, keys: [...a.keys], deploy: false })),
    { name: lab.ssh.deploy.user, keys: [lab.ssh.deploy.key], deploy: true },
  ].sort((a, b) => compareText(a.name, b.name));
  return { users, adminSources: lab.ssh.adminSources };
}

/** Operating systems that run an sshd an admin logs in to. Talos has no SSH; VIPs and switches are not hosts. */
export const SSH_OS: ReadonlySet<string> = new Set(["nixos", "debian", "ubuntu", "proxmox", "truenas", "synology"]);

/** One box an admin can SSH to. */
export interface SshBox {
  readonly id: string;
  readonly fqdn: string;
  /** What ssh connects to: the LAN address, or the router's WAN address for the jump host. */
  readonly hostName: string;
  /** The address inside the segment, also pinned in known_hosts. */
  readonly lanAddress: string;
  readonly why: string;
  /** The alias of the jump host in between, when there is one. */
  readonly proxyJump?: string;
  /** The pinned host key (`type base64`), when the model has one. */
  readonly hostKey?: string;
}

/** `<host>.<segment>`, the short alias of a box. */
export function sshAlias(plan: Pick<SegmentPlan, "name">, id: string): string {
  return `${id}.${plan.name}`;
}

/** The boxes of a segment an admin can SSH to: the jump host first, then the router, then hosts by address. */
export function planSshPaths(plan: SegmentPlan): SshBox[] {
  const jump = plan.jumpHost;
  const jumpAlias = sshAlias(plan, jump.id);
  const router = plan.router;
  const hostKey = (key: string | undefined) => (key ? { hostKey: keyMaterial(key) } : {});
  const behind = plan.hosts
    .filter((h) => h.id !== jump.id && SSH_OS.has(h.os))
    .sort((a, b) => compareIp(a.address, b.address) || compareText(a.id, b.id))
    .map((h: PlannedHost): SshBox => ({
      id: h.id,
      fqdn: h.fqdn,
      hostName: h.address,
      lanAddress: h.address,
      why: `${h.description} (${h.os})`,
      proxyJump: jumpAlias,
      ...hostKey(h.sshHostKey),
    }));
  return [
    {
      id: jump.id,
      fqdn: jump.fqdn,
      hostName: router.wan.address,
      lanAddress: jump.address,
      why: `${jump.description}: at ${router.name}'s WAN address, which forwards port 22 to ${jump.address} for the admin workstations only`,
      ...hostKey(jump.sshHostKey),
    },
    {
      id: router.name,
      fqdn: router.fqdn,
      hostName: router.lan.address,
      lanAddress: router.lan.address,
      why: `the segment's router; its sshd accepts the jump host only`,
      proxyJump: jumpAlias,
      ...hostKey(router.sshHostKey),
    },
    ...behind,
  ];
}
