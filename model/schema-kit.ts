/**
 * The building blocks of every domain's schema part: strict objects whose unknown keys get a
 * did-you-mean, and the value types the lab's files share (names, addresses, ports, keys).
 * `schema.ts` composes the domain parts into the files' schemas.
 */
import { z } from "zod";
import { Cidr, isIpv4, isMac } from "./net";
import { didYouMean } from "./suggest";

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

/**
 * The message of a discriminated union whose discriminator matched nothing. zod types the
 * issue as a union issue, but a non-object input arrives as `invalid_type`, which keeps
 * zod's own message.
 */
export function unionError(message: string) {
  return (iss: { readonly code: string }) => (iss.code === "invalid_union" ? message : undefined);
}

/** The message for one unknown key. Exported for the loader, which splits per key. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (PASSWORD_KEY.test(key)) {
    return `unknown key "${key}": SSH password login cannot be configured anywhere in this lab; remove the key and add the person's public key under admins in homelab.yaml`;
  }
  return `unknown key "${key}"${didYouMean(key, known)} (allowed keys: ${[...known].sort().join(", ")})`;
}

/** A lower-case DNS label: the ids of segments, hosts, services, nodes. */
export const Name = z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$/, {
  error: "must be a lower-case DNS label: a-z, 0-9 and '-', starting with a letter, at most 32 characters",
});

export const Ipv4 = z.string().refine(isIpv4, { error: "must be an IPv4 address such as 10.10.0.10" });

export const CidrText = z
  .string()
  .refine((s) => Cidr.parse(s) !== undefined, { error: "must be an IPv4 network such as 10.10.0.0/24 (no host bits set)" });

export const Mac = z.string().refine(isMac, { error: "must be a unicast MAC address in lower case, such as 52:54:00:12:34:56" });

export const Port = z.number().int().min(1).max(65535);

/** `2049/tcp` or `123/udp`. */
export const PortProto = z
  .string()
  .regex(/^([1-9]\d{0,4})\/(tcp|udp)$/, { error: 'must look like "2049/tcp" or "123/udp"' })
  .refine((s) => Number(s.split("/")[0]) <= 65535, { error: "port must be 1-65535" });

/** An OpenSSH public key line. Only modern key types are accepted. */
export const SshPublicKey = z
  .string()
  .regex(/^(ssh-ed25519|sk-ssh-ed25519@openssh\.com|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa) [A-Za-z0-9+/]+={0,2}( \S.*)?$/, {
    error: 'must be an OpenSSH public key line such as "ssh-ed25519 AAAA... alice@laptop"',
  })
  .refine((s) => !s.startsWith("ssh-rsa ") || s.split(" ")[1]!.length >= 540, {
    error: "RSA keys shorter than 3072 bits are refused; use ssh-ed25519",
  });

/** A stated reason: why a flow, an opening or an exposure must exist. */
export const Reason = z.string().min(10, { error: "must say why, in at least 10 characters" });
