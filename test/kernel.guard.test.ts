/**
 * Guard pages (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE) against this machine's Linux 6.18:
 * test/kernel/guard.c made these calls and recorded what it saw in
 * test/golden/kernel/guard.linux.txt (how to record it again: the comment at the top of
 * guard.c). Here the same calls are made on vmspace, with the audit after each step, and must
 * print the same lines: over each kind of mapping, install on the middle pages, then
 * MADV_DONTNEED, mprotect, MADV_POPULATE_READ, mlock and a removal, reading every page (from a
 * forked child) after each, and the pages' mincore bits after the install; then single behaviours of private anonymous
 * memory (a write, the signal code, MADV_WIPEONFORK, MADV_FREE, mremap moving, growing and
 * shrinking, munmap and MAP_FIXED over a guard, a hole, bad ranges, mlock over a guard), of
 * shared memory, and of a shared file mapping whose pages are all cached (a fault's prefault of
 * its neighbours and MADV_WILLNEED map no guard page); last, the calls that leave a guard alone
 * (MADV_REMOVE, msync, MADV_PAGEOUT, MADV_COLD, mlockall) or move it (MREMAP_DONTUNMAP), and one
 * in the heap that a shrinking break drops.
 */

import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import {
  freebsd as F,
  linux as L,
  type LinuxProcess,
  MemoryFault,
  VmSystem,
} from "../src/index.js";
import { ANON, errnoOf, KINDS, P, RW, readsOf, session, signalOf } from "./kernelKinds.js";

const INSTALL = L.MADV_GUARD_INSTALL;
const REMOVE = L.MADV_GUARD_REMOVE;

/** guard.c's transcript, computed on vmspace. */
function transcript(): string[] {
  const { sys, p, rw, ro } = session();
  // The file stays mapped (guard.c's comment says why).
  p.mmap(0, 8 * P, L.PROT_READ, L.MAP_SHARED, ro, 0);
  const out: string[] = [];
  const rc = (what: string, fn: () => unknown) => {
    out.push(`${what} ${errnoOf(fn)}`);
    sys.audit();
  };
  const reads = (what: string, a: number, n: number, core: boolean) => {
    out.push(`${what}${readsOf(p, a, n)}${core ? ` core ${coreOf(p, a, n)}` : ""}`);
    sys.audit();
  };
  const anon = (n: number) => {
    const a = p.mmap(0, n * P, RW, ANON, -1, 0);
    for (let i = 0; i < n; i++) p.write8(a + i * P, 10 + i);
    return a;
  };
  for (const [kind, make] of Object.entries(KINDS)) {
    const a = make(p, rw, ro);
    if (kind !== "filero" && kind !== "none")
      for (let i = 0; i < 4; i++) p.write8(a + i * P, 10 + i);
    rc(`${kind} install`, () => p.madvise(a + P, 2 * P, INSTALL));
    reads(`${kind} read`, a, 4, true);
    rc(`${kind} dontneed`, () => p.madvise(a, 4 * P, L.MADV_DONTNEED));
    reads(`${kind} read`, a, 4, false);
    rc(`${kind} mprotect`, () => p.mprotect(a, 4 * P, L.PROT_READ));
    reads(`${kind} read`, a, 4, false);
    rc(`${kind} populate_read`, () => p.madvise(a, 4 * P, L.MADV_POPULATE_READ));
    rc(`${kind} mlock`, () => p.mlock(a, 4 * P));
    p.munlock(a, 4 * P);
    rc(`${kind} remove`, () => p.madvise(a + P, P, REMOVE));
    reads(`${kind} read`, a, 4, false);
    p.munmap(a, 4 * P);
  }
  const a = anon(4);
  p.madvise(a + P, P, INSTALL);
  const child = p.fork();
  out.push(`write ${signalOf(() => child.write8(a + P, 5)) ?? "ok"}`);
  child.exit();
  out.push(`sigcode guard ${sigcode(p, a + P)}`);
  const n = p.mmap(0, P, L.PROT_NONE, ANON, -1, 0);
  out.push(`sigcode none ${sigcode(p, n)}`);
  p.munmap(n, P);
  const x = anon(4);
  p.madvise(x, 4 * P, L.MADV_WIPEONFORK);
  p.madvise(x + P, P, INSTALL);
  reads("wipeonfork read", x, 4, false);
  rc("free", () => p.madvise(a, 4 * P, L.MADV_FREE));
  reads("free read", a, 4, false);
  const b = anon(4);
  p.madvise(b + 2 * P, P, INSTALL);
  const dst = p.mmap(0, 8 * P, L.PROT_NONE, ANON, -1, 0);
  const d = p.mremap(b, 4 * P, 4 * P, L.MREMAP_MAYMOVE | L.MREMAP_FIXED, dst + 2 * P);
  reads("moved read", d, 4, false);
  const e = anon(4);
  p.madvise(e + P, 2 * P, INSTALL);
  p.munmap(e + P, P);
  p.mmap(e + P, P, RW, ANON | L.MAP_FIXED, -1, 0);
  reads("remapped read", e, 4, false);
  const f = anon(4);
  p.madvise(f + P, 2 * P, INSTALL);
  p.mmap(f + P, P, RW, ANON | L.MAP_FIXED, -1, 0);
  reads("fixed-over read", f, 4, false);
  const g = anon(4);
  p.munmap(g + 2 * P, P);
  rc("hole", () => p.madvise(g, 4 * P, INSTALL));
  reads("hole read", g, 2, false);
  rc("hole remove", () => p.madvise(g, 4 * P, REMOVE));
  rc("unaligned", () => p.madvise(a + 1, P, INSTALL));
  rc("zero", () => p.madvise(a, 0, INSTALL));
  rc("twice", () => p.madvise(a + P, P, INSTALL));
  rc("remove-none", () => p.madvise(a, P, REMOVE));
  rc("mprotect-none", () => p.mprotect(a, 4 * P, L.PROT_NONE));
  rc("mprotect-back", () => p.mprotect(a, 4 * P, RW));
  reads("mprotect read", a, 4, false);
  rc("populate_write", () => p.madvise(a, 4 * P, L.MADV_POPULATE_WRITE));
  rc("willneed", () => p.madvise(a, 4 * P, L.MADV_WILLNEED));
  const h = anon(4);
  p.madvise(h + P, P, INSTALL);
  rc("mlock", () => p.mlock(h, 4 * P));
  rc("mlock dontneed", () => p.madvise(h, 4 * P, L.MADV_DONTNEED));
  rc("mlock install", () => p.madvise(h + 2 * P, P, INSTALL));
  rc("mlock remove", () => p.madvise(h + P, P, REMOVE));
  reads("mlock read", h, 4, false);
  const q = anon(2);
  p.madvise(q + P, P, INSTALL);
  const q2 = p.mremap(q, 2 * P, 4 * P, L.MREMAP_MAYMOVE);
  reads("grown read", q2, 4, false);
  const s = p.mmap(0, 4 * P, RW, L.MAP_SHARED | L.MAP_ANONYMOUS, -1, 0);
  for (let i = 0; i < 4; i++) p.write8(s + i * P, 10 + i);
  p.madvise(s + P, P, INSTALL);
  reads("shared read", s, 4, true);
  const fs = p.mmap(0, 4 * P, RW, L.MAP_SHARED, rw, 0);
  for (let i = 0; i < 4; i++) p.write8(fs + i * P, 20 + i);
  p.madvise(fs + 2 * P, P, INSTALL);
  for (const [what, willneed] of [
    ["fault by fault", false],
    ["after willneed", true],
  ] as const) {
    const c = p.fork();
    if (willneed) c.madvise(fs, 4 * P, L.MADV_WILLNEED);
    let line = "sweep";
    let sig: string | null = null;
    for (let i = 0; i < 4 && sig === null; i++)
      sig = signalOf(() => {
        line += ` ${c.read8(fs + i * P)}`;
      });
    out.push(`${line} ${sig ?? "ok"} (${what})`);
    c.exit();
    sys.audit();
  }
  const t = anon(4);
  p.madvise(t + P, P, INSTALL);
  const t2 = p.mremap(t, 4 * P, P, 0);
  reads("shrunk read", t2, 1, false);
  const t3 = p.mremap(t2, P, 4 * P, 0);
  reads("regrown read", t3, 4, false);
  const r = p.mmap(0, 4 * P, RW, L.MAP_SHARED | L.MAP_ANONYMOUS, -1, 0);
  for (let i = 0; i < 4; i++) p.write8(r + i * P, 10 + i);
  p.madvise(r + P, P, INSTALL);
  rc("madv_remove", () => p.madvise(r, 4 * P, L.MADV_REMOVE));
  reads("madv_remove read", r, 4, false);
  const k = anon(4);
  p.madvise(k + P, P, INSTALL);
  rc("msync", () => p.msync(k, 4 * P, L.MS_SYNC));
  rc("pageout", () => p.madvise(k, 4 * P, L.MADV_PAGEOUT));
  rc("cold", () => p.madvise(k, 4 * P, L.MADV_COLD));
  reads("pageout read", k, 4, false);
  const u = anon(4);
  p.madvise(u + P, P, INSTALL);
  const v = p.mremap(u, 4 * P, 4 * P, L.MREMAP_MAYMOVE | L.MREMAP_DONTUNMAP);
  reads("dontunmap old read", u, 4, false);
  reads("dontunmap new read", v, 4, false);
  const heap = p.brk(0);
  p.brk(heap + 4 * P);
  p.write8(heap, 1);
  rc("brk install", () => p.madvise(heap + P, P, INSTALL));
  reads("brk read", heap, 2, false);
  p.brk(heap + P);
  p.brk(heap + 4 * P);
  reads("brk regrown read", heap, 2, false);
  rc("mlockall", () => p.mlockall(L.MCL_CURRENT));
  rc("mlockall install", () => p.madvise(k + 2 * P, P, INSTALL));
  reads("mlockall read", k, 4, false);
  p.munlockall();
  return out;
}

/** mincore's bit 0 of the n pages at a. */
function coreOf(p: LinuxProcess, a: number, n: number): string {
  return [...p.mincore(a, n * P)].map((v) => v & 1).join("");
}

/** si_code of the SIGSEGV a read of `va` raises in a child (SEGV_MAPERR 1, SEGV_ACCERR 2). */
function sigcode(p: LinuxProcess, va: number): number {
  const c = p.fork();
  try {
    c.read8(va);
    return 100;
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return e.code === "SEGV_MAPERR" ? 1 : e.code === "SEGV_ACCERR" ? 2 : 0;
  } finally {
    c.exit();
  }
}

it("guard pages: vmspace prints what Linux 6.18 printed (test/kernel/guard.c)", () => {
  const want = readFileSync(new URL("./golden/kernel/guard.linux.txt", import.meta.url), "utf8")
    .trim()
    .split("\n");
  expect(want.length).toBe(136);
  expect(transcript()).toEqual(want);
});

it("guard markers follow the mappings: not into a DONTFORK child, not past munmap or exit", () => {
  const { sys, p } = session();
  const a = p.mmap(0, 4 * P, RW, ANON, -1, 0);
  p.madvise(a + P, P, INSTALL);
  p.madvise(a + 2 * P, 2 * P, L.MADV_DONTFORK);
  p.madvise(a + 3 * P, P, INSTALL);
  expect(p.pmap.guardsIn(a, a + 4 * P)).toEqual([a + P, a + 3 * P]);
  const c = p.fork();
  // The child inherits [a, a + 2P) with its guard, and nothing of the DONTFORK part.
  expect(c.pmap.guardsIn(0, 2 ** 47)).toEqual([a + P]);
  sys.audit();
  c.exit();
  p.munmap(a, 2 * P);
  expect(p.pmap.guardsIn(0, 2 ** 47)).toEqual([a + 3 * P]);
  sys.audit();
  // A marker outside every mapping is what the audit looks for.
  p.pmap.installGuards(a, a + P);
  expect(() => sys.audit()).toThrow(/guard page at 0x[0-9a-f]+ outside any entry/);
  p.pmap.clearGuards(a, a + P);
  sys.audit();
  p.exit();
  sys.audit();
});

it("FreeBSD has no guard advice", () => {
  const sys = new VmSystem({ personality: "freebsd" });
  const p = sys.createProcess();
  const a = p.mmap(0, 4 * P, F.PROT_READ | F.PROT_WRITE, F.MAP_PRIVATE | F.MAP_ANON, -1, 0);
  expect(() => p.madvise(a, P, 102)).toThrow(/EINVAL/);
  expect(p.pmap.guardCount).toBe(0);
  sys.audit();
});

it("a faulting access to a guard page changes nothing (no object made, no shadow)", () => {
  // Found by the syscall fuzz (linux seed -1459760985, path 12): the fault handler's lookup gave
  // the objectless entry an object before the guard refused the write. Linux meets the marker
  // before it prepares anything for the page.
  const { sys, p } = session();
  const a = p.mmap(0, 2 * P, RW, ANON, -1, 0);
  p.madvise(a, P, INSTALL);
  // Everything but the fault counters.
  const state = () => JSON.stringify({ ...sys.stats(), faults: null });
  const before = state();
  for (const access of [() => p.write8(a, 1), () => p.read8(a), () => p.write32(a + P - 2, 1)])
    expect(signalOf(access)).toBe("S");
  expect(state()).toBe(before);
  expect(sys.stats().faults.failed).toBe(3);
  expect(p.map.lookupEntry(a).entry!.object).toBeNull();
  // After fork the entry needs a copy: a write to the guard page makes no shadow either.
  p.write8(a + P, 1);
  const c = p.fork();
  const o = c.map.lookupEntry(a).entry!.object;
  expect(signalOf(() => c.write8(a, 1))).toBe("S");
  expect(c.map.lookupEntry(a).entry!.object).toBe(o);
  sys.audit();
});
