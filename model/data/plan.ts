/**
 * The data host's plan: what it serves and to whom, derived from its `dataHost` block and from
 * every storage entry of the lab whose server it is. NFS exports and Samba's `hosts allow` list
 * the consumers' addresses; MariaDB has one account per user and source; every password is a
 * file of the release, named here and filled from a config secret by the stack, never rendered.
 */
import { CONFIG_KEYS, hostFqdn, type Lab, own, PROJECT, type Segment, segmentList } from "../lab";
import type { Cidr } from "../net";
import { compareCidr } from "../net";
import { compareText } from "../order";
import { type Endpoint, hostEndpoint, resolveTarget } from "../network/flows";
import { segmentHosts } from "../network/hosts";
import { type MysqlDumpPlan, planMysqlDump } from "../backup/plan";
import { DATA_PORTS } from "./ports";
import { type DataHost, SECRET_NAME } from "./schema";

/** One source of a data service: a host (/32) or a segment's subnet. */
export interface DataClient {
  /** `cluster/worker-1` or `lab`. */
  readonly label: string;
  readonly zone: string;
  readonly cidr: Cidr;
}

/** A MariaDB account: a user at one source, with ALL PRIVILEGES on its databases. */
export interface MariadbAccount {
  readonly user: string;
  /** The account's host part: an address, or `<network>/<netmask>` for a subnet. */
  readonly host: string;
  readonly source: string;
  readonly databases: readonly string[];
}

/** A secret the data host reads from a release file, filled from a config secret of the segment's stack. */
export interface DataSecret {
  /** `homelab:<secret>`. */
  readonly key: string;
  /** The release file (next to configuration.nix) it is uploaded to. */
  readonly file: string;
  /** What it is, for messages: `the password of MariaDB user gitea`. */
  readonly what: string;
}

/** One NFS export: a path and the consumers that mount it. */
export interface NfsExport {
  readonly path: string;
  readonly clients: readonly DataClient[];
  /** `<segment>/<storage id>` of the entries that mount it. */
  readonly storage: readonly string[];
}

/** One Samba share and the consumers that mount it. */
export interface SambaSharePlan {
  readonly name: string;
  readonly path: string;
  readonly users: readonly string[];
  readonly readOnly: boolean;
  readonly clients: readonly DataClient[];
}

export interface DataHostPlan {
  readonly segment: string;
  readonly id: string;
  readonly fqdn: string;
  readonly address: string;
  readonly mariadb?: {
    readonly port: number;
    readonly databases: readonly string[];
    readonly users: readonly { readonly name: string; readonly file: string; readonly accounts: readonly MariadbAccount[] }[];
  };
  /** Empty when no storage entry mounts NFS from this host. */
  readonly nfs: readonly NfsExport[];
  readonly samba?: {
    readonly users: readonly { readonly name: string; readonly file: string }[];
    readonly shares: readonly SambaSharePlan[];
  };
  readonly registry?: { readonly port: number; readonly file: string; readonly clients: readonly DataClient[] };
  /** Every secret file of the release, by file name. */
  readonly secrets: readonly DataSecret[];
  /** Its MariaDB dump (services.mysqlBackup), when the segment's backup ledger declares one. */
  readonly mysqlBackup?: MysqlDumpPlan;
}

/** `homelab:<name>`: the config key of a secret the segment's stack reads. */
export function secretKey(name: string): string {
  return `${PROJECT}:${name}`;
}

/**
 * The config keys of every secret a segment's data host names, sorted: the keys its stack file
 * may hold (encrypted only). Read from the raw segment config, before or whatever its schema
 * check says, so a secret is recognised as one even in a file with other mistakes.
 */
export function declaredSecretKeys(rawSegment: unknown): string[] {
  const field = (o: unknown, k: string): unknown => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined);
  const dh = field(rawSegment, "dataHost");
  const users = (svc: string) => Object.values((field(field(dh, svc), "users") as Record<string, unknown> | undefined) ?? {});
  const names = [...users("mariadb"), ...users("samba"), field(dh, "registry")].map((u) => field(u, "secret"));
  // A name that is a key the stack reads for something else is no secret (data.secrets reports it).
  const reserved: readonly string[] = Object.values(CONFIG_KEYS);
  const keys = names.filter((n): n is string => typeof n === "string" && SECRET_NAME.test(n)).map(secretKey);
  return [...new Set(keys.filter((k) => !reserved.includes(k)))].sort();
}

/** A source of a data service (`<segment>/<host>` or `<segment>`): a segment endpoint, never the DMZ; undefined otherwise. */
export function resolveDataSource(lab: Lab, text: string): Endpoint | undefined {
  const e = resolveTarget(lab, text);
  return e && own(lab.segments, e.zone) ? e : undefined;
}

function clientsOf(endpoints: readonly Endpoint[]): DataClient[] {
  const byLabel = new Map(endpoints.map((e) => [e.label, { label: e.label, zone: e.zone, cidr: e.cidrs[0]! }]));
  return [...byLabel.values()].sort((a, b) => compareCidr(a.cidr, b.cidr) || compareText(a.label, b.label));
}

function sources(lab: Lab, texts: readonly string[]): DataClient[] {
  return clientsOf(texts.map((t) => resolveDataSource(lab, t)).filter((e): e is Endpoint => e !== undefined));
}

/** A MariaDB account host for a source: the address of a host, `<network>/<netmask>` of a subnet. */
export function accountHost(cidr: Cidr): string {
  return cidr.prefix === 32 ? cidr.network : `${cidr.network}/${cidr.netmask}`;
}

/** Every storage entry of the lab served by `seg`'s host `id`, with its consumers' endpoints. */
function servedStorage(lab: Lab, seg: Segment, id: string) {
  const out: { protocol: "nfs" | "smb"; export: string; entry: string; consumers: Endpoint[] }[] = [];
  for (const from of segmentList(lab)) {
    for (const [sid, st] of Object.entries(from.storage)) {
      const server = resolveTarget(lab, st.server);
      if (server?.zone !== seg.name || server.host !== id) continue;
      const ids = new Set(segmentHosts(lab, from).map((h) => h.id));
      const consumers = st.consumers.filter((c) => ids.has(c)).map((c) => hostEndpoint(lab, from, c));
      out.push({ protocol: st.protocol, export: st.export, entry: `${from.name}/${sid}`, consumers });
    }
  }
  return out;
}

function planNfs(served: ReturnType<typeof servedStorage>): NfsExport[] {
  const byPath = new Map<string, { clients: Endpoint[]; storage: string[] }>();
  for (const s of served.filter((x) => x.protocol === "nfs")) {
    const e = byPath.get(s.export) ?? { clients: [], storage: [] };
    e.clients.push(...s.consumers);
    e.storage.push(s.entry);
    byPath.set(s.export, e);
  }
  return [...byPath]
    .map(([path, e]) => ({ path, clients: clientsOf(e.clients), storage: e.storage.sort() }))
    .sort((a, b) => compareText(a.path, b.path));
}

function planSamba(samba: NonNullable<DataHost["samba"]>, served: ReturnType<typeof servedStorage>): NonNullable<DataHostPlan["samba"]> {
  const shares = Object.entries(samba.shares).map(([name, sh]) => ({
    name,
    path: sh.path,
    users: [...sh.users].sort(),
    readOnly: sh.readOnly,
    clients: clientsOf(served.filter((s) => s.protocol === "smb" && s.export === name).flatMap((s) => s.consumers)),
  }));
  return {
    users: Object.keys(samba.users)
      .sort()
      .map((name) => ({ name, file: `samba-${name}.password` })),
    shares: shares.sort((a, b) => compareText(a.name, b.name)),
  };
}

function planMariadb(lab: Lab, m: NonNullable<DataHost["mariadb"]>): NonNullable<DataHostPlan["mariadb"]> {
  const users = Object.keys(m.users)
    .sort()
    .map((name) => {
      const u = m.users[name]!;
      const databases = [...new Set(u.databases)].sort();
      const accounts = sources(lab, u.from).map((c) => ({ user: name, host: accountHost(c.cidr), source: c.label, databases }));
      return { name, file: `mariadb-${name}.password`, accounts };
    });
  return { port: DATA_PORTS.mariadb, databases: [...new Set(m.databases)].sort(), users };
}

function planSecrets(dh: DataHost): DataSecret[] {
  const out: DataSecret[] = [];
  for (const [name, u] of Object.entries(dh.mariadb?.users ?? {}))
    out.push({ key: secretKey(u.secret), file: `mariadb-${name}.password`, what: `the password of MariaDB user ${name}` });
  for (const [name, u] of Object.entries(dh.samba?.users ?? {}))
    out.push({ key: secretKey(u.secret), file: `samba-${name}.password`, what: `the password of Samba user ${name}` });
  if (dh.registry) out.push({ key: secretKey(dh.registry.secret), file: "registry.htpasswd", what: "the registry's htpasswd file" });
  return out.sort((a, b) => compareText(a.file, b.file));
}

/** The segment's data host, planned; undefined when the segment has none. Call on a validated lab. */
export function planDataHost(lab: Lab, seg: Segment): DataHostPlan | undefined {
  const dh = seg.dataHost;
  if (!dh) return undefined;
  const host = own(seg.hosts, dh.host);
  if (!host) throw new Error(`bug: data host ${seg.name}/${dh.host} not found after validation`);
  const served = servedStorage(lab, seg, dh.host);
  const mysqlBackup = planMysqlDump(seg);
  return {
    segment: seg.name,
    id: dh.host,
    fqdn: hostFqdn(lab, seg.name, dh.host),
    address: host.address,
    ...(dh.mariadb ? { mariadb: planMariadb(lab, dh.mariadb) } : {}),
    nfs: planNfs(served),
    ...(dh.samba ? { samba: planSamba(dh.samba, served) } : {}),
    ...(dh.registry ? { registry: { port: dh.registry.port, file: "registry.htpasswd", clients: sources(lab, dh.registry.clients) } } : {}),
    secrets: planSecrets(dh),
    ...(mysqlBackup ? { mysqlBackup } : {}),
  };
}
