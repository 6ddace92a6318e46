// Proves the update scheduler (model/maintenance/updates.ts) and the weekly plan (model/maintenance/weekly.ts): on the reference lab
// every router, NixOS and Debian host gets a window, a router and its jump host and two hosts of one role never share one, a declared
// window moves its neighbours, a full day is refused with its exact message; the week adds each node's maintenance and each box's own
// restart per VM against the 60 s target, and names every VM that misses it with the reason (pinned passthrough VMs do, installed HA
// VMs do not). Does not render the update configuration.
import { planPlacement } from "../../model/compute/placement";
import type { Lab } from "../../model/lab";
import { maintenanceUpdates } from "../../model/maintenance/rules";
import { overlappingClashes, planUpdates, updateBoxes } from "../../model/maintenance/updates";
import { planWeek, WEEKLY_DOWNTIME_TARGET_SECONDS } from "../../model/maintenance/weekly";
import { indexLab } from "../../model/lab-index";
import { labWithEdit, referenceLab, segOf, type LabFiles } from "../support/lab";

const windowsOf = (lab: Lab) => planUpdates(lab).windows.map((w) => `${w.start} ${w.box.id}`);
const updates = (f: LabFiles, u: Record<string, unknown>) => (f["homelab.yaml"].maintenance = { updates: u });
/** Every NixOS VM installed, so that nothing keeps an ISO attached. */
const installAll = (f: LabFiles) => {
  f["homelab.yaml"].dmz.infra.vm.installed = true;
  for (const name of Object.keys(f)) {
    const m = /^Pulumi\.(.+)\.yaml$/.exec(name);
    if (!m || m[1] === "dmz") continue;
    for (const h of Object.values<any>(segOf(f, m[1]!).hosts)) if (h.vm) h.vm.installed = true;
  }
};

describe("the update schedule", () => {
  test("the reference lab: routers and most hosts in the first window, jump hosts and the second mirror in the next", () => {
    expect(windowsOf(referenceLab())).toEqual([
      "03:00 cluster-fw",
      "03:00 infra",
      "03:00 internal-data",
      "03:00 internal-fw",
      "03:00 internal-monitor",
      "03:00 lab-fw",
      "03:00 lab-mirror-1",
      "03:00 sandbox-agent",
      "03:00 sandbox-fw",
      "03:00 sandbox-games",
      "03:30 cluster-jump",
      "03:30 internal-jump",
      "03:30 lab-jump",
      "03:30 lab-mirror-2",
      "03:30 sandbox-jump",
    ]);
    expect(updateBoxes(referenceLab()).find((b) => b.id === "sandbox-games")).toEqual({
      id: "sandbox-games",
      kind: "host",
      via: "unattended-upgrades",
      segment: "sandbox",
      vm: "sandbox-games",
      restartSeconds: 40,
    });
  });

  test("Talos nodes, the VDI (os none) and Proxmox nodes do not update themselves", () => {
    const ids = updateBoxes(referenceLab()).map((b) => b.id);
    expect(ids.filter((i) => /cp-|worker-|vdi|pve/.test(i))).toEqual([]);
  });

  test("no two boxes that must not restart together share a minute, whatever the window length", () => {
    for (const windowMinutes of [10, 30, 45, 180]) {
      const lab = labWithEdit((f) => updates(f, { windowMinutes, start: "01:00", day: "Wed" }));
      const s = planUpdates(lab);
      expect(overlappingClashes(s)).toEqual([]);
      expect(s.windows.every((w) => w.day === "Wed" && w.endMinute - w.startMinute === windowMinutes)).toBe(true);
    }
  });

  test("a declared window moves its neighbours out of it", () => {
    const lab = labWithEdit((f) => updates(f, { windows: { "lab-jump": "03:00" } }));
    const w = windowsOf(lab);
    expect(w).toContain("03:00 lab-jump");
    expect(w).toContain("03:30 lab-fw");
    expect(planUpdates(lab).windows.find((x) => x.box.id === "lab-jump")?.declared).toBe(true);
    expect(maintenanceUpdates.check(indexLab(lab))).toEqual([]);
  });

  test("a day with no free window left: one problem per clash, at the start, word for word", () => {
    const lab = labWithEdit((f) => updates(f, { start: "23:00", windowMinutes: 60 }));
    const problems = maintenanceUpdates.check(indexLab(lab));
    expect(problems.map((p) => `${p.path}: ${p.message}; ${p.fix}`)).toContain(
      "maintenance.updates.start: cluster-fw's update window (Sun 23:00-24:00) overlaps cluster-jump's (23:00-24:00), and they must not restart together: cluster-fw is the router of cluster and cluster-jump its jump host; the day has no free window left: start earlier or shorten maintenance.updates.windowMinutes",
    );
    expect(problems).toHaveLength(5);
  });

  test("a first window past midnight", () => {
    const lab = labWithEdit((f) => updates(f, { start: "23:45" }));
    expect(maintenanceUpdates.check(indexLab(lab)).map((p) => `${p.path}: ${p.message}; ${p.fix}`)[0]).toBe(
      "maintenance.updates.start: the first update window (23:45, 30 minutes) runs past midnight; start at 23:30 or earlier, or shorten maintenance.updates.windowMinutes",
    );
  });
});

describe("the weekly plan", () => {
  test("the reference lab: every VM with its downtime; the misses name their reasons", () => {
    const lab = referenceLab();
    const week = planWeek(lab, planPlacement(lab));
    expect(week.vms).toHaveLength(18);
    expect(week.vms.find((v) => v.vm === "sandbox-games")).toEqual({
      vm: "sandbox-games",
      node: "pve4",
      causes: [
        { seconds: 2, what: "live-migrated off pve4 and back", restarts: 0 },
        { seconds: 40, what: "its own update restart (unattended-upgrades, Sun 03:00-03:30)", restarts: 1 },
      ],
      seconds: 42,
      restarts: 1,
      meetsTarget: true,
    });
    expect(week.vms.find((v) => v.vm === "lab-vdi")).toMatchObject({
      seconds: 220,
      meetsTarget: false,
      causes: [{ seconds: 220, what: "pinned (passthrough gpu0): down while pve1 reboots", restarts: 1 }],
    });
    expect(week.misses.map((v) => v.vm)).not.toContain("sandbox-games");
    expect(week.misses).toHaveLength(17);
    expect(week.updateRestarts).toEqual({ routers: 4, hosts: 11 });
  });

  test("once the NixOS guests are installed, only the pinned VMs miss the target", () => {
    const lab = labWithEdit(installAll);
    const week = planWeek(lab, planPlacement(lab));
    expect(week.misses.map((v) => `${v.vm}: ${v.causes.map((c) => c.what).join("; ")}`)).toEqual([
      "cluster-cp-1: pinned (ha: false): down while pve1 reboots",
      "cluster-cp-2: pinned (ha: false): down while pve4 reboots",
      "cluster-cp-3: pinned (ha: false): down while pve5 reboots",
      "cluster-worker-1: pinned (passthrough nic0): down while pve1 reboots",
      "cluster-worker-2: pinned (passthrough nic0): down while pve2 reboots",
      "cluster-worker-3: pinned (passthrough nic0): down while pve3 reboots",
      "lab-vdi: pinned (passthrough gpu0): down while pve1 reboots",
    ]);
    const infra = week.vms.find((v) => v.vm === "infra")!;
    expect(infra.seconds).toBe(42);
    expect(infra.seconds).toBeLessThanOrEqual(WEEKLY_DOWNTIME_TARGET_SECONDS);
  });
});
