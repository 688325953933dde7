/**
 * Two Linux rules found by the Linux-vs-model property run: on x86 a PROT_WRITE-only or
 * PROT_EXEC-only page can be read (access_error; the page tables cannot say write-only), where
 * FreeBSD's vm_map_lookup refuses the read; and a MAP_SHARED file mapping is shared with a fork
 * child (dup_mmap copies no VM_SHARED vma's pages), also after mremap grows it in place.
 */

import { expect, it } from "vitest";
import { freebsd as F, linux as L, MemoryFault, MemoryFile, VmSystem } from "vmspace";

it("linux: write-only and exec-only pages are readable; FreeBSD refuses the read", () => {
  const lsys = new VmSystem({ personality: "linux" });
  const lp = lsys.createProcess();
  const w = lp.mmap(0, 4096, L.PROT_WRITE, L.MAP_PRIVATE | L.MAP_ANONYMOUS);
  lp.write32(w, 0x11223344);
  expect(lp.read32(w)).toBe(0x11223344);
  const x = lp.mmap(0, 4096, L.PROT_EXEC, L.MAP_PRIVATE | L.MAP_ANONYMOUS);
  expect(lp.read8(x)).toBe(0);
  expect(lp.formatMaps("linux")).toContain(" -w-p ");
  lsys.audit();

  const fsys = new VmSystem({ personality: "freebsd" });
  const fp = fsys.createProcess();
  const fw = fp.mmap(0, 4096, F.PROT_WRITE, F.MAP_PRIVATE | F.MAP_ANON);
  fp.write32(fw, 1);
  expect(() => fp.read32(fw)).toThrow(MemoryFault);
  fsys.audit();
});

it("linux: a MAP_SHARED file mapping stays shared with a fork child, grown or not", () => {
  const sys = new VmSystem({ personality: "linux" });
  const p = sys.createProcess();
  const fd = p.fds.open(new MemoryFile(4 * 4096), "rw", "/data/f");
  const a = p.mmap(0, 4096, L.PROT_READ | L.PROT_WRITE, L.MAP_SHARED, fd, 0);
  const b = p.mremap(a, 4096, 2 * 4096, 0);
  expect(b).toBe(a);
  const c = p.fork();
  c.write8(a + 4096 + 5, 0x5a);
  c.write8(a, 0xa5);
  expect(p.read8(a + 4096 + 5)).toBe(0x5a);
  expect(p.read8(a)).toBe(0xa5);
  expect(p.formatMaps("linux")).toMatch(/ rw-s /);
  sys.audit();
  c.exit();
  p.exit();
  sys.audit();
});
