/**
 * The `never` check that ends every exhaustive `switch` over a union of the model: when a
 * new member (a flow kind, an auth kind, a zone) is added, each switch that does not
 * handle it stops compiling here, instead of falling through to a silent default.
 */

/** Marks a branch the types prove impossible; reaching it at run time is a bug. */
export function unreachable(value: never, what: string): never {
  throw new Error(`bug: unhandled ${what} ${JSON.stringify(value)}`);
}
