/** Rendered files and the real program that checks each one. */
import type { Hash } from "crypto";
import { compareText } from "../model/order";

/** The program that reads a rendered file, and so checks it in tests/tools. */
export type Checker =
  /** `nft -c -f` in an empty network namespace */
  | "nft"
  /** `dnsmasq --test -C` */
  | "dnsmasq"
  /** `nginx -t -c` */
  | "nginx"
  /** `sshd -t -f` */
  | "sshd"
  /** `ssh -G -F` (client config) */
  | "ssh-client"
  /** `nix-instantiate --parse` */
  | "nix"
  /** `chronyd -p -f` */
  | "chrony"
  /** `bash -n` and shellcheck */
  | "sh"
  /** `ifquery --list --all -i` (ifupdown's interfaces(5) file) */
  | "ifupdown"
  /** `systemd-analyze verify` (a unit file) */
  | "systemd"
  /** `ssh-keygen -l -f` on every line (authorized_keys) */
  | "authorized-keys"
  /** `exportfs -ra` on the file as /etc/exports, in a private mount and network namespace */
  | "exports"
  /** `testparm -s` (smb.conf; the plain file of a NixOS host's services.samba.settings) */
  | "samba"
  /** `mariadbd --defaults-file --verbose --help` (my.cnf; the plain file of services.mysql.settings) */
  | "mariadb"
  /** `cloud-init schema --config-file` (a VM's `#cloud-config` user data) */
  | "cloud-init"
  /** `openssl x509 -noout` (a PEM certificate nginx trusts) */
  | "x509"
  /** `wg-quick strip`, then `wg setconf` of what it leaves on a wireguard-go interface (a wg-quick file) */
  | "wireguard"
  /** JSON.parse (the machine-readable plan) */
  | "json";

/** A file as a path and its text: what the plan writes, the docs pages, a docs tree read back. */
export interface TextFile {
  /** Path relative to the directory it belongs in, `/`-separated, e.g. `router/nftables.conf`. */
  readonly path: string;
  readonly content: string;
}

/** One rendered file. */
export interface RenderedFile extends TextFile {
  readonly checker: Checker;
  /** Unix mode when written to a box. @default 0o644 */
  readonly mode?: number;
}

/** Sort files by path, so every listing and write order is stable. */
export function sortFiles<T extends Pick<RenderedFile, "path">>(files: readonly T[]): T[] {
  return [...files].sort((a, b) => compareText(a.path, b.path));
}

/** The files under `dir/`, with that prefix removed: one box's release out of a stack's files. */
export function filesUnder(files: readonly RenderedFile[], dir: string): RenderedFile[] {
  return files.filter((f) => f.path.startsWith(`${dir}/`)).map((f) => ({ ...f, path: f.path.slice(dir.length + 1) }));
}

/** Feed every path and content of `files`, in sortFiles' order, to `hash`: the part of a release id its files make. */
export function hashFiles(hash: Hash, files: readonly Pick<RenderedFile, "path" | "content">[]): Hash {
  for (const f of sortFiles(files)) hash.update(`${f.path}\0${f.content}\0`);
  return hash;
}
