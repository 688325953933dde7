/**
 * vm_object: the backing store of a mapping.
 *
 * This file holds what the map layer needs of an object: its type, size in pages, reference
 * count, flags (ANON, ONEMAPPING) and the coalescing rule of vm_object_coalesce. Resident
 * pages, shadow chains, collapse and split are added by the object layer proper; all
 * copy-on-write logic is to live in this folder (STYLE habit 8).
 *
 * Reference counting pairs `reference()` with `deallocate()` (STYLE habit 10): each map
 * entry that names an object holds one reference; the last deallocate terminates the object.
 *
 * Guarded by: the object lock (single-threaded here: any caller).
 */

import { kassert } from "../base/assert.js";

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

export type ObjectType = "default" | "swap" | "vnode" | "device" | "phys" | "dead";

let nextObjectId = 1;

export class VmObject {
  /** Unique id, for descriptions (constant). */
  readonly id: number;
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
  /** Number of objects whose backing object this is (object lock). */
  shadowCount = 0;

  constructor(type: ObjectType, sizePages: number, flags: number) {
    this.id = nextObjectId++;
    this.type = type;
    this.size = sizePages;
    this.flags = flags;
  }

  /**
   * vm_object_allocate_anon: a fresh anonymous object of `sizePages` pages, flags
   * ANON | ONEMAPPING, one reference.
   */
  static allocateAnon(sizePages: number): VmObject {
    return new VmObject("default", sizePages, OBJ_ANON | OBJ_ONEMAPPING);
  }

  get isAnon(): boolean {
    return (this.flags & OBJ_ANON) !== 0;
  }

  get isDead(): boolean {
    return (this.flags & OBJ_DEAD) !== 0;
  }

  /** vm_object_reference: one more reference. */
  reference(): void {
    kassert(!this.isDead, "vm_object_reference", `object ${this.id} is dead`);
    this.refCount++;
  }

  /**
   * vm_object_deallocate: drops one reference. An anonymous object left with one reference
   * regains ONEMAPPING; at zero the object is terminated and its backing object released.
   */
  deallocate(): void {
    let obj: VmObject | null = this;
    while (obj !== null) {
      kassert(obj.refCount > 0, "vm_object_deallocate", `object ${obj.id} has no references`);
      obj.refCount--;
      if (obj.refCount > 0) {
        if (obj.refCount === 1 && obj.isAnon) obj.flags |= OBJ_ONEMAPPING;
        return;
      }
      const backing: VmObject | null = obj.backingObject;
      obj.terminate();
      obj = backing;
    }
  }

  /** vm_object_terminate: the object is dead; its pages are freed. */
  terminate(): void {
    if (this.backingObject !== null) {
      this.backingObject.shadowCount--;
      this.backingObject = null;
    }
    this.removePages(0, this.size);
    this.flags |= OBJ_DEAD;
    this.type = "dead";
  }

  /**
   * vm_object_page_remove: frees the resident pages with index in [start, end). The map
   * layer calls it when a one-mapping anonymous range is unmapped. Pages are owned by the
   * page layer; an object that has none has nothing to free.
   */
  removePages(start: number, end: number): void {
    kassert(start <= end, "vm_object_page_remove", "inverted range");
  }

  /**
   * vm_object_coalesce: can an anonymous object that maps `prevSize` bytes at byte offset
   * `prevOffset` be extended by `nextSize` bytes so that one mapping may grow into it?
   * On success the object covers the new range (stale pages there are freed).
   */
  coalesce(prevOffset: number, prevSize: number, nextSize: number, pageSize: number): boolean {
    if (!this.isAnon) return false;
    if (this.backingObject !== null) return false;
    const nextPindex = prevOffset / pageSize + prevSize / pageSize;
    const nextPages = nextSize / pageSize;
    if (this.refCount > 1 && this.size !== nextPindex && (this.flags & OBJ_ONEMAPPING) === 0)
      return false;
    this.removePages(nextPindex, nextPindex + nextPages);
    if (nextPindex + nextPages > this.size) this.size = nextPindex + nextPages;
    return true;
  }
}
