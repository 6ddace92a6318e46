/** The compute domain: Proxmox nodes, VMs, passthrough devices, datastores, placement, HA and N-1 failover. */
import type { Domain } from "../rule";
import { capacityFailover, capacityNodes } from "./rules/capacity";
import { datastoresDeclared, haStorage, proxmoxOwner, vmFailover } from "./rules/ha";
import { MACHINE_RULES } from "./rules/machines";
import { vmIdsUnique, vmNics, vmPassthrough, vmReferences } from "./rules/vms";

/** The compute domain's rules. */
export const compute: Domain = {
  name: "compute",
  rules: [
    vmIdsUnique,
    vmReferences,
    vmNics,
    vmPassthrough,
    proxmoxOwner,
    datastoresDeclared,
    haStorage,
    vmFailover,
    capacityNodes,
    capacityFailover,
    ...MACHINE_RULES,
  ],
};
