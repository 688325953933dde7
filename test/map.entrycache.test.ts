/**
 * Freed map entries are reused (FreeBSD's map-entry zone): an entry unlinked by a delete or a
 * merge stays readable until the unlock, is then disposed, and a later insert or clip takes it
 * again. At most MAP_ENTRY_CACHE are kept.
 */

import { expect, it } from "vitest";
import {
  auditMap,
  KERN_SUCCESS,
  MAP_ENTRY_CACHE,
  VM_PROT_ALL,
  VM_PROT_READ,
  VM_PROT_RW,
  VmMap,
  type VmMapEntry,
} from "../src/index.js";

const PAGE = 0x1000;

function mapWith(n: number, map = VmMap.create(null, PAGE, 2 ** 47)): VmMap {
  // One-page holes and alternating protections keep the entries apart.
  for (let i = 0; i < n; i++) {
    const a = 0x10_0000 + i * 4 * PAGE;
    const prot = i % 2 === 0 ? VM_PROT_READ : VM_PROT_RW;
    expect(map.insert(null, 0, a, a + 3 * PAGE, prot, VM_PROT_ALL, 0)).toBe(KERN_SUCCESS);
  }
  return map;
}

it("a deleted entry is readable until the unlock, then disposed, then reused by an insert", () => {
  const map = mapWith(3);
  const e = map.lookupEntry(0x10_0000 + 4 * PAGE).entry!;
  map.lock();
  expect(map.deleteLocked(e.start, e.end)).toBe(KERN_SUCCESS);
  // Unlinked, not yet freed: the operation that unlinked it may still read it.
  expect([e.start, e.end, e.leaf]).toEqual([0x10_0000 + 4 * PAGE, 0x10_0000 + 7 * PAGE, -1]);
  expect(e.disposed).toBe(false);
  map.unlock();
  expect(e.disposed).toBe(true);
  expect([e.start, e.end, e.object]).toEqual([-1, -1, null]);
  auditMap(map);
  // The next entry the map makes is that one, in a new entry's state.
  const a = 0x20_0000;
  expect(map.insert(null, 0, a, a + PAGE, VM_PROT_READ, VM_PROT_READ, 0)).toBe(KERN_SUCCESS);
  const n = map.lookupEntry(a).entry!;
  expect(n).toBe(e);
  expect([n.start, n.end, n.protection, n.maxProtection, n.wiredCount, n.disposed]).toEqual([
    a,
    a + PAGE,
    VM_PROT_READ,
    VM_PROT_READ,
    0,
    false,
  ]);
  auditMap(map);
});

it("an entry merged away is reused by the next clip", () => {
  const map = mapWith(1);
  const a = 0x10_0000;
  // protect the middle page: two clips make two new entries; protecting it back merges them
  // into e's neighbours, which frees two entries.
  expect(map.protect(a + PAGE, a + 2 * PAGE, VM_PROT_RW, 0, 1)).toBe(KERN_SUCCESS);
  const pieces = [...map.entries()];
  expect(pieces.length).toBe(3);
  expect(map.protect(a + PAGE, a + 2 * PAGE, VM_PROT_READ, 0, 1)).toBe(KERN_SUCCESS);
  const [survivor] = [...map.entries()];
  expect(map.nentries).toBe(1);
  const freed = pieces.filter((p) => p !== survivor);
  expect(freed.every((p) => p.disposed)).toBe(true);
  expect(survivor.disposed).toBe(false);
  // The next split takes its pieces from the freed ones.
  expect(map.protect(a + PAGE, a + 2 * PAGE, VM_PROT_RW, 0, 1)).toBe(KERN_SUCCESS);
  const again = [...map.entries()];
  expect(again.filter((p) => freed.includes(p)).length).toBe(2);
  auditMap(map);
});

it(`at most MAP_ENTRY_CACHE (${MAP_ENTRY_CACHE}) freed entries are kept`, () => {
  const n = MAP_ENTRY_CACHE + 50;
  const map = mapWith(n);
  const old = new Set<VmMapEntry>(map.entries());
  expect(map.delete(0x10_0000, 0x10_0000 + n * 4 * PAGE)).toBe(KERN_SUCCESS);
  expect(map.nentries).toBe(0);
  auditMap(map);
  const again = mapWith(n, map);
  let reused = 0;
  for (const e of again.entries()) if (old.has(e)) reused++;
  expect(reused).toBe(MAP_ENTRY_CACHE);
  auditMap(map);
});
