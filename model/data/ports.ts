/**
 * The ports a data host's services listen on, and which of them one host serves. Kept free of
 * the flow planner's imports: the hosts planner (network/hosts.ts) reads it to list the data
 * host's ports, and the flow planner reads the hosts planner.
 */
import type { Lab, Segment } from "../lab";
import { segmentList } from "../lab";

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
