// Proves the data host's renderer emits the reference lab's files byte for byte (goldens) with the intended meaning: its firewall is exactly the flows that end at it, sshd admits the jump host only (which now lets the deploy identity through to it), the exports list one entry per consumer and share, the plain my.cnf and smb.conf are printings of the same settings configuration.nix gets, the users scripts are their facts plus fixed bash that reads every fact, and no secret value is an input of the renderer; does not run any tool (tests/tools does) or prove the stack uploads the secrets (tests/mocks does).
import * as path from "path";
import { planSshAccess } from "../../model/network/ssh";
import { applyScriptBody } from "../../render/apply-common";
import { renderDataHostFiles } from "../../render/data-host";
import { mariadbSettings, renderExports, renderMariadbConf, renderSmbConf, sambaSettings, NFS_OPTIONS } from "../../render/data-services";
import { filesUnder, type RenderedFile } from "../../render/files";
import { iniToNix } from "../../render/ini";
import { jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { printNix } from "../../render/nix";
import { loadScriptBody } from "../../render/scripts/load";
import { expectGolden, expectScriptGoldens, staleGoldens } from "../support/golden";
import { referenceLab, referencePlan } from "../support/lab";

const lab = referenceLab();
const access = planSshAccess(lab);
const seg = referencePlan().segments.internal!;
const plan = seg.dataHost!;
/** Stand-ins for the secrets' fingerprints (the stack computes them from the stack file's ciphertext). */
const VERSIONS = {
  "mariadb-gitea.password": "f1f1f1f1f1f1f1f1",
  "samba-k8s.password": "f2f2f2f2f2f2f2f2",
  "registry.htpasswd": "f3f3f3f3f3f3f3f3",
};
const files = filesUnder(renderDataHostFiles(seg, access, jumpLabFacts(lab), VERSIONS), "data");
const fileOf = (name: string) => {
  const f = files.find((x) => x.path === name);
  if (!f) throw new Error(`no ${name}; have ${files.map((x) => x.path).join(", ")}`);
  return f.content;
};

describe("goldens (UPDATE_GOLDEN=1 rewrites them; review the diff)", () => {
  /** Scripts are golden as their facts; their bodies are the files under render/scripts/ themselves. */
  const bodies: Readonly<Record<string, string>> = {
    "apply.sh": applyScriptBody("nixos-apply"),
    "mariadb-users.sh": loadScriptBody("mariadb-users"),
    "samba-users.sh": loadScriptBody("samba-users"),
    "backup-freshness.sh": loadScriptBody("backup-freshness"),
  };

  test("every file of the internal data host", () => {
    const plain = files.filter((f) => bodies[f.path] === undefined);
    for (const f of plain) expectGolden(`data/internal/${f.path}`, f.content);
    const scripts = files.filter((f) => bodies[f.path] !== undefined);
    const facts = (f: RenderedFile) => `data/internal/${f.path.replace(/\.sh$/, ".facts.sh")}`;
    // The commit-confirm script's body has its own golden; the users scripts' bodies are the files under render/scripts/.
    expectScriptGoldens(fileOf("apply.sh"), bodies["apply.sh"]!, facts({ path: "apply.sh" } as RenderedFile), "scripts/nixos-apply.sh");
    for (const f of scripts.filter((x) => x.path !== "apply.sh")) {
      const body = bodies[f.path]!;
      expect(f.content.slice(f.content.length - body.length - 2)).toBe(`\n\n${body}`);
      expectGolden(facts(f), f.content.slice(0, f.content.length - body.length - 1));
    }
    expect(
      staleGoldens("data/internal", [...plain.map((f) => f.path), ...scripts.map((f) => facts(f).slice("data/internal/".length))]),
    ).toEqual([]);
    expect(files.map((f) => `${f.path} ${f.checker}`)).toEqual([
      "apply.sh sh",
      "backup-freshness.sh sh",
      "configuration.nix nix",
      "exports exports",
      "host.nft nft",
      "mariadb-users.sh sh",
      "samba-users.sh sh",
      "sshd_config sshd",
    ]);
  });

  test("the same model renders the same bytes", () => {
    expect(renderDataHostFiles(seg, access, jumpLabFacts(lab), VERSIONS)).toEqual(
      renderDataHostFiles(seg, access, jumpLabFacts(lab), VERSIONS),
    );
  });
});

describe("who reaches the data host", () => {
  test("its firewall accepts exactly the flows that end at it, each from its sources to its port", () => {
    const accepted = [
      ...fileOf("host.nft").matchAll(/^\t\t# (\S+): .*\n\t\tip saddr (\S+) ip daddr 10\.10\.0\.10 tcp dport (\d+) accept$/gm),
    ].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    const wanted = seg.flows
      .filter((f) => f.to.cidrs.some((c) => c.contains(plan.address)))
      .flatMap((f) => f.ports.map((p) => `${f.id} ${f.from.cidrs.map((c) => c.network).join(",")} ${p.port}`));
    expect(accepted.sort()).toEqual(wanted.sort());
    expect(accepted).toContain("ssh:internal/jump 10.10.0.2 22");
    expect(accepted.filter((a) => a.includes("sandbox") || a.includes("10.40."))).toEqual([]);
  });

  test("sshd listens on its address and admits every user from the jump host only", () => {
    const sshd = fileOf("sshd_config");
    expect(sshd).toMatch(/^ListenAddress 10\.10\.0\.10$/m);
    expect(/^AllowUsers (.*)$/m.exec(sshd)![1]!.split(" ").sort()).toEqual(access.users.map((u) => `${u.name}@10.10.0.2/32`).sort());
  });

  test("the jump host lets the deploy identity through to the data host's port 22, and to the router's (and the monitor's, a base host)", () => {
    const jump = renderJumpFiles(seg, access, jumpLabFacts(lab)).find((f) => f.path === "jump/sshd_config")!.content;
    expect(jump).toContain(`    PermitOpen ${seg.router.lan.address}:22 ${plan.address}:22 10.10.0.30:22\n`);
    const other = referencePlan().segments.lab!;
    expect(renderJumpFiles(other, access, jumpLabFacts(lab)).find((f) => f.path === "jump/sshd_config")!.content).toContain(
      `    PermitOpen ${other.router.lan.address}:22\n`,
    );
  });
});

describe("what it serves, one source for the host and the tests", () => {
  test("exports: one line per share, one entry per consumer address, squashed to the export owner", () => {
    const lines = renderExports(plan)
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    expect(lines).toEqual([`/srv/nfs/k8s ${["10.20.0.21", "10.20.0.22", "10.20.0.23"].map((a) => `${a}(${NFS_OPTIONS})`).join(" ")}`]);
    expect(fileOf("exports")).toBe(renderExports(plan));
    expect(fileOf("configuration.nix")).toContain("services.nfs.server.exports = builtins.readFile ./exports;");
  });

  test("my.cnf and services.mysql.settings print the same document: the segment address, no name lookups", () => {
    const doc = mariadbSettings(plan);
    expect(doc).toEqual([
      {
        name: "mysqld",
        entries: [
          ["bind-address", "10.10.0.10"],
          ["character-set-server", "utf8mb4"],
          ["local-infile", "OFF"],
          ["skip-name-resolve", "ON"],
        ],
      },
    ]);
    const cnf = renderMariadbConf(plan);
    expect(cnf.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["[mysqld]", ...doc[0]!.entries.map(([k, v]) => `${k}=${v}`)]);
    expect(fileOf("configuration.nix")).toContain(`  services.mysql.settings = ${printNix(iniToNix(doc), 1)};\n`);
  });

  test("smb.conf and services.samba.settings print the same document: global first, each share's users and consumers", () => {
    const doc = sambaSettings(plan, seg.subnet.prefix);
    expect(doc.map((s) => s.name)).toEqual(["global", "media"]);
    const media = Object.fromEntries(doc[1]!.entries);
    expect(media).toMatchObject({
      path: "/srv/smb/media",
      "valid users": "k8s",
      "hosts allow": "10.20.0.21 10.20.0.22 10.20.0.23",
      "guest ok": "no",
    });
    expect(Object.fromEntries(doc[0]!.entries)).toMatchObject({
      interfaces: "10.10.0.10/24",
      "smb ports": "445",
      "hosts allow": "10.20.0.21 10.20.0.22 10.20.0.23",
      "hosts deny": "ALL",
      "map to guest": "Never",
    });
    const conf = renderSmbConf(plan, seg.subnet.prefix);
    for (const s of doc) {
      expect(conf).toContain(`[${s.name}]\n${s.entries.map(([k, v]) => `${k} = ${v}`).join("\n")}\n`);
    }
    expect(fileOf("configuration.nix")).toContain(`  services.samba.settings = ${printNix(iniToNix(doc), 1)};\n`);
  });

  test("the registry listens on the segment address and reads its htpasswd as a systemd credential", () => {
    const nix = fileOf("configuration.nix");
    expect(nix).toContain('services.dockerRegistry.listenAddress = "10.10.0.10";');
    expect(nix).toContain('path = "/run/credentials/docker-registry.service/htpasswd";');
    expect(nix).toContain('LoadCredential = [ "htpasswd:/etc/nixos/homelab/registry.htpasswd" ];');
  });
});

describe("secrets: files of the release, never text of a rendered file", () => {
  test("every secret file is named where it is read, and its fingerprint restarts the unit that reads it", () => {
    const nix = fileOf("configuration.nix");
    expect(nix).toContain('restartTriggers = [ "mariadb-gitea.password:f1f1f1f1f1f1f1f1" ];');
    expect(nix).toContain('restartTriggers = [ "samba-k8s.password:f2f2f2f2f2f2f2f2" ];');
    expect(nix).toContain('restartTriggers = [ "registry.htpasswd:f3f3f3f3f3f3f3f3" ];');
    expect(fileOf("mariadb-users.sh")).toContain("PASSWORD_DIR='/etc/nixos/homelab'");
    expect(fileOf("samba-users.sh")).toContain("PASSWORD_DIR='/etc/nixos/homelab'");
  });

  test("a new secret changes only those triggers, so the release id changes and nothing else is re-rendered", () => {
    const again = renderDataHostFiles(seg, access, jumpLabFacts(lab), { ...VERSIONS, "samba-k8s.password": "0000000000000000" });
    const changed = again.filter((f, i) => f.content !== renderDataHostFiles(seg, access, jumpLabFacts(lab), VERSIONS)[i]!.content);
    expect(changed.map((f) => f.path)).toEqual(["data/configuration.nix"]);
  });

  test("a secret file without a fingerprint is a bug, not a silent unit", () => {
    expect(() => renderDataHostFiles(seg, access, jumpLabFacts(lab), { "mariadb-gitea.password": "x" })).toThrow(
      "bug: no fingerprint for the secret file samba-k8s.password",
    );
  });
});

describe("the users scripts: facts, then fixed bash that reads every one", () => {
  /** Names set by `NAME=`, `declare -A NAME=() ...` or `read ... -a NAME`. */
  const assigned = (text: string) =>
    new Set([
      ...[...text.matchAll(/^\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/^\s*declare -A (.*)$/gm)].flatMap((m) => [...m[1]!.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((x) => x[1]!)),
      ...[...text.matchAll(/read -r -a ([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!),
    ]);
  const read = (text: string) => new Set([...text.matchAll(/\$\{?!?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
  const ENV = new Set(["HOMELAB_SECRETS", "HOMELAB_MARIADB", "HOMELAB_STATE", "HOMELAB_SMB_CONF"]);

  test.each([
    ["mariadb-users.sh", "mariadb-users"],
    ["samba-users.sh", "samba-users"],
  ] as const)("%s", (name, body) => {
    const script = fileOf(name);
    const text = loadScriptBody(body);
    const facts = script.slice(0, script.length - text.length);
    const known = new Set([...assigned(facts), ...assigned(text), ...ENV]);
    expect([...read(text)].filter((v) => !known.has(v))).toEqual([]);
    expect([...assigned(facts)].filter((f) => !read(text).has(f))).toEqual([]);
  });

  test("the MariaDB facts: one account per user and source, its databases, and the databases to create", () => {
    const facts = fileOf("mariadb-users.sh");
    expect(facts).toContain("DATABASES=(\n  'gitea'\n)");
    expect(facts).toContain(
      "ACCOUNTS=(\n  'gitea 10.20.0.21 gitea'  # cluster/worker-1\n  'gitea 10.20.0.22 gitea'  # cluster/worker-2\n  'gitea 10.20.0.23 gitea'  # cluster/worker-3\n)",
    );
  });
});

test("the files are in the layout the release and the plan use", () => {
  expect(path.posix.dirname(files[0]!.path)).toBe(".");
  const all: readonly RenderedFile[] = renderDataHostFiles(seg, access, jumpLabFacts(lab), VERSIONS);
  expect(all.every((f) => f.path.startsWith("data/"))).toBe(true);
});
