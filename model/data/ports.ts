/**
 * The ports a data host's services listen on, and which of them one host serves. Kept free of
 * the flow planner's imports: the hosts planner (network/hosts.ts) reads it to list the data
 * host's ports, and the flow planner reads the hosts planner.
 */
import type { Lab, Segment } from "../lab";
import { segmentList } from "../lab";

/** The system account every NFS client's writes are squashed to, owner of the exports. */
export const NFS_ACCOUNT = { name: "nfsdata", id: 2049 } as const;

/**
 * Account names a data host already has or declares (besides the model's admins and deploy
 * user): a Samba user, which is a system account too, must take none of them.
 */
export const DATA_HOST_ACCOUNTS: readonly string[] = ["root", "nobody", "mysql", "sshd", NFS_ACCOUNT.name, "docker-registry", "nixbld"];

/** The group that owns a Samba share's directory; its users are its members. */
export function shareGroup(share: string): string {
  return `smb-${share.toLowerCase()}`;
}

/** MariaDB's port is NixOS's default, which the module always sets; NFS and SMB are the protocols' own. */
export const DATA_PORTS = { mariadb: 3306, nfs: 2049, smb: 445 } as const;

/** The ports `seg`'s host `id` serves as the segment's data host (none for any other host), ascending. */
export function dataHostPorts(lab: Lab, seg: Segment, id: string): number[] {
  const dh = seg.dataHost;
  if (dh?.host !== id) return [];
  // storage.targets holds every server to `<segment>/<host>`, the form resolveTarget reads.
  const nfs = segmentList(lab).some((s) =>
    Object.values(s.storage).some((st) => st.protocol === "nfs" && st.server === `${seg.name}/${id}`),
  );
  const ports = [
    ...(dh.mariadb ? [DATA_PORTS.mariadb] : []),
    ...(nfs ? [DATA_PORTS.nfs] : []),
    ...(dh.samba ? [DATA_PORTS.smb] : []),
    ...(dh.registry ? [dh.registry.port] : []),
  ];
  return [...new Set(ports)].sort((a, b) => a - b);
}
