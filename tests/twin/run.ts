/**
 * Start one twin in this process and hold it: `node --require tsx/cjs tests/twin/run.ts`.
 * The hygiene test runs it to SIGKILL a live twin's controller. Prints one line,
 * `TWIN-UP <json>`, when the twin is ready; ends the twin on SIGTERM/SIGINT, and by itself
 * after `--hold <s>` seconds (default 120), so a forgotten run never lingers.
 */
import { Twin } from "./twin";

async function main(): Promise<void> {
  const i = process.argv.indexOf("--hold");
  const hold = i > 0 ? Number(process.argv[i + 1]) : 120;
  const twin = await Twin.start();
  const stop = async (code: number) => {
    await twin.stop();
    process.exit(code);
  };
  process.on("SIGTERM", () => void stop(143));
  process.on("SIGINT", () => void stop(130));
  setTimeout(() => void stop(0), hold * 1000);
  // Identities of the twin's namespaces, so a test can prove they are gone.
  const ns = await twin.sh('for f in /run/netns/*; do stat -L -c "%i" "$f"; done; readlink /proc/1/ns/pid /proc/1/ns/mnt', 10000);
  const lines = ns.stdout.trim().split("\n");
  const info = {
    pid: process.pid,
    prefix: twin.prefix,
    dir: twin.dir,
    ...twin.pids,
    netns: lines.filter((l) => /^\d+$/.test(l)).map(Number),
    pidns: lines.find((l) => l.startsWith("pid:")),
    mntns: lines.find((l) => l.startsWith("mnt:")),
  };
  process.stdout.write(`TWIN-UP ${JSON.stringify(info)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
