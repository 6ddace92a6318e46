/**
 * A confirmed release: upload a set of rendered files to a box over SSH, run their
 * `apply.sh apply` (check on the box, load atomically, arm a rollback watchdog), then
 * confirm over a second, fresh SSH connection, both from one command that fails unless the
 * box confirmed. If the new configuration cuts that connection, nothing confirms, the box
 * reverts on its own, and the next `pulumi up` applies the release again.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DEFAULT_CONFIRM_TIMEOUT_SECONDS, routerUploadDir } from "../render/apply-common";
import { hashFiles, sortFiles, type RenderedFile } from "../render/files";
import { NIXOS_APPLY_COMMAND, RELEASES_DIR } from "../render/nixos-apply";
import { renderReleaseDriver, type DriverEndpoint } from "../render/release-driver";

/** Type token of the component. */
export const RELEASE_TYPE = "homelab:deploy:Release";

/** How Pulumi reaches the box over SSH. */
export interface SshTarget {
  readonly host: string;
  /** @default 22 */
  readonly port?: number;
  readonly user: string;
  /** The box's public host key, pinned: the provider does not check host keys otherwise. */
  readonly hostKey: string;
  /** One jump host in front of the box, if any. */
  readonly proxy?: Omit<SshTarget, "proxy">;
}

/**
 * Where a box takes its uploads and how its apply script is called. The router's script
 * runs from the upload and keeps a root-owned copy; a NixOS host runs the command its own
 * configuration installed (NIXOS_APPLY_COMMAND, the deploy user's only sudo rule), which
 * reads the release from RELEASES_DIR.
 */
export interface ReleaseProtocol {
  /** The directory the files are uploaded to. */
  uploadDir(user: string, release: string): string;
  /** The command that checks, applies and arms the watchdog. */
  apply(dir: string, release: string, timeoutSeconds: number): string;
  /** The command that confirms, run over a second connection. */
  confirm(dir: string, release: string): string;
}

/** Routers: upload to the deploy user's home, run the uploaded apply.sh with sudo. */
export const ROUTER_PROTOCOL: ReleaseProtocol = {
  uploadDir: routerUploadDir,
  apply: (dir, release, timeout) => `sudo -n bash ${dir}/apply.sh apply ${release} ${timeout}`,
  confirm: (dir, release) => `sudo -n bash ${dir}/apply.sh confirm ${release}`,
};

/** NixOS hosts: upload where the apply command reads releases, run the installed command. */
export const NIXOS_PROTOCOL: ReleaseProtocol = {
  uploadDir: (_user, release) => `${RELEASES_DIR}/${release}`,
  apply: (_dir, release, timeout) => `sudo -n ${NIXOS_APPLY_COMMAND} apply ${release} ${timeout}`,
  confirm: (_dir, release) => `sudo -n ${NIXOS_APPLY_COMMAND} confirm ${release}`,
};

/**
 * A file whose content is a secret (a DNS provider's API token): uploaded by a command that
 * reads it on stdin, so the secret is only ever a secret resource input, never a rendered file.
 */
export interface SecretFile {
  /** Path relative to the release directory. */
  readonly path: string;
  /** The content. Always a secret Output. */
  readonly content: pulumi.Input<string>;
  /**
   * Something public that changes whenever the secret does (the ciphertext Pulumi keeps in the
   * stack file): it enters the release id, so a new secret makes a new release without the id holding it.
   */
  readonly fingerprint: string;
}

/** Arguments of a Release. */
export interface ReleaseArgs {
  /**
   * The rendered files, paths relative to the release directory. Plain data: every stack
   * renders before it declares anything, so the release id and every command are known
   * even in preview.
   */
  readonly files: readonly RenderedFile[];
  /** Files whose content is a secret. @default [] */
  readonly secretFiles?: readonly SecretFile[];
  readonly target: SshTarget;
  /** How the box takes the release. */
  readonly protocol: ReleaseProtocol;
  /**
   * Seconds the box waits for the confirm before it reverts.
   * @default DEFAULT_CONFIRM_TIMEOUT_SECONDS (120)
   */
  readonly confirmTimeoutSeconds?: number;
}

/** The release id: a hash of every path and content (a secret file's fingerprint), so any change makes a new release. */
function releaseId(files: readonly RenderedFile[], secrets: readonly SecretFile[]): string {
  const h = hashFiles(createHash("sha256"), files);
  for (const f of [...secrets].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    h.update(`${f.path}\0secret:${f.fingerprint}\0`);
  return h.digest("hex").slice(0, 16);
}

/** A shell word for a path the program chose (release ids and file names only). */
function safePath(p: string): string {
  if (!/^[A-Za-z0-9/._-]+$/.test(p)) throw new Error(`bug: unsafe upload path ${JSON.stringify(p)}`);
  return p;
}

/** The environment variable that holds the driver script of the apply-confirm command. */
export const DRIVER_ENV = "HOMELAB_RELEASE_DRIVER";

function endpoint(t: Omit<SshTarget, "proxy">): DriverEndpoint {
  return { host: t.host, port: t.port ?? 22, user: t.user, hostKey: t.hostKey };
}

function connection(t: SshTarget): command.types.input.remote.ConnectionArgs {
  return {
    host: t.host,
    port: t.port ?? 22,
    user: t.user,
    // No key and no password: the provider authenticates with the ssh-agent at SSH_AUTH_SOCK,
    // so the deploy key is never a stack input, in config or in state (README, "Threat model").
    hostKey: t.hostKey,
    // A firewall change can briefly drop new connections; retry, but not forever.
    dialErrorLimit: 10,
    perDialTimeout: 15,
    ...(t.proxy
      ? {
          proxy: {
            host: t.proxy.host,
            port: t.proxy.port ?? 22,
            user: t.proxy.user,
            hostKey: t.proxy.hostKey,
          },
        }
      : {}),
  };
}

/** Upload, then apply with a watchdog and confirm over a fresh connection, as one command. */
export class Release extends pulumi.ComponentResource {
  /** The release id that was applied and confirmed. */
  public readonly release: pulumi.Output<string>;

  constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super(RELEASE_TYPE, name, {}, opts);
    if (!args.files.some((f) => f.path === "apply.sh")) throw new pulumi.ResourceError(`release ${name} has no apply.sh`, this);
    const timeout = args.confirmTimeoutSeconds ?? DEFAULT_CONFIRM_TIMEOUT_SECONDS;
    const secrets = args.secretFiles ?? [];
    const release = releaseId(args.files, secrets);
    const dir = args.protocol.uploadDir(args.target.user, release);
    const conn = connection(args.target);

    const uploads = sortFiles(args.files).map(
      (f) =>
        new command.remote.CopyToRemote(
          `${name}-upload-${f.path.replace(/[^A-Za-z0-9.-]+/g, "-")}`,
          { connection: conn, source: new pulumi.asset.StringAsset(f.content), remotePath: `${dir}/${f.path}`, triggers: [release] },
          { parent: this },
        ),
    );

    // A secret file: written from stdin, readable by the deploy user only. The command and its
    // id hold no secret; stdin is a secret input.
    const secretUploads = secrets.map((f) => {
      const dest = safePath(`${dir}/${f.path}`);
      return new command.remote.Command(
        `${name}-upload-secret-${f.path.replace(/[^A-Za-z0-9.-]+/g, "-")}`,
        {
          connection: conn,
          create: `umask 077 && mkdir -p ${safePath(dest.slice(0, dest.lastIndexOf("/")))} && cat >${dest}`,
          stdin: pulumi.secret(f.content),
          triggers: [release],
        },
        { parent: this, additionalSecretOutputs: ["stdin"] },
      );
    });

    // One command applies over one SSH connection and confirms over a second, fresh one
    // (render/scripts/release-driver.sh), and fails unless the box confirmed the release. It is one
    // resource on purpose: a command whose create fails is not recorded (the command provider
    // returns no partial state), so after a rollback the next `pulumi up` runs all of it again
    // and re-applies the release, with no --replace. As two resources, the apply stayed recorded
    // and unchanged, and only the confirm re-ran, refused forever by the box.
    //
    // It runs on the deploying machine (OpenSSH, the ssh-agent at SSH_AUTH_SOCK) rather than as
    // remote commands because the second connection must be opened after the first one's apply:
    // a remote command gets exactly one connection per run. The script is an environment value,
    // so an error names the short command, not the whole script.
    const driver = renderReleaseDriver({
      release,
      box: endpoint(args.target),
      ...(args.target.proxy ? { jump: endpoint(args.target.proxy) } : {}),
      apply: args.protocol.apply(dir, release, timeout),
      confirm: args.protocol.confirm(dir, release),
      timeoutSeconds: timeout,
    });
    const applyConfirm = new command.local.Command(
      `${name}-apply-confirm`,
      {
        create: `exec bash -c "$${DRIVER_ENV}" homelab-release`,
        environment: { [DRIVER_ENV]: driver },
        triggers: [release],
        logging: "stdoutAndStderr",
      },
      { parent: this, dependsOn: [...uploads, ...secretUploads] },
    );

    // Known only once the box has confirmed it: a consumer of the id waits for the release to hold.
    this.release = applyConfirm.stdout.apply(() => release);
    this.registerOutputs({ release: this.release });
  }
}
