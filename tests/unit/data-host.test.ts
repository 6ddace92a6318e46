// Proves the data domain: each data-host rule's exact message and fix, the data host's plan (NFS exports and Samba shares from the storage consumers, one MariaDB account per user and source, the secret files), the flows derived from it and what the routers make of them, and that its secrets are stack keys read encrypted only; does not prove the rendered files (render-data-host, tools) or a running server (twin).
import type { Lab } from "../../model/lab";
import { planDataHost } from "../../model/data/plan";
import { planFlows } from "../../model/network/flows";
import { segmentHosts } from "../../model/network/hosts";
import { planLab } from "../../model/plan";
import { formatProblems, type Problem } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

const internal = (f: LabFiles) => segOf(f, "internal");
const dh = (f: LabFiles) => internal(f).dataHost;
const FILE = "Pulumi.internal.yaml";
const at = (path: string) => `homelab:segment.dataHost.${path}`;

/** Each case: an edit, and the one problem it makes, exactly. */
const CASES: readonly [string, (f: LabFiles) => void, Omit<Problem, "value"> & { rule: string }][] = [
  [
    "a data host that is no host",
    (f) => (dh(f).host = "dta"),
    {
      rule: "data.host",
      file: FILE,
      path: at("host"),
      message: 'the data host "dta" is not a host of internal; did you mean "data"? (its NixOS hosts: data, monitor)',
      fix: "name the NixOS host that serves MariaDB, NFS, SMB and the registry, e.g. host: data",
    },
  ],
  [
    "the jump host as data host",
    (f) => (dh(f).host = "jump"),
    {
      rule: "data.host",
      file: FILE,
      path: at("host"),
      message: "internal/jump is the segment's jump host, the only way in; the data host must be another host",
      fix: "give the data its own NixOS host and name it here",
    },
  ],
  [
    "a data host that does not run NixOS",
    (f) => (internal(f).hosts.data.os = "debian"),
    {
      rule: "data.host",
      file: FILE,
      path: at("host"),
      message: "internal/data runs debian; the data host is deployed as a NixOS host (a rendered configuration.nix), so it must run nixos",
      fix: "set hosts.data.os to nixos, or name a NixOS host of internal",
    },
  ],
  [
    "a database user's source that names nothing",
    (f) => (dh(f).mariadb.users.gitea.from[1] = "cluster/wrker-2"),
    {
      rule: "data.sources",
      file: FILE,
      path: at("mariadb.users.gitea.from[1]"),
      message:
        'MariaDB user gitea\'s source "cluster/wrker-2" names nothing in the lab (a source is <segment> or <segment>/<host>; segments: cluster, internal, lab, sandbox); did you mean "cluster/worker-2"?',
      fix: "write cluster/worker-2",
    },
  ],
  [
    "a registry client in the DMZ",
    (f) => dh(f).registry.clients.push("dmz/proxy"),
    {
      rule: "data.sources",
      file: FILE,
      path: at("registry.clients[2]"),
      message:
        "the registry's source \"dmz/proxy\" is in the DMZ; nothing in the DMZ connects to a segment's data host directly (published services go through the proxy)",
      fix: "remove it; a published service's backend is reached through the proxy without an entry here",
    },
  ],
  [
    "the data host as its own client",
    (f) => dh(f).registry.clients.push("internal/data"),
    {
      rule: "data.sources",
      file: FILE,
      path: at("registry.clients[2]"),
      message: 'the registry\'s source "internal/data" is the data host itself; it reaches its own services locally, not through a flow',
      fix: "remove it",
    },
  ],
  [
    "a client listed twice",
    (f) => dh(f).registry.clients.push("lab/mirror-1"),
    {
      rule: "data.sources",
      file: FILE,
      path: at("registry.clients[2]"),
      message: "the registry lists lab/mirror-1 twice (first at homelab:segment.dataHost.registry.clients[0])",
      fix: "remove the repeated entry",
    },
  ],
  [
    "a grant of an undeclared database",
    (f) => (dh(f).mariadb.users.gitea.databases = ["gittea"]),
    {
      rule: "data.grants",
      file: FILE,
      path: at("mariadb.users.gitea.databases[0]"),
      message:
        'MariaDB user gitea is granted database gittea, which internal\'s data host does not keep; did you mean "gitea"? (databases: gitea)',
      fix: "write gitea",
    },
  ],
  [
    "a share for an undeclared Samba user",
    (f) => (dh(f).samba.shares.media.users = ["k8z"]),
    {
      rule: "data.grants",
      file: FILE,
      path: at("samba.shares.media.users[0]"),
      message: 'Samba share media admits k8z, who is not a Samba user of internal\'s data host; did you mean "k8s"? (users: k8s)',
      fix: "write k8s",
    },
  ],
  [
    "an NFS export that is no plain path",
    (f) => (segOf(f, "cluster").storage["k8s-nfs"].export = "/srv/nfs/k8s data"),
    {
      rule: "data.storage",
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.storage.k8s-nfs.export",
      message:
        'the NFS export "/srv/nfs/k8s data" of the data host internal/data must be an absolute directory path of letters, digits and ._- only, without a trailing / (it becomes a line of /etc/exports)',
      fix: "write a path such as /srv/nfs/k8s",
    },
  ],
  [
    "an SMB mount of a share the data host does not have",
    (f) => (segOf(f, "cluster").storage["media-smb"].export = "medai"),
    {
      rule: "data.storage",
      file: "Pulumi.cluster.yaml",
      path: "homelab:segment.storage.media-smb.export",
      message: 'the data host internal/data has no Samba share "medai"; did you mean "media"? (its shares: media)',
      fix: "write export: media",
    },
  ],
  [
    "a share nobody mounts",
    (f) => (dh(f).samba.shares.backup = { path: "/srv/smb/backup", users: ["k8s"] }),
    {
      rule: "data.storage",
      file: FILE,
      path: at("samba.shares.backup"),
      message: "Samba share backup is mounted by no storage entry, so no host may reach it (its hosts allow lists the storage consumers)",
      fix: "add a storage entry with protocol: smb, server: internal/data, export: backup in the segment that mounts it, or remove the share",
    },
  ],
  [
    "an untrusted source without a reason",
    // The reference sandbox is isolated (segments.isolated); this rule is about one that is not.
    (f) => {
      Object.assign(segOf(f, "sandbox"), { isolated: false });
      dh(f).mariadb.users.gitea.from.push("sandbox/agent");
    },
    {
      rule: "data.untrusted",
      file: FILE,
      path: at("mariadb.users.gitea.reason"),
      message:
        "MariaDB user gitea is reached from the untrusted sandbox/agent, which opens 3306/tcp on internal/data to it; an untrusted segment needs a stated reason for every opening",
      fix: "add reason: <why sandbox/agent must reach it> (at least 10 characters), or remove the untrusted sources",
    },
  ],
  [
    "a Samba user named like an admin",
    (f) => {
      dh(f).samba.users = { alice: { secret: "sambaAlice" } };
      dh(f).samba.shares.media.users = ["alice"];
    },
    {
      rule: "data.accounts",
      file: FILE,
      path: at("samba.users.alice"),
      message:
        "Samba user alice would be a system account of internal/data, but alice is already an admin's or the deploy user's login there",
      fix: "rename the Samba user, e.g. alice-smb, and its entries under samba.shares.*.users",
    },
  ],
  [
    "a Samba user named like a system account of the data host",
    (f) => {
      dh(f).samba.users = { mysql: { secret: "sambaMysql" } };
      dh(f).samba.shares.media.users = ["mysql"];
    },
    {
      rule: "data.accounts",
      file: FILE,
      path: at("samba.users.mysql"),
      message: "Samba user mysql would be a system account of internal/data, but mysql is already a system account of the data host there",
      fix: "rename the Samba user, e.g. mysql-smb, and its entries under samba.shares.*.users",
    },
  ],
  [
    "a secret named like a key the stack reads",
    (f) => (dh(f).registry.secret = "segment"),
    {
      rule: "data.secrets",
      file: FILE,
      path: at("registry.secret"),
      message: "homelab:segment is a key the stack reads for something else, not a secret",
      fix: "name another key, such as registryHtpasswd",
    },
  ],
];

describe("data host rules: one exact problem per mistake", () => {
  test.each(CASES)("%s", (_, edit, expected) => {
    const problems = validateLab(labWith(edit)).map(({ value: _v, line: _l, ...p }) => p);
    expect(problems).toEqual([expected]);
  });

  test("an untrusted source with a reason, and a whole segment as a source, are allowed", () => {
    const lab = labWith((f) => {
      Object.assign(segOf(f, "sandbox"), { isolated: false });
      dh(f).mariadb.users.gitea.from.push("sandbox/agent");
      dh(f).mariadb.users.gitea.reason = "the agent keeps its notes in the gitea database";
      dh(f).registry.clients.push("lab");
    });
    expect(validateLab(lab)).toEqual([]);
  });
});

describe("the reference data host, planned", () => {
  const lab = referenceLab();
  const plan = planDataHost(lab, lab.segments.internal!)!;

  test("NFS exports: one per path, the consumers' addresses from the storage entries", () => {
    expect(plan.nfs).toEqual([
      {
        path: "/srv/nfs/k8s",
        storage: ["cluster/k8s-nfs"],
        clients: ["worker-1", "worker-2", "worker-3"].map((w) => ({
          label: `cluster/${w}`,
          zone: "cluster",
          cidr: expect.objectContaining({ network: lab.segments.cluster!.hosts[w]!.address, prefix: 32 }),
        })),
      },
    ]);
  });

  test("Samba: the declared share, with the consumers of the storage entries that mount it", () => {
    expect(plan.samba!.users).toEqual([{ name: "k8s", file: "samba-k8s.password" }]);
    expect(plan.samba!.shares.map((s) => ({ ...s, clients: s.clients.map((c) => c.label) }))).toEqual([
      {
        name: "media",
        path: "/srv/smb/media",
        users: ["k8s"],
        readOnly: false,
        clients: ["cluster/worker-1", "cluster/worker-2", "cluster/worker-3"],
      },
    ]);
  });

  test("MariaDB: one account per user and source, at the source's address", () => {
    expect(plan.mariadb!.databases).toEqual(["gitea"]);
    expect(plan.mariadb!.users).toEqual([
      {
        name: "gitea",
        file: "mariadb-gitea.password",
        accounts: ["10.20.0.21", "10.20.0.22", "10.20.0.23"].map((host, i) => ({
          user: "gitea",
          host,
          source: `cluster/worker-${i + 1}`,
          databases: ["gitea"],
        })),
      },
    ]);
  });

  test("a whole segment as a source is one account for its subnet, by netmask", () => {
    const l = labWith((f) => (dh(f).mariadb.users.gitea.from = ["lab"]));
    expect(planDataHost(l, l.segments.internal!)!.mariadb!.users[0]!.accounts).toEqual([
      { user: "gitea", host: "10.30.0.0/255.255.255.0", source: "lab", databases: ["gitea"] },
    ]);
  });

  test("every password is a release file named for its user, filled from the segment stack's secret", () => {
    expect(plan.secrets).toEqual([
      { key: "homelab:mariadbGitea", file: "mariadb-gitea.password", what: "the password of MariaDB user gitea" },
      { key: "homelab:registryHtpasswd", file: "registry.htpasswd", what: "the registry's htpasswd file" },
      { key: "homelab:sambaK8s", file: "samba-k8s.password", what: "the password of Samba user k8s" },
    ]);
  });

  test("its ports are derived, not listed by hand", () => {
    const data = segmentHosts(lab, lab.segments.internal!).find((h) => h.id === "data")!;
    expect(lab.segments.internal!.hosts.data!.listens).toEqual([]);
    expect(data.listens).toEqual([
      { port: 445, proto: "tcp" },
      { port: 2049, proto: "tcp" },
      { port: 3306, proto: "tcp" },
      { port: 5000, proto: "tcp" },
    ]);
  });
});

describe("flows derived from the data host", () => {
  const lab = referenceLab();
  const flows = planFlows(lab);
  const toData = flows.filter((f) => f.to.label === "internal/data");

  test("each database user's source and each registry client gets a flow to its port; storage consumers get theirs", () => {
    expect(toData.map((f) => `${f.id} ${f.kind} ${f.from.label} ${f.ports.map((p) => `${p.port}/${p.proto}`).join(",")}`).sort()).toEqual([
      "database:internal/data/gitea/cluster/worker-1 database cluster/worker-1 3306/tcp",
      "database:internal/data/gitea/cluster/worker-2 database cluster/worker-2 3306/tcp",
      "database:internal/data/gitea/cluster/worker-3 database cluster/worker-3 3306/tcp",
      "publish:internal/registry publish dmz/proxy (tunnel) 5000/tcp",
      "registry:internal/data/lab/mirror-1 registry lab/mirror-1 5000/tcp",
      "registry:internal/data/lab/mirror-2 registry lab/mirror-2 5000/tcp",
      "storage:cluster/k8s-nfs/worker-1 storage cluster/worker-1 2049/tcp",
      "storage:cluster/k8s-nfs/worker-2 storage cluster/worker-2 2049/tcp",
      "storage:cluster/k8s-nfs/worker-3 storage cluster/worker-3 2049/tcp",
      "storage:cluster/media-smb/worker-1 storage cluster/worker-1 445/tcp",
      "storage:cluster/media-smb/worker-2 storage cluster/worker-2 445/tcp",
      "storage:cluster/media-smb/worker-3 storage cluster/worker-3 445/tcp",
    ]);
    expect(flows.find((f) => f.id === "database:internal/data/gitea/cluster/worker-1")!.reason).toBe(
      "cluster/worker-1 logs in to MariaDB on internal/data as gitea (databases gitea), with its password",
    );
  });

  test("both routers on the path forward them: out of the source's segment, into internal", () => {
    const plan = planLab(lab);
    const rules = (seg: string, dir: "inbound" | "outbound") =>
      plan.segments[seg]!.router[dir].filter((r) => r.flow.startsWith("database:") || r.flow.startsWith("registry:")).map(
        (r) => `${r.from} ${r.to} ${r.port}/${r.proto}`,
      );
    expect(rules("cluster", "outbound")).toEqual([
      "10.20.0.21/32 10.10.0.10/32 3306/tcp",
      "10.20.0.22/32 10.10.0.10/32 3306/tcp",
      "10.20.0.23/32 10.10.0.10/32 3306/tcp",
    ]);
    expect(rules("lab", "outbound")).toEqual(["10.30.0.31/32 10.10.0.10/32 5000/tcp", "10.30.0.32/32 10.10.0.10/32 5000/tcp"]);
    expect(rules("internal", "inbound").sort()).toEqual([...rules("cluster", "outbound"), ...rules("lab", "outbound")].sort());
    expect(rules("sandbox", "outbound")).toEqual([]);
  });

  test("a source inside the data host's own segment gets a flow (for its host firewall) that no router forwards", () => {
    const l = labWith((f) => dh(f).mariadb.users.gitea.from.push("internal/monitor"));
    const f = planFlows(l).find((x) => x.id === "database:internal/data/gitea/internal/monitor")!;
    expect(f.from.label).toBe("internal/monitor");
    const plan = planLab(l);
    expect(plan.segments.internal!.router.inbound.concat(plan.segments.internal!.router.outbound).some((r) => r.flow === f.id)).toBe(false);
  });
});

describe("the data host's secrets are stack keys, read encrypted only", () => {
  const problemsOf = (edit: (f: LabFiles) => void) => {
    const files = referenceFiles();
    edit(files);
    return parseFiles(files).problems;
  };

  test("encrypted: accepted", () => {
    expect(problemsOf((f) => (f[FILE].config["homelab:mariadbGitea"] = { secure: "v1:AAAAbase64" }))).toEqual([]);
  });

  test("in plain text: refused, never printed, with the command that stores it encrypted", () => {
    const problems = problemsOf((f) => (f[FILE].config["homelab:sambaK8s"] = "hunter2-plain"));
    expect(problems.map((p) => p.path)).toEqual(["homelab:sambaK8s"]);
    expect(problems[0]!.message).toContain("holds a secret in plain text");
    expect(problems[0]!.fix).toContain("pulumi config set --secret homelab:sambaK8s -s internal");
    expect(JSON.stringify(problems)).not.toContain("hunter2-plain");
  });

  test("another segment's stack does not read them", () => {
    const problems = problemsOf((f) => (f["Pulumi.lab.yaml"].config["homelab:mariadbGitea"] = { secure: "v1:AAAAbase64" }));
    expect(problems.map((p) => p.message)).toEqual([
      "unknown config key (a segment stack reads homelab:segment, homelab:confirmTimeoutSeconds, homelab:proxmoxApiToken, homelab:wireguardKey)",
    ]);
  });
});
