// Proves: `npm run bootstrap` names what is wrong on the command line (no router; a name that is no router, with the nearest one and the list) and changes no file then; the run that works is the tools tier's (tests/tools/router-bootstrap.test.ts).
import * as fs from "fs";
import * as path from "path";
import { runCli } from "../support/cli";
import { copyLab } from "../support/lab";

describe("npm run bootstrap: mistakes", () => {
  test("no router: the usage, with an example", () => {
    const r = runCli(["bootstrap"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bootstrap needs a router, such as: npm run bootstrap -- lab-fw\n\nusage:/);
  });

  test("a name that is no router: the nearest one and every router; no file changes", () => {
    const dir = copyLab();
    const before = fs.readFileSync(path.join(dir, "Pulumi.lab.yaml"), "utf8");
    const out = path.join(dir, "out");
    const r = runCli(["bootstrap", "lab-fv", "--dir", dir, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'bootstrap: "lab-fv" is no router of the lab; did you mean "lab-fw"? (routers: cluster-fw, internal-fw, lab-fw, sandbox-fw)\n',
    );
    expect(fs.readFileSync(path.join(dir, "Pulumi.lab.yaml"), "utf8")).toBe(before);
    expect(fs.existsSync(out)).toBe(false);
  });
});
