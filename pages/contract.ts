/**
 * The documentation contract: what every stack exports as its `docs` output, and what
 * `npm run docs` renders pages from. pages/contract-segment.ts and pages/contract-dmz.ts
 * build it from the planned lab (model/planned-lab.ts), so the deployed stacks (live
 * outputs) and the offline docs (the model) describe the lab with the same data and the
 * pages cannot tell the two apart.
 *
 * Its shape is written once, as zod schemas in model/contracts.ts; every type here is
 * derived from them. Everything is plain JSON: strings, numbers, booleans, arrays and
 * objects, no `undefined` values, no secrets (public SSH host keys are not secrets).
 */
import type { DmzDocs, SegmentDocs } from "../model/contracts";

export { DOCS_CONTRACT_VERSION } from "../model/contracts";
export type {
  CatalogEntry,
  DmzDocs,
  DocsAuth,
  DocsEndpoint,
  DocsFlow,
  DocsHost,
  DocsName,
  DocsNodeLoad,
  DocsMaintenance,
  DocsPlacement,
  DocsService,
  DocsSsh,
  DocsSshTarget,
  DocsTalos,
  DocsTalosNode,
  DocsVm,
  SegmentDocs,
} from "../model/contracts";

/** Every stack's docs, as `npm run docs` renders them. */
export interface DocsBundle {
  readonly segments: readonly SegmentDocs[];
  readonly dmz: DmzDocs;
}
