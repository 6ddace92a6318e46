/**
 * The infra host's certificates from an ACME CA: NixOS security.acme (lego) proves the
 * domain by DNS-01 with the provider's credentials, renews before expiry and reloads the
 * proxy. The credentials are a secret file delivered with the release (never rendered);
 * this file only names where it lies.
 */
import type { NixSection } from "./nix";
import { NixAttrs } from "./nix";

/** One certificate security.acme issues and renews. */
export interface NixosAcmeCert {
  /** Its name in security.acme.certs and its directory under /var/lib/acme. */
  readonly name: string;
  /** The names it covers; the first is the certificate's subject. */
  readonly domains: readonly string[];
  /** lego's code of the DNS provider. */
  readonly dnsProvider: string;
  /** The provider's credentials as environment lines, a root-only file on the host. */
  readonly environmentFile: string;
  /** The group that may read the key (the proxy's). */
  readonly group: string;
  /** Units reloaded after every renewal, e.g. `homelab-nginx.service`. */
  readonly reloadServices: readonly string[];
}

/** What a NixOS host's security.acme holds. */
export interface NixosAcme {
  /** The CA account's contact. */
  readonly email: string;
  readonly certs: readonly NixosAcmeCert[];
}

/** The security.acme section: the terms accepted (the model says so), the account, one entry per certificate. */
export function acmeSection(acme: NixosAcme): NixSection {
  return {
    comment: [
      "Certificates from the ACME CA by DNS-01, renewed before they expire; the DNS provider's credentials",
      "are a secret file delivered with the release, never part of this configuration.",
    ],
    entries: [
      ["security.acme.acceptTerms", true],
      ["security.acme.defaults.email", acme.email],
      ...acme.certs.map(
        (c) =>
          [
            `security.acme.certs."${c.name}"`,
            new NixAttrs([
              [["domain"], c.domains[0]!],
              [["extraDomainNames"], c.domains.slice(1)],
              [["dnsProvider"], c.dnsProvider],
              [["environmentFile"], c.environmentFile],
              [["group"], c.group],
              [["reloadServices"], c.reloadServices],
            ]),
          ] as const,
      ),
    ],
  };
}
