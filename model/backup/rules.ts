/**
 * Backup ledger rules: every stateful thing of the model has a declaration and nothing else does
 * (backups.declared); each declaration fits its thing and names what exists (backups.references);
 * copies outlive the interval between two runs (backups.retention); every target says where its
 * offsite copy goes or why there is none (backups.offsite); and the repository the routers' and
 * NixOS hosts' configurations come from is named (backups.code).
 */
import { LAB_FILE, own, type Segment } from "../lab";
import type { LabIndex } from "../lab-index";
import { joinPath, type Problem, problem } from "../problems";
import { list, type Rule, sp, type Where } from "../rule";
import { didYouMean, suggest } from "../suggest";
import { parseSchedule, retentionSeconds, showSeconds } from "./schedule";
import type { BackupEntry } from "./schema";
import { type StatefulThing, statefulByRole, statefulThings, vmThing } from "./things";

/** Where a segment's ledger entry is. */
function at(seg: Segment, id: string, ...rest: readonly string[]): Where {
  return { file: seg.file, path: sp("backups", id, ...rest) };
}

/** The entry of a segment's ledger, never an inherited key. */
function entryOf(seg: Segment, id: string): BackupEntry | undefined {
  return own(seg.backups, id);
}

/** A declaration to suggest for a thing without one. */
function example(ix: LabIndex, seg: Segment, thing: StatefulThing): string {
  const targets = Object.keys(ix.lab.backups?.targets ?? {}).sort();
  const host = thing.host;
  const vmOfHost = host !== undefined && statefulThings(ix.lab, seg).some((t) => t.id === vmThing(host));
  switch (thing.kind) {
    case "vm":
      return `{ kind: vzdump, target: ${targets[0] ?? "<a target of homelab.yaml backups.targets>"}, schedule: daily 02:30, retention: 14d }`;
    case "mariadb":
      return vmOfHost ? `{ kind: dump, schedule: daily 01:15, keptBy: ${vmThing(host)} }` : "{ kind: none, reason: <why> }";
    case "registry":
    case "nfs":
    case "smb":
      return vmOfHost ? `{ kind: included, in: ${vmThing(host)} }` : "{ kind: none, reason: <why> }";
    case "etcd":
      return "{ kind: none, reason: <why the cluster can do without> }";
  }
}

export const backupsDeclared: Rule = {
  id: "backups.declared",
  description:
    "Every stateful thing the model has (VMs with state, a data host's MariaDB, registry, NFS exports and Samba shares, a Talos cluster's etcd) declares its backup in its segment's backups, or kind none with a reason; an entry names one of them.",
  // A data host that is none, or an export it cannot serve, would list things that are that mistake's echo.
  after: ["data.host", "data.storage"],
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      const things = statefulThings(ix.lab, seg);
      const ids = things.map((t) => t.id);
      for (const t of things) {
        if (entryOf(seg, t.id)) continue;
        out.push(
          problem(
            at(seg, t.id),
            undefined,
            `${seg.name}/${t.id} (${t.what}) has no backup declaration: every stateful thing says how it is backed up, or why it is not`,
            `add it under backups in ${seg.file}: "${t.id}": ${example(ix, seg, t)}`,
          ),
        );
      }
      for (const id of Object.keys(seg.backups)) {
        if (ids.includes(id)) continue;
        const host = id.startsWith("vm:") ? own(seg.hosts, id.slice(3)) : undefined;
        if (host?.vm) {
          const hostId = id.slice(3);
          out.push(
            problem(
              at(seg, id),
              undefined,
              `${seg.name}/${hostId} is not stateful (${host.vm.stateful === false ? "vm.stateful: false" : `role ${host.role}${statefulByRole(host.role) ? "" : " keeps no state of its own"}`}), so it has no backup to declare`,
              `remove backups."${id}", or set hosts.${hostId}.vm.stateful: true if the VM keeps state`,
            ),
          );
          continue;
        }
        out.push(
          problem(
            at(seg, id),
            undefined,
            `backups."${id}" names no stateful thing of ${seg.name}${didYouMean(id, ids)} (its stateful things: ${list(ids)})`,
            suggest(id, ids)
              ? `write "${suggest(id, ids)}"`
              : "remove the entry; entries are vm:<host>, mariadb, registry, nfs:<path>, smb:<share> or etcd",
          ),
        );
      }
    }
    return out;
  },
};

/** A dump's keptBy or an inclusion's in: the thing's own host's VM, backed up by vzdump. */
function vmBackupProblem(seg: Segment, thing: StatefulThing, ref: string, field: string): Problem | undefined {
  const name = `${seg.name}/${thing.id}`;
  const expected = thing.host !== undefined ? vmThing(thing.host) : undefined;
  if (ref !== expected)
    return problem(
      at(seg, thing.id, field),
      ref,
      `${name} is held by ${expected === undefined ? "no VM" : `${seg.name}/${thing.host}`}, so only that VM's backup can copy it, not "${ref}"`,
      expected === undefined ? "declare kind: none with a reason" : `write ${field}: ${expected}`,
    );
  const kept = entryOf(seg, ref);
  if (kept && kept.kind !== "vzdump")
    return problem(
      at(seg, thing.id, field),
      ref,
      `${name} relies on ${seg.name}/${ref} for its copies, but ${ref} is backed up as ${kept.kind}, which keeps no copy of it`,
      `back ${ref} up with kind: vzdump, or give ${thing.id} a backup of its own`,
    );
  return undefined;
}

/** A kind that does not fit the thing. */
function misfit(seg: Segment, thing: StatefulThing, kind: string, message: string, fix: string): Problem {
  return problem(at(seg, thing.id, "kind"), kind, `${seg.name}/${thing.id} is ${thing.what}${message}`, fix);
}

function vzdumpProblems(ix: LabIndex, seg: Segment, thing: StatefulThing, target: string): Problem[] {
  if (thing.kind !== "vm")
    return [
      misfit(
        seg,
        thing,
        "vzdump",
        ", not a VM; vzdump backs up whole VMs",
        thing.host !== undefined
          ? `back up the VM ${vmThing(thing.host)} and write kind: included, in: ${vmThing(thing.host)}`
          : "declare kind: none with a reason",
      ),
    ];
  const targets = Object.keys(ix.lab.backups?.targets ?? {});
  if (targets.includes(target)) return [];
  const hint = suggest(target, targets);
  return [
    problem(
      at(seg, thing.id, "target"),
      target,
      `${seg.name}/${thing.id}'s backup goes to "${target}", which is no backup target${didYouMean(target, targets)} (homelab.yaml backups.targets: ${list(targets)})`,
      hint ? `write target: ${hint}` : "declare it under backups.targets in homelab.yaml: its description, proxmoxStorage and offsite",
    ),
  ];
}

/** What is wrong with a declaration's kind or references, if anything. */
function referenceProblems(ix: LabIndex, seg: Segment, thing: StatefulThing, e: BackupEntry): Problem[] {
  switch (e.kind) {
    case "vzdump":
      return vzdumpProblems(ix, seg, thing, e.target);
    case "dump":
      if (thing.kind !== "mariadb")
        return [
          misfit(
            seg,
            thing,
            e.kind,
            "; the only dump the lab runs is MariaDB's (services.mysqlBackup)",
            thing.host !== undefined && thing.kind !== "vm"
              ? `write kind: included, in: ${vmThing(thing.host)}`
              : "write kind: vzdump or kind: none",
          ),
        ];
      return [vmBackupProblem(seg, thing, e.keptBy, "keptBy")].filter((p): p is Problem => p !== undefined);
    case "included":
      if (thing.kind === "vm" || thing.kind === "etcd")
        return [
          misfit(
            seg,
            thing,
            e.kind,
            ", which lives on no single VM's disks for another backup to include",
            thing.kind === "vm" ? "write kind: vzdump with its target, schedule and retention" : "declare kind: none with a reason",
          ),
        ];
      return [vmBackupProblem(seg, thing, e.in, "in")].filter((p): p is Problem => p !== undefined);
    case "none":
      return [];
  }
}

export const backupsReferences: Rule = {
  id: "backups.references",
  description:
    "A declaration fits its thing: vzdump only for a VM, to a declared target; a dump only for MariaDB; included only for data on a VM's disks; and what a dump or an inclusion relies on is that VM's vzdump backup.",
  // Independent of backups.declared: it reads the entries of things that exist only.
  after: ["data.host", "data.storage"],
  check(ix) {
    return ix.segments.flatMap((seg) =>
      statefulThings(ix.lab, seg).flatMap((t) => {
        const e = entryOf(seg, t.id);
        return e ? referenceProblems(ix, seg, t, e) : [];
      }),
    );
  },
};

export const backupsRetention: Rule = {
  id: "backups.retention",
  description: "A backup keeps its copies at least as long as the interval between two runs, so there is never a time with no copy.",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const [id, e] of Object.entries(seg.backups)) {
        if (e.kind !== "vzdump") continue;
        const interval = parseSchedule(e.schedule).seconds;
        const kept = retentionSeconds(e.retention);
        if (kept >= interval) continue;
        out.push(
          problem(
            at(seg, id, "retention"),
            e.retention,
            `${seg.name}/${id} keeps its copies ${showSeconds(kept)} but runs ${e.schedule} (every ${showSeconds(interval)}): its last copy would be gone before the next run`,
            `keep them at least ${showSeconds(interval)}, e.g. retention: ${Math.ceil((4 * interval) / (7 * 86400))}w, or run it more often`,
          ),
        );
      }
    }
    return out;
  },
};

export const backupsOffsite: Rule = {
  id: "backups.offsite",
  description:
    "Every backup target a backup uses says where its offsite copy goes (a fire or a theft takes the lab and the NAS together), or why there is none.",
  check(ix) {
    const out: Problem[] = [];
    const users = new Map<string, string[]>();
    for (const seg of ix.segments)
      for (const [id, e] of Object.entries(seg.backups))
        if (e.kind === "vzdump") users.set(e.target, [...(users.get(e.target) ?? []), `${seg.name}/${id}`]);
    for (const [id, t] of Object.entries(ix.lab.backups?.targets ?? {})) {
      if (t.offsite) continue;
      out.push(
        problem(
          { file: LAB_FILE, path: joinPath("backups", "targets", id, "offsite") },
          undefined,
          `backup target ${id} (${t.description}; used by ${list(users.get(id) ?? [])}) has no offsite copy and says not why: a fire or a theft takes the lab and its backups together`,
          "write offsite: { copy: <where the copy goes and how often> } or offsite: { none: <why there is none> }",
        ),
      );
    }
    return out;
  },
};

export const backupsCode: Rule = {
  id: "backups.code",
  description:
    "homelab.yaml names the repository the lab's code and config live in (backups.code): every router's and NixOS host's configuration is rendered from it, so it is their backup.",
  check(ix) {
    if (ix.lab.backups?.code) return [];
    return [
      problem(
        { file: LAB_FILE, path: "backups.code" },
        undefined,
        "homelab.yaml names no backups.code: every router's and NixOS host's configuration is rendered from this lab's repository, their only backup, and the ledger must say where it is",
        "add backups: { code: { repository: <its git URL>, copies: <where else it lives, e.g. the hosting service and each admin's clone> } }",
      ),
    ];
  },
};
