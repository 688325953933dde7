/**
 * I/O failures of files (FaultyFile over a MemoryFile), as the vnode pager and its callers
 * must answer them: msync reports the error and the refused pages stay dirty (MS_INVALIDATE
 * keeps them); a failed pageout by the page daemon leaves the page resident and dirty; a failed
 * page-in is SIGBUS (BUS_OBJERR) and maps nothing; pread/pwrite report EIO/ENOSPC and change
 * nothing; once healed every byte is intact. Also the page daemon's low-water wakeup, and the
 * private copy fork makes of wired memory surviving memory pressure.
 */

import { describe, expect, it } from "vitest";
import {
  freebsd as F,
  FaultyFile,
  FileIoError,
  linux as L,
  MemoryFault,
  MemoryFile,
  type Process,
  VmError,
  VmSystem,
} from "../src/index.js";

const PS = 4096;
const RW = F.PROT_READ | F.PROT_WRITE;

/** A file of `pages` pages whose word at each page start names the page. */
function file(pages: number): MemoryFile {
  const f = new MemoryFile(pages * PS);
  const dv = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < pages; i++) {
    dv.setUint32(0, 0x1000 + i, true);
    f.write(i * PS, new Uint8Array(dv.buffer));
  }
  return f;
}

const word = (f: MemoryFile, at: number) => new DataView(f.contents().buffer).getUint32(at, true);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

function noLeak(sys: VmSystem): void {
  for (const p of sys.processes()) p.exit();
  sys.audit();
  const st = sys.stats();
  expect(st.frames.free).toBe(st.frames.total);
  expect(st.objects.live).toBe(0);
}

/** A shared mapping of a FaultyFile over `pages` pages. */
function shared(sys: VmSystem, pages: number): { p: Process; ff: FaultyFile; a: number } {
  const p = sys.createProcess();
  const ff = new FaultyFile(file(pages));
  const fd = p.fds.open(ff, "rw", "/faulty");
  return { p, ff, a: p.mmap(0, pages * PS, RW, F.MAP_SHARED, fd, 0) };
}

describe("FaultyFile", () => {
  it("fails the chosen reads and writes with a FileIoError and stores nothing", () => {
    const inner = file(2);
    const ff = new FaultyFile(inner);
    ff.fail("write", "ENOSPC", 1, (pos) => pos >= PS);
    expect(ff.write(0, Uint8Array.of(9))).toBe(1); // not in the chosen range
    const e = thrown(() => ff.write(PS, Uint8Array.of(7)));
    expect(e).toBeInstanceOf(FileIoError);
    expect((e as FileIoError).code).toBe("ENOSPC");
    expect(inner.contents()[PS]).toBe(0x01);
    expect(ff.failing).toBe(false);
    ff.fail("read", "EIO");
    expect((thrown(() => ff.read(0, 4)) as FileIoError).code).toBe("EIO");
    expect((thrown(() => ff.read(PS, 4)) as FileIoError).code).toBe("EIO");
    expect(ff.failedReads).toBe(2);
    expect(ff.failedWrites).toBe(1);
    ff.heal();
    expect(ff.read(0, 1)[0]).toBe(9);
    expect(ff.size).toBe(2 * PS);
    expect(() => ff.fail("read", "EPERM" as "EIO")).toThrow(RangeError);
    expect(() => ff.fail("open" as "read")).toThrow(RangeError);
    expect(() => ff.fail("read", "EIO", -1)).toThrow(RangeError);
  });
});

describe("file I/O failures", () => {
  it("msync reports EIO, the page stays dirty, and the next msync writes it", () => {
    const sys = new VmSystem({ physicalMemory: 64 * PS });
    const { p, ff, a } = shared(sys, 4);
    p.write32(a + 8, 0xabcd);
    p.write32(a + 2 * PS + 8, 0x1234);
    ff.fail("write", "EIO", 1, (pos) => pos === 0);
    const e = thrown(() => p.msync(a, 4 * PS, F.MS_SYNC)) as VmError;
    expect(e).toBeInstanceOf(VmError);
    expect(e.code).toBe("EIO");
    const inner = ff.inner as MemoryFile;
    expect(word(inner, 8)).toBe(0); // refused
    expect(word(inner, 2 * PS + 8)).toBe(0x1234); // the other run still went
    expect(p.mincore(a, PS)[0] & 1).toBe(1);
    sys.audit();
    p.msync(a, 4 * PS, F.MS_SYNC);
    expect(word(inner, 8)).toBe(0xabcd);
    expect(word(inner, 0)).toBe(0x1000);
    noLeak(sys);
  });

  it("MS_INVALIDATE after a refused write keeps the dirty page and drops the clean ones", () => {
    const sys = new VmSystem({ physicalMemory: 64 * PS });
    const { p, ff, a } = shared(sys, 2);
    p.write32(a + 8, 77);
    expect(p.read32(a + PS)).toBe(0x1001);
    ff.fail("write", "ENOSPC");
    expect((thrown(() => p.msync(a, 2 * PS, F.MS_INVALIDATE)) as VmError).code).toBe("EIO");
    const inc = p.mincore(a, 2 * PS);
    expect(inc[0] & 1).toBe(1);
    expect(inc[1] & 1).toBe(0);
    expect(p.read32(a + 8)).toBe(77);
    ff.heal();
    p.msync(a, 2 * PS, F.MS_SYNC);
    expect(word(ff.inner as MemoryFile, 8)).toBe(77);
    noLeak(sys);
  });

  it("Linux msync reports the file's own error (ENOSPC)", () => {
    const sys = new VmSystem({ personality: "linux", physicalMemory: 64 * PS });
    const p = sys.createProcess();
    const ff = new FaultyFile(file(1));
    const a = p.mmap(0, PS, L.PROT_READ | L.PROT_WRITE, L.MAP_SHARED, p.fds.open(ff, "rw"), 0);
    p.write8(a, 5);
    ff.fail("write", "ENOSPC");
    const e = thrown(() => p.msync(a, PS, L.MS_SYNC)) as VmError;
    expect(e.code).toBe("ENOSPC");
    expect(e.errno).toBe(28);
    ff.heal();
    p.msync(a, PS, L.MS_SYNC);
    expect((ff.inner as MemoryFile).contents()[0]).toBe(5);
    noLeak(sys);
  });

  it("a failed file pageout leaves the page resident and dirty; healed, nothing is lost", () => {
    const sys = new VmSystem({ physicalMemory: 8 * PS });
    const { p, ff, a } = shared(sys, 4);
    for (let i = 0; i < 4; i++) p.write32(a + i * PS + 4, 500 + i);
    ff.fail("write", "EIO");
    // Anonymous pages push the file's dirty pages out; the file refuses every one.
    const b = p.mmap(0, 32 * PS, RW, F.MAP_ANON | F.MAP_PRIVATE);
    for (let i = 0; i < 32; i++) p.write32(b + i * PS, i);
    expect(ff.failedWrites).toBeGreaterThan(0);
    expect(sys.stats().daemon.failedPageouts).toBeGreaterThanOrEqual(ff.failedWrites);
    expect(sys.stats().daemon.filePageouts).toBe(0);
    const inner = ff.inner as MemoryFile;
    for (let i = 0; i < 4; i++) expect(word(inner, i * PS + 4)).toBe(0);
    sys.audit();
    ff.heal();
    for (let i = 32; i < 64; i++) p.write32(b + (i % 32) * PS + 8, i);
    for (let i = 0; i < 4; i++) expect(p.read32(a + i * PS + 4)).toBe(500 + i);
    for (let i = 0; i < 32; i++) expect(p.read32(b + i * PS)).toBe(i);
    noLeak(sys);
    for (let i = 0; i < 4; i++) expect(word(inner, i * PS + 4)).toBe(500 + i);
  });

  it("dirty pages of a failing file do not starve the allocator while swap takes others", () => {
    const sys = new VmSystem({ physicalMemory: 8 * PS });
    sys.daemon.freeMin = 0; // the daemon runs only when an allocation fails
    const { p, ff, a } = shared(sys, 4);
    for (let i = 0; i < 4; i++) p.write32(a + i * PS + 4, 500 + i);
    ff.fail("write", "EIO");
    const b = p.mmap(0, 32 * PS, RW, F.MAP_ANON | F.MAP_PRIVATE);
    for (let i = 0; i < 32; i++) p.write32(b + i * PS, i);
    expect(sys.stats().daemon.swapPageouts).toBeGreaterThan(0);
    for (let i = 0; i < 32; i++) expect(p.read32(b + i * PS)).toBe(i);
    ff.heal();
    noLeak(sys);
    for (let i = 0; i < 4; i++) expect(word(ff.inner as MemoryFile, i * PS + 4)).toBe(500 + i);
  });

  it("a failed page-in is SIGBUS (BUS_OBJERR) and maps nothing; healed, the page reads", () => {
    const sys = new VmSystem({ physicalMemory: 64 * PS });
    const { p, ff, a } = shared(sys, 2);
    const priv = p.mmap(0, 2 * PS, RW, F.MAP_PRIVATE, p.fds.open(ff, "r"), 0);
    ff.fail("read", "EIO", 2);
    const e = thrown(() => p.read32(a + PS)) as MemoryFault;
    expect(e).toBeInstanceOf(MemoryFault);
    expect(e.signal).toBe("SIGBUS");
    expect(e.code).toBe("BUS_OBJERR");
    const w = thrown(() => p.write32(priv, 1)) as MemoryFault; // the copy's source cannot be read
    expect(w.code).toBe("BUS_OBJERR");
    expect(p.mincore(a, 2 * PS)[1]).toBe(0);
    expect(sys.stats().faults.failed).toBe(2);
    sys.audit();
    expect(p.read32(a + PS)).toBe(0x1001);
    p.write32(priv, 1);
    expect(p.read32(priv)).toBe(1);
    expect(p.read32(a)).toBe(0x1000);
    noLeak(sys);
  });

  it("pread and pwrite report EIO / ENOSPC and change nothing", () => {
    const sys = new VmSystem({ physicalMemory: 64 * PS });
    const { p, ff, a } = shared(sys, 2);
    ff.fail("read", "EIO", 1);
    const r = thrown(() => sys.pread(ff, PS, 8)) as VmError;
    expect(r).toBeInstanceOf(VmError);
    expect(r.syscall).toBe("pread");
    expect(r.code).toBe("EIO");
    ff.fail("write", "ENOSPC", 1);
    const w = thrown(() => sys.pwrite(ff, 0, Uint8Array.of(1, 2, 3, 4))) as VmError;
    expect(w.code).toBe("ENOSPC");
    expect(w.errno).toBe(28);
    expect(p.read32(a)).toBe(0x1000);
    expect(Array.from(sys.pread(ff, 0, 4))).toEqual([0, 0x10, 0, 0]);
    sys.pwrite(ff, 0, Uint8Array.of(1, 2, 3, 4));
    expect(p.read32(a)).toBe(0x04030201);
    noLeak(sys);
  });

  it("an error a Vnode throws that is not an I/O error propagates as it is", () => {
    const sys = new VmSystem({ physicalMemory: 64 * PS });
    const bad = new MemoryFile(PS);
    bad.read = () => {
      throw new TypeError("broken vnode");
    };
    expect(() => sys.pread(bad, 0, 4)).toThrow(TypeError);
  });
});

describe("the page daemon's low-water mark", () => {
  it("wakes when free frames fall below freeMin, before memory runs out", () => {
    const sys = new VmSystem({ physicalMemory: 256 * PS });
    expect(sys.daemon.freeTarget).toBe(8);
    expect(sys.daemon.freeMin).toBe(4);
    const p = sys.createProcess();
    const a = p.mmap(0, 300 * PS, RW, F.MAP_ANON | F.MAP_PRIVATE);
    let minFree = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 300; i++) {
      p.write32(a + i * PS, i);
      minFree = Math.min(minFree, sys.mem.freeCount);
      if (sys.daemon.stats.wakeups === 0 && sys.mem.freeCount < 3) expect.unreachable();
    }
    const st = sys.stats();
    expect(st.daemon.wakeups).toBeGreaterThan(0);
    expect(minFree).toBeGreaterThanOrEqual(3); // never exhausted: the daemon ran ahead
    expect(st.daemon.swapPageouts).toBeGreaterThan(0);
    for (let i = 0; i < 300; i++) expect(p.read32(a + i * PS)).toBe(i);
    noLeak(sys);
  });

  it("freeMin 1 wakes only when no frame is free; a bad value is refused", () => {
    const sys = new VmSystem({ physicalMemory: 256 * PS });
    sys.daemon.freeMin = 1;
    const p = sys.createProcess();
    const a = p.mmap(0, 257 * PS, RW, F.MAP_ANON | F.MAP_PRIVATE);
    for (let i = 0; i < 256; i++) p.write32(a + i * PS, i);
    expect(sys.stats().daemon.wakeups).toBe(0);
    p.write32(a + 256 * PS, 256);
    expect(sys.stats().daemon.wakeups).toBe(1); // the 257th page found none free
    expect(() => {
      sys.daemon.freeMin = -1;
    }).toThrow(RangeError);
    noLeak(sys);
  });
});

it("the private copy fork makes of wired memory survives memory pressure", () => {
  const sys = new VmSystem({ physicalMemory: 16 * PS });
  const p = sys.createProcess({ privileged: true });
  const a = p.mmap(0, 4 * PS, RW, F.MAP_ANON | F.MAP_PRIVATE);
  for (let i = 0; i < 4; i++) p.write32(a + i * PS, 900 + i);
  p.mlock(a, 4 * PS);
  const child = p.fork(); // vm_fault_copy_entry: the child gets unmapped copies
  const b = child.mmap(0, 40 * PS, RW, F.MAP_ANON | F.MAP_PRIVATE);
  for (let i = 0; i < 40; i++) child.write32(b + i * PS, i);
  for (let i = 0; i < 4; i++) expect(child.read32(a + i * PS)).toBe(900 + i);
  sys.audit();
  noLeak(sys);
});
