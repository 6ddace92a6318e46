/**
 * The real programs that read rendered files, run offline (see
 * shared/reference/twin-feasibility.md for each command's pitfalls). A missing program is a
 * failure with the package to install, never a skip.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Checker, RenderedFile } from "../../render/files";
import { NGINX_STREAM_MODULE, NGINX_STREAM_MODULE_FILE, nginxCertPaths, nginxTrustedPaths, testCertificate } from "./fixtures";
import { must, PATH_ENV, run } from "./proc";

/** The program behind each checker, and the Debian package that provides it. */
const TOOLS: Record<Exclude<Checker, "json">, { program: string; pkg: string }> = {
  nft: { program: "nft", pkg: "nftables" },
  dnsmasq: { program: "dnsmasq", pkg: "dnsmasq" },
  nginx: { program: "nginx", pkg: "nginx libnginx-mod-stream" },
  sshd: { program: "sshd", pkg: "openssh-server" },
  "ssh-client": { program: "ssh", pkg: "openssh-client" },
  nix: { program: "nix-instantiate", pkg: "nix-bin" },
  chrony: { program: "chronyd", pkg: "chrony" },
  sh: { program: "shellcheck", pkg: "shellcheck" },
  systemd: { program: "systemd-analyze", pkg: "systemd" },
  "authorized-keys": { program: "ssh-keygen", pkg: "openssh-client" },
  ifupdown: { program: "ifquery", pkg: "ifupdown" },
  exports: { program: "exportfs", pkg: "nfs-kernel-server" },
  samba: { program: "testparm", pkg: "samba" },
  mariadb: { program: "mariadbd", pkg: "mariadb-server" },
  "cloud-init": { program: "cloud-init", pkg: "cloud-init" },
  x509: { program: "openssl", pkg: "openssl" },
  wireguard: { program: "wg-quick", pkg: "wireguard-tools" },
};

/** Where a program is on PATH_ENV (an absolute path: whether that file exists), or undefined. */
function which(program: string): string | undefined {
  if (path.isAbsolute(program)) return fs.existsSync(program) ? program : undefined;
  for (const dir of PATH_ENV.split(":")) {
    const p = path.join(dir, program);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Throw one error naming every missing program (or, given as an absolute path, file) and the
 * Debian package that provides it: a missing tool is a failure, never a skip.
 */
export function requirePrograms(programs: Readonly<Record<string, string>>): void {
  const missing = Object.entries(programs).filter(([p]) => !which(p));
  if (missing.length > 0)
    throw new Error(`missing tools, install them (.ci/run does): ${missing.map(([p, pkg]) => `${p} (apt-get install ${pkg})`).join(", ")}`);
}

/** requirePrograms for the programs behind `checkers` (and nginx's stream module with nginx). */
export function requireTools(checkers: Iterable<Checker>): void {
  const programs: Record<string, string> = {};
  for (const c of checkers) {
    if (c === "json") continue;
    programs[TOOLS[c].program] = TOOLS[c].pkg;
    if (c === "nginx") programs[NGINX_STREAM_MODULE_FILE] = "libnginx-mod-stream";
    // wg setconf needs an interface: wireguard-go makes one without the kernel module.
    if (c === "wireguard") Object.assign(programs, { wg: "wireguard-tools", "wireguard-go": "wireguard-go" });
  }
  requirePrograms(programs);
}

/** `ssh -G -F <config> <alias>` as option -> value (first value wins, like ssh); throws when ssh refuses the config. */
export function sshG(config: string, alias: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of must(["ssh", "-G", "-F", config, alias], { env: { HOME: os.tmpdir() } }).split("\n")) {
    const [k, ...v] = line.split(" ");
    if (k && !(k in out)) out[k] = v.join(" ");
  }
  return out;
}

/** The outcome of one check. */
export interface CheckResult {
  readonly file: string;
  readonly checker: Checker;
  readonly ok: boolean;
  readonly command: string;
  readonly output: string;
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
      const { cert, key } = testCertificate(dir);
      const paths = nginxCertPaths(f.content);
      // The certificates backends are verified against are the rendered companion files next to
      // nginx.conf, where the unit's LoadCredential puts them; one that was not rendered is missing.
      const trusted = nginxTrustedPaths(f.content).filter((p) => fs.existsSync(path.join(path.dirname(file), path.basename(p))));
      const copies = [
        ...paths.map((p) => `mkdir -p "$(dirname ${p.path})" && cp ${p.key ? key : cert} ${p.path}`),
        ...trusted.map((p) => `mkdir -p "$(dirname ${p})" && cp ${path.join(path.dirname(file), path.basename(p))} ${p}`),
      ].join(" && ");
      // Mount over the nearest existing ancestor (so nothing is created on the host), then
      // recreate what nginx itself needs there (Debian's /var/lib/nginx temp paths).
      const roots = [
        ...new Set([...paths.map((p) => p.path), ...nginxTrustedPaths(f.content)].map((p) => nearestExisting(path.dirname(p)))),
      ];
      const mounts = roots.map((r) => `mount -t tmpfs tmpfs ${r} && mkdir -p ${r}/nginx`).join(" && ");
      // nginx -t also binds every listen address: give it an empty network namespace that
      // may bind addresses it does not have.
      const script = ["sysctl -qw net.ipv4.ip_nonlocal_bind=1", mounts, copies, `nginx -t -q -g '${NGINX_STREAM_MODULE}' -c ${file}`]
        .filter(Boolean)
        .join(" && ");
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
    case "systemd":
      // Loads the unit as systemd would (every key, every ExecStart program must exist); starts nothing.
      return ["systemd-analyze", "verify", "--man=no", file];
    case "authorized-keys":
      return ["ssh-keygen", "-l", "-f", file];
    case "ifupdown":
      // Parses the file and every stanza; it configures nothing.
      return ["ifquery", "--list", "--all", "--interfaces", file];
    case "exports":
      return ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", exportfsScript(f.content, file)];
    case "samba":
      // testparm exits 0 on an unknown parameter ("Ignoring unknown parameter"): any complaint fails.
      return [
        "sh",
        "-c",
        `testparm -s --suppress-prompt "$1" >/dev/null 2>"$1.err"; rc=$?; cat "$1.err"; [ $rc -eq 0 ] && ! grep -Eiq 'unknown|ignoring|error|invalid' "$1.err"`,
        "check",
        file,
      ];
    case "mariadb":
      // The server's own option parser on the file alone (--defaults-file reads no other); --help
      // stops before the server starts, so no data directory is touched. An unknown option exits non-zero.
      return [
        "sh",
        "-c",
        `mariadbd --defaults-file="$1" --verbose --help >/dev/null 2>"$1.err"; rc=$?; cat "$1.err"; [ $rc -eq 0 ] && ! grep -q 'ERROR' "$1.err"`,
        "check",
        file,
      ];
    case "cloud-init":
      // The schema check only: it reads the file and the installed schema, touches no instance state, needs no network.
      return ["cloud-init", "schema", "--config-file", file];
    case "x509":
      return ["openssl", "x509", "-noout", "-in", file];
    case "wireguard":
      return [
        "unshare",
        "--net",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
        "sh",
        "-c",
        wireguardScript(file),
      ];
    case "json":
      return ["node", "-e", "JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'))", file];
  }
}

/**
 * `exportfs -ra` on `content` as the whole of /etc/exports, touching nothing of the host: run in
 * a private mount namespace where /etc/exports is the file, /etc/exports.d and /var/lib/nfs (its
 * state) are empty tmpfs, and every exported directory exists on a tmpfs mounted over its nearest
 * existing ancestor; and in an empty network namespace, so the kernel export cache it writes (if
 * nfsd is loaded at all) belongs to no namespace of the host's. Any message on stderr fails it.
 */
function exportfsScript(content: string, file: string): string {
  const paths = content
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.split(/\s+/)[0]!);
  const roots = [...new Set(paths.map((p) => nearestExisting(path.dirname(p))))];
  if (roots.includes("/"))
    throw new Error(`exports checker: an exported path (${paths.join(", ")}) has no existing parent to mount a tmpfs over`);
  return [
    "set -e",
    `mount --bind '${file}' /etc/exports`,
    "if [ -d /etc/exports.d ]; then mount -t tmpfs tmpfs /etc/exports.d; fi",
    "mount -t tmpfs tmpfs /var/lib/nfs",
    ...roots.map((r) => `mount -t tmpfs tmpfs '${r}'`),
    ...paths.map((p) => `mkdir -p '${p}'`),
    `exportfs -ra 2>'${file}.err' || { cat '${file}.err'; exit 1; }`,
    `cat '${file}.err'; [ ! -s '${file}.err' ]`,
  ].join("\n");
}

/**
 * A wg-quick file checked by the real tools: `wg-quick strip` parses it as wg-quick does (its
 * own keys: Address, and the rest), and `wg setconf` loads what remains into a real interface
 * (wireguard-go: no kernel module needed), which refuses an unknown key, a malformed public key
 * or allowed IP. In a private network, mount and PID namespace: wireguard-go's socket lands on a
 * private /run, and the daemon ends with the namespace.
 */
function wireguardScript(file: string): string {
  return [
    "set -e",
    "mount -t tmpfs tmpfs /run",
    "mkdir -p /run/wireguard",
    "wireguard-go hl-wgcheck >/dev/null 2>&1",
    `wg-quick strip '${file}' >'${file}.stripped'`,
    `wg setconf hl-wgcheck '${file}.stripped'`,
  ].join("\n");
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
      const cwd = path.dirname(file);
      const r = run(cmd, { cwd, env: { HOME: cwd }, timeout: 30000 });
      return { file: f.path, checker: f.checker, ok: r.code === 0, command: cmd.join(" "), output: `${r.stdout}${r.stderr}`.trim() };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
