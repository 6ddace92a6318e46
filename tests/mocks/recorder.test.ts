// Proves the strict recorder answers each resource type and invoke token with its own
// provider handler (real SDK classes declare them: ids and outputs as the provider returns
// them, stable between runs), and fails loudly on a type or token it has no handler for;
// it does not prove the real providers return these exact values (no provider runs here).
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { INVOKE_HANDLERS, RESOURCE_HANDLERS } from "../../cli/mock-providers";
import { runUnderMocks, valueOf } from "../../cli/mock-runtime";
import { TALOS_TOKENS } from "../../providers/talos";

test("every handler's key is a real token: the SDK classes' own, or the Talos binding's", () => {
  const sdk = [
    command.remote.Command,
    command.remote.CopyToRemote,
    command.local.Command,
    proxmox.VmLegacy,
    proxmox.download.File,
    proxmox.FileLegacy,
    proxmox.cluster.FirewallLegacy,
    proxmox.firewall.OptionsLegacy,
    proxmox.firewall.IpsetLegacy,
    proxmox.hardware.mapping.Pci,
    proxmox.Hagroup,
    proxmox.Haresource,
    proxmox.Harule,
    proxmox.Replication,
    proxmox.backup.Job,
    proxmox.Provider,
  ].map((c) => (c as unknown as { __pulumiType: string }).__pulumiType);
  const talos = Object.values(TALOS_TOKENS) as string[];
  // Providers register as pulumi:providers:<package>.
  const tokens = new Set([...sdk.map((t) => (t === "proxmoxve" ? "pulumi:providers:proxmoxve" : t)), ...talos]);
  expect(Object.keys(RESOURCE_HANDLERS).filter((t) => !tokens.has(t))).toEqual([]);
  expect(Object.keys(INVOKE_HANDLERS).filter((t) => !tokens.has(t))).toEqual([]);
});

/** A VM and an ISO download the way a later Proxmox part will declare them. */
function proxmoxProgram(): Record<string, unknown> {
  const iso = new proxmox.download.File("talos-iso", {
    nodeName: "pve1",
    datastoreId: "local",
    contentType: "iso",
    url: "https://factory.talos.dev/image/ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515/v1.13.9/nocloud-amd64.iso",
    fileName: "talos-v1.13.9-nocloud-amd64.iso",
  });
  const pinned = new proxmox.VmLegacy("cp-1", {
    nodeName: "pve1",
    vmId: 2011,
    cdrom: { fileId: iso.id, interface: "ide0" },
    networkDevices: [{ bridge: "vmbr20", macAddress: "bc:24:11:00:20:11" }],
  });
  const allocated = new proxmox.VmLegacy("scratch", {
    nodeName: "pve2",
    agent: { enabled: true },
    networkDevices: [{ bridge: "vmbr30" }],
    initialization: { ipConfigs: [{ ipv4: { address: "10.30.0.40/24", gateway: "10.30.0.1" } }] },
  });
  return {
    isoId: iso.id,
    isoSize: iso.size,
    pinnedId: pinned.id,
    pinnedVmId: pinned.vmId,
    pinnedMacs: pinned.macAddresses,
    pinnedIps: pinned.ipv4Addresses,
    cdrom: pinned.cdrom,
    allocatedId: allocated.id,
    allocatedVmId: allocated.vmId,
    allocatedMacs: allocated.macAddresses,
    allocatedIps: allocated.ipv4Addresses,
    allocatedNics: allocated.networkInterfaceNames,
  };
}

test("Proxmox: a VM's id is its VM id, a download's id is the volume a VM's cdrom names", async () => {
  const run = await runUnderMocks({ stack: "cluster", program: proxmoxProgram });
  const r = run.resolved;
  expect(r.isoId).toBe("local:iso/talos-v1.13.9-nocloud-amd64.iso");
  expect(r.cdrom).toMatchObject({ fileId: "local:iso/talos-v1.13.9-nocloud-amd64.iso", interface: "ide0" });
  expect(typeof r.isoSize).toBe("number");
  expect([r.pinnedId, r.pinnedVmId, r.pinnedMacs, r.pinnedIps]).toEqual(["2011", 2011, ["BC:24:11:00:20:11"], []]);
  // Without a vmId the provider allocates one; with the guest agent it reports addresses.
  expect(r.allocatedId).toBe(String(r.allocatedVmId));
  expect(r.allocatedVmId).toBeGreaterThanOrEqual(100);
  expect(r.allocatedMacs).toEqual([expect.stringMatching(/^BC:24:11(:[0-9A-F]{2}){3}$/)]);
  expect(r.allocatedIps).toEqual([["127.0.0.1"], ["10.30.0.40"]]);
  expect(r.allocatedNics).toEqual(["lo", "eth0"]);
  const again = await runUnderMocks({ stack: "cluster", program: proxmoxProgram });
  expect(again.resolved).toEqual(r);
});

test("command: a remote command's outputs are what it printed", async () => {
  const run = await runUnderMocks({
    stack: "lab",
    program: () => {
      const c = new command.remote.Command("hello", { connection: { host: "10.30.0.1" }, create: "echo ok" });
      return { stdout: c.stdout, stderr: c.stderr };
    },
  });
  expect(run.resolved).toEqual({ stdout: "ok\n", stderr: "" });
});

test("a resource type without a handler fails the run, naming the type and where to add one", async () => {
  await expect(
    runUnderMocks({
      stack: "lab",
      program: () => {
        new proxmox.PoolLegacy("lab-pool", { poolId: "lab" });
        return {};
      },
    }),
  ).rejects.toThrow(
    /unexpected resource type proxmoxve:index\/poolLegacy:PoolLegacy \(lab-pool\): the mock has no handler for it .*cli\/mock-providers\.ts/,
  );
});

test("the HA and mapping handlers: ids as the provider imports them, the replication job id split into guest and job number", async () => {
  const run = await runUnderMocks({
    stack: "lab",
    program: () => {
      const pci = new proxmox.hardware.mapping.Pci("gpu", {
        name: "pve1-gpu0",
        maps: [{ node: "pve1", id: "10de:2504", path: "0000:01:00.0" }],
      });
      const group = new proxmox.Hagroup("group", { group: "ha-pve1-pve4", nodes: { pve1: 2, pve4: 1 } });
      const res = new proxmox.Haresource("res", { resourceId: "vm:2011" });
      const rule = new proxmox.Harule("rule", { rule: "vm-2011", type: "node-affinity", resources: ["vm:2011"] });
      const rep = new proxmox.Replication("rep", { resourceId: "2011-3", target: "pve4", type: "local" });
      return { ids: pulumi.all([pci.id, group.id, res.id, rule.id, rep.id]), guest: rep.guest, jobnum: rep.jobnum, schedule: rep.schedule };
    },
  });
  expect(run.resolved).toEqual({
    ids: ["pve1-gpu0", "ha-pve1-pve4", "vm:2011", "vm-2011", "2011-3"],
    guest: 2011,
    jobnum: 3,
    schedule: "*/15",
  });
});

test("an invoke without a handler fails the run, naming the token and where to add one", async () => {
  await expect(runUnderMocks({ stack: "lab", program: () => ({ nodes: proxmox.getNodesLegacyOutput() }) })).rejects.toThrow(
    /unexpected invoke proxmoxve:index\/getNodesLegacy:getNodesLegacy: the mock has no handler for it .*cli\/mock-providers\.ts/,
  );
});

test("a refused invoke fails the run even when nothing awaits its result", async () => {
  await expect(
    runUnderMocks({
      stack: "lab",
      program: () => {
        void proxmox.getNodesLegacyOutput();
        return {};
      },
    }),
  ).rejects.toThrow(/unexpected invoke proxmoxve:index\/getNodesLegacy:getNodesLegacy/);
});

test("a known invoke is answered by its handler and recorded by its token", async () => {
  const run = await runUnderMocks({
    stack: "cluster",
    program: () => {
      const r = pulumi.runtime.invokeOutput(TALOS_TOKENS.getHealth, {
        clientConfiguration: pulumi.secret({ caCertificate: "ca", clientCertificate: "cc", clientKey: "ck" }),
        endpoints: ["10.20.0.11"],
        controlPlaneNodes: ["10.20.0.11"],
      });
      return { health: r };
    },
  });
  expect(run.recorder.invokes).toEqual([TALOS_TOKENS.getHealth]);
  // A secret argument makes the whole result secret.
  expect(await valueOf(run.outputs.health!)).toMatchObject({ endpoints: ["10.20.0.11"], controlPlaneNodes: ["10.20.0.11"] });
});
