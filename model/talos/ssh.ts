/**
 * Talos nodes have no SSH at all: Talos runs no sshd and is managed through its API (talosctl,
 * port 50000) only. So nothing in the model may aim SSH at one: no explicit flow to a Talos host
 * on 22/tcp, no port 22 among its `listens`, no published service with a Talos backend on port 22.
 * The SSH planner leaves Talos out of every SSH path and known_hosts (model/network/ssh.ts
 * SSH_OS), and no renderer makes an sshd for it (the jump host and data host rules refuse any OS
 * but NixOS there).
 */
import { own, parsePortProto } from "../lab";
import { type Problem, problem } from "../problems";
import { type Rule, sp } from "../rule";

/** SSH's port, what no Talos node listens on. */
const SSH_PORT = "22/tcp";

export const talosNoSsh: Rule = {
  id: "talos.no-ssh",
  description:
    "Nothing aims SSH at a Talos node, which runs no sshd and is managed through the Talos API only: no explicit flow to a Talos host on 22/tcp, no 22/tcp in a Talos host's listens, no published service with a Talos backend on port 22.",
  check(ix) {
    const { lab } = ix;
    const out: Problem[] = [];
    const isTalos = (segment: string, host: string) => own(lab.segments[segment]?.hosts ?? {}, host)?.os === "talos";
    const talosNote = "Talos runs no sshd: it is managed through its API (talosctl, port 50000) only";
    for (const seg of ix.segments) {
      for (const [id, f] of Object.entries(seg.flows)) {
        const [zone, host] = f.to.split("/");
        if (host === undefined || !isTalos(zone!, host)) continue;
        f.ports.forEach((p, i) => {
          if (p !== SSH_PORT) return;
          out.push(
            problem(
              { file: seg.file, path: sp("flows", id, "ports", i) },
              p,
              `flow ${id} opens SSH to ${f.to}, a Talos node; ${talosNote}`,
              `remove ${SSH_PORT} from the flow (use talosctl through the Talos API, 50000/tcp, to manage the node)`,
            ),
          );
        });
      }
      for (const [id, h] of Object.entries(seg.hosts)) {
        if (h.os !== "talos") continue;
        h.listens.forEach((p, i) => {
          if (p !== SSH_PORT) return;
          out.push(
            problem(
              { file: seg.file, path: sp("hosts", id, "listens", i) },
              p,
              `${seg.name}/${id} is a Talos node and lists ${SSH_PORT} among the ports it serves; ${talosNote}`,
              `remove ${SSH_PORT} from hosts.${id}.listens`,
            ),
          );
        });
      }
      for (const [id, s] of Object.entries(seg.services)) {
        if (s.backend.port !== parsePortProto(SSH_PORT).port || !isTalos(seg.name, s.backend.host)) continue;
        out.push(
          problem(
            { file: seg.file, path: sp("services", id, "backend", "port") },
            s.backend.port,
            `service ${id} publishes port 22 of ${seg.name}/${s.backend.host}, a Talos node; ${talosNote}`,
            `remove the service, or point it at a host that serves it`,
          ),
        );
      }
    }
    return out;
  },
};
