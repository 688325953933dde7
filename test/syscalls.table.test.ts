/**
 * docs/syscalls.md, row by row: one `it` per row id of the system-call table, named by that
 * id, calling the library and asserting the errno (VmError.code, and VmError.errno against the
 * numbers of that personality's kernel headers, written out here independently of
 * src/base/errno.ts) or the outcome. A last test reads docs/syscalls.md and checks that every
 * row id there has a test here and every test here has a row there, so the two cannot drift.
 *
 * A row whose library behaviour disagrees with the kernel is written (in the doc and here) as
 * the kernel behaves; its test fails until the library is fixed. The doc's "Known differences"
 * section names those rows.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  Device,
  freebsd as F,
  FaultyFile,
  linux as L,
  type LinuxProcess,
  MAP_ALIGNED,
  MAP_WIREFUTURE,
  type MapInfo,
  MemoryFile,
  PROT_MAX,
  type Process,
  VmError,
  VmSystem,
  type VmSystemOptions,
} from "../src/index.js";
import { ERRNO_H } from "./errnoh.js";

const P = 4096;
const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

// ---------------------------------------------------------------------- helpers

const registered = new Set<string>();

/** One row of docs/syscalls.md: a test named by the row id. */
function row(id: string, fn: () => void): void {
  if (registered.has(id)) throw new Error(`duplicate row id ${id}`);
  registered.add(id);
  it(id, fn);
}

function freebsdProc(opts: VmSystemOptions = {}, privileged = false): Process {
  const sys = new VmSystem({ physicalMemory: 64 * MB, ...opts, personality: "freebsd" });
  return sys.createProcess({ privileged });
}

function linuxProc(opts: VmSystemOptions = {}, privileged = false): LinuxProcess {
  const sys = new VmSystem({ physicalMemory: 64 * MB, ...opts, personality: "linux" });
  return sys.createProcess({ privileged }) as LinuxProcess;
}

/** Runs fn, expecting a VmError of `syscall` with `code` and that personality's number. */
function fails(p: Process, syscall: string, code: string, fn: () => unknown): VmError {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `${syscall} should fail with ${code}`).toBeInstanceOf(VmError);
  const v = err as VmError;
  expect(v.code).toBe(code);
  expect(v.errno).toBe(ERRNO_H[p.sys.personality][code]);
  expect(v.syscall).toBe(syscall);
  return v;
}

/** The map entry containing va, if any. */
function at(p: Process, va: number): MapInfo | undefined {
  return p.maps().find((m) => m.start <= va && va < m.end);
}

function snapshot(p: Process): string {
  return JSON.stringify(p.maps());
}

function file(p: Process, mode: "r" | "w" | "rw", size = 4 * P): number {
  return p.fds.open(new MemoryFile(size), mode);
}

const FRW = F.PROT_READ | F.PROT_WRITE;
const FANON = F.MAP_ANON | F.MAP_PRIVATE;
const LRW = L.PROT_READ | L.PROT_WRITE;
const LANON = L.MAP_ANONYMOUS | L.MAP_PRIVATE;
/** A FreeBSD address well inside the map, above any default placement. */
const FB_FIXED = 0x1000_0000;
/** A Linux address above vm.mmap_min_addr. */
const LX_FIXED = 0x1000_0000;

// ---------------------------------------------------------------------- mmap

describe("mmap", () => {
  row("mmap-both-einval-not-safe-integer", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const anon = p.sys.personality === "linux" ? LANON : FANON;
      fails(p, "mmap", "EINVAL", () => p.mmap(0, Number.NaN, 3, anon));
      fails(p, "mmap", "EINVAL", () => p.mmap(0, -P, 3, anon));
      fails(p, "mmap", "EINVAL", () => p.mmap(0.5, P, 3, anon));
      fails(p, "mmap", "EINVAL", () => p.mmap(2 ** 53, P, 3, anon));
    }
  });

  // FreeBSD, in kern_mmap's order.
  row("mmap-freebsd-einval-prot-bits", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, 0x8, FANON));
  });
  row("mmap-freebsd-enotsup-prot-max", () => {
    const p = freebsdProc();
    fails(p, "mmap", "ENOTSUP", () => p.mmap(0, P, PROT_MAX(F.PROT_READ) | FRW, FANON));
  });
  row("mmap-freebsd-prot-max-sets-maxprot", () => {
    const p = freebsdProc();
    const a = p.mmap(0, P, PROT_MAX(F.PROT_READ) | F.PROT_READ, FANON);
    expect(at(p, a)?.maxProt).toBe(F.PROT_READ);
    const b = p.mmap(0, P, F.PROT_READ, FANON);
    expect(at(p, b)?.maxProt).toBe(F.PROT_READ | F.PROT_WRITE | F.PROT_EXEC);
  });
  row("mmap-freebsd-einval-len-zero", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, 0, FRW, FANON));
  });
  row("mmap-freebsd-einval-anon-fd", () => {
    const p = freebsdProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON, fd, 0));
  });
  row("mmap-freebsd-einval-anon-pos", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON, -1, P));
  });
  row("mmap-freebsd-einval-stack-fd", () => {
    const p = freebsdProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () => p.mmap(0, 64 * KB, FRW, F.MAP_STACK, fd, 0));
  });
  row("mmap-freebsd-einval-stack-prot", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, 64 * KB, F.PROT_READ, F.MAP_STACK));
  });
  row("mmap-freebsd-einval-unknown-flag", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON | 0x0100));
  });
  row("mmap-freebsd-reserved-bits-ignored", () => {
    const p = freebsdProc();
    const a = p.mmap(0, P, FRW, FANON | F.MAP_RESERVED0020 | F.MAP_RESERVED0040);
    expect(at(p, a)?.prot).toBe(FRW);
  });
  row("mmap-freebsd-einval-excl-without-fixed", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON | F.MAP_EXCL));
  });
  row("mmap-freebsd-einval-shared-and-private", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON | F.MAP_SHARED));
  });
  row("mmap-freebsd-einval-guard-prot", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, F.PROT_READ, F.MAP_GUARD));
  });
  row("mmap-freebsd-einval-guard-flags", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, F.PROT_NONE, F.MAP_GUARD | F.MAP_PRIVATE));
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, F.PROT_NONE, F.MAP_GUARD | F.MAP_ANON));
  });
  row("mmap-freebsd-guard", () => {
    const p = freebsdProc();
    const a = p.mmap(0, 2 * P, F.PROT_NONE, F.MAP_GUARD);
    const e = at(p, a);
    expect(e?.kind).toBe("guard");
    expect(e?.prot).toBe(0);
    expect(e?.maxProt).toBe(0);
  });
  row("mmap-freebsd-einval-aligned-below-page", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON | MAP_ALIGNED(11)));
  });
  row("mmap-freebsd-einval-aligned-64", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON | MAP_ALIGNED(64)));
  });
  row("mmap-freebsd-aligned", () => {
    const p = freebsdProc();
    p.mmap(0, P, FRW, FANON);
    const a = p.mmap(0, P, FRW, FANON | MAP_ALIGNED(21));
    expect(a % (2 * MB)).toBe(0);
    const b = p.mmap(0, P, FRW, FANON | MAP_ALIGNED(12));
    expect(b % P).toBe(0);
  });
  row("mmap-freebsd-einval-fixed-unaligned", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(FB_FIXED + 0x800, P, FRW, FANON | F.MAP_FIXED));
  });
  row("mmap-freebsd-fixed-same-page-offset", () => {
    const p = freebsdProc();
    const fd = file(p, "rw");
    const r = p.mmap(FB_FIXED + 0x100, 100, F.PROT_READ, F.MAP_PRIVATE | F.MAP_FIXED, fd, 0x100);
    expect(r).toBe(FB_FIXED + 0x100);
    expect(at(p, FB_FIXED)?.start).toBe(FB_FIXED);
  });
  row("mmap-freebsd-page-offset-returned", () => {
    const p = freebsdProc();
    const fd = file(p, "rw");
    const r = p.mmap(0, 100, F.PROT_READ, F.MAP_PRIVATE, fd, P + 0x100);
    expect(r % P).toBe(0x100);
    expect(at(p, r)?.offset).toBe(P);
  });
  row("mmap-freebsd-einval-fixed-out-of-range", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, FANON | F.MAP_FIXED));
    fails(p, "mmap", "EINVAL", () => p.mmap(2 ** 47, P, FRW, FANON | F.MAP_FIXED));
    fails(p, "mmap", "EINVAL", () => p.mmap(2 ** 47 - P, 2 * P, FRW, FANON | F.MAP_FIXED));
  });
  row("mmap-freebsd-einval-fixed-huge-len", () => {
    // kern_mmap: size = round_page(len) does not wrap for 2^50, so the ENOMEM overflow check
    // passes; MAP_FIXED then fails vm_map_range_valid → EINVAL.
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(FB_FIXED, 2 ** 50, FRW, FANON | F.MAP_FIXED));
  });
  row("mmap-freebsd-einval-fixed-32bit-above-2g", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () =>
      p.mmap(2 ** 31 - P, 2 * P, FRW, FANON | F.MAP_FIXED | F.MAP_32BIT),
    );
  });
  row("mmap-freebsd-32bit-below-2g", () => {
    const p = freebsdProc();
    const a = p.mmap(2 ** 40, 4 * P, FRW, FANON | F.MAP_32BIT);
    expect(a + 4 * P).toBeLessThanOrEqual(2 ** 31);
  });
  row("mmap-freebsd-hint-moved-above-heap", () => {
    const p = freebsdProc();
    // daddr 0 and the default RLIMIT_DATA maximum (32 GiB): hint-less mappings start there.
    const a = p.mmap(0, P, FRW, FANON);
    expect(a).toBeGreaterThanOrEqual(32 * GB);
    const b = p.mmap(GB, P, FRW, FANON); // a hint inside [taddr, daddr + maxdsiz) moves too
    expect(b).toBeGreaterThanOrEqual(32 * GB);
  });
  row("mmap-freebsd-enomem-no-space", () => {
    const p = freebsdProc();
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 ** 47 - 16 * GB, FRW, FANON));
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 ** 48, FRW, FANON));
  });
  row("mmap-freebsd-enomem-rlimit-as", () => {
    const p = freebsdProc();
    p.setrlimit(F.RLIMIT_AS, { soft: MB, hard: MB });
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 * MB, FRW, FANON));
    expect(p.maps()).toHaveLength(0);
  });
  row("mmap-freebsd-enomem-mcl-future-memlock", () => {
    const p = freebsdProc();
    p.mlockall(F.MCL_FUTURE);
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 128 * KB, FRW, FANON));
  });
  row("mmap-freebsd-mcl-future-wires", () => {
    const p = freebsdProc();
    p.mlockall(F.MCL_FUTURE);
    const a = p.mmap(0, 2 * P, FRW, FANON);
    expect(at(p, a)?.wired).toBeGreaterThan(0);
  });
  row("mmap-freebsd-enomem-fixed-excl-occupied", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mmap", "ENOMEM", () =>
      p.mmap(FB_FIXED + P, 2 * P, FRW, FANON | F.MAP_FIXED | F.MAP_EXCL),
    );
    expect(snapshot(p)).toBe(before);
  });
  row("mmap-freebsd-fixed-replaces", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.write8(FB_FIXED, 7);
    expect(p.mmap(FB_FIXED, P, F.PROT_READ, FANON | F.MAP_FIXED)).toBe(FB_FIXED);
    expect(p.read8(FB_FIXED)).toBe(0);
    expect(at(p, FB_FIXED)?.prot).toBe(F.PROT_READ);
  });
  row("mmap-freebsd-ebadf", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EBADF", () => p.mmap(0, P, F.PROT_READ, F.MAP_PRIVATE, 42, 0));
  });
  row("mmap-freebsd-einval-file-no-type", () => {
    // kern_mmap: a file mapping with neither MAP_SHARED nor MAP_PRIVATE is EINVAL for
    // binaries newer than P_OSREL_MAP_FSTRICT (every FreeBSD 11+ binary).
    const p = freebsdProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, F.PROT_READ, 0, fd, 0));
  });
  row("mmap-freebsd-eacces-read-on-write-only-fd", () => {
    const p = freebsdProc();
    const fd = file(p, "w");
    fails(p, "mmap", "EACCES", () => p.mmap(0, P, F.PROT_READ, F.MAP_SHARED, fd, 0));
  });
  row("mmap-freebsd-eacces-shared-write-read-only-fd", () => {
    const p = freebsdProc();
    const fd = file(p, "r");
    fails(p, "mmap", "EACCES", () => p.mmap(0, P, FRW, F.MAP_SHARED, fd, 0));
  });
  row("mmap-freebsd-private-write-read-only-fd", () => {
    const p = freebsdProc();
    const fd = file(p, "r");
    const a = p.mmap(0, P, FRW, F.MAP_PRIVATE, fd, 0);
    expect(at(p, a)?.cow).toBe(true);
    p.write8(a, 1);
    expect(p.read8(a)).toBe(1);
  });
  row("mmap-freebsd-shared-read-only-fd-maxprot", () => {
    const p = freebsdProc();
    const fd = file(p, "r");
    const a = p.mmap(0, P, F.PROT_READ, F.MAP_SHARED, fd, 0);
    expect((at(p, a)?.maxProt ?? 0) & F.PROT_WRITE).toBe(0);
  });
  row("mmap-freebsd-stack", () => {
    const p = freebsdProc();
    const a = p.mmap(0, 256 * KB, FRW, F.MAP_STACK);
    const top = a + 256 * KB;
    const stack = at(p, top - 1);
    expect(stack?.start).toBe(top - 128 * KB); // sgrowsiz
    expect(stack?.prot).toBe(FRW);
    expect(at(p, a)?.prot).toBe(0); // the reserved rest is a guard gap
  });
  row("mmap-freebsd-einval-stack-too-small", () => {
    const p = freebsdProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, F.MAP_STACK));
  });

  // Linux, in sys_mmap / ksys_mmap_pgoff / do_mmap order.
  row("mmap-linux-einval-offset-unaligned", () => {
    const p = linuxProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, L.PROT_READ, L.MAP_PRIVATE, fd, 0x100));
  });
  row("mmap-linux-einval-unknown-prot", () => {
    // Deliberate difference (linux.ts prologue): Linux ignores unknown prot bits.
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW | 0x10, LANON));
  });
  row("mmap-linux-einval-unknown-flags", () => {
    // Deliberate difference (linux.ts prologue): Linux ignores unknown flag bits.
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, LANON | 0x200));
  });
  row("mmap-linux-ebadf", () => {
    const p = linuxProc();
    fails(p, "mmap", "EBADF", () => p.mmap(0, P, L.PROT_READ, L.MAP_PRIVATE, 42, 0));
  });
  row("mmap-linux-enomem-hugetlb-anon", () => {
    const p = linuxProc();
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 * MB, LRW, LANON | L.MAP_HUGETLB));
  });
  row("mmap-linux-einval-hugetlb-file", () => {
    const p = linuxProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, L.MAP_PRIVATE | L.MAP_HUGETLB, fd, 0));
  });
  row("mmap-linux-einval-len-zero", () => {
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, 0, LRW, LANON));
  });
  row("mmap-linux-enomem-len-too-big", () => {
    const p = linuxProc();
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 ** 48, LRW, LANON));
  });
  row("mmap-linux-enomem-max-map-count", () => {
    const p = linuxProc();
    p.mmap(0, P, LRW, LANON);
    p.mmap(0, P, L.PROT_READ, LANON);
    p.maxMapCount = 1;
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, P, L.PROT_EXEC, LANON));
  });
  row("mmap-linux-enomem-fixed-beyond-task-size", () => {
    const p = linuxProc();
    fails(p, "mmap", "ENOMEM", () => p.mmap(2 ** 47, P, LRW, LANON | L.MAP_FIXED));
    fails(p, "mmap", "ENOMEM", () => p.mmap(2 ** 47 - P, 2 * P, LRW, LANON | L.MAP_FIXED));
  });
  row("mmap-linux-enomem-fixed-last-page", () => {
    // x86-64 TASK_SIZE is 2^47 - PAGE_SIZE: the last page below 2^47 is not user space, so
    // __get_unmapped_area's addr > TASK_SIZE - len check refuses it.
    const p = linuxProc();
    fails(p, "mmap", "ENOMEM", () => p.mmap(2 ** 47 - P, P, LRW, LANON | L.MAP_FIXED));
  });
  row("mmap-linux-einval-fixed-unaligned", () => {
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(LX_FIXED + 0x800, P, LRW, LANON | L.MAP_FIXED));
  });
  row("mmap-linux-eperm-below-mmap-min-addr", () => {
    const p = linuxProc();
    fails(p, "mmap", "EPERM", () => p.mmap(0x1000, P, LRW, LANON | L.MAP_FIXED));
  });
  row("mmap-linux-privileged-below-mmap-min-addr", () => {
    const p = linuxProc({}, true);
    expect(p.mmap(0x1000, P, LRW, LANON | L.MAP_FIXED)).toBe(0x1000);
  });
  row("mmap-linux-enomem-no-space", () => {
    const p = linuxProc();
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 ** 47 - P, LRW, LANON));
  });
  row("mmap-linux-top-down", () => {
    const p = linuxProc();
    const a = p.mmap(0, P, LRW, LANON);
    const b = p.mmap(0, P, L.PROT_READ, LANON);
    expect(a + P).toBeLessThanOrEqual(p.mmapBase);
    expect(b).toBe(a - P);
  });
  row("mmap-linux-eexist-fixed-noreplace", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mmap", "EEXIST", () =>
      p.mmap(LX_FIXED + P, 2 * P, L.PROT_READ, LANON | L.MAP_FIXED_NOREPLACE),
    );
    expect(snapshot(p)).toBe(before);
  });
  row("mmap-linux-fixed-noreplace-free", () => {
    const p = linuxProc();
    expect(p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED_NOREPLACE)).toBe(LX_FIXED);
  });
  row("mmap-linux-fixed-replaces", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 7);
    expect(p.mmap(LX_FIXED, P, L.PROT_READ, LANON | L.MAP_FIXED)).toBe(LX_FIXED);
    expect(p.read8(LX_FIXED)).toBe(0);
  });
  row("mmap-linux-eacces-shared-write-read-only-fd", () => {
    const p = linuxProc();
    const fd = file(p, "r");
    fails(p, "mmap", "EACCES", () => p.mmap(0, P, LRW, L.MAP_SHARED, fd, 0));
  });
  row("mmap-linux-eacces-write-only-fd", () => {
    const p = linuxProc();
    const fd = file(p, "w");
    fails(p, "mmap", "EACCES", () => p.mmap(0, P, L.PROT_WRITE, L.MAP_SHARED, fd, 0));
    fails(p, "mmap", "EACCES", () => p.mmap(0, P, L.PROT_READ, L.MAP_PRIVATE, fd, 0));
  });
  row("mmap-linux-shared-read-only-fd-maxprot", () => {
    const p = linuxProc();
    const fd = file(p, "r");
    const a = p.mmap(0, P, L.PROT_READ, L.MAP_SHARED, fd, 0);
    expect((at(p, a)?.maxProt ?? 0) & L.PROT_WRITE).toBe(0);
  });
  row("mmap-linux-einval-file-no-type", () => {
    const p = linuxProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, L.PROT_READ, 0, fd, 0));
  });
  row("mmap-linux-einval-anon-no-type", () => {
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, L.MAP_ANONYMOUS));
  });
  row("mmap-linux-einval-anon-shared-validate", () => {
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, L.MAP_SHARED_VALIDATE | L.MAP_ANONYMOUS));
  });
  row("mmap-linux-einval-growsdown-file", () => {
    const p = linuxProc();
    const fd = file(p, "rw");
    fails(p, "mmap", "EINVAL", () =>
      p.mmap(0, P, L.PROT_READ, L.MAP_PRIVATE | L.MAP_GROWSDOWN, fd, 0),
    );
  });
  row("mmap-linux-einval-growsdown-shared-anon", () => {
    const p = linuxProc();
    fails(p, "mmap", "EINVAL", () =>
      p.mmap(0, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_GROWSDOWN),
    );
  });
  row("mmap-linux-growsdown", () => {
    const p = linuxProc();
    const a = p.mmap(0, 4 * P, LRW, LANON | L.MAP_GROWSDOWN);
    expect(at(p, a)?.kind).toBe("stack");
    expect(p.formatMaps("linux")).toContain("[stack]");
  });
  row("mmap-linux-eperm-locked-memlock-zero", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_MEMLOCK, { soft: 0, hard: 0 });
    fails(p, "mmap", "EPERM", () => p.mmap(0, P, LRW, LANON | L.MAP_LOCKED));
  });
  row("mmap-linux-eagain-locked-over-limit", () => {
    const p = linuxProc();
    fails(p, "mmap", "EAGAIN", () => p.mmap(0, 16 * MB, LRW, LANON | L.MAP_LOCKED));
  });
  row("mmap-linux-locked-wires", () => {
    const p = linuxProc();
    const a = p.mmap(0, 2 * P, LRW, LANON | L.MAP_LOCKED);
    expect(at(p, a)?.wired).toBeGreaterThan(0);
    expect(at(p, a)?.resident).toBe(2);
  });
  row("mmap-linux-eagain-mcl-future-over-limit", () => {
    // do_mmap: mlock_future_ok() sees VM_LOCKED from mm->def_flags (mlockall MCL_FUTURE) as
    // well as from MAP_LOCKED, so a mapping past RLIMIT_MEMLOCK is EAGAIN either way.
    const p = linuxProc();
    p.mlockall(L.MCL_FUTURE);
    fails(p, "mmap", "EAGAIN", () => p.mmap(0, 16 * MB, LRW, LANON));
  });
  row("mmap-linux-enomem-rlimit-as", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_AS, { soft: MB, hard: MB });
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 * MB, LRW, LANON));
  });
  row("mmap-linux-enomem-rlimit-data", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_DATA, { soft: MB, hard: MB });
    fails(p, "mmap", "ENOMEM", () => p.mmap(0, 2 * MB, LRW, LANON));
    // Read-only and shared mappings are not data.
    p.mmap(0, 2 * MB, L.PROT_READ, LANON);
    p.mmap(0, 2 * MB, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS);
  });
  row("mmap-linux-droppable", () => {
    // Linux 6.18 (test/kernel/droppable.c has the whole transcript).
    const p = linuxProc();
    const DROP = L.MAP_DROPPABLE | L.MAP_ANONYMOUS;
    const a = p.mmap(LX_FIXED, 2 * P, LRW, DROP | L.MAP_FIXED);
    p.mmap(LX_FIXED + 2 * P, 2 * P, LRW, LANON | L.MAP_FIXED);
    expect(p.maps().filter((m) => m.start >= a && m.end <= a + 4 * P).length).toBe(2);
    expect(at(p, a)?.shared).toBe(false);
    p.write8(a, 7);
    const c = p.fork();
    expect(c.read8(a)).toBe(0); // wiped
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_KEEPONFORK));
    p.mlock(a, 2 * P);
    expect(p.map.userWiredPages).toBe(0); // not locked,
    expect(Array.from(p.mincore(a, 2 * P), (v) => v & 1)).toEqual([1, 1]); // but populated
    p.sys.audit();
  });
  row("mmap-linux-droppable-einval", () => {
    const p = linuxProc();
    const rw = file(p, "rw");
    const DROP = L.MAP_DROPPABLE | L.MAP_ANONYMOUS;
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, L.MAP_DROPPABLE, rw));
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, DROP | L.MAP_LOCKED));
    fails(p, "mmap", "EINVAL", () => p.mmap(0, P, LRW, DROP | L.MAP_GROWSDOWN));
    fails(p, "mmap", "EINVAL", () => p.mmap(0, 2 * MB, LRW, DROP | L.MAP_HUGETLB));
  });
  row("mmap-linux-populate", () => {
    const p = linuxProc();
    const a = p.mmap(0, 3 * P, LRW, LANON | L.MAP_POPULATE);
    expect(at(p, a)?.resident).toBe(3);
  });
});

// ---------------------------------------------------------------------- munmap

describe("munmap", () => {
  row("munmap-both-einval-not-safe-integer", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      fails(p, "munmap", "EINVAL", () => p.munmap(Number.NaN, P));
      fails(p, "munmap", "EINVAL", () => p.munmap(LX_FIXED, -P));
    }
  });
  row("munmap-freebsd-einval-len-zero", () => {
    const p = freebsdProc();
    fails(p, "munmap", "EINVAL", () => p.munmap(FB_FIXED, 0));
  });
  row("munmap-freebsd-einval-out-of-range", () => {
    const p = freebsdProc();
    fails(p, "munmap", "EINVAL", () => p.munmap(0, P));
    fails(p, "munmap", "EINVAL", () => p.munmap(2 ** 47 - P, 2 * P));
  });
  row("munmap-freebsd-hole-ok", () => {
    const p = freebsdProc();
    p.munmap(FB_FIXED, 16 * P);
  });
  row("munmap-freebsd-unaligned-rounds", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 3 * P, FRW, FANON | F.MAP_FIXED);
    p.munmap(FB_FIXED + P + 100, 10);
    expect(at(p, FB_FIXED + P)).toBeUndefined();
    expect(at(p, FB_FIXED)).toBeDefined();
    expect(at(p, FB_FIXED + 2 * P)).toBeDefined();
  });
  row("munmap-linux-einval-unaligned", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    fails(p, "munmap", "EINVAL", () => p.munmap(LX_FIXED + 100, P));
  });
  row("munmap-linux-einval-len-zero", () => {
    const p = linuxProc();
    fails(p, "munmap", "EINVAL", () => p.munmap(LX_FIXED, 0));
  });
  row("munmap-linux-einval-beyond-task-size", () => {
    const p = linuxProc();
    fails(p, "munmap", "EINVAL", () => p.munmap(2 ** 47 + P, P));
    fails(p, "munmap", "EINVAL", () => p.munmap(2 ** 47 - P, 2 * P));
  });
  row("munmap-linux-hole-ok", () => {
    const p = linuxProc();
    p.munmap(0, 16 * P); // below mmap_min_addr too: nothing mapped there, nothing to do
    p.munmap(LX_FIXED, 16 * P);
  });
  row("munmap-linux-enomem-max-map-count-split", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 3 * P, LRW, LANON | L.MAP_FIXED);
    p.maxMapCount = p.map.nentries;
    const before = snapshot(p);
    fails(p, "munmap", "ENOMEM", () => p.munmap(LX_FIXED + P, P));
    expect(snapshot(p)).toBe(before);
    p.munmap(LX_FIXED, P); // trimming an end needs no new vma
  });
});

// ---------------------------------------------------------------------- mprotect

describe("mprotect", () => {
  row("mprotect-freebsd-einval-prot-bits", () => {
    const p = freebsdProc();
    fails(p, "mprotect", "EINVAL", () => p.mprotect(FB_FIXED, P, 0x8));
  });
  row("mprotect-freebsd-enotsup-prot-max", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "mprotect", "ENOTSUP", () => p.mprotect(FB_FIXED, P, PROT_MAX(F.PROT_READ) | FRW));
  });
  row("mprotect-freebsd-eacces-nothing-changed", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, F.PROT_READ, FANON | F.MAP_FIXED);
    p.mmap(FB_FIXED + P, P, PROT_MAX(F.PROT_READ) | F.PROT_READ, FANON | F.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mprotect", "EACCES", () => p.mprotect(FB_FIXED, 2 * P, FRW));
    expect(snapshot(p)).toBe(before);
  });
  row("mprotect-freebsd-holes-skipped", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, F.PROT_READ, FANON | F.MAP_FIXED);
    p.mmap(FB_FIXED + 2 * P, P, F.PROT_READ, FANON | F.MAP_FIXED);
    p.mprotect(FB_FIXED, 3 * P, FRW);
    expect(at(p, FB_FIXED)?.prot).toBe(FRW);
    expect(at(p, FB_FIXED + 2 * P)?.prot).toBe(FRW);
    p.mprotect(FB_FIXED + 16 * P, P, FRW); // nothing mapped at all
  });
  row("mprotect-freebsd-set-maxprot", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    p.mprotect(FB_FIXED, P, PROT_MAX(F.PROT_READ) | F.PROT_READ);
    expect(at(p, FB_FIXED)?.maxProt).toBe(F.PROT_READ);
    fails(p, "mprotect", "EACCES", () => p.mprotect(FB_FIXED, P, FRW));
  });
  row("mprotect-freebsd-guard-skipped", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, F.PROT_NONE, F.MAP_GUARD | F.MAP_FIXED);
    p.mprotect(FB_FIXED, P, FRW);
    expect(at(p, FB_FIXED)?.prot).toBe(0);
  });
  row("mprotect-freebsd-unaligned-rounds", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.mprotect(FB_FIXED + 100, 1, F.PROT_READ);
    expect(at(p, FB_FIXED)?.prot).toBe(F.PROT_READ);
    expect(at(p, FB_FIXED + P)?.prot).toBe(FRW);
  });
  row("mprotect-linux-populates-locked-private", () => {
    // mprotect_fixup: a private VM_LOCKED vma becoming writable is populated (copy on write
    // broken, pages locked); not one made only readable, not VM_LOCKONFAULT, not a shared one.
    // The same sequence on Linux 6.18 gave these mincore vectors.
    const p = linuxProc({}, true);
    const resident = (a: number) => Array.from(p.mincore(a, 4 * P));
    p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE);
    const a = p.mmap(0, 4 * P, L.PROT_NONE, LANON);
    p.mprotect(a, 4 * P, L.PROT_READ);
    expect(resident(a)).toEqual([0, 0, 0, 0]);
    p.mprotect(a, 4 * P, LRW);
    expect(resident(a)).toEqual([1, 1, 1, 1]);
    p.munlockall();
    p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE | L.MCL_ONFAULT);
    const b = p.mmap(0, 4 * P, L.PROT_NONE, LANON);
    p.mprotect(b, 4 * P, LRW);
    expect(resident(b)).toEqual([0, 0, 0, 0]);
    p.munlockall();
    p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE);
    const d = p.mmap(0, 4 * P, L.PROT_NONE, L.MAP_SHARED | L.MAP_ANONYMOUS);
    p.mprotect(d, 4 * P, LRW);
    expect(resident(d)).toEqual([0, 0, 0, 0]);
    expect(at(p, a)?.wired).toBe(1);
    p.sys.audit();
  });
  row("mprotect-linux-locked-private-past-eof", () => {
    // mlock of a private mapping running past the end of its file is ENOMEM and leaves the vma
    // locked; mprotect(RW) then populates what it can and ignores the rest. Linux 6.18, two
    // pages over a one-page file: mincore 1 0, page 1 SIGBUS, before and after a write.
    const p = linuxProc();
    const fd = file(p, "rw", P);
    const a = p.mmap(0, 2 * P, L.PROT_READ, L.MAP_PRIVATE, fd, 0);
    fails(p, "mlock", "ENOMEM", () => p.mlock(a, 2 * P));
    p.mprotect(a, 2 * P, LRW);
    expect(Array.from(p.mincore(a, 2 * P))).toEqual([1, 0]);
    expect(() => p.read8(a + P)).toThrow(/SIGBUS/);
    p.write8(a, 1);
    expect(() => p.read8(a + P)).toThrow(/SIGBUS/);
    expect(at(p, a)?.wired).toBe(1);
    p.sys.audit();
  });
  row("mprotect-linux-einval-unaligned", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mprotect", "EINVAL", () => p.mprotect(LX_FIXED + 100, P, L.PROT_READ));
  });
  row("mprotect-linux-len-zero-ok", () => {
    const p = linuxProc();
    p.mprotect(LX_FIXED, 0, L.PROT_READ); // nothing mapped
    p.mprotect(LX_FIXED, 0, 0x10); // len 0 returns before prot is looked at
  });
  row("mprotect-linux-einval-prot-bits", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mprotect", "EINVAL", () => p.mprotect(LX_FIXED, P, 0x10));
  });
  row("mprotect-linux-prot-sem-accepted", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.mprotect(LX_FIXED, P, L.PROT_READ | L.PROT_SEM);
    expect(at(p, LX_FIXED)?.prot).toBe(L.PROT_READ);
  });
  row("mprotect-linux-einval-growsdown-and-growsup", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED | L.MAP_GROWSDOWN);
    fails(p, "mprotect", "EINVAL", () =>
      p.mprotect(LX_FIXED, P, L.PROT_READ | L.PROT_GROWSDOWN | L.PROT_GROWSUP),
    );
  });
  row("mprotect-linux-enomem-unmapped", () => {
    const p = linuxProc();
    fails(p, "mprotect", "ENOMEM", () => p.mprotect(LX_FIXED, P, L.PROT_READ));
  });
  row("mprotect-linux-enomem-beyond-task-size", () => {
    // No up-front size check: the vmas in the range change, then the rest past TASK_SIZE is
    // the hole at the end. This machine's 6.18: a page at 0x7ff000000000 protected with a
    // length reaching past 2^47 is ENOMEM and r--p afterwards; with unknown prot bits, EINVAL.
    const p = linuxProc();
    const a = 0x7ff0_0000_0000;
    p.mmap(a, P, LRW, LANON | L.MAP_FIXED);
    const len = 2 ** 47 + P - a;
    fails(p, "mprotect", "EINVAL", () => p.mprotect(a, len, 0x100));
    expect(at(p, a)?.prot).toBe(LRW);
    fails(p, "mprotect", "ENOMEM", () => p.mprotect(a, len, L.PROT_READ));
    expect(at(p, a)?.prot).toBe(L.PROT_READ);
    fails(p, "mprotect", "ENOMEM", () => p.mprotect(a, 2 ** 53 - 1, L.PROT_NONE));
    expect(at(p, a)?.prot).toBe(L.PROT_NONE);
    p.sys.audit();
  });
  row("mprotect-linux-enomem-hole-at-start", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED + P, P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mprotect", "ENOMEM", () => p.mprotect(LX_FIXED, 2 * P, L.PROT_READ));
    expect(snapshot(p)).toBe(before);
  });
  row("mprotect-linux-enomem-hole-partial", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + 2 * P, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mprotect", "ENOMEM", () => p.mprotect(LX_FIXED, 3 * P, L.PROT_READ));
    expect(at(p, LX_FIXED)?.prot).toBe(L.PROT_READ); // changed before the hole
    expect(at(p, LX_FIXED + 2 * P)?.prot).toBe(LRW); // after the hole: untouched
  });
  row("mprotect-linux-eacces-partial", () => {
    const p = linuxProc();
    const fd = file(p, "r");
    p.mmap(LX_FIXED, P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + P, P, L.PROT_READ, L.MAP_SHARED | L.MAP_FIXED, fd, 0);
    fails(p, "mprotect", "EACCES", () => p.mprotect(LX_FIXED, 2 * P, LRW));
    expect(at(p, LX_FIXED)?.prot).toBe(LRW); // the vma before the refusing one changed
    expect(at(p, LX_FIXED + P)?.prot).toBe(L.PROT_READ);
  });
  row("mprotect-linux-einval-growsdown-not-growsdown-vma", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mprotect", "EINVAL", () =>
      p.mprotect(LX_FIXED + P, P, L.PROT_READ | L.PROT_GROWSDOWN),
    );
  });
  row("mprotect-linux-growsdown-extends-to-vma-start", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 4 * P, LRW, LANON | L.MAP_FIXED | L.MAP_GROWSDOWN);
    p.mprotect(LX_FIXED + 2 * P, P, L.PROT_READ | L.PROT_GROWSDOWN);
    expect(at(p, LX_FIXED)?.prot).toBe(L.PROT_READ);
    expect(at(p, LX_FIXED + 2 * P)?.prot).toBe(L.PROT_READ);
    expect(at(p, LX_FIXED + 3 * P)?.prot).toBe(LRW);
  });
  row("mprotect-linux-einval-growsup", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED | L.MAP_GROWSDOWN);
    fails(p, "mprotect", "EINVAL", () => p.mprotect(LX_FIXED, P, L.PROT_READ | L.PROT_GROWSUP));
  });
});

// ---------------------------------------------------------------------- minherit

describe("minherit", () => {
  row("minherit-freebsd-einval-value", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "minherit", "EINVAL", () => p.minherit(FB_FIXED, P, 4));
    fails(p, "minherit", "EINVAL", () => p.minherit(FB_FIXED, P, -1));
  });
  row("minherit-freebsd-none", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.minherit(FB_FIXED, P, F.INHERIT_NONE);
    const c = p.fork();
    expect(at(c, FB_FIXED)).toBeUndefined();
    expect(at(c, FB_FIXED + P)).toBeDefined();
  });
  row("minherit-freebsd-zero", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    p.write8(FB_FIXED, 9);
    p.minherit(FB_FIXED, P, F.INHERIT_ZERO);
    const c = p.fork();
    expect(c.read8(FB_FIXED)).toBe(0);
    expect(p.read8(FB_FIXED)).toBe(9);
  });
  row("minherit-freebsd-share", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    p.minherit(FB_FIXED, P, F.INHERIT_SHARE);
    const c = p.fork();
    c.write8(FB_FIXED, 5);
    expect(p.read8(FB_FIXED)).toBe(5);
  });
  row("minherit-freebsd-hole-ok", () => {
    const p = freebsdProc();
    p.minherit(FB_FIXED, 4 * P, F.INHERIT_NONE);
  });
  row("minherit-linux-enosys", () => {
    // Linux has no minherit(2) (it has madvise MADV_DONTFORK / MADV_WIPEONFORK instead).
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "minherit", "ENOSYS", () => p.minherit(LX_FIXED, P, F.INHERIT_NONE));
    expect(at(p.fork(), LX_FIXED)).toBeDefined();
  });
});

// ---------------------------------------------------------------------- madvise

describe("madvise", () => {
  row("madvise-freebsd-eperm-protect", () => {
    const p = freebsdProc();
    fails(p, "madvise", "EPERM", () => p.madvise(0, 0, F.MADV_PROTECT));
  });
  row("madvise-freebsd-protect-privileged", () => {
    const p = freebsdProc({}, true);
    p.madvise(0, 0, F.MADV_PROTECT);
  });
  row("madvise-freebsd-einval-range", () => {
    const p = freebsdProc();
    fails(p, "madvise", "EINVAL", () => p.madvise(0, P, F.MADV_NORMAL));
    fails(p, "madvise", "EINVAL", () => p.madvise(2 ** 47 - P, 2 * P, F.MADV_NORMAL));
  });
  row("madvise-freebsd-einval-advice", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(FB_FIXED, P, 11));
    fails(p, "madvise", "EINVAL", () => p.madvise(FB_FIXED, P, -1));
    fails(p, "madvise", "EINVAL", () => p.madvise(FB_FIXED, 0, 99)); // before the len-0 shortcut
  });
  row("madvise-freebsd-hole-ok", () => {
    const p = freebsdProc();
    p.madvise(FB_FIXED, 8 * P, F.MADV_WILLNEED);
    p.madvise(FB_FIXED, 8 * P, F.MADV_RANDOM);
  });
  row("madvise-freebsd-len-zero-ok", () => {
    const p = freebsdProc();
    p.madvise(FB_FIXED, 0, F.MADV_DONTNEED);
  });
  row("madvise-freebsd-unaligned-ok", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    p.madvise(FB_FIXED + 100, 10, F.MADV_SEQUENTIAL);
  });
  row("madvise-freebsd-dontneed-keeps-data", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    p.write8(FB_FIXED, 42);
    p.madvise(FB_FIXED, P, F.MADV_DONTNEED);
    expect(p.read8(FB_FIXED)).toBe(42);
  });
  row("madvise-freebsd-behaviour-clips-and-merges", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 4 * P, FRW, FANON | F.MAP_FIXED);
    const n = p.map.nentries;
    p.madvise(FB_FIXED + P, P, F.MADV_RANDOM);
    expect(p.map.nentries).toBe(n + 2);
    p.madvise(FB_FIXED + P, P, F.MADV_NORMAL);
    expect(p.map.nentries).toBe(n);
  });

  row("madvise-linux-einval-advice", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, 5));
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, 99));
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, 0, 99)); // before the len-0 shortcut
  });
  row("madvise-linux-einval-unaligned", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED + 100, P, L.MADV_NORMAL));
  });
  row("madvise-linux-len-zero-ok", () => {
    const p = linuxProc();
    p.madvise(LX_FIXED, 0, L.MADV_DONTNEED);
  });
  row("madvise-linux-enomem-unmapped", () => {
    const p = linuxProc();
    fails(p, "madvise", "ENOMEM", () => p.madvise(LX_FIXED, P, L.MADV_NORMAL));
  });
  row("madvise-linux-enomem-hole-partial", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + 2 * P, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "madvise", "ENOMEM", () => p.madvise(LX_FIXED, 3 * P, L.MADV_DONTFORK));
    // Every mapped part was advised before the hole was reported.
    expect(at(p, LX_FIXED)?.inheritance).toBe(F.INHERIT_NONE);
    expect(at(p, LX_FIXED + 2 * P)?.inheritance).toBe(F.INHERIT_NONE);
  });
  row("madvise-linux-einval-dontneed-locked", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED | L.MAP_LOCKED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_DONTNEED));
  });
  row("madvise-linux-refusal-after-advising", () => {
    // madvise_walk_vmas advises vma by vma and returns at the first refusal; the vmas before it
    // stay advised. This machine's Linux 6.18: MADV_DONTNEED over [written][locked][hole]
    // [written] is EINVAL with the first vma zapped and the last one untouched; MADV_WIPEONFORK
    // over [private][shared][private] is EINVAL and a child sees the first part wiped only.
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + 2 * P, 2 * P, LRW, LANON | L.MAP_FIXED | L.MAP_LOCKED);
    p.mmap(LX_FIXED + 5 * P, 2 * P, LRW, LANON | L.MAP_FIXED);
    for (const pg of [0, 2, 5]) p.write8(LX_FIXED + pg * P, 1);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, 7 * P, L.MADV_DONTNEED));
    expect([0, 2, 5].map((pg) => p.read8(LX_FIXED + pg * P))).toEqual([0, 1, 1]);
    const b = LX_FIXED + 16 * P;
    p.mmap(b, 12 * P, LRW, LANON | L.MAP_FIXED);
    p.mmap(b + 4 * P, 4 * P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    for (const pg of [0, 4, 8]) p.write8(b + pg * P, 3);
    fails(p, "madvise", "EINVAL", () => p.madvise(b, 12 * P, L.MADV_WIPEONFORK));
    const c = p.fork();
    expect([0, 4, 8].map((pg) => c.read8(b + pg * P))).toEqual([0, 3, 3]);
    p.sys.audit();
  });
  row("madvise-linux-einval-free-shared", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_FREE));
    const fd = file(p, "rw");
    p.mmap(LX_FIXED + P, P, LRW, L.MAP_PRIVATE | L.MAP_FIXED, fd, 0);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED + P, P, L.MADV_FREE));
  });
  row("madvise-linux-einval-remove-locked", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    p.mlock(LX_FIXED, P);
    const before = snapshot(p);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_REMOVE));
    expect(snapshot(p)).toBe(before);
  });
  row("madvise-linux-einval-remove-private", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_REMOVE));
  });
  row("madvise-linux-eacces-remove-not-shared-writable", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, L.MAP_PRIVATE | L.MAP_FIXED, file(p, "rw"), 0);
    fails(p, "madvise", "EACCES", () => p.madvise(LX_FIXED, P, L.MADV_REMOVE));
    p.mmap(LX_FIXED + P, P, L.PROT_READ, L.MAP_SHARED | L.MAP_FIXED, file(p, "r"), 0);
    fails(p, "madvise", "EACCES", () => p.madvise(LX_FIXED + P, P, L.MADV_REMOVE));
  });
  row("madvise-linux-einval-wipeonfork-shared", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_WIPEONFORK));
  });
  row("madvise-linux-einval-populate-prot-none", () => {
    // madvise_populate: check_vma_flags refuses a vma without the access asked for, and that
    // refusal is reported as -EINVAL ("incompatible mappings / permissions"); -EFAULT is kept
    // for a fault that would raise SIGBUS / SIGSEGV on a permitted access.
    const p = linuxProc();
    p.mmap(LX_FIXED, P, L.PROT_NONE, LANON | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_POPULATE_READ));
    p.mmap(LX_FIXED + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED + P, P, L.MADV_POPULATE_WRITE));
  });
  row("madvise-linux-populate", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.madvise(LX_FIXED, 2 * P, L.MADV_POPULATE_WRITE);
    expect(at(p, LX_FIXED)?.resident).toBe(2);
  });
  row("madvise-linux-dontneed-private-zeroes", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 42);
    p.madvise(LX_FIXED, P, L.MADV_DONTNEED);
    expect(p.read8(LX_FIXED)).toBe(0);
  });
  row("madvise-linux-einval-cold-locked", () => {
    // Linux 6.18, by a C program: MADV_COLD and MADV_PAGEOUT are EINVAL on an mlocked vma
    // (also when the range goes on past it), 0 on the same range unlocked.
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 1);
    p.write8(LX_FIXED + P, 1);
    p.madvise(LX_FIXED, P, L.MADV_COLD);
    p.madvise(LX_FIXED, P, L.MADV_PAGEOUT);
    p.mlock(LX_FIXED, P);
    const before = snapshot(p);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_COLD));
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_PAGEOUT));
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, 2 * P, L.MADV_COLD));
    expect(snapshot(p)).toBe(before);
    p.madvise(LX_FIXED + P, P, L.MADV_PAGEOUT);
  });
  row("madvise-linux-dontneed-locked", () => {
    // Linux 6.18, by a C program: the pages of the mlocked private range go (mincore 0), the
    // next read sees zeros and brings its page back, and VmLck does not change.
    const p = linuxProc();
    p.mmap(LX_FIXED, 4 * P, LRW, LANON | L.MAP_FIXED);
    for (let i = 0; i < 4; i++) p.write8(LX_FIXED + i * P, 7);
    p.mlock(LX_FIXED, 4 * P);
    p.madvise(LX_FIXED + P, 2 * P, L.MADV_DONTNEED_LOCKED);
    expect(Array.from(p.mincore(LX_FIXED, 4 * P), (v) => v & 1)).toEqual([1, 0, 0, 1]);
    expect(p.map.userWiredPages).toBe(4);
    expect(at(p, LX_FIXED + P)?.wired).toBe(1);
    p.sys.audit();
    expect(p.read8(LX_FIXED + P)).toBe(0);
    expect(p.read8(LX_FIXED)).toBe(7);
    expect(Array.from(p.mincore(LX_FIXED, 4 * P), (v) => v & 1)).toEqual([1, 1, 0, 1]);
    p.sys.audit(); // the page that came back is wired: the range is still locked
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_DONTNEED));
  });
  row("madvise-linux-dontneed-locked-shared", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    p.write8(LX_FIXED, 9);
    p.write8(LX_FIXED + P, 9);
    p.mlock(LX_FIXED, 2 * P);
    p.madvise(LX_FIXED, 2 * P, L.MADV_DONTNEED_LOCKED);
    expect(p.pmap.extract(LX_FIXED)).toBe(0);
    expect(Array.from(p.mincore(LX_FIXED, 2 * P), (v) => v & 1)).toEqual([1, 1]);
    p.sys.audit();
    expect(p.read8(LX_FIXED + P)).toBe(9);
    p.sys.audit();
  });
  row("madvise-linux-guard-install", () => {
    // Linux 6.18 (test/kernel/guard.c has the whole transcript).
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + 4 * P, 2 * P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    for (const a of [LX_FIXED, LX_FIXED + 4 * P]) {
      p.write8(a + P, 7);
      p.madvise(a + P, P, L.MADV_GUARD_INSTALL);
      expect(() => p.read8(a + P)).toThrow(/SIGSEGV \(SEGV_MAPERR\)/);
      expect(() => p.write8(a + P, 1)).toThrow(/SIGSEGV \(SEGV_MAPERR\)/);
      p.madvise(a, 2 * P, L.MADV_DONTNEED);
      p.mprotect(a, 2 * P, L.PROT_READ);
      expect(() => p.read8(a + P)).toThrow(/SIGSEGV \(SEGV_MAPERR\)/);
      p.mprotect(a, 2 * P, LRW);
      expect(p.read8(a)).toBe(0);
    }
    const c = p.fork();
    expect(() => c.read8(LX_FIXED + P)).toThrow(/SEGV_MAPERR/);
    p.munmap(LX_FIXED, 2 * P);
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    expect(p.read8(LX_FIXED + P)).toBe(0);
    p.sys.audit();
  });
  row("madvise-linux-guard-remove", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + 4 * P, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    for (const a of [LX_FIXED, LX_FIXED + 4 * P]) {
      p.write8(a, 7);
      p.madvise(a, P, L.MADV_GUARD_INSTALL);
      p.madvise(a, P, L.MADV_GUARD_REMOVE);
    }
    expect(p.read8(LX_FIXED)).toBe(0); // the private page went at the install
    expect(p.read8(LX_FIXED + 4 * P)).toBe(7); // the shared page stayed in its object
    p.madvise(LX_FIXED, P, L.MADV_GUARD_INSTALL);
    p.mlock(LX_FIXED + 4 * P, P);
    p.madvise(LX_FIXED + 4 * P, P, L.MADV_GUARD_REMOVE); // allowed on locked memory
    p.sys.audit();
  });
  row("madvise-linux-guard-einval-locked", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED | L.MAP_LOCKED);
    const before = snapshot(p);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_GUARD_INSTALL));
    expect(snapshot(p)).toBe(before);
    expect(p.read8(LX_FIXED)).toBe(0);
  });
  row("madvise-linux-guard-populate-efault", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 3 * P, LRW, LANON | L.MAP_FIXED);
    p.madvise(LX_FIXED + P, P, L.MADV_GUARD_INSTALL);
    fails(p, "madvise", "EFAULT", () => p.madvise(LX_FIXED, 3 * P, L.MADV_POPULATE_READ));
    expect(Array.from(p.mincore(LX_FIXED, 3 * P), (v) => v & 1)).toEqual([1, 0, 0]);
    fails(p, "mlock", "ENOMEM", () => p.mlock(LX_FIXED, 3 * P));
    // Locked all the same: MADV_DONTNEED and another install are now refused.
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_DONTNEED));
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED + 2 * P, P, L.MADV_GUARD_INSTALL));
    p.sys.audit();
  });
  row("madvise-linux-dontfork", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.madvise(LX_FIXED, P, L.MADV_DONTFORK);
    const c = p.fork();
    expect(at(c, LX_FIXED)).toBeUndefined();
    expect(at(c, LX_FIXED + P)).toBeDefined();
  });
  row("madvise-linux-wipeonfork", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 9);
    p.madvise(LX_FIXED, P, L.MADV_WIPEONFORK);
    expect(p.fork().read8(LX_FIXED)).toBe(0);
    p.madvise(LX_FIXED, P, L.MADV_KEEPONFORK);
    expect(p.fork().read8(LX_FIXED)).toBe(9);
  });
});

// ---------------------------------------------------------------------- msync

describe("msync", () => {
  /** A process with a 2-page MAP_SHARED mapping of a MemoryFile at FB_FIXED / LX_FIXED. */
  function shared(p: Process): { f: MemoryFile; a: number } {
    const f = new MemoryFile(2 * P);
    const fd = p.fds.open(f, "rw");
    const a = p.mmap(FB_FIXED, 2 * P, 3, 0x01 /* MAP_SHARED */ | 0x10 /* MAP_FIXED */, fd, 0);
    return { f, a };
  }
  row("msync-freebsd-einval-flags", () => {
    const p = freebsdProc();
    const { a } = shared(p);
    fails(p, "msync", "EINVAL", () => p.msync(a, P, 0x10));
  });
  row("msync-freebsd-einval-async-invalidate", () => {
    const p = freebsdProc();
    const { a } = shared(p);
    fails(p, "msync", "EINVAL", () => p.msync(a, P, F.MS_ASYNC | F.MS_INVALIDATE));
  });
  row("msync-freebsd-enomem-hole", () => {
    const p = freebsdProc();
    const { a } = shared(p);
    fails(p, "msync", "ENOMEM", () => p.msync(a, 3 * P, F.MS_SYNC));
    fails(p, "msync", "ENOMEM", () => p.msync(a + 4 * P, P, F.MS_SYNC));
  });
  row("msync-freebsd-ebusy-invalidate-wired", () => {
    const p = freebsdProc();
    const { a } = shared(p);
    p.mlock(a, P);
    fails(p, "msync", "EBUSY", () => p.msync(a, 2 * P, F.MS_INVALIDATE));
  });
  row("msync-freebsd-writes-back", () => {
    const p = freebsdProc();
    const { f, a } = shared(p);
    p.write8(a + P + 3, 0x77);
    p.msync(a + 100, P, F.MS_SYNC); // rounded out to whole pages: both pages
    expect(f.read(P + 3, 1)[0]).toBe(0x77);
  });
  row("msync-freebsd-len-zero-containing-entry", () => {
    // vm_map_sync: start == end means the whole entry containing start, and an unmapped start
    // is KERN_INVALID_ADDRESS → ENOMEM.
    const p = freebsdProc();
    shared(p);
    fails(p, "msync", "ENOMEM", () => p.msync(FB_FIXED + 8 * P, 0, F.MS_SYNC));
  });
  row("msync-linux-einval-flags", () => {
    const p = linuxProc();
    const { a } = shared(p);
    fails(p, "msync", "EINVAL", () => p.msync(a, P, 0x8));
  });
  row("msync-linux-einval-unaligned", () => {
    const p = linuxProc();
    const { a } = shared(p);
    fails(p, "msync", "EINVAL", () => p.msync(a + 100, P, L.MS_SYNC));
  });
  row("msync-linux-einval-async-and-sync", () => {
    const p = linuxProc();
    const { a } = shared(p);
    fails(p, "msync", "EINVAL", () => p.msync(a, P, L.MS_ASYNC | L.MS_SYNC));
  });
  row("msync-linux-len-zero-ok", () => {
    const p = linuxProc();
    p.msync(LX_FIXED + 64 * P, 0, L.MS_SYNC); // nothing mapped there
  });
  row("msync-linux-enomem-unmapped", () => {
    const p = linuxProc();
    fails(p, "msync", "ENOMEM", () => p.msync(LX_FIXED, P, L.MS_SYNC));
  });
  row("msync-linux-enomem-hole", () => {
    const p = linuxProc();
    const { a } = shared(p);
    fails(p, "msync", "ENOMEM", () => p.msync(a, 3 * P, L.MS_SYNC));
    fails(p, "msync", "ENOMEM", () => p.msync(a, 3 * P, L.MS_ASYNC));
  });
  row("msync-linux-ebusy-invalidate-locked", () => {
    const p = linuxProc();
    const { a } = shared(p);
    p.mlock(a, P);
    fails(p, "msync", "EBUSY", () => p.msync(a, 2 * P, L.MS_INVALIDATE));
  });
  /**
   * A 3-page MAP_SHARED mapping of a FaultyFile with pages 0 and 2 written (two runs for the
   * pager), whose next write at offset 0 fails with `error`.
   */
  function failing(p: Process, error: "EIO" | "ENOSPC"): { f: FaultyFile; a: number } {
    const f = new FaultyFile(new MemoryFile(3 * P));
    const a = p.mmap(0, 3 * P, 3, 0x01 /* MAP_SHARED */, p.fds.open(f, "rw"), 0);
    p.write8(a, 1);
    p.write8(a + 2 * P, 2);
    f.fail("write", error, 1, (pos) => pos === 0);
    return { f, a };
  }
  row("msync-freebsd-eio-write-failure", () => {
    for (const error of ["EIO", "ENOSPC"] as const) {
      const p = freebsdProc();
      const { f, a } = failing(p, error);
      fails(p, "msync", "EIO", () => p.msync(a, 3 * P, F.MS_SYNC));
      expect(f.inner.read(2 * P, 1)[0]).toBe(2); // the other run was written
      expect(f.inner.read(0, 1)[0]).toBe(0);
      p.msync(a, 3 * P, F.MS_SYNC); // the refused page stayed dirty: written now
      expect(f.inner.read(0, 1)[0]).toBe(1);
    }
  });
  row("msync-linux-eio-write-failure", () => {
    const p = linuxProc();
    const { f, a } = failing(p, "EIO");
    fails(p, "msync", "EIO", () => p.msync(a, 3 * P, L.MS_SYNC));
    expect(f.inner.read(0, 1)[0]).toBe(0);
    p.msync(a, 3 * P, L.MS_SYNC);
    expect(f.inner.read(0, 1)[0]).toBe(1);
    expect(f.inner.read(2 * P, 1)[0]).toBe(2);
  });
  row("msync-linux-enospc-write-failure", () => {
    const p = linuxProc();
    const { f, a } = failing(p, "ENOSPC");
    fails(p, "msync", "ENOSPC", () => p.msync(a, 3 * P, L.MS_SYNC));
    p.msync(a, 3 * P, L.MS_SYNC);
    expect(f.inner.read(0, 1)[0]).toBe(1);
  });
  row("msync-linux-writes-back", () => {
    const p = linuxProc();
    const { f, a } = shared(p);
    p.write8(a + 3, 0x66);
    p.msync(a, P, L.MS_SYNC);
    expect(f.read(3, 1)[0]).toBe(0x66);
  });
});

// ---------------------------------------------------------------------- mlock, munlock

describe("mlock and munlock", () => {
  row("mlock-freebsd-wires", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.mlock(FB_FIXED + 100, P); // rounded out to whole pages
    expect(at(p, FB_FIXED)?.wired).toBeGreaterThan(0);
    expect(at(p, FB_FIXED)?.resident).toBe(2);
  });
  row("mlock-freebsd-enomem-rlimit-memlock", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 32 * P, FRW, FANON | F.MAP_FIXED);
    fails(p, "mlock", "ENOMEM", () => p.mlock(FB_FIXED, 17 * P)); // 64 KiB default
    expect(at(p, FB_FIXED)?.wired).toBe(0);
  });
  row("mlock-freebsd-privileged-no-limit", () => {
    const p = freebsdProc({}, true);
    p.mmap(FB_FIXED, 32 * P, FRW, FANON | F.MAP_FIXED);
    p.mlock(FB_FIXED, 32 * P);
  });
  row("mlock-freebsd-enomem-hole", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "mlock", "ENOMEM", () => p.mlock(FB_FIXED, 2 * P));
    expect(at(p, FB_FIXED)?.wired).toBe(0);
  });
  row("mlock-freebsd-enomem-prot-none", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, F.PROT_NONE, FANON | F.MAP_FIXED);
    fails(p, "mlock", "ENOMEM", () => p.mlock(FB_FIXED, P));
  });
  row("mlock-freebsd-enomem-too-many-pages", () => {
    const p = freebsdProc({ maxUserWired: 2 });
    p.setrlimit(F.RLIMIT_MEMLOCK, { soft: Infinity, hard: Infinity });
    p.mmap(FB_FIXED, 4 * P, FRW, FANON | F.MAP_FIXED);
    fails(p, "mlock", "ENOMEM", () => p.mlock(FB_FIXED, 3 * P));
  });
  row("mlock-freebsd-enomem-wired-limit", () => {
    // kern_mlock maps every vm_map_wire failure but KERN_INVALID_ARGUMENT to ENOMEM, the
    // system-wide user-wired limit (KERN_RESOURCE_SHORTAGE) included; the old EAGAIN check
    // against vm_page_max_wired is gone since FreeBSD 13.
    const p = freebsdProc({ maxUserWired: 2 });
    p.setrlimit(F.RLIMIT_MEMLOCK, { soft: Infinity, hard: Infinity });
    p.mmap(FB_FIXED, 4 * P, FRW, FANON | F.MAP_FIXED);
    p.mlock(FB_FIXED, 2 * P);
    fails(p, "mlock", "ENOMEM", () => p.mlock(FB_FIXED + 2 * P, 2 * P));
  });
  row("munlock-freebsd-unwires", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.mlock(FB_FIXED, 2 * P);
    p.munlock(FB_FIXED, 2 * P);
    expect(at(p, FB_FIXED)?.wired).toBe(0);
    p.munlock(FB_FIXED, 2 * P); // unlocking what is not locked is fine
  });
  row("munlock-freebsd-enomem-hole", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "munlock", "ENOMEM", () => p.munlock(FB_FIXED, 2 * P));
  });
  row("mlock-linux-wires", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mlock(LX_FIXED, 2 * P);
    expect(at(p, LX_FIXED)?.wired).toBeGreaterThan(0);
    expect(at(p, LX_FIXED)?.resident).toBe(2);
  });
  row("mlock-linux-enomem-rlimit-memlock", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 16 * MB, LRW, LANON | L.MAP_FIXED);
    fails(p, "mlock", "ENOMEM", () => p.mlock(LX_FIXED, 8 * MB + P)); // 8 MiB default
  });
  row("mlock-linux-enomem-hole", () => {
    // apply_vma_lock_flags locks the vmas before a hole, then returns ENOMEM before
    // __mm_populate; a hole at the start locks nothing. This machine's 6.18: mlock over
    // [3 pages][hole][4 pages] is ENOMEM, the first vma "lo" in smaps and not resident, the
    // second not locked; mlock over [hole][4 pages] locks nothing.
    const p = linuxProc();
    p.mmap(LX_FIXED, 3 * P, LRW, LANON | L.MAP_FIXED);
    p.mmap(LX_FIXED + 4 * P, 4 * P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mlock", "ENOMEM", () => p.mlock(LX_FIXED + 3 * P, 5 * P));
    expect(at(p, LX_FIXED + 4 * P)?.wired).toBe(0);
    fails(p, "mlock", "ENOMEM", () => p.mlock(LX_FIXED, 8 * P));
    expect(at(p, LX_FIXED)?.wired).toBe(1);
    expect(Array.from(p.mincore(LX_FIXED, 3 * P))).toEqual([0, 0, 0]);
    expect(at(p, LX_FIXED + 4 * P)?.wired).toBe(0);
    fails(p, "mlock", "ENOMEM", () => p.mlock(LX_FIXED + 12 * P, P));
    p.sys.audit();
  });
  row("mlock-linux-eperm-memlock-zero", () => {
    // do_mlock: !can_do_mlock() (RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK) → -EPERM, before any
    // range or limit check.
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.setrlimit(L.RLIMIT_MEMLOCK, { soft: 0, hard: 0 });
    fails(p, "mlock", "EPERM", () => p.mlock(LX_FIXED, P));
  });
  row("mlock-linux-enomem-prot-none-stays-locked", () => {
    // do_mlock: apply_vma_lock_flags sets VM_LOCKED on every vma first, then __mm_populate
    // stops at the PROT_NONE vma (populate_vma_page_range: -EFAULT, reported as ENOMEM). The
    // vmas stay locked: the one before it populated, the one after it not (its resident page
    // locked all the same), and MADV_DONTNEED refuses all three (EINVAL).
    const p = linuxProc();
    p.mmap(LX_FIXED, 3 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED + 2 * P, 7);
    p.mprotect(LX_FIXED + P, P, L.PROT_NONE);
    fails(p, "mlock", "ENOMEM", () => p.mlock(LX_FIXED, 3 * P));
    expect([0, 1, 2].map((i) => at(p, LX_FIXED + i * P)?.wired)).toEqual([1, 1, 1]);
    expect(Array.from(p.mincore(LX_FIXED, 3 * P), (v) => v & 1)).toEqual([1, 0, 1]);
    for (let i = 0; i < 3; i++)
      fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED + i * P, P, L.MADV_DONTNEED));
    p.sys.audit();
    p.munlock(LX_FIXED, 3 * P);
    p.madvise(LX_FIXED, 3 * P, L.MADV_DONTNEED);
    p.sys.audit();
  });
  row("mseal-freebsd-enosys", () => {
    const p = freebsdProc();
    fails(p, "mseal", "ENOSYS", () => p.mseal(FB_FIXED, P, 0));
  });
  row("mseal-linux-einval", () => {
    // do_mseal, checked on 6.18: flags, alignment and wrap-around before the range; len 0 is
    // nothing to do; a hole (the range past TASK_SIZE too) seals nothing.
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mseal", "EINVAL", () => p.mseal(LX_FIXED, P, 1));
    fails(p, "mseal", "EINVAL", () => p.mseal(LX_FIXED + 1, P, 0));
    fails(p, "mseal", "ENOMEM", () => p.mseal(LX_FIXED, 4 * P, 0));
    fails(p, "mseal", "ENOMEM", () => p.mseal(LX_FIXED - P, 2 * P, 0));
    fails(p, "mseal", "ENOMEM", () => p.mseal(2 ** 47 - P, 2 * P, 0));
    p.mseal(LX_FIXED, 0, 0);
    expect(snapshot(p)).toBe(before);
    p.munmap(LX_FIXED, 2 * P); // nothing was sealed
  });
  row("mseal-linux-no-unmap-move-or-replace", () => {
    // A sealed vma cannot be unmapped (the whole munmap is refused), replaced by MAP_FIXED,
    // moved or resized by mremap (even to its own size), nor lose its place under brk; it can
    // still be locked. Checked on 6.18.
    const p = linuxProc();
    p.mmap(LX_FIXED, 4 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED + P, 9);
    p.mseal(LX_FIXED + P, 2 * P, 0);
    expect(
      p
        .formatMaps("linux")
        .split("\n")
        .filter((l) => l.includes(" rw-p ")).length,
    ).toBe(3);
    const before = snapshot(p);
    fails(p, "munmap", "EPERM", () => p.munmap(LX_FIXED, 2 * P));
    fails(p, "munmap", "EPERM", () => p.munmap(LX_FIXED + P, P));
    fails(p, "mmap", "EPERM", () => p.mmap(LX_FIXED, 2 * P, L.PROT_READ, LANON | L.MAP_FIXED));
    fails(p, "mmap", "EEXIST", () =>
      p.mmap(LX_FIXED + P, P, L.PROT_READ, LANON | L.MAP_FIXED_NOREPLACE),
    );
    fails(p, "mremap", "EPERM", () => p.mremap(LX_FIXED + P, P, P, 0));
    fails(p, "mremap", "EPERM", () => p.mremap(LX_FIXED + P, 2 * P, P, 0));
    fails(p, "mremap", "EPERM", () => p.mremap(LX_FIXED + P, P, 4 * P, L.MREMAP_MAYMOVE));
    fails(p, "mremap", "EPERM", () =>
      p.mremap(LX_FIXED + 3 * P, P, P, L.MREMAP_MAYMOVE | L.MREMAP_FIXED, LX_FIXED + P),
    );
    expect(snapshot(p)).toBe(before);
    p.mlock(LX_FIXED + P, P);
    p.munlock(LX_FIXED + P, P);
    expect(p.read8(LX_FIXED + P)).toBe(9);
    p.munmap(LX_FIXED, P);
    p.munmap(LX_FIXED + 3 * P, P);
    p.sys.audit();
  });
  row("mseal-linux-mprotect-partial", () => {
    // mprotect walks vma by vma: the ones before the sealed vma change, then EPERM, even when
    // the sealed vma already has the protection asked for. Checked on 6.18.
    const p = linuxProc();
    p.mmap(LX_FIXED, 3 * P, LRW, LANON | L.MAP_FIXED);
    p.mseal(LX_FIXED + 2 * P, P, 0);
    fails(p, "mprotect", "EPERM", () => p.mprotect(LX_FIXED, 3 * P, L.PROT_READ));
    expect(at(p, LX_FIXED)?.prot).toBe(L.PROT_READ);
    expect(at(p, LX_FIXED + P)?.prot).toBe(L.PROT_READ);
    expect(at(p, LX_FIXED + 2 * P)?.prot).toBe(LRW);
    fails(p, "mprotect", "EPERM", () => p.mprotect(LX_FIXED + 2 * P, P, LRW));
  });
  row("mseal-linux-madvise-discard-read-only-anonymous", () => {
    // can_madvise_modify: advice that discards is refused for sealed read-only private
    // anonymous memory (the vmas before it advised); other advice, writable or shared or file
    // memory are not concerned. Checked on 6.18.
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 5);
    p.mmap(LX_FIXED + 2 * P, 2 * P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.mseal(LX_FIXED + 2 * P, 2 * P, 0);
    for (const a of [
      L.MADV_DONTNEED,
      L.MADV_FREE,
      L.MADV_DONTFORK,
      L.MADV_WIPEONFORK,
      L.MADV_GUARD_INSTALL,
    ])
      fails(p, "madvise", "EPERM", () => p.madvise(LX_FIXED + 2 * P, P, a));
    p.madvise(LX_FIXED + 2 * P, P, L.MADV_COLD);
    p.madvise(LX_FIXED + 2 * P, P, L.MADV_WILLNEED);
    fails(p, "madvise", "EPERM", () => p.madvise(LX_FIXED, 3 * P, L.MADV_DONTNEED));
    expect(p.read8(LX_FIXED)).toBe(0); // the writable vma before it was advised
    p.mseal(LX_FIXED, P, 0);
    p.write8(LX_FIXED, 6);
    p.madvise(LX_FIXED, P, L.MADV_DONTNEED); // sealed but writable
    expect(p.read8(LX_FIXED)).toBe(0);
    fails(p, "munmap", "EPERM", () => p.munmap(LX_FIXED, P)); // still sealed after the zap
    const s = p.mmap(0, P, L.PROT_READ, L.MAP_SHARED | L.MAP_ANONYMOUS);
    p.mseal(s, P, 0);
    p.madvise(s, P, L.MADV_DONTNEED); // shared
    p.sys.audit();
  });
  row("mseal-linux-fork-inherits", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.madvise(LX_FIXED + P, P, L.MADV_WIPEONFORK);
    p.mseal(LX_FIXED, 2 * P, 0);
    const c = p.fork();
    fails(c, "munmap", "EPERM", () => c.munmap(LX_FIXED, P));
    fails(c, "munmap", "EPERM", () => c.munmap(LX_FIXED + P, P));
    fails(c, "mprotect", "EPERM", () => c.mprotect(LX_FIXED, 2 * P, L.PROT_READ));
    c.exit();
    p.exit();
    p.sys.audit();
  });
  row("mlock2-freebsd-enosys", () => {
    const p = freebsdProc();
    fails(p, "mlock2", "ENOSYS", () => p.mlock2(FB_FIXED, P, 0));
  });
  row("mlock2-linux-einval-flags", () => {
    // sys_mlock2 checks its flags before anything else (checked on 6.18).
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mlock2", "EINVAL", () => p.mlock2(LX_FIXED, P, 2));
    fails(p, "mlock2", "EINVAL", () => p.mlock2(LX_FIXED + 5 * P, P, 2)); // before the hole
    expect(snapshot(p)).toBe(before);
  });
  row("mlock2-linux-onfault", () => {
    // MLOCK_ONFAULT: locked, nothing populated; a touched page comes in locked; mlock then
    // populates the rest (checked on 6.18 with mincore). Flags 0 is mlock.
    const p = linuxProc();
    p.mmap(LX_FIXED, 4 * P, LRW, LANON | L.MAP_FIXED);
    p.mlock2(LX_FIXED, 4 * P, L.MLOCK_ONFAULT);
    expect(at(p, LX_FIXED)?.wired).toBe(1);
    expect(Array.from(p.mincore(LX_FIXED, 4 * P), (v) => v & 1)).toEqual([0, 0, 0, 0]);
    p.write8(LX_FIXED + P, 1);
    p.read8(LX_FIXED + 2 * P);
    expect(Array.from(p.mincore(LX_FIXED, 4 * P), (v) => v & 1)).toEqual([0, 1, 1, 0]);
    fails(p, "madvise", "EINVAL", () => p.madvise(LX_FIXED, P, L.MADV_DONTNEED));
    p.mlock(LX_FIXED, 4 * P);
    expect(Array.from(p.mincore(LX_FIXED, 4 * P), (v) => v & 1)).toEqual([1, 1, 1, 1]);
    p.mmap(LX_FIXED + 8 * P, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mlock2(LX_FIXED + 8 * P, 2 * P, 0);
    expect(Array.from(p.mincore(LX_FIXED + 8 * P, 2 * P), (v) => v & 1)).toEqual([1, 1]);
    p.sys.audit();
  });
  row("mlock2-linux-onfault-enomem-hole", () => {
    // As mlock: the vmas before the hole stay locked (on fault), unpopulated.
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mlock2", "ENOMEM", () => p.mlock2(LX_FIXED, 4 * P, L.MLOCK_ONFAULT));
    expect(at(p, LX_FIXED)?.wired).toBe(1);
    expect(Array.from(p.mincore(LX_FIXED, 2 * P), (v) => v & 1)).toEqual([0, 0]);
    p.write8(LX_FIXED, 1);
    expect(Array.from(p.mincore(LX_FIXED, 2 * P), (v) => v & 1)).toEqual([1, 0]);
    p.sys.audit();
  });
  row("munlock-linux-unwires", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mlock(LX_FIXED, 2 * P);
    p.munlock(LX_FIXED, 2 * P);
    expect(at(p, LX_FIXED)?.wired).toBe(0);
  });
  row("munlock-linux-enomem-hole", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "munlock", "ENOMEM", () => p.munlock(LX_FIXED, 2 * P));
  });
});

// ---------------------------------------------------------------------- mlockall, munlockall

describe("mlockall and munlockall", () => {
  row("mlockall-freebsd-einval-flags", () => {
    const p = freebsdProc();
    fails(p, "mlockall", "EINVAL", () => p.mlockall(0));
    fails(p, "mlockall", "EINVAL", () => p.mlockall(4));
  });
  row("mlockall-freebsd-enomem-rlimit", () => {
    const p = freebsdProc();
    p.mmap(0, 17 * P, FRW, FANON);
    fails(p, "mlockall", "ENOMEM", () => p.mlockall(F.MCL_CURRENT));
  });
  row("mlockall-freebsd-current-wires", () => {
    const p = freebsdProc();
    const a = p.mmap(0, 2 * P, FRW, FANON);
    p.mlockall(F.MCL_CURRENT);
    expect(at(p, a)?.wired).toBeGreaterThan(0);
  });
  row("mlockall-freebsd-enomem-wired-limit", () => {
    // sys_mlockall: vm_map_wire's KERN_RESOURCE_SHORTAGE (system user-wired limit) → ENOMEM;
    // other failures → EAGAIN.
    const p = freebsdProc({ maxUserWired: 2 });
    p.setrlimit(F.RLIMIT_MEMLOCK, { soft: Infinity, hard: Infinity });
    p.mmap(0, 4 * P, FRW, FANON);
    fails(p, "mlockall", "ENOMEM", () => p.mlockall(F.MCL_CURRENT));
    expect(p.map.flags & MAP_WIREFUTURE).toBe(0);
    // With MCL_FUTURE too, sys_mlockall has set MAP_WIREFUTURE before the wiring failed, and
    // keeps it (found by the syscall fuzz, linux seed 301068998, path 0).
    fails(p, "mlockall", "ENOMEM", () => p.mlockall(F.MCL_CURRENT | F.MCL_FUTURE));
    expect(p.map.flags & MAP_WIREFUTURE).toBe(MAP_WIREFUTURE);
  });
  row("munlockall-freebsd", () => {
    const p = freebsdProc();
    const a = p.mmap(0, 2 * P, FRW, FANON);
    p.mlockall(F.MCL_CURRENT | F.MCL_FUTURE);
    p.munlockall();
    expect(at(p, a)?.wired).toBe(0);
    const b = p.mmap(0, 2 * P, FRW, FANON);
    expect(at(p, b)?.wired).toBe(0);
  });
  row("mlockall-linux-einval-flags", () => {
    const p = linuxProc();
    fails(p, "mlockall", "EINVAL", () => p.mlockall(0));
    fails(p, "mlockall", "EINVAL", () => p.mlockall(8));
  });
  row("mlockall-linux-onfault", () => {
    // sys_mlockall accepts MCL_ONFAULT with MCL_CURRENT and/or MCL_FUTURE; only MCL_ONFAULT
    // alone (or unknown bits, or 0) is EINVAL.
    // With it the vmas are locked (VM_LOCKONFAULT) but not populated: a page comes in, locked,
    // at its first access; with MCL_FUTURE, later mappings alike.
    const p = linuxProc();
    const a = p.mmap(0, 2 * P, LRW, LANON);
    p.write8(a, 1);
    p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE | L.MCL_ONFAULT);
    expect(at(p, a)?.wired).toBe(1);
    expect(Array.from(p.mincore(a, 2 * P))).toEqual([1, 0]);
    expect(p.sys.stats().frames.wired).toBe(1); // the resident page was locked at once
    p.write8(a + P, 2);
    expect(p.sys.stats().frames.wired).toBe(2);
    const b = p.mmap(0, 2 * P, LRW, LANON);
    expect(at(p, b)?.wired).toBe(1);
    expect(Array.from(p.mincore(b, 2 * P))).toEqual([0, 0]);
    p.sys.audit();
    p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE); // without MCL_ONFAULT: populated
    expect(Array.from(p.mincore(b, 2 * P))).toEqual([1, 1]);
    fails(p, "mlockall", "EINVAL", () => p.mlockall(L.MCL_ONFAULT));
  });
  row("mlockall-linux-eperm-memlock-zero", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_MEMLOCK, { soft: 0, hard: 0 });
    fails(p, "mlockall", "EPERM", () => p.mlockall(L.MCL_CURRENT));
    linuxProc({}, true).mlockall(L.MCL_CURRENT); // CAP_IPC_LOCK
  });
  row("mlockall-linux-enomem-rlimit", () => {
    const p = linuxProc();
    p.mmap(0, 8 * MB + P, LRW, LANON);
    fails(p, "mlockall", "ENOMEM", () => p.mlockall(L.MCL_CURRENT));
  });
  row("mlockall-linux-current-wires", () => {
    const p = linuxProc();
    const a = p.mmap(0, 2 * P, LRW, LANON);
    p.mlockall(L.MCL_CURRENT);
    expect(at(p, a)?.wired).toBeGreaterThan(0);
  });
  row("mlockall-linux-current-locks-prot-none", () => {
    // apply_mlockall_flags locks every vma, PROT_NONE ones too; __mm_populate(ignore_errors)
    // skips what it cannot populate. Made accessible, the vma's pages fault in locked.
    const p = linuxProc();
    const a = p.mmap(0, 2 * P, L.PROT_NONE, LANON);
    p.mlockall(L.MCL_CURRENT);
    expect(at(p, a)?.wired).toBe(1);
    expect(at(p, a)?.resident).toBe(0);
    fails(p, "madvise", "EINVAL", () => p.madvise(a, 2 * P, L.MADV_DONTNEED));
    p.mprotect(a, 2 * P, LRW);
    p.write8(a, 1);
    expect(p.sys.stats().frames.wired).toBeGreaterThan(0);
    p.sys.audit();
  });
  row("mlockall-linux-current-clears-future", () => {
    // apply_mlockall_flags clears mm->def_flags' VM_LOCKED unless MCL_FUTURE is given again.
    const p = linuxProc();
    p.mlockall(L.MCL_FUTURE);
    const a = p.mmap(0, P, L.PROT_NONE, LANON);
    expect(at(p, a)?.wired).toBe(1); // a later mapping is locked, PROT_NONE or not
    p.mlockall(L.MCL_CURRENT);
    const b = p.mmap(0, P, LRW, LANON);
    expect(at(p, b)?.wired).toBe(0);
  });
  row("munlockall-linux", () => {
    const p = linuxProc();
    const a = p.mmap(0, 2 * P, LRW, LANON);
    p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE);
    p.munlockall();
    expect(at(p, a)?.wired).toBe(0);
  });
});

// ---------------------------------------------------------------------- mincore

describe("mincore", () => {
  row("mincore-freebsd-bits", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.write8(FB_FIXED, 1);
    const v = p.mincore(FB_FIXED, 2 * P);
    expect(Array.from(v)).toEqual([
      F.MINCORE_INCORE | F.MINCORE_REFERENCED | F.MINCORE_MODIFIED,
      0,
    ]);
  });
  row("mincore-freebsd-enomem-unmapped", () => {
    const p = freebsdProc();
    fails(p, "mincore", "ENOMEM", () => p.mincore(FB_FIXED, P));
  });
  row("mincore-freebsd-enomem-hole", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "mincore", "ENOMEM", () => p.mincore(FB_FIXED, 2 * P));
  });
  row("mincore-freebsd-unaligned-addr-truncated", () => {
    // kern_mincore truncates addr to its page (first_addr = trunc_page(addr)); FreeBSD has no
    // EINVAL for an unaligned address.
    const p = freebsdProc();
    p.mmap(FB_FIXED, 2 * P, FRW, FANON | F.MAP_FIXED);
    p.write8(FB_FIXED, 1);
    expect(p.mincore(FB_FIXED + 100, P)).toHaveLength(2);
  });
  row("mincore-linux-einval-unaligned", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mincore", "EINVAL", () => p.mincore(LX_FIXED + 100, P));
  });
  row("mincore-linux-enomem-unmapped", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mincore", "ENOMEM", () => p.mincore(LX_FIXED + P, P));
    fails(p, "mincore", "ENOMEM", () => p.mincore(LX_FIXED, 2 * P));
  });
  row("mincore-linux-len-zero-ok", () => {
    const p = linuxProc();
    expect(p.mincore(LX_FIXED, 0)).toHaveLength(0);
  });
  row("mincore-linux-resident-is-1", () => {
    // mincore_pte_range / mincore_page: a resident page is reported as 1; the other bits of
    // each byte are reserved and zero.
    const p = linuxProc();
    p.mmap(LX_FIXED, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 1);
    expect(Array.from(p.mincore(LX_FIXED, 2 * P))).toEqual([1, 0]);
  });
});

// ---------------------------------------------------------------------- brk

describe("brk", () => {
  const BASE = 0x1000_0000;
  function fbBrk(): Process {
    const p = freebsdProc();
    p.daddr = BASE;
    return p;
  }
  row("brk-freebsd-query", () => {
    const p = fbBrk();
    expect(p.brk(0)).toBe(BASE);
    expect(p.brk(BASE - P)).toBe(BASE); // below the data segment: the current break
    expect(p.maps()).toHaveLength(0);
  });
  row("brk-freebsd-grow", () => {
    const p = fbBrk();
    expect(p.brk(BASE + P + 100)).toBe(BASE + 2 * P); // rounded to a page
    expect(at(p, BASE)?.end).toBe(BASE + 2 * P);
    expect(at(p, BASE)?.prot).toBe(FRW);
  });
  row("brk-freebsd-shrink", () => {
    const p = fbBrk();
    p.brk(BASE + 4 * P);
    expect(p.brk(BASE + P)).toBe(BASE + P);
    expect(at(p, BASE + P)).toBeUndefined();
    expect(p.brk(0)).toBe(BASE + P);
  });
  row("brk-freebsd-enomem-rlimit-data", () => {
    const p = fbBrk();
    p.setrlimit(F.RLIMIT_DATA, { soft: MB, hard: MB });
    fails(p, "brk", "ENOMEM", () => p.brk(BASE + 2 * MB));
    expect(p.brk(0)).toBe(BASE);
  });
  row("brk-freebsd-shrink-over-limit-allowed", () => {
    const p = fbBrk();
    p.brk(BASE + 2 * MB);
    p.setrlimit(F.RLIMIT_DATA, { soft: MB, hard: MB });
    expect(p.brk(BASE + MB + MB / 2)).toBe(BASE + MB + MB / 2);
  });
  row("brk-freebsd-enomem-beyond-map", () => {
    const p = fbBrk();
    p.setrlimit(F.RLIMIT_DATA, { soft: Infinity, hard: Infinity });
    fails(p, "brk", "ENOMEM", () => p.brk(2 ** 47 + P));
  });
  row("brk-freebsd-enomem-rlimit-vmem", () => {
    const p = fbBrk();
    p.setrlimit(F.RLIMIT_VMEM, { soft: MB, hard: MB });
    fails(p, "brk", "ENOMEM", () => p.brk(BASE + 2 * MB));
  });
  row("brk-freebsd-enomem-mapping-in-the-way", () => {
    const p = fbBrk();
    p.mmap(BASE + 2 * P, P, FRW, FANON | F.MAP_FIXED);
    fails(p, "brk", "ENOMEM", () => p.brk(BASE + 4 * P));
    expect(p.brk(0)).toBe(BASE);
  });
  row("brk-freebsd-enomem-mcl-future-memlock", () => {
    const p = fbBrk();
    p.mlockall(F.MCL_FUTURE);
    fails(p, "brk", "ENOMEM", () => p.brk(BASE + 128 * KB));
    p.brk(BASE + 2 * P);
    expect(at(p, BASE)?.wired).toBeGreaterThan(0);
  });

  row("brk-linux-query", () => {
    const p = linuxProc();
    expect(p.brk(0)).toBe(p.startBrk);
    expect(p.currentBrk).toBe(p.startBrk);
  });
  row("brk-linux-grow-unaligned-kept", () => {
    const p = linuxProc();
    const s = p.startBrk;
    expect(p.brk(s + P + 100)).toBe(s + P + 100);
    expect(at(p, s)?.end).toBe(s + 2 * P);
    expect(p.formatMaps("linux")).toContain("[heap]");
  });
  row("brk-linux-shrink", () => {
    const p = linuxProc();
    const s = p.startBrk;
    p.brk(s + 4 * P);
    expect(p.brk(s + P)).toBe(s + P);
    expect(at(p, s + P)).toBeUndefined();
  });
  row("brk-linux-refused-below-start", () => {
    const p = linuxProc();
    const s = p.startBrk;
    p.brk(s + P);
    expect(p.brk(s - P)).toBe(s + P);
  });
  row("brk-linux-refused-rlimit-data", () => {
    const p = linuxProc();
    const s = p.startBrk;
    p.setrlimit(L.RLIMIT_DATA, { soft: MB, hard: MB });
    expect(p.brk(s + 2 * MB)).toBe(s);
    expect(p.maps()).toHaveLength(0);
  });
  row("brk-linux-refused-next-mapping", () => {
    const p = linuxProc();
    const s = p.startBrk;
    p.mmap(s + 4 * P, P, LRW, LANON | L.MAP_FIXED);
    expect(p.brk(s + 4 * P)).toBe(s); // the new end plus one page must stay clear
    expect(p.brk(s + 3 * P)).toBe(s + 3 * P);
  });
  row("brk-linux-refused-stack-guard-gap", () => {
    const p = linuxProc();
    const s = p.startBrk;
    p.mmap(s + 64 * P, P, LRW, LANON | L.MAP_FIXED | L.MAP_GROWSDOWN);
    expect(p.brk(s + 2 * P)).toBe(s); // within stack_guard_gap (256 pages) of a stack
  });
  row("brk-linux-refused-rlimit-as", () => {
    const p = linuxProc();
    const s = p.startBrk;
    p.setrlimit(L.RLIMIT_AS, { soft: MB, hard: MB });
    expect(p.brk(s + 2 * MB)).toBe(s);
  });
});

// ---------------------------------------------------------------------- mremap

describe("mremap", () => {
  const A = LX_FIXED;
  const M = L.MREMAP_MAYMOVE;
  row("mremap-freebsd-enosys", () => {
    const p = freebsdProc();
    fails(p, "mremap", "ENOSYS", () => p.mremap(FB_FIXED, P, 2 * P, 1));
  });
  row("mremap-linux-einval-flags", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, 2 * P, 8));
  });
  row("mremap-linux-einval-fixed-without-maymove", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, P, L.MREMAP_FIXED, A + 16 * P));
  });
  row("mremap-linux-einval-dontunmap-flags", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, P, L.MREMAP_DONTUNMAP));
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, 2 * P, M | L.MREMAP_DONTUNMAP));
  });
  row("mremap-linux-einval-unaligned", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A + 100, P, 2 * P, M));
  });
  row("mremap-linux-einval-new-len-zero", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, 0, M));
  });
  row("mremap-linux-efault-unmapped", () => {
    const p = linuxProc();
    fails(p, "mremap", "EFAULT", () => p.mremap(A, P, 2 * P, M));
  });
  row("mremap-linux-efault-crosses-vmas", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EFAULT", () => p.mremap(A, 2 * P, 4 * P, M));
  });
  row("mremap-linux-shrink", () => {
    const p = linuxProc();
    p.mmap(A, 4 * P, LRW, LANON | L.MAP_FIXED);
    expect(p.mremap(A, 4 * P, P, 0)).toBe(A);
    expect(at(p, A)?.end).toBe(A + P);
    expect(at(p, A + P)).toBeUndefined();
  });
  row("mremap-linux-same-size", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    expect(p.mremap(A, P, P, 0)).toBe(A);
  });
  row("mremap-linux-grow-in-place", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    expect(p.mremap(A, P, 3 * P, 0)).toBe(A);
    expect(at(p, A + 2 * P)?.prot).toBe(LRW);
  });
  row("mremap-linux-enomem-cannot-grow", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "ENOMEM", () => p.mremap(A, P, 2 * P, 0));
    expect(snapshot(p)).toBe(before);
  });
  row("mremap-linux-maymove-moves-pages", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.write8(A, 77);
    const b = p.mremap(A, P, 2 * P, M);
    expect(b).not.toBe(A);
    expect(p.read8(b)).toBe(77);
    expect(at(p, A)).toBeUndefined();
  });
  row("mremap-linux-einval-old-len-zero-private", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, 0, P, M));
  });
  row("mremap-linux-old-len-zero-shared-duplicates", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    const b = p.mremap(A, 0, P, M);
    expect(b).not.toBe(A);
    p.write8(b, 5);
    expect(p.read8(A)).toBe(5);
  });
  row("mremap-linux-einval-fixed-unaligned", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, P, M | L.MREMAP_FIXED, A + 16 * P + 8));
  });
  row("mremap-linux-einval-fixed-overlap", () => {
    const p = linuxProc();
    p.mmap(A, 2 * P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, 2 * P, 2 * P, M | L.MREMAP_FIXED, A + P));
  });
  row("mremap-linux-einval-fixed-beyond-task-size", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, P, M | L.MREMAP_FIXED, 2 ** 47));
  });
  row("mremap-linux-fixed-replaces-destination", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + 16 * P, 2 * P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.write8(A, 11);
    expect(p.mremap(A, P, P, M | L.MREMAP_FIXED, A + 16 * P)).toBe(A + 16 * P);
    expect(p.read8(A + 16 * P)).toBe(11);
    expect(at(p, A + 16 * P)?.prot).toBe(LRW);
    expect(at(p, A + 17 * P)?.prot).toBe(L.PROT_READ); // only [new, new + new_len) is unmapped
    expect(at(p, A)).toBeUndefined();
  });
  row("mremap-linux-fixed-shrink", () => {
    const p = linuxProc();
    p.mmap(A, 3 * P, LRW, LANON | L.MAP_FIXED);
    p.write8(A, 12);
    expect(p.mremap(A, 3 * P, P, M | L.MREMAP_FIXED, A + 16 * P)).toBe(A + 16 * P);
    expect(p.read8(A + 16 * P)).toBe(12);
    expect(at(p, A + 16 * P)?.end).toBe(A + 17 * P);
    expect(p.maps()).toHaveLength(1);
  });
  row("mremap-linux-dontunmap", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.write8(A, 13);
    const b = p.mremap(A, P, P, M | L.MREMAP_DONTUNMAP);
    expect(b).not.toBe(A);
    expect(p.read8(b)).toBe(13);
    expect(p.read8(A)).toBe(0); // still mapped, now empty
  });
  row("mremap-linux-eagain-locked-grow", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_MEMLOCK, { soft: 2 * P, hard: 2 * P });
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED | L.MAP_LOCKED);
    fails(p, "mremap", "EAGAIN", () => p.mremap(A, P, 4 * P, M));
  });
  row("mremap-linux-enomem-no-space", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "ENOMEM", () => p.mremap(A, P, 2 ** 47 - A, M));
    expect(snapshot(p)).toBe(before);
  });
  row("mremap-linux-eperm-fixed-below-mmap-min-addr", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EPERM", () => p.mremap(A, P, P, M | L.MREMAP_FIXED, 0x1000));
    expect(at(p, A)?.prot).toBe(LRW);
    const q = linuxProc({}, true);
    q.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    expect(q.mremap(A, P, P, M | L.MREMAP_FIXED, 0x1000)).toBe(0x1000);
  });
  row("mremap-linux-fixed-moves-each-vma", () => {
    // Linux 6.17 on (checked on 6.18): MREMAP_FIXED without a size change moves every vma of
    // the old range, the holes between them kept; the destination's pages over a hole stay.
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.mmap(A + 3 * P, P, LRW, LANON | L.MAP_FIXED);
    p.write8(A, 0xa1);
    p.write8(A + 3 * P, 0xb1);
    p.mmap(A + 16 * P, 5 * P, L.PROT_EXEC, LANON | L.MAP_FIXED);
    expect(p.mremap(A, 4 * P, 4 * P, M | L.MREMAP_FIXED, A + 16 * P)).toBe(A + 16 * P);
    for (let i = 0; i < 4; i++) expect(at(p, A + i * P)).toBeUndefined();
    expect(at(p, A + 16 * P)?.prot).toBe(LRW);
    expect(at(p, A + 17 * P)?.prot).toBe(L.PROT_READ);
    expect(at(p, A + 18 * P)?.prot).toBe(L.PROT_EXEC); // over the hole: kept
    expect(at(p, A + 19 * P)?.prot).toBe(LRW);
    expect(at(p, A + 20 * P)?.prot).toBe(L.PROT_EXEC);
    expect(p.read8(A + 16 * P)).toBe(0xa1);
    expect(p.read8(A + 19 * P)).toBe(0xb1);
    // A hole at the old address is EFAULT, and nothing changes.
    p.mmap(A + 33 * P, P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "EFAULT", () => p.mremap(A + 32 * P, 2 * P, 2 * P, M | L.MREMAP_FIXED, A));
    expect(snapshot(p)).toBe(before);
  });
  row("mremap-linux-fixed-moves-each-vma-holes-and-locks", () => {
    // Only each vma's own destination is unmapped: a sealed page over a hole's destination
    // does not refuse the move. A locked vma stays locked and resident where it lands.
    // Checked on 6.18.
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + 2 * P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.mmap(A + 17 * P, P, L.PROT_EXEC, LANON | L.MAP_FIXED);
    p.mseal(A + 17 * P, P, 0);
    expect(p.mremap(A, 3 * P, 3 * P, M | L.MREMAP_FIXED, A + 16 * P)).toBe(A + 16 * P);
    expect([16, 17, 18].map((i) => at(p, A + i * P)?.prot)).toEqual([
      LRW,
      L.PROT_EXEC,
      L.PROT_READ,
    ]);
    p.mmap(A + 32 * P, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + 34 * P, 2 * P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.mlock(A + 32 * P, 2 * P);
    expect(p.mremap(A + 32 * P, 4 * P, 4 * P, M | L.MREMAP_FIXED, A + 48 * P)).toBe(A + 48 * P);
    expect(Array.from(p.mincore(A + 48 * P, 4 * P), (v) => v & 1)).toEqual([1, 1, 0, 0]);
    expect(at(p, A + 48 * P)?.wired).toBe(1);
    p.sys.audit();
  });
  row("mremap-linux-fixed-dontunmap-stops-at-failing-vma", () => {
    // remap_move moves vma by vma: the second vma's may_expand_vm (RLIMIT_AS) fails after the
    // first moved (checked on 6.18).
    const p = linuxProc();
    p.mmap(A, 2 * P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + 3 * P, 2 * P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.write8(A, 0xa1);
    p.setrlimit(L.RLIMIT_AS, { soft: 7 * P, hard: 7 * P });
    const flags = M | L.MREMAP_FIXED | L.MREMAP_DONTUNMAP;
    fails(p, "mremap", "ENOMEM", () => p.mremap(A, 5 * P, 5 * P, flags, A + 16 * P));
    expect(p.read8(A + 16 * P)).toBe(0xa1);
    expect(p.read8(A)).toBe(0); // DONTUNMAP: left mapped, empty
    expect(at(p, A + 19 * P)).toBeUndefined();
    expect(at(p, A + 3 * P)?.prot).toBe(L.PROT_READ);
  });
  row("mremap-linux-fixed-grow-efault-destination-kept", () => {
    // Linux 6.16 on: the old range's checks come before the destination is unmapped.
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    p.mmap(A + 16 * P, 4 * P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "EFAULT", () => p.mremap(A, 2 * P, 3 * P, M | L.MREMAP_FIXED, A + 16 * P));
    expect(snapshot(p)).toBe(before);
  });
  row("mremap-linux-fixed-old-len-zero-onto-itself", () => {
    // Found by a fresh-seed Linux property run (seed 1895657405, path 1): with old_size 0 the
    // kernel's overlap test sees no overlap. A private mapping is EINVAL first; a shared one
    // loses the destination, its own first page, and the old address is then unmapped.
    const p = linuxProc();
    p.mmap(A, 2 * P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, 0, P, M | L.MREMAP_FIXED, A));
    expect(snapshot(p)).toBe(before);
    p.mmap(A, 2 * P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    fails(p, "mremap", "EFAULT", () => p.mremap(A, 0, P, M | L.MREMAP_FIXED, A));
    expect(at(p, A)).toBeUndefined();
    expect(at(p, A + P)?.prot).toBe(LRW);
  });
  row("mremap-linux-dontunmap-aligned-lengths", () => {
    // check_mremap_params compares the page-aligned lengths (6.16 on).
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    expect(p.mremap(A, P, P - 1, M | L.MREMAP_DONTUNMAP)).not.toBe(A);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, P + 1, M | L.MREMAP_DONTUNMAP));
  });
  row("mremap-linux-einval-before-efault", () => {
    // The arguments are checked before the old address is looked up (6.16 on).
    const p = linuxProc();
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, P, M | L.MREMAP_FIXED, A + 16 * P + 1));
    fails(p, "mremap", "EINVAL", () => p.mremap(A, P, 2 ** 47, M));
    fails(p, "mremap", "EFAULT", () => p.mremap(A, P, 2 * P, M));
  });
  row("mremap-linux-einval-old-range-beyond-task-size", () => {
    const p = linuxProc();
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, 2 ** 47, P, 0));
    expect(snapshot(p)).toBe(before);
    p.mmap(A - 16 * P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    fails(p, "mremap", "EINVAL", () => p.mremap(A, 2 ** 47, P, M | L.MREMAP_FIXED, A - 16 * P));
    expect(at(p, A - 16 * P)).toBeUndefined(); // the destination went first
    expect(at(p, A)?.prot).toBe(LRW);
  });
  row("mremap-linux-enomem-rlimit-data", () => {
    // may_expand_vm: a private writable mapping grows against RLIMIT_DATA too; a read-only one
    // does not (checked on 6.18).
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_DATA, { soft: 3 * P, hard: 3 * P });
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    p.mmap(A + 32 * P, P, L.PROT_READ, LANON | L.MAP_FIXED);
    const before = snapshot(p);
    fails(p, "mremap", "ENOMEM", () => p.mremap(A, P, 8 * P, M));
    expect(snapshot(p)).toBe(before);
    expect(p.mremap(A + 32 * P, P, 8 * P, M)).toBe(A + 32 * P);
  });
  row("mremap-linux-enomem-rlimit-as", () => {
    const p = linuxProc();
    p.setrlimit(L.RLIMIT_AS, { soft: 2 * P, hard: 2 * P });
    p.mmap(A, P, LRW, LANON | L.MAP_FIXED);
    fails(p, "mremap", "ENOMEM", () => p.mremap(A, P, 4 * P, M));
  });
});

// ---------------------------------------------------------------------- fork, exit

describe("fork and exit", () => {
  row("fork-freebsd-copy-on-write", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, FANON | F.MAP_FIXED);
    p.write8(FB_FIXED, 1);
    const c = p.fork();
    c.write8(FB_FIXED, 2);
    expect(p.read8(FB_FIXED)).toBe(1);
    expect(c.read8(FB_FIXED)).toBe(2);
  });
  row("fork-freebsd-shared-anon", () => {
    const p = freebsdProc();
    p.mmap(FB_FIXED, P, FRW, F.MAP_ANON | F.MAP_SHARED | F.MAP_FIXED);
    const c = p.fork(); // untouched before the fork: still shared
    c.write8(FB_FIXED, 3);
    expect(p.read8(FB_FIXED)).toBe(3);
  });
  row("fork-linux-copy-on-write", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, LANON | L.MAP_FIXED);
    p.write8(LX_FIXED, 1);
    const c = p.fork();
    c.write8(LX_FIXED, 2);
    expect(p.read8(LX_FIXED)).toBe(1);
  });
  row("fork-linux-shared-anon", () => {
    const p = linuxProc();
    p.mmap(LX_FIXED, P, LRW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_FIXED);
    const c = p.fork();
    c.write8(LX_FIXED, 3);
    expect(p.read8(LX_FIXED)).toBe(3);
  });
  row("fork-both-inherits-descriptors-and-limits", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const fd = file(p, "rw");
      const r = p.sys.personality === "linux" ? L.RLIMIT_AS : F.RLIMIT_AS;
      p.setrlimit(r, { soft: GB, hard: GB });
      const c = p.fork();
      expect(c.fds.get(fd)).toBeDefined();
      expect(c.getrlimit(r)).toEqual({ soft: GB, hard: GB });
    }
  });
  row("exit-both-releases-everything", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const free = p.sys.stats().frames.free;
      const anon = p.sys.personality === "linux" ? LANON : FANON;
      const a = p.mmap(0, 8 * P, 3, anon);
      for (let i = 0; i < 8; i++) p.write8(a + i * P, 1);
      const c = p.fork();
      p.exit();
      c.exit();
      expect(p.alive).toBe(false);
      expect(p.sys.processes()).toHaveLength(0);
      expect(p.sys.stats().frames.free).toBe(free);
      p.exit(); // a second exit does nothing
    }
  });
  row("exit-both-shared-file-written-back", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const f = new MemoryFile(P);
      const fd = p.fds.open(f, "rw");
      const a = p.mmap(0, P, 3, 0x01 /* MAP_SHARED in both */, fd, 0);
      p.write8(a + 5, 0x5a);
      p.exit();
      expect(f.read(5, 1)[0]).toBe(0x5a);
    }
  });
  row("exit-both-esrch-after-exit", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      p.exit();
      fails(p, "mmap", "ESRCH", () => p.mmap(0, P, 3, p.sys.constants.MAP_ANON | 0x02));
      fails(p, "munmap", "ESRCH", () => p.munmap(LX_FIXED, P));
      fails(p, "brk", "ESRCH", () => p.brk(0));
      fails(p, "fork", "ESRCH", () => p.fork());
      fails(p, "setrlimit", "ESRCH", () => p.setrlimit(2, { soft: 1, hard: 1 }));
    }
  });
});

// ---------------------------------------------------------------------- setrlimit, getrlimit

describe("setrlimit and getrlimit", () => {
  row("setrlimit-both-einval-resource", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      fails(p, "setrlimit", "EINVAL", () => p.setrlimit(99, { soft: 1, hard: 1 }));
      fails(p, "setrlimit", "EINVAL", () => p.setrlimit(-1, { soft: 1, hard: 1 }));
    }
  });
  row("setrlimit-both-einval-malformed", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      fails(p, "setrlimit", "EINVAL", () => p.setrlimit(2, { soft: Number.NaN, hard: 1 }));
      fails(p, "setrlimit", "EINVAL", () => p.setrlimit(2, { soft: 0.5, hard: 1 }));
    }
  });
  row("setrlimit-linux-einval-soft-above-hard", () => {
    const p = linuxProc();
    fails(p, "setrlimit", "EINVAL", () => p.setrlimit(L.RLIMIT_DATA, { soft: 2, hard: 1 }));
  });
  row("setrlimit-freebsd-soft-above-hard-clamped", () => {
    // kern_proc_setrlimit: a soft limit above the hard one is lowered to it, not refused.
    const p = freebsdProc();
    p.setrlimit(F.RLIMIT_NOFILE, { soft: 200, hard: 100 });
    expect(p.getrlimit(F.RLIMIT_NOFILE)).toEqual({ soft: 100, hard: 100 });
  });
  row("setrlimit-both-hard-limit-raised", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const r = p.sys.personality === "linux" ? L.RLIMIT_MEMLOCK : F.RLIMIT_MEMLOCK;
      p.setrlimit(r, { soft: GB, hard: 2 * GB });
      expect(p.getrlimit(r)).toEqual({ soft: GB, hard: 2 * GB });
    }
  });
  row("setrlimit-freebsd-as-is-vmem", () => {
    const p = freebsdProc();
    expect(F.RLIMIT_AS).toBe(F.RLIMIT_VMEM);
    p.setrlimit(F.RLIMIT_VMEM, { soft: MB, hard: MB });
    expect(p.getrlimit(F.RLIMIT_AS)).toEqual({ soft: MB, hard: MB });
  });
  row("getrlimit-both-einval-resource", () => {
    const fp = freebsdProc();
    fails(fp, "getrlimit", "EINVAL", () => fp.getrlimit(F.RLIMIT_UMTXP + 1));
    const lp = linuxProc();
    fails(lp, "getrlimit", "EINVAL", () => lp.getrlimit(L.RLIMIT_RTTIME + 1));
    fails(lp, "getrlimit", "EINVAL", () => lp.getrlimit(1.5));
  });
  row("getrlimit-freebsd-defaults", () => {
    const p = freebsdProc();
    expect(p.getrlimit(F.RLIMIT_DATA)).toEqual({ soft: 32 * GB, hard: 32 * GB });
    expect(p.getrlimit(F.RLIMIT_STACK)).toEqual({ soft: 512 * MB, hard: 512 * MB });
    expect(p.getrlimit(F.RLIMIT_MEMLOCK)).toEqual({ soft: 64 * KB, hard: 64 * KB });
    expect(p.getrlimit(F.RLIMIT_AS)).toEqual({ soft: Infinity, hard: Infinity });
  });
  row("getrlimit-linux-defaults", () => {
    const p = linuxProc();
    expect(p.getrlimit(L.RLIMIT_STACK)).toEqual({ soft: 8 * MB, hard: Infinity });
    expect(p.getrlimit(L.RLIMIT_MEMLOCK)).toEqual({ soft: 8 * MB, hard: 8 * MB });
    expect(p.getrlimit(L.RLIMIT_DATA)).toEqual({ soft: Infinity, hard: Infinity });
    expect(p.getrlimit(L.RLIMIT_AS)).toEqual({ soft: Infinity, hard: Infinity });
  });
});

// ---------------------------------------------------------------------- shm_open, shm_unlink

describe("shm_open and shm_unlink", () => {
  row("shm-open-both-same-name-same-object", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const sys = p.sys;
      const q = sys.createProcess();
      const shm = sys.shmOpen("/obj");
      expect(sys.shmOpen("/obj")).toBe(shm);
      sys.ftruncate(shm, P);
      const shared = sys.personality === "linux" ? L.MAP_SHARED : F.MAP_SHARED;
      const a = p.mmap(0, P, FRW, shared, p.fds.open(shm, "rw"), 0);
      const b = q.mmap(0, P, FRW, shared, q.fds.open(sys.shmOpen("/obj"), "rw"), 0);
      p.write32(a, 0x1234);
      expect(q.read32(b)).toBe(0x1234);
      q.write8(b + 9, 3);
      expect(p.read8(a + 9)).toBe(3);
    }
  });
  row("shm-open-freebsd-einval-no-slash", () => {
    const p = freebsdProc();
    fails(p, "shm_open", "EINVAL", () => p.sys.shmOpen("obj"));
    fails(p, "shm_open", "EINVAL", () => p.sys.shmOpen(""));
    expect(p.sys.shmOpen("/a/b").name).toBe("/a/b");
  });
  row("shm-open-linux-einval-bad-name", () => {
    const p = linuxProc();
    for (const bad of ["", "/", ".", "/..", "/a/b", "a/"])
      fails(p, "shm_open", "EINVAL", () => p.sys.shmOpen(bad));
    expect(p.sys.shmOpen("x")).toBe(p.sys.shmOpen("//x"));
  });
  row("shm-open-both-enametoolong", () => {
    const fp = freebsdProc();
    expect(fp.sys.shmOpen(`/${"n".repeat(1022)}`).name.length).toBe(1023);
    fails(fp, "shm_open", "ENAMETOOLONG", () => fp.sys.shmOpen(`/${"n".repeat(1023)}`));
    const lp = linuxProc();
    expect(lp.sys.shmOpen(`/${"n".repeat(255)}`).name.length).toBe(255);
    fails(lp, "shm_open", "ENAMETOOLONG", () => lp.sys.shmOpen(`/${"n".repeat(256)}`));
  });
  row("shm-open-both-eexist-exclusive", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      p.sys.shmOpen("/e", { exclusive: true });
      fails(p, "shm_open", "EEXIST", () => p.sys.shmOpen("/e", { exclusive: true }));
    }
  });
  row("shm-open-both-enoent-no-create", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      fails(p, "shm_open", "ENOENT", () => p.sys.shmOpen("/none", { create: false }));
      const s = p.sys.shmOpen("/some");
      expect(p.sys.shmOpen("/some", { create: false })).toBe(s);
    }
  });
  row("shm-unlink-both-enoent-unknown", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      fails(p, "shm_unlink", "ENOENT", () => p.sys.shmUnlink("/never"));
      p.sys.shmOpen("/once");
      p.sys.shmUnlink("/once");
      fails(p, "shm_unlink", "ENOENT", () => p.sys.shmUnlink("/once"));
    }
    const fp = freebsdProc();
    fails(fp, "shm_unlink", "EINVAL", () => fp.sys.shmUnlink("once"));
  });
  row("shm-unlink-both-opens-keep-object", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const sys = p.sys;
      const shm = sys.shmOpen("/k");
      shm.truncate(P);
      const shared = sys.personality === "linux" ? L.MAP_SHARED : F.MAP_SHARED;
      const fd = p.fds.open(shm, "rw");
      const a = p.mmap(0, P, FRW, shared, fd, 0);
      p.write8(a, 77);
      sys.shmUnlink("/k");
      expect(p.read8(a)).toBe(77);
      const b = p.mmap(0, P, FRW, shared, fd, 0);
      expect(p.read8(b)).toBe(77);
      expect(sys.shmOpen("/k")).not.toBe(shm);
      if (sys.personality === "linux") expect(at(p, a)?.path).toBe("/dev/shm/k (deleted)");
      else expect(at(p, a)?.path).toBe("/k");
    }
  });
});

// ---------------------------------------------------------------------- device mappings

describe("device mappings", () => {
  const device = () => new Device(P + 8, { read: () => 0, write: () => {} }, "/dev/regs");
  row("mmap-both-einval-device-private", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const fd = p.fds.open(device(), "rw");
      const priv = p.sys.personality === "linux" ? L.MAP_PRIVATE : F.MAP_PRIVATE;
      const before = snapshot(p);
      fails(p, "mmap", "EINVAL", () => p.mmap(0, P, FRW, priv, fd, 0));
      expect(snapshot(p)).toBe(before);
    }
  });
  row("mmap-both-einval-device-beyond-end", () => {
    for (const p of [freebsdProc(), linuxProc()]) {
      const fd = p.fds.open(device(), "rw");
      const shared = p.sys.personality === "linux" ? L.MAP_SHARED : F.MAP_SHARED;
      fails(p, "mmap", "EINVAL", () => p.mmap(0, 3 * P, FRW, shared, fd, 0));
      fails(p, "mmap", "EINVAL", () => p.mmap(0, 2 * P, FRW, shared, fd, P));
      const a = p.mmap(0, 2 * P, FRW, shared, fd, 0);
      expect(at(p, a)?.kind).toBe("device");
    }
  });
  row("madvise-linux-enodev-remove-device", () => {
    const p = linuxProc();
    const a = p.mmap(0, P, FRW, L.MAP_SHARED, p.fds.open(device(), "rw"), 0);
    const before = snapshot(p);
    fails(p, "madvise", "ENODEV", () => p.madvise(a, P, L.MADV_REMOVE));
    expect(snapshot(p)).toBe(before);
  });
  row("madvise-linux-einval-dontneed-device", () => {
    const p = linuxProc();
    const a = p.mmap(0, P, FRW, L.MAP_SHARED, p.fds.open(device(), "rw"), 0);
    const before = snapshot(p);
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_DONTNEED));
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_DONTNEED_LOCKED));
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_FREE));
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_COLD));
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_PAGEOUT));
    expect(snapshot(p)).toBe(before);
  });
  row("madvise-linux-einval-dofork-dodump-device", () => {
    const p = linuxProc();
    const a = p.mmap(0, P, FRW, L.MAP_SHARED, p.fds.open(device(), "rw"), 0);
    p.madvise(a, P, L.MADV_DONTFORK);
    p.madvise(a, P, L.MADV_DONTDUMP);
    const before = snapshot(p);
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_DOFORK));
    fails(p, "madvise", "EINVAL", () => p.madvise(a, P, L.MADV_DODUMP));
    expect(snapshot(p)).toBe(before);
    expect(at(p.fork(), a)).toBeUndefined(); // still VM_DONTCOPY
  });
  row("mremap-linux-efault-device-grow", () => {
    const p = linuxProc();
    const a = p.mmap(0, P, FRW, L.MAP_SHARED, p.fds.open(device(), "rw"), 0);
    const before = snapshot(p);
    fails(p, "mremap", "EFAULT", () => p.mremap(a, P, 2 * P, L.MREMAP_MAYMOVE));
    expect(snapshot(p)).toBe(before);
    // Moving it whole is allowed.
    const b = p.mremap(a, P, P, L.MREMAP_MAYMOVE | L.MREMAP_FIXED, LX_FIXED);
    expect(at(p, b)?.kind).toBe("device");
  });
  row("mremap-linux-einval-device-dontunmap", () => {
    const p = linuxProc();
    const a = p.mmap(0, P, FRW, L.MAP_SHARED, p.fds.open(device(), "rw"), 0);
    const before = snapshot(p);
    fails(p, "mremap", "EINVAL", () => p.mremap(a, P, P, L.MREMAP_MAYMOVE | L.MREMAP_DONTUNMAP));
    expect(snapshot(p)).toBe(before);
  });
  row("minherit-freebsd-einval-device-copy", () => {
    const p = freebsdProc();
    const a = p.mmap(0, P, FRW, F.MAP_SHARED, p.fds.open(device(), "rw"), 0);
    const before = snapshot(p);
    fails(p, "minherit", "EINVAL", () => p.minherit(a, P, F.INHERIT_COPY));
    fails(p, "minherit", "EINVAL", () => p.minherit(a, P, F.INHERIT_ZERO));
    expect(snapshot(p)).toBe(before);
  });
});

// ---------------------------------------------------------------------- the doc and the tests

describe("docs/syscalls.md", () => {
  it("has a test for every row and a row for every test", () => {
    const path = fileURLToPath(new URL("../docs/syscalls.md", import.meta.url));
    const text = readFileSync(path, "utf8");
    const ids: string[] = [];
    for (const m of text.matchAll(/^\|\s*`([a-z0-9]+(?:-[a-z0-9]+)+)`\s*\|/gm)) ids.push(m[1]);
    const inDoc = new Set(ids);
    expect(ids.length, "row ids are unique").toBe(inDoc.size);
    expect(
      [...inDoc].filter((id) => !registered.has(id)),
      "rows without a test",
    ).toEqual([]);
    expect(
      [...registered].filter((id) => !inDoc.has(id)),
      "tests without a row",
    ).toEqual([]);
  });
});
