/**
 * The schema's value rules, each stating what is allowed and computing a fix the user can
 * follow for the value received (`write "10.30.0.0/24"`, not "change the value"). A rule
 * fails as a zod `custom` issue whose `params.fix` the loader shows as the fix.
 */
import { X509Certificate } from "crypto";
import { z } from "zod";
import { PROJECT } from "./lab";
import { Cidr, intToIp, ipToInt, isIpv4 } from "./net";
import { isRefusal, parseSshPublicKey } from "./ssh-key";
import { suggest } from "./suggest";

/** What is wrong with a value and how to fix it; undefined when the value is fine. */
export type Verdict = { readonly message: string; readonly fix: string; readonly rename?: string } | undefined;

/** Report a verdict as a custom issue carrying its fix (and, for a name, the name to rename to). */
function report(ctx: z.RefinementCtx, v: Verdict): void {
  if (v) ctx.addIssue({ code: "custom", message: v.message, params: { fix: v.fix, ...(v.rename ? { rename: v.rename } : {}) } });
}

/** A string that must pass `verdict`; `required`, when given, says why it may not be left out. */
export function checkedString(verdict: (s: string) => Verdict, required?: string) {
  const base = required === undefined ? z.string() : z.string({ error: (i) => (i.input === undefined ? required : undefined) });
  return base.superRefine((s, ctx) => {
    report(ctx, verdict(s));
  });
}

/** A string matching `re`, else `message` with `fix`. */
export function pattern(re: RegExp, message: string, fix: string) {
  return checkedString((s) => (re.test(s) ? undefined : { message, fix }));
}

// --- names ------------------------------------------------------------------------------------

const LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The nearest DNS label to `s`: lower case, other characters as "-", at most 63 characters. */
function toLabel(s: string): string {
  const t = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return LABEL.test(t) ? t : "";
}

/** The ids of segments, hosts, services, nodes, datastores: lower-case DNS labels. */
export function nameVerdict(s: string): Verdict {
  if (LABEL.test(s)) return undefined;
  const label = toLabel(s);
  return {
    message: 'must be a lower-case DNS label: a-z, 0-9 and "-", starting with a letter, not ending with "-", at most 63 characters',
    fix: label ? `write "${label}"` : 'write a name such as "web-1"',
    ...(label ? { rename: label } : {}),
  };
}

// --- addresses --------------------------------------------------------------------------------

const IPV4_RULE =
  "must be an IPv4 address: four numbers 0-255 joined by dots, without leading zeros or a prefix length, such as 10.10.0.10";

/** A dotted-quad IPv4 address. */
export function ipv4Verdict(s: string): Verdict {
  if (isIpv4(s)) return undefined;
  const [addr] = s.split("/");
  if (s.includes("/") && addr !== undefined && isIpv4(addr))
    return { message: `${IPV4_RULE}; a prefix length belongs to a subnet, not to an address`, fix: `write "${addr}"` };
  const parts = s.split(".");
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255))
    return { message: IPV4_RULE, fix: `write "${parts.map(Number).join(".")}"` };
  return { message: IPV4_RULE, fix: "write the address as four numbers 0-255 joined by dots, such as 10.10.0.10" };
}

/** An IPv4 network: the network address and a prefix length 0-32, no host bits set. */
export function cidrVerdict(s: string): Verdict {
  if (Cidr.parse(s) !== undefined) return undefined;
  const m = /^(.*)\/(\d+)$/.exec(s);
  if (!m) {
    return isIpv4(s)
      ? {
          message: "must be an IPv4 network with its prefix length, such as 10.10.0.0/24",
          fix: `write the network with its prefix length, such as "${s}/24"`,
        }
      : {
          message: "must be an IPv4 network: an address, '/' and a prefix length 0-32, such as 10.10.0.0/24",
          fix: "write it as <network address>/<prefix length>, such as 10.10.0.0/24",
        };
  }
  const [, addr, bits] = m as unknown as [string, string, string];
  if (!isIpv4(addr))
    return {
      message: `the address part "${addr}" ${IPV4_RULE}`,
      fix: "write the network address as four numbers 0-255 joined by dots, such as 10.10.0.0/24",
    };
  const prefix = Number(bits);
  if (prefix > 32)
    return {
      message: `an IPv4 prefix length runs from 0 to 32, not ${prefix}`,
      fix: `write a prefix length from 0 to 32, such as "${addr}/24"`,
    };
  const net = intToIp(ipToInt(addr) & (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0));
  return {
    message: `has host bits set: ${s} lies in the network ${net}/${prefix}, and a subnet is written as its network address`,
    fix: `write "${net}/${prefix}"`,
  };
}

/** A NIC's MAC address: six lower-case hex pairs joined by ":", unicast. */
export function macVerdict(s: string): Verdict {
  const hex = s.toLowerCase().replace(/[^0-9a-f]/g, "");
  const canonical = hex.length === 12 ? (hex.match(/../g) ?? []).join(":") : undefined;
  if (canonical === s && (parseInt(s.slice(0, 2), 16) & 1) === 0) return undefined;
  if (canonical !== undefined && (parseInt(canonical.slice(0, 2), 16) & 1) === 1) {
    return {
      message: "is a multicast MAC address (the first byte is odd); a NIC's own address is unicast",
      fix: "use a locally administered unicast address such as 52:54:00:12:34:56 (Proxmox's prefix is bc:24:11)",
    };
  }
  const rule = "must be a MAC address: six hex pairs in lower case joined by ':', such as 52:54:00:12:34:56";
  return canonical
    ? { message: rule, fix: `write "${canonical}"` }
    : { message: rule, fix: "write six hex pairs joined by ':', such as 52:54:00:12:34:56" };
}

// --- ports, keys, settings --------------------------------------------------------------------

const PORT_RULE = 'a port is written with its protocol, as "5000/tcp" or "5000/udp" (port 1-65535)';

/** `2049/tcp` or `123/udp`; a bare number (or a number with another protocol) is told which form to use. */
export function portProtoVerdict(v: unknown): Verdict {
  const text = typeof v === "number" ? String(v) : v;
  if (typeof text !== "string") return { message: PORT_RULE, fix: 'write the port as text such as "5000/tcp"' };
  const m = /^\s*(\d+)\s*(?:\/\s*([A-Za-z]+))?\s*$/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  const proto = m?.[2]?.toLowerCase();
  if (m && port >= 1 && port <= 65535 && (proto === "tcp" || proto === "udp") && text === `${port}/${proto}`) return undefined;
  if (m && (port < 1 || port > 65535)) return { message: `${PORT_RULE}; ${port} is out of range`, fix: "use a port from 1 to 65535" };
  if (m && proto === undefined) return { message: PORT_RULE, fix: `write "${port}/tcp" (or "${port}/udp")` };
  if (m && (proto === "tcp" || proto === "udp")) return { message: PORT_RULE, fix: `write "${port}/${proto}"` };
  return { message: PORT_RULE, fix: 'write the port and its protocol, such as "5000/tcp"' };
}

/** An OpenSSH public key line, decoded (ssh-key.ts). */
export function sshKeyVerdict(s: string): Verdict {
  const r = parseSshPublicKey(s);
  return isRefusal(r) ? r : undefined;
}

/** What a WireGuard key is, as `wg genkey` and `wg pubkey` print it. */
const WG_KEY_RULE = 'must be a WireGuard public key: 32 bytes in base64, 44 characters ending in "=", as wg pubkey prints it';

/** How to make a WireGuard key pair whose private half never touches a lab file. */
export const WG_KEY_FIX =
  "make a pair with `wg genkey | tee wireguard.key | wg pubkey`, write the printed public key here and store wireguard.key as the stack's secret homelab:wireguardKey (pulumi config set --secret homelab:wireguardKey -s <stack> < wireguard.key)";

/** A WireGuard public key: base64 of exactly 32 bytes, canonical (what `wg pubkey` prints). */
export function wireguardKeyVerdict(s: string): Verdict {
  if (/^[A-Za-z0-9+/]{43}=$/.test(s) && Buffer.from(s, "base64").toString("base64") === s) return undefined;
  const trimmed = s.trim();
  if (trimmed !== s && wireguardKeyVerdict(trimmed) === undefined)
    return { message: `${WG_KEY_RULE}; it has spaces around it`, fix: "write the key without the spaces around it" };
  const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) ? Buffer.from(trimmed, "base64").length : undefined;
  return {
    message:
      bytes === undefined ? `${WG_KEY_RULE}; it is not base64` : `${WG_KEY_RULE}; it decodes to ${bytes} byte${bytes === 1 ? "" : "s"}`,
    fix: WG_KEY_FIX,
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * One PEM certificate and nothing else: a private key here is refused unshown (it would sit in
 * a file anyone with the repository reads), several certificates are refused because the
 * proxy trusts exactly one per backend.
 */
export function pemCertificateVerdict(s: string): Verdict {
  const blocks = [...s.matchAll(PEM_BLOCK)].map((m) => m[1]!);
  if (blocks.some((b) => b.includes("PRIVATE KEY")))
    return {
      message: "holds a private key (not shown): a key is never written into a lab file, where anyone who can read the repository reads it",
      fix: "remove the key, make a new key and certificate on the backend (this key is out), and write only the new certificate here",
    };
  const fix =
    "paste the certificate as a YAML block (certificate: |), from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----; openssl s_client -connect <host>:<port> </dev/null | openssl x509 prints a backend's";
  if (blocks.length !== 1 || blocks[0] !== "CERTIFICATE")
    return { message: `must be one PEM certificate; it holds ${blocks.length === 0 ? "no PEM block" : blocks.join(", ")}`, fix };
  if (s.replace(PEM_BLOCK, "").trim() !== "") return { message: "must be one PEM certificate and nothing around it", fix };
  try {
    new X509Certificate(s);
  } catch {
    return { message: "is a PEM block that does not parse as an X.509 certificate", fix };
  }
  return undefined;
}

let zones: ReadonlySet<string> | undefined;

/**
 * Canonical IANA time zone names, and UTC: candidates for a did-you-mean only. The list
 * leaves out names ICU files under an older alias (Node 20 lists Asia/Calcutta, not
 * Asia/Kolkata) and the Etc/GMT offsets, so it cannot decide what is valid.
 */
function timeZones(): ReadonlySet<string> {
  return (zones ??= new Set([...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/UTC"]));
}

/** Each part of an IANA name starts with a capital: `Europe/Berlin`, `Etc/GMT+5`, `America/Port-au-Prince`. */
const ZONE_SHAPE = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/;

/**
 * True when the runtime's tzdata knows `s`, aliases included. ICU matches names without
 * regard to case, while a host's tzdata does not, so the spelling is checked too.
 */
function isTimeZone(s: string): boolean {
  if (!ZONE_SHAPE.test(s)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: s });
    return true;
  } catch (e) {
    if (e instanceof RangeError) return false;
    throw e;
  }
}

/** An IANA time zone name (hosts and the NTP docs use it). */
export function timeZoneVerdict(s: string): Verdict {
  if (timeZones().has(s) || isTimeZone(s)) return undefined;
  const hint = suggest(s, timeZones());
  return {
    message: `"${s}" is not an IANA time zone name (such as Europe/Berlin, America/New_York or UTC)`,
    fix: hint ? `write "${hint}"` : "write a name from the IANA list (timedatectl list-timezones prints it), or UTC",
  };
}

/** `<org>/<project>`; the project part must be this project's name, or the DMZ would read another project's stacks. */
export function stackPrefixVerdict(s: string): Verdict {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(s);
  if (!m)
    return {
      message: 'must be "<org>/<project>", such as organization/homelab',
      fix: `write "organization/${PROJECT}" on a self-managed backend, or "<your org>/${PROJECT}" on Pulumi Cloud`,
    };
  if (m[2] !== PROJECT) {
    return {
      message: `the project part "${m[2]!}" must be this project's name, "${PROJECT}" (name: in Pulumi.yaml): the DMZ reads its segments' stacks as <org>/${PROJECT}/<segment>`,
      fix: `write "${m[1]!}/${PROJECT}"`,
    };
  }
  return undefined;
}
