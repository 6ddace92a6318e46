// Proves that a running twin leaves nothing behind (no namespace, veth, mount, process or held namespace reference, host interfaces/routes/ruleset unchanged) when its controlling process is SIGKILLed or SIGTERMed; does not prove anything about the lab's configuration (twin.test.ts does).
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO } from "../support/lab";
import { PATH_ENV, sleep } from "../support/proc";
import { exitWithin, findLeftovers, readHostState, requireTwinTools, sweepStaleDirs } from "./twin";

interface Up {
  readonly pid: number;
  readonly prefix: string;
  readonly dir: string;
  readonly wrapper: number;
  readonly pid1: number;
  readonly netns: readonly number[];
  readonly pidns: string;
  readonly mntns: string;
}

const children: ChildProcess[] = [];

/** Start `tests/twin/run.ts` in its own node process; resolve when it reports the twin up. */
function startRunner(): Promise<{ proc: ChildProcess; up: Up; output: () => string }> {
  const proc = spawn(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "run.ts"), "--hold", "60"], {
    cwd: REPO,
    env: { PATH: `${PATH_ENV}:${path.dirname(process.execPath)}`, LANG: "C" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(proc);
  let out = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the twin runner did not come up within 60 s:\n${out}`));
    }, 60000);
    const check = () => {
      const m = /^TWIN-UP (.*)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, up: JSON.parse(m[1]!) as Up, output: () => out });
      } else if (proc.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`the twin runner exited ${proc.exitCode}:\n${out}`));
      }
    };
    proc.stdout.on("data", check);
    proc.on("exit", check);
  });
}

/** Every process (and open file) that still refers to one of the twin's namespaces. */
function holders(up: Up): string[] {
  const net = new Set(up.netns.map((i) => `net:[${i}]`));
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      for (const kind of ["net", "pid", "mnt"]) {
        const link = fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
        if (net.has(link) || link === up.pidns || link === up.mntns) found.push(`process ${pid} is in ${link}`);
      }
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (net.has(target)) found.push(`process ${pid} holds ${target} open`);
      }
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Poll (bounded) until nothing of the twin is left; returns what is still there at the deadline. */
async function goneWithin(up: Up, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = [...holders(up), ...findLeftovers(up.prefix)];
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

let hostBefore = "";

beforeAll(() => {
  requireTwinTools();
  hostBefore = readHostState();
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

describe("a twin is gone, whatever ends its controller", () => {
  test.each([["SIGKILL"], ["SIGTERM"]] as const)(
    "%s of the controlling process leaves nothing behind",
    async (signal) => {
      const { proc, up, output } = await startRunner();
      // It really runs: PID 1, daemons in its PID namespace, its network namespaces held.
      expect(fs.existsSync(`/proc/${up.pid1}`)).toBe(true);
      expect(up.netns.length).toBeGreaterThan(20);
      expect(holders(up).filter((h) => h.includes("pid:[")).length).toBeGreaterThan(10);
      // Nothing of it is visible on the host: no namespace name, no link, no mount.
      expect(findLeftovers(up.prefix).filter((l) => !l.startsWith("process"))).toEqual([]);
      expect(readHostState()).toBe(hostBefore);

      proc.kill(signal);
      const left = await goneWithin(up, 5000);
      // Reaped, so its pid no longer counts as an owner.
      expect(await exitWithin(proc, 5000)).toBe(true);
      expect({ left, output: left.length ? output() : "" }).toEqual({ left: [], output: "" });
      expect(readHostState()).toBe(hostBefore);

      // The scratch directory outlives a SIGKILLed controller (SIGTERM removes it); the next twin sweeps it.
      if (signal === "SIGKILL") sweepStaleDirs();
      expect(fs.existsSync(up.dir)).toBe(false);
    },
    90000,
  );
});
