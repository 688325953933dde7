/**
 * POSIX shared memory: sys.shmOpen / sys.shmUnlink (API.md: "a POSIX shared-memory object.
 * Each is a Vnode").
 */

import { describe, expect, it } from "vitest";
import {
  freebsd as F,
  linux as L,
  MemoryFault,
  ShmObject,
  VmError,
  VmSystem,
} from "../src/index.js";

const PAGE = 4096;

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VmError) return e.code;
    if (e instanceof MemoryFault) return `${e.signal}/${e.code}`;
    throw e;
  }
  return "ok";
}

describe("shm_open / shm_unlink", () => {
  it("same name, same object; MAP_SHARED mappings in two processes are coherent both ways", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const shm = sys.shmOpen("/ring");
    expect(shm).toBeInstanceOf(ShmObject);
    expect(sys.shmOpen("/ring")).toBe(shm);
    expect(shm.size).toBe(0);
    sys.ftruncate(shm, 2 * PAGE);
    const p = sys.createProcess();
    const q = sys.createProcess();
    const RW = F.PROT_READ | F.PROT_WRITE;
    const a = p.mmap(0, 2 * PAGE, RW, F.MAP_SHARED, p.fds.open(shm, "rw"), 0);
    const b = q.mmap(0, 2 * PAGE, RW, F.MAP_SHARED, q.fds.open(sys.shmOpen("/ring"), "rw"), 0);
    p.write32(a + PAGE + 8, 0xabcd);
    expect(q.read32(b + PAGE + 8)).toBe(0xabcd);
    q.write8(b, 7);
    expect(p.read8(a)).toBe(7);
    // The object's own read/write go through the same pages (read(2)/write(2) on the fd).
    expect([...shm.read(0, 1)]).toEqual([7]);
    shm.write(16, Uint8Array.of(9));
    expect(p.read8(a + 16)).toBe(9);
    expect([...sys.pread(shm, PAGE + 8, 2)]).toEqual([0xcd, 0xab]);
    // A fork child shares it as well.
    const c = p.fork();
    c.write8(a + 1, 5);
    expect(q.read8(b + 1)).toBe(5);
    // A private mapping copies on write and never changes the object.
    const r = q.mmap(0, PAGE, RW, F.MAP_PRIVATE, q.fds.open(shm, "rw"), 0);
    q.write8(r, 99);
    expect(p.read8(a)).toBe(7);
    sys.audit();
  });

  it("ftruncate: shrinking takes pages from every mapping (SIGBUS), growing shows zeros", () => {
    for (const personality of ["freebsd", "linux"] as const) {
      const sys = new VmSystem({ personality, physicalMemory: 1 << 20 });
      const C = personality === "linux" ? L : F;
      const p = sys.createProcess({ mmapBase: 0x7f0000000000 });
      const shm = sys.shmOpen("/t");
      shm.truncate(2 * PAGE);
      const a = p.mmap(
        0,
        2 * PAGE,
        C.PROT_READ | C.PROT_WRITE,
        C.MAP_SHARED,
        p.fds.open(shm, "rw"),
        0,
      );
      p.write32(a + PAGE, 1);
      sys.ftruncate(shm, PAGE);
      expect(code(() => p.read32(a + PAGE))).toBe(
        personality === "linux" ? "SIGBUS/BUS_ADRERR" : "SIGBUS/BUS_OBJERR",
      );
      shm.truncate(2 * PAGE);
      expect(p.read32(a + PAGE)).toBe(0);
      sys.audit();
    }
  });

  it("unlink removes the name; opens and mappings keep the object; the name can be reused", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const shm = sys.shmOpen("/u");
    shm.truncate(PAGE);
    const fd = p.fds.open(shm, "rw");
    const a = p.mmap(0, PAGE, F.PROT_READ | F.PROT_WRITE, F.MAP_SHARED, fd, 0);
    p.write8(a, 42);
    sys.shmUnlink("/u");
    expect(shm.unlinked).toBe(true);
    expect(code(() => sys.shmUnlink("/u"))).toBe("ENOENT");
    expect(code(() => sys.shmOpen("/u", { create: false }))).toBe("ENOENT");
    const fresh = sys.shmOpen("/u");
    expect(fresh).not.toBe(shm);
    expect(fresh.size).toBe(0);
    // The unlinked object still works through its mapping and its descriptor.
    expect(p.read8(a)).toBe(42);
    p.munmap(a, PAGE);
    const b = p.mmap(0, PAGE, F.PROT_READ, F.MAP_SHARED, fd, 0);
    expect(p.read8(b)).toBe(42);
    sys.audit();
  });

  it("O_EXCL and no O_CREAT; unknown names are ENOENT for unlink", () => {
    const sys = new VmSystem();
    sys.shmOpen("/x");
    expect(code(() => sys.shmOpen("/x", { exclusive: true }))).toBe("EEXIST");
    expect(code(() => sys.shmOpen("/y", { create: false }))).toBe("ENOENT");
    expect(code(() => sys.shmUnlink("/nothing"))).toBe("ENOENT");
    const e = (() => {
      try {
        sys.shmUnlink("/nothing");
      } catch (err) {
        return err as VmError;
      }
    })();
    expect([e?.syscall, e?.errno]).toEqual(["shm_unlink", 2]);
  });

  it("names: FreeBSD needs a leading '/', Linux takes one file name; long names ENAMETOOLONG", () => {
    const fb = new VmSystem();
    expect(code(() => fb.shmOpen("x"))).toBe("EINVAL");
    expect(code(() => fb.shmOpen(""))).toBe("EINVAL");
    expect(code(() => fb.shmOpen("/a/b"))).toBe("ok");
    expect(code(() => fb.shmOpen(`/${"a".repeat(1022)}`))).toBe("ok");
    expect(code(() => fb.shmOpen(`/${"a".repeat(1023)}`))).toBe("ENAMETOOLONG");
    expect(code(() => fb.shmUnlink("x"))).toBe("EINVAL");
    expect(code(() => fb.shmOpen(3 as unknown as string))).toBe("EINVAL");
    expect(fb.shmOpen("/x")).not.toBe(fb.shmOpen("//x"));
    const lx = new VmSystem({ personality: "linux" });
    expect(lx.shmOpen("x")).toBe(lx.shmOpen("///x"));
    for (const bad of ["", "/", ".", "/..", "/a/b"])
      expect(
        code(() => lx.shmOpen(bad)),
        bad,
      ).toBe("EINVAL");
    expect(code(() => lx.shmOpen("a".repeat(255)))).toBe("ok");
    const long = (() => {
      try {
        lx.shmOpen("a".repeat(256));
      } catch (err) {
        return err as VmError;
      }
    })();
    expect([long?.code, long?.errno]).toEqual(["ENAMETOOLONG", 36]);
  });

  it("maps(): kind shm; procstat shows the name with type sw, Linux /dev/shm/NAME (deleted)", () => {
    const fb = new VmSystem();
    const p = fb.createProcess();
    const s1 = fb.shmOpen("/seg");
    s1.truncate(PAGE);
    p.mmap(0, PAGE, F.PROT_READ, F.MAP_SHARED, p.fds.open(s1, "r"), 0);
    expect(p.maps()[0]).toMatchObject({ kind: "shm", path: "/seg", shared: true });
    expect(p.formatMaps("procstat")).toMatch(/ sw \/seg\n$/);
    const lx = new VmSystem({ personality: "linux" });
    const q = lx.createProcess({ mmapBase: 0x7f0000000000 });
    const s2 = lx.shmOpen("/seg");
    s2.truncate(2 * PAGE);
    q.mmap(0, PAGE, L.PROT_READ | L.PROT_WRITE, L.MAP_SHARED, q.fds.open(s2, "rw"), PAGE);
    expect(q.formatMaps("linux")).toMatch(/ rw-s 00001000 00:00 0 +\/dev\/shm\/seg\n$/);
    lx.shmUnlink("seg");
    expect(q.maps()[0].path).toBe("/dev/shm/seg (deleted)");
  });
});
