// Proves each router's rendered wg-quick file, its tunnel unit and the infra host's WireGuard section say what the lab's tunnel facts say (read back from the text, checked against homelab.yaml and the segment files, not the plan), that no private key is ever rendered, and that a lab without the tunnel renders none of it; it does not run WireGuard (tests/tools and the twin do).
import { planDmz, publishAll } from "../../model/network/dmz";
import { planSshAccess } from "../../model/network/ssh";
import { planLab } from "../../model/plan";
import { renderDmzFiles } from "../../render/dmz";
import { renderSegmentFiles } from "../../render/segment";
import { ROUTER_TUNNEL, TUNNEL_KEY_FILE } from "../../render/wireguard";
import { parseFiles, referenceFiles, referenceLab, referencePlan, segOf } from "../support/lab";

const lab = referenceLab();
const plan = referencePlan();
const access = planSshAccess(lab);
const SEGMENTS = Object.keys(lab.segments).sort();
const t = lab.dmz.tunnel!;

/** A wg-quick file as sections of key = value lines, comments dropped, in order. */
function parseWg(text: string): { section: string; entries: [string, string][] }[] {
  const out: { section: string; entries: [string, string][] }[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      out.push({ section: head[1]!, entries: [] });
      continue;
    }
    const m = /^(\w+)\s*=\s*(.*)$/.exec(line);
    if (!m || out.length === 0) throw new Error(`not a wg-quick line: ${raw}`);
    out[out.length - 1]!.entries.push([m[1]!, m[2]!]);
  }
  return out;
}

const routerFile = (seg: string, name: string) => {
  const f = renderSegmentFiles(plan.segments[seg]!, access).find((x) => x.path === `router/${name}`);
  if (!f) throw new Error(`${seg} renders no router/${name}`);
  return f.content;
};

describe("a router's end of the tunnel", () => {
  test.each(SEGMENTS)(
    "%s: its address and port, and the infra host as its one peer, allowed only the infra host's tunnel address",
    (seg) => {
      const end = lab.segments[seg]!.router.tunnel!;
      expect(parseWg(routerFile(seg, ROUTER_TUNNEL.conf("wg-homelab")))).toEqual([
        {
          section: "Interface",
          entries: [
            ["Address", `${end.address}/${t.subnet.prefix}`],
            ["ListenPort", String(t.port)],
          ],
        },
        {
          section: "Peer",
          entries: [
            ["PublicKey", t.publicKey],
            ["AllowedIPs", `${t.address}/32`],
            // It dials the infra host's DMZ address too, so a rebooted router has its tunnel back at once.
            ["Endpoint", `${lab.dmz.infra.address}:${t.port}`],
          ],
        },
      ]);
    },
  );

  test.each(SEGMENTS)("%s: the unit brings it up only after the boot unit's ruleset, and sets the key from its root-only file", (seg) => {
    const unit = routerFile(seg, ROUTER_TUNNEL.unit);
    const lines = unit.split("\n").filter((l) => /^[A-Za-z]+=/.test(l));
    expect(lines.filter((l) => /^(After|Requires|Wants|WantedBy|ExecStart|ExecStop)=/.test(l))).toEqual([
      "After=homelab-router.service network-online.target",
      "Requires=homelab-router.service",
      "Wants=network-online.target",
      "ExecStart=/usr/bin/wg-quick up /etc/wireguard/wg-homelab.conf",
      "ExecStart=/usr/bin/wg set wg-homelab private-key /etc/wireguard/wg-homelab.key",
      `ExecStart=/usr/bin/wg set wg-homelab peer ${t.publicKey} persistent-keepalive 25`,
      "ExecStop=/usr/bin/wg-quick down /etc/wireguard/wg-homelab.conf",
      "WantedBy=multi-user.target",
    ]);
  });

  test.each(SEGMENTS)("%s: apply.sh installs the file and the key root-only, and checks the key against the model's public key", (seg) => {
    const apply = routerFile(seg, "apply.sh");
    expect(apply).toContain(
      `PRIVATE_INSTALL=(\n  'wg-homelab.conf:/etc/wireguard/wg-homelab.conf'\n  '${TUNNEL_KEY_FILE}:/etc/wireguard/wg-homelab.key'`,
    );
    expect(apply).toContain(`TUNNEL_PUBLIC_KEY='${lab.segments[seg]!.router.tunnel!.publicKey}'`);
    expect(apply).toContain(`'${ROUTER_TUNNEL.unit}:${ROUTER_TUNNEL.path}'`);
  });
});

describe("the infra host's end", () => {
  const nix = renderDmzFiles(planDmz(lab, publishAll(lab)), access).find((f) => f.path === "infra/configuration.nix")!.content;

  test("its address, port and key file, and one peer per router: that router's tunnel address only, dialled at its WAN address", () => {
    const iface = "networking.wireguard.interfaces.wg-homelab";
    expect(nix).toContain(`  ${iface}.ips = [ "${t.address}/${t.subnet.prefix}" ];\n`);
    expect(nix).toContain(`  ${iface}.listenPort = ${t.port};\n`);
    expect(nix).toContain(`  ${iface}.privateKeyFile = "/etc/nixos/homelab/${TUNNEL_KEY_FILE}";\n`);
    const peers = [...nix.matchAll(/publicKey = "([^"]+)";\s*allowedIPs = \[ "([^"]+)" \];\s*endpoint = "([^"]+)";/g)].map((m) =>
      m.slice(1),
    );
    expect(peers).toEqual(
      SEGMENTS.map((s) => {
        const r = lab.segments[s]!.router;
        return [r.tunnel!.publicKey, `${r.tunnel!.address}/32`, `${r.wanAddress}:${t.port}`];
      }),
    );
  });

  test("a new key restarts the interface: the key file's fingerprint is its unit's restart trigger", () => {
    const files = renderDmzFiles(planDmz(lab, publishAll(lab)), access, { [TUNNEL_KEY_FILE]: "0123456789abcdef" });
    expect(files.find((f) => f.path === "infra/configuration.nix")!.content).toContain(
      'systemd.services.wireguard-wg-homelab.restartTriggers = [ "0123456789abcdef" ];',
    );
    expect(nix).not.toContain("restartTriggers");
  });
});

test("no rendered file of any box holds a private key, or a setting that would carry one", () => {
  const all = [
    ...SEGMENTS.flatMap((s) => renderSegmentFiles(plan.segments[s]!, access)),
    ...renderDmzFiles(planDmz(lab, publishAll(lab)), access),
  ];
  expect(all.filter((f) => /PrivateKey\s*=|privateKey\s*=|private-key\s+[A-Za-z0-9+/]{43}=/.test(f.content)).map((f) => f.path)).toEqual(
    [],
  );
  expect(all.map((f) => f.path).filter((p) => p.endsWith(TUNNEL_KEY_FILE))).toEqual([]);
});

test("a lab without the tunnel (and publishing nothing) renders no tunnel file, unit, rule or peer section", () => {
  const files = referenceFiles();
  delete files["homelab.yaml"].dmz.tunnel;
  for (const s of SEGMENTS) {
    delete segOf(files, s).router.tunnel;
    delete segOf(files, s).services;
  }
  const bare = parseFiles(files).lab!;
  const p = planLab(bare);
  for (const s of SEGMENTS) {
    const out = renderSegmentFiles(p.segments[s]!, planSshAccess(bare));
    expect(out.map((f) => f.path).filter((x) => /wg-homelab|wireguard/.test(x))).toEqual([]);
    expect(out.find((f) => f.path === "router/nftables.conf")!.content).not.toContain("WireGuard");
    expect(out.find((f) => f.path === "router/apply.sh")!.content).toContain("TUNNEL_IFACE=''");
  }
  const nix = renderDmzFiles(planDmz(bare, publishAll(bare)), planSshAccess(bare)).find((f) => f.path === "infra/configuration.nix")!;
  expect(nix.content).not.toContain("wireguard");
});
