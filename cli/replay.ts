/**
 * `vmspace replay`: rebuilds every address space of a real Linux program from its trace (see
 * cli/trace.ts) on a `personality: "linux"` system, and compares each final space with the
 * kernel's own /proc/PID/maps.
 *
 * How a trace becomes address spaces:
 * - an execve with a snapshot (`maps/<pid>.exec<k>.maps`) starts a new space from it: every
 *   line is mapped MAP_FIXED with its protection and sharing (files as in-memory files of the
 *   right size, `[stack]` as a grows-down mapping, `[vvar]`/`[vdso]` as plain mappings, lines
 *   above the 47-bit user space such as `[vsyscall]` left out), and mmap_base is taken from it
 *   (LINUX-PLACEMENT.md rule 1). An execve without a snapshot (the run's first) gives a space
 *   that cannot be replayed: its ops are counted as skipped;
 * - fork copies the parent's space (p.fork(), so MADV_DONTFORK and WIPEONFORK apply); threads
 *   and vfork children share the parent's space until they exec;
 * - mmap, munmap, mprotect, madvise, mremap and brk are the library's system calls with the
 *   trace's arguments. Without --predict the kernel's addresses are reproduced: a non-fixed
 *   mmap is made MAP_FIXED_NOREPLACE at the kernel's result, a moving mremap MREMAP_FIXED at its
 *   result. With --predict the library places them itself; where it disagrees, the mapping is
 *   moved to the kernel's address so the replay stays on the kernel's track;
 * - a call that failed in the trace must fail here with the same errno; a call whose outcome
 *   differs is a divergence (reported, and the replay goes on);
 * - descriptors are not in the trace (open(2) is not traced), so each file mmap maps a fresh
 *   in-memory file as large as the mapping needs.
 *
 * The check (--check) compares page by page: address, rwx and private/shared. The kernel's
 * `[stack]` may extend below ours, since stack growth happens in page faults that no system
 * call shows.
 *
 * Uses only the public entry and node built-ins (the layer rule of STYLE.md).
 */

import {
  linux as L,
  type LinuxProcess,
  linuxMmapBase,
  type Process,
  VmError,
  VmSystem,
  type Vnode,
} from "../src/index.js";
import type { TraceOp } from "./trace.js";

/** One line of /proc/PID/maps. */
export interface ProcMapsLine {
  start: number;
  end: number;
  perms: string;
  offset: number;
  inode: number;
  path: string;
}

const USER_TOP = 2 ** 47;

/** Parses /proc/PID/maps text. Throws on a line it cannot read (with its number). */
export function parseProcMaps(text: string): ProcMapsLine[] {
  const out: ProcMapsLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    const m =
      /^([0-9a-f]+)-([0-9a-f]+)\s+([r-][w-][x-][ps])\s+([0-9a-f]+)\s+\S+\s+(\d+)\s*(.*)$/.exec(
        line,
      );
    if (m === null) throw new Error(`maps line ${i + 1}: cannot read '${line}'`);
    out.push({
      start: Number.parseInt(m[1], 16),
      end: Number.parseInt(m[2], 16),
      perms: m[3],
      offset: Number.parseInt(m[4], 16),
      inode: Number(m[5]),
      path: m[6].trim(),
    });
  }
  return out;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Place non-fixed mappings with the Linux policy instead of taking the kernel's addresses. */
  predict?: boolean;
  /** Run the whole-system audit after every operation. */
  paranoid?: boolean;
  /** Reads a maps file named in the trace (e.g. "maps/5712.final.maps"), or null. */
  readMaps: (name: string) => string | null;
  /** Called every so many ops with (done, total), for progress display. */
  progress?: (done: number, total: number) => void;
  /**
   * A clock in milliseconds (e.g. performance.now): when given, the time spent in the replayed
   * system calls alone (mmap, munmap, mprotect, madvise, mremap, brk: not exec images, forks,
   * exits or comparisons) is summed into {@link ReplayResult.callMs}.
   */
  clock?: () => number;
}

/** One address space of the replay. */
export interface ReplaySpace {
  id: string;
  pids: number[];
  path: string;
  /** Ops applied to this space. */
  ops: number;
  /** Outcome of the comparison with the kernel's final maps (null: no final snapshot). */
  verdict: SpaceVerdict | null;
  /** The space's maps at the point its final snapshot was taken (or at the end). */
  linuxMaps: string;
  procstatMaps: string;
  maps: ReturnType<Process["maps"]>;
}

export interface SpaceVerdict {
  ok: boolean;
  pages: number;
  /** Up to 10 differences, e.g. "0x7f..000: kernel r--p, vmspace (unmapped)". */
  differences: string[];
  differenceCount: number;
}

/** What a replay found. */
export interface ReplayResult {
  spaces: ReplaySpace[];
  /** Ops applied, ops of spaces that could not be replayed, and divergences. */
  applied: number;
  skipped: number;
  divergences: string[];
  /**
   * Failed calls whose failure may come from what the log does not show (the descriptor of a
   * file mmap: EBADF, EACCES, ENODEV; the address argument strace leaves out of an mremap with
   * MREMAP_DONTUNMAP but not MREMAP_FIXED, and a pkey_mprotect's key, whose pkey_alloc is not a
   * memory call: EINVAL): not replayed, and not divergences.
   */
  unverifiable: string[];
  /** --predict: kernel addresses reproduced of those the policy chose. */
  placement: { hits: number; total: number; misses: string[] };
  stats: ReturnType<VmSystem["stats"]>;
  /** Memory system calls applied, and their summed time by `opts.clock` (0 without a clock). */
  calls: number;
  callMs: number;
}

interface Space {
  id: string;
  proc: LinuxProcess;
  /** Pids using the space now, and every pid that ever did. */
  pids: Set<number>;
  seen: Set<number>;
  path: string;
  ops: number;
  done: boolean;
  result: ReplaySpace | null;
}

const hex = (v: number) => `0x${v.toString(16)}`;

/** Replays `ops` (in order) and returns what it found. */
export function replay(ops: readonly TraceOp[], opts: ReplayOptions): ReplayResult {
  // Replaying system calls touches no memory: a few frames suffice (MAP_POPULATE would fault).
  const sys = new VmSystem({ personality: "linux", physicalMemory: 8 * 2 ** 20 });
  const spaces = new Map<string, Space>();
  const dead = new Set<string>();
  const finished: ReplaySpace[] = [];
  const divergences: string[] = [];
  const unverifiable: string[] = [];
  const placement = { hits: 0, total: 0, misses: [] as string[] };
  let applied = 0;
  let skipped = 0;
  let calls = 0;
  let callMs = 0;
  const clock = opts.clock;

  const cx: CallContext = {
    predict: opts.predict === true,
    placement,
    diverge: (op, what) =>
      divergences.push(`line ${op.line} (${op.op}, pid ${op.pid}, ${op.as}): ${what}`),
    unverifiable: (op, what) =>
      unverifiable.push(`line ${op.line} (${op.op}, pid ${op.pid}, ${op.as}): ${what}`),
    heapUnset: new Set(),
  };

  /** The same context with the kernel's addresses taken as they are (no prediction). */
  const cxKernel: CallContext = { ...cx, predict: false };

  const snapshot = (sp: Space, truth: string | null): ReplaySpace => {
    const p = sp.proc;
    const r: ReplaySpace = {
      id: sp.id,
      pids: [...sp.seen].sort((a, b) => a - b),
      path: sp.path,
      ops: sp.ops,
      verdict: truth === null ? null : compareMaps(parseProcMaps(truth), p),
      linuxMaps: p.formatMaps("linux"),
      procstatMaps: p.formatMaps("procstat"),
      maps: p.maps(),
    };
    return r;
  };

  const release = (sp: Space) => {
    if (sp.done) return;
    sp.done = true;
    if (sp.result === null) sp.result = snapshot(sp, null);
    finished.push(sp.result);
    sp.proc.exit();
  };

  const total = ops.length;
  for (let i = 0; i < total; i++) {
    const op = ops[i];
    if (opts.progress !== undefined && i % 64 === 0) opts.progress(i, total);
    if (op.op === "exec") {
      const old = op.oldAs === null ? undefined : spaces.get(op.oldAs);
      if (old !== undefined) {
        old.pids.delete(op.pid);
        if (old.pids.size === 0) release(old);
      }
      const text = op.initialMapsFile === null ? null : opts.readMaps(op.initialMapsFile);
      if (text === null) {
        dead.add(op.as);
        continue;
      }
      const sp: Space = {
        id: op.as,
        proc: execImage(sys, parseProcMaps(text), cx.heapUnset),
        pids: new Set([op.pid]),
        seen: new Set([op.pid]),
        path: op.path,
        ops: 0,
        done: false,
        result: null,
      };
      spaces.set(op.as, sp);
      applied++;
      continue;
    }
    if (op.op === "fork") {
      const parent = spaces.get(op.parentAs);
      if (parent === undefined || parent.done) {
        dead.add(op.as);
        skipped++;
        continue;
      }
      if (op.shareVm) {
        parent.pids.add(op.child);
        parent.seen.add(op.child);
      } else {
        const child = parent.proc.fork() as LinuxProcess;
        spaces.set(op.as, {
          id: op.as,
          proc: child,
          pids: new Set([op.child]),
          seen: new Set([op.child]),
          path: parent.path,
          ops: 0,
          done: false,
          result: null,
        });
      }
      applied++;
      continue;
    }
    const sp = spaces.get(op.as);
    if (sp === undefined || sp.done) {
      skipped++;
      continue;
    }
    if (op.op === "exit") {
      if (op.finalMapsFile !== null && sp.result === null)
        sp.result = snapshot(sp, opts.readMaps(op.finalMapsFile));
      // Each thread's end is its own line; a vfork parent sharing the space stays.
      sp.pids.delete(op.pid);
      if (sp.pids.size === 0) release(sp);
      applied++;
      continue;
    }
    const next = i + 1 < total ? ops[i + 1] : undefined;
    if (cx.predict && next !== undefined && concurrentMmaps(op, next)) {
      // Two threads' mmaps that overlapped in time: the kernel served them in one order or
      // the other, which the log does not say. Placement is judged under the better order;
      // both are then applied at the kernel's addresses.
      predictPair(sp.proc, op as MmapOp, next as MmapOp, cx);
      sp.ops += 2;
      applied += 2;
      calls += 2;
      applyCall(sp.proc, op, cxKernel);
      applyCall(sp.proc, next, cxKernel);
      if (opts.paranoid) sys.audit();
      i++;
      continue;
    }
    sp.ops++;
    applied++;
    calls++;
    if (clock === undefined) applyCall(sp.proc, op, cx);
    else {
      const t0 = clock();
      applyCall(sp.proc, op, cx);
      callMs += clock() - t0;
    }
    if (opts.paranoid) sys.audit();
  }
  if (opts.progress !== undefined) opts.progress(total, total);
  for (const sp of spaces.values()) if (!sp.done) release(sp);
  const stats = sys.stats();
  sys.audit();
  finished.sort((a, b) => Number(a.id.slice(2)) - Number(b.id.slice(2)));
  return {
    spaces: finished,
    applied,
    skipped,
    divergences,
    unverifiable,
    placement,
    stats,
    calls,
    callMs,
  };
}

/** Builds a space from an exec snapshot. */
function execImage(
  sys: VmSystem,
  lines: ProcMapsLine[],
  heapUnset: Set<LinuxProcess>,
): LinuxProcess {
  const user = lines.filter((l) => l.end <= USER_TOP);
  let base: number | undefined;
  try {
    base = linuxMmapBase(user);
  } catch {
    base = undefined;
  }
  const p = sys.createProcess({ mmapBase: base, privileged: true }) as LinuxProcess;
  const files = new Map<string, TraceFile>();
  for (const l of user) {
    const prot =
      (l.perms[0] === "r" ? L.PROT_READ : 0) |
      (l.perms[1] === "w" ? L.PROT_WRITE : 0) |
      (l.perms[2] === "x" ? L.PROT_EXEC : 0);
    const type = l.perms[3] === "s" ? L.MAP_SHARED : L.MAP_PRIVATE;
    const len = l.end - l.start;
    if (l.inode !== 0 && l.path !== "") {
      let f = files.get(l.path);
      if (f === undefined) {
        f = new TraceFile(0);
        files.set(l.path, f);
      }
      if (f.size < l.offset + len) f.truncate(l.offset + len);
      const fd = p.fds.open(f, "rw", l.path);
      p.mmap(l.start, len, prot, type | L.MAP_FIXED, fd, l.offset);
      p.fds.close(fd);
    } else if (l.path === "[stack]") {
      p.mmap(l.start, len, prot, type | L.MAP_FIXED | L.MAP_ANONYMOUS | L.MAP_GROWSDOWN);
    } else {
      p.mmap(l.start, len, prot, type | L.MAP_FIXED | L.MAP_ANONYMOUS);
      if (l.path === "[heap]") p.setBrkBase(l.start);
    }
  }
  heapUnset.add(p);
  return p;
}

function errnoOf(e: unknown): string {
  if (e instanceof VmError) return e.code;
  throw e;
}

/** What applyCall needs besides the call: one per replay. */
interface CallContext {
  predict: boolean;
  placement: ReplayResult["placement"];
  diverge: (op: TraceOp, what: string) => void;
  /** A failed call the log does not say enough to replay (ReplayResult.unverifiable). */
  unverifiable: (op: TraceOp, what: string) => void;
  /** Spaces whose break has not been learnt from the trace yet (first brk answer sets it). */
  heapUnset: Set<LinuxProcess>;
}

/** A call that failed in the trace ended with `e` here (or with no error: `e` undefined). */
function failedAs(cx: CallContext, op: TraceOp & { errno: string | null }, e: unknown): void {
  const want = op.errno as string;
  if (e === undefined) {
    cx.diverge(op, `the kernel failed with ${want}, vmspace succeeded`);
    return;
  }
  const code = errnoOf(e);
  if (code !== want && !(want === "EOPNOTSUPP" && code === "ENOTSUP"))
    cx.diverge(op, `the kernel failed with ${want}, vmspace with ${code}`);
}

/**
 * Makes a call whose only result is its ending (an errno or success) and compares that with
 * the trace's.
 */
function settle(cx: CallContext, op: TraceOp & { errno: string | null }, call: () => void): void {
  try {
    call();
  } catch (e) {
    if (op.errno !== null) failedAs(cx, op, e);
    else failedHere(cx, op, e);
    return;
  }
  if (op.errno !== null) failedAs(cx, op, undefined);
}

/** A call that succeeded in the trace failed here with `e`. */
function failedHere(cx: CallContext, op: TraceOp, e: unknown): void {
  cx.diverge(op, `the kernel succeeded, vmspace failed with ${errnoOf(e)}`);
}

/**
 * Applies one memory system call of the trace to `p`. Written without a closure per call
 * (the replay's throughput is this function's).
 */
function applyCall(p: LinuxProcess, op: TraceOp, cx: CallContext): void {
  switch (op.op) {
    case "mmap": {
      const anon = (op.flags & L.MAP_ANONYMOUS) !== 0;
      const fd = anon ? -1 : openTraceFile(p, op.offset + op.length);
      try {
        mmapCall(p, op, cx, fd);
      } finally {
        if (fd >= 0) p.fds.close(fd);
      }
      return;
    }
    case "munmap":
    case "mprotect":
    case "madvise": {
      if (
        op.op === "mprotect" &&
        op.pkey !== undefined &&
        op.pkey !== -1 &&
        op.errno === "EINVAL"
      ) {
        cx.unverifiable(op, "EINVAL: may come from the key, whose allocation the log leaves out");
        return;
      }
      settle(cx, op, () => {
        if (op.op === "munmap") p.munmap(op.addr, op.length);
        else if (op.op === "mprotect") p.mprotect(op.addr, op.length, op.prot);
        else p.madvise(op.addr, op.length, op.advice);
      });
      return;
    }
    case "mremap":
      mremapCall(p, op, cx);
      return;
    case "mseal":
      settle(cx, op, () => p.mseal(op.addr, op.length, op.flags));
      return;
    case "mlock": {
      settle(cx, op, () => {
        if (op.syscall === "mlockall") p.mlockall(op.flags);
        else if (op.syscall === "munlockall") p.munlockall();
        else if (op.syscall === "munlock") p.munlock(op.addr, op.length);
        else if (op.syscall === "mlock2") p.mlock2(op.addr, op.length, op.flags);
        else p.mlock(op.addr, op.length);
      });
      return;
    }
    case "brk": {
      if (cx.heapUnset.has(p)) {
        cx.heapUnset.delete(p);
        if (op.addr === 0 || op.result === op.addr) {
          // The first answer tells where execve put the break (the ELF image is not traced).
          const base = op.addr === 0 ? op.result : p.startBrk;
          if (op.addr === 0 && base % 4096 === 0) p.setBrkBase(base);
        }
      }
      let r: number;
      try {
        r = p.brk(op.addr);
      } catch (e) {
        failedHere(cx, op, e);
        return;
      }
      if (r !== op.result)
        cx.diverge(op, `brk(${hex(op.addr)}) = ${hex(r)}, the kernel said ${hex(op.result)}`);
      return;
    }
    default:
      return;
  }
}

type MmapOp = Extract<TraceOp, { op: "mmap" }>;
type MremapOp = Extract<TraceOp, { op: "mremap" }>;

function mmapCall(p: LinuxProcess, op: MmapOp, cx: CallContext, fd: number): void {
  const fixed = (op.flags & (L.MAP_FIXED | L.MAP_FIXED_NOREPLACE)) !== 0;
  if (fd >= 0 && op.errno !== null && DESCRIPTOR_ERRNOS.has(op.errno)) {
    cx.unverifiable(op, `${op.errno}: the descriptor's state is not in the log`);
    return;
  }
  if (op.errno !== null) {
    let r: number;
    try {
      r = p.mmap(op.addr, op.length, op.prot, op.flags, fd, op.offset);
    } catch (e) {
      failedAs(cx, op, e);
      return;
    }
    failedAs(cx, op, undefined);
    p.munmap(r, op.length);
    return;
  }
  // The kernel randomizes the start of MAP_32BIT's window (ASLR): nothing to predict.
  if (!fixed && cx.predict && (op.flags & L.MAP_32BIT) === 0) {
    const placement = cx.placement;
    placement.total++;
    let r: number | undefined;
    try {
      r = p.mmap(op.addr, op.length, op.prot, op.flags, fd, op.offset);
    } catch (e) {
      failedHere(cx, op, e);
      r = undefined;
    }
    if (r === op.result) {
      placement.hits++;
      return;
    }
    placement.misses.push(mmapMiss(op, r));
    if (r !== undefined) p.munmap(r, op.length);
  }
  const flags = fixed ? op.flags : op.flags | L.MAP_FIXED_NOREPLACE;
  let r: number;
  try {
    r = p.mmap(fixed ? op.addr : op.result, op.length, op.prot, flags, fd, op.offset);
  } catch (e) {
    failedHere(cx, op, e);
    return;
  }
  if (r !== op.result) cx.diverge(op, `mapped at ${hex(r)}, the kernel at ${hex(op.result)}`);
}

/** Errors of a file mmap that depend on the descriptor (EBADF, its mode, its file's type). */
const DESCRIPTOR_ERRNOS = new Set(["EBADF", "EACCES", "ENODEV"]);

/** How --predict reports an mmap placed elsewhere than the kernel placed it. */
function mmapMiss(op: MmapOp, r: number | undefined): string {
  return `line ${op.line}: mmap(${hex(op.addr)}, ${hex(op.length)}): kernel ${hex(op.result)}, vmspace ${r === undefined ? "failed" : hex(r)}`;
}

/** A successful mmap whose address the kernel chose (not MAP_FIXED[_NOREPLACE]). */
function placedMmap(op: TraceOp): op is MmapOp {
  return (
    op.op === "mmap" &&
    op.errno === null &&
    (op.flags & (L.MAP_FIXED | L.MAP_FIXED_NOREPLACE)) === 0
  );
}

/**
 * Whether `a` and the op after it, `b`, are mmaps the kernel placed for two threads of one space
 * that ran at the same time: `b` was entered before `a` completed.
 */
function concurrentMmaps(a: TraceOp, b: TraceOp): boolean {
  return (
    placedMmap(a) &&
    placedMmap(b) &&
    a.as === b.as &&
    a.pid !== b.pid &&
    b.entered !== undefined &&
    b.entered < a.line
  );
}

/**
 * --predict for two concurrent mmaps: the policy places them in the log's order and in the
 * other one, each time without keeping anything, and the order with more of the kernel's
 * addresses reproduced is the one counted (the log's order on a tie).
 */
function predictPair(p: LinuxProcess, a: MmapOp, b: MmapOp, cx: CallContext): void {
  const place = (op: MmapOp): number | undefined => {
    const fd = (op.flags & L.MAP_ANONYMOUS) !== 0 ? -1 : openTraceFile(p, op.offset + op.length);
    try {
      return p.mmap(op.addr, op.length, op.prot, op.flags, fd, op.offset);
    } catch {
      return undefined;
    } finally {
      if (fd >= 0) p.fds.close(fd);
    }
  };
  const tryOrder = (x: MmapOp, y: MmapOp): Map<MmapOp, number | undefined> => {
    const rx = place(x);
    const ry = place(y);
    if (ry !== undefined) p.munmap(ry, y.length);
    if (rx !== undefined) p.munmap(rx, x.length);
    return new Map([
      [x, rx],
      [y, ry],
    ]);
  };
  const hits = (m: Map<MmapOp, number | undefined>) =>
    (m.get(a) === a.result ? 1 : 0) + (m.get(b) === b.result ? 1 : 0);
  const logOrder = tryOrder(a, b);
  const other = hits(logOrder) === 2 ? logOrder : tryOrder(b, a);
  const best = hits(other) > hits(logOrder) ? other : logOrder;
  for (const op of [a, b]) {
    cx.placement.total++;
    const r = best.get(op);
    if (r === op.result) cx.placement.hits++;
    else cx.placement.misses.push(mmapMiss(op, r));
  }
}

function mremapCall(p: LinuxProcess, op: MremapOp, cx: CallContext): void {
  const newAddr = op.newAddr ?? 0;
  // MREMAP_DONTUNMAP without MREMAP_FIXED reads new_addr as a hint, which strace leaves out
  // (it prints a fifth argument only with MREMAP_FIXED), so the call's EINVAL for an unaligned
  // one cannot be told from the log.
  const hintHidden =
    (op.flags & (L.MREMAP_DONTUNMAP | L.MREMAP_FIXED)) === L.MREMAP_DONTUNMAP &&
    op.newAddr === null;
  if (hintHidden && op.errno === "EINVAL") {
    cx.unverifiable(op, "EINVAL: may come from new_addr, which the log leaves out");
    return;
  }
  if (op.errno !== null) {
    try {
      p.mremap(op.oldAddr, op.oldSize, op.newSize, op.flags, newAddr);
    } catch (e) {
      failedAs(cx, op, e);
      return;
    }
    failedAs(cx, op, undefined);
    return;
  }
  const moved = op.result !== op.oldAddr && (op.flags & L.MREMAP_FIXED) === 0;
  if (moved && cx.predict) {
    const placement = cx.placement;
    placement.total++;
    // The policy's choice is checked without committing to it: a prediction that differs
    // is undone by moving the mapping on to the kernel's address below.
    let r: number;
    try {
      r = p.mremap(op.oldAddr, op.oldSize, op.newSize, op.flags, newAddr);
    } catch (e) {
      failedHere(cx, op, e);
      placement.misses.push(
        `line ${op.line}: mremap(${hex(op.oldAddr)}, ${hex(op.oldSize)}, ${hex(op.newSize)}): kernel ${hex(op.result)}, vmspace failed`,
      );
      return;
    }
    if (r === op.result) {
      placement.hits++;
      return;
    }
    placement.misses.push(
      `line ${op.line}: mremap(${hex(op.oldAddr)}, ${hex(op.oldSize)}, ${hex(op.newSize)}): kernel ${hex(op.result)}, vmspace ${hex(r)}`,
    );
    try {
      p.mremap(r, op.newSize, op.newSize, L.MREMAP_MAYMOVE | L.MREMAP_FIXED, op.result);
    } catch (e) {
      failedHere(cx, op, e);
    }
    return;
  }
  let r: number;
  try {
    r = moved
      ? p.mremap(
          op.oldAddr,
          op.oldSize,
          op.newSize,
          op.flags | L.MREMAP_MAYMOVE | L.MREMAP_FIXED,
          op.result,
        )
      : p.mremap(op.oldAddr, op.oldSize, op.newSize, op.flags, newAddr);
  } catch (e) {
    failedHere(cx, op, e);
    return;
  }
  if (r !== op.result) cx.diverge(op, `remapped to ${hex(r)}, the kernel to ${hex(op.result)}`);
}

/**
 * A file whose contents the trace does not show: `size` bytes reading as zeros, sparse (only
 * written pages take memory), so that mapping a 200 MiB locale archive costs nothing.
 */
export class TraceFile implements Vnode {
  #size: number;
  /** Written chunks by offset; null until the first write (most trace files are never written). */
  #chunks: Map<number, Uint8Array> | null = null;
  static readonly CHUNK = 4096;

  constructor(size: number) {
    this.#size = size;
  }
  get size(): number {
    return this.#size;
  }
  read(position: number, length: number): Uint8Array {
    const end = Math.min(this.#size, position + length);
    const out = new Uint8Array(Math.max(0, end - position));
    const chunks = this.#chunks;
    if (chunks === null) return out;
    const C = TraceFile.CHUNK;
    for (let c = Math.floor(position / C) * C; c < end; c += C) {
      const chunk = chunks.get(c);
      if (chunk === undefined) continue;
      const from = Math.max(position, c);
      const to = Math.min(end, c + C);
      out.set(chunk.subarray(from - c, to - c), from - position);
    }
    return out;
  }
  write(position: number, bytes: Uint8Array): number {
    const C = TraceFile.CHUNK;
    if (this.#chunks === null) this.#chunks = new Map();
    const chunks = this.#chunks;
    for (let i = 0; i < bytes.length; ) {
      const at = position + i;
      const c = Math.floor(at / C) * C;
      let chunk = chunks.get(c);
      if (chunk === undefined) {
        chunk = new Uint8Array(C);
        chunks.set(c, chunk);
      }
      const n = Math.min(bytes.length - i, c + C - at);
      chunk.set(bytes.subarray(i, i + n), at - c);
      i += n;
    }
    this.#size = Math.max(this.#size, position + bytes.length);
    return bytes.length;
  }
  truncate(length: number): void {
    this.#size = length;
    const chunks = this.#chunks;
    if (chunks !== null) for (const c of [...chunks.keys()]) if (c >= length) chunks.delete(c);
  }
}

/** A fresh file of `size` bytes, open read-write; returns the descriptor. */
function openTraceFile(p: Process, size: number): number {
  return p.fds.open(new TraceFile(Number.isSafeInteger(size) && size > 0 ? size : 0), "rw", null);
}

/**
 * Compares the kernel's maps with ours page by page (address, rwx, private/shared). Our
 * `[stack]` may start above the kernel's: the kernel's stack pages below ours are accepted.
 */
export function compareMaps(kernel: ProcMapsLine[], p: Process): SpaceVerdict {
  type Run = { start: number; end: number; key: string };
  const ours: Run[] = p.maps().map((m) => ({
    start: m.start,
    end: m.end,
    key: `${m.prot & 1 ? "r" : "-"}${m.prot & 2 ? "w" : "-"}${m.prot & 4 ? "x" : "-"}${m.shared ? "s" : "p"}`,
  }));
  const theirs: Run[] = [];
  for (const l of kernel) {
    if (l.end > USER_TOP) continue;
    let start = l.start;
    if (l.path === "[stack]") {
      const o = ours.find((r) => r.start < l.end && r.end >= l.end);
      if (o !== undefined && o.start > start) start = o.start;
    }
    theirs.push({ start, end: l.end, key: l.perms });
  }
  const diffs: string[] = [];
  let count = 0;
  let pages = 0;
  const points = new Set<number>();
  for (const r of [...ours, ...theirs]) {
    points.add(r.start);
    points.add(r.end);
  }
  const cuts = [...points].sort((a, b) => a - b);
  const at = (runs: Run[], a: number) => runs.find((r) => r.start <= a && a < r.end)?.key ?? null;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i];
    const b = cuts[i + 1];
    const k = at(theirs, a);
    const o = at(ours, a);
    if (k === null && o === null) continue;
    const n = (b - a) / 4096;
    pages += n;
    if (k !== o) {
      count += n;
      if (diffs.length < 10)
        diffs.push(
          `${hex(a)}-${hex(b)}: kernel ${k ?? "(unmapped)"}, vmspace ${o ?? "(unmapped)"}`,
        );
    }
  }
  return { ok: count === 0, pages, differences: diffs, differenceCount: count };
}
