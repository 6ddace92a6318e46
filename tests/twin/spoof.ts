/**
 * An attacker on a shared network taking another box's address, in a running twin: the
 * attacker's namespace adds the address to its own link (keeping its own MAC) and forgets every
 * neighbour, so its next packet from that address asks ARP with the address as the sender, the
 * way one ARP packet takes an address over. A box that learns neighbours from ARP points the
 * address at the attacker from then on; a box that pins it (a static neighbour) does not.
 * `undo()` gives the address back and makes the unmanaged boxes the caller names (the ISP edge)
 * forget what the attacker taught them, so later rows see the twin as it was.
 */
import type { Twin } from "./twin";

/** Take `address` (with `prefix`) on `node`'s link. `forget`: namespaces whose ARP entry for it the undo clears. */
export async function takeAddress(
  twin: Twin,
  node: string,
  address: string,
  prefix: number,
  forget: readonly string[] = [],
): Promise<{ undo: () => Promise<void> }> {
  const { ns } = twin.node(node);
  const dev = twin.hostIface;
  const undo = async () => {
    const r = await twin.sh(
      [
        `ip -n ${ns} addr del ${address}/${prefix} dev ${dev} 2>/dev/null || true`,
        `ip -n ${ns} neigh flush dev ${dev}`,
        ...forget.map((f) => `ip -n ${f} neigh del ${address} dev ${dev} 2>/dev/null || true`),
      ].join("\n"),
    );
    if (r.code !== 0) throw new Error(`twin: giving ${address} back from ${node} failed:\n${r.stderr}`);
  };
  const r = await twin.sh(`set -e\nip -n ${ns} addr add ${address}/${prefix} dev ${dev}\nip -n ${ns} neigh flush dev ${dev}`);
  if (r.code !== 0) {
    await undo();
    throw new Error(`twin: ${node} could not take ${address}:\n${r.stderr}`);
  }
  return { undo };
}

/** What a namespace's neighbour table says about `address` on `dev`: `<address> lladdr <mac> <STATE>`, or "" when it has no entry. */
export async function neighbourOf(twin: Twin, ns: string, address: string, dev: string): Promise<string> {
  return (await twin.must(undefined, ["ip", "-n", ns, "-4", "neigh", "show", address, "dev", dev])).trim();
}
