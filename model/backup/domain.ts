/** The backup domain: the ledger of every stateful thing's backup, and the repository that holds the code. */
import type { Domain } from "../rule";
import { backupsCode, backupsDeclared, backupsOffsite, backupsReferences, backupsRetention } from "./rules";

/** The backup domain's rules. */
export const backup: Domain = {
  name: "backup",
  rules: [backupsDeclared, backupsReferences, backupsRetention, backupsOffsite, backupsCode],
};
