/**
 * The data domain's part of the schema: a segment's NixOS data host (`dataHost`) and what it
 * serves besides the storage other segments mount from it: MariaDB databases and their users,
 * Samba shares and their users, and a container registry. Passwords are never written here:
 * each user names the config secret of the segment's stack that holds its password.
 */
import { z } from "zod";
import { Name, obj, Port, Reason } from "../schema-kit";
import { pattern } from "../values";

/** What a secret's name looks like: a config key name in camelCase. */
export const SECRET_NAME = /^[a-z][A-Za-z0-9]{2,63}$/;

/** The name of a config secret of the segment's stack, camelCase: `mariadbGitea` is `homelab:mariadbGitea`. */
export const SecretName = pattern(
  SECRET_NAME,
  "must be a config key name in camelCase, such as mariadbGitea",
  "write a name such as mariadbGitea and store the value with pulumi config set --secret homelab:mariadbGitea -s <segment>",
);

/** A MariaDB database or user name: lower case, digits and `_`, at most 32 characters (a MariaDB user name's limit is 80). */
const SqlName = pattern(
  /^[a-z][a-z0-9_]{0,31}$/,
  'must be a lower-case SQL name: a-z, 0-9 and "_", starting with a letter, at most 32 characters',
  "write a name such as gitea or app_data",
);

/** A Samba share name: letters, digits, `-` and `_`, at most 64 characters (no spaces: clients and smb.conf both read it). */
const ShareName = pattern(
  /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
  'must be a share name of letters, digits, "-" and "_", at most 64 characters',
  "write a name such as media",
);

/** An absolute directory on the data host, in characters exports(5), smb.conf and Nix read literally. */
export const DataPath = pattern(
  /^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
  "must be an absolute directory path of letters, digits and ._- only, without a trailing /",
  "write a path such as /srv/smb/media",
);

/** One MariaDB user: one account per source, each with ALL PRIVILEGES on the listed databases. */
export const MariadbUser = obj({
  /** The config secret (of this segment's stack) holding the password. */
  secret: SecretName,
  /**
   * Where the user connects from: `<segment>/<host>` (one account at that address) or
   * `<segment>` (one account for its subnet). Each source gets a flow to the data host's 3306/tcp.
   */
  from: z.array(z.string().min(1)).min(1),
  /** Databases the user has all privileges on; each is one of mariadb.databases. */
  databases: z.array(SqlName).min(1),
  /** Why sources in an untrusted segment must reach the database (required for those). */
  reason: Reason.optional(),
});

export const Mariadb = obj({
  /** The databases the host keeps (created if missing, never dropped). */
  databases: z.array(SqlName).min(1),
  /** @default {} (no network user: only the host's own root, by socket) */
  users: z.record(SqlName, MariadbUser).default({}),
});

/** One Samba share, mounted by the storage entries (protocol smb) that name it as their export. */
export const SambaShare = obj({
  path: DataPath,
  /** Samba users (samba.users) allowed to use it. */
  users: z.array(Name).min(1),
  /** @default false */
  readOnly: z.boolean().default(false),
});

export const Samba = obj({
  /** Samba users, each also a system account without a login; the password is the named secret. */
  users: z.record(Name, obj({ secret: SecretName })),
  shares: z.record(ShareName, SambaShare),
});

/** A container registry (docker distribution) that authenticates every client itself against an htpasswd file. */
export const Registry = obj({
  /** @default 5000 */
  port: Port.default(5000),
  /** The config secret holding the htpasswd file (bcrypt entries, `htpasswd -B`). */
  secret: SecretName,
  /**
   * Who pushes and pulls directly, past the proxy: `<segment>/<host>` or `<segment>`, each
   * getting a flow to the registry port. (Clients through the proxy need no entry here.) @default []
   */
  clients: z.array(z.string().min(1)).default([]),
  /** Why clients in an untrusted segment must reach the registry (required for those). */
  reason: Reason.optional(),
});

/**
 * A segment's NixOS data host. NFS exports and which Samba share each consumer may mount come
 * from the storage entries (in any segment) whose server is this host; flows come from those and
 * from the users and clients here.
 */
export const DataHost = obj({
  /** The host id (a NixOS host of this segment). */
  host: Name,
  mariadb: Mariadb.optional(),
  samba: Samba.optional(),
  registry: Registry.optional(),
});
/** A segment's data host, as configured. */
export type DataHost = z.infer<typeof DataHost>;
