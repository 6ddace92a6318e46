/** The Talos domain: a segment's Kubernetes cluster of Talos VMs. */
import type { Domain } from "../rule";
import { talosCluster, talosNodes, talosUpgrade } from "./rules";
import { talosNoSsh } from "./ssh";

/** The Talos domain's rules. */
export const talos: Domain = { name: "talos", rules: [talosCluster, talosNodes, talosNoSsh, talosUpgrade] };
