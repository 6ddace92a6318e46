// Proves the DMZ and jump-host renderers emit the reference lab's files byte for byte (goldens), deterministically, and with the intended meaning (parsed back: proxy routes, allow lists, auth, DNS records, NTP clients, firewall, NixOS wiring); does not run any tool (tests/tools does).
import * as path from "path";
import { type DmzPlan, planDmz, publishAll } from "../../model/network/dmz";
import { Cidr, compareIp } from "../../model/net";
import { planSshAccess } from "../../model/network/ssh";
import type { SegmentPlan } from "../../model/plan";
import { applyScriptBody } from "../../render/apply-common";
import { renderChronyClient, renderChronyServer } from "../../render/chrony";
import { renderDmzFiles, infraHostSpec } from "../../render/dmz";
import { renderDnsmasqDns } from "../../render/dns";
import { filesUnder, type RenderedFile } from "../../render/files";
import { renderHostFirewall } from "../../render/host-firewall";
import { jumpLabFacts, renderJumpFiles, type JumpLabFacts } from "../../render/jump";
import { htpasswdPath, renderNginx } from "../../render/nginx";
import { NixAttrs, NixInterp, NixRaw, printNix } from "../../render/nix";
import { companionFiles, nixosSshdConfig, renderNixosConfiguration } from "../../render/nixos";
import { renderNixosApply } from "../../render/nixos-apply";
import { expectGolden, expectScriptGoldens, staleGoldens } from "../support/golden";
import { labWithEdit, referenceLab, referencePlan } from "../support/lab";
import { basicAuthAgent } from "../support/variants";

// --- goldens (UPDATE_GOLDEN=1 rewrites them; review the diff) ----------------------------------

/**
 * Compare files with the goldens under `dir`, and fail on goldens no file renders any more. The
 * commit-confirm script is golden as its facts (`apply.facts.sh`) and the one NixOS body.
 */
function expectGoldens(dir: string, files: readonly RenderedFile[]): void {
  const expected: string[] = [];
  for (const f of files) {
    if (path.posix.basename(f.path) === "apply.sh") {
      const facts = path.posix.join(path.posix.dirname(f.path), "apply.facts.sh");
      expectScriptGoldens(f.content, applyScriptBody("nixos-apply"), `${dir}/${facts}`, "scripts/nixos-apply.sh");
      expected.push(facts);
    } else {
      expectGolden(`${dir}/${f.path}`, f.content);
      expected.push(f.path);
    }
  }
  expect(staleGoldens(dir, expected)).toEqual([]);
}

// --- the reference lab -------------------------------------------------------------------------

const lab = referenceLab();
const published = publishAll(lab);
const plan = planDmz(lab, published);
const access = planSshAccess(lab);
const labPlan = referencePlan();
const facts: JumpLabFacts = jumpLabFacts(lab);
const dmzFiles = renderDmzFiles(plan, access);
const file = (files: readonly RenderedFile[], p: string): string => {
  const f = files.find((x) => x.path === p);
  if (!f) throw new Error(`no rendered file ${p}`);
  return f.content;
};

// Intent written from the lab facts, not from the DMZ plan, so a planner bug cannot hide itself.
const trustedSources = [
  ...Object.values(lab.segments)
    .filter((s) => s.trust === "trusted")
    .map((s) => s.subnet.toString()),
  ...lab.ssh.adminSources.map(String),
].sort();
const labNetworks = [lab.dmz.subnet.toString(), ...Object.values(lab.segments).map((s) => s.subnet.toString())].sort();
const httpServices = published.flatMap((seg) => seg.services.filter((s) => s.kind === "http"));
const streamServices = published.flatMap((seg) => seg.services.filter((s) => s.kind !== "http"));

// --- a small nginx parser, independent of the renderer's printer --------------------------------

interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}

function parseNginx(text: string): Directive[] {
  const tokens: string[] = [];
  const re = /\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"#]+)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    if (m[1] !== undefined) tokens.push(`"${m[1].replace(/\\(.)/g, "$1")}`);
    else if (m[2] ?? m[3]) tokens.push((m[2] ?? m[3])!);
  }
  let i = 0;
  const word = (t: string) => (t.startsWith('"') ? t.slice(1) : t);
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (i < tokens.length && tokens[i] !== "}") {
      const name = word(tokens[i++]!);
      const args: string[] = [];
      while (tokens[i] !== ";" && tokens[i] !== "{") args.push(word(tokens[i++]!));
      if (tokens[i++] === "{") {
        out.push({ name, args, block: block() });
        i++;
      } else out.push({ name, args });
    }
    return out;
  };
  return block();
}

const all = (nodes: readonly Directive[] | undefined, name: string) => (nodes ?? []).filter((n) => n.name === name);
const one = (nodes: readonly Directive[] | undefined, name: string): Directive => {
  const found = all(nodes, name);
  if (found.length !== 1) throw new Error(`expected one ${name}, found ${found.length}`);
  return found[0]!;
};

// --------------------------------------------------------------------------------------------------

describe("goldens", () => {
  test("DMZ infra host files", () => {
    expect(dmzFiles.map((f) => f.path)).toEqual([
      "infra/apply.sh",
      "infra/backend-tls-internal-nas.pem",
      "infra/backend-tls-internal-pve.pem",
      "infra/backend-tls-lab-sunshine.pem",
      "infra/chrony.conf",
      "infra/configuration.nix",
      "infra/dnsmasq.conf",
      "infra/host.nft",
      "infra/nginx.conf",
      "infra/sshd_config",
    ]);
    expectGoldens("dmz", dmzFiles);
  });

  test.each(Object.keys(labPlan.segments).sort())("jump host of %s", (segment) => {
    const files = renderJumpFiles(labPlan.segments[segment]!, access, facts);
    expect(files.map((f) => f.path)).toEqual(["jump/apply.sh", "jump/configuration.nix", "jump/host.nft", "jump/sshd_config"]);
    expectGoldens(`jump/${segment}`, filesUnder(files, "jump"));
  });
});

describe("determinism", () => {
  test("rendering twice gives the same bytes", () => {
    expect(renderDmzFiles(plan, access)).toEqual(dmzFiles);
  });

  test("the order of the plan's lists does not matter", () => {
    const shuffled: DmzPlan = {
      ...plan,
      dns: { ...plan.dns, records: [...plan.dns.records].reverse(), clients: [...plan.dns.clients].reverse() },
      ntp: { ...plan.ntp, clients: [...plan.ntp.clients].reverse() },
      proxy: {
        ...plan.proxy,
        http: [...plan.proxy.http].reverse().map((r) => ({ ...r, allow: [...r.allow].reverse() })),
        streams: [...plan.proxy.streams].reverse(),
      },
      infra: { ...plan.infra, routes: [...plan.infra.routes].reverse() },
    };
    const reversedAccess = { ...access, users: [...access.users].reverse() };
    expect(renderDmzFiles(shuffled, reversedAccess)).toEqual(dmzFiles);
  });

  test("segments in any order publish the same DMZ", () => {
    expect(renderDmzFiles(planDmz(lab, [...published].reverse()), access)).toEqual(dmzFiles);
  });
});

describe("nginx.conf means what the model says", () => {
  const conf = parseNginx(file(dmzFiles, "infra/nginx.conf"));
  const http = one(conf, "http").block!;
  const servers = all(http, "server");
  const tlsServers = servers.filter((s) => all(s.block, "listen").some((l) => l.args[0] === `${lab.dmz.proxy}:443`));
  const byName = (fqdn: string) => tlsServers.filter((s) => all(s.block, "server_name").some((n) => n.args.includes(fqdn)));

  test.each(httpServices.map((s) => [s.fqdn!, s] as const))(
    "%s has exactly one TLS server proxying to its firewall's WAN address",
    (fqdn, s) => {
      const matches = byName(fqdn);
      expect(matches).toHaveLength(1);
      const server = matches[0]!;
      const location = all(server.block, "location").find((l) => l.args[0] === "/")!;
      const scheme = s.backend.tls ? "https" : "http";
      expect(one(location.block, "proxy_pass").args).toEqual([`${scheme}://${s.firewall.address}:${s.firewall.port}`]);
      // A TLS backend is verified (below, by name); a plain one has nothing to verify.
      expect(all(location.block, "proxy_ssl_verify").map((v) => v.args)).toEqual(s.backend.tls ? [["on"]] : []);

      const allows = all(server.block, "allow")
        .map((a) => a.args[0]!)
        .sort();
      const denies = all(server.block, "deny").map((a) => a.args[0]);
      // A lab service admits the segments its usedBy lists (the mirror: the sandbox too), else the trusted ones.
      const users = s.usedBy
        ? [...s.usedBy.map((u) => lab.segments[u]!.subnet.toString()), ...lab.ssh.adminSources.map(String)].sort()
        : trustedSources;
      // An admins service (Sunshine's web UI) admits the admin workstations and no segment at all.
      const admitted = {
        internet: { allows: [], denies: [] },
        lab: { allows: users, denies: ["all"] },
        admins: { allows: lab.ssh.adminSources.map(String).sort(), denies: ["all"] },
      }[s.exposure];
      expect({ allows, denies }).toEqual(admitted);
      // By hand: the admin workstations only for sunshine.
      expect({ id: s.id, adminsOnly: allows.length > 0 && allows.every((a) => lab.ssh.adminSources.map(String).includes(a)) }).toEqual({
        id: s.id,
        adminsOnly: s.id === "sunshine",
      });
      // By hand: the mirror admits the sandbox, grafana does not.
      expect({ id: s.id, sandbox: allows.includes("10.40.0.0/24") }).toEqual({ id: s.id, sandbox: s.id === "mirror" });

      const auth = {
        auth_basic: all(server.block, "auth_basic").map((a) => a.args),
        auth_basic_user_file: all(server.block, "auth_basic_user_file").map((a) => a.args),
      };
      expect(auth).toEqual(
        s.auth.kind === "basic"
          ? { auth_basic: [[s.auth.realm]], auth_basic_user_file: [[`/var/lib/homelab/secrets/htpasswd-${s.id}`]] }
          : { auth_basic: [], auth_basic_user_file: [] },
      );
    },
  );

  // Hand-written from the reference lab's config: pve is verified against the cluster's CA, the
  // NAS and Sunshine's web UI against their own pinned certificates, each by the host's FQDN; no
  // other route opens TLS.
  const CREDENTIALS = "/run/credentials/homelab-nginx.service";
  const VERIFIED: Record<string, Record<string, string[][]>> = {
    [`pve.${lab.domain}`]: {
      proxy_ssl_verify: [["on"]],
      proxy_ssl_trusted_certificate: [[`${CREDENTIALS}/backend-tls-internal-pve.pem`]],
      proxy_ssl_verify_depth: [["1"]],
      proxy_ssl_name: [[`pve1.internal.${lab.domain}`]],
      proxy_ssl_server_name: [["on"]],
    },
    [`nas.${lab.domain}`]: {
      proxy_ssl_verify: [["on"]],
      proxy_ssl_trusted_certificate: [[`${CREDENTIALS}/backend-tls-internal-nas.pem`]],
      proxy_ssl_verify_depth: [["0"]],
      proxy_ssl_name: [[`truenas.internal.${lab.domain}`]],
      proxy_ssl_server_name: [["on"]],
    },
    [`sunshine.${lab.domain}`]: {
      proxy_ssl_verify: [["on"]],
      proxy_ssl_trusted_certificate: [[`${CREDENTIALS}/backend-tls-lab-sunshine.pem`]],
      proxy_ssl_verify_depth: [["0"]],
      proxy_ssl_name: [[`vdi.lab.${lab.domain}`]],
      proxy_ssl_server_name: [["on"]],
    },
  };
  test.each(httpServices.map((s) => [s.fqdn!] as const))("%s: backend TLS verification as the model says", (fqdn) => {
    const location = all(byName(fqdn)[0]!.block, "location").find((l) => l.args[0] === "/")!;
    const ssl = Object.fromEntries(
      Object.keys(VERIFIED[`pve.${lab.domain}`]!).map((k) => [k, all(location.block, k).map((d) => d.args)] as const),
    );
    const none = Object.fromEntries(Object.keys(ssl).map((k) => [k, []]));
    expect(ssl).toEqual(VERIFIED[fqdn] ?? none);
    // Nothing anywhere turns verification off.
    expect(file(dmzFiles, "infra/nginx.conf")).not.toMatch(/proxy_ssl_verify\s+off/);
  });

  test("each trusted certificate is the model's, handed to the proxy's unit as a credential", () => {
    const pinOf = (seg: string, id: string) => {
      const tls = lab.segments[seg]!.services[id]!.backend.tls;
      return `${(typeof tls === "object" ? tls.pin : undefined)!.trim()}\n`;
    };
    expect({
      pve: file(dmzFiles, "infra/backend-tls-internal-pve.pem"),
      nas: file(dmzFiles, "infra/backend-tls-internal-nas.pem"),
      sunshine: file(dmzFiles, "infra/backend-tls-lab-sunshine.pem"),
    }).toEqual({
      pve: `${lab.dmz.backendCas["pve"]!.certificate.trim()}\n`,
      nas: pinOf("internal", "nas"),
      sunshine: pinOf("lab", "sunshine"),
    });
    const nix = file(dmzFiles, "infra/configuration.nix");
    const credentials = /LoadCredential = \[([^\]]*)\]/.exec(nix)?.[1]?.trim().split(/\s+/);
    expect(credentials).toEqual([
      '"backend-tls-internal-nas.pem:${./backend-tls-internal-nas.pem}"',
      '"backend-tls-internal-pve.pem:${./backend-tls-internal-pve.pem}"',
      '"backend-tls-lab-sunshine.pem:${./backend-tls-lab-sunshine.pem}"',
    ]);
  });

  // Hand-written from the reference lab's config: which names upgrade to WebSockets, and the body limits.
  const configured = (seg: string, id: string) => {
    const svc = lab.segments[seg]!.services[id]!;
    if (svc.kind !== "http") throw new Error(`${seg}/${id} is not http`);
    return svc;
  };

  test.each(httpServices.map((s) => [s.fqdn!, s] as const))(
    "%s: HSTS always, its own body limit, Upgrade only if it declares websockets",
    (fqdn, s) => {
      const server = byName(fqdn)[0]!;
      const location = all(server.block, "location").find((l) => l.args[0] === "/")!;
      const svc = configured(s.segment, s.id);
      expect(all(server.block, "add_header").map((h) => h.args)).toEqual([["Strict-Transport-Security", "max-age=31536000", "always"]]);
      expect(all(server.block, "client_max_body_size").map((h) => h.args)).toEqual([[`${svc.maxBodyMiB}m`]]);
      // Only a WebSocket location keeps idle upstreams open for an hour; others use the http block's minute.
      expect(all(location.block, "proxy_read_timeout").map((h) => h.args)).toEqual(svc.websockets ? [["1h"]] : []);
      // No server sets its own headers: that would drop every inherited proxy_set_header.
      expect(all(server.block, "proxy_set_header")).toEqual([]);
      expect(all(location.block, "proxy_set_header")).toEqual([]);
    },
  );

  test("the reference limits: the registry and pve take large uploads, the internet-exposed wiki and every other name 10 MiB", () => {
    const limits = Object.fromEntries(
      tlsServers.flatMap((sv) => {
        const name = one(sv.block, "server_name").args[0]!;
        return name === "_" ? [] : [[name.split(".")[0], one(sv.block, "client_max_body_size").args[0]]];
      }),
    );
    expect(limits).toEqual({
      agent: "10m",
      argocd: "10m",
      grafana: "10m",
      mirror: "10m",
      nas: "10m",
      pve: "8192m",
      registry: "4096m",
      sunshine: "10m",
      wiki: "10m",
    });
    expect(one(http, "client_max_body_size").args).toEqual(["1m"]);
  });

  test("Upgrade and Connection go upstream only for grafana, nas and pve, the services that declare websockets", () => {
    const upgrade = all(http, "map").find((m) => m.args[1] === "$ws_upgrade")!;
    expect(upgrade.args[0]).toBe("$server_name");
    expect(upgrade.block!.map((e) => [e.name, ...e.args])).toEqual([
      ["default", ""],
      ["grafana.lab.example.net", "$http_upgrade"],
      ["nas.lab.example.net", "$http_upgrade"],
      ["pve.lab.example.net", "$http_upgrade"],
    ]);
    const headers = Object.fromEntries(all(http, "proxy_set_header").map((h) => [h.args[0], h.args[1]]));
    expect({ upgrade: headers["Upgrade"], connection: headers["Connection"] }).toEqual({
      upgrade: "$ws_upgrade",
      connection: "$ws_connection",
    });
    expect(file(dmzFiles, "infra/nginx.conf")).not.toContain("proxy_set_header Upgrade $http_upgrade");
  });

  test("a lab where no service declares websockets forwards no Upgrade at all", () => {
    const none: DmzPlan = { ...plan, proxy: { ...plan.proxy, http: plan.proxy.http.map((r) => ({ ...r, websockets: false })) } };
    const text = renderNginx(none);
    expect(text).not.toMatch(/proxy_set_header (Upgrade|Connection)/);
    expect(text).not.toMatch(/proxy_read_timeout 1h/);
  });

  test("one client address holds a bounded number of connections, and slow clients and backends time out", () => {
    const values = (block: readonly Directive[]) =>
      Object.fromEntries(block.filter((d) => !d.block).map((d) => [d.name, d.args.join(" ")]));
    const h = values(http);
    expect(h).toMatchObject({
      limit_conn_zone: "$binary_remote_addr zone=per_client:10m",
      limit_conn: "per_client 64",
      limit_conn_status: "429",
      client_header_timeout: "10s",
      client_body_timeout: "30s",
      send_timeout: "30s",
      keepalive_timeout: "30s",
      proxy_connect_timeout: "10s",
      proxy_read_timeout: "60s",
      proxy_send_timeout: "60s",
    });
    expect(values(one(conf, "stream").block!)).toMatchObject({
      limit_conn_zone: "$binary_remote_addr zone=per_client_stream:10m",
      limit_conn: "per_client_stream 16",
    });
  });

  test("no server exists for a name the model does not publish", () => {
    const named = tlsServers.flatMap((s) => one(s.block, "server_name").args).filter((n) => n !== "_");
    expect(named.sort()).toEqual(httpServices.map((s) => s.fqdn!).sort());
  });

  test("unknown Host names get the default server's 421 on both ports", () => {
    for (const port of [80, 443]) {
      const defaults = servers.filter((s) =>
        all(s.block, "listen").some((l) => l.args[0] === `${lab.dmz.proxy}:${port}` && l.args.includes("default_server")),
      );
      expect(defaults).toHaveLength(1);
      const loc = all(defaults[0]!.block, "location").find((l) => l.args[0] === "/")!;
      expect(one(loc.block, "return").args).toEqual(["421"]);
      expect(one(defaults[0]!.block, "error_page").args).toEqual(["421", "=421", "@unknown"]);
    }
  });

  test("basic auth (the agent, on a lab check refuses today): asked for at the proxy, and its password is not sent upstream", () => {
    const basicLab = labWithEdit(basicAuthAgent);
    const vfiles = renderDmzFiles(planDmz(basicLab, publishAll(basicLab)), planSshAccess(basicLab));
    const vhttp = one(parseNginx(file(vfiles, "infra/nginx.conf")), "http").block!;
    const agent = `agent.${lab.domain}`;
    const server = all(vhttp, "server").filter((x) => all(x.block, "server_name").some((n) => n.args.length === 1 && n.args[0] === agent));
    expect(server).toHaveLength(1);
    expect(all(server[0]!.block, "auth_basic").map((a) => a.args)).toEqual([["agent"]]);
    expect(all(server[0]!.block, "auth_basic_user_file").map((a) => a.args)).toEqual([["/var/lib/homelab/secrets/htpasswd-agent"]]);
    const map = all(vhttp, "map").find((m) => m.args[1] === "$upstream_authorization")!;
    expect(map.block!.map((e) => [e.name, ...e.args])).toEqual([
      ["default", "$http_authorization"],
      [agent, ""],
    ]);
    expect(all(vhttp, "proxy_set_header").find((h) => h.args[0] === "Authorization")!.args[1]).toBe("$upstream_authorization");
  });

  test("with no basic-auth route (the reference lab), nothing strips Authorization: every backend authenticates itself", () => {
    expect(httpServices.filter((s) => s.auth.kind === "basic")).toEqual([]);
    expect(all(http, "map").filter((m) => m.args[1] === "$upstream_authorization")).toEqual([]);
    expect(all(http, "proxy_set_header").filter((h) => h.args[0] === "Authorization")).toEqual([]);
    expect(all(http, "auth_basic")).toEqual([]);
  });

  test("upstream connections leave from the infra host's tunnel address, the only source the firewalls' tunnel DNAT admits", () => {
    expect(one(http, "proxy_bind").args).toEqual([lab.dmz.tunnel!.address]);
    expect(one(one(conf, "stream").block, "proxy_bind").args).toEqual([lab.dmz.tunnel!.address]);
  });

  test.each(streamServices.map((s) => [`${s.port}/${s.kind}`, s] as const))("stream %s passes to its firewall", (_, s) => {
    const stream = one(conf, "stream").block!;
    const server = all(stream, "server").filter((sv) =>
      all(sv.block, "listen").some((l) => l.args[0] === `${lab.dmz.proxy}:${s.port}` && l.args.includes("udp") === (s.kind === "udp")),
    );
    expect(server).toHaveLength(1);
    expect(one(server[0]!.block, "proxy_pass").args).toEqual([`${s.firewall.address}:${s.firewall.port}`]);
    expect(all(server[0]!.block, "allow").length > 0).toBe(s.exposure === "lab");
  });

  test("the file loads no module (NixOS's nginx has stream built in) and has no hostname upstreams", () => {
    const text = file(dmzFiles, "infra/nginx.conf");
    expect(text).not.toMatch(/load_module/);
    for (const m of text.matchAll(/proxy_pass\s+(?:https?:\/\/)?([^:;\s]+)/g)) expect(m[1]).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  test("a lab-only route with an empty allow list is a bug, not an open door", () => {
    const broken: DmzPlan = {
      ...plan,
      proxy: { ...plan.proxy, http: plan.proxy.http.map((r) => (r.exposure === "lab" ? { ...r, allow: [] } : r)) },
    };
    expect(() => renderNginx(broken)).toThrow("empty allow list");
  });
});

describe("dnsmasq.conf answers every name of the lab", () => {
  const text = file(dmzFiles, "infra/dnsmasq.conf");
  const hostRecords = new Map([...text.matchAll(/^host-record=([^,\n]+),(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const cnames = new Map([...text.matchAll(/^cname=([^,\n]+),(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const resolve = (name: string): string | undefined =>
    hostRecords.get(name) ?? (cnames.has(name) ? hostRecords.get(cnames.get(name)!) : undefined);

  const expected: [string, string][] = [
    [`infra.${lab.domain}`, lab.dmz.infra.address],
    [`dns.${lab.domain}`, lab.dmz.dns],
    [`ntp.${lab.domain}`, lab.dmz.ntp],
    [`proxy.${lab.domain}`, lab.dmz.proxy],
    ...published.flatMap((seg): [string, string][] => [
      [seg.router.fqdn, seg.router.lanAddress],
      [`${seg.router.name}.${lab.domain}`, seg.router.wanAddress],
      ...seg.hosts.map((h): [string, string] => [h.fqdn, h.address]),
      ...seg.services.filter((s) => s.kind === "http").map((s): [string, string] => [s.fqdn!, lab.dmz.proxy]),
    ]),
  ];

  test.each(expected)("%s -> %s", (name, address) => {
    expect(resolve(name)).toBe(address);
  });

  test("no record beyond the model's, and each name once", () => {
    const names = [...text.matchAll(/^(?:host-record|cname)=([^,\n]+),/gm)].map((m) => m[1]!);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual([...new Set(expected.map(([n]) => n))].sort());
  });

  test("the proxy address reverse-resolves to one name: services are aliases of it", () => {
    expect([...hostRecords.values()].filter((a) => a === lab.dmz.proxy)).toHaveLength(1);
  });

  test("listens on the DNS address only, serves no DHCP, never forwards the lab's domain", () => {
    expect(text).toMatch(new RegExp(`^listen-address=${lab.dmz.dns.replace(/\./g, "\\.")}$`, "m"));
    expect(text).toMatch(/^bind-interfaces$/m);
    expect(text).not.toMatch(/^dhcp-/m);
    expect(text).toMatch(new RegExp(`^local=/${lab.domain}/$`, "m"));
    expect(text).toMatch(/^no-resolv$/m);
    expect([...text.matchAll(/^server=(\S+)$/gm)].map((m) => m[1])).toEqual(lab.dmz.upstreamDns);
  });

  test("a service address no DMZ name owns gets its own host-record", () => {
    const lone: DmzPlan = {
      ...plan,
      dns: { ...plan.dns, records: [{ name: `x.${lab.domain}`, address: "192.168.1.99", kind: "service" }] },
    };
    expect(renderDnsmasqDns(lone)).toMatch(/^host-record=x\.lab\.example\.net,192\.168\.1\.99$/m);
  });
});

describe("chrony", () => {
  const text = file(dmzFiles, "infra/chrony.conf");

  test("the server allows exactly the lab's networks and binds the NTP address", () => {
    expect([...text.matchAll(/^allow (\S+)$/gm)].map((m) => m[1]).sort()).toEqual(labNetworks);
    expect(text).toMatch(new RegExp(`^bindaddress ${lab.dmz.ntp.replace(/\./g, "\\.")}$`, "m"));
    expect([...text.matchAll(/^server (\S+) iburst$/gm)].map((m) => m[1])).toEqual(lab.dmz.upstreamNtp);
    expect(text).toMatch(/^local stratum 10$/m);
    expect(text).toMatch(/^cmdport 0$/m);
  });

  test("a client follows the DMZ server only and serves no one", () => {
    const client = renderChronyClient(lab.dmz.ntp);
    expect([...client.matchAll(/^(server|pool|peer) (\S+)/gm)].map((m) => m[2])).toEqual([lab.dmz.ntp]);
    expect(client).not.toMatch(/^allow/m);
  });
});

describe("host firewalls", () => {
  const rules = (text: string) =>
    text
      .split("\n")
      .filter((l) => /\baccept$/.test(l) && /dport/.test(l))
      .map((l) => l.trim());

  test("the infra host admits DNS and NTP from the lab, the proxy's ports, SSH from admins, and the tunnel's port from the routers", () => {
    const nets = `{ ${labNetworks
      .map((c) => Cidr.of(c))
      .sort((a, b) => compareIp(a.network, b.network))
      .join(", ")} }`;
    const admin = lab.ssh.adminSources.map(String).join(", ");
    const scrapes = planDmz(lab, publishAll(lab)).infra.inbound.map(
      (f) =>
        `ip saddr ${f.from.map((c) => (c.prefix === 32 ? c.network : String(c))).join(", ")} ip daddr ${f.to} ${f.proto} dport ${f.port} accept`,
    );
    expect(scrapes).toHaveLength(2);
    expect([...rules(file(dmzFiles, "infra/host.nft"))].sort()).toEqual(
      [
        ...scrapes,
        `ip saddr ${admin} ip daddr ${lab.dmz.infra.address} tcp dport 22 accept`,
        // Every router's WAN address, read from the lab: their ends of the tunnel answer and rekey.
        `ip saddr { ${Object.values(lab.segments)
          .map((s) => s.router.wanAddress)
          .sort()
          .join(", ")} } ip daddr ${lab.dmz.infra.address} udp dport ${lab.dmz.tunnel!.port} accept`,
        `ip saddr ${nets} ip daddr ${lab.dmz.dns} tcp dport 53 accept`,
        `ip saddr ${nets} ip daddr ${lab.dmz.dns} udp dport 53 accept`,
        `ip daddr ${lab.dmz.proxy} tcp dport 80 accept`,
        `ip saddr ${nets} ip daddr ${lab.dmz.ntp} udp dport 123 accept`,
        `ip daddr ${lab.dmz.proxy} tcp dport 443 accept`,
        ...streamServices
          .map((s) => ({ port: s.port!, proto: s.kind }))
          .sort((a, b) => a.port - b.port)
          .map((p) => `ip daddr ${lab.dmz.proxy} ${p.proto} dport ${p.port} accept`),
      ].sort(),
    );
  });

  test.each(Object.keys(labPlan.segments).sort())(
    "the %s jump host admits SSH from the admin workstations only, and the scrapes its segment's flows allow",
    (segment) => {
      const seg = labPlan.segments[segment]!;
      const text = file(renderJumpFiles(seg, access, facts), "jump/host.nft");
      const ssh = rules(text).filter((r) => / tcp dport 22 /.test(r));
      expect(ssh).toEqual([`ip saddr ${lab.ssh.adminSources.map(String).join(", ")} ip daddr ${seg.jumpHost.address} tcp dport 22 accept`]);
      // Written by hand for the reference lab: only internal's monitor may reach other segments' jump hosts.
      const scrapes: Record<string, string[]> = { cluster: ["9100", "50000"], internal: [], lab: ["9100"], sandbox: ["9100"] };
      expect(rules(text).filter((r) => !/ tcp dport 22 /.test(r))).toEqual(
        scrapes[segment]!.map((p) => `ip saddr 10.10.0.30 ip daddr ${seg.jumpHost.address} tcp dport ${p} accept`),
      );
      expect(text).toMatch(/type filter hook input priority filter; policy drop;/);
      expect(text).toMatch(/type filter hook forward priority filter; policy drop;/);
    },
  );

  test("a rule without sources is a bug", () => {
    expect(() => renderHostFirewall({ host: "x", rules: [{ from: [], proto: "tcp", port: 22, reason: "nobody at all" }] })).toThrow(
      "no sources",
    );
  });
});

describe("sshd", () => {
  test("the infra host's sshd listens on its address, admits admins' workstations only, forwards nothing", () => {
    const text = file(dmzFiles, "infra/sshd_config");
    expect(text).toMatch(new RegExp(`^ListenAddress ${lab.dmz.infra.address.replace(/\./g, "\\.")}$`, "m"));
    const allowed = /^AllowUsers (.*)$/m.exec(text)![1]!.split(" ");
    expect(allowed.every((a) => lab.ssh.adminSources.some((c) => a.endsWith(`@${c}`)))).toBe(true);
    expect(text).toMatch(/^DisableForwarding yes$/m);
    expect(text).toMatch(/^UsePAM yes$/m);
  });

  test.each(Object.keys(labPlan.segments).sort())(
    "the %s jump host forwards TCP for ProxyJump and admits admins' workstations",
    (segment) => {
      const seg = labPlan.segments[segment]!;
      const text = file(renderJumpFiles(seg, access, facts), "jump/sshd_config");
      expect(text).toMatch(new RegExp(`^ListenAddress ${seg.jumpHost.address.replace(/\./g, "\\.")}$`, "m"));
      expect(text).toMatch(/^AllowTcpForwarding yes$/m);
      expect(/^AllowUsers (.*)$/m.exec(text)![1]!.split(" ").sort()).toEqual(
        access.users.flatMap((u) => lab.ssh.adminSources.map((c) => `${u.name}@${c}`)).sort(),
      );
    },
  );

  test("UsePAM is added once, and not when the policy already sets it", () => {
    const once = nixosSshdConfig("Port 22\n");
    expect(once.match(/^UsePAM/gm)).toHaveLength(1);
    expect(nixosSshdConfig(once)).toBe(once);
  });
});

describe("configuration.nix", () => {
  const nix = file(dmzFiles, "infra/configuration.nix");

  test("references exactly its companion files, each of which is rendered next to it", () => {
    const referenced = [...new Set([...nix.matchAll(/\.\/([A-Za-z0-9._+-]+)/g)].map((m) => m[1]!))].sort();
    const rendered = dmzFiles
      .map((f) => path.basename(f.path))
      .filter((n) => n !== "configuration.nix")
      .sort();
    expect(referenced).toEqual(rendered);
    expect(companionFiles(infraHostSpec(plan, access))).toEqual(rendered);
  });

  test("carries the tested files instead of re-describing them", () => {
    expect(nix).toContain("networking.nftables.rulesetFile = ./host.nft;");
    expect(nix).toContain("networking.firewall.enable = false;");
    expect(nix).toContain('environment.etc."ssh/sshd_config".source = lib.mkForce ./sshd_config;');
    expect(nix).toContain(
      'ExecStart = "${pkgs.dnsmasq}/bin/dnsmasq --keep-in-foreground --user=dnsmasq --group=dnsmasq -C ${./dnsmasq.conf}";',
    );
    expect(nix).toContain('ExecStart = "${pkgs.chrony}/bin/chronyd -n -u chrony -f ${./chrony.conf}";');
    expect(nix).toContain('ExecStart = "${pkgs.nginx}/bin/nginx -c ${./nginx.conf}";');
    expect(nix).toContain('(pkgs.writeScriptBin "homelab-apply" (builtins.readFile ./apply.sh))');
  });

  test("no password anywhere: users from the model with keys, immutable, root locked", () => {
    expect(nix).toContain("users.mutableUsers = false;");
    expect(nix).toContain('users.users.root.hashedPassword = "!";');
    expect(nix).not.toMatch(/\b(password|initialPassword|passwordFile|hashedPasswordFile)\s*=/);
    for (const u of access.users) for (const k of u.keys) expect(nix).toContain(`"${k}"`);
  });

  test("the deploy identity may sudo the apply command only; admins are in wheel", () => {
    const deploy = access.users.find((u) => u.deploy)!;
    expect(nix).toMatch(new RegExp(`users\\.users\\.${deploy.name} = \\{\\n\\s+isNormalUser = true;\\n\\s+openssh`));
    const rules = /security\.sudo\.extraRules = (\[[\s\S]*?\n {2}\]);/.exec(nix)![1]!;
    expect([...rules.matchAll(/users = \[ "([^"]+)" \]/g)].map((m) => m[1])).toEqual([deploy.name]);
    expect(rules).toMatch(/command = "\/run\/current-system\/sw\/bin\/homelab-apply";\s+options = \[ "NOPASSWD" \];/);
    for (const u of access.users.filter((x) => !x.deploy))
      expect(nix).toMatch(new RegExp(`users\\.users\\.${u.name} = \\{\\n\\s+isNormalUser = true;\\n\\s+extraGroups = \\[ "wheel" \\];`));
  });

  test.each(Object.keys(labPlan.segments).sort())("the %s jump host sits behind its router and uses the DMZ's DNS and NTP", (segment) => {
    const seg: SegmentPlan = labPlan.segments[segment]!;
    const text = file(renderJumpFiles(seg, access, facts), "jump/configuration.nix");
    expect(text).toContain(`networking.defaultGateway = { address = "${seg.router.lan.address}"; interface = "ens18"; };`);
    expect(text).toContain(`networking.nameservers = [ "${lab.dmz.dns}" ];`);
    expect(text).toContain(`networking.timeServers = [ "${lab.dmz.ntp}" ];`);
    expect(text).toContain(`{ address = "${seg.jumpHost.address}"; prefixLength = ${seg.subnet.prefix}; }`);
    expect(text).toContain(`networking.domain = "${segment}.${lab.domain}";`);
  });

  test("no secret in any rendered file", () => {
    const everything = [...dmzFiles, ...Object.values(labPlan.segments).flatMap((s) => renderJumpFiles(s, access, facts))];
    for (const f of everything) {
      expect(f.content).not.toMatch(/PRIVATE KEY|\$apr1\$|\$2[aby]\$|\$6\$|\$y\$/);
    }
    expect(htpasswdPath("registry")).toBe("/var/lib/homelab/secrets/htpasswd-registry");
  });
});

describe("the Nix printer", () => {
  test.each([
    ["plain", "abc", '"abc"'],
    ["quotes and backslashes", 'a"b\\c', '"a\\"b\\\\c"'],
    ["an interpolation in model text stays literal", "${evil}", '"\\${evil}"'],
    ["newline", "a\nb", '"a\\nb"'],
  ])("%s", (_, value, printed) => {
    expect(printNix(value)).toBe(printed);
  });

  test("keys that are not identifiers are quoted", () => {
    expect(
      printNix(
        new NixAttrs([
          [["in"], 1],
          [["a/b"], true],
          [["ok-key"], "x"],
        ]),
      ),
    ).toBe('{ "in" = 1; "a/b" = true; ok-key = "x"; }');
  });

  test("interpolations and raw values are printed as Nix", () => {
    expect(printNix(new NixInterp([new NixRaw("pkgs.x"), "/bin/x -C ", new NixRaw("./a.conf")]))).toBe('"${pkgs.x}/bin/x -C ${./a.conf}"');
  });

  test("an unsafe companion file name is a bug", () => {
    expect(() =>
      renderNixosConfiguration({
        ...infraHostSpec(plan, access),
        files: { firewall: "../etc/passwd", sshd: "sshd_config", apply: "apply.sh" },
      }),
    ).toThrow("cannot be a companion file name");
  });
});

describe("apply.sh", () => {
  test("is the same script for every NixOS host but its header", () => {
    const a = renderNixosApply({ host: "a.example" }).split("\n").slice(2);
    const b = renderNixosApply({ host: "b.example" }).split("\n").slice(2);
    expect(a).toEqual(b);
    expect(dmzFiles.find((f) => f.path === "infra/apply.sh")!.mode).toBe(0o755);
  });

  test("every printf format is on one line (no newline swallowed by the template)", () => {
    expect(renderNixosApply({ host: "x" })).not.toMatch(/printf '[^'\n]*\n/);
  });

  test("uses the caller's default timeout", () => {
    expect(renderNixosApply({ host: "x", defaultTimeoutSeconds: 300 })).toMatch(/^DEFAULT_TIMEOUT=300$/m);
    expect(() => renderNixosApply({ host: "x", defaultTimeoutSeconds: 0 })).toThrow("positive integer");
  });

  test("the chrony server renders standalone too", () => {
    expect(renderChronyServer(plan)).toBe(file(dmzFiles, "infra/chrony.conf"));
  });
});

describe("the proxy's certificate, as the model says it is obtained", () => {
  test("ACME: nginx reads security.acme's files, configuration.nix issues and renews them, the proxy waits and reloads", () => {
    const conf = file(dmzFiles, "infra/configuration.nix");
    expect(conf).toContain('security.acme.certs."lab.example.net" = {');
    expect(conf).toContain('extraDomainNames = [ "*.lab.example.net" ];');
    expect(conf).toContain('reloadServices = [ "homelab-nginx.service" ];');
    expect(file(dmzFiles, "infra/nginx.conf")).toContain("ssl_certificate /var/lib/acme/lab.example.net/fullchain.pem;");
    // No rendered file holds the credentials; only the path of the secret file that carries them.
    expect(dmzFiles.some((f) => f.path.endsWith("acme-dns.env"))).toBe(false);
  });

  test("manual: nginx reads the declared paths, and the host runs no ACME client", () => {
    const manual: DmzPlan = {
      ...plan,
      proxy: {
        ...plan.proxy,
        tls: { kind: "manual", certificate: "/var/lib/homelab/tls/full.pem", key: "/var/lib/homelab/tls/key.pem", expires: "2031-01-01" },
      },
    };
    const files = renderDmzFiles(manual, access);
    const nginx = file(files, "infra/nginx.conf");
    expect(nginx).toContain("ssl_certificate /var/lib/homelab/tls/full.pem;");
    expect(nginx).toContain("ssl_certificate_key /var/lib/homelab/tls/key.pem;");
    expect(nginx).toContain("it expires on 2031-01-01 and nothing renews it");
    const conf = file(files, "infra/configuration.nix");
    expect(conf).not.toContain("security.acme");
    expect(conf).not.toContain("acme-");
  });
});
