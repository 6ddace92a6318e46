/**
 * How the proxy verifies a backend that speaks TLS: against a CA of the lab (`dmz.backendCas`,
 * which signed the backend's certificate) or against the backend's own self-signed
 * certificate, pinned in the service (`backend.tls.pin`). Either way the proxy trusts exactly
 * that one certificate for that one route and checks the name the backend's certificate
 * carries, so a host on the DMZ that answers for the firewall's address with any other
 * certificate gets no request (nginx answers 502). Certificates are public: they live in the
 * lab files and travel in the segment contract, never as secrets.
 */
import { X509Certificate } from "crypto";
import { hostFqdn, type Lab, type Segment, type Service } from "../lab";

/** A backend's TLS as the proxy verifies it (resolved: a CA named in the service carries the CA's certificate). */
export type BackendTrust =
  | {
      readonly kind: "ca";
      /** The CA's name in dmz.backendCas. */
      readonly ca: string;
      /** The CA's certificate (PEM), the proxy's only trust anchor for this route. */
      readonly certificate: string;
      /** The name the backend's certificate carries: nginx checks it and sends it for SNI. */
      readonly name: string;
    }
  | {
      readonly kind: "pin";
      /** The backend's own self-signed certificate (PEM): the only certificate the proxy accepts from it. */
      readonly certificate: string;
      readonly name: string;
    };

/**
 * How many CA certificates may stand between the backend's certificate and the trusted one
 * (nginx proxy_ssl_verify_depth, OpenSSL's count of intermediates): none for a pinned
 * certificate, which must be the backend's certificate itself; one for a CA, so a backend may
 * send an intermediate of the lab's CA.
 */
export const VERIFY_DEPTH: Readonly<Record<BackendTrust["kind"], number>> = { pin: 0, ca: 1 };

/** The command that prints a backend's certificate, for fixes: what an admin runs to pin it. */
export function fetchCertificateCommand(address: string, port: number): string {
  return `openssl s_client -connect ${address}:${port} </dev/null 2>/dev/null | openssl x509`;
}

/** A PEM certificate, parsed; undefined when it is not one. */
export function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** The number of PEM certificate blocks in `pem`. */
export function pemBlocks(pem: string): number {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].length;
}

/** The DNS names a certificate carries: its subjectAltName DNS entries, else its subject CN (as OpenSSL's host check reads it). */
export function certificateNames(cert: X509Certificate): string[] {
  const san = (cert.subjectAltName ?? "")
    .split(/,\s*/)
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4));
  if (san.length > 0) return san;
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  return cn ? [cn] : [];
}

/** Issued by itself and signed with its own key: the only kind of certificate a pin can verify. */
export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.subject === cert.issuer && cert.verify(cert.publicKey);
}

/** The day a certificate expires, YYYY-MM-DD (UTC). */
export function certificateExpiry(cert: X509Certificate): string {
  return new Date(cert.validTo).toISOString().slice(0, 10);
}

/** The name the proxy checks: `backend.tls.name`, or the backend host's FQDN. */
export function backendTlsName(lab: Lab, seg: Segment, s: Service): string {
  const tls = s.backend.tls;
  return (typeof tls === "object" ? tls.name : undefined) ?? hostFqdn(lab, seg.name, s.backend.host);
}

/**
 * The service's backend TLS as the proxy verifies it; undefined for plain HTTP (or a stream,
 * which passes bytes through). Total, as the rules' index plans services too: a TLS backend
 * with nothing to verify against (tls: true, neither or both of ca and pin, an unknown CA) is
 * also undefined here, and rule services.tls refuses that lab before anything renders it.
 */
export function planBackendTrust(lab: Lab, seg: Segment, s: Service): BackendTrust | undefined {
  const tls = s.backend.tls;
  if (typeof tls !== "object" || s.kind !== "http" || (tls.ca === undefined) === (tls.pin === undefined)) return undefined;
  const name = backendTlsName(lab, seg, s);
  if (tls.pin !== undefined) return { kind: "pin", certificate: normalisePem(tls.pin), name };
  const ca = lab.dmz.backendCas[tls.ca!];
  return ca ? { kind: "ca", ca: tls.ca!, certificate: normalisePem(ca.certificate), name } : undefined;
}

/** PEM text as nginx gets it: no surrounding blank space, one final newline. */
export function normalisePem(pem: string): string {
  return `${pem.trim()}\n`;
}
