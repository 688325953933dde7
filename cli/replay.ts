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
  /** --predict: kernel addresses reproduced of those the policy chose. */
  placement: { hits: number; total: number; misses: string[] };
  stats: ReturnType<VmSystem["stats"]>;
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
  const placement = { hits: 0, total: 0, misses: [] as string[] };
  let applied = 0;
  let skipped = 0;

  const diverge = (op: TraceOp, what: string) =>
    divergences.push(`line ${op.line} (${op.op}, pid ${op.pid}, ${op.as}): ${what}`);

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
        proc: execImage(sys, parseProcMaps(text)),
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
    sp.ops++;
    applied++;
    applyCall(sp.proc, op, opts.predict === true, placement, (w) => diverge(op, w));
    if (opts.paranoid) sys.audit();
  }
  if (opts.progress !== undefined) opts.progress(total, total);
  for (const sp of spaces.values()) if (!sp.done) release(sp);
  const stats = sys.stats();
  sys.audit();
  finished.sort((a, b) => Number(a.id.slice(2)) - Number(b.id.slice(2)));
  return { spaces: finished, applied, skipped, divergences, placement, stats };
}

/** Builds a space from an exec snapshot. */
function execImage(sys: VmSystem, lines: ProcMapsLine[]): LinuxProcess {
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

/** Spaces whose break has not been learnt from the trace yet (first brk answer sets it). */
const heapUnset = new WeakSet<LinuxProcess>();

function errnoOf(e: unknown): string {
  if (e instanceof VmError) return e.code;
  throw e;
}

/** Applies one memory system call of the trace to `p`. */
function applyCall(
  p: LinuxProcess,
  op: TraceOp,
  predict: boolean,
  placement: ReplayResult["placement"],
  diverge: (what: string) => void,
): void {
  const failed = "errno" in op && op.errno !== null;
  const expectFail = (what: () => unknown) => {
    try {
      const r = what();
      diverge(`the kernel failed with ${(op as { errno: string }).errno}, vmspace succeeded`);
      return r;
    } catch (e) {
      const code = errnoOf(e);
      const want = (op as { errno: string }).errno;
      if (code !== want && !(want === "EOPNOTSUPP" && code === "ENOTSUP"))
        diverge(`the kernel failed with ${want}, vmspace with ${code}`);
      return undefined;
    }
  };
  const mustSucceed = (what: () => unknown): unknown => {
    try {
      return what();
    } catch (e) {
      diverge(`the kernel succeeded, vmspace failed with ${errnoOf(e)}`);
      return undefined;
    }
  };
  switch (op.op) {
    case "mmap": {
      const anon = (op.flags & L.MAP_ANONYMOUS) !== 0;
      const fd = anon ? -1 : openTraceFile(p, op.offset + op.length);
      try {
        const fixed = (op.flags & (L.MAP_FIXED | L.MAP_FIXED_NOREPLACE)) !== 0;
        if (failed) {
          const r = expectFail(() => p.mmap(op.addr, op.length, op.prot, op.flags, fd, op.offset));
          if (typeof r === "number") p.munmap(r, op.length);
          return;
        }
        if (!fixed && predict) {
          placement.total++;
          const r = mustSucceed(() =>
            p.mmap(op.addr, op.length, op.prot, op.flags, fd, op.offset),
          ) as number | undefined;
          if (r === op.result) {
            placement.hits++;
            return;
          }
          placement.misses.push(
            `line ${op.line}: mmap(${hex(op.addr)}, ${hex(op.length)}): kernel ${hex(op.result)}, vmspace ${r === undefined ? "failed" : hex(r)}`,
          );
          if (r !== undefined) p.munmap(r, op.length);
        }
        const flags = fixed ? op.flags : op.flags | L.MAP_FIXED_NOREPLACE;
        const r = mustSucceed(() =>
          p.mmap(fixed ? op.addr : op.result, op.length, op.prot, flags, fd, op.offset),
        );
        if (r !== undefined && r !== op.result)
          diverge(`mapped at ${hex(r as number)}, the kernel at ${hex(op.result)}`);
      } finally {
        if (fd >= 0) p.fds.close(fd);
      }
      return;
    }
    case "munmap":
      if (failed) expectFail(() => p.munmap(op.addr, op.length));
      else mustSucceed(() => p.munmap(op.addr, op.length));
      return;
    case "mprotect":
      if (failed) expectFail(() => p.mprotect(op.addr, op.length, op.prot));
      else mustSucceed(() => p.mprotect(op.addr, op.length, op.prot));
      return;
    case "madvise":
      if (failed) expectFail(() => p.madvise(op.addr, op.length, op.advice));
      else mustSucceed(() => p.madvise(op.addr, op.length, op.advice));
      return;
    case "mremap": {
      const newAddr = op.newAddr ?? 0;
      if (failed) {
        expectFail(() => p.mremap(op.oldAddr, op.oldSize, op.newSize, op.flags, newAddr));
        return;
      }
      const moved = op.result !== op.oldAddr && (op.flags & L.MREMAP_FIXED) === 0;
      if (moved && predict) {
        placement.total++;
        // The policy's choice is checked without committing to it: a prediction that differs
        // is undone by moving the mapping on to the kernel's address below.
        const r = mustSucceed(() =>
          p.mremap(op.oldAddr, op.oldSize, op.newSize, op.flags, newAddr),
        ) as number | undefined;
        if (r === op.result) {
          placement.hits++;
          return;
        }
        placement.misses.push(
          `line ${op.line}: mremap(${hex(op.oldAddr)}, ${hex(op.oldSize)}, ${hex(op.newSize)}): kernel ${hex(op.result)}, vmspace ${r === undefined ? "failed" : hex(r)}`,
        );
        if (r === undefined) return;
        mustSucceed(() =>
          p.mremap(r, op.newSize, op.newSize, L.MREMAP_MAYMOVE | L.MREMAP_FIXED, op.result),
        );
        return;
      }
      const r = moved
        ? mustSucceed(() =>
            p.mremap(
              op.oldAddr,
              op.oldSize,
              op.newSize,
              op.flags | L.MREMAP_MAYMOVE | L.MREMAP_FIXED,
              op.result,
            ),
          )
        : mustSucceed(() => p.mremap(op.oldAddr, op.oldSize, op.newSize, op.flags, newAddr));
      if (r !== undefined && r !== op.result)
        diverge(`remapped to ${hex(r as number)}, the kernel to ${hex(op.result)}`);
      return;
    }
    case "brk": {
      if (heapUnset.has(p)) {
        heapUnset.delete(p);
        if (op.addr === 0 || op.result === op.addr) {
          // The first answer tells where execve put the break (the ELF image is not traced).
          const base = op.addr === 0 ? op.result : p.startBrk;
          if (op.addr === 0 && base % 4096 === 0) p.setBrkBase(base);
        }
      }
      const r = mustSucceed(() => p.brk(op.addr));
      if (r !== undefined && r !== op.result)
        diverge(`brk(${hex(op.addr)}) = ${hex(r as number)}, the kernel said ${hex(op.result)}`);
      return;
    }
    default:
      return;
  }
}

/**
 * A file whose contents the trace does not show: `size` bytes reading as zeros, sparse (only
 * written pages take memory), so that mapping a 200 MiB locale archive costs nothing.
 */
export class TraceFile implements Vnode {
  #size: number;
  readonly #chunks = new Map<number, Uint8Array>();
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
    const C = TraceFile.CHUNK;
    for (let c = Math.floor(position / C) * C; c < end; c += C) {
      const chunk = this.#chunks.get(c);
      if (chunk === undefined) continue;
      const from = Math.max(position, c);
      const to = Math.min(end, c + C);
      out.set(chunk.subarray(from - c, to - c), from - position);
    }
    return out;
  }
  write(position: number, bytes: Uint8Array): number {
    const C = TraceFile.CHUNK;
    for (let i = 0; i < bytes.length; ) {
      const at = position + i;
      const c = Math.floor(at / C) * C;
      let chunk = this.#chunks.get(c);
      if (chunk === undefined) {
        chunk = new Uint8Array(C);
        this.#chunks.set(c, chunk);
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
    for (const c of [...this.#chunks.keys()]) if (c >= length) this.#chunks.delete(c);
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
