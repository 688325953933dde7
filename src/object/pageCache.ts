/**
 * The object as a file's page cache: what read(2), write(2) and ftruncate(2) do to the
 * resident pages of a file's object, so that mappings and file I/O made through the library
 * agree (FreeBSD has one copy of each file page: the vnode object's page, which both the buffer
 * cache and every mapping use).
 *
 *  - cacheRead: bytes of resident pages come from the pages (they may be newer than the file:
 *    stores through a shared mapping not yet written back); the rest from the file.
 *  - cacheWrite: after the file itself is written, resident pages overlapping the write get the
 *    same bytes, so existing mappings see them at once (write-through: the file is already
 *    current, and a page that was dirty stays dirty for its other bytes).
 *  - cacheTruncate: vnode_pager_setsize / shm_dotruncate. Pages wholly past the new end are
 *    freed, which unmaps them from every pmap (shared mappings, and private mappings that had
 *    not copied them yet); the tail of the page straddling the new end is zeroed. With
 *    `evenCows` (Linux: truncate_pagecache's unmap_mapping_range(even_cows = 1)) the private
 *    copies that shadows made of those pages go too; FreeBSD leaves private copies alone.
 *
 * Guarded by: the object lock (one thread).
 */

import type { VmObject } from "./VmObject.js";

/**
 * Fills `dst` with bytes [position, position + dst.length) of the object's file: resident
 * pages are copied, each run of missing pages is asked of `fill(position, dst)`.
 */
export function cacheRead(
  obj: VmObject,
  position: number,
  dst: Uint8Array,
  fill: (position: number, dst: Uint8Array) => void,
): void {
  const mem = obj.ctx?.mem;
  if (mem === undefined || obj.pages.size === 0) {
    fill(position, dst);
    return;
  }
  const ps = mem.pageSize;
  let done = 0;
  let missFrom = -1;
  while (done < dst.length) {
    const pos = position + done;
    const n = Math.min(dst.length - done, ps - (pos % ps));
    const f = obj.pageLookup(Math.floor(pos / ps));
    if (f >= 0) {
      if (missFrom >= 0) {
        fill(position + missFrom, dst.subarray(missFrom, done));
        missFrom = -1;
      }
      const at = f * ps + (pos % ps);
      dst.set(mem.bytes.subarray(at, at + n), done);
    } else if (missFrom < 0) missFrom = done;
    done += n;
  }
  if (missFrom >= 0) fill(position + missFrom, dst.subarray(missFrom));
}

/** Copies `bytes` (just written to the file at `position`) into the resident pages they cover. */
export function cacheWrite(obj: VmObject, position: number, bytes: Uint8Array): void {
  const mem = obj.ctx?.mem;
  if (mem === undefined || obj.pages.size === 0) return;
  const ps = mem.pageSize;
  for (let done = 0; done < bytes.length; ) {
    const pos = position + done;
    const n = Math.min(bytes.length - done, ps - (pos % ps));
    const f = obj.pageLookup(Math.floor(pos / ps));
    if (f >= 0) mem.bytes.set(bytes.subarray(done, done + n), f * ps + (pos % ps));
    done += n;
  }
}

/**
 * The file now ends at byte `size`: frees the object's pages wholly past it (unmapping them
 * everywhere) and zeroes the rest of the page that straddles it; with `evenCows`, shadows'
 * private copies of the freed pages are freed as well.
 */
export function cacheTruncate(obj: VmObject, size: number, evenCows: boolean): void {
  const mem = obj.ctx?.mem;
  if (mem === undefined) return;
  const ps = mem.pageSize;
  const first = Math.ceil(size / ps);
  obj.removePages(first, Number.MAX_SAFE_INTEGER);
  if (size % ps !== 0) {
    const f = obj.pageLookup(Math.floor(size / ps));
    if (f >= 0) mem.bytes.fill(0, f * ps + (size % ps), (f + 1) * ps);
  }
  if (!evenCows) return;
  const work: [VmObject, number][] = [...obj.shadows].map((s) => [s, first]);
  while (work.length > 0) {
    const [s, backingFirst] = work.pop()!;
    const sFirst = Math.max(0, backingFirst - s.backingObjectOffset / ps);
    s.removePages(sFirst, Number.MAX_SAFE_INTEGER);
    for (const t of s.shadows) work.push([t, sFirst]);
  }
}
