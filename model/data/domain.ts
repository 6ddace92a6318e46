/** The data domain: a segment's NixOS data host (MariaDB, NFS, Samba, a registry) and who may reach it. */
import type { Domain } from "../rule";
import { dataAccounts, dataGrants, dataHostRule, dataSecrets, dataSourcesRule, dataStorage, dataUntrusted } from "./rules";

/** The data domain's rules. */
export const data: Domain = {
  name: "data",
  rules: [dataHostRule, dataSourcesRule, dataGrants, dataStorage, dataUntrusted, dataAccounts, dataSecrets],
};
