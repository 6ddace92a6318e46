/**
 * Linux interface names as the model reads them. A name is a physical (or otherwise
 * pre-existing) interface such as `enp2s0`, or a VLAN sub-interface written the way Linux
 * names them, `<parent>.<vlan id>` (`enp2s0.20`): the router then carries that segment
 * tagged with the VLAN id on its parent port, and the renderers create the sub-interface.
 */

/** Linux's IFNAMSIZ is 16 bytes with the terminating NUL: at most 15 characters. */
export const IFNAME_MAX = 15;
/** The VLAN ids 802.1Q leaves for use: 0 means "priority tag only" and 4095 is reserved. */
export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;

/**
 * What the kernel accepts as a name (`dev_valid_name`): 1-15 characters, not `.` or `..`, no
 * `/`, `:` or whitespace. The model is stricter, to names every tool quotes the same way:
 * letters, digits, `.`, `-` and `_`, starting with a letter or digit.
 */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why `name` is not a usable interface name, or undefined when it is. */
export function ifaceNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > IFNAME_MAX) return `must be 1-${IFNAME_MAX} characters long (Linux's limit), not ${name.length}`;
  if (!IFNAME.test(name)) return "may hold only letters, digits, '.', '-' and '_', starting with a letter or digit";
  return undefined;
}

/** An interface of a box: its name, and for a VLAN sub-interface its parent port and VLAN id. */
export type Iface =
  | { readonly kind: "port"; readonly name: string }
  | { readonly kind: "vlan"; readonly name: string; readonly parent: string; readonly vlan: number };

/**
 * Read a (valid) interface name: `<parent>.<digits>` is a VLAN sub-interface of `parent`,
 * anything else a port. The VLAN id is not range-checked here (see `vlanProblem`), so a
 * rule can report `enp2s0.5000` at its own path with the allowed range.
 */
export function parseIface(name: string): Iface {
  const m = /^(.+)\.(\d+)$/.exec(name);
  if (!m) return { kind: "port", name };
  return { kind: "vlan", name, parent: m[1]!, vlan: Number(m[2]) };
}

/** Why `vlan` is not a usable VLAN id, or undefined. */
export function vlanProblem(vlan: number): string | undefined {
  if (Number.isInteger(vlan) && vlan >= VLAN_MIN && vlan <= VLAN_MAX) return undefined;
  return `VLAN id ${vlan} is outside ${VLAN_MIN}-${VLAN_MAX} (0 is the priority tag, 4095 is reserved)`;
}

/** `enp2s0.20` for parent `enp2s0` and VLAN 20. */
export function vlanIfaceName(parent: string, vlan: number): string {
  return `${parent}.${vlan}`;
}
