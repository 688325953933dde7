/**
 * Files through the vnode pager, in both personalities: page-in on fault, copy on write for
 * private mappings (the file never changes), write-back of shared mappings when the last
 * mapping goes, one object (one copy of each page) per file, SIGBUS past the end of the file,
 * descriptor checks (EBADF, EACCES by open mode), and descriptors inherited by fork.
 */

import { describe, expect, it } from "vitest";
import { freebsd as F, linux as L, MemoryFault, MemoryFile, type VmError, VmSystem } from "vmspace";

const bytes = (n: number, f: (i: number) => number) =>
  Uint8Array.from({ length: n }, (_, i) => f(i));

for (const personality of ["freebsd", "linux"] as const) {
  const C = personality === "linux" ? L : F;
  const RW = C.PROT_READ | C.PROT_WRITE;
  describe(`files (${personality})`, () => {
    it("a private mapping reads the file and copies on write; the file never changes", () => {
      const sys = new VmSystem({ personality });
      const p = sys.createProcess();
      const f = new MemoryFile(bytes(8192, (i) => i & 0xff));
      const fd = p.fds.open(f, "r", "/data");
      const a = p.mmap(0, 8192, RW, C.MAP_PRIVATE, fd, 0);
      expect(p.read8(a + 4097)).toBe(1);
      p.write8(a + 4097, 0xee);
      expect(p.read8(a + 4097)).toBe(0xee);
      expect(p.maps()[0].path).toBe("/data");
      p.munmap(a, 8192);
      expect(f.contents()[4097]).toBe(1);
      expect(sys.stats().pageins).toBeGreaterThanOrEqual(1);
      sys.audit();
    });

    it("a shared mapping writes back when the last mapping goes, and sharers see each other", () => {
      const sys = new VmSystem({ personality });
      const p = sys.createProcess();
      const f = new MemoryFile(4096 * 3);
      const fd = p.fds.open(f, "rw", "/shared");
      const a = p.mmap(0, 3 * 4096, RW, C.MAP_SHARED, fd, 0);
      const q = sys.createProcess();
      const fq = q.fds.open(f, "rw", "/shared");
      const b = q.mmap(0, 4096, C.PROT_READ, C.MAP_SHARED, fq, 4096);
      p.write32(a + 4096 + 8, 0xdeadbeef);
      expect(q.read32(b + 8)).toBe(0xdeadbeef);
      expect(f.contents()[4096 + 8]).toBe(0); // not yet written back
      p.exit();
      q.munmap(b, 4096);
      expect(new DataView(f.contents().buffer).getUint32(4096 + 8, true)).toBe(0xdeadbeef);
      expect(sys.stats().objects.live).toBe(0);
      sys.audit();
    });

    it("msync writes a shared mapping's dirty pages back; MS_INVALIDATE re-reads the file; holes are ENOMEM", () => {
      const sys = new VmSystem({ personality });
      const p = sys.createProcess();
      const f = new MemoryFile(2 * 4096);
      const fd = p.fds.open(f, "rw", "/m");
      const a = p.mmap(0, 2 * 4096, RW, C.MAP_SHARED, fd, 0);
      p.write8(a + 5, 42);
      p.msync(a, 4096, C.MS_SYNC);
      expect(f.contents()[5]).toBe(42);
      f.write(6, Uint8Array.of(9)); // the file changes behind the mapping's back
      expect(p.read8(a + 6)).toBe(0); // still the cached page
      if (personality === "freebsd") {
        // vm_object_sync(invalidate): clean cached pages go; the next access reads the file.
        p.msync(a, 4096, C.MS_INVALIDATE);
        expect(p.read8(a + 6)).toBe(9);
      }
      p.munmap(a + 4096, 4096);
      let code = "";
      try {
        p.msync(a, 2 * 4096, C.MS_SYNC);
      } catch (e) {
        code = (e as VmError).code;
      }
      expect(code).toBe("ENOMEM");
      sys.audit();
    });

    it("an access past the end of the file is SIGBUS; inside the last page reads zeros", () => {
      const sys = new VmSystem({ personality });
      const p = sys.createProcess();
      const fd = p.fds.open(new MemoryFile(bytes(100, () => 7)), "r");
      const a = p.mmap(0, 3 * 4096, C.PROT_READ, C.MAP_PRIVATE, fd, 0);
      expect(p.read8(a + 99)).toBe(7);
      expect(p.read8(a + 100)).toBe(0);
      try {
        p.read8(a + 4096);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(MemoryFault);
        expect((e as MemoryFault).signal).toBe("SIGBUS");
      }
    });

    it("descriptor checks: EBADF, EACCES for the open mode; fork inherits descriptors", () => {
      const sys = new VmSystem({ personality });
      const p = sys.createProcess();
      const code = (fn: () => unknown) => {
        try {
          fn();
        } catch (e) {
          return (e as VmError).code;
        }
        return "ok";
      };
      expect(code(() => p.mmap(0, 4096, C.PROT_READ, C.MAP_PRIVATE, 7, 0))).toBe("EBADF");
      const ro = p.fds.open(new MemoryFile(4096), "r");
      const wo = p.fds.open(new MemoryFile(4096), "w");
      expect(code(() => p.mmap(0, 4096, RW, C.MAP_SHARED, ro, 0))).toBe("EACCES");
      expect(code(() => p.mmap(0, 4096, C.PROT_READ, C.MAP_PRIVATE, wo, 0))).toBe("EACCES");
      expect(code(() => p.mmap(0, 4096, RW, C.MAP_PRIVATE, ro, 0))).toBe("ok");
      const child = p.fork();
      expect(child.fds.list()).toEqual([ro, wo]);
      expect(p.fds.close(ro)).toBe(true);
      expect(child.fds.get(ro)).toBeDefined();
      sys.audit();
    });
  });
}

describe("MemoryFile", () => {
  it("reads short at the end, grows on write, truncates to zeros", () => {
    const f = new MemoryFile(bytes(10, (i) => i + 1));
    expect([...f.read(8, 5)]).toEqual([9, 10]);
    f.write(12, Uint8Array.of(5));
    expect(f.size).toBe(13);
    expect([...f.read(10, 3)]).toEqual([0, 0, 5]);
    f.truncate(2);
    f.truncate(4);
    expect([...f.contents()]).toEqual([1, 2, 0, 0]);
    expect(() => f.read(-1, 1)).toThrow(RangeError);
    expect(() => new MemoryFile(Number.NaN)).toThrow(RangeError);
  });
});
