/**
 * Differential property test of the runnable address space (VmSystem + Process) against a
 * deliberately naive model.
 *
 * Random programs run over a tree of processes: mmap (fixed, fixed|excl, hinted, hint-less,
 * shared or private, guard, with and without PROT_MAX), munmap, mprotect, minherit, fork and
 * exit, reads and writes of 1, 2, 4 and 8 bytes and readBytes/writeBytes/fetch of random lengths
 * at random offsets — many of them crossing page boundaries or landing on unmapped or
 * inaccessible pages — plus a few malformed system calls. After every step the system audit
 * runs; after every system call the whole map of each process concerned is compared with the
 * model; a failing call must leave p.maps() unchanged; at the end every process exits and every
 * frame must be free and no object left.
 *
 * The model knows nothing of entries, objects, shadow chains or pmaps. Each process is a Map
 * from page number to { prot, max, inheritance, guard, cell }, and a cell is the page's bytes
 * (a Uint8Array, or null for zero). Processes that share a page (MAP_SHARED, or minherit SHARE
 * and then fork) point at the same cell, so a write through one is seen by the others. Fork
 * follows each page's inheritance (spec §4.21): SHARE → the same cell; COPY → the bytes are
 * copied; ZERO → a fresh zero page (inheritance ZERO in the child); NONE → nothing; guard pages
 * with any inheritance but NONE are copied as guards.
 *
 * One refinement keeps the model exact where copying bytes at fork time would not be: FreeBSD's
 * COPY fork makes *both* sides copy-on-write over the object (vm_map_copy_entry sets
 * COW|NEEDS_COPY on the parent's entry too). If that object is still written directly by some
 * other process (a MAP_SHARED region that one sharer marks INHERIT_COPY and forks), the parent
 * and the child keep seeing the other sharer's later writes to each page until they first write
 * that page themselves. The model does the same per page: when the cell is still writable by
 * someone else at a COPY fork, parent and child get *lazy* cells that read through to it and
 * take their own copy on their first write; otherwise (the usual case) the bytes are copied.
 * Where no object of the chain holds a page yet, a read fault zero-fills it in the entry's first
 * object (vm_fault), and from then on that page is what everyone reading through that object
 * sees: the model gives the matching cell a page of zeros of its own (readFault). Which cell
 * that is depends on whether the process's entry already has its own shadow object (it does
 * once the process has written any page of the entry): a read of a page no one has touched then
 * stops following the other writer. The model asks the implementation two facts it cannot know:
 * whether the entry is still NEEDS_COPY (p.maps()), and when it is, which processes share the
 * object the zero page goes to.
 * One more fact the model cannot see without objects: when a shadow object holds every page its
 * backing object has in its window, vm_object_collapse lets it bypass that object even while
 * others still share it, so pages the shared object gains later are no longer seen through the
 * shadow (fresh seed 658793707 path 3 found this). After each write the model asks whether the
 * object the write went to is still in the chain of each process reading the page through the
 * writer's cell; where it is not, that chain now reads through what lay below (bypassed()).
 *
 * Access rules (spec §7.1 item 10, vm_map_lookup): a read needs PROT_READ, a write PROT_WRITE,
 * an instruction fetch PROT_EXEC (a write-only page is not readable: the implementation grants
 * a read only with PTE_R, as vm_map_lookup checks the entry protection); unmapped →
 * SIGSEGV/SEGV_MAPERR; mapped without the permission (guards included) → SIGSEGV/SEGV_ACCERR.
 * An access spanning pages faults on the lowest page it may not touch; the reported address
 * must lie in that page and inside the access; a faulting write stores nothing, but the pages
 * before the faulting one have taken their write faults (a lazy cell takes its own copy).
 *
 * System-call results follow spec §8: munmap len 0 or a range outside [min, max) → EINVAL,
 * holes fine, addr rounded down; mprotect unknown prot bits → EINVAL, PROT_MAX(m) with prot ⊄ m
 * → ENOTSUP (for a non-empty range), beyond an entry's maximum → EACCES with nothing changed,
 * guards skipped; minherit with a value other than 0..3 → EINVAL, ZERO never applied to guards;
 * mmap validation order of §8.1 for the malformed cases generated here.
 *
 * Ops are generated as tuples of small random integers and interpreted against the model's
 * current state (which process, which mapped page), so fast-check can shrink any failing
 * program; the failure message lists the interpreted ops of the shrunk run.
 *
 * Size: batches of NUM_RUNS runs × up to OPS ops (SPACE_PROPERTY_RUNS / SPACE_PROPERTY_OPS
 * override) until at least MIN_TOTAL_OPS ops have run.
 */

import fc from "fast-check";
import { expect, it } from "vitest";
import {
  FREEBSD_ERRNO,
  freebsd,
  type MapInfo,
  MemoryFault,
  type Process,
  VmError,
  type VmObject,
  VmSystem,
} from "../src/index.js";
import { processTreeProperty, runBatches } from "./propertyBatches.js";

const {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  PROT_MAX,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_FIXED,
  MAP_ANON,
  MAP_EXCL,
  MAP_GUARD,
  INHERIT_SHARE,
  INHERIT_COPY,
  INHERIT_NONE,
  INHERIT_ZERO,
} = freebsd;

const PS = 4096;
const PHYS = 8 << 20;
/** The MAP_FIXED window: 64 GiB, above the hint-less floor (daddr + RLIMIT_DATA max = 32 GiB). */
const WIN_BASE = 2 ** 36;
const WIN_PAGES = 256;
const WIN_FIRST = WIN_BASE / PS;
const MAX_PROCS = 5;
const MAX_ADDR = 2 ** 47;
const NUM_RUNS = Number(process.env.SPACE_PROPERTY_RUNS ?? 56);
const OPS = Number(process.env.SPACE_PROPERTY_OPS ?? 600);
const MIN_TOTAL_OPS = Number(process.env.SPACE_PROPERTY_MIN_OPS ?? 20_000);
const RWX = PROT_READ | PROT_WRITE | PROT_EXEC;
/** Protections drawn for mmap and mprotect (read-write weighted up). */
const PROTS = [
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_READ | PROT_WRITE,
  PROT_READ | PROT_EXEC,
  RWX,
  PROT_READ | PROT_WRITE,
  PROT_READ | PROT_WRITE,
];

// ---------------------------------------------------------------------------- the model

/** A page's contents: own bytes (null = not yet written), else read through `backing`. */
interface Cell {
  bytes: Uint8Array | null;
  backing: Cell | null;
  /** Model pages naming this cell directly (those can write it). */
  mappers: number;
}

interface MPage {
  prot: number;
  max: number;
  inh: number;
  guard: boolean;
  cell: Cell | null;
}

interface MProc {
  p: Process;
  pages: Map<number, MPage>;
}

const ZEROS = new Uint8Array(PS);

function zeroCell(): Cell {
  return { bytes: null, backing: null, mappers: 1 };
}

/** What the cell shows now. */
function content(c: Cell): Uint8Array {
  for (let x: Cell | null = c; x !== null; x = x.backing) if (x.bytes !== null) return x.bytes;
  return ZEROS;
}

/** The cell's own bytes, taking a copy of what it shows first (copy on first write). */
function own(c: Cell): Uint8Array {
  if (c.bytes === null) {
    c.bytes = content(c).slice();
    c.backing = null;
  }
  return c.bytes;
}

/**
 * True if nobody but the one mapper about to let go of `c` can ever change what `c` shows:
 * then copying the bytes now is the same as copying them lazily.
 */
function frozenBut1(c: Cell): boolean {
  if (c.mappers !== 1) return false;
  for (let x: Cell = c; x.bytes === null && x.backing !== null; ) {
    x = x.backing;
    if (x.mappers !== 0) return false;
  }
  return true;
}

/** Whether `mp`'s page `pn` reads through cell `y` (its chain holds y). */
function readsThrough(mp: MProc, pn: number, y: Cell): boolean {
  for (let c = mp.pages.get(pn)?.cell ?? null; c !== null; c = c.backing) if (c === y) return true;
  return false;
}

/** The cell now holds a page of zeros of its own (a zero fill in its object). */
function pinZero(c: Cell): void {
  c.bytes = new Uint8Array(PS);
  c.backing = null;
}

function release(pg: MPage): void {
  if (pg.cell !== null) pg.cell.mappers--;
}

function removeRange(mp: MProc, first: number, last: number): void {
  for (let pn = first; pn < last; pn++) {
    const pg = mp.pages.get(pn);
    if (pg !== undefined) {
      release(pg);
      mp.pages.delete(pn);
    }
  }
}

/** The model's fork (spec §4.21, per page). */
function forkModel(parent: MProc, child: MProc): void {
  for (const [pn, pg] of parent.pages) {
    if (pg.inh === INHERIT_NONE) continue;
    if (pg.guard) {
      child.pages.set(pn, { ...pg });
      continue;
    }
    const c = pg.cell!;
    if (pg.inh === INHERIT_SHARE) {
      c.mappers++;
      child.pages.set(pn, { ...pg });
    } else if (pg.inh === INHERIT_ZERO) {
      child.pages.set(pn, { ...pg, cell: zeroCell() });
    } else if (frozenBut1(c)) {
      const shown = content(c);
      c.mappers--;
      const copy = () =>
        ({ bytes: shown === ZEROS ? null : shown.slice(), backing: null, mappers: 1 }) as Cell;
      pg.cell = copy();
      child.pages.set(pn, { ...pg, cell: copy() });
    } else {
      // Someone else still writes c: both sides read through it until their first write.
      c.mappers--;
      pg.cell = { bytes: null, backing: c, mappers: 1 };
      child.pages.set(pn, { ...pg, cell: { bytes: null, backing: c, mappers: 1 } });
    }
  }
}

type Expect = { code: "SEGV_MAPERR" | "SEGV_ACCERR"; lo: number; hi: number } | null;

/** The fault an access of [addr, addr + n) needing `need` must raise, or null. */
function expectAccess(mp: MProc, addr: number, n: number, need: number): Expect {
  const last = Math.floor((addr + n - 1) / PS);
  for (let pn = Math.floor(addr / PS); pn <= last; pn++) {
    const pg = mp.pages.get(pn);
    const lo = Math.max(addr, pn * PS);
    const hi = Math.min(addr + n, (pn + 1) * PS);
    if (pg === undefined) return { code: "SEGV_MAPERR", lo, hi };
    if ((pg.prot & need) !== need) return { code: "SEGV_ACCERR", lo, hi };
  }
  return null;
}

function modelRead(mp: MProc, addr: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const a = addr + i;
    const pn = Math.floor(a / PS);
    const off = a - pn * PS;
    const k = Math.min(n - i, PS - off);
    out.set(content(mp.pages.get(pn)!.cell!).subarray(off, off + k), i);
    i += k;
  }
  return out;
}

/**
 * A store that faulted: every write checks all its pages for write before storing a byte, so the
 * pages before the faulting one took their write faults (a lazy cell took its own copy) though
 * nothing was stored.
 */
function modelWriteFaults(mp: MProc, addr: number, exp: Expect): void {
  if (exp === null) return;
  for (let pn = Math.floor(addr / PS); pn < Math.floor(exp.lo / PS); pn++)
    own(mp.pages.get(pn)!.cell!);
}

function modelWrite(mp: MProc, addr: number, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; ) {
    const a = addr + i;
    const pn = Math.floor(a / PS);
    const off = a - pn * PS;
    const k = Math.min(bytes.length - i, PS - off);
    own(mp.pages.get(pn)!.cell!).set(bytes.subarray(i, i + k), off);
    i += k;
  }
}

/** Maximal runs of pages with equal attributes, as text (model side). */
function modelRuns(mp: MProc): string[] {
  const keys = [...mp.pages.keys()].sort((a, b) => a - b);
  const out: string[] = [];
  let s = -1;
  let e = -1;
  let attr = "";
  for (const pn of keys) {
    const pg = mp.pages.get(pn)!;
    const a = `${pg.prot}/${pg.max}/${pg.inh}${pg.guard ? "/guard" : ""}`;
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
    const a = `${m.prot}/${m.maxProt}/${m.inheritance}${m.kind === "guard" ? "/guard" : ""}`;
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
  minherit: 8,
  fork: 9,
  exit: 10,
  scan: 11,
} as const;
const KIND_NAMES = Object.keys(K);

const WEIGHTS: [number, number][] = [
  [K.read, 22],
  [K.write, 22],
  [K.readBytes, 5],
  [K.writeBytes, 5],
  [K.fetch, 2],
  [K.mmap, 13],
  [K.munmap, 5],
  [K.mprotect, 7],
  [K.minherit, 6],
  [K.fork, 4],
  [K.exit, 2],
  [K.scan, 2],
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

/** A byte pattern for writeBytes. */
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

function leValue(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v;
}

class Failure extends Error {}

/** Stats of the whole test. */
const totals = { ops: 0, runs: 0, faults: 0, reads: 0, writes: 0, failedCalls: 0, peakFrames: 0 };

class Run {
  readonly sys = new VmSystem({ physicalMemory: PHYS });
  readonly procs: MProc[] = [];
  readonly log: string[] = [];
  readonly framesTotal: number;

  constructor() {
    this.framesTotal = this.sys.stats().frames.total;
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
    const mp: MProc = { p: this.sys.createProcess(), pages: new Map() };
    this.procs.push(mp);
    this.log.push(`${this.name(mp)} = createProcess()`);
    return mp;
  }

  // -------------------------------------------------------------- address choice

  /** A page: in the fixed window, or (mostly) a mapped page of the model or its neighbour. */
  pickPage(mp: MProc, a: number, b: number): number {
    if (mp.pages.size === 0 || (b & 7) === 0) return WIN_FIRST + (a % WIN_PAGES);
    const keys = [...mp.pages.keys()];
    const pn = keys[a % keys.length];
    return (b >> 3) % 6 === 0 ? pn + ((b >> 6) % 3) - 1 : pn;
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

  // -------------------------------------------------------------- read faults

  /** Whether the implementation's entry at page `pn` of `mp` is still NEEDS_COPY (no shadow). */
  needsCopyAt(mp: MProc, pn: number): boolean {
    const va = pn * PS;
    const m = mp.p.maps().find((x) => x.start <= va && va < x.end);
    return m?.needsCopy ?? true;
  }

  /**
   * A read of page `pn` that faulted it in. When no cell of its chain holds bytes, no object of
   * the implementation's chain holds the page, and vm_fault zero-fills it in the entry's first
   * object; the matching cell gets a page of zeros of its own, so that it shows those zeros from
   * then on and stops the chain there (as the object's page hides whatever lies below it). The
   * first object is the process's own cell when that cell backs nothing or the entry has its
   * own shadow (no longer NEEDS_COPY). Else it is an object further down, shared with others:
   * the model takes the first cell down the chain through which every process whose chain holds
   * that object reads (the implementation is asked which processes those are).
   */
  readFault(mp: MProc, pn: number): void {
    const x = mp.pages.get(pn)!.cell!;
    for (let y: Cell | null = x; y !== null; y = y.backing) if (y.bytes !== null) return;
    if (x.backing === null || !this.needsCopyAt(mp, pn)) {
      pinZero(x);
      return;
    }
    const first = this.objectChain(mp, pn)[0];
    const sharers = this.procs.filter((o) => this.objectChain(o, pn).includes(first));
    for (let y: Cell | null = x.backing; y !== null; y = y.backing) {
      if (y.backing === null || sharers.every((o) => readsThrough(o, pn, y))) {
        pinZero(y);
        return;
      }
    }
  }

  /** The implementation's object chain of `mp`'s entry at page `pn` (first object first). */
  objectChain(mp: MProc, pn: number): VmObject[] {
    const r = mp.p.map.lookupEntry(pn * PS);
    const out: VmObject[] = [];
    if (r.found) for (let o = r.entry!.object; o !== null; o = o.backingObject) out.push(o);
    return out;
  }

  /**
   * After a write of [addr, addr + n) (up to the faulting page): where another process reads
   * a written page through the writer's cell (lazily, no cell between holding bytes), its object
   * chain must still hold the object the write went to. When it does not, a shadow object of
   * that chain has bypassed it (vm_object_collapse: the shadow held every page the bypassed
   * object had in its window, and others still shared that object), and from then on the chain
   * reads through what lay below it: so does the model, by unlinking the writer's cell from
   * that chain. A bypass that hid a page the bypassed object did hold is not excused here: the
   * next read of that page disagrees with the model.
   */
  bypassed(mp: MProc, addr: number, n: number, exp: Expect): void {
    const last = exp === null ? Math.floor((addr + n - 1) / PS) : Math.floor(exp.lo / PS) - 1;
    for (let pn = Math.floor(addr / PS); pn <= last; pn++) {
      const c = mp.pages.get(pn)!.cell!;
      let target: VmObject | null | undefined;
      for (const o of this.procs) {
        if (o === mp) continue;
        let prev: Cell | null = null;
        let y = o.pages.get(pn)?.cell ?? null;
        while (y !== null && y !== c && y.bytes === null) {
          prev = y;
          y = y.backing;
        }
        if (y !== c || prev === null) continue;
        target ??= this.objectChain(mp, pn)[0] ?? null;
        if (target !== null && !this.objectChain(o, pn).includes(target)) prev.backing = c.backing;
      }
    }
  }

  /** The read faults of an access of [addr, addr + n): every page before the faulting one. */
  readFaults(mp: MProc, addr: number, n: number, exp: Expect): void {
    const last = exp === null ? Math.floor((addr + n - 1) / PS) : Math.floor(exp.lo / PS) - 1;
    for (let pn = Math.floor(addr / PS); pn <= last; pn++) this.readFault(mp, pn);
  }

  // -------------------------------------------------------------- checks

  checkMaps(mp: MProc, what: string): void {
    const want = modelRuns(mp);
    const got = implRuns(mp.p.maps());
    if (want.join("\n") !== got.join("\n"))
      this.fail(
        `${what}: ${this.name(mp)} maps differ\nmodel:\n  ${want.join("\n  ")}\nimplementation:\n  ${got.join("\n  ")}`,
      );
  }

  /** Compares the outcome of an access with the model's expectation. */
  checkFault(what: string, got: unknown, exp: Expect, access: string): boolean {
    if (exp === null) {
      if (got !== null) {
        const f = got as Error;
        this.fail(`${what}: unexpected ${f instanceof MemoryFault ? f.message : String(f)}`);
      }
      return false;
    }
    totals.faults++;
    if (!(got instanceof MemoryFault))
      this.fail(
        `${what}: expected SIGSEGV/${exp.code} in [${hex(exp.lo)}, ${hex(exp.hi)}), got ${got === null ? "no fault" : String(got)}`,
      );
    const f = got as MemoryFault;
    this.check(
      f.signal === "SIGSEGV" &&
        f.code === exp.code &&
        f.access === access &&
        f.address >= exp.lo &&
        f.address < exp.hi,
      () =>
        `${what}: expected SIGSEGV/${exp.code} (${access}) in [${hex(exp.lo)}, ${hex(exp.hi)}), got ${f.signal}/${f.code} (${f.access}) at ${hex(f.address)}`,
    );
    return true;
  }

  /** Runs a system call; returns its value or the VmError's code. Checks errno and syscall. */
  syscall(
    sc: string,
    fn: () => unknown,
  ): { ok: true; v: number | undefined } | { ok: false; code: string } {
    try {
      const v = fn();
      return { ok: true, v: typeof v === "number" ? v : undefined };
    } catch (e) {
      if (!(e instanceof VmError)) throw e;
      this.check(
        e.syscall === sc && e.errno === FREEBSD_ERRNO[e.code],
        () => `${sc}: VmError syscall ${e.syscall} errno ${e.errno} for ${e.code}`,
      );
      totals.failedCalls++;
      return { ok: false, code: e.code };
    }
  }

  /**
   * Runs a system call the model predicts (`want`: an errno or null for success), and checks
   * that a failure changed nothing.
   */
  expectCall(
    mp: MProc,
    what: string,
    sc: string,
    want: string | null,
    fn: () => unknown,
  ): number | undefined {
    const before = JSON.stringify(mp.p.maps());
    const r = this.syscall(sc, fn);
    this.log.push(`  -> ${r.ok ? (r.v === undefined ? "ok" : hex(r.v)) : r.code}`);
    if (!r.ok) {
      this.check(r.code === want, () => `${what}: failed with ${r.code}, model: ${want ?? "ok"}`);
      this.check(
        JSON.stringify(mp.p.maps()) === before,
        () => `${what}: failed with ${r.code} but changed the map`,
      );
      return undefined;
    }
    this.check(want === null, () => `${what}: succeeded, model: ${want}`);
    return r.v;
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
      case K.minherit:
        this.minherit(mp, b, c, d, e);
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
      (totals as Record<string, number>).auditMs =
        ((totals as Record<string, number>).auditMs ?? 0) + performance.now() - t0;
    } catch (err) {
      this.fail(`audit after ${what}: ${(err as Error).message}`);
    }
    const st = this.sys.stats().frames;
    totals.peakFrames = Math.max(totals.peakFrames, st.total - st.free);
  }

  access(mp: MProc, write: boolean, n: number, b: number, c: number, d: number, e: number): void {
    const p = mp.p;
    const addr = this.pickAddr(mp, b, c >> 4, c, n);
    const what = `${this.name(mp)}.${write ? "write" : "read"}${n * 8}(${hex(addr)})`;
    const exp = expectAccess(mp, addr, n, write ? PROT_WRITE : PROT_READ);
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
      if (!this.checkFault(what, got, exp, "write")) {
        modelWrite(mp, addr, leBytes(v, n));
        totals.writes++;
      } else modelWriteFaults(mp, addr, exp);
      this.bypassed(mp, addr, n, exp);
      return;
    }
    this.log.push(what);
    let value: bigint = 0n;
    try {
      if (n === 1) value = BigInt(p.read8(addr));
      else if (n === 2) value = BigInt(p.read16(addr));
      else if (n === 4) value = BigInt(p.read32(addr));
      else value = p.read64(addr);
    } catch (err) {
      got = err;
    }
    this.readFaults(mp, addr, n, exp);
    if (!this.checkFault(what, got, exp, "read")) {
      totals.reads++;
      const want = leValue(modelRead(mp, addr, n));
      this.check(
        value === want,
        () => `${what} = ${hex(Number(value))}, model ${hex(Number(want))}`,
      );
    }
  }

  bytes(mp: MProc, k: number, b: number, c: number, d: number, e: number): void {
    const p = mp.p;
    const len = 1 + (e % 4 === 0 ? e % (3 * PS) : e % 80);
    const addr = this.pickAddr(mp, b, c >> 4, c, Math.min(len, 8));
    const name = k === K.readBytes ? "readBytes" : k === K.writeBytes ? "writeBytes" : "fetch";
    const what = `${this.name(mp)}.${name}(${hex(addr)}, ${len})`;
    this.log.push(what);
    const need = k === K.writeBytes ? PROT_WRITE : k === K.fetch ? PROT_EXEC : PROT_READ;
    const exp = expectAccess(mp, addr, len, need);
    let got: unknown = null;
    if (k === K.writeBytes) {
      const data = pattern(len, d);
      try {
        p.writeBytes(addr, data);
      } catch (err) {
        got = err;
      }
      if (!this.checkFault(what, got, exp, "write")) {
        modelWrite(mp, addr, data);
        totals.writes++;
      } else modelWriteFaults(mp, addr, exp);
      this.bypassed(mp, addr, len, exp);
      return;
    }
    let out: Uint8Array | null = null;
    try {
      out = k === K.fetch ? p.fetch(addr, len) : p.readBytes(addr, len);
    } catch (err) {
      got = err;
    }
    this.readFaults(mp, addr, len, exp);
    if (!this.checkFault(what, got, exp, k === K.fetch ? "execute" : "read")) {
      totals.reads++;
      this.compareBytes(what, out!, modelRead(mp, addr, len), addr);
    }
  }

  compareBytes(what: string, got: Uint8Array, want: Uint8Array, addr: number): void {
    this.check(got.length === want.length, () => `${what}: length ${got.length}`);
    for (let i = 0; i < want.length; i++)
      if (got[i] !== want[i])
        this.fail(`${what}: byte at ${hex(addr + i)} is ${got[i]}, model ${want[i]}`);
  }

  /** Reads up to 16 pages around a mapped page, one page at a time. */
  scan(mp: MProc, b: number, c: number): void {
    const first = this.pickPage(mp, b, c | 1) - (c % 8);
    this.log.push(`${this.name(mp)}.scan(${hex(first * PS)}, 16 pages)`);
    for (let pn = first; pn < first + 16; pn++) this.readPage(mp, pn);
  }

  readPage(mp: MProc, pn: number): void {
    const what = `${this.name(mp)}.readBytes(${hex(pn * PS)}, ${PS}) [scan]`;
    const exp = expectAccess(mp, pn * PS, PS, PROT_READ);
    let got: unknown = null;
    let out: Uint8Array | null = null;
    try {
      out = mp.p.readBytes(pn * PS, PS);
    } catch (err) {
      got = err;
    }
    this.readFaults(mp, pn * PS, PS, exp);
    if (!this.checkFault(what, got, exp, "read"))
      this.compareBytes(what, out!, content(mp.pages.get(pn)!.cell!), pn * PS);
  }

  mmap(mp: MProc, b: number, c: number, d: number, e: number): void {
    const p = mp.p;
    const npages = 1 + (c % 16);
    const len = npages * PS - (c & 0x100 ? (d >>> 16) % PS : 0);
    const shared = (b & 1) !== 0;
    let prot = d & 0x800 ? PROT_READ | PROT_WRITE : PROTS[d & 7];
    let max = RWX;
    if (((d >> 3) & 3) === 0) {
      const m = prot | PROTS[(d >> 5) & 7];
      if (m !== 0) max = m;
      prot |= PROT_MAX(m);
    }
    const share = shared ? MAP_SHARED : MAP_PRIVATE;
    const fixedAt = WIN_BASE + (e % (WIN_PAGES - npages + 1)) * PS;
    const variant = (b >> 1) % 20;
    let addr = 0;
    let flags = MAP_ANON | share;
    let want: string | null = null;
    let guard = false;
    let checkFree = false;
    if (variant < 9) {
      addr = fixedAt;
      flags |= MAP_FIXED;
    } else if (variant < 11) {
      addr = fixedAt;
      flags |= MAP_FIXED | MAP_EXCL;
      for (let pn = addr / PS; pn < addr / PS + npages; pn++) if (mp.pages.has(pn)) want = "ENOMEM";
    } else if (variant < 13) {
      checkFree = true; // hint-less: placed above the heap limit
    } else if (variant < 16) {
      addr = fixedAt + (d & 0x200 ? (e >>> 20) % PS : 0); // a hint in the window
      checkFree = true;
    } else if (variant === 16) {
      addr = fixedAt;
      flags = MAP_GUARD | MAP_FIXED | (d & 0x400 ? MAP_EXCL : 0);
      prot = PROT_NONE;
      max = PROT_NONE;
      guard = true;
      if ((flags & MAP_EXCL) !== 0)
        for (let pn = addr / PS; pn < addr / PS + npages; pn++)
          if (mp.pages.has(pn)) want = "ENOMEM";
    } else {
      // Malformed calls (spec §8.1 order).
      addr = fixedAt;
      flags |= MAP_FIXED;
      switch (e % 7) {
        case 0:
          this.mmapBad(mp, addr, 0, prot, flags, "EINVAL");
          return;
        case 1:
          this.mmapBad(mp, addr, len, prot, flags | MAP_SHARED | MAP_PRIVATE, "EINVAL");
          return;
        case 2:
          this.mmapBad(mp, addr + 1 + (d % (PS - 1)), len, prot, flags, "EINVAL");
          return;
        case 3:
          this.mmapBad(mp, addr, len, (prot & RWX) | 0x8, flags, "EINVAL");
          return;
        case 4:
          this.mmapBad(
            mp,
            addr,
            len,
            PROT_READ | PROT_WRITE | PROT_MAX(PROT_READ),
            flags,
            "ENOTSUP",
          );
          return;
        case 5:
          this.mmapBad(mp, addr, len, prot, (flags & ~MAP_FIXED) | MAP_EXCL, "EINVAL");
          return;
        default:
          this.mmapBad(mp, addr, len, PROT_READ, MAP_GUARD | MAP_FIXED, "EINVAL");
          return;
      }
    }
    const what = `${this.name(mp)}.mmap(${hex(addr)}, ${hex(len)}, ${hex(prot)}, ${hex(flags)})`;
    this.log.push(what);
    const r = this.expectCall(mp, what, "mmap", want, () => p.mmap(addr, len, prot, flags));
    if (r === undefined) {
      this.checkMaps(mp, what);
      return;
    }
    const first = r / PS;
    if (checkFree) {
      this.check(
        r % PS === 0 && r >= PS && r + npages * PS <= MAX_ADDR,
        () => `${what} = ${hex(r)}: not a page-aligned address in the map`,
      );
      this.check(
        r >= (addr === 0 ? 2 ** 35 : addr - (addr % PS)),
        () => `${what} = ${hex(r)}: below the hint or the heap floor`,
      );
      for (let pn = first; pn < first + npages; pn++)
        this.check(!mp.pages.has(pn), () => `${what} = ${hex(r)}: overlaps page ${hex(pn * PS)}`);
    } else {
      this.check(r === addr, () => `${what} = ${hex(r)}: MAP_FIXED moved`);
      removeRange(mp, first, first + npages);
    }
    const inh = shared && !guard ? INHERIT_SHARE : INHERIT_COPY;
    for (let pn = first; pn < first + npages; pn++)
      mp.pages.set(pn, { prot: prot & RWX, max, inh, guard, cell: guard ? null : zeroCell() });
    this.checkMaps(mp, what);
  }

  mmapBad(mp: MProc, addr: number, len: number, prot: number, flags: number, want: string): void {
    const what = `${this.name(mp)}.mmap(${hex(addr)}, ${hex(len)}, ${hex(prot)}, ${hex(flags)})`;
    this.log.push(what);
    this.expectCall(mp, what, "mmap", want, () => mp.p.mmap(addr, len, prot, flags));
    this.checkMaps(mp, what);
  }

  /** A range [addr, addr + len) for munmap/mprotect/minherit, sometimes unaligned or empty. */
  pickRange(mp: MProc, b: number, c: number, d: number): [number, number] {
    const pn = this.pickPage(mp, b, c >> 5) - ((c >> 9) % 3);
    const npages = 1 + (c % 16);
    const unaligned = (d & 3) === 0;
    const addr = pn * PS + (unaligned ? (d >>> 4) % PS : 0);
    let len = npages * PS;
    if ((d & 0xc) === 0) len -= (d >>> 8) % PS;
    if ((d & 0x70) === 0) len = 0;
    return [addr, len];
  }

  munmap(mp: MProc, b: number, c: number, d: number, e: number): void {
    let [addr, len] = this.pickRange(mp, b, c, d);
    let want: string | null = null;
    switch (e % 16) {
      case 0:
        len = 0;
        break;
      case 1:
        addr = e % PS; // starts below the map's minimum (one page)
        len = PS;
        break;
      case 2:
        addr = MAX_ADDR - PS;
        len = 2 * PS;
        break;
    }
    const start = addr - (addr % PS);
    const end = Math.ceil((addr + len) / PS) * PS;
    if (len === 0 || start < PS || end > MAX_ADDR) want = "EINVAL";
    const what = `${this.name(mp)}.munmap(${hex(addr)}, ${hex(len)})`;
    this.log.push(what);
    this.expectCall(mp, what, "munmap", want, () => mp.p.munmap(addr, len));
    if (want === null) removeRange(mp, start / PS, end / PS);
    this.checkMaps(mp, what);
  }

  mprotect(mp: MProc, b: number, c: number, d: number, e: number): void {
    const [addr, len] = this.pickRange(mp, b, c, d);
    let prot = PROTS[e & 7];
    let setMax = 0;
    let want: string | null = null;
    const v = (e >> 3) % 12;
    if (v === 0) {
      setMax = PROTS[(e >> 8) & 7] | (e & 0x4000 ? prot : 0);
      prot |= PROT_MAX(setMax);
    } else if (v === 1) {
      prot |= e & 0x800 ? 0x8 : 0x80000;
      want = "EINVAL";
    }
    const start = addr - (addr % PS);
    const end = Math.ceil((addr + len) / PS) * PS;
    const p = prot & RWX;
    if (want === null && start < end) {
      if (setMax !== 0 && (p & ~setMax) !== 0) want = "ENOTSUP";
      else
        for (let pn = start / PS; pn < end / PS; pn++) {
          const pg = mp.pages.get(pn);
          if (pg === undefined || pg.guard) continue;
          if ((p & ~pg.max) !== 0 || (setMax & ~pg.max) !== 0) want = "EACCES";
        }
    }
    const what = `${this.name(mp)}.mprotect(${hex(addr)}, ${hex(len)}, ${hex(prot)})`;
    this.log.push(what);
    this.expectCall(mp, what, "mprotect", want, () => mp.p.mprotect(addr, len, prot));
    if (want === null)
      for (let pn = start / PS; pn < end / PS; pn++) {
        const pg = mp.pages.get(pn);
        if (pg === undefined || pg.guard) continue;
        if (setMax !== 0) pg.max = setMax;
        pg.prot = p;
      }
    this.checkMaps(mp, what);
  }

  minherit(mp: MProc, b: number, c: number, d: number, e: number): void {
    const [addr, len] = this.pickRange(mp, b, c, d);
    const v = e % 24;
    const inh = v < 21 ? v % 4 : v === 21 ? 4 : v === 22 ? -1 : 0x100;
    const want = inh >= 0 && inh <= 3 ? null : "EINVAL";
    const start = addr - (addr % PS);
    const end = Math.ceil((addr + len) / PS) * PS;
    const what = `${this.name(mp)}.minherit(${hex(addr)}, ${hex(len)}, ${inh})`;
    this.log.push(what);
    this.expectCall(mp, what, "minherit", want, () => mp.p.minherit(addr, len, inh));
    if (want === null)
      for (let pn = start / PS; pn < end / PS; pn++) {
        const pg = mp.pages.get(pn);
        if (pg === undefined || (pg.guard && inh === INHERIT_ZERO)) continue;
        pg.inh = inh;
      }
    this.checkMaps(mp, what);
  }

  fork(mp: MProc): void {
    if (this.procs.length >= MAX_PROCS) return;
    const child: MProc = { p: mp.p.fork(), pages: new Map() };
    this.log.push(`${this.name(child)} = ${this.name(mp)}.fork()`);
    forkModel(mp, child);
    this.procs.push(child);
    this.checkMaps(mp, `${this.name(mp)}.fork() parent`);
    this.checkMaps(child, `${this.name(mp)}.fork() child`);
  }

  exit(mp: MProc): void {
    this.log.push(`${this.name(mp)}.exit()`);
    mp.p.exit();
    for (const pg of mp.pages.values()) release(pg);
    this.procs.splice(this.procs.indexOf(mp), 1);
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

  /** End of a run: every readable page of every process compared, then everyone exits. */
  finish(): void {
    for (const mp of this.procs) {
      this.log.push(`${this.name(mp)}.scan(all)`);
      for (const pn of [...mp.pages.keys()].sort((x, y) => x - y)) this.readPage(mp, pn);
    }
    this.audit("final scan");
    while (this.procs.length > 0) {
      this.exit(this.procs[this.procs.length - 1]);
      this.audit("exit");
    }
    this.checkEmpty("after all processes exited");
  }
}

it("the address space matches a naive model over random process trees", () => {
  const before = totals.ops;
  Error.stackTraceLimit = 0;
  const t0 = performance.now();
  const prop = processTreeProperty(opArb, OPS, () => new Run(), totals);
  // Fixed seeds, so that CI is reproducible; see test/propertyBatches.ts for replay, fresh seeds
  // (SPACE_PROPERTY_FRESH=1) and shrinking.
  if (runBatches("SPACE_PROPERTY", prop, NUM_RUNS, () => totals.ops - before >= MIN_TOTAL_OPS))
    return;
  const ran = totals.ops - before;
  console.log(
    `space.property: ${performance.now() - t0} ms, audit ${(totals as Record<string, number>).auditMs} ms, ${totals.runs} runs, ${ran} ops, ${totals.reads} reads, ${totals.writes} writes, ${totals.faults} faults, ${totals.failedCalls} failed calls, peak ${totals.peakFrames} frames in use`,
  );
  expect(ran).toBeGreaterThanOrEqual(MIN_TOTAL_OPS);
}, 600_000);
