/**
 * MAP_DROPPABLE against this machine's Linux 6.18: test/kernel/droppable.c made these calls and
 * recorded what it saw in test/golden/kernel/droppable.linux.txt (how to record it again: the
 * comment at the top of droppable.c). Here the same calls are made on vmspace, with the audit
 * after each step, and must print the same lines: which flags a droppable mapping takes (only
 * anonymous; not with MAP_LOCKED, MAP_GROWSDOWN or another type), that fork wipes it whatever
 * the advice (MADV_KEEPONFORK is EINVAL), that mlock and mlockall populate it without locking
 * it (under MCL_FUTURE too), that mremap keeps it droppable (the old range of MREMAP_DONTUNMAP
 * too), and which vmas droppable and private neighbours make.
 */

import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { linux as L } from "../src/index.js";
import { errnoOf, P, RW, readsOf, session } from "./kernelKinds.js";

const A = L.MAP_DROPPABLE | L.MAP_ANONYMOUS;

function transcript(): string[] {
  const { sys, p, rw } = session();
  const out: string[] = [];
  const line = (s: string) => {
    out.push(s);
    sys.audit();
  };
  const rc = (what: string, fn: () => unknown) => line(`${what} ${errnoOf(fn)}`);
  const tryMmap = (what: string, prot: number, flags: number, fd: number) => {
    let a = -1;
    line(`mmap ${what} ${errnoOf(() => (a = p.mmap(0, 4 * P, prot, flags, fd, 0)))}`);
    return a;
  };
  const reads = (what: string, a: number, n: number) => line(`${what}${readsOf(p, a, n)}`);
  const core = (what: string, a: number, n: number) =>
    line(`${what} core ${[...p.mincore(a, n * P)].map((v) => v & 1).join("")}`);
  const vmas = (what: string, r: number, n: number) =>
    line(
      `${what}${p
        .maps()
        .filter((m) => m.start >= r && m.end <= r + n * P)
        .map((m) => ` ${(m.start - r) / P}-${(m.end - r) / P}:${perms(m.prot, m.shared)}`)
        .join("")}`,
    );
  const a = tryMmap("anon", RW, A, -1);
  tryMmap("file", RW, L.MAP_DROPPABLE, rw);
  tryMmap("locked", RW, A | L.MAP_LOCKED, -1);
  tryMmap("growsdown", RW, A | L.MAP_GROWSDOWN, -1);
  tryMmap("stack", RW, A | L.MAP_STACK, -1);
  tryMmap("noreserve", RW, A | L.MAP_NORESERVE, -1);
  tryMmap("none", L.PROT_NONE, A, -1);
  tryMmap("type-0xb", RW, 0x0b | L.MAP_ANONYMOUS, -1);
  const pop = tryMmap("populate", RW, A | L.MAP_POPULATE, -1);
  core("populate", pop, 4);
  p.write8(a, 5);
  p.write8(a + P, 6);
  reads("fork", a, 2);
  rc("keeponfork", () => p.madvise(a, 4 * P, L.MADV_KEEPONFORK));
  rc("wipeonfork", () => p.madvise(a, 4 * P, L.MADV_WIPEONFORK));
  rc("dontfork", () => p.madvise(a, 4 * P, L.MADV_DONTFORK));
  rc("dofork", () => p.madvise(a, 4 * P, L.MADV_DOFORK));
  reads("fork after dofork", a, 2);
  rc("free", () => p.madvise(a + 2 * P, P, L.MADV_FREE));
  rc("remove", () => p.madvise(a, 4 * P, L.MADV_REMOVE));
  rc("pageout", () => p.madvise(a + 3 * P, P, L.MADV_PAGEOUT));
  rc("mprotect", () => p.mprotect(a + 3 * P, P, L.PROT_READ));
  rc("mprotect back", () => p.mprotect(a + 3 * P, P, RW));
  let l0 = p.map.userWiredPages;
  rc("mlock", () => p.mlock(a, 4 * P));
  line(`mlock locked ${p.map.userWiredPages - l0}`);
  core("mlock", a, 4);
  rc("munlock", () => p.munlock(a, 4 * P));
  let b = -1;
  line(`mremap ${errnoOf(() => (b = p.mremap(a, 4 * P, 8 * P, L.MREMAP_MAYMOVE)))}`);
  line(`mremap kept ${p.read8(b)} ${p.read8(b + P)}`);
  reads("fork after mremap", b, 6);
  line(
    `dontunmap ${errnoOf(() => p.mremap(b, 8 * P, 8 * P, L.MREMAP_MAYMOVE | L.MREMAP_DONTUNMAP))}`,
  );
  rc("keeponfork old range", () => p.madvise(b, P, L.MADV_KEEPONFORK));
  const r = p.mmap(0, 8 * P, L.PROT_NONE, L.MAP_PRIVATE | L.MAP_ANONYMOUS, -1, 0);
  p.mmap(r, 2 * P, RW, A | L.MAP_FIXED, -1, 0);
  p.mmap(r + 2 * P, 2 * P, RW, A | L.MAP_FIXED, -1, 0);
  p.mmap(r + 4 * P, 2 * P, RW, L.MAP_PRIVATE | L.MAP_ANONYMOUS | L.MAP_FIXED, -1, 0);
  vmas("vmas", r, 8);
  p.mprotect(r + P, 2 * P, L.PROT_READ);
  vmas("vmas after mprotect", r, 8);
  p.mprotect(r + P, 2 * P, RW);
  vmas("vmas after mprotect back", r, 8);
  const q = p.mmap(0, 4 * P, RW, A, -1, 0);
  rc("mlockall", () => p.mlockall(L.MCL_CURRENT | L.MCL_FUTURE));
  core("mlockall", q, 4);
  l0 = p.map.userWiredPages;
  let w = -1;
  const rv = errnoOf(() => (w = p.mmap(0, 4 * P, RW, A, -1, 0)));
  line(`future mmap ${rv} locked ${p.map.userWiredPages - l0}`);
  core("future", w, 4);
  p.munlockall();
  return out;
}

/** /proc/PID/maps' permission column. */
function perms(prot: number, shared: boolean): string {
  return `${prot & L.PROT_READ ? "r" : "-"}${prot & L.PROT_WRITE ? "w" : "-"}${prot & L.PROT_EXEC ? "x" : "-"}${shared ? "s" : "p"}`;
}

it("MAP_DROPPABLE: vmspace prints what Linux 6.18 printed (test/kernel/droppable.c)", () => {
  const want = readFileSync(new URL("./golden/kernel/droppable.linux.txt", import.meta.url), "utf8")
    .trim()
    .split("\n");
  expect(want.length).toBe(37);
  expect(transcript()).toEqual(want);
});
