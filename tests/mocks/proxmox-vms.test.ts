// Proves what each stack declares on the Proxmox cluster under mocks: every VM of the reference
// lab as a VmLegacy on its node in the stack of its segment, with the inputs the model plans
// (q35, OVMF + EFI disk, PCI devices by mapping name only, CD-ROM on ide0 and cloud-init on ide2,
// the agent only where the image has one, sorted tags, migrate and ignoreChanges by HA), image
// files with checksums, a Debian VM's cloud-init user data as a snippet on each node that may start it
// (and no other VM's), the guest firewall (MAC and IP filters) on the untrusted segment's VMs only, with the
// datacenter's switch from the owner, the explicit provider with the API token secret end to end, and a preview
// with unknowns; it does not prove Proxmox accepts the inputs (no live cluster here).
import { isSecret } from "@pulumi/pulumi";
import type { MockRun, RecordedResource } from "../../cli/mock-runtime";
import { planLab } from "../../model/plan";
import { renderUserData } from "../../render/cloud-init";
import { OUTPUTS } from "../../stacks/contracts";
import { referenceLab } from "../support/lab";
import { runStack, segmentReferences, TEST_PROXMOX_TOKEN } from "../support/mocks";

const STACKS = ["internal", "cluster", "lab", "sandbox", "dmz"] as const;
const VM = "proxmoxve:index/vmLegacy:VmLegacy";
const FILE = "proxmoxve:download/file:File";

const runs = new Map<string, MockRun>();
const resources = (stack: string): RecordedResource[] => runs.get(stack)!.recorder.withParents();
const byName = (stack: string, name: string): RecordedResource => {
  const r = resources(stack).find((x) => x.name === name);
  if (!r) throw new Error(`${stack}: no resource ${name}`);
  return r;
};
const vmInputs = (stack: string, host: string) => byName(stack, `${host}-vm-qemu`).inputs as Record<string, any>;

beforeAll(async () => {
  for (const s of STACKS) runs.set(s, await runStack(s, s === "dmz" ? { references: segmentReferences() } : {}));
});

test("every VM of the lab is a VmLegacy on its node, in the stack of its segment, under its component", () => {
  const machines = planLab(referenceLab()).machines;
  expect(machines).toHaveLength(18);
  for (const s of STACKS) {
    const declared = resources(s)
      .filter((r) => r.type === VM)
      .map((r) => ({ name: r.name, parent: r.parent, vmId: r.inputs.vmId as number, node: r.inputs.nodeName, proxmoxName: r.inputs.name }));
    const expected = machines
      .filter((m) => m.stack === s)
      .map((m) => ({ name: `${m.host}-vm-qemu`, parent: `${m.host}-vm`, vmId: m.vmId, node: m.node, proxmoxName: m.name }));
    expect(declared.sort((a, b) => a.vmId - b.vmId)).toEqual(expected);
    for (const d of expected) expect(byName(s, d.parent).type).toBe("homelab:proxmox:VirtualMachine");
  }
});

test("every Proxmox resource uses the stack's explicit provider, never a default one", () => {
  for (const s of STACKS) {
    const onCluster = resources(s).filter((r) => r.type.startsWith("proxmoxve:"));
    expect(onCluster.length).toBeGreaterThan(0);
    expect(onCluster.filter((r) => r.provider !== "proxmox").map((r) => r.name)).toEqual([]);
    expect(byName(s, "proxmox")).toMatchObject({ type: "pulumi:providers:proxmoxve", inputs: { endpoint: "https://pve.lab.example.net" } });
  }
});

test("the GPU VDI: q35, OVMF with an EFI disk, the GPU by mapping name on its pinned node, migrate off, host CPU", () => {
  const vdi = vmInputs("lab", "vdi");
  expect(vdi).toMatchObject({
    nodeName: "pve1",
    machine: "q35",
    bios: "ovmf",
    efiDisk: { datastoreId: "local-zfs", type: "4m", preEnrolledKeys: false },
    hostpcis: [{ device: "hostpci0", mapping: "pve1-gpu0", pcie: true }],
    migrate: false,
    cpu: { cores: 8, type: "host" },
    memory: { dedicated: 32768, floating: 0 },
    networkDevices: [{ bridge: "lab", macAddress: "52:54:00:30:00:14", model: "virtio" }],
    tags: ["lab", "vdi"],
  });
  // Installed by hand (Windows): no boot media, no agent, no cloud-init.
  expect(vdi.cdrom).toBeUndefined();
  expect(vdi.initialization).toBeUndefined();
  expect(vdi.agent).toEqual({ enabled: false });
  expect(byName("lab", "vdi-vm-qemu").ignoreChanges).toBeUndefined();
});

test("no VM names a raw PCI id: every hostpci entry is a mapping the model names", () => {
  const lab = referenceLab();
  const all = STACKS.flatMap((s) => resources(s).filter((r) => r.type === VM));
  const entries = all.flatMap((r) =>
    ((r.inputs.hostpcis as Record<string, unknown>[] | undefined) ?? []).map((p): Record<string, unknown> => ({ vm: r.name, ...p })),
  );
  expect(entries.map((e) => `${String(e.vm)} ${String(e.mapping)}`).sort()).toEqual([
    "vdi-vm-qemu pve1-gpu0",
    "worker-1-vm-qemu pve1-nic0",
    "worker-2-vm-qemu pve2-nic0",
    "worker-3-vm-qemu pve3-nic0",
  ]);
  for (const e of entries) {
    expect(e).not.toHaveProperty("id");
    const [node, device] = String(e.mapping).split("-");
    expect(lab.hardware.proxmox.nodes[node!]!.pci[device!]).toBeDefined();
  }
});

test("a worker reaches its network only through its passed-through NIC: no virtual NIC, pinned, migrate off", () => {
  for (const [host, node] of [
    ["worker-1", "pve1"],
    ["worker-2", "pve2"],
    ["worker-3", "pve3"],
  ] as const) {
    const w = vmInputs("cluster", host);
    expect(w).toMatchObject({ nodeName: node, machine: "q35", bios: "ovmf", migrate: false, hostpcis: [{ mapping: `${node}-nic0` }] });
    expect(w.networkDevices).toBeUndefined();
    expect(byName("cluster", `${host}-vm-qemu`).ignoreChanges).toBeUndefined();
  }
});

test("an HA VM migrates instead of re-creating, and a move by HA is no drift: migrate on, nodeName ignored", () => {
  const machines = planLab(referenceLab()).machines;
  for (const m of machines) {
    const r = byName(m.stack, `${m.host}-vm-qemu`);
    expect([m.name, r.inputs.migrate, r.ignoreChanges ?? []]).toEqual([m.name, m.ha, m.ha ? ["nodeName"] : []]);
    expect(r.inputs.cpu).toMatchObject({ type: m.ha ? "x86-64-v2-AES" : "host" });
  }
  expect(machines.filter((m) => m.ha)).toHaveLength(11);
});

test("a Talos node boots the factory ISO on ide0, cloud-init on ide2, with the guest agent its image carries", () => {
  const cp = vmInputs("cluster", "cp-1");
  expect(cp).toMatchObject({
    machine: "q35",
    cdrom: { interface: "ide0", fileId: "local:iso/cluster-talos-v1-13-0.iso" },
    initialization: { interface: "ide2", datastoreId: "local-zfs", ipConfigs: [{ ipv4: { address: "dhcp" } }] },
    agent: { enabled: true, trim: true },
    bootOrders: ["scsi0", "ide0"],
    memory: { floating: 0 },
    operatingSystem: { type: "l26" },
    startup: { order: 3 },
    onBoot: true,
  });
  // The CD-ROM names the file the stack downloads onto the VM's node.
  const file = byName("cluster", "images-talos-v1-13-0-pve1");
  expect(file.inputs).toMatchObject({ nodeName: "pve1", datastoreId: "local", contentType: "iso", fileName: "cluster-talos-v1-13-0.iso" });
});

test("a Debian VM is created from the cloud image imported into its root disk, with cloud-init and no CD-ROM", () => {
  const games = vmInputs("sandbox", "games");
  expect(games.disks).toEqual([
    {
      interface: "scsi0",
      datastoreId: "local-zfs",
      size: 100,
      fileFormat: "raw",
      discard: "on",
      ssd: true,
      importFrom: "local:import/sandbox-debian-12.qcow2",
    },
  ]);
  expect(games.cdrom).toBeUndefined();
  expect(games.initialization).toMatchObject({ interface: "ide2" });
  expect(games.agent).toEqual({ enabled: false });
  expect(byName("sandbox", "images-debian-12-pve4").inputs).toMatchObject({ contentType: "import", fileName: "sandbox-debian-12.qcow2" });
});

const SNIPPET = "proxmoxve:index/fileLegacy:FileLegacy";

test("a Debian VM's user data is a snippet on its node and its failover node, which its cloud-init drive names", () => {
  const ud = planLab(referenceLab()).userData.find((u) => u.vm === "sandbox-games")!;
  const snippets = resources("sandbox").filter((r) => r.type === SNIPPET);
  expect(snippets.map((r) => ({ name: r.name, parent: r.parent, provider: r.provider, inputs: r.inputs, secret: r.secretInputs }))).toEqual(
    ["pve1", "pve4"].map((node) => ({
      name: `games-user-data-${node}`,
      parent: "games-user-data",
      provider: "proxmox",
      inputs: {
        nodeName: node,
        datastoreId: "local",
        contentType: "snippets",
        sourceRaw: { data: renderUserData(ud), fileName: "sandbox-games-user-data.yaml" },
        overwrite: true,
      },
      // Public keys and names only: nothing in it is secret, and nothing is marked so.
      secret: [],
    })),
  );
  expect(byName("sandbox", "games-user-data").type).toBe("homelab:proxmox:UserData");
  expect(vmInputs("sandbox", "games").initialization).toEqual({
    interface: "ide2",
    datastoreId: "local-zfs",
    ipConfigs: [{ ipv4: { address: "dhcp" } }],
    userDataFileId: "local:snippets/sandbox-games-user-data.yaml",
  });
  // It waits for both copies: HA may start it on pve1, where Proxmox rebuilds its cloud-init drive from the file.
  expect(byName("sandbox", "games-vm-qemu").dependsOn).toEqual(["games-user-data-pve1", "games-user-data-pve4"]);
});

test("no other VM gets user data: Talos and NixOS VMs have no snippet, and cloud-init drives name none", () => {
  for (const s of STACKS) {
    const snippets = resources(s)
      .filter((r) => r.type === SNIPPET)
      .map((r) => r.name);
    expect(snippets).toEqual(s === "sandbox" ? ["games-user-data-pve1", "games-user-data-pve4"] : []);
    for (const vm of resources(s).filter((r) => r.type === VM && r.name !== "games-vm-qemu")) {
      expect((vm.inputs.initialization as Record<string, unknown> | undefined)?.userDataFileId).toBeUndefined();
    }
  }
  expect((vmInputs("cluster", "cp-1").initialization as Record<string, unknown>).userDataFileId).toBeUndefined();
});

const IPSET = "proxmoxve:firewall/ipsetLegacy:IpsetLegacy";
const OPTIONS = "proxmoxve:firewall/optionsLegacy:OptionsLegacy";

test("an untrusted segment's VMs get the guest firewall: MAC and IP filter on, only the model address in ipfilter-net0, policies ACCEPT", () => {
  const sandbox = planLab(referenceLab()).machines.filter((m) => m.stack === "sandbox");
  expect(sandbox.map((m) => m.host)).toEqual(["jump", "agent", "games"]);
  for (const m of sandbox) {
    const address = referenceLab().segments.sandbox!.hosts[m.host]!.address;
    const vm = vmInputs("sandbox", m.host);
    expect(vm.networkDevices).toEqual([{ bridge: "sandbox", model: "virtio", macAddress: m.nics[0]!.mac.toUpperCase(), firewall: true }]);
    const set = byName("sandbox", `${m.host}-vm-ipfilter-net0`);
    expect({ type: set.type, parent: set.parent, provider: set.provider, inputs: set.inputs }).toEqual({
      type: IPSET,
      parent: `${m.host}-vm`,
      provider: "proxmox",
      inputs: {
        nodeName: m.node,
        vmId: m.vmId,
        name: "ipfilter-net0",
        comment: `what may leave net0 of ${m.name}: its model address only`,
        cidrs: [{ name: address, comment: `${m.name} in the model` }],
      },
    });
    const options = byName("sandbox", `${m.host}-vm-firewall`);
    expect({ type: options.type, parent: options.parent, dependsOn: options.dependsOn, inputs: options.inputs }).toEqual({
      type: OPTIONS,
      parent: `${m.host}-vm`,
      // The set exists before the IP filter is on: with the filter on and no set, no IPv4 address may leave.
      dependsOn: [`${m.host}-vm-ipfilter-net0`],
      inputs: {
        nodeName: m.node,
        vmId: m.vmId,
        enabled: true,
        macfilter: true,
        ipfilter: true,
        dhcp: true,
        ndp: false,
        radv: false,
        inputPolicy: "ACCEPT",
        outputPolicy: "ACCEPT",
      },
    });
  }
});

test("trusted segments' VMs and the infra host have no guest firewall; the owner turns on the datacenter's switch, ACCEPT everywhere", () => {
  for (const s of STACKS.filter((x) => x !== "sandbox")) {
    expect(
      resources(s)
        .filter((r) => r.type === IPSET || r.type === OPTIONS)
        .map((r) => r.name),
    ).toEqual([]);
    for (const vm of resources(s).filter((r) => r.type === VM))
      for (const nic of (vm.inputs.networkDevices as Record<string, unknown>[] | undefined) ?? []) expect(nic.firewall).toBeUndefined();
  }
  const cluster = STACKS.flatMap((s) => resources(s).filter((r) => r.type === "proxmoxve:cluster/firewallLegacy:FirewallLegacy"));
  expect(cluster.map((r) => ({ name: r.name, parent: r.parent, inputs: r.inputs }))).toEqual([
    {
      name: "proxmox-lab-firewall",
      parent: "proxmox-lab",
      inputs: { enabled: true, ebtables: true, inputPolicy: "ACCEPT", outputPolicy: "ACCEPT", forwardPolicy: "ACCEPT" },
    },
  ]);
  expect(resources("internal").some((r) => r.name === "proxmox-lab-firewall")).toBe(true);
});

test("the data host has both disks on their datastore, root first", () => {
  expect(vmInputs("internal", "data").disks.map((d: Record<string, unknown>) => [d.interface, d.datastoreId, d.size])).toEqual([
    ["scsi0", "local-zfs", 64],
    ["scsi1", "local-zfs", 1000],
  ]);
});

test("tags are sorted and name the segment and the role; start order follows the role", () => {
  for (const s of STACKS) {
    for (const r of resources(s).filter((x) => x.type === VM)) {
      const tags = r.inputs.tags as string[];
      expect(tags).toEqual([...tags].sort());
      expect(tags).toContain(s);
    }
  }
  expect(vmInputs("dmz", "infra")).toMatchObject({ tags: ["dmz", "infra"], startup: { order: 1 } });
  expect(vmInputs("internal", "jump")).toMatchObject({ tags: ["internal", "jump"], startup: { order: 2 } });
  expect(vmInputs("sandbox", "agent")).toMatchObject({ tags: ["agent", "sandbox"], startup: { order: 5 } });
});

test("every image file is verified by its checksum and never fetched again behind the plan's back", () => {
  const lab = referenceLab();
  for (const s of STACKS) {
    for (const f of resources(s).filter((r) => r.type === FILE)) {
      const image = Object.entries(lab.hardware.proxmox.images).find(([, i]) => i.url === f.inputs.url)!;
      expect(f.inputs).toMatchObject({ checksum: image[1].checksum, checksumAlgorithm: image[1].checksumAlgorithm, overwrite: false });
      expect(String(f.inputs.fileName).startsWith(`${s}-${image[0]}.`)).toBe(true);
      expect(f.parent).toBe("images");
    }
  }
});

test("the jump host and the infra host are configured once their VM exists", () => {
  expect(byName("lab", "jump").dependsOn).toEqual(["jump-vm"]);
  expect(byName("lab", "jump-release").dependsOn).toEqual(["jump-vm"]);
  expect(byName("dmz", "infra").dependsOn).toEqual(["infra-vm"]);
  expect(byName("dmz", "infra-release").dependsOn).toEqual(["infra-vm"]);
});

test("the vms output lists each VM's id and node as Proxmox reports them", () => {
  expect(runs.get("cluster")!.resolved[OUTPUTS.vms]).toEqual({
    jump: { vmId: 2002, node: "pve5" },
    "cp-1": { vmId: 2011, node: "pve1" },
    "cp-2": { vmId: 2012, node: "pve4" },
    "cp-3": { vmId: 2013, node: "pve5" },
    "worker-1": { vmId: 2021, node: "pve1" },
    "worker-2": { vmId: 2022, node: "pve2" },
    "worker-3": { vmId: 2023, node: "pve3" },
  });
  expect(runs.get("dmz")!.resolved[OUTPUTS.vms]).toEqual({ infra: { vmId: 100, node: "pve5" } });
});

test("the API token is secret in the provider's inputs and appears in no recorded input, upload or output", async () => {
  for (const s of STACKS) {
    const run = runs.get(s)!;
    const provider = byName(s, "proxmox");
    expect(provider.secretInputs).toEqual(["apiToken"]);
    expect(provider.inputs.apiToken).toBe("[secret]");
    expect(run.recorder.rawInputs.get("proxmox")!.apiToken).toBe(TEST_PROXMOX_TOKEN.value);
    const secretPart = TEST_PROXMOX_TOKEN.value.split("=")[1]!;
    const seen = JSON.stringify({ resources: run.recorder.resources, uploads: run.recorder.uploads, outputs: run.resolved });
    expect(seen).not.toContain(secretPart);
    // The VM outputs are plain: the token made nothing secret that is not.
    expect(await isSecret(run.outputs[OUTPUTS.vms]!)).toBe(false);
  }
});

test("a stack with VMs and no API token stops before declaring anything, naming the key, its file and the command", async () => {
  await expect(runStack("sandbox", { config: {} })).rejects.toThrow(
    /Pulumi\.sandbox\.yaml: homelab:proxmoxApiToken[\s\S]*is not set: this stack declares 3 VMs on the Proxmox cluster[\s\S]*pulumi config set --secret homelab:proxmoxApiToken -s sandbox/,
  );
});

test("a DMZ stack missing its three secrets names all three in one error", async () => {
  await expect(runStack("dmz", { references: segmentReferences(), config: {} })).rejects.toThrow(
    /cannot run this stack: 3 problems[\s\S]*homelab:acmeDnsCredentials[\s\S]*homelab:proxmoxApiToken[\s\S]*homelab:wireguardKey[\s\S]*is not set: it is the private key of the infra host's end of the WireGuard tunnel[\s\S]*pulumi config set --secret homelab:wireguardKey -s dmz < wireguard.key/,
  );
});

test("a preview declares the same VMs and files, and completes with the downloads' ids unknown", async () => {
  const preview = await runStack("cluster", { preview: true });
  const names = (rs: readonly RecordedResource[]) => rs.map((r) => `${r.type} ${r.name}`).sort();
  expect(names(preview.recorder.withParents())).toEqual(names(resources("cluster")));
  const cp = preview.recorder.resources.find((r) => r.name === "cp-1-vm-qemu")!;
  expect(cp.inputs).toMatchObject({ nodeName: "pve1", vmId: 2011, machine: "q35", cdrom: { interface: "ide0" } });
  // The ISO is not downloaded yet, so its volume id is unknown until the update: as in a real preview.
  expect(cp.inputs.cdrom).toEqual({ interface: "ide0", fileId: { __pulumiUnknown: true } });
  const games = (await runStack("sandbox", { preview: true })).recorder.resources.find((r) => r.name === "games-vm-qemu")!;
  expect((games.inputs.disks as Record<string, unknown>[])[0]!.importFrom).toEqual({ __pulumiUnknown: true });
});
