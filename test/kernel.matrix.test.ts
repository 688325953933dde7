/**
 * vmspace's Linux personality against this machine's own kernel: test/kernel/matrix.c made
 * every madvise advice 0-25, a dozen mprotect protections, msync flags 0-8, mlock (and munlock)
 * and four kinds of mremap on the middle two pages of a fresh four-page mapping of each kind
 * (private and shared anonymous, private, shared and read-only file, PROT_NONE, MAP_LOCKED
 * private and shared, MAP_GROWSDOWN), on Linux 6.18 x86-64, and recorded the errno of each call
 * in test/golden/kernel/matrix.linux.txt (how to record it again: the comment at the top of
 * matrix.c). Here each call is made the same way and must end with the same errno; the audit
 * runs after each. Then mmap with no hint: twenty flag sets, six protections, no descriptor, a
 * read-write and a read-only one, offsets 0, a page and 100. Last, 22 calls over a range with
 * a hole in it, or unaligned, or empty (munmap, mprotect, madvise, mincore, mlock, munlock,
 * msync, mremap, mmap with MAP_FIXED_NOREPLACE or an unaligned MAP_FIXED). And what a page
 * holds after ten advices (DONTNEED zeroes private memory, REMOVE punches a hole, FREE keeps
 * the bytes while there is no pressure, ...) over seven kinds: 0x5a written to the middle pages,
 * the advice, the byte read back; one file for the whole run, so its bytes carry from case to
 * case, as in matrix.c. And fork: plain, after MADV_DONTFORK or after MADV_WIPEONFORK, what the
 * child reads (or that the read faults) and what the parent reads after the child wrote. And
 * what mremap carries to the new range (moved larger, moved with MREMAP_DONTUNMAP, shrunk) and
 * what the old range shows under MREMAP_DONTUNMAP. Each section that reads bytes starts from a
 * zeroed file. 1,691 lines.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { linux as L, type LinuxProcess, MemoryFault } from "../src/index.js";
import { ANON, errnoOf, KINDS, P, RW, session } from "./kernelKinds.js";

const CALLS = [
  "madvise",
  "mprotect",
  "msync",
  "mlock",
  "mremap",
  "mmap",
  "misc",
  "value",
  "fork",
  "mremapv",
] as const;
type Call = (typeof CALLS)[number];

interface Line {
  call: Call;
  kind: string;
  arg: number;
  /** The argument as recorded (mmap: "flags:prot:offset"). */
  spec: string;
  errno: number;
}

function lines(): Line[] {
  const text = readFileSync(new URL("./golden/kernel/matrix.linux.txt", import.meta.url), "utf8");
  return text
    .trim()
    .split("\n")
    .map((l) => {
      const [call, kind, arg, errno] = l.split(" ");
      if (!CALLS.includes(call as Call) || !(kind in KINDS || call === "mmap" || call === "misc"))
        throw new Error(`matrix.linux.txt: bad line ${l}`);
      return {
        call: call as Call,
        kind,
        arg: call === "mmap" ? 0 : Number(arg),
        spec: arg,
        errno: Number(errno),
      };
    });
}

/** matrix.c's "misc" cases, by name: each on a 4-page mapping at `a` whose second page is gone. */
const MISC: Record<string, (p: LinuxProcess, a: number) => unknown> = {
  "munmap-unaligned": (p, a) => p.munmap(a + 1, P),
  "munmap-len0": (p, a) => p.munmap(a, 0),
  "munmap-hole": (p, a) => p.munmap(a + P, P),
  "mprotect-over-hole": (p, a) => p.mprotect(a, 4 * P, L.PROT_READ),
  "mprotect-unaligned": (p, a) => p.mprotect(a + 1, P, L.PROT_READ),
  "mprotect-len0": (p, a) => p.mprotect(a + P, 0, L.PROT_READ),
  "mprotect-in-hole": (p, a) => p.mprotect(a + P, P, L.PROT_READ),
  "madvise-over-hole": (p, a) => p.madvise(a, 4 * P, L.MADV_DONTNEED),
  "madvise-unaligned": (p, a) => p.madvise(a + 1, P, L.MADV_DONTNEED),
  "mincore-unaligned": (p, a) => p.mincore(a + 1, P),
  "mincore-hole": (p, a) => p.mincore(a, 4 * P),
  "mincore-len0-hole": (p, a) => p.mincore(a + P, 0),
  "mlock-over-hole": (p, a) => p.mlock(a, 4 * P),
  "munlock-over-hole": (p, a) => p.munlock(a, 4 * P),
  "msync-over-hole": (p, a) => p.msync(a, 4 * P, L.MS_SYNC),
  "msync-unaligned": (p, a) => p.msync(a + 1, P, L.MS_SYNC),
  "mremap-old0-private": (p, a) => p.mremap(a, 0, P, L.MREMAP_MAYMOVE),
  "mremap-over-hole": (p, a) => p.mremap(a, 3 * P, 4 * P, L.MREMAP_MAYMOVE),
  "mremap-shrink-to0": (p, a) => p.mremap(a, P, 0, 0),
  "mmap-noreplace-over": (p, a) => p.mmap(a, P, L.PROT_READ, ANON | L.MAP_FIXED_NOREPLACE, -1, 0),
  "mmap-noreplace-hole": (p, a) =>
    p.mmap(a + P, P, L.PROT_READ, ANON | L.MAP_FIXED_NOREPLACE, -1, 0),
  "mmap-fixed-unaligned": (p, a) => p.mmap(a + 1, P, L.PROT_READ, ANON | L.MAP_FIXED, -1, 0),
};

/** mremap's new length and flags for matrix.c's cases 0-3. */
const MREMAP: readonly [number, number][] = [
  [3 * P, 0],
  [3 * P, L.MREMAP_MAYMOVE],
  [2 * P, L.MREMAP_MAYMOVE | L.MREMAP_DONTUNMAP],
  [P, 0],
];

/** Makes one call of the matrix at `at`; returns where mremap moved the pages, else -1. */
function run(
  p: LinuxProcess,
  call: Exclude<Call, "mmap" | "misc" | "value" | "fork" | "mremapv">,
  at: number,
  arg: number,
): number {
  switch (call) {
    case "madvise":
      p.madvise(at, 2 * P, arg);
      return -1;
    case "mprotect":
      p.mprotect(at, 2 * P, arg);
      return -1;
    case "msync":
      p.msync(at, 2 * P, arg);
      return -1;
    case "mlock":
      p.mlock(at, 2 * P);
      if (arg === 1) p.munlock(at, 2 * P);
      return -1;
    case "mremap": {
      const [len, flags] = MREMAP[arg];
      const r = p.mremap(at, 2 * P, len, flags);
      return r === at ? -1 : r;
    }
  }
}

/**
 * For each recorded line of `call`: a fresh mapping of the line's kind at `a` (its first byte
 * written, and with `bytes` 0x5a at its second page, as matrix.c does), `one` gives the value
 * that the line's last column recorded; the audit runs after each line. Returns the lines
 * computed and recorded, for one comparison.
 */
function replay(
  lines: readonly Line[],
  call: Call,
  bytes: boolean,
  one: (p: LinuxProcess, a: number, l: Line) => number,
): { got: string[]; want: string[] } {
  const { sys, p, rw, ro } = session();
  const got: string[] = [];
  const want: string[] = [];
  for (const l of lines.filter((x) => x.call === call)) {
    const a = KINDS[l.kind](p, rw, ro);
    if (l.kind !== "none" && l.kind !== "filero") p.write8(a, 1);
    if (bytes) p.write8(a + P, 0x5a);
    got.push(`${call} ${l.kind} ${l.spec} ${one(p, a, l)}`);
    want.push(`${call} ${l.kind} ${l.spec} ${l.errno}`);
    p.munmap(a, 4 * P);
    sys.audit();
  }
  return { got, want };
}

describe("Linux personality against Linux 6.18 (test/kernel/matrix.c)", () => {
  const all = lines();
  const check = (r: { got: string[]; want: string[] }) => expect(r.got).toEqual(r.want);
  it("has every call matrix.c makes", () => {
    expect(all.length).toBe(1691);
    const kinds = all
      .filter((l) => !["mmap", "misc", "value", "fork", "mremapv"].includes(l.call))
      .map((l) => l.kind);
    expect(new Set(kinds).size).toBe(9);
  });
  for (const call of ["madvise", "mprotect", "msync", "mlock", "mremap"] as const)
    it(`${call}: every call ends with the kernel's errno`, () =>
      check(
        replay(all, call, false, (p, a, l) => {
          let moved = -1;
          const errno = errnoOf(() => {
            moved = run(p, call, a + P, l.arg);
          });
          if (moved >= 0) p.munmap(moved, l.arg === 2 ? 2 * P : 3 * P);
          return errno;
        }),
      ));
  it("mmap: every call ends with the kernel's errno", () => {
    const { sys, p, rw, ro } = session();
    const fds: Record<string, number> = { none: -1, rw, ro };
    const got: string[] = [];
    const want: string[] = [];
    for (const l of all.filter((x) => x.call === "mmap")) {
      const [flags, prot, off] = l.spec.split(":").map(Number);
      const errno = errnoOf(() => p.munmap(p.mmap(0, 2 * P, prot, flags, fds[l.kind], off), 2 * P));
      got.push(`mmap ${l.kind} ${l.spec} ${errno}`);
      want.push(`mmap ${l.kind} ${l.spec} ${l.errno}`);
    }
    sys.audit();
    check({ got, want });
  });
  it("ranges with a hole, unaligned or empty: every call ends with the kernel's errno", () => {
    const { sys, p } = session();
    const got: string[] = [];
    const want: string[] = [];
    for (const l of all.filter((x) => x.call === "misc")) {
      const a = p.mmap(0, 4 * P, RW, ANON, -1, 0);
      p.write8(a, 1);
      p.munmap(a + P, P);
      got.push(`${l.kind} ${errnoOf(() => MISC[l.kind](p, a))}`);
      want.push(`${l.kind} ${l.errno}`);
      p.munmap(a, 4 * P);
      sys.audit();
    }
    check({ got, want });
  });
  it("what a page holds after each advice: the kernel's byte", () =>
    check(
      replay(all, "value", true, (p, a, l) =>
        errnoOf(() => p.madvise(a + P, 2 * P, l.arg)) === 0 ? p.read8(a + P) : -1,
      ),
    ));
  it("fork: what the child reads, and what the parent reads after the child wrote", () =>
    check(
      replay(all, "fork", true, (p, a, l) => {
        // MADV_WIPEONFORK on shared or file memory is EINVAL: then a plain fork, as in matrix.c.
        if (l.arg === 1) errnoOf(() => p.madvise(a + P, 2 * P, L.MADV_DONTFORK));
        if (l.arg === 2) errnoOf(() => p.madvise(a + P, 2 * P, L.MADV_WIPEONFORK));
        const c = p.fork();
        let child: number;
        try {
          child = c.read8(a + P);
          c.write8(a + P, 0x11);
        } catch (e) {
          if (!(e instanceof MemoryFault)) throw e;
          child = 255;
        }
        c.exit();
        return child * 256 + p.read8(a + P);
      }),
    ));
  it("mremap: what the new range holds, and the old one under MREMAP_DONTUNMAP", () =>
    check(
      replay(all, "mremapv", true, (p, a, l) => {
        const [len, flags] = MREMAP[l.arg];
        let r = -1;
        if (errnoOf(() => (r = p.mremap(a + P, 2 * P, len, flags))) !== 0) return -1;
        const v = p.read8(r) * 256 + (l.arg === 2 ? p.read8(a + P) : 0);
        if (r !== a + P) p.munmap(r, len);
        return v;
      }),
    ));
});
