/**
 * Placement strategies (src/map/placement.ts) and the top-down gap search under them.
 *
 * 1. VmMap.findSpaceTopDown (GapTree.findGapTopDown) against a naive model: random inserts and
 *    removes, and after each step random queries compared with a linear scan of the entries
 *    (the answer is the highest valid candidate among `high - length` and every
 *    `entry.start - length`, checked against every entry).
 * 2. One test per rule of /work/shared/spec/LINUX-PLACEMENT.md, with concrete addresses.
 * 3. Real traces (the repository's traces/*): each is replayed on a deliberately simple model, one
 *    VmMap per address space built from the exec snapshot, and every non-fixed mmap and every
 *    moving mremap must land where the kernel put it. The figures are in the test names.
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  auditMap,
  BottomUp,
  KERN_SUCCESS,
  LinuxTopDown,
  linuxMmapBase,
  MAP_ENTRY_GROWS_DOWN,
  MAP_INHERIT_SHARE,
  MAP_STACK_GROWS_DOWN,
  type PlacementRequest,
  VM_INHERIT_SHARE,
  VM_PROT_ALL,
  VM_PROT_READ,
  VmMap,
  VmObject,
} from "../src/index.js";

const PS = 4096;
const KiB = 1024;
const MiB = 1024 * KiB;
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

// ---------------------------------------------------------------- 2. the rules

const BASE = 0x7f00_0012_3000; // mmap_base, deliberately not 2 MiB aligned
const STACK = 0x7ffc_0000_0000;
const GUARD = 256 * PS;

function anon(length: number, hint = 0): PlacementRequest {
  return { hint, length, offset: 0, file: false, shared: false };
}
function file(length: number, offset: number, hint = 0): PlacementRequest {
  return { hint, length, offset, file: true, shared: false };
}

/** A map with a grows-down [stack] and a strategy with BASE as mmap_base. */
function linuxSpace(opts: Partial<ConstructorParameters<typeof LinuxTopDown>[0]> = {}) {
  const map = newMap();
  add(map, STACK, STACK + 0x21000, MAP_STACK_GROWS_DOWN);
  const linux = new LinuxTopDown({ mmapBase: BASE, ...opts });
  return { map, linux };
}

describe("LinuxTopDown rules", () => {
  it("rule 1: mmap_base is the end of the highest mapping below [stack], [vdso] & co aside", () => {
    const snapshot = [
      { start: 0x55_0000_0000, end: 0x55_0000_3000, path: "/usr/bin/gcc" },
      { start: 0x7f56_55d2_1000, end: 0x7f56_55d2_5000, path: "[vvar]" },
      { start: 0x7f56_55d2_5000, end: 0x7f56_55d2_7000, path: "[vvar_vclock]" },
      { start: 0x7f56_55d2_7000, end: 0x7f56_55d2_9000, path: "[vdso]" },
      { start: 0x7f56_55d2_9000, end: 0x7f56_55d5_a000, path: "/usr/lib/ld-linux-x86-64.so.2" },
      { start: 0x7f56_55d5_a000, end: 0x7f56_55d5_e000, path: "/usr/lib/ld-linux-x86-64.so.2" },
      { start: 0x7ffc_3a10_e000, end: 0x7ffc_3a12_f000, path: "[stack]" },
      { start: 0x7ffc_3a13_0000, end: 0x7ffc_3a13_4000, path: "[vvar]" },
    ];
    expect(linuxMmapBase(snapshot)).toBe(0x7f56_55d5_e000);
    expect(() => linuxMmapBase([{ start: 0x1000, end: 0x2000, path: "[vdso]" }])).toThrow(
      RangeError,
    );
  });

  it("rule 2: a free hint is used, truncated to a page", () => {
    const { map, linux } = linuxSpace();
    expect(linux.place(map, anon(0x3000, 0x1_0000_0000))).toBe(0x1_0000_0000);
    expect(linux.place(map, anon(0x3000, 0x1_0000_0fff))).toBe(0x1_0000_0000);
    // A hint below one page truncates to 0: no hint at all.
    expect(linux.place(map, anon(0x3000, 0xfff))).toBe(BASE - 0x3000);
    // Occupied, or overlapping the next mapping: the top-down search instead.
    add(map, 0x1_0000_2000, 0x1_0000_3000);
    expect(linux.place(map, anon(0x2000, 0x1_0000_0000))).toBe(0x1_0000_0000);
    expect(linux.place(map, anon(0x3000, 0x1_0000_0000))).toBe(BASE - 0x3000);
    expect(linux.place(map, anon(0x1000, 0x1_0000_2000))).toBe(BASE - 0x1000);
  });

  it("rule 2: a hint reaching into the guard gap below [stack] is not used", () => {
    const { map, linux } = linuxSpace();
    const guardStart = STACK - GUARD;
    expect(linux.place(map, anon(0x1000, guardStart - 0x1000))).toBe(guardStart - 0x1000);
    expect(linux.place(map, anon(0x2000, guardStart - 0x1000))).toBe(BASE - 0x2000);
    expect(linux.place(map, anon(0x1000, STACK - 0x1000))).toBe(BASE - 0x1000);
    // Above the stack there is no gap to respect.
    expect(linux.place(map, anon(0x1000, STACK + 0x21000))).toBe(STACK + 0x21000);
  });

  it("rule 2: a hint below mmap_min_addr (64 KiB) is raised to it", () => {
    const { map, linux } = linuxSpace();
    expect(linux.place(map, anon(0x1000, 0x1000))).toBe(64 * KiB);
    expect(linux.place(map, anon(0x1000, 0xf123))).toBe(64 * KiB);
    add(map, 64 * KiB, 68 * KiB);
    expect(linux.place(map, anon(0x1000, 0x1000))).toBe(BASE - 0x1000);
    const strict = new LinuxTopDown({ mmapBase: BASE, mmapMinAddr: 0x100000 });
    expect(strict.place(map, anon(0x1000, 0x20000))).toBe(0x100000);
  });

  it("rule 2: a hint must stay within the 47-bit window (its last page is never used)", () => {
    const { map, linux } = linuxSpace();
    expect(linux.place(map, anon(0x1000, TOP - 0x2000))).toBe(TOP - 0x2000);
    expect(linux.place(map, anon(0x2000, TOP - 0x2000))).toBe(BASE - 0x2000);
    expect(linux.place(map, anon(0x1000, TOP))).toBe(BASE - 0x1000);
    expect(linux.place(map, anon(0x1000, 2 ** 52))).toBe(BASE - 0x1000);
  });

  it("5-level paging: a hint above the window may be used, and opens the search above it", () => {
    const map = newMap(2 ** 50);
    const linux = new LinuxTopDown({ mmapBase: BASE, addressBits: 56 });
    expect(linux.place(map, anon(0x1000, 2 ** 48))).toBe(2 ** 48);
    // Straddling the window's end is refused; so is a hint whose range is occupied, which
    // then searches up to mmap_base + (2^56 - 2^47): here the top of the map.
    expect(linux.place(map, anon(0x2000, TOP - 0x1000))).toBe(BASE - 0x2000);
    add(map, 2 ** 48, 2 ** 48 + 0x1000);
    expect(linux.place(map, anon(0x1000, 2 ** 48))).toBe(2 ** 50 - 0x1000);
  });

  it("rule 3: the highest gap below mmap_base that fits, minus the length", () => {
    const { map, linux } = linuxSpace();
    expect(linux.place(map, anon(0x3000))).toBe(BASE - 0x3000);
    add(map, BASE - 0x2000, BASE); // top gap now ends at BASE - 0x2000
    add(map, BASE - 0x5000, BASE - 0x3000); // leaves a 0x1000 hole
    expect(linux.place(map, anon(0x1000))).toBe(BASE - 0x3000);
    expect(linux.place(map, anon(0x2000))).toBe(BASE - 0x7000);
    // Mappings above mmap_base do not count.
    const other = newMap();
    add(other, BASE, BASE + 0x10_0000);
    expect(linux.place(other, anon(0x1000))).toBe(BASE - 0x1000);
  });

  it("rule 3: a gap whose top touches a grows-down entry's guard gap is searched below it", () => {
    const map = newMap();
    add(map, STACK, STACK + 0x21000, MAP_STACK_GROWS_DOWN);
    const linux = new LinuxTopDown({ mmapBase: STACK + 0x21000 });
    expect(linux.place(map, anon(0x1000))).toBe(STACK - GUARD - 0x1000);
    // The same entry without GROWS_DOWN is an ordinary obstacle.
    const flat = newMap();
    add(flat, STACK, STACK + 0x21000);
    expect(linux.place(flat, anon(0x1000))).toBe(STACK - 0x1000);
  });

  it("rule 3: nothing fits below mmap_base: bottom-up from the legacy base", () => {
    const map = newMap();
    add(map, 0x11000, 0x10_0000);
    const linux = new LinuxTopDown({ mmapBase: 0x10_0000, legacyBase: 0x20_0000 });
    expect(linux.place(map, anon(0x1000))).toBe(0x10000); // [64 KiB, 0x11000) still fits
    expect(linux.place(map, anon(0x2000))).toBe(0x20_0000);
    // The default legacy base is TASK_UNMAPPED_BASE, PAGE_ALIGN(window / 3).
    const dflt = new LinuxTopDown({ mmapBase: 0x10_0000 });
    expect(dflt.place(map, anon(0x2000))).toBe(0x2aaa_aaaa_b000);
  });

  it("rules 4-5: private anonymous multiples of 2 MiB are 2 MiB aligned, at the gap's top", () => {
    const { map, linux } = linuxSpace();
    // Search for 6 MiB below BASE: 0x7effffb23000; moved up to the next 2 MiB boundary.
    expect(linux.place(map, anon(4 * MiB))).toBe(0x7eff_ffc0_0000);
    // An aligned mmap_base: the padded result is aligned, the mapping takes the padding's top.
    const aligned = new LinuxTopDown({ mmapBase: 0x7f00_0000_0000 });
    expect(aligned.place(map, anon(4 * MiB))).toBe(0x7f00_0000_0000 - 4 * MiB);
    // Not a multiple of 2 MiB, shared, or hinted (6.13+): the plain search.
    expect(linux.place(map, anon(3 * MiB))).toBe(BASE - 3 * MiB);
    expect(linux.place(map, { ...anon(4 * MiB), shared: true })).toBe(BASE - 4 * MiB);
    add(map, 0x1_0000_0000, 0x1_0000_1000);
    expect(linux.place(map, anon(4 * MiB, 0x1_0000_0000))).toBe(BASE - 4 * MiB);
    // ... and a hint that is free is used as it is, unaligned.
    expect(linux.place(map, anon(4 * MiB, 0x1_0000_1000))).toBe(0x1_0000_1000);
  });

  it("rules 4-5: files are aligned so that address and offset agree modulo 2 MiB", () => {
    const { map, linux } = linuxSpace();
    // Offset 0x1000, 4 MiB: covers the aligned [2 MiB, 4 MiB) of the file.
    const a = linux.place(map, file(4 * MiB, 0x1000));
    expect(a).toBe(0x7eff_ffc0_1000);
    expect(a % (2 * MiB)).toBe(0x1000);
    // 2 MiB at offset 0x1000 covers no aligned 2 MiB: plain search.
    expect(linux.place(map, file(2 * MiB, 0x1000))).toBe(BASE - 2 * MiB);
    // Small files: plain search.
    expect(linux.place(map, file(0x3000, 0))).toBe(BASE - 0x3000);
    // Aligned base and offset 0: the padded result is aligned and the top half is taken.
    const aligned = new LinuxTopDown({ mmapBase: 0x7f00_0000_0000 });
    expect(aligned.place(map, file(2 * MiB, 0))).toBe(0x7f00_0000_0000 - 2 * MiB);
    // Files on file systems without THP alignment (tmpfs, /proc): plain search.
    expect(linux.place(map, { ...file(4 * MiB, 0), thpAlign: false })).toBe(BASE - 4 * MiB);
    // A file's hint is tried with the padded length first: free for len but not len + 2 MiB
    // means the aligned top-down search wins over the hint.
    add(map, 0x1_0040_0000, 0x1_0040_1000);
    expect(linux.place(map, file(4 * MiB, 0, 0x1_0000_0000))).toBe(BASE - 0x123000 - 4 * MiB);
    expect(linux.place(map, file(4 * MiB, 0, 0x1_0000_1000))).toBe(BASE - 0x123000 - 4 * MiB);
    expect(linux.place(map, file(4 * MiB, 0, 0x2_0000_1000))).toBe(0x2_0000_1000);
  });

  it("rule 5: the padded search fails: the plain search for the length itself", () => {
    const map = newMap();
    const base = 0x7f00_0000_0000;
    // Exactly 4 MiB free below base, nothing free above it.
    add(map, 0x10000, base - 4 * MiB);
    add(map, base, TOP);
    const linux = new LinuxTopDown({ mmapBase: base });
    expect(linux.place(map, anon(4 * MiB))).toBe(base - 4 * MiB);
    expect(linux.place(map, file(4 * MiB, 0))).toBe(base - 4 * MiB);
    expect(linux.place(map, anon(6 * MiB))).toBe(-1);
  });

  it("rule 5 quirk: a padded search rescued by the bottom-up fallback still moves up 2 MiB", () => {
    const map = newMap();
    const base = 0x7f00_0000_0000;
    add(map, 0x10000, base - 4 * MiB);
    const linux = new LinuxTopDown({ mmapBase: base });
    // len + 2 MiB fits nowhere below base. Bottom-up from the legacy base (inside the entry)
    // finds base - 4 MiB, the gap being open above base; it is aligned, so the top-down rule
    // returns ret + 2 MiB: a mapping across mmap_base.
    expect(linux.place(map, anon(4 * MiB))).toBe(base - 2 * MiB);
  });

  it("rule 6 (the caller's): a moving mremap searches while the old mapping exists", () => {
    const { map, linux } = linuxSpace();
    const old = BASE - 0x7ce000;
    add(map, old, BASE);
    // As in py_alloc seq 281: the new place ends where the old one starts, so the old range,
    // once unmapped, leaves room for growing in place.
    expect(linux.place(map, anon(0x84b000))).toBe(old - 0x84b000);
  });

  it("MAP_32BIT: bottom-up in [1 GiB, 2 GiB), randomized only when `random` is given", () => {
    const { map, linux } = linuxSpace();
    const low = { ...anon(0x3000), below4G: true };
    expect(linux.place(map, low)).toBe(0x4000_0000);
    add(map, 0x4000_0000, 0x4000_5000);
    expect(linux.place(map, low)).toBe(0x4000_5000);
    const draws = [0, 7, 0xffff_ffff];
    const rnd = new LinuxTopDown({ mmapBase: BASE, random: () => draws.shift()! });
    expect(rnd.place(map, low)).toBe(0x4000_5000); // start 1 GiB, inside the entry: skipped
    expect(rnd.place(map, low)).toBe(0x4000_7000);
    expect(rnd.place(map, low)).toBe(0x4000_0000 + 8191 * PS);
    // A hint below 2 GiB is used when free (the bottom-up hint rule), else the window.
    expect(linux.place(map, { ...low, hint: 0x2000_0000 })).toBe(0x2000_0000);
    expect(linux.place(map, { ...low, hint: 0x7fff_f000 })).toBe(0x4000_5000);
    // A full window: no fallback.
    const full = newMap();
    add(full, 0x4000_0000, 0x8000_0000);
    expect(linux.place(full, low)).toBe(-1);
    // A 2 MiB multiple takes the huge-page path, whose top-down rule moves it up 2 MiB.
    expect(linux.place(newMap(), { ...anon(2 * MiB), below4G: true })).toBe(0x4020_0000);
  });

  it("hugetlbfs: aligned to the huge page, hint rounded up to it", () => {
    const { map, linux } = linuxSpace();
    const huge = (length: number, hint = 0): PlacementRequest => ({
      ...file(length, 0, hint),
      hugePageSize: 2 * MiB,
    });
    expect(linux.place(map, huge(2 * MiB))).toBe(0x7eff_ffe0_0000);
    expect(linux.place(map, huge(2 * MiB, 0x1_0000_1000))).toBe(0x1_0020_0000);
    expect(linux.place(map, huge(3 * MiB))).toBe(-1);
  });

  it("refuses malformed requests and options", () => {
    const { map, linux } = linuxSpace();
    expect(() => linux.place(map, anon(0))).toThrow(RangeError);
    expect(() => linux.place(map, anon(0x1800))).toThrow(RangeError);
    expect(() => linux.place(map, anon(0x1000, -1))).toThrow(RangeError);
    expect(() => linux.place(map, file(0x1000, 0x10))).toThrow(RangeError);
    expect(() => new LinuxTopDown({ mmapBase: 0x1234 })).toThrow(RangeError);
    expect(() => new LinuxTopDown({ mmapBase: BASE, addressBits: 48 })).toThrow(RangeError);
    expect(() => new BottomUp({ pageSize: 1000 })).toThrow(RangeError);
    expect(linux.place(map, anon(2 ** 48))).toBe(-1);
  });
});

describe("doc examples", () => {
  it("run as written", () => {
    const map = VmMap.create(null, 4096, 2 ** 47);
    map.insert(null, 0, 0x7000, 0x9000, VM_PROT_READ, VM_PROT_ALL, 0);
    expect(map.findSpaceTopDown(0x1000, 0x8000, 0x2000)).toBe(0x5000);
    const empty = VmMap.create(null, 4096, 2 ** 47);
    const linux = new LinuxTopDown({ mmapBase: 0x7f0000000000 });
    expect(
      linux.place(empty, { hint: 0, length: 0x3000, offset: 0, file: false, shared: false }),
    ).toBe(0x7effffffd000);
    expect(
      new BottomUp().place(empty, {
        hint: 0,
        length: 0x1000,
        offset: 0,
        file: false,
        shared: false,
      }),
    ).toBe(0x10000);
    expect(
      linuxMmapBase([
        { start: 0x400000, end: 0x403000, path: "/usr/bin/true" },
        { start: 0x7f00000f0000, end: 0x7f00000f2000, path: "[vdso]" },
        { start: 0x7f00000f2000, end: 0x7f0000127000, path: "/usr/lib/ld-linux-x86-64.so.2" },
        { start: 0x7ffc00000000, end: 0x7ffc00021000, path: "[stack]" },
      ]),
    ).toBe(0x7f0000127000);
    expect(linux.name).toBe("linux-topdown");
    expect(linux.mmapBase).toBe(0x7f0000000000);
  });
});

describe("BottomUp", () => {
  it("the lowest gap above the base; huge-page alignment moves up to the boundary", () => {
    const map = newMap();
    const up = new BottomUp();
    expect(up.name).toBe("bottom-up");
    expect(up.place(map, anon(0x1000))).toBe(0x10000);
    add(map, 0x10000, 0x12000);
    expect(up.place(map, anon(0x1000))).toBe(0x12000);
    expect(up.place(map, anon(2 * MiB))).toBe(2 * MiB);
    expect(up.place(map, file(4 * MiB, 0x3000))).toBe(2 * MiB + 0x3000);
    expect(up.place(map, anon(0x1000, 0x5000_0000))).toBe(0x5000_0000);
    expect(new BottomUp({ base: 0x2aaa_aaaa_b000 }).place(map, anon(0x1000))).toBe(
      0x2aaa_aaaa_b000,
    );
  });

  it("skips a gap that reaches into a grows-down entry's guard gap", () => {
    const stack = 0x1000_0000;
    const up = new BottomUp();
    for (const [end, want] of [
      [stack - GUARD - 0x1000, stack - GUARD - 0x1000], // ends exactly at the guard gap
      [stack - GUARD, stack + 0x20000], // would enter it: searched above the stack
    ]) {
      const map = newMap();
      add(map, 0x10000, end);
      add(map, stack, stack + 0x20000, MAP_STACK_GROWS_DOWN);
      expect(up.place(map, anon(0x1000))).toBe(want);
    }
  });
});

// ---------------------------------------------------------------- 3. real traces

const TRACES = join(import.meta.dirname, "..", "traces");
const TOP_OF_USER = 2 ** 47;

type Op = Record<string, unknown> & { op: string; seq: number; as: string };

interface Space {
  map: VmMap;
  linux: LinuxTopDown;
  /** Current program break, null until the first brk. */
  brk: number | null;
}

interface Replay {
  hits: number;
  total: number;
  /** Of which moving mremaps (hits, total). */
  mremapHits: number;
  mremaps: number;
  /** Placements in address spaces without an exec snapshot, not replayed. */
  skipped: number;
  misses: string[];
  /** Address spaces whose final /proc/PID/maps was compared with the model. */
  finalsChecked: number;
}

const num = (v: unknown): number => Number.parseInt(String(v), 16);
const pageUp = (v: number): number => Math.ceil(v / PS) * PS;
const flagSet = (v: unknown): Set<string> => new Set(String(v ?? "").split("|"));

/** Entry attributes the model keeps: a vnode object stands for a file, SHARE for MAP_SHARED. */
function insertRange(
  map: VmMap,
  start: number,
  end: number,
  object: VmObject | null,
  offset: number,
  shared: boolean,
  growsDown = false,
): void {
  expect(map.remove(start, end)).toBe(KERN_SUCCESS);
  const cow = (shared ? MAP_INHERIT_SHARE : 0) | (growsDown ? MAP_STACK_GROWS_DOWN : 0);
  const rv = map.insert(
    object,
    object !== null ? offset : 0,
    start,
    end,
    VM_PROT_ALL,
    VM_PROT_ALL,
    cow,
  );
  expect(rv, `insert [${hex(start)}, ${hex(end)})`).toBe(KERN_SUCCESS);
}

function fileObject(offset: number, length: number): VmObject {
  return new VmObject(null, "vnode", (offset + length) / PS, 0);
}

/** What a vma at `addr` looks like to mremap: file, file offset at addr, shared. */
function vmaAt(map: VmMap, addr: number) {
  const r = map.lookupEntry(addr);
  if (!r.found || r.entry === null) throw new Error(`no mapping at ${hex(addr)}`);
  const e = r.entry;
  const obj = e.object !== null && e.object.type === "vnode" ? e.object : null;
  return {
    object: obj,
    offset: obj !== null ? e.offset + (addr - e.start) : 0,
    shared: e.inheritance === VM_INHERIT_SHARE,
  };
}

function spaceFromSnapshot(maps: Record<string, unknown>[]): Space {
  const map = newMap();
  const snap: { start: number; end: number; path: string }[] = [];
  for (const m of maps) {
    const start = num(m.start);
    const end = num(m.end);
    if (start >= TOP_OF_USER) continue; // [vsyscall]
    const path = String(m.path ?? "");
    snap.push({ start, end, path });
    const isFile = path !== "" && !path.startsWith("[");
    const offset = num(m.offset);
    insertRange(
      map,
      start,
      end,
      isFile ? fileObject(offset, end - start) : null,
      offset,
      String(m.perms ?? "").endsWith("s"),
      path === "[stack]",
    );
  }
  return { map, linux: new LinuxTopDown({ mmapBase: linuxMmapBase(snap) }), brk: null };
}

function forkSpace(parent: Space): Space {
  const map = newMap();
  for (const e of parent.map.entries()) {
    const obj = e.object !== null && e.object.type === "vnode" ? e.object : null;
    obj?.reference();
    insertRange(
      map,
      e.start,
      e.end,
      obj,
      e.offset,
      e.inheritance === VM_INHERIT_SHARE,
      (e.eflags & MAP_ENTRY_GROWS_DOWN) !== 0,
    );
  }
  return { map, linux: parent.linux, brk: parent.brk };
}

/**
 * Mapped ranges, adjacent ones joined, [stack] left out: page faults grow it below what the
 * exec snapshot shows, and no syscall records that.
 */
function coverage(map: VmMap): string[] {
  const out: [number, number][] = [];
  for (const e of map.entries()) {
    if ((e.eflags & MAP_ENTRY_GROWS_DOWN) !== 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === e.start) last[1] = e.end;
    else out.push([e.start, e.end]);
  }
  return out.map(([s, e]) => `${hex(s)}-${hex(e)}`);
}

/** The same from a /proc/PID/maps text, [vsyscall] (above the user window) left out too. */
function finalCoverage(text: string): string[] {
  const map = newMap();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m === null || m[3] === "[stack]") continue;
    const start = Number.parseInt(m[1], 16);
    if (start < TOP_OF_USER) add(map, start, Number.parseInt(m[2], 16));
  }
  return coverage(map);
}

function replayTrace(dir: string): Replay {
  const lines = readFileSync(join(dir, "ops.jsonl"), "utf8").split("\n").filter(Boolean);
  const spaces = new Map<string, Space>();
  const out: Replay = {
    hits: 0,
    total: 0,
    mremapHits: 0,
    mremaps: 0,
    skipped: 0,
    misses: [],
    finalsChecked: 0,
  };
  const check = (sp: Space, op: Op, req: PlacementRequest, actual: number): void => {
    const got = sp.linux.place(sp.map, req);
    const moving = op.op === "mremap";
    out.total++;
    if (moving) out.mremaps++;
    if (got === actual) {
      out.hits++;
      if (moving) out.mremapHits++;
    } else
      out.misses.push(
        `seq ${op.seq} ${op.op} (${op.as}): predicted ${hex(got)}, kernel ${hex(actual)}`,
      );
  };
  for (const line of lines) {
    const op = JSON.parse(line) as Op;
    if (op.op === "exec") {
      if (Array.isArray(op.initial_maps))
        spaces.set(op.as, spaceFromSnapshot(op.initial_maps as Record<string, unknown>[]));
      continue;
    }
    if (op.op === "fork") {
      const parent = spaces.get(String(op.parent_as));
      if (op.share_vm !== true && parent !== undefined) spaces.set(op.as, forkSpace(parent));
      continue;
    }
    const sp = spaces.get(op.as);
    const failed = op.result === "-1";
    if (sp === undefined) {
      const placing = op.op === "mmap" && !flagSet(op.flags).has("MAP_FIXED");
      if (placing && !failed) out.skipped++;
      continue;
    }
    if (failed) continue;
    switch (op.op) {
      case "mmap": {
        const flags = flagSet(op.flags);
        const len = pageUp(num(op.length));
        const res = num(op.result);
        const isFile = !flags.has("MAP_ANONYMOUS");
        const offset = isFile ? num(op.offset) : 0;
        const shared = flags.has("MAP_SHARED") || flags.has("MAP_SHARED_VALIDATE");
        if (!flags.has("MAP_FIXED") && !flags.has("MAP_FIXED_NOREPLACE"))
          check(
            sp,
            op,
            {
              hint: num(op.addr),
              length: len,
              offset,
              file: isFile,
              shared,
              below4G: flags.has("MAP_32BIT"),
            },
            res,
          );
        insertRange(
          sp.map,
          res,
          res + len,
          isFile ? fileObject(offset, len) : null,
          offset,
          shared,
        );
        break;
      }
      case "munmap":
        expect(sp.map.remove(num(op.addr), num(op.addr) + pageUp(num(op.length)))).toBe(
          KERN_SUCCESS,
        );
        break;
      case "mremap": {
        const flags = flagSet(op.flags);
        const old = num(op.old_addr);
        const oldLen = pageUp(num(op.old_size));
        const newLen = pageUp(num(op.new_size));
        const res = num(op.result);
        const vma = vmaAt(sp.map, old);
        if (res === old && !flags.has("MREMAP_FIXED")) {
          if (newLen < oldLen) sp.map.remove(old + newLen, old + oldLen);
          else if (newLen > oldLen) {
            const tail = vmaAt(sp.map, old + oldLen - PS);
            tail.object?.reference();
            insertRange(
              sp.map,
              old + oldLen,
              old + newLen,
              tail.object,
              tail.offset + PS,
              tail.shared,
            );
          }
          break;
        }
        // Rule 6: searched as an mmap without a hint, while the old mapping exists.
        if (!flags.has("MREMAP_FIXED"))
          check(
            sp,
            op,
            {
              hint: 0,
              length: newLen,
              offset: vma.offset,
              file: vma.object !== null,
              shared: vma.shared,
            },
            res,
          );
        vma.object?.reference();
        if (!flags.has("MREMAP_DONTUNMAP")) sp.map.remove(old, old + oldLen);
        insertRange(sp.map, res, res + newLen, vma.object, vma.offset, vma.shared);
        break;
      }
      case "brk": {
        const addr = num(op.addr);
        const res = num(op.result);
        if (sp.brk === null) sp.brk = res;
        else if (addr !== 0 && res === addr) {
          const from = pageUp(sp.brk);
          const to = pageUp(addr);
          if (to > from) insertRange(sp.map, from, to, null, 0, false);
          else if (to < from) sp.map.remove(to, from);
          sp.brk = addr;
        }
        break;
      }
      case "madvise":
        // MADV_DONTFORK would have to be remembered for the next fork; no trace uses it yet.
        if (String(op.advice).includes("DONTFORK"))
          throw new Error("MADV_DONTFORK is not modelled");
        break;
      case "exit":
        if (typeof op.final_maps_file === "string") {
          const truth = readFileSync(join(dir, op.final_maps_file), "utf8");
          expect(coverage(sp.map), `${op.as} at seq ${op.seq}`).toEqual(finalCoverage(truth));
          out.finalsChecked++;
        }
        break;
      case "mprotect":
        break;
      default:
        throw new Error(`seq ${op.seq}: unknown op ${op.op}`);
    }
  }
  for (const sp of spaces.values()) auditMap(sp.map);
  return out;
}

const traceDirs = existsSync(TRACES)
  ? readdirSync(TRACES)
      .filter((d) => statSync(join(TRACES, d)).isDirectory())
      .filter((d) => existsSync(join(TRACES, d, "ops.jsonl")))
      .sort()
  : [];

describe("real traces (traces/)", () => {
  it("are there", () => expect(traceDirs).toEqual(["gcc_compile", "py_alloc", "sh_pipeline"]));
  for (const name of traceDirs) {
    const r = replayTrace(join(TRACES, name));
    const skipped =
      r.skipped > 0 ? `; ${r.skipped} mmaps in spaces without a snapshot skipped` : "";
    const mmaps = `${r.hits - r.mremapHits}/${r.total - r.mremaps} non-fixed mmaps`;
    const mremaps = `${r.mremapHits}/${r.mremaps} moving mremaps`;
    const finals = `; final maps of ${r.finalsChecked} spaces matched`;
    const title = `${name}: ${r.hits}/${r.total} placed exactly`;
    it(`${title} (${mmaps}, ${mremaps}${skipped}${finals})`, () => {
      expect(r.total).toBeGreaterThan(0);
      expect(r.misses).toEqual([]);
      expect(r.finalsChecked).toBeGreaterThan(0);
    });
  }
});
