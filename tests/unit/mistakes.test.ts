// Proves: a corpus of realistic mistakes, each written to disk as a user would make it (hostile YAML included), gets one clean answer from `check`'s loader in under 5 seconds: the file, the config path, the rule id where a rule found it, a message stating the rule, a fix that is an instruction (never the generic fallback), and no secret value echoed; does not prove the rendered files (tools, twin).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { checkLabDir } from "../../model/check";
import { GENERIC_FIX } from "../../model/issues";
import { formatProblems, type Problem } from "../../model/problems";
import { copyLab, segOf, type LabFiles } from "../support/lab";

/** One mistake: how to make it, and what check must answer. */
interface Mistake {
  readonly name: string;
  /** Edit the parsed files (written back as YAML)... */
  readonly edit?: (f: LabFiles) => void;
  /** ...and/or write raw text into files (hostile or malformed YAML). */
  readonly write?: Readonly<Record<string, string>>;
  readonly file: string;
  readonly path: string | RegExp;
  readonly rule?: string;
  /** A piece of the message: the rule it states. */
  readonly says: string;
  /** A piece of the fix. */
  readonly fix: string;
  /** Text that must appear nowhere in the output (a secret). */
  readonly secret?: string;
}

// --- key material --------------------------------------------------------------------------------

function wire(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((p) => [Buffer.from([0, 0, 0, 0].map((_, i) => (p.length >>> (8 * (3 - i))) & 255)), p]));
}
function mpint(b64url: string): Buffer {
  const b = Buffer.from(b64url, "base64url");
  return (b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), b]) : b;
}
function rsaKey(bits: number): string {
  const jwk = crypto.generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
  return `ssh-rsa ${wire(Buffer.from("ssh-rsa"), mpint(jwk.e!), mpint(jwk.n!)).toString("base64")} bob@old`;
}
const ED = crypto.generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!;
const ED_BLOB = wire(Buffer.from("ssh-ed25519"), Buffer.from(ED, "base64url")).toString("base64");
const PRIVATE = `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDs3cr3tpr1v4t3k3ys3cr3tpr1v4t3k3ys3cr3tpr1vw==\n-----END OPENSSH PRIVATE KEY-----\n`;
const PUTTY = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAAIGsecretsecretsecretsecret\n";

// --- hostile YAML --------------------------------------------------------------------------------

function aliasBomb(): string {
  const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i < 10; i++) {
    const [me, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
    lines.push(`${me}: &${me} [${Array<string>(9).fill(`*${prev}`).join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}

const lab = (f: LabFiles) => f["homelab.yaml"];
const cfg = (f: LabFiles, stack: string) => f[`Pulumi.${stack}.yaml`].config;

const HOSTILE: Mistake[] = [
  {
    name: "an alias bomb (billion laughs)",
    write: { "homelab.yaml": aliasBomb() },
    file: "homelab.yaml",
    path: "(file)",
    says: "aliases",
    fix: "write the repeated data out",
  },
  {
    name: "10,000 nested brackets",
    write: { "Pulumi.lab.yaml": `config: ${"[".repeat(10000)}${"]".repeat(10000)}\n` },
    file: "Pulumi.lab.yaml",
    path: "(file)",
    says: "nested more than 64 levels",
    fix: "close the brackets",
  },
  {
    name: "10,000 nested braces",
    write: { "Pulumi.dmz.yaml": `config: ${"{a: ".repeat(10000)}1${"}".repeat(10000)}\n` },
    file: "Pulumi.dmz.yaml",
    path: "(file)",
    says: "nested more than 64 levels",
    fix: "close the brackets",
  },
  {
    name: "10,000 nested block sequences",
    write: { "Pulumi.sandbox.yaml": `config: ${"- ".repeat(10000)}x\n` },
    file: "Pulumi.sandbox.yaml",
    path: "(file)",
    says: "nested more than 64 levels",
    fix: "write the data as in the reference lab",
  },
  {
    // The estimate must not read the closing quote of "x\\" as escaped: the brackets after it count.
    name: "70 nested brackets after a string ending in an escaped backslash",
    write: { "Pulumi.lab.yaml": `config: {a: "x\\\\", b: ${"[".repeat(70)}${"]".repeat(70)}}\n` },
    file: "Pulumi.lab.yaml",
    path: "(file)",
    says: "nested more than 64 levels",
    fix: "close the brackets",
  },
  {
    // A doubled quote inside single quotes does not end the string, so the brackets in it do not close any.
    name: "80 nested brackets around a single-quoted string with '' and brackets in it",
    write: { "Pulumi.lab.yaml": `config: ${"[".repeat(40)}'x''${"]".repeat(40)}', ${"[".repeat(40)}${"]".repeat(80)}\n` },
    file: "Pulumi.lab.yaml",
    path: "(file)",
    says: "nested more than 64 levels",
    fix: "close the brackets",
  },
  {
    name: "a 2 MB file",
    write: { "Pulumi.cluster.yaml": `# ${"x".repeat(2 * 1024 * 1024)}\n` },
    file: "Pulumi.cluster.yaml",
    path: "(file)",
    says: "a lab file is at most",
    fix: "check that Pulumi.cluster.yaml is the file you meant",
  },
  {
    name: "an empty homelab.yaml",
    write: { "homelab.yaml": "" },
    file: "homelab.yaml",
    path: "(file)",
    says: "is an empty file",
    fix: "write the lab-wide facts into it",
  },
  {
    name: "a stack file of comments only",
    write: { "Pulumi.lab.yaml": "# lab segment: TODO\n\n" },
    file: "Pulumi.lab.yaml",
    path: "(file)",
    says: "is an empty file",
    fix: "under config:",
  },
  {
    name: "an empty Pulumi.yaml",
    write: { "Pulumi.yaml": "\n" },
    file: "Pulumi.yaml",
    path: "(file)",
    says: "is an empty file",
    fix: "write name: homelab",
  },
  {
    name: "an unclosed bracket",
    write: { "Pulumi.lab.yaml": "config:\n  homelab:segment: [\n" },
    file: "Pulumi.lab.yaml",
    path: /^line \d+, column \d+$/,
    says: "YAML syntax error",
    fix: "correct the YAML syntax at that line",
  },
  {
    name: "a key written twice",
    write: { "Pulumi.dmz.yaml": "config:\n  homelab:dmz:\n    segments: [lab]\n    segments: [lab]\n" },
    file: "Pulumi.dmz.yaml",
    path: /^line 4, column \d+$/,
    says: "unique",
    fix: "correct the YAML syntax",
  },
  {
    name: "a stack file that is a list",
    write: { "Pulumi.sandbox.yaml": "- config: {}\n" },
    file: "Pulumi.sandbox.yaml",
    path: "(document)",
    says: "but it is a list",
    fix: "write the stack's settings under config:",
  },
  {
    name: "a stack file that is a scalar",
    write: { "Pulumi.sandbox.yaml": "sandbox\n" },
    file: "Pulumi.sandbox.yaml",
    path: "(document)",
    says: "but it is a string",
    fix: "write the stack's settings under config:",
  },
  {
    name: "a stack named in capitals",
    write: { "Pulumi.Lab2.yaml": "config:\n  homelab:segment: {}\n" },
    file: "Pulumi.Lab2.yaml",
    path: "(stack name)",
    says: "lower-case DNS label",
    fix: "pulumi stack rename",
  },
];

const SCHEMA: Mistake[] = [
  {
    name: "Pulumi.yaml names another project",
    edit: (f) => (f["Pulumi.yaml"].name = "lab"),
    file: "Pulumi.yaml",
    path: "name",
    says: 'must be named "homelab"',
    fix: "set name: homelab",
  },
  {
    name: "a segment block left empty",
    edit: (f) => (cfg(f, "lab")["homelab:segment"] = null),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment",
    says: "is empty",
    fix: "write homelab:segment: under config:",
  },
  {
    name: "a host name in capitals",
    edit: (f) => {
      const h = segOf(f, "lab").hosts;
      h.VDI = h.vdi;
      delete h.vdi;
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.VDI",
    says: "lower-case DNS label",
    fix: 'rename it to "vdi"',
  },
  {
    name: "a host name with an underscore",
    edit: (f) => {
      const h = segOf(f, "lab").hosts;
      h.mirror_3 = h["mirror-2"];
      delete h["mirror-2"];
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror_3",
    says: "at most 63 characters",
    fix: 'rename it to "mirror-3"',
  },
  {
    name: "a host name of 70 characters",
    edit: (f) => {
      const h = segOf(f, "lab").hosts;
      h[`m${"x".repeat(69)}`] = h["mirror-2"];
      delete h["mirror-2"];
    },
    file: "Pulumi.lab.yaml",
    path: /hosts\.mx+$/,
    says: "at most 63 characters",
    fix: "rename it to",
  },
  {
    name: "a listen port without protocol",
    edit: (f) => (segOf(f, "lab").hosts.vdi.listens = ["47984"]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.listens[0]",
    says: "written with its protocol",
    fix: 'write "47984/tcp"',
  },
  {
    name: "a listen port as a number",
    edit: (f) => (segOf(f, "lab").hosts.vdi.listens = [47984]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.listens[0]",
    says: "written with its protocol",
    fix: 'write "47984/tcp"',
  },
  {
    name: "a flow port in capitals",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].ports = ["9100/TCP"]),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.ports[0]",
    says: "written with its protocol",
    fix: 'write "9100/tcp"',
  },
  {
    name: "a port out of range",
    edit: (f) => (segOf(f, "lab").hosts.vdi.listens = ["70000/tcp"]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.listens[0]",
    says: "out of range",
    fix: "use a port from 1 to 65535",
  },
  {
    name: "a backend port of 70000",
    edit: (f) => (segOf(f, "internal").services.grafana.backend.port = 70000),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.grafana.backend.port",
    says: "must be at most 65535",
    fix: "of at most 65535",
  },
  {
    name: "a /33 subnet",
    edit: (f) => (segOf(f, "lab").subnet = "10.30.0.0/33"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.subnet",
    says: "runs from 0 to 32",
    fix: 'such as "10.30.0.0/24"',
  },
  {
    name: "a subnet with host bits",
    edit: (f) => (segOf(f, "lab").subnet = "10.30.0.1/24"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.subnet",
    says: "has host bits set",
    fix: 'write "10.30.0.0/24"',
  },
  {
    name: "a subnet without prefix",
    edit: (f) => (segOf(f, "lab").subnet = "10.30.0.0"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.subnet",
    says: "with its prefix length",
    fix: '"10.30.0.0/24"',
  },
  {
    name: "an admin source /35",
    edit: (f) => (lab(f).ssh.adminSources = ["192.168.1.192/35"]),
    file: "homelab.yaml",
    path: "ssh.adminSources[0]",
    says: "runs from 0 to 32",
    fix: "write a prefix length from 0 to 32",
  },
  {
    name: "an address with a prefix",
    edit: (f) => (segOf(f, "lab").hosts.vdi.address = "10.30.0.20/24"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.address",
    says: "a prefix length belongs to a subnet",
    fix: 'write "10.30.0.20"',
  },
  {
    name: "an address with a leading zero",
    edit: (f) => (segOf(f, "lab").hosts.vdi.address = "10.30.0.020"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.address",
    says: "without leading zeros",
    fix: 'write "10.30.0.20"',
  },
  {
    name: "an address out of range",
    edit: (f) => (lab(f).dmz.dns = "192.168.1.353"),
    file: "homelab.yaml",
    path: "dmz.dns",
    says: "four numbers 0-255",
    fix: "four numbers 0-255 joined by dots",
  },
  {
    name: "a MAC in capitals",
    edit: (f) => (segOf(f, "lab").hosts.vdi.mac = "52:54:00:30:00:AB"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.mac",
    says: "in lower case",
    fix: 'write "52:54:00:30:00:ab"',
  },
  {
    name: "a MAC with dashes",
    edit: (f) => (segOf(f, "lab").hosts.vdi.mac = "52-54-00-30-00-14"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.mac",
    says: "joined by ':'",
    fix: 'write "52:54:00:30:00:14"',
  },
  {
    name: "a multicast MAC",
    edit: (f) => (segOf(f, "lab").hosts.vdi.mac = "01:00:5e:00:00:01"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.mac",
    says: "multicast",
    fix: "unicast address such as 52:54:00:12:34:56",
  },
  {
    name: "hosts written as a list",
    edit: (f) => (segOf(f, "lab").hosts = Object.values(segOf(f, "lab").hosts)),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts",
    says: 'written as "name: value", not as a "- " list item',
    fix: 'without the leading "- "',
  },
  {
    name: "services written as a list",
    edit: (f) => (segOf(f, "internal").services = Object.values(segOf(f, "internal").services)),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services",
    says: "is a list, but services is a map",
    fix: 'write each entry under services as "<name>:"',
  },
  {
    name: "dhcp written as a list",
    edit: (f) => (segOf(f, "lab").dhcp = [segOf(f, "lab").dhcp]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.dhcp",
    says: "is a list, but dhcp is a map",
    fix: "without the leading",
  },
  {
    name: "upstream DNS as one string",
    edit: (f) => (lab(f).dmz.upstreamDns = "9.9.9.9"),
    file: "homelab.yaml",
    path: "dmz.upstreamDns",
    says: "must be a list, not text",
    fix: "write it as a list",
  },
  {
    name: "a description with an unquoted colon",
    edit: (f) => (segOf(f, "lab").hosts.vdi.description = { Windows: "VDI" }),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.description",
    says: 'a ": " inside a value starts a map',
    fix: "put the whole value in quotes",
  },
  {
    name: "memory with a unit",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.memoryMiB = "32G"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.memoryMiB",
    says: 'not the text "32G"',
    fix: "without quotes or a unit",
  },
  {
    name: "half a core",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.cores = 1.5),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.cores",
    says: "whole number",
    fix: "write a whole number such as 2",
  },
  {
    name: "a VM id below 100",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.vmId = 42),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.vmId",
    says: "must be at least 100",
    fix: "of at least 100",
  },
  {
    name: "ha as text",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.ha = "no"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.ha",
    says: "must be true or false",
    fix: "write true or false",
  },
  {
    name: "an exposure that does not exist",
    edit: (f) => (segOf(f, "lab").services.mirror.exposure = "public"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.services.mirror.exposure",
    says: 'must be one of "internet", "lab"',
    fix: 'write one of "internet", "lab"',
  },
  {
    name: "a misspelt role",
    edit: (f) => (segOf(f, "internal").hosts.data.role = "databse"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.hosts.data.role",
    says: 'did you mean "database"',
    fix: 'write "database"',
  },
  {
    name: "an OS in capitals",
    edit: (f) => (segOf(f, "lab").hosts.jump.os = "NixOS"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.jump.os",
    says: "must be one of",
    fix: 'write "nixos"',
  },
  {
    name: "a reason too short",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].reason = "needed"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.reason",
    says: "at least 10 characters",
    fix: "write at least 10 characters",
  },
  {
    name: "a lease time without unit",
    edit: (f) => (segOf(f, "lab").dhcp.leaseTime = "12"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.dhcp.leaseTime",
    says: "a number and a unit m, h or d",
    fix: 'write a duration such as "12h"',
  },
  {
    name: "a domain in capitals",
    edit: (f) => (lab(f).domain = "Lab.Example.net"),
    file: "homelab.yaml",
    path: "domain",
    says: "lower-case DNS domain",
    fix: "write the domain in lower case",
  },
  {
    name: "a misspelt time zone",
    edit: (f) => (lab(f).timezone = "Europe/Berln"),
    file: "homelab.yaml",
    path: "timezone",
    says: "is not an IANA time zone name",
    fix: 'write "Europe/Berlin"',
  },
  {
    name: "a city as time zone",
    edit: (f) => (lab(f).timezone = "Berlin"),
    file: "homelab.yaml",
    path: "timezone",
    says: "is not an IANA time zone name",
    fix: "timedatectl list-timezones",
  },
  {
    name: "a NIC with an extra key",
    edit: (f) => (segOf(f, "lab").hosts.vdi.vm.nics = [{ bridge: "lab", model: "virtio" }]),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.vm.nics[0]",
    says: "a NIC is either",
    fix: "write { bridge: <network> } or { passthrough: <pci id> }",
  },
  {
    name: "an auth kind that does not exist",
    edit: (f) => (segOf(f, "internal").services.grafana.auth = { kind: "oauth" }),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.grafana.auth.kind",
    says: 'auth.kind must be one of "app", "basic", "none"',
    fix: "write auth: { kind: app",
  },
  {
    name: "a service kind https",
    edit: (f) => (segOf(f, "internal").services.grafana.kind = "https"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.grafana.kind",
    says: 'kind must be one of "http", "tcp", "udp"',
    fix: "write kind: http",
  },
  {
    name: "a misspelt key",
    edit: (f) => {
      const h = segOf(f, "lab").hosts.vdi;
      h.adress = h.address;
      delete h.address;
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.adress",
    says: 'did you mean "address"',
    fix: "rename the key",
  },
  {
    name: "a missing required key",
    edit: (f) => delete segOf(f, "lab").router.sshHostKey,
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.sshHostKey",
    says: "is required",
    fix: "add sshHostKey: under homelab:segment.router",
  },
  {
    name: "a misspelt config key",
    edit: (f) => (cfg(f, "lab")["homelab:confirmTimeoutSecond"] = 60),
    file: "Pulumi.lab.yaml",
    path: "homelab:confirmTimeoutSecond",
    says: "unknown config key",
    fix: "rename it to homelab:confirmTimeoutSeconds",
  },
  {
    name: "a stack prefix of another project",
    edit: (f) => (cfg(f, "dmz")["homelab:dmz"].stackPrefix = "acme/infra"),
    file: "Pulumi.dmz.yaml",
    path: "homelab:dmz.stackPrefix",
    says: 'the project part "infra"',
    fix: 'write "acme/homelab"',
  },
  {
    name: "a stack prefix without org",
    edit: (f) => (cfg(f, "dmz")["homelab:dmz"].stackPrefix = "homelab"),
    file: "Pulumi.dmz.yaml",
    path: "homelab:dmz.stackPrefix",
    says: '"<org>/<project>"',
    fix: 'write "organization/homelab"',
  },
  {
    name: "a confirm timeout with a unit",
    edit: (f) => (cfg(f, "lab")["homelab:confirmTimeoutSeconds"] = "30s"),
    file: "Pulumi.lab.yaml",
    path: "homelab:confirmTimeoutSeconds",
    says: "whole number of seconds from 10 to 3600",
    fix: "write homelab:confirmTimeoutSeconds: 30",
  },
  {
    name: "a confirm timeout too short",
    edit: (f) => (cfg(f, "cluster")["homelab:confirmTimeoutSeconds"] = 5),
    file: "Pulumi.cluster.yaml",
    path: "homelab:confirmTimeoutSeconds",
    says: "from 10 to 3600",
    fix: "write a number from 10 to 3600",
  },
  {
    name: "SSH password login switched on",
    edit: (f) => (lab(f).ssh.passwordAuthentication = true),
    file: "homelab.yaml",
    path: "ssh.passwordAuthentication",
    says: "SSH password login cannot be configured",
    fix: "remove the key",
  },
];

const KEYS: Mistake[] = [
  {
    name: "a key wrapped over two lines",
    write: {
      "homelab.yaml": fs
        .readFileSync(path.join(__dirname, "../../homelab.yaml"), "utf8")
        .replace(/(- ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvejfm\/SohTQ)(TEo5[^\n]*)/, "$1\n        $2"),
    },
    file: "homelab.yaml",
    path: "admins.alice.keys[0]",
    says: "is part of it missing",
    fix: "on one line",
  },
  {
    name: "a key line of another type",
    edit: (f) => (lab(f).admins.bob.keys = [`ssh-rsa ${ED_BLOB} bob@desktop`]),
    file: "homelab.yaml",
    path: "admins.bob.keys[0]",
    says: "the line says ssh-rsa, but the key data is a ssh-ed25519 key",
    fix: "start the line with ssh-ed25519",
  },
  {
    name: "a key with bytes after it",
    edit: (f) =>
      (lab(f).admins.bob.keys = [
        `ssh-ed25519 ${wire(Buffer.from("ssh-ed25519"), crypto.randomBytes(32), Buffer.from("x")).toString("base64")} bob`,
      ]),
    file: "homelab.yaml",
    path: "admins.bob.keys[0]",
    says: "bytes after the key",
    fix: "paste the whole line",
  },
  {
    name: "a 2048-bit RSA key",
    edit: (f) => (lab(f).admins.bob.keys = [rsaKey(2048)]),
    file: "homelab.yaml",
    path: "admins.bob.keys[0]",
    says: "2048 bits",
    fix: "ssh-keygen -t ed25519",
  },
  {
    name: "a DSA key",
    edit: (f) => (lab(f).admins.bob.keys = ["ssh-dss AAAAB3NzaC1kc3MAAACBAP bob"]),
    file: "homelab.yaml",
    path: "admins.bob.keys[0]",
    says: "DSA keys (ssh-dss) are refused",
    fix: "make an ed25519 key",
  },
  {
    name: "a key without its type",
    edit: (f) => (lab(f).admins.bob.keys = [ED_BLOB]),
    file: "homelab.yaml",
    path: "admins.bob.keys[0]",
    says: "it starts with its type",
    fix: "paste the whole line of the .pub file",
  },
  {
    name: "a host key with a quote inside",
    edit: (f) => (segOf(f, "lab").router.sshHostKey = `ssh-ed25519 ${ED_BLOB.slice(0, 20)}"${ED_BLOB.slice(20)}`),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.router.sshHostKey",
    says: "is not base64",
    fix: "paste the whole line",
  },
  {
    name: "a private key pasted as an admin key",
    edit: (f) => (lab(f).admins.bob.keys = [PRIVATE]),
    file: "homelab.yaml",
    path: "admins.bob.keys[0]",
    says: "this is a private key",
    fix: "make a new key pair",
    secret: "b3BlbnNzaC1rZXktdjEAAAAABG5v",
  },
  {
    name: "a PuTTY private key as a host key",
    edit: (f) => (segOf(f, "lab").hosts.jump.sshHostKey = PUTTY),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.jump.sshHostKey",
    says: "this is a private key",
    fix: "retire the old key",
    secret: "AAAAIGsecretsecret",
  },
  {
    name: "the deploy key in plain text",
    edit: (f) => (cfg(f, "lab")["homelab:deployKey"] = PRIVATE),
    file: "Pulumi.lab.yaml",
    path: "homelab:deployKey",
    says: "holds the deploy key in plain text",
    fix: "pulumi config rm homelab:deployKey -s lab",
    secret: "b3BlbnNzaC1rZXktdjEAAAAABG5v",
  },
  {
    name: "the deploy key as an encrypted stack secret (a preview's credentials could decrypt it)",
    edit: (f) => (cfg(f, "lab")["homelab:deployKey"] = { secure: "v1:c2VjcmV0LWNpcGhlcnRleHQ=" }),
    file: "Pulumi.lab.yaml",
    path: "homelab:deployKey",
    says: "the deploy key is never stack config",
    fix: "ssh-add ~/.ssh/homelab_deploy",
    secret: "c2VjcmV0LWNpcGhlcnRleHQ",
  },
  {
    name: "an API token in plain text",
    edit: (f) => (cfg(f, "internal")["homelab:grafanaToken"] = "glsa_9f8e7d6c5b4a"),
    file: "Pulumi.internal.yaml",
    path: "homelab:grafanaToken",
    says: "this program does not read homelab:grafanaToken",
    fix: "pulumi config set --secret homelab:grafanaToken -s internal",
    secret: "glsa_9f8e7d6c5b4a",
  },
  {
    name: "a provider password in plain text",
    edit: (f) => (cfg(f, "cluster")["proxmoxve:password"] = "hunter2hunter2"),
    file: "Pulumi.cluster.yaml",
    path: "proxmoxve:password",
    says: "holds a secret in plain text",
    fix: "pulumi config set --secret proxmoxve:password -s cluster",
    secret: "hunter2hunter2",
  },
  {
    name: "a root password on a host",
    edit: (f) => (segOf(f, "lab").hosts.vdi.rootPassword = "correct-horse-battery"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.vdi.rootPassword",
    says: "SSH password login cannot be configured",
    fix: "remove the key",
    secret: "correct-horse-battery",
  },
  {
    name: "a passphrase beside a bad host name",
    edit: (f) => {
      const h = segOf(f, "lab").hosts;
      h.Vdi = { ...h.vdi, passphrase: "open-sesame-42" };
      delete h.vdi;
    },
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.Vdi",
    says: "lower-case DNS label",
    fix: 'rename it to "vdi"',
    secret: "open-sesame-42",
  },
  {
    name: "a password that is all digits, in plain text",
    edit: (f) => (cfg(f, "lab")["homelab:adminPassword"] = 84736291),
    file: "Pulumi.lab.yaml",
    path: "homelab:adminPassword",
    says: "holds a secret in plain text",
    fix: "pulumi config set --secret homelab:adminPassword -s lab",
    secret: "84736291",
  },
  {
    name: "an API token that is all digits on a host",
    edit: (f) => (segOf(f, "lab").hosts.jump.apiToken = 31415926),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.jump.apiToken",
    says: 'unknown key "apiToken"',
    fix: "remove the key",
    secret: "31415926",
  },
  {
    name: "a provider password that is all digits, in plain text",
    edit: (f) => (cfg(f, "cluster")["proxmox:password"] = 99887766),
    file: "Pulumi.cluster.yaml",
    path: "proxmox:password",
    says: "holds a secret in plain text",
    fix: "pulumi config set --secret proxmox:password -s cluster",
    secret: "99887766",
  },
];

const RULES: Mistake[] = [
  {
    name: "two hosts on one address",
    edit: (f) => (segOf(f, "lab").hosts["mirror-2"].address = segOf(f, "lab").hosts["mirror-1"].address),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.address",
    rule: "addresses.unique",
    says: "mirror-1",
    fix: "",
  },
  {
    name: "two VMs with one VM id",
    edit: (f) => (segOf(f, "lab").hosts["mirror-2"].vm.vmId = segOf(f, "lab").hosts["mirror-1"].vm.vmId),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.vm.vmId",
    rule: "vm-ids.unique",
    says: "mirror-1",
    fix: "",
  },
  {
    name: "two hosts with one MAC",
    edit: (f) => (segOf(f, "lab").hosts["mirror-2"].mac = segOf(f, "lab").hosts["mirror-1"].mac),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-2.mac",
    rule: "macs.unique",
    says: "mirror-1",
    fix: "",
  },
  {
    name: "a VM on a node that does not exist",
    edit: (f) => (segOf(f, "lab").hosts["mirror-1"].vm.node = "pve9"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-1.vm.node",
    rule: "vms.references",
    says: "pve9",
    fix: "",
  },
  {
    name: "a host address inside the DHCP pool",
    edit: (f) => (segOf(f, "lab").hosts["mirror-1"].address = "10.30.0.150"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.hosts.mirror-1.address",
    rule: "addresses.in-network",
    says: "DHCP",
    fix: "",
  },
  {
    name: "a backend host that does not exist",
    edit: (f) => (segOf(f, "internal").services.grafana.backend.host = "monitr"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.services.grafana.backend.host",
    rule: "services.backends",
    says: "monitr",
    fix: "",
  },
  {
    name: "a jump host that does not exist",
    edit: (f) => (segOf(f, "lab").jumpHost = "jmp"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.jumpHost",
    rule: "ssh.jump-hosts",
    says: "jmp",
    fix: "",
  },
  {
    name: "a flow to a host that does not exist",
    edit: (f) => (segOf(f, "internal").flows["scrape-lab"].to = "lab/vdl"),
    file: "Pulumi.internal.yaml",
    path: "homelab:segment.flows.scrape-lab.to",
    rule: "flows.targets",
    says: "vdl",
    fix: "",
  },
  {
    name: "a router box that does not exist",
    edit: (f) => (segOf(f, "sandbox").router.hardware = "rtr9"),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.router.hardware",
    rule: "refs.routers",
    says: "rtr9",
    fix: "",
  },
];

const CAPACITY: Mistake[] = [
  {
    name: "a VM larger than its node",
    edit: (f) => (segOf(f, "sandbox").hosts.agent.vm.memoryMiB = 130000),
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.hosts.agent.vm.memoryMiB",
    rule: "capacity.nodes",
    says: "sandbox/agent asks for 130000 MiB of memory, more than its node pve4 has for VMs: 122880 MiB",
    fix: "lower memoryMiB to at most 122880",
  },
  {
    name: "a disk larger than its datastore",
    edit: (f) => (lab(f).hardware.proxmox.nodes.pve3.storage["local-zfs"] = 100),
    file: "Pulumi.cluster.yaml",
    path: "homelab:segment.hosts.worker-3.vm.disks.root.sizeGiB",
    rule: "capacity.nodes",
    says: "asks for 200 GiB, more than pve3's datastore local-zfs holds: 100 GiB",
    fix: "lower sizeGiB to at most 100",
  },
  {
    name: "a segment on the DMZ's subnet",
    edit: (f) => (segOf(f, "lab").subnet = "192.168.1.0/24"),
    file: "Pulumi.lab.yaml",
    path: "homelab:segment.subnet",
    rule: "subnets.disjoint",
    says: "overlaps the DMZ's 192.168.1.0/24 (homelab.yaml dmz.subnet)",
    fix: "e.g. 192.168.2.0/24",
  },
  {
    name: "two segments on one subnet in 172.16.0.0/12",
    edit: (f) => {
      segOf(f, "lab").subnet = "172.16.0.0/24";
      segOf(f, "sandbox").subnet = "172.16.0.0/24";
    },
    file: "Pulumi.sandbox.yaml",
    path: "homelab:segment.subnet",
    rule: "subnets.disjoint",
    says: "overlaps lab's 172.16.0.0/24 (Pulumi.lab.yaml homelab:segment.subnet)",
    fix: "e.g. 172.16.1.0/24",
  },
];

const CORPUS = [...HOSTILE, ...CAPACITY, ...SCHEMA, ...KEYS, ...RULES];

/** An instruction: it starts with what to do. */
const INSTRUCTION =
  /^(write|add|remove|rename|delete|use|put|list|set|move|make|create|paste|join|start|close|check|correct|select|give|pick|choose|change|free|assign|declare|lower|raise|either|drop|keep|mark|open|point|shrink|grow|publish|split|run|reduce|increase|fill|name|take)\b/i;

function hit(problems: readonly Problem[], m: Mistake): Problem | undefined {
  return problems.find((p) => p.file === m.file && (typeof m.path === "string" ? p.path === m.path : m.path.test(p.path)));
}

describe("the mistake corpus", () => {
  test("holds at least 60 mistakes, each named once", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CORPUS.map((m) => m.name)).size).toBe(CORPUS.length);
  });

  test.each(CORPUS)("$name: $file $path", (m) => {
    const dir = copyLab(m.edit);
    for (const [file, text] of Object.entries(m.write ?? {})) fs.writeFileSync(path.join(dir, file), text);
    const started = process.hrtime.bigint();
    const { lab: valid, problems } = checkLabDir(dir);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    expect(seconds).toBeLessThan(5);
    expect(valid).toBeUndefined();
    const p = hit(problems, m);
    if (!p) throw new Error(`no problem at ${m.file} ${String(m.path)}; got:\n${formatProblems(problems)}`);
    expect(p).toMatchObject(m.rule ? { rule: m.rule } : {});
    expect(p.message).toContain(m.says);
    expect(p.fix).toContain(m.fix);
    expect(p.fix).not.toBe(GENERIC_FIX);
    expect(p.fix).toMatch(INSTRUCTION);
    const shown = `${formatProblems(problems)}\n${JSON.stringify(problems)}`;
    expect(shown).not.toContain(m.secret ?? "\u0000");
  });
});

describe("the order problems are listed in", () => {
  test("by file, then by line as a number, then path: line 9 comes before line 56 and line 115", () => {
    const dir = copyLab();
    const file = path.join(dir, "Pulumi.cluster.yaml");
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    // Break three values far apart in the file, by text, so their lines are known.
    const marks = [at(/^\s+subnet:/), at(/vmId: \d+/), lines.length - 1 - [...lines].reverse().findIndex((l) => /address: 10\.20/.test(l))];
    lines[marks[0]!] = lines[marks[0]!]!.replace(/subnet: \S+/, "subnet: 10.20.0.0/33");
    lines[marks[1]!] = lines[marks[1]!]!.replace(/vmId: \d+/, "vmId: 7");
    lines[marks[2]!] = lines[marks[2]!]!.replace(/address: \S+/, "address: 10.20.0.300");
    fs.writeFileSync(file, lines.join("\n"));
    const found = checkLabDir(dir).problems.filter((p) => p.file === "Pulumi.cluster.yaml");
    expect(found.map((p) => p.line)).toEqual(marks.map((m) => m + 1));
    expect(marks[2]! + 1).toBeGreaterThanOrEqual(100); // a line number of three digits, which sorts first as text
  });

  test("a misspelt key (the cause) comes before the required key it leaves missing", () => {
    const dir = copyLab((f) => {
      const r = segOf(f, "lab").router;
      r.wanAdress = r.wanAddress;
      delete r.wanAddress;
    });
    const paths = checkLabDir(dir).problems.map((p) => p.path);
    expect(paths).toEqual(["homelab:segment.router.wanAdress", "homelab:segment.router.wanAddress"]);
  });

  test("a problem of the whole file comes before the problems at its lines", () => {
    const dir = copyLab((f) => (segOf(f, "lab").subnet = "10.30.0.0/33"));
    fs.writeFileSync(path.join(dir, "Pulumi.Lab2.yaml"), "config:\n  homelab:segment: {}\n");
    fs.appendFileSync(path.join(dir, "homelab.yaml"), "\nunknownKey: 1\n");
    const problems = checkLabDir(dir).problems;
    expect(problems.map((p) => p.file)).toEqual(["Pulumi.Lab2.yaml", "Pulumi.lab.yaml", "homelab.yaml"]);
  });
});
