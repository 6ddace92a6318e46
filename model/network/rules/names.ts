/** Network rules about names and MACs: one name resolves to one thing, one MAC is one machine. */
import { LAB_FILE } from "../../lab";
import { dmzNames, dmzPath, type LabIndex, vmWhere } from "../../lab-index";
import { joinPath, type Problem, problem } from "../../problems";
import { duplicates, eg, place, type Rule, sp, type Where } from "../../rule";

/** Zone names the planner gives the admins' workstations and the internet; a segment may not take them. */
export const RESERVED_ZONES = ["admin", "internet"] as const;

/** Reserved segment names, and names claimed twice within one segment. */
function segmentNameClashes(ix: LabIndex): Problem[] {
  const { lab } = ix;
  const out: Problem[] = [];
  for (const seg of ix.segments) {
    if ((RESERVED_ZONES as readonly string[]).includes(seg.name)) {
      out.push(
        problem(
          { file: seg.file, path: "(stack name)" },
          seg.name,
          `"${seg.name}" is reserved: flows call the admins' workstations "admin" and the world "internet"`,
          `rename the stack and ${seg.file}`,
        ),
      );
    }
    const names: (Where & { name: string; what: string })[] = [
      { file: seg.file, path: sp("router.name"), name: seg.router.name, what: `${seg.name}'s router` },
      ...Object.keys(seg.hosts).map((id) => ({ file: seg.file, path: sp("hosts", id), name: id, what: `host ${seg.name}/${id}` })),
      ...ix.hardware
        .filter((h) => h.segment === seg.name)
        .map((h) => ({ file: LAB_FILE, path: h.path, name: h.id, what: `${h.kind} ${h.id} (in ${seg.name})` })),
    ];
    out.push(
      ...duplicates(
        names,
        (n) => n.name,
        (dup, first) =>
          problem(
            dup,
            dup.name,
            `${dup.what} and ${first.what} (${place(first)}) both claim the name ${dup.name}.${seg.name}.${lab.domain}`,
            `rename one of them; names within ${seg.name} must be distinct`,
          ),
      ),
    );
  }
  return out;
}

/** Router names that clash with each other or with the DMZ's own names (they share <name>.<domain>). */
function routerNameClashes(ix: LabIndex): Problem[] {
  const { lab } = ix;
  const out: Problem[] = [];
  const routers: (Where & { name: string; what: string; segment?: string })[] = [
    ...dmzNames(lab).map((n) => ({ file: LAB_FILE, path: dmzPath(n), name: n, what: `the DMZ's ${n}` })),
    ...ix.segments.map((s) => ({
      file: s.file,
      path: sp("router.name"),
      name: s.router.name,
      what: `${s.name}'s router`,
      segment: s.name,
    })),
  ];
  const routerNames = new Set(routers.map((r) => r.name));
  out.push(
    ...duplicates(
      routers,
      (r) => r.name,
      (dup, first) => {
        const base = `${dup.segment ?? dup.name}-fw`;
        const example = [base, `${base}2`, `${base}3`].find((n) => !routerNames.has(n));
        return problem(
          dup,
          dup.name,
          `${dup.what} is named ${dup.name}, like ${first.what} (${place(first)}); both would own ${dup.name}.${lab.domain} and dmz/${dup.name}`,
          `rename ${dup.what}${eg(example)}`,
        );
      },
    ),
  );
  return out;
}

/** Hardware ids used twice across kinds. */
function hardwareIdClashes(ix: LabIndex): Problem[] {
  const { lab } = ix;
  const out: Problem[] = [];
  const hw: (Where & { name: string; what: string })[] = [
    ...ix.hardware.map((h) => ({ file: LAB_FILE, path: h.path, name: h.id, what: `${h.kind} ${h.id}` })),
    ...Object.keys(lab.hardware.routers).map((id) => ({
      file: LAB_FILE,
      path: joinPath("hardware.routers", id),
      name: id,
      what: `router box ${id}`,
    })),
  ];
  out.push(
    ...duplicates(
      hw,
      (h) => h.name,
      (dup, first) =>
        problem(
          dup,
          dup.name,
          `${dup.what} has the same id as ${first.what} (${place(first)}); hardware ids name monitoring targets and must be unique`,
          `rename ${dup.what}`,
        ),
    ),
  );
  return out;
}

/** VM names (<segment>-<host>) used twice. */
function vmNameClashes(ix: LabIndex): Problem[] {
  const out: Problem[] = [];
  const vms = ix.vms.map((r) => ({ ...vmWhere(r), name: r.name, label: r.label }));
  out.push(
    ...duplicates(
      vms,
      (v) => v.name,
      (dup, first) =>
        problem(
          dup,
          dup.name,
          `the VM of ${dup.label} would be named ${dup.name}, like the VM of ${first.label} (${place(first)}); VM names are <segment>-<host> and name Proxmox VMs and Pulumi resources`,
          `rename the host ${dup.label}`,
        ),
    ),
  );
  return out;
}

export const namesUnique: Rule = {
  id: "names.unique",
  description:
    "Names resolve to one thing: within a segment, hosts, hardware in it and its router have distinct names (they share <name>.<segment>.<domain>); router names are unique lab-wide and differ from the DMZ's infra/dns/ntp/proxy (they share <name>.<domain>); hardware ids are unique across kinds; VM names (<segment>-<host>) are unique; no segment is named admin or internet.",
  check(ix) {
    return [...segmentNameClashes(ix), ...routerNameClashes(ix), ...hardwareIdClashes(ix), ...vmNameClashes(ix)];
  },
};

export const macsUnique: Rule = {
  id: "macs.unique",
  description:
    "No two hosts, VMs, hardware, router WAN ports or the ISP edge share a MAC address (static DHCP leases, switches and the DMZ's MAC bindings key on it).",
  check(ix) {
    const { lab } = ix;
    const macs: (Where & { mac: string; label: string })[] = [
      { file: LAB_FILE, path: "dmz.gatewayMac", mac: lab.dmz.gatewayMac, label: "the ISP edge router" },
      { file: LAB_FILE, path: "dmz.infra.mac", mac: lab.dmz.infra.mac, label: "the DMZ infra host" },
    ];
    for (const h of ix.hardware) macs.push({ file: LAB_FILE, path: `${h.path}.mac`, mac: h.mac, label: `${h.kind} ${h.id}` });
    for (const [id, r] of Object.entries(lab.hardware.routers))
      macs.push({
        file: LAB_FILE,
        path: joinPath("hardware.routers", id, "wanMac"),
        mac: r.wanMac,
        label: `the WAN port of router box ${id}`,
      });
    for (const seg of ix.segments) {
      for (const [id, h] of Object.entries(seg.hosts))
        if (h.mac) macs.push({ file: seg.file, path: sp("hosts", id, "mac"), mac: h.mac, label: `${seg.name}/${id}` });
    }
    return duplicates(
      macs,
      (m) => m.mac,
      (dup, first) =>
        problem(
          dup,
          dup.mac,
          `${dup.label} has MAC ${dup.mac}, already the MAC of ${first.label} (${place(first)}); every MAC address must be unique`,
          `give ${dup.label} its own MAC; for a VM use a locally administered one such as 52:54:00:xx:xx:xx`,
        ),
    );
  },
};
