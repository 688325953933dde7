/**
 * pmap(9): the software page table of one address space, and its TLB.
 *
 * Page table: a radix of leaves (Int32Array of LEAF_PAGES entries, one leaf per 512 pages like
 * an x86 page-table page) in a Map keyed by the leaf number. A PTE is 0 (invalid) or
 * `frame << 8 | bits` with the PTE_* bits below. The hardware would set PTE_A on any access and
 * PTE_M on a write; here the access slow path does it when it fills the TLB.
 *
 * TLB: a direct-mapped cache of TLB_SIZE translations per pmap (as if tagged by ASID):
 *   tlbTag  Float64Array  virtual page number, NaN when empty
 *   tlbBase Int32Array    byte offset of the frame in physical memory
 *   tlbPerm Uint8Array    accesses allowed without the slow path (PTE_R/W/X)
 *   tlbRd / tlbWr Float64Array  the page's address when a load / a store may go ahead, else -1
 * A hit is two typed-array reads (the slot's tlbRd or tlbWr, then tlbBase) and no call: the
 * slot is bits [pageShift, pageShift + 8) of the address, taken with `>>>`, and one compare of
 * the page address (address minus its low bits) decides. tlbRd/tlbWr are derived from tlbTag
 * and tlbPerm at fill and invalidation (check() holds them equal). PTE_W is granted to the TLB
 * only once PTE_M is set, and PTE_R/PTE_X only with PTE_A set, so the referenced and modified
 * bits stay exact.
 * Every change that removes or reduces a translation (remove, protect, clearing A or M)
 * invalidates exactly the TLB slots of the pages that lost an access, in address order, and
 * counts each in `tlbInvalidations` (a protect wider than the TLB sweeps the TLB's tags once
 * instead of testing a slot per page).
 *
 * Reverse map: the PvTable (shared by all pmaps of a system) lists, for each frame, the
 * (pmap, va) pairs that map it, so a frame can be unmapped everywhere before it is freed or
 * paged out (pmap_remove_all) and its modified/referenced state gathered.
 *
 * Guard markers (Linux's PTE markers of MADV_GUARD_INSTALL): pages of the address space that
 * must fault with SIGSEGV whatever the map allows there. They hold no translation and are kept
 * beside the table, so that removing translations (a page discarded, a range zapped) keeps
 * them; only clearGuards drops them (the map does on munmap, as Linux's unmap drops its
 * markers). pmap_enter_quick maps nothing on a guard page and the fault path refuses one, so a
 * guard page never has a translation (check() holds that).
 *
 * This layer knows frames and addresses only: it never imports object or map.
 *
 * Guarded by: the pmap lock (one thread: the caller holding the map lock).
 */

import { kassert, panic } from "../base/assert.js";
import { VM_PROT_EXECUTE, VM_PROT_READ, VM_PROT_WRITE, type VmProt } from "../base/prot.js";
import { PG_DIRTY, PG_REFERENCED, type PhysMem } from "../page/PhysMem.js";
import type { MapPmap } from "./MapPmap.js";

export const PTE_V = 0x01;
export const PTE_R = 0x02;
export const PTE_W = 0x04;
export const PTE_X = 0x08;
export const PTE_A = 0x10;
export const PTE_M = 0x20;
export const PTE_WIRED = 0x40;

export const LEAF_SHIFT = 9;
export const LEAF_PAGES = 1 << LEAF_SHIFT;
export const TLB_SIZE = 256;
const TLB_MASK = TLB_SIZE - 1;

/** Range operations of #apply. */
const OP_REMOVE = 0;
const OP_PROTECT = 1;
const OP_WIRE = 2;
const OP_UNWIRE = 3;
/** OP_PROTECT without testing the TLB page by page: the caller swept the TLB's tags. */
const OP_PROTECT_SWEPT = 4;

/** PROT_* bits to PTE permission bits. */
export function protToPte(prot: VmProt): number {
  return (
    (prot & VM_PROT_READ ? PTE_R : 0) |
    (prot & VM_PROT_WRITE ? PTE_W : 0) |
    (prot & VM_PROT_EXECUTE ? PTE_X : 0)
  );
}

/** The reverse map, shared by the pmaps of one system. */
export class PvTable {
  readonly mem: PhysMem;
  /** First pv entry of each frame (-1: unmapped). */
  readonly head: Int32Array;
  #pmapId: Int32Array;
  #va: Float64Array;
  #next: Int32Array;
  #free = -1;
  #used = 0;
  /** Pmaps by id (null once destroyed). */
  readonly pmaps: (Pmap | null)[] = [];
  /** Counters. */
  tlbInvalidations = 0;
  /** Observer of TLB invalidations (page -1: whole TLB); null = nobody listens. */
  onInvalidate: ((pmapId: number, page: number) => void) | null = null;

  constructor(mem: PhysMem) {
    this.mem = mem;
    this.head = new Int32Array(mem.nframes).fill(-1);
    this.#pmapId = new Int32Array(64);
    this.#va = new Float64Array(64);
    this.#next = new Int32Array(64);
    this.#grow(0);
  }

  #grow(from: number): void {
    for (let i = this.#next.length - 1; i >= from; i--) {
      this.#next[i] = this.#free;
      this.#free = i;
    }
  }

  add(frame: number, pmapId: number, va: number): void {
    if (this.#free < 0) {
      const old = this.#next.length;
      const n = old * 2;
      const p = new Int32Array(n);
      p.set(this.#pmapId);
      const v = new Float64Array(n);
      v.set(this.#va);
      const x = new Int32Array(n);
      x.set(this.#next);
      this.#pmapId = p;
      this.#va = v;
      this.#next = x;
      this.#grow(old);
    }
    const i = this.#free;
    this.#free = this.#next[i];
    this.#pmapId[i] = pmapId;
    this.#va[i] = va;
    this.#next[i] = this.head[frame];
    this.head[frame] = i;
    this.#used++;
  }

  delete(frame: number, pmapId: number, va: number): void {
    let prev = -1;
    for (let i = this.head[frame]; i >= 0; prev = i, i = this.#next[i]) {
      if (this.#pmapId[i] === pmapId && this.#va[i] === va) {
        if (prev < 0) this.head[frame] = this.#next[i];
        else this.#next[prev] = this.#next[i];
        this.#next[i] = this.#free;
        this.#free = i;
        this.#used--;
        return;
      }
    }
    panic("pmap_pv_delete", `no pv entry for frame ${frame} in pmap ${pmapId} at ${va}`);
  }

  /** Number of pv entries in use (each is one mapping). */
  get used(): number {
    return this.#used;
  }

  /** Calls fn(pmap, va) for each mapping of `frame` (fn must not change this frame's list). */
  forEach(frame: number, fn: (pmap: Pmap, va: number) => void): void {
    for (let i = this.head[frame]; i >= 0; i = this.#next[i])
      fn(this.pmaps[this.#pmapId[i]]!, this.#va[i]);
  }

  /** Number of mappings of `frame`. */
  count(frame: number): number {
    let n = 0;
    for (let i = this.head[frame]; i >= 0; i = this.#next[i]) n++;
    return n;
  }

  /** pmap_remove_all: removes every mapping of `frame`. */
  removeAll(frame: number): void {
    while (this.head[frame] >= 0) {
      const i = this.head[frame];
      this.pmaps[this.#pmapId[i]]!.remove(this.#va[i], this.#va[i] + this.mem.pageSize);
    }
  }

  /** pmap_remove_write: makes every mapping of `frame` read-only (gathering PTE_M first). */
  removeWrite(frame: number): void {
    for (let i = this.head[frame]; i >= 0; i = this.#next[i])
      this.pmaps[this.#pmapId[i]]!.clearBits(this.#va[i], PTE_W);
  }

  /** pmap_is_modified: some mapping has PTE_M. */
  isModified(frame: number): boolean {
    for (let i = this.head[frame]; i >= 0; i = this.#next[i])
      if ((this.pmaps[this.#pmapId[i]]!.extract(this.#va[i]) & PTE_M) !== 0) return true;
    return false;
  }

  /** pmap_clear_modify: clears PTE_M in every mapping. */
  clearModify(frame: number): void {
    for (let i = this.head[frame]; i >= 0; i = this.#next[i])
      this.pmaps[this.#pmapId[i]]!.clearBits(this.#va[i], PTE_M);
  }

  /** pmap_ts_referenced: how many mappings had PTE_A set; clears them. */
  tsReferenced(frame: number): number {
    let n = 0;
    for (let i = this.head[frame]; i >= 0; i = this.#next[i]) {
      const pm = this.pmaps[this.#pmapId[i]]!;
      if ((pm.extract(this.#va[i]) & PTE_A) !== 0) {
        n++;
        pm.clearBits(this.#va[i], PTE_A);
      }
    }
    return n;
  }
}

export class Pmap implements MapPmap {
  readonly id: number;
  readonly pv: PvTable;
  readonly mem: PhysMem;
  readonly pageSize: number;
  /** 1 / pageSize, exact for a power of two: a multiplication is cheaper than a division. */
  readonly #perPage: number;
  /** Leaves of the page table by leaf number. */
  readonly #leaves = new Map<number, Int32Array>();
  /** Valid PTEs and wired PTEs. */
  resident = 0;
  wired = 0;
  /** The TLB (see the prologue); public for the access fast path in src/process. */
  readonly tlbTag = new Float64Array(TLB_SIZE).fill(Number.NaN);
  readonly tlbBase = new Int32Array(TLB_SIZE);
  readonly tlbPerm = new Uint8Array(TLB_SIZE);
  /**
   * The same translations as the fast path reads them: the page's address in the slot when a
   * load (tlbRd) or a store (tlbWr) may go ahead, else -1; one compare decides a hit.
   */
  readonly tlbRd = new Float64Array(TLB_SIZE).fill(-1);
  readonly tlbWr = new Float64Array(TLB_SIZE).fill(-1);
  #destroyed = false;
  /** Guard pages by address; null until the first (see the prologue). */
  #guards: Set<number> | null = null;
  /** Scratch for protect: pages whose TLB slots a wide protect invalidates. */
  readonly #doomed = new Float64Array(TLB_SIZE);

  constructor(pv: PvTable) {
    this.pv = pv;
    this.mem = pv.mem;
    this.pageSize = pv.mem.pageSize;
    this.#perPage = 1 / this.pageSize;
    this.id = pv.pmaps.length;
    pv.pmaps.push(this);
  }

  /** The leaf of the last lookup (NaN: none): a sweep reads one leaf without a Map call. */
  #lastKey = Number.NaN;
  #lastLeaf: Int32Array | undefined = undefined;

  #leaf(key: number): Int32Array | undefined {
    if (key === this.#lastKey) return this.#lastLeaf;
    const leaf = this.#leaves.get(key);
    if (leaf !== undefined) {
      this.#lastKey = key;
      this.#lastLeaf = leaf;
    }
    return leaf;
  }

  // Page numbers reach 2^35 (47-bit addresses), past int32: a leaf's index is taken as
  // vpn - key * LEAF_PAGES, exact in doubles, not with %, which on a double is a call to fmod.
  #vpn(va: number): number {
    return Math.floor(va * this.#perPage);
  }

  /** The PTE of `va` (0 when invalid). */
  extract(va: number): number {
    return this.#pte(this.#vpn(va));
  }

  /**
   * Which pages around `va` have a translation: bit back + k for page va + k·pageSize, k from
   * -back to ahead (back + ahead < 31). vm_fault_prefault asks this once rather than a lookup
   * per page; the window usually lies in one leaf.
   */
  mappedAround(va: number, back: number, ahead: number): number {
    const vpn = this.#vpn(va);
    const key = Math.floor(vpn / LEAF_PAGES);
    const i = vpn - key * LEAF_PAGES;
    let mask = 0;
    if (i >= back && i + ahead < LEAF_PAGES) {
      const leaf = this.#leaf(key);
      if (leaf !== undefined)
        for (let k = 0; k <= back + ahead; k++) if (leaf[i - back + k] !== 0) mask |= 1 << k;
      return mask;
    }
    for (let k = 0; k <= back + ahead; k++) {
      const v = vpn - back + k;
      if (v >= 0 && this.#pte(v) !== 0) mask |= 1 << k;
    }
    return mask;
  }

  /** Frame mapped at `va`, or -1. */
  frameAt(va: number): number {
    const pte = this.extract(va);
    return pte === 0 ? -1 : pte >>> 8;
  }

  #invalidate(vpn: number): void {
    const slot = vpn & TLB_MASK;
    if (this.tlbTag[slot] === vpn) {
      this.tlbTag[slot] = Number.NaN;
      this.tlbPerm[slot] = 0;
      this.tlbRd[slot] = -1;
      this.tlbWr[slot] = -1;
      this.pv.tlbInvalidations++;
      this.pv.onInvalidate?.(this.id, vpn);
    }
  }

  /** Drops every TLB entry. */
  flushTlb(): void {
    this.tlbTag.fill(Number.NaN);
    this.tlbPerm.fill(0);
    this.tlbRd.fill(-1);
    this.tlbWr.fill(-1);
    this.pv.tlbInvalidations++;
    this.pv.onInvalidate?.(this.id, -1);
  }

  /** Records the hardware bits of a PTE being dropped or downgraded on its page. */
  #harvest(pte: number): void {
    const f = pte >>> 8;
    if ((pte & PTE_M) !== 0) this.mem.flags[f] |= PG_DIRTY;
    if ((pte & PTE_A) !== 0) this.mem.flags[f] |= PG_REFERENCED;
  }

  /**
   * pmap_enter: maps `va` to `frame` with `prot` (replacing any previous translation there).
   * `wired` marks the PTE wired. `access` pre-sets PTE_A (and PTE_M for a write), as the fault
   * that caused the enter is about to make that access.
   */
  enter(va: number, frame: number, prot: VmProt, wired: boolean, access: VmProt = 0): void {
    kassert(!this.#destroyed, "pmap_enter", "pmap destroyed");
    const vpn = this.#vpn(va);
    const key = Math.floor(vpn / LEAF_PAGES);
    let leaf = this.#leaf(key);
    if (leaf === undefined) {
      leaf = new Int32Array(LEAF_PAGES);
      this.#leaves.set(key, leaf);
      this.#lastKey = key;
      this.#lastLeaf = leaf;
    }
    const i = vpn - key * LEAF_PAGES;
    const old = leaf[i];
    let bits = PTE_V | protToPte(prot) | (wired ? PTE_WIRED : 0);
    if (access !== 0) bits |= PTE_A;
    if ((access & VM_PROT_WRITE) !== 0 && (prot & VM_PROT_WRITE) !== 0) bits |= PTE_M;
    if (old !== 0) {
      const oldFrame = old >>> 8;
      if (oldFrame === frame) {
        bits |= old & (PTE_A | PTE_M);
      } else {
        this.#harvest(old);
        this.pv.delete(oldFrame, this.id, vpn * this.pageSize);
        this.pv.add(frame, this.id, vpn * this.pageSize);
      }
      if ((old & PTE_WIRED) !== 0) this.wired--;
      this.#invalidate(vpn);
    } else {
      this.resident++;
      this.pv.add(frame, this.id, vpn * this.pageSize);
    }
    if (wired) this.wired++;
    leaf[i] = (frame << 8) | bits;
  }

  /**
   * pmap_enter_quick: like enter, never wired, never writable, only if nothing is mapped, and
   * nothing for a protection without READ or EXECUTE (vm_map_pmap_enter's callers skip those:
   * an unwired translation that grants nothing is never made).
   */
  enterQuick(va: number, frame: number, prot: VmProt): void {
    if ((prot & (VM_PROT_READ | VM_PROT_EXECUTE)) === 0 || this.extract(va) !== 0) return;
    if (this.#guards !== null && this.#guards.has(va)) return;
    this.enter(va, frame, prot & ~VM_PROT_WRITE, false, 0);
  }

  // ---------------------------------------------------------------- guard markers

  /** True when the page of `va` carries a guard marker (nothing is computed when none does). */
  isGuard(va: number): boolean {
    return this.#guards !== null && this.#guards.has(va - (va % this.pageSize));
  }

  /** Number of guard pages. */
  get guardCount(): number {
    return this.#guards === null ? 0 : this.#guards.size;
  }

  /**
   * Puts guard markers on the pages of [sva, eva) (page-aligned), first removing their
   * translations.
   */
  installGuards(sva: number, eva: number): void {
    if (sva >= eva) return;
    this.remove(sva, eva);
    if (this.#guards === null) this.#guards = new Set();
    for (let va = sva; va < eva; va += this.pageSize) this.#guards.add(va);
  }

  /** The guard pages in [sva, eva), in address order. */
  guardsIn(sva: number, eva: number): number[] {
    const g = this.#guards;
    if (g === null || g.size === 0 || sva >= eva) return [];
    const out: number[] = [];
    if ((eva - sva) / this.pageSize <= g.size) {
      for (let va = sva; va < eva; va += this.pageSize) if (g.has(va)) out.push(va);
    } else {
      for (const va of g) if (va >= sva && va < eva) out.push(va);
      out.sort((a, b) => a - b);
    }
    return out;
  }

  /** Drops the guard markers of [sva, eva). */
  clearGuards(sva: number, eva: number): void {
    const g = this.#guards;
    if (g === null || g.size === 0) return;
    for (const va of this.guardsIn(sva, eva)) g.delete(va);
  }

  /**
   * Applies `op` to every valid PTE in [sva, eva), leaf by leaf (the leaves themselves when the
   * range is wider than the table): one loop for every range operation, no callback per page.
   * OP_PROTECT keeps the PTE bits in `keep`, removing unwired translations when `none`.
   */
  #apply(sva: number, eva: number, op: number, keep: number, none: boolean): void {
    if (this.resident === 0) return;
    this.#applyPages(this.#vpn(sva), Math.ceil(eva * this.#perPage), op, keep, none);
  }

  /** {@link #apply} over the pages [v0, v1). */
  #applyPages(v0: number, v1: number, op: number, keep: number, none: boolean): void {
    if (v1 - v0 > this.#leaves.size * LEAF_PAGES) {
      // Sparse: visit the leaves instead of the range, in address order as the range would.
      for (const [key, leaf] of [...this.#leaves].sort((x, y) => x[0] - y[0])) {
        const base = key * LEAF_PAGES;
        if (base + LEAF_PAGES <= v0 || base >= v1) continue;
        this.#applyLeaf(
          leaf,
          base,
          Math.max(v0, base),
          Math.min(v1, base + LEAF_PAGES),
          op,
          keep,
          none,
        );
      }
      return;
    }
    for (let vpn = v0; vpn < v1; ) {
      const key = Math.floor(vpn / LEAF_PAGES);
      const base = key * LEAF_PAGES;
      const hi = Math.min(v1, base + LEAF_PAGES);
      const leaf = this.#leaf(key);
      if (leaf !== undefined) this.#applyLeaf(leaf, base, vpn, hi, op, keep, none);
      vpn = hi;
    }
  }

  #applyLeaf(
    leaf: Int32Array,
    base: number,
    from: number,
    to: number,
    op: number,
    keep: number,
    none: boolean,
  ): void {
    if (op === OP_PROTECT || op === OP_PROTECT_SWEPT) {
      this.#protectLeaf(leaf, base, from, to, keep, none, op === OP_PROTECT);
      return;
    }
    for (let v = from; v < to; v++) {
      const i = v - base;
      const pte = leaf[i];
      if (pte === 0) continue;
      if (op === OP_REMOVE) {
        this.#zap(leaf, i, v);
      } else if (op === OP_WIRE) {
        if ((pte & PTE_WIRED) === 0) {
          leaf[i] = pte | PTE_WIRED;
          this.wired++;
        }
      } else if ((pte & PTE_WIRED) !== 0) {
        leaf[i] = pte & ~PTE_WIRED;
        this.wired--;
      }
    }
  }

  /**
   * The hot loop of pmap_protect (fork write-protects every page of a copied entry here):
   * PTE bits outside `keep` go; a PTE losing write access after a write records PG_DIRTY on its
   * page first. With `none` an unwired translation is removed; a wired one keeps its frame.
   * With `perPage` a changed PTE's TLB slot is invalidated here (else the caller swept the TLB).
   */
  #protectLeaf(
    leaf: Int32Array,
    base: number,
    from: number,
    to: number,
    keep: number,
    none: boolean,
    perPage: boolean,
  ): void {
    const flags = this.mem.flags;
    const tag = this.tlbTag;
    for (let i = from - base, n = to - base; i < n; i++) {
      const pte = leaf[i];
      if (none && pte !== 0 && (pte & PTE_WIRED) === 0) {
        this.#zap(leaf, i, base + i);
        continue;
      }
      const nu = pte & keep;
      if (nu === pte) continue; // also every invalid PTE (0)
      if ((pte & PTE_M) !== 0 && (nu & PTE_W) === 0) flags[pte >>> 8] |= PG_DIRTY;
      leaf[i] = nu;
      if (perPage && tag[(base + i) & TLB_MASK] === base + i) this.#invalidate(base + i);
    }
  }

  /** pmap_remove: drops every translation in [sva, eva). */
  remove(sva: number, eva: number): void {
    this.#apply(sva, eva, OP_REMOVE, 0, false);
  }

  /** Drops one translation, harvesting its A/M bits onto the page. */
  #zap(leaf: Int32Array, i: number, vpn: number): void {
    const pte = leaf[i];
    this.#harvest(pte);
    this.pv.delete(pte >>> 8, this.id, vpn * this.pageSize);
    if ((pte & PTE_WIRED) !== 0) this.wired--;
    this.resident--;
    leaf[i] = 0;
    this.#invalidate(vpn);
  }

  /**
   * pmap_protect: reduces translations in [sva, eva) to at most `prot`. NONE removes them,
   * except wired ones: those keep their frame and wiring with no access left (FreeBSD keeps the
   * page wired through the entry and refaults it wired; Linux keeps an mlocked page locked), so
   * restoring access refaults the same frame and munlock still finds every wired page.
   */
  protect(sva: number, eva: number, prot: VmProt): void {
    const none = (prot & (VM_PROT_READ | VM_PROT_EXECUTE)) === 0;
    if (none && this.wired === 0) {
      this.remove(sva, eva);
      return;
    }
    if (this.resident === 0) return;
    const keep = ~(PTE_R | PTE_W | PTE_X) | (none ? 0 : protToPte(prot));
    const v0 = this.#vpn(sva);
    const v1 = Math.ceil(eva * this.#perPage);
    if (none || v1 - v0 <= TLB_SIZE) {
      this.#applyPages(v0, v1, OP_PROTECT, keep, none);
      return;
    }
    // Wider than the TLB (fork write-protects whole entries): rather than test the TLB for
    // every page, find first which cached pages are about to lose access, change the PTEs
    // without looking at the TLB, then invalidate those slots in address order, as the
    // page-by-page loop would have.
    const doomed = this.#doomed;
    let n = 0;
    const tag = this.tlbTag;
    for (let s = 0; s < TLB_SIZE; s++) {
      const t = tag[s];
      if (t >= v0 && t < v1 && (this.#pte(t) & ~keep) !== 0) doomed[n++] = t;
    }
    this.#applyPages(v0, v1, OP_PROTECT_SWEPT, keep, false);
    if (n === 0) return;
    const sorted = doomed.subarray(0, n).sort();
    for (let k = 0; k < n; k++) this.#invalidate(sorted[k]);
  }

  /** The PTE of page `vpn` (0 when invalid). */
  #pte(vpn: number): number {
    const key = Math.floor(vpn / LEAF_PAGES);
    const leaf = this.#leaf(key);
    return leaf === undefined ? 0 : leaf[vpn - key * LEAF_PAGES];
  }

  /** Clears PTE bits (PTE_W, PTE_A, PTE_M) of one page's translation, harvesting A/M first. */
  clearBits(va: number, bits: number): void {
    const vpn = this.#vpn(va);
    const key = Math.floor(vpn / LEAF_PAGES);
    const leaf = this.#leaf(key);
    if (leaf === undefined) return;
    const i = vpn - key * LEAF_PAGES;
    const pte = leaf[i];
    if (pte === 0 || (pte & bits) === 0) return;
    if ((bits & PTE_W) !== 0 && (pte & PTE_M) !== 0) this.mem.flags[pte >>> 8] |= PG_DIRTY;
    leaf[i] = pte & ~bits;
    this.#invalidate(vpn);
  }

  /** pmap_unwire / pmap_wire over [sva, eva). */
  setWired(sva: number, eva: number, wired: boolean): void {
    this.#apply(sva, eva, wired ? OP_WIRE : OP_UNWIRE, 0, false);
  }

  /**
   * The access slow path: translates `va` for `access` (one PROT_* bit) and fills the TLB,
   * setting PTE_A and, for a write, PTE_M. Returns the byte offset of the page in physical
   * memory, or -1 when the PTE does not allow the access (the caller faults).
   */
  fill(va: number, access: VmProt): number {
    const vpn = this.#vpn(va);
    const key = Math.floor(vpn / LEAF_PAGES);
    const leaf = this.#leaf(key);
    if (leaf === undefined) return -1;
    const i = vpn - key * LEAF_PAGES;
    let pte = leaf[i];
    if (pte === 0) return -1;
    const need =
      (access & VM_PROT_WRITE) !== 0 ? PTE_W : (access & VM_PROT_EXECUTE) !== 0 ? PTE_X : PTE_R;
    if ((pte & need) === 0) return -1;
    const set = need === PTE_W ? PTE_A | PTE_M : PTE_A;
    if ((pte & set) !== set) leaf[i] = pte |= set; // no store when the bits are already set
    const slot = vpn & TLB_MASK;
    const base = (pte >>> 8) * this.pageSize;
    this.tlbTag[slot] = vpn;
    this.tlbBase[slot] = base;
    const perm = (pte & (PTE_R | PTE_X)) | ((pte & PTE_M) !== 0 ? pte & PTE_W : 0);
    this.tlbPerm[slot] = perm;
    const va0 = vpn * this.pageSize;
    this.tlbRd[slot] = (perm & PTE_R) !== 0 ? va0 : -1;
    this.tlbWr[slot] = (perm & PTE_W) !== 0 ? va0 : -1;
    return base;
  }

  /** pmap_remove over everything, then the pmap can no longer be used. */
  destroy(): void {
    this.remove(0, Number.MAX_SAFE_INTEGER);
    this.#leaves.clear();
    this.#lastKey = Number.NaN;
    this.#lastLeaf = undefined;
    this.flushTlb();
    this.#destroyed = true;
    this.pv.pmaps[this.id] = null;
  }

  /** Every valid translation as [va, pte] pairs in address order (for audits and views). */
  mappings(): [number, number][] {
    const out: [number, number][] = [];
    const keys = [...this.#leaves.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      const leaf = this.#leaves.get(k)!;
      for (let i = 0; i < LEAF_PAGES; i++)
        if (leaf[i] !== 0) out.push([(k * LEAF_PAGES + i) * this.pageSize, leaf[i]]);
    }
    return out;
  }

  /** Checks counters against the table and the TLB against the PTEs. */
  check(): void {
    let n = 0;
    let w = 0;
    for (const [va, pte] of this.mappings()) {
      n++;
      if ((pte & PTE_WIRED) !== 0) w++;
      let found = false;
      this.pv.forEach(pte >>> 8, (pm, v) => {
        if (pm === this && v === va) found = true;
      });
      if (!found) panic("pmap_check", `no pv entry for ${va}`);
    }
    if (n !== this.resident) panic("pmap_check", `resident ${this.resident} != ${n}`);
    if (this.#guards !== null)
      for (const va of this.#guards) {
        if (va % this.pageSize !== 0) panic("pmap_check", `unaligned guard ${va}`);
        if (this.extract(va) !== 0) panic("pmap_check", `guard page ${va} has a translation`);
      }
    if (w !== this.wired) panic("pmap_check", `wired ${this.wired} != ${w}`);
    for (let s = 0; s < TLB_SIZE; s++) {
      const vpn = this.tlbTag[s];
      const perm = this.tlbPerm[s];
      const va0 = Number.isNaN(vpn) ? -1 : vpn * this.pageSize;
      if (this.tlbRd[s] !== ((perm & PTE_R) !== 0 ? va0 : -1))
        panic("pmap_check", `TLB load tag of slot ${s} disagrees with its permissions`);
      if (this.tlbWr[s] !== ((perm & PTE_W) !== 0 ? va0 : -1))
        panic("pmap_check", `TLB store tag of slot ${s} disagrees with its permissions`);
      if (Number.isNaN(vpn)) continue;
      const pte = this.extract(vpn * this.pageSize);
      if (pte === 0) panic("pmap_check", `TLB maps unmapped page ${vpn}`);
      if ((pte >>> 8) * this.pageSize !== this.tlbBase[s])
        panic("pmap_check", `TLB frame stale for page ${vpn}`);
      if ((this.tlbPerm[s] & ~pte) !== 0)
        panic("pmap_check", `TLB grants more than the PTE for page ${vpn}`);
      if ((this.tlbPerm[s] & PTE_W) !== 0 && (pte & PTE_M) === 0)
        panic("pmap_check", `TLB writable without PTE_M at ${vpn}`);
      if (this.tlbPerm[s] !== 0 && (pte & PTE_A) === 0)
        panic("pmap_check", `TLB entry without PTE_A at ${vpn}`);
    }
  }
}
