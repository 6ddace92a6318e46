/** Who may log in over SSH, planned once from the lab-wide facts. */
import type { Lab } from "../lab";
import { Cidr } from "../net";
import { compareText } from "../order";

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
