// Proves with the real programs what the data host runs for the backup ledger: configuration.nix evaluates (lazily, with stubs) to
// services.mysqlBackup on the ledger's calendar with the freshness script as root after each success, the seed unit at boot, the
// node exporter reading the textfile directory that tmpfiles makes; those units, written out as systemd reads them, pass
// systemd-analyze verify and the calendar systemd-analyze calendar (each with a negative control); the freshness script passes
// shellcheck, and run for real it seeds "never" without overwriting a success, records a success atomically (no partial file left)
// in series promtool check metrics accepts and a real node exporter serves with the ledger id as label, and refuses an id that is
// not this host's. Does not boot NixOS or run a dump against MariaDB (no NixOS here), nor prove the alert (mon's promtool tests).
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { TEXTFILE_DIR } from "../../model/backup/plan";
import { planSshAccess } from "../../model/network/ssh";
import { FRESHNESS_SCRIPT } from "../../render/backups";
import { renderDataHostFiles } from "../../render/data-host";
import { filesUnder } from "../../render/files";
import { jumpLabFacts } from "../../render/jump";
import { checkFiles, requirePrograms, requireTools } from "../support/checkers";
import { referenceLab, referencePlan } from "../support/lab";
import { evalDataNix } from "../support/data-nix";
import { must, run, sleep } from "../support/proc";

const lab = referenceLab();
const seg = referencePlan().segments.internal!;
const dump = seg.dataHost!.mysqlBackup!;
const VERSIONS = { "mariadb-gitea.password": "a".repeat(16), "samba-k8s.password": "b".repeat(16), "registry.htpasswd": "c".repeat(16) };
const release = filesUnder(renderDataHostFiles(seg, planSshAccess(lab), jumpLabFacts(lab), VERSIONS), "data");
const fileOf = (name: string) => release.find((f) => f.path === name)!;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-backups-"));
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
const script = path.join(tmp, FRESHNESS_SCRIPT);
fs.writeFileSync(script, fileOf(FRESHNESS_SCRIPT).content, { mode: 0o755 });

/** What the backup sections of the data host's configuration.nix decide (tests/support/data-nix.ts). */
function evalBackups(): Record<string, any> {
  return evalDataNix(
    release,
    `{
      mysqlBackup = cfg.services.mysqlBackup;
      dump = { after = s.mysql-backup.after; post = s.mysql-backup.serviceConfig.ExecStartPost; };
      seed = { inherit (s.homelab-backup-freshness) wantedBy after; inherit (s.homelab-backup-freshness.serviceConfig) Type RemainAfterExit ExecStart; };
      node = cfg.services.prometheus.exporters.node.extraFlags;
      tmpfiles = cfg.systemd.tmpfiles.rules;
    }`,
  );
}

describe("configuration.nix: the dump, its freshness and the node exporter's textfile directory", () => {
  let v: Record<string, any>;
  beforeAll(() => {
    requireTools(["nix"]);
    v = evalBackups();
  });
  const scriptPath = /\/nix\/store\/[a-z0-9]{32}-backup-freshness\.sh/.source;

  test("services.mysqlBackup dumps the model's databases on the ledger's calendar, one transaction each", () => {
    expect(v.mysqlBackup).toEqual({
      enable: true,
      databases: ["gitea"],
      calendar: "*-*-* 01:15:00",
      location: "/var/backup/mysql",
      singleTransaction: true,
    });
    expect(v.dump.after).toEqual(["mysql.service"]);
    expect(v.dump.post).toEqual([
      expect.stringMatching(new RegExp(`^\\+/nix/store/0+-bash/bin/bash ${scriptPath} success internal/mariadb$`)),
    ]);
  });

  test("the seed unit at boot, and the node exporter reading the directory tmpfiles makes", () => {
    expect(v.seed).toEqual({
      wantedBy: ["multi-user.target"],
      after: ["systemd-tmpfiles-setup.service"],
      Type: "oneshot",
      RemainAfterExit: true,
      ExecStart: expect.stringMatching(new RegExp(`^/nix/store/0+-bash/bin/bash ${scriptPath} seed$`)),
    });
    expect(v.node).toEqual([`--collector.textfile.directory=${TEXTFILE_DIR}`]);
    expect(v.tmpfiles).toContain(`d ${TEXTFILE_DIR} 0755 root root -`);
  });
});

describe("the units and the calendar, as systemd reads them", () => {
  beforeAll(() => {
    requirePrograms({ "systemd-analyze": "systemd" });
  });

  /** The two units NixOS makes of the sections, store paths replaced by this machine's bash and the rendered script. */
  const units = (calendar: string, post: string) => ({
    "mysql-backup.service": [
      "[Unit]",
      "Description=MySQL backup service",
      "After=mysql.service",
      "[Service]",
      "Type=oneshot",
      "ExecStart=/bin/true",
      `ExecStartPost=${post}`,
      "",
    ].join("\n"),
    "mysql-backup.timer": [
      "[Unit]",
      "Description=Mysql backup timer",
      "[Timer]",
      `OnCalendar=${calendar}`,
      "AccuracySec=5m",
      "Unit=mysql-backup.service",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
    "homelab-backup-freshness.service": [
      "[Unit]",
      "Description=Backup freshness files",
      "After=systemd-tmpfiles-setup.service",
      "[Service]",
      "Type=oneshot",
      "RemainAfterExit=yes",
      `ExecStart=/bin/bash ${script} seed`,
      "[Install]",
      "WantedBy=multi-user.target",
      "",
    ].join("\n"),
  });

  const verify = (set: Record<string, string>) => {
    const dir = fs.mkdtempSync(path.join(tmp, "units-"));
    for (const [name, text] of Object.entries(set)) fs.writeFileSync(path.join(dir, name), text);
    return run(["systemd-analyze", "verify", "--man=no", ...Object.keys(set).map((n) => path.join(dir, n))], { timeout: 60000 });
  };

  test("systemd-analyze verify accepts them, and refuses a post command that does not exist", () => {
    const ok = verify(units(dump.calendar, `+/bin/bash ${script} success ${dump.ledgerId}`));
    expect(`${ok.stderr}${ok.stdout}`.split("\n").filter((l) => /mysql-backup|homelab-backup-freshness/.test(l))).toEqual([]);
    expect(ok.code).toBe(0);
    const bad = verify(units(dump.calendar, `+/nonexistent/bash ${script} success ${dump.ledgerId}`));
    expect(bad.code).not.toBe(0);
  });

  test("systemd-analyze calendar reads the ledger's calendar as daily at 01:15, and refuses a broken one", () => {
    const ok = run(["systemd-analyze", "calendar", dump.calendar]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Normalized form: \*-\*-\* 01:15:00/);
    expect(run(["systemd-analyze", "calendar", "*-*-* 25:15:00"]).code).not.toBe(0);
  });
});

describe("the freshness script, run for real", () => {
  beforeAll(() => {
    requirePrograms({ shellcheck: "shellcheck", promtool: "prometheus", "prometheus-node-exporter": "prometheus-node-exporter" });
  });
  const textfiles = () => fs.mkdtempSync(path.join(tmp, "text-"));
  const freshness = (dir: string, args: readonly string[], now?: string) =>
    run(["bash", script, ...args], { env: { HOMELAB_TEXTFILE_DIR: dir, ...(now !== undefined ? { HOMELAB_NOW: now } : {}) } });
  const prom = (dir: string) => path.join(dir, "homelab_backup_internal_mariadb.prom");

  test("shellcheck passes it, and fails a broken copy", () => {
    const [ok] = checkFiles([{ path: FRESHNESS_SCRIPT, content: fileOf(FRESHNESS_SCRIPT).content, checker: "sh" }]);
    expect(ok!.ok).toBe(true);
    const broken = fileOf(FRESHNESS_SCRIPT).content.replace('mv -f "$tmp" "$(file_of "$id")"', "mv -f $tmp $(file_of $id)");
    expect(broken).not.toBe(fileOf(FRESHNESS_SCRIPT).content);
    const [bad] = checkFiles([{ path: FRESHNESS_SCRIPT, content: broken, checker: "sh" }]);
    expect(bad!.ok).toBe(false);
  });

  test("seed says never, a success records its time, a later seed keeps it; promtool accepts every file", () => {
    const dir = textfiles();
    expect(freshness(dir, ["seed"]).code).toBe(0);
    const never = fs.readFileSync(prom(dir), "utf8");
    expect(never).toContain('homelab_backup_last_success_timestamp_seconds{backup="internal/mariadb"} 0\n');
    expect(never).toContain(`homelab_backup_max_age_seconds{backup="internal/mariadb"} ${dump.maxAgeSeconds}\n`);
    expect(must(["promtool", "check", "metrics"], { input: never })).toBeDefined();
    expect(freshness(dir, ["success", "internal/mariadb"], "1765000000").code).toBe(0);
    expect(freshness(dir, ["seed"]).code).toBe(0);
    const done = fs.readFileSync(prom(dir), "utf8");
    expect(done).toContain('homelab_backup_last_success_timestamp_seconds{backup="internal/mariadb"} 1765000000\n');
    expect(run(["promtool", "check", "metrics"], { input: done }).code).toBe(0);
    expect(fs.statSync(prom(dir)).mode & 0o777).toBe(0o644);
    // Only the renamed file: no temporary file is left behind for the collector to skip or a later run to trip over.
    expect(fs.readdirSync(dir)).toEqual(["homelab_backup_internal_mariadb.prom"]);
    // The negative control: promtool refuses a file whose series line was cut.
    expect(run(["promtool", "check", "metrics"], { input: done.replace(/ 1765000000\n/, "\n") }).code).not.toBe(0);
  });

  test("an id that is not this host's backup, a bad clock and a missing directory are refused, and write nothing", () => {
    const dir = textfiles();
    const r = freshness(dir, ["success", "internal/vm:data"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("backup-freshness: no backup internal/vm:data on this host (its backups: internal/mariadb 129600)");
    expect(freshness(dir, ["success", "internal/mariadb"], "soon").code).toBe(2);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(freshness(path.join(dir, "missing"), ["seed"]).stderr).toContain("no textfile directory");
  });

  test("a real node exporter serves the series with the ledger id as label", async () => {
    const dir = textfiles();
    expect(freshness(dir, ["success", "internal/mariadb"], "1765000000").code).toBe(0);
    const port = 39100 + Math.floor(Math.random() * 500);
    const exporter = spawn(
      "prometheus-node-exporter",
      [
        `--web.listen-address=127.0.0.1:${port}`,
        `--collector.textfile.directory=${dir}`,
        "--collector.disable-defaults",
        "--collector.textfile",
      ],
      { stdio: "ignore" },
    );
    try {
      let body = "";
      for (let i = 0; i < 50 && !body.includes("homelab_backup_max_age_seconds"); i++) {
        await sleep(200);
        body = await new Promise<string>((resolve) => {
          http
            .get(`http://127.0.0.1:${port}/metrics`, (res) => {
              let b = "";
              res.on("data", (c: Buffer) => (b += c.toString()));
              res.on("end", () => {
                resolve(b);
              });
            })
            .on("error", () => {
              resolve("");
            });
        });
      }
      expect(body).toContain('homelab_backup_last_success_timestamp_seconds{backup="internal/mariadb"} 1.765e+09');
      expect(body).toContain(`homelab_backup_max_age_seconds{backup="internal/mariadb"} ${dump.maxAgeSeconds}`);
      expect(body).toMatch(/node_textfile_scrape_error 0/);
    } finally {
      exporter.kill("SIGTERM");
    }
  });
});
