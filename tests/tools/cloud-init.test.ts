// Proves every rendered cloud-init user data passes `cloud-init schema` (Debian's cloud-init, offline), which fails a wrong type as its negative controls show (it does not refuse an unknown key, which tests/unit checks instead); and that the sshd drop-in it writes works as Debian runs it: included first by Debian's own sshd_config (the package's pristine copy), `sshd -t` accepts the pair, and `sshd -T` for an admin from the jump host shows the lab's settings winning over Debian's (X11 forwarding off, no passwords, no root, the keys' directory, only the admins from the jump host), while the whole-file renderer's sftp line would make Debian's sshd refuse to start; the authorized keys parse with ssh-keygen. It does not boot a Debian VM (no hypervisor here).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { renderUserData, renderUserDataFiles, SSHD_DROP_IN } from "../../render/cloud-init";
import type { RenderedFile } from "../../render/files";
import { renderSshdConfig } from "../../render/sshd";
import { checkFiles, requirePrograms } from "../support/checkers";
import { referencePlan } from "../support/lab";
import { must, run } from "../support/proc";

const plans = referencePlan().userData;
const files = renderUserDataFiles(plans);
const games = plans.find((p) => p.vm === "sandbox-games")!;

/** Debian's sshd_config as the openssh-server package ships it (ucf's pristine copy, the file a fresh image has). */
const DEBIAN_SSHD_CONFIG = "/usr/share/openssh/sshd_config";

beforeAll(() => {
  requirePrograms({
    "cloud-init": "cloud-init",
    sshd: "openssh-server",
    "ssh-keygen": "openssh-client",
    [DEBIAN_SSHD_CONFIG]: "openssh-server",
  });
});

test("the reference lab renders user data for its Debian VM", () => {
  expect(files.map((f) => `${f.path} ${f.checker}`)).toEqual(["user-data/sandbox-games-user-data.yaml cloud-init"]);
});

test("every rendered user data passes cloud-init schema, quickly and with nothing to complain about", () => {
  for (const r of checkFiles(files)) {
    expect({ file: r.file, ok: r.ok, output: r.output }).toEqual({
      file: r.file,
      ok: true,
      output: expect.stringMatching(/^Valid cloud-config: \S+$/),
    });
  }
});

const broken = (name: string, edit: (t: string) => string): RenderedFile => {
  const f = files[0]!;
  const content = edit(f.content);
  if (content === f.content) throw new Error(`the edit ${name} did not change ${f.path}`);
  return { ...f, path: `broken-${name}/${path.posix.basename(f.path)}`, content };
};

test.each([
  ["a string where lock_passwd is a boolean", broken("lock", (t) => t.replace("lock_passwd: true", 'lock_passwd: "yes"'))],
  [
    "a number where ssh_genkeytypes is a list",
    broken("genkeys", (t) => t.replace(/ssh_genkeytypes:\n {2}- ed25519/, "ssh_genkeytypes: 5")),
  ],
  ["a string where write_files is a list", broken("files", (t) => t.replace(/^write_files:[\s\S]*$/m, "write_files: /etc/ssh\n"))],
])("negative control: cloud-init schema refuses %s", (_name, f) => {
  const [r] = checkFiles([f]);
  expect(r!.ok).toBe(false);
  expect(r!.output).toMatch(/Cloud config schema errors/);
});

describe("the sshd drop-in, as Debian's sshd reads it", () => {
  let dir: string;
  let main: string;
  const doc = parse(renderUserData(games)) as { write_files: { path: string; content: string }[] };
  const dropIn = doc.write_files.find((f) => f.path === SSHD_DROP_IN)!.content;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-cloud-init-"));
    fs.mkdirSync(path.join(dir, "sshd_config.d"));
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    // Debian's file with its Include pointed at our directory, and the drop-in under the name cloud-init writes.
    const debian = fs.readFileSync(DEBIAN_SSHD_CONFIG, "utf8");
    if (!debian.includes("Include /etc/ssh/sshd_config.d/*.conf"))
      throw new Error(`${DEBIAN_SSHD_CONFIG} no longer includes sshd_config.d`);
    main = path.join(dir, "sshd_config");
    fs.writeFileSync(main, debian.replace("/etc/ssh/sshd_config.d/", `${dir}/sshd_config.d/`));
    // A host key of our own, put first by -o (sshd keeps the first value), so the test reads no key of this machine.
    must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "hostkey")]);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sshd = (content: string, ...args: string[]) => {
    fs.writeFileSync(path.join(dir, "sshd_config.d", path.posix.basename(SSHD_DROP_IN)), content);
    return run(["sshd", "-f", main, "-o", `HostKey=${path.join(dir, "hostkey")}`, ...args]);
  };

  test("sshd -t accepts Debian's file with the drop-in", () => {
    const r = sshd(dropIn, "-t");
    expect({ code: r.code, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ code: 0, out: "" });
  });

  test("negative control: the whole-file renderer's sftp subsystem next to Debian's is refused", () => {
    const whole = renderSshdConfig(
      { role: "x", listen: [], allowFrom: games.allowFrom, forwarding: { kind: "none" } },
      { users: games.admins.map((a) => ({ name: a.name, keys: a.keys, deploy: false })), adminSources: [] },
    );
    const r = sshd(whole, "-t");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Subsystem 'sftp' already defined/);
  });

  test("sshd -T for an admin from the jump host: the lab's settings win over Debian's", () => {
    const r = sshd(dropIn, "-T", "-C", "user=alice,host=jump,addr=10.40.0.2");
    expect(r.code).toBe(0);
    // sshd -T prints a list setting one line per value (allowusers): join them in order.
    const settings = new Map<string, string>();
    for (const l of r.stdout.split("\n").filter(Boolean)) {
      const [k, v] = [l.split(" ")[0]!, l.slice(l.indexOf(" ") + 1)];
      settings.set(k, settings.has(k) ? `${settings.get(k)} ${v}` : v);
    }
    expect(
      Object.fromEntries(
        [
          "passwordauthentication",
          "kbdinteractiveauthentication",
          "permitrootlogin",
          "x11forwarding",
          "authorizedkeysfile",
          "allowusers",
          "authenticationmethods",
          "disableforwarding",
          "subsystem",
        ].map((k) => [k, settings.get(k)]),
      ),
    ).toEqual({
      passwordauthentication: "no",
      kbdinteractiveauthentication: "no",
      permitrootlogin: "no",
      // Debian's file says yes, after the Include: the drop-in's first value wins.
      x11forwarding: "no",
      authorizedkeysfile: "/etc/ssh/authorized_keys.d/%u",
      allowusers: "alice@10.40.0.2/32 bob@10.40.0.2/32",
      authenticationmethods: "publickey",
      disableforwarding: "yes",
      subsystem: "sftp /usr/lib/openssh/sftp-server",
    });
  });

  test("each authorized keys file parses with ssh-keygen", () => {
    const keyFiles = doc.write_files.filter((f) => f.path !== SSHD_DROP_IN);
    expect(keyFiles.length).toBe(games.admins.length);
    const results = checkFiles(keyFiles.map((f) => ({ path: f.path.slice(1), content: f.content, checker: "authorized-keys" as const })));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
