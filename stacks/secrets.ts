/**
 * The config secrets a stack program reads, checked before it declares anything: a missing
 * one stops the stack with one error naming every missing key, its file and the command that
 * sets it. Only presence is checked here; the values stay secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { SecretFile } from "../components/release";
import { acmeCredentialsKey } from "../model/network/certificate";
import { CONFIG_KEYS, DMZ_STACK, LAB_FILE, PROJECT, type Lab } from "../model/lab";
import { readLabSources, stackFile } from "../model/load";
import { tunnelEnd } from "../model/network/tunnel";
import { planLab } from "../model/plan";
import type { Problem } from "../model/problems";

/** A project config key without its namespace: `homelab:proxmoxApiToken` -> `proxmoxApiToken`. */
export function configName(key: string): string {
  return key.slice(key.indexOf(":") + 1);
}

/** Read a secret the stack needs; undefined when it is not set. */
export function readSecret(key: string): pulumi.Output<string> | undefined {
  return new pulumi.Config(PROJECT).getSecret(configName(key));
}

/** The problem of a stack's missing Proxmox API token, when the stack declares `vms` VMs. */
export function proxmoxTokenProblem(stack: string, vms: number): Problem {
  const key = CONFIG_KEYS.proxmoxApiToken;
  return {
    file: stackFile(stack),
    path: key,
    message: `is not set: this stack declares ${vms} VM${vms === 1 ? "" : "s"} on the Proxmox cluster, with its own API token`,
    fix: `create a token for the stack (pveum user token add <user>@pve ${stack} --privsep 0) and store it encrypted: pulumi config set --secret ${key} -s ${stack} '<user>@pve!${stack}=<uuid>'`,
  };
}

/** The problem of the DMZ's missing ACME DNS credentials. */
export function acmeCredentialsProblem(key: string, dnsProvider: string): Problem {
  return {
    file: stackFile(DMZ_STACK),
    path: key,
    message: `is not set: the infra host's ACME client proves the domain by DNS-01 with these ${dnsProvider} credentials (dmz.tls.acme.credentialsSecret in ${LAB_FILE})`,
    fix: `write the provider's lego variables (KEY=value lines) to a file and run pulumi config set --secret ${key} -s ${DMZ_STACK} < that-file`,
  };
}

/** The problem of a stack's missing WireGuard private key, when the stack has an end of the tunnel. */
export function wireguardKeyProblem(stack: string, end: string): Problem {
  const key = CONFIG_KEYS.wireguardKey;
  return {
    file: stackFile(stack),
    path: key,
    message: `is not set: it is the private key of ${end}'s end of the WireGuard tunnel, whose public half the lab files hold`,
    fix: `store the private half of that public key encrypted: pulumi config set --secret ${key} -s ${stack} < wireguard.key (a new pair: wg genkey | tee wireguard.key | wg pubkey, then write the public key into the lab file)`,
  };
}

/**
 * A config secret as a secret file of a release, at `path` in the release. Its fingerprint is
 * the ciphertext the stack file keeps (public, new whenever the secret is set again; the key
 * itself when the file holds none), so a new secret makes a new release without the id holding
 * it. Undefined when the stack does not set it.
 */
export function secretFileOf(dir: string, stack: string, key: string, path: string): SecretFile | undefined {
  const content = readSecret(key);
  if (content === undefined) return undefined;
  return { path, content, fingerprint: secretFingerprint(dir, stack, key) };
}

/** The public fingerprint of a config secret: a digest of the ciphertext `stack`'s file keeps, or of the key when it keeps none. */
export function secretFingerprint(dir: string, stack: string, key: string): string {
  const stored = readLabSources(dir).stacks[stack]?.[key];
  const ciphertext = typeof stored === "object" && stored !== null && "secure" in stored ? String(stored.secure) : key;
  return createHash("sha256").update(ciphertext).digest("hex").slice(0, 16);
}

/** Every secret `stack` needs that its config does not set. */
export function missingSecrets(lab: Lab, stack: string): Problem[] {
  const out: Problem[] = [];
  const vms = planLab(lab).machines.filter((m) => m.stack === stack).length;
  if (vms > 0 && readSecret(CONFIG_KEYS.proxmoxApiToken) === undefined) out.push(proxmoxTokenProblem(stack, vms));
  const acme = lab.dmz.tls.acme;
  if (stack === DMZ_STACK && acme) {
    const key = acmeCredentialsKey(acme.credentialsSecret);
    if (readSecret(key) === undefined) out.push(acmeCredentialsProblem(key, acme.dnsProvider));
  }
  const end = tunnelEnd(lab, stack);
  if (end !== undefined && readSecret(CONFIG_KEYS.wireguardKey) === undefined) out.push(wireguardKeyProblem(stack, end));
  return out;
}
