/**
 * Files and their mappings agree (the object is the file's page cache): sys.pwrite is seen by
 * existing mappings at once, sys.pread sees stores through a shared mapping before msync and
 * the Vnode itself after it; sys.ftruncate takes effect in every mapping (pages past the new
 * end leave every pmap, later accesses are SIGBUS with the personality's code, the straddling
 * page's tail reads zeros, growing again shows zeros); private copies survive on FreeBSD and
 * go on Linux.
 */

import { describe, expect, it } from "vitest";
import { freebsd as F, linux as L, MemoryFault, MemoryFile, VmSystem } from "vmspace";

const PS = 4096;

function fault(fn: () => unknown): MemoryFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof MemoryFault) return e;
    throw e;
  }
  throw new Error("no fault");
}

for (const personality of ["freebsd", "linux"] as const) {
  const C = personality === "linux" ? L : F;
  const RW = C.PROT_READ | C.PROT_WRITE;
  const busCode = personality === "linux" ? "BUS_ADRERR" : "BUS_OBJERR";

  describe(`file and mappings agree (${personality})`, () => {
    it("sys.pwrite shows in existing mappings; stores show in sys.pread at once and in the Vnode after msync", () => {
      const sys = new VmSystem({ personality, physicalMemory: 4 << 20 });
      const p = sys.createProcess();
      const f = new MemoryFile(2 * PS);
      const a = p.mmap(0, 2 * PS, RW, C.MAP_SHARED, p.fds.open(f, "rw", "/f"), 0);
      expect(p.read8(a + 10)).toBe(0); // page 0 resident
      sys.pwrite(f, 8, Uint8Array.of(1, 2, 3, 4));
      expect(p.read32(a + 8)).toBe(0x04030201);
      expect([...f.read(8, 4)]).toEqual([1, 2, 3, 4]);
      // A write spanning a resident and a non-resident page.
      sys.pwrite(f, PS - 2, Uint8Array.of(9, 9, 9, 9));
      expect(p.read16(a + PS - 2)).toBe(0x0909);
      expect(p.read16(a + PS)).toBe(0x0909); // paged in from the file
      p.write32(a + 100, 0xcafef00d);
      expect(new DataView(sys.pread(f, 100, 4).buffer).getUint32(0, true)).toBe(0xcafef00d);
      expect([...f.read(100, 4)]).toEqual([0, 0, 0, 0]); // not written back yet
      p.msync(a, PS, C.MS_SYNC);
      expect(new DataView(f.read(100, 4).buffer).getUint32(0, true)).toBe(0xcafef00d);
      expect(sys.pread(f, 2 * PS - 1, 10).length).toBe(1); // short at end of file
      sys.audit();
    });

    it("ftruncate takes effect in every mapping: SIGBUS past the end, zeros in the tail, zeros after growing", () => {
      const sys = new VmSystem({ personality, physicalMemory: 4 << 20 });
      const p = sys.createProcess();
      const q = sys.createProcess();
      const f = new MemoryFile(Uint8Array.from({ length: 3 * PS }, () => 0x5a));
      const a = p.mmap(0, 3 * PS, RW, C.MAP_SHARED, p.fds.open(f, "rw", "/t"), 0);
      const b = q.mmap(0, 3 * PS, RW, C.MAP_PRIVATE, q.fds.open(f, "r", "/t"), 0);
      for (let i = 0; i < 3; i++) {
        expect(p.read8(a + i * PS)).toBe(0x5a);
        expect(q.read8(b + i * PS + 1)).toBe(0x5a); // mapped, not copied
      }
      q.write8(b + 2 * PS + 3, 0x77); // a private copy of page 2
      p.write8(a + 2 * PS, 0x66); // a dirty shared page past the new end: discarded
      expect(p.pmap.frameAt(a + 2 * PS)).toBeGreaterThanOrEqual(0);
      sys.ftruncate(f, PS + 100);
      expect(f.size).toBe(PS + 100);
      expect(p.pmap.frameAt(a + 2 * PS)).toBe(-1);
      // The straddling page: the file's bytes below the end, zeros past it, in both mappings.
      expect(p.read8(a + PS + 99)).toBe(0x5a);
      expect(p.read8(a + PS + 100)).toBe(0);
      expect(q.read8(b + PS + 100)).toBe(0);
      for (const va of [a + 2 * PS, a + 2 * PS + 5]) {
        const e = fault(() => p.read8(va));
        expect([e.signal, e.code]).toEqual(["SIGBUS", busCode]);
      }
      const w = fault(() => p.write8(a + 2 * PS, 1));
      expect([w.signal, w.code, w.access]).toEqual(["SIGBUS", busCode, "write"]);
      // The private copy: FreeBSD keeps it, Linux drops it (even_cows).
      if (personality === "freebsd") expect(q.read8(b + 2 * PS + 3)).toBe(0x77);
      else expect(fault(() => q.read8(b + 2 * PS + 3)).code).toBe("BUS_ADRERR");
      sys.audit();
      // Growing again: zeros, never the old bytes.
      sys.ftruncate(f, 3 * PS);
      expect(p.read8(a + 2 * PS)).toBe(0);
      expect(p.read8(a + PS + 200)).toBe(0);
      expect(q.read8(b + 2 * PS + 5)).toBe(personality === "freebsd" ? 0x5a : 0);
      p.exit();
      expect([...f.read(2 * PS, 4)]).toEqual([0, 0, 0, 0]); // the discarded store never lands
      sys.audit();
    });
  });
}
