// Proves the backup ledger page and the bad-night runbooks are generated from the docs contracts: every ledger entry with its kind,
// schedule, retention, offsite copy and freshness (max age), every Proxmox job with its VM ids, the configurations that are code,
// every replication listed apart as not a backup; the runbooks name each node's moves and pinned VMs, each router's box and the
// command that rebuilds it, each service's hops and each entry's restore; every table row has as many cells as its header; a lab
// without a ledger in its contracts (an older writer) still renders. Does not prove the ledger's planning (backups.test.ts).
import { docsOfLab } from "../../pages/contract-dmz";
import { renderDocs } from "../../pages/docs";
import { planLab } from "../../model/plan";
import { referenceLab } from "../support/lab";

const lab = referenceLab();
const planned = planLab(lab);
const bundle = docsOfLab(lab, planned);
const files = renderDocs(bundle, { kind: "offline" });
const page = (p: string): string => {
  const f = files.find((x) => x.path === p);
  if (!f) throw new Error(`no page ${p}`);
  return f.content;
};

/** Cells of a Markdown table row, splitting on pipes that are not escaped. */
const cells = (row: string) => row.replace(/\\\|/g, "").split("|").length;

test("the ledger: every entry with its backup, and freshness in words", () => {
  const text = page("backups.md");
  for (const e of planned.backups.entries) expect(text).toContain(`| \`${e.id}\` |`);
  expect(text).toContain(
    "| `internal/mariadb` | MariaDB databases gitea on internal/data | `dump` | `/var/backup/mysql/<database>.gz` on `internal/data`, kept by `internal/vm:data`'s backup to `nas` | `daily 01:15` | latest on the host; `14d` in `internal/vm:data` |",
  );
  expect(text).toContain("textfile on `internal/data`; too old after 36 hours");
  expect(text).toContain(
    "| `homelab-nas-daily-0230-14d` | `daily 02:30` | `nas-backup` | 14 copies | `1010` internal/data, `1030` internal/monitor, `4010` sandbox/agent, `4020` sandbox/games |",
  );
  expect(text).toContain('`homelab_backup_last_success_timestamp_seconds{backup="<id>"}`');
});

test("replications are listed apart, as not a backup, with their own max age", () => {
  const text = page("backups.md");
  const section = text.slice(text.indexOf("## Storage replication is not a backup"));
  for (const r of planned.backups.replications) expect(section).toContain(`| \`${r.id}\` | \`${r.vm}\` | \`${r.from}\` | \`${r.to}\` |`);
  expect(text.slice(0, text.indexOf("## Storage replication"))).not.toContain("replication:");
});

test("the runbooks carry the lab's facts", () => {
  const fw = page("runbooks/when-a-firewall-is-dead.md");
  for (const s of Object.values(lab.segments)) expect(fw).toContain(`| \`${s.name}\` | \`${s.router.name}\` | \`${s.router.hardware}\``);
  expect(fw).toContain("`pulumi up -s sandbox`");
  const node = page("runbooks/when-a-node-is-down.md");
  for (const n of Object.keys(lab.hardware.proxmox.nodes)) expect(node).toMatch(new RegExp(`\\| \`${n}\` \\|`));
  const restore = page("runbooks/restore-from-backup.md");
  for (const e of planned.backups.entries) expect(restore).toContain(`| \`${e.id}\` | \`${e.backup.kind}\` |`);
  expect(page("runbooks/when-a-service-is-down.md")).toContain("| `wiki` | `cluster` |");
  expect(page("runbooks/when-an-nvme-is-lost.md")).toContain("| `pve1` | `lab/vdi` | its backup (`lab/vm:vdi`, `weekly sun 04:00`) |");
});

test("every table row of the new pages has as many cells as its header", () => {
  for (const f of files.filter((x) => x.path === "backups.md" || x.path.startsWith("runbooks/"))) {
    const lines = f.content.split("\n");
    lines.forEach((l, i) => {
      if (!l.startsWith("| ") || !lines[i + 1]?.startsWith("| ---")) return;
      const width = cells(l);
      for (let j = i + 2; j < lines.length && lines[j]!.startsWith("| "); j++)
        expect(`${f.path}: ${cells(lines[j]!)}`).toBe(`${f.path}: ${width}`);
    });
  }
});

test("contracts written before the ledger existed still render", () => {
  const old = { ...bundle, segments: bundle.segments.map(({ backups: _b, ...s }) => s), dmz: (({ backups: _b, ...d }) => d)(bundle.dmz) };
  const text = renderDocs(old, { kind: "offline" }).find((f) => f.path === "backups.md")!.content;
  expect(text).toContain("The lab has no stateful thing.");
});
