/**
 * The generator's small parts: a seeded random source, and the unique values a lab needs
 * (addresses, MACs, VM ids, SSH host keys) handed out in order, so a seed always gives the
 * same lab, byte for byte.
 */
import { createHash } from "crypto";

/** A seeded pseudo-random source (mulberry32): the same seed gives the same sequence. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** One of `xs`, weighted by the numbers beside them. */
  weighted<T>(xs: readonly (readonly [T, number])[]): T {
    const total = xs.reduce((a, [, w]) => a + w, 0);
    let r = this.next() * total;
    for (const [x, w] of xs) {
      r -= w;
      if (r < 0) return x;
    }
    return xs[xs.length - 1]![0];
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** An IPv4 address as a number. */
export function ipInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}

/** A number as an IPv4 address. */
export function intIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** An SSH wire-format string: a uint32 length, then the bytes. */
function wire(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** The lab's unique values, handed out in order. */
export class Unique {
  private mac = 0;
  private hwMac = 0;
  private vmId = 1000;
  constructor(private readonly seed: number) {}

  /** A VM's MAC, in QEMU's locally administered range 52:54:00. */
  vmMac(): string {
    return macOf("52:54:00", this.mac++);
  }

  /** A physical box's MAC, in the locally administered range 02:00:00 (unicast). */
  hardwareMac(): string {
    return macOf("02:00:00", this.hwMac++);
  }

  /** The next free Proxmox VM id (the DMZ infra host has 100). */
  nextVmId(): number {
    return this.vmId++;
  }

  /** An ed25519 public key line whose 32 key bytes are derived from the seed and `label`: unique per label. */
  sshKey(label: string, comment?: string): string {
    const key = createHash("sha256").update(`${this.seed}:${label}`).digest();
    const blob = Buffer.concat([wire(Buffer.from("ssh-ed25519")), wire(key)]).toString("base64");
    return `ssh-ed25519 ${blob}${comment ? ` ${comment}` : ""}`;
  }

  /** A WireGuard public key for the end of the tunnel named `label`. */
  wireguardKey(label: string): string {
    return wireguardKey(this.seed, label);
  }
}

/** A WireGuard public key (base64 of 32 bytes) derived from `seed` and `label`: unique per label. */
export function wireguardKey(seed: number, label: string): string {
  return createHash("sha256").update(`${seed}:wireguard:${label}`).digest().toString("base64");
}

function macOf(prefix: string, n: number): string {
  if (n >= 2 ** 24) throw new Error(`bug: more than ${2 ** 24} MACs under ${prefix}`);
  const hex = n.toString(16).padStart(6, "0");
  return `${prefix}:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

/** A segment's address plan: its subnet, router, DHCP pool, and the next free static address. */
export class SegmentNet {
  readonly base: number;
  readonly size: number;
  private next = 10;
  constructor(
    index: number,
    readonly prefix: number,
  ) {
    this.base = ipInt(`10.${index + 1}.0.0`);
    this.size = 2 ** (32 - prefix);
  }
  get subnet(): string {
    return `${intIp(this.base)}/${this.prefix}`;
  }
  /** The router's LAN address: the first host. */
  get lan(): string {
    return intIp(this.base + 1);
  }
  /** The jump host: the second. */
  get jump(): string {
    return intIp(this.base + 2);
  }
  /** The Talos API VIP, below the hosts. */
  get vip(): string {
    return intIp(this.base + 5);
  }
  /** The DHCP pool: the 48 addresses before the last two usable ones. */
  get dhcp(): { start: string; end: string } {
    return { start: intIp(this.base + this.size - 51), end: intIp(this.base + this.size - 4) };
  }
  /** The next static address, from .10 up, below the pool. */
  take(): string {
    if (this.next >= this.size - 52) throw new Error(`bug: segment ${this.subnet} is full`);
    return intIp(this.base + this.next++);
  }
}

/** The smallest prefix (from /24 down) whose network holds `statics` addresses beside its pool. */
export function prefixFor(statics: number): number {
  for (let p = 24; p >= 16; p--) if (2 ** (32 - p) - 52 - 10 >= statics) return p;
  throw new Error(`a segment of ${statics} hosts does not fit in a /16`);
}
