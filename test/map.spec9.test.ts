/**
 * Section 9 of the reference specification (/work/shared/spec/FREEBSD-VM.md), the items that
 * concern the map layer: 1-17, 22 (vm_map_stack), 25, 27, 28 and 38, plus malformed arguments.
 * Each test is named after its item and asserts the exact numbers the specification gives.
 */

import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import {
  auditMap,
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_OUT_OF_BOUNDS,
  KERN_PROTECTION_FAILURE,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  MADV_AUTOSYNC,
  MADV_CORE,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_NOCORE,
  MADV_NORMAL,
  MADV_NOSYNC,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MAP_CHECK_EXCL,
  MAP_CREATE_GUARD,
  MAP_DISABLE_COREDUMP,
  MAP_ENTRY_BEHAV_MASK,
  MAP_ENTRY_BEHAV_RANDOM,
  MAP_ENTRY_GROWS_DOWN,
  MAP_ENTRY_GROWS_UP,
  MAP_ENTRY_GUARD,
  MAP_ENTRY_HEADER,
  MAP_ENTRY_IN_TRANSITION,
  MAP_ENTRY_IS_SUB_MAP,
  MAP_ENTRY_NOCOREDUMP,
  MAP_ENTRY_NOSYNC,
  MAP_ENTRY_SPLIT_BOUNDARY_MASK,
  MAP_ENTRY_SPLIT_BOUNDARY_SHIFT,
  MAP_ENTRY_STACK_GAP_DN,
  MAP_ENTRY_USER_WIRED,
  MAP_ENTRY_VN_EXEC,
  MAP_INHERIT_SHARE,
  MAP_SPLIT_BOUNDARY_SHIFT,
  MAP_STACK_GROWS_DOWN,
  MAP_STACK_GROWS_UP,
  MAP_VN_EXEC,
  MAP_WXORX,
  MemoryFile,
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_SHARE,
  VM_INHERIT_ZERO,
  VM_MAP_PROTECT_SET_MAXPROT,
  VM_MAP_PROTECT_SET_PROT,
  VM_MAP_WIRE_HOLESOK,
  VM_MAP_WIRE_NOHOLES,
  VM_MAP_WIRE_SYSTEM,
  VM_MAP_WIRE_USER,
  VM_MAP_WIRE_WRITE,
  VM_PROT_ALL,
  VM_PROT_EXECUTE,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  VMFS_ANY_SPACE,
  VmMap,
  type VmMapEntry,
  VmMapEntry as VmMapEntryClass,
  type VmMapOptions,
  VmObject,
  VmPanic,
  VmSystem,
} from "../src/index.js";

// ------------------------------------------------------------------------------ helpers

const PAGE = 0x1000;
const KiB = 1024;
const MiB = 1024 * KiB;
const R = VM_PROT_READ;
const RW = VM_PROT_READ | VM_PROT_WRITE;
const RX = VM_PROT_READ | VM_PROT_EXECUTE;
const ALL = VM_PROT_ALL;
const NONE = VM_PROT_NONE;
const EINVAL = 22;
/** cow bits for a large-page (pagesizes[1] = 2 MiB) mapping. */
const COW_LARGE = 1 << MAP_SPLIT_BOUNDARY_SHIFT;

function mkMap(min: number, max: number, opts: VmMapOptions = {}): VmMap {
  const map = VmMap.create(null, min, max, opts);
  auditMap(map);
  return map;
}

/** Inserts an anonymous (or object) mapping and requires success. */
function ins(
  map: VmMap,
  start: number,
  end: number,
  prot = RW,
  max = ALL,
  cow = 0,
  object: VmObject | null = null,
  offset = 0,
): void {
  expect(map.insert(object, offset, start, end, prot, max, cow)).toBe(KERN_SUCCESS);
  auditMap(map);
}

/** A guard entry over [start, end). */
function guard(map: VmMap, start: number, end: number): void {
  ins(map, start, end, NONE, NONE, MAP_CREATE_GUARD);
}

/** The entry containing addr (must exist). */
function at(map: VmMap, addr: number): VmMapEntry {
  const r = map.lookupEntry(addr);
  expect(r.found).toBe(true);
  return r.entry!;
}

/** [start, end) of every entry, in order. */
function ranges(map: VmMap): [number, number][] {
  return [...map.entries()].map((e) => [e.start, e.end]);
}

/** The largest free gap of [min, max), computed from the entry list. */
function naiveMaxFree(map: VmMap): number {
  let best = 0;
  let pe = map.min;
  for (const e of map.entries()) {
    best = Math.max(best, e.start - pe);
    pe = e.end;
  }
  return Math.max(best, map.max - pe);
}

/** First fit computed from the entry list; the failure sentinel is max - length + 1. */
function naiveFindSpace(map: VmMap, start: number, length: number): number {
  const sentinel = map.max - length + 1;
  let a = Math.max(start, map.min);
  if (a >= map.max || length > map.max - a) return sentinel;
  for (const e of map.entries()) {
    if (e.end <= a) continue;
    if (e.start >= a + length) break;
    a = Math.max(a, e.end);
  }
  return a + length <= map.max ? a : sentinel;
}

/** An anonymous object of `pages` pages with no page context (a map used alone). */
function anonObject(pages: number): VmObject {
  return VmObject.allocateAnon(null, pages);
}

/** A vnode-like (non-anonymous) object of `pages` pages with no page context. */
function vnodeObject(pages: number): VmObject {
  return new VmObject(null, "vnode", pages, 0);
}

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------------------ findspace

describe("vm_map_findspace (9.1-9.4)", () => {
  it("9.1 sentinel bounds: empty map gives min for L <= max-min; L = max-min+1 gives max-L+1", () => {
    const min = 0x1000;
    const max = 0x10000;
    const map = mkMap(min, max);
    for (const L of [0x1000, 0x8000, max - min]) {
      expect(map.findSpace(min, L)).toBe(min);
      expect(map.findSpace(min, L) + L <= max).toBe(true);
    }
    // A start below min is raised to min.
    expect(map.findSpace(0, 0x1000)).toBe(min);
    const L = max - min + 1;
    const a = map.findSpace(min, L);
    expect(a).toBe(max - L + 1);
    expect(a).toBe(min);
    expect(a + L).toBe(max + 1);
    expect(a + L > max).toBe(true);
    // A length far beyond the map: the sentinel is negative, not clamped, and still detected.
    const huge = 2 ** 52;
    const s = map.findSpace(min, huge);
    expect(s).toBe(max - huge + 1);
    expect(s).toBeLessThan(0);
    expect(s + huge).toBe(max + 1);
    expect(s + huge > max).toBe(true);
    auditMap(map);
  });

  it("9.2 first fit: [0x1000,0x2000) and [0x5000,0x6000) in [0x1000,0x10000)", () => {
    const map = mkMap(0x1000, 0x10000);
    ins(map, 0x1000, 0x2000);
    ins(map, 0x5000, 0x6000, R);
    expect(map.nentries).toBe(2);
    expect(map.findSpace(0x1000, 0x1000)).toBe(0x2000);
    expect(map.findSpace(0x1000, 0x3000)).toBe(0x2000);
    expect(map.findSpace(0x1000, 0x4000)).toBe(0x6000);
    expect(map.findSpace(0x2800, 0x1000)).toBe(0x2800);
    // Findspace reserves nothing.
    expect(map.nentries).toBe(2);
    expect(map.findSpace(0x1000, 0x1000)).toBe(0x2000);
    // The largest gap is [0x6000, 0x10000): 0xa000 bytes fit, one more page does not.
    expect(map.findSpace(0x1000, 0xa000)).toBe(0x6000);
    const L = 0xb000;
    const f = map.findSpace(0x1000, L);
    expect(f).toBe(0x10000 - L + 1);
    expect(f + L > 0x10000).toBe(true);
    auditMap(map);
  });

  it("9.3 findspace with start inside an entry advances to that entry's end", () => {
    const map = mkMap(0x1000, 0x10000);
    ins(map, 0x1000, 0x2000);
    ins(map, 0x5000, 0x6000, R);
    expect(map.findSpace(0x1800, 0x1000)).toBe(0x2000);
    expect(map.findSpace(0x1000, 0x1000)).toBe(0x2000);
    expect(map.findSpace(0x5000, 0x1000)).toBe(0x6000);
    expect(map.findSpace(0x5800, 0x1000)).toBe(0x6000);
    expect(map.findSpace(0x5fff, 0x1000)).toBe(0x6000);
    // Inside the first entry, a length that does not fit in [0x2000, 0x5000) goes past 0x6000.
    expect(map.findSpace(0x1800, 0x4000)).toBe(0x6000);
    auditMap(map);
  });

  it("9.4 findspace wrap: start >= max or length > max - start fails, even for huge lengths", () => {
    const min = 0x1000;
    const max = 0x10000;
    const map = mkMap(min, max);
    const fails = (start: number, L: number): void => {
      const a = map.findSpace(start, L);
      expect(a).toBe(max - L + 1);
      expect(a + L > max).toBe(true);
    };
    fails(max, 0x1000);
    fails(max + 0x10000, 0x1000);
    fails(max - 0x1000, 0x2000);
    fails(max - 0x1000, 0x1001);
    expect(map.findSpace(max - 0x1000, 0x1000)).toBe(max - 0x1000);
    fails(min, Number.MAX_SAFE_INTEGER);
    fails(max - 0x1000, Number.MAX_SAFE_INTEGER);
    fails(Number.MAX_SAFE_INTEGER - 0xfff, 0x1000);
    // With entries in the way too.
    ins(map, 0x8000, 0x9000);
    fails(0x9000, 0x8000);
    fails(0x2000, 2 ** 52);
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ 9.5 property

describe("9.5 max_free invariant", () => {
  it("9.5 max_free invariant: 12,000 seeded random insert/find/delete/clip/protect/findSpace/stack ops", () => {
    const PAGES = 1024;
    const min = 0x100000;
    const max = min + PAGES * PAGE;
    const map = mkMap(min, max, { treeCapacity: 4 });
    const rand = rng(0xc0ffee);
    const ri = (n: number): number => Math.floor(rand() * n);
    const prots = [R, RW, RX, NONE];
    const counts: Record<string, number> = {};
    const bump = (k: string): void => {
      counts[k] = (counts[k] ?? 0) + 1;
    };
    const overlaps = (s: number, e: number): boolean => {
      for (const x of map.entries()) if (x.start < e && s < x.end) return true;
      return false;
    };
    const OPS = 12000;
    // Per-op checks call expect only on a mismatch: vitest's matchers are costly in a hot loop.
    let step = 0;
    const eq = (got: unknown, want: unknown): void => {
      if (!Object.is(got, want)) expect(got, `op ${step}`).toBe(want);
    };
    const deq = (got: unknown, want: unknown): void => {
      if (!isDeepStrictEqual(got, want)) expect(got, `op ${step}`).toEqual(want);
    };
    for (let i = 0; i < OPS; i++) {
      step = i;
      const op = ri(100);
      if (op < 20) {
        // insert
        const s = min + ri(PAGES) * PAGE;
        const e = s + (1 + ri(24)) * PAGE;
        const prot = prots[ri(3)];
        const expected =
          e > max ? KERN_INVALID_ADDRESS : overlaps(s, e) ? KERN_NO_SPACE : KERN_SUCCESS;
        const nBefore = map.nentries;
        const rv = map.insert(null, 0, s, e, prot, ALL, 0);
        eq(rv, expected);
        if (rv === KERN_SUCCESS) {
          bump("insert");
          eq(map.nentries <= nBefore + 1, true);
          eq(map.lookupEntry(s).found, true);
          eq(map.lookupEntry(e - 1).found, true);
        }
      } else if (op < 30) {
        // find (first fit above a hint, never clustered: the hint is never 0)
        const hint = min + ri(PAGES) * PAGE;
        const len = (1 + ri(32)) * PAGE;
        const want = naiveFindSpace(map, hint, len);
        const r = map.find(null, 0, hint, len, 0, VMFS_ANY_SPACE, prots[ri(3)], ALL, 0);
        if (want + len > max) eq(r.rv, KERN_NO_SPACE);
        else {
          eq(r.rv, KERN_SUCCESS);
          eq(r.addr, want);
          bump("find");
        }
      } else if (op < 44) {
        // delete
        const s = min + ri(PAGES) * PAGE;
        const e = Math.min(max, s + (1 + ri(48)) * PAGE);
        const sizeBefore = map.size;
        let mapped = 0;
        for (const x of map.entries())
          if (!x.isGuard) mapped += Math.max(0, Math.min(e, x.end) - Math.max(s, x.start));
        eq(map.delete(s, e), KERN_SUCCESS);
        eq(overlaps(s, e), false);
        eq(map.size, sizeBefore - mapped);
        bump("delete");
      } else if (op < 56) {
        // clip (then merge back with vm_map_simplify_entry)
        const a = min + ri(PAGES) * PAGE;
        const lk = map.lookupEntry(a);
        if (lk.found && lk.entry!.end - lk.entry!.start > PAGE && !lk.entry!.isGuard) {
          const ent = lk.entry!;
          const pages = (ent.end - ent.start) / PAGE;
          const c = ent.start + (1 + ri(pages - 1)) * PAGE;
          const n0 = map.nentries;
          // An objectless entry is first given an object for its whole range, at offset 0.
          const [s0, e0, off0] = [ent.start, ent.end, ent.object === null ? 0 : ent.offset];
          map.lock();
          if (ri(2) === 0) {
            eq(map.clipStart(ent, c), KERN_SUCCESS);
            deq([ent.start, ent.end, ent.offset], [c, e0, off0 + (c - s0)]);
          } else {
            eq(map.clipEnd(ent, c), KERN_SUCCESS);
            deq([ent.start, ent.end, ent.offset], [s0, c, off0]);
          }
          eq(map.nentries, n0 + 1);
          eq(map.maxFree, naiveMaxFree(map));
          // The pieces merge back, except grow-down stack pieces, which never absorb others.
          // (Read first: a merge with the next piece frees ent.)
          const noMerge = (ent.eflags & MAP_ENTRY_GROWS_DOWN) !== 0;
          map.simplifyEntry(ent);
          map.unlock();
          eq(map.nentries, noMerge ? n0 + 1 : n0);
          bump("clip");
        }
      } else if (op < 70) {
        // protect, sometimes lowering the maximum
        const s = min + ri(PAGES) * PAGE;
        const e = Math.min(max, s + (1 + ri(48)) * PAGE);
        const setMax = ri(6) === 0;
        const np = prots[ri(4)];
        const nm = setMax ? [RW, ALL, RX][ri(3)] : 0;
        const flags = setMax ? VM_MAP_PROTECT_SET_MAXPROT : VM_MAP_PROTECT_SET_PROT;
        let ok = true;
        for (const x of map.entries()) {
          if (x.end <= s || x.start >= e || x.isGuard) continue;
          const p = setMax ? x.protection : np;
          const m = setMax ? nm : x.maxProtection;
          if ((p & ~x.maxProtection) !== 0 || (m & ~x.maxProtection) !== 0) ok = false;
        }
        const before = map.state();
        const rv = map.protect(s, e, np, nm, flags);
        if (ok) {
          eq(rv, KERN_SUCCESS);
          bump("protect");
        } else {
          eq(rv, KERN_PROTECTION_FAILURE);
          deq(map.state(), before);
        }
      } else if (op < 82) {
        // bare findspace, including starts outside the map and oversize lengths
        const start = min - 4 * PAGE + ri(PAGES + 8) * PAGE + (ri(4) === 0 ? ri(PAGE) : 0);
        const len = ri(10) === 0 ? (PAGES + 1 + ri(PAGES)) * PAGE : (1 + ri(64)) * PAGE;
        eq(map.findSpace(start, len), naiveFindSpace(map, start, len));
        bump("findSpace");
      } else if (op < 90) {
        // a grow-down stack reservation through vm_map_find
        const hint = min + ri(PAGES) * PAGE;
        const len = (2 + ri(120)) * PAGE;
        const want = naiveFindSpace(map, hint, len);
        const r = map.find(null, 0, hint, len, 0, VMFS_ANY_SPACE, RW, ALL, MAP_STACK_GROWS_DOWN);
        if (want + len > max) eq(r.rv, KERN_NO_SPACE);
        else {
          eq(r.rv, KERN_SUCCESS);
          eq(r.addr, want);
          bump("stack");
        }
      } else {
        // stack growth: resizes the gap entry in place (or deletes it) and adds a piece
        const gaps = [...map.entries()].filter(
          (x) =>
            (x.eflags & MAP_ENTRY_STACK_GAP_DN) !== 0 &&
            x.next !== null &&
            x.next.start === x.end &&
            (x.next.eflags & MAP_ENTRY_GROWS_DOWN) !== 0,
        );
        if (gaps.length > 0) {
          const g = gaps[ri(gaps.length)];
          const addr = g.start + ri((g.end - g.start) / PAGE) * PAGE + ri(PAGE);
          // Expected (spec 4.20): need = round_page(stack.start - addr); the usable gap is the
          // gap less its guard (stored in next_read); grow = roundup(need, 128 KiB) capped.
          const need = Math.ceil((g.end - addr) / PAGE) * PAGE;
          const maxgrow = g.end - g.start - g.nextRead;
          const want =
            need > maxgrow ? 0 : Math.min(Math.ceil(need / (128 * KiB)) * 128 * KiB, maxgrow);
          const sizeBefore = map.size;
          map.lock();
          const r = map.growStackLocked(addr);
          map.unlock();
          eq(r.rv, need > maxgrow ? KERN_NO_SPACE : KERN_SUCCESS);
          eq(r.grow, want);
          eq(map.size, sizeBefore + r.grow);
          if (r.rv === KERN_SUCCESS) bump("grow");
        }
      }
      auditMap(map);
      eq(map.maxFree, naiveMaxFree(map));
    }
    // The sequence exercised every operation a meaningful number of times.
    for (const k of ["insert", "find", "delete", "clip", "protect", "findSpace", "stack", "grow"])
      expect(counts[k] ?? 0, k).toBeGreaterThan(50);
  });

  it("9.5 max_free equals the largest gap including [min, first.start) and [last.end, max)", () => {
    const map = mkMap(0x1000, 0x100000);
    expect(map.maxFree).toBe(0xff000);
    ins(map, 0x10000, 0x20000);
    // [0x20000, 0x100000) is the largest.
    expect(map.maxFree).toBe(0xe0000);
    ins(map, 0xf0000, 0x100000, R);
    // [0x20000, 0xf0000)
    expect(map.maxFree).toBe(0xd0000);
    ins(map, 0x24000, 0xec000, RX);
    // gaps 0xf000 (bottom), 0x4000, 0x4000: the bottom gap [0x1000, 0x10000) is the largest.
    expect(map.maxFree).toBe(0xf000);
    ins(map, 0x1000, 0x8000, RX);
    // gaps [0x8000,0x10000)=0x8000, [0x20000,0x24000)=0x4000, [0xec000,0xf0000)=0x4000
    expect(map.maxFree).toBe(0x8000);
    // Clipping deletes: [0x20000, 0x34000) becomes the largest.
    expect(map.delete(0x24000, 0x34000)).toBe(KERN_SUCCESS);
    expect(map.maxFree).toBe(0x14000);
    expect(map.delete(0xe0000, 0xec000)).toBe(KERN_SUCCESS);
    expect(map.maxFree).toBe(0x14000);
    // Deleting the last entry: the top gap [0xe0000, max) = 0x20000.
    expect(map.delete(0xf0000, 0x100000)).toBe(KERN_SUCCESS);
    expect(map.maxFree).toBe(0x20000);
    expect(map.maxFree).toBe(naiveMaxFree(map));
    expect(map.remove(0, Infinity)).toBe(KERN_SUCCESS);
    expect(map.maxFree).toBe(0xff000);
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ lookup

describe("vm_map_lookup_entry (9.6)", () => {
  it("9.6 lookup_entry on a miss returns the predecessor; read-locked lookup keeps the timestamp", () => {
    const map = mkMap(0x1000, 0x100000);
    ins(map, 0x3000, 0x4000);
    ins(map, 0x6000, 0x8000, R);
    const a = at(map, 0x3000);
    const b = at(map, 0x6000);
    expect(a).not.toBe(b);
    // Hits.
    expect(map.lookupEntry(0x3000)).toEqual({ found: true, entry: a });
    expect(map.lookupEntry(0x3fff)).toEqual({ found: true, entry: a });
    expect(map.lookupEntry(0x7fff)).toEqual({ found: true, entry: b });
    // Below every entry: the header (null); its successor is the first entry.
    const below = map.lookupEntry(0x1000);
    expect(below).toEqual({ found: false, entry: null });
    expect(below.entry?.next ?? map.firstEntry).toBe(a);
    expect(map.lookupEntry(0x2fff)).toEqual({ found: false, entry: null });
    // In the gap: the predecessor, whose successor is the first entry above the address.
    for (const addr of [0x4000, 0x5000, 0x5fff]) {
      const r = map.lookupEntry(addr);
      expect(r.found).toBe(false);
      expect(r.entry).toBe(a);
      expect(r.entry!.next).toBe(b);
    }
    // Above every entry: the last entry, with no successor.
    const above = map.lookupEntry(0x8000);
    expect(above.found).toBe(false);
    expect(above.entry).toBe(b);
    expect(above.entry!.next).toBe(null);
    expect(map.lookupEntry(0xfffff).entry).toBe(b);
    // A read-locked lookup does not change the timestamp.
    const ts = map.timestamp;
    map.lockRead();
    expect(map.lookupEntry(0x5000).entry).toBe(a);
    expect(map.lookupEntry(0x7000).entry).toBe(b);
    expect(map.lookupEntry(0x1000).entry).toBe(null);
    map.unlockRead();
    expect(map.timestamp).toBe(ts);
    // Unlocked lookups neither.
    map.lookupEntry(0x3000);
    expect(map.timestamp).toBe(ts);
    // Empty map.
    const empty = mkMap(0x1000, 0x10000);
    expect(empty.lookupEntry(0x2000)).toEqual({ found: false, entry: null });
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ insert

describe("vm_map_insert (9.7-9.9)", () => {
  it("9.7 vm_map_insert error codes", () => {
    const map = mkMap(0x1000, 0x100000);
    ins(map, 0x10000, 0x20000);
    ins(map, 0x30000, 0x40000, R);
    const before = map.state();
    const rv = (s: number, e: number, prot = RW, max = ALL, cow = 0, obj: VmObject | null = null) =>
      map.insert(obj, 0, s, e, prot, max, cow);
    // start == end
    expect(rv(0x50000, 0x50000)).toBe(KERN_INVALID_ADDRESS);
    // start inside an existing entry
    expect(rv(0x18000, 0x28000)).toBe(KERN_NO_SPACE);
    expect(rv(0x10000, 0x11000)).toBe(KERN_NO_SPACE);
    // end overlapping the next entry
    expect(rv(0x20000, 0x31000)).toBe(KERN_NO_SPACE);
    expect(rv(0x28000, 0x50000)).toBe(KERN_NO_SPACE);
    // end > max; start < min
    expect(rv(0xf0000, 0x101000)).toBe(KERN_INVALID_ADDRESS);
    expect(rv(0x0, 0x2000)).toBe(KERN_INVALID_ADDRESS);
    // guard with an object, or with a max protection
    const obj = anonObject(16);
    expect(rv(0x50000, 0x60000, NONE, NONE, MAP_CREATE_GUARD, obj)).toBe(KERN_INVALID_ARGUMENT);
    expect(rv(0x50000, 0x60000, NONE, R, MAP_CREATE_GUARD)).toBe(KERN_INVALID_ARGUMENT);
    expect(obj.refCount).toBe(1);
    // Order: range checks come before the occupancy and guard checks.
    expect(rv(0x18000, 0x18000)).toBe(KERN_INVALID_ADDRESS);
    expect(rv(0x18000, 0x28000, NONE, R, MAP_CREATE_GUARD)).toBe(KERN_NO_SPACE);
    expect(map.state()).toEqual(before);
    auditMap(map);
    // W|X on a WXORX map
    const wx = mkMap(0x1000, 0x100000, { flags: MAP_WXORX });
    const wxBefore = wx.state();
    expect(wx.insert(null, 0, 0x10000, 0x20000, RW | VM_PROT_EXECUTE, ALL, 0)).toBe(
      KERN_PROTECTION_FAILURE,
    );
    expect(wx.state()).toEqual(wxBefore);
    // Step order: start == end is checked before W^X.
    expect(wx.insert(null, 0, 0x10000, 0x10000, ALL, ALL, 0)).toBe(KERN_INVALID_ADDRESS);
    // R|X and R|W alone are fine.
    ins(wx, 0x10000, 0x20000, RX);
    ins(wx, 0x20000, 0x30000, RW);
    expect(wx.nentries).toBe(2);
    // A successful guard insert.
    guard(map, 0x50000, 0x60000);
    expect(at(map, 0x50000).eflags & MAP_ENTRY_GUARD).toBe(MAP_ENTRY_GUARD);
    expect(map.size).toBe(0x20000);
  });

  it("9.8 anonymous coalescing: adjacent identical inserts give one entry; differing prot two", () => {
    const map = mkMap(0x1000, 0x1000000);
    ins(map, 0x10000, 0x20000, RW, ALL);
    const first = map.firstEntry!;
    ins(map, 0x20000, 0x30000, RW, ALL);
    expect(map.nentries).toBe(1);
    expect(map.firstEntry).toBe(first);
    expect([first.start, first.end]).toEqual([0x10000, 0x30000]);
    expect(first.object).toBe(null);
    expect(map.size).toBe(0x20000);
    // Coalescing also happens when the new range fills a hole between two equal entries.
    ins(map, 0x40000, 0x50000, RW, ALL);
    expect(map.nentries).toBe(2);
    ins(map, 0x30000, 0x40000, RW, ALL);
    expect(map.nentries).toBe(1);
    expect(ranges(map)).toEqual([[0x10000, 0x50000]]);
    // Differing prot: two entries, neither with an object.
    ins(map, 0x50000, 0x60000, R, ALL);
    expect(map.nentries).toBe(2);
    const [a, b] = [...map.entries()];
    expect([a.start, a.end, b.start, b.end]).toEqual([0x10000, 0x50000, 0x50000, 0x60000]);
    expect(a.object).toBe(null);
    expect(b.object).toBe(null);
    expect(b.protection).toBe(R);
    // Differing max, inheritance or flags: separate entries too.
    ins(map, 0x60000, 0x70000, R, RW);
    ins(map, 0x70000, 0x80000, R, RW, MAP_INHERIT_SHARE);
    ins(map, 0x80000, 0x90000, R, RW, MAP_INHERIT_SHARE | MAP_DISABLE_COREDUMP);
    expect(map.nentries).toBe(5);
    expect(map.size).toBe(0x80000);
    // ... and each coalesces with an identical follower.
    ins(map, 0x90000, 0xa0000, R, RW, MAP_INHERIT_SHARE | MAP_DISABLE_COREDUMP);
    expect(map.nentries).toBe(5);
    expect(at(map, 0x80000).end).toBe(0xa0000);
    expect(at(map, 0x80000).eflags & MAP_ENTRY_NOCOREDUMP).toBe(MAP_ENTRY_NOCOREDUMP);
    auditMap(map);
  });

  it("9.9 GROWS_DOWN/UP, VN_EXEC, IS_SUB_MAP, IN_TRANSITION entries never absorb their predecessor; the header never merges", () => {
    const map = mkMap(0x1000, 0x1000000);
    // Two identical grow-down pieces stay two entries.
    ins(map, 0x10000, 0x20000, RW, ALL, MAP_STACK_GROWS_DOWN);
    ins(map, 0x20000, 0x30000, RW, ALL, MAP_STACK_GROWS_DOWN);
    expect(map.nentries).toBe(2);
    expect(at(map, 0x20000).eflags & MAP_ENTRY_GROWS_DOWN).toBe(MAP_ENTRY_GROWS_DOWN);
    // Grow-up likewise.
    ins(map, 0x40000, 0x50000, RW, ALL, MAP_STACK_GROWS_UP);
    ins(map, 0x50000, 0x60000, RW, ALL, MAP_STACK_GROWS_UP);
    expect(map.nentries).toBe(4);
    // VN_EXEC text over consecutive offsets of one object stays two entries...
    const text = vnodeObject(32);
    ins(map, 0x100000, 0x104000, RX, ALL, MAP_VN_EXEC, text, 0);
    text.reference();
    ins(map, 0x104000, 0x108000, RX, ALL, MAP_VN_EXEC, text, 0x4000);
    expect(map.nentries).toBe(6);
    // ... while the same object without VN_EXEC merges (the control case).
    const data = vnodeObject(32);
    ins(map, 0x200000, 0x204000, RX, ALL, 0, data, 0);
    data.reference();
    ins(map, 0x204000, 0x208000, RX, ALL, 0, data, 0x4000);
    expect(map.nentries).toBe(7);
    expect(ranges(map).at(-1)).toEqual([0x200000, 0x208000]);
    expect(data.refCount).toBe(1);
    auditMap(map);

    // The no-merge rule per flag, on otherwise identical neighbours.
    const mk = (s: number, e: number, eflags: number): VmMapEntry => {
      const x = new VmMapEntryClass();
      x.start = s;
      x.end = e;
      x.eflags = eflags;
      x.protection = RW;
      x.maxProtection = ALL;
      x.inheritance = VM_INHERIT_COPY;
      return x;
    };
    expect(VmMap.wouldMerge(mk(0x1000, 0x2000, 0), mk(0x2000, 0x3000, 0))).toBe(true);
    for (const f of [
      MAP_ENTRY_GROWS_DOWN,
      MAP_ENTRY_GROWS_UP,
      MAP_ENTRY_VN_EXEC,
      MAP_ENTRY_IS_SUB_MAP,
      MAP_ENTRY_IN_TRANSITION,
    ])
      expect(VmMap.wouldMerge(mk(0x1000, 0x2000, f), mk(0x2000, 0x3000, f)), `flag ${f}`).toBe(
        false,
      );
    // The header's flag never equals a real entry's flags.
    expect(VmMap.wouldMerge(mk(0x0, 0x1000, MAP_ENTRY_HEADER), mk(0x1000, 0x2000, 0))).toBe(false);
    // An entry at the very bottom of the map has nothing (no header) to merge with.
    const m2 = mkMap(0x1000, 0x100000);
    ins(m2, 0x1000, 0x2000);
    ins(m2, 0x2000, 0x3000);
    expect(ranges(m2)).toEqual([[0x1000, 0x3000]]);
    expect(m2.lookupEntry(0x1000).entry!.start).toBe(0x1000);
  });
});

// ------------------------------------------------------------------------------ clip

describe("clipping (9.10-9.11)", () => {
  it("9.10 clip semantics: clip_start keeps the back piece, clip_end the front; offsets consistent", () => {
    const map = mkMap(0x1000, 0x1000000);
    const obj = anonObject(32);
    ins(map, 0x10000, 0x20000, RW, ALL, 0, obj, 0x2000);
    const e = at(map, 0x10000);
    map.lock();
    expect(map.clipStart(e, 0x14000)).toBe(KERN_SUCCESS);
    // The original is now the back piece.
    expect([e.start, e.end, e.offset]).toEqual([0x14000, 0x20000, 0x2000 + 0x4000]);
    const front = map.lookupEntry(0x10000).entry!;
    expect(front).not.toBe(e);
    expect([front.start, front.end, front.offset]).toEqual([0x10000, 0x14000, 0x2000]);
    expect(front.object).toBe(obj);
    expect(e.object).toBe(obj);
    expect(obj.refCount).toBe(2);
    // No-op clips.
    expect(map.clipStart(e, 0x14000)).toBe(KERN_SUCCESS);
    expect(map.clipEnd(e, 0x20000)).toBe(KERN_SUCCESS);
    expect(map.nentries).toBe(2);
    // clip_end keeps the original as the front piece.
    expect(map.clipEnd(e, 0x18000)).toBe(KERN_SUCCESS);
    expect([e.start, e.end, e.offset]).toEqual([0x14000, 0x18000, 0x6000]);
    const back = map.lookupEntry(0x18000).entry!;
    expect(back).not.toBe(e);
    expect([back.start, back.end, back.offset]).toEqual([0x18000, 0x20000, 0x6000 + 0x4000]);
    expect(back.object).toBe(obj);
    expect(obj.refCount).toBe(3);
    expect(map.nentries).toBe(3);
    expect(map.size).toBe(0x10000);
    map.unlock();
    // Make the middle piece different so the pieces stay apart, then audit.
    expect(map.protect(0x14000, 0x18000, R, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(map.nentries).toBe(3);

    // An objectless user entry first gets one anonymous object shared by both halves.
    ins(map, 0x30000, 0x40000, RW, ALL);
    const anon = at(map, 0x30000);
    expect(anon.object).toBe(null);
    map.lock();
    expect(map.clipStart(anon, 0x34000)).toBe(KERN_SUCCESS);
    const anonFront = map.lookupEntry(0x30000).entry!;
    expect(anonFront).not.toBe(anon);
    expect(anon.object).not.toBe(null);
    expect(anonFront.object).toBe(anon.object);
    expect(anonFront.offset).toBe(0);
    expect(anon.offset).toBe(0x4000);
    // Sized for the whole original entry (16 pages), one reference per half.
    expect(anon.object!.size).toBe(16);
    expect(anon.object!.refCount).toBe(2);
    map.simplifyEntry(anon);
    map.unlock();
    auditMap(map);
    expect(ranges(map).at(-1)).toEqual([0x30000, 0x40000]);

    // A guard entry is clipped without an object.
    guard(map, 0x50000, 0x60000);
    const g = at(map, 0x50000);
    map.lock();
    expect(map.clipEnd(g, 0x58000)).toBe(KERN_SUCCESS);
    expect(g.object).toBe(null);
    expect(map.lookupEntry(0x58000).entry!.object).toBe(null);
    expect(map.lookupEntry(0x58000).entry).not.toBe(g);
    map.simplifyEntry(g);
    map.unlock();
    auditMap(map);
  });

  it("9.11 large-page entries refuse clips at non-aligned addresses with INVALID_ARGUMENT", () => {
    const map = mkMap(0x200000, 2 ** 32);
    expect(map.pagesizes).toEqual([4096, 2 * MiB]);
    // Misaligned large-page ranges and a bad split index are refused at insert.
    expect(map.insert(null, 0, 0x401000, 0x800000, RW, ALL, COW_LARGE)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.insert(null, 0, 0x400000, 0x7ff000, RW, ALL, COW_LARGE)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.insert(null, 0, 0x400000, 0x800000, RW, ALL, 3 << MAP_SPLIT_BOUNDARY_SHIFT)).toBe(
      KERN_INVALID_ARGUMENT,
    );
    expect(map.nentries).toBe(0);
    const obj = anonObject(1024);
    ins(map, 0x400000, 0x800000, RW, ALL, COW_LARGE, obj, 0);
    const e = at(map, 0x400000);
    expect((e.eflags & MAP_ENTRY_SPLIT_BOUNDARY_MASK) >>> MAP_ENTRY_SPLIT_BOUNDARY_SHIFT).toBe(1);
    expect(e.splitBoundaryIndex).toBe(1);
    // Direct clips.
    map.lock();
    expect(map.clipStart(e, 0x401000)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.clipEnd(e, 0x7ff000)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.clipStart(e, 0x500000)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.nentries).toBe(1);
    expect([e.start, e.end, e.offset]).toEqual([0x400000, 0x800000, 0]);
    expect(map.clipStart(e, 0x600000)).toBe(KERN_SUCCESS);
    expect([e.start, e.end, e.offset]).toEqual([0x600000, 0x800000, 0x200000]);
    expect(map.lookupEntry(0x400000).entry!.splitBoundaryIndex).toBe(1);
    map.simplifyEntry(e);
    map.unlock();
    auditMap(map);
    expect(ranges(map)).toEqual([[0x400000, 0x800000]]);
    // Range operations whose clip points are not 2 MiB aligned.
    const before = map.state();
    expect(map.protect(0x401000, 0x402000, R, 0, VM_MAP_PROTECT_SET_PROT)).toBe(
      KERN_INVALID_ARGUMENT,
    );
    expect(map.protect(0x400000, 0x402000, R, 0, VM_MAP_PROTECT_SET_PROT)).toBe(
      KERN_INVALID_ARGUMENT,
    );
    expect(map.inherit(0x401000, 0x402000, VM_INHERIT_SHARE)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.delete(0x401000, 0x402000)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.delete(0x600000, 0x7ff000)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.remove(0x3ff000, 0x401000)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.madvise(0x401000, 0x402000, MADV_RANDOM)).toBe(EINVAL);
    expect(map.state()).toEqual(before);
    auditMap(map);
    // Aligned sub-ranges clip fine; both pieces keep the split boundary.
    expect(map.protect(0x400000, 0x600000, R, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(ranges(map)).toEqual([
      [0x400000, 0x600000],
      [0x600000, 0x800000],
    ]);
    for (const x of map.entries()) expect(x.splitBoundaryIndex).toBe(1);
    expect(map.delete(0x600000, 0x800000)).toBe(KERN_SUCCESS);
    expect(map.size).toBe(2 * MiB);
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ fixed, remove, delete

describe("fixed / remove / delete (9.12-9.14)", () => {
  it("9.12 vm_map_fixed replaces mappings without CHECK_EXCL; with it an occupied range is NO_SPACE", () => {
    const map = mkMap(0x1000, 0x1000000);
    ins(map, 0x10000, 0x20000, R);
    ins(map, 0x24000, 0x26000, RX);
    // CHECK_EXCL over an occupied (or partly occupied) range fails and changes nothing.
    const before = map.state();
    expect(map.fixed(null, 0, 0x18000, 0x10000, RW, ALL, MAP_CHECK_EXCL)).toBe(KERN_NO_SPACE);
    expect(map.fixed(null, 0, 0x20000, 0x8000, RW, ALL, MAP_CHECK_EXCL)).toBe(KERN_NO_SPACE);
    expect(map.fixed(null, 0, 0x8000, 0x10000, RW, ALL, MAP_CHECK_EXCL)).toBe(KERN_NO_SPACE);
    expect(map.state()).toEqual(before);
    // Without it, whatever is there is deleted first.
    expect(map.fixed(null, 0, 0x18000, 0x10000, RW, ALL, 0)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(ranges(map)).toEqual([
      [0x10000, 0x18000],
      [0x18000, 0x28000],
    ]);
    const [a, b] = [...map.entries()];
    expect(a.protection).toBe(R);
    expect(b.protection).toBe(RW);
    expect(map.size).toBe(0x18000);
    // CHECK_EXCL on a free range succeeds.
    expect(map.fixed(null, 0, 0x30000, 0x10000, RX, ALL, MAP_CHECK_EXCL)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(map.nentries).toBe(3);
    expect(map.size).toBe(0x28000);
  });

  it("9.13 RANGE_CHECK clamps instead of failing: remove(0, Infinity) removes everything", () => {
    const map = mkMap(0x10000, 0x10000000);
    ins(map, 0x10000, 0x20000);
    ins(map, 0x100000, 0x200000, R);
    guard(map, 0x300000, 0x400000);
    ins(map, 0xfff0000, 0x10000000, RX);
    expect(map.nentries).toBe(4);
    // Clamping protect and inherit also accept ranges beyond the map.
    expect(map.protect(0, Infinity, R, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    expect(map.inherit(0, Infinity, VM_INHERIT_NONE)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(at(map, 0x10000).protection).toBe(R);
    expect(at(map, 0xfff0000).inheritance).toBe(VM_INHERIT_NONE);
    // A range entirely below min clamps to empty.
    expect(map.remove(0, 0x8000)).toBe(KERN_SUCCESS);
    expect(map.nentries).toBe(4);
    expect(map.remove(0, Infinity)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(map.nentries).toBe(0);
    expect(map.size).toBe(0);
    expect(map.firstEntry).toBe(null);
    expect(map.maxFree).toBe(0x10000000 - 0x10000);
    // An oversize finite end clamps too.
    ins(map, 0x20000, 0x30000);
    expect(map.remove(0, 2 ** 40)).toBe(KERN_SUCCESS);
    expect(map.nentries).toBe(0);
    auditMap(map);
  });

  it("9.14 vm_map_delete over holes; size drops by non-guard sizes only; anon_loc moves down", () => {
    const map = mkMap(0x1000, 0x10000000);
    ins(map, 0x10000, 0x14000, RW);
    guard(map, 0x20000, 0x30000);
    ins(map, 0x40000, 0x48000, R);
    expect(map.size).toBe(0x4000 + 0x8000);
    expect(map.nentries).toBe(3);
    // Delete across both holes and the guard.
    expect(map.delete(0x12000, 0x44000)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(ranges(map)).toEqual([
      [0x10000, 0x12000],
      [0x44000, 0x48000],
    ]);
    expect(map.size).toBe(0x2000 + 0x4000);
    // Deleting a guard alone leaves size unchanged; deleting pure holes succeeds.
    guard(map, 0x80000, 0x90000);
    expect(map.size).toBe(0x6000);
    expect(map.delete(0x70000, 0xa0000)).toBe(KERN_SUCCESS);
    expect(map.size).toBe(0x6000);
    expect(map.nentries).toBe(2);
    expect(map.delete(0x100000, 0x200000)).toBe(KERN_SUCCESS);
    expect(map.nentries).toBe(2);
    auditMap(map);

    // anon_loc: two hint-less finds cluster; deleting the entry ending at anon_loc lowers it.
    const m = mkMap(0x100000, 0x10000000);
    expect(m.anonLoc).toBe(0);
    const f1 = m.find(null, 0, 0, 0x4000, 0, VMFS_ANY_SPACE, RW, ALL, 0);
    expect(f1).toEqual({ rv: KERN_SUCCESS, addr: 0x100000 });
    expect(m.anonLoc).toBe(0x104000);
    const f2 = m.find(null, 0, 0, 0x4000, 0, VMFS_ANY_SPACE, RW, ALL, 0);
    expect(f2).toEqual({ rv: KERN_SUCCESS, addr: 0x104000 });
    expect(m.anonLoc).toBe(0x108000);
    expect(m.nentries).toBe(1);
    auditMap(m);
    // Deleting something that does not end at anon_loc leaves it.
    ins(m, 0x200000, 0x210000);
    expect(m.delete(0x200000, 0x210000)).toBe(KERN_SUCCESS);
    expect(m.anonLoc).toBe(0x108000);
    // The tail piece [0x106000, 0x108000) ends at anon_loc.
    expect(m.delete(0x106000, 0x108000)).toBe(KERN_SUCCESS);
    expect(m.anonLoc).toBe(0x106000);
    expect(m.delete(0x100000, 0x106000)).toBe(KERN_SUCCESS);
    expect(m.anonLoc).toBe(0x100000);
    auditMap(m);
    // Set directly as well.
    ins(m, 0x300000, 0x310000);
    m.anonLoc = 0x310000;
    expect(m.remove(0x300000, 0x310000)).toBe(KERN_SUCCESS);
    expect(m.anonLoc).toBe(0x300000);
    auditMap(m);
  });
});

// ------------------------------------------------------------------------------ protect, inherit

describe("vm_map_protect / vm_map_inherit (9.15-9.17)", () => {
  it("9.15 mprotect semantics: validation first, holes skipped, SET_MAXPROT, max only shrinks, guards skipped", () => {
    const map = mkMap(0x1000, 0x1000000);
    ins(map, 0x10000, 0x20000, RW, RW); // A
    ins(map, 0x30000, 0x40000, R, R); // B (after a hole)
    guard(map, 0x40000, 0x50000); // G
    ins(map, 0x60000, 0x70000, RW, ALL); // C
    // new prot beyond B's max: PROTECTION_FAILURE, A is not touched.
    let before = map.state();
    expect(map.protect(0x10000, 0x40000, RW, 0, VM_MAP_PROTECT_SET_PROT)).toBe(
      KERN_PROTECTION_FAILURE,
    );
    expect(map.protect(0x18000, 0x38000, RW, 0, VM_MAP_PROTECT_SET_PROT)).toBe(
      KERN_PROTECTION_FAILURE,
    );
    expect(map.state()).toEqual(before);
    // Holes are skipped silently; only mapped parts change.
    expect(map.protect(0x18000, 0x38000, R, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(ranges(map)).toEqual([
      [0x10000, 0x18000],
      [0x18000, 0x20000],
      [0x30000, 0x40000],
      [0x40000, 0x50000],
      [0x60000, 0x70000],
    ]);
    expect(at(map, 0x10000).protection).toBe(RW);
    expect(at(map, 0x18000).protection).toBe(R);
    expect(at(map, 0x18000).maxProtection).toBe(RW);
    // A range that is only a hole.
    before = map.state();
    expect(map.protect(0x20000, 0x30000, NONE, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    expect(map.state()).toEqual(before);
    // Restoring the protection re-merges A.
    expect(map.protect(0x18000, 0x20000, RW, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(at(map, 0x10000).end).toBe(0x20000);
    // SET_MAXPROT alone: protection = new_max ∩ old.
    expect(map.protect(0x60000, 0x70000, 0, RX, VM_MAP_PROTECT_SET_MAXPROT)).toBe(KERN_SUCCESS);
    let c = at(map, 0x60000);
    expect(c.maxProtection).toBe(RX);
    expect(c.protection).toBe(R);
    // The maximum can only shrink.
    before = map.state();
    expect(map.protect(0x60000, 0x70000, 0, ALL, VM_MAP_PROTECT_SET_MAXPROT)).toBe(
      KERN_PROTECTION_FAILURE,
    );
    expect(map.protect(0x60000, 0x70000, RW, 0, VM_MAP_PROTECT_SET_PROT)).toBe(
      KERN_PROTECTION_FAILURE,
    );
    expect(map.state()).toEqual(before);
    // Both: protection = new_prot (not new_max ∩ old).
    expect(
      map.protect(0x60000, 0x70000, RX, RX, VM_MAP_PROTECT_SET_PROT | VM_MAP_PROTECT_SET_MAXPROT),
    ).toBe(KERN_SUCCESS);
    c = at(map, 0x60000);
    expect([c.protection, c.maxProtection]).toEqual([RX, RX]);
    expect(map.protect(0x60000, 0x70000, 0, R, VM_MAP_PROTECT_SET_MAXPROT)).toBe(KERN_SUCCESS);
    expect([c.protection, c.maxProtection]).toEqual([R, R]);
    auditMap(map);
    // Guards are skipped entirely: mprotect cannot make a guard accessible.
    expect(map.protect(0x40000, 0x50000, RW, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    expect(map.protect(0x40000, 0x50000, ALL, ALL, 3)).toBe(KERN_SUCCESS);
    const g = at(map, 0x40000);
    expect([g.protection, g.maxProtection]).toEqual([NONE, NONE]);
    expect(g.eflags & MAP_ENTRY_GUARD).toBe(MAP_ENTRY_GUARD);
    // ... and a range spanning a guard applies to the others.
    expect(map.protect(0x30000, 0x50000, NONE, 0, VM_MAP_PROTECT_SET_PROT)).toBe(KERN_SUCCESS);
    expect(at(map, 0x30000).protection).toBe(NONE);
    expect(at(map, 0x40000).protection).toBe(NONE);
    expect(at(map, 0x40000).maxProtection).toBe(NONE);
    auditMap(map);
  });

  it("9.16 protect(SET_PROT|SET_MAXPROT) with prot ⊄ maxprot -> KERN_OUT_OF_BOUNDS (mprotect ENOTSUP)", () => {
    expect(KERN_OUT_OF_BOUNDS).toBe(9);
    const map = mkMap(0x1000, 0x1000000);
    ins(map, 0x10000, 0x20000, RW, ALL);
    const before = map.state();
    const both = VM_MAP_PROTECT_SET_PROT | VM_MAP_PROTECT_SET_MAXPROT;
    expect(map.protect(0x10000, 0x20000, RW, R, both)).toBe(KERN_OUT_OF_BOUNDS);
    expect(map.protect(0x10000, 0x20000, VM_PROT_EXECUTE, RW, both)).toBe(KERN_OUT_OF_BOUNDS);
    expect(map.protect(0x10000, 0x20000, R, NONE, both)).toBe(KERN_OUT_OF_BOUNDS);
    // Even over a hole.
    expect(map.protect(0x80000, 0x90000, RW, R, both)).toBe(KERN_OUT_OF_BOUNDS);
    expect(map.state()).toEqual(before);
    // start == end is checked first (step 1).
    expect(map.protect(0x10000, 0x10000, RW, R, both)).toBe(KERN_SUCCESS);
    // A subset is fine.
    expect(map.protect(0x10000, 0x20000, R, RW, both)).toBe(KERN_SUCCESS);
    const e = at(map, 0x10000);
    expect([e.protection, e.maxProtection]).toEqual([R, RW]);
    auditMap(map);
  });

  it("9.17 vm_map_inherit: only 0-3; ZERO not applied to guards; COPY on large pages refused", () => {
    const map = mkMap(0x200000, 2 ** 32);
    ins(map, 0x10000000, 0x10010000, RW);
    guard(map, 0x10010000, 0x10020000);
    ins(map, 0x10020000, 0x10030000, R);
    let before = map.state();
    for (const bad of [4, 5, -1, 255, 1.5, Number.NaN, Infinity]) {
      expect(map.inherit(0x10000000, 0x10030000, bad), `inh ${bad}`).toBe(KERN_INVALID_ARGUMENT);
      // Even for an empty range.
      expect(map.inherit(0x10000000, 0x10000000, bad)).toBe(KERN_INVALID_ARGUMENT);
    }
    expect(map.state()).toEqual(before);
    for (const inh of [VM_INHERIT_SHARE, VM_INHERIT_COPY, VM_INHERIT_NONE, VM_INHERIT_ZERO]) {
      expect(map.inherit(0x10000000, 0x10010000, inh)).toBe(KERN_SUCCESS);
      expect(at(map, 0x10000000).inheritance).toBe(inh);
    }
    // ZERO over a range with a guard: the guard keeps its inheritance.
    expect(at(map, 0x10010000).inheritance).toBe(VM_INHERIT_COPY);
    expect(map.inherit(0x10000000, 0x10030000, VM_INHERIT_ZERO)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(at(map, 0x10000000).inheritance).toBe(VM_INHERIT_ZERO);
    expect(at(map, 0x10010000).inheritance).toBe(VM_INHERIT_COPY);
    expect(at(map, 0x10020000).inheritance).toBe(VM_INHERIT_ZERO);
    // Other values are applied to guards.
    expect(map.inherit(0x10000000, 0x10030000, VM_INHERIT_NONE)).toBe(KERN_SUCCESS);
    expect(at(map, 0x10010000).inheritance).toBe(VM_INHERIT_NONE);
    // Partial ranges clip.
    expect(map.inherit(0x10004000, 0x10008000, VM_INHERIT_SHARE)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(map.nentries).toBe(5);
    expect(at(map, 0x10004000).inheritance).toBe(VM_INHERIT_SHARE);
    expect(at(map, 0x10000000).inheritance).toBe(VM_INHERIT_NONE);

    // COPY on a large-page entry.
    const lp = mkMap(0x200000, 2 ** 32);
    ins(lp, 0x400000, 0x800000, RW, ALL, COW_LARGE, anonObject(1024), 0);
    expect(lp.inherit(0x400000, 0x800000, VM_INHERIT_SHARE)).toBe(KERN_SUCCESS);
    before = lp.state();
    expect(lp.inherit(0x400000, 0x800000, VM_INHERIT_COPY)).toBe(KERN_INVALID_ARGUMENT);
    // An aligned sub-range too (vmspace checks before clipping: nothing changes).
    expect(lp.inherit(0x400000, 0x600000, VM_INHERIT_COPY)).toBe(KERN_INVALID_ARGUMENT);
    expect(lp.state()).toEqual(before);
    expect(lp.inherit(0x400000, 0x600000, VM_INHERIT_NONE)).toBe(KERN_SUCCESS);
    expect(lp.inherit(0x400000, 0x800000, VM_INHERIT_ZERO)).toBe(KERN_SUCCESS);
    auditMap(lp);
  });
});

// ------------------------------------------------------------------------------ stack

describe("vm_map_stack (9.22)", () => {
  it("9.22 vm_map_stack(L, guard 1 page, sgrowsiz 128 KiB): stack top min(128 KiB, L - 4 KiB), STACK_GAP_DN guard below", () => {
    const map = mkMap(0x1000, 2 ** 40);
    expect(map.stackGrowSize).toBe(128 * KiB);
    expect(map.stackGuardPages).toBe(1);
    const before = map.state();
    // L <= guard.
    expect(map.stack(0x10000000, 4 * KiB, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(
      KERN_INVALID_ARGUMENT,
    );
    // L == 0 and a range beyond the map.
    expect(map.stack(0x10000000, 0, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(KERN_INVALID_ADDRESS);
    expect(map.stack(2 ** 40 - MiB, 2 * MiB, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(
      KERN_INVALID_ADDRESS,
    );
    expect(map.state()).toEqual(before);

    const check = (bos: number, L: number, init: number): void => {
      const size0 = map.size;
      const n0 = map.nentries;
      expect(map.stack(bos, L, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(KERN_SUCCESS);
      auditMap(map);
      const top = bos + L;
      const st = at(map, top - 1);
      expect([st.start, st.end]).toEqual([top - init, top]);
      expect(st.eflags & MAP_ENTRY_GROWS_DOWN).toBe(MAP_ENTRY_GROWS_DOWN);
      expect([st.protection, st.maxProtection]).toEqual([RW, ALL]);
      expect(map.size).toBe(size0 + init);
      if (init === L) {
        expect(map.nentries).toBe(n0 + 1);
        return;
      }
      const gap = at(map, bos);
      expect([gap.start, gap.end]).toEqual([bos, top - init]);
      expect(gap.eflags & (MAP_ENTRY_GUARD | MAP_ENTRY_STACK_GAP_DN)).toBe(
        MAP_ENTRY_GUARD | MAP_ENTRY_STACK_GAP_DN,
      );
      expect([gap.protection, gap.maxProtection]).toEqual([NONE, NONE]);
      expect(gap.object).toBe(null);
      // The gap stores the guard size in bytes.
      expect(gap.nextRead).toBe(4 * KiB);
      expect(map.nentries).toBe(n0 + 2);
    };
    check(0x10000000, MiB, 128 * KiB);
    check(0x20000000, 64 * KiB, 60 * KiB);
    check(0x30000000, 8 * KiB, 4 * KiB);
    check(0x40000000, 132 * KiB, 128 * KiB);
    check(0x50000000, 136 * KiB, 128 * KiB);
    check(0x60000000, 128 * KiB, 124 * KiB);
    expect(map.size).toBe(128 * KiB + 60 * KiB + 4 * KiB + 128 * KiB + 128 * KiB + 124 * KiB);
    // Occupied reservations: NO_SPACE, nothing changes.
    const b2 = map.state();
    expect(map.stack(0x10000000, MiB, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(KERN_NO_SPACE);
    expect(map.stack(0x0ff00000, 2 * MiB, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(KERN_NO_SPACE);
    expect(map.stack(0x10000000 + MiB - 4 * KiB, MiB, RW, ALL, MAP_STACK_GROWS_DOWN)).toBe(
      KERN_NO_SPACE,
    );
    expect(map.state()).toEqual(b2);
    // Adjacent stacks stay separate entries.
    check(0x10000000 + MiB, MiB, 128 * KiB);
    expect(at(map, 0x10000000 + MiB - 1)).not.toBe(at(map, 0x10000000 + MiB));
    // A stack cannot also be an ordinary entry's neighbour by coalescing.
    ins(map, 0x70000000 - MiB, 0x70000000, RW, ALL);
    check(0x70000000, 8 * KiB, 4 * KiB);
    expect(at(map, 0x70000000 - 1).end).toBe(0x70000000);
  });
});

// ------------------------------------------------------------------------------ wiring

describe("vm_map_wire / vm_map_unwire (9.25)", () => {
  const setup = (opts: VmMapOptions = {}): VmMap => {
    const map = mkMap(0x1000, 0x1000000, opts);
    ins(map, 0x10000, 0x20000, RW); // A
    ins(map, 0x20000, 0x30000, R); // B
    // hole [0x30000, 0x40000)
    ins(map, 0x40000, 0x50000, NONE, ALL); // C: no access
    ins(map, 0x50000, 0x60000, RW); // D
    return map;
  };
  const U = VM_MAP_WIRE_USER;
  const S = VM_MAP_WIRE_SYSTEM;
  const userWired = (e: VmMapEntry): boolean => (e.eflags & MAP_ENTRY_USER_WIRED) !== 0;

  it("9.25 wiring is all-or-nothing; HOLESOK skips holes and no-access entries; NOHOLES fails", () => {
    const map = setup();
    expect(map.nentries).toBe(4);
    const before = map.state();
    // NOHOLES: the hole at 0x30000 fails the whole call; A and B are not left wired.
    expect(map.wire(0x10000, 0x60000, U | VM_MAP_WIRE_NOHOLES)).toBe(KERN_INVALID_ADDRESS);
    expect(map.wire(0x10000, 0x60000, S | VM_MAP_WIRE_NOHOLES)).toBe(KERN_INVALID_ADDRESS);
    // Start in a hole.
    expect(map.wire(0x30000, 0x50000, U)).toBe(KERN_INVALID_ADDRESS);
    // A no-access entry.
    expect(map.wire(0x40000, 0x50000, U)).toBe(KERN_INVALID_ADDRESS);
    expect(map.wire(0x40000, 0x60000, S)).toBe(KERN_INVALID_ADDRESS);
    // WIRE_WRITE over a read-only entry.
    expect(map.wire(0x10000, 0x30000, U | VM_MAP_WIRE_WRITE)).toBe(KERN_INVALID_ADDRESS);
    expect(map.state()).toEqual(before);
    expect(map.wireCounter.userWired).toBe(0);
    auditMap(map);
    // HOLESOK: wires A, B and D, skips the hole and C.
    expect(map.wire(0x10000, 0x60000, U | VM_MAP_WIRE_HOLESOK)).toBe(KERN_SUCCESS);
    auditMap(map);
    const [a, b, c, d] = [...map.entries()];
    for (const e of [a, b, d]) {
      expect(e.wiredCount).toBe(1);
      expect(userWired(e)).toBe(true);
    }
    expect(c.wiredCount).toBe(0);
    expect(userWired(c)).toBe(false);
    expect(map.wireCounter.userWired).toBe(48);
    // HOLESOK with a start in a hole begins at the next entry.
    expect(map.unwire(0x30000, 0x60000, U | VM_MAP_WIRE_HOLESOK)).toBe(KERN_SUCCESS);
    expect(d.wiredCount).toBe(0);
    expect(map.wireCounter.userWired).toBe(32);
    expect(map.wire(0x30000, 0x60000, U | VM_MAP_WIRE_HOLESOK)).toBe(KERN_SUCCESS);
    expect(d.wiredCount).toBe(1);
    // NOHOLES over a fully mapped accessible range works.
    expect(map.wire(0x10000, 0x30000, S | VM_MAP_WIRE_NOHOLES)).toBe(KERN_SUCCESS);
    expect([a.wiredCount, b.wiredCount]).toEqual([2, 2]);
    auditMap(map);
  });

  it("9.25 user wiring counts once, system wirings stack; unwire rules", () => {
    const map = setup();
    const [a, b] = [...map.entries()];
    expect(map.wire(0x10000, 0x30000, U)).toBe(KERN_SUCCESS);
    expect([a.wiredCount, b.wiredCount]).toEqual([1, 1]);
    expect(userWired(a) && userWired(b)).toBe(true);
    expect(map.wireCounter.userWired).toBe(32);
    // User wiring twice counts once.
    expect(map.wire(0x10000, 0x30000, U)).toBe(KERN_SUCCESS);
    expect([a.wiredCount, b.wiredCount]).toEqual([1, 1]);
    expect(map.wireCounter.userWired).toBe(32);
    // System wirings stack.
    expect(map.wire(0x10000, 0x30000, S)).toBe(KERN_SUCCESS);
    expect(map.wire(0x10000, 0x30000, S)).toBe(KERN_SUCCESS);
    expect([a.wiredCount, b.wiredCount]).toEqual([3, 3]);
    expect(a.systemWiredCount).toBe(2);
    auditMap(map);
    expect(map.unwire(0x10000, 0x30000, S)).toBe(KERN_SUCCESS);
    expect(map.unwire(0x10000, 0x30000, S)).toBe(KERN_SUCCESS);
    expect([a.wiredCount, b.wiredCount]).toEqual([1, 1]);
    expect(userWired(a)).toBe(true);
    // System unwire without system wirings.
    let before = map.state();
    expect(map.unwire(0x10000, 0x30000, S)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.unwire(0x50000, 0x60000, S)).toBe(KERN_INVALID_ARGUMENT);
    expect(map.state()).toEqual(before);
    // User unwire.
    expect(map.unwire(0x10000, 0x30000, U)).toBe(KERN_SUCCESS);
    expect([a.wiredCount, b.wiredCount]).toEqual([0, 0]);
    expect(userWired(a) || userWired(b)).toBe(false);
    expect(map.wireCounter.userWired).toBe(0);
    // User unwire of an unwired entry: silent success, no change.
    before = map.state();
    expect(map.unwire(0x10000, 0x30000, U)).toBe(KERN_SUCCESS);
    expect(map.unwire(0x50000, 0x60000, U)).toBe(KERN_SUCCESS);
    expect(map.state()).toEqual(before);
    // Unwire NOHOLES over a hole.
    expect(map.unwire(0x10000, 0x60000, U)).toBe(KERN_INVALID_ADDRESS);
    expect(map.state()).toEqual(before);
    auditMap(map);
    // Partial wiring clips; unwiring merges the pieces back.
    expect(map.wire(0x14000, 0x18000, U)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(map.nentries).toBe(6);
    const mid = at(map, 0x14000);
    expect([mid.start, mid.end, mid.wiredCount]).toEqual([0x14000, 0x18000, 1]);
    expect(at(map, 0x10000).wiredCount).toBe(0);
    expect(map.wireCounter.userWired).toBe(4);
    expect(map.unwire(0x14000, 0x18000, U)).toBe(KERN_SUCCESS);
    auditMap(map);
    expect(map.nentries).toBe(4);
    // Same ranges and attributes as before (the clip gave A an anonymous object).
    expect(map.state().entries.map(({ object: _o, ...rest }) => rest)).toEqual(
      before.entries.map(({ object: _o, ...rest }) => rest),
    );
    expect(map.wireCounter.userWired).toBe(0);
  });

  it("9.25 the user-wiring limit fails with RESOURCE_SHORTAGE and changes nothing", () => {
    const map = setup({ wireCounter: { userWired: 0, maxUserWired: 20 } });
    const before = map.state();
    expect(map.wire(0x10000, 0x30000, U)).toBe(KERN_RESOURCE_SHORTAGE);
    expect(map.state()).toEqual(before);
    expect(map.wireCounter.userWired).toBe(0);
    expect(map.wire(0x10000, 0x20000, U)).toBe(KERN_SUCCESS);
    expect(map.wireCounter.userWired).toBe(16);
    // System wiring is not limited by the user counter.
    expect(map.wire(0x20000, 0x30000, S)).toBe(KERN_SUCCESS);
    expect(map.wireCounter.userWired).toBe(16);
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ check protection

describe("vm_map_check_protection (9.27)", () => {
  it("9.27 vm_map_check_protection requires a fully mapped range; hole -> false; start == end mapped -> true", () => {
    const map = mkMap(0x1000, 0x1000000);
    ins(map, 0x10000, 0x20000, RW);
    ins(map, 0x20000, 0x30000, R);
    ins(map, 0x40000, 0x50000, RW);
    const ts = map.timestamp;
    expect(map.checkProtection(0x10000, 0x30000, R)).toBe(true);
    expect(map.checkProtection(0x10000, 0x20000, RW)).toBe(true);
    expect(map.checkProtection(0x10000, 0x30000, RW)).toBe(false);
    expect(map.checkProtection(0x10000, 0x30000, VM_PROT_EXECUTE)).toBe(false);
    // Holes.
    expect(map.checkProtection(0x10000, 0x50000, R)).toBe(false);
    expect(map.checkProtection(0x28000, 0x48000, NONE)).toBe(false);
    expect(map.checkProtection(0x30000, 0x40000, NONE)).toBe(false);
    expect(map.checkProtection(0x8000, 0x18000, R)).toBe(false);
    expect(map.checkProtection(0x48000, 0x58000, R)).toBe(false);
    // start == end.
    expect(map.checkProtection(0x18000, 0x18000, RW)).toBe(true);
    expect(map.checkProtection(0x28000, 0x28000, R)).toBe(true);
    expect(map.checkProtection(0x38000, 0x38000, NONE)).toBe(false);
    expect(map.checkProtection(0x30000, 0x30000, NONE)).toBe(false);
    // Ends inside an entry.
    expect(map.checkProtection(0x18000, 0x21000, R)).toBe(true);
    expect(map.checkProtection(0x40000, 0x41000, RW)).toBe(true);
    // It reads only.
    expect(map.timestamp).toBe(ts);
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ sync

describe("vm_map_sync (9.26)", () => {
  /** A FreeBSD process with a 4-page file mapped shared at `a` and anonymous memory after it. */
  const setup = () => {
    const sys = new VmSystem({ physicalMemory: 4 * MiB });
    const p = sys.createProcess();
    const file = new MemoryFile(4 * PAGE);
    const fd = p.fds.open(file, "rw", "/f");
    const a = p.mmap(0, 4 * PAGE, 3, 0x1 /* MAP_SHARED */, fd, 0);
    const b = p.mmap(a + 4 * PAGE, 2 * PAGE, 3, 0x1012 /* MAP_ANON|MAP_PRIVATE|MAP_FIXED */);
    for (let i = 0; i < 4; i++) p.write32(a + i * PAGE, 0x100 + i);
    return { sys, p, file, a, b };
  };
  const word = (file: MemoryFile, page: number) =>
    new DataView(file.contents().buffer).getUint32(page * PAGE, true);

  it("9.26 vm_map_sync: unmapped start -> INVALID_ADDRESS (msync ENOMEM); hole inside -> INVALID_ADDRESS; invalidate over user-wired -> INVALID_ARGUMENT (msync EBUSY); start == end syncs the whole entry", () => {
    const { sys, p, file, a, b } = setup();
    const map = p.map;
    // Unmapped start, even with mapped pages after it.
    expect(map.sync(a - PAGE, a + PAGE, true, false)).toBe(KERN_INVALID_ADDRESS);
    expect(map.sync(b + 2 * PAGE, b + 3 * PAGE, true, false)).toBe(KERN_INVALID_ADDRESS);
    // A hole inside the range: nothing is written (validation comes first).
    expect(map.sync(a, b + 3 * PAGE, true, false)).toBe(KERN_INVALID_ADDRESS);
    expect(word(file, 0)).toBe(0);
    // Invalidate over a user-wired entry; without invalidate the wiring does not matter.
    p.mlock(b, PAGE);
    const ts = map.timestamp;
    expect(map.sync(a, b + PAGE, true, true)).toBe(KERN_INVALID_ARGUMENT);
    expect(word(file, 0)).toBe(0);
    expect(map.timestamp).toBe(ts); // sync takes the lock shared only
    expect(map.sync(a, b + PAGE, false, false)).toBe(KERN_SUCCESS);
    expect([0, 1, 2, 3].map((i) => word(file, i))).toEqual([0x100, 0x101, 0x102, 0x103]);
    p.munlock(b, PAGE);
    // start == end: the whole entry containing start, not just its page.
    for (let i = 0; i < 4; i++) p.write32(a + i * PAGE, 0x200 + i);
    expect(map.sync(a + 2 * PAGE, a + 2 * PAGE, true, false)).toBe(KERN_SUCCESS);
    expect([0, 1, 2, 3].map((i) => word(file, i))).toEqual([0x200, 0x201, 0x202, 0x203]);
    // clean is the same function; invalidate frees the cached pages of the range only.
    p.write32(a, 0x300);
    expect(map.clean(a, a + PAGE, true, true)).toBe(KERN_SUCCESS);
    expect(word(file, 0)).toBe(0x300);
    expect(p.mincore(a, 4 * PAGE)[0] & 1).toBe(0);
    expect(p.mincore(a, 4 * PAGE)[1] & 1).toBe(1);
    // Malformed arguments change nothing.
    for (const v of [Number.NaN, -PAGE, a + 1, 2 ** 53])
      expect(map.sync(v, a + PAGE, true, false), `start ${v}`).toBe(KERN_INVALID_ARGUMENT);
    sys.audit();
  });

  it("9.26 msync maps the codes: ENOMEM, ENOMEM, EBUSY; a failed msync writes nothing", () => {
    const { p, file, a, b } = setup();
    const code = (f: () => void) => {
      try {
        f();
        return "ok";
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(() => p.msync(a - PAGE, PAGE, 0))).toBe("ENOMEM");
    expect(code(() => p.msync(a, 9 * PAGE, 0))).toBe("ENOMEM");
    p.mlock(b, PAGE);
    expect(code(() => p.msync(a, 5 * PAGE, 2 /* MS_INVALIDATE */))).toBe("EBUSY");
    expect(word(file, 1)).toBe(0);
    expect(code(() => p.msync(a + PAGE, 0, 0))).toBe("ok");
    expect([0, 1, 2, 3].map((i) => word(file, i))).toEqual([0x100, 0x101, 0x102, 0x103]);
  });
});

// ------------------------------------------------------------------------------ locks

describe("map lock (9.28)", () => {
  it("9.28 lock upgrade failure leaves no lock; success bumps; downgrade does not; lock/trylock bump; read locks do not", () => {
    const map = mkMap(0x1000, 0x100000);
    const L = map.lockState;
    let ts = map.timestamp;
    expect(ts).toBe(0);
    // Exclusive lock bumps.
    map.lock();
    expect(map.timestamp).toBe(ts + 1);
    expect(L.exclusive).toBe(true);
    map.unlock();
    expect(map.timestamp).toBe(ts + 1);
    ts = map.timestamp;
    // trylock bumps on success; fails without bumping while held.
    expect(map.tryLock()).toBe(true);
    expect(map.timestamp).toBe(ts + 1);
    expect(map.tryLock()).toBe(false);
    expect(map.tryLockRead()).toBe(false);
    expect(map.timestamp).toBe(ts + 1);
    map.unlock();
    ts = map.timestamp;
    // Read locks do not bump.
    map.lockRead();
    expect(map.tryLockRead()).toBe(true);
    expect(L.readers).toBe(2);
    expect(map.tryLock()).toBe(false);
    expect(map.timestamp).toBe(ts);
    map.unlockRead();
    map.unlockRead();
    expect(L.held).toBe(false);
    expect(map.timestamp).toBe(ts);
    // Upgrade success: 0, exclusive, +1; downgrade: read, no bump.
    map.lockRead();
    expect(map.lockUpgrade()).toBe(0);
    expect(L.exclusive).toBe(true);
    expect(map.timestamp).toBe(ts + 1);
    map.lockDowngrade();
    expect(L.exclusive).toBe(false);
    expect(L.readers).toBe(1);
    expect(map.timestamp).toBe(ts + 1);
    map.unlockRead();
    expect(L.held).toBe(false);
    ts = map.timestamp;
    // Upgrade failure while another reader holds the lock: non-zero, no lock held by us.
    map.lockRead(); // the other reader
    map.lockRead(); // us
    const rv = map.lockUpgrade();
    expect(rv).not.toBe(0);
    expect(L.exclusive).toBe(false);
    expect(L.readers).toBe(1); // only the other reader remains
    expect(map.timestamp).toBe(ts);
    map.unlockRead(); // the other reader leaves
    expect(L.held).toBe(false);
    // Change detection: unchanged while unlocked iff timestamp == saved + 1 after relocking.
    map.lock();
    let saved = map.timestamp;
    map.unlock();
    map.lock();
    expect(map.timestamp).toBe(saved + 1);
    map.unlock();
    map.lock();
    saved = map.timestamp;
    map.unlock();
    ins(map, 0x10000, 0x20000); // another "thread" changes the map
    map.lock();
    expect(map.timestamp).not.toBe(saved + 1);
    expect(map.timestamp).toBeGreaterThan(saved + 1);
    map.unlock();
    // Read lookups under a read lock never bump.
    ts = map.timestamp;
    map.lockRead();
    map.lookupEntry(0x10000);
    map.lookupEntry(0x50000);
    map.unlockRead();
    expect(map.timestamp).toBe(ts);
    auditMap(map);
  });

  it("9.28 lock misuse panics", () => {
    const map = mkMap(0x1000, 0x100000);
    ins(map, 0x10000, 0x20000);
    expect(() => map.unlock()).toThrow(VmPanic);
    expect(() => map.unlockRead()).toThrow(VmPanic);
    expect(() => map.lockUpgrade()).toThrow(VmPanic);
    expect(() => map.lockDowngrade()).toThrow(VmPanic);
    map.lock();
    expect(() => map.lock()).toThrow(VmPanic);
    expect(() => map.lockRead()).toThrow(VmPanic);
    expect(() => map.unlockRead()).toThrow(VmPanic);
    map.unlock();
    map.lockRead();
    expect(() => map.lock()).toThrow(VmPanic);
    expect(() => map.unlock()).toThrow(VmPanic);
    map.unlockRead();
    // Clipping requires the exclusive lock.
    const e = at(map, 0x10000);
    expect(() => map.clipStart(e, 0x14000)).toThrow(VmPanic);
    expect(() => map.clipEnd(e, 0x14000)).toThrow(VmPanic);
    map.lockRead();
    expect(() => map.clipStart(e, 0x14000)).toThrow(VmPanic);
    map.unlockRead();
    expect(map.lockState.held).toBe(false);
    expect(map.nentries).toBe(1);
    auditMap(map);
  });
});

// ------------------------------------------------------------------------------ madvise

describe("vm_map_madvise (9.38)", () => {
  it("9.38 madvise: unknown advice EINVAL, holes 0, behaviour changes clip and re-merge", () => {
    const map = mkMap(0x1000, 0x1000000);
    ins(map, 0x10000, 0x20000, RW);
    ins(map, 0x40000, 0x50000, R);
    const before = map.state();
    for (const bad of [11, 12, 100, -1, 0.5, Number.NaN])
      expect(map.madvise(0x10000, 0x20000, bad), `advice ${bad}`).toBe(EINVAL);
    expect(map.state()).toEqual(before);
    // Holes: 0 and nothing changes.
    for (const adv of [
      MADV_NORMAL,
      MADV_RANDOM,
      MADV_SEQUENTIAL,
      MADV_WILLNEED,
      MADV_DONTNEED,
      MADV_FREE,
      MADV_NOSYNC,
      MADV_NOCORE,
    ])
      expect(map.madvise(0x20000, 0x40000, adv)).toBe(0);
    expect(map.state()).toEqual(before);
    // RANDOM on a sub-range clips into three entries; NORMAL merges them back.
    expect(map.madvise(0x14000, 0x18000, MADV_RANDOM)).toBe(0);
    auditMap(map);
    expect(map.nentries).toBe(4);
    expect(at(map, 0x14000).eflags & MAP_ENTRY_BEHAV_MASK).toBe(MAP_ENTRY_BEHAV_RANDOM);
    expect([at(map, 0x14000).start, at(map, 0x14000).end]).toEqual([0x14000, 0x18000]);
    expect(at(map, 0x10000).eflags & MAP_ENTRY_BEHAV_MASK).toBe(0);
    expect(map.madvise(0x14000, 0x18000, MADV_NORMAL)).toBe(0);
    auditMap(map);
    expect(map.nentries).toBe(2);
    expect(ranges(map)).toEqual([
      [0x10000, 0x20000],
      [0x40000, 0x50000],
    ]);
    // A range over a hole changes the mapped parts.
    expect(map.madvise(0x18000, 0x44000, MADV_NOSYNC)).toBe(0);
    auditMap(map);
    expect(map.nentries).toBe(4);
    expect(at(map, 0x18000).eflags & MAP_ENTRY_NOSYNC).toBe(MAP_ENTRY_NOSYNC);
    expect(at(map, 0x40000).eflags & MAP_ENTRY_NOSYNC).toBe(MAP_ENTRY_NOSYNC);
    expect(at(map, 0x44000).eflags & MAP_ENTRY_NOSYNC).toBe(0);
    expect(map.madvise(0x18000, 0x44000, MADV_AUTOSYNC)).toBe(0);
    expect(map.nentries).toBe(2);
    expect(map.madvise(0x10000, 0x50000, MADV_NOCORE)).toBe(0);
    expect(map.madvise(0x10000, 0x14000, MADV_CORE)).toBe(0);
    expect(map.nentries).toBe(3);
    expect(map.madvise(0x14000, 0x20000, MADV_CORE)).toBe(0);
    expect(map.madvise(0x40000, 0x50000, MADV_CORE)).toBe(0);
    auditMap(map);
    expect(map.nentries).toBe(2);
    expect(map.state().entries.map((x) => x.eflags)).toEqual(before.entries.map((x) => x.eflags));
    // Page-level advice changes no entry.
    const b2 = map.state();
    expect(map.madvise(0x14000, 0x18000, MADV_WILLNEED)).toBe(0);
    expect(map.madvise(0x14000, 0x18000, MADV_DONTNEED)).toBe(0);
    expect(map.madvise(0x14000, 0x18000, MADV_FREE)).toBe(0);
    expect(map.state()).toEqual(b2);
  });
});

// ------------------------------------------------------------------------------ bad input

describe("malformed arguments are refused with KERN_INVALID_ARGUMENT and change nothing", () => {
  // NaN, negative, unaligned, beyond 2^53.
  const BAD_ADDR = [Number.NaN, -0x1000, -1, 0x10800, 0x10001, 2 ** 53, 2 ** 54, 2 ** 60];
  const populated = (): VmMap => {
    const map = mkMap(0x1000, 0x10000000);
    ins(map, 0x10000, 0x20000, RW);
    guard(map, 0x20000, 0x30000);
    ins(map, 0x40000, 0x50000, R);
    return map;
  };
  const refuses = (map: VmMap, f: () => number, label: string): void => {
    const before = map.state();
    const ts = map.timestamp;
    expect(f(), label).toBe(KERN_INVALID_ARGUMENT);
    expect(map.state(), label).toEqual(before);
    expect(map.timestamp, label).toBe(ts);
    auditMap(map);
  };

  it("insert: bad start/end/offset/prot/cow", () => {
    const map = populated();
    for (const v of [...BAD_ADDR, Infinity, -Infinity]) {
      refuses(map, () => map.insert(null, 0, v, 0x70000, RW, ALL, 0), `start ${v}`);
      refuses(map, () => map.insert(null, 0, 0x60000, v, RW, ALL, 0), `end ${v}`);
      refuses(map, () => map.insert(null, v, 0x60000, 0x70000, RW, ALL, 0), `offset ${v}`);
    }
    for (const p of [Number.NaN, -1, 8, 0x10, 1.5])
      refuses(map, () => map.insert(null, 0, 0x60000, 0x70000, p, ALL, 0), `prot ${p}`);
    // prot not within max.
    refuses(map, () => map.insert(null, 0, 0x60000, 0x70000, RW, R, 0), "prot > max");
    for (const c of [Number.NaN, -1, 0x400000, 1.5])
      refuses(map, () => map.insert(null, 0, 0x60000, 0x70000, RW, ALL, c), `cow ${c}`);
  });

  it("find: bad addr/length/maxAddr", () => {
    const map = populated();
    const find = (addr: number, len: number, maxAddr: number): number =>
      map.find(null, 0, addr, len, maxAddr, VMFS_ANY_SPACE, RW, ALL, 0).rv;
    for (const v of BAD_ADDR) {
      refuses(map, () => find(v, 0x1000, 0), `addr ${v}`);
      refuses(map, () => find(0, v, 0), `length ${v}`);
      refuses(map, () => find(0, 0x1000, v), `maxAddr ${v}`);
    }
    refuses(map, () => find(Infinity, 0x1000, 0), "addr Infinity");
    refuses(map, () => find(0, Infinity, 0), "length Infinity");
    // Bad find_space values (the low byte must be 0 with an alignment).
    for (const fs of [Number.NaN, -1, 4, (12 << 8) | 1, 1.5])
      refuses(map, () => map.find(null, 0, 0, 0x1000, 0, fs, RW, ALL, 0).rv, `findSpace ${fs}`);
    expect(map.anonLoc).toBe(0);
  });

  it("fixed: bad start/length, start + length beyond 2^53", () => {
    const map = populated();
    for (const v of BAD_ADDR) {
      refuses(map, () => map.fixed(null, 0, v, 0x1000, RW, ALL, 0), `start ${v}`);
      refuses(map, () => map.fixed(null, 0, 0x60000, v, RW, ALL, 0), `length ${v}`);
    }
    refuses(map, () => map.fixed(null, 0, 2 ** 52, 2 ** 52, RW, ALL, 0), "sum 2^53");
    refuses(map, () => map.fixed(null, 0, 0x10000, 2 ** 53, RW, ALL, 0), "length 2^53");
    refuses(map, () => map.fixed(null, 0, 0x10000, 0x1000, Number.NaN, ALL, 0), "prot NaN");
  });

  it("protect: bad start/end/prot/flags", () => {
    const map = populated();
    for (const v of [...BAD_ADDR, -Infinity]) {
      refuses(
        map,
        () => map.protect(v, 0x50000, R, 0, VM_MAP_PROTECT_SET_PROT),
        `protect start ${v}`,
      );
      refuses(
        map,
        () => map.protect(0x10000, v, R, 0, VM_MAP_PROTECT_SET_PROT),
        `protect end ${v}`,
      );
    }
    for (const p of [Number.NaN, -1, 8, 0x10])
      refuses(map, () => map.protect(0x10000, 0x50000, p, 0, VM_MAP_PROTECT_SET_PROT), `p ${p}`);
    refuses(
      map,
      () => map.protect(0x10000, 0x50000, R, Number.NaN, VM_MAP_PROTECT_SET_MAXPROT),
      "max NaN",
    );
    refuses(map, () => map.protect(0x10000, 0x50000, R, 0, Number.NaN), "flags NaN");
  });

  it("inherit: bad start/end", () => {
    const map = populated();
    for (const v of [...BAD_ADDR, -Infinity]) {
      refuses(map, () => map.inherit(v, 0x50000, VM_INHERIT_SHARE), `inherit start ${v}`);
      refuses(map, () => map.inherit(0x10000, v, VM_INHERIT_SHARE), `inherit end ${v}`);
    }
  });

  it("delete / remove: bad start/end", () => {
    const map = populated();
    for (const v of [...BAD_ADDR, -Infinity]) {
      refuses(map, () => map.delete(v, 0x50000), `delete start ${v}`);
      refuses(map, () => map.delete(0x10000, v), `delete end ${v}`);
      refuses(map, () => map.remove(v, 0x50000), `remove start ${v}`);
      refuses(map, () => map.remove(0x10000, v), `remove end ${v}`);
    }
    expect(map.nentries).toBe(3);
  });
});
