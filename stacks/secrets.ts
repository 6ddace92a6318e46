/**
 * The config secrets a stack program reads, checked before it declares anything: a missing
 * one stops the stack with one error naming every missing key, its file and the command that
 * sets it. Only presence is checked here; the values stay secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { acmeCredentialsKey } from "../model/network/certificate";
import { CONFIG_KEYS, DMZ_STACK, LAB_FILE, PROJECT, type Lab } from "../model/lab";
import { stackFile } from "../model/load";
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
  return out;
}
