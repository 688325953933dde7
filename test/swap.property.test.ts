/**
 * Differential property test of paging: random programs over a tree of processes run on a
 * machine whose physical memory is at most an eighth of the memory the processes touch, with
 * an in-memory swap that fails chosen reads and writes on demand, against a naive model.
 *
 * The model knows nothing of frames, objects, shadow chains or swap: each process is a map
 * from page address to that page's bytes (a Uint8Array), and fork copies every byte (all
 * mappings are private anonymous memory, inherited by copy). Ops: mmap, munmap, 32-bit writes
 * and reads, writeBytes/readBytes across pages, fork, exit, arming a swap fault (reads or
 * writes, EIO or ENOSPC, for the next 1..3 operations) and healing. While a fault is armed an
 * access may fail with a MemoryFault (SIGBUS: BUS_OBJERR for a failed page-in, BUS_OOMERR when
 * no page could be written out); such an access must change nothing. With nothing armed no
 * access may fail. After every step the system audit runs (swap slot accounting included);
 * at the end of a run every byte of every page is compared, every process exits, and every
 * frame and every swap slot must be free.
 *
 * Size: RUNS runs of OPS ops (SWAP_PROPERTY_RUNS / SWAP_PROPERTY_OPS override); at least
 * 20,000 ops in all.
 */

import fc from "fast-check";
import { expect, it } from "vitest";
import {
  FaultyBackend,
  freebsd,
  MemoryFault,
  MemorySwap,
  type Process,
  VmSystem,
} from "../src/index.js";

const PS = 4096;
const FRAMES = 8;
/** Pages written at the start of each run: 8x physical memory. */
const WARM_PAGES = 8 * FRAMES;
const RUNS = Number(process.env.SWAP_PROPERTY_RUNS ?? 40);
const OPS = Number(process.env.SWAP_PROPERTY_OPS ?? 520);
const { PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE } = freebsd;
const RW = PROT_READ | PROT_WRITE;

interface ModelProc {
  p: Process;
  /** Page address -> bytes. */
  pages: Map<number, Uint8Array>;
  /** Mapped regions [start, pages]. */
  regions: [number, number][];
}

type Op = [kind: number, a: number, b: number, c: number];

const opArb: fc.Arbitrary<Op> = fc.tuple(
  fc.integer({ min: 0, max: 99 }),
  fc.nat(0xffff),
  fc.nat(0xffff),
  fc.nat(0x7fffffff),
);

function runProgram(ops: Op[]): void {
  const swap = new FaultyBackend(new MemorySwap());
  const sys = new VmSystem({ physicalMemory: FRAMES * PS, swap });
  const procs: ModelProc[] = [];
  const root: ModelProc = { p: sys.createProcess(), pages: new Map(), regions: [] };
  procs.push(root);
  const log: string[] = [];

  const map = (m: ModelProc, n: number): void => {
    const a = m.p.mmap(0, n * PS, RW, MAP_ANON | MAP_PRIVATE);
    m.regions.push([a, n]);
    for (let i = 0; i < n; i++) m.pages.set(a + i * PS, new Uint8Array(PS));
  };
  map(root, WARM_PAGES);
  for (let i = 0; i < WARM_PAGES; i++) {
    const va = root.regions[0][0] + i * PS;
    root.p.write32(va + 8, i + 1);
    new DataView(root.pages.get(va)!.buffer).setUint32(8, i + 1, true);
  }
  sys.audit();

  /** Runs an access; a MemoryFault is allowed (and must change nothing) while armed. */
  const access = (armed: boolean, fn: () => void): boolean => {
    try {
      fn();
      return true;
    } catch (e) {
      if (!(e instanceof MemoryFault) || !armed) throw e;
      expect(e.signal).toBe("SIGBUS");
      expect(["BUS_OBJERR", "BUS_OOMERR"]).toContain(e.code);
      return false;
    }
  };

  for (const [kind, a, b, c] of ops) {
    const m = procs[a % procs.length];
    const armed = swap.failing;
    const anyPage = (): number | null => {
      if (m.regions.length === 0) return null;
      const [start, n] = m.regions[b % m.regions.length];
      return start + ((c >>> 8) % n) * PS;
    };
    if (kind < 6) {
      log.push(`mmap pid ${m.p.pid} ${1 + (b % 12)}`);
      if (m.regions.length < 12) map(m, 1 + (b % 12));
    } else if (kind < 10) {
      if (m.regions.length > 0) {
        const [start, n] = m.regions.splice(b % m.regions.length, 1)[0];
        log.push(`munmap pid ${m.p.pid} ${start.toString(16)}`);
        m.p.munmap(start, n * PS);
        for (let i = 0; i < n; i++) m.pages.delete(start + i * PS);
      }
    } else if (kind < 40) {
      const va = anyPage();
      if (va !== null) {
        const off = (c % (PS / 4)) * 4;
        log.push(`write32 pid ${m.p.pid} ${(va + off).toString(16)} ${c}`);
        if (access(armed, () => m.p.write32(va + off, c)))
          new DataView(m.pages.get(va)!.buffer).setUint32(off, c, true);
      }
    } else if (kind < 70) {
      const va = anyPage();
      if (va !== null) {
        const off = (c % (PS / 4)) * 4;
        log.push(`read32 pid ${m.p.pid} ${(va + off).toString(16)}`);
        let v = -1;
        if (access(armed, () => (v = m.p.read32(va + off))))
          expect(v).toBe(new DataView(m.pages.get(va)!.buffer).getUint32(off, true));
      }
    } else if (kind < 76) {
      // Bytes across page boundaries (only while nothing is armed: a store of many pages is
      // not atomic against a failure in its middle).
      const va = anyPage();
      if (va !== null && !armed) {
        const [start, n] = m.regions.find(([s, k]) => va >= s && va < s + k * PS)!;
        const off = c % PS;
        const len = Math.min(start + n * PS - (va + off), 1 + (b % (3 * PS)));
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i++) bytes[i] = (c + i * 131) & 0xff;
        log.push(`writeBytes pid ${m.p.pid} ${(va + off).toString(16)} ${len}`);
        m.p.writeBytes(va + off, bytes);
        for (let i = 0; i < len; i++) {
          const at = va + off + i;
          m.pages.get(at - (at % PS))![at % PS] = bytes[i];
        }
        const back = m.p.readBytes(va + off, len);
        for (let i = 0; i < len; i++) if (back[i] !== bytes[i]) expect(back[i]).toBe(bytes[i]);
      }
    } else if (kind < 82) {
      if (procs.length < 5) {
        log.push(`fork pid ${m.p.pid}`);
        const child = m.p.fork();
        const pages = new Map<number, Uint8Array>();
        for (const [va, bytes] of m.pages) pages.set(va, bytes.slice());
        procs.push({ p: child, pages, regions: m.regions.map(([s, n]) => [s, n]) });
      }
    } else if (kind < 86) {
      if (procs.length > 1) {
        log.push(`exit pid ${m.p.pid}`);
        m.p.exit();
        procs.splice(procs.indexOf(m), 1);
      }
    } else if (kind < 94) {
      const op = (b & 1) === 0 ? "read" : "write";
      const err = (b & 2) === 0 ? "EIO" : "ENOSPC";
      log.push(`fail ${op} ${err} ${1 + (c % 3)}`);
      swap.fail(op, err, 1 + (c % 3));
    } else {
      log.push("heal");
      swap.heal();
    }
    try {
      sys.audit();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${log.slice(-30).join("\n")}`);
    }
  }
  swap.heal();
  for (const m of procs)
    for (const [va, bytes] of m.pages) {
      const got = m.p.readBytes(va, PS);
      for (let i = 0; i < PS; i++)
        if (got[i] !== bytes[i])
          throw new Error(`pid ${m.p.pid} byte ${(va + i).toString(16)}: ${got[i]} != ${bytes[i]}`);
    }
  sys.audit();
  const st = sys.stats();
  expect(st.pageouts).toBeGreaterThan(0);
  for (const m of procs) m.p.exit();
  sys.audit();
  const end = sys.stats();
  expect(end.frames.free).toBe(end.frames.total);
  expect(end.swapInUse).toBe(0);
  expect(end.objects.live).toBe(0);
}

it("paging with 1/8 of the touched memory matches a byte-copying model, faults injected", () => {
  let total = 0;
  fc.assert(
    fc.property(fc.array(opArb, { minLength: OPS, maxLength: OPS }), (ops) => {
      runProgram(ops);
      total += ops.length;
    }),
    { numRuns: RUNS, seed: Number(process.env.SWAP_PROPERTY_SEED ?? 4242) },
  );
  expect(total).toBeGreaterThanOrEqual(Math.min(20_000, RUNS * OPS));
}, 600_000);
