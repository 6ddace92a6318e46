/**
 * The twin's data host: real MariaDB and Samba in its namespace, on the settings its
 * configuration.nix gets (the plain my.cnf and smb.conf printed from the same documents,
 * render/data-services.ts), with their users made by the rendered users scripts from test
 * passwords, behind the data host's rendered firewall. NFS and the registry stay with the
 * twin's agent (a kernel NFS server is the host kernel's; no registry package is installed).
 *
 * Each daemon runs in a private mount namespace with tmpfs over the directories it keeps state
 * in (/var/lib, /var/cache, /srv), so it writes nothing on the host; /run and /var/log are the
 * twin's tmpfs already. Test-only paths (data directory, socket) are given on the command line:
 * the configuration file is the rendered one, unchanged.
 */
import * as fs from "fs";
import * as path from "path";
import { requireLab } from "../../model/check";
import type { DataHostPlan } from "../../model/data/plan";
import { DATA_PORTS } from "../../model/data/ports";
import { planLab } from "../../model/plan";
import { renderMariadbConf, renderSmbConf, shareGroup } from "../../render/data-services";
import type { Run } from "../support/proc";

/** The data host's node id in the twin. */
export const DATA_NODE = "internal/data";
/** The test passwords the twin's secret files hold, by release file name. */
export const DATA_PASSWORDS = { "mariadb-gitea.password": "twin-db-pw-4K'q\\z", "samba-k8s.password": "twin-smb-pw-8Lm" } as const;
/** The ports real daemons answer on the data host, so the agent must not. */
export const REAL_PORTS: readonly number[] = [DATA_PORTS.mariadb, DATA_PORTS.smb];

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** What the twin runs on the data host, and where its files are. */
export interface DataTwin {
  readonly plan: DataHostPlan;
  readonly dir: string;
  readonly myCnf: string;
  readonly smbConf: string;
  readonly secrets: string;
  /** Written once each users script has run: the daemons are ready for clients. */
  readonly ready: { readonly mariadb: string; readonly samba: string };
  /** Accounts the Samba users need (system users, and each share's group), name -> id. */
  readonly accounts: { readonly users: readonly string[]; readonly groups: readonly string[] };
}

/** Render the plain configurations from the twin's lab copy and write the test secrets. */
export function writeDataTwin(dir: string, labDir: string, segment: string): DataTwin {
  const lab = requireLab(labDir);
  const seg = planLab(lab).segments[segment]!;
  const plan = seg.dataHost;
  if (!plan) throw new Error(`twin: ${segment} has no data host`);
  const d = path.join(dir, "data-host");
  fs.mkdirSync(path.join(d, "secrets"), { recursive: true, mode: 0o700 });
  for (const [file, pw] of Object.entries(DATA_PASSWORDS)) fs.writeFileSync(path.join(d, "secrets", file), `${pw}\n`, { mode: 0o600 });
  const myCnf = path.join(d, "my.cnf");
  const smbConf = path.join(d, "smb.conf");
  fs.writeFileSync(myCnf, renderMariadbConf(plan));
  fs.writeFileSync(smbConf, renderSmbConf(plan, seg.subnet.prefix));
  const samba = plan.samba!;
  return {
    plan,
    dir: d,
    myCnf,
    smbConf,
    secrets: path.join(d, "secrets"),
    ready: { mariadb: path.join(d, "mariadb.ready"), samba: path.join(d, "samba.ready") },
    accounts: { users: samba.users.map((u) => u.name), groups: samba.shares.map((s) => shareGroup(s.name)) },
  };
}

/** MariaDB: a fresh data directory, the server on the rendered my.cnf, then the rendered mariadb-users.sh. */
export function mariadbScript(d: DataTwin, usersScript: string): string {
  const sock = "/run/mysqld/mysqld.sock";
  return [
    "set -e",
    "mount -t tmpfs -o mode=0755 tmpfs /var/lib",
    "mkdir -p /var/lib/mysql /var/lib/homelab /run/mysqld /var/lib/mysql-tmp",
    "mariadb-install-db --no-defaults --datadir=/var/lib/mysql --user=root --auth-root-authentication-method=socket --skip-test-db >/dev/null",
    `mariadbd --defaults-file=${q(d.myCnf)} --datadir=/var/lib/mysql --socket=${sock} --pid-file=/run/mysqld/mysqld.pid --tmpdir=/var/lib/mysql-tmp --user=root &`,
    "server=$!",
    `for _ in $(seq 100); do [ -S ${sock} ] && break; sleep 0.05; done`,
    `HOMELAB_SECRETS=${q(d.secrets)} HOMELAB_MARIADB='mariadb --socket=${sock} -u root' HOMELAB_STATE=/var/lib/homelab bash ${q(usersScript)}`,
    `touch ${q(d.ready.mariadb)}`,
    'wait "$server"',
  ].join("\n");
}

/** Samba: its state on private tmpfs, each share's directory, the rendered samba-users.sh, then smbd on the rendered smb.conf. */
export function smbdScript(d: DataTwin, usersScript: string): string {
  const shares = d.plan.samba!.shares;
  return [
    "set -e",
    "mount -t tmpfs -o mode=0755 tmpfs /var/lib",
    "mount -t tmpfs -o mode=0755 tmpfs /var/cache",
    "mount -t tmpfs -o mode=0755 tmpfs /srv",
    "mkdir -p /var/lib/samba/private /var/cache/samba /run/samba",
    // As the configuration's tmpfiles rules make them: each share owned by its group, setgid.
    ...shares.map((s) => `mkdir -p ${q(s.path)} && chgrp ${shareGroup(s.name)} ${q(s.path)} && chmod 2770 ${q(s.path)}`),
    `HOMELAB_SECRETS=${q(d.secrets)} HOMELAB_SMB_CONF=${q(d.smbConf)} bash ${q(usersScript)}`,
    `touch ${q(d.ready.samba)}`,
    `exec smbd --foreground --no-process-group --debug-stdout -s ${q(d.smbConf)}`,
  ].join("\n");
}

/** The Debian packages of the programs the data host's daemons and clients need. */
export const DATA_TOOLS: Readonly<Record<string, string>> = {
  mariadbd: "mariadb-server",
  "mariadb-install-db": "mariadb-server",
  mariadb: "mariadb-client",
  smbd: "samba",
  smbpasswd: "samba-common-bin",
  pdbedit: "samba",
  smbclient: "smbclient",
};

/** Run a command in a namespace of the twin (Twin.exec), as the clients below need it. */
type Exec = (ns: string, argv: readonly string[], opts: { timeoutMs: number }) => Promise<Run>;

/** The real MariaDB client, from a namespace, logging in over TCP with a password. */
export function mariadbClient(exec: Exec, ns: string, server: string, user: string, password: string, sql: string) {
  return exec(
    ns,
    ["mariadb", "--connect-timeout=2", "--protocol=tcp", "-h", server, "-u", user, `--password=${password}`, "-N", "-B", "-e", sql],
    {
      timeoutMs: 10000,
    },
  );
}

/** The real SMB client, from a namespace: SMB3 on 445 only, one share, one command string. */
export function smbClient(exec: Exec, ns: string, server: string, share: string, user: string, password: string, command: string) {
  return exec(ns, ["smbclient", `//${server}/${share}`, "-p", "445", "-m", "SMB3", "-t", "2", "-U", `${user}%${password}`, "-c", command], {
    timeoutMs: 10000,
  });
}
