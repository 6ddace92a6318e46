// Proves the backup domain: the stateful things are derived from the model (VMs by role or vm.stateful, the data host's MariaDB, registry, NFS exports and shares, etcd), each backup rule's exact message and fix (a missing declaration names the thing; an entry for nothing, a stateless VM, a kind that does not fit, an unknown target, a dump kept by no VM backup, a retention shorter than the schedule, a target without offsite or reason, no code repository), and the planned ledger (jobs grouped with the right vmids and keep-last, the dump's calendar, freshness max ages, replications listed as not-a-backup); does not prove the rendered units (render-backups, tools) or the Proxmox resources (mocks).
import { planBackups } from "../../model/backup/plan";
import { maxAgeSeconds, parseSchedule, retentionSeconds } from "../../model/backup/schedule";
import { statefulThings } from "../../model/backup/things";
import type { Lab } from "../../model/lab";
import { formatProblems, type Problem } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, referenceLab, referencePlan, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

const ledger = (f: LabFiles, seg: string) => segOf(f, seg).backups;
const at = (path: string) => `homelab:segment.backups.${path}`;

/** Each case: an edit, and the one problem it makes, exactly. */
const CASES: readonly [string, (f: LabFiles) => void, Omit<Problem, "value"> & { rule: string }][] = [
  [
    "the MariaDB dump's declaration removed",
    (f) => delete ledger(f, "internal").mariadb,
    {
      rule: "backups.declared",
      file: "Pulumi.internal.yaml",
      path: at("mariadb"),
      message:
        "internal/mariadb (MariaDB databases gitea on internal/data) has no backup declaration: every stateful thing says how it is backed up, or why it is not",
      fix: 'add it under backups in Pulumi.internal.yaml: "mariadb": { kind: dump, schedule: daily 01:15, keptBy: vm:data }',
    },
  ],
  [
    "a stateful VM's declaration removed",
    (f) => delete ledger(f, "sandbox")["vm:games"],
    {
      rule: "backups.declared",
      file: "Pulumi.sandbox.yaml",
      path: at("vm:games"),
      message:
        "sandbox/vm:games (the VM sandbox/games (Friends' game servers - Minecraft and Valheim)) has no backup declaration: every stateful thing says how it is backed up, or why it is not",
      fix: 'add it under backups in Pulumi.sandbox.yaml: "vm:games": { kind: vzdump, target: nas, schedule: daily 02:30, retention: 14d }',
    },
  ],
  [
    "etcd's declaration removed",
    (f) => delete ledger(f, "cluster").etcd,
    {
      rule: "backups.declared",
      file: "Pulumi.cluster.yaml",
      path: at("etcd"),
      message:
        "cluster/etcd (etcd of the Talos cluster homelab (every Kubernetes object)) has no backup declaration: every stateful thing says how it is backed up, or why it is not",
      fix: 'add it under backups in Pulumi.cluster.yaml: "etcd": { kind: none, reason: <why the cluster can do without> }',
    },
  ],
  [
    "a VM marked stateful by hand",
    (f) => (segOf(f, "lab").hosts["mirror-1"].vm.stateful = true),
    {
      rule: "backups.declared",
      file: "Pulumi.lab.yaml",
      path: at("vm:mirror-1"),
      message:
        "lab/vm:mirror-1 (the VM lab/mirror-1 (Debian and NixOS cache (apt-cacher-ng, nix cache proxy))) has no backup declaration: every stateful thing says how it is backed up, or why it is not",
      fix: 'add it under backups in Pulumi.lab.yaml: "vm:mirror-1": { kind: vzdump, target: nas, schedule: daily 02:30, retention: 14d }',
    },
  ],
  [
    "a VM marked stateless keeps its entry",
    (f) => (segOf(f, "internal").hosts.monitor.vm.stateful = false),
    {
      rule: "backups.declared",
      file: "Pulumi.internal.yaml",
      path: at("vm:monitor"),
      message: "internal/monitor is not stateful (vm.stateful: false), so it has no backup to declare",
      fix: 'remove backups."vm:monitor", or set hosts.monitor.vm.stateful: true if the VM keeps state',
    },
  ],
  [
    "an entry for a VM of a stateless role",
    (f) => (ledger(f, "lab")["vm:mirror-2"] = { kind: "none", reason: "a cache refills itself from upstream" }),
    {
      rule: "backups.declared",
      file: "Pulumi.lab.yaml",
      path: at("vm:mirror-2"),
      message: "lab/mirror-2 is not stateful (role mirror keeps no state of its own), so it has no backup to declare",
      fix: 'remove backups."vm:mirror-2", or set hosts.mirror-2.vm.stateful: true if the VM keeps state',
    },
  ],
  [
    "an entry that names nothing",
    (f) => (ledger(f, "internal")["smb:medai"] = { kind: "included", in: "vm:data" }),
    {
      rule: "backups.declared",
      file: "Pulumi.internal.yaml",
      path: at("smb:medai"),
      message:
        'backups."smb:medai" names no stateful thing of internal; did you mean "smb:media"? (its stateful things: mariadb, nfs:/srv/nfs/k8s, registry, smb:media, vm:data, vm:monitor)',
      fix: 'write "smb:media"',
    },
  ],
  [
    "vzdump of something that is no VM",
    (f) => (ledger(f, "internal").registry = { kind: "vzdump", target: "nas", schedule: "daily 02:30", retention: "14d" }),
    {
      rule: "backups.references",
      file: "Pulumi.internal.yaml",
      path: at("registry.kind"),
      message: "internal/registry is the container registry's images on internal/data, not a VM; vzdump backs up whole VMs",
      fix: "back up the VM vm:data and write kind: included, in: vm:data",
    },
  ],
  [
    "an unknown target",
    (f) => (ledger(f, "sandbox")["vm:agent"].target = "nsa"),
    {
      rule: "backups.references",
      file: "Pulumi.sandbox.yaml",
      path: at("vm:agent.target"),
      message:
        'sandbox/vm:agent\'s backup goes to "nsa", which is no backup target; did you mean "nas"? (homelab.yaml backups.targets: nas)',
      fix: "write target: nas",
    },
  ],
  [
    "a dump of something other than MariaDB",
    (f) => (ledger(f, "internal")["smb:media"] = { kind: "dump", schedule: "daily 01:15", keptBy: "vm:data" }),
    {
      rule: "backups.references",
      file: "Pulumi.internal.yaml",
      path: at("smb:media.kind"),
      message:
        "internal/smb:media is the Samba share media (/srv/smb/media) on internal/data; the only dump the lab runs is MariaDB's (services.mysqlBackup)",
      fix: "write kind: included, in: vm:data",
    },
  ],
  [
    "a dump kept by another VM",
    (f) => (ledger(f, "internal").mariadb.keptBy = "vm:monitor"),
    {
      rule: "backups.references",
      file: "Pulumi.internal.yaml",
      path: at("mariadb.keptBy"),
      message: 'internal/mariadb is held by internal/data, so only that VM\'s backup can copy it, not "vm:monitor"',
      fix: "write keptBy: vm:data",
    },
  ],
  [
    "a retention shorter than the schedule",
    (f) => (ledger(f, "lab")["vm:vdi"].retention = "3d"),
    {
      rule: "backups.retention",
      file: "Pulumi.lab.yaml",
      path: at("vm:vdi.retention"),
      message:
        "lab/vm:vdi keeps its copies 3 days but runs weekly sun 04:00 (every 1 week): its last copy would be gone before the next run",
      fix: "keep them at least 1 week, e.g. retention: 4w, or run it more often",
    },
  ],
  [
    "a target without an offsite copy or a reason",
    (f) => delete f["homelab.yaml"].backups.targets.nas.offsite,
    {
      rule: "backups.offsite",
      file: "homelab.yaml",
      path: "backups.targets.nas.offsite",
      message:
        "backup target nas (TrueNAS dataset tank/backup/proxmox, mounted by every Proxmox node as the NFS storage nas-backup (content backup); used by internal/vm:data, internal/vm:monitor, lab/vm:vdi, sandbox/vm:agent, sandbox/vm:games) has no offsite copy and says not why: a fire or a theft takes the lab and its backups together",
      fix: "write offsite: { copy: <where the copy goes and how often> } or offsite: { none: <why there is none> }",
    },
  ],
  [
    "no repository for the code",
    (f) => delete f["homelab.yaml"].backups.code,
    {
      rule: "backups.code",
      file: "homelab.yaml",
      path: "backups.code",
      message:
        "homelab.yaml names no backups.code: every router's and NixOS host's configuration is rendered from this lab's repository, their only backup, and the ledger must say where it is",
      fix: "add backups: { code: { repository: <its git URL>, copies: <where else it lives, e.g. the hosting service and each admin's clone> } }",
    },
  ],
];

describe("backup rules: one exact problem per mistake", () => {
  test.each(CASES)("%s", (_, edit, expected) => {
    const problems = validateLab(labWith(edit)).map(({ value: _v, line: _l, ...p }) => p);
    expect(problems).toEqual([expected]);
  });

  test("data kept by a VM that is not backed up: each thing that relies on it, once", () => {
    const problems = validateLab(
      labWith((f) => (ledger(f, "internal")["vm:data"] = { kind: "none", reason: "the data host is rebuilt from code" })),
    );
    expect(problems.map((p) => `${p.rule} ${p.path}`)).toEqual([
      "backups.references homelab:segment.backups.mariadb.keptBy",
      "backups.references homelab:segment.backups.nfs:/srv/nfs/k8s.in",
      "backups.references homelab:segment.backups.registry.in",
      "backups.references homelab:segment.backups.smb:media.in",
    ]);
    expect(problems[0]).toMatchObject({
      message: "internal/mariadb relies on internal/vm:data for its copies, but vm:data is backed up as none, which keeps no copy of it",
      fix: "back vm:data up with kind: vzdump, or give mariadb a backup of its own",
    });
  });

  test("an offsite none with a reason is allowed, and so is a stateful VM declared none", () => {
    const lab = labWith((f) => {
      f["homelab.yaml"].backups.targets.nas.offsite = { none: "the owners carry a USB disk off site by hand each month" };
      ledger(f, "sandbox")["vm:games"] = { kind: "none", reason: "the worlds are the friends' own; each keeps a copy" };
    });
    expect(validateLab(lab)).toEqual([]);
  });

  test("the schema refuses a kind, a schedule and a retention it does not know, with the form to write", () => {
    const files = referenceFiles();
    Object.assign(ledger(files, "lab")["vm:vdi"], { schedule: "nightly", retention: "2 weeks" });
    ledger(files, "sandbox")["vm:agent"] = { kind: "rsync" };
    const messages = parseFiles(files).problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        "homelab:segment.backups.vm:vdi.schedule: must be hourly, daily HH:MM or weekly <mon..sun> HH:MM",
        "homelab:segment.backups.vm:vdi.retention: must be a number of days or weeks, such as 14d or 8w",
        'homelab:segment.backups.vm:agent.kind: a backup\'s kind must be one of "vzdump", "dump", "included", "none"',
      ]),
    );
  });
});

describe("stateful things are derived from the model", () => {
  const lab = referenceLab();
  test("the reference lab's, segment by segment", () => {
    const ids = Object.fromEntries(Object.values(lab.segments).map((s) => [s.name, statefulThings(lab, s).map((t) => t.id)]));
    expect(ids).toEqual({
      cluster: ["etcd"],
      internal: ["vm:data", "vm:monitor", "mariadb", "registry", "nfs:/srv/nfs/k8s", "smb:media"],
      lab: ["vm:vdi"],
      sandbox: ["vm:agent", "vm:games"],
    });
  });

  test("a new NFS export mounted from the data host becomes a thing to declare", () => {
    const edited = labWith((f) => {
      segOf(f, "cluster").storage["k8s-nfs-2"] = {
        protocol: "nfs",
        server: "internal/data",
        export: "/srv/nfs/k8s-2",
        consumers: ["worker-1"],
      };
    });
    expect(validateLab(edited).map((p) => `${p.rule} ${p.path}`)).toEqual(["backups.declared homelab:segment.backups.nfs:/srv/nfs/k8s-2"]);
  });
});

describe("the reference ledger, planned", () => {
  const plan = referencePlan().backups;

  test("schedules, retention and max ages", () => {
    expect(parseSchedule("daily 02:30")).toEqual({ text: "daily 02:30", seconds: 86400, pve: "02:30", systemd: "*-*-* 02:30:00" });
    expect(parseSchedule("weekly sun 04:00")).toMatchObject({ seconds: 604800, pve: "sun 04:00", systemd: "Sun *-*-* 04:00:00" });
    expect(parseSchedule("hourly")).toMatchObject({ seconds: 3600, pve: "hourly", systemd: "hourly" });
    expect(retentionSeconds("14d")).toBe(14 * 86400);
    expect(retentionSeconds("4w")).toBe(28 * 86400);
    expect(maxAgeSeconds(86400)).toBe(129600);
  });

  test("one Proxmox job per target, schedule and retention, with the VM ids of its entries", () => {
    expect(
      plan.jobs.map((j) => ({ id: j.id, storage: j.storage, schedule: j.schedule, vmids: j.vmids, prune: j.pruneBackups, mode: j.mode })),
    ).toEqual([
      {
        id: "homelab-nas-daily-0230-14d",
        storage: "nas-backup",
        schedule: "02:30",
        vmids: ["1010", "1030", "4010", "4020"],
        prune: { "keep-last": "14" },
        mode: "snapshot",
      },
      {
        id: "homelab-nas-weekly-sun-0400-4w",
        storage: "nas-backup",
        schedule: "sun 04:00",
        vmids: ["3020"],
        prune: { "keep-last": "4" },
        mode: "snapshot",
      },
    ]);
  });

  test("the MariaDB dump on the data host, and every entry's freshness", () => {
    expect(plan.dumps).toEqual([
      {
        ledgerId: "internal/mariadb",
        segment: "internal",
        host: "data",
        databases: ["gitea"],
        calendar: "*-*-* 01:15:00",
        location: "/var/backup/mysql",
        maxAgeSeconds: 129600,
      },
    ]);
    expect(Object.fromEntries(plan.entries.map((e) => [e.id, e.freshness ?? e.backup.kind]))).toEqual({
      "cluster/etcd": "none",
      "internal/vm:data": { source: "pve-exporter", maxAgeSeconds: 129600 },
      "internal/vm:monitor": { source: "pve-exporter", maxAgeSeconds: 129600 },
      "internal/mariadb": { source: "textfile", host: "internal/data", maxAgeSeconds: 129600 },
      "internal/registry": "included",
      "internal/nfs:/srv/nfs/k8s": "included",
      "internal/smb:media": "included",
      "lab/vm:vdi": { source: "pve-exporter", maxAgeSeconds: 907200 },
      "sandbox/vm:agent": { source: "pve-exporter", maxAgeSeconds: 129600 },
      "sandbox/vm:games": { source: "pve-exporter", maxAgeSeconds: 129600 },
    });
  });

  test("replications are listed, each with its own max age, and are no ledger entry", () => {
    expect(plan.replications.length).toBeGreaterThan(0);
    for (const r of plan.replications) {
      expect(r.id).toMatch(/^[a-z]+\/replication:/);
      expect(r.maxAgeSeconds).toBe(r.minutes * 90);
      expect(plan.entries.map((e) => e.id)).not.toContain(r.id);
    }
  });

  test("planning a lab whose ledger misses a thing is a bug, not a silent gap", () => {
    const lab = labWith((f) => delete ledger(f, "internal").registry);
    expect(() => planBackups(lab, referencePlan().placement)).toThrow("bug: internal/registry has no backup declaration after validation");
  });
});
