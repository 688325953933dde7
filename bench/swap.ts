/**
 * Paging throughput (issue 4): pages per second written out to swap and read back in, with the
 * default in-memory swap. One process maps a region four times physical memory and sweeps it
 * writing one word per page; after the first sweep every page written evicts another (one
 * pageout) and, from the second sweep on, was itself on swap (one page-in). The figure is
 * (pageouts + pageins) per CPU second over the measured sweeps, best of the rounds (CPU time,
 * process.cpuUsage: on a shared machine interference only slows a round down).
 *
 *   npm run bench:swap            (compiles with tsc, then runs the JavaScript)
 */

import os from "node:os";
import { freebsd, VmSystem } from "../src/index.js";

const PS = 4096;
const FRAMES = Number(process.env.BENCH_FRAMES ?? 4096); // 16 MiB of frames
const SWEEPS = Number(process.env.BENCH_SWEEPS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const { PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE } = freebsd;

function round(): { pages: number; ms: number; pageouts: number; pageins: number } {
  const sys = new VmSystem({ physicalMemory: FRAMES * PS });
  const p = sys.createProcess();
  const n = 4 * FRAMES;
  const a = p.mmap(0, n * PS, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE);
  for (let i = 0; i < n; i++) p.write32(a + i * PS, i); // warm up: fill, then swap out
  const s0 = sys.stats();
  const t0 = process.cpuUsage();
  for (let s = 0; s < SWEEPS; s++)
    for (let i = 0; i < n; i++) {
      if (p.read32(a + i * PS) !== i + s * n) throw new Error(`page ${i}: wrong bytes`);
      p.write32(a + i * PS, i + (s + 1) * n);
    }
  const d = process.cpuUsage(t0);
  const s1 = sys.stats();
  p.exit();
  const pageouts = s1.pageouts - s0.pageouts;
  const pageins = s1.swap.pageins - s0.swap.pageins;
  return { pages: pageouts + pageins, ms: (d.user + d.system) / 1000, pageouts, pageins };
}

let best = { pages: 0, ms: Number.POSITIVE_INFINITY, pageouts: 0, pageins: 0 };
for (let r = 0; r < ROUNDS; r++) {
  const x = round();
  if (x.pages / x.ms > best.pages / best.ms) best = x;
}
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(`machine: ${cpu}, node ${process.version}`);
console.log(
  `frames ${FRAMES}, region ${4 * FRAMES} pages, ${SWEEPS} sweeps: ${best.pageouts} pageouts + ${best.pageins} page-ins in ${best.ms.toFixed(0)} ms CPU`,
);
console.log(`paging throughput: ${Math.round((best.pages / best.ms) * 1000)} pages/s`);
