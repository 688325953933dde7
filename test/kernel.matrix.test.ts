/**
 * vmspace's Linux personality against this machine's own kernel: test/kernel/matrix.c made
 * every madvise advice 0-25, a dozen mprotect protections, msync flags 0-8, mlock (and munlock)
 * and four kinds of mremap on the middle two pages of a fresh four-page mapping of each kind
 * (private and shared anonymous, private, shared and read-only file, PROT_NONE, MAP_LOCKED
 * private and shared, MAP_GROWSDOWN), on Linux 6.18 x86-64, and recorded the errno of each call
 * in test/golden/kernel/matrix.linux.txt (how to record it again: the comment at the top of
 * matrix.c). Here each call is made the same way and must end with the same errno; the audit
 * runs after each. Then mmap with no hint: twenty flag sets, six protections, no descriptor, a
 * read-write and a read-only one, offsets 0, a page and 100. 1,557 calls.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { linux as L, type LinuxProcess, MemoryFile, VmError, VmSystem } from "../src/index.js";
import { LINUX_ERRNO_H } from "./errnoh.js";

const P = 4096;
const RW = L.PROT_READ | L.PROT_WRITE;
const ANON = L.MAP_PRIVATE | L.MAP_ANONYMOUS;

/** The kinds of mapping, in matrix.c's order and with its names. */
const KINDS: Record<string, (p: LinuxProcess, rw: number, ro: number) => number> = {
  anon: (p) => p.mmap(0, 4 * P, RW, ANON, -1, 0),
  shanon: (p) => p.mmap(0, 4 * P, RW, L.MAP_SHARED | L.MAP_ANONYMOUS, -1, 0),
  filepriv: (p, rw) => p.mmap(0, 4 * P, RW, L.MAP_PRIVATE, rw, 0),
  fileshared: (p, rw) => p.mmap(0, 4 * P, RW, L.MAP_SHARED, rw, 0),
  filero: (p, _rw, ro) => p.mmap(0, 4 * P, L.PROT_READ, L.MAP_SHARED, ro, 0),
  none: (p) => p.mmap(0, 4 * P, L.PROT_NONE, ANON, -1, 0),
  locked: (p) => p.mmap(0, 4 * P, RW, ANON | L.MAP_LOCKED, -1, 0),
  growsdown: (p) => p.mmap(0, 4 * P, RW, ANON | L.MAP_GROWSDOWN, -1, 0),
  lockedshared: (p) => p.mmap(0, 4 * P, RW, L.MAP_SHARED | L.MAP_ANONYMOUS | L.MAP_LOCKED, -1, 0),
};

const CALLS = ["madvise", "mprotect", "msync", "mlock", "mremap", "mmap"] as const;
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
      if (!CALLS.includes(call as Call) || !(kind in KINDS || call === "mmap"))
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

/** mremap's new length and flags for matrix.c's cases 0-3. */
const MREMAP: readonly [number, number][] = [
  [3 * P, 0],
  [3 * P, L.MREMAP_MAYMOVE],
  [2 * P, L.MREMAP_MAYMOVE | L.MREMAP_DONTUNMAP],
  [P, 0],
];

/** Makes one call of the matrix at `at`; returns where mremap moved the pages, else -1. */
function run(p: LinuxProcess, call: Exclude<Call, "mmap">, at: number, arg: number): number {
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

describe("Linux personality against Linux 6.18 (test/kernel/matrix.c)", () => {
  const all = lines();
  it("has every call matrix.c makes", () => {
    expect(all.length).toBe(1557);
    expect(new Set(all.filter((l) => l.call !== "mmap").map((l) => l.kind)).size).toBe(9);
  });
  it("mmap: every call ends with the kernel's errno", () => {
    const sys = new VmSystem({ personality: "linux", physicalMemory: 64 << 20 });
    const p = sys.createProcess() as LinuxProcess;
    const file = new MemoryFile(8 * P);
    const fds: Record<string, number> = {
      none: -1,
      rw: p.fds.open(file, "rw"),
      ro: p.fds.open(file, "r"),
    };
    const got: string[] = [];
    const want: string[] = [];
    for (const l of all.filter((x) => x.call === "mmap")) {
      const [flags, prot, off] = l.spec.split(":").map(Number);
      let errno = 0;
      try {
        const a = p.mmap(0, 2 * P, prot, flags, fds[l.kind], off);
        p.munmap(a, 2 * P);
      } catch (e) {
        if (!(e instanceof VmError)) throw e;
        errno = LINUX_ERRNO_H[e.code];
      }
      got.push(`mmap ${l.kind} ${l.spec} ${errno}`);
      want.push(`mmap ${l.kind} ${l.spec} ${l.errno}`);
    }
    sys.audit();
    expect(got).toEqual(want);
  });
  for (const call of ["madvise", "mprotect", "msync", "mlock", "mremap"] as const)
    it(`${call}: every call ends with the kernel's errno`, () => {
      const sys = new VmSystem({ personality: "linux", physicalMemory: 64 << 20 });
      const p = sys.createProcess() as LinuxProcess;
      const file = new MemoryFile(8 * P);
      const rw = p.fds.open(file, "rw");
      const ro = p.fds.open(file, "r");
      const got: string[] = [];
      const want: string[] = [];
      for (const l of all.filter((x) => x.call === call)) {
        const a = KINDS[l.kind](p, rw, ro);
        if (l.kind !== "none" && l.kind !== "filero") p.write8(a, 1);
        let errno = 0;
        let moved = -1;
        try {
          moved = run(p, call, a + P, l.arg);
        } catch (e) {
          if (!(e instanceof VmError)) throw e;
          errno = LINUX_ERRNO_H[e.code];
        }
        const what = `${call} ${l.kind} ${l.arg}`;
        got.push(`${what} ${errno}`);
        want.push(`${what} ${l.errno}`);
        if (moved >= 0) p.munmap(moved, l.arg === 2 ? 2 * P : 3 * P);
        p.munmap(a, 4 * P);
        sys.audit();
      }
      expect(got).toEqual(want);
    });
});
