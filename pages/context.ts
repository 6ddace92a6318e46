/**
 * What every page shares: where the docs came from, the lookups over the docs bundle
 * (DocsContext), links between pages and anchors of their sections, and the words the
 * pages use for auth, ports, sizes and kinds of host.
 */
import { gib, placementText } from "../model/words";
import { cell, code, githubSlug } from "./markdown";
import type { DmzDocs, DocsAuth, DocsBundle, DocsFlow, DocsHost, DocsSshTarget, SegmentDocs } from "./contract";
import { compareText } from "../model/order";
import { unreachable } from "../model/unreachable";

/** Where the docs came from, stated on the index. */
export type DocsSource =
  | { readonly kind: "offline" }
  | {
      readonly kind: "live";
      /** The full stack names read, `org/project/stack`. */
      readonly stacks: readonly string[];
      /** Stacks whose deployed docs differ from the model in this commit. */
      readonly drift: readonly string[];
    };

/** The lab-wide SSH client config, relative to the docs root. */
export const SSH_CONFIG = "ssh/ssh_config";
/** The lab-wide known_hosts, relative to the docs root. */
export const KNOWN_HOSTS = "ssh/known_hosts";

/** The page of a segment, relative to the docs root. */
export function segmentPage(name: string): string {
  return `segments/${name}.md`;
}

/** The anchor of a host's section on its page. */
export function hostAnchor(name: string): string {
  return githubSlug(`Host: ${name}`);
}

/** Zones in matrix order: the outside world first, then the DMZ, then segments by name. */
export function zoneOrder(segments: readonly SegmentDocs[]): string[] {
  return ["internet", "admin", "dmz", ...segments.map((s) => s.name)];
}

/** Lookups shared by the pages. */
export class DocsContext {
  readonly segments: readonly SegmentDocs[];
  readonly dmz: DmzDocs;
  /** Every flow of the lab, once, sorted by id. */
  readonly flows: readonly DocsFlow[];

  constructor(bundle: DocsBundle) {
    this.segments = [...bundle.segments].sort((a, b) => compareText(a.name, b.name));
    this.dmz = bundle.dmz;
    const byId = new Map<string, DocsFlow>();
    for (const f of [...this.dmz.flows, ...this.segments.flatMap((s) => [...s.flows.inbound, ...s.flows.outbound, ...s.flows.inside])])
      byId.set(f.id, f);
    this.flows = [...byId.values()].sort((a, b) => compareText(a.id, b.id));
  }

  /** A link to a host's section, from a page at `from` (relative path). */
  hostLink(zone: string, host: string, from: string, text = host): string {
    const page = zone === "dmz" ? "dmz.md" : segmentPage(zone);
    if (zone !== "dmz" && !this.segments.some((s) => s.name === zone && s.hosts.some((h) => h.name === host))) return cell(text);
    if (zone === "dmz" && host !== "infra" && !this.dmz.dmz.hardware.some((h) => h.name === host)) return cell(text);
    return `[${cell(text)}](${page === from ? "" : relative(from, page)}#${hostAnchor(host)})`;
  }

  /** Flows that may reach one host: to the host itself (or an address it carries), or to its whole zone. */
  flowsTo(zone: string, host: string): DocsFlow[] {
    // The infra host carries the DMZ's DNS, NTP and proxy addresses.
    const names = zone === "dmz" && host === "infra" ? ["infra", "dns", "ntp", "proxy"] : [host];
    return this.flows.filter((f) => f.to.zone === zone && (f.to.host === undefined || names.includes(f.to.host)));
  }
}

/** A path from one docs file to another. */
export function relative(from: string, to: string): string {
  const up = from.split("/").length - 1;
  return `${"../".repeat(up)}${to}`;
}

/** The navigation line at the top of every page. */
export function nav(from: string): string {
  const links: [string, string][] = [
    ["Index", "README.md"],
    ["DMZ", "dmz.md"],
    ["Services", "services.md"],
    ["Flows", "flows.md"],
    ["SSH", "ssh.md"],
    ["Placement", "placement.md"],
    ["Maintenance", "maintenance.md"],
    ["Talos", "talos.md"],
  ];
  return links.map(([text, to]) => `[${text}](${relative(from, to)})`).join(" · ");
}

/** How a service authenticates, in words. */
export function authText(auth: DocsAuth): string {
  switch (auth.kind) {
    case "app":
      return `the application: ${auth.note}`;
    case "basic":
      return `HTTP basic auth at the proxy (realm ${auth.realm})`;
    case "none":
      return "none";
    default: {
      return unreachable(auth, "auth kind");
    }
  }
}

/** Ports as inline code, `2049/tcp 445/tcp`. */
export function portsText(ports: readonly string[]): string {
  return ports.map(code).join(" ");
}

/** Where a DNAT flow enters, in words; empty for a routed flow. */
export function viaText(f: DocsFlow): string {
  return f.via ? `via ${f.via.router} ${f.via.address} (${f.via.ports.join(", ")}), translated to the target` : "";
}

/** A VM's size in words; empty for a host that is not a VM. */
export function sizeText(h: DocsHost): string {
  if (!h.vm) return "";
  return `${h.vm.cores} vCPU, ${gib(h.vm.memoryMiB)} GiB RAM, ${h.vm.diskGiB} GiB disk`;
}

/** HA or pinned for a VM; physical or virtual address otherwise. */
export function hostPlacementText(h: DocsHost): string {
  if (!h.vm) return h.kind === "vip" ? "virtual address" : "physical";
  return placementText(h.vm);
}

/** What kind of box a host is, in words. */
export function kindText(h: DocsHost): string {
  switch (h.kind) {
    case "vm":
      return h.vm ? `VM ${h.vm.vmId}` : "VM";
    case "node":
      return "Proxmox node";
    case "nas":
      return "NAS";
    case "switch":
      return "switch";
    case "vip":
      return "VIP";
    case "physical":
      return "physical";
    default: {
      return unreachable(h.kind, "host kind");
    }
  }
}

/** The anchor of a pair's section on the flows page. */
export function pairAnchor(from: string, to: string): string {
  return githubSlug(`${from} → ${to}`);
}

/** The hops of one SSH target, in words. */
export function sshPath(s: SegmentDocs, t: DocsSshTarget): string {
  const entry = `admin workstation → ${s.ssh.entry.router} ${s.ssh.entry.address}:22 → ${s.ssh.entry.jumpHost} ${s.ssh.entry.jumpAddress}`;
  return t.proxyJump ? `${entry} → ${t.name} ${t.address}` : entry;
}
