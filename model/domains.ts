/**
 * The registry of the lab's domains. Each domain is a folder under model/ holding its
 * schema part (composed in schema.ts), its planner and its rules, and a `domain.ts` that
 * names them. A new domain (monitoring, backup) adds its folder and one line here.
 */
import { backup } from "./backup/domain";
import { compute } from "./compute/domain";
import { data } from "./data/domain";
import { maintenance } from "./maintenance/domain";
import { network } from "./network/domain";
import type { Domain } from "./rule";
import { talos } from "./talos/domain";

/** Every domain, in the order their rules run. */
export const DOMAINS: readonly Domain[] = [network, compute, talos, data, maintenance, backup];
