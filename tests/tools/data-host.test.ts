// Proves the data host's files pass the real programs that read them: configuration.nix (nix-instantiate --parse, and a lazy evaluation that finds services.mysql.settings and services.samba.settings equal to the documents the plain files print, and the exports option equal to the checked exports file), the plain my.cnf (mariadbd's own option parser, read back), smb.conf (testparm -s, read back), the exports file (exportfs -ra in private namespaces, read back by exportfs -s), sshd_config, host.nft and the scripts, each checker failing a broken file; and that mariadb-users.sh, run against a real MariaDB server, makes exactly the model's accounts with their passwords and grants, drops what the model no longer has and changes nothing when a password file is missing, and samba-users.sh makes exactly the model's Samba users; does not boot NixOS or serve clients (the twin does).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planSshAccess } from "../../model/network/ssh";
import { renderDataHostFiles } from "../../render/data-host";
import { mariadbSettings, renderExports, renderMariadbConf, renderSmbConf, sambaSettings } from "../../render/data-services";
import { filesUnder, type RenderedFile } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import { checkFiles, requirePrograms, requireTools, type CheckResult } from "../support/checkers";
import { referenceLab, referencePlan } from "../support/lab";
import { evalDataNix } from "../support/data-nix";
import { must, run, sleep } from "../support/proc";

const lab = referenceLab();
const seg = referencePlan().segments.internal!;
const plan = seg.dataHost!;
const VERSIONS = { "mariadb-gitea.password": "a".repeat(16), "samba-k8s.password": "b".repeat(16), "registry.htpasswd": "c".repeat(16) };
const files = renderDataHostFiles(seg, planSshAccess(lab), jumpLabFacts(lab), VERSIONS);
const release = filesUnder(files, "data");
const fileOf = (name: string) => release.find((f) => f.path === name)!;
const myCnf: RenderedFile = { path: "plain/my.cnf", content: renderMariadbConf(plan), checker: "mariadb" };
const smbConf: RenderedFile = { path: "plain/smb.conf", content: renderSmbConf(plan, seg.subnet.prefix), checker: "samba" };

const broken = (name: string, f: RenderedFile, edit: (t: string) => string): RenderedFile => {
  const content = edit(f.content);
  if (content === f.content) throw new Error(`the edit did not change ${f.path}`);
  return { ...f, path: `broken-${name}/${path.posix.basename(f.path)}`, content };
};

/** One broken file per checker the data host adds: each must fail it. */
const BROKEN: readonly [string, RenderedFile][] = [
  ["mariadb: an unknown option", broken("mariadb", myCnf, (t) => t.replace("local-infile=OFF", "local-infile=OFF\nno-such-option=1"))],
  ["samba: an unknown parameter", broken("samba", smbConf, (t) => t.replace("guest ok = no", "guest ok = no\nguest okay = no"))],
  [
    "exports: an unknown option",
    broken("exports", { ...fileOf("exports"), path: "data/exports" }, (t) => t.replace("all_squash", "all_squish")),
  ],
  [
    "exports: a client without options' parenthesis",
    broken("exports-paren", { ...fileOf("exports"), path: "data/exports" }, (t) => t.replace("(rw,", "(rw")),
  ],
  [
    "nix",
    broken("nix", { ...fileOf("configuration.nix"), path: "data/configuration.nix" }, (t) =>
      t.replace("services.mysql.enable = true;", "services.mysql.enable = true"),
    ),
  ],
];

let results: Map<string, CheckResult>;
beforeAll(() => {
  results = new Map(checkFiles([...files, myCnf, smbConf, ...BROKEN.map(([, f]) => f)]).map((r) => [r.file, r]));
}, 60000);

describe("the data host's files pass their real checkers", () => {
  test.each([...files.map((f) => f.path), myCnf.path, smbConf.path])("%s", (p) => {
    const r = results.get(p)!;
    expect({ ok: r.ok, output: r.ok ? "" : `${r.command}\n${r.output}` }).toEqual({ ok: true, output: "" });
  });

  test("negative controls: each checker fails a broken file", () => {
    expect(BROKEN.filter(([, f]) => results.get(f.path)!.ok).map(([what]) => what)).toEqual([]);
    const output = (what: string) => results.get(BROKEN.find(([w]) => w === what)![1].path)!.output;
    expect(output("mariadb: an unknown option")).toMatch(/unknown variable 'no-such-option=1'/);
    expect(output("samba: an unknown parameter")).toMatch(/Unknown parameter encountered: "guest okay"/);
    expect(output("exports: an unknown option")).toMatch(/unknown keyword "all_squish"/);
  });
});

describe("read back by the programs themselves", () => {
  test("mariadbd resolves the options to the model's values", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-mycnf-"));
    try {
      fs.writeFileSync(path.join(dir, "my.cnf"), myCnf.content);
      const out = must(["mariadbd", `--defaults-file=${path.join(dir, "my.cnf")}`, "--verbose", "--help"], { timeout: 30000 });
      const value = (k: string) => new RegExp(`^${k}\\s+(\\S+)$`, "m").exec(out)?.[1];
      expect({
        bind: value("bind-address"),
        dns: value("skip-name-resolve"),
        infile: value("local-infile"),
        charset: value("character-set-server"),
      }).toEqual({
        bind: plan.address,
        dns: "TRUE",
        infile: "FALSE",
        charset: "utf8mb4",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("testparm reads each share's users and consumers, and the global limits", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-smbconf-"));
    try {
      fs.writeFileSync(path.join(dir, "smb.conf"), smbConf.content);
      const out = must(["testparm", "-s", "--suppress-prompt", path.join(dir, "smb.conf")], { timeout: 30000 });
      const media = out.slice(out.indexOf("[media]"));
      // A share's value equal to the global one is inherited, so ask testparm for the share's own.
      const allow = must([
        "testparm",
        "-s",
        "--suppress-prompt",
        "--section-name=media",
        "--parameter-name=hosts allow",
        path.join(dir, "smb.conf"),
      ]);
      expect(allow.trim()).toBe("10.20.0.21 10.20.0.22 10.20.0.23");
      expect(media).toMatch(/\n\tvalid users = k8s\n/);
      expect(media).toMatch(/\n\tpath = \/srv\/smb\/media\n/);
      expect(out).toMatch(/\n\tserver min protocol = SMB3\n/);
      expect(out).toMatch(/\n\tsmb ports = 445\n/);
      expect(out).toMatch(/\n\thosts deny = ALL\n/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("exportfs exports each path to each consumer, squashed, and to no one else", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-exports-"));
    try {
      const file = path.join(dir, "exports");
      fs.writeFileSync(file, renderExports(plan));
      const script = [
        "set -e",
        `mount --bind ${file} /etc/exports`,
        "if [ -d /etc/exports.d ]; then mount -t tmpfs tmpfs /etc/exports.d; fi",
        "mount -t tmpfs tmpfs /var/lib/nfs",
        "mount -t tmpfs tmpfs /srv",
        "mkdir -p /srv/nfs/k8s",
        "exportfs -ra",
        "exportfs -s",
      ].join("\n");
      const out = must(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", script], { timeout: 30000 });
      const entries = out
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/));
      expect(entries.map(([p, c]) => `${p} ${c!.replace(/\(.*$/, "")}`)).toEqual(
        ["10.20.0.21", "10.20.0.22", "10.20.0.23"].map((a) => `/srv/nfs/k8s ${a}`),
      );
      for (const [, c] of entries) expect(c).toMatch(/\brw\b.*\broot_squash\b.*\ball_squash\b/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What the data services of the data host's configuration.nix decide (tests/support/data-nix.ts). */
function evalDataServices(): Record<string, any> {
  return evalDataNix(
    release,
    `{
        mysql = { inherit (cfg.services.mysql) enable package settings; };
        samba = { inherit (cfg.services.samba) enable openFirewall settings; nmbd = cfg.services.samba.nmbd.enable; winbindd = cfg.services.samba.winbindd.enable; };
        exports = cfg.services.nfs.server.exports;
        registry = cfg.services.dockerRegistry;
        units = builtins.mapAttrs (n: u: { exec = u.serviceConfig.ExecStart or null; after = u.after or [ ]; path = u.path or [ ]; triggers = u.restartTriggers or [ ]; cred = u.serviceConfig.LoadCredential or [ ]; }) s;
        users = builtins.mapAttrs (n: u: { system = u.isSystemUser or false; groups = u.extraGroups or [ ]; uid = u.uid or null; }) cfg.users.users;
        tmpfiles = cfg.systemd.tmpfiles.rules;
      }`,
  );
}

describe("configuration.nix evaluates to the checked documents (lazy evaluation with stubs)", () => {
  let v: Record<string, any>;
  beforeAll(() => {
    requireTools(["nix"]);
    v = evalDataServices();
  });
  const asAttrs = (doc: readonly { name: string; entries: readonly (readonly [string, string])[] }[]) =>
    Object.fromEntries(doc.map((s) => [s.name, Object.fromEntries(s.entries)]));

  test("services.mysql: MariaDB with exactly the settings my.cnf holds", () => {
    expect(v.mysql).toEqual({
      enable: true,
      package: "/nix/store/00000000000000000000000000000000-mariadb",
      settings: asAttrs(mariadbSettings(plan)),
    });
  });

  test("services.samba: exactly the settings smb.conf holds, no NetBIOS, no winbind, no firewall of its own", () => {
    expect(v.samba).toEqual({
      enable: true,
      openFirewall: false,
      nmbd: false,
      winbindd: false,
      settings: asAttrs(sambaSettings(plan, seg.subnet.prefix)),
    });
  });

  test("services.nfs.server.exports is the checked exports file, byte for byte", () => {
    expect(v.exports).toBe(fileOf("exports").content);
  });

  test("the users units run the carried scripts with bash after their servers, restarted by the secrets' fingerprints", () => {
    expect(v.units["homelab-mariadb-users"]).toEqual({
      exec: expect.stringMatching(/^\/nix\/store\/0+-bash\/bin\/bash \/nix\/store\/[a-z0-9]{32}-mariadb-users\.sh$/),
      after: ["mysql.service"],
      path: ["/nix/store/00000000000000000000000000000000-mariadb"],
      triggers: [`mariadb-gitea.password:${"a".repeat(16)}`],
      cred: [],
    });
    expect(v.units["homelab-samba-users"]).toMatchObject({
      after: ["samba-smbd.service"],
      triggers: [`samba-k8s.password:${"b".repeat(16)}`],
    });
    expect(v.units["docker-registry"]).toEqual({
      exec: null,
      after: [],
      path: [],
      triggers: [`registry.htpasswd:${"c".repeat(16)}`],
      cred: ["htpasswd:/etc/nixos/homelab/registry.htpasswd"],
    });
  });

  test("the registry on the segment address with htpasswd auth from the credential", () => {
    expect(v.registry).toEqual({
      enable: true,
      listenAddress: plan.address,
      port: 5000,
      openFirewall: false,
      extraConfig: { auth: { htpasswd: { realm: `registry of ${plan.fqdn}`, path: "/run/credentials/docker-registry.service/htpasswd" } } },
    });
  });

  test("accounts: the Samba user and the export owner are system users, in the share's group; their directories exist", () => {
    expect(v.users.k8s).toEqual({ system: true, groups: ["smb-media"], uid: null });
    expect(v.users.nfsdata).toEqual({ system: true, groups: [], uid: 2049 });
    expect(v.tmpfiles).toEqual(expect.arrayContaining(["d /srv/nfs/k8s 0770 nfsdata nfsdata -", "d /srv/smb/media 2770 root smb-media -"]));
  });
});

// --- the users scripts against the real programs ----------------------------------------------------

/** A MariaDB server of its own: a fresh data directory, a socket in it, no network. */
async function startMariadb(dir: string): Promise<{ sql: (q: string) => string; stop: () => Promise<void> }> {
  const data = path.join(dir, "data");
  fs.mkdirSync(data);
  must(
    [
      "mariadb-install-db",
      "--no-defaults",
      `--datadir=${data}`,
      "--user=root",
      "--auth-root-authentication-method=socket",
      "--skip-test-db",
    ],
    {
      timeout: 60000,
    },
  );
  const sock = path.join(dir, "sock");
  const pidFile = path.join(dir, "pid");
  must(
    [
      "sh",
      "-c",
      `setsid mariadbd --no-defaults --datadir=${data} --socket=${sock} --skip-networking --user=root --pid-file=${pidFile} --log-error=${dir}/err.log </dev/null >/dev/null 2>&1 &`,
    ],
    { timeout: 10000 },
  );
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await sleep(100);
  if (!fs.existsSync(sock)) throw new Error(`mariadbd did not start:\n${fs.readFileSync(path.join(dir, "err.log"), "utf8")}`);
  return {
    sql: (q) => must(["mariadb", `--socket=${sock}`, "-u", "root", "-N", "-B", "-e", q], { timeout: 10000 }),
    stop: async () => {
      const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
          await sleep(100);
        } catch {
          return;
        }
      }
    },
  };
}

describe("mariadb-users.sh against a real MariaDB server", () => {
  let dir = "";
  let db: Awaited<ReturnType<typeof startMariadb>> | undefined;
  const script = fileOf("mariadb-users.sh").content;
  /** A password with a quote and a backslash: the script must escape both. */
  const PASSWORD = "it's a \\ test";
  const runScript = (text: string) => {
    const file = path.join(dir, "mariadb-users.sh");
    fs.writeFileSync(file, text);
    return run(["bash", file], {
      env: {
        HOMELAB_SECRETS: path.join(dir, "secrets"),
        HOMELAB_MARIADB: `mariadb --socket=${path.join(dir, "sock")} -u root`,
        HOMELAB_STATE: path.join(dir, "state"),
      },
      timeout: 30000,
    });
  };
  const sql = (q: string) => db!.sql(q);
  const accounts = () =>
    sql("SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User = 'gitea' ORDER BY Host").trim().split("\n").filter(Boolean);

  beforeAll(async () => {
    requirePrograms({ mariadbd: "mariadb-server", "mariadb-install-db": "mariadb-server", mariadb: "mariadb-client" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-mariadb-"));
    fs.mkdirSync(path.join(dir, "secrets"));
    db = await startMariadb(dir);
  }, 90000);
  afterAll(async () => {
    await db?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a missing password file stops it before it changes anything", () => {
    const r = runScript(script);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no password file");
    expect(accounts()).toEqual([]);
    expect(sql("SHOW DATABASES LIKE 'gitea'").trim()).toBe("");
  });

  test("makes the database, one account per source with the password from its file, and exactly the grants", () => {
    fs.writeFileSync(path.join(dir, "secrets", "mariadb-gitea.password"), `${PASSWORD}\n`);
    const r = runScript(script);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    expect(accounts()).toEqual(["gitea@10.20.0.21", "gitea@10.20.0.22", "gitea@10.20.0.23"]);
    expect(sql("SHOW DATABASES LIKE 'gitea'").trim()).toBe("gitea");
    const sqlPw = PASSWORD.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
    expect(sql(`SELECT COUNT(*) FROM mysql.user WHERE User = 'gitea' AND authentication_string = PASSWORD('${sqlPw}')`).trim()).toBe("3");
    const grants = sql("SHOW GRANTS FOR 'gitea'@'10.20.0.21'");
    expect(grants).toContain("GRANT ALL PRIVILEGES ON `gitea`.* TO `gitea`@`10.20.0.21`");
    expect(grants.split("\n").filter(Boolean)).toHaveLength(2);
  });

  test("run again: the same accounts; a grant added by hand and a source taken out of the model are gone", () => {
    sql("CREATE DATABASE extra; GRANT ALL ON extra.* TO 'gitea'@'10.20.0.22'");
    const fewer = script.replace("  'gitea 10.20.0.23 gitea'  # cluster/worker-3\n", "");
    const r = runScript(fewer);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("dropping gitea@10.20.0.23, which the model no longer has");
    expect(accounts()).toEqual(["gitea@10.20.0.21", "gitea@10.20.0.22"]);
    expect(sql("SHOW GRANTS FOR 'gitea'@'10.20.0.22'")).not.toContain("`extra`");
  });

  test("a new password takes effect; a user taken out of the model loses every account; others' accounts stay", () => {
    sql("CREATE USER 'someone'@'localhost' IDENTIFIED BY 'x'");
    fs.writeFileSync(path.join(dir, "secrets", "mariadb-gitea.password"), "rotated");
    expect(runScript(script).code).toBe(0);
    expect(sql("SELECT COUNT(*) FROM mysql.user WHERE User = 'gitea' AND authentication_string = PASSWORD('rotated')").trim()).toBe("3");
    const none = script.replace(/USERS=\(\n {2}'gitea'\n\)/, "USERS=()").replace(/ACCOUNTS=\([\s\S]*?\n\)/, "ACCOUNTS=()");
    expect(none).not.toContain("'gitea 10.20.0.21");
    expect(runScript(none).code).toBe(0);
    expect(accounts()).toEqual([]);
    expect(sql("SELECT COUNT(*) FROM mysql.user WHERE User = 'someone'").trim()).toBe("1");
  });
});

describe("samba-users.sh against Samba's own tools", () => {
  let dir = "";
  const conf = () => path.join(dir, "smb.conf");
  /** Samba needs the users as system accounts: a private /etc/passwd in a private mount namespace. */
  const inNs = (cmd: string) =>
    run(["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount --bind ${path.join(dir, "passwd")} /etc/passwd && ${cmd}`], {
      env: { HOMELAB_SECRETS: path.join(dir, "secrets"), HOMELAB_SMB_CONF: conf() },
      timeout: 30000,
    });
  const users = () =>
    inNs(`pdbedit --configfile=${conf()} -L`)
      .stdout.split("\n")
      .filter(Boolean)
      .map((l) => l.split(":")[0])
      .sort();

  beforeAll(() => {
    requirePrograms({ smbpasswd: "samba-common-bin", pdbedit: "samba" });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-samba-"));
    fs.mkdirSync(path.join(dir, "secrets"));
    fs.writeFileSync(
      path.join(dir, "passwd"),
      `${fs.readFileSync("/etc/passwd", "utf8")}k8s:x:62001:62001::/nonexistent:/usr/sbin/nologin\nstale:x:62002:62002::/nonexistent:/usr/sbin/nologin\n`,
    );
    // Samba's state in the scratch directory only: everything it writes lies under these paths.
    const state = ["private dir", "state directory", "lock directory", "cache directory", "pid directory", "ncalrpc dir"]
      .map((k) => `  ${k} = ${dir}/${k.split(" ")[0]}`)
      .join("\n");
    fs.writeFileSync(conf(), `[global]\n  passdb backend = tdbsam:${dir}/passdb.tdb\n${state}\n  log file = ${dir}/log\n`);
    for (const d of ["private", "state", "lock", "cache", "pid", "ncalrpc"]) fs.mkdirSync(path.join(dir, d));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("makes exactly the model's users: adds k8s from its password file, deletes any other", () => {
    fs.writeFileSync(path.join(dir, "secrets", "samba-k8s.password"), "smb-secret\n");
    const file = path.join(dir, "samba-users.sh");
    fs.writeFileSync(file, fileOf("samba-users.sh").content);
    // A user the model does not have, added by hand.
    expect(inNs(`printf 'x\\nx\\n' | smbpasswd -c ${conf()} -s -a stale`).code).toBe(0);
    expect(users()).toEqual(["stale"]);
    const r = inNs(`bash ${file}`);
    expect({ code: r.code, err: r.stderr }).toEqual({
      code: 0,
      err: "samba-users: deleting Samba user stale, which the model does not have\n",
    });
    expect(users()).toEqual(["k8s"]);
    // The password: Samba's own check of a plaintext against the stored hash.
    expect(inNs(`pdbedit --configfile=${conf()} -L -v -u k8s`).stdout).toMatch(/Account Flags:\s+\[U\s*\]/);
  });
});
