/**
 * The building blocks of every domain's schema part: strict objects whose unknown keys get a
 * did-you-mean, and the value types the lab's files share (names, addresses, ports, keys).
 * `schema.ts` composes the domain parts into the files' schemas.
 */
import { z } from "zod";
import { IFNAME_MAX, VLAN_MAX, VLAN_MIN, ifaceNameProblem } from "./network/interface";
import { didYouMean } from "./suggest";
import {
  checkedString,
  cidrVerdict,
  ipv4Verdict,
  macVerdict,
  nameVerdict,
  portProtoVerdict,
  sshKeyVerdict,
  wireguardKeyVerdict,
} from "./values";

/** Keys that would switch on password login somewhere. They are refused by name (and `passthrough` is not one). */
export const PASSWORD_KEY = /passw(or)?d|^pass$|kbd.?interactive|keyboard.?interactive|challenge.?response/i;

/** A strict object whose unknown keys get a did-you-mean against its own shape. */
export function obj<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      return iss.keys.map((k) => unknownKeyMessage(k, known)).join("; ");
    },
  });
}

/** The fix for each union's own message (a union's error map can give a message only). */
export const UNION_FIXES: ReadonlyMap<string, string> = new Map<string, string>();

/** Record the fix the loader shows for a union's `message`; returns the message. */
export function unionRule(message: string, fix: string): string {
  (UNION_FIXES as Map<string, string>).set(message, fix);
  return message;
}

/**
 * The message of a discriminated union whose discriminator matched nothing, and its fix. zod
 * types the issue as a union issue, but a non-object input arrives as `invalid_type`, which
 * the loader words itself.
 */
export function unionError(message: string, fix: string) {
  unionRule(message, fix);
  return (iss: { readonly code: string }) => (iss.code === "invalid_union" ? message : undefined);
}

/** Keys that would hold a private key (`privateKey`, `private_key`): no lab file holds one. */
export const PRIVATE_KEY_NAME = /private.?key/i;

/** The fix for a private key written into a lab file: it is out, so it is replaced, and the new one becomes a stack secret. */
export const PRIVATE_KEY_FIX =
  "remove the key and make a new key pair (this private key was written where others can read it); a WireGuard end's new private key is its stack's secret: pulumi config set --secret homelab:wireguardKey -s <stack> < wireguard.key";

/** The message for one unknown key. Exported for the loader, which splits per key. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (PRIVATE_KEY_NAME.test(key)) {
    return `unknown key "${key}": a private key is never written into a lab file, where anyone who can read the repository reads it (the value is not shown here); a WireGuard end's private key is its stack's config secret homelab:wireguardKey`;
  }
  if (PASSWORD_KEY.test(key)) {
    return `unknown key "${key}": SSH password login cannot be configured anywhere in this lab; remove the key and add the person's public key under admins in homelab.yaml`;
  }
  return `unknown key "${key}"${didYouMean(key, known)} (allowed keys: ${[...known].sort().join(", ")})`;
}

/** A lower-case DNS label of at most 63 characters: the ids of segments, hosts, services, nodes. */
export const Name = checkedString(nameVerdict);

export const Ipv4 = checkedString(ipv4Verdict);

/** An IPv4 network: its network address and a prefix length 0-32. */
export const CidrText = checkedString(cidrVerdict);

export const Mac = checkedString(macVerdict);

/** A MAC the model cannot do without; `why` is shown when it is missing. */
export const RequiredMac = (why: string) => checkedString(macVerdict, why);

export const Port = z.number().int().min(1).max(65535);

/** `2049/tcp` or `123/udp`; a bare `5000` is refused with the form to write. */
export const PortProto = z
  .unknown()
  .superRefine((v, ctx) => {
    const verdict = portProtoVerdict(v);
    if (verdict) ctx.addIssue({ code: "custom", message: verdict.message, params: { fix: verdict.fix } });
  })
  .transform((v) => String(v));

/** An OpenSSH public key line, decoded and checked (ssh-key.ts). */
export const SshPublicKey = checkedString(sshKeyVerdict);

/** A WireGuard public key (base64 of 32 bytes). Its private half is never in a lab file: it is a stack's config secret. */
export const WireguardKey = checkedString(wireguardKeyVerdict);

/** A stated reason: why a flow, an opening or an exposure must exist. */
export const Reason = z.string().min(10, { error: "must say why, in at least 10 characters" });

/** An 802.1Q VLAN id. */
export const VlanId = z
  .number()
  .int()
  .min(VLAN_MIN, { error: `a VLAN id is ${VLAN_MIN}-${VLAN_MAX} (0 is the priority tag)` })
  .max(VLAN_MAX, { error: `a VLAN id is ${VLAN_MIN}-${VLAN_MAX} (4095 is reserved)` });

/** A Linux interface name: a port (`enp2s0`) or a VLAN sub-interface (`enp2s0.20`). */
export const IfaceName = checkedString((s) => {
  const why = ifaceNameProblem(s);
  return why === undefined
    ? undefined
    : {
        message: `must be a Linux interface name: it ${why} (Linux allows at most ${IFNAME_MAX} characters)`,
        fix: "write the name as `ip link` shows it, such as enp2s0, or enp2s0.20 for VLAN 20 tagged on enp2s0",
      };
});
