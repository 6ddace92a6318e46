/**
 * chrony configurations: the DMZ NTP server, which follows public upstreams and serves the
 * lab, and the client every other host can run, which follows the DMZ server only. The
 * files name no user or socket path, so the same text runs on NixOS and Debian; the
 * service manager passes the user.
 */
import type { DmzPlan } from "../model/network/dmz";
import { compareCidr } from "../model/net";
import { generatedHeader } from "./header";

/** Where chronyd keeps the measured frequency error across restarts. */
const CHRONY_DRIFTFILE = "/var/lib/chrony/drift";

/** Settings both roles share: drift memory, stepping only at startup, kernel RTC sync, no remote control. */
function commonLines(): string[] {
  return [
    `driftfile ${CHRONY_DRIFTFILE}`,
    "# Step the clock only in the first three updates (a VM after boot or resume); slew afterwards.",
    "makestep 1.0 3",
    "rtcsync",
    "# No remote control: chronyc works locally through chronyd's Unix socket only.",
    "cmdport 0",
  ];
}

/** The chrony.conf of the DMZ NTP server (checked with `chronyd -p -f`). */
export function renderChronyServer(plan: DmzPlan): string {
  const clients = [...plan.ntp.clients].sort(compareCidr);
  const lines = [
    generatedHeader("#", `chrony.conf of the DMZ NTP server (${plan.ntp.listen})`, "render/chrony.ts"),
    "# Upstream time, with an initial burst so a reboot is in sync within seconds.",
    ...plan.ntp.upstream.map((u) => `server ${u} iburst`),
    "",
    "# Serve NTP on the service address only, to the lab's networks only.",
    `bindaddress ${plan.ntp.listen}`,
    ...clients.map((c) => `allow ${c.toString()}`),
    "# When every upstream is unreachable, keep the lab on one clock rather than none; stratum 10",
    "# loses to any real upstream as soon as one is back.",
    "local stratum 10",
    "",
    ...commonLines(),
    "",
  ];
  return lines.join("\n");
}

/** A chrony.conf for a lab host that follows the DMZ NTP server and serves no one (no `allow`). */
export function renderChronyClient(server: string): string {
  const lines = [
    generatedHeader("#", `chrony.conf of a lab host following ${server}`, "render/chrony.ts"),
    "# The DMZ NTP server is the lab's only time source; the segment firewalls admit nothing else.",
    `server ${server} iburst`,
    "",
    ...commonLines(),
    "",
  ];
  return lines.join("\n");
}
