/**
 * Randomized differential property test of VmMap against a naive reference model.
 *
 * The model (class `Model` below) is a plain array with one slot per page of the map: a slot is
 * null (unmapped) or holds every attribute an entry gives its pages: protection, maximum
 * protection, inheritance, eflags (behaviour, NOSYNC, NOCOREDUMP, GUARD, COW/NEEDS_COPY,
 * USER_WIRED, split boundary, ...), wire count, and the page's backing: an object and a page
 * index in it, or none (lazily allocated anonymous memory, and guards). The model implements the
 * rules of the spec (/work/shared/spec/FREEBSD-VM.md §3.5, §4.2-4.16, checked against
 * sys/vm/vm_map.c) itself with linear scans, and never calls VmMap.
 *
 * Map entries are not stored: they are derived. An entry is a maximal run of pages that are
 * "mergeable neighbours" (§4.7: same attributes, same object at consecutive offsets, or both
 * objectless), which is what VmMap maintains (its audit refuses mergeable neighbours). Knowing
 * the entries lets the model follow FreeBSD where entries matter: clipping an objectless entry
 * gives the whole entry one anonymous object (§4.8), vm_map_insert coalesces with the previous
 * anonymous entry (§4.2 step 10), wiring walks entry by entry (§4.14), findspace skips to the
 * end of the entry containing the start (§3.5), and anon_loc moves down on delete (§4.16).
 * The anonymous objects the model creates are its own (negative numbers); they are matched to
 * the implementation's objects through a bijection built as pages are compared. Anonymous
 * objects are never shared here (one map, no fork), so they keep OBJ_ONEMAPPING and
 * vm_object_coalesce on them always succeeds (§5); vnode objects never coalesce.
 *
 * After every operation the test compares the return code (and the address chosen by find),
 * every page, the entry boundaries, the object identity of every page (bijectively), map.size,
 * nentries and anonLoc, runs auditMap, and, when the model says the call changed nothing (every
 * failure and every no-op), requires map.state() to be JSON-identical to before the call.
 *
 * Argument conventions are the ones the VmMap.ts prologue states: a value that is not a safe
 * non-negative integer, an unaligned address, or unknown bits in a flag word are refused with
 * KERN_INVALID_ARGUMENT (EINVAL for madvise) before anything is looked at; clamping functions
 * accept Infinity. Where the prologue lists deliberate differences from FreeBSD, the model
 * follows the prologue: every failing call changes nothing (FreeBSD may leave clips behind),
 * and delete over a system-wired entry fails with KERN_FAILURE (FreeBSD sleeps) after the clip
 * checks. Swap accounting and credentials are not modelled (as in VmMap). Inverted ranges
 * (start > end) are generated only where the clamped point is not strictly inside the map, so
 * that FreeBSD's behaviour is defined; there they are empty ranges, except that wire/unwire
 * without HOLESOK still look the clamped start up (§4.14 step 1).
 */

import fc from "fast-check";
import { expect, it } from "vitest";
import {
  auditMap,
  KERN_FAILURE,
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_OUT_OF_BOUNDS,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
  kernName,
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
  MAP_ACC_CHARGED,
  MAP_ACC_NO_CHARGE,
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
  MAP_ENTRY_NEEDS_COPY,
  MAP_ENTRY_NOCOREDUMP,
  MAP_ENTRY_NOFAULT,
  MAP_ENTRY_NOSYNC,
  MAP_ENTRY_SPLIT_BOUNDARY_MASK,
  MAP_ENTRY_SPLIT_BOUNDARY_SHIFT,
  MAP_ENTRY_STACK_GAP_DN,
  MAP_ENTRY_STACK_GAP_UP,
  MAP_ENTRY_USER_WIRED,
  MAP_ENTRY_VN_EXEC,
  MAP_ENTRY_WRITECNT,
  MAP_INHERIT_SHARE,
  MAP_NO_HINT,
  MAP_NOFAULT,
  MAP_PREFAULT,
  MAP_PREFAULT_MADVISE,
  MAP_PREFAULT_PARTIAL,
  MAP_REMAP,
  MAP_SPLIT_BOUNDARY_MASK,
  MAP_SPLIT_BOUNDARY_SHIFT,
  MAP_STACK_GROWS_DOWN,
  MAP_STACK_GROWS_UP,
  MAP_VN_EXEC,
  MAP_WRITECOUNT,
  MAP_WXORX,
  OBJ_COLORED,
  VM_INHERIT_COPY,
  VM_INHERIT_SHARE,
  VM_INHERIT_ZERO,
  VM_MAP_PROTECT_SET_MAXPROT,
  VM_MAP_PROTECT_SET_PROT,
  VM_MAP_WIRE_HOLESOK,
  VM_MAP_WIRE_NOFAULT,
  VM_MAP_WIRE_USER,
  VM_MAP_WIRE_WRITE,
  VM_PROT_EXECUTE,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  VMFS_ALIGNED_SPACE,
  VMFS_ANY_SPACE,
  VMFS_NO_SPACE,
  VMFS_OPTIMAL_SPACE,
  VMFS_SUPER_SPACE,
  VmMap,
  type VmMapEntry,
  VmObject,
} from "../src/index.js";

// ---------------------------------------------------------------- parameters

const PS = 4096;
/** Superpage (pagesizes[1]) of 16 pages, so SUPER/ALIGNED placement and split boundaries bite. */
const SP_PAGES = 16;
const SP = SP_PAGES * PS;
const EINVAL = 22;
/** Longest generated sequence (short enough that shrinking a failure stays quick). */
const MAX_OPS = 300;
/** Sequences per fast-check batch; batches run until MIN_TOTAL_OPS operations have run. */
const NUM_RUNS = Number(process.env.VMSPACE_PROP_RUNS ?? 100);
const MIN_TOTAL_OPS = 100_000;

// ---------------------------------------------------------------- operations

/** One call on the map. `obj` indexes the two vnode objects of the run (1 is OBJ_COLORED). */
type Op =
  | {
      k: "insert";
      obj: number | null;
      off: number;
      s: number;
      e: number;
      prot: number;
      max: number;
      cow: number;
    }
  | {
      k: "find";
      obj: number | null;
      off: number;
      addr: number;
      len: number;
      maxAddr: number;
      fs: number;
      prot: number;
      max: number;
      cow: number;
    }
  | {
      k: "fixed";
      obj: number | null;
      off: number;
      s: number;
      len: number;
      prot: number;
      max: number;
      cow: number;
    }
  | { k: "remove" | "delete"; s: number; e: number }
  | { k: "protect"; s: number; e: number; prot: number; max: number; flags: number }
  | { k: "inherit"; s: number; e: number; inh: number }
  | { k: "madvise"; s: number; e: number; behav: number }
  | { k: "wire" | "unwire"; s: number; e: number; flags: number };

function hx(v: number): string {
  return Number.isSafeInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
}

function fsName(fs: number): string {
  if (fs === VMFS_NO_SPACE) return "NO_SPACE";
  if (fs === VMFS_ANY_SPACE) return "ANY";
  if (fs === VMFS_OPTIMAL_SPACE) return "OPTIMAL";
  if (fs === VMFS_SUPER_SPACE) return "SUPER";
  if (Number.isInteger(fs) && fs > 0 && fs % 256 === 0) return `ALIGNED(${fs / 256})`;
  return String(fs);
}

function opText(op: Op): string {
  switch (op.k) {
    case "insert":
      return `insert(obj=${op.obj}, off=${hx(op.off)}, ${hx(op.s)}, ${hx(op.e)}, prot=${op.prot}, max=${op.max}, cow=${hx(op.cow)})`;
    case "find":
      return `find(obj=${op.obj}, off=${hx(op.off)}, addr=${hx(op.addr)}, len=${hx(op.len)}, maxAddr=${hx(op.maxAddr)}, ${fsName(op.fs)}, prot=${op.prot}, max=${op.max}, cow=${hx(op.cow)})`;
    case "fixed":
      return `fixed(obj=${op.obj}, off=${hx(op.off)}, start=${hx(op.s)}, len=${hx(op.len)}, prot=${op.prot}, max=${op.max}, cow=${hx(op.cow)})`;
    case "remove":
    case "delete":
      return `${op.k}(${hx(op.s)}, ${hx(op.e)})`;
    case "protect":
      return `protect(${hx(op.s)}, ${hx(op.e)}, prot=${op.prot}, max=${op.max}, flags=${op.flags})`;
    case "inherit":
      return `inherit(${hx(op.s)}, ${hx(op.e)}, ${op.inh})`;
    case "madvise":
      return `madvise(${hx(op.s)}, ${hx(op.e)}, ${op.behav})`;
    case "wire":
    case "unwire":
      return `${op.k}(${hx(op.s)}, ${hx(op.e)}, flags=${op.flags})`;
  }
}

// ---------------------------------------------------------------- the model

/** The attributes of one mapped page. */
interface MPage {
  readonly prot: number;
  readonly max: number;
  readonly inh: number;
  readonly eflags: number;
  readonly wired: number;
  /** Backing object: a vnode object's id (> 0), a model anonymous object (< 0), or null. */
  readonly obj: number | null;
  /** Page index in `obj` (0 when obj is null). */
  readonly idx: number;
}

/** A derived entry: [s, e) and the attributes of its first page. */
interface MEnt {
  s: number;
  e: number;
  p: MPage;
}

/** What the model needs to know of a caller-provided object. */
interface HObj {
  id: number;
  colored: boolean;
}

interface Outcome {
  rv: number;
  addr?: number;
}

const BEHAV_OF: Record<number, number> = {
  [MADV_NORMAL]: MAP_ENTRY_BEHAV_NORMAL,
  [MADV_SEQUENTIAL]: MAP_ENTRY_BEHAV_SEQUENTIAL,
  [MADV_RANDOM]: MAP_ENTRY_BEHAV_RANDOM,
};

function sameAttrs(p: MPage, q: MPage): boolean {
  return (
    p.prot === q.prot &&
    p.max === q.max &&
    p.inh === q.inh &&
    p.eflags === q.eflags &&
    p.wired === q.wired
  );
}

function samePage(p: MPage | null, q: MPage | null): boolean {
  if (p === null || q === null) return p === q;
  return sameAttrs(p, q) && p.obj === q.obj && p.idx === q.idx;
}

/** vm_map_mergeable_neighbors for consecutive pages. */
function mergeable(p: MPage, q: MPage): boolean {
  return (
    sameAttrs(p, q) && (p.obj === null ? q.obj === null : q.obj === p.obj && q.idx === p.idx + 1)
  );
}

function isGuard(p: MPage): boolean {
  return (p.eflags & MAP_ENTRY_GUARD) !== 0;
}

function sysWired(p: MPage): number {
  return p.wired - ((p.eflags & MAP_ENTRY_USER_WIRED) !== 0 ? 1 : 0);
}

function bdryIndex(p: MPage): number {
  return (p.eflags & MAP_ENTRY_SPLIT_BOUNDARY_MASK) >>> MAP_ENTRY_SPLIT_BOUNDARY_SHIFT;
}

// Argument validity (VmMap.ts prologue): safe non-negative integers, page aligned; Infinity only
// where the function clamps; flag words without unknown bits.
function okAddr(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0 && v % PS === 0;
}
function okClamp(v: number): boolean {
  return v === Number.POSITIVE_INFINITY || okAddr(v);
}
function okProt(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 7;
}
function okCow(cow: number): boolean {
  return (
    Number.isInteger(cow) &&
    cow >= 0 &&
    cow <= MAP_COW_ALL &&
    (cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP)) !==
      (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP)
  );
}
function okInsertArgs(off: number, prot: number, max: number, cow: number): boolean {
  return okAddr(off) && okProt(prot) && okProt(max) && (prot & ~max) === 0 && okCow(cow);
}

/** The entry flags vm_map_insert derives from `cow` (§1.6, §4.2 step 6). */
function eflagsOfCow(cow: number): number {
  let f = 0;
  if (cow & MAP_COPY_ON_WRITE) f |= MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY;
  if (cow & MAP_NOFAULT) f |= MAP_ENTRY_NOFAULT;
  if (cow & MAP_DISABLE_SYNCER) f |= MAP_ENTRY_NOSYNC;
  if (cow & MAP_DISABLE_COREDUMP) f |= MAP_ENTRY_NOCOREDUMP;
  if (cow & MAP_STACK_GROWS_DOWN) f |= MAP_ENTRY_GROWS_DOWN;
  if (cow & MAP_STACK_GROWS_UP) f |= MAP_ENTRY_GROWS_UP;
  if (cow & MAP_WRITECOUNT) f |= MAP_ENTRY_WRITECNT;
  if (cow & MAP_VN_EXEC) f |= MAP_ENTRY_VN_EXEC;
  if (cow & MAP_CREATE_GUARD) f |= MAP_ENTRY_GUARD;
  if (cow & MAP_CREATE_STACK_GAP_DN) f |= MAP_ENTRY_STACK_GAP_DN;
  if (cow & MAP_CREATE_STACK_GAP_UP) f |= MAP_ENTRY_STACK_GAP_UP;
  return f;
}

class Model {
  readonly pages: (MPage | null)[];
  anonLoc = 0;
  /** Set when an operation changed anything. */
  dirty = false;
  #nextAnon = -1;

  constructor(
    readonly min: number,
    readonly max: number,
    readonly wxorx: boolean,
    readonly cluster: 0 | 1 | 2,
  ) {
    this.pages = new Array<MPage | null>((max - min) / PS).fill(null);
  }

  // ------------------------------------------------------------ pages and entries

  page(a: number): MPage | null {
    return a >= this.min && a < this.max ? this.pages[(a - this.min) / PS] : null;
  }

  #put(a: number, p: MPage | null): void {
    const i = (a - this.min) / PS;
    if (!samePage(this.pages[i], p)) this.dirty = true;
    this.pages[i] = p;
  }

  #setAnonLoc(v: number): void {
    if (v !== this.anonLoc) this.dirty = true;
    this.anonLoc = v;
  }

  /** Every entry in address order. */
  entries(): MEnt[] {
    const out: MEnt[] = [];
    let cur: MEnt | null = null;
    let prev: MPage | null = null;
    for (let i = 0; i < this.pages.length; i++) {
      const p = this.pages[i];
      const a = this.min + i * PS;
      if (p === null) cur = null;
      else if (cur !== null && prev !== null && mergeable(prev, p)) cur.e = a + PS;
      else {
        cur = { s: a, e: a + PS, p };
        out.push(cur);
      }
      prev = p;
    }
    return out;
  }

  /** The entries that meet [s, e). */
  entriesIn(s: number, e: number): MEnt[] {
    return this.entries().filter((E) => E.e > s && E.s < e);
  }

  /** The entry containing a, or null. */
  entryAt(a: number): MEnt | null {
    const p = this.page(a);
    if (p === null) return null;
    let s = a;
    for (;;) {
      const q = this.page(s - PS);
      const r = this.page(s);
      if (q === null || r === null || !mergeable(q, r)) break;
      s -= PS;
    }
    let e = a + PS;
    for (;;) {
      const q = this.page(e - PS);
      const r = this.page(e);
      if (q === null || r === null || !mergeable(q, r)) break;
      e += PS;
    }
    return { s, e, p: this.page(s)! };
  }

  /** Would vm_map_clip_start/_end of the entry containing `a` at `a` fail (§4.8)? */
  #clipFails(a: number): boolean {
    const E = this.entryAt(a);
    if (E === null || E.s === a) return false;
    return bdryIndex(E.p) !== 0 && a % SP !== 0;
  }

  /**
   * Clips at `a`. Entry boundaries are derived, so the only visible effect is vm_map_entry_back:
   * an objectless, non-guard entry that is split gets one anonymous object for its whole range.
   */
  #clipAt(a: number): void {
    const E = this.entryAt(a);
    if (E === null || E.s === a) return;
    if (E.p.obj !== null || isGuard(E.p)) return;
    const id = this.#nextAnon--;
    for (let x = E.s; x < E.e; x += PS)
      this.#put(x, { ...this.page(x)!, obj: id, idx: (x - E.s) / PS });
  }

  #clamp(s: number, e: number): [number, number] {
    if (s < this.min) s = this.min;
    if (e > this.max) e = this.max;
    if (s > e) s = e;
    return [s, e];
  }

  #rangeValid(s: number, e: number): boolean {
    return e >= s && s >= this.min && e <= this.max;
  }

  // ------------------------------------------------------------ findspace (§3.5, §4.4, §4.5)

  /** vm_map_findspace: the lowest fit at or above start, or null (the failure sentinel). */
  #findSpace(start: number, len: number): number | null {
    start = Math.max(start, this.min);
    if (start >= this.max || len > this.max - start) return null;
    const E = this.entryAt(start);
    if (E !== null) start = E.e;
    let a = start;
    for (;;) {
      if (a + len > this.max) return null;
      let blocked = -1;
      for (let x = a; x < a + len; x += PS)
        if (this.page(x) !== null) {
          blocked = x;
          break;
        }
      if (blocked < 0) return a;
      a = blocked + PS;
    }
  }

  /** pmap_align_superpage (amd64): NBPDR = SP; object colour is 0 here. */
  #alignSuper(offset: number, a: number, size: number): number {
    if (size < SP) return a;
    const so = offset % SP;
    if (size - ((SP - so) % SP) < SP || a % SP === so) return a;
    if (a % SP < so) return a - (a % SP) + so;
    return a - (a % SP) + SP + so;
  }

  /** vm_map_alignspace: null for KERN_NO_SPACE. */
  #alignSpace(
    offset: number,
    a: number,
    len: number,
    maxAddr: number,
    alignment: number,
  ): number | null {
    let free = a;
    for (;;) {
      const aligned =
        alignment === 0
          ? this.#alignSuper(offset, a, len)
          : a % alignment === 0
            ? a
            : (Math.floor(a / alignment) + 1) * alignment;
      if (aligned === free) return aligned;
      if (aligned < free) return null;
      const f = this.#findSpace(aligned, len);
      if (f === null || f + len > this.max || (maxAddr !== 0 && f + len > maxAddr)) return null;
      if (f === aligned) return f;
      free = a = f;
    }
  }

  // ------------------------------------------------------------ core operations

  /** vm_map_insert (§4.2), arguments already validated. */
  #insert(
    obj: HObj | null,
    off: number,
    s: number,
    e: number,
    prot: number,
    max: number,
    cow: number,
  ): number {
    if (s === e || !this.#rangeValid(s, e)) return KERN_INVALID_ADDRESS;
    if (this.wxorx && (prot & (VM_PROT_WRITE | VM_PROT_EXECUTE)) === 6)
      return KERN_PROTECTION_FAILURE;
    if (this.page(s) !== null) return KERN_NO_SPACE;
    for (let x = s; x < e; x += PS) if (this.page(x) !== null) return KERN_NO_SPACE;
    if ((cow & MAP_CREATE_GUARD) !== 0 && (obj !== null || max !== VM_PROT_NONE))
      return KERN_INVALID_ARGUMENT;
    let eflags = eflagsOfCow(cow);
    const b = (cow & MAP_SPLIT_BOUNDARY_MASK) >>> MAP_SPLIT_BOUNDARY_SHIFT;
    if (b !== 0) {
      if (b >= 2) return KERN_INVALID_ARGUMENT; // pagesizes[] = [page, superpage]
      if (s % SP !== 0 || e % SP !== 0) return KERN_INVALID_ARGUMENT;
      eflags |= b << MAP_ENTRY_SPLIT_BOUNDARY_SHIFT;
    }
    const inh = (cow & MAP_INHERIT_SHARE) !== 0 ? VM_INHERIT_SHARE : VM_INHERIT_COPY;
    // Backing of the new pages.
    let bobj: number | null = obj === null ? null : obj.id;
    let bidx = obj === null ? 0 : off / PS;
    if (obj === null) {
      // Coalescing with the previous entry (step 10): the pages continue its object.
      const prev = this.page(s - PS);
      if (
        prev !== null &&
        (prev.eflags & ~MAP_ENTRY_USER_WIRED) === eflags &&
        (cow & (MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP | MAP_VN_EXEC)) === 0 &&
        (prev.obj === null || prev.obj < 0)
      ) {
        bobj = prev.obj;
        bidx = prev.obj === null ? 0 : prev.idx + 1;
      }
    }
    for (let x = s, k = 0; x < e; x += PS, k++)
      this.#put(x, {
        prot,
        max,
        inh,
        eflags,
        wired: 0,
        obj: bobj,
        idx: bobj === null ? 0 : bidx + k,
      });
    return KERN_SUCCESS;
  }

  /** vm_map_delete (§4.16) on a range inside the map. */
  #delete(s: number, e: number): number {
    if (s >= e) return KERN_SUCCESS;
    if (this.#clipFails(s) || this.#clipFails(e)) return KERN_INVALID_ARGUMENT;
    for (let x = s; x < e; x += PS) {
      const p = this.page(x);
      if (p !== null && sysWired(p) > 0) return KERN_FAILURE;
    }
    this.#clipAt(s);
    this.#clipAt(e);
    for (const E of this.entriesIn(s, e)) {
      const cs = Math.max(E.s, s);
      const ce = Math.min(E.e, e);
      if (ce === this.anonLoc) this.#setAnonLoc(cs);
    }
    for (let x = s; x < e; x += PS) this.#put(x, null);
    return KERN_SUCCESS;
  }

  // ------------------------------------------------------------ public operations

  apply(op: Op, hobjs: readonly HObj[]): Outcome {
    switch (op.k) {
      case "insert":
        if (!okAddr(op.s) || !okAddr(op.e) || !okInsertArgs(op.off, op.prot, op.max, op.cow))
          return { rv: KERN_INVALID_ARGUMENT };
        return {
          rv: this.#insert(
            op.obj === null ? null : hobjs[op.obj],
            op.off,
            op.s,
            op.e,
            op.prot,
            op.max,
            op.cow,
          ),
        };
      case "find":
        return this.#find(op, op.obj === null ? null : hobjs[op.obj]);
      case "fixed": {
        if (
          !okAddr(op.s) ||
          !okAddr(op.len) ||
          !Number.isSafeInteger(op.s + op.len) ||
          !okInsertArgs(op.off, op.prot, op.max, op.cow)
        )
          return { rv: KERN_INVALID_ARGUMENT };
        const [s, e] = this.#clamp(op.s, op.s + op.len);
        if ((op.cow & MAP_CHECK_EXCL) === 0) {
          const rv = this.#delete(s, e);
          if (rv !== KERN_SUCCESS) return { rv };
        }
        const obj = op.obj === null ? null : hobjs[op.obj];
        return { rv: this.#insert(obj, op.off, s, e, op.prot, op.max, op.cow) };
      }
      case "remove": {
        if (!okClamp(op.s) || !okClamp(op.e)) return { rv: KERN_INVALID_ARGUMENT };
        const [s, e] = this.#clamp(op.s, op.e);
        return { rv: this.#delete(s, e) };
      }
      case "delete":
        // VmMap.delete's contract: the range must lie in the map (no clamping).
        if (!okClamp(op.s) || !okClamp(op.e)) return { rv: KERN_INVALID_ARGUMENT };
        if (!this.#rangeValid(op.s, op.e))
          return { rv: op.s > op.e ? KERN_SUCCESS : KERN_INVALID_ADDRESS };
        return { rv: this.#delete(op.s, op.e) };
      case "protect":
        return { rv: this.#protect(op.s, op.e, op.prot, op.max, op.flags) };
      case "inherit":
        return { rv: this.#inherit(op.s, op.e, op.inh) };
      case "madvise":
        return { rv: this.#madvise(op.s, op.e, op.behav) };
      case "wire":
        return { rv: this.#wire(op.s, op.e, op.flags) };
      case "unwire":
        return { rv: this.#unwire(op.s, op.e, op.flags) };
    }
  }

  /** vm_map_find (§4.4) without ASLR. */
  #find(op: Extract<Op, { k: "find" }>, obj: HObj | null): Outcome {
    const { off, addr, len, maxAddr, prot, max, cow } = op;
    let fs = op.fs;
    if (
      !okAddr(addr) ||
      !okAddr(len) ||
      !okAddr(maxAddr) ||
      !Number.isInteger(fs) ||
      fs < 0 ||
      fs > 63 * 256 ||
      (fs > VMFS_SUPER_SPACE && fs % 256 !== 0) ||
      !okInsertArgs(off, prot, max, cow)
    )
      return { rv: KERN_INVALID_ARGUMENT };
    if (fs === VMFS_OPTIMAL_SPACE && (obj === null || !obj.colored)) fs = VMFS_ANY_SPACE;
    const alignment = fs >= 256 ? 2 ** (fs / 256) : 0;
    const clusterOk =
      this.cluster === 2 || (this.cluster === 1 && (addr === 0 || (cow & MAP_NO_HINT) !== 0));
    const updateAnon =
      clusterOk &&
      maxAddr === 0 &&
      fs !== VMFS_NO_SPACE &&
      obj === null &&
      (cow & (MAP_INHERIT_SHARE | MAP_STACK_GROWS_UP | MAP_STACK_GROWS_DOWN)) === 0 &&
      prot !== VM_PROT_NONE;
    let cluster = updateAnon;
    const minAddr = addr;
    let curr = addr;
    if (cluster) {
      curr = this.anonLoc;
      if (curr === 0) cluster = false;
    }
    let a = addr;
    if (fs !== VMFS_NO_SPACE) {
      let tries = 0;
      for (;;) {
        tries++;
        if (tries === 2) curr = minAddr;
        const f = this.#findSpace(curr, len);
        if (f === null || f + len > this.max || (maxAddr !== 0 && f + len > maxAddr)) {
          if (cluster) {
            cluster = false;
            continue;
          }
          return { rv: KERN_NO_SPACE };
        }
        a = f;
        if (fs !== VMFS_ANY_SPACE) {
          const r = this.#alignSpace(off, a, len, maxAddr, alignment);
          if (r === null) {
            if (fs === VMFS_OPTIMAL_SPACE) {
              fs = VMFS_ANY_SPACE;
              curr = minAddr;
              cluster = updateAnon;
              tries = 0;
              continue;
            }
            return { rv: KERN_NO_SPACE };
          }
          a = r;
        }
        break;
      }
    } else if ((cow & MAP_REMAP) !== 0) {
      if (!this.#rangeValid(a, a + len)) return { rv: KERN_INVALID_ADDRESS };
      const rv = this.#delete(a, a + len);
      if (rv !== KERN_SUCCESS) return { rv };
    }
    const rv = this.#insert(obj, off, a, a + len, prot, max, cow);
    if (rv === KERN_SUCCESS && updateAnon) this.#setAnonLoc(a + len);
    return { rv, addr: a };
  }

  /** vm_map_protect (§4.11). */
  #protect(start: number, end: number, np: number, nm: number, flags: number): number {
    if (!okClamp(start) || !okClamp(end) || !okProt(np) || !okProt(nm))
      return KERN_INVALID_ARGUMENT;
    if (!Number.isInteger(flags) || flags < 0 || flags > 3) return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    const setProt = (flags & VM_MAP_PROTECT_SET_PROT) !== 0;
    const setMax = (flags & VM_MAP_PROTECT_SET_MAXPROT) !== 0;
    if (setProt && setMax && (np & ~nm) !== 0) return KERN_OUT_OF_BOUNDS;
    if (this.wxorx && setProt && (np & 6) === 6) return KERN_PROTECTION_FAILURE;
    const [s, e] = this.#clamp(start, end);
    if (s >= e) return KERN_SUCCESS;
    // Pass 1: validation, guards skipped.
    let any = false;
    for (let x = s; x < e; x += PS) {
      const p = this.page(x);
      if (p === null) continue;
      any = true;
      if (isGuard(p)) continue;
      const pp = setProt ? np : p.prot;
      const mm = setMax ? nm : p.max;
      if ((pp & ~p.max) !== 0 || (mm & ~p.max) !== 0) return KERN_PROTECTION_FAILURE;
    }
    if (!any) return KERN_SUCCESS;
    if (this.#clipFails(s) || this.#clipFails(e)) return KERN_INVALID_ARGUMENT;
    this.#clipAt(s);
    this.#clipAt(e);
    for (const E of this.entriesIn(s, e)) {
      if (isGuard(E.p)) continue;
      const cs = Math.max(E.s, s);
      const ce = Math.min(E.e, e);
      const old = E.p.prot;
      let nprot = old;
      let nmax = E.p.max;
      if (setMax) {
        nmax = nm;
        nprot = nm & old;
      }
      if (setProt) nprot = np;
      let eflags = E.p.eflags;
      let newObj: number | null = null;
      // vm_fault_copy_entry: a user-wired COW entry gaining WRITE stops being copy-on-write;
      // it gets a private object only while NEEDS_COPY is set (or it has none), otherwise it
      // keeps its own.
      if (
        (eflags & MAP_ENTRY_USER_WIRED) !== 0 &&
        (nprot & VM_PROT_WRITE) !== 0 &&
        (old & VM_PROT_WRITE) === 0 &&
        (eflags & MAP_ENTRY_COW) !== 0
      ) {
        if ((eflags & MAP_ENTRY_NEEDS_COPY) !== 0 || E.p.obj === null) newObj = this.#nextAnon--;
        eflags &= ~(MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY);
      }
      for (let x = cs; x < ce; x += PS) {
        const p = this.page(x)!;
        this.#put(x, {
          ...p,
          prot: nprot,
          max: nmax,
          eflags,
          obj: newObj ?? p.obj,
          idx: newObj === null ? p.idx : (x - cs) / PS,
        });
      }
    }
    return KERN_SUCCESS;
  }

  /** vm_map_inherit (§4.13). */
  #inherit(start: number, end: number, inh: number): number {
    if (inh !== 0 && inh !== 1 && inh !== 2 && inh !== 3) return KERN_INVALID_ARGUMENT;
    if (!okClamp(start) || !okClamp(end)) return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    const [s, e] = this.#clamp(start, end);
    if (s >= e) return KERN_SUCCESS;
    if (this.#clipFails(s) || this.#clipFails(e)) return KERN_INVALID_ARGUMENT;
    if (inh === VM_INHERIT_COPY)
      for (let x = s; x < e; x += PS) {
        const p = this.page(x);
        if (p !== null && bdryIndex(p) !== 0) return KERN_INVALID_ARGUMENT;
      }
    this.#clipAt(s);
    this.#clipAt(e);
    for (let x = s; x < e; x += PS) {
      const p = this.page(x);
      if (p === null) continue;
      if (!isGuard(p) || inh !== VM_INHERIT_ZERO) this.#put(x, { ...p, inh });
    }
    return KERN_SUCCESS;
  }

  /** vm_map_madvise (§4.12); returns an errno. */
  #madvise(start: number, end: number, behav: number): number {
    if (!Number.isInteger(behav) || behav < MADV_NORMAL || behav > MADV_CORE) return EINVAL;
    if (!okClamp(start) || !okClamp(end)) return EINVAL;
    if (start === end) return 0;
    if (behav === MADV_WILLNEED || behav === MADV_DONTNEED || behav === MADV_FREE) return 0;
    const [s, e] = this.#clamp(start, end);
    if (s >= e) return 0;
    if (this.#clipFails(s) || this.#clipFails(e)) return EINVAL;
    this.#clipAt(s);
    this.#clipAt(e);
    for (let x = s; x < e; x += PS) {
      const p = this.page(x);
      if (p === null) continue;
      let f = p.eflags;
      if (behav in BEHAV_OF) f = (f & ~MAP_ENTRY_BEHAV_MASK) | BEHAV_OF[behav];
      else if (behav === MADV_NOSYNC) f |= MAP_ENTRY_NOSYNC;
      else if (behav === MADV_AUTOSYNC) f &= ~MAP_ENTRY_NOSYNC;
      else if (behav === MADV_NOCORE) f |= MAP_ENTRY_NOCOREDUMP;
      else if (behav === MADV_CORE) f &= ~MAP_ENTRY_NOCOREDUMP;
      this.#put(x, { ...p, eflags: f });
    }
    return 0;
  }

  /** Common start of wire/unwire: validation, clamp, lookup of the start (§4.14 step 1). */
  #wireStart(
    start: number,
    end: number,
    flags: number,
    maxFlags: number,
  ): number | [number, number] {
    if (!okClamp(start) || !okClamp(end)) return KERN_INVALID_ARGUMENT;
    if (!Number.isInteger(flags) || flags < 0 || flags > maxFlags) return KERN_INVALID_ARGUMENT;
    if (start === end) return KERN_SUCCESS;
    const [s, e] = this.#clamp(start, end);
    if (this.page(s) === null && (flags & VM_MAP_WIRE_HOLESOK) === 0) return KERN_INVALID_ADDRESS;
    if (s >= e) return KERN_SUCCESS;
    return [s, e];
  }

  /** The clip errors of the walk over entry E of [s, e). */
  #walkClipFails(E: MEnt, s: number, e: number): boolean {
    return bdryIndex(E.p) !== 0 && ((E.s < s && s % SP !== 0) || (E.e > e && e % SP !== 0));
  }

  /** vm_map_wire (§4.14): all or nothing; errors in the order of the entry walk. */
  #wire(start: number, end: number, flags: number): number {
    const r = this.#wireStart(start, end, flags, 15);
    if (typeof r === "number") return r;
    const [s, e] = r;
    const user = (flags & VM_MAP_WIRE_USER) !== 0;
    const holesOk = (flags & VM_MAP_WIRE_HOLESOK) !== 0;
    const needWrite = (flags & VM_MAP_WIRE_WRITE) !== 0;
    // NOFAULT (Linux's VM_LOCKED) marks every entry but guards, with or without access.
    const skip = (p: MPage): boolean =>
      (flags & VM_MAP_WIRE_NOFAULT) !== 0
        ? isGuard(p)
        : (p.prot & (VM_PROT_READ | VM_PROT_EXECUTE)) === 0 ||
          (needWrite && (p.prot & VM_PROT_WRITE) === 0);
    for (const E of this.entriesIn(s, e)) {
      if (this.#walkClipFails(E, s, e)) return KERN_INVALID_ARGUMENT;
      if (skip(E.p) && !holesOk) return KERN_INVALID_ADDRESS;
      if (!holesOk && E.e < e && this.page(E.e) === null) return KERN_INVALID_ADDRESS;
    }
    this.#clipAt(s);
    this.#clipAt(e);
    for (let x = s; x < e; x += PS) {
      const p = this.page(x);
      if (p === null || skip(p)) continue;
      let wired = p.wired;
      let eflags = p.eflags;
      if (wired === 0) wired = 1;
      else if (!user || (eflags & MAP_ENTRY_USER_WIRED) === 0) wired++;
      if (user) eflags |= MAP_ENTRY_USER_WIRED;
      this.#put(x, { ...p, wired, eflags });
    }
    return KERN_SUCCESS;
  }

  /** vm_map_unwire (§4.14): per entry, clips, then the hole after it, then its system wiring. */
  #unwire(start: number, end: number, flags: number): number {
    const r = this.#wireStart(start, end, flags, 7);
    if (typeof r === "number") return r;
    const [s, e] = r;
    const user = (flags & VM_MAP_WIRE_USER) !== 0;
    const holesOk = (flags & VM_MAP_WIRE_HOLESOK) !== 0;
    for (const E of this.entriesIn(s, e)) {
      if (this.#walkClipFails(E, s, e)) return KERN_INVALID_ARGUMENT;
      if (!holesOk && E.e < e && this.page(E.e) === null) return KERN_INVALID_ADDRESS;
      if (!user && sysWired(E.p) === 0) return KERN_INVALID_ARGUMENT;
    }
    this.#clipAt(s);
    this.#clipAt(e);
    for (let x = s; x < e; x += PS) {
      const p = this.page(x);
      if (p === null) continue;
      if (user && (p.eflags & MAP_ENTRY_USER_WIRED) === 0) continue;
      let wired = p.wired;
      let eflags = p.eflags;
      if (wired === 1) {
        wired = 0;
        eflags &= ~MAP_ENTRY_USER_WIRED;
      } else wired--;
      if (user) eflags &= ~MAP_ENTRY_USER_WIRED;
      this.#put(x, { ...p, wired, eflags });
    }
    return KERN_SUCCESS;
  }
}

// ---------------------------------------------------------------- running an op on the map

function exec(map: VmMap, op: Op, objs: readonly VmObject[]): Outcome {
  // A caller passes an object with a reference for the new entry; a failed call leaves it.
  const withObj = (i: number | null, call: (o: VmObject | null) => Outcome): Outcome => {
    if (i === null) return call(null);
    const o = objs[i];
    o.reference();
    const r = call(o);
    if (r.rv !== KERN_SUCCESS) o.deallocate();
    return r;
  };
  switch (op.k) {
    case "insert":
      return withObj(op.obj, (o) => ({
        rv: map.insert(o, op.off, op.s, op.e, op.prot, op.max, op.cow),
      }));
    case "find":
      return withObj(op.obj, (o) =>
        map.find(o, op.off, op.addr, op.len, op.maxAddr, op.fs, op.prot, op.max, op.cow),
      );
    case "fixed":
      return withObj(op.obj, (o) => ({
        rv: map.fixed(o, op.off, op.s, op.len, op.prot, op.max, op.cow),
      }));
    case "remove":
      return { rv: map.remove(op.s, op.e) };
    case "delete":
      return { rv: map.delete(op.s, op.e) };
    case "protect":
      return { rv: map.protect(op.s, op.e, op.prot, op.max, op.flags) };
    case "inherit":
      return { rv: map.inherit(op.s, op.e, op.inh) };
    case "madvise":
      return { rv: map.madvise(op.s, op.e, op.behav) };
    case "wire":
      return { rv: map.wire(op.s, op.e, op.flags) };
    case "unwire":
      return { rv: map.unwire(op.s, op.e, op.flags) };
  }
}

// ---------------------------------------------------------------- comparison

/** Pairs model anonymous objects with the implementation's objects, one to one. */
class Ident {
  readonly #m2i = new Map<number, number>();
  readonly #i2m = new Map<number, number>();
  constructor(readonly vnodeIds: ReadonlySet<number>) {}
  /** The implementation object paired with model object m, if any. */
  implOf(m: number): number | undefined {
    return this.#m2i.get(m);
  }
  /** Returns an error text, or null when consistent. */
  bind(m: number, i: number): string | null {
    const a = this.#m2i.get(m);
    const b = this.#i2m.get(i);
    if (a === undefined && b === undefined) {
      this.#m2i.set(m, i);
      this.#i2m.set(i, m);
      return null;
    }
    if (a === i && b === m) return null;
    return `model object ${m} is implementation object ${a ?? "(none)"}, implementation object ${i} is model object ${b ?? "(none)"}`;
  }
}

function pageText(p: MPage | null): string {
  if (p === null) return "unmapped";
  return `prot=${p.prot} max=${p.max} inh=${p.inh} eflags=${hx(p.eflags)} wired=${p.wired} obj=${p.obj}@${p.idx}`;
}

function dumpModel(m: Model): string {
  return m
    .entries()
    .map(
      (E) =>
        `    [${hx(E.s)}, ${hx(E.e)}) prot=${E.p.prot} max=${E.p.max} inh=${E.p.inh} eflags=${hx(E.p.eflags)} wired=${E.p.wired} obj=${E.p.obj === null ? "null" : `${E.p.obj}@${E.p.idx}`}`,
    )
    .join("\n");
}

function dumpMap(map: VmMap): string {
  return map
    .state()
    .entries.map(
      (e) =>
        `    [${hx(e.start)}, ${hx(e.end)}) prot=${e.protection} max=${e.maxProtection} inh=${e.inheritance} eflags=${hx(e.eflags)} wired=${e.wiredCount} obj=${e.object === null ? "null" : `${e.object}@${e.offset / PS}`}`,
    )
    .join("\n");
}

/** The state of an implementation entry's page `a`, for messages. */
function implPageText(e: VmMapEntry, a: number): string {
  const obj = e.object === null ? "null" : `${e.object.id}@${(e.offset + a - e.start) / PS}`;
  return `prot=${e.protection} max=${e.maxProtection} inh=${e.inheritance} eflags=${hx(e.eflags)} wired=${e.wiredCount} obj=${obj}`;
}

/**
 * Throws when the map and the model disagree: any page's attributes or backing (objects matched
 * bijectively), the entry boundaries, size, nentries or anonLoc.
 */
function compare(model: Model, map: VmMap, ident: Ident): void {
  const { min, max } = model;
  const unmappedUpTo = (from: number, to: number): void => {
    for (let a = from; a < to; a += PS) {
      const p = model.page(a);
      if (p !== null) throw new Error(`page ${hx(a)}: want ${pageText(p)}, got unmapped`);
    }
  };
  let next = min;
  let count = 0;
  for (const e of map.entries()) {
    count++;
    if (e.start < next || e.end > max || e.start >= e.end)
      throw new Error(`entry [${hx(e.start)}, ${hx(e.end)}) out of order or outside the map`);
    unmappedUpTo(next, e.start);
    const obj = e.object;
    if (obj !== null) {
      const first = model.page(e.start);
      if (first !== null && first.obj !== null && first.obj < 0) {
        if (ident.vnodeIds.has(obj.id) || !obj.isAnon)
          throw new Error(`page ${hx(e.start)}: want an anonymous object, got object ${obj.id}`);
        const err = ident.bind(first.obj, obj.id);
        if (err !== null) throw new Error(`page ${hx(e.start)}: ${err}`);
      }
    }
    for (let a = e.start; a < e.end; a += PS) {
      const p = model.page(a);
      const ok =
        p !== null &&
        p.prot === e.protection &&
        p.max === e.maxProtection &&
        p.inh === e.inheritance &&
        p.eflags === e.eflags &&
        p.wired === e.wiredCount &&
        (obj === null
          ? p.obj === null
          : p.obj !== null &&
            (p.obj > 0 ? p.obj === obj.id : ident.implOf(p.obj) === obj.id) &&
            p.idx === (e.offset + a - e.start) / PS);
      if (!ok) throw new Error(`page ${hx(a)}: want ${pageText(p)}, got ${implPageText(e, a)}`);
    }
    // Entry boundaries: the model's pages across each end must not be mergeable.
    for (const a of [e.start, e.end]) {
      const l = model.page(a - PS);
      const r = model.page(a);
      if (l !== null && r !== null && mergeable(l, r))
        throw new Error(`entry boundary at ${hx(a)} where the model has one entry`);
    }
    next = e.end;
  }
  unmappedUpTo(next, max);
  let size = 0;
  for (const p of model.pages) if (p !== null && !isGuard(p)) size += PS;
  if (map.size !== size) throw new Error(`size: want ${hx(size)}, got ${hx(map.size)}`);
  if (map.nentries !== count) throw new Error(`nentries ${map.nentries}, but ${count} entries`);
  if (map.anonLoc !== model.anonLoc)
    throw new Error(`anonLoc: want ${hx(model.anonLoc)}, got ${hx(map.anonLoc)}`);
}

// ---------------------------------------------------------------- replay

interface Cfg {
  minPage: number;
  npages: number;
  wxorx: boolean;
  cluster: 0 | 1 | 2;
  /**
   * Entry tree capacities [inner, leaf]: small ones make deep trees from the few entries a run
   * makes; [64, 16] is the default.
   */
  tree: readonly [number, number];
}

let opsRun = 0;

function replay(cfg: Cfg, ops: readonly Op[]): void {
  const min = cfg.minPage * PS;
  const max = min + cfg.npages * PS;
  const map = VmMap.create(null, min, max, {
    superpageSize: SP,
    flags: cfg.wxorx ? MAP_WXORX : 0,
    clusterAnon: cfg.cluster,
    treeCapacity: cfg.tree[0],
    treeLeafCapacity: cfg.tree[1],
  });
  const objs = [
    new VmObject(null, "vnode", 1 << 16, 0),
    new VmObject(null, "vnode", 1 << 16, OBJ_COLORED),
  ];
  const hobjs: HObj[] = objs.map((o) => ({ id: o.id, colored: (o.flags & OBJ_COLORED) !== 0 }));
  const model = new Model(min, max, cfg.wxorx, cfg.cluster);
  const ident = new Ident(new Set(hobjs.map((o) => o.id)));
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const fail = (msg: string): never => {
      throw new Error(
        `step ${i + 1}: ${opText(op)}: ${msg}\n  model:\n${dumpModel(model)}\n  map:\n${dumpMap(map)}`,
      );
    };
    const before = map.state();
    model.dirty = false;
    const want = model.apply(op, hobjs);
    const got = exec(map, op, objs);
    opsRun++;
    const name = (rv: number): string => (op.k === "madvise" ? `errno ${rv}` : kernName(rv));
    if (got.rv !== want.rv) fail(`returned ${name(got.rv)}, want ${name(want.rv)}`);
    if (op.k === "find" && want.rv === KERN_SUCCESS && got.addr !== want.addr)
      fail(`placed at ${hx(got.addr ?? Number.NaN)}, want ${hx(want.addr ?? Number.NaN)}`);
    if (!model.dirty) {
      const was = JSON.stringify(before);
      if (JSON.stringify(map.state()) !== was)
        fail(`the map changed although the call changes nothing\n  before: ${was}`);
    }
    try {
      auditMap(map);
      compare(model, map, ident);
      checkLookups(model, map, i);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
  }
}

/**
 * lookupEntry against the model, at a few addresses (spread by a multiplicative hash over the
 * map and just outside it) and at entry bounds: `found` iff the page is mapped, the entry
 * containing the address, or else the closest entry below it (null when there is none).
 */
function checkLookups(model: Model, map: VmMap, step: number): void {
  const span = model.max - model.min;
  const addrs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const h = Math.imul(step * 3 + k + 1, 0x9e3779b1) >>> 0;
    addrs.push(model.min - PS + (h % (span + 2 * PS)));
  }
  // Every entry's bounds too: the one the last operation left as the map's hint among them.
  let n = 0;
  for (const e of map.entries()) {
    if (n++ === 24) break;
    addrs.push(e.start, e.end, e.end - 1);
  }
  for (const a of addrs) {
    const r = map.lookupEntry(a);
    const pageA = a - (((a % PS) + PS) % PS);
    const mapped = model.page(pageA) !== null;
    if (r.found !== mapped) throw new Error(`lookupEntry(${hx(a)}).found is ${r.found}`);
    const e = r.entry;
    if (mapped) {
      if (e === null || a < e.start || a >= e.end)
        throw new Error(`lookupEntry(${hx(a)}) found an entry that does not contain it`);
      continue;
    }
    let below = pageA - PS;
    while (below >= model.min && model.page(below) === null) below -= PS;
    if (below < model.min) {
      if (e !== null) throw new Error(`lookupEntry(${hx(a)}) has a predecessor; none is mapped`);
    } else if (e === null || e.end !== below + PS)
      throw new Error(
        `lookupEntry(${hx(a)}): predecessor ends at ${hx(e?.end ?? Number.NaN)}, want ${hx(below + PS)}`,
      );
  }
}

// ---------------------------------------------------------------- generators

/** Named values an address or length argument can take besides page numbers. */
const SPECIAL_OK = ["zero", "min", "max", "maxp", "minm", "big"] as const;
const SPECIAL_BAD = [
  "nan",
  "neg",
  "negone",
  "frac",
  "unal",
  "half",
  "p53",
  "p53b",
  "maxv",
  "inf",
  "ninf",
] as const;
type Special = (typeof SPECIAL_OK)[number] | (typeof SPECIAL_BAD)[number];
/** A page number (relative to min, wrapped to the map) or a named value. */
type Tok = number | Special;

function special(t: Special, cfg: Cfg, forLength: boolean): number {
  const min = cfg.minPage * PS;
  const max = min + cfg.npages * PS;
  switch (t) {
    case "zero":
      return 0;
    case "min":
      return forLength ? PS : min;
    case "max":
      return forLength ? max - min : max;
    case "maxp":
      return forLength ? max - min + PS : max + PS;
    case "minm":
      return forLength ? 2 * PS : min - PS;
    case "big":
      return 2 ** 52;
    case "nan":
      return Number.NaN;
    case "neg":
      return -PS;
    case "negone":
      return -1;
    case "frac":
      return 1.5;
    case "unal":
      return forLength ? PS + 1 : min + PS + 1;
    case "half":
      return forLength ? PS / 2 : min + PS / 2;
    case "p53":
      return 2 ** 53;
    case "p53b":
      return 2 ** 53 + 2 * PS;
    case "maxv":
      return Number.MAX_VALUE;
    case "inf":
      return Number.POSITIVE_INFINITY;
    case "ninf":
      return Number.NEGATIVE_INFINITY;
  }
}

function addrOf(t: Tok, cfg: Cfg): number {
  if (typeof t === "number") return (cfg.minPage + (t % (cfg.npages + 3))) * PS;
  return special(t, cfg, false);
}

const tokArb: fc.Arbitrary<Tok> = fc.oneof(
  // Page numbers: half of them on a coarse grid, so that operations often meet the same entries.
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 31 }).map((n) => n * 4) },
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 259 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_OK) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_BAD) },
);

const pagesArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 4 }).map((n) => n * 4) },
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 8 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 260 }) },
);

type LenTok = number | Special;
const lenArb: fc.Arbitrary<LenTok> = fc.oneof(
  { weight: 40, arbitrary: pagesArb },
  { weight: 1, arbitrary: fc.constantFrom<Special>("big", ...SPECIAL_BAD) },
);
function lenOf(t: LenTok, cfg: Cfg): number {
  return typeof t === "number" ? t * PS : special(t, cfg, true);
}

type RawRange = { s: Tok; n: number } | { s: Tok; e: Tok } | { sp: number; n: number };
const rangeArb: fc.Arbitrary<RawRange> = fc.oneof(
  { weight: 16, arbitrary: fc.record({ s: tokArb, n: pagesArb }) },
  { weight: 2, arbitrary: fc.record({ s: tokArb, e: tokArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      sp: fc.integer({ min: 0, max: 16 }),
      n: fc.integer({ min: 0, max: 3 }),
    }),
  },
);

/**
 * [start, end) of a raw range. For clamping functions an inverted range whose end lies strictly
 * inside the map is turned around (FreeBSD's behaviour there depends on clipping artefacts).
 */
function rangeOf(r: RawRange, cfg: Cfg, clamping: boolean): [number, number] {
  const min = cfg.minPage * PS;
  const max = min + cfg.npages * PS;
  if ("sp" in r) {
    const base = Math.ceil(min / SP) * SP + r.sp * SP;
    return [base, base + r.n * SP];
  }
  const s = addrOf(r.s, cfg);
  if ("n" in r) return [s, s + r.n * PS];
  const e = addrOf(r.e, cfg);
  if (clamping && s > e && e > min && e < max) return [e, s];
  return [s, e];
}

const BAD_PROTS = [8, 16, -1, 1.5, Number.NaN, 2 ** 32 + 1, 0x107];
const protArb = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_PROTS) },
);
/** (prot, max): usually prot ⊆ max; sometimes not, sometimes malformed. */
const protPairArb = fc.oneof(
  {
    weight: 30,
    arbitrary: fc
      .record({ max: fc.integer({ min: 0, max: 7 }), mask: fc.integer({ min: 0, max: 7 }) })
      .map(({ max, mask }) => ({ prot: max & mask, max })),
  },
  { weight: 2, arbitrary: fc.record({ prot: protArb, max: protArb }) },
);

/** cow bits that an ordinary mapping may carry (no stack, VN_EXEC or submap flags). */
const GOOD_COW = [
  MAP_INHERIT_SHARE,
  MAP_COPY_ON_WRITE,
  MAP_COPY_ON_WRITE,
  MAP_NOFAULT,
  MAP_PREFAULT,
  MAP_PREFAULT_PARTIAL,
  MAP_DISABLE_SYNCER,
  MAP_DISABLE_COREDUMP,
  MAP_WRITECOUNT,
  MAP_ACC_CHARGED,
  MAP_ACC_NO_CHARGE,
  MAP_NO_HINT,
  MAP_CREATE_STACK_GAP_DN,
  MAP_CREATE_STACK_GAP_UP,
  MAP_PREFAULT_MADVISE,
];
const BAD_COW = [
  0x400000,
  0x80000000,
  2 ** 32,
  2 ** 40 + MAP_COPY_ON_WRITE,
  -1,
  1.5,
  Number.NaN,
  MAP_STACK_GROWS_DOWN | MAP_STACK_GROWS_UP,
];

/** How an insert-like call builds its cow word. */
type CowRaw = {
  bits: number[];
  mode: "plain" | "guard" | "guardBad" | "bdry" | "bdryBad" | "bad";
  bad: number;
};
const cowArb: fc.Arbitrary<CowRaw> = fc.record({
  bits: fc.array(fc.constantFrom(...GOOD_COW), { maxLength: 3 }),
  mode: fc.oneof(
    { weight: 40, arbitrary: fc.constant("plain" as const) },
    { weight: 4, arbitrary: fc.constant("guard" as const) },
    { weight: 1, arbitrary: fc.constant("guardBad" as const) },
    { weight: 4, arbitrary: fc.constant("bdry" as const) },
    { weight: 1, arbitrary: fc.constant("bdryBad" as const) },
    { weight: 1, arbitrary: fc.constant("bad" as const) },
  ),
  bad: fc.constantFrom(...BAD_COW),
});

const objArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 1 }) },
);
const offArb = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 40 }).map((n) => n * PS) },
  { weight: 1, arbitrary: fc.constantFrom(-PS, 1, Number.NaN, 2 ** 53) },
);

/** The object, offset, prot, max and cow of an insert-like call. */
function mappingOf(
  raw: { obj: number | null; off: number; pp: { prot: number; max: number }; cow: CowRaw },
  excl: number,
): { obj: number | null; off: number; prot: number; max: number; cow: number } {
  let { obj } = raw;
  let { prot, max } = raw.pp;
  let cow = raw.cow.bits.reduce((a, b) => a | b, 0) | excl;
  switch (raw.cow.mode) {
    case "plain":
      break;
    case "guard":
      cow |= MAP_CREATE_GUARD;
      cow &= ~MAP_NOFAULT;
      obj = null;
      prot = max = VM_PROT_NONE;
      break;
    case "guardBad": // an object or a max protection: KERN_INVALID_ARGUMENT after the range checks
      cow |= MAP_CREATE_GUARD;
      if (max === VM_PROT_NONE) obj ??= 0;
      break;
    case "bdry":
      cow |= 1 << MAP_SPLIT_BOUNDARY_SHIFT;
      break;
    case "bdryBad":
      cow |= (prot & 1 ? 2 : 3) << MAP_SPLIT_BOUNDARY_SHIFT;
      break;
    case "bad":
      cow = raw.cow.bad;
      break;
  }
  // FreeBSD asserts that a NOFAULT mapping has no object (vm_map_insert); not generated.
  if (obj !== null && Number.isInteger(cow) && cow >= 0 && cow <= MAP_COW_ALL) cow &= ~MAP_NOFAULT;
  return { obj, off: raw.off, prot, max, cow };
}

const FS_OK = [
  VMFS_NO_SPACE,
  VMFS_ANY_SPACE,
  VMFS_OPTIMAL_SPACE,
  VMFS_SUPER_SPACE,
  ...[1, 12, 13, 14, 15, 16, 17, 18, 20, 40, 63].map(VMFS_ALIGNED_SPACE),
];
const FS_BAD = [4, 0x1ff, 0x301, 64 << 8, -1, 1.5, Number.NaN];
const fsArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...FS_OK) },
  { weight: 1, arbitrary: fc.constantFrom(...FS_BAD) },
);

const inhArb = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(4, -1, 1.5, Number.NaN, 0x101) },
);
const behavArb = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: MADV_NORMAL, max: MADV_CORE }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 10, 11, 1.5, Number.NaN, 2 ** 32) },
);
const protFlagsArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(1, 1, 2, 3) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(4, 7, -1, 1.5, Number.NaN, 2 ** 32 + 1) },
);
const wireFlagsArb = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 6, arbitrary: fc.integer({ min: 8, max: 15 }) },
  { weight: 1, arbitrary: fc.constantFrom(16, -1, 1.5, Number.NaN, 2 ** 32 + 1) },
);

/** A generated op (or a few), resolved once the map's configuration is known. */
type RawOp = (cfg: Cfg) => Op | Op[];

/**
 * A user-wired copy-on-write mapping that is then made writable (vm_fault_copy_entry in
 * vm_map_protect), as three ops on overlapping ranges: too rare to arise from independent ops.
 */
const wiredCowArb: fc.Arbitrary<RawOp> = fc
  .record({
    s: tokArb,
    n: fc.integer({ min: 1, max: 8 }),
    w: fc.tuple(fc.nat(8), fc.nat(8)),
    p: fc.tuple(fc.nat(8), fc.nat(8)),
    wflags: fc.constantFrom(1, 3, 5, 7),
    pflags: fc.constantFrom(1, 3),
    prot: fc.constantFrom(VM_PROT_READ, VM_PROT_READ | VM_PROT_EXECUTE),
    obj: objArb,
  })
  .map(
    (f): RawOp =>
      (cfg) => {
        const s = addrOf(f.s, cfg);
        const sub = ([a, b]: [number, number]): [number, number] => {
          const lo = Math.min(a, b) % f.n;
          return [s + lo * PS, s + Math.min(Math.max(a, b, lo + 1), f.n) * PS];
        };
        const [ws, we] = sub(f.w);
        const [ps, pe] = sub(f.p);
        const rw = VM_PROT_READ | VM_PROT_WRITE;
        return [
          {
            k: "fixed",
            obj: f.obj,
            off: 0,
            s,
            len: f.n * PS,
            prot: f.prot,
            max: 7,
            cow: MAP_COPY_ON_WRITE,
          },
          { k: "wire", s: ws, e: we, flags: f.wflags },
          { k: "protect", s: ps, e: pe, prot: rw, max: 7, flags: f.pflags },
        ];
      },
  );

const mappingRawArb = fc.record({ obj: objArb, off: offArb, pp: protPairArb, cow: cowArb });

const rawOpArb: fc.Arbitrary<RawOp> = fc.oneof(
  {
    weight: 16,
    arbitrary: fc.record({ m: mappingRawArb, r: rangeArb }).map(
      ({ m, r }): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(r, cfg, false);
          return { k: "insert", s, e, ...mappingOf(m, 0) };
        },
    ),
  },
  {
    weight: 16,
    arbitrary: fc
      .record({
        m: mappingRawArb,
        addr: fc.oneof(
          { weight: 1, arbitrary: fc.constant<Tok>("zero") },
          { weight: 2, arbitrary: tokArb },
        ),
        len: lenArb,
        maxAddr: fc.oneof(
          { weight: 3, arbitrary: fc.constant<Tok>("zero") },
          { weight: 2, arbitrary: tokArb },
        ),
        fs: fsArb,
        remap: fc.boolean(),
      })
      .map(
        (f): RawOp =>
          (cfg) => {
            const m = mappingOf(f.m, f.remap && f.fs === VMFS_NO_SPACE ? MAP_REMAP : 0);
            return {
              k: "find",
              addr: addrOf(f.addr, cfg),
              len: lenOf(f.len, cfg),
              maxAddr: addrOf(f.maxAddr, cfg),
              fs: f.fs,
              ...m,
            };
          },
      ),
  },
  {
    weight: 10,
    arbitrary: fc.record({ m: mappingRawArb, s: tokArb, len: lenArb, excl: fc.boolean() }).map(
      (f): RawOp =>
        (cfg) => ({
          k: "fixed",
          s: addrOf(f.s, cfg),
          len: lenOf(f.len, cfg),
          ...mappingOf(f.m, f.excl ? MAP_CHECK_EXCL : 0),
        }),
    ),
  },
  {
    weight: 7,
    arbitrary: rangeArb.map(
      (r): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(r, cfg, true);
          return { k: "remove", s, e };
        },
    ),
  },
  {
    weight: 3,
    arbitrary: rangeArb.map(
      (r): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(r, cfg, false);
          return { k: "delete", s, e };
        },
    ),
  },
  {
    weight: 12,
    arbitrary: fc.record({ r: rangeArb, prot: protArb, max: protArb, flags: protFlagsArb }).map(
      (f): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(f.r, cfg, true);
          return { k: "protect", s, e, prot: f.prot, max: f.max, flags: f.flags };
        },
    ),
  },
  {
    weight: 6,
    arbitrary: fc.record({ r: rangeArb, inh: inhArb }).map(
      (f): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(f.r, cfg, true);
          return { k: "inherit", s, e, inh: f.inh };
        },
    ),
  },
  {
    weight: 8,
    arbitrary: fc.record({ r: rangeArb, behav: behavArb }).map(
      (f): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(f.r, cfg, true);
          return { k: "madvise", s, e, behav: f.behav };
        },
    ),
  },
  { weight: 1, arbitrary: wiredCowArb },
  {
    weight: 11,
    arbitrary: fc.record({ r: rangeArb, flags: wireFlagsArb, un: fc.boolean() }).map(
      (f): RawOp =>
        (cfg) => {
          const [s, e] = rangeOf(f.r, cfg, true);
          return { k: f.un ? "unwire" : "wire", s, e, flags: f.flags };
        },
    ),
  },
);

const cfgArb: fc.Arbitrary<Cfg> = fc.record({
  minPage: fc.constantFrom(1, 16),
  npages: fc.integer({ min: 64, max: 256 }),
  wxorx: fc.oneof(
    { weight: 3, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  cluster: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
  tree: fc.constantFrom<readonly [number, number]>(
    [4, 4],
    [6, 4],
    [4, 6],
    [8, 6],
    [8, 16],
    [64, 16],
  ),
});

interface Scenario {
  cfg: Cfg;
  ops: Op[];
  [fc.toStringMethod](): string;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({ cfg: cfgArb, raw: fc.array(rawOpArb, { maxLength: MAX_OPS, size: "max" }) })
  .map(({ cfg, raw }) => {
    const ops = raw.flatMap((r) => r(cfg));
    return {
      cfg,
      ops,
      [fc.toStringMethod]: () =>
        `map [${hx(cfg.minPage * PS)}, ${hx((cfg.minPage + cfg.npages) * PS)}) wxorx=${cfg.wxorx} clusterAnon=${cfg.cluster}, superpage ${hx(SP)}\n${ops.map((op, i) => `  ${i + 1}. ${opText(op)}`).join("\n")}`,
    };
  });

// ---------------------------------------------------------------- the property

it("VmMap agrees with a naive page-array model over random operation sequences", () => {
  const seed = process.env.VMSPACE_PROP_SEED;
  if (seed !== undefined) {
    // Replays a reported failure: VMSPACE_PROP_SEED=<seed> VMSPACE_PROP_PATH=<path>.
    fc.assert(
      fc.property(scenarioArb, ({ cfg, ops }) => replay(cfg, ops)),
      { numRuns: NUM_RUNS, seed: Number(seed), path: process.env.VMSPACE_PROP_PATH },
    );
    return;
  }
  opsRun = 0;
  // Sequence lengths are random: run batches (each with its own seed) until enough ops ran.
  while (opsRun < MIN_TOTAL_OPS)
    fc.assert(
      fc.property(scenarioArb, ({ cfg, ops }) => replay(cfg, ops)),
      { numRuns: NUM_RUNS },
    );
  expect(opsRun).toBeGreaterThanOrEqual(MIN_TOTAL_OPS);
});
