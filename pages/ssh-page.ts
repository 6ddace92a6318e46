/** SSH access (ssh.md), and the whole lab's client files (ssh/ssh_config, ssh/known_hosts). */
import { generatedHeader, RULE_DOCS } from "../render/header";
import { DEFAULT_KNOWN_HOSTS_FILE, SSH_CLIENT_SETTINGS } from "../render/ssh-client";
import type { DmzDocs, DocsHost } from "./contract";
import { cell, code, DOCS_GENERATOR, Page, table } from "./markdown";
import { KNOWN_HOSTS, nav, segmentPage, SSH_CONFIG, sshPath, type DocsContext } from "./context";

/** The SSH page: how to set up the client files, then every box per network with its path. */
export function renderSshPage(ctx: DocsContext): string {
  const from = "ssh.md";
  const d = ctx.dmz;
  const p = new Page();
  p.heading(1, "SSH access");
  p.add(nav(from));
  p.add(
    [
      "Keys only: no box in the lab accepts a password. Every segment is entered through its jump host, which the segment's firewall forwards its WAN port 22 to, for the admin workstations only",
      ` (${d.adminSources.map(code).join(", ")}); every other box is reached with ProxyJump through the jump host, and checks its host key against the one pinned here.`,
    ].join(""),
  );
  p.heading(2, "Set up");
  p.add(
    [
      `1. Copy [ssh/ssh_config](${SSH_CONFIG}) to \`~/.ssh/homelab_config\` and add \`Include homelab_config\` at the top of \`~/.ssh/config\`.`,
      `2. Copy [ssh/known_hosts](${KNOWN_HOSTS}) to \`${DEFAULT_KNOWN_HOSTS_FILE}\` (the config pins every host key there; \`StrictHostKeyChecking yes\`).`,
      `3. Connect by alias, \`<host>.<segment>\`: for example \`ssh data.internal\`. The config sets no \`User\`: when your local user name is not your lab name (${d.admins.map((a) => code(a.name)).join(", ")}), add \`User <name>\` to your own \`~/.ssh/config\`.`,
    ].join("\n"),
  );
  p.add(
    `Who may log in everywhere: ${[...d.admins.map((a) => `${code(a.name)} (${cell(a.fullName)})`), `${code(d.deployUser)} (Pulumi's deploy identity)`].join(", ")}.`,
  );

  p.heading(2, "dmz");
  const infra = d.dmz.infra;
  p.add(
    table(
      ["host", "alias", "address", "path", "host key"],
      [
        [
          ctx.hostLink("dmz", "infra", from),
          code(`ssh ${infra.sshAlias!}`),
          code(infra.address),
          `admin workstation → infra ${infra.address}:22 (no jump host)`,
          "pinned",
        ],
      ],
    ),
  );
  for (const s of ctx.segments) {
    p.heading(2, s.name);
    p.add(
      `Entry: ${code(`${s.ssh.entry.address}:22`)} on ${cell(s.ssh.entry.router)}, forwarded to the jump host ${code(s.ssh.entry.jumpAddress)}.`,
    );
    p.add(
      table(
        ["host", "alias", "address", "path", "host key"],
        s.ssh.targets.map((t) => [
          t.name === s.router.name ? `[${cell(t.name)}](${segmentPage(s.name)}#firewall)` : ctx.hostLink(s.name, t.name, from),
          code(`ssh ${t.alias}`),
          code(t.address),
          cell(sshPath(s, t)),
          t.hostKey ? "pinned" : "not in the model: strict checking refuses it until its key is added",
        ]),
      ),
    );
    const none = s.hosts.filter((h) => !h.sshAlias);
    const why = (h: DocsHost) =>
      h.os === "talos"
        ? "Talos: managed through its API"
        : h.kind === "vip"
          ? "a virtual address"
          : h.kind === "switch"
            ? "a switch"
            : `OS ${h.os}: no sshd the lab manages`;
    if (none.length > 0) p.add(`No SSH login: ${none.map((h) => `${cell(h.name)} (${cell(why(h))})`).join(", ")}.`);
  }
  return p.text();
}

/** The infra host's block, in the style of render/ssh-client.ts. */
function infraSshBlock(d: DmzDocs): string {
  const i = d.dmz.infra;
  return [
    "# The DMZ infra host (DNS, NTP, reverse proxy): reached directly from the admin workstations",
    `Host ${i.sshAlias!} ${i.fqdn}`,
    `\tHostName ${i.address}`,
    "\tPort 22",
    `\tHostKeyAlias ${i.fqdn}`,
    ...SSH_CLIENT_SETTINGS.map((l) => `\t${l}`),
    "",
  ].join("\n");
}

/** The whole lab's OpenSSH client config: the infra host, then every segment's. */
export function renderLabSshConfig(ctx: DocsContext): string {
  return [
    generatedHeader(
      "#",
      "OpenSSH client config for the whole lab: copy to ~/.ssh/homelab_config and Include it from ~/.ssh/config",
      DOCS_GENERATOR,
      RULE_DOCS,
    ),
    infraSshBlock(ctx.dmz),
    ...ctx.segments.map((s) => s.ssh.config),
  ].join("\n");
}

/** The whole lab's known_hosts: the infra host, then every segment's. */
export function renderLabKnownHosts(ctx: DocsContext): string {
  const i = ctx.dmz.dmz.infra;
  return [
    generatedHeader("#", `known_hosts for the whole lab: copy to ${DEFAULT_KNOWN_HOSTS_FILE}`, DOCS_GENERATOR, RULE_DOCS),
    `${i.fqdn},${i.address} ${i.hostKey}\n`,
    ...ctx.segments.map((s) => s.ssh.knownHosts),
  ].join("");
}
