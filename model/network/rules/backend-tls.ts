/**
 * Network rules about backends that speak TLS: the proxy verifies each one, against a CA of
 * `dmz.backendCas` or the backend's own pinned self-signed certificate, and the certificate it
 * would check can pass (a pin is self-signed, unexpired and carries the name checked; a CA is
 * a CA and unexpired). There is no way to accept an unverified hop: on the DMZ an address
 * proves nothing, so an unverified backend is whoever answers for the firewall's address.
 */
import type { X509Certificate } from "crypto";
import { LAB_FILE, type Segment, type Service } from "../../lab";
import type { LabIndex } from "../../lab-index";
import { type Problem, problem } from "../../problems";
import { list, type Rule, sp } from "../../rule";
import { didYouMean } from "../../suggest";
import { daysUntil } from "../certificate";
import {
  backendTlsName,
  certificateExpiry,
  certificateNames,
  fetchCertificateCommand,
  isSelfSigned,
  parseCertificate,
} from "../backend-tls";

/** The command that prints the backend's certificate. */
function fetchFor(ix: LabIndex, seg: Segment, s: Service): string {
  const host = ix.hostsOf(seg.name).find((h) => h.id === s.backend.host);
  return fetchCertificateCommand(host?.address ?? s.backend.host, s.backend.port);
}

/** The two ways to verify a backend, as a fix says them. */
function verifyFix(ix: LabIndex, seg: Segment, s: Service): string {
  const fetch = fetchFor(ix, seg, s);
  const cas = Object.keys(ix.lab.dmz.backendCas);
  return `write tls: { ca: <name> } when a CA in homelab.yaml dmz.backendCas issued the backend's certificate (CAs: ${list(cas)}), or tls: { pin: | <the backend's own self-signed certificate, PEM> }; \`${fetch}\` prints it`;
}

/** A certificate in a few words, for a problem's value (the PEM itself says nothing to a reader). */
function summary(cert: X509Certificate): string {
  return `${cert.subject.replace(/\n/g, ", ")} (issuer ${cert.issuer.replace(/\n/g, ", ")}, expires ${certificateExpiry(cert)})`;
}

/** What is wrong with a pinned certificate: not self-signed, expired, or without the name the proxy checks. */
function pinProblems(ix: LabIndex, seg: Segment, id: string, s: Service, pem: string, name: string | undefined): Problem[] {
  const cert = parseCertificate(pem);
  if (!cert) return []; // the schema refused it already
  const at = (p: string) => ({ file: seg.file, path: sp("services", id, p) });
  const out: Problem[] = [];
  if (!isSelfSigned(cert)) {
    out.push(
      problem(
        at("backend.tls.pin"),
        summary(cert),
        `${seg.name} service ${id} pins a certificate that is not self-signed: nginx trusts a pin as its own root, so a certificate some CA issued fails verification (502)`,
        `declare its issuer's certificate in homelab.yaml dmz.backendCas and write tls: { ca: <that name> } instead of pin`,
      ),
    );
  }
  const days = daysUntil(certificateExpiry(cert), ix.today);
  if (days < 0) {
    out.push(
      problem(
        at("backend.tls.pin"),
        summary(cert),
        `${seg.name} service ${id} pins a certificate that expired ${-days} day${days === -1 ? "" : "s"} ago (today is ${ix.today}): nginx refuses it, and the proxy answers 502`,
        `renew the backend's certificate and pin the new one; \`${fetchFor(ix, seg, s)}\` prints it`,
      ),
    );
  }
  const checked = name ?? backendTlsName(ix.lab, seg, s);
  if (cert.checkHost(checked) === undefined) {
    const names = certificateNames(cert);
    out.push(
      problem(
        at(name === undefined ? "backend.tls" : "backend.tls.name"),
        checked,
        `${seg.name} service ${id}: the proxy checks the name ${checked}${name === undefined ? " (the backend host's FQDN, as no name is given)" : ""}, which the pinned certificate does not carry (it carries: ${list(names)}); nginx would refuse the backend (502)`,
        names.length > 0
          ? `set backend.tls.name to a name the certificate carries: ${list(names)}`
          : "make the backend a certificate that carries its name (subjectAltName DNS) and pin that one",
      ),
    );
  }
  return out;
}

export const servicesTls: Rule = {
  id: "services.tls",
  description:
    "A backend that speaks TLS says how the proxy verifies it: exactly one of ca (a CA in dmz.backendCas) or pin (its own self-signed certificate, unexpired, carrying the name checked). tls: true and an unverified hop are refused; a stream has no backend tls, since the proxy does not open it.",
  check(ix) {
    const out: Problem[] = [];
    for (const seg of ix.segments) {
      for (const [id, s] of Object.entries(seg.services)) {
        const tls = s.backend.tls;
        if (tls === undefined || tls === false) continue;
        const where = { file: seg.file, path: sp("services", id, "backend.tls") };
        if (s.kind !== "http") {
          out.push(
            problem(
              where,
              tls,
              `${seg.name} service ${id} is a ${s.kind} stream: the proxy passes its bytes through unopened, so backend.tls would verify nothing (a client's own TLS reaches the backend end to end and verifies it there)`,
              "remove backend.tls from the service",
            ),
          );
          continue;
        }
        if (tls === true) {
          out.push(
            problem(
              where,
              tls,
              `${seg.name} service ${id}'s backend.tls is true, which names nothing to verify the backend's certificate against: the hop crosses the DMZ, where any host can answer for the firewall's address, and nginx would accept whatever certificate it presents`,
              verifyFix(ix, seg, s),
            ),
          );
          continue;
        }
        if ((tls.ca === undefined) === (tls.pin === undefined)) {
          out.push(
            problem(
              where,
              tls,
              tls.ca === undefined
                ? `${seg.name} service ${id}'s backend.tls names neither a CA nor a pinned certificate: the proxy has nothing to verify the backend against`
                : `${seg.name} service ${id}'s backend.tls names both a CA and a pinned certificate: the proxy trusts one certificate per backend, so one of them would be ignored`,
              tls.ca === undefined
                ? verifyFix(ix, seg, s)
                : "keep ca (the backend's certificate was issued by that CA) or pin (it is self-signed), and remove the other",
            ),
          );
          continue;
        }
        if (tls.ca !== undefined && !(tls.ca in ix.lab.dmz.backendCas)) {
          const cas = Object.keys(ix.lab.dmz.backendCas);
          out.push(
            problem(
              { file: seg.file, path: sp("services", id, "backend.tls.ca") },
              tls.ca,
              `${seg.name} service ${id} names the CA "${tls.ca}", which is not in homelab.yaml dmz.backendCas${didYouMean(tls.ca, cas)} (CAs: ${list(cas)})`,
              `add ${tls.ca}: { description, certificate: | <its PEM> } under dmz.backendCas in homelab.yaml, or name one of: ${list(cas)}`,
            ),
          );
        }
        if (tls.pin !== undefined) out.push(...pinProblems(ix, seg, id, s, tls.pin, tls.name));
      }
    }
    return out;
  },
};

export const tlsBackendCas: Rule = {
  id: "tls.backend-cas",
  description:
    "Each CA in dmz.backendCas is a CA certificate (basicConstraints CA:TRUE) that has not expired: OpenSSL verifies nothing a non-CA certificate signed, and nothing once the CA has expired.",
  check(ix) {
    const out: Problem[] = [];
    for (const [name, ca] of Object.entries(ix.lab.dmz.backendCas)) {
      const cert = parseCertificate(ca.certificate);
      if (!cert) continue; // the schema refused it already
      const where = { file: LAB_FILE, path: `dmz.backendCas.${name}.certificate` };
      if (!cert.ca) {
        out.push(
          problem(
            where,
            summary(cert),
            `dmz.backendCas.${name} is not a CA certificate (basicConstraints CA:TRUE is missing): OpenSSL verifies no certificate it signed, so every backend naming it fails (502)`,
            isSelfSigned(cert)
              ? "write the CA's own certificate here; for a backend's self-signed certificate, pin it on the service instead (backend.tls.pin)"
              : "write the certificate of the CA that issued the backends' certificates (its root), not a certificate it issued",
          ),
        );
      }
      const days = daysUntil(certificateExpiry(cert), ix.today);
      if (days < 0) {
        out.push(
          problem(
            where,
            summary(cert),
            `dmz.backendCas.${name} expired ${-days} day${days === -1 ? "" : "s"} ago (today is ${ix.today}): nginx verifies nothing against it, and every backend naming it fails (502)`,
            "write the CA's renewed certificate here",
          ),
        );
      }
    }
    return out;
  },
};
