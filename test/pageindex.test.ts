/**
 * PageIndex (src/ds/PageIndex.ts), the resident-page index of an object, against a Map:
 * random sets, deletes and lookups over small and huge page indices (past 2^31, where the
 * chunk split switches from shifts to division), with the chunk cache in play.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHUNK_PAGES, PageIndex } from "../src/ds/PageIndex.js";

const pindex = fc.oneof(
  fc.integer({ min: 0, max: 4 * CHUNK_PAGES }),
  fc.integer({ min: 2 ** 31 - 2 * CHUNK_PAGES, max: 2 ** 31 + 2 * CHUNK_PAGES }),
  fc.integer({ min: 2 ** 41 - CHUNK_PAGES, max: 2 ** 41 }),
);
const op = fc.oneof(
  fc.record({
    k: fc.constant("set" as const),
    p: pindex,
    f: fc.integer({ min: 0, max: 2 ** 31 - 2 }),
  }),
  fc.record({ k: fc.constant("delete" as const), p: pindex }),
  fc.record({ k: fc.constant("get" as const), p: pindex }),
  fc.record({
    k: fc.constant("range" as const),
    p: pindex,
    n: fc.integer({ min: 0, max: 3 * CHUNK_PAGES }),
  }),
);

describe("PageIndex", () => {
  it("behaves as a Map<number, number> under random operations", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const ix = new PageIndex();
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.k === "set") {
            ix.set(o.p, o.f);
            ref.set(o.p, o.f);
          } else if (o.k === "delete") {
            expect(ix.delete(o.p)).toBe(ref.delete(o.p));
          } else if (o.k === "get") {
            expect(ix.get(o.p)).toBe(ref.get(o.p));
            expect(ix.frame(o.p)).toBe(ref.get(o.p) ?? -1);
            expect(ix.has(o.p)).toBe(ref.has(o.p));
          } else {
            // forEachIn, deleting every page it visits, as vm_object_page_remove does.
            const seen: number[] = [];
            ix.forEachIn(o.p, o.p + o.n, (p, f) => {
              expect(f).toBe(ref.get(p));
              seen.push(p);
              ix.delete(p);
            });
            const want = [...ref.keys()].filter((p) => p >= o.p && p < o.p + o.n);
            expect(seen.sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
            for (const p of want) ref.delete(p);
          }
          expect(ix.size).toBe(ref.size);
        }
        const pairs = [...ix].sort((a, b) => a[0] - b[0]);
        expect(pairs).toEqual([...ref].sort((a, b) => a[0] - b[0]));
        expect([...ix.keys()].sort((a, b) => a - b)).toEqual(pairs.map(([p]) => p));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps chunks apart as they fill, grow, empty and come back (few pages, dense)", () => {
    // Two pages in each of three chunks, the second beyond a new chunk's room (so that it
    // grows), so that chunks empty and refill often, in every order.
    const page = fc.constantFrom(
      0,
      9,
      CHUNK_PAGES,
      CHUNK_PAGES + 12,
      2 ** 41 - CHUNK_PAGES,
      2 ** 41 - 1,
    );
    const step = fc.record({ set: fc.boolean(), p: page, f: fc.integer({ min: 0, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const ix = new PageIndex();
        const ref = new Map<number, number>();
        for (const st of steps) {
          if (st.set) {
            ix.set(st.p, st.f);
            ref.set(st.p, st.f);
          } else expect(ix.delete(st.p)).toBe(ref.delete(st.p));
          expect(ix.size).toBe(ref.size);
          expect([...ix].sort((a, b) => a[0] - b[0])).toEqual([...ref].sort((a, b) => a[0] - b[0]));
          for (const [p, f] of ref) expect(ix.get(p)).toBe(f);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("answers nothing for negative, fractional and unsafe indices, and refuses to set them", () => {
    const ix = new PageIndex();
    ix.set(0, 5);
    for (const p of [-1, -CHUNK_PAGES, 0.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expect(ix.get(p)).toBeUndefined();
      expect(ix.frame(p)).toBe(-1);
      expect(ix.delete(p)).toBe(false);
      expect(() => ix.set(p, 1)).toThrow(RangeError);
    }
    expect(ix.size).toBe(1);
    expect(ix.get(0)).toBe(5);
  });
});
