// Proves: reading and schema-checking a lab directory turns every malformed input (YAML syntax, unknown or misspelt keys, password keys, invalid values, unknown config keys, missing files, bad stack names) into problems with file, config path and fix, never an exception, and that no schema field can enable password login; does not prove the semantic rules (validate.test.ts).
import * as fs from "fs";
import * as path from "path";
import type { z } from "zod";
import { checkLabDir } from "../../model/check";
import { parseLab, readLabSources } from "../../model/load";
import type { Problem } from "../../model/problems";
import { DmzFile, LabFile, SegmentFile } from "../../model/schema";
import { parseYamlFile } from "../../model/yaml-file";
import { copyLab, parseFiles, referenceFiles, REPO, segOf, type LabFiles } from "../support/lab";

const SOURCES = readLabSources(REPO);

/** Schema problems of the reference files after `edit`, parsed in memory. */
function schemaProblems(edit: (f: LabFiles) => void): readonly Problem[] {
  const files = referenceFiles();
  edit(files);
  return parseFiles(files).problems;
}

function dirProblems(dir: string): readonly Problem[] {
  return parseLab(readLabSources(dir)).problems;
}

function find(problems: readonly Problem[], file: string, at: string): Problem {
  const p = problems.find((x) => x.file === file && x.path === at);
  if (!p) throw new Error(`no problem at ${file} ${at}; got ${JSON.stringify(problems, null, 2)}`);
  return p;
}

describe("the reference lab", () => {
  test("parses with no problems, and schema defaults are applied", () => {
    const parsed = parseLab(SOURCES);
    expect(parsed.problems).toEqual([]);
    const lab = parsed.lab!;
    expect(Object.keys(lab.segments)).toEqual(["cluster", "internal", "lab", "sandbox"]);
    expect(lab.segments.internal!.hosts.jump!.vm!.ha).toBe(true); // ha defaults to true
    expect(lab.segments.cluster!.hosts["worker-1"]!.vm!.ha).toBe(false);
    expect(lab.segments.cluster!.hosts.jump!.listens).toEqual([]);
    expect(lab.segments.cluster!.flows).toEqual({});
    expect(lab.hardware.proxmox.nodes.pve4!.pci).toEqual({});
    expect(lab.hardware.proxmox.nodes.pve4!.reservedMemoryGiB).toBe(8);
    expect(lab.segments.lab!.subnet.toString()).toBe("10.30.0.0/24");
    expect(lab.dmzStack?.segments).toEqual(["internal", "cluster", "lab", "sandbox"]);
  });
});

describe("unknown keys", () => {
  test("a key with no near match lists the allowed keys and says to remove it", () => {
    const p = find(
      schemaProblems((f) => (segOf(f, "lab").hosts.vdi.frobnicate = 1)),
      "Pulumi.lab.yaml",
      "homelab:segment.hosts.vdi.frobnicate",
    );
    expect(p.value).toBe(1);
    expect(p.message).toContain('unknown key "frobnicate"');
    expect(p.message).toContain("allowed keys: address, description, listens, mac, os, role, sshHostKey, vm");
    expect(p.fix).toBe("remove the key");
  });

  test("a misspelt required key is also reported as missing", () => {
    const problems = schemaProblems((f) => {
      const r = segOf(f, "cluster").router;
      r.wanAdress = r.wanAddress;
      delete r.wanAddress;
    });
    expect(find(problems, "Pulumi.cluster.yaml", "homelab:segment.router.wanAddress").message).toBe("is required");
    expect(find(problems, "Pulumi.cluster.yaml", "homelab:segment.router.wanAdress").value).toBe("192.168.1.12");
  });

  test.each([
    ["Pulumi.cluster.yaml", "homelab:segment.router", "wanAddress", "wanAdress"],
    ["homelab.yaml", "", "domain", "domian"],
    ["Pulumi.lab.yaml", "homelab:segment.hosts.vdi", "address", "adress"],
    ["Pulumi.dmz.yaml", "homelab:dmz", "segments", "segmnets"],
  ])("did-you-mean: %s %s.%s misspelt as %s", (file, parent, right, wrong) => {
    // The same object with `right` renamed to `wrong`, in its place.
    const misspell = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k === right ? wrong : k, v]));
    const problems = schemaProblems((f) => {
      if (parent === "") f[file] = misspell(f[file]);
      else {
        const keys = parent.split(".");
        const last = keys.pop()!;
        const holder = keys.reduce((o: any, k) => o[k], f[file].config);
        holder[last] = misspell(holder[last]);
      }
    });
    const p = find(problems, file, parent === "" ? wrong : `${parent}.${wrong}`);
    expect(p.message).toContain(`did you mean "${right}"?`);
    expect(p.fix).toContain("rename");
  });
});

describe("password login cannot be configured", () => {
  const PASSWORD = "SSH password login cannot be configured anywhere in this lab";

  test.each<[string, string, (f: LabFiles) => void]>([
    ["homelab.yaml", "passwordAuthentication", (f) => (f["homelab.yaml"].passwordAuthentication = true)],
    ["homelab.yaml", "ssh.passwordAuthentication", (f) => (f["homelab.yaml"].ssh.passwordAuthentication = true)],
    ["homelab.yaml", "ssh.deploy.password", (f) => (f["homelab.yaml"].ssh.deploy.password = "hunter2")],
    ["homelab.yaml", "admins.alice.passwordAuthentication", (f) => (f["homelab.yaml"].admins.alice.passwordAuthentication = true)],
    ["homelab.yaml", "dmz.infra.PasswordAuthentication", (f) => (f["homelab.yaml"].dmz.infra.PasswordAuthentication = "yes")],
    ["homelab.yaml", "ssh.kbdInteractiveAuthentication", (f) => (f["homelab.yaml"].ssh.kbdInteractiveAuthentication = true)],
    ["Pulumi.cluster.yaml", "homelab:segment.passwordAuthentication", (f) => (segOf(f, "cluster").passwordAuthentication = true)],
    [
      "Pulumi.cluster.yaml",
      "homelab:segment.router.passwordAuthentication",
      (f) => (segOf(f, "cluster").router.passwordAuthentication = true),
    ],
    [
      "Pulumi.cluster.yaml",
      "homelab:segment.hosts.jump.passwordAuthentication",
      (f) => (segOf(f, "cluster").hosts.jump.passwordAuthentication = true),
    ],
    [
      "Pulumi.cluster.yaml",
      "homelab:segment.hosts.jump.vm.passwordAuthentication",
      (f) => (segOf(f, "cluster").hosts.jump.vm.passwordAuthentication = true),
    ],
    [
      "Pulumi.cluster.yaml",
      "homelab:segment.talos.passwordAuthentication",
      (f) => (segOf(f, "cluster").talos.passwordAuthentication = true),
    ],
    [
      "Pulumi.internal.yaml",
      "homelab:segment.services.grafana.passwordAuthentication",
      (f) => (segOf(f, "internal").services.grafana.passwordAuthentication = true),
    ],
    [
      "Pulumi.internal.yaml",
      "homelab:segment.services.grafana.auth.passwordAuthentication",
      (f) => (segOf(f, "internal").services.grafana.auth.passwordAuthentication = true),
    ],
    [
      "Pulumi.dmz.yaml",
      "homelab:dmz.passwordAuthentication",
      (f) => (f["Pulumi.dmz.yaml"].config["homelab:dmz"].passwordAuthentication = true),
    ],
  ])("%s %s gets the password-specific message", (file, at, edit) => {
    const p = find(schemaProblems(edit), file, at);
    expect(p.message).toContain(PASSWORD);
    expect(p.fix).toBe("remove the key");
  });

  test.each<[string, string, (f: LabFiles) => void]>([
    [
      "Pulumi.cluster.yaml",
      "homelab:segment.hosts.jump.vm.nics[0]",
      (f) => (segOf(f, "cluster").hosts.jump.vm.nics[0].passwordAuthentication = true),
    ],
    [
      "Pulumi.cluster.yaml",
      "homelab:passwordAuthentication",
      (f) => (f["Pulumi.cluster.yaml"].config["homelab:passwordAuthentication"] = true),
    ],
  ])("%s %s gets the password-specific message", (file, at, edit) => {
    expect(find(schemaProblems(edit), file, at).message).toContain(PASSWORD);
  });

  test("the password message says what to do instead (add the person's public key under admins)", () => {
    const p = find(
      schemaProblems((f) => (f["homelab.yaml"].ssh.passwordAuthentication = true)),
      "homelab.yaml",
      "ssh.passwordAuthentication",
    );
    expect(p.message).toContain("public key under admins");
  });

  test("a misplaced passthrough key is not mistaken for a password key", () => {
    const p = find(
      schemaProblems((f) => (segOf(f, "lab").hosts.vdi.passthrough = ["gpu0"])),
      "Pulumi.lab.yaml",
      "homelab:segment.hosts.vdi.passthrough",
    );
    expect(p.message).not.toContain("password");
    expect(p.message).toContain("allowed keys:");
  });

  test("no key anywhere in the schema could switch password login on", () => {
    const keys = new Set<string>();
    for (const schema of [LabFile, SegmentFile, DmzFile]) collectKeys(schema, keys);
    // The walk reaches deep keys, so an empty result could not pass by accident.
    for (const k of ["wanAddress", "sshHostKey", "passthrough", "keys", "realm", "controlPlanes", "vendorDevice"])
      expect(keys).toContain(k);
    expect([...keys].filter((k) => /pass(word)?|kbd|keyboard|challenge|auth(entication)?method/i.test(k) && k !== "passthrough")).toEqual(
      [],
    );
  });

  test("an admin without keys is refused: there is no password to fall back on", () => {
    const p = find(
      schemaProblems((f) => (f["homelab.yaml"].admins.bob.keys = [])),
      "homelab.yaml",
      "admins.bob.keys",
    );
    expect(p.message).toContain("at least one SSH public key; there is no password login");
  });
});

/** Every object key a zod schema accepts, through unions, records, arrays, optionals and defaults. */
function collectKeys(schema: z.ZodType, into: Set<string>, seen = new Set<unknown>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  const def = (schema as any)._zod.def;
  const walk = (s: unknown) => {
    if (s) collectKeys(s as z.ZodType, into, seen);
  };
  switch (def.type) {
    case "object":
      for (const [k, v] of Object.entries(def.shape)) {
        into.add(k);
        walk(v);
      }
      break;
    case "union":
      for (const o of def.options) walk(o);
      break;
    case "record":
      walk(def.valueType);
      break;
    case "array":
      walk(def.element);
      break;
    case "optional":
    case "default":
    case "nullable":
    case "readonly":
    case "prefault":
      walk(def.innerType);
      break;
    case "pipe":
      walk(def.in);
      walk(def.out);
      break;
    default:
      break;
  }
}

describe("invalid values", () => {
  test.each<[string, string, (f: LabFiles) => void, string, string]>([
    [
      "Pulumi.lab.yaml",
      "homelab:segment.hosts.vdi.address",
      (f) => (segOf(f, "lab").hosts.vdi.address = "10.30.0.300"),
      "must be an IPv4 address: four numbers 0-255 joined by dots",
      "write the address as four numbers 0-255",
    ],
    [
      "Pulumi.lab.yaml",
      "homelab:segment.subnet",
      (f) => (segOf(f, "lab").subnet = "10.30.0.1/24"),
      "has host bits set",
      'write "10.30.0.0/24"',
    ],
    [
      "Pulumi.lab.yaml",
      "homelab:segment.hosts.vdi.mac",
      (f) => (segOf(f, "lab").hosts.vdi.mac = "01:00:5e:00:00:01"),
      "is a multicast MAC address",
      "use a locally administered unicast address",
    ],
    [
      "Pulumi.lab.yaml",
      "homelab:segment.services.mirror.exposure",
      (f) => (segOf(f, "lab").services.mirror.exposure = "public"),
      'must be one of "internet", "lab"',
      'write one of "internet", "lab"',
    ],
    [
      "Pulumi.internal.yaml",
      "homelab:segment.flows.scrape-lab.reason",
      (f) => (segOf(f, "internal").flows["scrape-lab"].reason = "short"),
      "at least 10 characters",
      "write at least 10 characters",
    ],
    [
      "Pulumi.lab.yaml",
      "homelab:segment.hosts.vdi.vm.ha",
      (f) => (segOf(f, "lab").hosts.vdi.vm.ha = "no"),
      "must be true or false, not text",
      "write true or false, without quotes",
    ],
    [
      "Pulumi.lab.yaml",
      "homelab:segment.dhcp.leaseTime",
      (f) => (segOf(f, "lab").dhcp.leaseTime = "forever"),
      'must be a number and a unit m, h or d, such as "12h"',
      'write a duration such as "12h"',
    ],
    [
      "homelab.yaml",
      "admins.bob.keys[0]",
      (f) => (f["homelab.yaml"].admins.bob.keys = ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC bob"]),
      'the key data after "ssh-rsa" is not base64',
      "paste the whole line of the .pub file",
    ],
    [
      "homelab.yaml",
      "hardware.proxmox.nodes.pve1.pci.gpu0.path",
      (f) => (f["homelab.yaml"].hardware.proxmox.nodes.pve1.pci.gpu0.path = "01:00.0"),
      'PCI address such as "0000:01:00.0"',
      "write it in the same form as 0000:01:00.0",
    ],
    [
      "Pulumi.lab.yaml",
      "homelab:segment.router.tunnel.publicKey",
      (f) => (segOf(f, "lab").router.tunnel.publicKey = "MM2Zdz8Sej4IuT9uKuQOxyCK5oGLg434vBa+ngwEPE="),
      'must be a WireGuard public key: 32 bytes in base64, 44 characters ending in "=", as wg pubkey prints it; it decodes to 31 bytes',
      "make a pair with `wg genkey | tee wireguard.key | wg pubkey`",
    ],
    [
      "homelab.yaml",
      "dmz.tunnel.publicKey",
      (f) => (f["homelab.yaml"].dmz.tunnel.publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAjIG9M9nyiD8ch7pfBgehpejPDksAkU2FceYRak+BPf"),
      "as wg pubkey prints it; it is not base64",
      "store wireguard.key as the stack's secret homelab:wireguardKey",
    ],
    [
      "homelab.yaml",
      "dmz.tunnel.subnet",
      (f) => (f["homelab.yaml"].dmz.tunnel.subnet = "10.255.0.1/24"),
      "has host bits set",
      'write "10.255.0.0/24"',
    ],
    [
      "Pulumi.dmz.yaml",
      "homelab:dmz.stackPrefix",
      (f) => (f["Pulumi.dmz.yaml"].config["homelab:dmz"].stackPrefix = "homelab"),
      '"<org>/<project>"',
      'write "organization/homelab"',
    ],
  ])("%s %s", (file, at, edit, message, fix) => {
    const p = find(schemaProblems(edit), file, at);
    expect(p.message).toContain(message);
    expect(p.fix).toContain(fix);
  });

  test.each(["Asia/Kolkata", "Europe/Kyiv", "Asia/Kathmandu", "Asia/Ho_Chi_Minh", "America/Nuuk", "Etc/GMT+5", "Europe/Berlin", "UTC"])(
    "the time zone %s, which tzdata has (whether or not Intl lists it), is accepted",
    (zone) => {
      expect(schemaProblems((f) => (f["homelab.yaml"].timezone = zone))).toEqual([]);
    },
  );

  test.each([
    ["Asia/Tokio", 'write "Asia/Tokyo"'],
    ["europe/berlin", 'write "Europe/Berlin"'],
    ["Berlin", "timedatectl list-timezones"],
  ])("the time zone %s is refused with a fix (%s)", (zone, fix) => {
    const p = find(
      schemaProblems((f) => (f["homelab.yaml"].timezone = zone)),
      "homelab.yaml",
      "timezone",
    );
    expect(p.message).toContain("is not an IANA time zone name");
    expect(p.fix).toContain(fix);
  });

  test("a missing required value says so and to add it", () => {
    const p = find(
      schemaProblems((f) => delete segOf(f, "lab").router.sshHostKey),
      "Pulumi.lab.yaml",
      "homelab:segment.router.sshHostKey",
    );
    expect(p).toMatchObject({ message: "is required", fix: "add sshHostKey: under homelab:segment.router" });
    expect(p.value).toBeUndefined();
  });

  test("a NIC that is neither a bridge nor a passthrough says what a NIC is", () => {
    const p = find(
      schemaProblems((f) => (segOf(f, "lab").hosts.vdi.vm.nics = [{ bridge: "lab", passthrough: "nic0" }])),
      "Pulumi.lab.yaml",
      "homelab:segment.hosts.vdi.vm.nics[0]",
    );
    expect(p.message).toContain("{ bridge: <network> }");
    expect(p.message).toContain("{ passthrough: <pci id> }");
  });

  test("problems of several files come back together, and no lab is built", () => {
    const problems = schemaProblems((f) => {
      f["homelab.yaml"].domain = "Lab";
      segOf(f, "lab").hosts.vdi.address = "x";
      segOf(f, "sandbox").trust = "maybe";
    });
    expect(problems.map((p) => `${p.file} ${p.path}`).sort()).toEqual([
      "Pulumi.lab.yaml homelab:segment.hosts.vdi.address",
      "Pulumi.sandbox.yaml homelab:segment.trust",
      "homelab.yaml domain",
    ]);
  });

  test("array indices in schema paths read like validation paths: nics[0]", () => {
    const problems = schemaProblems((f) => (segOf(f, "lab").hosts.vdi.vm.nics = [{ bridge: "Lab" }]));
    expect(problems.map((p) => p.path)).toContain("homelab:segment.hosts.vdi.vm.nics[0].bridge");
  });
});

describe("files and YAML", () => {
  test("a YAML syntax error names the file and the line, and no lab is built", () => {
    const dir = copyLab();
    fs.writeFileSync(path.join(dir, "Pulumi.lab.yaml"), "config:\n  homelab:segment:\n    description: x\n   trust: bad\n");
    const { lab, problems } = parseLab(readLabSources(dir));
    expect(lab).toBeUndefined();
    const p = find(problems, "Pulumi.lab.yaml", "line 4, column 1");
    expect(p.message).toMatch(/^YAML syntax error: /);
    expect(p.fix).toContain("line");
  });

  test("a duplicated YAML key is a syntax error at its line", () => {
    const dir = copyLab();
    const file = path.join(dir, "homelab.yaml");
    fs.writeFileSync(file, `${fs.readFileSync(file, "utf8")}\ndomain: other.example.net\n`);
    const problems = dirProblems(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.file).toBe("homelab.yaml");
    expect(problems[0]!.path).toMatch(/^line \d+, column 1$/);
    expect(problems[0]!.message).toContain("Map keys must be unique");
  });

  test("syntax errors in one file do not hide schema problems in another", () => {
    const dir = copyLab((f) => (segOf(f, "sandbox").trust = "maybe"));
    fs.writeFileSync(path.join(dir, "Pulumi.lab.yaml"), "config: [\n");
    const files = dirProblems(dir).map((p) => p.file);
    expect(files).toEqual(expect.arrayContaining(["Pulumi.lab.yaml", "Pulumi.sandbox.yaml"]));
  });

  test.each([
    ["homelab.yaml", "homelab.yaml does not exist"],
    ["Pulumi.yaml", "Pulumi.yaml does not exist"],
  ])("a missing %s is a problem at (file)", (name, message) => {
    const dir = copyLab();
    fs.unlinkSync(path.join(dir, name));
    const p = find(dirProblems(dir), name, "(file)");
    expect(p.message).toContain(message);
    expect(p.fix).toContain(`create ${name}`);
  });

  test.each([["Pulumi.foo.yaml"], ["homelab.yaml"]])("a directory named %s is one problem at (file), not an exception", (name) => {
    const dir = copyLab();
    fs.rmSync(path.join(dir, name), { force: true });
    fs.mkdirSync(path.join(dir, name));
    expect(dirProblems(dir).filter((p) => p.file === name)).toEqual([
      expect.objectContaining({
        path: "(file)",
        message: `${name} in ${dir} is a directory, not a YAML file`,
        fix: `remove or rename it, and write ${name} as a file; see the reference lab in the repository for its shape`,
      }),
    ]);
  });

  test("the size limit counts bytes on disk, not characters: 600,000 two-byte characters are 1,200,008 bytes", () => {
    const dir = copyLab();
    const text = `# ${"é".repeat(600000)}\nx: 1\n`;
    fs.writeFileSync(path.join(dir, "Pulumi.cluster.yaml"), text);
    expect(Buffer.byteLength(text)).toBe(1200008);
    expect(dirProblems(dir).filter((p) => p.file === "Pulumi.cluster.yaml")).toEqual([
      expect.objectContaining({ path: "(file)", message: "Pulumi.cluster.yaml is 1200008 bytes; a lab file is at most 1048576 bytes" }),
    ]);
    // The same text parsed from memory is measured the same way.
    const problems: Problem[] = [];
    parseYamlFile("x.yaml", text, problems);
    expect(problems.map((p) => p.message)).toEqual(["x.yaml is 1200008 bytes; a lab file is at most 1048576 bytes"]);
  });

  test("a directory that does not exist is one problem, not an exception", () => {
    const problems = dirProblems("/nonexistent/homelab");
    expect(problems).toEqual([expect.objectContaining({ path: "(directory)", message: "/nonexistent/homelab is not a directory" })]);
  });

  test("the project must be named homelab", () => {
    const p = find(dirProblems(copyLab((f) => (f["Pulumi.yaml"].name = "lab"))), "Pulumi.yaml", "name");
    expect(p.message).toContain('must be named "homelab"');
    expect(p.fix).toBe("set name: homelab");
  });

  test("a stack file whose name is not a DNS label is refused", () => {
    const dir = copyLab();
    fs.renameSync(path.join(dir, "Pulumi.lab.yaml"), path.join(dir, "Pulumi.Lab_1.yaml"));
    const p = find(dirProblems(dir), "Pulumi.Lab_1.yaml", "(stack name)");
    expect(p.value).toBe("Lab_1");
    expect(p.message).toContain("lower-case DNS label");
  });

  test("a stack file without its homelab: key, or with config that is not a map", () => {
    const problems = dirProblems(
      copyLab((f) => {
        delete f["Pulumi.lab.yaml"].config["homelab:segment"];
        f["Pulumi.sandbox.yaml"].config = "x";
      }),
    );
    expect(find(problems, "Pulumi.lab.yaml", "homelab:segment").message).toContain("is required");
    expect(find(problems, "Pulumi.sandbox.yaml", "config").message).toBe("config must be a map of keys to values");
  });
});

describe("stack config keys", () => {
  test("a misspelt homelab: key gets a did-you-mean, and the real key is missing", () => {
    const problems = schemaProblems((f) => {
      const c = f["Pulumi.cluster.yaml"].config;
      c["homelab:segmnet"] = c["homelab:segment"];
      delete c["homelab:segment"];
    });
    const p = find(problems, "Pulumi.cluster.yaml", "homelab:segmnet");
    expect(p.message).toContain('did you mean "homelab:segment"?');
    expect(p.fix).toBe("rename it to homelab:segment");
    expect(find(problems, "Pulumi.cluster.yaml", "homelab:segment").message).toContain("is required");
  });

  test("the DMZ stack does not read segment config", () => {
    const p = find(
      schemaProblems((f) => (f["Pulumi.dmz.yaml"].config["homelab:segment"] = {})),
      "Pulumi.dmz.yaml",
      "homelab:segment",
    );
    expect(p.message).toBe(
      "unknown config key (a DMZ stack reads homelab:dmz, homelab:confirmTimeoutSeconds, homelab:proxmoxApiToken, homelab:acmeDnsCredentials, homelab:wireguardKey)",
    );
  });

  test("the ACME DNS credentials: read encrypted by the DMZ stack, refused in plain text, unknown to a segment", () => {
    expect(schemaProblems((f) => (f["Pulumi.dmz.yaml"].config["homelab:acmeDnsCredentials"] = { secure: "v1:AAAAbase64" }))).toEqual([]);
    const plain = find(
      schemaProblems((f) => (f["Pulumi.dmz.yaml"].config["homelab:acmeDnsCredentials"] = "CF_DNS_API_TOKEN=abc123")),
      "Pulumi.dmz.yaml",
      "homelab:acmeDnsCredentials",
    );
    expect(plain.message).toContain("holds a secret in plain text");
    expect(JSON.stringify(plain)).not.toContain("abc123");
    expect(plain.fix).toContain("pulumi config set --secret homelab:acmeDnsCredentials -s dmz");
    const segment = find(
      schemaProblems((f) => (f["Pulumi.lab.yaml"].config["homelab:acmeDnsCredentials"] = { secure: "v1:AAAAbase64" })),
      "Pulumi.lab.yaml",
      "homelab:acmeDnsCredentials",
    );
    expect(segment.message).toContain("unknown config key");
  });

  test("the tunnel's private key: read encrypted by a stack whose end is declared, refused in plain text and never shown", () => {
    const privateKey = "qJ7c3Vn0wqJ4nV6m2b3Q5x0mZ1Yy8sVtBq7Yb8u0nWc=";
    for (const file of ["Pulumi.dmz.yaml", "Pulumi.sandbox.yaml"]) {
      expect(schemaProblems((f) => (f[file].config["homelab:wireguardKey"] = { secure: "v1:AAAAbase64" }))).toEqual([]);
      const plain = find(
        schemaProblems((f) => (f[file].config["homelab:wireguardKey"] = privateKey)),
        file,
        "homelab:wireguardKey",
      );
      expect(plain.message).toBe(
        "holds a secret in plain text in the stack file (not shown here): anyone who can read the repository can read it",
      );
      expect(JSON.stringify(plain)).not.toContain(privateKey);
      expect(plain.fix).toContain(`pulumi config set --secret homelab:wireguardKey -s ${file.split(".")[1]}`);
    }
    // A segment whose router has no end of the tunnel reads no such key.
    const none = find(
      schemaProblems((f) => {
        delete segOf(f, "lab").router.tunnel;
        f["Pulumi.lab.yaml"].config["homelab:wireguardKey"] = { secure: "v1:AAAAbase64" };
      }),
      "Pulumi.lab.yaml",
      "homelab:wireguardKey",
    );
    expect(none.message).toBe(
      "unknown config key (a segment stack reads homelab:segment, homelab:confirmTimeoutSeconds, homelab:proxmoxApiToken)",
    );
  });

  test("a private key written next to a tunnel's public key is refused, not shown, and to be replaced", () => {
    const privateKey = "qJ7c3Vn0wqJ4nV6m2b3Q5x0mZ1Yy8sVtBq7Yb8u0nWc=";
    const problems = schemaProblems((f) => (segOf(f, "lab").router.tunnel.privateKey = privateKey));
    const p = find(problems, "Pulumi.lab.yaml", "homelab:segment.router.tunnel.privateKey");
    expect(p.message).toBe(
      "unknown key \"privateKey\": a private key is never written into a lab file, where anyone who can read the repository reads it (the value is not shown here); a WireGuard end's private key is its stack's config secret homelab:wireguardKey",
    );
    expect(p.fix).toContain("make a new key pair");
    expect(JSON.stringify(problems)).not.toContain(privateKey);
  });

  test("other providers' keys are left to their providers", () => {
    expect(schemaProblems((f) => (f["Pulumi.lab.yaml"].config["proxmoxve:endpoint"] = "https://pve.lab.example.net:8006"))).toEqual([]);
  });
});

describe("check stops at the schema", () => {
  test("with a schema problem, semantic rules do not run (no duplicate report from a half-built lab)", () => {
    const dir = copyLab((f) => {
      segOf(f, "lab").hosts.vdi.address = "10.30.0.300"; // schema
      segOf(f, "cluster").hosts["cp-2"].address = "10.20.0.11"; // semantic: duplicate address
    });
    const { lab, problems } = checkLabDir(dir);
    expect(lab).toBeUndefined();
    expect(problems.map((p) => p.path)).toEqual(["homelab:segment.hosts.vdi.address"]);
  });
});
