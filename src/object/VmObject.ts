/**
 * vm_object: the backing store of mappings, and all copy-on-write logic (STYLE habit 8).
 *
 * An object holds resident pages (page index -> frame) and may be a *shadow* of a backing
 * object: page p of the shadow stands for page p + backingObjectOffset/pageSize of the backing
 * object until the shadow gets its own copy. A fork marks both sides' entries NEEDS_COPY over
 * one object; the first write through either entry gives it a shadow (shadow()), and the
 * written page is copied into the shadow (the fault handler does the copy). When a backing
 * object is referenced only by its one shadow, collapse() merges it into the shadow, so chains
 * do not grow without bound; when a shadow hides every page of its backing object within its
 * window, collapse() *bypasses* the backing object instead.
 *
 * Reference counting pairs reference() with deallocate() (STYLE habit 10): each map entry
 * naming an object holds one reference, each shadow holds one on its backing object. The last
 * deallocate terminates the object: its pages are unmapped everywhere and freed, then its
 * backing object loses the reference (iteratively, not recursively).
 *
 * Objects live in an ObjectContext (physical memory, reverse map, registry of live objects,
 * swap); objects made without one (a VmMap used alone) can name ranges but never hold pages.
 *
 * Swap: a page of an anonymous object is either resident (in `pages`), or paged out (its slot
 * in `swap`), or neither (zero fill / found in the backing object); never both. A swapped page
 * hides the backing object's page exactly as a resident one does, so every walk down a chain
 * (lookupChain, findChain, collapse, bypass, split) treats a slot like a page. The first
 * pageout turns a "default" object into a "swap" one (FreeBSD 14 has OBJ_SWAP from the start).
 *
 * Guarded by: the object lock (one thread: any caller holding the map lock of a map that
 * names the object).
 */

import { kassert, panic } from "../base/assert.js";
import { PageIndex } from "../ds/PageIndex.js";
import { PG_BUSY, PG_DIRTY, type PhysMem } from "../page/PhysMem.js";
import type { DevicePager } from "../pager/device.js";
import { SwapBlocks, type SwapError, SwapPager } from "../pager/swap.js";
import type { ObjectPager, PagerError } from "../pager/vnode.js";
import type { PvTable } from "../pmap/Pmap.js";

export const OBJ_FICTITIOUS = 0x0001;
export const OBJ_UNMANAGED = 0x0002;
export const OBJ_POPULATE = 0x0004;
export const OBJ_DEAD = 0x0008;
export const OBJ_ANON = 0x0010;
export const OBJ_UMTXDEAD = 0x0020;
export const OBJ_SIZEVNLOCK = 0x0040;
export const OBJ_PG_DTOR = 0x0080;
export const OBJ_SHADOWLIST = 0x0100;
export const OBJ_SWAP = 0x0200;
export const OBJ_SPLIT = 0x0400;
export const OBJ_COLLAPSING = 0x0800;
export const OBJ_COLORED = 0x1000;
export const OBJ_ONEMAPPING = 0x2000;
/** vmspace: shared anonymous memory (Linux shmem, a POSIX shm object): one object for every sharer. */
export const OBJ_SHM = 0x4000;

/** Answers of VmObject.chainState. */
export const CHAIN_NONE = 0;
export const CHAIN_RESIDENT = 1;
export const CHAIN_SWAPPED = 2;

export type ObjectType = "default" | "swap" | "vnode" | "device" | "phys" | "dead";

/** Counters kept by the object layer (part of sys.stats()). */
export interface ObjectStats {
  shadowsCreated: number;
  collapses: number;
  bypasses: number;
  splits: number;
}

/** Where objects get their pages, and the registry of live objects. */
export class ObjectContext {
  readonly mem: PhysMem;
  readonly pv: PvTable;
  /** Where anonymous pages go under memory pressure (constant). */
  readonly swap: SwapPager;
  /** Live objects by id. */
  readonly objects = new Map<number, VmObject>();
  readonly stats: ObjectStats = { shadowsCreated: 0, collapses: 0, bypasses: 0, splits: 0 };
  /**
   * Called when a frame is needed and none is free; returns true if it freed some (the page
   * daemon installs itself here). Default: nothing can be reclaimed.
   */
  reclaim: () => boolean = () => false;
  /**
   * The low-water mark: an allocation that finds fewer free frames than this calls `reclaim`
   * first (vm_page_alloc waking the page daemon below vm_cnt.v_free_min), so the daemon works
   * ahead of exhaustion. 0 (the default): only when no frame is free.
   */
  freeMin = 0;
  /** Observer of object events (shadow, collapse, bypass, split); null = nobody listens. */
  onEvent: ((kind: "shadow" | "collapse" | "bypass" | "split", obj: VmObject) => void) | null =
    null;
  /** Told when an object with a pager is terminated (the owner of a vnode-object cache). */
  onPagerTerminate: ((obj: VmObject) => void) | null = null;

  constructor(mem: PhysMem, pv: PvTable, swap: SwapPager = new SwapPager()) {
    this.mem = mem;
    this.pv = pv;
    this.swap = swap;
  }
}

let nextObjectId = 1;

/** The shadows of an object that has none (never written: the getter's type is read-only). */
const NO_SHADOWS: ReadonlySet<VmObject> = new Set();

export class VmObject {
  /** Unique id (constant). */
  readonly id: number;
  /** Page source, or null for objects that never hold pages (constant). */
  readonly ctx: ObjectContext | null;
  /** Pager type (object lock). */
  type: ObjectType;
  /** Size in pages (object lock). */
  size: number;
  /** References held by map entries, shadows and callers (object lock). */
  refCount = 1;
  /** OBJ_* flags (object lock). */
  flags: number;
  /** Object this one shadows, and the byte offset of our page 0 in it (object lock). */
  backingObject: VmObject | null = null;
  backingObjectOffset = 0;
  /**
   * Objects whose backing object this is (object lock); null until the first. Most objects are
   * never shadowed, and an empty Set would be most of their size.
   */
  #shadows: Set<VmObject> | null = null;
  /**
   * The number of shadows, kept beside the object's other counts: the Set is an object of its
   * own, and vm_object_deallocate asks for its size on every reference dropped (a cache miss
   * per call with many objects).
   */
  #nshadows = 0;
  /** Resident pages: page index -> frame (object lock). */
  readonly pages = new PageIndex();
  /**
   * pages.size, kept here for the same reason as #nshadows: vm_object_coalesce and
   * vm_object_page_remove run on every anonymous mmap and munmap next to an existing mapping,
   * and on an object with no resident pages they need not read the index at all.
   */
  #npages = 0;
  /** Where pages come from and dirty pages go (vnode objects); null for anonymous (constant). */
  pager: ObjectPager | null = null;
  /** The device behind a "device" object (memory-mapped I/O, never a page); else null (constant). */
  devicePager: DevicePager | null = null;
  /** Swap slots of paged-out pages; null until the first pageout (object lock). */
  swap: SwapBlocks | null = null;

  constructor(ctx: ObjectContext | null, type: ObjectType, sizePages: number, flags: number) {
    this.id = nextObjectId++;
    this.ctx = ctx;
    this.type = type;
    this.size = sizePages;
    this.flags = flags;
    if (ctx !== null) ctx.objects.set(this.id, this);
  }

  /**
   * vm_object_allocate_anon: a fresh anonymous object of `sizePages` pages, flags
   * ANON | ONEMAPPING, one reference, no pages.
   */
  static allocateAnon(ctx: ObjectContext | null, sizePages: number): VmObject {
    return new VmObject(ctx, "default", sizePages, OBJ_ANON | OBJ_ONEMAPPING);
  }

  /**
   * vnode_pager_alloc: the object of a file. Its size is unbounded here (the pager checks the
   * file's size at each page-in, since an embedder's file may change size behind our back).
   */
  static allocateVnode(ctx: ObjectContext, pager: ObjectPager): VmObject {
    const o = new VmObject(ctx, "vnode", Math.floor(Number.MAX_SAFE_INTEGER / ctx.mem.pageSize), 0);
    o.pager = pager;
    return o;
  }

  /**
   * dev_pager_alloc: the object of a memory-mapped device, sized to cover the device's last
   * byte. It never holds a page: the fault handler hands each access to the device.
   */
  static allocateDevice(ctx: ObjectContext, pager: DevicePager): VmObject {
    const pages = Math.ceil(pager.device.size / ctx.mem.pageSize);
    const o = new VmObject(ctx, "device", pages, OBJ_FICTITIOUS | OBJ_UNMANAGED);
    o.devicePager = pager;
    return o;
  }

  /**
   * vm_object_page_clean: writes every dirty resident page with index in [start, end) back
   * through the pager and marks it clean (the pmaps' modified bits are cleared too, so the
   * next store through any mapping dirties the page again). A page is dirty when its PG_DIRTY
   * flag or any mapping's PTE_M says so. Runs of consecutive dirty pages go to the pager as one
   * write (vm_object_page_collect_flush clusters the same way). A run the file refuses stays
   * dirty (PG_DIRTY) and the other runs are still written. Returns null, or the first error.
   */
  pageClean(start: number, end: number): PagerError | null {
    const pager = this.pager;
    if (pager === null || this.pages.size === 0) return null;
    const ctx = this.#ctx("vm_object_page_clean");
    const mem = ctx.mem;
    const ps = mem.pageSize;
    // Dirty pages in ascending order, with their frames.
    const dirty: number[] = [];
    const frames: number[] = [];
    this.pages.forEachIn(start, end, (p, f) => {
      if ((mem.flags[f] & PG_DIRTY) !== 0 || ctx.pv.isModified(f)) {
        dirty.push(p);
        frames.push(f);
      }
    });
    let error: PagerError | null = null;
    for (let i = 0; i < dirty.length; ) {
      let j = i + 1;
      while (j < dirty.length && dirty[j] === dirty[j - 1] + 1) j++;
      // The run's bytes as few subarrays as its frames allow (consecutive frames are one).
      const run: Uint8Array[] = [];
      let from = frames[i];
      for (let k = i; k < j; k++) {
        const f = frames[k];
        ctx.pv.clearModify(f);
        mem.flags[f] &= ~PG_DIRTY;
        if (k + 1 === j || frames[k + 1] !== f + 1) {
          run.push(mem.bytes.subarray(from * ps, (f + 1) * ps));
          if (k + 1 < j) from = frames[k + 1];
        }
      }
      const e = pager.putPages(dirty[i] * ps, run);
      if (e !== null) {
        // The modified bits are already gathered into nothing: keep the run dirty by flag.
        for (let k = i; k < j; k++) mem.flags[frames[k]] |= PG_DIRTY;
        error ??= e;
      }
      i = j;
    }
    return error;
  }

  /** True when resident page `pindex` differs from its pager's copy (PG_DIRTY or PTE_M). */
  pageIsDirty(pindex: number): boolean {
    const f = this.pages.get(pindex);
    if (f === undefined) return false;
    const ctx = this.#ctx("vm_page_is_dirty");
    return (ctx.mem.flags[f] & PG_DIRTY) !== 0 || ctx.pv.isModified(f);
  }

  /**
   * vm_object_sync: writes the dirty pages with index in [start, end) back through the pager
   * (pageClean) and, with `invalidate`, then frees the clean, unwired cached pages of that
   * window (OBJPR_CLEANONLY), so the next access reads the file again; a page the pager refused
   * stays resident and dirty. Objects without a pager (anonymous, device) have nothing to
   * write and keep their pages. Returns null, or the pager's first error.
   */
  sync(start: number, end: number, invalidate: boolean): PagerError | null {
    if (this.pager === null) return null;
    const err = this.pageClean(start, end);
    if (invalidate && this.pages.size > 0) {
      const wire = this.#ctx("vm_object_sync").mem.wire;
      const drop: number[] = [];
      for (const [p, f] of this.pages)
        if (p >= start && p < end && wire[f] === 0 && !this.pageIsDirty(p)) drop.push(p);
      for (const p of drop) this.pageFree(p);
    }
    return err;
  }

  get isAnon(): boolean {
    return (this.flags & OBJ_ANON) !== 0;
  }
  get isDead(): boolean {
    return (this.flags & OBJ_DEAD) !== 0;
  }
  get shadowCount(): number {
    return this.#nshadows;
  }
  /** Objects whose backing object this is (read-only: shadow() and collapses maintain it). */
  get shadows(): ReadonlySet<VmObject> {
    return this.#shadows ?? NO_SHADOWS;
  }

  /** Links `shadow` under this backing object. */
  #addShadow(shadow: VmObject): void {
    if (this.#shadows === null) this.#shadows = new Set();
    this.#shadows.add(shadow);
    this.#nshadows = this.#shadows.size;
  }

  /** Unlinks `shadow` from this backing object. */
  #removeShadow(shadow: VmObject): void {
    if (this.#shadows === null) return;
    this.#shadows.delete(shadow);
    this.#nshadows = this.#shadows.size;
  }
  /** Number of resident pages. */
  get residentCount(): number {
    return this.#npages;
  }
  /** Number of pages on swap. */
  get swappedCount(): number {
    return this.swap === null ? 0 : this.swap.count;
  }
  /** True when page `pindex` is on swap. */
  hasSwap(pindex: number): boolean {
    return this.swap !== null && this.swap.get(pindex) >= 0;
  }
  /** The last object of the backing chain (this one when it has no backing object). */
  get bottom(): VmObject {
    let o: VmObject = this;
    while (o.backingObject !== null) o = o.backingObject;
    return o;
  }
  /** Objects from this one down its backing chain (1 = no backing object). */
  get chainLength(): number {
    let n = 0;
    for (let o: VmObject | null = this; o !== null; o = o.backingObject) n++;
    return n;
  }

  #ctx(fn: string): ObjectContext {
    if (this.ctx === null) panic(fn, `object ${this.id} has no page context`);
    return this.ctx;
  }

  // ------------------------------------------------------------ references

  /** vm_object_reference: one more reference. */
  reference(): void {
    if (this.isDead) panic("vm_object_reference", `object ${this.id} is dead`);
    this.refCount++;
  }

  /**
   * vm_object_deallocate: drops one reference. An anonymous object left with one reference
   * and no shadow regains ONEMAPPING (not shared anonymous memory, OBJ_SHM); one left with one
   * reference held by its only shadow is collapsed into that shadow; at zero it is terminated
   * and its backing object released.
   */
  deallocate(): void {
    let obj: VmObject | null = this;
    while (obj !== null) {
      if (obj.refCount <= 0) panic("vm_object_deallocate", `object ${obj.id} has no references`);
      obj.refCount--;
      if (obj.refCount > 0) {
        if (obj.refCount === 1 && obj.isAnon) {
          // Shared anonymous memory (OBJ_SHM) never does: unmapping part of it must not free
          // its pages or shrink it (a sharer, or the same mapping grown back, sees them).
          if (obj.#nshadows === 0 && (obj.flags & OBJ_SHM) === 0) obj.flags |= OBJ_ONEMAPPING;
          else if (obj.#nshadows === 1) {
            const [shadow] = obj.shadows;
            if (shadow.isAnon) shadow.collapse();
          }
        }
        return;
      }
      const backing: VmObject | null = obj.backingObject;
      obj.#terminate();
      obj = backing;
    }
  }

  /** vm_object_terminate: frees every page and unlinks from the backing object. */
  #terminate(): void {
    if (this.#nshadows !== 0) panic("vm_object_terminate", `object ${this.id} still shadowed`);
    // A write the file refuses now is lost with the object, as in vm_object_terminate (the
    // embedder keeps a mapping, or msyncs first, to hold dirty pages through a failure).
    if (this.pager !== null) this.pageClean(0, Number.MAX_SAFE_INTEGER);
    this.removePages(0, Number.MAX_SAFE_INTEGER);
    this.swap = null;
    if (this.backingObject !== null) {
      this.backingObject.#removeShadow(this);
      this.backingObject = null;
    }
    this.flags |= OBJ_DEAD;
    this.type = "dead";
    const ctx = this.ctx;
    if (ctx !== null) {
      ctx.objects.delete(this.id);
      if (this.pager !== null) ctx.onPagerTerminate?.(this);
    }
  }

  // ------------------------------------------------------------ pages

  /** The frame of resident page `pindex`, or -1. */
  pageLookup(pindex: number): number {
    return this.pages.frame(pindex);
  }

  /**
   * vm_page_alloc: a new zero-filled page at `pindex`; -1 when memory is exhausted even after
   * asking the context to reclaim. Below `ctx.freeMin` free frames it asks first.
   */
  pageAlloc(pindex: number): number {
    const ctx = this.#ctx("vm_page_alloc");
    if (this.pages.has(pindex))
      panic("vm_page_alloc", `page ${pindex} of object ${this.id} exists`);
    // Below the low-water mark the daemon runs before the frame is taken, so it never sees
    // the caller's new page half made.
    if (ctx.mem.freeCount < ctx.freeMin) ctx.reclaim();
    let f = ctx.mem.alloc(this.id, pindex);
    while (f < 0 && ctx.reclaim()) f = ctx.mem.alloc(this.id, pindex);
    if (f >= 0) {
      this.pages.set(pindex, f);
      this.#npages++;
    }
    return f;
  }

  /** vm_page_free of one resident page: unmapped everywhere first. */
  pageFree(pindex: number): void {
    const f = this.pages.get(pindex);
    if (f === undefined) return;
    const ctx = this.#ctx("vm_page_free");
    ctx.pv.removeAll(f);
    while (ctx.mem.wire[f] > 0) ctx.mem.unwireFrame(f);
    ctx.mem.free(f);
    this.pages.delete(pindex);
    this.#npages--;
  }

  /**
   * vm_object_page_remove: frees the resident pages with index in [start, end), unmapping them
   * from every pmap first, and the swap slots of paged-out ones (swap_pager_freespace).
   */
  removePages(start: number, end: number): void {
    kassert(start <= end, "vm_object_page_remove", "inverted range");
    if (this.swap !== null) this.freeSwap(start, end);
    if (this.#npages !== 0) this.pages.forEachIn(start, end, (p) => this.pageFree(p));
  }

  /** swap_pager_freespace: releases the swap slots of pages in [start, end). */
  freeSwap(start: number, end: number): void {
    const sw = this.swap;
    if (sw === null || sw.count === 0) return;
    const pager = this.#ctx("swap_pager_freespace").swap;
    for (const p of sw.indices(start, end)) pager.free(sw.take(p));
  }

  /**
   * swap_pager_putpages of resident page `pindex`: unmaps it everywhere, writes it to swap and
   * frees its frame. Returns null, or the backend's error (the page then stays resident and
   * dirty, unmapped: the next access faults it back softly).
   */
  pageOut(pindex: number): SwapError | null {
    const ctx = this.#ctx("swap_pager_putpages");
    if (this.pager !== null) panic("swap_pager_putpages", `object ${this.id} has a pager`);
    const f = this.pages.get(pindex);
    if (f === undefined) panic("swap_pager_putpages", `page ${pindex} of ${this.id} absent`);
    if (ctx.mem.wire[f] !== 0) panic("swap_pager_putpages", `frame ${f} is wired`);
    ctx.pv.removeAll(f);
    const ps = ctx.mem.pageSize;
    const r = ctx.swap.pageOut(ctx.mem.bytes.subarray(f * ps, f * ps + ps));
    if (typeof r === "string") {
      ctx.mem.flags[f] |= PG_DIRTY;
      return r;
    }
    if (this.swap === null) this.swap = new SwapBlocks();
    this.swap.set(pindex, r);
    if (this.type === "default") {
      this.type = "swap";
      this.flags |= OBJ_SWAP;
    }
    this.pageFree(pindex);
    return null;
  }

  /**
   * swap_pager_getpages of page `pindex`, which is on swap: reads it into a new frame and
   * releases the slot (the page is dirty from then on). Returns the frame, -1 when no frame can
   * be had, or -2 when the backend fails the read (the slot, and the data, stay on swap).
   */
  pageIn(pindex: number): number {
    const ctx = this.#ctx("swap_pager_getpages");
    const slot = this.swap === null ? -1 : this.swap.get(pindex);
    if (slot < 0) panic("swap_pager_getpages", `page ${pindex} of ${this.id} is not on swap`);
    const f = this.pageAlloc(pindex);
    if (f < 0) return -1;
    const ps = ctx.mem.pageSize;
    if (ctx.swap.pageIn(slot, ctx.mem.bytes.subarray(f * ps, f * ps + ps)) !== null) {
      this.pageFree(pindex);
      return -2;
    }
    this.swap!.take(pindex);
    ctx.swap.free(slot);
    ctx.mem.flags[f] |= PG_DIRTY;
    return f;
  }

  /** Moves swap slot of page `from` of this object to index `to` of `dst`. */
  #swapRename(from: number, dst: VmObject, to: number): void {
    const slot = this.swap!.take(from);
    if (dst.swap === null) dst.swap = new SwapBlocks();
    dst.swap.set(to, slot);
    if (dst.type === "default") {
      dst.type = "swap";
      dst.flags |= OBJ_SWAP;
    }
  }

  /** Moves resident page `from` of this object to index `to` of `dst` (vm_page_rename). */
  pageRename(from: number, dst: VmObject, to: number): void {
    const f = this.pages.get(from);
    if (f === undefined) panic("vm_page_rename", `page ${from} of object ${this.id} absent`);
    if (dst.pages.has(to)) panic("vm_page_rename", `page ${to} of object ${dst.id} exists`);
    this.pages.delete(from);
    this.#npages--;
    dst.pages.set(to, f);
    dst.#npages++;
    const mem = this.#ctx("vm_page_rename").mem;
    mem.owner[f] = dst.id;
    mem.pindex[f] = to;
  }

  /**
   * Looks page `pindex` up through the shadow chain for a *resident* page. Returns the object
   * that has it (or null) and sets `chainPindex` to its index there. A page on swap hides the
   * pages below it, so finding one first returns null (the page is not resident).
   */
  lookupChain(pindex: number): VmObject | null {
    const o = this.findChain(pindex);
    return o !== null && o.pages.has(VmObject.chainPindex) ? o : null;
  }

  /** The frame of the resident page `pindex` shows through the chain, or -1 (lookupChain's). */
  chainFrame(pindex: number): number {
    const o = this.lookupChain(pindex);
    return o === null ? -1 : o.pages.get(VmObject.chainPindex)!;
  }

  /**
   * Looks page `pindex` up through the shadow chain for a resident *or swapped* page (what the
   * fault handler must find). Returns the object that has it (or null) and sets `chainPindex`.
   */
  findChain(pindex: number): VmObject | null {
    let p = pindex;
    for (let o: VmObject | null = this; o !== null; o = o.backingObject) {
      if (p >= o.size && o !== this) return null;
      if (o.pages.has(p) || (o.swap !== null && o.swap.get(p) >= 0)) {
        VmObject.chainPindex = p;
        return o;
      }
      p += o.backingObjectOffset / this.#ctx("vm_object_lookup_chain").mem.pageSize;
    }
    return null;
  }
  /**
   * Where page `pindex` is, seen through the chain: CHAIN_NONE (nowhere: zero fill or pager),
   * CHAIN_RESIDENT, or CHAIN_SWAPPED.
   */
  chainState(pindex: number): number {
    const o = this.findChain(pindex);
    if (o === null) return CHAIN_NONE;
    return o.pages.has(VmObject.chainPindex) ? CHAIN_RESIDENT : CHAIN_SWAPPED;
  }

  /** Result slot of {@link lookupChain} (avoids allocating a pair per lookup). */
  static chainPindex = 0;

  // ------------------------------------------------------------ copy-on-write

  /**
   * vm_object_shadow: returns the object an entry should name after its first copy-on-write
   * fault, and the offset in it. If `this` is anonymous and referenced once (the entry owns it
   * outright) there is nothing to shadow: returns `this` at `offset`. Otherwise a new anonymous
   * object of `length` bytes backed by `this` at `offset`; the caller's reference to `this`
   * becomes the shadow's backing reference. `shared` gives the shadow a second reference and
   * clears its ONEMAPPING (fork of a SHARE entry).
   */
  shadow(offset: number, length: number, shared: boolean): { object: VmObject; offset: number } {
    if (this.isAnon && this.refCount === 1 && !shared) return { object: this, offset };
    const ctx = this.ctx;
    const ps = ctx !== null ? ctx.mem.pageSize : 4096;
    const s = VmObject.allocateAnon(ctx, Math.ceil(length / ps));
    s.backingObject = this;
    s.backingObjectOffset = offset;
    this.#addShadow(s);
    if (this.isAnon) this.flags &= ~OBJ_ONEMAPPING;
    if (shared) {
      s.refCount++;
      s.flags &= ~OBJ_ONEMAPPING;
    }
    if (ctx !== null) {
      ctx.stats.shadowsCreated++;
      ctx.onEvent?.("shadow", s);
    }
    return { object: s, offset: 0 };
  }

  /**
   * vm_object_collapse: while the backing object is anonymous, either merge it into this one
   * (it is referenced only by us) or bypass it (we hide every one of its pages in our window).
   */
  collapse(): void {
    for (;;) {
      const b = this.backingObject;
      if (b === null || !b.isAnon || !this.isAnon) return;
      const ctx = this.#ctx("vm_object_collapse");
      const shift = this.backingObjectOffset / ctx.mem.pageSize;
      if (b.refCount === 1) {
        // Collapse: take the backing object's pages, then its place in the chain.
        for (const bp of [...b.pages.keys()]) {
          const np = bp - shift;
          if (np < 0 || np >= this.size || this.pages.has(np) || this.hasSwap(np)) b.pageFree(bp);
          else b.pageRename(bp, this, np);
        }
        if (b.swap !== null)
          for (const bp of b.swap.indices()) {
            const np = bp - shift;
            if (np < 0 || np >= this.size || this.pages.has(np) || this.hasSwap(np))
              ctx.swap.free(b.swap.take(bp));
            else b.#swapRename(bp, this, np);
          }
        const bb = b.backingObject;
        this.backingObject = bb;
        this.backingObjectOffset += b.backingObjectOffset;
        if (bb !== null) {
          bb.#removeShadow(b);
          bb.#addShadow(this);
          b.backingObject = null;
        }
        b.#removeShadow(this);
        b.refCount = 0;
        b.#terminate();
        ctx.stats.collapses++;
        ctx.onEvent?.("collapse", this);
        continue;
      }
      // Bypass: only if every backing page in our window is shadowed by one of ours.
      for (const bp of b.pages.keys()) {
        const np = bp - shift;
        if (np >= 0 && np < this.size && !this.pages.has(np) && !this.hasSwap(np)) return;
      }
      if (b.swap !== null)
        for (const bp of b.swap.indices(shift, shift + this.size))
          if (!this.pages.has(bp - shift) && !this.hasSwap(bp - shift)) return;
      const bb = b.backingObject;
      this.backingObject = bb;
      this.backingObjectOffset += b.backingObjectOffset;
      if (bb !== null) {
        bb.reference();
        bb.#addShadow(this);
      }
      b.#removeShadow(this);
      ctx.stats.bypasses++;
      ctx.onEvent?.("bypass", this);
      b.deallocate();
    }
  }

  /**
   * vm_object_split: an entry mapping pages [offset/ps, offset/ps + pages) of this one-mapping
   * anonymous object, shared with other entries of the same mapping, takes those pages into a
   * new object of its own. Returns the new object (the caller's entry now names it at offset 0
   * and the caller's reference to `this` has been dropped), or `this` when no split is needed.
   */
  split(offset: number, pages: number): VmObject {
    if (!this.isAnon || (this.flags & OBJ_ONEMAPPING) === 0 || this.refCount <= 1) return this;
    const ctx = this.#ctx("vm_object_split");
    const first = offset / ctx.mem.pageSize;
    const n = VmObject.allocateAnon(ctx, pages);
    for (const p of [...this.pages.keys()])
      if (p >= first && p < first + pages) this.pageRename(p, n, p - first);
    if (this.swap !== null)
      for (const p of this.swap.indices(first, first + pages)) this.#swapRename(p, n, p - first);
    if (this.backingObject !== null) {
      n.backingObject = this.backingObject;
      n.backingObjectOffset = this.backingObjectOffset + offset;
      this.backingObject.reference();
      this.backingObject.#addShadow(n);
    }
    ctx.stats.splits++;
    ctx.onEvent?.("split", n);
    this.deallocate();
    return n;
  }

  /**
   * vm_object_coalesce: can this anonymous object, mapped for `prevSize` bytes at byte offset
   * `prevOffset`, grow by `nextSize` bytes so that one mapping may extend into it? On success
   * the object covers the new range and stale pages there are freed.
   */
  coalesce(prevOffset: number, prevSize: number, nextSize: number, pageSize: number): boolean {
    // Shared anonymous memory (OBJ_SHM) is one object for every sharer, of the shmem's size:
    // a private mapping placed after it must not become part of it (nor grow it).
    if (!this.isAnon || (this.flags & OBJ_SHM) !== 0) return false;
    if (this.ctx !== null) this.collapse();
    if (this.backingObject !== null) return false;
    const nextPindex = prevOffset / pageSize + prevSize / pageSize;
    const nextPages = nextSize / pageSize;
    if (this.refCount > 1 && this.size !== nextPindex && (this.flags & OBJ_ONEMAPPING) === 0)
      return false;
    this.removePages(nextPindex, nextPindex + nextPages);
    if (nextPindex + nextPages > this.size) this.size = nextPindex + nextPages;
    return true;
  }

  /**
   * vm_fault_copy_entry's copy: a new anonymous object of `pages` pages holding a private copy
   * of what `src` (through its chain) shows at byte `offset` onwards; pages nobody has are left
   * to zero fill; pages on swap are paged in first. Panics when physical memory runs out or
   * the swap backend fails a read (the caller has no way to report either).
   */
  static copyWindow(
    src: VmObject | null,
    ctx: ObjectContext,
    offset: number,
    pages: number,
  ): VmObject {
    const n = VmObject.allocateAnon(ctx, pages);
    if (src === null) return n;
    const ps = ctx.mem.pageSize;
    const first = offset / ps;
    const upto = src.size > first ? Math.min(pages, src.size - first) : 0;
    const mem = ctx.mem;
    for (let p = 0; p < upto; p++) {
      const o = src.findChain(first + p);
      if (o === null) continue;
      const sp = VmObject.chainPindex;
      let from = o.pageLookup(sp);
      if (from < 0) from = o.pageIn(sp);
      if (from < 0) panic("vm_fault_copy_entry", "page-in of a copied page failed");
      const wasBusy = mem.flags[from] & PG_BUSY;
      mem.flags[from] |= PG_BUSY;
      const to = n.pageAlloc(p);
      mem.flags[from] = (mem.flags[from] & ~PG_BUSY) | wasBusy;
      if (to < 0) panic("vm_fault_copy_entry", "out of physical memory");
      mem.copyFrame(from, to);
      // The copy exists nowhere else: a clean anonymous page would be freed, not swapped, by
      // the daemon that the next allocation of this loop (or any later one) may run.
      mem.flags[to] |= PG_DIRTY;
    }
    return n;
  }

  /** Checks this object's own invariants; panics on the first broken one. */
  check(): void {
    const fn = "vm_object_check";
    if (this.isDead) panic(fn, `object ${this.id} is dead but still referenced`);
    if (this.refCount < 1) panic(fn, `object ${this.id} has ${this.refCount} references`);
    if (this.#nshadows !== this.shadows.size)
      panic(fn, `object ${this.id}: shadow count ${this.#nshadows}, ${this.shadows.size} shadows`);
    if (this.#npages !== this.pages.size)
      panic(fn, `object ${this.id}: resident count ${this.#npages}, ${this.pages.size} pages`);
    if (this.shadows.size > this.refCount)
      panic(fn, `object ${this.id}: ${this.shadows.size} shadows hold only ${this.refCount} refs`);
    const b = this.backingObject;
    if (b !== null && !b.shadows.has(this))
      panic(fn, `object ${this.id} missing from backing list`);
    for (const s of this.shadows)
      if (s.backingObject !== this) panic(fn, `shadow ${s.id} does not point at ${this.id}`);
    if (this.ctx !== null) {
      const mem = this.ctx.mem;
      for (const [p, f] of this.pages) {
        if (mem.owner[f] !== this.id || mem.pindex[f] !== p)
          panic(fn, `frame ${f} metadata does not say object ${this.id} page ${p}`);
        if (this.hasSwap(p)) panic(fn, `object ${this.id} page ${p} is resident and on swap`);
      }
    }
  }
}
