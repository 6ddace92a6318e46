/** Network namespaces a test makes for itself (tools tier), and their removal. */
import { must, run } from "./proc";

/** A new network namespace with its loopback up; throws if it cannot be made (a name already taken). */
export function addNetns(ns: string): void {
  must(["ip", "netns", "add", ns]);
  must(["ip", "-n", ns, "link", "set", "lo", "up"]);
}

/**
 * Remove a namespace this test made: SIGKILL every process still inside it (daemons, nginx
 * workers, a watchdog: they are the test's own), then delete it. Every command is bounded;
 * a namespace that is already gone is not an error.
 */
export function removeNetns(ns: string): void {
  for (const pid of run(["ip", "netns", "pids", ns], { timeout: 5000 }).stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  run(["ip", "netns", "del", ns], { timeout: 5000 });
}
