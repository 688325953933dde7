/**
 * A wired (mlocked) range made PROT_NONE keeps its pages wired: FreeBSD keeps them wired through
 * the entry (vm_map_protect only narrows the pmap; vm_object_unwire later finds them), Linux
 * keeps an mlocked page locked whatever its protection. Access is refused while PROT_NONE, the
 * same bytes come back when access returns, munlock releases exactly those wirings, and exit
 * frees every frame.
 */

import { describe, expect, it } from "vitest";
import { freebsd as F, linux as L, MemoryFault, VmSystem } from "vmspace";

for (const personality of ["freebsd", "linux"] as const) {
  const C = personality === "linux" ? L : F;
  const RW = C.PROT_READ | C.PROT_WRITE;
  describe(`wired PROT_NONE (${personality})`, () => {
    it("pages stay wired and keep their bytes through mprotect NONE and back", () => {
      const sys = new VmSystem({ personality, physicalMemory: 1 << 20 });
      const p = sys.createProcess({ privileged: true });
      const ps = 4096;
      const a = p.mmap(0, 4 * ps, RW, C.MAP_PRIVATE | C.MAP_ANON);
      for (let i = 0; i < 4; i++) p.write32(a + i * ps, 0x1000 + i);
      p.mlock(a, 4 * ps);
      const wired = sys.stats().frames.wired;
      expect(wired).toBe(4);

      p.mprotect(a + ps, 2 * ps, C.PROT_NONE);
      sys.audit();
      expect(sys.stats().frames.wired).toBe(wired);
      let fault: unknown;
      try {
        p.read32(a + ps);
      } catch (e) {
        fault = e;
      }
      expect(fault).toBeInstanceOf(MemoryFault);
      expect((fault as MemoryFault).code).toBe("SEGV_ACCERR");
      expect(Array.from(p.mincore(a, 4 * ps), (v) => v & 1)).toEqual([1, 1, 1, 1]);

      p.mprotect(a + ps, 2 * ps, RW);
      sys.audit();
      for (let i = 0; i < 4; i++) expect(p.read32(a + i * ps)).toBe(0x1000 + i);
      p.write32(a + 2 * ps, 7);
      expect(sys.stats().frames.wired).toBe(wired);

      p.mprotect(a, 4 * ps, C.PROT_NONE);
      p.munlock(a, 4 * ps);
      sys.audit();
      expect(sys.stats().frames.wired).toBe(0);
      expect(p.pmap.resident).toBe(0);
      p.mprotect(a, 4 * ps, C.PROT_READ);
      expect(p.read32(a + 2 * ps)).toBe(7);
      p.exit();
      sys.audit();
      expect(sys.stats().frames.free).toBe(sys.stats().frames.total);
    });
  });
}
