/**
 * Replay throughput (issue: "operations per second per trace with and without parsing"): for
 * each bundled trace, the CPU time of parsing its strace log, of replaying the parsed ops
 * (exec images from the snapshots, every call, the final comparisons), and of both. CPU time
 * (process.cpuUsage), best of the rounds, since on a shared machine interference only ever
 * slows a round down.
 *
 * "calls only" is the CPU time inside the replayed memory system calls (mmap, munmap,
 * mprotect, madvise, mremap, brk), without the system's creation, the exec images, forks,
 * exits and the final comparisons: replay() sums a clock around each call, here
 * process.cpuUsage(). That clock costs about a third of a call and counts in microseconds, so
 * its cost inside an interval (measured here, best of 20 rounds) is subtracted per call and the
 * truncation averages out over the hundreds of calls of a replay. The table gives the fastest
 * of 10 × rounds replays and the median one.
 *
 *   npm run bench:replay            (compiles with tsc, then runs the JavaScript)
 *   BENCH_ROUNDS=3 BENCH_TRACES=py_alloc npm run bench:replay
 */

import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { replay } from "../cli/replay.js";
import { parseStrace } from "../cli/trace.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/** Replays timed call by call (each replay is one sample of the calls-only figure). */
const CALL_REPLAYS = 10 * ROUNDS;

function cpu(fn: () => void, minMs = 200): number {
  // Repeats fn until at least minMs of CPU time has passed; returns CPU ms per call.
  let n = 0;
  const t0 = process.cpuUsage();
  let dt = 0;
  do {
    fn();
    n++;
    const d = process.cpuUsage(t0);
    dt = (d.user + d.system) / 1000;
  } while (dt < minMs);
  return dt / n;
}

/** CPU time of the process in ms. */
function cpuClock(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Cost of one cpuClock() inside a timed interval (ms), for subtraction. */
function clockCost(): number {
  let b = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 20; r++) {
    let sum = 0;
    for (let i = 0; i < 1000; i++) {
      const t0 = cpuClock();
      sum += cpuClock() - t0;
    }
    b = Math.min(b, sum / 1000);
  }
  return b;
}

function best(fn: () => void): number {
  let b = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) b = Math.min(b, cpu(fn));
  return b;
}

const CLOCK = clockCost();
const rows: string[] = [];
const TRACES = (process.env.BENCH_TRACES ?? "gcc_compile,py_alloc,sh_pipeline").split(",");
for (const name of TRACES) {
  const dir = join(ROOT, "traces", name);
  const text = readFileSync(join(dir, "strace.log"), "utf8");
  const mapsFiles = readdirSync(join(dir, "maps")).map((f) => `maps/${f}`);
  const maps = new Map(mapsFiles.map((f) => [f, readFileSync(join(dir, f), "utf8")]));
  const readMaps = (f: string) => maps.get(f) ?? null;
  const ops = parseStrace(text, mapsFiles).ops;
  const calls = ops.filter((o) => o.op !== "exec" && o.op !== "fork" && o.op !== "exit").length;
  const parseMs = best(() => parseStrace(text, mapsFiles));
  const replayMs = best(() => replay(ops, { readMaps }));
  const callTimes: number[] = [];
  let replayed = 0;
  for (let i = 0; i < CALL_REPLAYS; i++) {
    const r = replay(ops, { readMaps, clock: cpuClock });
    callTimes.push(r.callMs - r.calls * CLOCK);
    replayed = r.calls;
  }
  callTimes.sort((a, b) => a - b);
  const callsMs = callTimes[0];
  const callsMedian = callTimes[callTimes.length >> 1];
  const predictMs = best(() => replay(ops, { readMaps, predict: true }));
  const bothMs = best(() => replay(parseStrace(text, mapsFiles).ops, { readMaps }));
  const rate = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString("en-US");
  rows.push(
    `| ${name} | ${ops.length} (${calls} memory calls) | ${parseMs.toFixed(2)} ms · ${rate(ops.length, parseMs)}/s | ${replayed} in ${(callsMs * 1000).toFixed(0)} µs · ${rate(replayed, callsMs)}/s (median ${rate(replayed, callsMedian)}/s) | ${replayMs.toFixed(2)} ms · ${rate(ops.length, replayMs)}/s | ${predictMs.toFixed(2)} ms · ${rate(ops.length, predictMs)}/s | ${bothMs.toFixed(2)} ms · ${rate(ops.length, bothMs)}/s |`,
  );
  process.stderr.write(`${name} done\n`);
}
const cpus = os.cpus();
process.stdout.write(
  `Replay throughput: ${cpus[0]?.model ?? "?"} (${cpus.length} cores), Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(
      " ",
    )}; CPU time, best of ${ROUNDS} rounds; clock cost ${(CLOCK * 1e6).toFixed(0)} ns subtracted per call\n\n` +
    "| trace | operations | parse only | calls only: best replay (calls/s) | replay only (kernel addresses) | replay --predict | parse + replay |\n" +
    "|---|---|---|---|---|---|---|\n" +
    `${rows.join("\n")}\n`,
);
