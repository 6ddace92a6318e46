// Proves every rendered DMZ and jump-host file passes the real program that reads it (and that each checker rejects a broken file), and that configuration.nix evaluates with stub arguments to the model's values; does not build or boot NixOS, or run the daemons (dmz-behaviour does).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compareIp } from "../../model/net";
import { planDmz, publishAll } from "../../model/network/dmz";
import { planSshAccess } from "../../model/network/ssh";
import { renderDmzFiles } from "../../render/dmz";
import type { Checker, RenderedFile } from "../../render/files";
import { jumpLabFacts, renderJumpFiles } from "../../render/jump";
import { checkFiles, requireTools, type CheckResult } from "../support/checkers";
import { referenceLab, referencePlan } from "../support/lab";
import { must } from "../support/proc";

const lab = referenceLab();
const access = planSshAccess(lab);
const dmzFiles = renderDmzFiles(planDmz(lab, publishAll(lab)), access);
const labPlan = referencePlan();
const facts = jumpLabFacts(lab);
const jumpFiles = (segment: string) => renderJumpFiles(labPlan.segments[segment]!, access, facts);

const brokenFile = (name: string, checker: Checker, source: string, edit: (text: string) => string): RenderedFile => {
  const f = dmzFiles.find((x) => x.path === `infra/${source}`)!;
  const content = edit(f.content);
  if (content === f.content) throw new Error(`the edit did not change ${source}`);
  return { ...f, path: `broken-${name}/${source}`, checker, content };
};

/** One broken file per tool family: each must fail its checker. */
const BROKEN: readonly [string, RenderedFile][] = [
  ["nginx", brokenFile("nginx", "nginx", "nginx.conf", (t) => t.replace("proxy_bind 10.255.0.1;", "proxy_bind 10.255.0.1"))],
  ["dnsmasq", brokenFile("dnsmasq", "dnsmasq", "dnsmasq.conf", (t) => t.replace("bogus-priv", "bogus-private"))],
  ["chrony", brokenFile("chrony", "chrony", "chrony.conf", (t) => t.replace("makestep 1.0 3", "makestepp 1.0 3"))],
  ["nft", brokenFile("nft", "nft", "host.nft", (t) => t.replace("policy drop;", "policy dorp;"))],
  ["sshd", brokenFile("sshd", "sshd", "sshd_config", (t) => t.replace("PermitRootLogin no", "PermitRootLogin maybe"))],
  ["nix", brokenFile("nix", "nix", "configuration.nix", (t) => t.replace("networking.useDHCP = false;", "networking.useDHCP = false"))],
  ["nix (undefined variable)", brokenFile("nix-undefined", "nix", "configuration.nix", (t) => t.replace("lib.mkForce", "mkForce"))],
  [
    "sh",
    brokenFile("sh", "sh", "apply.sh", (t) =>
      t.replace('log "rolling back release $id: $why"', "log rolling back release $id: $why; echo $undefined_word*"),
    ),
  ],
];

const infraFile = (name: string): RenderedFile => dmzFiles.find((x) => x.path === `infra/${name}`)!;
const TRUST = ["backend-tls-internal-nas.pem", "backend-tls-internal-pve.pem"] as const;
/**
 * nginx.conf without the certificates it verifies backends against (no LoadCredential put
 * them there), and with one that is no certificate: nginx must refuse both, and openssl the
 * second. The controls for the trusted files the DMZ infra host passes with.
 */
const UNTRUSTED: readonly [string, RenderedFile][] = [
  ["nginx (no trusted certificates)", { ...infraFile("nginx.conf"), path: "broken-trust-missing/nginx.conf" }],
  ["nginx (a trusted file that is no certificate)", { ...infraFile("nginx.conf"), path: "broken-trust-garbage/nginx.conf" }],
  [
    "x509",
    {
      ...infraFile(TRUST[1]),
      path: `broken-trust-garbage/${TRUST[1]}`,
      content: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    },
  ],
];
const UNTRUSTED_COMPANIONS: RenderedFile[] = [{ ...infraFile(TRUST[0]), path: `broken-trust-garbage/${TRUST[0]}` }];

const segments = Object.keys(labPlan.segments).sort();
/** Every file checked in one batch: DMZ files, each segment's jump files under `<segment>/`, the broken ones. */
const BATCH: RenderedFile[] = [
  ...dmzFiles,
  ...segments.flatMap((s) => jumpFiles(s).map((f) => ({ ...f, path: `${s}/${f.path}` }))),
  ...BROKEN.map(([, f]) => f),
  ...UNTRUSTED.map(([, f]) => f),
  ...UNTRUSTED_COMPANIONS,
];
let results: Map<string, CheckResult>;

beforeAll(() => {
  results = new Map(checkFiles(BATCH).map((r) => [r.file, r]));
}, 60000);

function expectAllPass(paths: readonly string[]): void {
  expect(paths.length).toBeGreaterThan(0);
  const failed = paths.map((p) => results.get(p)!).filter((r) => !r.ok);
  expect(failed.map((r) => `${r.file} (${r.checker}): ${r.command}\n${r.output}`)).toEqual([]);
}

describe("rendered files pass their real checkers", () => {
  test("DMZ infra host", () => {
    expect(new Set(dmzFiles.map((f) => f.checker))).toEqual(
      new Set<Checker>(["nix", "dnsmasq", "chrony", "nginx", "sshd", "nft", "sh", "x509"]),
    );
    // nginx.conf verifies TLS backends against the rendered certificates, which nginx -t loads.
    expect(infraFile("nginx.conf").content).toMatch(
      /proxy_ssl_trusted_certificate \/run\/credentials\/homelab-nginx\.service\/backend-tls-/,
    );
    expect(TRUST.map((t) => infraFile(t).checker)).toEqual(["x509", "x509"]);
    expectAllPass(dmzFiles.map((f) => f.path));
  });

  test.each(segments)("jump host of %s", (segment) => {
    expectAllPass(jumpFiles(segment).map((f) => `${segment}/${f.path}`));
  });
});

describe("each checker rejects a broken file (negative controls)", () => {
  test.each(BROKEN)("%s", (_, f) => {
    expect(results.get(f.path)!.ok).toBe(false);
  });

  test.each(UNTRUSTED)("%s", (_, f) => {
    expect(results.get(f.path)!.ok).toBe(false);
  });

  test("nginx fails for the missing or unreadable trusted certificate, naming it", () => {
    const missing = results.get(UNTRUSTED[0]![1].path)!;
    expect(missing.output).toMatch(
      /SSL_CTX_load_verify_locations\("\/run\/credentials\/homelab-nginx\.service\/backend-tls-internal-(nas|pve)\.pem"\) failed/,
    );
    const garbage = results.get(UNTRUSTED[1]![1].path)!;
    expect(garbage.output).toMatch(/backend-tls-internal-pve\.pem/);
    // The same nginx.conf with the rendered certificates beside it passes (the DMZ infra host above).
    expect(results.get("infra/nginx.conf")!.ok).toBe(true);
  });

  test("nginx fails for the broken directive, not for the namespace", () => {
    const r = results.get(BROKEN[0]![1].path)!;
    expect(r.output).toMatch(/unexpected|invalid|proxy_bind/);
    expect(r.output).not.toMatch(/Cannot assign requested address/);
  });
});

/**
 * Evaluate configuration.nix lazily with stub module arguments, pulling the values the model
 * decides, so wrong structure and undefined names fail here and not on the host. The whole
 * configuration except `imports` (the host's own hardware file) is forced with deepSeq.
 */
function evalNix(files: readonly RenderedFile[], dir: string): Record<string, any> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-nixeval-"));
  try {
    for (const f of files) {
      const p = path.join(tmp, f.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.content);
    }
    const expr = `
      let
        stub = name: "/nix/store/00000000000000000000000000000000-\${name}";
        cfg = import ./configuration.nix {
          config = { };
          lib = { mkForce = content: { _type = "override"; priority = 50; inherit content; }; };
          pkgs = {
            chrony = stub "chrony"; dnsmasq = stub "dnsmasq"; nginx = stub "nginx"; dnsutils = stub "dnsutils"; iproute2 = stub "iproute2";
            wireguard-tools = stub "wireguard-tools";
            writeScriptBin = name: text: { inherit name text; };
          };
        };
        iface = cfg.networking.interfaces.ens18.ipv4;
        services = cfg.systemd.services or { };
      in builtins.deepSeq (removeAttrs cfg [ "imports" ]) {
        inherit (cfg.networking) hostName domain nameservers defaultGateway search;
        timeServers = cfg.networking.timeServers or null;
        timesyncd = cfg.services.timesyncd.enable or true;
        timeZone = cfg.time.timeZone;
        addresses = iface.addresses;
        routes = iface.routes or [ ];
        firewallEnabled = cfg.networking.firewall.enable;
        rulesetExists = builtins.pathExists cfg.networking.nftables.rulesetFile;
        sshdConfigForced = cfg.environment.etc."ssh/sshd_config".source._type == "override";
        sshdConfigExists = builtins.pathExists cfg.environment.etc."ssh/sshd_config".source.content;
        users = builtins.mapAttrs (n: u: { normal = u.isNormalUser or false; groups = u.extraGroups or [ ]; keys = u.openssh.authorizedKeys.keys or [ ]; }) cfg.users.users;
        mutableUsers = cfg.users.mutableUsers;
        sudo = cfg.security.sudo.extraRules;
        apply = (builtins.head cfg.environment.systemPackages).text;
        units = builtins.mapAttrs (n: u: u.serviceConfig.ExecStart) services;
        after = builtins.mapAttrs (n: u: u.after) services;
        bindsTo = builtins.mapAttrs (n: u: u.bindsTo or [ ]) services;
        wantedBy = builtins.mapAttrs (n: u: u.wantedBy) services;
        acme = cfg.security.acme or null;
        tunnel = cfg.networking.wireguard.interfaces or { };
      }`;
    return JSON.parse(
      must(["nix-instantiate", "--eval", "--strict", "--json", "--store", "dummy://", "--option", "build-users-group", "", "-E", expr], {
        cwd: path.join(tmp, dir),
        env: { HOME: tmp },
        timeout: 30000,
      }),
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

describe("configuration.nix evaluates to the model's values (lazy evaluation with stubs)", () => {
  beforeAll(() => {
    requireTools(["nix"]);
  });

  test("the DMZ infra host", () => {
    const v = evalNix(dmzFiles, "infra");
    expect(v.hostName).toBe("infra");
    expect(v.domain).toBe(lab.domain);
    expect(v.timeZone).toBe(lab.timezone);
    expect(v.nameservers).toEqual([lab.dmz.dns, ...lab.dmz.upstreamDns]);
    expect(v.defaultGateway).toEqual({ address: lab.dmz.gateway, interface: "ens18" });
    expect(v.addresses.map((a: any) => a.address).sort()).toEqual([lab.dmz.infra.address, lab.dmz.dns, lab.dmz.ntp, lab.dmz.proxy].sort());
    expect(v.routes.map((r: any) => `${r.address}/${r.prefixLength} via ${r.via}`).sort()).toEqual(
      Object.values(lab.segments)
        .map((s) => `${s.subnet} via ${s.router.wanAddress}`)
        .sort(),
    );
    expect(v.timesyncd).toBe(false);
    expect(v.firewallEnabled).toBe(false);
    expect(v.rulesetExists).toBe(true);
    expect(v.sshdConfigForced).toBe(true);
    expect(v.sshdConfigExists).toBe(true);
    expect(v.mutableUsers).toBe(false);
    expect(v.apply).toBe(dmzFiles.find((f) => f.path === "infra/apply.sh")!.content);
    for (const u of access.users) {
      expect(v.users[u.name]).toEqual({ normal: true, groups: u.deploy ? [] : ["wheel"], keys: [...u.keys].sort() });
    }
    expect(v.sudo).toEqual([
      { users: [lab.ssh.deploy.user], commands: [{ command: "/run/current-system/sw/bin/homelab-apply", options: ["NOPASSWD"] }] },
    ]);
    // The daemons run the packaged binaries on store copies of exactly the rendered files.
    expect(Object.keys(v.units).sort()).toEqual(["homelab-chronyd", "homelab-dnsmasq", "homelab-neighbours", "homelab-nginx"]);
    // The edge and every router's WAN address pinned to its MAC (read from the lab, not the plan),
    // once the NIC's addresses are up, and again whenever they come up.
    const pinned = [
      [lab.dmz.gateway, lab.dmz.gatewayMac],
      ...Object.values(lab.segments).map((s) => [s.router.wanAddress, lab.hardware.routers[s.router.hardware]!.wanMac]),
    ].sort(([a], [b]) => compareIp(a!, b!));
    expect(v.units["homelab-neighbours"]).toEqual(
      pinned.map(([a, m]) => `/nix/store/${"0".repeat(32)}-iproute2/bin/ip -4 neigh replace ${a} lladdr ${m} dev ens18 nud permanent`),
    );
    for (const k of ["after", "bindsTo", "wantedBy"])
      expect([k, v[k]["homelab-neighbours"]]).toEqual([k, ["network-addresses-ens18.service"]]);
    expect(v.units["homelab-dnsmasq"]).toMatch(/^\/nix\/store\/0+-dnsmasq\/bin\/dnsmasq .* -C \/nix\/store\/[a-z0-9]{32}-dnsmasq\.conf$/);
    expect(v.units["homelab-chronyd"]).toMatch(/^\/nix\/store\/0+-chrony\/bin\/chronyd .* -f \/nix\/store\/[a-z0-9]{32}-chrony\.conf$/);
    expect(v.units["homelab-nginx"]).toMatch(/^\/nix\/store\/0+-nginx\/bin\/nginx -c \/nix\/store\/[a-z0-9]{32}-nginx\.conf$/);
    // The certificate: a wildcard for the domain by DNS-01, its credentials a file outside the store, the proxy reloaded.
    const acme = lab.dmz.tls.acme!;
    expect(v.acme).toEqual({
      acceptTerms: true,
      defaults: { email: acme.email },
      certs: {
        [lab.domain]: {
          domain: lab.domain,
          extraDomainNames: [`*.${lab.domain}`],
          dnsProvider: acme.dnsProvider,
          environmentFile: "/etc/nixos/homelab/acme-dns.env",
          group: "nginx",
          reloadServices: ["homelab-nginx.service"],
        },
      },
    });
    expect(v.after["homelab-nginx"]).toEqual(["network-online.target", `acme-${lab.domain}.service`]);
    // The tunnel, read from the lab: the infra host's address and port, its key from the release's
    // secret file (never in the store), and every router a peer allowed only its own tunnel address,
    // dialled at its WAN address on the tunnel's port.
    const t = lab.dmz.tunnel!;
    expect(v.tunnel).toEqual({
      "wg-homelab": {
        ips: [`${t.address}/${t.subnet.prefix}`],
        listenPort: t.port,
        privateKeyFile: "/etc/nixos/homelab/wireguard.key",
        peers: Object.values(lab.segments)
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((s) => ({
            publicKey: s.router.tunnel!.publicKey,
            allowedIPs: [`${s.router.tunnel!.address}/32`],
            endpoint: `${s.router.wanAddress}:${t.port}`,
            persistentKeepalive: 25,
          })),
      },
    });
    expect(dmzFiles.map((f) => f.content).join("\n")).not.toMatch(/privateKey\s*=|PrivateKey/);
    const nginx = dmzFiles.find((f) => f.path === "infra/nginx.conf")!.content;
    expect(nginx).toContain(`ssl_certificate /var/lib/acme/${lab.domain}/fullchain.pem;`);
    expect(nginx).toContain(`ssl_certificate_key /var/lib/acme/${lab.domain}/key.pem;`);
  });

  test.each(Object.keys(labPlan.segments).sort())("the jump host of %s", (segment) => {
    const seg = labPlan.segments[segment]!;
    const v = evalNix(jumpFiles(segment), "jump");
    expect(v.hostName).toBe(seg.jumpHost.id);
    expect(v.domain).toBe(`${segment}.${lab.domain}`);
    expect(v.addresses).toEqual([{ address: seg.jumpHost.address, prefixLength: seg.subnet.prefix }]);
    expect(v.defaultGateway).toEqual({ address: seg.router.lan.address, interface: "ens18" });
    expect(v.nameservers).toEqual([lab.dmz.dns]);
    expect(v.timeServers).toEqual([lab.dmz.ntp]);
    expect(v.routes).toEqual([]);
    expect(v.units).toEqual({});
    expect(v.rulesetExists && v.sshdConfigExists && v.sshdConfigForced).toBe(true);
  });

  test("a configuration that names an undefined attribute fails evaluation", () => {
    const files = dmzFiles.map((f) =>
      f.path === "infra/configuration.nix" ? { ...f, content: f.content.replace("pkgs.dnsmasq", "pkgs.dnsmasqq") } : f,
    );
    expect(() => evalNix(files, "infra")).toThrow(/dnsmasqq/);
  });
});

/**
 * `sshd -T -C user=...,addr=...`: the settings sshd itself resolves for one connection, Match
 * blocks applied, read back from a rendered sshd_config (a host key is generated for the run).
 */
function sshdEffective(config: string, user: string, addr: string, laddr: string): Record<string, string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-sshdT-"));
  try {
    const key = path.join(tmp, "host_key");
    must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key]);
    const file = path.join(tmp, "sshd_config");
    fs.writeFileSync(file, config);
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const spec = `user=${user},addr=${addr},host=${addr},laddr=${laddr},lport=22`;
    const out = must(["sshd", "-T", "-f", file, "-h", key, "-C", spec], { env: { HOME: tmp } });
    const settings: Record<string, string> = {};
    for (const line of out.split("\n")) {
      const [k, ...v] = line.split(" ");
      if (k) settings[k] = settings[k] === undefined ? v.join(" ") : `${settings[k]} ${v.join(" ")}`;
    }
    return settings;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

describe("a jump host's sshd, resolved by sshd -T for one connection", () => {
  const forwarding = (s: Record<string, string>) => ({
    allowtcpforwarding: s["allowtcpforwarding"],
    permitopen: s["permitopen"],
    permitlisten: s["permitlisten"],
    allowstreamlocalforwarding: s["allowstreamlocalforwarding"],
    x11forwarding: s["x11forwarding"],
    allowagentforwarding: s["allowagentforwarding"],
    permittunnel: s["permittunnel"],
  });
  const sshdOf = (segment: string) => jumpFiles(segment).find((f) => f.path === "jump/sshd_config")!.content;
  const admin = () => access.adminSources[0]!.firstHost;

  test.each(segments)(
    "%s: the deploy identity may open port 22 of the router's LAN address (and of the data host and the monitor), the Talos and Kubernetes APIs of its cluster, and nothing else",
    (segment) => {
      const seg = labPlan.segments[segment]!;
      const s = sshdEffective(sshdOf(segment), lab.ssh.deploy.user, admin(), seg.jumpHost.address);
      // From the model, not the plan: every Talos node's port 50000 and the VIP's 6443, for the roll's tunnel.
      const t = lab.segments[segment]!.talos;
      const hosts = lab.segments[segment]!.hosts;
      const cluster = t ? [...[...t.controlPlanes, ...t.workers].map((h) => `${hosts[h]!.address}:50000`), `${t.vip}:6443`] : [];
      expect(forwarding(s)).toEqual({
        allowtcpforwarding: "local",
        // internal also deploys its data host and its monitor (a base NixOS host) through the jump host.
        permitopen: [
          ...[seg.router.lan.address, ...(segment === "internal" ? ["10.10.0.10", "10.10.0.30"] : [])].map((a) => `${a}:22`),
          ...cluster,
        ].join(" "),
        permitlisten: "none",
        allowstreamlocalforwarding: "no",
        x11forwarding: "no",
        allowagentforwarding: "no",
        permittunnel: "no",
      });
    },
  );

  test.each(segments)("%s: an admin still forwards TCP for ProxyJump to any host of the segment", (segment) => {
    const seg = labPlan.segments[segment]!;
    const adminUser = access.users.find((u) => !u.deploy)!.name;
    const s = sshdEffective(sshdOf(segment), adminUser, admin(), seg.jumpHost.address);
    expect(forwarding(s)).toEqual({
      allowtcpforwarding: "yes",
      permitopen: "any",
      permitlisten: "none",
      allowstreamlocalforwarding: "no",
      x11forwarding: "no",
      allowagentforwarding: "no",
      permittunnel: "no",
    });
  });

  test("negative control: without the Match block the deploy identity could open any address", () => {
    const seg = labPlan.segments["lab"]!;
    const text = sshdOf("lab").replace(/\n# \S+ deploys through this host[\s\S]*$/, "\n");
    expect(text).not.toBe(sshdOf("lab"));
    const s = sshdEffective(text, lab.ssh.deploy.user, admin(), seg.jumpHost.address);
    expect(forwarding(s).permitopen).toBe("any");
    expect(forwarding(s).allowtcpforwarding).toBe("yes");
  });
});
