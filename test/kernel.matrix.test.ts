/**
 * vmspace's Linux personality against this machine's own kernel: test/kernel/matrix.c made
 * every madvise advice 0-25 and a dozen mprotect protections on the middle two pages of a fresh
 * four-page mapping of each kind (private and shared anonymous, private, shared and read-only
 * file, PROT_NONE, MAP_LOCKED private and shared, MAP_GROWSDOWN), on Linux 6.18 x86-64, and
 * recorded the errno of each call in test/golden/kernel/matrix.linux.txt (how to record it
 * again: the comment at the top of matrix.c). Here each call is made the same way and must end
 * with the same errno; the audit runs after each. 342 calls.
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

interface Line {
  call: "madvise" | "mprotect";
  kind: string;
  arg: number;
  errno: number;
}

function lines(): Line[] {
  const text = readFileSync(new URL("./golden/kernel/matrix.linux.txt", import.meta.url), "utf8");
  return text
    .trim()
    .split("\n")
    .map((l) => {
      const [call, kind, arg, errno] = l.split(" ");
      if ((call !== "madvise" && call !== "mprotect") || !(kind in KINDS))
        throw new Error(`matrix.linux.txt: bad line ${l}`);
      return { call, kind, arg: Number(arg), errno: Number(errno) };
    });
}

describe("Linux personality against Linux 6.18 (test/kernel/matrix.c)", () => {
  const all = lines();
  it("has every call matrix.c makes", () => {
    expect(all.length).toBe(342);
    expect(new Set(all.map((l) => l.kind)).size).toBe(9);
  });
  for (const call of ["madvise", "mprotect"] as const)
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
        try {
          if (call === "madvise") p.madvise(a + P, 2 * P, l.arg);
          else p.mprotect(a + P, 2 * P, l.arg);
        } catch (e) {
          if (!(e instanceof VmError)) throw e;
          errno = LINUX_ERRNO_H[e.code];
        }
        const what = `${call} ${l.kind} ${l.arg}`;
        got.push(`${what} ${errno}`);
        want.push(`${what} ${l.errno}`);
        p.munmap(a, 4 * P);
        sys.audit();
      }
      expect(got).toEqual(want);
    });
});
