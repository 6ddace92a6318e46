/** The maintenance domain: node maintenance, the weekly plan, and when boxes update themselves. */
import type { Domain } from "../rule";
import { maintenanceUpdates } from "./rules";

/** The maintenance domain's rules. */
export const maintenance: Domain = { name: "maintenance", rules: [maintenanceUpdates] };
