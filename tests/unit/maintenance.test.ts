// Proves the node maintenance planner (model/maintenance/node.ts) and its commands (render/maintenance.ts): on the reference lab, which
// HA VMs leave each node and how (live migration, or relocation for a VM whose ISO is attached), which pinned VMs go down and for how
// long (shutdown + node reboot + boot, from the declared or default times), what loses its spare, and that a critical VM going down is
// said; on constructed labs, a pinned critical VM, an HA VM that fits nowhere, installed VMs that live-migrate and declared boot
// times; the schema refuses bad times with its exact message. Does not run the commands (tests/tools/scripts.test.ts checks the script).
import { planPlacement } from "../../model/compute/placement";
import type { Lab } from "../../model/lab";
import { DEFAULT_BOOT_SECONDS, DEFAULT_SHUTDOWN_SECONDS, planNodeMaintenance, type NodeMaintenance } from "../../model/maintenance/node";
import { maintenanceSteps, renderMaintenanceScript } from "../../render/maintenance";
import { labWithEdit, parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";

const plan = (lab: Lab, node: string): NodeMaintenance => planNodeMaintenance(lab, planPlacement(lab), node);
const hw = (f: LabFiles) => f["homelab.yaml"].hardware.proxmox;
/** Every NixOS VM installed, so that nothing keeps an ISO attached. */
const installAll = (f: LabFiles) => {
  f["homelab.yaml"].dmz.infra.vm.installed = true;
  for (const [name, file] of Object.entries(f)) {
    if (!/^Pulumi\.(?!dmz).+\.yaml$/.test(name) || file.config === undefined) continue;
    for (const h of Object.values<any>(segOf(f, name.slice(7, -5)).hosts)) if (h.vm) h.vm.installed = true;
  }
};

describe("the reference lab", () => {
  const lab = referenceLab();

  test("pve1: its pinned VMs go down for shutdown + reboot + boot, its HA VM with an ISO is relocated", () => {
    const p = plan(lab, "pve1");
    expect(p.outages.map((o) => [o.vm, o.why, o.downSeconds])).toEqual([
      ["cluster-cp-1", "pinned (ha: false)", DEFAULT_SHUTDOWN_SECONDS + 180 + DEFAULT_BOOT_SECONDS],
      ["cluster-worker-1", "pinned (passthrough nic0)", 220],
      ["lab-vdi", "pinned (passthrough gpu0)", 220],
    ]);
    expect(p.moves).toEqual([
      {
        vm: "lab-mirror-2",
        vmId: 3032,
        to: "pve4",
        how: "relocation",
        why: "its ISO nixos-25-05 is still attached (installed: false), and Proxmox does not live-migrate that",
        secondsEachWay: 40,
        critical: false,
      },
    ]);
    expect(p.criticalDown).toEqual([]);
    expect(p.redundancy).toEqual([
      {
        what: "etcd of cluster's Talos cluster",
        detail: "2 of 3 members up (cluster-cp-1 down): quorum holds, but one more member lost stops the cluster's API",
      },
      {
        what: "workers of cluster's Talos cluster",
        detail: "2 of 3 up (cluster-worker-1 down): workloads run on the others, within their disruption budgets",
      },
      {
        what: "HA failover",
        detail:
          "internal-data, lab-jump, lab-mirror-1, lab-mirror-2, sandbox-agent, sandbox-games cannot fail over meanwhile: each may run only on its home and its failover node, and one of the two is pve1",
      },
    ]);
  });

  test("pve5: the infra host (critical by default) is said to go down while it moves", () => {
    expect(plan(lab, "pve5").criticalDown).toEqual([
      {
        vm: "infra",
        seconds: 80,
        why: "restarted twice to move (its ISO nixos-25-05 is still attached (installed: false), and Proxmox does not live-migrate that)",
      },
    ]);
  });

  test("the commands come in the owner's order, with the exact Proxmox command lines", () => {
    const steps = maintenanceSteps(plan(lab, "pve1"));
    expect(steps.map((s) => s.commands[0])).toEqual([
      "ha-manager crm-command relocate vm:3032 pve4",
      "ha-manager crm-command node-maintenance enable pve1",
      "service vm:3032 (pve4, started)",
      "ssh root@10.10.0.21 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade'",
      "ssh root@10.10.0.21 systemctl reboot",
      "ssh root@10.10.0.21 true",
      "ha-manager crm-command node-maintenance disable pve1",
      "ha-manager crm-command relocate vm:3032 pve1",
      "service vm:3032 (pve1, started)",
    ]);
  });

  test("the script carries the plan as facts", () => {
    const script = renderMaintenanceScript(plan(lab, "pve1"));
    expect(script).toContain("NODE='pve1'\nNODE_ADDRESS='10.10.0.21'\n");
    expect(script).toContain("MIGRATE=()\n");
    expect(script).toContain("RELOCATE=(\n  'vm:3032 pve4'  # lab-mirror-2\n)\n");
    expect(script).toContain("PINNED=(\n  '2011'  # cluster-cp-1: pinned (ha: false)\n");
    expect(renderMaintenanceScript(plan(lab, "pve1"))).toBe(script);
  });
});

describe("constructed labs", () => {
  test("installed VMs live-migrate with the declared pause, both ways", () => {
    const lab = labWithEdit((f) => {
      installAll(f);
      hw(f).migrationPauseSeconds = 0.5;
    });
    const p = plan(lab, "pve5");
    expect(p.moves.map((m) => [m.vm, m.how, m.to, m.secondsEachWay])).toEqual([
      ["cluster-jump", "live-migration", "pve4", 0.5],
      ["infra", "live-migration", "pve4", 0.5],
      ["sandbox-jump", "live-migration", "pve4", 0.5],
    ]);
    expect(p.criticalDown).toEqual([]);
    expect(maintenanceSteps(p)[0]!.commands).toEqual(["ha-manager crm-command node-maintenance enable pve5"]);
  });

  test("a node hosting a pinned critical VM: declared times, said loudly", () => {
    const lab = labWithEdit((f) => {
      f["homelab.yaml"].dmz.infra.vm.ha = false;
      f["homelab.yaml"].dmz.infra.vm.bootSeconds = 45;
      f["homelab.yaml"].dmz.infra.vm.shutdownSeconds = 5;
      hw(f).nodes.pve5.rebootSeconds = 120;
    });
    const p = plan(lab, "pve5");
    expect(p.outages.find((o) => o.vm === "infra")).toEqual({
      vm: "infra",
      vmId: 100,
      why: "pinned (ha: false)",
      shutdownSeconds: 5,
      rebootSeconds: 120,
      bootSeconds: 45,
      downSeconds: 170,
      critical: true,
    });
    expect(p.criticalDown).toEqual([{ vm: "infra", seconds: 170, why: "pinned (ha: false)" }]);
  });

  test("an image's boot time applies to its VMs; critical: false silences the default", () => {
    const lab = labWithEdit((f) => {
      hw(f).images["nixos-25-05"].bootSeconds = 50;
      f["homelab.yaml"].dmz.infra.vm.critical = false;
    });
    const p = plan(lab, "pve5");
    expect(p.moves.find((m) => m.vm === "infra")).toMatchObject({ how: "relocation", secondsEachWay: 60, critical: false });
    expect(p.criticalDown).toEqual([]);
  });

  test("a node whose loss leaves an HA VM nowhere: it stays and goes down, with the reason", () => {
    // pve4 is the failover node of everything on pve5; shrink it until infra fits nowhere.
    const lab = labWithEdit((f) => {
      hw(f).nodes.pve4.memoryGiB = 66;
    });
    const p = plan(lab, "pve5");
    const infra = p.outages.find((o) => o.vm === "infra");
    expect(infra?.why).toBe(
      "HA, but no node can take it (pve1: no bridge into dmz; pve2: no bridge into dmz; pve3: no bridge into dmz; pve4: 1024 MiB free (needs 4096))",
    );
    expect(infra?.downSeconds).toBe(220);
    expect(p.criticalDown.map((c) => c.vm)).toContain("infra");
  });
});

describe("the schema refuses bad times", () => {
  test.each([
    ["a boot time of 0", (f: LabFiles) => (f["homelab.yaml"].dmz.infra.vm.bootSeconds = 0), "dmz.infra.vm.bootSeconds"],
    ["a fractional shutdown", (f: LabFiles) => (f["homelab.yaml"].dmz.infra.vm.shutdownSeconds = 2.5), "dmz.infra.vm.shutdownSeconds"],
    ["a node reboot over an hour", (f: LabFiles) => (hw(f).nodes.pve1.rebootSeconds = 4000), "hardware.proxmox.nodes.pve1.rebootSeconds"],
    ["a critical that is not a boolean", (f: LabFiles) => (f["homelab.yaml"].dmz.infra.vm.critical = "yes"), "dmz.infra.vm.critical"],
  ])("%s", (_what, edit, path) => {
    const files = referenceFiles();
    edit(files);
    const parsed = parseFiles(files);
    expect(parsed.lab).toBeUndefined();
    expect(parsed.problems.map((p) => p.path)).toEqual([path]);
  });
});
