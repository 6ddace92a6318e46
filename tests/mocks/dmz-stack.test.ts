// Proves the DMZ stack builds its DNS records and proxy routes from the segments'
// StackReference contracts (mocked from all four segments), exports the lab-wide docs
// contract (catalog, names, placement) the offline docs build the same way, and fails with one clear
// error for missing or malformed contracts; it does not run dnsmasq or nginx (tools/twin do).
import { isSecret } from "@pulumi/pulumi";
import type { MockRun } from "../../cli/mock-runtime";
import { publishSegment } from "../../model/network/dmz";
import { planLab } from "../../model/plan";
import { docsOfLab } from "../../pages/contract-dmz";
import { OUTPUTS, readDocsContract } from "../../stacks/contracts";
import { referenceLab } from "../support/lab";
import { runStack, segmentReferences, TEST_ACME_CREDENTIALS, TEST_WIREGUARD_KEYS } from "../support/mocks";

const SEGMENTS = ["cluster", "internal", "lab", "sandbox"];
const contracts = () => segmentReferences(SEGMENTS);
const fileOf = (run: MockRun, name: string) => {
  const u = run.recorder.uploads.find((x) => x.remotePath.endsWith(`/${name}`));
  if (!u) throw new Error(`no upload of ${name}`);
  return u.content;
};

let run: MockRun;
beforeAll(async () => {
  run = await runStack("dmz", { references: contracts() });
});

test("reads one StackReference per listed segment, by <org>/<project>/<segment>", () => {
  const refs = run.recorder.resources.filter((r) => r.type === "pulumi:pulumi:StackReference").map((r) => r.name);
  expect(refs.sort()).toEqual(SEGMENTS.map((s) => `organization/homelab/${s}`));
  const infra = run.recorder.withParents().find((r) => r.name === "infra");
  expect(infra?.type).toBe("homelab:nixos:Host");
});

test("every published HTTP name gets a DNS record at the proxy and a proxy route to its segment's firewall", () => {
  const lab = referenceLab();
  const dns = fileOf(run, "dnsmasq.conf");
  const nginx = fileOf(run, "nginx.conf");
  let names = 0;
  for (const s of SEGMENTS) {
    const seg = publishSegment(lab, s);
    for (const svc of seg.services) {
      if (svc.kind !== "http") continue;
      names++;
      expect(dns).toContain(`\ncname=${svc.fqdn},proxy.${lab.domain}\n`);
      expect(nginx).toContain(`server_name ${svc.fqdn};`);
      // At the router's tunnel address: the proxy reaches it through the WireGuard tunnel.
      expect(nginx).toContain(`proxy_pass http${svc.backend.tls ? "s" : ""}://${seg.router.tunnel!.address}:${svc.firewall.port};`);
    }
  }
  expect(names).toBe(9);
  expect(dns).toContain(`\nhost-record=proxy.${lab.domain},${lab.dmz.proxy}\n`);
  const catalog = run.resolved[OUTPUTS.catalog] as { name: string }[];
  expect(catalog.filter((c) => c.name.endsWith(lab.domain)).length).toBe(names);
});

test("the docs contract: the offline one, its catalog the catalog output, accepted by the live reader, not secret", async () => {
  const docs = run.resolved[OUTPUTS.docs] as { catalog: unknown };
  expect(docs).toEqual(JSON.parse(JSON.stringify(docsOfLab(referenceLab(), planLab(referenceLab())).dmz)));
  expect(docs.catalog).toEqual(run.resolved[OUTPUTS.catalog]);
  expect(readDocsContract({ kind: "dmz" }, "organization/homelab/dmz", docs)).toEqual({ ok: true, value: docs });
  expect(await isSecret(run.outputs[OUTPUTS.docs]!)).toBe(false);
  expect(JSON.stringify(docs)).not.toMatch(/TEST-SENTINEL-8c1f|PRIVATE KEY|\[secret\]/);
});

test("a listed segment that was never deployed is named, with what to do", async () => {
  const refs = contracts();
  refs["organization/homelab/lab"] = {};
  await expect(runStack("dmz", { references: refs })).rejects.toThrow(
    /stack organization\/homelab\/lab has no "contract" output: the lab segment is not deployed\. Fix: run `pulumi up -s lab` from this commit first \(then the DMZ\)/,
  );
});

test("malformed and wrong-version contracts of several segments are reported together", async () => {
  const refs = contracts();
  (refs["organization/homelab/internal"]![OUTPUTS.contract] as { router: { wanAddress: string } }).router.wanAddress = "not-an-ip";
  (refs["organization/homelab/sandbox"]![OUTPUTS.contract] as { version: number }).version = 1;
  // Networks are checked as networks: the planner would otherwise crash on them.
  (refs["organization/homelab/lab"]![OUTPUTS.contract] as { subnet: string }).subnet = "10.30.0.1/33";
  const err = await runStack("dmz", { references: refs }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).toMatch(/3 problems/);
  expect(message).toMatch(/organization\/homelab\/lab output contract\.subnet: an IPv4 prefix length runs from 0 to 32, not 33/);
  expect(message).toMatch(/organization\/homelab\/internal output contract\.router\.wanAddress: must be an IPv4 address/);
  expect(message).toMatch(/organization\/homelab\/sandbox exports contract version 1; this program reads version 6/);
});

describe("the ACME DNS credentials: a secret file of the infra host's release, never a rendered one", () => {
  const secretUpload = () => run.recorder.resources.find((r) => r.name === "infra-release-upload-secret-acme-dns.env");

  test("uploaded from the config secret on stdin, recorded only as a secret, into the release directory", () => {
    const upload = secretUpload();
    expect(upload?.type).toBe("command:remote:Command");
    expect(upload!.secretInputs).toContain("stdin");
    expect(upload!.inputs["stdin"]).toBe("[secret]");
    expect(run.recorder.rawInputs.get(upload!.name)!["stdin"]).toBe(TEST_ACME_CREDENTIALS.value);
    expect(String(upload!.inputs["create"])).toMatch(
      /^umask 077 && mkdir -p \/var\/lib\/homelab\/releases\/[0-9a-f]{16} && cat >\/var\/lib\/homelab\/releases\/[0-9a-f]{16}\/acme-dns\.env$/,
    );
    // The apply waits for it; the configuration names the file where the release lands.
    expect(run.recorder.dependsOn.get("infra-release-apply-confirm")).toContain(upload!.name);
    expect(fileOf(run, "configuration.nix")).toContain('environmentFile = "/etc/nixos/homelab/acme-dns.env";');
  });

  test("no recorded input, upload or output holds the credentials in the clear", () => {
    const token = TEST_ACME_CREDENTIALS.value.split("=")[1]!;
    expect(JSON.stringify(run.recorder.resources)).not.toContain(token);
    expect(JSON.stringify(run.recorder.uploads)).not.toContain(token);
    expect(JSON.stringify(run.resolved)).not.toContain(token);
  });

  test("a DMZ stack without the secret stops with the key, the file and the command that sets it", async () => {
    await expect(runStack("dmz", { references: contracts(), config: {} })).rejects.toThrow(
      /Pulumi\.dmz\.yaml: homelab:acmeDnsCredentials[\s\S]*is not set[\s\S]*pulumi config set --secret homelab:acmeDnsCredentials -s dmz/,
    );
  });
});

describe("the infra host's WireGuard private key: a secret file of its release, never a rendered one", () => {
  const secretUpload = () => run.recorder.resources.find((r) => r.name === "infra-release-upload-secret-wireguard.key");

  test("uploaded from the stack's secret homelab:wireguardKey on stdin, recorded only as a secret; the configuration names its file and restarts on a new one", () => {
    const upload = secretUpload();
    expect(upload?.type).toBe("command:remote:Command");
    expect(upload!.inputs["stdin"]).toBe("[secret]");
    expect(run.recorder.rawInputs.get(upload!.name)!["stdin"]).toBe(TEST_WIREGUARD_KEYS["dmz"]);
    expect(String(upload!.inputs["create"])).toMatch(
      /^umask 077 && mkdir -p \/var\/lib\/homelab\/releases\/[0-9a-f]{16} && cat >\/var\/lib\/homelab\/releases\/[0-9a-f]{16}\/wireguard\.key$/,
    );
    expect(run.recorder.dependsOn.get("infra-release-apply-confirm")).toContain(upload!.name);
    const nix = fileOf(run, "configuration.nix");
    expect(nix).toContain('privateKeyFile = "/etc/nixos/homelab/wireguard.key";');
    expect(nix).toMatch(/systemd\.services\.wireguard-wg-homelab\.restartTriggers = \[ "[0-9a-f]{16}" \];/);
  });

  test("no recorded input, upload or output holds the key in the clear", () => {
    const key = TEST_WIREGUARD_KEYS["dmz"]!;
    for (const what of [run.recorder.resources, run.recorder.uploads, run.resolved]) expect(JSON.stringify(what)).not.toContain(key);
  });
});
