/**
 * What the rendered nginx and chrony configurations need around them to run in a test
 * (the checkers, dmz-behaviour, the twin): a throwaway certificate and htpasswd file, the
 * certificate paths nginx.conf names, Debian's stream module, and chrony's state paths
 * moved into a scratch directory.
 */
import * as fs from "fs";
import * as path from "path";
import { must } from "./proc";

/** Where Debian's nginx keeps its stream module (NixOS builds it in). */
export const NGINX_STREAM_MODULE_FILE = "/usr/lib/nginx/modules/ngx_stream_module.so";
/** The directive that loads it, for `nginx -g`: the rendered nginx.conf stays unchanged. */
export const NGINX_STREAM_MODULE = `load_module ${NGINX_STREAM_MODULE_FILE};`;

/**
 * A self-signed certificate and its key (`cert.pem`, `key.pem` in `dir`), made once: a second
 * call with the same directory returns the same pair.
 */
export function testCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  if (!fs.existsSync(cert) || !fs.existsSync(key)) {
    must(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=homelab-test",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { timeout: 30000 },
    );
  }
  return { cert, key };
}

/** Write an htpasswd file at `file` admitting `credentials` (`user:password`), as nginx's auth_basic reads it. */
export function testHtpasswd(file: string, credentials: string): void {
  const i = credentials.indexOf(":");
  const hash = must(["openssl", "passwd", "-apr1", credentials.slice(i + 1)]).trim();
  fs.writeFileSync(file, `${credentials.slice(0, i)}:${hash}\n`);
}

/** The certificate and key files an nginx.conf names (`ssl_certificate`, `ssl_certificate_key`), in order. */
export function nginxCertPaths(conf: string): { key: boolean; path: string }[] {
  return [...conf.matchAll(/^\s*ssl_certificate(_key)?\s+([^;]+);/gm)].map((m) => ({ key: Boolean(m[1]), path: m[2]! }));
}

/** The certificates an nginx.conf verifies backends against (`proxy_ssl_trusted_certificate`), each once, in order. */
export function nginxTrustedPaths(conf: string): string[] {
  return [...new Set([...conf.matchAll(/^\s*proxy_ssl_trusted_certificate\s+([^;]+);/gm)].map((m) => m[1]!))];
}

/**
 * A rendered chrony.conf with its state moved into `dir` (appended: chrony takes the last
 * driftfile/bindcmdaddress/pidfile), so chronyd writes nothing outside it. chronyc talks to
 * it through `<dir>/chronyd.sock`.
 */
export function chronyTestConf(text: string, dir: string): string {
  return `${text}\n# test-only paths\ndriftfile ${dir}/drift\nbindcmdaddress ${dir}/chronyd.sock\npidfile ${dir}/chronyd.pid\n`;
}

/** Appended to a ruleset, a syntax error `nft -c` must refuse (an address with three octets). */
export const NFT_SYNTAX_ERROR = "table inet homelab {\n\tchain input {\n\t\tip saddr 10.0.0 accept\n\t}\n}\n";
