/**
 * Trace input for `vmspace replay`: the memory and process system calls of a real Linux program,
 * as one ordered list of {@link TraceOp}s, from either of two formats.
 *
 * 1. Raw strace output, as recorded by `strace -f -tt -e trace=memory,process` (see
 *    /work/shared/traces/README.md). Each line is `[PID] [TIME] BODY`; the pid is a bare number
 *    (`-f -o file`), or `[pid N]` (`-f` to a terminal), or absent (no `-f`, or `-f` while only one
 *    process lived): an unprefixed line belongs to the one traced process that is never a fork
 *    child among the `[pid N]` prefixes, or to pid 1 if there is none. BODY is one of
 *      - a whole call        `mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7f75d8565000`
 *      - its first half      `mmap(NULL, 23, PROT_READ, MAP_PRIVATE, 3, 0 <unfinished ...>`
 *      - its second half     `<... mmap resumed>) = 0x7f70713f8000` (joined with the first half
 *                            of the same pid; text is concatenated, so arguments split anywhere)
 *      - a signal            `--- SIGCHLD {...} ---` (skipped)
 *      - an end of process   `+++ exited with 0 +++`, `+++ killed by SIGKILL (core dumped) +++`
 *    Calls of interest are mmap, munmap, mprotect, pkey_mprotect (an mprotect op with its key),
 *    madvise, mremap, brk, mlock/mlock2/munlock/mlockall/munlockall, execve/execveat,
 *    clone/clone3/fork/vfork, exit and exit_group; every other call is counted by name in
 *    `unknown`. A line that cannot be read (garbage, a truncated call, a bad number, a symbolic
 *    name missing from Linux's table) goes to `malformed` and parsing goes on.
 * 2. ops.jsonl, the recorder's own rendering of the same calls (one JSON object a line).
 *
 * Order. Ops are listed in completion order (the line where the call's result is printed),
 * except fork ops, which sit at the line where the clone/fork/vfork was entered: that is where
 * ops.jsonl puts them, and it is the order that a replay needs, since the child may run (and its
 * exec complete) before the parent's `<... clone resumed>` line. `line` is that line (1-based),
 * so ops are sorted by `line`; `seq` is the op's index in this list, as in ops.jsonl.
 *
 * Address-space ids, as the recorder assigns them (and checked against its ops.jsonl):
 *   - `as0` is the space the log's first pid had before its first execve;
 *   - every successful execve gives its pid a new id (`oldAs` is the one it had);
 *   - clone without CLONE_VM, and fork, give the child a new id (a copy of the parent's space);
 *   - clone with CLONE_VM (threads) and vfork share the parent's id; a vfork child gets its own
 *     at its execve, like any pid;
 *   - a pid seen without a fork that created it (attached, or its parent's lines lost) gets a
 *     new id of unknown origin at its first op.
 *   Ids are numbered in op order. A fork op's `as` is the child's space after the fork (the
 *   new id, or the shared one), as in ops.jsonl; `parentAs` is the parent's.
 *
 * Maps snapshots. `maps/<pid>.exec<k>.maps` is the space right after the k-th snapshotted
 * execve of <pid>; every successful execve is snapshotted except the very first one of the run
 * (the recorder's `env`, which it does not pause: its line lacks the `(DELAYED)` mark the others
 * carry). `maps/<pid>.final.maps` is taken on entry to exit_group and belongs on that exit op.
 * A file is named in an op only if it is in the list given (matched by base name, returned as
 * given); otherwise the field is null.
 *
 * Numbers. Addresses, lengths and results are JavaScript numbers, exact below 2^53 (every user
 * address on x86-64 is below 2^47). A printed value of 2^53 or more (e.g. `0xffffffffff600000`,
 * or a -1 printed unsigned as `0xffffffffffffffff`) is converted through BigInt and so comes out
 * as the nearest double, which is never a safe integer: test `Number.isSafeInteger` before using
 * one. `NULL` is 0. Symbolic prot/flags/advice words (`PROT_READ|PROT_WRITE`,
 * `MAP_PRIVATE|0x40000`, `0x1000`) are converted with Linux's values from the public `linux`
 * table, completed by {@link LOCAL_NAMES} for the few names it lacks.
 *
 * Non-obvious choices:
 *   - A failed call (`= -1 ENOMEM (...)`) is an op with `result: -1` and `errno: "ENOMEM"`: it
 *     changes nothing, but a replay must fail it too. A failed execve or clone is not an op (no
 *     exec/fork happened) and is not counted as unknown either.
 *   - A call of interest whose result is `?` (the process died inside it), or that never
 *     resumes before its process ends or the log ends, is malformed: its effect is unknown.
 *     exit and exit_group are the exception: they never return, so an unfinished exit_group is
 *     an exit op at its entry line.
 *   - `exit` (one thread ends) is an exit op with `how: "exit"`; `killed` carries the signal
 *     number as its `code`.
 *   - An op's `line` is its ordering line (above). A malformed line is reported as written; a
 *     call joined from two halves is reported at its entry line, with the joined text.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { linux } from "../src/index.js";

// ---------------------------------------------------------------------------------------------
// The ops

/** Fields every op has. */
interface OpCommon {
  /** Index of the op in the trace's op list (0-based), as in ops.jsonl. */
  seq: number;
  /** The thread (tid) that made the call. */
  pid: number;
  /** Address-space id: "as0", "as1", ... (see the file prologue). */
  as: string;
  /** 1-based line of the input where the op is ordered (completion line; entry line for fork). */
  line: number;
  /**
   * For a call split across lines (`<unfinished ...>` then `<... resumed>`, because another
   * thread's line came in between), the line where it was entered; absent otherwise (and in
   * ops.jsonl). Two calls of one space that overlap this way ran concurrently, so the kernel
   * may have served them in either order.
   */
  entered?: number;
}

export interface ExecOp extends OpCommon {
  op: "exec";
  /** The space the pid had before the exec (null if the input does not say). */
  oldAs: string | null;
  path: string;
  initialMapsFile: string | null;
}

export interface MmapOp extends OpCommon {
  op: "mmap";
  addr: number;
  length: number;
  prot: number;
  flags: number;
  fd: number;
  offset: number;
  /** The mapped address, or -1 on failure. */
  result: number;
  errno: string | null;
}

export interface MunmapOp extends OpCommon {
  op: "munmap";
  addr: number;
  length: number;
  result: number;
  errno: string | null;
}

export interface MprotectOp extends OpCommon {
  op: "mprotect";
  addr: number;
  length: number;
  prot: number;
  /**
   * The protection key of a pkey_mprotect (absent for mprotect). Keys are not in
   * /proc/PID/maps, so a pkey_mprotect is replayed as the mprotect it also is.
   */
  pkey?: number;
  result: number;
  errno: string | null;
}

export interface MadviseOp extends OpCommon {
  op: "madvise";
  addr: number;
  length: number;
  advice: number;
  result: number;
  errno: string | null;
}

export interface MremapOp extends OpCommon {
  op: "mremap";
  oldAddr: number;
  oldSize: number;
  newSize: number;
  flags: number;
  /** The fifth argument (with MREMAP_FIXED), null when the call had four. */
  newAddr: number | null;
  result: number;
  errno: string | null;
}

/** mseal (Linux 6.10+; strace before 6.10 prints it as `syscall_0x1ce`). */
export interface MsealOp extends OpCommon {
  op: "mseal";
  addr: number;
  length: number;
  flags: number;
  result: number;
  errno: string | null;
}

/** mlock, mlock2, munlock, mlockall or munlockall. */
export interface MlockOp extends OpCommon {
  op: "mlock";
  syscall: "mlock" | "mlock2" | "munlock" | "mlockall" | "munlockall";
  /** The range of mlock, mlock2 and munlock; 0 for mlockall and munlockall. */
  addr: number;
  length: number;
  /** mlock2's flags (MLOCK_ONFAULT) or mlockall's (MCL_*); 0 for the others. */
  flags: number;
  result: number;
  errno: string | null;
}

export interface BrkOp extends OpCommon {
  op: "brk";
  addr: number;
  /** The break after the call (the old one if it failed). */
  result: number;
}

export interface ForkOp extends OpCommon {
  op: "fork";
  child: number;
  parentAs: string;
  /** True when the child shares the parent's space (CLONE_VM: threads, vfork). */
  shareVm: boolean;
  /** "clone", "clone3", "fork" or "vfork". */
  syscall: string;
}

export interface ExitOp extends OpCommon {
  op: "exit";
  /**
   * exit_group: the call (the process's last op with its space intact); exit: one thread's
   * exit(2); exited / killed: strace's `+++` line once the process is gone.
   */
  how: "exit_group" | "exit" | "exited" | "killed";
  /** The exit status, or for `killed` the signal number. */
  code: number;
  /** `maps/<pid>.final.maps` on an exit_group op, if that file is listed. */
  finalMapsFile: string | null;
}

export type TraceOp =
  | ExecOp
  | MmapOp
  | MunmapOp
  | MprotectOp
  | MadviseOp
  | MremapOp
  | MlockOp
  | MsealOp
  | BrkOp
  | ForkOp
  | ExitOp;

export interface ParsedTrace {
  ops: TraceOp[];
  /** Calls that are not of interest, by syscall name (for jsonl: ops of an unknown kind). */
  unknown: Record<string, number>;
  /** Lines that could not be read, with their 1-based number; they were skipped. */
  malformed: { line: number; text: string }[];
  format: "strace" | "jsonl";
}

// ---------------------------------------------------------------------------------------------
// Numbers and symbolic words

/**
 * Names strace prints that the public `linux` table lacks (values from Linux's uapi headers,
 * x86-64). Kept here rather than in src/ so that the trace parser owns what it accepts.
 */
export const LOCAL_NAMES: Readonly<Record<string, number>> = Object.freeze({
  MAP_FILE: 0,
  MAP_HUGE_64KB: 16 * 2 ** 26,
  MAP_HUGE_512KB: 19 * 2 ** 26,
  MAP_HUGE_1MB: 20 * 2 ** 26,
  MAP_HUGE_2MB: 21 * 2 ** 26,
  MAP_HUGE_8MB: 23 * 2 ** 26,
  MAP_HUGE_16MB: 24 * 2 ** 26,
  MAP_HUGE_32MB: 25 * 2 ** 26,
  MAP_HUGE_256MB: 28 * 2 ** 26,
  MAP_HUGE_512MB: 29 * 2 ** 26,
  MAP_HUGE_1GB: 30 * 2 ** 26,
  MAP_HUGE_2GB: 31 * 2 ** 26,
  MAP_HUGE_16GB: 34 * 2 ** 26,
  MADV_COLLAPSE: 25,
  MADV_HWPOISON: 100,
  MADV_SOFT_OFFLINE: 101,
});

/** strace prints an unnamed huge page size as `N<<MAP_HUGE_SHIFT`. */
const SHIFTS: Readonly<Record<string, number>> = { MAP_HUGE_SHIFT: 26 };

const CLONE_VM = 0x100;

const SIGNALS: readonly string[] = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** A signal's number from strace's name for it (`SIGKILL`, `SIGRT_3`, or a bare number). */
function signalNumber(name: string): number | null {
  const i = SIGNALS.indexOf(name);
  if (i > 0) return i;
  if (name === "SIGIOT") return 6;
  if (name === "SIGPOLL") return 29;
  const rt = /^SIGRT_(\d+)$/.exec(name);
  if (rt !== null) return 32 + Number(rt[1]);
  if (/^\d+$/.test(name)) return Number(name);
  return null;
}

const TWO32 = 2 ** 32;

/** Bitwise or of two non-negative integers below 2^53 (`|` would truncate to 32 bits). */
function or53(a: number, b: number): number {
  const hi = (Math.floor(a / TWO32) | Math.floor(b / TWO32)) >>> 0;
  return hi * TWO32 + (((a >>> 0) | (b >>> 0)) >>> 0);
}

/**
 * A number as strace or the recorder prints it: `NULL`, decimal (optionally negative) or hex.
 * Exact below 2^53; a larger value goes through BigInt and is returned as the nearest double
 * (never a safe integer). Returns null for anything else.
 */
export function parseTraceNumber(text: string): number | null {
  const t = text.trim();
  if (t === "NULL") return 0;
  const hex = /^0x([0-9a-f]+)$/i.exec(t);
  if (hex !== null) {
    const d = hex[1]!;
    return d.length <= 13 ? Number.parseInt(d, 16) : Number(BigInt(`0x${d}`));
  }
  const dec = /^(-?)([0-9]+)$/.exec(t);
  if (dec !== null) {
    const d = dec[2]!;
    const v = d.length <= 15 ? Number.parseInt(d, 10) : Number(BigInt(d));
    return dec[1] === "-" ? -v : v;
  }
  return null;
}

const LINUX_NAMES = linux as unknown as Readonly<Record<string, number>>;

function symbolValue(name: string): number | undefined {
  if (Object.hasOwn(LINUX_NAMES, name)) return LINUX_NAMES[name];
  if (Object.hasOwn(LOCAL_NAMES, name)) return LOCAL_NAMES[name];
  return undefined;
}

/**
 * A flag word: `|`-separated names with the given prefix (PROT_, MAP_, MREMAP_, MADV_), numbers,
 * and strace's `N<<MAP_HUGE_SHIFT`. `/* comments *\/` are ignored. Null if any part is unknown.
 */
function parseFlagWord(text: string, prefix: string): number | null {
  const t = stripComments(text).trim();
  if (t === "") return null;
  let v = 0;
  for (const raw of t.split("|")) {
    const part = raw.trim();
    let x: number | null | undefined = parseTraceNumber(part);
    if (x === null) {
      const shift = /^(\d+)<<([A-Z0-9_]+)$/.exec(part);
      if (shift !== null) {
        const s = shift[2]!.startsWith(prefix) ? SHIFTS[shift[2]!] : undefined;
        x = s === undefined ? null : Number(shift[1]) * 2 ** s;
      } else if (part.startsWith(prefix)) {
        x = symbolValue(part);
      }
    }
    if (x === null || x === undefined || x < 0 || !Number.isSafeInteger(x)) return null;
    v = or53(v, x);
  }
  return v;
}

function stripComments(text: string): string {
  return text.replace(/\/\*.*?\*\//g, "");
}

// ---------------------------------------------------------------------------------------------
// strace: one line's structure

/** `[pid N] ` or `N ` then an optional `HH:MM:SS[.frac] ` / `SECS.frac ` timestamp. */
const LEADER =
  /^\s*(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(?:(?:\d{1,2}:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+)\s+)?(.*)$/;
const UNFINISHED = /\s*<unfinished \.\.\.>$/;
const RESUMED = /^<\.\.\. ([a-z_][a-z0-9_]*) resumed>(.*)$/;
const CALL_START = /^([a-z_][a-z0-9_]*)\(/;
/**
 * Calls an older strace does not know and prints by number (x86-64 numbers): mseal is 462.
 */
const BY_NUMBER: Readonly<Record<string, string>> = { syscall_0x1ce: "mseal" };

/** The call's name, with BY_NUMBER's names for the numbered ones. */
function callName(raw: string): string {
  return Object.hasOwn(BY_NUMBER, raw) ? BY_NUMBER[raw]! : raw;
}

/** A whole call: its arguments at top level, the result token and the errno after it. */
interface CallText {
  name: string;
  args: string[];
  ret: string;
  errno: string | null;
}

/**
 * Splits `name(args) = ret [ERRNO (text)] [(notes)]`, honouring quotes, brackets and comments
 * inside the arguments. Null if the text is not a whole call (truncated, garbage).
 */
function splitCall(text: string): CallText | null {
  const m = CALL_START.exec(text);
  if (m === null) return null;
  const args: string[] = [];
  let depth = 0;
  let start = m[0].length;
  let i = start;
  let close = -1;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (i >= text.length) return null;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) return null;
      i = end + 1;
    } else if (c === "(" || c === "[" || c === "{") {
      depth++;
    } else if (c === "]" || c === "}") {
      if (--depth < 0) return null;
    } else if (c === ")") {
      if (depth === 0) {
        close = i;
        break;
      }
      depth--;
    } else if (c === "," && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (close < 0) return null;
  const last = text.slice(start, close).trim();
  if (last !== "" || args.length > 0) args.push(last);
  // -T appends ` <0.000012>`; -y decorates descriptors; neither matters for the result word.
  const r = /^\s*=\s*(\?|-?[0-9]+|0x[0-9a-f]+)(?:<[^>]*>)?(?:\s+(E[A-Z0-9_]+))?(?:\s.*)?$/i.exec(
    text.slice(close + 1),
  );
  if (r === null) return null;
  return { name: callName(m[1]!), args, ret: r[1]!, errno: r[2] ?? null };
}

/** A C string literal as strace prints it (possibly followed by `...`), unescaped. */
function unquote(arg: string): string | null {
  const m = /^"((?:[^"\\]|\\.)*)"(?:\.\.\.)?$/.exec(arg.trim());
  if (m === null) return null;
  return m[1]!.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", v: "\v", f: "\f" };
    return simple[e] ?? e;
  });
}

const LOCK_CALLS = new Set(["mlock", "mlock2", "munlock", "mlockall", "munlockall"]);
const MEMORY_CALLS = new Set([
  "mmap",
  "munmap",
  "mprotect",
  "pkey_mprotect",
  "madvise",
  "mremap",
  "brk",
  "mseal",
  ...LOCK_CALLS,
]);
const FORK_CALLS = new Set(["clone", "clone3", "fork", "vfork"]);
const EXEC_CALLS = new Set(["execve", "execveat"]);
const EXIT_CALLS = new Set(["exit", "exit_group"]);

function isOfInterest(name: string): boolean {
  return (
    MEMORY_CALLS.has(name) || FORK_CALLS.has(name) || EXEC_CALLS.has(name) || EXIT_CALLS.has(name)
  );
}

// ---------------------------------------------------------------------------------------------
// strace: building ops

/** An op before pass 3 fills `seq`, `as` and the fields that depend on the as-id state. */
type Draft = TraceOp;

class BadLine extends Error {}

function num(arg: string | undefined): number {
  const v = arg === undefined ? null : parseTraceNumber(stripComments(arg));
  if (v === null) throw new BadLine();
  return v;
}

/** A descriptor argument: a number, with `-y`'s `<path>` decoration dropped. */
function fdNum(arg: string | undefined): number {
  return num(arg?.replace(/<.*>$/, ""));
}

function flags(arg: string | undefined, prefix: string): number {
  const v = arg === undefined ? null : parseFlagWord(arg, prefix);
  if (v === null) throw new BadLine();
  return v;
}

function arity(c: CallText, min: number, max = min): void {
  if (c.args.length < min || c.args.length > max) throw new BadLine();
}

/** The result of a memory call: a number, or -1 with an errno. `?` is not a result. */
function result(c: CallText): { result: number; errno: string | null } {
  if (c.ret === "?") throw new BadLine();
  const v = num(c.ret);
  return { result: v, errno: v === -1 ? c.errno : null };
}

/**
 * The op a completed call of interest makes, or null when the call makes none (a failed exec or
 * fork, a restarted fork). Throws BadLine when the call cannot be read.
 */
function callOp(c: CallText, pid: number, line: number): Draft | null {
  const base = { seq: -1, pid, as: "", line };
  const a = c.args;
  switch (c.name) {
    case "mmap":
      arity(c, 6);
      return {
        op: "mmap",
        ...base,
        addr: num(a[0]),
        length: num(a[1]),
        prot: flags(a[2], "PROT_"),
        flags: flags(a[3], "MAP_"),
        fd: fdNum(a[4]),
        offset: num(a[5]),
        ...result(c),
      };
    case "munmap":
      arity(c, 2);
      return { op: "munmap", ...base, addr: num(a[0]), length: num(a[1]), ...result(c) };
    case "mprotect":
    case "pkey_mprotect": {
      const pk = c.name === "pkey_mprotect";
      arity(c, pk ? 4 : 3);
      return {
        op: "mprotect",
        ...base,
        addr: num(a[0]),
        length: num(a[1]),
        prot: flags(a[2], "PROT_"),
        ...(pk ? { pkey: num(a[3]) } : {}),
        ...result(c),
      };
    }
    case "madvise":
      arity(c, 3);
      return {
        op: "madvise",
        ...base,
        addr: num(a[0]),
        length: num(a[1]),
        advice: flags(a[2], "MADV_"),
        ...result(c),
      };
    case "mremap":
      arity(c, 4, 5);
      return {
        op: "mremap",
        ...base,
        oldAddr: num(a[0]),
        oldSize: num(a[1]),
        newSize: num(a[2]),
        flags: flags(a[3], "MREMAP_"),
        newAddr: a.length === 5 ? num(a[4]) : null,
        ...result(c),
      };
    case "mlock":
    case "munlock":
      arity(c, 2);
      return lockOp(c, base, num(a[0]), num(a[1]), 0);
    case "mlock2":
      arity(c, 3);
      return lockOp(c, base, num(a[0]), num(a[1]), flags(a[2], "MLOCK_"));
    case "mlockall":
      arity(c, 1);
      return lockOp(c, base, 0, 0, flags(a[0], "MCL_"));
    case "mseal":
      // syscall_0x1ce prints six raw argument registers; mseal takes three.
      arity(c, 3, 6);
      return {
        op: "mseal",
        ...base,
        addr: num(a[0]),
        length: num(a[1]),
        flags: num(a[2]),
        ...result(c),
      };
    case "munlockall":
      if (c.args.length > 1 || (c.args.length === 1 && c.args[0]!.trim() !== ""))
        throw new BadLine();
      return lockOp(c, base, 0, 0, 0);
    case "brk":
      arity(c, 1);
      if (c.ret === "?") throw new BadLine();
      return { op: "brk", ...base, addr: num(a[0]), result: num(c.ret) };
    case "execve":
    case "execveat": {
      const path = unquote(a[c.name === "execve" ? 0 : 1] ?? "");
      if (path === null) throw new BadLine();
      if (c.ret !== "0") return null;
      return { op: "exec", ...base, oldAs: null, path, initialMapsFile: null };
    }
    case "clone":
    case "clone3":
    case "fork":
    case "vfork": {
      let shareVm = c.name === "vfork";
      if (c.name === "clone" || c.name === "clone3") {
        const f = /(?:^|[{,\s])flags=([^,}\s]+)/.exec(a.join(", "));
        if (f === null) throw new BadLine();
        for (const part of f[1]!.split("|")) {
          const v = parseTraceNumber(part);
          if (part === "CLONE_VM" || (v !== null && v >= 0 && Math.floor(v / CLONE_VM) % 2 === 1))
            shareVm = true;
        }
      }
      if (c.ret === "?") return null; // ERESTARTNOINTR: strace shows the restarted call again
      const child = num(c.ret);
      if (child <= 0) return null; // failed (-1 EAGAIN ...)
      return { op: "fork", ...base, child, parentAs: "", shareVm, syscall: c.name };
    }
    case "exit":
    case "exit_group":
      arity(c, 1);
      return exitDraft(base, c.name, num(a[0]));
  }
  throw new Error(`callOp: not a call of interest: ${c.name}`);
}

function lockOp(
  c: CallText,
  base: { seq: number; pid: number; as: string; line: number },
  addr: number,
  length: number,
  flagWord: number,
): MlockOp {
  return {
    op: "mlock",
    ...base,
    syscall: c.name as MlockOp["syscall"],
    addr,
    length,
    flags: flagWord,
    ...result(c),
  };
}

function exitDraft(
  base: { seq: number; pid: number; as: string; line: number },
  how: ExitOp["how"],
  code: number,
): ExitOp {
  return { op: "exit", ...base, how, code, finalMapsFile: null };
}

/**
 * The pid that unprefixed lines belong to: the one `[pid N]` that no fork in the log created
 * (strace leaves out the prefix while only the first process lives), else 1.
 */
function defaultPid(lines: readonly string[]): number {
  const prefixed: number[] = [];
  const children = new Set<number>();
  for (const l of lines) {
    const p = /^\s*\[pid\s+(\d+)\]/.exec(l);
    if (p !== null) prefixed.push(Number(p[1]));
    const c = /(?:\b(?:clone3?|v?fork)\(|<\.\.\. (?:clone3?|v?fork) resumed>).*\)\s+=\s+(\d+)/.exec(
      l,
    );
    if (c !== null) children.add(Number(c[1]));
  }
  return prefixed.find((p) => !children.has(p)) ?? 1;
}

interface Pending {
  name: string;
  /** The call's text so far (no prefix, no `<unfinished ...>`). */
  text: string;
  line: number;
  /** The entry line as written, for `malformed` if the call never completes. */
  raw: string;
}

/**
 * Parses raw strace output (`strace -f -tt -e trace=memory,process`) into ops; see the file
 * prologue for the format, the order of ops and how address-space ids are given.
 *
 * `mapsFiles` lists the run's maps snapshots (e.g. `["maps/5712.exec0.maps",
 * "maps/5712.final.maps"]`); ops name the ones that exist, as given. Never throws on bad input:
 * unreadable lines are in `malformed` (1-based line, text) and parsing goes on; an empty text
 * gives no ops.
 *
 * @example
 * const t = parseStrace("7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000\n");
 * // t.ops[0]: { op: "mmap", seq: 0, pid: 7, as: "as0", addr: 0, length: 4096, prot: 1,
 * //             flags: 0x22, fd: -1, offset: 0, result: 0x7f0000001000, errno: null, line: 1 }
 */
export function parseStrace(text: string, mapsFiles: readonly string[] = []): ParsedTrace {
  const lines = text.split("\n");
  const unknown: Record<string, number> = {};
  const malformed: { line: number; text: string }[] = [];
  const drafts: Draft[] = [];
  const pending = new Map<number, Pending>();
  const dflt = defaultPid(lines);
  let firstPid: number | null = null;

  const bad = (line: number, t: string) => malformed.push({ line, text: t });

  /** A call that will never complete: an exit is still an exit, anything else is lost. */
  const abandon = (pid: number, p: Pending) => {
    if (!isOfInterest(p.name)) return;
    if (EXIT_CALLS.has(p.name)) {
      const code = parseTraceNumber(p.text.slice(p.name.length + 1));
      if (code !== null) {
        drafts.push(
          exitDraft({ seq: -1, pid, as: "", line: p.line }, p.name as ExitOp["how"], code),
        );
        return;
      }
    }
    bad(p.line, p.raw);
  };

  /**
   * A whole call text (single line, or joined), entered at `entryLine`, completed at `line`;
   * `shown` is what `malformed` says of it (the line as written, or the joined text).
   */
  const complete = (
    pid: number,
    t: string,
    shown: string,
    entryLine: number,
    line: number,
    counted: boolean,
  ) => {
    const c = splitCall(t);
    if (c === null) {
      bad(entryLine, shown);
      return;
    }
    if (!isOfInterest(c.name)) {
      if (!counted) unknown[c.name] = (unknown[c.name] ?? 0) + 1;
      return;
    }
    try {
      const fork = FORK_CALLS.has(c.name);
      const d = callOp(c, pid, fork ? entryLine : line);
      if (d !== null) {
        if (!fork && entryLine !== line) d.entered = entryLine;
        drafts.push(d);
      }
    } catch (e) {
      if (!(e instanceof BadLine)) throw e;
      bad(entryLine, shown);
    }
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    const lineNo = i + 1;
    if (raw.trim() === "") continue;
    const m = LEADER.exec(raw)!;
    const pid = m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? Number(m[2]) : dflt;
    const body = m[3]!.replace(/\s+<\d+\.\d+>$/, "");
    if (body.startsWith("strace: ")) continue; // strace's own notes ("Process N attached")

    if (body.startsWith("--- ")) {
      if (!/ ---$/.test(body)) bad(lineNo, raw);
      else firstPid ??= pid;
      continue;
    }
    if (body.startsWith("+++ ")) {
      const ex = /^\+\+\+ exited with (\d+) \+\+\+$/.exec(body);
      const kd = /^\+\+\+ killed by (\S+)(?: \(core dumped\))? \+\+\+$/.exec(body);
      const sp = /^\+\+\+ superseded by execve in pid (\d+) \+\+\+$/.exec(body);
      const sig = kd === null ? null : signalNumber(kd[1]!);
      if (sp !== null) {
        // A thread's execve completes under the leader's pid: move its pending half there.
        const p = pending.get(Number(sp[1]));
        pending.delete(Number(sp[1]));
        if (p !== undefined) pending.set(pid, p);
        continue;
      }
      if (ex === null && sig === null) {
        bad(lineNo, raw);
        continue;
      }
      firstPid ??= pid;
      const p = pending.get(pid);
      if (p !== undefined) {
        pending.delete(pid);
        abandon(pid, p);
      }
      const base = { seq: -1, pid, as: "", line: lineNo };
      drafts.push(
        ex !== null ? exitDraft(base, "exited", Number(ex[1])) : exitDraft(base, "killed", sig!),
      );
      continue;
    }

    let callText: string;
    let shown = raw;
    let entryLine = lineNo;
    let counted = false;
    const rs = RESUMED.exec(body);
    if (rs !== null) {
      const p = pending.get(pid);
      if (p === undefined || p.name !== callName(rs[1]!)) {
        bad(lineNo, raw);
        continue;
      }
      pending.delete(pid);
      callText = p.text + rs[2]!;
      shown = callText;
      entryLine = p.line;
      counted = true;
    } else {
      const cs = CALL_START.exec(body);
      if (cs === null) {
        bad(lineNo, raw);
        continue;
      }
      firstPid ??= pid;
      callText = body;
    }

    if (UNFINISHED.test(callText)) {
      const name = callName(CALL_START.exec(callText)![1]!);
      // An uninteresting call is counted when it starts: it may never resume.
      if (!counted && !isOfInterest(name)) unknown[name] = (unknown[name] ?? 0) + 1;
      const old = pending.get(pid);
      if (old !== undefined) abandon(pid, old);
      const text = callText.replace(UNFINISHED, "");
      pending.set(pid, { name, text, line: entryLine, raw: rs === null ? raw : text });
      continue;
    }
    complete(pid, callText, shown, entryLine, lineNo, counted);
  }
  // Calls still unfinished at the end of the log (the log was cut short).
  for (const [pid, p] of [...pending].sort((x, y) => x[1].line - y[1].line)) abandon(pid, p);

  drafts.sort((x, y) => x.line - y.line);
  malformed.sort((x, y) => x.line - y.line);
  assignSpaces(drafts, firstPid, mapsFiles);
  return { ops: drafts, unknown, malformed, format: "strace" };
}

/**
 * Pass 3: in op order, gives every op its seq and address-space id, and names the maps
 * snapshots (rules in the file prologue).
 */
function assignSpaces(ops: Draft[], firstPid: number | null, mapsFiles: readonly string[]): void {
  const byBase = new Map<string, string>();
  for (const f of mapsFiles) byBase.set(basename(f), f);
  const spaceOf = new Map<number, string>();
  let next = 0;
  const fresh = () => `as${next++}`;
  if (firstPid !== null) spaceOf.set(firstPid, fresh());
  const snapshots = new Map<number, number>(); // pid -> snapshotted execs so far
  let firstExecSeen = false;

  ops.forEach((op, seq) => {
    op.seq = seq;
    let cur = spaceOf.get(op.pid);
    if (cur === undefined) spaceOf.set(op.pid, (cur = fresh()));
    op.as = cur;
    switch (op.op) {
      case "exec": {
        op.oldAs = cur;
        op.as = fresh();
        spaceOf.set(op.pid, op.as);
        if (firstExecSeen) {
          const k = snapshots.get(op.pid) ?? 0;
          snapshots.set(op.pid, k + 1);
          op.initialMapsFile = byBase.get(`${op.pid}.exec${k}.maps`) ?? null;
        }
        firstExecSeen = true;
        break;
      }
      case "fork":
        op.parentAs = cur;
        op.as = op.shareVm ? cur : fresh();
        spaceOf.set(op.child, op.as);
        break;
      case "exit":
        if (op.how === "exit_group") op.finalMapsFile = byBase.get(`${op.pid}.final.maps`) ?? null;
        break;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// ops.jsonl

type Json = Record<string, unknown>;

function jNum(o: Json, k: string): number {
  const v = o[k];
  const n = typeof v === "number" ? v : typeof v === "string" ? parseTraceNumber(v) : null;
  if (n === null || Number.isNaN(n)) throw new BadLine();
  return n;
}

function jStr(o: Json, k: string): string {
  const v = o[k];
  if (typeof v !== "string") throw new BadLine();
  return v;
}

/** A string field that must be one of `allowed`. */
function jOneOf(o: Json, k: string, allowed: ReadonlySet<string>): string {
  const v = jStr(o, k);
  if (!allowed.has(v)) throw new BadLine();
  return v;
}

function jStrOrNull(o: Json, k: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new BadLine();
  return v;
}

function jFlags(o: Json, k: string, prefix: string): number {
  const v = o[k];
  const n = typeof v === "number" ? v : typeof v === "string" ? parseFlagWord(v, prefix) : null;
  if (n === null) throw new BadLine();
  return n;
}

function jResult(o: Json): { result: number; errno: string | null } {
  const r = jNum(o, "result");
  return { result: r, errno: r === -1 ? jStrOrNull(o, "errno") : null };
}

const JSONL_OPS = new Set([
  "exec",
  "mmap",
  "munmap",
  "mprotect",
  "madvise",
  "mremap",
  "brk",
  "mlock",
  "mseal",
  "fork",
  "exit",
]);
const EXIT_HOWS = new Set(["exit_group", "exit", "exited", "killed"]);

function jsonOp(o: Json, line: number): TraceOp {
  const base = { seq: jNum(o, "seq"), pid: jNum(o, "pid"), as: jStr(o, "as"), line };
  switch (o.op) {
    case "exec":
      return {
        op: "exec",
        ...base,
        oldAs: jStrOrNull(o, "old_as"),
        path: jStr(o, "path"),
        initialMapsFile: jStrOrNull(o, "initial_maps_file"),
      };
    case "mmap":
      return {
        op: "mmap",
        ...base,
        addr: jNum(o, "addr"),
        length: jNum(o, "length"),
        prot: jFlags(o, "prot", "PROT_"),
        flags: jFlags(o, "flags", "MAP_"),
        fd: jNum(o, "fd"),
        offset: jNum(o, "offset"),
        ...jResult(o),
      };
    case "munmap":
      return {
        op: "munmap",
        ...base,
        addr: jNum(o, "addr"),
        length: jNum(o, "length"),
        ...jResult(o),
      };
    case "mprotect":
      return {
        op: "mprotect",
        ...base,
        addr: jNum(o, "addr"),
        length: jNum(o, "length"),
        prot: jFlags(o, "prot", "PROT_"),
        ...jResult(o),
      };
    case "madvise":
      return {
        op: "madvise",
        ...base,
        addr: jNum(o, "addr"),
        length: jNum(o, "length"),
        advice: jFlags(o, "advice", "MADV_"),
        ...jResult(o),
      };
    case "mremap":
      return {
        op: "mremap",
        ...base,
        oldAddr: jNum(o, "old_addr"),
        oldSize: jNum(o, "old_size"),
        newSize: jNum(o, "new_size"),
        flags: jFlags(o, "flags", "MREMAP_"),
        newAddr: o.new_addr === null || o.new_addr === undefined ? null : jNum(o, "new_addr"),
        ...jResult(o),
      };
    case "brk":
      return { op: "brk", ...base, addr: jNum(o, "addr"), result: jNum(o, "result") };
    case "mlock":
      return {
        op: "mlock",
        ...base,
        syscall: jOneOf(o, "syscall", LOCK_CALLS) as MlockOp["syscall"],
        addr: jNum(o, "addr"),
        length: jNum(o, "length"),
        flags: jNum(o, "flags"),
        ...jResult(o),
      };
    case "mseal":
      return {
        op: "mseal",
        ...base,
        addr: jNum(o, "addr"),
        length: jNum(o, "length"),
        flags: jNum(o, "flags"),
        ...jResult(o),
      };
    case "fork":
      if (typeof o.share_vm !== "boolean") throw new BadLine();
      return {
        op: "fork",
        ...base,
        child: jNum(o, "child"),
        parentAs: jStr(o, "parent_as"),
        shareVm: o.share_vm,
        syscall: jStr(o, "syscall"),
      };
    case "exit":
      return {
        op: "exit",
        ...base,
        how: jOneOf(o, "how", EXIT_HOWS) as ExitOp["how"],
        code: jNum(o, "code"),
        finalMapsFile: jStrOrNull(o, "final_maps_file"),
      };
  }
  throw new BadLine();
}

/**
 * Parses the recorder's ops.jsonl (one JSON object a line; fields in the traces README) into
 * the same ops as {@link parseStrace}. `seq` and `as` are taken as written; `line` is the
 * 1-based line in the file. A line that is not JSON, or lacks a field its op needs, is in
 * `malformed`; an object whose `op` is not one of the ten kinds is counted in `unknown` under
 * that name. Fields that TraceOp does not carry (ts, initial_maps, clone flags) are dropped.
 *
 * @example
 * parseOpsJsonl('{"op": "brk", "seq": 0, "pid": 5, "as": "as1", "addr": "0x0", "result": "0x1000"}')
 * // ops: [{ op: "brk", seq: 0, pid: 5, as: "as1", addr: 0, result: 4096, line: 1 }]
 */
export function parseOpsJsonl(text: string): ParsedTrace {
  const ops: TraceOp[] = [];
  const unknown: Record<string, number> = {};
  const malformed: { line: number; text: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const t = raw.trim();
    if (t === "") return;
    try {
      const o: unknown = JSON.parse(t);
      if (typeof o !== "object" || o === null || Array.isArray(o)) throw new BadLine();
      const j = o as Json;
      if (typeof j.op === "string" && !JSONL_OPS.has(j.op)) {
        unknown[j.op] = (unknown[j.op] ?? 0) + 1;
        return;
      }
      ops.push(jsonOp(j, i + 1));
    } catch (e) {
      if (!(e instanceof BadLine) && !(e instanceof SyntaxError)) throw e;
      malformed.push({ line: i + 1, text: raw });
    }
  });
  return { ops, unknown, malformed, format: "jsonl" };
}

// ---------------------------------------------------------------------------------------------
// Files

export interface LoadedTrace extends ParsedTrace {
  /** The file that was parsed. */
  source: string;
  /** The trace folder: maps file names are relative to it. */
  dir: string;
  /** `maps/...` names found in the folder, sorted. */
  mapsFiles: string[];
}

/**
 * Reads a trace: a folder (its strace.log if present, else its ops.jsonl), or a bare strace log
 * or .jsonl file (maps files are then looked for in `maps/` beside it). Throws the fs error if
 * nothing can be read; bad lines inside are reported as by the parsers.
 */
export function loadTrace(path: string): LoadedTrace {
  let dir: string;
  let source: string;
  if (statSync(path).isDirectory()) {
    dir = path;
    source = join(dir, "strace.log");
    try {
      statSync(source);
    } catch {
      source = join(dir, "ops.jsonl");
    }
  } else {
    dir = dirname(path);
    source = path;
  }
  let mapsFiles: string[] = [];
  try {
    mapsFiles = readdirSync(join(dir, "maps"))
      .filter((f) => f.endsWith(".maps"))
      .sort()
      .map((f) => `maps/${f}`);
  } catch {
    // no snapshots: ops name none
  }
  const text = readFileSync(source, "utf8");
  const parsed = source.endsWith(".jsonl") ? parseOpsJsonl(text) : parseStrace(text, mapsFiles);
  return { ...parsed, source, dir, mapsFiles };
}

/** {@link loadTrace} for a trace folder. */
export function loadTraceDir(dir: string): LoadedTrace {
  if (!statSync(dir).isDirectory()) throw new Error(`loadTraceDir: not a folder: ${dir}`);
  return loadTrace(dir);
}
