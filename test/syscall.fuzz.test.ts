/**
 * Fuzz of the system-call boundary of both personalities (issue acceptance: "nothing escapes
 * but VmError, and a failing call leaves the system deep-equal to before").
 *
 * Each run builds a fresh system of one personality with real state — anonymous private and
 * shared mappings with resident pages, private and shared file mappings of a MemoryFile (open
 * "rw", "r" and "w"), a guard (FreeBSD MAP_GUARD, Linux PROT_NONE), a stack (MAP_STACK /
 * MAP_GROWSDOWN), an executable mapping, a MAP_FIXED window, wired pages, a grown break, a
 * forked child with copy-on-write copies — and then throws a few hundred calls at it: mmap,
 * munmap, mprotect, minherit, madvise, msync (once Process has it), mlock, mlock2 and mseal
 * (ENOSYS on FreeBSD), munlock, mlockall, munlockall, mincore, brk, mremap (ENOSYS on FreeBSD),
 * setrlimit, getrlimit, fork and exit,
 * on live processes and now and then on exited ones, and the CPU's accesses read8..read64,
 * write8..write64, readBytes, writeBytes, fetch.
 *
 * Every argument is drawn either "sane" (addresses at, just before or just after the entries
 * of the caller's map or another process's, a MAP_FIXED window, the break; page-multiple,
 * unaligned and rest-of-entry lengths; the personality's own prot / flag / advice / inherit /
 * MCL / MS / RLIMIT values and valid combinations) or "wild": NaN, ±Infinity, -0, 0.5, 2^31,
 * 2^32, 2^32+1, 2^47, 2^53, 2^53+2, MAX_SAFE_INTEGER, 2^64, ...; every numeric constant of both
 * personalities and unions of 2-3 of them (so a constant the personality lacks is tried);
 * random 32-bit words, signed and unsigned; unaligned addresses near existing mappings; lengths
 * that wrap past 2^47, 2^53 or 2^64 from the call's address. A call is all sane, mixed (each
 * argument wild with probability 0.3) or all wild, so malformed arguments reach every check of
 * the validation order and not only the first.
 *
 * Properties, after every call:
 * 1. A system call returns or throws a VmError whose `code` is a string, whose `errno` is that
 *    code's number in the personality's errno.h (the tables below are written from the C
 *    headers, not taken from the library) and whose `syscall` is the call's name. FreeBSD's
 *    mremap, mlock2 and mseal always throw ENOSYS.
 * 2. A memory access returns or throws MemoryFault (signal and code consistent, the access type
 *    of the call, the address inside the access). What the library throws for malformed
 *    arguments, as found and asserted here:
 *    - an address that is not a safe non-negative integer (NaN, ±Infinity, fractions,
 *      negatives, 2^53 and above) is a RangeError ("address ... is not a safe non-negative
 *      integer"), for every access of at least one byte; nothing is touched;
 *    - a safe address beyond the address space (2^47 .. 2^53-1) is SIGSEGV/SEGV_MAPERR;
 *    - readBytes and fetch check their length first: a length that is not a safe
 *      non-negative integer is VmError EINVAL with syscall "read" (before the address is
 *      looked at); a length of 0 returns an empty array whatever the address;
 *    - a well-formed length above what a Uint8Array holds (2^32) must not escape as V8's own
 *      RangeError ("Invalid typed array length").
 * 3. A call that throws leaves the system deep-equal to before: for every live process
 *    p.maps(), p.formatMaps("procstat"), p.formatMaps("linux"), p.map.state() (entries with
 *    their object ids, flags such as MAP_WIREFUTURE, the anonymous placement cursor),
 *    p.pmap.mappings() (every PTE with its A/M/wired bits), every getrlimit of the
 *    personality, the break (Linux startBrk/currentBrk, FreeBSD daddr/dsize), the open
 *    descriptors; and sys.stats() whole. Counters a failed call may legitimately bump:
 *    - a MemoryFault on the first page of the access: faults.faults and faults.failed (the one
 *      vm_fault that failed); nothing else;
 *    - a MemoryFault further on (an access spanning pages, read64/write64 as two halves): the
 *      pages before the faulting one were legitimately faulted in (zero fill, COW copies, page
 *      ins, shadow objects, PTEs), as a kernel's copyin does; the deep-equal is skipped, the
 *      audit still runs;
 *    - RangeError and the VmError of a malformed length: nothing at all.
 *    Calls whose kernel itself changes state before failing (API.md; docs/syscalls.md "Rules
 *    common to every call"), for which the deep-equal is replaced by the audit:
 *    - Linux mprotect EACCES / ENOMEM: applied vma by vma up to the failing vma or hole;
 *    - Linux madvise ENOMEM: every mapped part is advised, then the hole is reported; a vma's
 *      refusal (EINVAL, EACCES, ENODEV): the vmas before it were advised; EFAULT of
 *      MADV_POPULATE_READ/WRITE: pages before the failing one were populated (a refusal of the
 *      arguments, before the walk, must change nothing);
 *    - Linux msync ENOMEM / EBUSY: the vmas before the hole (or the locked vma) are written
 *      back;
 *    - FreeBSD and Linux mlockall EAGAIN, and ENOMEM: MCL_FUTURE is set before MCL_CURRENT's
 *      wiring fails (sys_mlockall sets MAP_WIREFUTURE first, vm_map_wire faults pages in on its
 *      way, and KERN_RESOURCE_SHORTAGE, out of memory while wiring, is ENOMEM; the RLIMIT_MEMLOCK
 *      ENOMEM before it changes nothing, which the audit-only check accepts too);
 *    - Linux mlock ENOMEM after population began: every vma of the range is locked first
 *      (mlock_fixup), then population stops at a vma without access (the range stays locked);
 *      and ENOMEM for a hole: the vmas before it stay locked, unpopulated;
 *    - mlock (and mlockall) whose wiring faulted: the pages faulted in before the failing one
 *      stay resident and the fault counters moved (vm_map_wire's rollback unwires, it does not
 *      free), so instead of the deep-equal the entries with their protections, inheritance,
 *      wire counts, kind and path (adjacent alike entries as one: a clipped entry the fault
 *      shadowed stays split, see wiringView), the map flags and the wired-frame count must be
 *      as before;
 *    - a MemoryFault in a stack's gap (FreeBSD) or in the hole under a grows-down mapping
 *      (Linux): both kernels grow the stack before they check the access;
 *    - Linux mremap with MREMAP_FIXED or MREMAP_DONTUNMAP (mremap_to) that passes the checks
 *      before its unmaps (written here from mm/mremap.c as of 6.17: Run.mremapFailure) and
 *      then fails: MREMAP_FIXED's destination and a shrink's old tail are unmapped first. Not
 *      exempted but checked exactly: the state after must equal the state that munmap of
 *      those ranges alone makes of the state before, rebuilt by replaying the run's calls so
 *      far on a fresh system (object ids renumbered, PTE referenced/modified bits dropped: the
 *      replay makes the same accesses but not the same A/M history). MREMAP_FIXED without a
 *      size change over an old range of several entries moves vma by vma (remap_move), so a
 *      failure may leave the vmas before the failing one moved: exempted. Every other failing
 *      mremap (a plain shrink never fails after its unmap) must change nothing;
 *    - a SIGBUS (a file page past the end of the file): the lookup has already resolved
 *      copy-on-write for a write (vm_map_lookup shadows a NEEDS_COPY entry, making an object
 *      and clearing needsCopy) when the pager finds no page; the entries as listed for mlock
 *      above must be unchanged.
 * 4. sys.audit() passes after every call, failed or not.
 *
 * Harness limits, so that a run stays small and fast: 16 MiB of physical memory; RLIMIT_AS is
 * capped at AS_CAP (32 MiB) at creation and a setrlimit that would raise its soft limit above
 * the cap is sent with the cap instead (logged), since maps() counts resident pages entry by
 * entry and a multi-gigabyte touched mapping would make every snapshot slow; at most MAX_PROCS
 * live processes (a fork beyond that exits the youngest instead); access lengths drawn wild
 * skip the range (2^24, 2^32] (readBytes allocates its result before looking at the address).
 *
 * Library bugs this fuzz found, now fixed (the checks above would catch them again):
 * - mincore of a range of more than 2^32 pages threw V8's RangeError "Invalid typed array
 *   length" (the result was allocated before the range was checked); now holes are ENOMEM
 *   first and a range mapped whole but too long for one array is EINVAL.
 * - readBytes/fetch with a safe length above what one Uint8Array holds threw V8's RangeError;
 *   now the pages are faulted first (MemoryFault at the first bad page) and a range mapped
 *   whole is VmError EINVAL ("read").
 * - a wired range made PROT_NONE lost its wired translations (the audit's "wired entry page
 *   not wired in the pmap").
 * - a private file mapping reported kind "anon" once shadowed (maps() looked at the top
 *   object; procstat and /proc/PID/maps report the deepest).
 *
 * Found while writing the mremap_to check (fixed, rows in docs/syscalls.md): a shrinking
 * mremap whose old range ran past TASK_SIZE unmapped the tail up to the map's end and
 * succeeded (do_vmi_munmap says EINVAL).
 *
 * Size: RUNS runs × OPS calls per personality (SYSCALL_FUZZ_RUNS / SYSCALL_FUZZ_OPS override,
 * SYSCALL_FUZZ_SCALE multiplies the runs); 5 × 250 keeps the file near 60 s on a loaded
 * two-core machine. Each personality runs from a fixed seed, printed with the totals
 * (SYSCALL_FUZZ_FRESH=1 draws fresh ones);
 * SYSCALL_FUZZ_SEED (and SYSCALL_FUZZ_PATH) replay one. The first failing run is reported as
 * is with every interpreted call of the run; SYSCALL_FUZZ_SHRINK=1 shrinks instead, which can
 * take long.
 */

import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { expect, it } from "vitest";
import {
  freebsd,
  LinuxProcess,
  linux,
  MAP_ENTRY_SEALED,
  type MapInfo,
  MemoryFault,
  MemoryFile,
  Process,
  VmError,
  VmSystem,
} from "../src/index.js";
import { ERRNO_H } from "./errnoh.js";

type Pers = "freebsd" | "linux";

const PS = 4096;
const PHYS = 16 << 20;
/** RLIMIT_AS of every process (see the prologue). */
const AS_CAP = 32 << 20;
/** The MAP_FIXED window: 64 GiB, above FreeBSD's hint-less floor and Linux's heap. */
const WIN = 2 ** 36;
const MAX_PROCS = 4;
/** x86-64 TASK_SIZE: the last page below 2^47 is not user space. */
const LINUX_TASK_SIZE = 2 ** 47 - PS;
const SCALE = Number(process.env.SYSCALL_FUZZ_SCALE ?? 1);
const RUNS = Math.max(1, Math.round(Number(process.env.SYSCALL_FUZZ_RUNS ?? 5) * SCALE));
const OPS = Number(process.env.SYSCALL_FUZZ_OPS ?? 250);

/** The call each personality lacks (the other kernel's): always ENOSYS. */
const OTHER_KERNELS_CALLS: Record<Pers, readonly string[]> = {
  freebsd: ["mremap", "mlock2", "mseal"],
  linux: ["minherit"],
};

/**
 * Failures after which the kernel itself has changed state (prologue, property 3; each is a
 * case of docs/syscalls.md "Rules common to every call"). Linux mremap_to is not here: its
 * unmaps are checked exactly (Run.mremapFailure).
 */
function changesBeforeFailing(pers: Pers, call: string, args: unknown[], e: VmError): boolean {
  const code = e.code;
  if (call === "mlockall") return code === "EAGAIN" || code === "ENOMEM";
  if (pers === "freebsd") return false;
  switch (call) {
    case "mlock":
    case "mlock2":
      // The range is locked (VM_LOCKED) before population, which stops at a vma without
      // access; a hole stops the locking, the vmas before it staying locked. The limit check
      // before them changes nothing.
      return (
        code === "ENOMEM" &&
        (e.message.includes("population stopped") || e.message.includes("unmapped pages"))
      );
    case "mprotect":
      // vma by vma, up to a hole, a VM_MAY* refusal or a sealed vma
      return code === "EACCES" || code === "ENOMEM" || code === "EPERM";
    case "madvise":
      // Every mapped part is advised before a hole is reported; a vma that refuses the advice
      // (EINVAL, MADV_REMOVE's EACCES and ENODEV) stops the walk after the vmas before it were
      // advised; MADV_POPULATE_* populates vma by vma and stops at a vma without the access
      // (EINVAL) or a failing fault (EFAULT), keeping what it populated. The argument checks
      // before the walk (advice, alignment, wrap-around) change nothing.
      if (code === "ENOMEM") return true;
      if (/unknown advice|not page aligned|range wraps|not a safe|not a 32-bit/.test(e.message))
        return false;
      return (
        code === "EINVAL" ||
        code === "EACCES" ||
        code === "ENODEV" ||
        code === "EPERM" ||
        (code === "EFAULT" &&
          (args[2] === linux.MADV_POPULATE_READ || args[2] === linux.MADV_POPULATE_WRITE))
      );
    case "msync":
      return code === "ENOMEM" || code === "EBUSY";
    default:
      return false;
  }
}

/** Whether the entry at `addr` carries VM_SEALED (mseal). */
function sealedAt(p: Process, addr: number): boolean {
  const r = p.map.lookupEntry(addr);
  return r.found && (r.entry!.eflags & MAP_ENTRY_SEALED) !== 0;
}

// ---------------------------------------------------------------------------- values

type Table = Readonly<Record<string, unknown>>;
const TABLES: Record<Pers, Table> = { freebsd, linux };

function numbers(t: Table, prefix = ""): number[] {
  return Object.entries(t)
    .filter(([k, v]) => typeof v === "number" && k.startsWith(prefix))
    .map(([, v]) => v as number);
}

function uniq(xs: number[]): number[] {
  const out: number[] = [];
  for (const x of xs) if (!out.some((y) => Object.is(x, y))) out.push(x);
  return out;
}

/** Every numeric constant of both personalities, and the function-like macros' values. */
const ALL_CONSTANTS = uniq([
  ...numbers(freebsd),
  ...numbers(linux),
  ...[1, 12, 13, 21, 22, 63, 64, 128, 255].map((n) => freebsd.MAP_ALIGNED(n)),
  ...[1, 2, 3, 4, 5, 6, 7].map((p) => freebsd.PROT_MAX(p)),
]);

const INTERESTING = [
  0,
  -0,
  1,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0.5,
  1.5,
  PS - 1,
  PS,
  PS + 1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 47 - PS,
  2 ** 47,
  2 ** 47 + PS,
  2 ** 48,
  2 ** 52,
  2 ** 53 - PS,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  -(2 ** 53),
  1e300,
  Number.MIN_VALUE,
];

/** Wild access lengths: the interesting ones, less (2^24, 2^32] (readBytes allocates first). */
const WILD_ACCESS_LENGTHS = INTERESTING.filter(
  (v) => !(Number.isSafeInteger(v) && v > 2 ** 24 && v <= 2 ** 32),
);

const WILD_BIGINTS = [0n, -1n, 2n ** 64n, 2n ** 70n, -(2n ** 63n), 0xdeadbeefcafebaben];

function isAddr(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function show(v: unknown): string {
  if (typeof v === "number") {
    if (Object.is(v, -0)) return "-0";
    return Number.isSafeInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
  }
  if (typeof v === "bigint") return `0x${v.toString(16)}n`;
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Process) return `p${v.pid}`;
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype)
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}: ${show(x)}`)
      .join(", ")}}`;
  return String(v);
}

// ---------------------------------------------------------------------------- calls

type Slot =
  | "addr"
  | "len"
  | "prot"
  | "mflags"
  | "fd"
  | "off"
  | "inherit"
  | "advice"
  | "mcl"
  | "msflags"
  | "brk"
  | "mrflags"
  | "mlflags"
  | "resource"
  | "lim"
  | "vaddr"
  | "alen"
  | "value"
  | "value64"
  | "bytes";

type AccessKind = "read" | "write" | "execute";

interface CallDef {
  name: string;
  slots: Slot[];
  weight: number;
  /** For memory accesses: the access type and its size in bytes (from the arguments). */
  access?: { type: AccessKind; size: (args: unknown[]) => number };
}

const CALLS: CallDef[] = [
  { name: "mmap", slots: ["addr", "len", "prot", "mflags", "fd", "off"], weight: 14 },
  { name: "munmap", slots: ["addr", "len"], weight: 6 },
  { name: "mprotect", slots: ["addr", "len", "prot"], weight: 8 },
  { name: "minherit", slots: ["addr", "len", "inherit"], weight: 4 },
  { name: "madvise", slots: ["addr", "len", "advice"], weight: 8 },
  { name: "msync", slots: ["addr", "len", "msflags"], weight: 3 },
  { name: "mlock", slots: ["addr", "len"], weight: 4 },
  { name: "mlock2", slots: ["addr", "len", "mlflags"], weight: 2 },
  { name: "mseal", slots: ["addr", "len", "mlflags"], weight: 1 },
  { name: "munlock", slots: ["addr", "len"], weight: 3 },
  { name: "mlockall", slots: ["mcl"], weight: 2 },
  { name: "munlockall", slots: [], weight: 1 },
  { name: "mincore", slots: ["addr", "len"], weight: 4 },
  { name: "brk", slots: ["brk"], weight: 4 },
  { name: "mremap", slots: ["addr", "len", "len", "mrflags", "addr"], weight: 6 },
  { name: "setrlimit", slots: ["resource", "lim", "lim"], weight: 3 },
  { name: "getrlimit", slots: ["resource"], weight: 2 },
  { name: "fork", slots: [], weight: 2 },
  { name: "exit", slots: [], weight: 1 },
  ...([1, 2, 4, 8] as const).flatMap((n): CallDef[] => [
    {
      name: `read${n * 8}`,
      slots: ["vaddr"],
      weight: 2,
      access: { type: "read", size: () => n },
    },
    {
      name: `write${n * 8}`,
      slots: ["vaddr", n === 8 ? "value64" : "value"],
      weight: 2,
      access: { type: "write", size: () => n },
    },
  ]),
  {
    name: "readBytes",
    slots: ["vaddr", "alen"],
    weight: 3,
    access: { type: "read", size: (a) => a[1] as number },
  },
  {
    name: "fetch",
    slots: ["vaddr", "alen"],
    weight: 2,
    access: { type: "execute", size: (a) => a[1] as number },
  },
  {
    name: "writeBytes",
    slots: ["vaddr", "bytes"],
    weight: 3,
    access: { type: "write", size: (a) => (a[1] as Uint8Array).length },
  },
];

const FORK = CALLS.find((c) => c.name === "fork")!;

/** One argument: [wildness 0..99, two random 32-bit words]. */
type ArgSpec = [number, number, number];
/** One call: [call index, process choice, style 0..99, six argument specs]. */
type Op = [number, number, number, ArgSpec[]];

const argArb: fc.Arbitrary<ArgSpec> = fc.tuple(fc.nat(99), fc.nat(0xffffffff), fc.nat(0xffffffff));
const opArb: fc.Arbitrary<Op> = fc.tuple(
  fc.oneof(...CALLS.map((c, i) => ({ arbitrary: fc.constant(i), weight: c.weight }))),
  fc.nat(0xffff),
  fc.nat(99),
  fc.array(argArb, { minLength: 6, maxLength: 6 }),
);

// ---------------------------------------------------------------------------- snapshots

interface ProcSnap {
  pid: number;
  maps: unknown;
  procstat: string;
  linuxMaps: string;
  map: unknown;
  pmap: [number, number][];
  limits: unknown[];
  brk: number[];
  fds: number[];
}

interface Snap {
  stats: ReturnType<VmSystem["stats"]>;
  procs: ProcSnap[];
}

/** The first difference between two snapshots, as "path: before -> after". */
function firstDiff(a: unknown, b: unknown, path: string): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a === "string" && typeof b === "string") {
    const la = a.split("\n");
    const lb = b.split("\n");
    for (let i = 0; i < Math.max(la.length, lb.length); i++)
      if (la[i] !== lb[i])
        return `${path} line ${i}:\n    before: ${la[i] ?? "(none)"}\n    after:  ${lb[i] ?? "(none)"}`;
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null)
    return `${path}: ${show(a)} -> ${show(b)}`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (const k of new Set([...ka, ...kb])) {
    const d = firstDiff(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      `${path}.${k}`,
    );
    if (d !== null) return d;
  }
  return null;
}

// ---------------------------------------------------------------------------- one run

class Failure extends Error {}

const totals = { calls: 0, failed: 0, faults: 0, skippedEqual: 0, mremapTo: 0 };

class Run {
  readonly sys: VmSystem;
  readonly C: Table;
  readonly errnoH: Readonly<Record<string, number>>;
  readonly log: string[] = [];
  readonly dead: Process[] = [];
  /** Descriptors opened in the first process ("rw", "r", "w"); children inherit them. */
  fds: number[] = [];
  readonly rlimits: number[];
  readonly asResource: number;

  /** The index of the call being checked. */
  current = -1;

  /**
   * `ops` is the run's program; `replaying` runs only the calls, with no checks (to rebuild
   * the state before call i, see expectedAfterUnmaps).
   */
  constructor(
    readonly pers: Pers,
    readonly ops: readonly Op[],
    readonly replaying = false,
  ) {
    this.sys = new VmSystem({ personality: pers, physicalMemory: PHYS });
    this.C = TABLES[pers];
    this.errnoH = ERRNO_H[pers];
    this.rlimits = uniq(numbers(this.C, "RLIMIT_"));
    this.asResource = this.k("RLIMIT_AS");
  }

  k(name: string): number {
    const v = this.C[name];
    if (typeof v !== "number") throw new Error(`${this.pers} has no ${name}`);
    return v;
  }

  fail(msg: string): never {
    throw new Failure(`${this.pers}: ${msg}\n--- calls of this run ---\n${this.log.join("\n")}`);
  }

  name(p: Process): string {
    return `p${p.pid}${p.alive ? "" : "(exited)"}`;
  }

  /** A call of the setup: it must succeed. */
  do<T>(what: string, f: () => T): T {
    this.log.push(`setup: ${what}`);
    try {
      return f();
    } catch (e) {
      return this.fail(`setup call ${what} failed: ${String(e)}`);
    }
  }

  setup(): void {
    const n = (k: string) => this.k(k);
    const RW = n("PROT_READ") | n("PROT_WRITE");
    const PRIV_ANON = n("MAP_PRIVATE") | n("MAP_ANON");
    const fbsd = this.pers === "freebsd";
    const p = this.sys.createProcess();
    this.log.push(`setup: p${p.pid} = createProcess()`);
    this.do("setrlimit(RLIMIT_AS, cap)", () =>
      p.setrlimit(this.asResource, { soft: AS_CAP, hard: AS_CAP }),
    );
    const fileA = new MemoryFile(3 * PS + 100);
    fileA.write(0, new Uint8Array(3 * PS + 100).fill(0xa5));
    const fileB = new MemoryFile(new Uint8Array(2 * PS).fill(7));
    this.fds = [
      p.fds.open(fileA, "rw", "/fuzz/a"),
      p.fds.open(fileB, "r", "/fuzz/b"),
      p.fds.open(fileA, "w", "/fuzz/a.w"),
    ];
    if (fbsd) p.daddr = 2 ** 30;
    const anon = this.do("mmap anon", () => p.mmap(0, 16 * PS, RW, PRIV_ANON));
    for (let i = 0; i < 16; i += 3) p.write32(anon + i * PS, 0x1000 + i);
    const shm = this.do("mmap shared anon", () =>
      p.mmap(0, 4 * PS, RW, n("MAP_SHARED") | n("MAP_ANON")),
    );
    p.write8(shm, 1);
    p.write8(shm + 2 * PS, 2);
    const fpriv = this.do("mmap private file", () =>
      p.mmap(0, 4 * PS, RW, n("MAP_PRIVATE"), this.fds[0], 0),
    );
    p.read8(fpriv);
    p.write8(fpriv + PS, 9);
    const fshared = this.do("mmap shared file", () =>
      p.mmap(0, 2 * PS, RW, n("MAP_SHARED"), this.fds[0], PS),
    );
    p.write8(fshared + 10, 10);
    this.do("mmap read-only file", () =>
      p.mmap(0, 2 * PS, n("PROT_READ"), n("MAP_SHARED"), this.fds[1], 0),
    );
    if (fbsd) this.do("mmap guard", () => p.mmap(0, 8 * PS, 0, n("MAP_GUARD")));
    else this.do("mmap PROT_NONE", () => p.mmap(0, 8 * PS, 0, PRIV_ANON | n("MAP_NORESERVE")));
    const stack = fbsd
      ? this.do("mmap stack", () => p.mmap(0, 64 * PS, RW, n("MAP_STACK")))
      : this.do("mmap grows-down", () => p.mmap(0, 16 * PS, RW, PRIV_ANON | n("MAP_GROWSDOWN")));
    p.write32(stack + (fbsd ? 63 : 15) * PS, 0x5);
    const text = this.do("mmap exec", () =>
      p.mmap(0, 2 * PS, n("PROT_READ") | n("PROT_EXEC"), PRIV_ANON),
    );
    p.fetch(text, 16);
    const win = this.do("mmap fixed window", () =>
      p.mmap(WIN + 8 * PS, 8 * PS, RW, PRIV_ANON | n("MAP_FIXED")),
    );
    p.write16(win + 3 * PS, 0x3333);
    this.do("mlock", () => p.mlock(anon + 4 * PS, 2 * PS));
    this.do("brk", () => p.brk(this.brkNow(p) + 4 * PS));
    p.write8(this.brkNow(p) - 1, 1);
    if (fbsd) this.do("minherit", () => p.minherit(anon + 14 * PS, 2 * PS, n("INHERIT_NONE")));
    else this.do("madvise DONTFORK", () => p.madvise(anon + 14 * PS, 2 * PS, n("MADV_DONTFORK")));
    const child = this.do("fork", () => p.fork());
    this.log.push(`setup: p${child.pid} = p${p.pid}.fork()`);
    child.write32(anon, 0xc0de);
    child.write8(fpriv + 2 * PS, 1);
    this.do("child mprotect", () => child.mprotect(anon, 2 * PS, n("PROT_READ")));
    this.audit("setup");
  }

  exit(p: Process, what: string): void {
    this.log.push(`${what} ${this.name(p)}.exit()`);
    p.exit();
    this.dead.push(p);
    if (!this.replaying) this.audit(`${what} exit`);
  }

  /** The current break of `p` (Linux mm->brk; FreeBSD daddr + dsize). */
  brkNow(p: Process): number {
    if (p instanceof LinuxProcess) return p.currentBrk;
    return Math.ceil(p.daddr / PS) * PS + p.dsize;
  }

  audit(what: string): void {
    try {
      this.sys.audit();
    } catch (e) {
      this.fail(`audit after ${what}: ${(e as Error).message}`);
    }
  }

  snapshot(): Snap {
    const procs: ProcSnap[] = [];
    for (const p of this.sys.processes()) {
      procs.push({
        pid: p.pid,
        maps: p.maps(),
        procstat: p.formatMaps("procstat"),
        linuxMaps: p.formatMaps("linux"),
        map: p.map.state(),
        pmap: p.pmap.mappings(),
        limits: this.rlimits.map((r) => p.getrlimit(r)),
        brk: p instanceof LinuxProcess ? [p.startBrk, p.currentBrk] : [p.daddr, p.dsize, p.taddr],
        fds: p.fds.list(),
      });
    }
    return { stats: this.sys.stats(), procs };
  }

  // ------------------------------------------------------------------ argument resolution

  entriesOf(p: Process): { start: number; end: number }[] {
    const out: { start: number; end: number }[] = [];
    for (const e of p.map.entries()) out.push({ start: e.start, end: e.end });
    return out;
  }

  /** An entry of `p` (or, if it has none, a page of the window). */
  entry(p: Process, x: number): { start: number; end: number } {
    const es = this.entriesOf(p);
    if (es.length === 0) return { start: WIN, end: WIN + 8 * PS };
    return es[x % es.length];
  }

  /** An entry of any live process. */
  anyEntry(x: number, self: Process): { start: number; end: number } {
    const ps = this.sys.processes();
    const p = ps.length === 0 ? self : ps[x % ps.length];
    return this.entry(p, x >>> 8);
  }

  sane(slot: Slot, a: number, b: number, p: Process, args: unknown[]): unknown {
    const n = (k: string) => this.k(k);
    const fbsd = this.pers === "freebsd";
    const first = args[0];
    switch (slot) {
      case "addr": {
        const e = this.entry(p, b);
        switch (a % 8) {
          case 0:
            return 0;
          case 1:
          case 2:
            return e.start + ((b >>> 8) % Math.max(1, (e.end - e.start) / PS)) * PS;
          case 3:
            return e.end;
          case 4:
            return e.start - PS;
          case 5:
            return WIN + ((b >>> 8) % 64) * PS;
          case 6:
            return this.anyEntry(b, p).start;
          default:
            return Math.max(PS, this.brkNow(p) - ((b >>> 8) % 4) * PS);
        }
      }
      case "vaddr": {
        const e = this.entry(p, b);
        const size = e.end - e.start;
        switch (a % 6) {
          case 0:
            return e.start + ((b >>> 8) % size);
          case 1:
            return e.end - 1 - ((b >>> 8) % 8);
          case 2:
            return Math.max(0, e.start - 1 - ((b >>> 8) % 8));
          case 3:
            return e.start + ((b >>> 8) % 16);
          case 4:
            return WIN + ((b >>> 8) % (64 * PS));
          default:
            return e.end - PS + ((b >>> 8) % PS);
        }
      }
      case "len": {
        const k = 1 + (b % 16);
        switch (a % 6) {
          case 0:
          case 1:
            return k * PS;
          case 2:
            return k * PS + 1 + ((b >>> 8) % (PS - 1)) - PS;
          case 3: {
            if (!isAddr(first)) return k * PS;
            for (const e of this.entriesOf(p)) if (e.end > first) return Math.max(1, e.end - first);
            return k * PS;
          }
          case 4:
            return (1 + (b % 512)) * PS;
          default:
            return 1 + (b % (4 * PS));
        }
      }
      case "alen":
        return 1 + (b % (a % 2 === 0 ? 64 : 3 * PS));
      case "prot": {
        const R = n("PROT_READ");
        const W = n("PROT_WRITE");
        const X = n("PROT_EXEC");
        const common = [0, R, W, R | W, R | X, R | W | X, R | W, R | W];
        const extra = fbsd
          ? [
              freebsd.PROT_MAX(R) | R,
              freebsd.PROT_MAX(R | W) | R | W,
              freebsd.PROT_MAX(R | W | X) | R,
            ]
          : [R | n("PROT_SEM"), R | W | n("PROT_GROWSDOWN")];
        const all = [...common, ...extra];
        return all[b % all.length];
      }
      case "mflags": {
        const prot = typeof args[2] === "number" ? args[2] : 0;
        const PRIV = n("MAP_PRIVATE");
        const SHARED = n("MAP_SHARED");
        const ANON = n("MAP_ANON");
        const list = fbsd
          ? [
              PRIV | ANON,
              PRIV | ANON,
              SHARED | ANON,
              PRIV,
              SHARED,
              prot === 0 ? n("MAP_GUARD") : PRIV | ANON,
              (prot & 3) === 3 ? n("MAP_STACK") : PRIV | ANON,
              PRIV | ANON | n("MAP_NOCORE"),
              PRIV | ANON | n("MAP_ALIGNED_SUPER"),
              PRIV | ANON | n("MAP_32BIT"),
              PRIV | n("MAP_PREFAULT_READ"),
              PRIV | ANON | freebsd.MAP_ALIGNED(16),
            ]
          : [
              PRIV | ANON,
              PRIV | ANON,
              SHARED | ANON,
              PRIV,
              SHARED,
              n("MAP_SHARED_VALIDATE"),
              PRIV | ANON | n("MAP_POPULATE"),
              PRIV | ANON | n("MAP_GROWSDOWN"),
              PRIV | ANON | n("MAP_NORESERVE"),
              PRIV | ANON | n("MAP_LOCKED"),
              PRIV | ANON | n("MAP_STACK"),
              PRIV | ANON | n("MAP_32BIT"),
            ];
        let f = list[b % list.length];
        const fixed = (b >>> 8) % 4;
        if (fixed === 1) f |= n("MAP_FIXED");
        if (fixed === 2) f |= fbsd ? n("MAP_FIXED") | n("MAP_EXCL") : n("MAP_FIXED_NOREPLACE");
        return f;
      }
      case "fd": {
        const flags = typeof args[3] === "number" ? args[3] : 0;
        if ((flags & n("MAP_ANON")) !== 0 || (fbsd && (flags & n("MAP_GUARD")) !== 0)) return -1;
        return this.fds[b % this.fds.length];
      }
      case "off": {
        const flags = typeof args[3] === "number" ? args[3] : 0;
        if ((flags & n("MAP_ANON")) !== 0) return 0;
        return (b % 4) * PS;
      }
      case "inherit":
        return b % 4;
      case "advice": {
        const all = uniq(numbers(this.C, "MADV_"));
        return all[b % all.length];
      }
      case "mcl": {
        const all = fbsd ? [1, 2, 3] : [1, 2, 3, 5, 7];
        return all[b % all.length];
      }
      case "msflags": {
        const all = fbsd ? [0, 1, 2] : [1, 4, 3, 6];
        return all[b % all.length];
      }
      case "brk": {
        const cur = this.brkNow(p);
        const k = (b >>> 8) % 8;
        switch (a % 5) {
          case 0:
            return 0;
          case 1:
            return cur + k * PS;
          case 2:
            return Math.max(0, cur - k * PS);
          case 3:
            return cur + (b % PS);
          default:
            return p instanceof LinuxProcess ? p.startBrk : Math.ceil(p.daddr / PS) * PS;
        }
      }
      case "mrflags":
        return [0, 1, 1 | 2, 1 | 4, 1 | 2 | 4][b % 5];
      case "mlflags":
        return [0, 1, 1, 2][b % 4];
      case "resource":
        return this.rlimits[b % this.rlimits.length];
      case "lim": {
        const r = args[0];
        let cur: { soft: number; hard: number } | null = null;
        if (typeof r === "number" && this.rlimits.includes(r)) cur = p.getrlimit(r);
        const all = [
          Number.POSITIVE_INFINITY,
          0,
          64 * 1024,
          8 << 20,
          AS_CAP,
          (1 + (b % 64)) * PS,
          cur?.soft ?? 0,
          cur?.hard ?? Number.POSITIVE_INFINITY,
        ];
        return all[a % all.length];
      }
      case "value":
        return b;
      case "value64":
        return (BigInt(a) << 32n) | BigInt(b);
      case "bytes":
        return new Uint8Array(1 + (b % (a % 2 === 0 ? 16 : 2 * PS))).fill(a & 0xff);
    }
  }

  wild(slot: Slot, a: number, b: number, p: Process, args: unknown[]): unknown {
    if (slot === "value64") return WILD_BIGINTS[b % WILD_BIGINTS.length];
    if (slot === "bytes") return new Uint8Array(b % 2 === 0 ? 0 : 3 * PS + (b % 7));
    if (slot === "alen") return WILD_ACCESS_LENGTHS[b % WILD_ACCESS_LENGTHS.length];
    const pick = (xs: readonly number[], x: number) => xs[x % xs.length];
    switch (a % 8) {
      case 0:
      case 1:
        return pick(INTERESTING, b);
      case 2:
        return pick(ALL_CONSTANTS, b);
      case 3: {
        let v = pick(ALL_CONSTANTS, b) | pick(ALL_CONSTANTS, b >>> 12);
        if ((a & 0x100) !== 0) v |= pick(ALL_CONSTANTS, b >>> 20);
        return v;
      }
      case 4:
        return (a & 0x100) !== 0 ? b | 0 : b;
      case 5: {
        const e = this.anyEntry(b, p);
        const base = (b & 0x10000) !== 0 ? e.end : e.start;
        return base + pick([0, 1, -1, PS / 2, PS - 1, -PS, PS, 2 ** 32, -(2 ** 32)], a >>> 8);
      }
      case 6: {
        const base = isAddr(args[0]) ? args[0] : 0;
        return pick([2 ** 64, 2 ** 53, 2 ** 53 + PS, 2 ** 47, 2 ** 47 + PS, 2 ** 53 - 1], b) - base;
      }
      default:
        return pick(INTERESTING, b) + pick([-PS, -1, 1, PS], a >>> 8);
    }
  }

  // ------------------------------------------------------------------ one call

  step(op: Op, index: number): void {
    const [ci, pc, style, specs] = op;
    let def = CALLS[ci];
    const live = this.sys.processes();
    // exit ends a process other than the first; with one process left it is a fork. A fork
    // beyond MAX_PROCS exits the youngest instead.
    if (def.name === "exit") {
      if (live.length > 1) {
        this.exit(live[1 + (pc % (live.length - 1))], `#${index}`);
        return;
      }
      def = FORK;
    }
    if (def.name === "fork" && live.length >= MAX_PROCS) {
      this.exit(live[live.length - 1], `#${index} (process cap)`);
      return;
    }
    // The caller: a live process; now and then (system calls only) an exited one.
    const p =
      def.access === undefined && this.dead.length > 0 && pc % 32 === 31
        ? this.dead[(pc >>> 5) % this.dead.length]
        : live[pc % live.length];
    // Arguments.
    const args: unknown[] = [];
    for (let i = 0; i < def.slots.length; i++) {
      const [w, a, b] = specs[i];
      const wild = style < 40 ? false : style < 85 ? w < 30 : true;
      args.push(
        wild ? this.wild(def.slots[i], a, b, p, args) : this.sane(def.slots[i], a, b, p, args),
      );
    }
    let note = "";
    if (
      def.name === "setrlimit" &&
      args[0] === this.asResource &&
      typeof args[1] === "number" &&
      typeof args[2] === "number" &&
      args[1] > AS_CAP &&
      args[1] <= args[2]
    ) {
      note = ` (soft ${show(args[1])} capped)`;
      args[1] = AS_CAP;
    }
    const what = `#${index} ${this.name(p)}.${def.name}(${args.map(show).join(", ")})${note}`;
    if (this.replaying) {
      try {
        this.exec(p, def.name, args);
      } catch {}
      return;
    }
    this.current = index;
    const before = this.snapshot();
    let result: unknown;
    let thrown: unknown;
    let threw = false;
    try {
      result = this.exec(p, def.name, args);
    } catch (e) {
      thrown = e;
      threw = true;
    }
    totals.calls++;
    if (!threw) {
      this.log.push(`${what} = ${show(result)}`);
      this.checkSuccess(def, p, args, result, what);
      this.audit(what);
      return;
    }
    totals.failed++;
    const e = thrown as { constructor?: { name?: string }; code?: unknown; message?: unknown };
    this.log.push(`${what} → ${e?.constructor?.name ?? typeof e} ${String(e?.code ?? e?.message)}`);
    if (def.access !== undefined) this.checkAccessFailure(def, p, args, thrown, before, what);
    else this.checkSyscallFailure(def, p, args, thrown, before, what);
    this.audit(what);
  }

  exec(p: Process, name: string, args: unknown[]): unknown {
    const x = (i: number) => args[i] as number;
    switch (name) {
      case "mmap":
        return p.mmap(x(0), x(1), x(2), x(3), x(4), x(5));
      case "munmap":
        return p.munmap(x(0), x(1));
      case "mprotect":
        return p.mprotect(x(0), x(1), x(2));
      case "minherit":
        return p.minherit(x(0), x(1), x(2));
      case "madvise":
        return p.madvise(x(0), x(1), x(2));
      case "msync":
        return p.msync(x(0), x(1), x(2));
      case "mlock":
        return p.mlock(x(0), x(1));
      case "mlock2":
        return p.mlock2(x(0), x(1), x(2));
      case "mseal":
        return p.mseal(x(0), x(1), x(2));
      case "munlock":
        return p.munlock(x(0), x(1));
      case "mlockall":
        return p.mlockall(x(0));
      case "munlockall":
        return p.munlockall();
      case "mincore":
        return p.mincore(x(0), x(1));
      case "brk":
        return p.brk(x(0));
      case "mremap":
        return p.mremap(x(0), x(1), x(2), x(3), x(4));
      case "setrlimit":
        return p.setrlimit(x(0), { soft: x(1), hard: x(2) });
      case "getrlimit":
        return p.getrlimit(x(0));
      case "fork":
        return p.fork();
      case "read8":
        return p.read8(x(0));
      case "read16":
        return p.read16(x(0));
      case "read32":
        return p.read32(x(0));
      case "read64":
        return p.read64(x(0));
      case "write8":
        return p.write8(x(0), x(1));
      case "write16":
        return p.write16(x(0), x(1));
      case "write32":
        return p.write32(x(0), x(1));
      case "write64":
        return p.write64(x(0), args[1] as bigint);
      case "readBytes":
        return p.readBytes(x(0), x(1));
      case "fetch":
        return p.fetch(x(0), x(1));
      case "writeBytes":
        return p.writeBytes(x(0), args[1] as Uint8Array);
      default:
        throw new Error(`no call ${name}`);
    }
  }

  checkSuccess(def: CallDef, p: Process, args: unknown[], result: unknown, what: string): void {
    if (OTHER_KERNELS_CALLS[this.pers].includes(def.name))
      this.fail(`${what} succeeded: ${this.pers} has no ${def.name} (ENOSYS)`);
    if (def.name === "mmap" && !isAddr(result))
      this.fail(`${what} returned ${show(result)}, not an address`);
    if (def.access !== undefined && !p.alive) this.fail(`${what}: access by an exited process`);
    if (def.access !== undefined && isAddr(args[0]) === false) {
      const size = def.access.size(args);
      if (size > 0) this.fail(`${what} succeeded with a malformed address`);
    }
    if (def.access?.type === "read" || def.access?.type === "execute") {
      if (def.name === "read64") {
        if (typeof result !== "bigint" || result < 0n || result >= 2n ** 64n)
          this.fail(`${what} returned ${show(result)}`);
      } else if (def.name === "readBytes" || def.name === "fetch") {
        if (!(result instanceof Uint8Array) || result.length !== args[1])
          this.fail(`${what} returned ${show(result)}`);
      } else {
        const bits = Number(def.name.slice(4));
        if (!Number.isInteger(result) || (result as number) < 0 || (result as number) >= 2 ** bits)
          this.fail(`${what} returned ${show(result)}`);
      }
    }
  }

  /** Properties 1 and 3 for a system call. */
  checkSyscallFailure(
    def: CallDef,
    p: Process,
    args: unknown[],
    thrown: unknown,
    before: Snap,
    what: string,
  ): void {
    if (!(thrown instanceof VmError)) this.fail(`${what} threw ${describe(thrown)}, not a VmError`);
    const e = thrown;
    if (typeof e.code !== "string") this.fail(`${what}: VmError code ${show(e.code)}`);
    const want = this.errnoH[e.code];
    if (want === undefined) this.fail(`${what}: ${e.code} is not a ${this.pers} errno name`);
    if (e.errno !== want)
      this.fail(
        `${what}: ${e.code} has errno ${show(e.errno)}; ${this.pers}'s errno.h says ${want}`,
      );
    if (e.syscall !== def.name) this.fail(`${what}: VmError.syscall is ${show(e.syscall)}`);
    const foreign = OTHER_KERNELS_CALLS[this.pers].includes(def.name);
    if (foreign && e.code !== "ENOSYS")
      this.fail(`${what}: ${this.pers} has no ${def.name}: ENOSYS, not ${e.code}`);
    if (!p.alive && e.code !== "ESRCH" && !foreign && def.name !== "getrlimit")
      this.fail(`${what}: a call of an exited process failed with ${e.code}, not ESRCH`);
    if (changesBeforeFailing(this.pers, def.name, args, e)) {
      totals.skippedEqual++;
      return;
    }
    const after = this.snapshot();
    const unmaps = def.name === "mremap" ? this.mremapFailure(p, args, before, e) : null;
    if (unmaps === "moved") {
      totals.skippedEqual++;
      return;
    }
    if (unmaps !== null) {
      // Linux mremap_to unmapped these before failing: the state must be exactly what those
      // munmap calls alone make of the state before.
      totals.mremapTo++;
      const want = this.expectedAfterUnmaps(p.pid, unmaps);
      const got = canonIds(after);
      if (!isDeepStrictEqual(want, got))
        this.fail(
          `${what} failed, but the state is not that of munmap ${unmaps.map(([a, l]) => `(${show(a)}, ${show(l)})`).join(", ")} alone: ${firstDiff(want, got, "state")}`,
        );
      return;
    }
    if (
      (def.name === "mlock" || def.name === "mlock2" || def.name === "mlockall") &&
      after.stats.faults.faults !== before.stats.faults.faults
    ) {
      // The wiring faulted pages in before one failed: those stay resident (and counted), but
      // the wiring itself is rolled back (vm_map_wire).
      totals.skippedEqual++;
      if (!isDeepStrictEqual(wiringView(before), wiringView(after)))
        this.fail(
          `${what} failed but left ${firstDiff(wiringView(before), wiringView(after), "state")}`,
        );
      return;
    }
    this.expectUnchanged(before, after, what);
  }

  /** Property 2 and 3 for a memory access. */
  checkAccessFailure(
    def: CallDef,
    p: Process,
    args: unknown[],
    thrown: unknown,
    before: Snap,
    what: string,
  ): void {
    const access = def.access!;
    const addr = args[0];
    const lengthChecked = def.name === "readBytes" || def.name === "fetch";
    if (lengthChecked && !isAddr(args[1])) {
      // Documented: a malformed length is VmError EINVAL ("read"), before the address.
      if (!(thrown instanceof VmError) || thrown.code !== "EINVAL" || thrown.syscall !== "read")
        this.fail(`${what} threw ${describe(thrown)}; a malformed length is VmError EINVAL`);
      if (thrown.errno !== this.errnoH.EINVAL) this.fail(`${what}: EINVAL errno ${thrown.errno}`);
      this.expectUnchanged(before, this.snapshot(), what);
      return;
    }
    const size = access.size(args);
    if (size === 0) this.fail(`${what} threw ${describe(thrown)}; an empty access succeeds`);
    if (!isAddr(addr)) {
      // Documented: a malformed address is a RangeError, and nothing is touched.
      if (
        !(thrown instanceof RangeError) ||
        !/not a safe non-negative integer/.test(thrown.message)
      )
        this.fail(`${what} threw ${describe(thrown)}; a malformed address is a RangeError`);
      this.expectUnchanged(before, this.snapshot(), what);
      return;
    }
    if (!(thrown instanceof MemoryFault))
      // A length too long for one Uint8Array must not escape as V8's RangeError.
      this.fail(`${what} threw ${describe(thrown)}, not a MemoryFault`);
    totals.faults++;
    const f = thrown;
    const codes =
      f.signal === "SIGSEGV"
        ? ["SEGV_MAPERR", "SEGV_ACCERR"]
        : f.signal === "SIGBUS"
          ? ["BUS_ADRERR", "BUS_OBJERR", "BUS_OOMERR"]
          : [];
    if (!codes.includes(f.code)) this.fail(`${what}: ${f.signal} with code ${f.code}`);
    if (f.access !== access.type) this.fail(`${what}: fault says access ${f.access}`);
    if (!(f.address >= addr && f.address < addr + size))
      this.fail(`${what}: fault address ${show(f.address)} outside the access`);
    if (Math.floor(f.address / PS) !== Math.floor(addr / PS)) {
      // Earlier pages of the access were legitimately faulted in.
      totals.skippedEqual++;
      return;
    }
    if (f.signal === "SIGBUS") {
      // The lookup succeeded and resolved copy-on-write first (vm_map_lookup shadows a
      // NEEDS_COPY entry for a write) before the pager found no page: the entries must be as
      // they were, their objects may not.
      totals.skippedEqual++;
      const after = this.snapshot();
      if (!isDeepStrictEqual(wiringView(before), wiringView(after)))
        this.fail(
          `${what} failed but left ${firstDiff(wiringView(before), wiringView(after), "state")}`,
        );
      return;
    }
    if (underStack(before, p.pid, f.address)) {
      // The stack grew before the access was refused (vm_map_lookup / lock_mm_and_find_vma).
      totals.skippedEqual++;
      return;
    }
    this.expectUnchanged(before, this.snapshot(), what, true);
  }

  /**
   * What a failing Linux mremap (mm/mremap.c as of 6.17; this machine's 6.18) has unmapped
   * before it failed, for a call with `args` that failed with `e`: MREMAP_FIXED's destination
   * [new_address, + new_len), then the old tail past new_len when shrinking. Null when it
   * fails before changing anything: check_mremap_params, the vma lookup and check_prep_vma
   * (every EFAULT and EAGAIN of mremap comes from there; its ENOMEM is RLIMIT_AS / RLIMIT_DATA
   * of a growth), written here from the kernel, not from the library; null too when the
   * ranges hold no mapping. "moved" for MREMAP_FIXED without a size change over an old range
   * that more than one entry holds: remap_move moves vma by vma, and the vmas before the one
   * that failed have moved (only the audit judges that state).
   */
  mremapFailure(
    p: Process,
    args: unknown[],
    before: Snap,
    e: VmError,
  ): [number, number][] | null | "moved" {
    if (this.pers !== "linux" || !p.alive) return null;
    const [oldAddr, oldLength, newLength, flags, newAddr] = args;
    if (!isAddr(oldAddr) || !isAddr(oldLength) || !isAddr(newLength) || !isAddr(newAddr))
      return null;
    const { MREMAP_MAYMOVE: MAYMOVE, MREMAP_FIXED: FIXED, MREMAP_DONTUNMAP: DONTUNMAP } = linux;
    if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0) return null;
    // check_mremap_params, on the page-aligned lengths
    const oldLen = Math.ceil(oldLength / PS) * PS;
    const newLen = Math.ceil(newLength / PS) * PS;
    if ((flags & ~(MAYMOVE | FIXED | DONTUNMAP)) !== 0 || flags > 7) return null;
    if (oldAddr % PS !== 0 || newLen === 0 || newLen > LINUX_TASK_SIZE) return null;
    if ((flags & (FIXED | DONTUNMAP)) === 0) return null; // mremap_at: a shrink's unmap fails first
    if (newAddr > LINUX_TASK_SIZE - newLen || newAddr % PS !== 0) return null;
    if ((flags & MAYMOVE) === 0) return null;
    if ((flags & DONTUNMAP) !== 0 && oldLen !== newLen) return null;
    if (oldAddr + oldLen > newAddr && newAddr + newLen > oldAddr) return null;
    const snap = before.procs.find((x) => x.pid === p.pid)!;
    const maps = snap.maps as MapInfo[];
    if (maps.length + 2 >= (p as LinuxProcess).maxMapCount - 3) return null;
    const first = maps.find((m) => m.start <= oldAddr && oldAddr < m.end);
    if (first === undefined) return null; // vma_lookup, or remap_move's hole at the start
    const hits = (ranges: [number, number][]) =>
      ranges.some(([a, l]) => maps.some((m) => m.start < a + l && a < m.end));
    if ((flags & FIXED) !== 0 && oldLen === newLen) {
      // remap_move
      if (oldAddr + oldLen > first.end) return "moved";
      if (e.code === "EPERM" && sealedAt(p, oldAddr)) return null;
      if ((flags & DONTUNMAP) !== 0 && first.kind === "device") return null;
      const out: [number, number][] = [[newAddr, newLen]];
      return hits(out) ? out : null;
    }
    // check_prep_vma (a sealed vma is its first refusal; sealing is for good, so the entry is
    // sealed after the call if and only if it was before)
    if (e.code === "EFAULT" || e.code === "EAGAIN") return null;
    if (e.code === "EPERM" && sealedAt(p, oldAddr)) return null;
    if (oldLen === 0 && !first.shared) return null;
    if ((flags & DONTUNMAP) !== 0 && first.kind === "device") return null;
    if (newLen > oldLen && e.code === "ENOMEM") {
      const limit = (r: number) => (snap.limits[this.rlimits.indexOf(r)] as { soft: number }).soft;
      const size = maps.reduce((n, m) => n + (m.end - m.start), 0);
      if (size + newLen - oldLen > limit(linux.RLIMIT_AS)) return null;
      const data = (m: MapInfo) =>
        (m.prot & linux.PROT_WRITE) !== 0 && !m.shared && m.kind !== "stack";
      const dataSize = maps.filter(data).reduce((n, m) => n + (m.end - m.start), 0);
      if (data(first) && dataSize + newLen - oldLen > limit(linux.RLIMIT_DATA)) return null;
    }
    const out: [number, number][] = [];
    if ((flags & FIXED) !== 0) out.push([newAddr, newLen]);
    if (oldLen > newLen) out.push([oldAddr + newLen, oldLen - newLen]);
    return hits(out) ? out : null;
  }

  /**
   * The state of this run before the current call, rebuilt by a replay of the calls so far,
   * after munmap(a, l) of each range by process `pid`; the first that fails ends the list (a
   * failing do_munmap ends mremap_to).
   */
  expectedAfterUnmaps(pid: number, unmaps: [number, number][]): Snap {
    const r = new Run(this.pers, this.ops, true);
    r.setup();
    for (let i = 0; i < this.current; i++) r.step(this.ops[i], i);
    const q = r.sys.processes().find((x) => x.pid === pid)!;
    for (const [a, l] of unmaps) {
      try {
        q.munmap(a, l);
      } catch (e) {
        if (!(e instanceof VmError)) throw e;
        break;
      }
    }
    return canonIds(r.snapshot());
  }

  expectUnchanged(before: Snap, after: Snap, what: string, faulted = false): void {
    if (faulted) {
      // The one failed vm_fault is counted; nothing else may move.
      after.stats.faults.faults = before.stats.faults.faults;
      after.stats.faults.failed = before.stats.faults.failed;
    }
    if (isDeepStrictEqual(before, after)) return;
    const d = firstDiff(before, after, "state");
    this.fail(`${what} failed but changed ${d ?? "the state"}`);
  }
}

/**
 * The snapshot as a replay can reproduce it: object ids (global, so a replay makes new ones)
 * renumbered in order of appearance, and the PTEs' referenced and modified bits (0x10, 0x20)
 * dropped, since a replay makes the same accesses but not always the same A/M history.
 */
function canonIds(s: Snap): Snap {
  const ids = new Map<number, number>();
  for (const p of s.procs) {
    for (const e of (p.map as { entries: { object: number | null }[] }).entries)
      if (e.object !== null) {
        if (!ids.has(e.object)) ids.set(e.object, ids.size);
        e.object = ids.get(e.object)!;
      }
    for (const m of p.pmap) m[1] &= ~0x30;
  }
  return s;
}

/**
 * What a failed wiring must leave as it was: the entries and their wiring, the map flags.
 * Adjacent entries alike in all of these are shown as one: the wiring's fault may have given
 * the entry it clipped a shadow object (copy on write of a NEEDS_COPY entry) before failing,
 * and vm_map_try_merge_entries then cannot merge it back with its neighbour, in FreeBSD too.
 * (The offset is left out for that reason: the new shadow starts at 0.)
 */
function wiringView(snap: Snap): unknown {
  return {
    wired: snap.stats.frames.wired,
    procs: snap.procs.map((p) => {
      const entries: unknown[][] = [];
      for (const m of p.maps as MapInfo[]) {
        const attrs = [m.prot, m.maxProt, m.inheritance, m.shared, m.wired, m.kind, m.path];
        const last = entries.at(-1);
        if (last !== undefined && last[1] === m.start && isDeepStrictEqual(last[2], attrs))
          last[1] = m.end;
        else entries.push([m.start, m.end, attrs]);
      }
      return { pid: p.pid, flags: (p.map as { flags: number }).flags, entries };
    }),
  };
}

/**
 * True if `va` lies in a stack's gap (FreeBSD: the reserve below MAP_STACK, kind "stack" with
 * no access) or in the hole right under a stack (Linux MAP_GROWSDOWN): a fault there grows the
 * stack before the access is checked, in both kernels.
 */
function underStack(snap: Snap, pid: number, va: number): boolean {
  const ps = snap.procs.find((x) => x.pid === pid);
  if (ps === undefined) return false;
  for (const m of ps.maps as MapInfo[]) {
    if (m.end <= va) continue;
    return m.kind === "stack" && (m.start > va || m.prot === 0);
  }
  return false;
}

function describe(e: unknown): string {
  if (e instanceof VmError) return `VmError ${e.code} (${e.message})`;
  if (e instanceof MemoryFault) return `MemoryFault ${e.signal}/${e.code} (${e.message})`;
  if (e instanceof Error) return `${e.constructor.name}: ${e.message}`;
  return `a non-Error ${show(e)}`;
}

// ---------------------------------------------------------------------------- the fuzz

function fuzz(pers: Pers): void {
  const t0 = performance.now();
  // A fixed seed, so that CI is reproducible; SYSCALL_FUZZ_FRESH=1 draws a fresh one (to
  // explore), SYSCALL_FUZZ_SEED replays one (fast-check's failure message names the seed and
  // path; SYSCALL_FUZZ_PATH takes the path).
  const seed =
    process.env.SYSCALL_FUZZ_SEED !== undefined
      ? Number(process.env.SYSCALL_FUZZ_SEED)
      : process.env.SYSCALL_FUZZ_FRESH === "1"
        ? (Date.now() ^ (Math.random() * 0x100000000)) | 0
        : pers === "linux"
          ? 20261127
          : 20261126;
  const t = { ...totals };
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    fc.assert(
      fc.property(fc.noBias(fc.array(opArb, { minLength: OPS, maxLength: OPS })), (ops) => {
        const run = new Run(pers, ops);
        run.setup();
        for (const [i, op] of ops.entries()) run.step(op, i);
      }),
      // The first failing run is reported as is, with its interpreted calls: shrinking a
      // few hundred calls over a process tree can take minutes. SYSCALL_FUZZ_SHRINK=1 shrinks.
      {
        numRuns: RUNS,
        seed,
        path: process.env.SYSCALL_FUZZ_PATH,
        endOnFailure: process.env.SYSCALL_FUZZ_SHRINK !== "1",
      },
    );
  } finally {
    Error.stackTraceLimit = limit;
  }
  const ms = performance.now() - t0;
  console.log(
    `syscall.fuzz ${pers}: seed ${seed}, ${RUNS} runs, ${totals.calls - t.calls} calls, ${totals.failed - t.failed} failed (${totals.faults - t.faults} faults, ${totals.skippedEqual - t.skippedEqual} checked by audit only, ${totals.mremapTo - t.mremapTo} mremap_to unmaps replayed), ${ms.toFixed(0)} ms`,
  );
  expect(totals.calls - t.calls).toBeGreaterThan(0);
}

it("freebsd: random argument vectors: only VmError/MemoryFault, failures change nothing", () => {
  fuzz("freebsd");
}, 600_000);

it("linux: random argument vectors: only VmError/MemoryFault, failures change nothing", () => {
  fuzz("linux");
}, 600_000);
