/**
 * The documentation pages: Markdown with Mermaid diagrams, rendered from the stacks' docs
 * contracts only (live outputs or the model's, the pages cannot tell), so the same lab
 * always gives the same bytes. Everything is sorted; no timestamps.
 *
 * Pages: README.md (the index: topology and request path), dmz.md, segments/<name>.md,
 * services.md, flows.md, ssh.md with ssh/ssh_config and ssh/known_hosts, placement.md,
 * maintenance.md and talos.md.
 */
import { compareText } from "../model/order";
import type { TextFile } from "../render/files";
import type { DocsBundle } from "./contract";
import { DocsContext, KNOWN_HOSTS, segmentPage, SSH_CONFIG, type DocsSource } from "./context";
import { renderDmzPage } from "./dmz-page";
import { renderFlows } from "./flows-page";
import { renderIndex } from "./index-page";
import { renderMaintenance } from "./maintenance-page";
import { renderPlacement } from "./placement-page";
import { renderSegmentPage } from "./segment-page";
import { renderServices } from "./services-page";
import { renderLabKnownHosts, renderLabSshConfig, renderSshPage } from "./ssh-page";
import { renderTalos } from "./talos-page";
import { renderBackups } from "./backups-page";
import { renderRunbooks } from "./runbooks";

/** Every page of the docs, paths relative to the docs directory, sorted by path. */
export function renderDocs(bundle: DocsBundle, source: DocsSource): TextFile[] {
  const ctx = new DocsContext(bundle);
  const files: TextFile[] = [
    { path: "README.md", content: renderIndex(ctx, source) },
    { path: "dmz.md", content: renderDmzPage(ctx) },
    ...ctx.segments.map((s) => ({ path: segmentPage(s.name), content: renderSegmentPage(ctx, s) })),
    { path: "services.md", content: renderServices(ctx) },
    { path: "flows.md", content: renderFlows(ctx) },
    { path: "ssh.md", content: renderSshPage(ctx) },
    { path: SSH_CONFIG, content: renderLabSshConfig(ctx) },
    { path: KNOWN_HOSTS, content: renderLabKnownHosts(ctx) },
    { path: "placement.md", content: renderPlacement(ctx) },
    { path: "maintenance.md", content: renderMaintenance(ctx) },
    { path: "talos.md", content: renderTalos(ctx) },
    { path: "backups.md", content: renderBackups(ctx) },
    ...renderRunbooks(ctx),
  ];
  return files.sort((a, b) => compareText(a.path, b.path));
}
