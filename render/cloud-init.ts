/**
 * Cloud-init user data (`#cloud-config`) that locks down a Debian or Ubuntu VM at its first
 * boot: the admins from the model as the only accounts (no distribution default user), keys
 * only and every password locked, root login off, and the lab's hardened sshd settings as a
 * drop-in that the distribution's sshd_config includes first (render/sshd.ts, the same
 * renderer every router and NixOS host gets), with the keys where that sshd looks for them.
 * Checked by `cloud-init schema` in tests/tools.
 *
 * Printed from a plain value with the yaml library, keys in a fixed order, so the same model
 * always gives the same bytes. It holds no secret: public keys, names and addresses only.
 */
import { stringify } from "yaml";
import type { UserDataPlan } from "../model/compute/cloud-init";
import type { SshAccess } from "../model/network/ssh";
import type { RenderedFile } from "./files";
import { generatedHeader } from "./header";
import { renderAuthorizedKeys, renderSshdConfig } from "./sshd";

/** The folder of a stack's plan output that holds its VMs' user data, one file per snippet. */
export const USER_DATA_DIR = "user-data";

/** Where the drop-in goes: first in `Include /etc/ssh/sshd_config.d/*.conf`, so its settings win (sshd keeps the first value). */
export const SSHD_DROP_IN = "/etc/ssh/sshd_config.d/00-homelab.conf";

/** The group that may sudo on Debian and Ubuntu. */
const SUDO_GROUP = "sudo";

/** The SSH access the user data grants: the admins only (nothing deploys to these VMs after their first boot). */
export function userDataAccess(plan: UserDataPlan): SshAccess {
  return { users: plan.admins.map((a) => ({ name: a.name, keys: a.keys, deploy: false })), adminSources: [] };
}

/** The sshd drop-in of one VM: the lab's policy, logins from the segment's jump host only. */
export function renderUserDataSshd(plan: UserDataPlan): string {
  return renderSshdConfig(
    {
      role: `${plan.fqdn} (${plan.os} VM)`,
      // Every address: the VM gets its address by DHCP, and sshd would fail to bind one that is not up yet.
      listen: [],
      allowFrom: plan.allowFrom,
      forwarding: { kind: "none" },
      file: "drop-in",
    },
    userDataAccess(plan),
  );
}

/** The `#cloud-config` text of one VM. */
export function renderUserData(plan: UserDataPlan): string {
  const access = userDataAccess(plan);
  const file = (path: string, content: string) => ({ path, owner: "root:root", permissions: "0644", content });
  const config = {
    hostname: plan.host,
    fqdn: plan.fqdn,
    manage_etc_hosts: true,
    // No `default` entry: the image's default user (debian, ubuntu) is not created.
    users: plan.admins.map((a) => ({
      name: a.name,
      gecos: a.fullName,
      groups: [SUDO_GROUP],
      shell: "/bin/bash",
      // No password exists, so the account's password is locked and sudo asks for none
      // (the same trade-off as wheel on the NixOS hosts: an admin's key is root here).
      lock_passwd: true,
      sudo: "ALL=(ALL) NOPASSWD:ALL",
    })),
    disable_root: true,
    ssh_pwauth: false,
    // The host key is made once, by the guest: Proxmox derives the instance id from the user data,
    // so a changed user data is a new instance, and deleting the keys then would change the pinned key.
    ssh_deletekeys: false,
    ssh_genkeytypes: ["ed25519"],
    write_files: [
      file(SSHD_DROP_IN, renderUserDataSshd(plan)),
      ...renderAuthorizedKeys("/etc/ssh", access).map((k) => file(`/${k.path.replace(/^\/+/, "")}`, k.content)),
    ],
  };
  const header = generatedHeader("#", `cloud-init user data of ${plan.fqdn} (${plan.description})`, "render/cloud-init.ts");
  return `#cloud-config\n${header}${stringify(config, { lineWidth: 0, blockQuote: "literal", defaultStringType: "PLAIN" })}`;
}

/** Every VM's user data as a file under USER_DATA_DIR, named as its snippet. */
export function renderUserDataFiles(plans: readonly UserDataPlan[]): RenderedFile[] {
  return plans.map((p) => ({ path: `${USER_DATA_DIR}/${p.fileName}`, content: renderUserData(p), checker: "cloud-init" as const }));
}
