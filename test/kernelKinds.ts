/**
 * What the tests against this machine's kernel (kernel.matrix.test.ts, kernel.guard.test.ts)
 * share with their C recorders in test/kernel/: the kinds of mapping, in the recorders' order
 * and with their names, a fresh Linux session, and the errno of a call.
 */

import {
  linux as L,
  type LinuxProcess,
  MemoryFault,
  MemoryFile,
  VmError,
  VmSystem,
} from "../src/index.js";
import { LINUX_ERRNO_H } from "./errnoh.js";

export const P = 4096;
export const RW = L.PROT_READ | L.PROT_WRITE;
export const ANON = L.MAP_PRIVATE | L.MAP_ANONYMOUS;

/** The kinds of mapping, in the C recorders' order and with their names (4 pages each). */
export const KINDS: Record<string, (p: LinuxProcess, rw: number, ro: number) => number> = {
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

/** A fresh Linux process with one 8-page file open read-write and read-only. */
export function session(): { sys: VmSystem; p: LinuxProcess; rw: number; ro: number } {
  const sys = new VmSystem({ personality: "linux", physicalMemory: 64 << 20 });
  const p = sys.createProcess() as LinuxProcess;
  const file = new MemoryFile(8 * P);
  return { sys, p, rw: p.fds.open(file, "rw"), ro: p.fds.open(file, "r") };
}

/** The Linux errno of fn's VmError, 0 when it returns. */
export function errnoOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    return LINUX_ERRNO_H[e.code];
  }
}

/** "S" or "B" when fn raises SIGSEGV or SIGBUS, else null. */
export function signalOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e;
    return e.signal === "SIGSEGV" ? "S" : "B";
  }
}

/**
 * Each of the n pages at a read by a forked child, as kinds.h's page_reads prints them:
 * " <byte>", " S" or " B".
 */
export function readsOf(p: LinuxProcess, a: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = p.fork();
    let v = 0;
    s += ` ${
      signalOf(() => {
        v = c.read8(a + i * P);
      }) ?? v
    }`;
    c.exit();
  }
  return s;
}
