/**
 * vm_map_protect on a user-wired copy-on-write entry that gains WRITE (vm_fault_copy_entry,
 * upgrade): the entry stops being copy-on-write, its pages stay wired and become writable, and
 * a copy is made only where one is needed (NEEDS_COPY set: a new object; clear: the entry's own
 * object, whose pages the wiring already copied).
 */

import { describe, expect, it } from "vitest";
import { freebsd as F, MemoryFile, type Process, VmSystem } from "../src/index.js";

const P = 4096;
const A = 0x1000_0000;

function freebsdProc(): Process {
  const sys = new VmSystem({ physicalMemory: 16 << 20, personality: "freebsd" });
  return sys.createProcess({ privileged: true });
}

describe("vm_map_protect: a user-wired copy-on-write entry made writable again", () => {
  it("keeps its pages wired, writable and the same (no second copy)", () => {
    const p = freebsdProc();
    const fd = p.fds.open(new MemoryFile(new Uint8Array(4 * P).fill(7)), "r");
    p.mmap(A, 4 * P, F.PROT_READ | F.PROT_WRITE, F.MAP_PRIVATE | F.MAP_FIXED, fd, 0);
    p.write8(A, 1);
    p.mlock(A, 4 * P);
    const before = p.maps()[0];
    expect(p.pmap.wired).toBe(4);
    p.mprotect(A, 4 * P, F.PROT_READ);
    p.mprotect(A, 4 * P, F.PROT_READ | F.PROT_WRITE);
    expect(p.pmap.wired).toBe(4);
    expect(p.sys.stats().frames.wired).toBe(4);
    const after = p.maps()[0];
    expect(after.wired).toBe(1);
    expect(after.cow).toBe(false);
    // The wiring already copied every page into the entry's shadow: it is kept, not copied
    // once more (vm_fault_copy_entry reuses the object when NEEDS_COPY is clear).
    expect(after.shadowDepth).toBe(before.shadowDepth);
    p.sys.audit();
    p.write8(A + P, 2);
    expect([p.read8(A), p.read8(A + P), p.read8(A + 2 * P)]).toEqual([1, 2, 7]);
    p.munlock(A, 4 * P);
    expect(p.pmap.wired).toBe(0);
    p.sys.audit();
  });

  it("wired read-only (NEEDS_COPY still set): gets a private copy, wired", () => {
    const p = freebsdProc();
    const f = new MemoryFile(new Uint8Array(2 * P).fill(5));
    const fd = p.fds.open(f, "r");
    p.mmap(A, 2 * P, F.PROT_READ, F.MAP_PRIVATE | F.MAP_FIXED, fd, 0);
    p.mlock(A, 2 * P);
    p.mprotect(A, 2 * P, F.PROT_READ | F.PROT_WRITE);
    expect(p.pmap.wired).toBe(2);
    expect(p.sys.stats().frames.wired).toBe(2);
    const m = p.maps()[0];
    expect([m.cow, m.needsCopy, m.wired]).toEqual([false, false, 1]);
    p.sys.audit();
    p.write8(A, 9);
    expect(p.read8(A)).toBe(9);
    expect(f.read(0, 1)[0]).toBe(5);
    p.exit();
    p.sys.audit();
  });
  it("wires the copy of an entry made write-only (the wiring fault checks no access)", () => {
    // syscall.fuzz seed 1633961961 path 4: vm_map_wire faults with VM_PROT_NONE; a read fault
    // was refused on the now write-only entry and the copy's wiring panicked.
    const p = freebsdProc();
    const fd = p.fds.open(new MemoryFile(new Uint8Array(2 * P).fill(9)), "r");
    p.mmap(A, 2 * P, F.PROT_READ, F.MAP_PRIVATE | F.MAP_FIXED, fd, 0);
    p.mlock(A, 2 * P);
    p.mprotect(A, 2 * P, F.PROT_WRITE);
    const e = p.maps()[0];
    expect(e.cow).toBe(false);
    expect(e.wired).toBe(1);
    expect(p.pmap.wired).toBe(2);
    p.sys.audit();
    p.write8(A + P, 3);
    p.mprotect(A, 2 * P, F.PROT_READ);
    expect([p.read8(A), p.read8(A + P)]).toEqual([9, 3]);
    p.sys.audit();
  });
});

describe("vm_fault_cow into a shared object under another address space's wiring", () => {
  it("moves the other wired translation to the copy, so both still share the page", () => {
    // Found by the syscall fuzz (fresh seed 430788040/3): p1's wired read-only translation of a
    // backing page stayed after p3's write copied the page into the object they share (the
    // INHERIT_SHARE shadow), so p1 no longer saw p3's writes and the audit failed.
    const sys = new VmSystem({ physicalMemory: 16 << 20, personality: "freebsd" });
    const p1 = sys.createProcess();
    const RW = F.PROT_READ | F.PROT_WRITE;
    const a = p1.mmap(0, 4 * P, RW, F.MAP_PRIVATE | F.MAP_ANON, -1, 0);
    p1.write32(a + 3 * P, 0x1003);
    const c = p1.fork(); // p1's entry now needs a copy: a shared fork below shadows it
    p1.minherit(a, 4 * P, F.INHERIT_SHARE);
    const p3 = p1.fork();
    p1.mprotect(a, 4 * P, F.PROT_READ);
    p1.mlockall(F.MCL_CURRENT); // read faults: p1 wires the backing object's page
    expect(p1.pmap.wired).toBe(4);
    p3.mlockall(F.MCL_CURRENT); // write faults: the page is copied into the shared shadow
    sys.audit();
    expect(p1.pmap.wired).toBe(4);
    p3.write32(a + 3 * P, 0x3333);
    expect(p1.read32(a + 3 * P)).toBe(0x3333);
    expect(c.read32(a + 3 * P)).toBe(0x1003);
    sys.audit();
    p1.munlockall();
    p3.munlockall();
    expect(p1.pmap.wired).toBe(0);
    sys.audit();
    for (const p of [c, p3, p1]) p.exit();
    sys.audit();
    expect(sys.stats().frames.wired).toBe(0);
  });
});
