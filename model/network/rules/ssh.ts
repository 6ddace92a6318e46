/** Network rules about SSH: jump hosts, host keys to verify, and keys that belong to one identity. */
import { keyMaterial, type Lab, LAB_FILE, own } from "../../lab";
import type { LabIndex } from "../../lab-index";
import { joinPath, type Problem, problem } from "../../problems";
import { duplicates, list, place, type Rule, sp, type Where } from "../../rule";
import { didYouMean } from "../../suggest";

/** Key material of an OpenSSH public key (type and base64), without its comment. */
/** The short fingerprint-like form of a key for messages: type and the last 12 characters. */
export function showKey(key: string): string {
  const [type, data] = key.split(" ");
  return `${type} ...${(data ?? "").slice(-12)}`;
}

export const sshJumpHosts: Rule = {
  id: "ssh.jump-hosts",
  description:
    "Each segment's jumpHost names a host of the segment with role jump, an sshHostKey (admins and Pulumi verify it on first contact) and a mac (the router admits SSH into itself only from the jump host's address and MAC together).",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      const where = { file: seg.file, path: sp("jumpHost") };
      const h = own(seg.hosts, seg.jumpHost);
      if (!h) {
        const jumps = Object.entries(seg.hosts)
          .filter(([, x]) => x.role === "jump")
          .map(([id]) => id);
        out.push(
          problem(
            where,
            seg.jumpHost,
            `jumpHost "${seg.jumpHost}" is not a host of ${seg.name}${didYouMean(seg.jumpHost, Object.keys(seg.hosts))} (hosts with role jump: ${list(jumps)})`,
            jumps.length > 0 ? `set jumpHost to ${jumps[0]}` : `add a host with role jump and an sshHostKey, and name it in jumpHost`,
          ),
        );
        continue;
      }
      if (h.role !== "jump")
        out.push(
          problem(
            where,
            seg.jumpHost,
            `${seg.name}/${seg.jumpHost} has role ${h.role}; the jump host must have role jump`,
            `set hosts.${seg.jumpHost}.role to jump, or name the jump host in jumpHost`,
          ),
        );
      if (h.sshHostKey === undefined)
        out.push(
          problem(
            { file: seg.file, path: sp("hosts", seg.jumpHost, "sshHostKey") },
            undefined,
            `the jump host ${seg.name}/${seg.jumpHost} has no sshHostKey; admins and Pulumi must verify it before they trust it`,
            `add its host key: ssh-keyscan -t ed25519 ${h.address}`,
          ),
        );
      if (h.mac === undefined)
        out.push(
          problem(
            { file: seg.file, path: sp("hosts", seg.jumpHost, "mac") },
            undefined,
            `the jump host ${seg.name}/${seg.jumpHost} has no mac; ${seg.name}'s router admits SSH into itself only from the jump host's address and MAC together, since any host of ${seg.name} can take an address`,
            `add the MAC of its NIC (a VM's is net0 in its Proxmox config), such as mac: 52:54:00:12:34:56`,
          ),
        );
    }
    return out;
  },
};

export const sshHostKeys: Rule = {
  id: "ssh.host-keys",
  description: "Every NixOS host has an sshHostKey: Pulumi deploys it over SSH and must verify what it connects to.",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const [id, h] of Object.entries(seg.hosts)) {
        if (h.os !== "nixos" || h.sshHostKey !== undefined || id === seg.jumpHost) continue; // the jump host: ssh.jump-hosts
        out.push(
          problem(
            { file: seg.file, path: sp("hosts", id, "sshHostKey") },
            undefined,
            `${seg.name}/${id} runs NixOS, which Pulumi deploys over SSH, but has no sshHostKey to verify`,
            `add its host key: ssh-keyscan -t ed25519 ${h.address}`,
          ),
        );
      }
    }
    return out;
  },
};

/** A public key of the lab, whose it is, and where it is configured. */
type KeyRef = Where & { key: string; label: string; kind: "admin" | "deploy" | "host" };

/** Every public key of the lab: admins' keys, the deploy key, and every host key. */
function keyRefs(ix: LabIndex): KeyRef[] {
  const { lab } = ix;
  const keys: KeyRef[] = [];
  for (const name of Object.keys(lab.admins).sort()) {
    lab.admins[name]!.keys.forEach((key, i) =>
      keys.push({ file: LAB_FILE, path: joinPath("admins", name, "keys", i), key, label: `admin ${name}`, kind: "admin" }),
    );
  }
  keys.push({ file: LAB_FILE, path: "ssh.deploy.key", key: lab.ssh.deploy.key, label: "the deploy identity", kind: "deploy" });
  keys.push({ file: LAB_FILE, path: "dmz.infra.sshHostKey", key: lab.dmz.infra.sshHostKey, label: "the DMZ infra host", kind: "host" });
  for (const seg of ix.segments) {
    keys.push({
      file: seg.file,
      path: sp("router.sshHostKey"),
      key: seg.router.sshHostKey,
      label: `router ${seg.router.name}`,
      kind: "host",
    });
    for (const [id, h] of Object.entries(seg.hosts))
      if (h.sshHostKey)
        keys.push({ file: seg.file, path: sp("hosts", id, "sshHostKey"), key: h.sshHostKey, label: `${seg.name}/${id}`, kind: "host" });
  }
  return keys;
}

/** The problem of a key used twice: why that is wrong for these two identities, and how to fix it. */
function sharedKey(dup: KeyRef, first: KeyRef): Problem {
  const why =
    dup.kind === "host" && first.kind === "host"
      ? "two machines with one host key are clones, and SSH can no longer tell them apart"
      : dup.kind === "deploy" || first.kind === "deploy"
        ? "the deploy key must be Pulumi's alone, so a person's key can be revoked without breaking deploys"
        : dup.kind === "admin" && first.kind === "admin"
          ? "a shared key defeats attribution: logs cannot tell who logged in"
          : "a host key and a login key must never be the same key";
  const fix =
    dup.kind === "host"
      ? `regenerate ${dup.label}'s host key (ssh-keygen -t ed25519) and record the new public key`
      : dup.kind === "deploy"
        ? "generate a separate deploy key (ssh-keygen -t ed25519 -C pulumi-deploy) and load its private key into the deploying machine's ssh-agent"
        : `give ${dup.label} a key of their own (ssh-keygen -t ed25519)`;
  return problem(
    dup,
    showKey(dup.key),
    `${dup.label} uses the key ${showKey(dup.key)}, which is also ${first.label}'s (${place(first)}); ${why}`,
    fix,
  );
}

/** Login names that collide with each other or with system accounts. */
function accountProblems(lab: Lab): Problem[] {
  const out: Problem[] = [];
  const user = lab.ssh.deploy.user;
  if (own(lab.admins, user)) {
    out.push(
      problem(
        { file: LAB_FILE, path: "ssh.deploy.user" },
        user,
        `the deploy user "${user}" is also an admin's name (admins.${user}); sshd and NixOS would merge the two accounts`,
        `rename the deploy user, e.g. deploy or pulumi`,
      ),
    );
  }
  // Login names that are system accounts: root logins are refused by every sshd, and the
  // others belong to daemons (NixOS would redefine them).
  const system = new Set(["root", "daemon", "bin", "sys", "nobody", "sshd", "nginx", "dnsmasq", "chrony", "nixbld"]);
  for (const name of Object.keys(lab.admins).sort()) {
    if (system.has(name))
      out.push(
        problem(
          { file: LAB_FILE, path: `admins.${name}` },
          name,
          `"${name}" is a system account, not a person: root login is refused everywhere and daemon accounts must not get keys`,
          `name the admin after the person, e.g. alice`,
        ),
      );
  }
  if (system.has(user))
    out.push(
      problem(
        { file: LAB_FILE, path: "ssh.deploy.user" },
        user,
        `"${user}" is a system account; the deploy identity needs its own account with sudo for the apply command`,
        "use deploy",
      ),
    );
  return out;
}

export const sshKeys: Rule = {
  id: "ssh.keys",
  description:
    "Every public key appears once: admins do not share keys (that defeats attribution), the deploy key is nobody's admin key, and no two hosts or routers share a host key (a cloned machine); the deploy user is not also an admin's name.",
  check(ix) {
    return [...duplicates(keyRefs(ix), (k) => keyMaterial(k.key), sharedKey), ...accountProblems(ix.lab)];
  },
};
