/**
 * The top-down gap search under Linux placement: VmMap.findSpaceTopDown (GapTree.findGapTopDown)
 * against a naive model. Random inserts and removes, and after each step random queries
 * compared with a linear scan of the entries (the answer is the highest valid candidate among
 * `high - length` and every `entry.start - length`, checked against every entry).
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditMap, KERN_SUCCESS, VM_PROT_ALL, VmMap } from "../src/index.js";

const PS = 4096;
const TOP = 2 ** 47;

function newMap(max = TOP): VmMap {
  return VmMap.create(null, PS, max);
}

function add(map: VmMap, start: number, end: number, cow = 0): void {
  expect(map.insert(null, 0, start, end, VM_PROT_ALL, VM_PROT_ALL, cow)).toBe(KERN_SUCCESS);
}

const hex = (v: number): string => (v < 0 ? String(v) : `0x${v.toString(16)}`);

// ---------------------------------------------------------------- 1. top-down search

/** The naive answer: a linear scan over the entries as they stand. */
function naiveTopDown(map: VmMap, low: number, high: number, length: number): number {
  if (!Number.isSafeInteger(length) || length < 0 || Number.isNaN(low) || Number.isNaN(high))
    return -1;
  const lo = Math.max(low, map.min);
  const hi = Math.min(high, map.max);
  if (!Number.isInteger(lo) || !Number.isInteger(hi)) return -1;
  const entries = [...map.entries()].map((e) => [e.start, e.end] as const);
  const meets = (a: number): boolean => entries.some(([s, e]) => s < a + length && a < e);
  let best = -1;
  for (const a of [hi - length, ...entries.map(([s]) => s - length)])
    if (a >= lo && a + length <= hi && a > best && !meets(a)) best = a;
  return best;
}

describe("findSpaceTopDown", () => {
  it("examples: exact fit, no fit, length 0, clamping, malformed arguments", () => {
    const map = newMap();
    add(map, 0x7000, 0x9000);
    add(map, 0xb000, 0xc000);
    expect(map.findSpaceTopDown(0x1000, 0x8000, 0x2000)).toBe(0x5000);
    // The gap [0x9000, 0xb000) fits 0x2000 exactly; 0x3000 goes below 0x7000.
    expect(map.findSpaceTopDown(0x1000, 0xc000, 0x2000)).toBe(0x9000);
    expect(map.findSpaceTopDown(0x1000, 0xc000, 0x3000)).toBe(0x4000);
    // Clipped by low: [0x5000, 0x7000) is 0x2000 long, 0x3000 does not fit above 0x5000.
    expect(map.findSpaceTopDown(0x5000, 0x7000, 0x2000)).toBe(0x5000);
    expect(map.findSpaceTopDown(0x5000, 0xc000, 0x3000)).toBe(-1);
    // Length 0: the highest address not strictly inside an entry.
    expect(map.findSpaceTopDown(0x1000, 0x8000, 0)).toBe(0x7000);
    expect(map.findSpaceTopDown(0x1000, 0x9000, 0)).toBe(0x9000);
    expect(map.findSpaceTopDown(0x7800, 0x8000, 0)).toBe(-1);
    // Bounds are clamped to the map [0x1000, 2^47).
    expect(map.findSpaceTopDown(-Infinity, Infinity, 0x1000)).toBe(TOP - 0x1000);
    expect(map.findSpaceTopDown(0, 0x7000, 0x6000)).toBe(0x1000);
    expect(map.findSpaceTopDown(0, 0x7000, 0x7000)).toBe(-1);
    expect(map.findSpaceTopDown(0x1000, 0x8000, TOP)).toBe(-1);
    for (const [l, h, n] of [
      [Number.NaN, 0x8000, 0x1000],
      [0x1000, Number.NaN, 0x1000],
      [0x1000, 0x8000, -1],
      [0x1000, 0x8000, 2 ** 60],
      [4096.5, 0x8000, 0x1000],
      [0x9000, 0x8000, 0],
    ])
      expect(map.findSpaceTopDown(l, h, n)).toBe(-1);
  });

  /** A step: insert or remove a range, then a batch of queries. */
  const unitArb = fc.constantFrom(PS, 2 ** 32);
  const stepArb = fc.record({
    insert: fc.boolean(),
    s: fc.integer({ min: 0, max: 63 }),
    n: fc.integer({ min: 1, max: 8 }),
    queries: fc.array(
      fc.record({
        low: fc.oneof(
          fc.integer({ min: 0, max: 64 }),
          fc.constantFrom(-Infinity, -1, 1_000_000_000),
        ),
        high: fc.oneof(fc.integer({ min: 0, max: 66 }), fc.constantFrom(Infinity, 1_000_000_000)),
        len: fc.oneof(
          { weight: 5, arbitrary: fc.integer({ min: 0, max: 12 }) },
          { weight: 1, arbitrary: fc.constantFrom(-1, 1_000_000_000) },
        ),
        nudge: fc.constantFrom(0, 0, 0, 1, -1),
      }),
      { maxLength: 6 },
    ),
  });

  it("agrees with a linear scan under random inserts and removes", () => {
    fc.assert(
      fc.property(unitArb, fc.array(stepArb, { minLength: 1, maxLength: 60 }), (unit, steps) => {
        const map = newMap();
        const base = 0x1000_0000;
        // Page index i is at base + i * unit; 1e9 stands for the ends of the address space.
        const at = (i: number): number =>
          Math.abs(i) >= 1e9 ? Math.sign(i) * TOP : base + i * unit;
        for (const st of steps) {
          const s = at(st.s);
          const e = at(Math.min(st.s + st.n, 64));
          if (st.insert) map.insert(null, 0, s, e, VM_PROT_ALL, VM_PROT_ALL, 0);
          else map.remove(s, e);
          auditMap(map);
          for (const q of st.queries) {
            const low = Number.isFinite(q.low) ? at(q.low) + q.nudge : q.low;
            const high = Number.isFinite(q.high) ? at(q.high) - q.nudge : q.high;
            const len = q.len < 0 || q.len >= 1e9 ? q.len * TOP : q.len * unit;
            const want = naiveTopDown(map, low, high, len);
            const got = map.findSpaceTopDown(low, high, len);
            if (got !== want) {
              const list = [...map.entries()].map((x) => `[${hex(x.start)}, ${hex(x.end)})`);
              throw new Error(
                `findSpaceTopDown(${hex(low)}, ${hex(high)}, ${hex(len)}) = ${hex(got)}, ` +
                  `naive ${hex(want)}; entries ${list.join(" ")}`,
              );
            }
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
