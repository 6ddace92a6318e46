/**
 * What a data host serves, rendered from its plan: MariaDB's and Samba's settings (one INI
 * document each, printed as the NixOS `settings` value and as the plain file the tools tier
 * checks), the NFS exports file, the two scripts that set users' passwords from their secret
 * files, and the NixOS sections that run it all: services.mysql, services.nfs.server,
 * services.samba, services.dockerRegistry.
 *
 * No password is ever rendered: the scripts and the registry read files of the release
 * (`PASSWORD_DIR`), which the stack fills from config secrets. Each unit that reads one names
 * the secret's public fingerprint in restartTriggers, so a new secret restarts it.
 */
import type { DataClient, DataHostPlan } from "../model/data/plan";
import { DATA_PORTS, NFS_ACCOUNT, shareGroup } from "../model/data/ports";
import { compareCidr } from "../model/net";
import { compareText } from "../model/order";
import { renderScript, type ShellFact } from "./apply-common";
import { generatedHeader } from "./header";
import { type IniDoc, type IniSection, printIni } from "./ini";
import { NixAttrs, NixInterp, NixRaw, nixPath } from "./nix";
import { NIXOS_CONFIG_DIR } from "./nixos-apply";

/** Companion files of a data host's configuration. */
export const DATA_FILES = { exports: "exports", mariadbUsers: "mariadb-users.sh", sambaUsers: "samba-users.sh" } as const;

/** Where the release's secret files land on the host: next to configuration.nix. */
export const PASSWORD_DIR = NIXOS_CONFIG_DIR;

/** The NFS exports' owner: every client's writes are squashed to this system account, never to root. */
export { NFS_ACCOUNT, shareGroup } from "../model/data/ports";

/** The registry's htpasswd, as systemd hands it to the unit (LoadCredential), readable by the registry's user only. */
export const REGISTRY_CREDENTIAL = "/run/credentials/docker-registry.service/htpasswd";

/** Public fingerprints of the secret files, by file name: what restarts a unit when a secret changes. */
export type SecretVersions = Readonly<Record<string, string>>;

const byKey = (entries: readonly (readonly [string, string])[]) => [...entries].sort((a, b) => compareText(a[0], b[0]));

/** MariaDB's settings (the [mysqld] section): the segment address only, no DNS, no client-side file loads. */
export function mariadbSettings(plan: DataHostPlan): IniDoc {
  const section: IniSection = {
    name: "mysqld",
    entries: byKey([
      // Only the segment address: the host firewall and the routers decide who reaches it.
      ["bind-address", plan.address],
      // Accounts are addresses (one per source), so a reverse lookup would only add a way to stall logins.
      ["skip-name-resolve", "ON"],
      // LOAD DATA LOCAL would let the server ask a client for any file the client can read.
      ["local-infile", "OFF"],
      ["character-set-server", "utf8mb4"],
    ]),
  };
  return [section];
}

/** Clients once each, by address. */
function allClients(clients: readonly DataClient[]): DataClient[] {
  const byCidr = new Map(clients.map((c) => [c.cidr.toString(), c]));
  return [...byCidr.values()].sort((a, b) => compareCidr(a.cidr, b.cidr));
}

function hostsAllow(clients: readonly DataClient[]): string {
  return clients.map((c) => (c.cidr.prefix === 32 ? c.cidr.network : c.cidr.toString())).join(" ");
}

/**
 * Samba's settings: a standalone server on the segment address, SMB3 only, port 445 only (the
 * flows open no other), no guests, no printers; each share admits its users from its consumers' addresses.
 */
export function sambaSettings(plan: DataHostPlan, prefix: number): IniDoc {
  const samba = plan.samba!;
  const global: IniSection = {
    name: "global",
    entries: byKey([
      ["security", "user"],
      ["server role", "standalone server"],
      ["map to guest", "Never"],
      ["restrict anonymous", "2"],
      ["interfaces", `${plan.address}/${prefix}`],
      ["bind interfaces only", "yes"],
      ["smb ports", String(DATA_PORTS.smb)],
      ["disable netbios", "yes"],
      ["server min protocol", "SMB3"],
      ["server smb encrypt", "desired"],
      ["load printers", "no"],
      ["printing", "bsd"],
      ["printcap name", "/dev/null"],
      ["disable spoolss", "yes"],
      // Everything but the shares' consumers is refused before authentication (each share narrows it to its own).
      ["hosts allow", hostsAllow(allClients(samba.shares.flatMap((sh) => sh.clients)))],
      ["hosts deny", "ALL"],
    ]),
  };
  const shares = samba.shares.map((s): IniSection => ({
    name: s.name,
    entries: byKey([
      ["path", s.path],
      ["valid users", s.users.join(" ")],
      ["hosts allow", hostsAllow(s.clients)],
      ["read only", s.readOnly ? "yes" : "no"],
      ["guest ok", "no"],
      ["browseable", "no"],
      ["force group", shareGroup(s.name)],
      ["create mask", "0660"],
      ["directory mask", "2770"],
    ]),
  }));
  return [global, ...shares];
}

/** The plain my.cnf of the same settings, as NixOS writes it (pkgs.formats.ini: `key=value`). */
export function renderMariadbConf(plan: DataHostPlan): string {
  return printIni(
    generatedHeader("#", `my.cnf of ${plan.fqdn} (the settings services.mysql.settings gets)`, "render/data-services.ts"),
    mariadbSettings(plan),
    "compact",
  );
}

/** The plain smb.conf of the same settings. */
export function renderSmbConf(plan: DataHostPlan, prefix: number): string {
  return printIni(
    generatedHeader("#", `smb.conf of ${plan.fqdn} (the settings services.samba.settings gets)`, "render/data-services.ts"),
    sambaSettings(plan, prefix),
    "spaced",
  );
}

/** The NFS export options: every client's writes squashed to NFS_ACCOUNT, synchronous, no subtree checks. */
export const NFS_OPTIONS = `rw,sync,no_subtree_check,all_squash,anonuid=${NFS_ACCOUNT.id},anongid=${NFS_ACCOUNT.id}`;

/** /etc/exports: one line per export, one entry per consumer address (exports(5)). */
export function renderExports(plan: DataHostPlan): string {
  const header = generatedHeader(
    "#",
    `/etc/exports of ${plan.fqdn}: one entry per storage consumer (NFSv4 over 2049/tcp only)`,
    "render/data-services.ts",
  );
  const lines = plan.nfs.map((e) => [e.path, ...e.clients.map((c) => `${hostsAllow([c])}(${NFS_OPTIONS})`)].join(" "));
  return `${header}${lines.map((l) => `${l}\n`).join("")}`;
}

/** mariadb-users.sh: the users' accounts, passwords and grants, from the facts; passwords from PASSWORD_DIR. */
export function renderMariadbUsers(plan: DataHostPlan): string {
  const m = plan.mariadb!;
  const facts: ShellFact[] = [
    { name: "PASSWORD_DIR", value: PASSWORD_DIR, comment: "Where each user's password file lies: mariadb-<user>.password." },
    { name: "DATABASES", value: m.databases.map((d) => ({ value: d })) },
    { name: "USERS", value: m.users.map((u) => ({ value: u.name })) },
    {
      name: "ACCOUNTS",
      comment: "<user> <host> <databases, comma-separated>: one account per user and source.",
      value: m.users.flatMap((u) => u.accounts.map((a) => ({ value: `${a.user} ${a.host} ${a.databases.join(",")}`, comment: a.source }))),
    },
  ];
  return renderScript(generatedHeader("#", `mariadb-users.sh of ${plan.fqdn}`, "render/data-services.ts"), facts, "mariadb-users");
}

/** samba-users.sh: the Samba users' passwords from PASSWORD_DIR, and no other Samba user. */
export function renderSambaUsers(plan: DataHostPlan): string {
  const facts: ShellFact[] = [
    { name: "PASSWORD_DIR", value: PASSWORD_DIR, comment: "Where each user's password file lies: samba-<user>.password." },
    { name: "USERS", value: plan.samba!.users.map((u) => ({ value: u.name })) },
  ];
  return renderScript(generatedHeader("#", `samba-users.sh of ${plan.fqdn}`, "render/data-services.ts"), facts, "samba-users");
}

/** Every companion file a data host's configuration carries besides the common ones, with its checker. */
export function dataCompanions(plan: DataHostPlan): { file: string; content: string; checker: "sh" | "exports" }[] {
  return [
    ...(plan.nfs.length > 0 ? [{ file: DATA_FILES.exports, content: renderExports(plan), checker: "exports" as const }] : []),
    ...(plan.mariadb ? [{ file: DATA_FILES.mariadbUsers, content: renderMariadbUsers(plan), checker: "sh" as const }] : []),
    ...(plan.samba ? [{ file: DATA_FILES.sambaUsers, content: renderSambaUsers(plan), checker: "sh" as const }] : []),
  ];
}

/** The fingerprints of `files`, as restart triggers. */
export function triggers(versions: SecretVersions, files: readonly string[]): string[] {
  return files.map((f) => {
    const v = versions[f];
    if (v === undefined) throw new Error(`bug: no fingerprint for the secret file ${f}`);
    return `${f}:${v}`;
  });
}

/** A oneshot that runs one of the scripts with bash, after `after`, with `path` on its PATH. */
export function scriptUnit(opts: {
  description: string;
  script: string;
  after: string;
  path: readonly string[];
  triggers: readonly string[];
}): NixAttrs {
  return new NixAttrs([
    [["description"], opts.description],
    [["wantedBy"], ["multi-user.target"]],
    [["requires"], [opts.after]],
    [["after"], [opts.after]],
    [["path"], opts.path.map((p) => new NixRaw(`pkgs.${p}`))],
    // A new secret changes nothing else in the unit: its fingerprint restarts it.
    [["restartTriggers"], [...opts.triggers]],
    [
      ["serviceConfig"],
      new NixAttrs([
        [["Type"], "oneshot"],
        [["RemainAfterExit"], true],
        [["ExecStart"], new NixInterp([new NixRaw("pkgs.bash"), "/bin/bash ", nixPath(opts.script)])],
      ]),
    ],
  ]);
}
