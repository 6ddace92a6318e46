// Proves: a lab directory is read, parsed and validated once per process while no byte of its files changes, and again as soon as one does (a change is never missed, a broken file never hidden); a file settled for a few seconds with an unchanged stat is not even read again; a valid lab builds no did-you-mean list, an invalid target still gets its hint; hosts are looked up through an index that sorts by address; flows are planned once per lab and each caller gets its own list; ipToInt reads canonical addresses itself and hands anything else to ipaddr.js; does not prove the plan's speed (bench/plan-scale.ts).
import * as fs from "fs";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import fc from "fast-check";
import * as check from "../../model/check";
import * as flows from "../../model/network/flows";
import * as validate from "../../model/validate";
import * as yamlFile from "../../model/yaml-file";
import { findHost, segmentHosts } from "../../model/network/hosts";
import { intToIp, ipToInt } from "../../model/net";
import { copyLab, referenceLab, segOf } from "../support/lab";

// Counted, not changed: each wraps the real function.
jest.mock("../../model/validate", () => {
  const real = jest.requireActual<typeof validate>("../../model/validate");
  return { ...real, validateLab: jest.fn(real.validateLab) };
});
jest.mock("../../model/yaml-file", () => {
  const real = jest.requireActual<typeof yamlFile>("../../model/yaml-file");
  return { ...real, parseYamlFile: jest.fn(real.parseYamlFile) };
});
jest.mock("../../model/network/flows", () => {
  const real = jest.requireActual<typeof flows>("../../model/network/flows");
  return { ...real, targetNames: jest.fn(real.targetNames) };
});
jest.mock("fs", () => {
  const real = jest.requireActual<typeof fs>("fs");
  return { ...real, readFileSync: jest.fn(real.readFileSync) };
});
const counted = (f: unknown) => f as jest.Mock;

beforeEach(() => jest.clearAllMocks());

describe("a lab directory is checked once while its files are unchanged", () => {
  test("the second check of unchanged files parses and validates nothing, and gives the same result", () => {
    const dir = copyLab();
    const first = check.checkLabDir(dir);
    jest.clearAllMocks();
    const parse = counted(yamlFile.parseYamlFile);
    const rules = counted(validate.validateLab);
    const again = check.checkLabDir(dir);
    expect(again).toBe(first);
    expect(check.requireLab(dir)).toBe(first.lab);
    expect(parse).not.toHaveBeenCalled();
    expect(rules).not.toHaveBeenCalled();
  });

  test("a changed byte is read again, and a new problem is reported at once", () => {
    const dir = copyLab();
    const first = check.requireLab(dir);
    const file = path.join(dir, "Pulumi.lab.yaml");
    fs.appendFileSync(file, "# a comment changes no value, but the file is read again\n");
    const second = check.requireLab(dir);
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("subnet: 10.30.0.0/24", "subnet: 10.10.0.0/24"));
    expect(check.checkLabDir(dir).problems.map((p) => (p as { rule?: string }).rule)).toContain("subnets.disjoint");
  });

  test("a settled file whose stat is unchanged is not read again; a write changes its stat and it is", () => {
    const dir = copyLab();
    // As if the copies had been written a minute ago: settled (a fresh file is always read again).
    const now = Date.now();
    const clock = jest.spyOn(Date, "now").mockReturnValue(now + 60_000);
    check.requireLab(dir);
    const reads = counted(fs.readFileSync);
    reads.mockClear();
    const first = check.requireLab(dir);
    expect(reads).not.toHaveBeenCalled();
    const file = path.join(dir, "Pulumi.lab.yaml");
    // The same size: only the stamp's times tell the change.
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("Personal projects", "Personal Projects"));
    reads.mockClear();
    const second = check.requireLab(dir);
    expect(reads.mock.calls.map((c) => path.basename(String(c[0])))).toEqual(["Pulumi.lab.yaml"]);
    expect(second.segments.lab!.description).toContain("Personal Projects");
    expect(second).not.toBe(first);
    clock.mockRestore();
  });

  test("another day is checked again: a certificate's expiry depends on it", () => {
    const dir = copyLab();
    const rules = counted(validate.validateLab);
    check.checkLabDir(dir, "2026-01-01");
    check.checkLabDir(dir, "2026-01-01");
    check.checkLabDir(dir, "2026-01-02");
    expect(rules).toHaveBeenCalledTimes(2);
  });
});

describe("did-you-mean lists are built only for a problem that needs one", () => {
  test("a valid lab never lists the flow targets", () => {
    const dir = copyLab();
    const targets = counted(flows.targetNames);
    expect(check.checkLabDir(dir).problems).toEqual([]);
    expect(targets).not.toHaveBeenCalled();
  });

  test("a mistyped flow target still gets its suggestion", () => {
    const dir = copyLab((f) => {
      segOf(f, "internal").flows["scrape-lab"].to = "lab/mirror-l";
    });
    const p = check.checkLabDir(dir).problems.find((x) => (x as { rule?: string }).rule === "flows.targets");
    expect(p?.message).toContain('did you mean "lab/mirror-1"?');
  });
});

describe("indexes built once", () => {
  test("a segment's hosts are in numeric address order, and found by id, hardware included", () => {
    const lab = referenceLab();
    const seg = lab.segments.internal!;
    const hosts = segmentHosts(lab, seg);
    const numbers = hosts.map((h) => ipToInt(h.address));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(hosts.map((h) => h.id)).toEqual(expect.arrayContaining(["jump", "data", "monitor", "pve1", "truenas", "sw-core"]));
    expect(findHost(lab, seg, "truenas")).toMatchObject({ address: "10.10.0.5", source: "nas" });
    expect(findHost(lab, seg, "nosuchhost")).toBeUndefined();
    // Each caller gets its own list: sorting one in place changes no other.
    hosts.reverse();
    expect(segmentHosts(lab, seg).map((h) => h.address)).not.toEqual(hosts.map((h) => h.address));
  });

  test("flows are planned once per lab; each caller gets its own list", () => {
    const lab = referenceLab();
    const a = flows.planFlows(lab);
    const b = flows.planFlows(lab);
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    // The same flows, not planned again.
    expect(b.every((f, i) => f === a[i])).toBe(true);
    a.splice(0, a.length);
    expect(flows.planFlows(lab)).toEqual(b);
  });
});

describe("ipToInt", () => {
  test("agrees with ipaddr.js on every canonical address", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const ip = intToIp(n);
        expect(ipToInt(ip)).toBe(n);
        expect(ipToInt(ip)).toBe(
          ipaddr.IPv4.parse(ip)
            .toByteArray()
            .reduce((a, b) => a * 256 + b, 0),
        );
      }),
    );
  });

  test.each(["010.0.0.1", "0x0a.0.0.1", "10.1", "256.0.0.1"])("hands the non-canonical %s to ipaddr.js", (text) => {
    const viaIpaddr = () =>
      ipaddr.IPv4.parse(text)
        .toByteArray()
        .reduce((a, b) => a * 256 + b, 0);
    let expected: number | string;
    try {
      expected = viaIpaddr();
    } catch (e) {
      expected = (e as Error).message;
    }
    let got: number | string;
    try {
      got = ipToInt(text);
    } catch (e) {
      got = (e as Error).message;
    }
    expect(got).toBe(expected);
  });
});
