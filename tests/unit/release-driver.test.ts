// Proves the Release component's driver script is its facts block plus the fixed bash of render/scripts/release-driver.sh: bash reads every fact back exactly, every upper-case name the body reads is a fact, its own or the environment's, every fact is read, and a host, login or host key that could break out of the SSH client configuration it writes is refused; does not run it (tests/tools/release-rerun.test.ts does, over real SSH).
import { loadScriptBody } from "../../render/scripts/load";
import { renderReleaseDriver, type DriverFacts } from "../../render/release-driver";
import { run } from "../support/proc";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhQ4k0m8gkHcM2sA1mN5dF0pYkq0dWbY2rQvX7T9c4z";
const facts: DriverFacts = {
  release: "0123456789abcdef",
  box: { host: "10.20.0.1", port: 22, user: "deploy", hostKey: `${KEY} root@router` },
  jump: { host: "192.168.1.12", port: 2222, user: "deploy", hostKey: KEY },
  apply: "sudo -n bash /home/deploy/homelab-uploads/0123456789abcdef/apply.sh apply 0123456789abcdef 120",
  confirm: "sudo -n bash /home/deploy/homelab-uploads/0123456789abcdef/apply.sh confirm 0123456789abcdef",
  timeoutSeconds: 120,
};
const script = renderReleaseDriver(facts);
const body = loadScriptBody("release-driver");
const head = script.slice(0, script.length - body.length);

const assigned = (text: string) => new Set([...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
const read = (text: string) => new Set([...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));

test("is its facts, then the body as the file holds it", () => {
  expect(script.endsWith(`\n\n${body}`)).toBe(true);
  expect(script.startsWith("#!/usr/bin/env bash\n")).toBe(true);
});

test("bash reads every fact back exactly; the host key loses its comment", () => {
  const names = [
    "RELEASE",
    "BOX_HOST",
    "BOX_PORT",
    "BOX_USER",
    "BOX_HOST_KEY",
    "JUMP_HOST",
    "JUMP_PORT",
    "JUMP_HOST_KEY",
    "APPLY",
    "CONFIRM",
    "TIMEOUT",
    "NOT_PENDING",
  ];
  const r = run(["bash", "--norc", "-c", `${head}\nprintf '%s\\n' ${names.map((n) => `"$${n}"`).join(" ")}`]);
  expect(r.stderr).toBe("");
  expect(r.stdout.split("\n").slice(0, -1)).toEqual([
    facts.release,
    "10.20.0.1",
    "22",
    "deploy",
    KEY,
    "192.168.1.12",
    "2222",
    KEY,
    facts.apply,
    facts.confirm,
    "120",
    "4",
  ]);
});

test("every upper-case name the body reads is a fact, its own or the environment's, and every fact is read", () => {
  const known = new Set([...assigned(head), ...assigned(body), "TMPDIR"]);
  expect([...read(body)].filter((v) => !known.has(v)).sort()).toEqual([]);
  expect([...assigned(head)].filter((f) => !read(body).has(f)).sort()).toEqual([]);
});

test("a box reached directly has empty jump facts", () => {
  const { jump: _jump, ...direct } = facts;
  expect(renderReleaseDriver(direct)).toMatch(/^JUMP_HOST=''\nJUMP_PORT=''\nJUMP_USER=''\nJUMP_HOST_KEY=''$/m);
});

test.each([
  ["a host with a space", { box: { ...facts.box, host: "10.0.0.1 ProxyCommand x" } }, /host "10\.0\.0\.1 ProxyCommand x"/],
  ["a host on a new line", { box: { ...facts.box, host: "h\nProxyCommand x" } }, /host/],
  ["a login that is an option", { box: { ...facts.box, user: "-oProxyCommand=x" } }, /user/],
  ["a host key with a new line", { jump: { ...facts.jump!, hostKey: `${KEY}\nevil ssh-ed25519 AAAA` } }, /host key/],
  ["a port out of range", { box: { ...facts.box, port: 70000 } }, /port 70000/],
])("refuses %s", (_what, change, message) => {
  expect(() => renderReleaseDriver({ ...facts, ...change })).toThrow(message);
});
