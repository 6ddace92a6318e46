/**
 * Every file of a segment's NixOS data host: its configuration.nix with MariaDB, NFS, Samba and
 * the registry (render/data-services.ts), the files it carries, its host firewall (every flow
 * that ends at it, the same list the routers enforce), and sshd for the jump host only.
 */
import { TEXTFILE_DIR } from "../model/backup/plan";
import type { DataHostPlan } from "../model/data/plan";
import {
  FRESHNESS_SCRIPT,
  freshnessSection,
  type HostBackup,
  mysqlBackupSection,
  renderFreshnessScript,
  TEXTFILE_TMPFILES,
} from "./backups";
import { Cidr } from "../model/net";
import type { SshAccess } from "../model/network/ssh";
import type { SegmentPlan } from "../model/plan";
import {
  DATA_FILES,
  dataCompanions,
  mariadbSettings,
  NFS_ACCOUNT,
  PASSWORD_DIR,
  REGISTRY_CREDENTIAL,
  sambaSettings,
  scriptUnit,
  type SecretVersions,
  shareGroup,
  triggers,
} from "./data-services";
import { sortFiles, type RenderedFile } from "./files";
import { iniToNix } from "./ini";
import { flowsEndingAt, type HostFirewallRule } from "./host-firewall";
import { segmentLanHost } from "./nixos-base";
import type { JumpLabFacts } from "./jump";
import { NixAttrs, NixRaw, nixAttrs, nixPath, printKey, type NixSection } from "./nix";
import { canonicalAccess, nixosHostFiles, type NixosHostSpec } from "./nixos";

function mariadbSection(plan: DataHostPlan, versions: SecretVersions): NixSection {
  const m = plan.mariadb!;
  return {
    comment: [
      "MariaDB on the segment address. Users, passwords and grants: homelab-mariadb-users runs",
      `${DATA_FILES.mariadbUsers} with each user's password file (${PASSWORD_DIR}); ensureUsers would make`,
      "socket-only accounts, and initialScript runs once and would put passwords in the store.",
    ],
    entries: [
      ["services.mysql.enable", true],
      ["services.mysql.package", new NixRaw("pkgs.mariadb")],
      ["services.mysql.settings", iniToNix(mariadbSettings(plan))],
      [
        "systemd.services.homelab-mariadb-users",
        scriptUnit({
          description: "MariaDB users, passwords and grants from the model",
          script: DATA_FILES.mariadbUsers,
          after: "mysql.service",
          path: ["mariadb"],
          triggers: triggers(
            versions,
            m.users.map((u) => u.file),
          ),
        }),
      ],
    ],
  };
}

function nfsSection(): NixSection {
  return {
    comment: [
      `NFS: ${DATA_FILES.exports} as tested, one entry per storage consumer; every client's writes are ${NFS_ACCOUNT.name}'s.`,
      "The flows open 2049/tcp only, so clients mount NFSv4.",
    ],
    entries: [
      ["services.nfs.server.enable", true],
      ["services.nfs.server.exports", new NixRaw(`builtins.readFile ${nixPath(DATA_FILES.exports).text}`)],
      [`users.users.${NFS_ACCOUNT.name}`, nixAttrs({ isSystemUser: true, uid: NFS_ACCOUNT.id, group: NFS_ACCOUNT.name })],
      [`users.groups.${NFS_ACCOUNT.name}.gid`, NFS_ACCOUNT.id],
    ],
  };
}

function sambaSection(plan: DataHostPlan, prefix: number, versions: SecretVersions): NixSection {
  const samba = plan.samba!;
  const groupsOf = (user: string) => samba.shares.filter((s) => s.users.includes(user)).map((s) => shareGroup(s.name));
  return {
    comment: [
      "Samba: SMB3 on 445/tcp of the segment address only, no NetBIOS, no winbind; each share admits",
      `its users from its consumers' addresses. Passwords: homelab-samba-users runs ${DATA_FILES.sambaUsers}.`,
    ],
    entries: [
      ["services.samba.enable", true],
      ["services.samba.openFirewall", false],
      ["services.samba.nmbd.enable", false],
      ["services.samba.winbindd.enable", false],
      ["services.samba.settings", iniToNix(sambaSettings(plan, prefix))],
      ...samba.users.flatMap((u) => [
        [`users.users.${printKey(u.name)}`, nixAttrs({ isSystemUser: true, group: u.name, extraGroups: groupsOf(u.name) })] as const,
        [`users.groups.${printKey(u.name)}`, new NixAttrs([])] as const,
      ]),
      ...samba.shares.map((s) => [`users.groups.${printKey(shareGroup(s.name))}`, new NixAttrs([])] as const),
      [
        "systemd.services.homelab-samba-users",
        scriptUnit({
          description: "Samba users and passwords from the model",
          script: DATA_FILES.sambaUsers,
          after: "samba-smbd.service",
          path: ["samba"],
          triggers: triggers(
            versions,
            samba.users.map((u) => u.file),
          ),
        }),
      ],
    ],
  };
}

function registrySection(plan: DataHostPlan, versions: SecretVersions): NixSection {
  const r = plan.registry!;
  return {
    comment: [
      "The container registry authenticates every client against its htpasswd, which systemd hands",
      "the unit as a credential: readable by the registry's user only, never in the store.",
    ],
    entries: [
      ["services.dockerRegistry.enable", true],
      ["services.dockerRegistry.listenAddress", plan.address],
      ["services.dockerRegistry.port", r.port],
      ["services.dockerRegistry.openFirewall", false],
      ["services.dockerRegistry.extraConfig.auth.htpasswd", nixAttrs({ realm: `registry of ${plan.fqdn}`, path: REGISTRY_CREDENTIAL })],
      ["systemd.services.docker-registry.serviceConfig.LoadCredential", [`htpasswd:${PASSWORD_DIR}/${r.file}`]],
      ["systemd.services.docker-registry.restartTriggers", triggers(versions, [r.file])],
    ],
  };
}

/** The backups the data host runs, for its freshness files. */
function hostBackups(plan: DataHostPlan): HostBackup[] {
  return plan.mysqlBackup ? [{ id: plan.mysqlBackup.ledgerId, maxAgeSeconds: plan.mysqlBackup.maxAgeSeconds }] : [];
}

/** The NixOS sections of a data host's services, in a fixed order. */
export function dataHostSections(plan: DataHostPlan, prefix: number, versions: SecretVersions): NixSection[] {
  const backups = hostBackups(plan);
  return [
    ...(plan.mariadb ? [mariadbSection(plan, versions)] : []),
    ...(plan.mysqlBackup ? [mysqlBackupSection(plan.mysqlBackup)] : []),
    ...(plan.nfs.length > 0 ? [nfsSection()] : []),
    ...(plan.samba ? [sambaSection(plan, prefix, versions)] : []),
    ...(plan.registry ? [registrySection(plan, versions)] : []),
    ...(backups.length > 0 ? [freshnessSection(backups)] : []),
  ];
}

/** The directories the services need, with their owners: NFS exports for NFS_ACCOUNT, each share for its group. */
function dataTmpfiles(plan: DataHostPlan): string[] {
  return [
    ...(hostBackups(plan).length > 0 ? [TEXTFILE_TMPFILES] : []),
    ...plan.nfs.map((e) => `d ${e.path} 0770 ${NFS_ACCOUNT.name} ${NFS_ACCOUNT.name} -`),
    ...(plan.samba?.shares ?? []).map((s) => `d ${s.path} 2770 root ${shareGroup(s.name)} -`),
  ];
}

/** The data host's firewall: every flow that ends at its address (the routers enforce the same list), by source. */
export function dataHostFirewall(seg: SegmentPlan, plan: DataHostPlan): HostFirewallRule[] {
  return flowsEndingAt(seg, plan.address);
}

/** The data host as a NixOS host: on the segment's LAN, behind its router, using the DMZ's DNS and NTP. */
function dataHostSpec(seg: SegmentPlan, plan: DataHostPlan, access: SshAccess, lab: JumpLabFacts, versions: SecretVersions): NixosHostSpec {
  const served = [plan.mariadb && "MariaDB", plan.nfs.length > 0 && "NFS", plan.samba && "SMB", plan.registry && "registry"].filter(
    (x): x is string => typeof x === "string",
  );
  const base = segmentLanHost(seg, plan.id, plan.address, access, lab);
  // A host that runs backups exports their freshness through its node exporter's textfile collector.
  const textfile = hostBackups(plan).length > 0;
  return {
    role: `data host of ${seg.name}: ${served.join(", ")}`,
    ...base,
    ...(textfile
      ? { exporters: (base.exporters ?? []).map((e) => (e.kind === "node" ? { ...e, textfileDirectory: TEXTFILE_DIR } : e)) }
      : {}),
    tmpfiles: dataTmpfiles(plan),
    sections: dataHostSections(plan, seg.subnet.prefix, versions),
    companions: [...dataCompanions(plan).map((c) => c.file), ...(textfile ? [FRESHNESS_SCRIPT] : [])],
  };
}

/**
 * Every file of the segment's data host under `<host id>/`, sorted. `versions` are the secret
 * files' public fingerprints (the stack's ciphertexts), which restart the units that read them.
 */
export function renderDataHostFiles(seg: SegmentPlan, sshAccess: SshAccess, lab: JumpLabFacts, versions: SecretVersions): RenderedFile[] {
  const plan = seg.dataHost;
  if (!plan) throw new Error(`bug: segment ${seg.name} has no data host`);
  const access = canonicalAccess(sshAccess);
  const host = nixosHostFiles({
    dir: plan.id,
    spec: dataHostSpec(seg, plan, access, lab, versions),
    label: `data host of ${seg.name}`,
    // Admins and Pulumi come through the jump host, and only through it.
    sshd: { listen: [plan.address], allowFrom: [Cidr.host(seg.jumpHost.address)], forwarding: { kind: "none" } },
    firewall: { rules: dataHostFirewall(seg, plan) },
  });
  return sortFiles([
    ...host,
    ...dataCompanions(plan).map((c) => ({ path: `${plan.id}/${c.file}`, content: c.content, checker: c.checker })),
    ...(hostBackups(plan).length > 0
      ? [{ path: `${plan.id}/${FRESHNESS_SCRIPT}`, content: renderFreshnessScript(plan.fqdn, hostBackups(plan)), checker: "sh" as const }]
      : []),
  ]);
}
