/**
 * Data host rules: the host is a NixOS host of its segment; every MariaDB user's source and
 * registry client names a segment or a host of one (never the DMZ, never the data host
 * itself); users are granted only what is declared; what other segments mount from the host
 * is something it can serve; untrusted sources say why; secrets do not take a key the
 * stack reads for something else.
 */
import { CONFIG_KEYS, own, type Segment } from "../lab";
import type { LabIndex } from "../lab-index";
import { resolveTarget } from "../network/flows";
import { type Problem, problem } from "../problems";
import { list, type PathPart, type Rule, sp, type Where } from "../rule";
import { didYouMean, suggest } from "../suggest";
import { resolveDataSource, secretKey } from "./plan";
import { DATA_HOST_ACCOUNTS, shareGroup } from "./ports";
import { DataPath } from "./schema";

/** A path inside the segment's `dataHost`. */
function at(seg: Segment, ...parts: readonly PathPart[]): Where {
  return { file: seg.file, path: sp("dataHost", ...parts) };
}

/** Segments with a data host, with it. */
function dataSegments(ix: LabIndex) {
  return ix.segments.flatMap((seg) => (seg.dataHost ? [{ seg, dh: seg.dataHost }] : []));
}

export const dataHostRule: Rule = {
  id: "data.host",
  description:
    "A segment's dataHost.host is one of its hosts, runs NixOS (its configuration.nix is rendered and deployed with commit-confirm), and is not the jump host.",
  check(ix) {
    const out: Problem[] = [];
    for (const { seg, dh } of dataSegments(ix)) {
      const h = own(seg.hosts, dh.host);
      const where = at(seg, "host");
      if (!h) {
        const nixos = Object.entries(seg.hosts)
          .filter(([id, x]) => x.os === "nixos" && id !== seg.jumpHost)
          .map(([id]) => id);
        out.push(
          problem(
            where,
            dh.host,
            `the data host "${dh.host}" is not a host of ${seg.name}${didYouMean(dh.host, Object.keys(seg.hosts))} (its NixOS hosts: ${list(nixos)})`,
            `name the NixOS host that serves MariaDB, NFS, SMB and the registry${nixos[0] ? `, e.g. host: ${nixos[0]}` : ""}`,
          ),
        );
      } else if (dh.host === seg.jumpHost) {
        out.push(
          problem(
            where,
            dh.host,
            `${seg.name}/${dh.host} is the segment's jump host, the only way in; the data host must be another host`,
            "give the data its own NixOS host and name it here",
          ),
        );
      } else if (h.os !== "nixos") {
        out.push(
          problem(
            where,
            dh.host,
            `${seg.name}/${dh.host} runs ${h.os}; the data host is deployed as a NixOS host (a rendered configuration.nix), so it must run nixos`,
            `set hosts.${dh.host}.os to nixos, or name a NixOS host of ${seg.name}`,
          ),
        );
      }
    }
    return out;
  },
};

/** Every source a data host names, with where it is configured. */
function sourcesOf(seg: Segment): { text: string; where: Where; owner: string }[] {
  const dh = seg.dataHost!;
  const out: { text: string; where: Where; owner: string }[] = [];
  for (const [user, u] of Object.entries(dh.mariadb?.users ?? {}))
    u.from.forEach((text, i) => out.push({ text, where: at(seg, "mariadb", "users", user, "from", i), owner: `MariaDB user ${user}` }));
  (dh.registry?.clients ?? []).forEach((text, i) => out.push({ text, where: at(seg, "registry", "clients", i), owner: "the registry" }));
  return out;
}

/** Why a source is not one, or undefined when it is. */
function sourceProblem(
  ix: LabIndex,
  seg: Segment,
  text: string,
  candidates: () => readonly string[],
): { message: string; fix: string } | undefined {
  const to = resolveTarget(ix.lab, text);
  if (!to) {
    const hint = suggest(text, candidates());
    return {
      message: `"${text}" names nothing in the lab (a source is <segment> or <segment>/<host>; segments: ${list(ix.segments.map((s) => s.name))})${didYouMean(text, candidates())}`,
      fix: hint ? `write ${hint}` : "name a segment, or a host of one",
    };
  }
  if (!resolveDataSource(ix.lab, text))
    return {
      message: `"${text}" is in the DMZ; nothing in the DMZ connects to a segment's data host directly (published services go through the proxy)`,
      fix: "remove it; a published service's backend is reached through the proxy without an entry here",
    };
  if (to.zone === seg.name && to.host === seg.dataHost!.host)
    return {
      message: `"${text}" is the data host itself; it reaches its own services locally, not through a flow`,
      fix: "remove it",
    };
  return undefined;
}

export const dataSourcesRule: Rule = {
  id: "data.sources",
  description:
    "Every MariaDB user's `from` and every registry client is a segment or a host of one (each gets a flow to the data host), named once, and is neither the DMZ nor the data host itself.",
  check(ix) {
    const out: Problem[] = [];
    for (const { seg } of dataSegments(ix)) {
      // Did-you-mean candidates, built only for a source that needs one.
      let listed: readonly string[] | undefined;
      const candidates = () => (listed ??= ix.targets.filter((t) => resolveDataSource(ix.lab, t)));
      const seen = new Map<string, string>();
      for (const s of sourcesOf(seg)) {
        const why = sourceProblem(ix, seg, s.text, candidates);
        if (why) {
          out.push(problem(s.where, s.text, `${s.owner}'s source ${why.message}`, why.fix));
          continue;
        }
        const key = `${s.owner} ${s.text}`;
        const first = seen.get(key);
        if (first !== undefined) {
          out.push(problem(s.where, s.text, `${s.owner} lists ${s.text} twice (first at ${first})`, "remove the repeated entry"));
        } else seen.set(key, s.where.path);
      }
    }
    return out;
  },
};

export const dataGrants: Rule = {
  id: "data.grants",
  description:
    "A MariaDB user is granted only databases the host declares (mariadb.databases), and a Samba share admits only declared Samba users (samba.users).",
  check(ix) {
    const out: Problem[] = [];
    for (const { seg, dh } of dataSegments(ix)) {
      const dbs = dh.mariadb?.databases ?? [];
      for (const [user, u] of Object.entries(dh.mariadb?.users ?? {})) {
        u.databases.forEach((db, i) => {
          if (dbs.includes(db)) return;
          out.push(
            problem(
              at(seg, "mariadb", "users", user, "databases", i),
              db,
              `MariaDB user ${user} is granted database ${db}, which ${seg.name}'s data host does not keep${didYouMean(db, dbs)} (databases: ${list(dbs)})`,
              suggest(db, dbs) ? `write ${suggest(db, dbs)}` : `add ${db} to dataHost.mariadb.databases, or grant a declared database`,
            ),
          );
        });
      }
      const users = Object.keys(dh.samba?.users ?? {});
      for (const [share, sh] of Object.entries(dh.samba?.shares ?? {})) {
        sh.users.forEach((user, i) => {
          if (users.includes(user)) return;
          out.push(
            problem(
              at(seg, "samba", "shares", share, "users", i),
              user,
              `Samba share ${share} admits ${user}, who is not a Samba user of ${seg.name}'s data host${didYouMean(user, users)} (users: ${list(users)})`,
              suggest(user, users)
                ? `write ${suggest(user, users)}`
                : `add ${user} under dataHost.samba.users with the secret of its password`,
            ),
          );
        });
      }
    }
    return out;
  },
};

/** The data host a storage server names, with its segment: undefined for any other server. */
function servingDataHost(ix: LabIndex, server: string): Segment | undefined {
  const to = resolveTarget(ix.lab, server);
  const seg = to?.host === undefined ? undefined : own(ix.lab.segments, to.zone);
  return seg?.dataHost?.host === to?.host ? seg : undefined;
}

/** A storage entry mounting `st` from a data host: what would make it unservable. */
function storageProblem(st: { protocol: "nfs" | "smb"; export: string }, host: Segment): { message: string; fix: string } | undefined {
  const label = `${host.name}/${host.dataHost!.host}`;
  if (st.protocol === "nfs") {
    if (DataPath.safeParse(st.export).success) return undefined;
    return {
      message: `the NFS export "${st.export}" of the data host ${label} must be an absolute directory path of letters, digits and ._- only, without a trailing / (it becomes a line of /etc/exports)`,
      fix: "write a path such as /srv/nfs/k8s",
    };
  }
  const shares = Object.keys(host.dataHost!.samba?.shares ?? {});
  if (shares.includes(st.export)) return undefined;
  return {
    message: `the data host ${label} has no Samba share "${st.export}"${didYouMean(st.export, shares)} (its shares: ${list(shares)})`,
    fix: suggest(st.export, shares)
      ? `write export: ${suggest(st.export, shares)}`
      : `declare it under dataHost.samba.shares in ${host.file} (a path and its users)`,
  };
}

export const dataStorage: Rule = {
  id: "data.storage",
  description:
    "What any segment mounts from a data host is servable: an NFS export is a plain absolute path (a line of exports(5)), an SMB export names one of its Samba shares; and every share is mounted by some storage entry (its hosts allow lists the consumers, so an unmounted share admits nobody).",
  after: ["storage.targets", "data.host"],
  check(ix) {
    const out: Problem[] = [];
    const mounted = new Set<string>();
    // A host with a misnamed SMB export: its unmounted share is that typo's echo, reported once at the export.
    const misnamed = new Set<string>();
    for (const seg of ix.segments) {
      for (const [id, st] of Object.entries(seg.storage)) {
        const host = servingDataHost(ix, st.server);
        if (!host) continue;
        if (st.protocol === "smb") mounted.add(`${host.name} ${st.export}`);
        const why = storageProblem(st, host);
        if (!why) continue;
        if (st.protocol === "smb") misnamed.add(host.name);
        out.push(problem({ file: seg.file, path: sp("storage", id, "export") }, st.export, why.message, why.fix));
      }
    }
    for (const { seg, dh } of dataSegments(ix)) {
      if (misnamed.has(seg.name)) continue;
      for (const share of Object.keys(dh.samba?.shares ?? {})) {
        if (mounted.has(`${seg.name} ${share}`)) continue;
        out.push(
          problem(
            at(seg, "samba", "shares", share),
            undefined,
            `Samba share ${share} is mounted by no storage entry, so no host may reach it (its hosts allow lists the storage consumers)`,
            `add a storage entry with protocol: smb, server: ${seg.name}/${dh.host}, export: ${share} in the segment that mounts it, or remove the share`,
          ),
        );
      }
    }
    return out;
  },
};

export const dataUntrusted: Rule = {
  id: "data.untrusted",
  description:
    "A MariaDB user or the registry with a source in an untrusted segment states why (reason): each source opens a port into the data host's segment.",
  after: ["data.sources"],
  check(ix) {
    const out: Problem[] = [];
    for (const { seg, dh } of dataSegments(ix)) {
      const owners: { texts: readonly string[]; reason?: string; where: Where; what: string; port: string }[] = [
        ...Object.entries(dh.mariadb?.users ?? {}).map(([user, u]) => ({
          texts: u.from,
          ...(u.reason !== undefined ? { reason: u.reason } : {}),
          where: at(seg, "mariadb", "users", user, "reason"),
          what: `MariaDB user ${user}`,
          port: "3306/tcp",
        })),
        ...(dh.registry
          ? [
              {
                texts: dh.registry.clients,
                ...(dh.registry.reason !== undefined ? { reason: dh.registry.reason } : {}),
                where: at(seg, "registry", "reason"),
                what: "the registry",
                port: `${dh.registry.port}/tcp`,
              },
            ]
          : []),
      ];
      for (const o of owners) {
        if (o.reason !== undefined) continue;
        const untrusted = o.texts.filter((t) => {
          const zone = resolveDataSource(ix.lab, t)?.zone;
          return zone !== undefined && own(ix.lab.segments, zone)?.trust === "untrusted";
        });
        if (untrusted.length === 0) continue;
        out.push(
          problem(
            o.where,
            undefined,
            `${o.what} is reached from the untrusted ${list(untrusted)}, which opens ${o.port} on ${seg.name}/${dh.host} to it; an untrusted segment needs a stated reason for every opening`,
            `add reason: <why ${list(untrusted)} must reach it> (at least 10 characters), or remove the untrusted sources`,
          ),
        );
      }
    }
    return out;
  },
};

export const dataAccounts: Rule = {
  id: "data.accounts",
  description:
    "A Samba user, which the data host also makes a system account, takes no name the host already has: an admin's, the deploy user's, a system account's, or a share's group (smb-<share>).",
  check(ix) {
    const out: Problem[] = [];
    for (const { seg, dh } of dataSegments(ix)) {
      const groups = Object.keys(dh.samba?.shares ?? {}).map(shareGroup);
      for (const user of Object.keys(dh.samba?.users ?? {})) {
        const taken =
          Object.hasOwn(ix.lab.admins, user) || user === ix.lab.ssh.deploy.user
            ? "an admin's or the deploy user's login"
            : DATA_HOST_ACCOUNTS.includes(user)
              ? "a system account of the data host"
              : groups.includes(user)
                ? "the group of a Samba share"
                : undefined;
        if (!taken) continue;
        out.push(
          problem(
            at(seg, "samba", "users", user),
            undefined,
            `Samba user ${user} would be a system account of ${seg.name}/${dh.host}, but ${user} is already ${taken} there`,
            `rename the Samba user, e.g. ${user}-smb, and its entries under samba.shares.*.users`,
          ),
        );
      }
    }
    return out;
  },
};

export const dataSecrets: Rule = {
  id: "data.secrets",
  description:
    "A data host's secret names no config key the stack reads for something else (homelab:segment, homelab:confirmTimeoutSeconds, ...).",
  check(ix) {
    const reserved: readonly string[] = Object.values(CONFIG_KEYS);
    const out: Problem[] = [];
    for (const { seg, dh } of dataSegments(ix)) {
      const camel = (s: string) => s.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase());
      const named: { secret: string; where: Where; example: string }[] = [
        ...Object.entries(dh.mariadb?.users ?? {}).map(([u, x]) => ({
          secret: x.secret,
          where: at(seg, "mariadb", "users", u, "secret"),
          example: camel(`mariadb-${u}`),
        })),
        ...Object.entries(dh.samba?.users ?? {}).map(([u, x]) => ({
          secret: x.secret,
          where: at(seg, "samba", "users", u, "secret"),
          example: camel(`samba-${u}`),
        })),
        ...(dh.registry ? [{ secret: dh.registry.secret, where: at(seg, "registry", "secret"), example: "registryHtpasswd" }] : []),
      ];
      for (const n of named) {
        if (!reserved.includes(secretKey(n.secret))) continue;
        out.push(
          problem(
            n.where,
            n.secret,
            `${secretKey(n.secret)} is a key the stack reads for something else, not a secret`,
            `name another key, such as ${n.example}`,
          ),
        );
      }
    }
    return out;
  },
};
