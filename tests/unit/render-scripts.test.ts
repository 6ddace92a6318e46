// Proves the commit-confirm scripts are a facts block plus fixed bash read from render/scripts/: every value is shell-quoted (parsed back by bash itself), bad names and values are refused, every variable a body reads is a fact, its own or the environment's (shellcheck ignores upper-case names, so this is the check), every fact is read, and no body or body golden goes unlisted; does not run the scripts (tests/tools does).
import * as fs from "fs";
import * as path from "path";
import { APPLY_EXIT, applyScriptBody, renderApplyScript, type ApplyScriptKind, type ShellFact } from "../../render/apply-common";
import { renderNixosApply } from "../../render/nixos-apply";
import { renderRouterApply } from "../../render/router-apply";
import { loadScriptBody, SCRIPT_BODIES, scriptBodyPath } from "../../render/scripts/load";
import { staleGoldens } from "../support/golden";
import { referencePlan } from "../support/lab";
import { run } from "../support/proc";

const plan = referencePlan();
const SCRIPTS: readonly [ApplyScriptKind, string][] = [
  ["router-apply", renderRouterApply(plan.segments["internal"]!.router)],
  ["nixos-apply", renderNixosApply({ host: "infra.lab.example.net" })],
];

/** Environment variables the scripts read on purpose (documented at the top of each body), and bash's own. */
const ENVIRONMENT = new Set(["HOMELAB_ROOT", "HOMELAB_STATE", "HOMELAB_SERVICES", "HOMELAB_LOCK_WAIT", "PATH", "NIX_PATH", "BASH_SOURCE"]);

/** Names assigned by `NAME=` at the start of a line of `text` (facts, or the body's own globals). */
const assigned = (text: string) => new Set([...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
/** Upper-case names `text` reads as `$NAME` or `${NAME...}`. */
const read = (text: string) => new Set([...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));

describe("the facts block", () => {
  const hostile = `it's "quoted" $HOME \`id\` \\ ; rm -rf / #`;
  const script = renderApplyScript(
    "# header\n",
    [
      { name: "TEXT", value: hostile },
      { name: "LIST", value: [{ value: hostile, comment: "c" }, { value: "" }] },
    ],
    "router-apply",
  );
  const facts = script.slice(0, script.indexOf("\n\n# shellcheck"));

  test("bash reads back every string and array element exactly as given", () => {
    const r = run(["bash", "--norc", "-c", `${facts}\nprintf '%s\\n' "$TEXT" "\${#LIST[@]}" "\${LIST[0]}" "[\${LIST[1]}]"`]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${hostile}\n2\n${hostile}\n[]\n`);
  });

  test("the protocol's constants follow the box's facts", () => {
    expect(facts).toMatch(/^STATE_DIR='\/var\/lib\/homelab'$/m);
    expect(facts).toMatch(new RegExp(`^EXIT_NOT_PENDING=${APPLY_EXIT.notPending}$`, "m"));
    expect(facts.indexOf("TEXT=")).toBeLessThan(facts.indexOf("STATE_DIR="));
  });

  test.each([
    ["a lower-case name", { name: "wan", value: "x" }, "not an upper-case shell variable name"],
    ["a name with a space", { name: "A B", value: "x" }, "not an upper-case shell variable name"],
    ["a negative number", { name: "N", value: -1 }, "non-negative integer"],
    ["a fraction", { name: "N", value: 1.5 }, "non-negative integer"],
    ["a comment over two lines", { name: "N", value: 1, comment: "a\nb" }, "one line"],
    ["an element comment over two lines", { name: "L", value: [{ value: "x", comment: "a\rb" }] }, "one line"],
  ] as [string, ShellFact, string][])("refuses %s", (_what, fact, message) => {
    expect(() => renderApplyScript("# h\n", [fact], "nixos-apply")).toThrow(message);
  });
});

describe.each(SCRIPTS)("%s", (kind, script) => {
  const body = applyScriptBody(kind);
  const facts = script.slice(0, script.length - body.length);

  test("is its facts, then apply-common.sh, then its own body, as the files hold them", () => {
    expect(
      script.endsWith(`\n\n${fs.readFileSync(scriptBodyPath("apply-common"), "utf8")}\n${fs.readFileSync(scriptBodyPath(kind), "utf8")}`),
    ).toBe(true);
  });

  test("every upper-case variable the body reads is a fact, its own, or the environment's", () => {
    const known = new Set([...assigned(facts), ...assigned(body), ...ENVIRONMENT]);
    expect([...read(body)].filter((v) => !known.has(v)).sort()).toEqual([]);
  });

  test("every fact is read by the body", () => {
    const used = read(body);
    expect([...assigned(facts)].filter((f) => !used.has(f)).sort()).toEqual([]);
  });

  test("the body sets no fact itself (the facts block is the one source)", () => {
    const own = assigned(body);
    expect([...assigned(facts)].filter((f) => own.has(f)).sort()).toEqual([]);
  });
});

describe("the bodies under render/scripts/", () => {
  test("every .sh file there is a listed body, and every listed body is there", () => {
    const dir = path.dirname(scriptBodyPath("apply-common"));
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sh"));
    expect(files.sort()).toEqual(SCRIPT_BODIES.map((b) => `${b}.sh`).sort());
    for (const b of SCRIPT_BODIES) expect(loadScriptBody(b).endsWith("\n")).toBe(true);
  });

  test("each kind has one body golden and nothing else is under tests/golden/scripts", () => {
    expect(
      staleGoldens(
        "scripts",
        // The Talos roll's body golden is kept by tests/unit/render-talos-roll.test.ts.
        [...SCRIPTS.map(([kind]) => `${kind}.sh`), "talos-roll.sh"],
      ),
    ).toEqual([]);
  });
});
