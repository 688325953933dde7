/**
 * The fault handler: the one place that stitches map, object, page and pmap together
 * (STYLE.md). FreeBSD sys/vm/vm_fault.c restated:
 *
 * 1. vm_map_lookup (map layer) validates the access against the entry, grows a stack when the
 *    fault hits a stack gap, gives a NEEDS_COPY entry its shadow on a write, and returns the
 *    top object and page index with the protection to map.
 * 2. The shadow chain is walked from the top object. A resident page in the top object is a
 *    *soft* fault. A page on swap (in any object of the chain) is paged in where it is, first;
 *    a failed swap read is SIGBUS (BUS_OBJERR), and its data stay on swap for a later try; so is a
 *    failed file read (the pager's getPage). A page found in a backing object is mapped read-only for a read, and copied
 *    into the top object for a write (copy on write) — or *moved* there when the backing object
 *    is anonymous and referenced only by the top object. Nothing found: the page is zero-filled
 *    in the top object.
 * 3. pmap_enter maps it; on a soft fault (and a copy on write) neighbouring resident pages are
 *    prefaulted read-only in the spiral order -1, +1, -2, +2, ... up to 4 pages each way, stopping
 *    at the first neighbour with no page in the chain (vm_fault_prefault).
 * A device object (src/pager/device.ts) has no pages: a fault there only validates the access
 * and names the device and offset in the FaultContext, for the caller to perform (MMIO).
 * The state of one fault lives in one place (the locals of vmFault; STYLE habit 7); if the map
 * changes while a page is being made, the fault starts again from the lookup.
 *
 * Guarded by: takes the map read lock through vm_map_lookup; objects and pages are touched
 * under it.
 */

import { lowBits } from "../base/addr.js";
import { panic } from "../base/assert.js";
import { MAP_ENTRY_NOFAULT } from "../base/flags.js";
import {
  KERN_OUT_OF_BOUNDS,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  type KernReturn,
} from "../base/kern.js";
import {
  VM_PROT_EXECUTE,
  VM_PROT_FAULT_LOOKUP,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type VmProt,
} from "../base/prot.js";
import type { EventHub } from "../events/events.js";
import type { VmMap } from "../map/VmMap.js";
import type { VmMapEntry } from "../map/VmMapEntry.js";
import { OBJ_ONEMAPPING, type ObjectContext, VmObject } from "../object/VmObject.js";
import { PG_BUSY, PG_DIRTY } from "../page/PhysMem.js";
import type { DevicePager } from "../pager/device.js";
import { type Pmap, PTE_R, PTE_WIRED, PTE_X } from "../pmap/Pmap.js";

/** VM_FAULT_* flags. */
export const VM_FAULT_NORMAL = 0;
export const VM_FAULT_WIRE = 1;
export const VM_FAULT_DIRTY = 2;
export const VM_FAULT_NOFILL = 4;

/** Prefault window (PFBAK, PFFOR). */
export const PFBAK = 4;
export const PFFOR = 4;

/** Counters of the fault handler (part of sys.stats()). */
export interface FaultStats {
  /** Every call of vmFault. */
  faults: number;
  /** Page already resident in the top object. */
  soft: number;
  /** Zero-filled pages. */
  zeroFill: number;
  /** Copy-on-write copies, and copy-on-write moves of a sole backing object's page. */
  cowCopies: number;
  cowMoves: number;
  /** Read faults satisfied from a backing object (mapped read-only). */
  shadowReads: number;
  /** Pages entered by prefault. */
  prefaulted: number;
  /** Pages read from a pager (file pages and swap). */
  pageins: number;
  /** Of those, pages read back from swap. */
  swapPageins: number;
  /** Faults that failed (signal delivered). */
  failed: number;
}

export function newFaultStats(): FaultStats {
  return {
    faults: 0,
    soft: 0,
    zeroFill: 0,
    cowCopies: 0,
    cowMoves: 0,
    shadowReads: 0,
    prefaulted: 0,
    pageins: 0,
    swapPageins: 0,
    failed: 0,
  };
}

/** What the fault handler needs besides the map and pmap: pages, counters, events. */
export interface FaultContext {
  readonly objects: ObjectContext;
  readonly stats: FaultStats;
  /** Events (emitted only while someone listens) and the faulting process's id. */
  readonly events: EventHub;
  readonly pid: number;
  /**
   * Set by a successful fault on a device page (and cleared by nothing else): the device and
   * the byte offset in it that the faulting access addresses. The caller performs the access
   * through the device; nothing was entered in the pmap.
   */
  mmio: DevicePager | null;
  mmioOffset: number;
  /**
   * The map whose translations a pmap holds (any process's, not only the faulting one's), or
   * null: a copy on write into a shared object must look at another address space's wired
   * translation of the copied page (see {@link dropCopiedPage}).
   */
  readonly mapOf: (pmap: Pmap) => VmMap | null;
}

function emit(
  fc: FaultContext,
  kind: "zero" | "cow" | "soft" | "shadow" | "pagein",
  address: number,
): void {
  if (fc.events.active) fc.events.emit({ type: "fault", pid: fc.pid, kind, address });
}

/**
 * vm_fault: resolves an access of type `faultType` (one or more PROT_* bits) at `va` in `map`,
 * whose physical map is `pmap`. `flags`: VM_FAULT_WIRE wires the page (and its translation).
 * Returns KERN_SUCCESS, or the KERN_* code the caller turns into a signal
 * (KERN_INVALID_ADDRESS, KERN_PROTECTION_FAILURE, KERN_OUT_OF_BOUNDS, KERN_RESOURCE_SHORTAGE;
 * KERN_FAILURE from vm_map_lookup on a guard page: SIGSEGV, SEGV_MAPERR).
 */
export function vmFault(
  fc: FaultContext,
  map: VmMap,
  pmap: Pmap,
  va: number,
  faultType: VmProt,
  flags: number,
): KernReturn {
  const st = fc.stats;
  st.faults++;
  const ps = map.pageSize;
  const vaPage = va - lowBits(va, ps);
  const rv = map.lookup(vaPage, faultType | VM_PROT_FAULT_LOOKUP);
  if (rv !== KERN_SUCCESS) {
    st.failed++;
    return rv;
  }
  const info = map.lookupInfo;
  const entry = info.entry;
  if ((entry.eflags & MAP_ENTRY_NOFAULT) !== 0) panic("vm_fault", "fault on a NOFAULT entry");
  const top = info.object;
  const pindex = info.pindex;
  let prot = info.prot;
  const wired = info.wired || (flags & VM_FAULT_WIRE) !== 0;
  // A wired entry faults with its whole protection (vm_fault: fault_type = entry prot).
  const access = info.wired ? entry.protection : faultType;
  const write = (access & VM_PROT_WRITE) !== 0;
  const mem = fc.objects.mem;
  try {
    const dev = top.devicePager;
    if (dev !== null) {
      // The device pager caches nothing: no page, no translation. The access is validated
      // (lookup checked the protection; the page must lie inside the device) and handed back
      // to the caller, which performs it through the device: every access comes here.
      if (pindex >= top.size) {
        st.failed++;
        return KERN_OUT_OF_BOUNDS;
      }
      fc.mmio = dev;
      fc.mmioOffset = pindex * ps + (va - vaPage);
      return KERN_SUCCESS;
    }
    let frame = top.pageLookup(pindex);
    let prefaultOk = true;
    if (frame >= 0) {
      st.soft++;
      emit(fc, "soft", va);
    } else {
      // The first object is where a missing page would be allocated (vm_fault_allocate): a
      // page index past its end is KERN_OUT_OF_BOUNDS (SIGBUS), e.g. a truncated shm object.
      if (pindex >= top.size) {
        st.failed++;
        return KERN_OUT_OF_BOUNDS;
      }
      let found = top.backingObject === null && top.swap === null ? null : top.findChain(pindex);
      if (found !== null && !found.pages.has(VmObject.chainPindex)) {
        // swap_pager_getpages: the page is on swap in `found`; bring it back there.
        const fp = VmObject.chainPindex;
        const f = found.pageIn(fp);
        if (f < 0) {
          st.failed++;
          return f === -1 ? KERN_RESOURCE_SHORTAGE : KERN_OUT_OF_BOUNDS;
        }
        st.pageins++;
        st.swapPageins++;
        emit(fc, "pagein", va);
        if (found === top) {
          frame = f;
          found = null;
        } else VmObject.chainPindex = fp;
      }
      if (found === null && frame < 0) {
        // Pager input (vm_fault_getpages): the last object of the chain may have a pager.
        let bottom = top;
        let bp = pindex;
        while (bottom.backingObject !== null) {
          bp += bottom.backingObjectOffset / ps;
          bottom = bottom.backingObject;
        }
        const pager = bottom.pager;
        if (pager !== null) {
          if (!pager.hasPage(bp * ps)) {
            st.failed++;
            return KERN_OUT_OF_BOUNDS; // VM_PAGER_BAD: beyond the end of the file
          }
          const f = bottom.pageAlloc(bp);
          if (f < 0) {
            st.failed++;
            return KERN_RESOURCE_SHORTAGE;
          }
          if (pager.getPage(bp * ps, mem.bytes.subarray(f * ps, f * ps + ps)) !== null) {
            // The file failed the read: no page, and SIGBUS (BUS_OBJERR) for the access, as
            // vm_fault answers VM_PAGER_ERROR; a later access tries the file again.
            bottom.pageFree(bp);
            st.failed++;
            return KERN_OUT_OF_BOUNDS;
          }
          st.pageins++;
          emit(fc, "pagein", va);
          if (bottom === top) frame = f;
          else {
            found = bottom;
            VmObject.chainPindex = bp;
          }
        }
      }
      if (frame >= 0) {
        // Paged into the first object itself: map it as a soft fault would.
        if (write) mem.flags[frame] |= PG_DIRTY;
      } else if (found !== null) {
        const fp = VmObject.chainPindex;
        const src = found.pages.get(fp)!;
        if (write) {
          if (
            found.isAnon &&
            found.refCount === 1 &&
            found.shadowCount === 1 &&
            top.backingObject === found &&
            mem.wire[src] === 0
          ) {
            // The backing object is ours alone: take its page instead of copying it.
            fc.objects.pv.removeAll(src);
            found.pageRename(fp, top, pindex);
            frame = src;
            st.cowMoves++;
          } else {
            // The source stays busy while the copy's frame is found: the page daemon, run
            // by the allocation, must not take it (vm_fault_cow holds it exclusive-busy).
            const busy = mem.flags[src] & PG_BUSY;
            mem.flags[src] |= PG_BUSY;
            frame = top.pageAlloc(pindex);
            mem.flags[src] = (mem.flags[src] & ~PG_BUSY) | busy;
            if (frame < 0) {
              st.failed++;
              return KERN_RESOURCE_SHORTAGE;
            }
            mem.copyFrame(src, frame);
            // vm_fault_cow: when the first object is shared (a SHARE-inherited shadow), other
            // address spaces may map the old page read-only through it; they must fault on the
            // new copy (pmap_remove_all of the copied page unless OBJ_ONEMAPPING).
            if ((top.flags & OBJ_ONEMAPPING) === 0) dropCopiedPage(fc, src, pmap, vaPage);
            st.cowCopies++;
          }
          mem.flags[frame] |= PG_DIRTY;
          emit(fc, "cow", va);
        } else {
          frame = src;
          prot &= ~VM_PROT_WRITE;
          st.shadowReads++;
          emit(fc, "shadow", va);
        }
      } else {
        if ((flags & VM_FAULT_NOFILL) !== 0) {
          st.failed++;
          return KERN_OUT_OF_BOUNDS;
        }
        frame = top.pageAlloc(pindex);
        if (frame < 0) {
          st.failed++;
          return KERN_RESOURCE_SHORTAGE;
        }
        mem.flags[frame] |= PG_DIRTY;
        st.zeroFill++;
        prefaultOk = false; // faultcount == 1: nothing around a fresh page to prefault
        emit(fc, "zero", va);
      }
    }
    const old = pmap.extract(vaPage);
    const oldWired = old !== 0 && (old & PTE_WIRED) !== 0;
    pmap.enter(vaPage, frame, prot, wired, access);
    if (wired) {
      if (!oldWired) mem.wireFrame(frame);
      else if (old >>> 8 !== frame) {
        mem.unwireFrame(old >>> 8);
        mem.wireFrame(frame);
      }
    }
    if (prefaultOk && !wired) prefault(fc, map, pmap, entry, vaPage);
    return KERN_SUCCESS;
  } finally {
    map.lookupDone();
  }
}

/**
 * vm_fault_prefault: maps resident neighbours of `va` read-only, in the order -1, +1, -2, +2, ...
 * pages, inside the entry, at most PFBAK behind and PFFOR ahead; descends the shadow chain
 * only through anonymous objects; stops at the first candidate with no page anywhere.
 */
export function prefault(
  fc: FaultContext,
  map: VmMap,
  pmap: Pmap,
  entry: VmMapEntry,
  va: number,
): void {
  const ps = map.pageSize;
  const starta = Math.max(entry.start, va - PFBAK * ps);
  const top = entry.object;
  if (top === null) return;
  const n = 2 * Math.max(PFBAK, PFFOR);
  // Which neighbours are mapped: asked page by page until one is, then for the whole window at
  // once (after a copy-on-write fault they all are; after a zero fill the first one is not).
  let mapped = -1;
  for (let i = 0; i < n; i++) {
    const k = ((i >> 1) + 1) * ((i & 1) === 0 ? -1 : 1);
    const addr = va + k * ps;
    if (addr > va + PFFOR * ps) continue;
    if (addr < starta || addr >= entry.end) continue;
    if (mapped >= 0) {
      if (((mapped >> (k + PFBAK)) & 1) !== 0) continue;
    } else if (pmap.extract(addr) !== 0) {
      mapped = pmap.mappedAround(va, PFBAK, PFFOR);
      continue;
    }
    let o: VmObject | null = top;
    let p = (addr - entry.start + entry.offset) / ps;
    let frame = -1;
    while (o !== null) {
      const f = o.pageLookup(p);
      if (f >= 0) {
        frame = f;
        break;
      }
      if (!o.isAnon || o.hasSwap(p)) break; // a page on swap hides what lies below

      p += o.backingObjectOffset / ps;
      o = o.backingObject;
    }
    if (frame < 0) break;
    pmap.enterQuick(addr, frame, entry.protection);
    fc.stats.prefaulted++;
  }
}

/**
 * vm_fault_cow's pmap_remove_all of page `src`, just copied into a shared first object: every
 * other translation of src goes, so that an address space reading the old page through that
 * object faults on the copy. A wired translation cannot just go (FreeBSD removes it, and the
 * entry's wiring is left holding a page it no longer maps): when its own chain now finds another
 * page, the translation and its wiring move there; when its chain still finds src (a chain that
 * does not pass through the copy's object), it stays. The faulting translation (self at selfVa)
 * is replaced by the caller.
 */
function dropCopiedPage(fc: FaultContext, src: number, self: Pmap, selfVa: number): void {
  const pv = fc.objects.pv;
  const mem = fc.objects.mem;
  if (mem.wire[src] === 0) {
    pv.removeAll(src);
    return;
  }
  const ps = mem.pageSize;
  const at: [Pmap, number][] = [];
  pv.forEach(src, (pm, va) => {
    if (pm !== self || va !== selfVa) at.push([pm, va]);
  });
  for (const [pm, va] of at) {
    const pte = pm.extract(va);
    if ((pte & PTE_WIRED) === 0) {
      pm.remove(va, va + ps);
      continue;
    }
    const r = fc.mapOf(pm)?.lookupEntry(va);
    const e = r?.found === true ? r.entry : null;
    if (e === null || e.object === null)
      panic("vm_fault_cow", `wired translation at 0x${va.toString(16)} without a mapping`);
    const f = e.object.chainFrame((va - e.start + e.offset) / ps);
    if (f < 0 || f === src) continue;
    // Read access as before; a write faults softly on the page its object now holds.
    const prot =
      ((pte & PTE_R) !== 0 ? VM_PROT_READ : 0) | ((pte & PTE_X) !== 0 ? VM_PROT_EXECUTE : 0);
    pm.enter(va, f, prot, true);
    mem.wireFrame(f);
    mem.unwireFrame(src);
  }
}
