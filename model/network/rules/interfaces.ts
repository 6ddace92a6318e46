/**
 * Rules on interfaces and VLANs: a router box's WAN and LAN interfaces (ports or VLAN
 * sub-interfaces `<port>.<id>`), and the VLAN tags of VM NICs.
 */
import { LAB_FILE, own, type Lab } from "../../lab";
import { joinPath, problem, type Problem } from "../../problems";
import type { Rule } from "../../rule";
import { VLAN_MAX, VLAN_MIN, parseIface, vlanProblem, type Iface } from "../interface";
import { vmWhere } from "../../lab-index";

type Side = "wanInterface" | "lanInterface";

/** Problems of one interface of box `id` on its own: its VLAN id, its parent, the listed ports. */
function ifaceProblems(id: string, key: Side, i: Iface, ports: readonly string[] | undefined): Problem[] {
  const where = { file: LAB_FILE, path: joinPath("hardware.routers", id, key) };
  const out: Problem[] = [];
  const port = i.kind === "vlan" ? i.parent : i.name;
  if (i.kind === "vlan") {
    const why = vlanProblem(i.vlan);
    if (why)
      out.push(
        problem(
          where,
          i.name,
          `${id}'s ${key} ${i.name} is a VLAN sub-interface of ${i.parent}, but its ${why}`,
          `use a VLAN id from ${VLAN_MIN} to ${VLAN_MAX}, e.g. ${i.parent}.${Math.min(Math.max(i.vlan, VLAN_MIN), VLAN_MAX)}`,
        ),
      );
    if (parseIface(i.parent).kind === "vlan")
      out.push(
        problem(
          where,
          i.name,
          `${id}'s ${key} ${i.name} stacks a VLAN on the VLAN sub-interface ${i.parent} (802.1ad, QinQ), which the router's network config does not create`,
          `tag the segment once, on a physical port: <port>.<vlan id>, e.g. ${i.name.split(".")[0] ?? i.parent}.${i.vlan}`,
        ),
      );
  }
  if (ports && !ports.includes(port)) {
    const what = i.kind === "vlan" ? `the parent port ${port} of ${i.name}` : `the port ${port}`;
    out.push(
      problem(
        where,
        i.name,
        `${id}'s ${key} uses ${what}, which is not one of the box's ports (${ports.join(", ")})`,
        `use one of ${ports.join(", ")}${i.kind === "vlan" ? ` as the parent, e.g. ${ports[0]}.${i.vlan}` : ""}, or add ${port} to hardware.routers.${id}.ports`,
      ),
    );
  }
  return out;
}

export const routerInterfaces: Rule = {
  id: "routers.interfaces",
  description:
    "Each router box's WAN and LAN are different interfaces; a VLAN sub-interface (<port>.<id>) has an id from 1 to 4094, sits on a physical port (no stacked VLANs), and WAN and LAN never carry the same VLAN id on one port (that would bridge the segment into the DMZ); when the box lists its ports, every interface and VLAN parent is one of them.",
  check(ix) {
    const lab = ix.lab;
    const out: Problem[] = [];
    for (const [id, box] of Object.entries(lab.hardware.routers)) {
      const wan = parseIface(box.wanInterface);
      const lan = parseIface(box.lanInterface);
      out.push(...ifaceProblems(id, "wanInterface", wan, box.ports), ...ifaceProblems(id, "lanInterface", lan, box.ports));
      const where = { file: LAB_FILE, path: joinPath("hardware.routers", id, "lanInterface") };
      if (wan.name === lan.name) {
        out.push(
          problem(
            where,
            lan.name,
            `${id}'s LAN and WAN are both ${lan.name}; the router's rules tell the segment from the DMZ by interface, so they must differ`,
            lan.kind === "vlan"
              ? `put the LAN on another VLAN id of ${lan.parent}, e.g. ${lan.parent}.${lan.vlan === VLAN_MAX ? lan.vlan - 1 : lan.vlan + 1}`
              : `use the box's second port for the LAN, or a VLAN of one port: lanInterface: ${lan.name}.<vlan id>`,
          ),
        );
      }
      if (wan.name !== lan.name && wan.kind === "vlan" && lan.kind === "vlan" && wan.parent === lan.parent && wan.vlan === lan.vlan) {
        out.push(
          problem(
            where,
            lan.name,
            `${id}'s LAN ${lan.name} and WAN ${wan.name} are both VLAN ${lan.vlan} on port ${lan.parent}: one VLAN id on one port is one network, so the segment would share the DMZ's wire`,
            `put the LAN on another VLAN id of ${lan.parent}, e.g. ${lan.parent}.${lan.vlan === VLAN_MAX ? lan.vlan - 1 : lan.vlan + 1}`,
          ),
        );
      }
      (box.ports ?? []).forEach((p, i) => {
        const pi = parseIface(p);
        if (pi.kind === "vlan")
          out.push(
            problem(
              { file: LAB_FILE, path: joinPath("hardware.routers", id, "ports", i) },
              p,
              `${id}'s ports lists ${p}, a VLAN sub-interface; ports are the box's physical interfaces`,
              `list the physical port ${pi.parent} instead`,
            ),
          );
      });
    }
    return out;
  },
};

/** The VLAN a segment's router carries its LAN on, when it is a VLAN sub-interface. */
function segmentVlan(lab: Lab, segment: string): { id: number; iface: string; box: string } | undefined {
  const seg = own(lab.segments, segment);
  const box = seg ? own(lab.hardware.routers, seg.router.hardware) : undefined;
  if (!seg || !box) return undefined;
  const lan = parseIface(box.lanInterface);
  return lan.kind === "vlan" ? { id: lan.vlan, iface: lan.name, box: seg.router.hardware } : undefined;
}

export const vmVlans: Rule = {
  id: "vms.vlans",
  description:
    "A VM NIC tagged with a VLAN (on a VLAN-aware bridge) into a segment whose router carries its LAN on a VLAN uses that segment's VLAN id: any other tag puts the VM on a network the router does not serve.",
  check(ix) {
    const out: Problem[] = [];
    for (const v of ix.vms) {
      v.vm.nics.forEach((n, i) => {
        if (!("bridge" in n) || n.vlan === undefined) return;
        const want = segmentVlan(ix.lab, n.bridge);
        if (!want || want.id === n.vlan) return;
        out.push(
          problem(
            vmWhere(v, "nics", i, "vlan"),
            n.vlan,
            `${v.label}'s NIC ${i} is tagged VLAN ${n.vlan} into ${n.bridge}, but ${n.bridge}'s router carries it on VLAN ${want.id} (${want.box} lanInterface ${want.iface})`,
            `set vlan: ${want.id}, or leave vlan out when the node's port is untagged in ${n.bridge}`,
          ),
        );
      });
    }
    return out;
  },
};
