/**
 * Behaviour of the swap pager and the page daemon: virtual memory larger than physical memory,
 * pageout and page-in of exact bytes, swap through shadow chains (fork, copy on write,
 * collapse), second chance, wired pages, MAP_SHARED file pages laundered to their file, fault
 * injection (failed pageout: page stays resident and dirty; failed page-in: SIGBUS BUS_OBJERR),
 * and nothing leaked after exit.
 */

import { describe, expect, it } from "vitest";
import {
  FaultyBackend,
  freebsd,
  MemoryFault,
  MemoryFile,
  MemorySwap,
  type Process,
  SwapBlocks,
  type VmEvent,
  VmSystem,
} from "../src/index.js";

const PS = 4096;
const { PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE, MAP_SHARED, INHERIT_SHARE } = freebsd;
const RW = PROT_READ | PROT_WRITE;

/** A system of `frames` page frames. */
function system(frames: number, swap?: FaultyBackend | MemorySwap): VmSystem {
  return new VmSystem({ physicalMemory: frames * PS, swap });
}

/** Maps `pages` anonymous private pages. */
function anon(p: Process, pages: number): number {
  return p.mmap(0, pages * PS, RW, MAP_ANON | MAP_PRIVATE);
}

/** A word that names process, page and generation, so a wrong page is caught. */
function tag(pid: number, page: number, gen: number): number {
  return ((pid * 7919 + page * 104729 + gen * 15485863) >>> 0) | 1;
}

function fill(p: Process, base: number, pages: number, gen: number): void {
  for (let i = 0; i < pages; i++) {
    p.write32(base + i * PS, tag(p.pid, i, gen));
    p.write32(base + i * PS + PS - 4, tag(p.pid, i, gen) ^ 0xffff);
  }
}

function verify(p: Process, base: number, pages: number, gen: number, pid = p.pid): void {
  for (let i = 0; i < pages; i++) {
    expect(p.read32(base + i * PS)).toBe(tag(pid, i, gen));
    expect(p.read32(base + i * PS + PS - 4)).toBe(tag(pid, i, gen) ^ 0xffff);
  }
}

/** Frames all free and no swap slot held once every process has exited. */
function expectNoLeak(sys: VmSystem): void {
  for (const p of sys.processes()) p.exit();
  sys.audit();
  const st = sys.stats();
  expect(st.frames.free).toBe(st.frames.total);
  expect(st.swapInUse).toBe(0);
  expect(st.objects.live).toBe(0);
}

describe("virtual memory larger than physical memory", () => {
  it("pages 4x physical memory out and reads every byte back", () => {
    const sys = system(32);
    const p = sys.createProcess();
    const a = anon(p, 128);
    fill(p, a, 128, 1);
    sys.audit();
    const st = sys.stats();
    expect(st.pageouts).toBeGreaterThanOrEqual(96);
    expect(st.swapInUse).toBeGreaterThanOrEqual(96);
    verify(p, a, 128, 1);
    sys.audit();
    expect(sys.stats().swap.pageins).toBeGreaterThan(0);
    expect(sys.stats().pageins).toBeGreaterThanOrEqual(sys.stats().swap.pageins);
    expectNoLeak(sys);
  });

  it("readBytes/writeBytes of whole regions survive pageout", () => {
    const sys = system(16);
    const p = sys.createProcess();
    const a = anon(p, 64);
    const bytes = new Uint8Array(64 * PS);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
    p.writeBytes(a, bytes);
    const back = p.readBytes(a, bytes.length);
    expect(back.length).toBe(bytes.length);
    expect(back.every((v, i) => v === bytes[i])).toBe(true);
    sys.audit();
    expectNoLeak(sys);
  });

  it("p.maps() counts resident and swapped pages", () => {
    const sys = system(16);
    const p = sys.createProcess();
    const a = anon(p, 40);
    fill(p, a, 40, 1);
    const [m] = p.maps().filter((e) => e.start === a);
    expect(m.resident + m.swapped).toBe(40);
    expect(m.swapped).toBeGreaterThanOrEqual(24);
    expect(m.swapped).toBe(sys.stats().swapInUse);
    expect(p.mincore(a, PS)[0] & 1).toBe(0); // the first page went out first
    expectNoLeak(sys);
  });

  it("emits a pageout event per page written out", () => {
    const sys = system(8);
    const events: VmEvent[] = [];
    const off = sys.on((e) => {
      if (e.type === "pageout") events.push(e);
    });
    const p = sys.createProcess();
    fill(p, anon(p, 20), 20, 1);
    off();
    expect(events.length).toBe(sys.stats().pageouts);
    expect(events.length).toBeGreaterThanOrEqual(12);
    expectNoLeak(sys);
  });

  it("munmap frees the swap slots of the range", () => {
    const sys = system(8);
    const p = sys.createProcess();
    const a = anon(p, 32);
    fill(p, a, 32, 1);
    expect(sys.stats().swapInUse).toBeGreaterThan(0);
    p.munmap(a, 32 * PS);
    sys.audit();
    expect(sys.stats().swapInUse).toBe(0);
    expectNoLeak(sys);
  });
});

describe("swap through shadow chains", () => {
  it("fork: each side keeps its bytes when the shared pages are on swap", () => {
    const sys = system(24);
    const parent = sys.createProcess();
    const a = anon(parent, 48);
    fill(parent, a, 48, 1);
    const child = parent.fork();
    sys.audit();
    // Both read the backing object's pages, some of them paged in from swap.
    verify(child, a, 48, 1, parent.pid);
    verify(parent, a, 48, 1);
    // Each writes its own copy; pages of the backing object go in and out meanwhile.
    for (let i = 0; i < 48; i += 2) child.write32(a + i * PS, tag(child.pid, i, 2));
    for (let i = 1; i < 48; i += 2) parent.write32(a + i * PS, tag(parent.pid, i, 3));
    sys.audit();
    for (let i = 0; i < 48; i++) {
      expect(child.read32(a + i * PS)).toBe(
        i % 2 === 0 ? tag(child.pid, i, 2) : tag(parent.pid, i, 1),
      );
      expect(parent.read32(a + i * PS)).toBe(
        i % 2 === 1 ? tag(parent.pid, i, 3) : tag(parent.pid, i, 1),
      );
    }
    sys.audit();
    // The child exits: the backing object collapses into the parent's shadow, swap included.
    child.exit();
    sys.audit();
    for (let i = 0; i < 48; i++)
      expect(parent.read32(a + i * PS)).toBe(tag(parent.pid, i, i % 2 === 1 ? 3 : 1));
    expect(sys.stats().objects.collapses).toBeGreaterThan(0);
    expectNoLeak(sys);
  });

  it("a swapped page of the top object hides the backing object's page", () => {
    const sys = system(12);
    const parent = sys.createProcess();
    const a = anon(parent, 8);
    fill(parent, a, 8, 1);
    const child = parent.fork();
    child.write32(a, 0xdead);
    // Push everything out, then read again: the child must see its own copy, not the parent's.
    const b = anon(child, 40);
    fill(child, b, 40, 1);
    expect(child.read32(a)).toBe(0xdead);
    expect(parent.read32(a)).toBe(tag(parent.pid, 0, 1));
    sys.audit();
    expectNoLeak(sys);
  });

  it("shared anonymous memory (INHERIT_SHARE) is one copy on swap", () => {
    const sys = system(12);
    const parent = sys.createProcess();
    const a = anon(parent, 24);
    parent.minherit(a, 24 * PS, INHERIT_SHARE);
    const child = parent.fork();
    fill(parent, a, 24, 1);
    verify(child, a, 24, 1, parent.pid);
    child.write32(a + 5 * PS, 77);
    const b = anon(parent, 24);
    fill(parent, b, 24, 1);
    expect(parent.read32(a + 5 * PS)).toBe(77);
    sys.audit();
    expectNoLeak(sys);
  });

  it("SwapBlocks keeps slots per page index in blocks", () => {
    const s = new SwapBlocks();
    s.set(3, 10);
    s.set(100, 11);
    s.set(31, 12);
    expect(s.count).toBe(3);
    expect(s.indices()).toEqual([3, 31, 100]);
    expect(s.indices(4, 100)).toEqual([31]);
    expect(s.take(31)).toBe(12);
    expect(s.take(31)).toBe(-1);
    expect(s.get(100)).toBe(11);
    expect(s.count).toBe(2);
  });
});

describe("the page daemon", () => {
  it("never pages out wired memory", () => {
    const sys = new VmSystem({ physicalMemory: 24 * PS });
    const p = sys.createProcess({ privileged: true });
    const w = anon(p, 6);
    fill(p, w, 6, 1);
    p.mlock(w, 6 * PS);
    const before = p.maps().find((e) => e.start === w)!;
    expect(before.resident).toBe(6);
    fill(p, anon(p, 60), 60, 1);
    const after = p.maps().find((e) => e.start === w)!;
    expect(after.resident).toBe(6);
    expect(after.swapped).toBe(0);
    verify(p, w, 6, 1);
    sys.audit();
    expectNoLeak(sys);
  });

  it("second chance: a page referenced since the last scan stays resident", () => {
    const sys = system(32);
    const p = sys.createProcess();
    const hot = anon(p, 1);
    const cold = anon(p, 264);
    // Warm up: memory is full and the daemon running before the hot page is first touched.
    for (let i = 0; i < 64; i++) p.write32(cold + i * PS, i);
    p.write32(hot, 42);
    for (let i = 64; i < 264; i++) {
      p.write32(cold + i * PS, i);
      p.read32(hot); // sets PTE_A again after each scan cleared it (a TLB refill)
    }
    expect(sys.stats().pageouts).toBeGreaterThan(200);
    expect(sys.stats().swap.pageins).toBe(0); // the hot page never went out
    expect(p.mincore(hot, PS)[0] & 1).toBe(1);
    expect(p.read32(hot)).toBe(42);
    sys.audit();
    expectNoLeak(sys);
  });

  it("launders dirty MAP_SHARED file pages to the file, and frees clean ones", () => {
    const sys = system(16);
    const p = sys.createProcess();
    const file = new MemoryFile(64 * PS);
    const fd = p.fds.open(file, "rw");
    const a = p.mmap(0, 64 * PS, RW, MAP_SHARED, fd, 0);
    for (let i = 0; i < 64; i++) p.write32(a + i * PS, 1000 + i);
    // Most pages were written to the file by the daemon, before any unmap or msync.
    const out = sys.stats().daemon.filePageouts;
    expect(out).toBeGreaterThanOrEqual(48);
    const bytes = file.contents();
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint32(0, true)).toBe(1000);
    for (let i = 0; i < 64; i++) expect(p.read32(a + i * PS)).toBe(1000 + i);
    expect(sys.stats().daemon.freedClean).toBeGreaterThan(0);
    expect(sys.stats().swapInUse).toBe(0);
    sys.audit();
    expectNoLeak(sys);
  });

  it("removes every mapping (and TLB entry) of a page before freeing it", () => {
    const sys = system(8);
    const parent = sys.createProcess();
    const a = anon(parent, 4);
    fill(parent, a, 4, 1);
    const child = parent.fork();
    verify(child, a, 4, 1, parent.pid); // both pmaps map the backing pages
    fill(parent, anon(parent, 32), 32, 2);
    sys.audit(); // the audit checks every PTE and TLB entry against the chains
    verify(child, a, 4, 1, parent.pid);
    verify(parent, a, 4, 1);
    expectNoLeak(sys);
  });
});

describe("fault injection", () => {
  it("a failed pageout leaves the page resident and dirty", () => {
    const swap = new FaultyBackend(new MemorySwap());
    const sys = system(16, swap);
    const p = sys.createProcess();
    const a = anon(p, 12);
    fill(p, a, 12, 1);
    swap.fail("write", "ENOSPC");
    // Memory runs out, and no dirty anonymous page can go anywhere: the page that cannot be
    // had is SIGBUS (BUS_OOMERR); every pageout tried failed and left its page in place.
    const c = anon(p, 8);
    let fault: unknown = null;
    try {
      fill(p, c, 8, 1);
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(MemoryFault);
    expect((fault as MemoryFault).code).toBe("BUS_OOMERR");
    expect(swap.failedWrites).toBeGreaterThan(0);
    expect(sys.stats().daemon.failedPageouts).toBe(swap.failedWrites);
    expect(sys.stats().swapInUse).toBe(0);
    expect(sys.stats().frames.free).toBe(0);
    sys.audit();
    verify(p, a, 12, 1);
    swap.heal();
    fill(p, c, 8, 1);
    fill(p, anon(p, 30), 30, 1);
    verify(p, a, 12, 1);
    verify(p, c, 8, 1);
    sys.audit();
    expectNoLeak(sys);
  });

  it("a failed page-in raises SIGBUS (BUS_OBJERR), and the bytes come back once healed", () => {
    const swap = new FaultyBackend();
    const sys = system(8, swap);
    const p = sys.createProcess();
    const a = anon(p, 32);
    fill(p, a, 32, 1);
    swap.fail("read", "EIO", 2);
    let fault: unknown = null;
    try {
      p.read32(a);
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(MemoryFault);
    expect((fault as MemoryFault).signal).toBe("SIGBUS");
    expect((fault as MemoryFault).code).toBe("BUS_OBJERR");
    expect((fault as MemoryFault).address).toBe(a);
    expect(() => p.write32(a + PS, 5)).toThrow(MemoryFault);
    sys.audit();
    expect(swap.failing).toBe(false); // the two failures are used up
    expect(swap.failedReads).toBe(2);
    verify(p, a, 32, 1);
    expectNoLeak(sys);
  });

  it("fails only the chosen slots", () => {
    const swap = new FaultyBackend().fail("read", "EIO", Number.POSITIVE_INFINITY, (s) => s === 0);
    const sys = system(8, swap);
    const p = sys.createProcess();
    const a = anon(p, 24);
    fill(p, a, 24, 1);
    let faults = 0;
    for (let i = 0; i < 24; i++) {
      try {
        expect(p.read32(a + i * PS)).toBe(tag(p.pid, i, 1));
      } catch (e) {
        expect(e).toBeInstanceOf(MemoryFault);
        faults++;
      }
    }
    expect(faults).toBe(1);
    swap.heal();
    verify(p, a, 24, 1);
    expectNoLeak(sys);
  });

  it("a bounded MemorySwap answers ENOSPC past its slots", () => {
    const sys = system(8, new MemorySwap({ maxSlots: 4 }));
    const p = sys.createProcess();
    const a = anon(p, 12);
    fill(p, a, 12, 1);
    expect(sys.stats().swapInUse).toBe(4);
    const b = anon(p, 4);
    expect(() => fill(p, b, 4, 1)).toThrow(MemoryFault);
    sys.audit();
    // Frames come back with an unmap; the swapped pages then come back in turn.
    p.munmap(a + 8 * PS, 4 * PS);
    verify(p, a, 8, 1);
    sys.audit();
    expectNoLeak(sys);
  });
});
