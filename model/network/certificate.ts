/**
 * The proxy's certificate, planned from `dmz.tls`: one for the domain and every name under
 * it. ACME certificates are issued and renewed on the infra host (NixOS security.acme with
 * DNS-01; lego keeps them under /var/lib/acme/<name>/), so nothing about them expires
 * unnoticed; a manual one declares its expiry, which check holds against today's date.
 */
import { LAB_FILE, type Lab } from "../lab";
import { problem, type Problem } from "../problems";

/** Where security.acme keeps the certificates it issues, one directory per certificate. */
export const ACME_DIR = "/var/lib/acme";

/** How many days before a manual certificate expires check starts to warn. */
export const EXPIRY_WARNING_DAYS = 30;

/** The proxy's certificate, as the infra host obtains it. */
export type ProxyCertificate =
  | {
      readonly kind: "acme";
      /** The certificate's name in security.acme.certs (its directory under ACME_DIR). */
      readonly name: string;
      /** The names it covers: the domain and its wildcard. */
      readonly domains: readonly string[];
      readonly email: string;
      readonly dnsProvider: string;
      /** The DMZ stack's config key holding the DNS provider's credentials. */
      readonly credentialsKey: string;
      readonly certificate: string;
      readonly key: string;
    }
  | { readonly kind: "manual"; readonly certificate: string; readonly key: string; readonly expires: string };

/** The proxy's certificate from `dmz.tls` (validated: exactly one of acme or manual). */
export function planCertificate(lab: Lab): ProxyCertificate {
  const { acme, manual } = lab.dmz.tls;
  if (acme) {
    const name = lab.domain;
    return {
      kind: "acme",
      name,
      domains: [lab.domain, `*.${lab.domain}`],
      email: acme.email,
      dnsProvider: acme.dnsProvider,
      credentialsKey: acmeCredentialsKey(acme.credentialsSecret),
      certificate: `${ACME_DIR}/${name}/fullchain.pem`,
      key: `${ACME_DIR}/${name}/key.pem`,
    };
  }
  if (manual) return { kind: "manual", ...manual };
  throw new Error("bug: dmz.tls has neither acme nor manual after validation");
}

/** The DMZ stack's config key of the ACME credentials secret, e.g. `homelab:acmeDnsCredentials`. */
export function acmeCredentialsKey(secret: string): string {
  return `homelab:${secret}`;
}

/** Today in UTC, as YYYY-MM-DD: the date expiry is measured against. */
export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * Now in UTC to the minute, e.g. `2026-12-06T21:40Z`: the moment check measures against. A
 * temporary hole's deadline needs the time; expiry dates need only its day (`dayOf`).
 */
export function utcNow(now: Date = new Date()): string {
  return `${now.toISOString().slice(0, 16)}Z`;
}

/** The day (YYYY-MM-DD) of a moment written as a day or as an instant. */
export function dayOf(moment: string): string {
  return moment.slice(0, 10);
}

/** A moment written as a day (its midnight, UTC) or as an instant, in seconds since the epoch. */
export function epochOf(moment: string): number {
  return Math.floor(Date.parse(moment.length === 10 ? `${moment}T00:00:00Z` : moment) / 1000);
}

/** Whole days from `today` to `date` (both YYYY-MM-DD); negative once it is past. */
export function daysUntil(date: string, today: string): number {
  return Math.round((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
}

/** A manual certificate that expires within EXPIRY_WARNING_DAYS (not yet past: that is a problem, rule tls.expiry). */
export function certificateWarnings(lab: Lab, today: string): Problem[] {
  const manual = lab.dmz.tls.manual;
  if (!manual || Number.isNaN(Date.parse(manual.expires))) return [];
  const days = daysUntil(manual.expires, today);
  if (days < 0 || days > EXPIRY_WARNING_DAYS) return [];
  return [
    problem(
      { file: LAB_FILE, path: "dmz.tls.manual.expires" },
      manual.expires,
      `the proxy's manual certificate expires in ${days} day${days === 1 ? "" : "s"} (${manual.expires}): nothing renews it, and every published name fails TLS once it has expired`,
      "place a renewed certificate at dmz.tls.manual.certificate and .key and update expires, or switch to dmz.tls.acme so the infra host renews it",
    ),
  ];
}
