/**
 * The vm_map(9) calls that API.md lists beyond section 9's items: growStack (vm_map_growstack
 * as a call of its own) and prefault (vm_map_pmap_enter). vm_map_sync is item 9.26 in
 * map.spec9.test.ts.
 */

import { describe, expect, it } from "vitest";
import {
  auditMap,
  freebsd as F,
  KERN_FAILURE,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_SUCCESS,
  MAP_ENTRY_GROWS_DOWN,
  MAP_ENTRY_GUARD,
  MAP_STACK_GROWS_DOWN,
  MemoryFile,
  PTE_W,
  VM_PROT_ALL,
  VM_PROT_READ,
  VM_PROT_WRITE,
  VmMap,
  VmSystem,
} from "../src/index.js";

const PAGE = 0x1000;
const KiB = 1024;
const RW = VM_PROT_READ | VM_PROT_WRITE;

describe("VmMap.growStack", () => {
  it("grows a grow-down stack by sgrowsiz steps as a fault would, stops at the guard, refuses non-gaps", () => {
    const map = VmMap.create(null, 0x1000, 2 ** 40);
    const bos = 0x10000000;
    const L = 1024 * KiB;
    expect(map.stack(bos, L, RW, VM_PROT_ALL, MAP_STACK_GROWS_DOWN)).toBe(KERN_SUCCESS);
    const top = bos + L;
    const stackStart = top - 128 * KiB;
    // One byte below the stack: one 128 KiB step, a separate GROWS_DOWN entry.
    expect(map.growStack(stackStart - 1)).toBe(KERN_SUCCESS);
    const grown = map.lookupEntry(stackStart - 1);
    expect(grown.found).toBe(true);
    expect(grown.entry!.start).toBe(stackStart - 128 * KiB);
    expect(grown.entry!.eflags & MAP_ENTRY_GROWS_DOWN).not.toBe(0);
    expect(map.size).toBe(256 * KiB);
    auditMap(map);
    // An address inside the stack: nothing to do.
    const before = map.state();
    expect(map.growStack(stackStart)).toBe(KERN_SUCCESS);
    expect(map.state()).toEqual(before);
    // Inside the guard page at the bottom of the gap: refused, nothing changes.
    expect(map.growStack(bos)).toBe(KERN_NO_SPACE);
    expect(map.state()).toEqual(before);
    // The rest of the gap can be taken: the gap shrinks to exactly its guard page.
    expect(map.growStack(bos + PAGE)).toBe(KERN_SUCCESS);
    const gap = map.lookupEntry(bos);
    expect(gap.entry!.eflags & MAP_ENTRY_GUARD).not.toBe(0);
    expect(gap.entry!.end - gap.entry!.start).toBe(PAGE);
    auditMap(map);
    // Not a stack gap (a hole, an ordinary entry's guard-less space), malformed addresses.
    expect(map.growStack(0x20000000)).toBe(KERN_FAILURE);
    for (const v of [Number.NaN, -1, 2 ** 53, 0.5])
      expect(map.growStack(v), String(v)).toBe(KERN_INVALID_ARGUMENT);
  });

  it("a process's map: the page grown into is usable", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const a = p.mmap(0, 512 * KiB, F.PROT_READ | F.PROT_WRITE, F.MAP_STACK);
    const stackStart = a + 512 * KiB - 128 * KiB;
    expect(p.map.growStack(stackStart - PAGE)).toBe(KERN_SUCCESS);
    p.write32(stackStart - PAGE, 7);
    expect(p.read32(stackStart - PAGE)).toBe(7);
    sys.audit();
  });
});

describe("VmMap.prefault", () => {
  it("maps the resident pages of each entry's object read-only; allocates and reads nothing", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const q = sys.createProcess();
    const file = new MemoryFile(8 * PAGE);
    const RWp = F.PROT_READ | F.PROT_WRITE;
    const a = p.mmap(0, 8 * PAGE, RWp, F.MAP_SHARED, p.fds.open(file, "rw"), 0);
    const b = q.mmap(0, 8 * PAGE, RWp, F.MAP_SHARED, q.fds.open(file, "rw"), 0);
    // q makes pages 1, 2 and 6 resident; p has mapped nothing yet.
    for (const i of [1, 2, 6]) q.write32(b + i * PAGE, 0x40 + i);
    const framesBefore = sys.stats().frames.free;
    const faultsBefore = sys.stats().faults.faults;
    expect(p.map.prefault(a, a + 8 * PAGE)).toBe(KERN_SUCCESS);
    expect(sys.stats().frames.free).toBe(framesBefore);
    expect(sys.stats().faults.faults).toBe(faultsBefore);
    const mapped = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => p.pmap.extract(a + i * PAGE) !== 0);
    expect(mapped).toEqual([1, 2, 6]);
    for (const i of mapped) expect(p.pmap.extract(a + i * PAGE) & PTE_W).toBe(0);
    // The prefaulted pages read without a fault; a write still faults (to set the dirty bit).
    expect(p.read32(a + 6 * PAGE)).toBe(0x46);
    expect(sys.stats().faults.faults).toBe(faultsBefore);
    p.write32(a + 6 * PAGE, 1);
    expect(q.read32(b + 6 * PAGE)).toBe(1);
    // Clamped and hole-tolerant; malformed arguments refused.
    expect(p.map.prefault(0, Infinity)).toBe(KERN_SUCCESS);
    expect(p.map.prefault(a + 1, a + PAGE)).toBe(KERN_INVALID_ARGUMENT);
    sys.audit();
  });

  it("skips entries without read access and wired entries", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const a = p.mmap(0, 4 * PAGE, F.PROT_READ | F.PROT_WRITE, F.MAP_ANON | F.MAP_SHARED);
    p.write32(a, 1);
    p.write32(a + PAGE, 2);
    p.mprotect(a, 4 * PAGE, F.PROT_NONE);
    expect(p.map.prefault(a, a + 4 * PAGE)).toBe(KERN_SUCCESS);
    expect(p.pmap.extract(a)).toBe(0);
    p.mprotect(a, 4 * PAGE, F.PROT_READ);
    expect(p.map.prefault(a, a + 4 * PAGE)).toBe(KERN_SUCCESS);
    expect(p.pmap.extract(a)).not.toBe(0);
    expect(p.pmap.extract(a + PAGE)).not.toBe(0);
    expect(p.pmap.extract(a + 2 * PAGE)).toBe(0);
    sys.audit();
  });
});
