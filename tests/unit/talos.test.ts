// Proves the Talos cluster's pure parts: the schematic id is the factory's (the two ids the Talos
// docs print), the cluster plan (endpoint, installer image, nodes, install disk, labels), each
// node's rendered patch (goldens, and parsed back document by document: address, host name, VIP
// on control planes only, DMZ DNS and NTP, install disk and image, labels), and the exact messages
// for an even number of control planes, a VIP inside DHCP, a Talos VM left HA and an ISO of another
// schematic. It does not prove that Talos accepts the patches (no talosctl here; see tests/tools).
import { parseAllDocuments } from "yaml";
import type { Lab } from "../../model/lab";
import { planLab } from "../../model/plan";
import { formatProblems } from "../../model/problems";
import { talosNodes, type TalosClusterPlan } from "../../model/talos/plan";
import { renderSchematic, schematicId } from "../../model/talos/schematic";
import { validateLab } from "../../model/validate";
import { renderTalosFiles, renderTalosPatch, TALOS_LINK } from "../../render/talos-patches";
import { expectGolden, staleGoldens } from "../support/golden";
import { parseFiles, referenceFiles, referenceLab, segOf, type LabFiles } from "../support/lab";

function labWith(edit: (f: LabFiles) => void): Lab {
  const files = referenceFiles();
  edit(files);
  const parsed = parseFiles(files);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return parsed.lab;
}

const plan = (): TalosClusterPlan => planLab(referenceLab()).talos.cluster!;

describe("schematic", () => {
  test.each([
    [[], "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"],
    [["siderolabs/qemu-guest-agent"], "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515"],
  ])("extensions %j hash to the id the Talos docs give", (officialExtensions, id) => {
    expect(schematicId({ officialExtensions })).toBe(id);
  });

  test("the reference cluster's schematic is the one its ISO URL names", () => {
    const p = plan();
    expect(p.schematic.yaml).toBe(renderSchematic({ officialExtensions: ["siderolabs/qemu-guest-agent"] }));
    expect(referenceLab().hardware.proxmox.images["talos-v1-13-0"]!.url).toContain(`/image/${p.schematic.id}/`);
  });
});

describe("cluster plan", () => {
  test("endpoint, versions, installer image and the nodes in order, the first control plane first", () => {
    const p = plan();
    expect(p).toMatchObject({
      clusterName: "homelab",
      vip: "10.20.0.10",
      endpoint: "https://10.20.0.10:6443",
      talosVersion: "v1.13.0",
      kubernetesVersion: "1.35.0",
      installerImage: "factory.talos.dev/installer/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515:v1.13.0",
      nameservers: ["192.168.1.53"],
      timeServers: ["192.168.1.123"],
    });
    expect(talosNodes(p).map((n) => [n.host, n.type, n.address, n.proxmoxNode, n.installDisk])).toEqual([
      ["cp-1", "controlplane", "10.20.0.11", "pve1", "/dev/sda"],
      ["cp-2", "controlplane", "10.20.0.12", "pve4", "/dev/sda"],
      ["cp-3", "controlplane", "10.20.0.13", "pve5", "/dev/sda"],
      ["worker-1", "worker", "10.20.0.21", "pve1", "/dev/sda"],
      ["worker-2", "worker", "10.20.0.22", "pve2", "/dev/sda"],
      ["worker-3", "worker", "10.20.0.23", "pve3", "/dev/sda"],
    ]);
  });

  test("a leading v on the Kubernetes version is dropped, as the provider takes it", () => {
    const lab = labWith((f) => (segOf(f, "cluster").talos.kubernetesVersion = "v1.35.2"));
    expect(planLab(lab).talos.cluster!.kubernetesVersion).toBe("1.35.2");
  });
});

describe("node patches", () => {
  test("golden files: every node's patch and the schematic, and none left over", () => {
    const files = renderTalosFiles(plan());
    for (const f of files) expectGolden(`talos/${f.path.replace(/^talos\//, "")}`, f.content);
    expect(
      staleGoldens(
        "talos",
        files.map((f) => f.path.replace(/^talos\//, "")),
      ),
    ).toEqual([]);
  });

  /** The patch of `host`, parsed back: the v1alpha1 part and the documents by kind. */
  function parsed(host: string): { v1alpha1: any; byKind: Map<string, any>; kinds: string[] } {
    const node = talosNodes(plan()).find((n) => n.host === host)!;
    const docs = parseAllDocuments(renderTalosPatch(plan(), node));
    for (const d of docs) expect(d.errors).toEqual([]);
    const js = docs.map((d) => d.toJS() as Record<string, any>);
    const [v1alpha1, ...rest] = js;
    expect(rest.every((d) => d.apiVersion === "v1alpha1")).toBe(true);
    return { v1alpha1, byKind: new Map(rest.map((d) => [d.kind as string, d])), kinds: rest.map((d) => d.kind as string) };
  }

  test.each([
    ["cp-1", "52:54:00:20:00:0b", "10.20.0.11/24", "pve1"],
    ["worker-2", "52:54:00:20:00:16", "10.20.0.22/24", "pve2"],
  ])(
    "%s: static address on the link with its MAC, host name, DMZ DNS and NTP, install disk and image, labels",
    (host, mac, address, zone) => {
      const { v1alpha1, byKind } = parsed(host);
      expect(v1alpha1.machine.install).toEqual({ disk: "/dev/sda", image: plan().installerImage });
      expect(v1alpha1.machine.nodeLabels).toEqual({ "topology.kubernetes.io/region": "pve", "topology.kubernetes.io/zone": zone });
      expect(byKind.get("HostnameConfig")).toMatchObject({ hostname: host, auto: "off" });
      expect(byKind.get("LinkAliasConfig")).toMatchObject({
        name: TALOS_LINK,
        selector: { match: `mac(link.permanent_addr) == "${mac}"` },
      });
      expect(byKind.get("LinkConfig")).toMatchObject({ name: TALOS_LINK, addresses: [{ address }], routes: [{ gateway: "10.20.0.1" }] });
      expect(byKind.get("ResolverConfig")).toMatchObject({ nameservers: [{ address: "192.168.1.53" }] });
      expect(byKind.get("TimeSyncConfig")).toMatchObject({ ntp: { servers: ["192.168.1.123"] } });
    },
  );

  test("the API VIP (and the API server's tunnel name) only on control planes; no kind twice in a patch", () => {
    const cp = parsed("cp-2");
    expect(cp.byKind.get("Layer2VIPConfig")).toEqual({
      apiVersion: "v1alpha1",
      kind: "Layer2VIPConfig",
      name: "10.20.0.10",
      link: TALOS_LINK,
    });
    expect(cp.v1alpha1.cluster).toEqual({ apiServer: { certSANs: ["127.0.0.1"] } });
    const worker = parsed("worker-1");
    expect(worker.byKind.has("Layer2VIPConfig")).toBe(false);
    expect(worker.v1alpha1.cluster).toBeUndefined();
    for (const p of [cp, worker]) expect(new Set(p.kinds).size).toBe(p.kinds.length);
  });

  test("no secret in any patch: no key, certificate or token", () => {
    for (const n of talosNodes(plan())) expect(renderTalosPatch(plan(), n)).not.toMatch(/BEGIN|key:|token|secret/i);
  });

  test("rendering is deterministic", () => {
    expect(renderTalosFiles(plan())).toEqual(renderTalosFiles(planLab(referenceLab()).talos.cluster!));
  });
});

describe("validation, exact messages", () => {
  const problemsOf = (rule: string, edit: (f: LabFiles) => void) =>
    validateLab(labWith(edit))
      .filter((p) => p.rule === rule)
      .map((p) => ({ file: p.file, path: p.path, message: p.message, fix: p.fix }));

  test("an even number of control planes is refused", () => {
    const add4 = (f: LabFiles) => {
      const seg = segOf(f, "cluster");
      seg.hosts["cp-4"] = { ...structuredClone(seg.hosts["cp-1"]), address: "10.20.0.14", mac: "52:54:00:20:00:0e" };
      seg.hosts["cp-4"].vm = { ...seg.hosts["cp-4"].vm, node: "pve2", vmId: 2014 };
      seg.talos.controlPlanes = ["cp-1", "cp-2", "cp-3", "cp-4"];
    };
    expect(problemsOf("talos.cluster", add4)).toEqual([
      {
        file: "Pulumi.cluster.yaml",
        path: "homelab:segment.talos.controlPlanes",
        message:
          "cluster's Talos cluster has 4 control planes; etcd needs a majority, so use an odd number, at least 3 (3 tolerate 1 failure, 5 tolerate 2)",
        fix: "use 5 control planes (or 3)",
      },
    ]);
  });

  test("a VIP inside the DHCP pool is refused", () => {
    const found = problemsOf("addresses.in-network", (f) => (segOf(f, "cluster").talos.vip = "10.20.0.150"));
    expect(found).toEqual([
      {
        file: "Pulumi.cluster.yaml",
        path: "homelab:segment.talos.vip",
        message:
          "the Talos VIP of cluster 10.20.0.150 lies inside cluster's DHCP pool 10.20.0.100-10.20.0.199: dnsmasq could lease it to another machine; static addresses of cluster lie in 10.20.0.1-10.20.0.254, outside the DHCP pool 10.20.0.100-10.20.0.199, other than the gateway 10.20.0.1",
        fix: expect.stringMatching(/^pick a free address outside 10\.20\.0\.100-10\.20\.0\.199, e\.g\. 10\.20\.0\.\d+$/),
      },
    ]);
  });

  test("a Talos VM left HA is refused", () => {
    expect(problemsOf("talos.nodes", (f) => delete segOf(f, "cluster").hosts["cp-2"].vm.ha)).toEqual([
      {
        file: "Pulumi.cluster.yaml",
        path: "homelab:segment.hosts.cp-2.vm.ha",
        message:
          "cluster/cp-2 is a Talos node, and Talos nodes are pinned: they run with CPU type host, which cannot live-migrate between the cluster's different CPUs, and an etcd member restarted elsewhere from a replica would have lost what it acknowledged; etcd's quorum and Kubernetes carry the cluster through a node's loss instead. ha defaults to true, so a Talos VM must say ha: false explicitly",
        fix: "add ha: false to hosts.cp-2.vm",
      },
    ]);
  });

  test("an ISO of another schematic is refused once, naming the schematic's ISO", () => {
    const found = problemsOf("talos.nodes", (f) => (segOf(f, "cluster").talos.schematic.officialExtensions = []));
    const vanilla = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    expect(found.map((p) => p.path)).toEqual([
      "hardware.proxmox.images.talos-v1-13-0.guestAgent",
      "hardware.proxmox.images.talos-v1-13-0.url",
    ]);
    const url = found[1]!;
    expect(url.message).toBe(
      `cluster/cp-1, cluster/cp-2, cluster/cp-3, cluster/worker-1, cluster/worker-2, cluster/worker-3 boot talos-v1-13-0, which is not an Image Factory ISO of cluster's schematic ${vanilla} (talos.schematic): a node must boot the schematic its installer image factory.talos.dev/installer/${vanilla}:v1.13.0 installs, or its extensions differ between the ISO and the installed system`,
    );
    expect(url.fix).toBe(
      `use kind: iso and url: https://factory.talos.dev/image/${vanilla}/v1.13.0/nocloud-amd64.iso (with its checksum), or change talos.schematic to the ISO's`,
    );
  });

  test("a Talos older than the multi-document network configuration is refused", () => {
    expect(problemsOf("talos.nodes", (f) => (segOf(f, "cluster").talos.talosVersion = "v1.11.5")).map((p) => [p.path, p.fix])).toEqual([
      ["homelab:segment.talos.talosVersion", "use Talos v1.12.0 or later"],
    ]);
  });
});
