/**
 * The page daemon: frees page frames under memory pressure (FreeBSD sys/vm/vm_pageout.c,
 * reduced to one synchronous pass run by the allocator).
 *
 * When an allocation finds fewer than `freeMin` free frames (the low-water mark), or none at
 * all, the object layer calls `reclaim()` (installed as ObjectContext.reclaim), which works
 * until `freeTarget` frames are free, in batches so that the cost of a scan is shared by many
 * allocations:
 *  1. Refill the inactive queue from the head of the active queue (vm_pageout_scan_active):
 *     a page whose pmap referenced bits are set is given a second chance (bits cleared, moved
 *     to the active tail); the others move to the inactive tail.
 *  2. Scan the inactive queue from its head (vm_pageout_scan_inactive): a page referenced since
 *     it was deactivated goes back to the active queue; otherwise every mapping of it is
 *     removed (pmap_remove_all, which invalidates the TLBs and gathers the modified bits),
 *     then a clean page is freed, a dirty page of a file object is written to its file (a
 *     MAP_SHARED page: the vnode pager) and freed, and a dirty anonymous page is written to
 *     swap and freed (the laundry, done at once). A failed write, to swap or to the file,
 *     leaves the page resident and dirty, back on the active queue.
 * Wired pages are on no queue, so the daemon never sees them; busy pages (a copy-on-write
 * source while its copy's frame is being found) are skipped. Device and physical objects'
 * pages are never reclaimed.
 *
 * Non-obvious choice: laundering is synchronous. FreeBSD queues dirty pages on a laundry queue
 * for a separate thread; with one thread and a synchronous backend, writing at once gives the
 * same result and one queue less.
 *
 * Per-frame state stays in PhysMem's typed arrays; a pass allocates nothing but the backend's
 * page view.
 *
 * Guarded by: the system (one thread); runs inside the allocating caller's locks.
 */

import { panic } from "../base/assert.js";
import { OBJ_FICTITIOUS, OBJ_UNMANAGED, type ObjectContext } from "../object/VmObject.js";
import { PG_BUSY, PG_DIRTY, PG_REFERENCED, Q_ACTIVE, Q_INACTIVE } from "../page/PhysMem.js";

/** Counters of the page daemon (part of sys.stats()). */
export interface DaemonStats {
  /** Calls of reclaim (allocations that found free frames below the low-water mark, or none). */
  wakeups: number;
  /** Pages moved from the active to the inactive queue. */
  deactivated: number;
  /** Pages moved back to the active queue because they were referenced (second chance). */
  reactivated: number;
  /** Dirty pages written out: to swap, and to their file. */
  swapPageouts: number;
  filePageouts: number;
  /** Clean pages freed without I/O. */
  freedClean: number;
  /** Pageouts the swap backend or a file refused (the page stayed resident and dirty). */
  failedPageouts: number;
}

export class PageDaemon {
  readonly ctx: ObjectContext;
  readonly stats: DaemonStats = {
    wakeups: 0,
    deactivated: 0,
    reactivated: 0,
    swapPageouts: 0,
    filePageouts: 0,
    freedClean: 0,
    failedPageouts: 0,
  };
  /** Free frames a wakeup works towards (vm_cnt.v_free_target) (system). */
  freeTarget: number;
  /** Observer of pageouts; null = nobody listens (system). */
  onPageout: ((objectId: number, pindex: number) => void) | null = null;

  /**
   * The daemon of `ctx`'s physical memory. It does nothing until installed: `ctx.reclaim =
   * () => daemon.reclaim()` (VmSystem does this). It sets the context's low-water mark.
   */
  constructor(ctx: ObjectContext) {
    this.ctx = ctx;
    this.freeTarget = Math.max(1, Math.min(64, ctx.mem.nframes >> 5));
    this.freeMin = Math.max(1, this.freeTarget >> 1);
  }

  /**
   * The low-water mark (vm_cnt.v_free_min): an allocation that finds fewer free frames wakes
   * the daemon first, which then works up to `freeTarget`. Half the target by default; 0 means
   * only when an allocation finds no frame. Setting it sets the context's mark.
   */
  get freeMin(): number {
    return this.ctx.freeMin;
  }
  set freeMin(n: number) {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new RangeError(`PageDaemon: freeMin ${n} is not a non-negative integer`);
    this.ctx.freeMin = n;
  }

  /** Total pages written out (to swap and to files). */
  get pageouts(): number {
    return this.stats.swapPageouts + this.stats.filePageouts;
  }

  /**
   * vm_pageout_scan: frees frames until `freeTarget` are free or nothing more can be freed.
   * Returns true when at least one frame is free afterwards.
   */
  reclaim(): boolean {
    const mem = this.ctx.mem;
    this.stats.wakeups++;
    const target = Math.min(this.freeTarget, mem.nframes);
    // Three passes suffice: a page referenced in the first loses its bits and is deactivated
    // by the second refill; it can be freed in the third unless touched in between.
    for (let pass = 0; pass < 3 && mem.freeCount < target; pass++) {
      this.#refillInactive(2 * target);
      this.#scanInactive(target);
    }
    // Still nothing free (the pages tried were referenced again, or their writes failed): two
    // passes over every page before the allocation is refused, the first clearing referenced
    // bits, so that one page that can go anywhere is found (vm_pageout_scan's OOM check looks
    // at the whole queues too).
    for (let pass = 0; pass < 2 && mem.freeCount === 0; pass++) {
      this.#refillInactive(mem.nframes);
      this.#scanInactive(1);
    }
    return mem.freeCount > 0;
  }

  /** vm_pageout_scan_active: moves unreferenced pages from the active to the inactive queue. */
  #refillInactive(want: number): void {
    const mem = this.ctx.mem;
    const pv = this.ctx.pv;
    let n = mem.qlen[Q_ACTIVE];
    let f = mem.qhead[Q_ACTIVE];
    while (n-- > 0 && f >= 0 && mem.qlen[Q_INACTIVE] < want) {
      const next = mem.qnext[f];
      const referenced = pv.tsReferenced(f) > 0 || (mem.flags[f] & PG_REFERENCED) !== 0;
      mem.flags[f] &= ~PG_REFERENCED;
      if (referenced) mem.requeue(f, Q_ACTIVE);
      else {
        mem.requeue(f, Q_INACTIVE);
        this.stats.deactivated++;
      }
      f = next;
    }
  }

  /** vm_pageout_scan_inactive: frees (laundering first) unreferenced inactive pages. */
  #scanInactive(target: number): void {
    const ctx = this.ctx;
    const mem = ctx.mem;
    const pv = ctx.pv;
    const ps = mem.pageSize;
    let n = mem.qlen[Q_INACTIVE];
    let f = mem.qhead[Q_INACTIVE];
    while (n-- > 0 && f >= 0 && mem.freeCount < target) {
      const next = mem.qnext[f];
      this.#launder(f, ctx, mem, pv, ps);
      f = next;
    }
  }

  #launder(
    f: number,
    ctx: ObjectContext,
    mem: ObjectContext["mem"],
    pv: ObjectContext["pv"],
    ps: number,
  ): void {
    if (mem.wire[f] !== 0) panic("vm_pageout_scan", `wired frame ${f} on the inactive queue`);
    if ((mem.flags[f] & PG_BUSY) !== 0) {
      mem.requeue(f, Q_INACTIVE);
      return;
    }
    const obj = ctx.objects.get(mem.owner[f]);
    if (obj === undefined) panic("vm_pageout_scan", `frame ${f} has no live owner`);
    if (
      obj.type === "device" ||
      obj.type === "phys" ||
      (obj.flags & (OBJ_FICTITIOUS | OBJ_UNMANAGED)) !== 0
    ) {
      mem.requeue(f, Q_ACTIVE);
      return;
    }
    // Second chance: referenced since deactivation?
    if (pv.tsReferenced(f) > 0 || (mem.flags[f] & PG_REFERENCED) !== 0) {
      mem.flags[f] &= ~PG_REFERENCED;
      mem.requeue(f, Q_ACTIVE);
      this.stats.reactivated++;
      return;
    }
    const pindex = mem.pindex[f];
    // pmap_remove_all: no translation (and no TLB entry) may survive the frame; the modified
    // bits of the removed PTEs land in PG_DIRTY.
    pv.removeAll(f);
    mem.flags[f] &= ~PG_REFERENCED;
    if ((mem.flags[f] & PG_DIRTY) === 0) {
      obj.pageFree(pindex);
      this.stats.freedClean++;
      return;
    }
    const pager = obj.pager;
    if (pager !== null) {
      // A dirty page of a file object: a MAP_SHARED write; the file gets it, unless it fails
      // the write: then the page stays, dirty, as after a refused swap write.
      if (pager.putPage(pindex * ps, mem.bytes.subarray(f * ps, f * ps + ps)) !== null) {
        mem.requeue(f, Q_ACTIVE);
        this.stats.failedPageouts++;
        return;
      }
      mem.flags[f] &= ~PG_DIRTY;
      obj.pageFree(pindex);
      this.stats.filePageouts++;
    } else if (obj.pageOut(pindex) !== null) {
      // The backend refused: the page stays, dirty, and is not tried again at once.
      mem.requeue(f, Q_ACTIVE);
      this.stats.failedPageouts++;
      return;
    } else this.stats.swapPageouts++;
    this.onPageout?.(obj.id, pindex);
  }
}
