// Proves: the real `check` CLI (tsx cli/main.ts check) exits 1 and names file, config path and a fix for a broken copy of the lab for every validation rule, emits the same problems as JSON with --json, exits 0 with a one-line summary on the reference lab, and never shows a stack trace for malformed YAML or bad flags; does not prove each rule's exact wording (tests/unit/validate.test.ts).
import * as fs from "fs";
import * as path from "path";
import { RULES } from "../../model/validate";
import { runCliAsync } from "../support/cli";
import { copyLab, REPO, segOf, type LabFiles } from "../support/lab";
import type { Run } from "../support/proc";

/** Run tasks at most `width` at a time (two cores: tsx start-up is CPU-bound). */
async function pool<T>(tasks: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

const lab = (f: LabFiles) => f["homelab.yaml"];

interface Breakage {
  readonly rule: string;
  readonly edit: (f: LabFiles) => void;
  readonly file: string;
  readonly path: string;
}

/**
 * One breakage per rule, in three copies of the lab whose breakages do not interact: the
 * first holds a dangling VM reference, which switches the N-1 check off and the HA rules
 * with it; the second breaks the HA rules, which switch N-1 off too; so N-1 is broken
 * alone in the third.
 */
const BATCHES: Record<"a" | "b" | "c", readonly Breakage[]> = {
  a: [
    {
      rule: "data.grants",
      edit: (f) => (segOf(f, "internal").dataHost.samba.shares.media.users = ["media"]),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.dataHost.samba.shares.media.users[0]",
    },
    {
      rule: "maintenance.updates",
      edit: (f) => (f["homelab.yaml"].maintenance = { updates: { windows: { "sandbox-fw": "04:00", "sandbox-jump": "04:00" } } }),
      file: "homelab.yaml",
      path: "maintenance.updates.windows.sandbox-jump",
    },
    {
      rule: "data.storage",
      edit: (f) => (segOf(f, "cluster").storage["k8s-nfs"].export = "srv/nfs/k8s"),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.storage.k8s-nfs.export",
    },
    {
      rule: "data.untrusted",
      edit: (f) => segOf(f, "internal").dataHost.mariadb.users.gitea.from.push("sandbox/agent"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.dataHost.mariadb.users.gitea.reason",
    },
    {
      rule: "data.accounts",
      edit: (f) => (segOf(f, "internal").dataHost.samba.users.nobody = { secret: "sambaNobody" }),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.dataHost.samba.users.nobody",
    },
    {
      rule: "data.secrets",
      edit: (f) => (segOf(f, "internal").dataHost.mariadb.users.gitea.secret = "deployKey"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.dataHost.mariadb.users.gitea.secret",
    },
    // capacity.nodes stands apart from capacity.n-minus-1 (batch c): N-1 is not checked while a node cannot hold its own VMs.
    {
      rule: "capacity.nodes",
      edit: (f) => (lab(f).hardware.proxmox.nodes.pve3.storage["local-zfs"] = 100),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.worker-3.vm.disks.root.sizeGiB",
    },
    {
      rule: "subnets.disjoint",
      edit: (f) => lab(f).ssh.adminSources.push("10.99.0.0/24"),
      file: "homelab.yaml",
      path: "ssh.adminSources[1]",
    },
    {
      rule: "addresses.in-network",
      edit: (f) => (segOf(f, "cluster").hosts["cp-1"].address = "10.20.0.150"),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.cp-1.address",
    },
    {
      rule: "dhcp.pool",
      edit: (f) => (segOf(f, "lab").dhcp = { start: "10.30.0.199", end: "10.30.0.100" }),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.dhcp",
    },
    { rule: "addresses.unique", edit: (f) => (lab(f).dmz.ntp = lab(f).dmz.dns), file: "homelab.yaml", path: "dmz.ntp" },
    {
      rule: "names.unique",
      edit: (f) => (segOf(f, "lab").router.name = "cluster-fw"),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.router.name",
    },
    {
      rule: "macs.unique",
      edit: (f) => (segOf(f, "sandbox").hosts.games.mac = segOf(f, "sandbox").hosts.agent.mac),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.games.mac",
    },
    {
      rule: "vm-ids.unique",
      edit: (f) => (segOf(f, "internal").hosts.monitor.vm.vmId = 1010),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.hosts.monitor.vm.vmId",
    },
    {
      rule: "vms.references",
      edit: (f) => (segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9"),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.hosts.mirror-1.vm.node",
    },
    {
      rule: "refs.routers",
      edit: (f) => (segOf(f, "sandbox").router.hardware = "rtr9"),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.router.hardware",
    },
    {
      rule: "refs.hardware-segments",
      edit: (f) => (lab(f).hardware.switches["sw-cluster"].segment = "clustr"),
      file: "homelab.yaml",
      path: "hardware.switches.sw-cluster.segment",
    },
    {
      rule: "refs.dmz-segments",
      edit: (f) => (f["Pulumi.dmz.yaml"].config["homelab:dmz"].segments = ["internal", "cluster", "lab"]),
      file: "Pulumi.dmz.yaml",
      path: "homelab:dmz.segments",
    },
    { rule: "ssh.keys", edit: (f) => (lab(f).ssh.deploy.user = "alice"), file: "homelab.yaml", path: "ssh.deploy.user" },
    {
      rule: "services.auth-enforced",
      edit: (f) => (segOf(f, "sandbox").services.minecraft.auth = { kind: "basic", realm: "minecraft" }),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.services.minecraft.auth",
    },
    {
      rule: "tls.source",
      edit: (f) =>
        (lab(f).dmz.tls.manual = {
          certificate: "/var/lib/homelab/tls/full.pem",
          key: "/var/lib/homelab/tls/key.pem",
          expires: "2099-01-01",
        }),
      file: "homelab.yaml",
      path: "dmz.tls",
    },
    {
      rule: "services.tls",
      edit: (f) => (segOf(f, "internal").services.pve.backend.tls = true),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.services.pve.backend.tls",
    },
    {
      rule: "tls.backend-cas",
      edit: (f) =>
        (lab(f).dmz.backendCas.nas = {
          description: "the NAS's own certificate",
          certificate: segOf(f, "internal").services.nas.backend.tls.pin,
        }),
      file: "homelab.yaml",
      path: "dmz.backendCas.nas.certificate",
    },
    {
      rule: "proxmox.owner",
      edit: (f) => (lab(f).hardware.proxmox.owner = "intern"),
      file: "homelab.yaml",
      path: "hardware.proxmox.owner",
    },
    {
      rule: "datastores.declared",
      edit: (f) => (lab(f).hardware.proxmox.nodes.pve3.storage["local-lvm"] = 200),
      file: "homelab.yaml",
      path: "hardware.proxmox.nodes.pve3.storage.local-lvm",
    },
    {
      rule: "services.auth-bypass",
      edit: (f) => (segOf(f, "internal").services.registry.auth = { kind: "basic", realm: "registry" }),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.services.registry.auth",
    },
    {
      rule: "tunnel.subnet",
      edit: (f) => (lab(f).dmz.tunnel.subnet = "10.40.0.0/16"),
      file: "homelab.yaml",
      path: "dmz.tunnel.subnet",
    },
    {
      rule: "tunnel.keys",
      edit: (f) => (segOf(f, "cluster").router.tunnel.publicKey = lab(f).dmz.tunnel.publicKey),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.router.tunnel.publicKey",
    },
    {
      rule: "services.used-by",
      edit: (f) => (segOf(f, "internal").services.grafana.usedBy = ["clustr"]),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.services.grafana.usedBy[0]",
    },
    {
      rule: "segments.isolated",
      edit: (f) =>
        (segOf(f, "sandbox").flows = {
          db: { from: ["agent"], to: "internal/data", ports: ["3306/tcp"], reason: "task state in MariaDB" },
        }),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.flows.db.to",
    },
  ],
  b: [
    // tunnel.addresses runs after tunnel.subnet (batch a).
    {
      rule: "tunnel.addresses",
      edit: (f) => (segOf(f, "lab").router.tunnel.address = "10.254.0.13"),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.router.tunnel.address",
    },
    {
      rule: "tunnel.peers",
      edit: (f) => delete segOf(f, "sandbox").router.tunnel,
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.router.tunnel",
    },
    {
      rule: "data.host",
      edit: (f) => (segOf(f, "internal").dataHost.host = "dta"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.dataHost.host",
    },
    {
      rule: "data.sources",
      edit: (f) => segOf(f, "internal").dataHost.registry.clients.push("lab/mirror-3"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.dataHost.registry.clients[2]",
    },
    {
      rule: "vms.nics",
      edit: (f) => (segOf(f, "lab").hosts["mirror-2"].vm.nics = [{ bridge: "cluster" }]),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.hosts.mirror-2.vm.nics[0].bridge",
    },
    {
      rule: "vms.passthrough",
      edit: (f) => delete segOf(f, "cluster").hosts["worker-2"].vm.ha,
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.worker-2.vm.ha",
    },
    {
      rule: "ha.storage",
      edit: (f) => {
        lab(f).hardware.proxmox.datastores["local-lvm"] = { type: "lvmthin" };
        lab(f).hardware.proxmox.nodes.pve2.storage["local-lvm"] = 400;
        segOf(f, "internal").hosts.monitor.vm.disks.root.datastore = "local-lvm";
      },
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.hosts.monitor.vm.disks.root.datastore",
    },
    {
      rule: "vms.failover",
      edit: (f) => (segOf(f, "cluster").hosts["cp-1"].vm.failover = "pve2"),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.cp-1.vm.failover",
    },
    {
      rule: "talos.nodes",
      edit: (f) => delete segOf(f, "cluster").hosts["cp-2"].vm.ha,
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.cp-2.vm.ha",
    },
    {
      rule: "talos.cluster",
      edit: (f) => (segOf(f, "cluster").talos.controlPlanes = ["cp-1", "cp-2"]),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.talos.controlPlanes",
    },
    {
      rule: "services.backends",
      edit: (f) => (segOf(f, "internal").services.grafana.backend.host = "monitr"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.services.grafana.backend.host",
    },
    {
      rule: "services.auth",
      edit: (f) => Object.assign(segOf(f, "internal").services.registry, { exposure: "internet", auth: { kind: "none" } }),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.services.registry.auth",
    },
    {
      rule: "services.ports",
      edit: (f) => (segOf(f, "sandbox").services.valheim.port = 47998),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.services.valheim.port",
    },
    {
      rule: "services.names",
      edit: (f) => (segOf(f, "lab").services.mirror.hostname = "proxy"),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.services.mirror.hostname",
    },
    { rule: "ssh.jump-hosts", edit: (f) => (segOf(f, "lab").jumpHost = "jmp"), file: "Pulumi.lab.yaml", path: "homelab:segment.jumpHost" },
    {
      rule: "ssh.host-keys",
      edit: (f) => delete segOf(f, "sandbox").hosts.agent.sshHostKey,
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.agent.sshHostKey",
    },
    {
      rule: "flows.targets",
      edit: (f) => (segOf(f, "internal").flows["scrape-lab"].to = "lab/vdl"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.flows.scrape-lab.to",
    },
    {
      rule: "storage.targets",
      edit: (f) => (segOf(f, "cluster").storage["k8s-nfs"].consumers = ["worker-1", "worker-4"]),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.storage.k8s-nfs.consumers[1]",
    },
    {
      rule: "tls.expiry",
      edit: (f) =>
        (lab(f).dmz.tls = {
          manual: { certificate: "/var/lib/homelab/tls/full.pem", key: "/var/lib/homelab/tls/key.pem", expires: "2001-02-03" },
        }),
      file: "homelab.yaml",
      path: "dmz.tls.manual.expires",
    },
    {
      rule: "holes.until",
      edit: (f) => (segOf(f, "sandbox").services.minecraft.until = "2001-02-03T02:00+01:00"),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.services.minecraft.until",
    },
    {
      rule: "untrusted.reasons",
      edit: (f) =>
        (segOf(f, "sandbox").storage = {
          files: { protocol: "nfs", server: "internal/data", export: "/srv/nfs/agent", consumers: ["agent"] },
        }),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.storage.files.reason",
    },
    {
      rule: "routers.interfaces",
      edit: (f) => (lab(f).hardware.routers.rtr4.lanInterface = "enp2s0.0"),
      file: "homelab.yaml",
      path: "hardware.routers.rtr4.lanInterface",
    },
    {
      rule: "vms.vlans",
      edit: (f) => {
        lab(f).hardware.routers.rtr2.lanInterface = "enp2s0.20";
        segOf(f, "cluster").hosts["cp-3"].vm.nics = [{ bridge: "cluster", vlan: 21 }];
      },
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.cp-3.vm.nics[0].vlan",
    },
    {
      rule: "ssh.jump-host-kind",
      edit: (f) => (segOf(f, "internal").hosts.jump.os = "debian"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.hosts.jump.os",
    },
    {
      rule: "egress.allowlist",
      edit: (f) => (segOf(f, "lab").egress = { allow: ["10.10.0.5:3306/tcp"], reason: "Reach the database over the internet path" }),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.egress.allow[0]",
    },
    {
      rule: "proxmox.endpoint",
      edit: (f) => delete lab(f).hardware.proxmox.endpoint,
      file: "homelab.yaml",
      path: "hardware.proxmox.endpoint",
    },
    {
      rule: "talos.no-ssh",
      edit: (f) => (segOf(f, "cluster").hosts["worker-1"].listens = ["22/tcp"]),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.hosts.worker-1.listens[0]",
    },
    {
      rule: "proxmox.snippets-ssh",
      edit: (f) => delete lab(f).hardware.proxmox.sshUser,
      file: "homelab.yaml",
      path: "hardware.proxmox.sshUser",
    },
    {
      rule: "images.files",
      edit: (f) => (lab(f).hardware.proxmox.images["debian-12"].checksumAlgorithm = "sha256"),
      file: "homelab.yaml",
      path: "hardware.proxmox.images.debian-12.checksum",
    },
    {
      rule: "vms.images",
      edit: (f) => (segOf(f, "internal").hosts.monitor.vm.image = "nixos-25-11"),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.hosts.monitor.vm.image",
    },
    {
      rule: "vms.memory",
      edit: (f) => (segOf(f, "sandbox").hosts.games.vm.balloonMiB = 12288),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.games.vm.balloonMiB",
    },
    {
      rule: "vms.macs",
      edit: (f) => segOf(f, "internal").hosts.data.vm.nics.push({ bridge: "internal" }),
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.hosts.data.vm.nics[1].mac",
    },
  ],
  c: [
    // Removing a stateful thing's backup declaration fails check, naming it (issue 12's done-when). The backup rules
    // run after data.host and data.storage, which batches a and b break.
    {
      rule: "backups.declared",
      edit: (f) => delete segOf(f, "internal").backups.mariadb,
      file: "Pulumi.internal.yaml",
      path: "homelab:segment.backups.mariadb",
    },
    {
      rule: "backups.references",
      edit: (f) => (segOf(f, "lab").backups["vm:vdi"].target = "nsa"),
      file: "Pulumi.lab.yaml",
      path: "homelab:segment.backups.vm:vdi.target",
    },
    {
      rule: "backups.retention",
      edit: (f) => Object.assign(segOf(f, "sandbox").backups["vm:agent"], { schedule: "weekly sun 03:00", retention: "3d" }),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.backups.vm:agent.retention",
    },
    {
      rule: "backups.offsite",
      edit: (f) => delete lab(f).backups.targets.nas.offsite,
      file: "homelab.yaml",
      path: "backups.targets.nas.offsite",
    },
    {
      rule: "backups.code",
      edit: (f) => delete lab(f).backups.code,
      file: "homelab.yaml",
      path: "backups.code",
    },
    {
      rule: "capacity.n-minus-1",
      edit: (f) => (segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 60000),
      file: "Pulumi.sandbox.yaml",
      path: "homelab:segment.hosts.agent.vm.ha",
    },
    // talos.upgrade runs after talos.cluster (batches a and b break the cluster).
    {
      rule: "talos.upgrade",
      edit: (f) => (segOf(f, "cluster").talos.upgrade = { workersAtOnce: 3 }),
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.talos.upgrade.workersAtOnce",
    },
  ],
};

const ALL = (["a", "b", "c"] as const).flatMap((batch) => BATCHES[batch].map((b) => ({ batch, ...b })));

/** One problem block of the human output: `  <file>: <path> = <value>`, the message, `    fix: ...`. */
function blocks(stderr: string): { header: string; body: string }[] {
  return stderr
    .split("\n\n")
    .slice(1)
    .map((b) => ({ header: b.split("\n")[0] ?? "", body: b }));
}

const results: Record<string, Run> = {};

beforeAll(async () => {
  const dirA = copyLab((f) => {
    BATCHES.a.forEach((b) => {
      b.edit(f);
    });
  });
  const dirB = copyLab((f) => {
    BATCHES.b.forEach((b) => {
      b.edit(f);
    });
  });
  const dirC = copyLab((f) => {
    BATCHES.c.forEach((b) => {
      b.edit(f);
    });
  });
  // A manual certificate 10 days from expiry, measured from the real today as check measures it.
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  const dirSoon = copyLab((f) => {
    lab(f).dmz.tls = { manual: { certificate: "/var/lib/homelab/tls/full.pem", key: "/var/lib/homelab/tls/key.pem", expires: soon } };
  });
  // Minecraft open until three hours from now, to the second, as the owner opens it for one night.
  const night = `${new Date(Date.now() + 3 * 3600_000).toISOString().slice(0, 19)}Z`;
  const dirNight = copyLab((f) => (segOf(f, "sandbox").services.minecraft.until = night));
  const dirYaml = copyLab();
  fs.writeFileSync(path.join(dirYaml, "Pulumi.lab.yaml"), "config:\n  homelab:segment: [\n");
  const runs: Record<string, readonly string[]> = {
    a: ["check", "--dir", dirA],
    b: ["check", "--dir", dirB],
    aJson: ["check", "--dir", dirA, "--json"],
    bJson: ["check", "--dir", dirB, "--json"],
    c: ["check", "--dir", dirC],
    cJson: ["check", "--dir", dirC, "--json"],
    ok: ["check", "--dir", REPO],
    soon: ["check", "--dir", dirSoon],
    night: ["check", "--dir", dirNight],
    yaml: ["check", "--dir", dirYaml],
    flag: ["check", "--frobnicate"],
    noDir: ["check", "--dir", path.join(dirYaml, "missing")],
  };
  const names = Object.keys(runs);
  const out = await pool(
    names.map((n) => () => runCliAsync(runs[n]!)),
    2,
  );
  names.forEach((n, i) => (results[n] = out[i]!));
}, 120_000);

describe("npm run check", () => {
  test("every validation rule has a CLI breakage", () => {
    expect(ALL.map((b) => b.rule).sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  test.each(ALL)("$rule: exit 1, stderr names $file and $path with a fix", ({ batch, rule, file, path: at }) => {
    const run = results[batch]!;
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^the lab configuration is invalid: \d+ problems?\n/);
    const block = blocks(run.stderr).find((b) => b.header.startsWith(`  ${file}: ${at} = `));
    if (!block) throw new Error(`no block for ${file}: ${at} in:\n${run.stderr}`);
    expect(block.body).toMatch(/\n {4}fix: \S/);
    const json = JSON.parse(results[`${batch}Json`]!.stdout) as { problems: { rule: string; file: string; path: string }[] };
    expect(json.problems).toContainEqual(expect.objectContaining({ rule, file, path: at }));
  });

  test("--json: ok false and every problem with file, path, message and fix; nothing on stderr", () => {
    for (const batch of ["a", "b", "c"] as const) {
      const key = `${batch}Json`;
      const run = results[key]!;
      expect(run.code).toBe(1);
      expect(run.stderr).toBe("");
      const json = JSON.parse(run.stdout);
      expect(json.ok).toBe(false);
      expect(json.problems.length).toBeGreaterThanOrEqual(BATCHES[batch].length);
      for (const p of json.problems) {
        expect(p).toEqual(
          expect.objectContaining({
            file: expect.any(String),
            path: expect.any(String),
            message: expect.any(String),
            fix: expect.any(String),
          }),
        );
      }
      // the human output lists the same problems
      expect(blocks(results[batch]!.stderr)).toHaveLength(json.problems.length);
    }
  });

  test("a manual certificate within 30 days of expiry: exit 0 with a warning naming the file, path and days left", () => {
    const run = results.soon!;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /^warning: homelab\.yaml dmz\.tls\.manual\.expires: the proxy's manual certificate expires in (9|10|11) days \(\d{4}-\d{2}-\d{2}\)/,
    );
    expect(run.stdout).toMatch(/^ok: /);
  });

  test("a hole that closes within a day: exit 0 with a warning naming its path, the time left and how to keep or close it", () => {
    const run = results.night!;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /^warning: Pulumi\.sandbox\.yaml homelab:segment\.services\.minecraft\.until: sandbox service minecraft, open to the internet, closes in (2 h 5\d min|3 h) \(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\): its firewall stops it then, whoever runs pulumi up; to keep it open longer, set until to a later date and time/m,
    );
    expect(run.stdout).toMatch(/^ok: /);
  });

  test("the reference lab: exit 0, the one-line summary, and a warning per ISO still attached to HA VMs", () => {
    const run = results.ok!;
    expect(run.code).toBe(0);
    expect(run.stderr.split("\n").filter((l) => l !== "")).toEqual([
      expect.stringMatching(
        /^warning: homelab\.yaml hardware\.proxmox\.images\.nixos-25-05: the ISO nixos-25-05 is still attached to 10 HA VMs /,
      ),
    ]);
    expect(run.stdout).toMatch(
      /^ok: lab\.example\.net: 4 segments \(cluster, internal, lab, sandbox\), \d+ hosts, 18 VMs on 5 nodes \(N-1 checked\), 19 published services, \d+ flows\n$/,
    );
  });

  test.each([
    ["malformed YAML", "yaml", /Pulumi\.lab\.yaml: line \d+, column \d+ = /],
    ["an unknown flag", "flag", /Unknown option '--frobnicate'[\s\S]*usage: npm run <command>/],
    ["a directory that does not exist", "noDir", /is not a directory/],
  ])("%s: exit 1, a plain message, no stack trace", (_name, key, message) => {
    const run = results[key]!;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/^ {4}at /m);
    expect(run.stderr).not.toMatch(/\.ts:\d+:\d+/);
  });
});
