// Proves that a backend speaking TLS must say how the proxy verifies it (a CA of dmz.backendCas or its own pinned self-signed certificate), word for word with path and fix for every way that can be wrong (tls: true, neither or both, an unknown CA, a pin that is not self-signed, expired or without the name checked, a CA that is no CA, tls on a stream, a private key pasted as a certificate), and that the proxy renders exactly that verification; does not run nginx (tests/tools/dmz-files and dmz-behaviour do).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { utcToday } from "../../model/network/certificate";
import { planDmz, publishAll } from "../../model/network/dmz";
import type { Lab } from "../../model/lab";
import { formatProblems, type Problem } from "../../model/problems";
import { validateLab } from "../../model/validate";
import { renderNginx } from "../../render/nginx";
import { must } from "../support/proc";
import { parseFiles, referenceFiles, segOf, type LabFiles } from "../support/lab";

// Certificates made for this file with openssl, into a scratch directory: nothing is downloaded.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-backend-tls-"));
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function openssl(...args: string[]): void {
  must(["openssl", ...args], { timeout: 30000 });
}
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const read = (f: string) => fs.readFileSync(path.join(tmp, f), "utf8");

/** A self-signed certificate for `names` (no CA), valid for `days`; returns its PEM. */
function selfSigned(file: string, cn: string, names: readonly string[]): string {
  openssl(
    "req",
    "-x509",
    ...EC,
    "-days",
    "30",
    "-subj",
    `/CN=${cn}`,
    ...san(names),
    "-keyout",
    path.join(tmp, `${file}.key`),
    "-out",
    path.join(tmp, file),
  );
  return read(file);
}
const san = (names: readonly string[]) =>
  names.length > 0
    ? ["-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`, "-addext", "basicConstraints=critical,CA:FALSE"]
    : [];

/** A CA and a certificate it issued for `name`; returns both PEMs. */
function issued(name: string): { ca: string; leaf: string } {
  openssl(
    "req",
    "-x509",
    ...EC,
    "-days",
    "30",
    "-subj",
    "/CN=Issuing CA",
    "-keyout",
    path.join(tmp, "ca.key"),
    "-out",
    path.join(tmp, "ca.pem"),
  );
  openssl("req", ...EC, "-subj", `/CN=${name}`, "-keyout", path.join(tmp, "leaf.key"), "-out", path.join(tmp, "leaf.csr"));
  fs.writeFileSync(path.join(tmp, "leaf.ext"), `subjectAltName=DNS:${name}\nbasicConstraints=CA:FALSE\n`);
  openssl(
    "x509",
    "-req",
    "-in",
    path.join(tmp, "leaf.csr"),
    "-CA",
    path.join(tmp, "ca.pem"),
    "-CAkey",
    path.join(tmp, "ca.key"),
    "-CAcreateserial",
    "-days",
    "30",
    "-extfile",
    path.join(tmp, "leaf.ext"),
    "-out",
    path.join(tmp, "leaf.pem"),
  );
  return { ca: read("ca.pem"), leaf: read("leaf.pem") };
}

function labWith(edit: (f: LabFiles) => void): { lab?: Lab; problems: readonly Problem[] } {
  const files = referenceFiles();
  edit(files);
  return parseFiles(files);
}

/** The rule problems of TLS backends and CAs after `edit`, on `today`. */
function tlsProblems(edit: (f: LabFiles) => void, today = utcToday()): Omit<Problem, never>[] {
  const parsed = labWith(edit);
  if (!parsed.lab) throw new Error(`the edit broke the schema:\n${formatProblems(parsed.problems)}`);
  return validateLab(parsed.lab, today)
    .filter((p) => p.rule === "services.tls" || p.rule === "tls.backend-cas")
    .map(({ file, path: at, value, message, fix }) => ({ file, path: at, value, message, fix }));
}

const internal = (f: LabFiles) => segOf(f, "internal");
const FETCH_PVE = "`openssl s_client -connect 10.10.0.21:8006 </dev/null 2>/dev/null | openssl x509` prints it";
const PATH = "homelab:segment.services";

describe("services.tls: every TLS backend is verified, and can be", () => {
  test("the reference lab verifies both its TLS backends and has no problem", () => {
    expect(tlsProblems(() => undefined)).toEqual([]);
  });

  test("tls: true, neither ca nor pin, and both: one problem each, every one reported", () => {
    const { leaf } = issued("x.example");
    expect(
      tlsProblems((f) => {
        internal(f).services.pve.backend.tls = true;
        internal(f).services.grafana.backend.tls = {};
        internal(f).services.registry.backend.tls = { ca: "pve", pin: leaf };
      }),
    ).toEqual([
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.grafana.backend.tls`,
        value: {},
        message:
          "internal service grafana's backend.tls names neither a CA nor a pinned certificate: the proxy has nothing to verify the backend against",
        fix: "write tls: { ca: <name> } when a CA in homelab.yaml dmz.backendCas issued the backend's certificate (CAs: pve), or tls: { pin: | <the backend's own self-signed certificate, PEM> }; `openssl s_client -connect 10.10.0.30:3000 </dev/null 2>/dev/null | openssl x509` prints it",
      },
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.pve.backend.tls`,
        value: true,
        message:
          "internal service pve's backend.tls is true, which names nothing to verify the backend's certificate against: the hop crosses the DMZ, where any host can answer for the firewall's address, and nginx would accept whatever certificate it presents",
        fix: `write tls: { ca: <name> } when a CA in homelab.yaml dmz.backendCas issued the backend's certificate (CAs: pve), or tls: { pin: | <the backend's own self-signed certificate, PEM> }; ${FETCH_PVE}`,
      },
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.registry.backend.tls`,
        value: { ca: "pve", pin: leaf },
        message:
          "internal service registry's backend.tls names both a CA and a pinned certificate: the proxy trusts one certificate per backend, so one of them would be ignored",
        fix: "keep ca (the backend's certificate was issued by that CA) or pin (it is self-signed), and remove the other",
      },
    ]);
  });

  test("an unknown CA gets a did-you-mean and the list of CAs", () => {
    expect(tlsProblems((f) => (internal(f).services.pve.backend.tls = { ca: "pev" }))).toEqual([
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.pve.backend.tls.ca`,
        value: "pev",
        message: 'internal service pve names the CA "pev", which is not in homelab.yaml dmz.backendCas; did you mean "pve"? (CAs: pve)',
        fix: "add pev: { description, certificate: | <its PEM> } under dmz.backendCas in homelab.yaml, or name one of: pve",
      },
    ]);
  });

  test("a pin some CA issued, and a pin without the name checked: both, at their own paths", () => {
    const { leaf } = issued("nas.example");
    expect(tlsProblems((f) => (internal(f).services.nas.backend.tls = { pin: leaf, name: "truenas.example" }))).toEqual([
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.nas.backend.tls.name`,
        value: "truenas.example",
        message:
          "internal service nas: the proxy checks the name truenas.example, which the pinned certificate does not carry (it carries: nas.example); nginx would refuse the backend (502)",
        fix: "set backend.tls.name to a name the certificate carries: nas.example",
      },
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.nas.backend.tls.pin`,
        value: expect.stringMatching(/^CN=nas\.example \(issuer CN=Issuing CA, expires \d{4}-\d{2}-\d{2}\)$/),
        message:
          "internal service nas pins a certificate that is not self-signed: nginx trusts a pin as its own root, so a certificate some CA issued fails verification (502)",
        fix: "declare its issuer's certificate in homelab.yaml dmz.backendCas and write tls: { ca: <that name> } instead of pin",
      },
    ]);
  });

  test("without a name the host's FQDN is checked, and the fix lists the names the pin carries", () => {
    const pin = selfSigned("appliance.pem", "localhost", ["localhost", "truenas.local"]);
    const problems = tlsProblems((f) => (internal(f).services.nas.backend.tls = { pin }));
    expect(problems).toEqual([
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.nas.backend.tls`,
        value: "truenas.internal.lab.example.net",
        message:
          "internal service nas: the proxy checks the name truenas.internal.lab.example.net (the backend host's FQDN, as no name is given), which the pinned certificate does not carry (it carries: localhost, truenas.local); nginx would refuse the backend (502)",
        fix: "set backend.tls.name to a name the certificate carries: localhost, truenas.local",
      },
    ]);
    // Naming one it carries is the fix.
    expect(tlsProblems((f) => (internal(f).services.nas.backend.tls = { pin, name: "localhost" }))).toEqual([]);
  });

  test("an expired pin and an expired CA, on a day after both (the reference lab's own certificates)", () => {
    expect(tlsProblems(() => undefined, "2040-01-01")).toEqual([
      {
        file: "Pulumi.internal.yaml",
        path: `${PATH}.nas.backend.tls.pin`,
        value:
          "CN=truenas.internal.lab.example.net, O=iXsystems, OU=TrueNAS (issuer CN=truenas.internal.lab.example.net, O=iXsystems, OU=TrueNAS, expires 2036-12-01)",
        message:
          "internal service nas pins a certificate that expired 1126 days ago (today is 2040-01-01): nginx refuses it, and the proxy answers 502",
        fix: "renew the backend's certificate and pin the new one; `openssl s_client -connect 10.10.0.5:443 </dev/null 2>/dev/null | openssl x509` prints it",
      },
      {
        file: "Pulumi.lab.yaml",
        path: `${PATH}.sunshine.backend.tls.pin`,
        value: "CN=vdi.lab.lab.example.net, O=Sunshine (issuer CN=vdi.lab.lab.example.net, O=Sunshine, expires 2036-12-03)",
        message:
          "lab service sunshine pins a certificate that expired 1124 days ago (today is 2040-01-01): nginx refuses it, and the proxy answers 502",
        fix: "renew the backend's certificate and pin the new one; `openssl s_client -connect 10.30.0.20:47990 </dev/null 2>/dev/null | openssl x509` prints it",
      },
      {
        file: "homelab.yaml",
        path: "dmz.backendCas.pve.certificate",
        value:
          "CN=Proxmox Virtual Environment, OU=8f3b6c2e-pve, O=PVE Cluster Manager CA (issuer CN=Proxmox Virtual Environment, OU=8f3b6c2e-pve, O=PVE Cluster Manager CA, expires 2036-12-01)",
        message:
          "dmz.backendCas.pve expired 1126 days ago (today is 2040-01-01): nginx verifies nothing against it, and every backend naming it fails (502)",
        fix: "write the CA's renewed certificate here",
      },
    ]);
  });

  test("a CA that is no CA: a backend's own certificate written as a CA", () => {
    const pin = selfSigned("leafy.pem", "leafy", ["leafy"]);
    expect(
      tlsProblems((f) => (f["homelab.yaml"].dmz.backendCas.leafy = { description: "a backend's own certificate", certificate: pin })),
    ).toEqual([
      {
        file: "homelab.yaml",
        path: "dmz.backendCas.leafy.certificate",
        value: expect.stringMatching(/^CN=leafy \(issuer CN=leafy, expires/),
        message:
          "dmz.backendCas.leafy is not a CA certificate (basicConstraints CA:TRUE is missing): OpenSSL verifies no certificate it signed, so every backend naming it fails (502)",
        fix: "write the CA's own certificate here; for a backend's self-signed certificate, pin it on the service instead (backend.tls.pin)",
      },
    ]);
  });

  test("tls on a stream is refused: the proxy does not open it", () => {
    expect(
      tlsProblems((f) => {
        const seg = segOf(f, "lab");
        const [, s] = Object.entries<any>(seg.services).find(([, x]) => x.kind === "tcp" || x.kind === "udp")!;
        s.backend.tls = { ca: "pve" };
      }),
    ).toEqual([
      expect.objectContaining({
        file: "Pulumi.lab.yaml",
        message: expect.stringMatching(
          /^lab service [a-z0-9-]+ is a (tcp|udp) stream: the proxy passes its bytes through unopened, so backend\.tls would verify nothing \(a client's own TLS reaches the backend end to end and verifies it there\)$/,
        ),
        fix: "remove backend.tls from the service",
      }),
    ]);
  });
});

describe("the schema: a certificate is one PEM certificate, never a key", () => {
  const schema = (edit: (f: LabFiles) => void) =>
    labWith(edit).problems.map(({ path: at, value, message, fix }) => ({ path: at, value, message, fix }));

  test("a private key pasted as a pin is refused and not shown", () => {
    openssl("genpkey", "-algorithm", "ed25519", "-out", path.join(tmp, "k.pem"));
    const problems = schema((f) => (internal(f).services.nas.backend.tls = { pin: read("k.pem") }));
    expect(problems).toEqual([
      {
        path: `${PATH}.nas.backend.tls.pin`,
        value: "(not shown: it looks like a secret)",
        message:
          "holds a private key (not shown): a key is never written into a lab file, where anyone who can read the repository reads it",
        fix: "remove the key, make a new key and certificate on the backend (this key is out), and write only the new certificate here",
      },
    ]);
  });

  test("text that is no certificate, and two certificates in one CA", () => {
    const one = selfSigned("one.pem", "one", ["one"]);
    const problems = schema((f) => {
      internal(f).services.nas.backend.tls = { pin: "not a certificate" };
      f["homelab.yaml"].dmz.backendCas.pve.certificate = one + one;
    });
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ["dmz.backendCas.pve.certificate", "must be one PEM certificate; it holds CERTIFICATE, CERTIFICATE"],
      [`${PATH}.nas.backend.tls.pin`, "must be one PEM certificate; it holds no PEM block"],
    ]);
  });
});

describe("the proxy renders exactly the verification the model says", () => {
  test("a pin with a name: verify on, depth 0, that name, the route's own credential; nothing turns it off", () => {
    const pin = selfSigned("named.pem", "localhost", ["localhost"]);
    const parsed = labWith((f) => (internal(f).services.nas.backend.tls = { pin, name: "localhost" }));
    const conf = renderNginx(planDmz(parsed.lab!, publishAll(parsed.lab!)));
    const nas = /server_name nas\.lab\.example\.net;[\s\S]*?location \/ \{([\s\S]*?)\n {8}\}/.exec(conf)![1]!;
    expect(nas.match(/^\s+proxy_ssl_\w+ .*;$/gm)!.map((l) => l.trim())).toEqual([
      "proxy_ssl_verify on;",
      "proxy_ssl_trusted_certificate /run/credentials/homelab-nginx.service/backend-tls-internal-nas.pem;",
      "proxy_ssl_verify_depth 0;",
      "proxy_ssl_name localhost;",
      "proxy_ssl_server_name on;",
    ]);
    expect(conf).not.toMatch(/proxy_ssl_verify off/);
  });
});
