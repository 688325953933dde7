/**
 * Kernel rules of the system calls beyond the rows of docs/syscalls.md, each checked against
 * the kernel function named in its test: MAP_SYNC needs a DAX file (do_mmap, ext4_file_mmap),
 * Linux msync goes on past a hole unless the flags are plain MS_ASYNC (mm/msync.c), Linux
 * MADV_POPULATE_* stops at a hole (madvise_populate), Linux mlock does not count pages that
 * are locked already (do_mlock), FreeBSD mincore of an unmapped address is ENOMEM even for
 * len 0 (kern_mincore's first vm_map_lookup_entry), and madvise(MADV_WILLNEED) maps no page of
 * a mapping without read or execute access (vm_map_pmap_enter).
 */

import { describe, expect, it } from "vitest";
import {
  freebsd as F,
  linux as L,
  type LinuxProcess,
  MemoryFile,
  type Process,
  VmError,
  VmSystem,
} from "../src/index.js";

const P = 4096;
const A = 0x1000_0000;

function freebsdProc(): Process {
  const sys = new VmSystem({ physicalMemory: 16 << 20, personality: "freebsd" });
  return sys.createProcess();
}

function linuxProc(): LinuxProcess {
  const sys = new VmSystem({ physicalMemory: 16 << 20, personality: "linux" });
  return sys.createProcess() as LinuxProcess;
}

function code(fn: () => unknown): string | null {
  try {
    fn();
  } catch (e) {
    if (e instanceof VmError) return e.code;
    throw e;
  }
  return null;
}

describe("Linux mmap: MAP_SHARED_VALIDATE checks the flags the file supports", () => {
  it("MAP_SYNC on a file without DAX is EOPNOTSUPP, whatever the mapping type, after EACCES", () => {
    // Linux 6.18 on ext4, by a C program: the file's mmap method refuses VM_SYNC, which do_mmap
    // sets from the flags before it masks MAP_SHARED's to the legacy set; validation lets
    // MAP_SYNC through (ext4 names it among its mmap_supported_flags), so a shared writable
    // mapping of a read-only descriptor is EACCES first.
    const p = linuxProc();
    const file = new MemoryFile(4 * P);
    const fd = p.fds.open(file, "rw");
    const ro = p.fds.open(file, "r");
    const rw = L.PROT_READ | L.PROT_WRITE;
    for (const type of [L.MAP_SHARED_VALIDATE, L.MAP_SHARED, L.MAP_PRIVATE])
      expect(code(() => p.mmap(A, P, rw, type | L.MAP_SYNC | L.MAP_FIXED, fd))).toBe("EOPNOTSUPP");
    expect(code(() => p.mmap(A, P, rw, L.MAP_SHARED_VALIDATE | L.MAP_SYNC, ro))).toBe("EACCES");
    expect(p.maps()).toEqual([]);
    expect(p.mmap(A + P, P, rw, L.MAP_SHARED_VALIDATE | L.MAP_FIXED, fd)).toBe(A + P);
    // Anonymous memory ignores it (shared and private alike).
    expect(p.mmap(0, P, rw, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_SYNC)).toBeGreaterThan(0);
    expect(p.mmap(0, P, rw, L.MAP_PRIVATE | L.MAP_ANONYMOUS | L.MAP_SYNC)).toBeGreaterThan(0);
  });

  it("anonymous MAP_SHARED_VALIDATE | MAP_SYNC is EINVAL (anonymous memory has no validation)", () => {
    const p = linuxProc();
    const flags = L.MAP_SHARED_VALIDATE | L.MAP_SYNC | L.MAP_ANONYMOUS;
    expect(code(() => p.mmap(0, P, L.PROT_READ, flags))).toBe("EINVAL");
  });
});

describe("Linux msync at a hole (mm/msync.c)", () => {
  function twoFiles(p: LinuxProcess) {
    const f = new MemoryFile(4 * P);
    const fd = p.fds.open(f, "rw");
    const rw = L.PROT_READ | L.PROT_WRITE;
    p.mmap(A, P, rw, L.MAP_SHARED | L.MAP_FIXED, fd, 0);
    p.mmap(A + 2 * P, P, rw, L.MAP_SHARED | L.MAP_FIXED, fd, 2 * P);
    p.write8(A, 0x11);
    p.write8(A + 2 * P, 0x22);
    return f;
  }

  it("MS_SYNC goes on past the hole, syncs what follows, then reports ENOMEM", () => {
    const p = linuxProc();
    const f = twoFiles(p);
    expect(code(() => p.msync(A, 3 * P, L.MS_SYNC))).toBe("ENOMEM");
    expect([f.read(0, 1)[0], f.read(2 * P, 1)[0]]).toEqual([0x11, 0x22]);
  });

  it("plain MS_ASYNC stops at the hole", () => {
    const p = linuxProc();
    const f = twoFiles(p);
    expect(code(() => p.msync(A, 3 * P, L.MS_ASYNC))).toBe("ENOMEM");
    expect(f.read(2 * P, 1)[0]).toBe(0);
  });
});

describe("Linux madvise(MADV_POPULATE_*) (madvise_populate)", () => {
  it("stops at a hole with ENOMEM: what follows the hole is not populated", () => {
    const p = linuxProc();
    const rw = L.PROT_READ | L.PROT_WRITE;
    const flags = L.MAP_PRIVATE | L.MAP_ANONYMOUS | L.MAP_FIXED;
    p.mmap(A, P, rw, flags);
    p.mmap(A + 2 * P, P, rw, flags);
    expect(code(() => p.madvise(A, 3 * P, L.MADV_POPULATE_WRITE))).toBe("ENOMEM");
    expect(p.mincore(A, P)[0]).toBe(1);
    expect(p.mincore(A + 2 * P, P)[0]).toBe(0);
  });
});

describe("madvise(MADV_WILLNEED) over PROT_NONE (vm_map_pmap_enter)", () => {
  for (const pers of ["freebsd", "linux"] as const) {
    it(`${pers}: resident pages of a PROT_NONE mapping stay unmapped, and come back readable`, () => {
      const p = pers === "freebsd" ? freebsdProc() : linuxProc();
      const C = pers === "freebsd" ? F : L;
      const sys = p.sys;
      p.mmap(A, 2 * P, C.PROT_READ | C.PROT_WRITE, C.MAP_PRIVATE | C.MAP_ANON | C.MAP_FIXED);
      p.write8(A, 7);
      p.write8(A + P, 9);
      p.mprotect(A, 2 * P, C.PROT_NONE);
      expect(p.pmap.extract(A)).toBe(0);
      p.madvise(A, 2 * P, C.MADV_WILLNEED);
      // A translation without access would be an unwired mapping that grants nothing.
      expect(p.pmap.extract(A)).toBe(0);
      expect(p.pmap.extract(A + P)).toBe(0);
      sys.audit();
      p.mprotect(A, 2 * P, C.PROT_READ);
      p.madvise(A, 2 * P, C.MADV_WILLNEED);
      expect(p.pmap.extract(A)).not.toBe(0);
      expect(p.read8(A + P)).toBe(9);
      sys.audit();
    });
  }
});

describe("Linux mlock (do_mlock)", () => {
  it("locking a locked range again does not count its pages twice", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_MEMLOCK, { soft: 3 * P, hard: 3 * P });
    p.mmap(A, 2 * P, L.PROT_READ | L.PROT_WRITE, L.MAP_PRIVATE | L.MAP_ANONYMOUS | L.MAP_FIXED);
    p.mlock(A, 2 * P);
    p.mlock(A, 2 * P);
    expect(p.pmap.wired).toBe(2);
  });
});

describe("FreeBSD mincore (kern_mincore)", () => {
  it("an unmapped address is ENOMEM even for len 0; Linux returns an empty vector", () => {
    const p = freebsdProc();
    expect(code(() => p.mincore(A, 0))).toBe("ENOMEM");
    p.mmap(A, P, F.PROT_READ, F.MAP_PRIVATE | F.MAP_ANON | F.MAP_FIXED);
    expect(p.mincore(A, 0)).toHaveLength(0);
    expect(linuxProc().mincore(A, 0)).toHaveLength(0);
  });
});
