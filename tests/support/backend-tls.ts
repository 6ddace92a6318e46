/**
 * Certificates for the TLS backends of a lab under test, made with openssl into a scratch
 * directory (nothing downloaded): every CA of dmz.backendCas and every pinned certificate in
 * the lab files is replaced with one made here, so the backends' stand-ins can present what the
 * proxy trusts (they hold the keys). The lab keeps its shape: the same CA names, pins and names
 * checked. `impostor` makes a certificate that carries the same name but that no route trusts.
 */
import * as fs from "fs";
import * as path from "path";
import { must } from "./proc";
import type { LabFiles } from "./lab";

/** A certificate and its key, as files. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

function openssl(args: readonly string[]): void {
  must(["openssl", ...args], { timeout: 30000 });
}

/** A self-signed certificate for `name` in `dir` (`<base>.pem`, `<base>.key`): a pin, or an impostor. */
export function selfSignedCertificate(dir: string, base: string, name: string): CertFiles {
  const out = { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}.key`) };
  openssl([
    "req",
    "-x509",
    ...EC,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    `subjectAltName=DNS:${name}`,
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    out.key,
    "-out",
    out.cert,
  ]);
  return out;
}

/** A CA in `dir` (`<base>.pem`, `<base>.key`). */
function certificateAuthority(dir: string, base: string): CertFiles {
  const out = { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}.key`) };
  openssl(["req", "-x509", ...EC, "-days", "2", "-subj", `/CN=homelab test CA ${base}`, "-keyout", out.key, "-out", out.cert]);
  return out;
}

/** A certificate for `name` that `ca` issued. */
function issuedCertificate(dir: string, base: string, name: string, ca: CertFiles): CertFiles {
  const out = { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}.key`) };
  const csr = path.join(dir, `${base}.csr`);
  const ext = path.join(dir, `${base}.ext`);
  fs.writeFileSync(ext, `subjectAltName=DNS:${name}\nbasicConstraints=CA:FALSE\n`);
  openssl(["req", ...EC, "-subj", `/CN=${name}`, "-keyout", out.key, "-out", csr]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    out.cert,
  ]);
  return out;
}

/** The certificate and key useTestBackendTls made in `dir` for `<segment>/<service>`'s backend. */
export function backendCertFiles(dir: string, segment: string, service: string): CertFiles {
  const base = path.join(dir, `backend-${segment}-${service}`);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

/**
 * Replace the lab's backend CAs and pins in `files` with certificates made in `dir`; returns,
 * per `<segment>/<service>`, the certificate and key its backend presents, and the name the
 * proxy checks (`backend.tls.name`, else the host's FQDN).
 */
export function useTestBackendTls(files: LabFiles, dir: string): Record<string, CertFiles & { readonly name: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const lab = files["homelab.yaml"];
  const cas = new Map<string, CertFiles>();
  const out: Record<string, CertFiles & { name: string }> = {};
  for (const [file, doc] of Object.entries(files)) {
    const seg = /^Pulumi\.(.+)\.yaml$/.exec(file) ? doc?.config?.["homelab:segment"] : undefined;
    if (!seg) continue;
    const segment = /^Pulumi\.(.+)\.yaml$/.exec(file)![1]!;
    for (const [id, s] of Object.entries<any>(seg.services ?? {})) {
      const tls = s.backend?.tls;
      if (typeof tls !== "object" || tls === null) continue;
      const name: string = tls.name ?? `${s.backend.host}.${segment}.${lab.domain}`;
      const base = `backend-${segment}-${id}`;
      if (tls.pin !== undefined) {
        const pin = selfSignedCertificate(dir, base, name);
        tls.pin = fs.readFileSync(pin.cert, "utf8");
        out[`${segment}/${id}`] = { ...pin, name };
      } else if (tls.ca !== undefined) {
        let ca = cas.get(tls.ca);
        if (!ca) {
          ca = certificateAuthority(dir, `ca-${tls.ca}`);
          cas.set(tls.ca, ca);
          lab.dmz.backendCas[tls.ca].certificate = fs.readFileSync(ca.cert, "utf8");
        }
        out[`${segment}/${id}`] = { ...issuedCertificate(dir, base, name, ca), name };
      }
    }
  }
  return out;
}
