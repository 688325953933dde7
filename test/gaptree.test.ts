/**
 * GapTree (src/ds/GapTree.ts), the map's entry B+tree, against a sorted array: random inserts
 * (with and without a known predecessor), removals, in-place resizes, the map's clip (a front
 * piece cut off an entry, insertBefore) and merge (an entry takes its predecessor's start, then
 * the predecessor is removed), and bulk builds, with the
 * tree's full check after every step and every query (lookup, maxFree, findGap,
 * findGapTopDown) compared with a linear scan. Small node capacities make trees four and five
 * levels deep from a few hundred entries, so splits, merges, borrows and root changes all happen.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GapNode, GapTree } from "../src/ds/GapTree.js";

class E extends GapNode<E> {
  constructor(start: number, end: number) {
    super();
    this.start = start;
    this.end = end;
  }
}

const MIN = 0;
const MAX = 4096;

/** Naive answers over the sorted list of [start, end). */
const naive = {
  lookup(es: readonly E[], a: number): E | null {
    let best: E | null = null;
    for (const e of es) if (e.start <= a) best = e;
    return best;
  },
  maxFree(es: readonly E[]): number {
    let g = 0;
    let pe = MIN;
    for (const e of es) {
      g = Math.max(g, e.start - pe);
      pe = e.end;
    }
    return Math.max(g, MAX - pe);
  },
  free(es: readonly E[], a: number, len: number): boolean {
    return es.every((e) => !(e.start < a + len && a < e.end));
  },
  findGap(es: readonly E[], from: number, len: number): number {
    for (let a = from; a + len <= MAX; a++) if (naive.free(es, a, len)) return a;
    return -1;
  },
  findGapTopDown(es: readonly E[], low: number, high: number, len: number): number {
    for (let a = high - len; a >= low; a--) if (naive.free(es, a, len)) return a;
    return -1;
  },
};

type Op =
  | { k: "ins"; at: number; len: number; hinted: boolean }
  | { k: "del"; pick: number }
  | { k: "resize"; pick: number; ds: number; de: number }
  | { k: "clip"; pick: number; cut: number }
  | { k: "absorb"; pick: number }
  | { k: "query"; a: number; b: number; len: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("ins" as const),
      at: fc.integer({ min: MIN, max: MAX - 1 }),
      len: fc.integer({ min: 1, max: 24 }),
      hinted: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant("del" as const), pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("resize" as const),
      pick: fc.nat(),
      ds: fc.integer({ min: -8, max: 8 }),
      de: fc.integer({ min: -8, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("clip" as const), pick: fc.nat(), cut: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("absorb" as const), pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("query" as const),
      a: fc.integer({ min: MIN, max: MAX }),
      b: fc.integer({ min: MIN, max: MAX }),
      len: fc.integer({ min: 0, max: 64 }),
    }),
  },
);

/**
 * Runs `ops` on a tree and a sorted array side by side. With `every` > 1 the tree is checked
 * and queried only every `every` steps, so that mutations pile up between the repairs of the
 * largest gaps (GapTree defers them to the next query): splits and merges then meet leaves whose
 * largest gap is stale.
 */
function run(
  capacity: number,
  leafCapacity: number,
  build: number,
  ops: readonly Op[],
  every = 1,
): void {
  const t = new GapTree<E>(capacity, leafCapacity);
  let es: E[] = [];
  // A bulk-built start: `build` entries of 2 units, 1 apart, as fork makes.
  const seed: E[] = [];
  for (let i = 0; i < build && 3 * i + 2 <= MAX; i++) seed.push(new E(3 * i, 3 * i + 2));
  t.build(seed);
  es = [...seed];
  t.check("gaptree test");
  let step = 0;
  for (const op of ops) {
    const checkNow = ++step % every === 0;
    if (op.k === "ins") {
      const s = op.at;
      const e = Math.min(MAX, s + op.len);
      if (!naive.free(es, s, e - s)) continue;
      const n = new E(s, e);
      if (op.hinted) t.insert(n, naive.lookup(es, s));
      else t.insert(n);
      es.push(n);
      es.sort((x, y) => x.start - y.start);
    } else if (op.k === "del") {
      if (es.length === 0) continue;
      const n = es[op.pick % es.length];
      t.remove(n);
      es = es.filter((x) => x !== n);
    } else if (op.k === "resize") {
      if (es.length === 0) continue;
      const i = op.pick % es.length;
      const n = es[i];
      const lo = i > 0 ? es[i - 1].end : MIN;
      const hi = i + 1 < es.length ? es[i + 1].start : MAX;
      const s = Math.max(lo, n.start + op.ds);
      const e = Math.min(hi, n.end + op.de);
      if (!(s < e)) continue;
      n.start = s;
      n.end = e;
      t.fixUp(n);
    } else if (op.k === "clip") {
      // vm_map_clip_start: n keeps the back piece; the front piece goes in before it.
      if (es.length === 0) continue;
      const i = op.pick % es.length;
      const n = es[i];
      if (n.end - n.start < 2) continue;
      const c = n.start + 1 + (op.cut % (n.end - n.start - 1));
      const front = new E(n.start, c);
      n.start = c;
      t.insertBefore(front, n);
      es.splice(i, 0, front);
    } else if (op.k === "absorb") {
      // vm_map_try_merge_entries: n takes its predecessor's start, then the predecessor goes.
      if (es.length < 2) continue;
      const i = 1 + (op.pick % (es.length - 1));
      const prev = es[i - 1];
      es[i].start = prev.start;
      t.remove(prev);
      es.splice(i - 1, 1);
    } else if (checkNow) {
      const low = Math.min(op.a, op.b);
      const high = Math.max(op.a, op.b);
      const want = naive.lookup(es, op.a);
      expect(t.lookup(op.a)).toBe(want);
      // The same entry, and whether it contains the address, read from the leaf when it can.
      expect(t.lookupWithEnd(op.a)).toBe(want);
      expect(t.found).toBe(want !== null && op.a < want.end);
      // And its successor from the leaf, when that shares it.
      expect(t.lookupWithNext(op.a)).toBe(want);
      const next = want === null ? (es[0] ?? null) : (es[es.indexOf(want) + 1] ?? null);
      if (t.after !== undefined || want === null) expect(t.after).toBe(next);
      if (op.len > 0 && low < MAX && op.len <= MAX - low)
        expect(t.findGap(low, op.len, MAX)).toBe(naive.findGap(es, low, op.len));
      expect(t.findGapTopDown(low, high, op.len, MIN, MAX)).toBe(
        naive.findGapTopDown(es, low, high, op.len),
      );
    }
    if (!checkNow) continue;
    t.check("gaptree test");
    expect(t.count).toBe(es.length);
    expect([...t]).toEqual(es);
    expect(t.maxFree(MIN, MAX)).toBe(naive.maxFree(es));
  }
  t.check("gaptree test");
  expect(t.maxFree(MIN, MAX)).toBe(naive.maxFree(es));
  // Emptying the tree brings it back to one leaf.
  for (const n of [...es]) {
    t.remove(n);
    t.check("gaptree test");
  }
  expect(t.count).toBe(0);
  expect(t.height).toBe(1);
}

describe("GapTree (B+tree with max-gap aggregates) against a sorted array", () => {
  const shapes: [number, number][] = [
    [4, 4],
    [6, 6],
    [8, 8],
    [64, 64],
    [8, 4],
    [4, 6],
    [8, 16],
    [64, 16],
  ];
  for (const [capacity, leafCapacity] of shapes) {
    it(`capacities ${capacity}/${leafCapacity}: bursts of mutations between checks (deferred gap repair)`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 400 }),
          fc.array(opArb, { minLength: 50, maxLength: 600 }),
          fc.integer({ min: 2, max: 60 }),
          (build, ops, every) => run(capacity, leafCapacity, build, ops, every),
        ),
        { numRuns: 40, seed: 20261128 + capacity * 100 + leafCapacity },
      );
    });
    it(`capacities ${capacity}/${leafCapacity}: random inserts, removes, resizes and queries, checked after each`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 400 }),
          fc.array(opArb, { minLength: 50, maxLength: 600 }),
          (build, ops) => run(capacity, leafCapacity, build, ops),
        ),
        { numRuns: 40, seed: 20261127 + capacity * 100 + leafCapacity },
      );
    });
  }

  it("grows and shrinks through several levels (capacity 4: five levels at 1,000 entries)", () => {
    const t = new GapTree<E>(4);
    const es: E[] = [];
    for (let i = 0; i < 1000; i++) {
      // Insert at the front, the back and the middle in turn.
      const n = new E(10 * (i + 1), 10 * (i + 1) + 5);
      t.insert(n);
      es.push(n);
    }
    t.check("gaptree test");
    expect(t.height).toBeGreaterThanOrEqual(5);
    // At most 4 entries a leaf: at least 250 leaves and the inner nodes above them.
    expect(t.nodes).toBeGreaterThan(250 + 62);
    expect(t.maxFree(0, 20000)).toBe(20000 - 10005);
    for (let i = 0; i < 1000; i += 2) t.remove(es[i]);
    t.check("gaptree test");
    for (let i = 1; i < 1000; i += 2) t.remove(es[i]);
    t.check("gaptree test");
    expect(t.height).toBe(1);
    // Every node but the root leaf went back to the pools.
    expect(t.nodes).toBe(1);
    expect(t.first).toBe(null);
  });

  it("merges that empty leaves and inner nodes (capacity 4: a node may hold one item)", () => {
    // Each step is vm_map_try_merge_entries: an entry takes its predecessor's start, then the
    // predecessor is removed. With capacity 4 a leaf and its parent can be left holding one
    // item, so a removal empties both while the successor's key moves down to where the
    // removed entry began, in the next subtree.
    for (let seed = 1; seed <= 20; seed++) {
      const t = new GapTree<E>(4);
      const es: E[] = [];
      for (let i = 0; i < 300; i++) es.push(new E(13 * i, 13 * i + 7));
      for (const n of es) t.insert(n);
      let r = seed;
      while (es.length > 1) {
        r = (r * 1103515245 + 12345) % 2147483648;
        const i = 1 + (r % (es.length - 1));
        const prev = es[i - 1];
        es[i].start = prev.start;
        t.remove(prev);
        es.splice(i - 1, 1);
        t.check("gaptree test");
        expect(t.maxFree(0, 4096)).toBe(naive.maxFree(es));
      }
      expect([...t]).toEqual(es);
    }
  });

  it("a borrow between leaves whose largest gaps are not yet repaired brings the parents up to date", () => {
    // Capacity 8: 60 entries bulk-load into ten leaves of six under two inner nodes. Leaf 1 is
    // filled up, then leaf 2 loses five entries with no query in between, so it underflows
    // while its largest gap (grown to 16) is still unrepaired, and borrows from full leaf 1.
    const t = new GapTree<E>(8);
    const es: E[] = [];
    for (let i = 0; i < 60; i++) es.push(new E(3 * i, 3 * i + 2));
    t.build(es);
    expect(t.height).toBe(3);
    t.insert(new E(20, 21));
    t.insert(new E(23, 24));
    for (let i = 12; i < 17; i++) t.remove(es[i]);
    t.check("gaptree test");
    expect(t.maxFree(0, 180)).toBe(51 - 35);
  });

  it("rejects a capacity that is odd or below 4, or a wide leaf under narrow inner nodes", () => {
    expect(() => new GapTree<E>(3)).toThrow(RangeError);
    expect(() => new GapTree<E>(64, 2)).toThrow(RangeError);
    expect(() => new GapTree<E>(64, 15)).toThrow(RangeError);
    // A leaf that can underflow above empty needs an inner node that always has a sibling.
    expect(() => new GapTree<E>(6, 8)).toThrow(RangeError);
    expect(() => new GapTree<E>(8, 64)).not.toThrow();
    expect(() => new GapTree<E>(7)).toThrow(RangeError);
    expect(() => new GapTree<E>(Number.NaN)).toThrow(RangeError);
  });
});
