/**
 * `npm run bootstrap -- <router>`: rebuild a router from a blank box. Makes a new SSH host key
 * for it, pins its public half in the model (router.sshHostKey in Pulumi.<segment>.yaml, the
 * one line changed), and writes one script for the box's console (render/bootstrap.ts) that
 * makes a freshly installed Debian box that router, ready for the first `pulumi up`. The
 * script holds the host's private key: it is written root-only and deletes itself once run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { requireLab } from "../model/check";
import { parseDocument } from "yaml";
import { CONFIG_KEYS, segmentList } from "../model/lab";
import { forgetReadLabs, stackFile } from "../model/load";
import { planSshAccess } from "../model/network/ssh";
import { planLab } from "../model/plan";
import { didYouMean } from "../model/suggest";
import { renderRouterBootstrap } from "../render/bootstrap";
import { filesUnder } from "../render/files";
import { renderSegmentFiles, ROUTER_DIR } from "../render/segment";

/** What a bootstrap run prints and its exit code. */
export interface BootstrapRun {
  readonly code: 0 | 1;
  readonly stdout: string;
  readonly stderr: string;
}

/** A new ed25519 key pair from ssh-keygen, made in a private temporary directory that is removed. */
function newHostKey(comment: string): { privateKey: string; publicKey: string } | string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-hostkey-"));
  try {
    const file = path.join(tmp, "key");
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { encoding: "utf8" });
    if (r.status !== 0)
      return `ssh-keygen could not make a host key (${r.error ? String(r.error) : r.stderr.trim()}): install openssh-client`;
    return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The file with router.sshHostKey set through the YAML document (comments kept), for a key not written on one line. */
function setHostKey(text: string, key: string): string {
  const doc = parseDocument(text);
  doc.setIn(["config", CONFIG_KEYS.segment, "router", "sshHostKey"], key);
  return doc.toString();
}

/** Make the bootstrap of `router` of the lab in `dir` under `out`, pinning its new host key in the model. */
export function runBootstrap(opts: { readonly dir: string; readonly router: string; readonly out: string }): BootstrapRun {
  const lab = requireLab(opts.dir);
  const routers = segmentList(lab).map((s) => s.router.name);
  const seg = segmentList(lab).find((s) => s.router.name === opts.router);
  if (!seg)
    return {
      code: 1,
      stdout: "",
      stderr: `bootstrap: "${opts.router}" is no router of the lab${didYouMean(opts.router, routers)} (routers: ${routers.join(", ")})\n`,
    };
  const key = newHostKey(`${opts.router}.${seg.name}.${lab.domain}`);
  if (typeof key === "string") return { code: 1, stdout: "", stderr: `bootstrap: ${key}\n` };
  const newPublic = key.publicKey.split(" ").slice(0, 2).join(" ");

  // Pin the new key: the old key's text is unique in its file (rule: host keys are unique), so
  // replacing it changes that one line and keeps every comment and the layout.
  const file = path.join(opts.dir, stackFile(seg.name));
  const before = fs.readFileSync(file, "utf8");
  const old = seg.router.sshHostKey;
  fs.writeFileSync(file, before.split(old).length === 2 ? before.replace(old, newPublic) : setHostKey(before, newPublic));
  forgetReadLabs();
  let script: string;
  try {
    const pinned = requireLab(opts.dir);
    const plan = planLab(pinned).segments[seg.name]!;
    if (plan.router.sshHostKey !== newPublic) throw new Error(`bug: the new host key did not reach ${seg.name}'s router`);
    const release = filesUnder(renderSegmentFiles(plan, planSshAccess(pinned)), ROUTER_DIR);
    script = renderRouterBootstrap({ router: plan.router, release, deployUser: pinned.ssh.deploy.user, hostKey: key });
  } catch (e) {
    fs.writeFileSync(file, before);
    forgetReadLabs();
    throw e;
  }
  fs.mkdirSync(opts.out, { recursive: true, mode: 0o700 });
  const target = path.join(opts.out, `${opts.router}-bootstrap.sh`);
  fs.rmSync(target, { force: true });
  fs.writeFileSync(target, script, { mode: 0o600 });
  const tunnel = seg.router.tunnel !== undefined;
  const run = tunnel ? `sudo bash ${path.basename(target)} < wireguard.key` : `sudo bash ${path.basename(target)}`;
  return {
    code: 0,
    stdout: [
      `bootstrap: ${opts.router} (${seg.name}): a new host key is pinned in ${stackFile(seg.name)} (router.sshHostKey ${newPublic.slice(0, 30)}...)`,
      `wrote ${target} (root-only: it holds the host's private key; it deletes itself once run)`,
      "",
      "next:",
      `  1. commit ${stackFile(seg.name)}, and run npm run docs (the SSH pages and known_hosts carry the new key)`,
      `  2. install Debian on the box (no desktop; the installer's network is enough for apt), copy the script to it${tunnel ? ` with the tunnel's key: pulumi config get --show-secrets homelab:wireguardKey -s ${seg.name} > wireguard.key` : ""}`,
      `  3. on its console: ${run}`,
      "  4. reboot it, so its interfaces come up as rendered and homelab-router.service loads the ruleset",
      `  5. pulumi up -s ${seg.name}: every later change goes through the commit-confirm release`,
      "",
    ].join("\n"),
    stderr: "",
  };
}
