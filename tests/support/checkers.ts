/**
 * The real programs that read rendered files, run offline (see
 * shared/reference/twin-feasibility.md for each command's pitfalls). A missing program is a
 * failure with the package to install, never a skip.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Checker, RenderedFile } from "../../render/files";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The program behind each checker, and the Debian package that provides it. */
export const TOOLS: Record<Exclude<Checker, "json">, { program: string; pkg: string }> = {
  nft: { program: "nft", pkg: "nftables" },
  dnsmasq: { program: "dnsmasq", pkg: "dnsmasq" },
  nginx: { program: "nginx", pkg: "nginx libnginx-mod-stream" },
  sshd: { program: "sshd", pkg: "openssh-server" },
  "ssh-client": { program: "ssh", pkg: "openssh-client" },
  nix: { program: "nix-instantiate", pkg: "nix-bin" },
  chrony: { program: "chronyd", pkg: "chrony" },
  sh: { program: "shellcheck", pkg: "shellcheck" },
  "authorized-keys": { program: "ssh-keygen", pkg: "openssh-client" },
};

/** Where a program is, or undefined. */
export function which(program: string): string | undefined {
  for (const dir of PATH.split(":")) {
    const p = path.join(dir, program);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Throw one error naming every missing program and its package. */
export function requireTools(checkers: Iterable<Checker>): void {
  const missing = new Set<string>();
  for (const c of checkers) {
    if (c === "json") continue;
    const t = TOOLS[c];
    if (!which(t.program)) missing.add(`${t.program} (apt-get install ${t.pkg})`);
  }
  if (missing.size > 0) throw new Error(`missing tools, install them (.ci/run does): ${[...missing].join(", ")}`);
}

/** The outcome of one check. */
export interface CheckResult {
  readonly file: string;
  readonly checker: Checker;
  readonly ok: boolean;
  readonly command: string;
  readonly output: string;
}

function run(cmd: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd, encoding: "utf8", env: { PATH, HOME: cwd, LANG: "C" }, timeout: 30000 });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** A self-signed certificate and key for `nginx -t`, which loads the files its config names. */
function certFiles(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  if (!fs.existsSync(cert)) {
    const r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=check", "-keyout", key, "-out", cert], dir);
    if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.output}`);
  }
  return { cert, key };
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d)) d = path.dirname(d);
  return d;
}

/** The command that checks one file, as it lies at `file` inside `dir`. */
function commandFor(f: RenderedFile, file: string, dir: string): string[] {
  switch (f.checker) {
    case "nft":
      // An empty network namespace: nothing is loaded anywhere, and no host interface is needed.
      return ["unshare", "--net", "nft", "-c", "-f", file];
    case "dnsmasq":
      return ["dnsmasq", "--test", "-C", file];
    case "nginx": {
      // nginx -t opens the certificates and logs the config names. Give it a private mount
      // namespace where /var/lib/acme holds a throwaway certificate at the configured paths.
      const { cert, key } = certFiles(dir);
      const paths = [...f.content.matchAll(/^\s*ssl_certificate(_key)?\s+([^;]+);/gm)].map((m) => ({ isKey: Boolean(m[1]), p: m[2]! }));
      const copies = paths.map(({ isKey, p }) => `mkdir -p "$(dirname ${p})" && cp ${isKey ? key : cert} ${p}`).join(" && ");
      // Mount over the nearest existing ancestor (so nothing is created on the host), then
      // recreate what nginx itself needs there (Debian's /var/lib/nginx temp paths).
      const roots = [...new Set(paths.map(({ p }) => nearestExisting(path.dirname(p))))];
      const mounts = roots.map((r) => `mount -t tmpfs tmpfs ${r} && mkdir -p ${r}/nginx`).join(" && ");
      // nginx -t also binds every listen address: give it an empty network namespace that
      // may bind addresses it does not have.
      const script = ["sysctl -qw net.ipv4.ip_nonlocal_bind=1", mounts, copies, `nginx -t -q -g 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;' -c ${file}`].filter(Boolean).join(" && ");
      return ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", script];
    }
    case "sshd":
      fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
      return ["sshd", "-t", "-f", file];
    case "ssh-client":
      return ["ssh", "-G", "-F", file, "check.invalid"];
    case "nix":
      return ["nix-instantiate", "--parse", "--store", "dummy://", "--option", "build-users-group", "", file];
    case "chrony":
      return ["chronyd", "-p", "-f", file];
    case "sh":
      return ["sh", "-c", `bash -n "$1" && shellcheck -s bash "$1"`, "check", file];
    case "authorized-keys":
      return ["ssh-keygen", "-l", "-f", file];
    case "json":
      return ["node", "-e", "JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'))", file];
  }
}

/**
 * Write every file into a fresh directory with its relative path (files refer to each
 * other, e.g. configuration.nix to ./nginx.conf) and run each file's checker.
 */
export function checkFiles(files: readonly RenderedFile[]): CheckResult[] {
  requireTools(files.map((f) => f.checker));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-check-"));
  try {
    for (const f of files) {
      const p = path.join(dir, f.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
    }
    return files.map((f) => {
      const file = path.join(dir, f.path);
      const cmd = commandFor(f, file, dir);
      const r = run(cmd, path.dirname(file));
      return { file: f.path, checker: f.checker, ok: r.status === 0, command: cmd.join(" "), output: r.output.trim() };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
