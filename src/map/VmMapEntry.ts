/**
 * vm_map_entry: one contiguous range of a map with uniform attributes.
 *
 * An entry maps [start, end) to `object` starting at byte `offset`. It is also a node of the
 * map's augmented tree (GapNode), so it carries the tree's links; those belong to the tree.
 * Entries are created, clipped, merged and freed only by VmMap, under the map's exclusive lock.
 *
 * Lifetime. An entry is the map's, as in FreeBSD, where entries come from and go back to a UMA
 * zone. One that is deleted or merged into a neighbour stays readable until the map is unlocked;
 * it is then disposed (start and end -1, no object: see {@link VmMapEntry.disposed}) and a later
 * insert, clip or fork of the same map may reuse it for another range. So hold an entry only
 * while the map has not changed (compare the map's `timestamp`); copy what you need.
 *
 * Guarded by: the map lock, every field.
 */

import {
  MAP_ENTRY_COW,
  MAP_ENTRY_GUARD,
  MAP_ENTRY_SPLIT_BOUNDARY_MASK,
  MAP_ENTRY_SPLIT_BOUNDARY_SHIFT,
  MAP_ENTRY_USER_WIRED,
} from "../base/flags.js";
import type { VmInherit, VmProt } from "../base/prot.js";
import { GapNode } from "../ds/GapTree.js";
import type { VmObject } from "../object/VmObject.js";
import type { PagerError } from "../pager/vnode.js";

/** Initial read-ahead window of a new entry, in pages (VM_FAULT_READ_AHEAD_INIT). */
export const VM_FAULT_READ_AHEAD_INIT = 15;

/** start and end of a disposed entry: below every map (maps begin at 0 or above). */
const DISPOSED = -1;

export class VmMapEntry extends GapNode<VmMapEntry> {
  /** The backing object, or null for lazily allocated anonymous memory and guards. */
  declare object: VmObject | null;
  /** Byte offset in `object` that corresponds to `start`. */
  declare offset: number;
  /** MAP_ENTRY_* flags. */
  declare eflags: number;
  /** Current protection; always a subset of maxProtection. */
  declare protection: VmProt;
  /** Ceiling for protection. */
  declare maxProtection: VmProt;
  /** Inheritance at fork. */
  declare inheritance: VmInherit;
  /** Number of wirings; a user wiring counts at most once (USER_WIRED). */
  declare wiredCount: number;
  /** Read-ahead window in pages. */
  declare readAhead: number;
  /** Address of the next expected sequential fault; for stack gaps, the guard size in bytes. */
  declare nextRead: number;

  // Set by reset() rather than by field initializers: see GapNode.
  constructor() {
    super();
    this.reset();
  }

  /**
   * Marks a freed entry (VmMap keeps it for reuse): no range, no object, no wirings. A stale
   * reference then reads as an empty range below every map, which the audit and most
   * comparisons catch, rather than as the mapping it used to be.
   */
  dispose(): void {
    this.start = this.end = DISPOSED;
    this.object = null;
    this.eflags = 0;
    this.wiredCount = 0;
  }

  /** True once {@link dispose}d and not reused since. */
  get disposed(): boolean {
    return this.start === DISPOSED && this.end === DISPOSED;
  }

  /** A new entry's state (the constructor's, and a disposed entry's when it is reused). */
  reset(): void {
    this.start = 0;
    this.end = 0;
    this.object = null;
    this.offset = 0;
    this.eflags = 0;
    this.protection = 0;
    this.maxProtection = 0;
    this.inheritance = 1;
    this.wiredCount = 0;
    this.readAhead = VM_FAULT_READ_AHEAD_INIT;
    this.nextRead = 0;
  }

  /** True when [start, end) contains `addr`. */
  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  get isGuard(): boolean {
    return (this.eflags & MAP_ENTRY_GUARD) !== 0;
  }

  /** Index into the map's page sizes that clips must respect (0: any page). */
  get splitBoundaryIndex(): number {
    return (this.eflags & MAP_ENTRY_SPLIT_BOUNDARY_MASK) >>> MAP_ENTRY_SPLIT_BOUNDARY_SHIFT;
  }

  /** Wirings other than the (single) user wiring. */
  get systemWiredCount(): number {
    return this.wiredCount - ((this.eflags & MAP_ENTRY_USER_WIRED) !== 0 ? 1 : 0);
  }

  /**
   * vm_object_sync of the part of [start, end) this entry maps, when the entry maps its
   * object's own pages (not copy-on-write): the object's dirty pages there go to its pager,
   * and with `invalidate` its clean, unwired ones are dropped. Returns null, or the pager's
   * error. msync (VmMap.sync) and the write-back of munmap and exit share it.
   */
  syncWindow(start: number, end: number, invalidate: boolean, pageSize: number): PagerError | null {
    const o = this.object;
    if (o === null || (this.eflags & MAP_ENTRY_COW) !== 0) return null;
    const lo = (Math.max(start, this.start) - this.start + this.offset) / pageSize;
    const hi = (Math.min(end, this.end) - this.start + this.offset) / pageSize;
    return o.sync(lo, hi, invalidate);
  }

  /** Copies every attribute (not the tree links) from `e`. */
  copyFrom(e: VmMapEntry): void {
    this.start = e.start;
    this.end = e.end;
    this.object = e.object;
    this.offset = e.offset;
    this.eflags = e.eflags;
    this.protection = e.protection;
    this.maxProtection = e.maxProtection;
    this.inheritance = e.inheritance;
    this.wiredCount = e.wiredCount;
    this.readAhead = e.readAhead;
    this.nextRead = e.nextRead;
  }
}
