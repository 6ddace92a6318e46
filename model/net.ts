/**
 * IPv4 values for the model. Addresses and CIDRs are parsed once, at the edge, with
 * ipaddr.js; everything past the schema works on these values, never on string slices.
 */
import * as ipaddr from "ipaddr.js";

/** True when `text` is a dotted-quad IPv4 address in canonical form (no leading zeros, no shorthand). */
export function isIpv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) && ipaddr.IPv4.parse(text).toString() === text;
}

/** A canonical dotted quad: four decimal octets without leading zeros. */
const DOTTED_QUAD =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The 32-bit unsigned value of an IPv4 address. */
export function ipToInt(ip: string): number {
  // Every address past the schema is canonical: read it directly. Anything else (octal,
  // hex, shorthand) goes to ipaddr.js, which reads it as the kernel would.
  const m = DOTTED_QUAD.exec(ip);
  if (m) return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const bytes = ipaddr.IPv4.parse(ip).toByteArray();
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** The dotted-quad text of a 32-bit unsigned value. */
export function intToIp(value: number): string {
  const v = value >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

/** Compare two IPv4 addresses numerically (for sorting). */
export function compareIp(a: string, b: string): number {
  return ipToInt(a) - ipToInt(b);
}

/** Order networks by address, then by prefix length (wider first). */
export function compareCidr(a: Cidr, b: Cidr): number {
  return compareIp(a.network, b.network) || a.prefix - b.prefix;
}

/** An IPv4 network in CIDR notation, parsed once. */
export class Cidr {
  /** The network address, e.g. `10.10.0.0`. */
  readonly network: string;
  /** The prefix length, 0..32. */
  readonly prefix: number;
  private readonly base: number;
  private readonly size: number;

  private constructor(network: string, prefix: number) {
    this.network = network;
    this.prefix = prefix;
    this.base = ipToInt(network);
    this.size = 2 ** (32 - prefix);
  }

  /**
   * Parse `a.b.c.d/n`. Returns undefined for anything else, including a CIDR whose
   * address has host bits set (`10.0.0.1/24`): the model wants the network itself.
   */
  static parse(text: string): Cidr | undefined {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(text)) return undefined;
    const [addr, bits] = text.split("/") as [string, string];
    if (!isIpv4(addr)) return undefined;
    const prefix = Number(bits);
    if (prefix < 0 || prefix > 32) return undefined;
    const [net] = ipaddr.IPv4.parseCIDR(text);
    const network = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
    if (net.toString() !== network) return undefined;
    return new Cidr(network, prefix);
  }

  /** Parse or throw: for text the schema has already checked. */
  static of(text: string): Cidr {
    const c = Cidr.parse(text);
    if (!c) throw new Error(`not a network CIDR: ${text}`);
    return c;
  }

  /** A /32 for one address. */
  static host(ip: string): Cidr {
    return new Cidr(ip, 32);
  }

  /** True when `ip` lies inside this network (network and broadcast included). */
  contains(ip: string): boolean {
    const v = ipToInt(ip);
    return v >= this.base && v < this.base + this.size;
  }

  /** True when `other` lies wholly inside this network. */
  covers(other: Cidr): boolean {
    return other.base >= this.base && other.base + other.size <= this.base + this.size;
  }

  /**
   * True when `ip` is a usable host address of this network: inside it, and neither the
   * network nor the broadcast address (a /31 or /32 has no such addresses to exclude).
   */
  isUsable(ip: string): boolean {
    const v = ipToInt(ip);
    return v >= ipToInt(this.firstHost) && v <= ipToInt(this.lastHost);
  }

  /** True when the two networks share at least one address. */
  overlaps(other: Cidr): boolean {
    return this.base < other.base + other.size && other.base < this.base + this.size;
  }

  /** The broadcast address (last address of the network). */
  get broadcast(): string {
    return intToIp(this.base + this.size - 1);
  }

  /** The dotted netmask, e.g. `255.255.255.0`. */
  get netmask(): string {
    return intToIp(this.prefix === 0 ? 0 : (0xffffffff << (32 - this.prefix)) >>> 0);
  }

  /** The first usable host address. */
  get firstHost(): string {
    return intToIp(this.prefix >= 31 ? this.base : this.base + 1);
  }

  /** The last usable host address. */
  get lastHost(): string {
    return intToIp(this.prefix >= 31 ? this.base + this.size - 1 : this.base + this.size - 2);
  }

  /** `a.b.c.d/n`. */
  toString(): string {
    return `${this.network}/${this.prefix}`;
  }

  /** JSON form is the CIDR text, so plans serialise cleanly. */
  toJSON(): string {
    return this.toString();
  }
}

/** An inclusive range of IPv4 addresses, such as a DHCP pool. */
export interface Ipv4Range {
  readonly start: string;
  readonly end: string;
}

/** True when `ip` lies within the inclusive range. */
export function rangeContains(range: Ipv4Range, ip: string): boolean {
  const v = ipToInt(ip);
  return v >= ipToInt(range.start) && v <= ipToInt(range.end);
}

/** True when `mac` is a colon-separated, lower-case, unicast MAC address. */
export function isMac(mac: string): boolean {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) return false;
  // The low bit of the first octet marks multicast; a NIC's own address never has it.
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}
