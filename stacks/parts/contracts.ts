/** What a segment stack tells others: the contract the DMZ reads and the docs contract. */
import { docsOfSegment } from "../../pages/contract-segment";
import { OUTPUTS, segmentContract } from "../contracts";
import type { SegmentPart } from "./part";

/** Every segment exports both: the DMZ publishes it from the first, `npm run docs` renders the second. */
export const contracts: SegmentPart = {
  id: "contracts",
  applies: () => true,
  declare: ({ lab, segment, planned }) => ({
    outputs: {
      [OUTPUTS.contract]: segmentContract(planned.published[segment.name]!),
      // Plain data from the model, never a secret.
      [OUTPUTS.docs]: docsOfSegment(lab, planned, segment.name),
    },
  }),
};
