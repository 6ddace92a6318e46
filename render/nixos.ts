/**
 * A generic NixOS configuration for the lab's NixOS hosts (the DMZ infra host, the
 * segments' jump hosts). The configuration *carries* its companion files instead of
 * re-describing them in Nix options, so the file the tests checked is the file that runs:
 *
 * - the host firewall: `networking.nftables.rulesetFile = ./host.nft;` (the module
 *   `include`s the file verbatim after its own `flush ruleset`; the built-in firewall is off);
 * - sshd: `services.openssh.enable = true;` for the unit, host key generation and PAM, with
 *   `environment.etc."ssh/sshd_config".source = lib.mkForce ./sshd_config;` replacing the
 *   module's generated file (the unit runs `sshd -D -f /etc/ssh/sshd_config` and restarts
 *   when that source changes);
 * - daemons (dnsmasq, chrony, nginx): systemd units that run the packaged binary with the
 *   file's store path (`-C ${./dnsmasq.conf}`), not the NixOS modules, which generate
 *   their own file around ours (services.nginx.config prepends pid/error_log and reformats;
 *   services.dnsmasq adds its own lines; services.chrony writes its own config);
 * - apply.sh: installed as `homelab-apply`, the one command the deploy user may sudo.
 *
 * Printed from the small Nix value tree of render/nix.ts, so strings are always escaped and
 * structure is decided in code.
 */
import { compareText } from "../model/order";
import { compareCidr, type Cidr } from "../model/net";
import type { SshAccess } from "../model/network/ssh";
import { HOMELAB_STATE_DIR } from "./apply-common";
import type { RenderedFile } from "./files";
import { generatedHeader } from "./header";
import { renderHostFirewall, type HostFirewallSpec } from "./host-firewall";
import { NixAttrs, NixInterp, NixRaw, nixAttrs, nixPath, printKey, printNixModule, type NixSection, type NixValue } from "./nix";
import type { StaticNeighbour } from "../model/network/identity";
import { acmeSection, type NixosAcme } from "./nixos-acme";
import { neighboursSection } from "./nixos-neighbours";
import { NIXOS_APPLY_COMMAND, RELEASES_DIR, renderNixosApply } from "./nixos-apply";
import { AUTHORIZED_KEYS_DIR, renderSshdConfig, SSH_HOST_KEY_PATH, type SshdPolicy } from "./sshd";

// --- the host specification ---------------------------------------------------------------------

/** Marks where a command line carries the daemon's companion file (its store path). */
export const COMPANION_FILE = Symbol("companion file");

/** A command line of a daemon: the program from the daemon's package, then arguments. */
export interface NixosCommand {
  /** Program name under the package's `bin/`. */
  readonly program: string;
  readonly args: readonly (string | typeof COMPANION_FILE)[];
}

/** A daemon the host runs from a companion file, with the packaged binary. */
export interface NixosDaemon {
  /** systemd unit name, e.g. `homelab-dnsmasq`. */
  readonly unit: string;
  readonly description: string;
  /** The nixpkgs attribute that provides the program, e.g. `dnsmasq`. */
  readonly package: string;
  /** The companion file the daemon reads, next to configuration.nix. */
  readonly file: string;
  readonly start: NixosCommand;
  /** The daemon's own syntax check, run before every start (ExecStartPre). @default none */
  readonly check?: NixosCommand;
  /** A system user (and group of the same name) the daemon runs as or drops to. */
  readonly user: string;
  /** Further systemd `serviceConfig` entries (capabilities, directories). @default {} */
  readonly serviceConfig?: Readonly<Record<string, string | boolean | readonly string[]>>;
  /** Units it wants and starts after, besides the network (the proxy after its certificate). @default [] */
  readonly needs?: readonly string[];
  /**
   * Companion files systemd hands the unit as credentials (LoadCredential, read from the store
   * into /run/credentials/<unit>.service/<id>, readable by the unit's user): a changed file
   * changes the unit, which restarts it. @default []
   */
  readonly credentials?: readonly { readonly id: string; readonly file: string }[];
}

/** The companion files every lab NixOS host carries, by name. */
export interface NixosHostFiles {
  /** nftables ruleset. @default "host.nft" */
  readonly firewall: string;
  /** sshd_config. @default "sshd_config" */
  readonly sshd: string;
  /** The commit-confirm script. @default "apply.sh" */
  readonly apply: string;
}

/** Everything renderNixosConfiguration needs for one host. */
export interface NixosHostSpec {
  /** What the host is, for the header, e.g. `DMZ infra host`. */
  readonly role: string;
  readonly hostName: string;
  /** The host's domain; its FQDN is `<hostName>.<domain>`. */
  readonly domain: string;
  /** IANA time zone, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
  /** The NIC's name. @default "ens18" (the first virtio NIC of a Proxmox VM) */
  readonly interface?: string;
  /** Addresses on the NIC; the first is the primary (source of outgoing connections). */
  readonly addresses: readonly { readonly address: string; readonly prefixLength: number }[];
  readonly gateway: string;
  /** Networks reached through a router other than the gateway. @default [] */
  readonly routes?: readonly { readonly to: Cidr; readonly via: string }[];
  /** Addresses on the NIC's network pinned to their MACs (render/nixos-neighbours.ts). @default [] */
  readonly neighbours?: readonly StaticNeighbour[];
  readonly nameservers: readonly string[];
  /** NTP servers systemd-timesyncd follows; empty turns timesyncd off (the host runs chronyd itself). */
  readonly timeServers: readonly string[];
  /** Who logs in: admins (wheel) and the deploy identity. */
  readonly access: SshAccess;
  /** @default { firewall: "host.nft", sshd: "sshd_config", apply: "apply.sh" } */
  readonly files?: NixosHostFiles;
  /** Daemons run from companion files. @default [] */
  readonly daemons?: readonly NixosDaemon[];
  /** Extra systemd-tmpfiles lines (directories the host's services need). @default [] */
  readonly tmpfiles?: readonly string[];
  /** nixpkgs attributes installed for admins, e.g. `chrony` for chronyc. @default [] */
  readonly packages?: readonly string[];
  /**
   * Prometheus exporters the host runs (NixOS services.prometheus.exporters.<kind>); its
   * firewall decides who may scrape them. @default []
   */
  readonly exporters?: readonly NixosExporter[];
  /** Certificates from an ACME CA (security.acme). @default none */
  readonly acme?: NixosAcme;
  /**
   * Further sections (a data host's services), after the daemons; they must not set a path
   * another section sets (tmpfiles and packages go in `tmpfiles` and `packages`). @default []
   */
  readonly sections?: readonly NixSection[];
  /** Further companion files those sections read, by name. @default [] */
  readonly companions?: readonly string[];
  /** Runs as a Proxmox VM with the QEMU guest agent. @default true */
  readonly qemuGuest?: boolean;
  /** The NixOS release the host was installed with; never change it on a running host. @default "25.05" */
  readonly stateVersion?: string;
}

/** One Prometheus exporter of a NixOS host. */
export interface NixosExporter {
  readonly kind: "node" | "nginx";
  /** The address it listens on (the host's own, never 0.0.0.0). */
  readonly listen: string;
  readonly port: number;
  /** nginx only: where nginx's stub_status is. */
  readonly scrapeUri?: string;
  /** node only: the textfile collector's directory (a host that runs backups exports their freshness there). @default none */
  readonly textfileDirectory?: string;
}

/** The node exporter every managed NixOS host runs: disks, NICs, temperatures, systemd units. */
export const NODE_EXPORTER_PORT = 9100;
/** The nginx exporter's port (the NixOS module's default). */
export const NGINX_EXPORTER_PORT = 9113;

/**
 * SSH access in a canonical order (users by name, keys and sources sorted), so a renderer that
 * keeps list order (sshd's AllowUsers) gives the same bytes however the caller ordered them.
 */
export function canonicalAccess(access: SshAccess): SshAccess {
  return {
    users: [...access.users].sort((a, b) => compareText(a.name, b.name)).map((u) => ({ ...u, keys: [...u.keys].sort() })),
    adminSources: [...access.adminSources].sort(compareCidr),
  };
}

/** The default NIC name: the first virtio NIC of a Proxmox VM. */
export const DEFAULT_INTERFACE = "ens18";
/** The default companion file names. */
const DEFAULT_NIXOS_FILES: NixosHostFiles = { firewall: "host.nft", sshd: "sshd_config", apply: "apply.sh" };
/** The default stateVersion. */
const DEFAULT_STATE_VERSION = "25.05";

/** Every companion file the configuration references, sorted. Tests check each is rendered. */
export function companionFiles(spec: NixosHostSpec): string[] {
  const files = spec.files ?? DEFAULT_NIXOS_FILES;
  return [
    ...new Set([
      files.firewall,
      files.sshd,
      files.apply,
      ...(spec.daemons ?? []).flatMap((d) => [d.file, ...(d.credentials ?? []).map((c) => c.file)]),
      ...(spec.companions ?? []),
    ]),
  ].sort();
}

function sortRoutes(routes: readonly { readonly to: Cidr; readonly via: string }[]) {
  return [...routes].sort((a, b) => compareCidr(a.to, b.to));
}

function command(pkg: string, cmd: NixosCommand, file: string): NixInterp {
  const parts: (string | NixRaw)[] = [new NixRaw(`pkgs.${pkg}`), `/bin/${cmd.program}`];
  for (const a of cmd.args) {
    parts.push(" ");
    parts.push(a === COMPANION_FILE ? nixPath(file) : a);
  }
  return new NixInterp(parts);
}

function daemonUnit(dm: NixosDaemon): NixAttrs {
  const serviceConfig: [string[], NixValue][] = [];
  if (dm.check) serviceConfig.push([["ExecStartPre"], command(dm.package, dm.check, dm.file)]);
  serviceConfig.push([["ExecStart"], command(dm.package, dm.start, dm.file)]);
  serviceConfig.push([["Restart"], "on-failure"], [["RestartSec"], "2s"]);
  for (const [k, v] of Object.entries(dm.serviceConfig ?? {})) serviceConfig.push([[k], v]);
  const credentials = [...(dm.credentials ?? [])].sort((a, b) => compareText(a.id, b.id));
  if (credentials.length > 0)
    serviceConfig.push([["LoadCredential"], credentials.map((c) => new NixInterp([`${c.id}:`, nixPath(c.file)]))]);
  return new NixAttrs([
    [["description"], dm.description],
    [["wantedBy"], ["multi-user.target"]],
    // The daemons bind the host's service addresses, which exist once the network is up.
    [["wants"], ["network-online.target", ...(dm.needs ?? [])]],
    [["after"], ["network-online.target", ...(dm.needs ?? [])]],
    // A changed companion file changes the store path in ExecStart, which restarts the unit.
    [["serviceConfig"], new NixAttrs(serviceConfig)],
  ]);
}

/** The host's identity and clock settings. */
function identitySection(spec: NixosHostSpec): NixSection {
  return {
    comment: ["Identity and time."],
    entries: [
      ["networking.hostName", spec.hostName],
      ["networking.domain", spec.domain],
      ["time.timeZone", spec.timeZone],
      ["system.stateVersion", spec.stateVersion ?? DEFAULT_STATE_VERSION],
      ...((spec.qemuGuest ?? true) ? [["services.qemuGuest.enable", true] as const] : []),
    ],
  };
}

/** Static IPv4 addressing on the one NIC, with the routes through other routers. */
function networkSection(spec: NixosHostSpec): NixSection {
  const iface = spec.interface ?? DEFAULT_INTERFACE;
  const iface4 = `networking.interfaces.${printKey(iface)}.ipv4`;
  const routes = sortRoutes(spec.routes ?? []);
  return {
    comment: ["Static addressing from the model; the lab is IPv4 only, so IPv6 is off rather than half-configured."],
    entries: [
      ["networking.useDHCP", false],
      ["networking.enableIPv6", false],
      [`${iface4}.addresses`, spec.addresses.map((a) => nixAttrs({ address: a.address, prefixLength: a.prefixLength }))],
      ...(routes.length > 0
        ? [[`${iface4}.routes`, routes.map((r) => nixAttrs({ address: r.to.network, prefixLength: r.to.prefix, via: r.via }))] as const]
        : []),
      ["networking.defaultGateway", nixAttrs({ address: spec.gateway, interface: iface })],
      ["networking.nameservers", [...spec.nameservers]],
      ["networking.search", [spec.domain]],
    ],
  };
}

/** Follow the lab's NTP server, or stay out of the way of the host's own chronyd. */
function timeSection(spec: NixosHostSpec): NixSection {
  return spec.timeServers.length > 0
    ? { comment: ["Time from the lab's NTP server only."], entries: [["networking.timeServers", [...spec.timeServers]]] }
    : {
        comment: ["This host runs chronyd itself; systemd-timesyncd would fight it for the clock."],
        entries: [["services.timesyncd.enable", false]],
      };
}

/** The tested ruleset file, included verbatim. */
function firewallSection(files: NixosHostFiles): NixSection {
  return {
    comment: [`The firewall is ${files.firewall}, as tested: the nftables module includes it verbatim; the built-in firewall is off.`],
    entries: [
      ["networking.firewall.enable", false],
      ["networking.nftables.enable", true],
      ["networking.nftables.rulesetFile", nixPath(files.firewall)],
    ],
  };
}

/** The openssh module for its unit, host keys and PAM, running the tested sshd_config. */
function sshdSection(files: NixosHostFiles): NixSection {
  return {
    comment: [
      `sshd runs ${files.sshd}, as tested. The module still provides the unit, host key generation and`,
      "the PAM service; its own generated file is replaced. The settings below only keep the module's",
      "PAM service consistent with the file (no password authentication through PAM either).",
    ],
    entries: [
      ["services.openssh.enable", true],
      ["services.openssh.openFirewall", false],
      ["services.openssh.hostKeys", [nixAttrs({ type: "ed25519", path: SSH_HOST_KEY_PATH })]],
      [
        "services.openssh.settings",
        nixAttrs({ UsePAM: true, PasswordAuthentication: false, KbdInteractiveAuthentication: false, PermitRootLogin: "no" }),
      ],
      [`environment.etc."ssh/sshd_config".source`, new NixRaw(`lib.mkForce ${nixPath(files.sshd).text}`)],
    ],
  };
}

/** The model's users with their keys, admins in wheel; no passwords anywhere. */
function usersSection(users: readonly SshAccess["users"][number][]): NixSection {
  return {
    comment: [
      "Users come from the model only, with keys and no passwords: NixOS writes the keys to",
      `${AUTHORIZED_KEYS_DIR}/<user>, which is where sshd_config looks. Root is locked.`,
    ],
    entries: [
      ["users.mutableUsers", false],
      ["users.users.root.hashedPassword", "!"],
      ...users.map(
        (u) =>
          [
            `users.users.${printKey(u.name)}`,
            new NixAttrs([
              [["isNormalUser"], true],
              ...(u.deploy ? [] : [[["extraGroups"], ["wheel"]] as const]),
              [["openssh", "authorizedKeys", "keys"], [...u.keys].sort()],
            ]),
          ] as const,
      ),
    ],
  };
}

/** sudo: wheel without a password, the deploy identity only the commit-confirm command. */
function sudoSection(deploy: readonly SshAccess["users"][number][]): NixSection {
  return {
    comment: [
      "sudo: admins are in wheel without a sudo password, because the lab has no passwords at all (a",
      "sudo password would be the one password in the model). The trade-off: an admin's SSH key is",
      "root on this host. The deploy identity is not in wheel; it may run the commit-confirm command",
      "and nothing else. (It can still change everything through a release: it deploys the host.)",
    ],
    entries: [
      ["security.sudo.wheelNeedsPassword", false],
      [
        "security.sudo.extraRules",
        deploy.map((u) =>
          nixAttrs({
            users: [u.name],
            commands: [nixAttrs({ command: `/run/current-system/sw/bin/${NIXOS_APPLY_COMMAND}`, options: ["NOPASSWD"] })],
          }),
        ),
      ],
    ],
  };
}

/** The commit-confirm command, the admins' packages and the state directories. */
function commitConfirmSection(spec: NixosHostSpec, files: NixosHostFiles, deploy: readonly SshAccess["users"][number][]): NixSection {
  return {
    comment: [
      `Commit-confirm: ${files.apply} is installed as ${NIXOS_APPLY_COMMAND}; the deploy identity uploads each`,
      `release to ${RELEASES_DIR}/<id>/ before calling it.`,
    ],
    entries: [
      [
        "environment.systemPackages",
        [
          new NixRaw(`(pkgs.writeScriptBin "${NIXOS_APPLY_COMMAND}" (builtins.readFile ${nixPath(files.apply).text}))`),
          ...(spec.packages ?? []).map((p) => new NixRaw(`pkgs.${p}`)),
        ],
      ],
      [
        "systemd.tmpfiles.rules",
        [
          `d ${HOMELAB_STATE_DIR} 0755 root root -`,
          ...deploy.map((u) => `d ${RELEASES_DIR} 0700 ${u.name} users -`),
          ...(spec.tmpfiles ?? []),
        ],
      ],
    ],
  };
}

/** The Prometheus exporters, or no section when the host runs none. */
function exportersSection(spec: NixosHostSpec): NixSection[] {
  const exporters = [...(spec.exporters ?? [])].sort((a, b) => compareText(a.kind, b.kind));
  if (exporters.length === 0) return [];
  return [
    {
      comment: ["Prometheus exporters, each on the host's own address; host.nft decides who may scrape them (the model's flows)."],
      entries: exporters.map(
        (e) =>
          [
            `services.prometheus.exporters.${e.kind}`,
            new NixAttrs([
              [["enable"], true],
              [["listenAddress"], e.listen],
              [["port"], e.port],
              [["openFirewall"], false],
              ...(e.kind === "node" ? [[["enabledCollectors"], ["systemd"]] as const] : []),
              ...(e.scrapeUri !== undefined ? [[["scrapeUri"], e.scrapeUri] as const] : []),
              ...(e.textfileDirectory !== undefined
                ? [[["extraFlags"], [`--collector.textfile.directory=${e.textfileDirectory}`]] as const]
                : []),
            ]),
          ] as const,
      ),
    },
  ];
}

/** The daemons' system accounts and units, or no section when the host runs none. */
function daemonsSection(spec: NixosHostSpec): NixSection[] {
  const daemons = [...(spec.daemons ?? [])].sort((a, b) => compareText(a.unit, b.unit));
  if (daemons.length === 0) return [];
  const accounts = [...new Set(daemons.map((dm) => dm.user))].sort();
  return [
    {
      comment: ["Daemons run the packaged binaries on their companion files, byte for byte the files the tests checked."],
      entries: [
        ...accounts.flatMap((a) => [
          [`users.users.${printKey(a)}`, nixAttrs({ isSystemUser: true, group: a })] as const,
          [`users.groups.${printKey(a)}`, new NixAttrs([])] as const,
        ]),
        ...daemons.map((dm) => [`systemd.services.${printKey(dm.unit)}`, daemonUnit(dm)] as const),
      ],
    },
  ];
}

/** The configuration.nix text (checked with `nix-instantiate --parse`, evaluated lazily in tests). */
export function renderNixosConfiguration(spec: NixosHostSpec): string {
  const files = spec.files ?? DEFAULT_NIXOS_FILES;
  const users = [...spec.access.users].sort((a, b) => compareText(a.name, b.name));
  const deploy = users.filter((u) => u.deploy);
  const sections: NixSection[] = [
    {
      comment: ["The host's disks and boot loader are facts of the installed machine (nixos-generate-config), not of the model."],
      entries: [["imports", [new NixRaw("/etc/nixos/hardware-configuration.nix")]]],
    },
    identitySection(spec),
    networkSection(spec),
    ...neighboursSection(spec.interface ?? DEFAULT_INTERFACE, spec.neighbours ?? []),
    timeSection(spec),
    firewallSection(files),
    sshdSection(files),
    usersSection(users),
    sudoSection(deploy),
    commitConfirmSection(spec, files, deploy),
    ...exportersSection(spec),
    ...daemonsSection(spec),
    ...(spec.sections ?? []),
    ...(spec.acme ? [acmeSection(spec.acme)] : []),
  ];
  return printNixModule(
    generatedHeader("#", `configuration.nix of ${spec.hostName}.${spec.domain} (${spec.role})`, "render/nixos.ts"),
    sections,
  );
}

/**
 * The lab's sshd_config made fit for NixOS: `UsePAM yes` unless the text already sets it.
 * NixOS marks password-less accounts "!" in /etc/shadow (users.mutableUsers = false), and
 * sshd without PAM refuses such "locked" accounts even for key logins. Through PAM only the
 * account and session checks run; authentication stays publickey only.
 */
export function nixosSshdConfig(text: string): string {
  if (/^\s*UsePAM\s/im.test(text)) return text;
  const tail = [
    '# NixOS: account and session checks go through PAM. NixOS marks password-less accounts "!" in',
    "# /etc/shadow, and sshd without PAM refuses such locked accounts even for key logins.",
    "# Authentication stays publickey only (AuthenticationMethods above). Added by render/nixos.ts.",
    "UsePAM yes",
    "",
  ];
  return `${text.endsWith("\n") ? text : `${text}\n`}${tail.join("\n")}`;
}

// --- the files of one host ----------------------------------------------------------------------

/** One lab NixOS host: its configuration, and what its sshd and firewall admit. */
export interface NixosHostBundle {
  /** The output directory of the host's files, e.g. `infra`. */
  readonly dir: string;
  /** The configuration; the host's FQDN is `<hostName>.<domain>`, its users `access`. */
  readonly spec: NixosHostSpec;
  /** What the host is in the sshd and firewall headers, `<fqdn> (<label>)`, e.g. `DMZ infra host`. */
  readonly label: string;
  /** Where sshd listens and whom it admits. */
  readonly sshd: Omit<SshdPolicy, "role">;
  /** What the host firewall accepts besides the common input prologue. */
  readonly firewall: Omit<HostFirewallSpec, "host">;
}

/**
 * The files every lab NixOS host carries, under `dir/`: configuration.nix, its sshd_config
 * (made fit for NixOS), its host firewall and the commit-confirm script. Unsorted; the
 * caller adds the host's own companion files and sorts.
 */
export function nixosHostFiles(host: NixosHostBundle): RenderedFile[] {
  const { dir, spec } = host;
  const files = spec.files ?? DEFAULT_NIXOS_FILES;
  const fqdn = `${spec.hostName}.${spec.domain}`;
  const role = `${fqdn} (${host.label})`;
  const sshd = renderSshdConfig({ role, ...host.sshd }, spec.access);
  return [
    { path: `${dir}/configuration.nix`, content: renderNixosConfiguration(spec), checker: "nix" },
    { path: `${dir}/${files.sshd}`, content: nixosSshdConfig(sshd), checker: "sshd" },
    { path: `${dir}/${files.firewall}`, content: renderHostFirewall({ host: role, ...host.firewall }), checker: "nft" },
    { path: `${dir}/${files.apply}`, content: renderNixosApply({ host: fqdn }), checker: "sh", mode: 0o755 },
  ];
}
