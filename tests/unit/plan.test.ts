// Proves: the planned lab holds each planner's result and is planned once per lab object; the planner's flows, router rules, DNATs and placement keep their invariants on the reference lab and on random valid VM moves (addresses in their zone, rules on the right side of each router, DNAT only from the proxy or admin sources, storage and services become flows, failover moves only HA VMs to surviving nodes); does not prove that rendered firewall files enforce them (tools and twin tests).
import fc from "fast-check";
import { segmentList, type Lab } from "../../model/lab";
import { forgetReadLabs, parseLab, readLabSources } from "../../model/load";
import { Cidr } from "../../model/net";
import { requireLab } from "../../model/check";
import { planDmz, publishListed, publishSegment } from "../../model/network/dmz";
import { labVms, planPlacement } from "../../model/compute/placement";
import { planFlows, type Endpoint } from "../../model/network/flows";
import { segmentHosts } from "../../model/network/hosts";
import { planSshAccess, planSshPaths } from "../../model/network/ssh";
import { planLab, planSegment, type PlannedLab } from "../../model/plan";
import { validateLab } from "../../model/validate";
import { referenceLab, REPO } from "../support/lab";

/** True when every address of `inner` lies in `outer`. */
function within(inner: Cidr, outer: Cidr): boolean {
  return outer.contains(inner.network) && outer.contains(inner.broadcast);
}

/** The network an endpoint's zone owns. */
function zoneNets(lab: Lab, zone: string): readonly Cidr[] {
  // The DMZ zone: its network, and the tunnel the infra host reaches the routers through.
  if (zone === "dmz") return [lab.dmz.subnet, ...(lab.dmz.tunnel ? [lab.dmz.tunnel.subnet] : [])];
  if (zone === "admin") return lab.ssh.adminSources;
  if (zone === "internet") return [Cidr.of("0.0.0.0/0")];
  const seg = lab.segments[zone];
  if (!seg) throw new Error(`flow endpoint in unknown zone ${zone}`);
  return [seg.subnet];
}

function checkEndpoint(lab: Lab, e: Endpoint): void {
  expect(e.cidrs.length).toBeGreaterThan(0);
  for (const c of e.cidrs) expect(zoneNets(lab, e.zone).some((n) => within(c, n))).toBe(true);
  if (e.host === undefined || e.zone === "dmz") return;
  const seg = lab.segments[e.zone]!;
  const host = segmentHosts(lab, seg).find((h) => h.id === e.host);
  expect(host).toBeDefined();
  expect(e.cidrs.map(String)).toEqual([`${host!.address}/32`]);
}

/** Every invariant of this file, on one valid lab and its plan. */
function expectPlanInvariants(lab: Lab, plan: PlannedLab): void {
  // flows: endpoints in their zones' networks
  for (const f of plan.flows) {
    checkEndpoint(lab, f.from);
    checkEndpoint(lab, f.to);
    expect(f.ports.length).toBeGreaterThan(0);
    expect(f.reason.length).toBeGreaterThan(0);
  }
  expect(new Set(plan.flows.map((f) => f.id)).size).toBe(plan.flows.length);

  // Published services come from the infra host's tunnel address, through the tunnel.
  const proxy = `${lab.dmz.tunnel!.address}/32`;
  const admin = lab.ssh.adminSources.map(String);
  for (const seg of segmentList(lab)) {
    const r = plan.segments[seg.name]!.router;
    // inbound: towards this segment, from elsewhere; outbound: from this segment, towards elsewhere
    for (const rule of r.inbound) {
      expect(within(rule.to, seg.subnet)).toBe(true);
      expect(within(rule.from, seg.subnet)).toBe(false);
    }
    for (const rule of r.outbound) {
      expect(within(rule.from, seg.subnet)).toBe(true);
      expect(within(rule.to, seg.subnet)).toBe(false);
    }
    // DNAT: published services only on the tunnel, from the infra host's tunnel address; port 22 only
    // on the WAN, from the admins; always into this segment
    for (const d of r.dnat) {
      expect(seg.subnet.contains(d.to)).toBe(true);
      if (d.flows.every((f) => f.startsWith("publish:"))) {
        expect(d.sources.map(String)).toEqual([proxy]);
        expect(d.side).toBe("tunnel");
      } else {
        expect(d.flows).toEqual([`ssh:${seg.name}`]);
        expect(d).toMatchObject({ side: "wan", proto: "tcp", wanPort: 22, toPort: 22 });
        expect(d.sources.map(String)).toEqual(admin);
        expect(d.to).toBe(segmentHosts(lab, seg).find((h) => h.id === seg.jumpHost)!.address);
      }
    }
    expect(r.dnat.filter((d) => d.flows.includes(`ssh:${seg.name}`))).toHaveLength(1);
    // every published service has its DNAT on its WAN port, and a publish flow from the proxy
    for (const [id, s] of Object.entries(seg.services)) {
      const wanPort = s.wanPort ?? s.backend.port;
      const proto = s.kind === "udp" ? "udp" : "tcp";
      expect(r.dnat.some((d) => d.proto === proto && d.wanPort === wanPort)).toBe(true);
      const flow = plan.flows.find((f) => f.id === `publish:${seg.name}/${id}`);
      expect(flow?.from.cidrs.map(String)).toEqual([proxy]);
      expect(flow?.via).toMatchObject({ router: seg.router.name, address: seg.router.tunnel!.address, side: "tunnel" });
    }
    // every storage consumer yields one flow to the server on the protocol's port
    for (const [id, st] of Object.entries(seg.storage)) {
      const [serverSeg, serverHost] = st.server.split("/") as [string, string];
      const serverAddress = segmentHosts(lab, lab.segments[serverSeg]!).find((h) => h.id === serverHost)!.address;
      for (const consumer of st.consumers) {
        const f = plan.flows.find((x) => x.id === `storage:${seg.name}/${id}/${consumer}`);
        expect(f).toBeDefined();
        expect(f!.kind).toBe("storage");
        expect(f!.from).toMatchObject({ zone: seg.name, host: consumer });
        expect(f!.to.cidrs.map(String)).toEqual([`${serverAddress}/32`]);
        expect(f!.ports).toEqual([{ port: st.protocol === "nfs" ? 2049 : 445, proto: "tcp" }]);
      }
    }
    // every segment resolves, keeps time and is entered through its jump host
    for (const id of [`dns:${seg.name}`, `ntp:${seg.name}`, `ssh:${seg.name}`, `ssh:${seg.name}/jump`])
      expect(plan.flows.map((f) => f.id)).toContain(id);
    // an untrusted segment reaches only the internet-exposed services through the proxy
    if (seg.trust === "untrusted") {
      const exposed = new Set(
        segmentList(lab).flatMap((s) =>
          Object.values(s.services)
            .filter((x) => x.exposure === "internet")
            .flatMap((x) => (x.kind === "http" ? ["80/tcp", "443/tcp"] : [`${x.port}/${x.kind}`])),
        ),
      );
      const used = plan.flows.find((f) => f.id === `proxy:${seg.name}`)?.ports.map((p) => `${p.port}/${p.proto}`) ?? [];
      for (const p of used) expect(exposed).toContain(p);
    }
  }

  // placement: every configured VM exactly once, on its configured node
  const vms = labVms(lab);
  const configured = 1 + segmentList(lab).reduce((n, s) => n + Object.values(s.hosts).filter((h) => h.vm).length, 0);
  expect(vms).toHaveLength(configured);
  const placed = plan.placement.nodes.flatMap((n) => n.vms.map((v) => ({ node: n.node, vm: v })));
  expect(placed).toHaveLength(configured);
  for (const { node, vm } of placed) expect(vm.node).toBe(node);
  for (const n of plan.placement.nodes) {
    expect(n.usedMemoryMiB).toBe(n.vms.reduce((a, v) => a + v.memoryMiB, 0));
    expect(n.usedVcpus).toBe(n.vms.reduce((a, v) => a + v.cores, 0));
  }

  // failover: only HA VMs move, never onto the failed node; pinned VMs are down; nothing is lost
  for (const f of plan.placement.failover) {
    const victim = plan.placement.nodes.find((n) => n.node === f.failed)!;
    for (const m of f.moves) {
      expect(m.to).not.toBe(f.failed);
      expect(victim.vms.find((v) => v.name === m.vm)?.ha).toBe(true);
    }
    expect(f.down).toEqual(
      victim.vms
        .filter((v) => !v.ha)
        .map((v) => v.name)
        .sort(),
    );
    expect([...f.moves.map((m) => m.vm), ...f.stranded].sort()).toEqual(
      victim.vms
        .filter((v) => v.ha)
        .map((v) => v.name)
        .sort(),
    );
    expect(f.stranded).toEqual([]); // a valid lab survives any one node (capacity.n-minus-1)
  }
}

describe("the planner on the reference lab", () => {
  const lab = referenceLab();
  const plan = planLab(lab);

  test("all invariants hold", () => {
    expectPlanInvariants(lab, plan);
  });

  test("the counts match the config", () => {
    expect(plan.placement.nodes).toHaveLength(5);
    expect(plan.placement.nodes.reduce((n, x) => n + x.vms.length, 0)).toBe(18);
    expect(Object.values(plan.segments).reduce((n, s) => n + s.services.length, 0)).toBe(19);
    expect(plan.flows.filter((f) => f.kind === "storage")).toHaveLength(6);
  });

  test("pinned VMs (passthrough, Talos) are down while their node is, never moved", () => {
    const pve1 = plan.placement.failover.find((f) => f.failed === "pve1")!;
    expect(pve1.down).toEqual(["cluster-cp-1", "cluster-worker-1", "lab-vdi"]);
    expect(pve1.moves.map((m) => m.vm)).toEqual(["lab-mirror-2"]);
    // the infra host needs a bridge into the DMZ, which only pve4 has besides pve5
    expect(plan.placement.failover.find((f) => f.failed === "pve5")!.moves).toContainEqual({ vm: "infra", to: "pve4" });
  });

  test("DNAT: published services on the tunnel from the infra host's tunnel address only, SSH on the WAN from the admin sources only", () => {
    const internal = plan.segments.internal!.router.dnat;
    expect(internal.map((d) => `${d.side} ${d.proto}/${d.wanPort} -> ${d.to}:${d.toPort} from ${d.sources.join(",")}`)).toEqual([
      "tunnel tcp/443 -> 10.10.0.5:443 from 10.255.0.1/32",
      "tunnel tcp/3000 -> 10.10.0.30:3000 from 10.255.0.1/32",
      "tunnel tcp/5000 -> 10.10.0.10:5000 from 10.255.0.1/32",
      "tunnel tcp/8006 -> 10.10.0.21:8006 from 10.255.0.1/32",
      "wan tcp/22 -> 10.10.0.2:22 from 192.168.1.192/27",
    ]);
    // two services on one ingress share one DNAT
    expect(plan.segments.cluster!.router.dnat.filter((d) => d.wanPort === 80)).toHaveLength(1);
  });

  test("planning is deterministic: the lab loaded again plans to the same JSON", () => {
    forgetReadLabs(); // unchanged files are otherwise the same lab object: read them afresh
    const again = requireLab(REPO);
    expect(again).not.toBe(lab);
    expect(JSON.stringify(planLab(again))).toBe(JSON.stringify(plan));
  });

  test("a lab is planned once: the same lab object gives the same planned lab", () => {
    expect(planLab(lab)).toBe(plan);
  });

  test("the planned lab holds what each planner gives on its own", () => {
    const flows = planFlows(lab);
    expect(plan.flows).toEqual(flows);
    expect(plan.placement).toEqual(planPlacement(lab));
    expect(plan.vms).toEqual(labVms(lab));
    expect(plan.ssh).toEqual(planSshAccess(lab));
    for (const seg of segmentList(lab)) {
      expect(plan.segments[seg.name]).toEqual(planSegment(lab, seg, flows));
      expect(plan.sshPaths[seg.name]).toEqual(planSshPaths(plan.segments[seg.name]!));
      expect(plan.published[seg.name]).toEqual(publishSegment(lab, seg.name, flows));
    }
    expect(plan.dmz.segments).toEqual(publishListed(lab, flows));
    expect(plan.dmz.plan).toEqual(planDmz(lab, publishListed(lab, flows)));
    expect(plan.dmz.infra).toMatchObject({
      id: "infra",
      fqdn: `infra.${lab.domain}`,
      address: lab.dmz.infra.address,
      role: "server",
      os: "nixos",
    });
  });
});

describe("the planner on random valid VM moves", () => {
  const sources = readLabSources(REPO);
  const ref = referenceLab();
  /** HA VMs (no passthrough) and the nodes that have every network they bridge into. */
  const movable = labVms(ref)
    .filter((v) => v.ha)
    .map((v) => ({
      vm: v,
      nodes: Object.entries(ref.hardware.proxmox.nodes)
        .filter(([, n]) => v.networks.every((x) => n.networks.includes(x)))
        .map(([id]) => id),
    }));

  test("every invariant holds on any valid lab reached by moving HA VMs", () => {
    const move = fc
      .tuple(fc.nat(movable.length - 1), fc.nat())
      .map(([i, j]) => ({ vm: movable[i]!.vm, node: movable[i]!.nodes[j % movable[i]!.nodes.length]! }));
    let checked = 0;
    fc.assert(
      fc.property(fc.array(move, { minLength: 1, maxLength: 4 }), (moves) => {
        const lab = structuredClone(sources.lab) as any;
        const stacks = structuredClone(sources.stacks) as any;
        for (const { vm, node } of moves) {
          if (vm.segment === "dmz") lab.dmz.infra.vm.node = node;
          else stacks[vm.segment]["homelab:segment"].hosts[vm.host].vm.node = node;
        }
        const parsed = parseLab({ ...sources, lab, stacks });
        fc.pre(parsed.lab !== undefined && validateLab(parsed.lab).length === 0);
        checked++;
        const plan = planLab(parsed.lab);
        expectPlanInvariants(parsed.lab, plan);
        expect(planPlacement(parsed.lab)).toEqual(plan.placement);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 30) },
    );
    expect(checked).toBeGreaterThan(0);
  });
});
