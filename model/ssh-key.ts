/**
 * OpenSSH public key lines, parsed for real: the base64 blob is decoded and its own type
 * string and key length must match the type the line declares. A line that only looks
 * right (a key cut in two by a line wrap, a type pasted onto another key's blob) would be
 * written into authorized_keys and lock its owner out; a private key pasted by mistake is
 * refused without being repeated, with a request to rotate it.
 */
import { PRIVATE_KEY_TEXT } from "./problems";

/** What is wrong with a key line, and how to fix it. Never contains the line itself. */
export interface KeyRefusal {
  readonly message: string;
  readonly fix: string;
}

/** A key line that parsed: its type and its size in bits. */
export interface PublicKey {
  readonly type: KeyType;
  readonly bits: number;
}

/** The key types the lab accepts. */
export const KEY_TYPES = [
  "ssh-ed25519",
  "sk-ssh-ed25519@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** RSA keys below this many bits are refused (NIST's level for use past 2030). */
export const MIN_RSA_BITS = 3072;

const EXAMPLE = '"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... alice@laptop"';
const PASTE_PUB = "paste the whole line of the .pub file (ssh-keygen -y -f <private key> prints it), on one line";

function refuse(message: string, fix = PASTE_PUB): KeyRefusal {
  return { message, fix };
}

/** Reads SSH wire-format strings (uint32 length, then bytes) from a blob. */
class WireReader {
  private at = 0;
  constructor(private readonly blob: Buffer) {}
  /** The next string, or undefined when the blob ends first. */
  next(): Buffer | undefined {
    if (this.at + 4 > this.blob.length) return undefined;
    const n = this.blob.readUInt32BE(this.at);
    if (this.at + 4 + n > this.blob.length) return undefined;
    const out = this.blob.subarray(this.at + 4, this.at + 4 + n);
    this.at += 4 + n;
    return out;
  }
  get done(): boolean {
    return this.at === this.blob.length;
  }
}

/** Bits of an SSH mpint (big-endian, a leading zero byte when the top bit is set). */
function mpintBits(m: Buffer): number {
  let i = 0;
  while (i < m.length && m[i] === 0) i++;
  if (i === m.length) return 0;
  return (m.length - i - 1) * 8 + (32 - Math.clz32(m[i]!));
}

const ECDSA_POINT_BYTES: Readonly<Record<string, number>> = { nistp256: 65, nistp384: 97, nistp521: 133 };

/** Check the fields after the type string for `type`; the key's bits, or what is wrong. */
function keyBody(type: KeyType, r: WireReader): number | KeyRefusal {
  switch (type) {
    case "ssh-ed25519":
    case "sk-ssh-ed25519@openssh.com": {
      const key = r.next();
      if (key?.length !== 32)
        return refuse("the key data is cut short or too long: an ed25519 key is 32 bytes (a key wrapped over two lines?)");
      if (type.startsWith("sk-") && r.next() === undefined) return refuse("the security-key data has no application string (cut short?)");
      return 256;
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
    case "sk-ecdsa-sha2-nistp256@openssh.com": {
      const curve = r.next()?.toString("latin1");
      const expected = /nistp\d+/.exec(type)![0];
      if (curve !== expected) return refuse(`the key data names curve ${curve ?? "(none)"}, but the line says ${type}`);
      const point = r.next();
      if (point?.length !== ECDSA_POINT_BYTES[expected])
        return refuse(`the key data is cut short or too long for a ${expected} key (a key wrapped over two lines?)`);
      if (type.startsWith("sk-") && r.next() === undefined) return refuse("the security-key data has no application string (cut short?)");
      return Number(expected.slice(5));
    }
    case "ssh-rsa": {
      const e = r.next();
      const n = r.next();
      if (!e || !n) return refuse("the key data is cut short (a key wrapped over two lines?)");
      return mpintBits(n);
    }
  }
}

/**
 * Parse one public key line: `<type> <base64> [comment]`. Returns the key, or why it is
 * refused. The refusal never repeats the line, which may be a private key.
 */
export function parseSshPublicKey(line: string): PublicKey | KeyRefusal {
  if (PRIVATE_KEY_TEXT.test(line) || /PRIVATE KEY/.test(line)) {
    return refuse(
      "this is a private key, not a public key (its text is not shown): a private key must never be in the lab's files, and this one must now be treated as leaked",
      "remove it from the file and from its history, make a new key pair (ssh-keygen -t ed25519), retire the old key wherever it is trusted, and paste the new .pub line here",
    );
  }
  if (/[\r\n]/.test(line.trim()))
    return refuse(
      "the key is written over more than one line; a key line must be one line",
      "join the lines into one: <type> <base64> <comment>, with no line break",
    );
  const [type, data] = line.trim().split(/\s+/);
  if (type === "ssh-dss")
    return refuse(
      "DSA keys (ssh-dss) are refused: OpenSSH no longer accepts them",
      "make an ed25519 key (ssh-keygen -t ed25519) and paste its .pub line",
    );
  if (!(KEY_TYPES as readonly string[]).includes(type ?? "")) {
    return refuse(`must be an OpenSSH public key line such as ${EXAMPLE}: it starts with its type (${KEY_TYPES.join(", ")})`);
  }
  const keyType = type as KeyType;
  if (data === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) {
    return refuse(`the key data after "${keyType}" is not base64 (is part of it missing, or a line break or quote inside it?)`);
  }
  const r = new WireReader(Buffer.from(data, "base64"));
  const embedded = r.next()?.toString("latin1");
  if (embedded !== keyType) {
    return refuse(
      embedded !== undefined && /^[a-z0-9@.-]+$/.test(embedded)
        ? `the line says ${keyType}, but the key data is a ${embedded} key`
        : "the key data is not an SSH public key (cut short, or wrapped over two lines?)",
      embedded !== undefined && (KEY_TYPES as readonly string[]).includes(embedded)
        ? `start the line with ${embedded}, or paste the .pub line again unchanged`
        : PASTE_PUB,
    );
  }
  const bits = keyBody(keyType, r);
  if (typeof bits !== "number") return bits;
  if (!r.done) return refuse("the key data has bytes after the key (two keys run together, or a wrapped line joined wrongly?)");
  if (keyType === "ssh-rsa" && bits < MIN_RSA_BITS) {
    return refuse(
      `this RSA key has ${bits} bits; RSA keys shorter than ${MIN_RSA_BITS} bits are refused`,
      "make an ed25519 key (ssh-keygen -t ed25519) and paste its .pub line",
    );
  }
  return { type: keyType, bits };
}

/** True when parseSshPublicKey refused the line. */
export function isRefusal(r: PublicKey | KeyRefusal): r is KeyRefusal {
  return "message" in r;
}
