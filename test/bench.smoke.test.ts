/**
 * Keeps the benchmark harness from rotting: builds a small fixture and runs every workload of
 * bench/map.ts once. Asserts behaviour only (the map is unchanged and passes its audit), never
 * timings.
 */
import { describe, expect, it } from "vitest";
import { buildFixture, churnFixture, PAGE, verifyFixture, WORKLOADS } from "../bench/map.js";
import {
  cowFault,
  forkEntries,
  forkTouched,
  loads,
  metadataPerPage,
  zeroFillFault,
} from "../bench/space.js";

describe("bench workloads", () => {
  it("build a fixture whose neighbours never merge", () => {
    const fx = buildFixture(200);
    expect(fx.map.nentries).toBe(200);
    for (let i = 1; i < fx.count; i++) expect(fx.starts[i] - fx.ends[i - 1]).toBe(PAGE);
    verifyFixture(fx);
  });

  it("run each workload once and leave the map as it was", () => {
    const names: string[] = [];
    for (const mk of WORKLOADS) {
      const fx = buildFixture(200);
      const w = mk(fx, 16);
      verifyFixture(fx);
      names.push(w.name);
      expect(Number.isFinite(w.run(1))).toBe(true);
      verifyFixture(fx);
      w.run(20); // wraps around the 16 pre-generated inputs
      verifyFixture(fx);
    }
    expect(names).toEqual([
      "lookupEntry",
      "find+insert+delete",
      "protect split+merge",
      "fixed over entry",
      "find+insert+delete, churned",
    ]);
  });

  it("churn a fixture into scattered entries with objects, keeping its layout", () => {
    const fx = buildFixture(200);
    const before = [...fx.map.entries()];
    churnFixture(fx);
    verifyFixture(fx);
    const after = [...fx.map.entries()];
    const moved = after.filter((e, i) => e !== before[i]).length;
    const backed = after.filter((e) => e.object !== null).length;
    expect(moved).toBeGreaterThan(100);
    expect(backed).toBeGreaterThan(100);
  });
});

describe("address-space workloads", () => {
  it("run at tiny sizes and check their own results", () => {
    // Each workload throws if the address space gives a wrong answer; timings are not asserted.
    expect(zeroFillFault(1, 1)).toBeGreaterThan(0);
    expect(cowFault(1, 1)).toBeGreaterThan(0);
    expect(forkTouched(1, 1)).toBeGreaterThan(0);
    expect(forkEntries(20, 1)).toBeGreaterThan(0);
    for (const pattern of ["random", "sequential"] as const) {
      const l = loads(64, pattern, 1000, 1);
      expect(l.vm).toBeGreaterThan(0);
      expect(l.raw).toBeGreaterThan(0);
    }
    const md = metadataPerPage(1);
    expect(md.frameArrays).toBe(24);
    expect(Number.isFinite(md.measured)).toBe(true);
  });
});
