/**
 * The whole-system audit (STYLE habits 6 and 12): every structure of every layer is walked and
 * every cached or derived value recomputed and compared. Used after every step of the
 * differential tests and by `--paranoid` replays. Throws VmPanic on the first broken
 * invariant, naming it.
 *
 * Per layer: physical-memory queues (PhysMem.check), each map (VmMap.check: tree, gaps, sizes,
 * merge rule), each pmap (Pmap.check: counters, reverse map, TLB never more permissive than its
 * PTE). Across layers:
 *  - every object's reference count equals the map entries naming it plus the shadows backed
 *    by it, and every live object is reachable from some entry (no leak);
 *  - every frame in use belongs to a live object that lists it at that index;
 *  - every PTE maps, at address va, the frame that the entry covering va finds first in its
 *    object's shadow chain; it is writable only if the entry is writable, not NEEDS_COPY, and
 *    the page is the top object's own; it is wired iff the entry is; a frame's wire count
 *    equals the number of wired PTEs mapping it; every page of a wired entry is mapped (but
 *    for a file's or shared memory's page that went, and, under Linux, any page: VM_LOCKED
 *    does not make a page resident);
 *  - the reverse map holds exactly one entry per valid PTE;
 *  - the user-wired page count equals the USER_WIRED pages of all maps, and each map's its own;
 *  - swap: every slot is held by one (object, page index) at most, an object's slot count
 *    matches its slot map, no page is both resident and on swap (VmObject.check), and the
 *    swap pager's slots in use equal the slots the live objects hold (no leak).
 */

import { panic } from "../base/assert.js";
import { MAP_ENTRY_NEEDS_COPY, MAP_ENTRY_USER_WIRED, MAP_READ_IMPLIED } from "../base/flags.js";
import { VM_PROT_EXECUTE, VM_PROT_READ, VM_PROT_WRITE } from "../base/prot.js";
import type { VmMap } from "../map/VmMap.js";
import { OBJ_SHM, VmObject } from "../object/VmObject.js";
import { Q_FREE } from "../page/PhysMem.js";
import { PTE_R, PTE_W, PTE_WIRED, PTE_X } from "../pmap/Pmap.js";
import type { VmSystem } from "../process/VmSystem.js";

const FN = "vm_audit";

/** Audits one map (entries and tree). */
export function auditMap(map: VmMap): void {
  map.check();
}

/** Audits the whole system; throws VmPanic on the first broken invariant. */
export function auditSystem(sys: VmSystem): void {
  const mem = sys.mem;
  mem.check();
  const refs = new Map<VmObject, number>();
  const reachable = new Set<VmObject>();
  const wiredPtes = new Map<number, number>();
  let ptes = 0;
  let userWired = 0;
  const ps = sys.pageSize;
  const linux = sys.personality === "linux";
  for (const p of sys.processes()) {
    p.map.check();
    p.pmap.check();
    let mapUserWired = 0;
    for (const e of p.map.entries()) {
      if ((e.eflags & MAP_ENTRY_USER_WIRED) !== 0) mapUserWired += (e.end - e.start) / ps;
      if (e.object !== null) {
        refs.set(e.object, (refs.get(e.object) ?? 0) + 1);
        for (let o: VmObject | null = e.object; o !== null; o = o.backingObject) reachable.add(o);
      }
    }
    if (p.map.userWiredPages !== mapUserWired)
      panic(
        FN,
        `pid ${p.pid}: user-wired pages ${p.map.userWiredPages}, entries say ${mapUserWired}`,
      );
    userWired += mapUserWired;
    // Guard markers lie in mappings (an unmap drops them), and only Linux makes them.
    for (const va of p.pmap.guardsIn(0, Number.MAX_SAFE_INTEGER)) {
      if (!linux) panic(FN, `pid ${p.pid}: a guard page at 0x${va.toString(16)} in FreeBSD`);
      if (!p.map.lookupEntry(va).found)
        panic(FN, `pid ${p.pid}: guard page at 0x${va.toString(16)} outside any entry`);
    }
    for (const [va, pte] of p.pmap.mappings()) {
      ptes++;
      const f = pte >>> 8;
      const r = p.map.lookupEntry(va);
      if (!r.found) panic(FN, `pid ${p.pid}: PTE at 0x${va.toString(16)} outside any entry`);
      const e = r.entry!;
      if (e.object === null)
        panic(FN, `pid ${p.pid}: PTE at 0x${va.toString(16)} of objectless entry`);
      const holder = e.object.lookupChain((va - e.start + e.offset) / ps);
      if (holder === null || holder.pages.get(holderIndex()) !== f)
        panic(
          FN,
          `pid ${p.pid}: PTE at 0x${va.toString(16)} maps frame ${f}, not the chain's page`,
        );
      const perm = (pte & PTE_R ? 1 : 0) | (pte & PTE_W ? 2 : 0) | (pte & PTE_X ? 4 : 0);
      const readImplied =
        (p.map.flags & MAP_READ_IMPLIED) !== 0 &&
        (e.protection & (VM_PROT_WRITE | VM_PROT_EXECUTE)) !== 0;
      if ((perm & ~(e.protection | (readImplied ? VM_PROT_READ : 0))) !== 0)
        panic(FN, `pid ${p.pid}: PTE at 0x${va.toString(16)} exceeds the entry protection`);
      if (
        (perm & VM_PROT_WRITE) !== 0 &&
        ((e.eflags & MAP_ENTRY_NEEDS_COPY) !== 0 || holder !== e.object)
      )
        panic(FN, `pid ${p.pid}: PTE at 0x${va.toString(16)} writable over a copy-on-write page`);
      const wired = (pte & PTE_WIRED) !== 0;
      // pmap_protect to NONE removes a translation unless it is wired, and nothing maps a page
      // of an entry without READ or EXECUTE (faults refuse, vm_map_pmap_enter skips it): there
      // a translation that grants nothing exists only while wired. (A write-only translation
      // that mprotect reduced to read-execute keeps no access either, but its entry allows
      // access: the next one refaults it.)
      if (perm === 0 && !wired && (e.protection & (VM_PROT_READ | VM_PROT_EXECUTE)) === 0)
        panic(FN, `pid ${p.pid}: PTE at 0x${va.toString(16)} grants no access and is not wired`);
      if (wired) wiredPtes.set(f, (wiredPtes.get(f) ?? 0) + 1);
      if (wired && e.wiredCount === 0)
        panic(FN, `pid ${p.pid}: wired PTE at 0x${va.toString(16)} in an unwired entry`);
    }
    for (const e of p.map.entries()) {
      // A device page is never mapped (each access traps): nothing to be wired.
      if (e.wiredCount === 0 || e.object === null || e.object.type === "device") continue;
      const fileOrShm = (e.object.flags & OBJ_SHM) !== 0 || e.object.bottom.type === "vnode";
      for (let va = e.start; va < e.end; va += ps) {
        const pte = p.pmap.extract(va);
        // A page of shared memory or of a file can leave a wired mapping while the wiring
        // stays: another mapping punched a hole there (Linux's MADV_REMOVE) or the file was
        // truncated. Linux unmaps mlocked pages then, and a page that comes back (another
        // process's fault) is mapped here only by this mapping's next access, wired then.
        if (pte === 0 && fileOrShm) continue;
        // Linux's VM_LOCKED does not make a page resident: a locked vma without access, or past
        // where mlock's population stopped, or whose page went (a hole), keeps its missing
        // pages missing until they fault in (mlocked then).
        if (pte === 0 && linux) continue;
        if (pte === 0 || (pte & PTE_WIRED) === 0)
          panic(FN, `pid ${p.pid}: wired entry page 0x${va.toString(16)} not wired in the pmap`);
      }
    }
  }
  for (const obj of sys.objects.objects.values()) {
    obj.check();
    for (const _s of obj.shadows) refs.set(obj, (refs.get(obj) ?? 0) + 1);
    const expect = refs.get(obj) ?? 0;
    if (obj.refCount !== expect)
      panic(FN, `object ${obj.id}: refCount ${obj.refCount}, but ${expect} references exist`);
    if (!reachable.has(obj)) panic(FN, `object ${obj.id} is alive but unreachable (leak)`);
  }
  for (const o of reachable)
    if (!sys.objects.objects.has(o.id)) panic(FN, `object ${o.id} is used but not registered`);
  for (let f = 0; f < mem.nframes; f++) {
    if (mem.queue[f] === Q_FREE) continue;
    const o = sys.objects.objects.get(mem.owner[f]);
    if (o === undefined || o.pages.get(mem.pindex[f]) !== f)
      panic(FN, `frame ${f} in use but not held by its owner object ${mem.owner[f]}`);
    if (mem.wire[f] !== (wiredPtes.get(f) ?? 0))
      panic(FN, `frame ${f}: wire count ${mem.wire[f]} but ${wiredPtes.get(f) ?? 0} wired PTEs`);
  }
  let slots = 0;
  const seen = new Set<number>();
  for (const obj of sys.objects.objects.values()) {
    const sw = obj.swap;
    if (sw === null) continue;
    const idx = sw.indices();
    if (idx.length !== sw.count)
      panic(FN, `object ${obj.id}: swap count ${sw.count}, but ${idx.length} slots mapped`);
    for (const p of idx) {
      const slot = sw.get(p);
      if (seen.has(slot)) panic(FN, `swap slot ${slot} held twice (object ${obj.id} page ${p})`);
      seen.add(slot);
    }
    slots += idx.length;
  }
  if (slots !== sys.swap.inUse)
    panic(FN, `swap pager has ${sys.swap.inUse} slots in use, objects hold ${slots}`);
  if (sys.pv.used !== ptes) panic(FN, `reverse map has ${sys.pv.used} entries for ${ptes} PTEs`);
  if (sys.wireCounter.userWired !== userWired)
    panic(FN, `user-wired count ${sys.wireCounter.userWired}, maps say ${userWired}`);
}

/** The page index the last lookupChain stopped at. */
function holderIndex(): number {
  return VmObject.chainPindex;
}
