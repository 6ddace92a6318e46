/** What a segment stack tells others: the contract the DMZ reads and the docs contract. */
import { publishSegment } from "../../model/network/dmz";
import { docsOfSegment } from "../../render/docs-contract";
import { OUTPUTS, segmentContract } from "../contracts";
import type { SegmentPart } from "./part";

/** Every segment exports both: the DMZ publishes it from the first, `npm run docs` renders the second. */
export const contracts: SegmentPart = {
  id: "contracts",
  applies: () => true,
  declare: ({ lab, segment, flows, plan }) => ({
    outputs: {
      [OUTPUTS.contract]: segmentContract(publishSegment(lab, segment.name, flows)),
      // Plain data from the model, never a secret.
      [OUTPUTS.docs]: docsOfSegment(lab, segment.name, plan),
    },
  }),
};
