// Proves, under the strict mock recorder, what the stacks deploy of the backup ledger: the cluster's backup jobs (backup.Job) are
// declared by the owner of the lab-wide Proxmox objects (internal) alone, through its explicit provider, one per target, schedule
// and retention, each naming as strings exactly the VM ids of the stateful VMs its entries back up, whichever stack declares
// those VMs (and every id is a VM some stack declares); no other stack declares one; a preview declares the same jobs; the data
// host's release uploads the rendered MariaDB dump and freshness files byte for byte, and no job input, upload or output holds a
// secret in the clear. Does not prove a live Proxmox or NixOS (tools and twin do what can be run here).
import type { MockRun, RecordedResource } from "../../cli/mock-runtime";
import { renderFreshnessScript } from "../../render/backups";
import { referencePlan } from "../support/lab";
import { runStack, segmentReferences, TEST_DATA_SECRETS, TEST_PROXMOX_TOKEN, TEST_WIREGUARD_KEYS } from "../support/mocks";

const STACKS = ["internal", "cluster", "lab", "sandbox"] as const;
const runs = new Map<string, MockRun>();

beforeAll(async () => {
  for (const s of STACKS) runs.set(s, await runStack(s));
  runs.set("dmz", await runStack("dmz", { references: segmentReferences() }));
}, 120_000);

const resources = (stack: string): RecordedResource[] => runs.get(stack)!.recorder.withParents();
const jobs = (stack: string) => resources(stack).filter((r) => r.type === "proxmoxve:backup/job:Job");

test("only internal declares the backup jobs, under its Backups component, through its Proxmox provider", () => {
  expect(
    jobs("internal")
      .map((j) => `${j.name} <- ${j.parent!} via ${j.provider!}`)
      .sort(),
  ).toEqual([
    "internal-backups-homelab-nas-daily-0230-14d <- internal-backups via proxmox",
    "internal-backups-homelab-nas-weekly-sun-0400-4w <- internal-backups via proxmox",
  ]);
  expect(resources("internal").find((r) => r.name === "internal-backups")!.type).toBe("homelab:proxmox:Backups");
  for (const s of ["cluster", "lab", "sandbox", "dmz"]) expect(jobs(s)).toEqual([]);
});

test("each job: its schedule, storage, retention and the stateful VMs' ids as strings", () => {
  const byId = Object.fromEntries(jobs("internal").map((j) => [j.inputs.resourceId, j.inputs]));
  expect(byId["homelab-nas-daily-0230-14d"]).toEqual({
    resourceId: "homelab-nas-daily-0230-14d",
    enabled: true,
    schedule: "02:30",
    storage: "nas-backup",
    vmids: ["1010", "1030", "4010", "4020"],
    mode: "snapshot",
    compress: "zstd",
    pruneBackups: { "keep-last": "14" },
    repeatMissed: true,
    notesTemplate: "{{guestname}}: homelab backup: daily 02:30, kept 14d, to nas",
  });
  expect(byId["homelab-nas-weekly-sun-0400-4w"]).toMatchObject({
    schedule: "sun 04:00",
    vmids: ["3020"],
    pruneBackups: { "keep-last": "4" },
  });
});

test("every id a job names is a VM some stack declares, and it is exactly the ledger's vzdump VMs", () => {
  const declared = new Map<string, string>();
  for (const s of [...STACKS, "dmz"])
    for (const r of resources(s).filter((x) => x.type === "proxmoxve:index/vmLegacy:VmLegacy"))
      declared.set(String(r.inputs.vmId), `${s}/${r.name}`);
  const named = jobs("internal").flatMap((j) => j.inputs.vmids as string[]);
  expect(named.map((id) => declared.get(id)).sort()).toEqual([
    "internal/data-vm-qemu",
    "internal/monitor-vm-qemu",
    "lab/vdi-vm-qemu",
    "sandbox/agent-vm-qemu",
    "sandbox/games-vm-qemu",
  ]);
  const ledger = referencePlan().backups.entries.flatMap((e) => (e.backup.kind === "vzdump" ? [String(e.backup.vmId)] : []));
  expect([...named].sort()).toEqual([...ledger].sort());
});

test("a preview declares the same jobs", async () => {
  const preview = await runStack("internal", { preview: true });
  const inPreview = preview.recorder.withParents().filter((r) => r.type === "proxmoxve:backup/job:Job");
  expect(inPreview.map((j) => [j.name, j.inputs])).toEqual(jobs("internal").map((j) => [j.name, j.inputs]));
});

test("the data host's release uploads its MariaDB dump and freshness files as rendered", () => {
  const dh = referencePlan().segments.internal!.dataHost!;
  const dump = dh.mysqlBackup!;
  const upload = runs.get("internal")!.recorder.uploads.find((u) => u.resource === "data-release-upload-backup-freshness.sh")!;
  expect(upload.content).toBe(renderFreshnessScript(dh.fqdn, [{ id: dump.ledgerId, maxAgeSeconds: dump.maxAgeSeconds }]));
  expect(upload.content).toContain("'internal/mariadb 129600'");
  const config = runs.get("internal")!.recorder.uploads.find((u) => u.resource === "data-release-upload-configuration.nix")!;
  expect(config.content).toContain('services.mysqlBackup.calendar = "*-*-* 01:15:00";');
  expect(config.content).toContain("${./backup-freshness.sh} success internal/mariadb");
});

test("no job input, upload or output holds a secret in the clear", () => {
  const secrets = [...Object.values(TEST_DATA_SECRETS), TEST_PROXMOX_TOKEN.value, ...Object.values(TEST_WIREGUARD_KEYS)];
  for (const s of [...STACKS, "dmz"]) {
    const r = runs.get(s)!;
    const everything = JSON.stringify({ jobs: jobs(s), uploads: r.recorder.uploads, outputs: r.resolved });
    for (const v of secrets) expect(everything).not.toContain(v);
  }
});
