/**
 * vm_map: an address space as an ordered set of entries, with FreeBSD's semantics.
 *
 * A map covers [min, max). Each entry maps a page-aligned range to an object at an offset with
 * a protection, a maximum protection, an inheritance and flags. Operations on part of an entry
 * first *clip* it: the entry is split in two, both pieces naming the same object at consistent
 * offsets (an objectless anonymous entry is given one anonymous object first, so the pieces keep
 * sharing their memory). After an operation, neighbours whose attributes became equal again are
 * *merged* (vm_map_try_merge_entries), so a map does not fragment under mprotect/madvise churn.
 * Copy-on-write between maps is done lazily: entries carry COW|NEEDS_COPY and the shadow object
 * is made at the first write fault (src/object).
 *
 * Entries live in an augmented balanced tree (src/ds/GapTree.ts) that caches, per subtree, the
 * largest free gap, so lookup, insert, delete, clip and first-fit search are O(log n).
 *
 * Conventions (STYLE habit 4): a method named `xxxLocked` asserts that the caller holds the map
 * lock exclusively; the public `xxx` takes and releases it. Expected failures are KERN_* values
 * (habit 9); a broken invariant or a misuse (unlocking an unlocked map) panics.
 *
 * Arguments: addresses and lengths are JavaScript numbers. A value that is not a safe
 * non-negative integer, or an address that is not page aligned, is refused with
 * KERN_INVALID_ARGUMENT before the map is locked or touched (FreeBSD asserts these
 * preconditions; vmspace checks them). Range errors return the code FreeBSD returns. Functions
 * that clamp their range (RANGE_CHECK) also accept `Infinity` as "the top of the address space".
 *
 * Deliberate differences from FreeBSD, each so that a failing call changes nothing:
 * - inherit(COPY) over a large-page entry checks before clipping (FreeBSD leaves its clips);
 * - inherit(COPY or ZERO) over a device mapping is refused, so device mappings stay shared;
 * - delete/protect/madvise/wire check both clip points before the first change;
 * - wire without HOLESOK checks for holes and no-access entries before wiring anything;
 * - delete over an entry that another (simulated) thread has system-wired cannot sleep until
 *   the wiring goes away, since nothing else runs: it fails with KERN_FAILURE instead.
 * Swap accounting (credentials, swap reservation) is not modelled: swap is unbounded here.
 *
 * Guarded by: the map lock, every mutable field unless its comment says otherwise.
 */

import { isAddr, isPowerOfTwo, lowBits } from "../base/addr.js";
import { kassert, panic } from "../base/assert.js";
import {
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
  MAP_ASLR,
  MAP_ASLR_IGNSTART,
  MAP_ASLR_STACK,
  MAP_CHECK_EXCL,
  MAP_COPY_ON_WRITE,
  MAP_COW_ALL,
  MAP_CREATE_GUARD,
  MAP_CREATE_STACK_GAP_DN,
  MAP_CREATE_STACK_GAP_UP,
  MAP_DISABLE_COREDUMP,
  MAP_DISABLE_SYNCER,
  MAP_ENTRY_BEHAV_MASK,
  MAP_ENTRY_BEHAV_NORMAL,
  MAP_ENTRY_BEHAV_RANDOM,
  MAP_ENTRY_BEHAV_SEQUENTIAL,
  MAP_ENTRY_COW,
  MAP_ENTRY_GROWS_DOWN,
  MAP_ENTRY_GROWS_UP,
  MAP_ENTRY_GUARD,
  MAP_ENTRY_IN_TRANSITION,
  MAP_ENTRY_IS_SUB_MAP,
  MAP_ENTRY_LOCK_ONFAULT,
  MAP_ENTRY_NEEDS_COPY,
  MAP_ENTRY_NOCOREDUMP,
  MAP_ENTRY_NOFAULT,
  MAP_ENTRY_NOMERGE_MASK,
  MAP_ENTRY_NOSYNC,
  MAP_ENTRY_SPLIT_BOUNDARY_MASK,
  MAP_ENTRY_SPLIT_BOUNDARY_SHIFT,
  MAP_ENTRY_STACK_GAP_DN,
  MAP_ENTRY_STACK_GAP_UP,
  MAP_ENTRY_USER_WIRED,
  MAP_ENTRY_USER_WIRED_BITS,
  MAP_ENTRY_VN_EXEC,
  MAP_ENTRY_WIRE_SKIPPED,
  MAP_ENTRY_WRITECNT,
  MAP_INHERIT_SHARE,
  MAP_IS_SUB_MAP,
  MAP_NO_HINT,
  MAP_NOFAULT,
  MAP_READ_IMPLIED,
  MAP_REMAP,
  MAP_SPLIT_BOUNDARY_MASK,
  MAP_SPLIT_BOUNDARY_SHIFT,
  MAP_STACK_GROWS_DOWN,
  MAP_STACK_GROWS_UP,
  MAP_VN_EXEC,
  MAP_WIREFUTURE,
  MAP_WRITECOUNT,
  MAP_WXORX,
  VM_MAP_PROTECT_SET_MAXPROT,
  VM_MAP_PROTECT_SET_PROT,
  VM_MAP_WIRE_HOLESOK,
  VM_MAP_WIRE_NOFAULT,
  VM_MAP_WIRE_USER,
  VM_MAP_WIRE_WRITE,
  VMFS_ANY_SPACE,
  VMFS_NO_SPACE,
  VMFS_OPTIMAL_SPACE,
  VMFS_SUPER_SPACE,
} from "../base/flags.js";
import {
  KERN_FAILURE,
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_OUT_OF_BOUNDS,
  KERN_PROTECTION_FAILURE,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  type KernReturn,
} from "../base/kern.js";
import {
  isInherit,
  isProt,
  protSubset,
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_SHARE,
  VM_INHERIT_ZERO,
  VM_PROT_ALL,
  VM_PROT_COPY,
  VM_PROT_EXECUTE,
  VM_PROT_FAULT_LOOKUP,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type VmInherit,
  type VmProt,
} from "../base/prot.js";
import { GapTree } from "../ds/GapTree.js";
import { MapLock } from "../lock/MapLock.js";
import {
  OBJ_COLORED,
  OBJ_ONEMAPPING,
  OBJ_SHM,
  type ObjectContext,
  VmObject,
} from "../object/VmObject.js";
import type { MapPmap } from "../pmap/MapPmap.js";
import { VM_FAULT_READ_AHEAD_INIT, VmMapEntry } from "./VmMapEntry.js";

/**
 * Freed entries a map keeps for reuse. A munmap, a merge or a MAP_FIXED replacement frees one
 * to a few entries per call; larger frees (a munmap of many mappings, exit) go mostly to the
 * garbage collector.
 */
export const MAP_ENTRY_CACHE = 128;

/** errno values vm_map_madvise returns (FreeBSD numbering). */
const EINVAL = 22;

/** 2^31: the top of MAP_32BIT placements and of 32-bit maps for ASLR gap sizing. */
export const MAP_32BIT_MAX_ADDR = 2 ** 31;

/** ASLR gap sizes in pages, indexed by page-size index (FreeBSD aslr_pages_rnd_64/_32). */
const ASLR_PAGES_RND_64 = [0x1000, 0x10];
const ASLR_PAGES_RND_32 = [0x100, 0x4];

/** Resource limits the map consults (the process layer owns and updates them). */
export interface VmMapLimits {
  /** RLIMIT_VMEM (= RLIMIT_AS): bytes of address space. */
  vmem: number;
  /** RLIMIT_STACK: bytes of main stack. */
  stack: number;
  /** RLIMIT_MEMLOCK: bytes of wired memory. */
  memlock: number;
}

/** System-wide count of user-wired pages and its ceiling (vm_page_max_user_wired). */
export interface WireCounter {
  userWired: number;
  maxUserWired: number;
}

/** Options of {@link VmMap.create}; every field has a FreeBSD 14 default. */
export interface VmMapOptions {
  /** Base page size, a power of two from 4096 to 65536. Default 4096. */
  pageSize?: number;
  /** Superpage size (pagesizes[1]). Default 512 base pages (2 MiB with 4 KiB pages). */
  superpageSize?: number;
  /** Initial map flags (MAP_WXORX, MAP_ASLR, ...). Default 0. */
  flags?: number;
  /** arc4random(): a uniformly random unsigned 32-bit integer, for ASLR. */
  random?: () => number;
  /** vm.cluster_anon: 0 never, 1 hint-less requests only (default), 2 always. */
  clusterAnon?: 0 | 1 | 2;
  /** kern.sgrowsiz: stack growth step in bytes. Default 128 KiB. */
  stackGrowSize?: number;
  /** security.bsd.stack_guard_page: guard pages below a grow-down stack. Default 1. */
  stackGuardPages?: number;
  /** Resource limits; default unlimited. Shared by reference with the owner. */
  limits?: VmMapLimits;
  /** User-wiring counter; default a private unlimited one. Shared by reference. */
  wireCounter?: WireCounter;
  /**
   * Children per inner node of the entry tree, and entries per leaf unless `treeLeafCapacity`
   * is given (even numbers >= 4; defaults 64 and 16). Shape only, never results: tests use
   * small values to exercise deep trees with few entries.
   */
  treeCapacity?: number;
  /** Entries per leaf of the entry tree (see `treeCapacity`). */
  treeLeafCapacity?: number;
  /** Where objects made by the map (clips, fork, faults) get their pages; null: nowhere. */
  objects?: ObjectContext | null;
}

/**
 * What the map asks of the fault layer above it (installed by the process layer; FreeBSD
 * calls vm_fault from vm_map_wire directly, which a layered design cannot).
 */
export interface MapFaultHooks {
  /** Faults in and wires every page of [start, end) (VM_FAULT_WIRE). KERN_* result. */
  wirePages(map: VmMap, start: number, end: number): KernReturn;
  /** Unwires the resident pages of [start, end). */
  unwirePages(map: VmMap, start: number, end: number): void;
}

/** What vm_map_lookup found (valid until the next lookup on the same map). */
export interface LookupInfo {
  entry: VmMapEntry;
  object: VmObject;
  /** Page index in `object`. */
  pindex: number;
  /** The protection to map the page with (WRITE removed for reads of NEEDS_COPY entries). */
  prot: VmProt;
  /** The entry is wired. */
  wired: boolean;
}

/** Result of {@link VmMap.lookupEntry}. */
export interface LookupResult {
  /** True when an entry contains the address. */
  found: boolean;
  /** The containing entry, else the entry just below the address, else null (the header). */
  entry: VmMapEntry | null;
}

/** Result of {@link VmMap.find} and {@link VmMap.findMin}. */
export interface FindResult {
  rv: KernReturn;
  /** The address chosen (meaningful when rv is KERN_SUCCESS). */
  addr: number;
}

/** The attributes of an entry as plain data (no object identity, no tree links). */
export interface EntryState {
  start: number;
  end: number;
  offset: number;
  object: number | null;
  eflags: number;
  protection: VmProt;
  maxProtection: VmProt;
  inheritance: VmInherit;
  wiredCount: number;
}

/** Every observable field of a map as plain data, for comparisons (timestamp excluded). */
export interface VmMapState {
  min: number;
  max: number;
  size: number;
  nentries: number;
  flags: number;
  anonLoc: number;
  entries: EntryState[];
}

function defaultRandom(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** True for a well-formed address argument of a clamping function: aligned integer or Infinity. */
function isClampArg(v: number, pageSize: number): boolean {
  return v === Number.POSITIVE_INFINITY || (isAddr(v) && lowBits(v, pageSize) === 0);
}

export class VmMap {
  /** Base page size (constant). */
  readonly pageSize: number;
  /** pagesizes[]: index 0 the base page, 1 the superpage (constant). */
  readonly pagesizes: readonly number[];
  /** The physical map, or null (constant). */
  readonly pmap: MapPmap | null;
  /** Limits and wire counter (owned by the process/system layer). */
  readonly limits: VmMapLimits;
  readonly wireCounter: WireCounter;
  /** vm.cluster_anon (constant). */
  readonly clusterAnon: 0 | 1 | 2;
  /** kern.sgrowsiz and the guard size in pages (constant). */
  readonly stackGrowSize: number;
  readonly stackGuardPages: number;
  /** The lock; see src/lock/MapLock.ts. */
  readonly #lock = new MapLock();
  /** The entries. */
  #tree: GapTree<VmMapEntry>;
  #min = 0;
  #max = 0;
  /** Bytes mapped by non-guard entries. */
  #size = 0;
  /** MAP_* map flags. */
  #flags = 0;
  /** Clustering hint for anonymous mappings (end of the last clustered one); 0 = none. */
  #anonLoc = 0;
  /**
   * Set on both maps by fork. vmspace_fork links the child's entries without merging, and the
   * copy-on-write marks it sets can make the parent's neighbours mergeable too; FreeBSD leaves
   * them apart, so check() only insists on merged neighbours in maps that never took part in a
   * fork.
   */
  #forked = false;
  /** In-progress wirings that dropped the lock. */
  #busy = 0;
  /** Objects whose release is deferred to unlock (vm_map_entry_delete's deferred list). */
  #deferred: VmObject[] = [];
  /**
   * Entries unlinked under the current hold of the lock (deleted or merged away). They are
   * freed at unlock, with the deferred objects, so that an operation may still read an entry
   * it has just unlinked.
   */
  #deadEntries: VmMapEntry[] = [];
  /**
   * Freed entries kept for reuse, at most MAP_ENTRY_CACHE, as FreeBSD's map-entry zone keeps
   * freed items in its caches: an mmap after a munmap, a clip after a merge, takes the entry
   * the last one freed, still in the cache, and makes no garbage. Garbage entries cost twice:
   * collections, and live entries scattered over a heap several times their size (measured in
   * BENCHMARKS.md).
   */
  #spareEntries: VmMapEntry[] = [];
  /** Last entry found by lookup, a one-entry cache in front of the tree. */
  #hint: VmMapEntry | null = null;
  /** Pages of this map's user-wired (USER_WIRED) entries: Linux's mm->locked_vm. */
  #userWiredPages = 0;
  readonly #random: () => number;
  /** Object context for objects the map creates (constant). */
  readonly objects: ObjectContext | null;
  /** Fault-layer hooks for wiring; null: wiring only counts. */
  hooks: MapFaultHooks | null = null;
  /** vmspace stack fields: top of the main stack, lowest address it may reach, size (bytes). */
  stackTop = 0;
  maxSaddr = 0;
  ssize = 0;

  private constructor(pmap: MapPmap | null, min: number, max: number, opts: VmMapOptions) {
    const pageSize = opts.pageSize ?? 4096;
    if (!isPowerOfTwo(pageSize) || pageSize < 4096 || pageSize > 65536)
      throw new RangeError(`VmMap: page size ${pageSize} is not a power of two in [4096, 65536]`);
    this.pageSize = pageSize;
    const sp = opts.superpageSize ?? pageSize * 512;
    if (!isPowerOfTwo(sp) || sp <= pageSize)
      throw new RangeError(`VmMap: superpage size ${sp} is not a power of two above the page`);
    this.pagesizes = [pageSize, sp];
    this.pmap = pmap;
    this.limits = opts.limits ?? { vmem: Infinity, stack: Infinity, memlock: Infinity };
    this.wireCounter = opts.wireCounter ?? { userWired: 0, maxUserWired: Infinity };
    this.clusterAnon = opts.clusterAnon ?? 1;
    this.stackGrowSize = opts.stackGrowSize ?? 128 * 1024;
    this.stackGuardPages = opts.stackGuardPages ?? 1;
    this.#random = opts.random ?? defaultRandom;
    this.objects = opts.objects ?? null;
    this.#tree = new GapTree(opts.treeCapacity, opts.treeLeafCapacity);
    this.#initBounds(min, max);
    this.#flags = opts.flags ?? 0;
  }

  #initBounds(min: number, max: number): void {
    if (!isAddr(min) || !isAddr(max) || min % this.pageSize !== 0 || max % this.pageSize !== 0)
      throw new RangeError(`VmMap: bounds [${min}, ${max}) are not page-aligned safe integers`);
    if (min >= max) throw new RangeError(`VmMap: empty bounds [${min}, ${max})`);
    this.#min = min;
    this.#max = max;
  }

  /**
   * vm_map_create: a new empty map over [min, max).
   * @throws RangeError when the bounds or options are malformed.
   * @example
   * const map = VmMap.create(null, 0x1000, 2 ** 47);
   * map.insert(null, 0, 0x10000, 0x20000, VM_PROT_READ, VM_PROT_ALL, 0); // KERN_SUCCESS
   */
  static create(pmap: MapPmap | null, min: number, max: number, opts: VmMapOptions = {}): VmMap {
    return new VmMap(pmap, min, max, opts);
  }

  /**
   * vm_map_init: empties the map and gives it new bounds. Every entry is deleted; the timestamp,
   * flags, anonymous-clustering hint and busy count return to zero.
   */
  init(min: number, max: number): void {
    if (this.#lock.held) panic("vm_map_init", "map is locked");
    this.#lock.lock();
    this.deleteLocked(this.#min, this.#max);
    this.unlock();
    this.#initBounds(min, max);
    this.#flags = 0;
    this.#anonLoc = 0;
    this.#busy = 0;
    this.#hint = null;
  }

  // ---------------------------------------------------------------- accessors

  /** vm_map_min. */
  get min(): number {
    return this.#min;
  }
  /** vm_map_max. */
  get max(): number {
    return this.#max;
  }
  /** Bytes mapped by non-guard entries. */
  get size(): number {
    return this.#size;
  }
  /** Pages of this map's user-wired entries (mlock'ed: Linux's locked_vm), resident or not. */
  get userWiredPages(): number {
    return this.#userWiredPages;
  }

  /** Number of entries. */
  get nentries(): number {
    return this.#tree.count;
  }
  /** Lock version counter; see src/lock/MapLock.ts. */
  get timestamp(): number {
    return this.#lock.timestamp;
  }
  /** MAP_* flags (MAP_WXORX, MAP_ASLR, MAP_WIREFUTURE, ...). */
  get flags(): number {
    return this.#flags;
  }
  /** vm_map_modflags: sets then clears map flags. */
  modflags(set: number, clear: number): void {
    this.#flags = (this.#flags | set) & ~clear;
  }
  /** End of the last clustered anonymous mapping (0: clustering not started). */
  get anonLoc(): number {
    return this.#anonLoc;
  }
  set anonLoc(v: number) {
    this.#anonLoc = v;
  }
  /** The lock itself, for callers that build their own sequences. */
  get lockState(): MapLock {
    return this.#lock;
  }
  /** The largest free gap in [min, max) (FreeBSD's root max_free). O(1). */
  get maxFree(): number {
    return this.#tree.maxFree(this.#min, this.#max);
  }
  /** Count of wirings in progress that dropped the lock (vm_map_busy). */
  get busy(): number {
    return this.#busy;
  }

  /** vm_map_range_valid: min <= start <= end <= max. */
  rangeValid(start: number, end: number): boolean {
    return end >= start && start >= this.#min && end <= this.#max;
  }

  /** Entries in address order (live objects; do not modify). */
  entries(): IterableIterator<VmMapEntry> {
    return this.#tree[Symbol.iterator]();
  }

  /** First and last entry, or null. */
  get firstEntry(): VmMapEntry | null {
    return this.#tree.first;
  }
  get lastEntry(): VmMapEntry | null {
    return this.#tree.last;
  }

  // ---------------------------------------------------------------- locking

  /** vm_map_lock: exclusive; bumps the timestamp. Panics if already held. */
  lock(): void {
    this.#lock.lock();
  }
  /** vm_map_unlock: releases the exclusive lock, then runs deferred object releases. */
  unlock(): void {
    this.#lock.unlock();
    this.#runDeferred();
  }
  /** vm_map_lock_read. */
  lockRead(): void {
    this.#lock.lockRead();
  }
  /** vm_map_unlock_read. */
  unlockRead(): void {
    this.#lock.unlockRead();
    if (!this.#lock.held) this.#runDeferred();
  }
  /** vm_map_trylock: true when acquired exclusively (timestamp bumped). */
  tryLock(): boolean {
    return this.#lock.tryLock();
  }
  /** vm_map_trylock_read. */
  tryLockRead(): boolean {
    return this.#lock.tryLockRead();
  }
  /** vm_map_lock_upgrade: 0 on success; non-zero with no lock held on failure. */
  lockUpgrade(): number {
    return this.#lock.lockUpgrade();
  }
  /** vm_map_lock_downgrade. */
  lockDowngrade(): void {
    this.#lock.lockDowngrade();
  }

  #runDeferred(): void {
    const d = this.#deferred;
    while (d.length > 0) d.pop()!.deallocate();
    const dead = this.#deadEntries;
    const spare = this.#spareEntries;
    while (dead.length > 0) {
      const e = dead.pop()!;
      e.dispose();
      if (spare.length < MAP_ENTRY_CACHE) spare.push(e);
    }
  }

  /** vm_map_entry_create: a new entry, in a new entry's state; a freed one when there is one. */
  #newEntry(): VmMapEntry {
    const e = this.#spareEntries.pop();
    if (e === undefined) return new VmMapEntry();
    e.reset();
    return e;
  }

  // ---------------------------------------------------------------- validation helpers

  /** A page-aligned safe non-negative integer. */
  #okAddr(v: number): boolean {
    return isAddr(v) && lowBits(v, this.pageSize) === 0;
  }

  /** VM_MAP_RANGE_CHECK: clamps [start, end) into the map. Returns the clamped pair. */
  #clamp(start: number, end: number): [number, number] {
    if (start < this.#min) start = this.#min;
    if (end > this.#max) end = this.#max;
    if (start > end) start = end;
    return [start, end];
  }

  // ---------------------------------------------------------------- lookup

  /**
   * The entry containing addr, else its predecessor, else null. Uses the hint (the last entry
   * found, or the predecessor a lookup returned) and its neighbours: an address in the hint,
   * in the gap after it, in the next entry, or in the previous entry or the gap after that is
   * answered without walking the tree (operations on a map come in runs at nearby addresses:
   * find then insert, clip then delete).
   */
  #lookup(addr: number): VmMapEntry | null {
    const near = this.#nearHint(addr);
    if (near !== null) return near;
    const e = this.#tree.lookup(addr);
    if (e !== null) this.#hint = e;
    return e;
  }

  /** #lookup's answer when the hint or a neighbour of it gives it, else null. */
  #nearHint(addr: number): VmMapEntry | null {
    const h = this.#hint;
    if (h === null) return null;
    if (addr >= h.start) {
      if (addr < h.end) return h;
      const nx = h.next;
      if (nx === null || addr < nx.start) return h;
      if (addr < nx.end) {
        this.#hint = nx;
        return nx;
      }
      return null;
    }
    // Just below the hint: in its predecessor or the gap before the hint.
    const pv = h.prev;
    if (pv !== null && addr >= pv.start) {
      this.#hint = pv;
      return pv;
    }
    return null;
  }

  /** Whether an entry contains `addr`. */
  #mapped(addr: number): boolean {
    const e = this.#lookup(addr);
    return e !== null && addr >= e.start && addr < e.end;
  }

  /** Successor of `prev` where null stands for the header. */
  #succ(prev: VmMapEntry | null): VmMapEntry | null {
    return prev === null ? this.#tree.first : prev.next;
  }

  /**
   * vm_map_lookup_entry: finds the entry containing `addr`. On a miss, `entry` is the entry
   * immediately preceding `addr` (null when none: FreeBSD's header), so the first entry above
   * `addr` is `entry?.next ?? map.firstEntry`. Never changes the map or its timestamp.
   */
  lookupEntry(addr: number): LookupResult {
    const near = this.#nearHint(addr);
    if (near !== null) return { found: addr < near.end, entry: near };
    // A lookup from outside the map's own operations leaves the hint where those put it, and
    // takes `found` from the tree's leaf where it can: the entry is not read (at a million
    // entries that read is two dependent cache misses, most of a random lookup's cost).
    const e = this.#tree.lookupWithEnd(addr);
    return { found: this.#tree.found, entry: e };
  }

  /**
   * vm_map_findspace: the lowest address >= start with `length` free bytes below max. On
   * failure returns the sentinel `max - length + 1` (test `addr + length > max`; the
   * sentinel may be negative for huge lengths; for a length that is not a safe integer it is
   * max + 1). Does not reserve anything.
   */
  findSpace(start: number, length: number): number {
    // Beyond 2^53 the subtraction is inexact; max + 1 keeps `addr + length > max` true.
    if (!Number.isSafeInteger(length)) return this.#max + 1;
    const sentinel = this.#max - length + 1;
    if (Number.isNaN(start) || length < 0) return sentinel;
    if (start < this.#min) start = this.#min;
    if (start >= this.#max || length > this.#max - start) return sentinel;
    // The gap at start (found through the hint, else with its successor from the tree's leaf,
    // so that the two entries are read at once), before the tree's first-fit search.
    let p = this.#nearHint(start);
    let succ: VmMapEntry | null;
    if (p !== null) succ = p.next;
    else {
      p = this.#tree.lookupWithNext(start);
      const after = this.#tree.after;
      // (after is known whenever p is null.)
      succ = after !== undefined ? after : p!.next;
      if (p !== null) this.#hint = p;
    }
    const gapStart = p === null || p.end < start ? start : p.end;
    if ((succ === null ? this.#max : succ.start) - gapStart >= length) return gapStart;
    const a = this.#tree.findGap(start, length, this.#max);
    return a < 0 ? sentinel : a;
  }

  /**
   * Top-down counterpart of {@link findSpace} (Linux's unmapped_area_topdown, which FreeBSD
   * lacks): the highest address a with low <= a, a + length <= high and [a, a + length) free,
   * or -1. low and high are clamped to the map (so -Infinity and Infinity are accepted); with
   * length 0 the result is the highest address in [low, high] not strictly inside an entry.
   * Returns -1 for a NaN bound or a length that is not a safe non-negative integer. Entries
   * are obstacles as they stand (no guard gaps: the caller adds them). O(log n); reserves
   * nothing and does not need the lock held exclusively.
   * @example
   * const map = VmMap.create(null, 0x1000, 2 ** 47);
   * map.insert(null, 0, 0x7000, 0x9000, VM_PROT_READ, VM_PROT_ALL, 0);
   * map.findSpaceTopDown(0x1000, 0x8000, 0x2000); // 0x5000: the gap below 0x7000
   */
  findSpaceTopDown(low: number, high: number, length: number): number {
    if (!Number.isSafeInteger(length) || length < 0 || Number.isNaN(low) || Number.isNaN(high))
      return -1;
    if (low < this.#min) low = this.#min;
    if (high > this.#max) high = this.#max;
    if (!Number.isInteger(low) || !Number.isInteger(high) || high - low < length) return -1;
    return this.#tree.findGapTopDown(low, high, length, this.#min, this.#max);
  }

  // ---------------------------------------------------------------- tree mutators

  /** Links `e` right after `pred` (its predecessor in address order; null: first). */
  #link(e: VmMapEntry, pred: VmMapEntry | null): void {
    this.#tree.insert(e, pred);
  }

  #unlink(e: VmMapEntry): void {
    // The hint moves to the predecessor, still linked: the next lookup is most often near
    // (MAP_FIXED's insert after its delete, at the same address).
    if (this.#hint === e) this.#hint = e.prev;
    this.#tree.remove(e);
    this.#deadEntries.push(e);
  }

  /** Applies a change of e.start/e.end made in place. */
  #resized(e: VmMapEntry): void {
    this.#tree.fixUp(e);
  }

  // ---------------------------------------------------------------- merge and clip

  /** vm_map_mergeable_neighbors. */
  static #mergeable(prev: VmMapEntry, e: VmMapEntry): boolean {
    return (
      prev.end === e.start &&
      prev.object === e.object &&
      (prev.object === null || prev.offset + (prev.end - prev.start) === e.offset) &&
      prev.eflags === e.eflags &&
      prev.protection === e.protection &&
      prev.maxProtection === e.maxProtection &&
      prev.inheritance === e.inheritance &&
      prev.wiredCount === e.wiredCount
    );
  }

  /** True when `e` would absorb `prev` (used by the audit). */
  static wouldMerge(prev: VmMapEntry, e: VmMapEntry): boolean {
    return (e.eflags & MAP_ENTRY_NOMERGE_MASK) === 0 && VmMap.#mergeable(prev, e);
  }

  /** vm_map_try_merge_entries: `e` absorbs `prev` when they are mergeable neighbours. */
  #tryMerge(prev: VmMapEntry | null, e: VmMapEntry | null): void {
    if (prev === null || e === null) return;
    if ((e.eflags & MAP_ENTRY_NOMERGE_MASK) !== 0 || !VmMap.#mergeable(prev, e)) return;
    // e takes prev's start before prev leaves the tree, so that the tree never sees the gap
    // prev's removal would open in front of e (it would climb to the root and back).
    e.start = prev.start;
    e.offset = prev.offset;
    // The removal gives e prev's place in the tree: prev's predecessor, likely cold in a large
    // map, is not read.
    this.#unlink(prev);
    if (prev.object !== null) this.#deferred.push(prev.object);
  }

  /**
   * vm_map_simplify_entry (vm_map_try_merge_entries with both neighbours): merges `entry` with
   * its predecessor and successor where their attributes allow. Caller holds the lock
   * exclusively.
   */
  simplifyEntry(entry: VmMapEntry): void {
    this.#lock.assertExclusive("vm_map_simplify_entry");
    const next = entry.next;
    this.#tryMerge(entry.prev, entry);
    this.#tryMerge(entry, next);
  }

  /** Gives an objectless non-guard entry one anonymous object for its whole range. */
  #entryBack(e: VmMapEntry): void {
    e.object = VmObject.allocateAnon(this.objects, (e.end - e.start) / this.pageSize);
    e.offset = 0;
  }

  /** vm_map_entry_clone: a copy of e with its own object reference. */
  #clone(e: VmMapEntry): VmMapEntry {
    if (e.object === null && (e.eflags & MAP_ENTRY_GUARD) === 0) this.#entryBack(e);
    const n = this.#newEntry();
    n.copyFrom(e);
    if (n.object !== null) n.object.reference();
    return n;
  }

  /** True when a clip of e at a is allowed by its split boundary. */
  #clipAllowed(e: VmMapEntry, a: number): boolean {
    const b = e.splitBoundaryIndex;
    return b === 0 || a % this.pagesizes[b] === 0;
  }

  /**
   * vm_map_clip_start: makes `entry` start at `addr` by splitting off a front piece; `entry`
   * itself remains the back piece (its start and offset advance). No-op when addr <= start.
   * Caller holds the lock exclusively. Returns KERN_INVALID_ARGUMENT for a large-page entry
   * and an address not aligned to its page size (or an address outside the entry).
   */
  clipStart(entry: VmMapEntry, addr: number): KernReturn {
    this.#lock.assertExclusive("vm_map_clip_start");
    if (!this.#okAddr(addr)) return KERN_INVALID_ARGUMENT;
    if (addr <= entry.start) return KERN_SUCCESS;
    if (addr >= entry.end) return KERN_INVALID_ARGUMENT;
    return this.#clipStart(entry, addr);
  }

  #clipStart(entry: VmMapEntry, addr: number): KernReturn {
    if (addr <= entry.start) return KERN_SUCCESS;
    if (!this.#clipAllowed(entry, addr)) return KERN_INVALID_ARGUMENT;
    const front = this.#clone(entry);
    front.end = addr;
    entry.offset += addr - entry.start;
    entry.start = addr;
    // One tree operation links front and moves entry's key, so the tree never sees a gap open
    // in front of entry. The space below front is read from entry's place in the tree, not
    // from entry's predecessor, and entry's end has not moved, so its successor is not read.
    this.#tree.insertBefore(front, entry);
    return KERN_SUCCESS;
  }

  /**
   * vm_map_clip_end: makes `entry` end at `addr` by splitting off a back piece; `entry` remains
   * the front piece. No-op when addr >= end. Caller holds the lock exclusively.
   */
  clipEnd(entry: VmMapEntry, addr: number): KernReturn {
    this.#lock.assertExclusive("vm_map_clip_end");
    if (!this.#okAddr(addr)) return KERN_INVALID_ARGUMENT;
    if (addr >= entry.end) return KERN_SUCCESS;
    if (addr <= entry.start) return KERN_INVALID_ARGUMENT;
    return this.#clipEnd(entry, addr);
  }

  #clipEnd(entry: VmMapEntry, addr: number): KernReturn {
    if (addr >= entry.end) return KERN_SUCCESS;
    if (!this.#clipAllowed(entry, addr)) return KERN_INVALID_ARGUMENT;
    const back = this.#clone(entry);
    back.offset += addr - entry.start;
    back.start = addr;
    entry.end = addr;
    // As in #clipStart: link the back piece first, so no transient gap climbs the tree.
    this.#link(back, entry);
    this.#resized(entry);
    return KERN_SUCCESS;
  }

  /**
   * vm_map_lookup_clip_start: the first entry at or above `start`, clipped so that it does not
   * begin below `start`, or null when no entry ends above `start`.
   */
  #lookupClipStart(start: number): VmMapEntry | null {
    const e = this.#lookup(start);
    if (e !== null && start < e.end) {
      const rv = this.#clipStart(e, start);
      kassert(rv === KERN_SUCCESS, "vm_map_lookup_clip_start", "unchecked clip failed");
      return e;
    }
    return this.#succ(e);
  }

  /**
   * Whether [start, end) may be clipped out of the entries from `first` (holding start, or the
   * first above it) to `last` (holding end, or the last below it): the walk a caller has just
   * made finds both, where #checkClips looks them up.
   */
  #endsClippable(first: VmMapEntry, last: VmMapEntry, start: number, end: number): boolean {
    if (start > first.start && !this.#clipAllowed(first, start)) return false;
    return !(end < last.end && !this.#clipAllowed(last, end));
  }

  /** Whether clipping `e` to [start, end) would be allowed at both ends that fall inside it. */
  #clipsOk(e: VmMapEntry, start: number, end: number): boolean {
    if (start > e.start && start < e.end && !this.#clipAllowed(e, start)) return false;
    return !(end > e.start && end < e.end && !this.#clipAllowed(e, end));
  }

  /** Would clipping [start, end) at both ends succeed? (Checked before any change.) */
  #checkClips(start: number, end: number): KernReturn {
    if (start >= end) return KERN_SUCCESS;
    const a = this.#lookup(start);
    if (a !== null && !this.#clipsOk(a, start, end)) return KERN_INVALID_ARGUMENT;
    const b = this.#lookup(end);
    if (b !== null && b !== a && !this.#clipsOk(b, start, end)) return KERN_INVALID_ARGUMENT;
    return KERN_SUCCESS;
  }

  // ---------------------------------------------------------------- insert

  /**
   * vm_map_insert: maps [start, end) to `object` at `offset` with a new entry (or by growing
   * the previous anonymous entry). The caller gives the entry its reference on `object`.
   * Caller holds the lock exclusively.
   *
   * Returns KERN_INVALID_ADDRESS (start == end, or outside the map), KERN_PROTECTION_FAILURE
   * (W|X on a MAP_WXORX map), KERN_NO_SPACE (start inside an entry, or end overlapping the next
   * one), KERN_INVALID_ARGUMENT (guard with an object or a max protection, bad split boundary,
   * malformed arguments).
   */
  insertLocked(
    object: VmObject | null,
    offset: number,
    start: number,
    end: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): KernReturn {
    this.#lock.assertExclusive("vm_map_insert");
    const rv = this.#checkInsertArgs(offset, start, end, prot, max, cow);
    if (rv !== KERN_SUCCESS) return rv;
    return this.#insert(object, offset, start, end, prot, max, cow);
  }

  /** Self-locking {@link insertLocked}. */
  insert(
    object: VmObject | null,
    offset: number,
    start: number,
    end: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): KernReturn {
    const rv = this.#checkInsertArgs(offset, start, end, prot, max, cow);
    if (rv !== KERN_SUCCESS) return rv;
    this.lock();
    try {
      return this.#insert(object, offset, start, end, prot, max, cow);
    } finally {
      this.unlock();
    }
  }

  #checkInsertArgs(
    offset: number,
    start: number,
    end: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): KernReturn {
    if (!this.#okAddr(start) || !this.#okAddr(end) || !this.#okAddr(offset))
      return KERN_INVALID_ARGUMENT;
    if (!isProt(prot) || !isProt(max) || !protSubset(prot, max)) return KERN_INVALID_ARGUMENT;
    if (!Number.isInteger(cow) || cow < 0 || cow > 0x7fff_ffff || (cow & ~MAP_COW_ALL) !== 0)
      return KERN_INVALID_ARGUMENT;
    if ((cow & MAP_STACK_GROWS_DOWN) !== 0 && (cow & MAP_STACK_GROWS_UP) !== 0)
      return KERN_INVALID_ARGUMENT;
    return KERN_SUCCESS;
  }

  #insert(
    object: VmObject | null,
    offset: number,
    start: number,
    end: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): KernReturn {
    // 1. Range.
    if (start === end || !this.rangeValid(start, end)) return KERN_INVALID_ADDRESS;
    // 2. W^X.
    if ((this.#flags & MAP_WXORX) !== 0 && (prot & (VM_PROT_WRITE | VM_PROT_EXECUTE)) === 6)
      return KERN_PROTECTION_FAILURE;
    // 3-4. Occupancy.
    const prev = this.#lookup(start);
    if (prev !== null && start < prev.end) return KERN_NO_SPACE;
    const next = this.#succ(prev);
    if (next !== null && next.start < end) return KERN_NO_SPACE;
    // 5. Guards carry nothing.
    if ((cow & MAP_CREATE_GUARD) !== 0 && (object !== null || max !== VM_PROT_NONE))
      return KERN_INVALID_ARGUMENT;
    if ((cow & MAP_NOFAULT) !== 0 && object !== null) return KERN_INVALID_ARGUMENT;
    // 6. Entry flags from cow.
    let eflags = 0;
    if ((cow & MAP_COPY_ON_WRITE) !== 0) eflags |= MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY;
    if ((cow & MAP_NOFAULT) !== 0) eflags |= MAP_ENTRY_NOFAULT;
    if ((cow & MAP_DISABLE_SYNCER) !== 0) eflags |= MAP_ENTRY_NOSYNC;
    if ((cow & MAP_DISABLE_COREDUMP) !== 0) eflags |= MAP_ENTRY_NOCOREDUMP;
    if ((cow & MAP_STACK_GROWS_DOWN) !== 0) eflags |= MAP_ENTRY_GROWS_DOWN;
    if ((cow & MAP_STACK_GROWS_UP) !== 0) eflags |= MAP_ENTRY_GROWS_UP;
    if ((cow & MAP_WRITECOUNT) !== 0) eflags |= MAP_ENTRY_WRITECNT;
    if ((cow & MAP_VN_EXEC) !== 0) eflags |= MAP_ENTRY_VN_EXEC;
    if ((cow & MAP_CREATE_GUARD) !== 0) eflags |= MAP_ENTRY_GUARD;
    if ((cow & MAP_CREATE_STACK_GAP_DN) !== 0) eflags |= MAP_ENTRY_STACK_GAP_DN;
    if ((cow & MAP_CREATE_STACK_GAP_UP) !== 0) eflags |= MAP_ENTRY_STACK_GAP_UP;
    const inheritance = (cow & MAP_INHERIT_SHARE) !== 0 ? VM_INHERIT_SHARE : VM_INHERIT_COPY;
    // 7. Split boundary (large-page mappings).
    const bdry = (cow & MAP_SPLIT_BOUNDARY_MASK) >>> MAP_SPLIT_BOUNDARY_SHIFT;
    if (bdry !== 0) {
      if (bdry >= this.pagesizes.length) return KERN_INVALID_ARGUMENT;
      const ps = this.pagesizes[bdry];
      if (start % ps !== 0 || end % ps !== 0) return KERN_INVALID_ARGUMENT;
      eflags |= bdry << MAP_ENTRY_SPLIT_BOUNDARY_SHIFT;
    }
    // 8. Swap accounting is not modelled (unbounded swap).
    // 9. A shared anonymous object is no longer one-mapping.
    if (object !== null && object.isAnon && (object.refCount > 1 || object.shadowCount > 0))
      object.flags &= ~OBJ_ONEMAPPING;
    // 10. Coalesce with the previous anonymous entry.
    if (
      object === null &&
      prev !== null &&
      (prev.eflags & ~MAP_ENTRY_USER_WIRED) === eflags &&
      (cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP | MAP_VN_EXEC)) === 0 &&
      prev.end === start &&
      (prev.object === null ||
        prev.object.coalesce(prev.offset, prev.end - prev.start, end - prev.end, this.pageSize))
    ) {
      if (
        prev.inheritance === inheritance &&
        prev.protection === prot &&
        prev.maxProtection === max &&
        prev.wiredCount === 0
      ) {
        if ((prev.eflags & MAP_ENTRY_GUARD) === 0) this.#size += end - prev.end;
        prev.end = end;
        this.#resized(prev);
        this.#tryMerge(prev, next);
        return KERN_SUCCESS;
      }
      object = prev.object;
      offset = prev.offset + (prev.end - prev.start);
      if (object !== null) object.reference();
    }
    // 11. A new entry.
    const e = this.#newEntry();
    e.start = start;
    e.end = end;
    e.object = object;
    e.offset = offset;
    e.eflags = eflags;
    e.inheritance = inheritance;
    e.protection = prot;
    e.maxProtection = max;
    // wiredCount 0 and readAhead VM_FAULT_READ_AHEAD_INIT come from #newEntry.
    e.nextRead = start;
    this.#link(e, prev);
    if ((eflags & MAP_ENTRY_GUARD) === 0) this.#size += end - start;
    // 12. Merge with the neighbours.
    this.#tryMerge(prev, e);
    this.#tryMerge(e, next);
    // 13. Prefault (MAP_PREFAULT*) needs resident pages: done by the layer that has them.
    return KERN_SUCCESS;
  }

  // ---------------------------------------------------------------- find

  /**
   * vm_map_find: chooses an address at or above `addr` (first fit, optionally aligned, below
   * `maxAddr` when non-zero) with `findSpace`, then inserts there. `VMFS_NO_SPACE` uses `addr`
   * exactly. Takes the lock itself. Returns `{ rv, addr }`; KERN_NO_SPACE when nothing fits.
   */
  find(
    object: VmObject | null,
    offset: number,
    addr: number,
    length: number,
    maxAddr: number,
    findSpace: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): FindResult {
    if (
      !this.#okAddr(addr) ||
      !this.#okAddr(length) ||
      !this.#okAddr(maxAddr) ||
      !Number.isInteger(findSpace) ||
      findSpace < 0 ||
      findSpace > 63 << 8 ||
      (findSpace > VMFS_SUPER_SPACE && (findSpace & 0xff) !== 0)
    )
      return { rv: KERN_INVALID_ARGUMENT, addr };
    const rv0 = this.#checkInsertArgs(offset, 0, 0, prot, max, cow);
    if (rv0 !== KERN_SUCCESS) return { rv: rv0, addr };
    this.lock();
    try {
      return this.#find(object, offset, addr, length, maxAddr, findSpace, prot, max, cow);
    } finally {
      this.unlock();
    }
  }

  /** clustering_anon_allowed. */
  #clusteringAllowed(addr: number, cow: number): boolean {
    switch (this.clusterAnon) {
      case 0:
        return false;
      case 1:
        return addr === 0 || (cow & MAP_NO_HINT) !== 0;
      default:
        return true;
    }
  }

  #find(
    object: VmObject | null,
    offset: number,
    addr: number,
    length: number,
    maxAddr: number,
    findSpace: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): FindResult {
    if (findSpace === VMFS_OPTIMAL_SPACE && (object === null || (object.flags & OBJ_COLORED) === 0))
      findSpace = VMFS_ANY_SPACE;
    const alignment = findSpace >> 8 !== 0 ? 2 ** (findSpace >> 8) : 0;
    const enAslr = (this.#flags & MAP_ASLR) !== 0;
    const updateAnon =
      this.#clusteringAllowed(addr, cow) &&
      (this.#flags & MAP_IS_SUB_MAP) === 0 &&
      maxAddr === 0 &&
      findSpace !== VMFS_NO_SPACE &&
      object === null &&
      (cow & (MAP_INHERIT_SHARE | MAP_STACK_GROWS_UP | MAP_STACK_GROWS_DOWN)) === 0 &&
      prot !== VM_PROT_NONE;
    let cluster = updateAnon;
    let minAddr = addr;
    let currMin = addr;
    if (
      enAslr &&
      minAddr === 0 &&
      !cluster &&
      findSpace !== VMFS_NO_SPACE &&
      (this.#flags & MAP_ASLR_IGNSTART) !== 0
    )
      currMin = minAddr = this.#min;
    if (cluster) {
      currMin = this.#anonLoc;
      if (currMin === 0) cluster = false;
    }
    const mapMax = this.#max;
    if (findSpace !== VMFS_NO_SPACE) {
      let tries = 0;
      for (;;) {
        tries++;
        if (tries === 2) currMin = (this.#flags & MAP_ASLR_IGNSTART) !== 0 ? this.#min : minAddr;
        if (tries === 1 && enAslr && !cluster) {
          const pidx = findSpace === VMFS_SUPER_SPACE || findSpace === VMFS_OPTIMAL_SPACE ? 1 : 0;
          const gap =
            mapMax > MAP_32BIT_MAX_ADDR && (maxAddr === 0 || maxAddr > MAP_32BIT_MAX_ADDR)
              ? ASLR_PAGES_RND_64[pidx]
              : ASLR_PAGES_RND_32[pidx];
          const extra = gap * this.pagesizes[pidx];
          addr = this.findSpace(currMin, length + extra);
          if (addr + length + extra > mapMax) continue;
          addr += (this.#random() % gap) * this.pagesizes[pidx];
          if (maxAddr !== 0 && addr + length > maxAddr) continue;
        } else {
          addr = this.findSpace(currMin, length);
          if (addr + length > mapMax || (maxAddr !== 0 && addr + length > maxAddr)) {
            if (cluster && tries === 1) {
              cluster = false;
              continue;
            }
            return { rv: KERN_NO_SPACE, addr };
          }
        }
        if (findSpace !== VMFS_ANY_SPACE) {
          const r = this.#alignSpace(object, offset, addr, length, maxAddr, alignment);
          if (r.rv !== KERN_SUCCESS) {
            if (findSpace === VMFS_OPTIMAL_SPACE) {
              findSpace = VMFS_ANY_SPACE;
              currMin = minAddr;
              cluster = updateAnon;
              tries = 0;
              continue;
            }
            return r;
          }
          addr = r.addr;
        }
        break;
      }
    } else if ((cow & MAP_REMAP) !== 0) {
      if (!this.rangeValid(addr, addr + length)) return { rv: KERN_INVALID_ADDRESS, addr };
      const rv = this.#delete(addr, addr + length);
      if (rv !== KERN_SUCCESS) return { rv, addr };
    }
    let rv: KernReturn;
    if ((cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP)) !== 0)
      rv = this.#stackLocked(addr, length, this.stackGrowSize, prot, max, cow);
    else rv = this.#insert(object, offset, addr, addr + length, prot, max, cow);
    if (rv === KERN_SUCCESS && updateAnon) this.#anonLoc = addr + length;
    return { rv, addr };
  }

  /** pmap_align_superpage: moves addr so that the mapping can use superpages. */
  #alignSuperpage(object: VmObject | null, offset: number, addr: number, size: number): number {
    const sp = this.pagesizes[1];
    if (size < sp) return addr;
    void object; // objects are not coloured here, so the offset alone decides.
    const spOff = offset % sp;
    if (size - ((sp - spOff) % sp) < sp || addr % sp === spOff) return addr;
    if (addr % sp < spOff) return addr - (addr % sp) + spOff;
    return addr - (addr % sp) + sp + spOff;
  }

  /** vm_map_alignspace. Precondition: `addr` has `length` free bytes. */
  #alignSpace(
    object: VmObject | null,
    offset: number,
    addr: number,
    length: number,
    maxAddr: number,
    alignment: number,
  ): FindResult {
    let free = addr;
    for (;;) {
      addr =
        alignment === 0
          ? this.#alignSuperpage(object, offset, addr, length)
          : Math.ceil(addr / alignment) * alignment;
      const aligned = addr;
      if (aligned === free) return { rv: KERN_SUCCESS, addr };
      if (aligned < free || aligned >= this.#max) return { rv: KERN_NO_SPACE, addr };
      addr = this.findSpace(aligned, length);
      if (addr + length > this.#max || (maxAddr !== 0 && addr + length > maxAddr))
        return { rv: KERN_NO_SPACE, addr };
      free = addr;
      if (free === aligned) return { rv: KERN_SUCCESS, addr };
    }
  }

  /**
   * vm_map_find_min: vm_map_find from the hint `addr`; if that fails and `minAddr` is below
   * the hint, once more from `minAddr`.
   */
  findMin(
    object: VmObject | null,
    offset: number,
    addr: number,
    length: number,
    minAddr: number,
    maxAddr: number,
    findSpace: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): FindResult {
    if (!this.#okAddr(minAddr)) return { rv: KERN_INVALID_ARGUMENT, addr };
    let hint = addr;
    for (;;) {
      const r = this.find(object, offset, addr, length, maxAddr, findSpace, prot, max, cow);
      if (r.rv === KERN_SUCCESS || minAddr >= hint) return r;
      addr = hint = minAddr;
    }
  }

  // ---------------------------------------------------------------- fixed

  /**
   * vm_map_fixed: maps [start, start + length) at exactly that address. Without MAP_CHECK_EXCL
   * whatever is mapped there is deleted first; with it an occupied range gives KERN_NO_SPACE.
   * The range is clamped to the map (RANGE_CHECK). Takes the lock itself.
   */
  fixed(
    object: VmObject | null,
    offset: number,
    start: number,
    length: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): KernReturn {
    if (!this.#okAddr(start) || !this.#okAddr(length)) return KERN_INVALID_ARGUMENT;
    if (!Number.isSafeInteger(start + length)) return KERN_INVALID_ARGUMENT;
    const rv0 = this.#checkInsertArgs(offset, 0, 0, prot, max, cow);
    if (rv0 !== KERN_SUCCESS) return rv0;
    if ((cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP)) !== 0 && object !== null)
      return KERN_INVALID_ARGUMENT;
    this.lock();
    try {
      const [s, e] = this.#clamp(start, start + length);
      if ((cow & MAP_CHECK_EXCL) === 0) {
        const rv = this.#delete(s, e);
        if (rv !== KERN_SUCCESS) return rv;
      }
      if ((cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP)) !== 0)
        return this.#stackLocked(s, length, this.stackGrowSize, prot, max, cow);
      return this.#insert(object, offset, s, e, prot, max, cow);
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------- delete

  /**
   * vm_map_delete: unmaps [start, end), holes allowed. The range must lie inside the map.
   * Caller holds the lock exclusively. Returns KERN_SUCCESS, KERN_INVALID_ARGUMENT (a
   * large-page entry would need an unaligned clip; nothing changed), KERN_INVALID_ADDRESS
   * (range outside the map) or KERN_FAILURE (a system-wired entry; see the file prologue).
   */
  deleteLocked(start: number, end: number): KernReturn {
    this.#lock.assertExclusive("vm_map_delete");
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    return this.#deleteInMap(start, end);
  }

  /** vm_map_delete's range check, then the deletion (arguments already validated). */
  #deleteInMap(start: number, end: number): KernReturn {
    if (!this.rangeValid(start, end)) return start > end ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
    return this.#delete(start, end);
  }

  /** Self-locking {@link deleteLocked}. */
  delete(start: number, end: number): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    this.lock();
    try {
      return this.#deleteInMap(start, end);
    } finally {
      this.unlock();
    }
  }

  /**
   * vm_map_remove: clamps [start, end) to the map, then deletes. `remove(0, Infinity)` empties
   * the map. Takes the lock itself.
   */
  remove(start: number, end: number): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    this.lock();
    try {
      const [s, e] = this.#clamp(start, end);
      return this.#delete(s, e);
    } finally {
      this.unlock();
    }
  }

  #delete(start: number, end: number): KernReturn {
    if (start >= end) return KERN_SUCCESS;
    // Nothing mapped in [start, end) (e.g. mmap at a free address): nothing to clip or delete.
    const first = this.#firstAtOrAbove(start);
    if (first === null || first.start >= end) return KERN_SUCCESS;
    // One validation pass before any change (one lookup: the walk finds the entry holding
    // `end`, which #checkClips would look up again). A clip that a large-page entry refuses
    // is reported before another thread's system wiring, which would make FreeBSD sleep and
    // nothing else runs here to release.
    let last = first;
    let busy = false;
    for (let e: VmMapEntry | null = first; e !== null && e.start < end; e = e.next) {
      if (e.systemWiredCount !== 0 || (e.eflags & MAP_ENTRY_IN_TRANSITION) !== 0) busy = true;
      last = e;
    }
    if (!this.#endsClippable(first, last, start, end)) return KERN_INVALID_ARGUMENT;
    if (busy) return KERN_FAILURE;
    // Unmapping drops the range's guard markers (Linux's unmap zaps with ZAP_FLAG_DROP_MARKER).
    this.pmap?.clearGuards?.(start, end);
    let entry: VmMapEntry | null = first;
    let rv = this.#clipStart(first, start);
    kassert(rv === KERN_SUCCESS, "vm_map_delete", "unchecked clip failed");
    while (entry !== null && entry.start < end) {
      rv = this.#clipEnd(entry, end);
      kassert(rv === KERN_SUCCESS, "vm_map_delete", "unchecked clip failed");
      const next: VmMapEntry | null = entry.next;
      if (entry.wiredCount !== 0) this.#entryUnwire(entry);
      if (this.pmap !== null && entry.object !== null) this.pmap.remove(entry.start, entry.end);
      if (entry.end === this.#anonLoc) this.#anonLoc = entry.start;
      this.#entryDelete(entry);
      entry = next;
    }
    return KERN_SUCCESS;
  }

  /** The entry containing addr, else the first above it. */
  #firstAtOrAbove(addr: number): VmMapEntry | null {
    const e = this.#lookup(addr);
    return e !== null && addr < e.end ? e : this.#succ(e);
  }

  /** vm_map_entry_delete: unlinks and releases one entry. */
  #entryDelete(entry: VmMapEntry): void {
    this.#unlink(entry);
    if ((entry.eflags & MAP_ENTRY_GUARD) !== 0) return;
    const size = entry.end - entry.start;
    this.#size -= size;
    const object = entry.object;
    if (object === null) return;
    if (object.isAnon && object.refCount !== 1 && (object.flags & OBJ_ONEMAPPING) !== 0) {
      // As vm_map_entry_delete: collapse first, so that pages of a singly referenced backing
      // object that this range hid are freed with it rather than kept alive in the chain.
      if (object.backingObject !== null) object.collapse();
      const first = entry.offset / this.pageSize;
      const last = first + size / this.pageSize;
      object.removePages(first, last);
      if (last >= object.size && first < object.size) object.size = first;
    }
    this.#deferred.push(object);
    entry.object = null;
  }

  // ---------------------------------------------------------------- protect

  /**
   * vm_map_protect: sets the protection (VM_MAP_PROTECT_SET_PROT) and/or the maximum protection
   * (VM_MAP_PROTECT_SET_MAXPROT) of [start, end). Holes are skipped; guard entries are never
   * changed. A validation pass runs first, so on KERN_PROTECTION_FAILURE nothing changed.
   * Setting the maximum also reduces the protection to new_max ∩ old (unless SET_PROT is given
   * too). Returns KERN_OUT_OF_BOUNDS when both are set and newProt ⊄ newMaxProt,
   * KERN_PROTECTION_FAILURE for a W|X request on a MAP_WXORX map or a protection beyond an
   * entry's maximum. Takes the lock itself.
   */
  protect(
    start: number,
    end: number,
    newProt: VmProt,
    newMaxProt: VmProt,
    flags: number,
  ): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    if (!isProt(newProt) || !isProt(newMaxProt)) return KERN_INVALID_ARGUMENT;
    if (
      !Number.isInteger(flags) ||
      flags < 0 ||
      flags > (VM_MAP_PROTECT_SET_PROT | VM_MAP_PROTECT_SET_MAXPROT)
    )
      return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    const setProt = (flags & VM_MAP_PROTECT_SET_PROT) !== 0;
    const setMax = (flags & VM_MAP_PROTECT_SET_MAXPROT) !== 0;
    if (setProt && setMax && !protSubset(newProt, newMaxProt)) return KERN_OUT_OF_BOUNDS;
    this.lock();
    try {
      if ((this.#flags & MAP_WXORX) !== 0 && setProt && (newProt & 6) === 6)
        return KERN_PROTECTION_FAILURE;
      [start, end] = this.#clamp(start, end);
      if (start >= end) return KERN_SUCCESS;
      const first = this.#firstAtOrAbove(start);
      // Pass 1: validate; nothing changes on failure. The walk ends at the entry holding `end`,
      // whose clip is checked from there (no second lookup).
      let last = first;
      for (let e = first; e !== null && e.start < end; e = e.next) {
        last = e;
        if ((e.eflags & MAP_ENTRY_GUARD) !== 0) continue;
        if ((e.eflags & MAP_ENTRY_IS_SUB_MAP) !== 0) return KERN_INVALID_ARGUMENT;
        const p = setProt ? newProt : e.protection;
        const m = setMax ? newMaxProt : e.maxProtection;
        if (!protSubset(p, e.maxProtection) || !protSubset(m, e.maxProtection))
          return KERN_PROTECTION_FAILURE;
      }
      if (first === null || last === null || first.start >= end) return KERN_SUCCESS;
      if (!this.#endsClippable(first, last, start, end)) return KERN_INVALID_ARGUMENT;
      // Pass 2: clip.
      this.#clipStart(first, start);
      for (let e: VmMapEntry | null = first; e !== null && e.start < end; e = e.next)
        this.#clipEnd(e, end);
      // Pass 3: change and merge.
      let prev = first.prev;
      let e: VmMapEntry | null = first;
      for (; e !== null && e.start < end; prev = e, e = e.next) {
        if ((e.eflags & MAP_ENTRY_GUARD) === 0) {
          const old = e.protection;
          if (setMax) {
            e.maxProtection = newMaxProt;
            e.protection = newMaxProt & old;
          }
          if (setProt) e.protection = newProt;
          if (
            (e.eflags & MAP_ENTRY_USER_WIRED) !== 0 &&
            (e.protection & VM_PROT_WRITE) !== 0 &&
            (old & VM_PROT_WRITE) === 0
          )
            this.#copyEntryForWiredWrite(e);
          if ((old & ~e.protection) !== 0 && this.pmap !== null)
            this.pmap.protect(
              e.start,
              e.end,
              e.protection & ((e.eflags & MAP_ENTRY_COW) !== 0 ? ~VM_PROT_WRITE : VM_PROT_ALL),
            );
        }
        this.#tryMerge(prev, e);
      }
      this.#tryMerge(prev, e);
      return KERN_SUCCESS;
    } finally {
      this.unlock();
    }
  }

  /**
   * vm_fault_copy_entry (upgrade) at the map level: a user-wired copy-on-write entry that gains
   * WRITE has its pages made private now instead of lazily on faults, and stays wired. With
   * NEEDS_COPY clear the entry keeps its object (its wiring already copied the pages it wrote;
   * pages still in a backing object are copied up into it); with NEEDS_COPY set it gets a new
   * object holding a copy of every page. Either way the pages are then wired and entered
   * writable again (through the fault hooks, with the map unlocked as for vm_map_wire).
   *
   * FreeBSD's wired entries are resident, so every page copies and wires. A Linux VM_LOCKED
   * vma need not be: mlock leaves it locked when population fails, e.g. past the end of its
   * file. There mprotect populates what it can and ignores the rest (populate_vma_page_range),
   * so a page that does not fault in is skipped, and a window running past the end of its
   * file becomes a shadow of the file's object with the pages copied up by the wiring faults,
   * so that the pages past the end still raise SIGBUS rather than reading as zeros.
   */
  #copyEntryForWiredWrite(e: VmMapEntry): void {
    if ((e.eflags & MAP_ENTRY_COW) === 0) return;
    if ((e.eflags & MAP_ENTRY_NEEDS_COPY) !== 0 || e.object === null) {
      const old = e.object;
      const pages = (e.end - e.start) / this.pageSize;
      // The old translations (and their wirings) go with the old pages.
      this.hooks?.unwirePages(this, e.start, e.end);
      this.pmap?.remove(e.start, e.end);
      if (
        old !== null &&
        old.pager !== null &&
        !old.pager.hasPage(e.offset + (pages - 1) * this.pageSize)
      ) {
        // The entry's reference to old becomes the shadow's backing reference.
        const s = old.shadow(e.offset, e.end - e.start, false);
        e.object = s.object;
        e.offset = s.offset;
      } else {
        e.object =
          this.objects !== null
            ? VmObject.copyWindow(old, this.objects, e.offset, pages)
            : VmObject.allocateAnon(null, pages);
        e.offset = 0;
        if (old !== null) this.#deferred.push(old);
      }
    }
    e.eflags &= ~(MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY);
    // Page by page, each failure skipped (see above).
    if (this.hooks !== null && e.wiredCount > 0) this.#wireFault(e, true);
  }

  // ---------------------------------------------------------------- inherit

  /**
   * vm_map_inherit: sets the inheritance of [start, end) to SHARE, COPY, NONE or ZERO. Holes
   * are ignored; guard entries keep their inheritance when asked for ZERO. Returns
   * KERN_INVALID_ARGUMENT for any other value, for COPY over a large-page entry, or for COPY
   * or ZERO over a device mapping (checked before anything changes). Takes the lock itself.
   */
  inherit(start: number, end: number, inh: VmInherit): KernReturn {
    if (!isInherit(inh)) return KERN_INVALID_ARGUMENT;
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    this.lock();
    try {
      [start, end] = this.#clamp(start, end);
      if (start >= end) return KERN_SUCCESS;
      const rv = this.#checkClips(start, end);
      if (rv !== KERN_SUCCESS) return rv;
      if (inh === VM_INHERIT_COPY)
        for (let e = this.#firstAtOrAbove(start); e !== null && e.start < end; e = e.next)
          if (e.splitBoundaryIndex !== 0) return KERN_INVALID_ARGUMENT;
      // A device mapping stays shared: a child never gets a private copy (or zeros) in place
      // of device registers (vmspace's rule; FreeBSD forces device mappings MAP_SHARED).
      if (inh === VM_INHERIT_COPY || inh === VM_INHERIT_ZERO)
        for (let e = this.#firstAtOrAbove(start); e !== null && e.start < end; e = e.next)
          if (e.object !== null && e.object.type === "device") return KERN_INVALID_ARGUMENT;
      const first = this.#lookupClipStart(start);
      if (first === null) return KERN_SUCCESS;
      let prev = first.prev;
      let e: VmMapEntry | null = first;
      for (; e !== null && e.start < end; prev = e, e = e.next) {
        this.#clipEnd(e, end);
        if ((e.eflags & MAP_ENTRY_GUARD) === 0 || inh !== VM_INHERIT_ZERO) e.inheritance = inh;
        this.#tryMerge(prev, e);
      }
      this.#tryMerge(prev, e);
      return KERN_SUCCESS;
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------- madvise

  /**
   * vm_map_madvise: applies an access-pattern or syncing/core-dump behaviour to [start, end)
   * (clipping and re-merging entries), or passes WILLNEED/DONTNEED/FREE advice to the pages.
   * Returns an errno: 0, or EINVAL (22) for an unknown behaviour or malformed arguments.
   * Holes are ignored. Takes the lock itself.
   */
  madvise(start: number, end: number, behav: number): number {
    let modify: boolean;
    switch (behav) {
      case MADV_NORMAL:
      case MADV_SEQUENTIAL:
      case MADV_RANDOM:
      case MADV_NOSYNC:
      case MADV_AUTOSYNC:
      case MADV_NOCORE:
      case MADV_CORE:
        modify = true;
        break;
      case MADV_WILLNEED:
      case MADV_DONTNEED:
      case MADV_FREE:
        modify = false;
        break;
      default:
        return EINVAL;
    }
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize)) return EINVAL;
    if (start === end) return 0;
    if (!modify) {
      // Page-level advice: nothing in the map changes; the object and pmap layers act on it.
      this.lockRead();
      this.unlockRead();
      return 0;
    }
    this.lock();
    try {
      [start, end] = this.#clamp(start, end);
      if (start >= end) return 0;
      if (this.#checkClips(start, end) !== KERN_SUCCESS) return EINVAL;
      const first = this.#lookupClipStart(start);
      if (first === null) return 0;
      let prev = first.prev;
      let e: VmMapEntry | null = first;
      for (; e !== null && e.start < end; prev = e, e = e.next) {
        if ((e.eflags & MAP_ENTRY_IS_SUB_MAP) !== 0) continue;
        this.#clipEnd(e, end);
        switch (behav) {
          case MADV_NORMAL:
            e.eflags = (e.eflags & ~MAP_ENTRY_BEHAV_MASK) | MAP_ENTRY_BEHAV_NORMAL;
            break;
          case MADV_SEQUENTIAL:
            e.eflags = (e.eflags & ~MAP_ENTRY_BEHAV_MASK) | MAP_ENTRY_BEHAV_SEQUENTIAL;
            break;
          case MADV_RANDOM:
            e.eflags = (e.eflags & ~MAP_ENTRY_BEHAV_MASK) | MAP_ENTRY_BEHAV_RANDOM;
            break;
          case MADV_NOSYNC:
            e.eflags |= MAP_ENTRY_NOSYNC;
            break;
          case MADV_AUTOSYNC:
            e.eflags &= ~MAP_ENTRY_NOSYNC;
            break;
          case MADV_NOCORE:
            e.eflags |= MAP_ENTRY_NOCOREDUMP;
            break;
          case MADV_CORE:
            e.eflags &= ~MAP_ENTRY_NOCOREDUMP;
            break;
        }
        this.#tryMerge(prev, e);
      }
      this.#tryMerge(prev, e);
      return 0;
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------- check protection

  /**
   * vm_map_check_protection: true when [start, end) is entirely mapped with at least
   * `protection`. `start` must lie in an entry (so start == end is true on a mapped address,
   * false on a hole). Never grows stacks. The caller holds the lock (shared is enough) or none;
   * it is taken shared when not held.
   */
  checkProtection(start: number, end: number, protection: VmProt): boolean {
    if (!isAddr(start) || !isAddr(end) || !isProt(protection)) return false;
    const take = !this.#lock.held;
    if (take) this.lockRead();
    try {
      let e = this.#lookup(start);
      if (e === null || start >= e.end) return false;
      while (start < end) {
        if (e === null || start < e.start) return false;
        if ((protection & ~e.protection) !== 0) return false;
        start = e.end;
        e = e.next;
      }
      return true;
    } finally {
      if (take) this.unlockRead();
    }
  }

  // ---------------------------------------------------------------- sync and prefault

  /**
   * vm_map_sync: pushes the dirty pages of the objects mapped in [start, end) to their pagers
   * (vm_object_sync over each entry's part of the range), with `invalidate` also freeing the
   * cached pages so that the next access reads the file again. `syncio` asks for synchronous
   * writes; every write is synchronous here, so it changes nothing. The range is clamped to
   * the map. Pass 1 validates before anything is written, in FreeBSD's order, entry by entry:
   * KERN_INVALID_ADDRESS when `start` is unmapped or a hole lies before `end` (msync ENOMEM);
   * KERN_INVALID_ARGUMENT with `invalidate` over a user-wired entry (msync EBUSY), or for a
   * large-page entry and a start or end not aligned to its page size. `start === end` syncs
   * the whole entry containing `start`. Copy-on-write entries write nothing (their object, or
   * their shadow of it, is private). Malformed arguments: KERN_INVALID_ARGUMENT, before the map
   * is locked. Takes the lock shared. Example: `map.sync(a, a + 0x2000, true, false)`.
   */
  sync(start: number, end: number, syncio: boolean, invalidate: boolean): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    if (typeof syncio !== "boolean" || typeof invalidate !== "boolean")
      return KERN_INVALID_ARGUMENT;
    this.lockRead();
    try {
      [start, end] = this.#clamp(start, end);
      const first = this.#lookup(start);
      if (first === null || start >= first.end) return KERN_INVALID_ADDRESS;
      if (start === end) {
        start = first.start;
        end = first.end;
      }
      // Pass 1: nothing is written unless the whole range passes.
      for (let e: VmMapEntry | null = first; e !== null && e.start < end; e = e.next) {
        if (invalidate && (e.eflags & MAP_ENTRY_USER_WIRED) !== 0) return KERN_INVALID_ARGUMENT;
        const bdry = e.splitBoundaryIndex;
        if (bdry !== 0) {
          const lps = this.pagesizes[bdry];
          if (start % lps !== 0 || end % lps !== 0) return KERN_INVALID_ARGUMENT;
        }
        if (end > e.end && (e.next === null || e.next.start !== e.end)) return KERN_INVALID_ADDRESS;
      }
      // Pass 2: vm_object_sync of each entry's window.
      // A pager error fails the call (KERN_FAILURE, msync EIO) but the walk goes on.
      let failed = false;
      for (let e: VmMapEntry | null = first; e !== null && e.start < end; e = e.next)
        if (e.syncWindow(start, end, invalidate, this.pageSize) !== null) failed = true;
      return failed ? KERN_FAILURE : KERN_SUCCESS;
    } finally {
      this.unlockRead();
    }
  }

  /** vm_map_clean: the older name of {@link sync}, same arguments and results. */
  clean(start: number, end: number, syncio: boolean, invalidate: boolean): KernReturn {
    return this.sync(start, end, syncio, invalidate);
  }

  /**
   * vm_map_pmap_enter over [start, end): enters the pages already resident in each entry's own
   * object into the pmap, read-only (executable where the entry is), as mmap-time prefault
   * (MAP_PREFAULT) does. Nothing is allocated or read from a pager; pages already mapped keep
   * their translation; holes, guard and objectless entries, entries without READ or EXECUTE
   * and wired entries (their pages are mapped already) are skipped. The range is clamped to
   * the map. Returns KERN_SUCCESS, or KERN_INVALID_ARGUMENT for malformed arguments. A map
   * whose pmap lacks `enterQuick` (or has none) maps nothing. Takes the lock shared.
   * Example: `map.prefault(a, a + 0x10000)`.
   */
  prefault(start: number, end: number): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    const pmap = this.pmap;
    if (pmap === null || pmap.enterQuick === undefined) return KERN_SUCCESS;
    this.lockRead();
    try {
      [start, end] = this.#clamp(start, end);
      const ps = this.pageSize;
      let e = this.#lookup(start);
      if (e === null || start >= e.end) e = this.#succ(e);
      for (; e !== null && e.start < end; e = e.next) {
        const o = e.object;
        const prot = e.protection & (VM_PROT_READ | VM_PROT_EXECUTE);
        if (o === null || prot === VM_PROT_NONE || e.wiredCount !== 0) continue;
        if ((e.eflags & (MAP_ENTRY_GUARD | MAP_ENTRY_NOFAULT)) !== 0) continue;
        const s = Math.max(start, e.start);
        const t = Math.min(end, e.end);
        const base = e.start - e.offset; // the address of object page 0
        if ((t - s) / ps <= o.pages.size) {
          for (let va = s; va < t; va += ps) {
            const f = o.pageLookup((va - base) / ps);
            if (f >= 0) pmap.enterQuick(va, f, prot);
          }
        } else {
          for (const [p, f] of o.pages) {
            const va = base + p * ps;
            if (va >= s && va < t) pmap.enterQuick(va, f, prot);
          }
        }
      }
      return KERN_SUCCESS;
    } finally {
      this.unlockRead();
    }
  }

  // ---------------------------------------------------------------- wiring

  /**
   * vm_map_wire: wires [start, end). `flags` combines VM_MAP_WIRE_USER or _SYSTEM,
   * VM_MAP_WIRE_HOLESOK or _NOHOLES, and VM_MAP_WIRE_WRITE. All or nothing: on failure no entry
   * keeps a wiring from this call. A user wiring counts once per entry (USER_WIRED); system
   * wirings stack. Entries without READ or EXECUTE (or without WRITE under WIRE_WRITE) are
   * skipped with HOLESOK and fail with KERN_INVALID_ADDRESS otherwise, as holes do. Returns
   * KERN_RESOURCE_SHORTAGE when user wiring exceeds the system's limit. VM_MAP_WIRE_NOFAULT
   * (vmspace's, for Linux's VM_LOCKED) marks the entries, those without access too, and faults
   * nothing in: their pages are wired as they fault in. Takes the lock itself.
   */
  wire(start: number, end: number, flags: number): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    if (!Number.isInteger(flags) || flags < 0 || flags > 15) return KERN_INVALID_ARGUMENT;
    this.lock();
    try {
      return this.wireLocked(start, end, flags);
    } finally {
      this.unlock();
    }
  }

  /** vm_map_wire_locked: {@link wire} with the lock held exclusively by the caller. */
  wireLocked(start: number, end: number, flags: number): KernReturn {
    this.#lock.assertExclusive("vm_map_wire_locked");
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    const user = (flags & VM_MAP_WIRE_USER) !== 0;
    const holesOk = (flags & VM_MAP_WIRE_HOLESOK) !== 0;
    [start, end] = this.#clamp(start, end);
    // Clamped to nothing: only whether the start is mapped matters (an inverted range ends up
    // as start = end).
    if (start >= end) return holesOk || this.#mapped(start) ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
    const needWrite = (flags & VM_MAP_WIRE_WRITE) !== 0;
    const noFault = (flags & VM_MAP_WIRE_NOFAULT) !== 0;
    const skip = (e: VmMapEntry): boolean =>
      noFault
        ? (e.eflags & MAP_ENTRY_GUARD) !== 0
        : (e.protection & (VM_PROT_READ | VM_PROT_EXECUTE)) === 0 ||
          (needWrite && (e.protection & VM_PROT_WRITE) === 0);
    // Validation before any change, entry by entry in FreeBSD's order (clip, skip, user-wiring
    // limit, following hole), so that the first problem met is the one reported.
    const first = this.#firstAtOrAbove(start);
    if (!holesOk && (first === null || first.start > start)) return KERN_INVALID_ADDRESS;
    const wc = this.wireCounter;
    let newUserPages = 0;
    for (let e = first; e !== null && e.start < end; e = e.next) {
      if (!this.#clipsOk(e, start, end)) return KERN_INVALID_ARGUMENT;
      if (skip(e)) {
        if (!holesOk) return KERN_INVALID_ADDRESS;
        continue;
      }
      if (user && (e.eflags & MAP_ENTRY_USER_WIRED) === 0) {
        newUserPages += (Math.min(e.end, end) - Math.max(e.start, start)) / this.pageSize;
        if (wc.userWired + newUserPages > wc.maxUserWired) return KERN_RESOURCE_SHORTAGE;
      }
      if (!holesOk && e.end < end && (e.next === null || e.next.start > e.end))
        return KERN_INVALID_ADDRESS;
    }
    // Wire. `added` remembers what this call did to each entry, for an all-or-nothing undo.
    const firstE = this.#lookupClipStart(start);
    if (firstE === null) return KERN_SUCCESS;
    const added = new Map<VmMapEntry, "fresh" | "more">();
    let e: VmMapEntry | null = firstE;
    for (; e !== null && e.start < end; e = e.next) {
      this.#clipEnd(e, end);
      e.eflags |= MAP_ENTRY_IN_TRANSITION;
      if (skip(e)) {
        e.eflags |= MAP_ENTRY_WIRE_SKIPPED;
        continue;
      }
      if (e.wiredCount === 0) {
        e.wiredCount = 1;
        added.set(e, "fresh");
        if (this.hooks !== null && !noFault) {
          const frv = this.#wireFault(e);
          if (frv !== KERN_SUCCESS) {
            this.#wireRollback(firstE, e, added);
            return frv;
          }
        }
      } else if (!user || (e.eflags & MAP_ENTRY_USER_WIRED) === 0) {
        e.wiredCount++;
        added.set(e, "more");
      }
    }
    // Cleanup pass: record user wirings, clear transition flags, merge.
    let prev = firstE.prev;
    e = firstE;
    for (; e !== null && e.start < end; prev = e, e = e.next) {
      if (user && (e.eflags & (MAP_ENTRY_WIRE_SKIPPED | MAP_ENTRY_USER_WIRED)) === 0)
        this.#userWiring(e, true);
      e.eflags &= ~(MAP_ENTRY_IN_TRANSITION | MAP_ENTRY_WIRE_SKIPPED);
      this.#tryMerge(prev, e);
    }
    this.#tryMerge(prev, e);
    return KERN_SUCCESS;
  }

  /**
   * vm_map_unwire: undoes wirings of [start, end). A user unwire clears USER_WIRED (silently
   * succeeding where there is none); a system unwire of an entry without system wirings is
   * KERN_INVALID_ARGUMENT. Holes: as {@link wire}. Nothing changes on failure. Takes the lock.
   */
  unwire(start: number, end: number, flags: number): KernReturn {
    if (!isClampArg(start, this.pageSize) || !isClampArg(end, this.pageSize))
      return KERN_INVALID_ARGUMENT;
    if (!Number.isInteger(flags) || flags < 0 || flags > 7) return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    const user = (flags & VM_MAP_WIRE_USER) !== 0;
    const holesOk = (flags & VM_MAP_WIRE_HOLESOK) !== 0;
    this.lock();
    try {
      [start, end] = this.#clamp(start, end);
      if (start >= end) return holesOk || this.#mapped(start) ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
      const first = this.#firstAtOrAbove(start);
      if (!holesOk && (first === null || first.start > start)) return KERN_INVALID_ADDRESS;
      for (let e = first; e !== null && e.start < end; e = e.next) {
        // Per entry in FreeBSD's order: clip, following hole, system wiring.
        if (!this.#clipsOk(e, start, end)) return KERN_INVALID_ARGUMENT;
        if (!holesOk && e.end < end && (e.next === null || e.next.start > e.end))
          return KERN_INVALID_ADDRESS;
        if (!user && e.systemWiredCount === 0) return KERN_INVALID_ARGUMENT;
      }
      const firstE = this.#lookupClipStart(start);
      if (firstE === null) return KERN_SUCCESS;
      let prev = firstE.prev;
      let e: VmMapEntry | null = firstE;
      for (; e !== null && e.start < end; prev = e, e = e.next) {
        this.#clipEnd(e, end);
        if (!user || (e.eflags & MAP_ENTRY_USER_WIRED) !== 0) {
          if (user) this.#userWiring(e, false);
          if (e.wiredCount === 1) this.#entryUnwire(e);
          else e.wiredCount--;
        }
        this.#tryMerge(prev, e);
      }
      this.#tryMerge(prev, e);
      return KERN_SUCCESS;
    } finally {
      this.unlock();
    }
  }

  /**
   * Faults in the pages of a newly wired entry the way vm_map_wire_locked does: the map is
   * marked busy and unlocked while the fault handler runs, then locked again. All or nothing
   * by default (the first failure is returned); with `skipFailures` every page is tried and a
   * page that does not fault in is left (see #copyEntryForWiredWrite).
   */
  #wireFault(e: VmMapEntry, skipFailures = false): KernReturn {
    const hooks = this.hooks!;
    const { start, end } = e;
    const ps = this.pageSize;
    this.#busy++;
    this.#lock.unlock();
    let rv: KernReturn = KERN_SUCCESS;
    try {
      if (!skipFailures) rv = hooks.wirePages(this, start, end);
      else for (let va = start; va < end; va += ps) hooks.wirePages(this, va, va + ps);
    } finally {
      this.#lock.lock();
      this.#busy--;
    }
    return rv;
  }

  /**
   * Undoes the wirings this call made on [first, failed] (the failed entry's fault may have
   * wired some of its pages), clears the transition flags and merges: all or nothing.
   */
  #wireRollback(
    first: VmMapEntry,
    failed: VmMapEntry,
    added: Map<VmMapEntry, "fresh" | "more">,
  ): void {
    let prev = first.prev;
    let e: VmMapEntry | null = first;
    const stop = failed.next;
    for (; e !== null && e !== stop; prev = e, e = e.next) {
      const what = added.get(e);
      if (what === "fresh") {
        this.hooks?.unwirePages(this, e.start, e.end);
        e.wiredCount = 0;
      } else if (what === "more") e.wiredCount--;
      e.eflags &= ~(MAP_ENTRY_IN_TRANSITION | MAP_ENTRY_WIRE_SKIPPED);
      this.#tryMerge(prev, e);
    }
    this.#tryMerge(prev, e);
  }

  /**
   * vm_map_entry_unwire: drops every wiring of the entry. User-wired pages are counted while
   * an entry carries USER_WIRED, so the count drops with the flag.
   */
  #entryUnwire(e: VmMapEntry): void {
    this.hooks?.unwirePages(this, e.start, e.end);
    if ((e.eflags & MAP_ENTRY_USER_WIRED) !== 0) this.#userWiring(e, false);
    e.wiredCount = 0;
  }

  /**
   * Gives `e` its user wiring (USER_WIRED) or takes it (with its LOCK_ONFAULT qualifier), and
   * counts its pages in the system's user-wired pages and the map's own.
   */
  #userWiring(e: VmMapEntry, on: boolean): void {
    const pages = (e.end - e.start) / this.pageSize;
    if (on) e.eflags |= MAP_ENTRY_USER_WIRED;
    else e.eflags &= ~MAP_ENTRY_USER_WIRED_BITS;
    this.wireCounter.userWired += on ? pages : -pages;
    this.#userWiredPages += on ? pages : -pages;
  }

  // ---------------------------------------------------------------- stacks

  /**
   * vm_map_stack: reserves [addrbos, addrbos + maxSsize) for a stack that grows down (cow
   * MAP_STACK_GROWS_DOWN) or up: a stack entry of min(kern.sgrowsiz, maxSsize - guard) bytes at
   * the growing end and a guard gap entry for the rest. Fails with KERN_NO_SPACE when the
   * initial size would exceed RLIMIT_VMEM or the range is occupied, KERN_INVALID_ADDRESS for a
   * range outside the map, KERN_INVALID_ARGUMENT when maxSsize does not exceed the guard.
   */
  stack(addrbos: number, maxSsize: number, prot: VmProt, max: VmProt, cow: number): KernReturn {
    if (!this.#okAddr(addrbos) || !this.#okAddr(maxSsize)) return KERN_INVALID_ARGUMENT;
    const rv0 = this.#checkInsertArgs(0, 0, 0, prot, max, cow);
    if (rv0 !== KERN_SUCCESS) return rv0;
    const grows = cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP);
    if (grows === 0) return KERN_INVALID_ARGUMENT;
    const growsize = this.stackGrowSize;
    const init = Math.min(maxSsize, growsize);
    this.lock();
    try {
      if (this.#size + init > this.limits.vmem) return KERN_NO_SPACE;
      return this.#stackLocked(addrbos, maxSsize, growsize, prot, max, cow);
    } finally {
      this.unlock();
    }
  }

  #stackLocked(
    addrbos: number,
    maxSsize: number,
    growsize: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): KernReturn {
    const down = (cow & MAP_STACK_GROWS_DOWN) !== 0;
    kassert(
      down !== ((cow & MAP_STACK_GROWS_UP) !== 0),
      "vm_map_stack_locked",
      "exactly one growth direction",
    );
    if (maxSsize === 0 || !this.rangeValid(addrbos, addrbos + maxSsize))
      return KERN_INVALID_ADDRESS;
    const sgp = this.stackGuardPages * this.pageSize;
    if (sgp >= maxSsize) return KERN_INVALID_ARGUMENT;
    let init = growsize;
    if (maxSsize < init + sgp) init = maxSsize - sgp;
    const prev = this.#lookup(addrbos);
    if (prev !== null && addrbos < prev.end) return KERN_NO_SPACE;
    const next = this.#succ(prev);
    if (next !== null && next.start < addrbos + maxSsize) return KERN_NO_SPACE;
    let bot: number;
    let top: number;
    let gapBot: number;
    let gapTop: number;
    if (down) {
      bot = addrbos + maxSsize - init;
      top = bot + init;
      gapBot = addrbos;
      gapTop = bot;
    } else {
      bot = addrbos;
      top = bot + init;
      gapBot = top;
      gapTop = addrbos + maxSsize;
    }
    const stackCow = cow & ~(MAP_CREATE_STACK_GAP_DN | MAP_CREATE_STACK_GAP_UP);
    let rv = this.#insert(null, 0, bot, top, prot, max, stackCow);
    if (rv !== KERN_SUCCESS) return rv;
    if (gapBot === gapTop) return KERN_SUCCESS;
    rv = this.#insert(
      null,
      0,
      gapBot,
      gapTop,
      VM_PROT_NONE,
      VM_PROT_NONE,
      MAP_CREATE_GUARD | (down ? MAP_CREATE_STACK_GAP_DN : MAP_CREATE_STACK_GAP_UP),
    );
    if (rv === KERN_SUCCESS) {
      const gap = this.#lookup(gapBot)!;
      gap.nextRead = sgp;
      return KERN_SUCCESS;
    }
    this.#delete(bot, top);
    return rv;
  }

  /**
   * vm_map_growstack: a fault at `addr` inside the gap below a grow-down stack (or above a
   * grow-up one) grows the stack by roundup(need, kern.sgrowsiz), capped by the gap less its
   * guard pages; the new piece is a separate entry. `mainStack` applies RLIMIT_STACK to the
   * whole stack size `ssize` (bytes). Returns KERN_SUCCESS (also when the address is no longer
   * in a guard: someone grew it), KERN_NO_SPACE (guard reached, limits), KERN_FAILURE (not a
   * stack gap). Caller holds the lock exclusively.
   */
  growStackLocked(addr: number, mainStack = false, ssize = 0): { rv: KernReturn; grow: number } {
    this.#lock.assertExclusive("vm_map_growstack");
    const gap = this.#lookup(addr);
    if (gap === null || addr >= gap.end) return { rv: KERN_FAILURE, grow: 0 };
    if ((gap.eflags & MAP_ENTRY_GUARD) === 0) return { rv: KERN_SUCCESS, grow: 0 };
    let stack: VmMapEntry | null;
    let need: number;
    const ps = this.pageSize;
    if ((gap.eflags & MAP_ENTRY_STACK_GAP_DN) !== 0) {
      stack = gap.next;
      if (stack === null || (stack.eflags & MAP_ENTRY_GROWS_DOWN) === 0 || stack.start !== gap.end)
        return { rv: KERN_FAILURE, grow: 0 };
      need = Math.ceil((stack.start - addr) / ps) * ps;
    } else if ((gap.eflags & MAP_ENTRY_STACK_GAP_UP) !== 0) {
      stack = gap.prev;
      if (stack === null || (stack.eflags & MAP_ENTRY_GROWS_UP) === 0 || stack.end !== gap.start)
        return { rv: KERN_FAILURE, grow: 0 };
      need = Math.ceil((addr + 1 - stack.end) / ps) * ps;
    } else return { rv: KERN_FAILURE, grow: 0 };
    const guard = gap.nextRead;
    let maxgrow = gap.end - gap.start;
    if (guard > maxgrow) return { rv: KERN_NO_SPACE, grow: 0 };
    maxgrow -= guard;
    if (need > maxgrow) return { rv: KERN_NO_SPACE, grow: 0 };
    if (mainStack && ssize + need > this.limits.stack) return { rv: KERN_NO_SPACE, grow: 0 };
    let grow = Math.ceil(need / this.stackGrowSize) * this.stackGrowSize;
    if (grow > maxgrow) grow = maxgrow;
    if (mainStack) {
      const lim = Math.floor(this.limits.stack / ps) * ps;
      if (ssize + grow > lim) grow = lim - ssize;
    }
    if ((this.#flags & MAP_WIREFUTURE) !== 0 && this.#wiredBytes() + grow > this.limits.memlock)
      return { rv: KERN_NO_SPACE, grow: 0 };
    if (this.#size + grow > this.limits.vmem) return { rv: KERN_NO_SPACE, grow: 0 };
    const cow =
      (stack.eflags & MAP_ENTRY_GROWS_DOWN) !== 0 ? MAP_STACK_GROWS_DOWN : MAP_STACK_GROWS_UP;
    if (cow === MAP_STACK_GROWS_DOWN) {
      const gapEnd = gap.end;
      if (grow === gap.end - gap.start) this.#entryDelete(gap);
      else {
        gap.end -= grow;
        this.#resized(gap);
      }
      const rv = this.#insert(
        null,
        0,
        gapEnd - grow,
        gapEnd,
        stack.protection,
        stack.maxProtection,
        cow,
      );
      kassert(rv === KERN_SUCCESS, "vm_map_growstack", "insert into the gap failed");
    } else {
      const gapStart = gap.start;
      if (grow === gap.end - gap.start) this.#entryDelete(gap);
      else {
        gap.start += grow;
        this.#resized(gap);
      }
      if (stack.object !== null) {
        const need2 = (stack.end + grow - stack.start) / ps + stack.offset / ps;
        if (need2 > stack.object.size) stack.object.size = need2;
      }
      stack.end = gapStart + grow;
      this.#resized(stack);
      this.#size += grow;
    }
    if ((this.#flags & MAP_WIREFUTURE) !== 0) {
      const lo = cow === MAP_STACK_GROWS_DOWN ? stack.start - grow : stack.end - grow;
      this.wireLocked(lo, lo + grow, VM_MAP_WIRE_USER | VM_MAP_WIRE_HOLESOK);
    }
    return { rv: KERN_SUCCESS, grow };
  }

  /**
   * vm_map_growstack as a call of its own: grows the stack whose guard gap contains `addr`
   * far enough to cover it, exactly as a fault at `addr` would (the main stack, between
   * maxSaddr and stackTop, is held to RLIMIT_STACK and its size `ssize` updated). Returns
   * KERN_SUCCESS (also when `addr` lies in the stack already: someone grew it), KERN_NO_SPACE
   * (the guard pages or a limit are in the way; nothing changes), KERN_FAILURE (`addr` is in
   * no stack gap), KERN_INVALID_ARGUMENT (not a safe non-negative integer). Takes the lock.
   * Example: `map.growStack(stackBottom - 1)`.
   */
  growStack(addr: number): KernReturn {
    if (!isAddr(addr)) return KERN_INVALID_ARGUMENT;
    this.lock();
    try {
      return this.#growStack(addr).rv;
    } finally {
      this.unlock();
    }
  }

  /** growStackLocked for the stack holding `va`, keeping the main stack's size (lock held). */
  #growStack(va: number): { rv: KernReturn; grow: number } {
    const main = va >= this.maxSaddr && va < this.stackTop;
    const g = this.growStackLocked(va, main, this.ssize);
    if (g.rv === KERN_SUCCESS && main) this.ssize += g.grow;
    return g;
  }

  /** Bytes in wired entries (for RLIMIT_MEMLOCK checks). */
  #wiredBytes(): number {
    let n = 0;
    for (let e = this.#tree.first; e !== null; e = e.next)
      if (e.wiredCount > 0) n += e.end - e.start;
    return n;
  }

  // ---------------------------------------------------------------- fault lookup

  /** The reused result of lookup() (no allocation per fault). */
  readonly #info: LookupInfo = {
    entry: null as unknown as VmMapEntry,
    object: null as unknown as VmObject,
    pindex: 0,
    prot: 0,
    wired: false,
  };

  /**
   * vm_map_lookup: finds what the fault handler needs for an access of type `faultType`
   * (PROT_* bits, plus VM_PROT_FAULT_LOOKUP from the fault handler, which allows stack growth,
   * and VM_PROT_COPY). Gives NEEDS_COPY entries their shadow object on a write and objectless
   * entries an anonymous object. On success the map is left **read-locked** and
   * {@link lookupInfo} (valid until the next lookup) is filled in: release with
   * {@link lookupDone}. Returns KERN_INVALID_ADDRESS (unmapped), KERN_PROTECTION_FAILURE, or
   * KERN_FAILURE (a guard page of the pmap, allowed by the entry), with no lock held.
   */
  lookup(va: number, faultType: number): KernReturn {
    const fn = "vm_map_lookup";
    kassert(this.objects !== null, fn, "the map has no object context");
    for (;;) {
      this.lockRead();
      let entry = this.#lookup(va);
      if (entry === null || va >= entry.end) {
        this.unlockRead();
        return KERN_INVALID_ADDRESS;
      }
      let prot = entry.protection;
      if ((faultType & VM_PROT_FAULT_LOOKUP) !== 0) {
        if (
          prot === VM_PROT_NONE &&
          (entry.eflags & (MAP_ENTRY_STACK_GAP_DN | MAP_ENTRY_STACK_GAP_UP)) !== 0
        ) {
          this.unlockRead();
          this.lock();
          const g = this.#growStack(va);
          this.unlock();
          if (g.rv === KERN_SUCCESS && g.grow > 0) continue;
          this.lockRead();
          entry = this.#lookup(va)!;
          prot = entry.protection;
        }
        faultType &= ~VM_PROT_FAULT_LOOKUP;
      }
      if (
        (this.#flags & MAP_READ_IMPLIED) !== 0 &&
        (prot & (VM_PROT_WRITE | VM_PROT_EXECUTE)) !== 0
      )
        prot |= VM_PROT_READ;
      let want = faultType & VM_PROT_ALL;
      if ((want & ~prot) !== 0 || prot === VM_PROT_NONE) {
        this.unlockRead();
        return KERN_PROTECTION_FAILURE;
      }
      // A guard marker (Linux's MADV_GUARD_INSTALL) refuses an access the entry allows, before
      // anything is allocated or shadowed for it: the kernel meets the marker in the page table
      // once the vma's protection has been checked, and makes no anon_vma for it.
      if (this.pmap?.isGuard?.(va) === true) {
        this.unlockRead();
        return KERN_FAILURE;
      }
      if (
        (faultType & VM_PROT_COPY) !== 0 &&
        (entry.maxProtection & VM_PROT_WRITE) === 0 &&
        (entry.eflags & MAP_ENTRY_COW) === 0
      ) {
        this.unlockRead();
        return KERN_PROTECTION_FAILURE;
      }
      const wired = entry.wiredCount !== 0;
      if (wired) want = prot;
      if ((entry.eflags & MAP_ENTRY_NEEDS_COPY) !== 0) {
        if ((want & VM_PROT_WRITE) !== 0 || (faultType & VM_PROT_COPY) !== 0) {
          if (this.lockUpgrade() !== 0) continue;
          const size = entry.end - entry.start;
          if (entry.object === null) {
            entry.object = VmObject.allocateAnon(this.objects, size / this.pageSize);
            entry.offset = 0;
          } else {
            const r = entry.object.shadow(entry.offset, size, false);
            entry.object = r.object;
            entry.offset = r.offset;
          }
          entry.eflags &= ~MAP_ENTRY_NEEDS_COPY;
          this.lockDowngrade();
        } else prot &= ~VM_PROT_WRITE;
      }
      if (entry.object === null) {
        if (this.lockUpgrade() !== 0) continue;
        this.#entryBack(entry);
        this.lockDowngrade();
      }
      const info = this.#info;
      info.entry = entry;
      info.object = entry.object!;
      info.pindex = (va - entry.start + entry.offset) / this.pageSize;
      info.pindex = Math.floor(info.pindex);
      info.prot = prot;
      info.wired = wired;
      return KERN_SUCCESS;
    }
  }

  /** What the last successful lookup found (one object, reused: no allocation per fault). */
  get lookupInfo(): LookupInfo {
    return this.#info;
  }

  /** vm_map_lookup_done: releases the read lock left by a successful lookup. */
  lookupDone(): void {
    this.unlockRead();
  }

  // ---------------------------------------------------------------- fork

  /**
   * vmspace_fork: fills the empty map `child` from this one, entry by entry, by inheritance:
   * NONE leaves a hole; SHARE makes both name the same object (creating it now if needed, and
   * giving a NEEDS_COPY parent entry its shadow first); COPY makes both copy-on-write over the
   * same object (the parent's writable translations are write-protected), except that a wired
   * writable entry is copied eagerly; ZERO gives the child fresh zero-fill memory. Guard
   * entries with any inheritance but NONE are copied as guards. Takes both locks.
   */
  fork(child: VmMap): KernReturn {
    kassert(child.nentries === 0, "vmspace_fork", "child map is not empty");
    kassert(child.pageSize === this.pageSize, "vmspace_fork", "page sizes differ");
    this.lock();
    child.lock();
    try {
      this.#forked = child.#forked = true;
      child.#anonLoc = this.#anonLoc;
      child.#flags |=
        this.#flags &
        (MAP_ASLR | MAP_ASLR_IGNSTART | MAP_ASLR_STACK | MAP_WXORX | MAP_READ_IMPLIED);
      child.stackTop = this.stackTop;
      child.maxSaddr = this.maxSaddr;
      child.ssize = this.ssize;
      const ps = this.pageSize;
      const built: VmMapEntry[] = [];
      for (let e = this.#tree.first; e !== null; e = e.next) {
        kassert((e.eflags & MAP_ENTRY_IS_SUB_MAP) === 0, "vmspace_fork", "submap entry");
        let inh = e.inheritance;
        if ((e.eflags & MAP_ENTRY_GUARD) !== 0 && inh !== VM_INHERIT_NONE) inh = VM_INHERIT_COPY;
        if (inh === VM_INHERIT_NONE) continue;
        const n = child.#newEntry();
        n.copyFrom(e);
        n.wiredCount = 0;
        n.readAhead = VM_FAULT_READ_AHEAD_INIT;
        const pages = (e.end - e.start) / ps;
        if (inh === VM_INHERIT_SHARE) {
          if (e.object === null) this.#entryBack(e);
          if ((e.eflags & MAP_ENTRY_NEEDS_COPY) !== 0) {
            const r = e.object!.shadow(e.offset, e.end - e.start, true);
            e.object = r.object;
            e.offset = r.offset;
            e.eflags &= ~MAP_ENTRY_NEEDS_COPY;
          } else e.object!.reference();
          e.object!.flags &= ~OBJ_ONEMAPPING;
          n.object = e.object;
          n.offset = e.offset;
          n.eflags = e.eflags & ~(MAP_ENTRY_USER_WIRED_BITS | MAP_ENTRY_IN_TRANSITION);
        } else if (inh === VM_INHERIT_COPY) {
          n.eflags &= ~(MAP_ENTRY_USER_WIRED_BITS | MAP_ENTRY_IN_TRANSITION | MAP_ENTRY_WRITECNT);
          n.object = null;
          if ((e.eflags & MAP_ENTRY_GUARD) === 0) {
            if (e.wiredCount === 0 || (e.protection & VM_PROT_WRITE) === 0) {
              if ((e.eflags & MAP_ENTRY_NEEDS_COPY) === 0 && this.pmap !== null)
                this.pmap.protect(e.start, e.end, e.protection & ~VM_PROT_WRITE);
              if (e.object !== null) {
                if (e.object.isAnon) {
                  if (e.object.ctx !== null) e.object.collapse();
                  if ((e.object.flags & OBJ_ONEMAPPING) !== 0 && e.object.ctx !== null) {
                    const o = e.object.split(e.offset, pages);
                    if (o !== e.object) {
                      e.object = o;
                      e.offset = 0;
                    }
                  }
                }
                e.object.reference();
                e.object.flags &= ~OBJ_ONEMAPPING;
                n.object = e.object;
                n.offset = e.offset;
                e.eflags |= MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY;
                n.eflags |= MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY;
              } else n.offset = 0;
            } else {
              n.object =
                this.objects !== null
                  ? VmObject.copyWindow(e.object, this.objects, e.offset, pages)
                  : VmObject.allocateAnon(null, pages);
              n.offset = 0;
              n.eflags &= ~(MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY);
            }
          }
        } else {
          // VM_INHERIT_ZERO
          n.eflags =
            e.eflags &
            ~(
              MAP_ENTRY_USER_WIRED_BITS |
              MAP_ENTRY_IN_TRANSITION |
              MAP_ENTRY_WRITECNT |
              MAP_ENTRY_VN_EXEC |
              MAP_ENTRY_SPLIT_BOUNDARY_MASK
            );
          n.inheritance = VM_INHERIT_ZERO;
          n.object = null;
          n.offset = 0;
        }
        if ((n.eflags & MAP_ENTRY_GUARD) === 0) child.#size += n.end - n.start;
        // vm_map_try_merge_entries with the previous child entry, before the tree exists.
        const last = built.length > 0 ? built[built.length - 1] : null;
        if (
          last !== null &&
          (n.eflags & MAP_ENTRY_NOMERGE_MASK) === 0 &&
          VmMap.#mergeable(last, n)
        ) {
          built.pop();
          n.start = last.start;
          n.offset = last.offset;
          if (last.object !== null) child.#deferred.push(last.object);
        }
        built.push(n);
      }
      // The child's entries come in address order: its tree is built in one pass.
      child.#tree.build(built);
      return KERN_SUCCESS;
    } finally {
      child.unlock();
      this.unlock();
    }
  }

  // ---------------------------------------------------------------- inspection and audit

  /** Every observable field as plain data (for snapshots and deep comparisons). */
  state(): VmMapState {
    const entries: EntryState[] = [];
    for (let e = this.#tree.first; e !== null; e = e.next)
      entries.push({
        start: e.start,
        end: e.end,
        offset: e.offset,
        object: e.object === null ? null : e.object.id,
        eflags: e.eflags,
        protection: e.protection,
        maxProtection: e.maxProtection,
        inheritance: e.inheritance,
        wiredCount: e.wiredCount,
      });
    return {
      min: this.#min,
      max: this.#max,
      size: this.#size,
      nentries: this.#tree.count,
      flags: this.#flags,
      anonLoc: this.#anonLoc,
      entries,
    };
  }

  /**
   * _vm_map_assert_consistent and more: order, no overlap, bounds, every cached max-gap
   * recomputed and compared, entry count and mapped size recomputed, entry invariants
   * (prot ⊆ max, guards without object or access, wiring flags coherent), no two neighbours
   * left mergeable, lock released. Panics on the first broken invariant.
   */
  check(): void {
    const who = "vm_map_check";
    this.#tree.check(who);
    let size = 0;
    let prev: VmMapEntry | null = null;
    for (let e = this.#tree.first; e !== null; e = e.next) {
      if (e.start < this.#min || e.end > this.#max)
        panic(who, `entry outside the map at ${e.start}`);
      if (e.start % this.pageSize !== 0 || e.end % this.pageSize !== 0)
        panic(who, `unaligned entry [${e.start}, ${e.end})`);
      if (!protSubset(e.protection, e.maxProtection)) panic(who, `prot > max at ${e.start}`);
      if ((e.eflags & MAP_ENTRY_GUARD) !== 0) {
        if (e.object !== null || e.maxProtection !== VM_PROT_NONE)
          panic(who, `guard entry with object or access at ${e.start}`);
      } else size += e.end - e.start;
      if ((e.eflags & (MAP_ENTRY_IN_TRANSITION | MAP_ENTRY_WIRE_SKIPPED)) !== 0)
        panic(who, `transient flag left at ${e.start}`);
      if (e.wiredCount < 0) panic(who, `negative wire count at ${e.start}`);
      if ((e.eflags & MAP_ENTRY_USER_WIRED) !== 0 && e.wiredCount < 1)
        panic(who, `USER_WIRED without a wiring at ${e.start}`);
      if ((e.eflags & (MAP_ENTRY_LOCK_ONFAULT | MAP_ENTRY_USER_WIRED)) === MAP_ENTRY_LOCK_ONFAULT)
        panic(who, `LOCK_ONFAULT without USER_WIRED at ${e.start}`);
      if (e.object !== null && e.object.isDead)
        panic(who, `entry names a dead object at ${e.start}`);
      if (e.object !== null && e.object.refCount < 1)
        panic(who, `unreferenced object at ${e.start}`);
      if (
        e.object !== null &&
        e.object.isAnon &&
        (e.object.flags & OBJ_SHM) === 0 &&
        e.offset + (e.end - e.start) > e.object.size * this.pageSize
      )
        panic(who, `entry beyond its anonymous object at ${e.start}`);
      if (!this.#forked && prev !== null && VmMap.wouldMerge(prev, e))
        panic(who, `mergeable neighbours left at ${prev.start} and ${e.start}`);
      prev = e;
    }
    if (size !== this.#size) panic(who, `size ${this.#size} but entries map ${size}`);
    if (this.#lock.held) panic(who, "map left locked");
    if (this.#deadEntries.length !== 0) panic(who, "unlinked entries not freed at unlock");
    const spare = this.#spareEntries;
    if (spare.length > MAP_ENTRY_CACHE) panic(who, `${spare.length} cached entries`);
    for (const e of spare)
      if (!e.disposed || e.leaf !== -1 || e.prev !== null || e.next !== null)
        panic(who, "a cached free entry is in use");
    if (new Set(spare).size !== spare.length) panic(who, "an entry cached twice");
  }
}
