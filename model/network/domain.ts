/** The network domain: segments, addressing, the DMZ, flows, routers and SSH access. */
import type { Domain } from "../rule";
import { addressesInNetwork, addressesUnique, dhcpPool, subnetsDisjoint } from "./rules/addresses";
import { servicesAuthBypass, servicesAuthEnforced } from "./rules/auth";
import { egressAllowlist } from "./rules/egress";
import { flowsTargets, segmentsIsolated, storageTargets, untrustedReasons } from "./rules/flows";
import { macsUnique, namesUnique } from "./rules/names";
import { refsDmzSegments, refsHardwareSegments, refsRouters } from "./rules/refs";
import { servicesAuth, servicesBackends, servicesNames, servicesPorts, servicesUsedBy } from "./rules/services";
import { tlsExpiry, tlsSource } from "./rules/tls";
import { servicesTls, tlsBackendCas } from "./rules/backend-tls";
import { tunnelAddresses, tunnelKeys, tunnelPeers, tunnelSubnet } from "./rules/tunnel";
import { holesUntil } from "./rules/until";
import { sshHostKeys, sshJumpHosts, sshKeys } from "./rules/ssh";
import { routerInterfaces, vmVlans } from "./rules/interfaces";
import { jumpHostRendering } from "./rules/jump";

/** The network domain's rules. */
export const network: Domain = {
  name: "network",
  rules: [
    subnetsDisjoint,
    addressesInNetwork,
    dhcpPool,
    addressesUnique,
    namesUnique,
    macsUnique,
    servicesBackends,
    servicesAuth,
    servicesUsedBy,
    servicesAuthEnforced,
    servicesAuthBypass,
    servicesPorts,
    servicesNames,
    servicesTls,
    sshJumpHosts,
    sshHostKeys,
    sshKeys,
    flowsTargets,
    storageTargets,
    untrustedReasons,
    segmentsIsolated,
    egressAllowlist,
    refsRouters,
    refsHardwareSegments,
    refsDmzSegments,
    routerInterfaces,
    vmVlans,
    jumpHostRendering,
    tlsSource,
    tlsExpiry,
    holesUntil,
    tlsBackendCas,
    tunnelSubnet,
    tunnelAddresses,
    tunnelKeys,
    tunnelPeers,
  ],
};
