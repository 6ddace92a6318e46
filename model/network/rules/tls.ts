/**
 * Network rules about the proxy's certificate: `dmz.tls` says how it is obtained, exactly
 * once, and a manual certificate has not expired. (Within 30 days of its expiry check
 * warns instead: certificateWarnings.)
 */
import { LAB_FILE } from "../../lab";
import { type Problem, problem } from "../../problems";
import type { Rule } from "../../rule";
import { daysUntil } from "../certificate";

export const tlsSource: Rule = {
  id: "tls.source",
  description:
    "dmz.tls names exactly one way to the proxy's certificate: acme (issued and renewed on the infra host by DNS-01) or manual (placed by hand, with its declared expiry).",
  check(ix) {
    const { acme, manual } = ix.lab.dmz.tls;
    if ((acme === undefined) !== (manual === undefined)) return [];
    const both = acme !== undefined;
    return [
      problem(
        { file: LAB_FILE, path: "dmz.tls" },
        ix.lab.dmz.tls,
        both
          ? "dmz.tls has both acme and manual: the proxy serves one certificate, so one of them would be ignored"
          : "dmz.tls names no certificate: the proxy needs one for every published name",
        both
          ? "keep acme (renewed on the infra host) or manual (placed by hand), and remove the other"
          : "write acme: { email, dnsProvider, credentialsSecret, acceptTerms: true } to have it issued and renewed, or manual: { certificate, key, expires } for one placed by hand",
      ),
    ];
  },
};

export const tlsExpiry: Rule = {
  id: "tls.expiry",
  description:
    "A manual certificate's declared expiry is a real date that has not passed: nothing renews it, and once expired every published name fails TLS.",
  check(ix) {
    const manual = ix.lab.dmz.tls.manual;
    if (!manual) return [];
    const where = { file: LAB_FILE, path: "dmz.tls.manual.expires" };
    const out: Problem[] = [];
    const parsed = Date.parse(`${manual.expires}T00:00:00Z`);
    if (Number.isNaN(parsed) || new Date(parsed).toISOString().slice(0, 10) !== manual.expires) {
      out.push(problem(where, manual.expires, "is not a calendar date", "write the certificate's notAfter date as YYYY-MM-DD"));
      return out;
    }
    const days = daysUntil(manual.expires, ix.today);
    if (days >= 0) return out;
    out.push(
      problem(
        where,
        manual.expires,
        `the proxy's manual certificate expired ${-days} day${days === -1 ? "" : "s"} ago (today is ${ix.today}): browsers refuse every published name`,
        "place a renewed certificate at dmz.tls.manual.certificate and .key and set expires to its notAfter date, or switch to dmz.tls.acme so the infra host renews it",
      ),
    );
    return out;
  },
};
