/**
 * Differential property test of the Linux personality (VmSystem({ personality: "linux" }) and
 * its LinuxProcess) against a deliberately naive model of Linux 6.x on x86-64.
 *
 * Random programs run over a tree of processes: mmap (private and shared, anonymous and of a
 * MemoryFile opened "rw" or "r"; MAP_DROPPABLE; MAP_FIXED, MAP_FIXED_NOREPLACE, hinted,
 * hint-less, MAP_POPULATE, MAP_GROWSDOWN; file offsets past EOF), munmap, mprotect (holes, VM_MAYWRITE,
 * PROT_GROWSDOWN/PROT_GROWSUP), madvise (DONTNEED, DONTNEED_LOCKED, FREE, DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK,
 * GUARD_INSTALL/GUARD_REMOVE, hints), brk (grow, shrink, refused), mremap (shrink, grow in place, MAYMOVE, FIXED,
 * DONTUNMAP), mseal (and what sealed memory then refuses), fork and exit, reads and writes of 1, 2, 4 and 8 bytes and readBytes /
 * writeBytes / fetch of random lengths at random offsets (many crossing pages or landing on
 * unmapped, inaccessible or past-EOF pages, or in the hole below a MAP_GROWSDOWN mapping), plus
 * malformed calls. After every step the system audit runs; after every system call the page
 * set (address, prot, private/shared) of the process concerned is compared with the model, and
 * so is every value read, every errno, every signal and its code. When a file is no longer
 * mapped by anyone, its MemoryFile must hold exactly the model's bytes (shared writable
 * mappings write through, private ones never touch the file). At the end every process exits
 * and every frame must be free and no object left.
 *
 * The model knows nothing of entries, objects, shadow chains or pmaps. Each process is a Map
 * from page number to { prot, shared, obj, page index in obj, cell, dontfork, wipeonfork,
 * growsdown, maywrite, vma }, plus its brk (start_brk, brk). A cell holds a page's bytes:
 * - a file (and a shmem object, which is what MAP_SHARED|MAP_ANONYMOUS is) is an array of
 *   cells, one per page up to its size; shared mappings point at those cells, so a write is
 *   seen by every sharer; a page at or past the object's size is SIGBUS (BUS_ADRERR on x86);
 * - a private file page is a cell of its own that reads through to the file's cell until its
 *   first write copies it (so it sees later writes made through shared mappings, as Linux's
 *   page cache shows them); MADV_DONTNEED makes it read through again;
 * - a private anonymous page owns its bytes (null = zeros); fork copies them (Linux has no
 *   way to make a private page read through another process's writable page).
 * Fork follows VM_DONTCOPY (not inherited) and VM_WIPEONFORK (a zero page in the child), two
 * independent flags as in Linux (DONTCOPY wins). MADV_FREE leaves a page whose contents are
 * either the old bytes or zeros (the kernel may discard it until the next write): the cell
 * keeps both candidates and a read decides.
 *
 * Access rules (arch/x86/mm/fault.c, access_error): a write needs PROT_WRITE, a fetch
 * PROT_EXEC, a read any of PROT_READ / PROT_WRITE / PROT_EXEC (x86 page tables cannot express
 * write-only, so PROT_WRITE implies read; execute-only PROT_EXEC depends on protection keys and
 * is never generated). Unmapped → SIGSEGV/SEGV_MAPERR, unless the next vma above is
 * VM_GROWSDOWN and expand_downwards allows it (no accessible non-growsdown vma within
 * stack_guard_gap = 256 pages below the address, and the grown vma within RLIMIT_STACK, 8 MiB:
 * acct_stack_growth): then the vma grows down to the page first;
 * mapped without the permission → SIGSEGV/SEGV_ACCERR; past the object's end → SIGBUS. An
 * access spanning pages faults on the lowest page it may not touch; the reported address lies
 * in that page and inside the access; a faulting write stores nothing.
 *
 * System calls follow Linux 6.x (mm/mmap.c, mm/mprotect.c, mm/madvise.c, mm/mremap.c), with the
 * deliberate differences that src/process/linux.ts documents: a prot or flag bit no Linux
 * constant names is EINVAL. Where Linux changes state before failing, so does the model:
 * mprotect applies up to the first hole (ENOMEM) or VM_MAY* refusal (EACCES); madvise advises
 * vma by vma up to the first vma that refuses the advice (EINVAL), or the mapped parts and
 * then ENOMEM for a hole. mremap follows 6.17 on: the old vma's checks before anything
 * changes, then MREMAP_FIXED unmaps the destination and a shrink the old tail; MREMAP_FIXED
 * without a size change moves the old range vma by vma, holes kept. TASK_SIZE is 2^47 - 4096.
 *
 * Linux's vma boundaries matter to mremap (EFAULT when the old range crosses vmas; growing in
 * place only at a vma's end) and depend on merge rules (anon_vma, VM_ACCOUNT) the model does
 * not keep. So the model keeps two bounds: the pages of one model vma id certainly form one
 * vma (an id is split wherever Linux splits a vma, never merged), and a run of pages with
 * equal visible attributes is at most one vma. An mremap whose outcome depends on what lies
 * between the two is not issued (counted as "skipped"). Placement of non-fixed mappings is
 * tested elsewhere: here a placed range must only lie in free space of the model.
 *
 * Ops are generated as tuples of small random integers and interpreted against the model's
 * current state (which process, which mapped page), so fast-check can shrink any failing
 * program; the failure message lists the interpreted ops of the run.
 *
 * Size: batches of NUM_RUNS runs × up to OPS ops (LINUX_PROPERTY_RUNS / LINUX_PROPERTY_OPS
 * override) until at least MIN_TOTAL_OPS ops have run (LINUX_PROPERTY_MIN_OPS): about 6,000
 * ops by default, under a minute on a two-core machine (the system audit after every step is
 * about 40% of it); LINUX_PROPERTY_MIN_OPS=100000 runs it bigger. Batch b runs from seed
 * 20261127 + b, so CI is reproducible (LINUX_PROPERTY_FRESH=1 draws fresh seeds); a failure is reported unshrunk with its seed and path, which LINUX_PROPERTY_SEED and
 * LINUX_PROPERTY_PATH replay (that one batch only); LINUX_PROPERTY_SHRINK=1 shrinks it. At the
 * default size the counts printed at the end (faults, SIGBUS, stack growths and refusals,
 * mremap moves and in-place growths, file checks, each system call, ...) must all be above
 * zero.
 */

import fc from "fast-check";
import { expect, it } from "vitest";
import {
  LINUX_ERRNO,
  type LinuxProcess,
  linux,
  type MapInfo,
  MemoryFault,
  MemoryFile,
  VmError,
  VmSystem,
} from "../src/index.js";
import { processTreeProperty, runBatches } from "./propertyBatches.js";

const {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_SHARED_VALIDATE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_GROWSDOWN,
  MAP_DROPPABLE,
  MREMAP_MAYMOVE,
  MREMAP_FIXED,
  MREMAP_DONTUNMAP,
  MADV_NORMAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_FREE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_COLD,
  MADV_PAGEOUT,
} = linux;

const PS = 4096;
const PHYS = 8 << 20;
/** x86-64 TASK_SIZE_MAX: the last page below 2^47 is not user space. */
const TASK = 2 ** 47 - PS;
/** vm.mmap_min_addr. */
const MIN_ADDR = 65536;
/** stack_guard_gap, in pages. */
const GAP_PAGES = 256;
/** RLIMIT_STACK (Linux's default soft limit, 8 MiB), in pages: a stack vma grows no larger. */
const STACK_LIMIT_PAGES = (8 << 20) / PS;
/** The main window: heap at its bottom, mmap_base at its top, MAP_FIXED anywhere in it. */
const WIN_BASE = 2 ** 36;
const WIN_PAGES = 512;
const WIN_FIRST = WIN_BASE / PS;
/** The stack window, far (more than stack_guard_gap) from everything else: MAP_GROWSDOWN. */
const STK_BASE = 2 ** 37;
const STK_PAGES = 64;
const STK_FIRST = STK_BASE / PS;
const MMAP_BASE = WIN_BASE + WIN_PAGES * PS;
const BRK_BASE = WIN_BASE;
const MAX_PROCS = 5;
const NUM_RUNS = Number(process.env.LINUX_PROPERTY_RUNS ?? 10);
const OPS = Number(process.env.LINUX_PROPERTY_OPS ?? 500);
const DEFAULT_MIN_OPS = 6_000;
const MIN_TOTAL_OPS = Number(process.env.LINUX_PROPERTY_MIN_OPS ?? DEFAULT_MIN_OPS);
/**
 * Known disagreements to tolerate (comma-separated names: those TOLERATE.has() asks for in
 * this file), so that one can look past a bug that is being fixed. Empty by default: every
 * disagreement fails the test.
 */
const TOLERATE = new Set((process.env.LINUX_PROPERTY_TOLERATE ?? "").split(",").filter(Boolean));
const RW = PROT_READ | PROT_WRITE;
const RWX = PROT_READ | PROT_WRITE | PROT_EXEC;
/** Protections drawn for mmap and mprotect (read-write weighted up; never execute-only). */
const PROTS = [PROT_NONE, PROT_READ, PROT_WRITE, RW, PROT_READ | PROT_EXEC, RWX, RW, RW];
/** The files of a run: [name, size]. The first ends inside a page, the second on a page. */
const FILES: [string, number][] = [
  ["/data/f0", 24 * PS + 1234],
  ["/data/f1", 6 * PS],
];

// ---------------------------------------------------------------------------- the model

/** A page's contents. */
interface Cell {
  /** Own bytes; null: read through `backing`, or zeros. */
  bytes: Uint8Array | null;
  /** The file page a private page still reads (until its first write). */
  backing: Cell | null;
  /** MADV_FREE: the other possible contents (the kernel discarded the page). */
  alt: Uint8Array | null;
  /** MADV_FREE and not written since: the kernel may still discard it. */
  lazyfree: boolean;
}

/** A file (vnode set) or a shmem object (vnode null): one cell per page up to its size. */
interface MObj {
  name: string;
  vnode: MemoryFile | null;
  size: number;
  npages: number;
  cells: Cell[];
  /** Mapped by some process the last time the files were checked. */
  mapped: boolean;
}

interface MPage {
  prot: number;
  shared: boolean;
  /** The file or shmem object; null for private anonymous memory. */
  obj: MObj | null;
  /** Page index in obj. */
  fpage: number;
  /** VM_MAYWRITE (clear for a shared mapping of a descriptor open read-only). */
  mayWrite: boolean;
  cell: Cell;
  dontfork: boolean;
  wipe: boolean;
  growsdown: boolean;
  /** A guard marker (MADV_GUARD_INSTALL): any access the prot allows is SIGSEGV/SEGV_MAPERR. */
  guard?: boolean;
  /** MAP_DROPPABLE (VM_DROPPABLE): private anonymous, wiped on fork for good. */
  droppable?: boolean;
  /** mseal (VM_SEALED): for good. */
  sealed?: boolean;
  /** Model vma id: pages with one id certainly are one Linux vma. */
  vma: number;
  /** Only for LINUX_PROPERTY_TOLERATE=shared-file-fork: moved by mremap (the library shares it). */
  moved?: boolean;
}

interface MProc {
  p: LinuxProcess;
  pages: Map<number, MPage>;
  startBrk: number;
  brk: number;
  /** Per file of the run: [descriptor open "rw", descriptor open "r"]. */
  fds: [number, number][];
}

const ZEROS = new Uint8Array(PS);
const NO_BYTES = new Uint8Array(0);

function newCell(backing: Cell | null = null): Cell {
  return { bytes: null, backing, alt: null, lazyfree: false };
}

/** What the cell shows now. */
function content(c: Cell): Uint8Array {
  if (c.bytes !== null) return c.bytes;
  return c.backing !== null ? content(c.backing) : ZEROS;
}

/** Stores `src` at `off` (copy on first write; both MADV_FREE candidates get it). */
function store(c: Cell, off: number, src: Uint8Array): void {
  if (c.bytes === null) {
    c.bytes = content(c).slice();
    c.backing = null;
  }
  c.bytes.set(src, off);
  if (c.alt !== null) c.alt.set(src, off);
  c.lazyfree = false;
}

/** A copy of a private anonymous cell for a fork child. */
function copyCell(c: Cell): Cell {
  if (c.bytes === null && c.backing !== null) return newCell(c.backing);
  return {
    bytes: c.bytes === null ? null : c.bytes.slice(),
    backing: null,
    alt: c.alt === null ? null : c.alt.slice(),
    lazyfree: c.lazyfree,
  };
}

function newObj(name: string, vnode: MemoryFile | null, size: number): MObj {
  const npages = Math.ceil(size / PS);
  const obj: MObj = { name, vnode, size, npages, cells: [], mapped: false };
  reloadObj(obj);
  return obj;
}

/** The object's cells as its backing store holds them (zeros past EOF). */
function reloadObj(obj: MObj): void {
  const bytes = obj.vnode === null ? new Uint8Array(obj.size) : obj.vnode.contents();
  obj.cells = [];
  for (let i = 0; i < obj.npages; i++) {
    const b = new Uint8Array(PS);
    b.set(bytes.subarray(i * PS, Math.min(bytes.length, (i + 1) * PS)));
    obj.cells.push({ bytes: b, backing: null, alt: null, lazyfree: false });
  }
}

/** A fresh page of the same mapping at page `fpage` of its object (DONTNEED, growth, ...). */
function freshCell(pg: MPage, fpage: number): Cell {
  if (pg.obj === null) return newCell();
  const fc = pg.obj.cells[fpage] ?? newCell();
  return pg.shared ? fc : newCell(fc);
}

/** Visible vma attributes: pages that differ here are in different vmas. */
function attrKey(pg: MPage): string {
  return `${pg.prot}/${pg.shared ? "s" : "p"}/${pg.obj?.name ?? "-"}/${pg.mayWrite ? 1 : 0}${pg.dontfork ? "/dontfork" : ""}${pg.wipe ? "/wipe" : ""}${pg.droppable ? "/drop" : ""}${pg.growsdown ? "/gd" : ""}${pg.sealed ? "/sealed" : ""}`;
}

/** True if the page at pn + 1 may continue the vma of the page at pn. */
function continues(a: MPage, b: MPage): boolean {
  return attrKey(a) === attrKey(b) && (a.obj === null || b.fpage === a.fpage + 1);
}

function sortedKeys(mp: MProc): number[] {
  return [...mp.pages.keys()].sort((x, y) => x - y);
}

/** Maximal runs of pages with equal (prot, shared), as text (model side). */
function modelRuns(mp: MProc, keys: number[] = sortedKeys(mp)): string[] {
  const out: string[] = [];
  let s = -1;
  let e = -1;
  let attr = "";
  for (const pn of keys) {
    const pg = mp.pages.get(pn)!;
    const a = `${pg.prot}${pg.shared ? "s" : "p"}`;
    if (pn === e && a === attr) e++;
    else {
      if (s >= 0) out.push(`${hex(s * PS)}-${hex(e * PS)} ${attr}`);
      s = pn;
      e = pn + 1;
      attr = a;
    }
  }
  if (s >= 0) out.push(`${hex(s * PS)}-${hex(e * PS)} ${attr}`);
  return out;
}

/** The same from the implementation's entries. */
function implRuns(maps: MapInfo[]): string[] {
  const out: string[] = [];
  let s = -1;
  let e = -1;
  let attr = "";
  for (const m of maps) {
    const a = `${m.prot}${m.shared ? "s" : "p"}`;
    if (m.start === e && a === attr) e = m.end;
    else {
      if (s >= 0) out.push(`${hex(s)}-${hex(e)} ${attr}`);
      s = m.start;
      e = m.end;
      attr = a;
    }
  }
  if (s >= 0) out.push(`${hex(s)}-${hex(e)} ${attr}`);
  return out;
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

function errName(v: number | string | null): string {
  return v === null ? "ok" : typeof v === "number" ? hex(v) : v;
}

// ---------------------------------------------------------------------------- ops

/** Op kinds. The first is the one fast-check shrinks towards: a harmless read. */
const K = {
  read: 0,
  write: 1,
  readBytes: 2,
  writeBytes: 3,
  fetch: 4,
  mmap: 5,
  munmap: 6,
  mprotect: 7,
  madvise: 8,
  brk: 9,
  mremap: 10,
  fork: 11,
  exit: 12,
  scan: 13,
  mseal: 14,
} as const;
const KIND_NAMES = Object.keys(K);

const WEIGHTS: [number, number][] = [
  [K.read, 20],
  [K.write, 20],
  [K.readBytes, 5],
  [K.writeBytes, 5],
  [K.fetch, 2],
  [K.mmap, 13],
  [K.munmap, 4],
  [K.mprotect, 6],
  [K.madvise, 7],
  [K.brk, 4],
  [K.mremap, 7],
  [K.fork, 3],
  [K.exit, 2],
  [K.scan, 2],
  [K.mseal, 1],
];

/** [kind, a, b, c, d, e]: the five numbers are interpreted against the state when the op runs. */
type Op = [number, number, number, number, number, number];

const opArb: fc.Arbitrary<Op> = fc.tuple(
  fc.oneof(...WEIGHTS.map(([k, weight]) => ({ arbitrary: fc.constant(k), weight }))),
  fc.nat(0xffff),
  fc.nat(0xffff),
  fc.nat(0xffff),
  fc.nat(0xffffffff),
  fc.nat(0xffffffff),
);

const WIDTHS = [1, 2, 4, 8];

/** mm/madvise.c is_discard: the advice a sealed read-only anonymous vma refuses. */
const DISCARD: ReadonlySet<number> = new Set([
  MADV_FREE,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_DONTFORK,
  MADV_WIPEONFORK,
  MADV_GUARD_INSTALL,
]);

/** A byte pattern for writeBytes and the files' initial contents. */
function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 131 + (i >>> 8)) & 0xff;
  return b;
}

function leBytes(v: bigint, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
}

class Failure extends Error {}

/** Stats of the whole test. */
const totals = {
  ops: 0,
  runs: 0,
  faults: 0,
  sigbus: 0,
  /** Faults on a guard page. */
  guarded: 0,
  /** MAP_DROPPABLE mappings made. */
  droppables: 0,
  grows: 0,
  reads: 0,
  writes: 0,
  failedCalls: 0,
  skipped: 0,
  /** Stack growths RLIMIT_STACK refused. */
  stackLimit: 0,
  /** mremap: moved (MAYMOVE, FIXED, DONTUNMAP), grown in place. */
  moves: 0,
  inPlace: 0,
  fileChecks: 0,
  peakFrames: 0,
  auditMs: 0,
  calls: {} as Record<string, number>,
};

type Expect = {
  signal: "SIGSEGV" | "SIGBUS";
  code: "SEGV_MAPERR" | "SEGV_ACCERR" | "BUS_ADRERR";
  lo: number;
  hi: number;
  /** On a guard page. */
  guard?: true;
} | null;

type Access = "read" | "write" | "execute";

class Run {
  readonly sys = new VmSystem({ personality: "linux", physicalMemory: PHYS });
  readonly procs: MProc[] = [];
  readonly log: string[] = [];
  readonly framesTotal: number;
  readonly files: MObj[];
  /** Shmem objects ever created in this run (checked for being unmapped when they die). */
  nextVma = 1;

  constructor() {
    this.framesTotal = this.sys.stats().frames.total;
    this.files = FILES.map(([name, size], i) =>
      newObj(name, new MemoryFile(pattern(size, 17 + 64 * i)), size),
    );
  }

  fail(msg: string): never {
    throw new Failure(`${msg}\n--- ops of this run ---\n${this.log.join("\n")}`);
  }

  check(cond: boolean, msg: () => string): void {
    if (!cond) this.fail(msg());
  }

  name(mp: MProc): string {
    return `p${mp.p.pid}`;
  }

  spawnRoot(): MProc {
    const p = this.sys.createProcess({ mmapBase: MMAP_BASE, brkBase: BRK_BASE }) as LinuxProcess;
    const fds = this.files.map(
      (f) =>
        [p.fds.open(f.vnode!, "rw", f.name), p.fds.open(f.vnode!, "r", f.name)] as [number, number],
    );
    const mp: MProc = { p, pages: new Map(), startBrk: BRK_BASE, brk: BRK_BASE, fds };
    this.procs.push(mp);
    this.log.push(
      `${this.name(mp)} = createProcess({ mmapBase: ${hex(MMAP_BASE)}, brkBase: ${hex(BRK_BASE)} }); fds ${JSON.stringify(fds)} = ${this.files.map((f) => `${f.name} (${f.size} bytes) rw, r`).join("; ")}`,
    );
    return mp;
  }

  // -------------------------------------------------------------- address choice

  /**
   * A page: in a window, or (mostly) a mapped page of the model or a neighbour; rarely just
   * beyond RLIMIT_STACK below the stack window (a grows-down vma there may not grow so far).
   */
  pickPage(mp: MProc, a: number, b: number): number {
    if (mp.pages.size === 0 || (b & 7) === 0) {
      if (((b >> 3) & 3) !== 0) return WIN_FIRST + (a % WIN_PAGES);
      if (((b >> 5) & 3) === 0) return STK_FIRST - STACK_LIMIT_PAGES - (a % 8);
      return STK_FIRST + (a % STK_PAGES);
    }
    const keys = [...mp.pages.keys()];
    const pn = keys[a % keys.length];
    return (b >> 3) % 5 === 0 ? pn + ((b >> 6) % 5) - 3 : pn;
  }

  /** An address for an access of n bytes: page starts, page ends (crossing), anywhere. */
  pickAddr(mp: MProc, a: number, b: number, c: number, n: number): number {
    const pn = this.pickPage(mp, a, b);
    let off: number;
    switch ((c >> 12) & 3) {
      case 0:
        off = PS - 1 - (c % Math.max(n, 4)); // ends in the next page for n > 1
        break;
      case 1:
        off = 0;
        break;
      default:
        off = c % PS;
    }
    return pn * PS + off;
  }

  /** A window page for MAP_FIXED, MREMAP_FIXED and hints (stack window for 1 in 8). */
  windowPage(sel: number, npages: number): number {
    if ((sel & 7) === 0) return STK_FIRST + ((sel >>> 3) % Math.max(1, STK_PAGES - npages + 1));
    return WIN_FIRST + ((sel >>> 3) % Math.max(1, WIN_PAGES - npages + 1));
  }

  // -------------------------------------------------------------- model helpers

  removeRange(mp: MProc, first: number, last: number): void {
    for (let pn = first; pn < last; pn++) mp.pages.delete(pn);
  }

  free(mp: MProc, first: number, last: number): boolean {
    for (let pn = first; pn < last; pn++) if (mp.pages.has(pn)) return false;
    return true;
  }

  /** Whether a page of [first, last) is sealed (mseal). */
  sealedIn(mp: MProc, first: number, last: number): boolean {
    for (let pn = first; pn < last; pn++) if (mp.pages.get(pn)?.sealed === true) return true;
    return false;
  }

  /**
   * mseal: EINVAL for flags or an unaligned start, nothing for len 0, ENOMEM with nothing
   * sealed for a hole; else every page of the range is sealed for good.
   */
  mseal(mp: MProc, b: number, c: number, d: number, e: number): void {
    let [addr, len] = this.pickRange(mp, b, c, d);
    const flags = e % 8 === 0 ? 1 : 0;
    if (e % 16 === 1) addr += 1 + ((e >>> 8) % (PS - 1));
    const what = `${this.name(mp)}.mseal(${hex(addr)}, ${hex(len)}, ${flags})`;
    const first = addr / PS;
    const last = (addr + Math.ceil(len / PS) * PS) / PS;
    let want: string | null = null;
    if (flags !== 0 || addr % PS !== 0) want = "EINVAL";
    else for (let pn = first; pn < last; pn++) if (!mp.pages.has(pn)) want = "ENOMEM";
    this.log.push(what);
    this.call(what, "mseal", want, () => mp.p.mseal(addr, len, flags));
    if (want === null) for (let pn = first; pn < last; pn++) mp.pages.get(pn)!.sealed = true;
    this.after(mp, what);
  }

  /**
   * After a system call: a model vma id whose pages are no longer contiguous with equal
   * attributes is split into one id per run (as Linux splits the vma; it never merges here).
   */
  normalize(mp: MProc, keys: number[]): void {
    const seen = new Set<number>();
    let prevPn = -2;
    let prevOld = -1;
    let prevNew = -1;
    let prevAttr = "";
    for (const pn of keys) {
      const pg = mp.pages.get(pn)!;
      const attr = attrKey(pg);
      if (pn === prevPn + 1 && pg.vma === prevOld && attr === prevAttr) pg.vma = prevNew;
      else {
        prevOld = pg.vma;
        if (seen.has(pg.vma)) pg.vma = this.nextVma++;
        seen.add(pg.vma);
        prevNew = pg.vma;
      }
      prevAttr = attr;
      prevPn = pn;
    }
  }

  /** [start, end) page numbers of the model vma id of page pn (certainly one Linux vma). */
  certainVma(mp: MProc, pn: number): [number, number] {
    const id = mp.pages.get(pn)!.vma;
    let s = pn;
    let e = pn + 1;
    while (mp.pages.get(s - 1)?.vma === id) s--;
    while (mp.pages.get(e)?.vma === id) e++;
    return [s, e];
  }

  /** [start, end) page numbers of the largest range that may be one Linux vma with page pn. */
  possibleVma(mp: MProc, pn: number): [number, number] {
    let s = pn;
    let e = pn + 1;
    for (;;) {
      const b = mp.pages.get(s - 1);
      if (b === undefined || !continues(b, mp.pages.get(s)!)) break;
      s--;
    }
    for (;;) {
      const n = mp.pages.get(e);
      if (n === undefined || !continues(mp.pages.get(e - 1)!, n)) break;
      e++;
    }
    return [s, e];
  }

  /**
   * Does [pn, pn + npages) stay inside the vma of page pn? "yes", "no", or "?" when that
   * depends on vma merges the model does not know.
   */
  insideVma(mp: MProc, pn: number, npages: number): "yes" | "no" | "?" {
    if (pn + npages <= this.certainVma(mp, pn)[1]) return "yes";
    if (pn + npages > this.possibleVma(mp, pn)[1]) return "no";
    return "?";
  }

  /**
   * expand_downwards for an access to unmapped page pn: true (and the vma above has grown
   * down to pn, its new pages listed in `grown`) when the next vma above is VM_GROWSDOWN, no
   * accessible non-growsdown vma lies within stack_guard_gap below pn and the grown vma fits
   * RLIMIT_STACK (acct_stack_growth). "?" (nothing changed) when that limit decides and the
   * vma's end depends on merges the model does not know.
   */
  grow(mp: MProc, pn: number, grown: number[]): boolean | "?" {
    let above = Number.POSITIVE_INFINITY;
    let below = Number.NEGATIVE_INFINITY;
    for (const k of mp.pages.keys()) {
      if (k > pn && k < above) above = k;
      if (k < pn && k > below) below = k;
    }
    if (above === Number.POSITIVE_INFINITY || TOLERATE.has("growsdown")) return false;
    const v = mp.pages.get(above)!;
    if (!v.growsdown || pn * PS < MIN_ADDR) return false;
    if (below !== Number.NEGATIVE_INFINITY) {
      const b = mp.pages.get(below)!;
      if (!b.growsdown && b.prot !== PROT_NONE && pn - (below + 1) < GAP_PAGES) return false;
    }
    // The size of the grown vma against RLIMIT_STACK (this also keeps a far hole, such as
    // the 2^24 pages between the two windows, from being filled page by page).
    if (this.certainVma(mp, above)[1] - pn > STACK_LIMIT_PAGES) {
      totals.stackLimit++;
      return false;
    }
    if (this.possibleVma(mp, above)[1] - pn > STACK_LIMIT_PAGES) return "?";
    for (let q = pn; q < above; q++) {
      mp.pages.set(q, { ...v, cell: newCell(), guard: false });
      grown.push(q);
    }
    totals.grows++;
    return true;
  }

  /**
   * The fault an access of [addr, addr + n) needing `need` must raise, or null. Grows
   * MAP_GROWSDOWN vmas as the page walk reaches holes below them (before any fault). "skip"
   * (and the model unchanged) when a growth depends on vma merges the model does not know.
   */
  expectAccess(mp: MProc, addr: number, n: number, need: Access): Expect | "skip" {
    const last = Math.floor((addr + n - 1) / PS);
    const grown: number[] = [];
    const grows = totals.grows;
    for (let pn = Math.floor(addr / PS); pn <= last; pn++) {
      let pg = mp.pages.get(pn);
      const lo = Math.max(addr, pn * PS);
      const hi = Math.min(addr + n, (pn + 1) * PS);
      if (pg === undefined) {
        const g = this.grow(mp, pn, grown);
        if (g === "?") {
          for (const q of grown) mp.pages.delete(q);
          totals.grows = grows;
          return "skip";
        }
        if (!g) return { signal: "SIGSEGV", code: "SEGV_MAPERR", lo, hi };
        pg = mp.pages.get(pn)!;
      }
      const ok =
        need === "write"
          ? (pg.prot & PROT_WRITE) !== 0
          : need === "execute"
            ? (pg.prot & PROT_EXEC) !== 0
            : TOLERATE.has("write-only")
              ? (pg.prot & PROT_READ) !== 0
              : pg.prot !== PROT_NONE;
      if (!ok) return { signal: "SIGSEGV", code: "SEGV_ACCERR", lo, hi };
      // A guard marker is met once the vma allowed the access, before the file is read.
      if (pg.guard === true) return { signal: "SIGSEGV", code: "SEGV_MAPERR", lo, hi, guard: true };
      if (pg.obj !== null && pg.fpage >= pg.obj.npages)
        return { signal: "SIGBUS", code: "BUS_ADRERR", lo, hi };
    }
    return null;
  }

  /** Compares bytes read at addr with the model (resolving MADV_FREE candidates). */
  matchRead(mp: MProc, addr: number, got: Uint8Array): string | null {
    for (let i = 0; i < got.length; ) {
      const a = addr + i;
      const pn = Math.floor(a / PS);
      const off = a - pn * PS;
      const k = Math.min(got.length - i, PS - off);
      const c = mp.pages.get(pn)!.cell;
      const seg = got.subarray(i, i + k);
      const want = content(c).subarray(off, off + k);
      if (!equal(seg, want)) {
        if (c.alt !== null && equal(seg, c.alt.subarray(off, off + k))) {
          // The kernel discarded the MADV_FREE page: from now on it is the other candidate.
          c.bytes = c.alt;
          c.backing = null;
          c.alt = null;
          c.lazyfree = false;
        } else {
          let j = 0;
          while (seg[j] === want[j]) j++;
          return `byte at ${hex(a + j)} is ${seg[j]}, model ${want[j]}${c.alt !== null ? ` (or ${c.alt[off + j]} after MADV_FREE)` : ""}`;
        }
      } else if (c.alt !== null && !c.lazyfree && !equal(seg, c.alt.subarray(off, off + k)))
        c.alt = null; // written since MADV_FREE, and this read shows it was not discarded
      i += k;
    }
    return null;
  }

  /**
   * A store that faulted: every write (write16 to write64 across pages, writeBytes) checks all
   * its pages for write before storing a byte, so the pages before the faulting one took their
   * write faults (a private page was copied, a lazily freed one dirtied) though nothing was
   * stored, as a kernel's write prefault (fault_in_writeable) leaves them.
   */
  modelWriteFaults(mp: MProc, addr: number, exp: Expect): void {
    if (exp === null) return;
    for (let pn = Math.floor(addr / PS); pn < Math.floor(exp.lo / PS); pn++)
      store(mp.pages.get(pn)!.cell, 0, NO_BYTES);
  }

  modelWrite(mp: MProc, addr: number, bytes: Uint8Array): void {
    // Every page is made writable before any byte lands (an x86 store is committed once all
    // its pages translate; writeBytes translates them all first): a private page is copied
    // now, so that a store running from a shared page of a file onto a private copy of the
    // same file page copies the bytes from before the store.
    for (let pn = Math.floor(addr / PS); pn <= Math.floor((addr + bytes.length - 1) / PS); pn++) {
      const c = mp.pages.get(pn)!.cell;
      if (c.bytes === null) {
        c.bytes = content(c).slice();
        c.backing = null;
      }
    }
    for (let i = 0; i < bytes.length; ) {
      const a = addr + i;
      const pn = Math.floor(a / PS);
      const off = a - pn * PS;
      const k = Math.min(bytes.length - i, PS - off);
      store(mp.pages.get(pn)!.cell, off, bytes.subarray(i, i + k));
      i += k;
    }
  }

  // -------------------------------------------------------------- checks

  checkMaps(mp: MProc, what: string, keys?: number[]): void {
    const want = modelRuns(mp, keys);
    const got = implRuns(mp.p.maps());
    if (want.join("\n") !== got.join("\n"))
      this.fail(
        `${what}: ${this.name(mp)} maps differ\nmodel:\n  ${want.join("\n  ")}\nimplementation:\n  ${got.join("\n  ")}`,
      );
    // And the guard pages, which no map shows.
    const guards = (keys ?? sortedKeys(mp)).filter((pn) => mp.pages.get(pn)?.guard === true);
    const implGuards = mp.p.pmap.guardsIn(0, 2 ** 47).map((va) => va / PS);
    if (guards.join() !== implGuards.join())
      this.fail(
        `${what}: ${this.name(mp)} guard pages differ\nmodel: ${guards.map((g) => hex(g * PS)).join(" ")}\nimplementation: ${implGuards.map((g) => hex(g * PS)).join(" ")}`,
      );
  }

  /**
   * Files nobody maps any more: the MemoryFile must hold the model's bytes (shared writes
   * written back, private ones not); the model then forgets what lay past EOF in the last
   * page, as the next mapping reads the file afresh.
   */
  checkFiles(what: string): void {
    const mapped = new Set<MObj>();
    for (const mp of this.procs)
      for (const pg of mp.pages.values()) if (pg.obj !== null) mapped.add(pg.obj);
    for (const f of this.files) {
      if (mapped.has(f)) {
        f.mapped = true;
        continue;
      }
      if (!f.mapped) continue;
      f.mapped = false;
      totals.fileChecks++;
      const got = f.vnode!.contents();
      this.check(
        got.length === f.size,
        () => `${what}: ${f.name} is ${got.length} bytes long, was ${f.size}`,
      );
      for (let i = 0; i < f.size; i++) {
        const want = f.cells[Math.floor(i / PS)].bytes![i % PS];
        if (got[i] !== want)
          this.fail(
            `${what}: ${f.name} unmapped everywhere, byte ${hex(i)} of the file is ${got[i]}, model ${want}`,
          );
      }
      reloadObj(f);
    }
  }

  /** The model's view of the pages of [addr, addr + n), for failure messages. */
  describe(mp: MProc, addr: number, n: number): string {
    const out: string[] = [];
    for (let pn = Math.floor(addr / PS); pn <= Math.floor((addr + n - 1) / PS); pn++) {
      const pg = mp.pages.get(pn);
      out.push(
        pg === undefined
          ? `${hex(pn * PS)} unmapped`
          : `${hex(pn * PS)} ${attrKey(pg)} vma ${pg.vma}${pg.obj !== null ? ` page ${pg.fpage} of ${pg.obj.npages}` : ""}`,
      );
    }
    return `\nmodel: ${out.join("; ")}`;
  }

  /**
   * Compares the outcome of an access with the model's expectation. `where` names the access
   * for a failure message (built only then: describing the pages costs more than the access).
   */
  checkFault(where: () => string, got: unknown, exp: Expect, access: Access): boolean {
    if (exp === null) {
      if (got !== null) {
        const f = got as Error;
        this.fail(`${where()}: unexpected ${f instanceof MemoryFault ? f.message : String(f)}`);
      }
      return false;
    }
    totals.faults++;
    if (exp.signal === "SIGBUS") totals.sigbus++;
    if (exp.guard === true) totals.guarded++;
    if (!(got instanceof MemoryFault))
      this.fail(
        `${where()}: expected ${exp.signal}/${exp.code} in [${hex(exp.lo)}, ${hex(exp.hi)}), got ${got === null ? "no fault" : String(got)}`,
      );
    const f = got as MemoryFault;
    this.check(
      f.signal === exp.signal &&
        (f.code === exp.code || (TOLERATE.has("sigbus-code") && f.code === "BUS_OBJERR")) &&
        f.access === access &&
        f.address >= exp.lo &&
        f.address < exp.hi,
      () =>
        `${where()}: expected ${exp.signal}/${exp.code} (${access}) in [${hex(exp.lo)}, ${hex(exp.hi)}), got ${f.signal}/${f.code} (${f.access}) at ${hex(f.address)}`,
    );
    return true;
  }

  /**
   * Runs a system call whose outcome the model predicts (`want`: an errno, or null for
   * success) and checks errno, its number and the syscall name. Returns the call's value.
   */
  call(what: string, sc: string, want: string | null, fn: () => unknown): number | undefined {
    totals.calls[sc] = (totals.calls[sc] ?? 0) + 1;
    let v: unknown;
    try {
      v = fn();
    } catch (e) {
      if (!(e instanceof VmError)) throw e;
      this.log.push(`  -> ${e.code}`);
      this.check(
        e.syscall === sc && e.errno === LINUX_ERRNO[e.code],
        () => `${what}: VmError syscall ${e.syscall} errno ${e.errno} for ${e.code}`,
      );
      totals.failedCalls++;
      this.check(
        e.code === want,
        () => `${what}: failed with ${e.code} (${e.message}), model: ${want ?? "ok"}`,
      );
      return undefined;
    }
    const r = typeof v === "number" ? v : undefined;
    this.log.push(`  -> ${r === undefined ? "ok" : hex(r)}`);
    this.check(
      want === null,
      () => `${what}: succeeded${r === undefined ? "" : ` (${hex(r)})`}, model: ${want}`,
    );
    return r;
  }

  /** Checks that [r, r + npages) is a placement the model allows: free, inside user space. */
  checkPlaced(mp: MProc, what: string, r: number, npages: number): void {
    this.check(
      r % PS === 0 && r >= MIN_ADDR && r + npages * PS <= TASK,
      () => `${what} = ${hex(r)}: not a page-aligned address in user space`,
    );
    for (let pn = r / PS; pn < r / PS + npages; pn++)
      this.check(!mp.pages.has(pn), () => `${what} = ${hex(r)}: overlaps page ${hex(pn * PS)}`);
  }

  /** After a system call: model vma ids, maps, files. */
  after(mp: MProc, what: string): void {
    const keys = sortedKeys(mp);
    this.normalize(mp, keys);
    this.checkMaps(mp, what, keys);
    this.checkFiles(what);
  }

  // -------------------------------------------------------------- ops

  step(op: Op): void {
    const [k, a, b, c, d, e] = op;
    if (this.procs.length === 0) this.spawnRoot();
    const mp = this.procs[a % this.procs.length];
    switch (k) {
      case K.read:
      case K.write:
        this.access(mp, k === K.write, WIDTHS[d & 3], b, c, d, e);
        break;
      case K.readBytes:
      case K.writeBytes:
      case K.fetch:
        this.bytes(mp, k, b, c, d, e);
        break;
      case K.mmap:
        this.mmap(mp, b, c, d, e);
        break;
      case K.munmap:
        this.munmap(mp, b, c, d, e);
        break;
      case K.mprotect:
        this.mprotect(mp, b, c, d, e);
        break;
      case K.madvise:
        this.madvise(mp, b, c, d, e);
        break;
      case K.brk:
        this.brk(mp, b, c, d, e);
        break;
      case K.mremap:
        this.mremap(mp, b, c, d, e);
        break;
      case K.mseal:
        this.mseal(mp, b, c, d, e);
        break;
      case K.fork:
        this.fork(mp);
        break;
      case K.exit:
        this.exit(mp);
        break;
      case K.scan:
        this.scan(mp, b, c);
        break;
      default:
        throw new Error(`op kind ${k}`);
    }
    this.audit(KIND_NAMES[k]);
  }

  audit(what: string): void {
    const t0 = performance.now();
    try {
      this.sys.audit();
      totals.auditMs += performance.now() - t0;
    } catch (err) {
      this.fail(`audit after ${what}: ${(err as Error).message}`);
    }
    const st = this.sys.stats().frames;
    totals.peakFrames = Math.max(totals.peakFrames, st.total - st.free);
  }

  /** After an access: the maps, if the model grew a stack. */
  afterAccess(mp: MProc, what: string, grows: number): void {
    if (totals.grows !== grows) this.after(mp, `${what} (stack growth)`);
  }

  access(mp: MProc, write: boolean, n: number, b: number, c: number, d: number, e: number): void {
    const p = mp.p;
    const addr = this.pickAddr(mp, b, c >> 4, c, n);
    const what = `${this.name(mp)}.${write ? "write" : "read"}${n * 8}(${hex(addr)})`;
    const grows = totals.grows;
    const exp = this.expectAccess(mp, addr, n, write ? "write" : "read");
    if (exp === "skip") {
      this.skip(what, "a stack growth at RLIMIT_STACK depends on merges");
      return;
    }
    let got: unknown = null;
    if (write) {
      const v64 = (BigInt(e) << 32n) | BigInt(d);
      const v = n === 8 ? v64 : BigInt.asUintN(n * 8, v64);
      this.log.push(
        `${what.slice(0, -1)}, ${hex(Number(n === 8 ? v >> 32n : v))}${n === 8 ? `_${(d >>> 0).toString(16).padStart(8, "0")}` : ""})`,
      );
      try {
        if (n === 1) p.write8(addr, Number(v));
        else if (n === 2) p.write16(addr, Number(v));
        else if (n === 4) p.write32(addr, Number(v));
        else p.write64(addr, v);
      } catch (err) {
        got = err;
      }
      if (!this.checkFault(() => what + this.describe(mp, addr, n), got, exp, "write")) {
        this.modelWrite(mp, addr, leBytes(v, n));
        totals.writes++;
      } else this.modelWriteFaults(mp, addr, exp);
      this.afterAccess(mp, what, grows);
      return;
    }
    this.log.push(what);
    let value = 0n;
    try {
      if (n === 1) value = BigInt(p.read8(addr));
      else if (n === 2) value = BigInt(p.read16(addr));
      else if (n === 4) value = BigInt(p.read32(addr));
      else value = p.read64(addr);
    } catch (err) {
      got = err;
    }
    if (!this.checkFault(() => what + this.describe(mp, addr, n), got, exp, "read")) {
      totals.reads++;
      const bad = this.matchRead(mp, addr, leBytes(value, n));
      if (bad !== null)
        this.fail(`${what} = ${hex(Number(value))}: ${bad}${this.describe(mp, addr, n)}`);
    }
    this.afterAccess(mp, what, grows);
  }

  bytes(mp: MProc, k: number, b: number, c: number, d: number, e: number): void {
    const p = mp.p;
    const len = 1 + (e % 4 === 0 ? e % (3 * PS) : e % 80);
    const addr = this.pickAddr(mp, b, c >> 4, c, Math.min(len, 8));
    const name = k === K.readBytes ? "readBytes" : k === K.writeBytes ? "writeBytes" : "fetch";
    const what = `${this.name(mp)}.${name}(${hex(addr)}, ${len})`;
    const need: Access = k === K.writeBytes ? "write" : k === K.fetch ? "execute" : "read";
    const grows = totals.grows;
    const exp = this.expectAccess(mp, addr, len, need);
    if (exp === "skip") {
      this.skip(what, "a stack growth at RLIMIT_STACK depends on merges");
      return;
    }
    this.log.push(what);
    let got: unknown = null;
    if (k === K.writeBytes) {
      const data = pattern(len, d);
      try {
        p.writeBytes(addr, data);
      } catch (err) {
        got = err;
      }
      if (!this.checkFault(() => what + this.describe(mp, addr, len), got, exp, "write")) {
        this.modelWrite(mp, addr, data);
        totals.writes++;
      } else this.modelWriteFaults(mp, addr, exp);
      this.afterAccess(mp, what, grows);
      return;
    }
    let out: Uint8Array | null = null;
    try {
      out = k === K.fetch ? p.fetch(addr, len) : p.readBytes(addr, len);
    } catch (err) {
      got = err;
    }
    if (!this.checkFault(() => what + this.describe(mp, addr, len), got, exp, need)) {
      totals.reads++;
      this.check(out!.length === len, () => `${what}: length ${out!.length}`);
      const bad = this.matchRead(mp, addr, out!);
      if (bad !== null) this.fail(`${what}: ${bad}${this.describe(mp, addr, len)}`);
    }
    this.afterAccess(mp, what, grows);
  }

  /** Reads up to 16 pages around a mapped page, one page at a time. */
  scan(mp: MProc, b: number, c: number): void {
    const first = this.pickPage(mp, b, c | 1) - (c % 8);
    this.log.push(`${this.name(mp)}.scan(${hex(first * PS)}, 16 pages)`);
    const grows = totals.grows;
    for (let pn = first; pn < first + 16; pn++) this.readPage(mp, pn);
    this.afterAccess(mp, "scan", grows);
  }

  readPage(mp: MProc, pn: number): void {
    const what = `${this.name(mp)}.readBytes(${hex(pn * PS)}, ${PS}) [scan]`;
    const exp = this.expectAccess(mp, pn * PS, PS, "read");
    if (exp === "skip") {
      this.skip(what, "a stack growth at RLIMIT_STACK depends on merges");
      return;
    }
    let got: unknown = null;
    let out: Uint8Array | null = null;
    try {
      out = mp.p.readBytes(pn * PS, PS);
    } catch (err) {
      got = err;
    }
    if (!this.checkFault(() => what + this.describe(mp, pn * PS, PS), got, exp, "read")) {
      const bad = this.matchRead(mp, pn * PS, out!);
      if (bad !== null) this.fail(`${what}: ${bad}${this.describe(mp, pn * PS, PS)}`);
    }
  }

  /** The open file behind a descriptor of this process: [file, opened read-only]. */
  fdFile(mp: MProc, fd: number): [MObj, boolean] | undefined {
    for (let i = 0; i < mp.fds.length; i++)
      for (let j = 0; j < 2; j++) if (mp.fds[i][j] === fd) return [this.files[i], j === 1];
    return undefined;
  }

  /** do_mmap's checks in the kernel's order (ksys_mmap_pgoff, do_mmap, get_unmapped_area). */
  mmapErrno(
    mp: MProc,
    addr: number,
    len: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ): string | null {
    if (offset % PS !== 0 || (prot & ~(RWX | 0x8)) !== 0) return "EINVAL";
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    const f = anon ? undefined : this.fdFile(mp, fd);
    if (!anon && f === undefined) return "EBADF";
    if (len === 0) return "EINVAL";
    const size = Math.ceil(len / PS) * PS;
    if (size > TASK) return "ENOMEM";
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0) {
      if (addr > TASK - size) return "ENOMEM";
      if (addr % PS !== 0) return "EINVAL";
      if (addr < MIN_ADDR) return "EPERM";
      if ((flags & MAP_FIXED_NOREPLACE) !== 0 && !this.free(mp, addr / PS, (addr + size) / PS))
        return "EEXIST";
    }
    const type = flags & 0xf;
    if (f !== undefined) {
      if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
        if ((prot & PROT_WRITE) !== 0 && f[1]) return "EACCES";
      } else if (type !== MAP_PRIVATE) return "EINVAL";
      if ((flags & MAP_GROWSDOWN) !== 0) return "EINVAL";
    } else if (type === MAP_SHARED) {
      if ((flags & MAP_GROWSDOWN) !== 0) return "EINVAL";
    } else if (type === MAP_DROPPABLE) {
      if ((flags & MAP_GROWSDOWN) !== 0) return "EINVAL";
    } else if (type !== MAP_PRIVATE) return "EINVAL";
    // __mmap_prepare's munmap of what MAP_FIXED replaces refuses a sealed vma.
    if (
      (flags & MAP_FIXED) !== 0 &&
      (flags & MAP_FIXED_NOREPLACE) === 0 &&
      this.sealedIn(mp, addr / PS, (addr + size) / PS)
    )
      return "EPERM";
    return null;
  }

  mmap(mp: MProc, b: number, c: number, d: number, e: number): void {
    const npages = 1 + (c % 16);
    let len = npages * PS - (c & 0x100 ? (d >>> 16) % PS : 0);
    const sel = b % 7;
    const anon = sel < 4;
    const shared = sel === 3 || sel === 6;
    const fi = (b >> 3) & 1;
    let fd = anon ? -1 : mp.fds[fi][((b >> 4) & 3) === 0 ? 1 : 0];
    // Mostly inside the file; 1 in 8 starts at or past EOF.
    const fpages = this.files[fi].npages;
    let offset = anon ? 0 : ((e >>> 8) % (e & 0x70000 ? fpages : fpages + 4)) * PS;
    let prot = d & 0x800 ? RW : PROTS[d & 7];
    let flags = (anon ? MAP_ANONYMOUS : 0) | (shared ? MAP_SHARED : MAP_PRIVATE);
    if ((d & 0x1000) !== 0) flags |= MAP_POPULATE;
    // 1 in 8 private anonymous mappings is droppable (MAP_DROPPABLE is a type of its own).
    if (anon && !shared && ((d >>> 18) & 7) === 0) flags = (flags & ~MAP_PRIVATE) | MAP_DROPPABLE;
    const gd = (d >>> 13) & 31;
    if (anon && !shared ? (gd & 7) === 0 || ((e & 7) === 0 && (gd & 1) !== 0) : gd === 0)
      flags |= MAP_GROWSDOWN;
    const fixedAt = this.windowPage(e, npages) * PS;
    const variant = (b >> 6) % 24;
    let addr = 0;
    if (variant < 9) {
      addr = fixedAt;
      flags |= MAP_FIXED;
    } else if (variant < 11) {
      addr = fixedAt;
      flags |= MAP_FIXED_NOREPLACE;
    } else if (variant < 13) {
      addr = 0; // hint-less: top-down below mmap_base
    } else if (variant < 17) {
      addr = fixedAt + (d & 0x200 ? (e >>> 20) % PS : 0); // a hint in a window
    } else {
      // Malformed calls.
      addr = fixedAt;
      flags |= MAP_FIXED;
      switch (e % 10) {
        case 0:
          len = 0;
          break;
        case 1:
          flags &= ~(MAP_SHARED | MAP_PRIVATE);
          break;
        case 2:
          addr += 1 + (d % (PS - 1));
          break;
        case 3:
          prot |= 0x10;
          break;
        case 4:
          if (anon) flags |= MAP_SHARED_VALIDATE;
          else offset += 1 + (d % (PS - 1));
          break;
        case 5:
          flags &= ~MAP_ANONYMOUS;
          fd = 99;
          break;
        case 6:
          addr = (1 + (d % 15)) * PS; // below vm.mmap_min_addr
          break;
        case 7:
          // The page at TASK_SIZE is not user space.
          if (TOLERATE.has("task-size")) len = 0;
          else if (d & 1) [addr, len] = [TASK, PS];
          else [addr, len] = [TASK - PS, 2 * PS];
          break;
        case 8:
          if (!shared && (flags & MAP_DROPPABLE) === 0) flags ^= MAP_SHARED | MAP_PRIVATE;
          flags |= MAP_GROWSDOWN;
          break;
        default:
          if (anon) flags &= ~MAP_ANONYMOUS;
          else {
            flags = (flags & ~MAP_PRIVATE) | MAP_SHARED;
            prot |= PROT_WRITE;
            fd = mp.fds[fi][1];
          }
      }
    }
    const what = `${this.name(mp)}.mmap(${hex(addr)}, ${hex(len)}, ${hex(prot)}, ${hex(flags)}, ${fd}, ${hex(offset)})`;
    this.log.push(what);
    const want = this.mmapErrno(mp, addr, len, prot, flags, fd, offset);
    const r = this.call(what, "mmap", want, () => mp.p.mmap(addr, len, prot, flags, fd, offset));
    if (r !== undefined) {
      const size = Math.ceil(len / PS);
      if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) === 0) this.checkPlaced(mp, what, r, size);
      else {
        this.check(r === addr, () => `${what} = ${hex(r)}: MAP_FIXED moved`);
        this.removeRange(mp, r / PS, r / PS + size);
      }
      const isAnon = (flags & MAP_ANONYMOUS) !== 0;
      const type = flags & 0xf;
      const droppable = isAnon && type === MAP_DROPPABLE;
      if (droppable) totals.droppables++;
      const isShared = type === MAP_SHARED || type === MAP_SHARED_VALIDATE;
      const f = isAnon ? undefined : this.fdFile(mp, fd)!;
      const obj = isAnon
        ? isShared
          ? newObj(`shmem#${this.nextVma}`, null, size * PS)
          : null
        : f![0];
      const vma = this.nextVma++;
      for (let i = 0; i < size; i++) {
        const pg: MPage = {
          prot: prot & RWX,
          shared: isShared,
          obj,
          fpage: offset / PS + i,
          mayWrite: !(isShared && f !== undefined && f[1]),
          cell: ZERO_CELL,
          dontfork: false,
          wipe: droppable,
          droppable,
          growsdown: (flags & MAP_GROWSDOWN) !== 0,
          vma,
        };
        pg.cell = freshCell(pg, pg.fpage);
        mp.pages.set(r / PS + i, pg);
      }
    }
    this.after(mp, what);
  }

  /** A range [addr, addr + len) for munmap/mprotect/madvise, sometimes unaligned or empty. */
  pickRange(mp: MProc, b: number, c: number, d: number): [number, number] {
    const pn = this.pickPage(mp, b, c >> 5) - ((c >> 9) % 3);
    const npages = 1 + (c % 16);
    const unaligned = (d & 15) === 0;
    const addr = pn * PS + (unaligned ? (d >>> 4) % PS : 0);
    let len = npages * PS;
    if ((d & 0x30) === 0) len -= (d >>> 8) % PS;
    if ((d & 0x1c0) === 0) len = 0;
    return [addr, len];
  }

  munmap(mp: MProc, b: number, c: number, d: number, e: number): void {
    let [addr, len] = this.pickRange(mp, b, c, d);
    switch (TOLERATE.has("task-size") && e % 16 < 3 ? 0 : e % 16) {
      case 0:
        len = 0;
        break;
      case 1:
        addr = TASK; // the page at TASK_SIZE
        len = PS;
        break;
      case 2:
        addr = TASK - PS;
        len = 2 * PS;
        break;
    }
    const size = Math.ceil(len / PS) * PS;
    const bad = addr % PS !== 0 || addr > TASK || len > TASK - addr || size === 0;
    // A sealed vma in the range refuses the whole call.
    const sealed = !bad && this.sealedIn(mp, addr / PS, (addr + size) / PS);
    const what = `${this.name(mp)}.munmap(${hex(addr)}, ${hex(len)})`;
    this.log.push(what);
    const want = bad ? "EINVAL" : sealed ? "EPERM" : null;
    this.call(what, "munmap", want, () => mp.p.munmap(addr, len));
    if (want === null) this.removeRange(mp, addr / PS, (addr + size) / PS);
    this.after(mp, what);
  }

  /** Linux's mprotect walk: applied page by page until a hole (ENOMEM) or VM_MAYWRITE (EACCES). */
  mprotect(mp: MProc, b: number, c: number, d: number, e: number): void {
    let [addr, len] = this.pickRange(mp, b, c, d);
    if (TOLERATE.has("mprotect-inside") && mp.pages.has(addr / PS))
      addr = this.possibleVma(mp, addr / PS)[0] * PS;
    let prot = PROTS[e & 7];
    const v = (e >> 3) % 24;
    if (v === 0) prot |= 0x10;
    else if (v === 1) prot |= PROT_GROWSDOWN | PROT_GROWSUP;
    else if (v === 2) prot |= PROT_GROWSUP;
    else if (v === 3 || v === 4) prot |= PROT_GROWSDOWN;
    const what = `${this.name(mp)}.mprotect(${hex(addr)}, ${hex(len)}, ${hex(prot)})`;
    const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    const p = prot & ~grows;
    let want: string | null = null;
    let apply: [number, number] = [0, 0];
    const end = addr + Math.ceil(len / PS) * PS;
    if (grows === (PROT_GROWSDOWN | PROT_GROWSUP) || addr % PS !== 0) want = "EINVAL";
    else if (len === 0) want = null;
    else if ((p & ~(RWX | 0x8)) !== 0) want = "EINVAL";
    else {
      let start = addr / PS;
      const last = end / PS;
      let firstMapped = -1;
      for (let pn = start; pn < last; pn++)
        if (mp.pages.has(pn)) {
          firstMapped = pn;
          break;
        }
      if (firstMapped < 0) want = "ENOMEM";
      else if (grows === PROT_GROWSDOWN) {
        const pg = mp.pages.get(firstMapped)!;
        if (!pg.growsdown) want = "EINVAL";
        else {
          const cs = this.certainVma(mp, firstMapped)[0];
          if (cs !== this.possibleVma(mp, firstMapped)[0]) {
            this.skip(what, "the vma's start depends on merges");
            return;
          }
          start = cs;
        }
      } else if (firstMapped > start) want = "ENOMEM";
      else if (grows === PROT_GROWSUP) want = "EINVAL";
      if (want === null) {
        let pn = start;
        for (; pn < last; pn++) {
          const pg = mp.pages.get(pn);
          if (pg === undefined) {
            want = "ENOMEM";
            break;
          }
          if ((p & PROT_WRITE) !== 0 && !pg.mayWrite) {
            want = "EACCES";
            break;
          }
          if (pg.sealed === true) {
            want = "EPERM";
            break;
          }
        }
        apply = [start, pn];
      }
    }
    this.log.push(what);
    this.call(what, "mprotect", want, () => mp.p.mprotect(addr, len, prot));
    for (let pn = apply[0]; pn < apply[1]; pn++) mp.pages.get(pn)!.prot = p & RWX;
    this.after(mp, what);
  }

  madvise(mp: MProc, b: number, c: number, d: number, e: number): void {
    const [addr, len] = this.pickRange(mp, b, c, d);
    const ADVICE = [
      MADV_DONTNEED,
      MADV_DONTNEED,
      MADV_DONTNEED,
      MADV_DONTNEED_LOCKED,
      MADV_FREE,
      MADV_FREE,
      MADV_DONTFORK,
      MADV_DOFORK,
      MADV_WIPEONFORK,
      MADV_WIPEONFORK,
      MADV_KEEPONFORK,
      MADV_NORMAL,
      MADV_WILLNEED,
      MADV_COLD,
      MADV_PAGEOUT,
      MADV_GUARD_INSTALL,
      MADV_GUARD_INSTALL,
      MADV_GUARD_REMOVE,
      5, // no such advice
      100,
    ];
    let advice = ADVICE[e % ADVICE.length];
    if (TOLERATE.has("madv-file") && (advice === MADV_FREE || advice === MADV_WIPEONFORK))
      for (let pn = addr / PS; pn < (addr + len) / PS; pn++) {
        const pg = mp.pages.get(Math.floor(pn));
        if (pg !== undefined && !pg.shared && pg.obj !== null) advice = MADV_NORMAL;
      }
    const what = `${this.name(mp)}.madvise(${hex(addr)}, ${hex(len)}, ${advice})`;
    const size = Math.ceil(len / PS) * PS;
    const first = addr / PS;
    const last = (addr + size) / PS;
    let want: string | null = null;
    // Pages below `upto` are advised: madvise_walk_vmas advises vma by vma and returns at the
    // first vma that refuses the advice (a refusal is a vma's kind, shared by all its pages,
    // so that vma starts at the first refused page); a hole is ENOMEM after the walk.
    let upto = last;
    if (advice === 5 || advice === 100 || addr % PS !== 0) {
      want = "EINVAL";
      upto = first;
    } else if (size !== 0) {
      for (let pn = first; pn < last && want === null; pn++) {
        const pg = mp.pages.get(pn);
        if (pg === undefined) continue;
        // can_madvise_modify, first: discarding sealed read-only private anonymous memory.
        if (
          pg.sealed === true &&
          DISCARD.has(advice) &&
          (pg.prot & PROT_WRITE) === 0 &&
          !pg.shared &&
          pg.obj === null
        )
          want = "EPERM";
        else if (
          (advice === MADV_FREE || advice === MADV_WIPEONFORK) &&
          (pg.shared || pg.obj !== null)
        )
          want = "EINVAL";
        if (advice === MADV_KEEPONFORK && pg.droppable === true) want = "EINVAL";
        if (want !== null) upto = pn;
      }
      if (want === null)
        for (let pn = first; pn < last; pn++) if (!mp.pages.has(pn)) want = "ENOMEM";
    }
    this.log.push(what);
    this.call(what, "madvise", want, () => mp.p.madvise(addr, len, advice));
    for (let pn = first; pn < upto; pn++) {
      const pg = mp.pages.get(pn);
      if (pg === undefined) continue;
      switch (advice) {
        case MADV_DONTNEED:
        case MADV_DONTNEED_LOCKED:
          if (!pg.shared) pg.cell = freshCell(pg, pg.fpage);
          break;
        case MADV_GUARD_INSTALL:
          // Zapped as by MADV_DONTNEED (a shared page stays in its object), then marked.
          if (!pg.shared) pg.cell = freshCell(pg, pg.fpage);
          pg.guard = true;
          break;
        case MADV_GUARD_REMOVE:
          pg.guard = false;
          break;
        case MADV_FREE: {
          const c = pg.cell;
          if (c.bytes !== null) {
            c.alt = new Uint8Array(PS);
            c.lazyfree = true;
          }
          break;
        }
        case MADV_DONTFORK:
          pg.dontfork = true;
          break;
        case MADV_DOFORK:
          pg.dontfork = false;
          break;
        case MADV_WIPEONFORK:
          pg.wipe = true;
          break;
        case MADV_KEEPONFORK:
          pg.wipe = false;
          break;
      }
    }
    this.after(mp, what);
  }

  /** brk(2) as mm/mmap.c has it: never an errno; the old break when refused. */
  brk(mp: MProc, b: number, c: number, d: number, e: number): void {
    const cur = mp.brk;
    let addr: number;
    switch (e % 8) {
      case 0:
        addr = 0;
        break;
      case 1:
        addr = mp.startBrk - 1 - (d % (4 * PS));
        break;
      case 6:
        addr = mp.startBrk + (d % (48 * PS));
        break;
      case 7:
        addr = TOLERATE.has("task-size") ? 0 : TASK + 1 + (d % PS); // beyond TASK_SIZE
        break;
      default: {
        const delta = ((c % 33) - 16) * PS + (b % PS) - (d & 1 ? PS / 2 : 0);
        addr = Math.max(0, cur + delta);
      }
    }
    const what = `${this.name(mp)}.brk(${hex(addr)})`;
    let want = cur;
    const newbrk = Math.ceil(addr / PS) * PS;
    const oldbrk = Math.ceil(cur / PS) * PS;
    let change: (() => void) | null = null;
    if (addr < mp.startBrk) want = cur;
    else if (newbrk === oldbrk) {
      want = addr;
      change = () => {
        mp.brk = addr;
      };
    } else if (addr <= cur) {
      if (
        !this.free(mp, newbrk / PS, oldbrk / PS) &&
        !this.sealedIn(mp, newbrk / PS, oldbrk / PS)
      ) {
        want = addr;
        change = () => {
          this.removeRange(mp, newbrk / PS, oldbrk / PS);
          mp.brk = addr;
        };
      }
    } else if (newbrk <= TASK) {
      // The next vma from oldbrk up, with its stack guard gap, must leave one page free.
      let next = Number.POSITIVE_INFINITY;
      for (const k of mp.pages.keys()) if (k >= oldbrk / PS && k < next) next = k;
      const gapStart =
        next === Number.POSITIVE_INFINITY
          ? Number.POSITIVE_INFINITY
          : next * PS - (mp.pages.get(next)!.growsdown ? GAP_PAGES * PS : 0);
      if (newbrk + PS <= gapStart) {
        want = addr;
        change = () => {
          const vma = this.nextVma++;
          for (let pn = oldbrk / PS; pn < newbrk / PS; pn++)
            mp.pages.set(pn, {
              prot: RW,
              shared: false,
              obj: null,
              fpage: 0,
              mayWrite: true,
              cell: newCell(),
              dontfork: false,
              wipe: false,
              growsdown: false,
              vma,
            });
          mp.brk = addr;
        };
      }
    }
    this.log.push(what);
    const r = this.call(what, "brk", null, () => mp.p.brk(addr));
    this.check(
      r === want,
      () => `${what} = ${errName(r ?? null)}, model ${hex(want)} (brk was ${hex(cur)})`,
    );
    change?.();
    this.after(mp, what);
  }

  mremap(mp: MProc, b: number, c: number, d: number, e: number): void {
    const pn = this.pickPage(mp, b, c >> 5);
    const mapped = mp.pages.has(pn);
    const cend = mapped ? this.certainVma(mp, pn)[1] : pn + 1;
    let addr = pn * PS;
    if ((d & 63) === 0) addr += 1 + ((d >>> 6) % (PS - 1));
    // old_len: to the end of the vma, or less, or more (crossing), or 0.
    const toEnd = cend - pn;
    const ov = (c >> 8) % 8;
    let oldPages = ov < 3 ? toEnd : ov < 6 ? 1 + (c % toEnd) : ov < 7 ? toEnd + 1 + (c % 3) : 0;
    if (ov === 7 && mapped && mp.pages.get(pn)!.shared) oldPages = toEnd; // no "duplicate"
    const oldLen = oldPages * PS - (oldPages > 0 && (d & 0x40) !== 0 ? (d >>> 20) % PS : 0);
    const nv = (e >> 4) % 8;
    let newPages =
      nv < 3 ? oldPages + 1 + (e % 8) : nv < 5 ? Math.max(1, oldPages - 1 - (e % 4)) : oldPages;
    if (newPages === 0) newPages = 1 + (e % 4);
    let newLen = newPages * PS - ((d & 0x80) !== 0 ? (d >>> 8) % PS : 0);
    const fv = e % 16;
    let flags: number;
    let newAddr = 0;
    if (fv < 2) flags = 0;
    else if (fv < 7) flags = MREMAP_MAYMOVE;
    else if (fv < 10) {
      flags = MREMAP_MAYMOVE | MREMAP_FIXED;
      newAddr = this.windowPage(e >>> 8, newPages) * PS;
    } else if (fv < 13) {
      flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
      newLen = oldLen;
      const h = (e >>> 8) % 4;
      newAddr = h === 0 ? this.windowPage(e >>> 10, newPages) * PS : h === 1 ? addr + PS : 0;
      if ((d & 0x100) !== 0 && h === 0) newAddr += 1 + (d % (PS - 1));
      if (TOLERATE.has("dontunmap-hint")) newAddr = 0;
    } else if (fv < 14) {
      flags = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP;
      newLen = oldLen;
      newAddr = this.windowPage(e >>> 8, newPages) * PS;
    } else {
      // Malformed flags or lengths.
      const m = (e >>> 4) % 5;
      flags =
        m === 0
          ? MREMAP_FIXED
          : m === 1
            ? MREMAP_MAYMOVE | 8
            : m === 2
              ? MREMAP_DONTUNMAP
              : MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
      if (m === 3) newLen = oldLen + PS;
      if (m === 4) {
        flags = MREMAP_MAYMOVE;
        newLen = 0;
      }
    }
    const what = `${this.name(mp)}.mremap(${hex(addr)}, ${hex(oldLen)}, ${hex(newLen)}, ${flags}, ${hex(newAddr)})`;
    const plan = this.mremapPlan(mp, addr, oldLen, newLen, flags, newAddr);
    if (plan === null) {
      this.skip(what, "the vma's extent depends on merges");
      return;
    }
    this.log.push(what);
    const r = this.call(what, "mremap", plan.want, () =>
      mp.p.mremap(addr, oldLen, newLen, flags, newAddr),
    );
    plan.before?.();
    if (r !== undefined) {
      const np = Math.ceil(newLen / PS);
      if (plan.multi !== undefined) {
        const m = plan.multi;
        this.check(r === m.dst, () => `${what} = ${hex(r)}: model ${hex(m.dst)}`);
        this.moveEach(mp, addr / PS, m.pages, m.dst / PS, m.keep);
        totals.moves++;
      } else if (plan.move !== undefined) {
        const m = plan.move;
        // Placed as an mmap without MAP_FIXED while the old range is still mapped.
        if (m.dst === undefined) this.checkPlaced(mp, what, r, np);
        else this.check(r === m.dst, () => `${what} = ${hex(r)}: model ${hex(m.dst!)}`);
        this.move(mp, addr / PS, m.pages, np, r / PS, m.keep);
        totals.moves++;
      } else {
        this.check(r === addr, () => `${what} = ${hex(r)}: model ${hex(addr)}`);
        plan.inPlace?.();
      }
    }
    this.after(mp, what);
  }

  /**
   * What mremap must do, following mm/mremap.c: `want` (errno or null), `before` (state
   * changed whether or not the call then fails), then either `move` (pages of the old range,
   * destination if fixed, DONTUNMAP) or `inPlace`. Null when the outcome depends on vma merges.
   */
  mremapPlan(
    mp: MProc,
    addr: number,
    oldLength: number,
    newLength: number,
    flags: number,
    newAddr: number,
  ): {
    want: string | null;
    before?: () => void;
    inPlace?: () => void;
    move?: { pages: number; dst?: number; keep: boolean };
    multi?: { pages: number; dst: number; keep: boolean };
  } | null {
    const FIXED = MREMAP_FIXED;
    const DONTUNMAP = MREMAP_DONTUNMAP;
    // check_mremap_params, on the page-aligned lengths (6.16 on).
    const oldLen = Math.ceil(oldLength / PS) * PS;
    const newLen = Math.ceil(newLength / PS) * PS;
    if ((flags & ~(MREMAP_MAYMOVE | FIXED | DONTUNMAP)) !== 0) return { want: "EINVAL" };
    if (addr % PS !== 0) return { want: "EINVAL" };
    if (newLen === 0 || newLen > TASK) return { want: "EINVAL" };
    const to = (flags & (FIXED | DONTUNMAP)) !== 0;
    if (to) {
      if (newAddr > TASK - newLen || newAddr % PS !== 0) return { want: "EINVAL" };
      if ((flags & MREMAP_MAYMOVE) === 0) return { want: "EINVAL" };
      if ((flags & DONTUNMAP) !== 0 && oldLen !== newLen) return { want: "EINVAL" };
      if (addr + oldLen > newAddr && newAddr + newLen > addr) return { want: "EINVAL" };
    }
    const pn = addr / PS;
    const pg = mp.pages.get(pn);
    const op = oldLen / PS;
    const np = newLen / PS;
    // remap_move (6.17 on): every vma of the old range moves; a hole at its start is EFAULT.
    if ((flags & FIXED) !== 0 && op === np) {
      if (pg === undefined) return { want: "EFAULT" };
      if (pg.sealed === true) return { want: "EPERM" };
      const keep = (flags & DONTUNMAP) !== 0;
      const dp = newAddr / PS;
      // A sealed vma of the old range refuses its move (check_prep_vma), one over its
      // destination the unmap there: the vmas before it have moved. Where the destination
      // refuses, which vma that is depends on merges the model does not know, unless it is
      // the first run's.
      let sealedAt = -1;
      let dstSealedAt = -1;
      for (let i = 0; i < op; i++) {
        const q = mp.pages.get(pn + i);
        if (q === undefined) continue;
        if (q.sealed === true && sealedAt < 0) sealedAt = i;
        if (mp.pages.get(dp + i)?.sealed === true && dstSealedAt < 0) dstSealedAt = i;
      }
      if (dstSealedAt >= 0 && (sealedAt < 0 || dstSealedAt < sealedAt)) {
        for (let i = 1; i <= dstSealedAt; i++)
          if (mp.pages.get(pn + i)?.vma !== pg.vma) return null;
        return { want: "EPERM" };
      }
      if (sealedAt >= 0)
        return { want: "EPERM", before: () => this.moveEach(mp, pn, sealedAt, dp, keep) };
      return { want: null, multi: { pages: op, dst: newAddr, keep } };
    }
    if (pg === undefined) return { want: "EFAULT" };
    // check_prep_vma's first refusal.
    if (pg.sealed === true) return { want: "EPERM" };
    // check_prep_vma, before anything changes (6.16 on).
    const len1 = Math.min(op, np);
    if (to || np > op) {
      if (op === 0 && !pg.shared) return { want: "EINVAL" };
      const inside = this.insideVma(mp, pn, len1);
      if (inside === "?") return null;
      if (inside === "no") return { want: "EFAULT" };
    }
    if (to) {
      // mremap_to: the destination goes, then the old tail (a sealed vma refuses either).
      if ((flags & FIXED) !== 0 && this.sealedIn(mp, newAddr / PS, newAddr / PS + np))
        return { want: "EPERM" };
      if (op > np && this.sealedIn(mp, pn + np, pn + op))
        return {
          want: "EPERM",
          before: () => {
            if ((flags & FIXED) !== 0) this.removeRange(mp, newAddr / PS, newAddr / PS + np);
          },
        };
      const before = () => {
        if ((flags & FIXED) !== 0) this.removeRange(mp, newAddr / PS, newAddr / PS + np);
        if (op > np) this.removeRange(mp, pn + np, pn + op);
      };
      // With old_size 0 (no overlap by the kernel's test) the destination may have been the
      // old vma itself, which the lookup after the unmap no longer finds.
      if ((flags & FIXED) !== 0 && addr >= newAddr && addr < newAddr + newLen)
        return { want: "EFAULT", before };
      return {
        want: null,
        before,
        move: {
          pages: len1,
          dst: (flags & FIXED) !== 0 ? newAddr : undefined,
          keep: (flags & DONTUNMAP) !== 0,
        },
      };
    }
    if (op >= np) {
      if (op === np) return { want: null };
      if (this.sealedIn(mp, pn + np, pn + op)) return { want: "EPERM" };
      return { want: null, before: () => this.removeRange(mp, pn + np, pn + op) };
    }
    const ce = this.certainVma(mp, pn)[1];
    const pe = this.possibleVma(mp, pn)[1];
    if (pn + op === ce && ce === pe) {
      // At the vma's end: grow in place if the pages after it are free.
      if (ce + (np - op) <= TASK / PS && this.free(mp, ce, ce + (np - op)))
        return {
          want: null,
          inPlace: () => {
            this.extend(mp, mp.pages.get(ce - 1)!, ce, np - op);
            totals.inPlace++;
          },
        };
    }
    if ((flags & MREMAP_MAYMOVE) === 0) return { want: "ENOMEM" };
    return { want: null, move: { pages: op, keep: false } };
  }

  /**
   * move_vma: the `len` pages at src go to dst with their contents and attributes, the vma
   * grows to `newPages` (zeros, the next file pages, or past the object's end), and the old
   * range is unmapped, or with DONTUNMAP stays mapped with fresh pages.
   */
  move(mp: MProc, src: number, len: number, newPages: number, dst: number, keep: boolean): void {
    const moved: MPage[] = [];
    for (let i = 0; i < len; i++) moved.push(mp.pages.get(src + i)!);
    const vma = this.nextVma++;
    if (keep) {
      for (let i = 0; i < len; i++) {
        const pg = moved[i];
        if (TOLERATE.has("dontunmap-file") && !pg.shared && pg.obj !== null)
          mp.pages.set(src + i, { ...pg, obj: null, fpage: 0, cell: newCell(), guard: false });
        else
          mp.pages.set(src + i, {
            ...pg,
            cell: pg.shared ? pg.cell : freshCell(pg, pg.fpage),
            moved: true,
            // The guard markers go with the moved page tables.
            guard: false,
          });
      }
    } else this.removeRange(mp, src, src + len);
    for (let i = 0; i < len; i++) mp.pages.set(dst + i, { ...moved[i], vma, moved: true });
    if (newPages > len) this.extend(mp, { ...moved[len - 1], vma }, dst + len, newPages - len);
  }

  /**
   * remap_move: each run of the `n` pages at src that one model vma holds moves on its own to
   * dst + its distance from src (its destination unmapped first); the destination's pages over
   * the holes stay. A run of several model vma ids may be one Linux vma or several: moved
   * either way, one id per run keeps "one id, certainly one vma" true.
   */
  moveEach(mp: MProc, src: number, n: number, dst: number, keep: boolean): void {
    let i = 0;
    while (i < n) {
      const pg = mp.pages.get(src + i);
      if (pg === undefined) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < n && mp.pages.get(src + j)?.vma === pg.vma) j++;
      this.removeRange(mp, dst + i, dst + j);
      this.move(mp, src + i, j - i, j - i, dst + i, keep);
      i = j;
    }
  }

  /** The vma whose last page is `last` grows by n pages at pn (zeros, or its object's pages). */
  extend(mp: MProc, last: MPage, pn: number, n: number): void {
    let obj = last.obj;
    let fpage = last.fpage + 1;
    if (TOLERATE.has("shm-grow") && obj !== null && obj.vnode === null) {
      // The library grows shmem with a further object instead of SIGBUS past its end.
      obj = newObj(`shmem#${this.nextVma++}`, null, n * PS);
      fpage = 0;
    }
    for (let i = 0; i < n; i++) {
      const pg: MPage = { ...last, obj, fpage: fpage + i, moved: false, guard: false };
      pg.cell = freshCell(pg, pg.fpage);
      mp.pages.set(pn + i, pg);
    }
  }

  skip(what: string, why: string): void {
    totals.skipped++;
    this.log.push(`${what} [not issued: ${why}]`);
  }

  fork(mp: MProc): void {
    if (this.procs.length >= MAX_PROCS) return;
    const p = mp.p.fork() as LinuxProcess;
    const child: MProc = {
      p,
      pages: new Map(),
      startBrk: mp.startBrk,
      brk: mp.brk,
      fds: mp.fds.map((f) => [...f] as [number, number]),
    };
    this.log.push(`${this.name(child)} = ${this.name(mp)}.fork()`);
    totals.calls.fork = (totals.calls.fork ?? 0) + 1;
    for (const [pn, pg] of mp.pages) {
      if (TOLERATE.has("shared-file-fork") && pg.shared && pg.obj?.vnode && !pg.moved) {
        // The library's fork makes both sides copy-on-write over the file.
        pg.shared = false;
        pg.mayWrite = true;
        pg.cell = newCell(pg.cell);
      }
      if (pg.dontfork) continue;
      let cell: Cell;
      if (pg.wipe) cell = newCell();
      else if (pg.shared) cell = pg.cell;
      else cell = copyCell(pg.cell);
      // A VM_WIPEONFORK page comes to the child fresh, without its guard marker.
      child.pages.set(pn, { ...pg, cell, guard: pg.guard === true && !pg.wipe });
    }
    this.procs.push(child);
    this.checkMaps(mp, `${this.name(mp)}.fork() parent`);
    this.checkMaps(child, `${this.name(mp)}.fork() child`);
    const r = p.brk(0);
    this.log.push(`${this.name(child)}.brk(0)\n  -> ${hex(r)}`);
    this.check(r === child.brk, () => `child brk(0) = ${hex(r)}, model ${hex(child.brk)}`);
  }

  exit(mp: MProc): void {
    this.log.push(`${this.name(mp)}.exit()`);
    mp.p.exit();
    this.procs.splice(this.procs.indexOf(mp), 1);
    this.checkFiles(`${this.name(mp)}.exit()`);
    if (this.procs.length === 0) this.checkEmpty("after the last exit");
  }

  checkEmpty(when: string): void {
    const st = this.sys.stats();
    this.check(
      st.frames.free === st.frames.total,
      () => `${when}: ${st.frames.total - st.frames.free} frames still in use`,
    );
    this.check(st.objects.live === 0, () => `${when}: ${st.objects.live} objects left`);
    this.check(st.processes === 0, () => `${when}: ${st.processes} processes left`);
  }

  /** End of a run: every page of every process read and compared, then everyone exits. */
  finish(): void {
    for (const mp of this.procs) {
      this.log.push(`${this.name(mp)}.scan(all)`);
      for (const pn of sortedKeys(mp)) {
        const pg = mp.pages.get(pn)!;
        if (pg.prot !== PROT_NONE) this.readPage(mp, pn);
      }
    }
    this.audit("final scan");
    while (this.procs.length > 0) {
      this.exit(this.procs[this.procs.length - 1]);
      this.audit("exit");
    }
    this.checkEmpty("after all processes exited");
  }
}

const ZERO_CELL: Cell = newCell();

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

it("the Linux personality matches a naive model over random process trees", () => {
  const before = totals.ops;
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0; // thousands of faults and errnos: their stacks are not wanted
  const t0 = performance.now();
  const prop = processTreeProperty(opArb, OPS, () => new Run(), totals);
  // Fixed seeds in CI; see test/propertyBatches.ts for replay, fresh seeds and shrinking.
  let replayed: boolean;
  try {
    replayed = runBatches(
      "LINUX_PROPERTY",
      prop,
      NUM_RUNS,
      () => totals.ops - before >= MIN_TOTAL_OPS,
    );
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const ran = totals.ops - before;
  const { calls, auditMs, peakFrames, ...counts } = totals;
  console.log(
    `linux.property: ${Math.round(performance.now() - t0)} ms (audit ${Math.round(auditMs)} ms), peak ${peakFrames} frames in use, ${JSON.stringify(counts)}, calls ${JSON.stringify(calls)}`,
  );
  if (replayed) return;
  expect(ran).toBeGreaterThanOrEqual(MIN_TOTAL_OPS);
  // At the default size every path the header promises was taken (summed over the runs) by the
  // fixed seeds. Fresh seeds explore: a rare path (a stack growth refused by RLIMIT_STACK) may
  // not come up in one run, so there the counts are only printed above.
  if (ran >= DEFAULT_MIN_OPS && process.env.LINUX_PROPERTY_FRESH !== "1") {
    for (const [k, v] of Object.entries(counts))
      if (k !== "skipped") expect(v, k).toBeGreaterThan(0);
    for (const sc of ["mmap", "munmap", "mprotect", "madvise", "brk", "mremap", "fork"])
      expect(calls[sc] ?? 0, sc).toBeGreaterThan(0);
  }
}, 600_000);
