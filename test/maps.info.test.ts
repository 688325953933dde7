/**
 * p.maps() and formatMaps describe an entry by the deepest object of its shadow chain, as
 * FreeBSD's kern_proc_vmmap_out (procstat -v) and Linux's /proc/PID/maps do: a private file
 * mapping stays a file mapping, with its path and file offset, after copy on write has put an
 * anonymous shadow object on top.
 */

import { expect, it } from "vitest";
import { freebsd as F, linux as L, MemoryFile, VmSystem } from "vmspace";

for (const personality of ["freebsd", "linux"] as const) {
  const C = personality === "linux" ? L : F;
  it(`${personality}: a shadowed private file mapping is still the file's`, () => {
    const sys = new VmSystem({ personality });
    const p = sys.createProcess();
    const fd = p.fds.open(new MemoryFile(8 * 4096), "r", "/lib/data");
    const a = p.mmap(0, 2 * 4096, C.PROT_READ | C.PROT_WRITE, C.MAP_PRIVATE, fd, 4 * 4096);
    const before = p.maps()[0];
    expect([before.kind, before.path, before.offset, before.shadowDepth]).toEqual([
      "vnode",
      "/lib/data",
      4 * 4096,
      0,
    ]);
    p.write8(a + 4096, 1);
    const after = p.maps()[0];
    expect(after.shadowDepth).toBe(1);
    expect([after.kind, after.path, after.offset]).toEqual(["vnode", "/lib/data", 4 * 4096]);
    if (personality === "linux")
      expect(p.formatMaps("linux")).toMatch(/ rw-p 00004000 00:00 0 +\/lib\/data\n$/);
    else expect(p.formatMaps("procstat")).toMatch(/ vn \/lib\/data\n$/);
    p.exit();
  });
}
