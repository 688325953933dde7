/**
 * Map fixtures and workloads for the benchmark harness (bench/run.ts) and its smoke test
 * (test/bench.smoke.test.ts).
 *
 * A fixture is a map populated with `count` entries laid out so that no two neighbours can ever
 * merge: each entry is 3 to 6 pages long (chosen by a seeded PRNG), entries are separated by a
 * one-page hole, protections alternate READ and READ|WRITE, and every entry has the maximum
 * protection READ|WRITE. The find workload inserts READ|WRITE / max ALL entries, whose maximum
 * protection differs from every fixture entry, so a page placed in a one-page hole is never
 * coalesced with its neighbours either: each workload operation touches exactly the entries it
 * names, and the map is back in its initial shape after each operation.
 *
 * Workloads pre-generate their random inputs into typed arrays when created, so the timed loop
 * allocates nothing of its own (the map may allocate: result objects, entries, objects).
 * `run(ops)` performs `ops` operations and returns a checksum; it throws if the map returns an
 * unexpected KERN_* code, so a broken map cannot produce a fast-looking number.
 */

import {
  KERN_SUCCESS,
  VM_MAP_PROTECT_SET_PROT,
  VM_PROT_ALL,
  VM_PROT_READ,
  VM_PROT_RW,
  VMFS_ANY_SPACE,
  VmMap,
} from "../src/index.js";

/** Page size of every fixture map. */
export const PAGE = 4096;
/** Lowest address of a fixture map and first entry address. */
export const MAP_MIN = 0x1000;
export const BASE = 0x1000_0000;
/** Top of a fixture map (amd64 user address space). */
export const MAP_MAX = 2 ** 47;
/** Maximum protection of every fixture entry. */
export const ENTRY_MAX_PROT = VM_PROT_RW;
/** Random inputs generated per workload by default (cycled). A power of two. */
export const INPUTS = 1 << 18;

/** mulberry32: a small deterministic PRNG; returns uniform doubles in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A populated map and the layout it was built from (entry i is [starts[i], ends[i])). */
export interface Fixture {
  map: VmMap;
  count: number;
  starts: Float64Array;
  ends: Float64Array;
  prots: Uint8Array;
  /** Start of the first entry and end of the last one. */
  lo: number;
  hi: number;
}

/** Builds a map with `count` entries (see the file comment). Throws if any insert fails. */
export function buildFixture(count: number, seed = 1): Fixture {
  const rand = prng(seed);
  const map = VmMap.create(null, MAP_MIN, MAP_MAX);
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  const prots = new Uint8Array(count);
  let a = BASE;
  for (let i = 0; i < count; i++) {
    const len = (3 + Math.floor(rand() * 4)) * PAGE;
    const prot = (i & 1) === 0 ? VM_PROT_READ : VM_PROT_RW;
    const rv = map.insert(null, 0, a, a + len, prot, ENTRY_MAX_PROT, 0);
    if (rv !== KERN_SUCCESS) throw new Error(`buildFixture: insert #${i} at ${a} returned ${rv}`);
    starts[i] = a;
    ends[i] = a + len;
    prots[i] = prot;
    a += len + PAGE;
  }
  if (map.nentries !== count)
    throw new Error(`buildFixture: ${map.nentries} entries after ${count} inserts (merged?)`);
  return { map, count, starts, ends, prots, lo: BASE, hi: a - PAGE };
}

/** Throws unless the map still has exactly the fixture's entries and passes its own audit. */
export function verifyFixture(fx: Fixture): void {
  const map = fx.map;
  if (map.nentries !== fx.count)
    throw new Error(`fixture changed: ${map.nentries} entries, expected ${fx.count}`);
  let i = 0;
  for (const e of map.entries()) {
    if (e.start !== fx.starts[i] || e.end !== fx.ends[i] || e.protection !== fx.prots[i])
      throw new Error(`fixture changed at entry #${i} [${e.start}, ${e.end})`);
    i++;
  }
  map.check();
}

/** A benchmark operation over a fixture. */
export interface Workload {
  readonly name: string;
  /** Performs `ops` operations; returns a checksum. Throws on an unexpected KERN_* code. */
  run(ops: number): number;
}

/** Validates an input count (a power of two); returns the cursor mask. */
function checkInputs(inputs: number): number {
  if (!Number.isSafeInteger(inputs) || inputs < 1 || (inputs & (inputs - 1)) !== 0)
    throw new RangeError(`workload inputs ${inputs} is not a power of two`);
  return inputs - 1;
}

/** Random entry indices in [0, count). */
function randomIndices(count: number, inputs: number, rand: () => number): Uint32Array {
  const idx = new Uint32Array(inputs);
  for (let k = 0; k < inputs; k++) idx[k] = Math.floor(rand() * count);
  return idx;
}

/**
 * lookupEntry at uniformly random byte addresses in [lo, hi): about 82% fall inside an entry,
 * the rest in the one-page holes (the map's one-entry hint rarely helps).
 */
export function lookupWorkload(fx: Fixture, inputs = INPUTS, seed = 2): Workload {
  const rand = prng(seed);
  const mask = checkInputs(inputs);
  const addrs = new Float64Array(inputs);
  const span = fx.hi - fx.lo;
  for (let k = 0; k < inputs; k++) addrs[k] = fx.lo + Math.floor(rand() * span);
  const map = fx.map;
  let c = 0;
  return {
    name: "lookupEntry",
    run(ops: number): number {
      let found = 0;
      for (let k = 0; k < ops; k++) {
        if (map.lookupEntry(addrs[c]).found) found++;
        c = (c + 1) & mask;
      }
      return found;
    },
  };
}

/**
 * find (first fit, one page, from a random page-aligned hint in [lo, hi)) then delete of the
 * page found, as one operation: mmap(NULL-ish hint)+munmap.
 */
export function findInsertDeleteWorkload(fx: Fixture, inputs = INPUTS, seed = 3): Workload {
  const rand = prng(seed);
  const mask = checkInputs(inputs);
  const hints = new Float64Array(inputs);
  const pages = (fx.hi - fx.lo) / PAGE;
  for (let k = 0; k < inputs; k++) hints[k] = fx.lo + Math.floor(rand() * pages) * PAGE;
  const map = fx.map;
  let c = 0;
  return {
    name: "find+insert+delete",
    run(ops: number): number {
      let sum = 0;
      let bad = 0;
      for (let k = 0; k < ops; k++) {
        const r = map.find(null, 0, hints[c], PAGE, 0, VMFS_ANY_SPACE, VM_PROT_RW, VM_PROT_ALL, 0);
        if (r.rv !== KERN_SUCCESS || map.delete(r.addr, r.addr + PAGE) !== KERN_SUCCESS) bad++;
        sum += r.addr;
        c = (c + 1) & mask;
      }
      if (bad !== 0) throw new Error(`find+insert+delete: ${bad} failed operations`);
      return sum;
    },
  };
}

/**
 * protect one page in the middle of a random entry to the other protection (the entry is split
 * in three), then back (the three pieces merge again): two vm_map_protect calls, one operation.
 */
export function protectSplitMergeWorkload(fx: Fixture, inputs = INPUTS, seed = 4): Workload {
  const rand = prng(seed);
  const mask = checkInputs(inputs);
  const idx = randomIndices(fx.count, inputs, rand);
  const mids = new Float64Array(inputs);
  const there = new Uint8Array(inputs);
  const back = new Uint8Array(inputs);
  for (let k = 0; k < inputs; k++) {
    const i = idx[k];
    const pages = (fx.ends[i] - fx.starts[i]) / PAGE;
    mids[k] = fx.starts[i] + Math.floor(pages / 2) * PAGE;
    back[k] = fx.prots[i];
    there[k] = fx.prots[i] === VM_PROT_READ ? VM_PROT_RW : VM_PROT_READ;
  }
  const map = fx.map;
  let c = 0;
  return {
    name: "protect split+merge",
    run(ops: number): number {
      let bad = 0;
      for (let k = 0; k < ops; k++) {
        const a = mids[c];
        if (map.protect(a, a + PAGE, there[c], ENTRY_MAX_PROT, VM_MAP_PROTECT_SET_PROT) !== 0)
          bad++;
        if (map.protect(a, a + PAGE, back[c], ENTRY_MAX_PROT, VM_MAP_PROTECT_SET_PROT) !== 0) bad++;
        c = (c + 1) & mask;
      }
      if (bad !== 0) throw new Error(`protect split+merge: ${bad} failed calls`);
      return ops;
    },
  };
}

/**
 * vm_map_fixed exactly over a random existing entry, with the entry's own attributes: the
 * entry is deleted and an identical one inserted (MAP_FIXED mmap over a mapping).
 */
export function fixedOverEntryWorkload(fx: Fixture, inputs = INPUTS, seed = 5): Workload {
  const rand = prng(seed);
  const mask = checkInputs(inputs);
  const idx = randomIndices(fx.count, inputs, rand);
  const starts = new Float64Array(inputs);
  const lens = new Float64Array(inputs);
  const prots = new Uint8Array(inputs);
  for (let k = 0; k < inputs; k++) {
    const i = idx[k];
    starts[k] = fx.starts[i];
    lens[k] = fx.ends[i] - fx.starts[i];
    prots[k] = fx.prots[i];
  }
  const map = fx.map;
  let c = 0;
  return {
    name: "fixed over entry",
    run(ops: number): number {
      let bad = 0;
      for (let k = 0; k < ops; k++) {
        if (map.fixed(null, 0, starts[c], lens[c], prots[c], ENTRY_MAX_PROT, 0) !== KERN_SUCCESS)
          bad++;
        c = (c + 1) & mask;
      }
      if (bad !== 0) throw new Error(`fixed over entry: ${bad} failed calls`);
      return ops;
    },
  };
}

/**
 * Ages a fixture the way a long-running process ages its map, leaving its layout as it was:
 * `rounds` × count operations each of fixed over entry (every MAP_FIXED frees the entry it
 * replaces and takes a cached one, so entries end up scattered in memory, out of address order)
 * and of protect split+merge (vm_map_clip_start backs an objectless entry with an object, as
 * FreeBSD's vm_map_entry_charge_object does, so most entries end up with one). Returns the
 * fixture.
 */
export function churnFixture(fx: Fixture, rounds = 2, seed = 6): Fixture {
  const ops = Math.ceil(rounds * fx.count);
  fixedOverEntryWorkload(fx, INPUTS, seed).run(ops);
  protectSplitMergeWorkload(fx, INPUTS, seed + 1).run(ops);
  return fx;
}

/**
 * find+insert+delete (findInsertDeleteWorkload) over a fixture churned first (churnFixture):
 * the hinted entry and its successor lie apart in memory and most entries have an object, which
 * each find coalesces into and references and each delete shrinks and releases. The harness
 * gives it a fixture of its own.
 */
export function churnedFindInsertDeleteWorkload(fx: Fixture, inputs = INPUTS, seed = 3): Workload {
  churnFixture(fx);
  const w = findInsertDeleteWorkload(fx, inputs, seed);
  return { name: "find+insert+delete, churned", run: (ops) => w.run(ops) };
}

/**
 * Every workload, in the order the harness runs them. The harness gives each its own fixture,
 * so that what one workload leaves behind (objects, entries reallocated out of order) does not
 * change another's figure.
 */
export const WORKLOADS: readonly ((fx: Fixture, inputs?: number) => Workload)[] = [
  lookupWorkload,
  findInsertDeleteWorkload,
  protectSplitMergeWorkload,
  fixedOverEntryWorkload,
  churnedFindInsertDeleteWorkload,
];
