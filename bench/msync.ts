/**
 * msync write-back against a plain write: `npm run bench:msync` (or `npx tsx bench/msync.ts`).
 *
 * A 64 MiB HostFile is mapped MAP_SHARED and every page is stored to, so all 16,384 pages are
 * dirty; msync(MS_SYNC) then writes them back. In the same run, one fs.writeSync of the same
 * 64 MiB to another temporary file is timed. Neither is followed by fsync: both end in the
 * host's page cache, so the comparison is the library's cost (finding dirty pages through the
 * pmaps' modified bits, clearing them, clustering runs, pwritev) against one write(2).
 * Each round re-dirties the mapping first (not timed). The best and the median of the rounds
 * are printed, with the ratio of the bests (goal: at most 1.5).
 *
 * Options: --mib=n (default 64), --rounds=n (default 7).
 */

import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { freebsd as F, HostFile, VmSystem } from "../src/node/index.js";

function arg(name: string, dflt: number): number {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? dflt : Number(hit.slice(name.length + 3));
}

const MIB = arg("mib", 64);
const ROUNDS = arg("rounds", 7);
const LEN = MIB << 20;

const ms = (ns: bigint) => Number(ns) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(os.tmpdir(), "vmspace-bench-msync-"));
try {
  const sys = new VmSystem({ physicalMemory: LEN + (16 << 20) });
  const p = sys.createProcess();
  const path = join(dir, "mapped.bin");
  const f = HostFile.open(path, "rw");
  f.truncate(LEN);
  const fd = p.fds.open(f, "rw", path);
  const a = p.mmap(0, LEN, F.PROT_READ | F.PROT_WRITE, F.MAP_SHARED, fd, 0);
  const bytes = new Uint8Array(LEN);
  for (let i = 0; i < LEN; i += 4096) bytes[i] = (i >>> 12) & 0xff;
  const plain = openSync(join(dir, "plain.bin"), "w");
  const tMsync: number[] = [];
  const tWrite: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    bytes[0] = r;
    p.writeBytes(a, bytes); // every page dirty again
    let t0 = process.hrtime.bigint();
    p.msync(a, LEN, F.MS_SYNC);
    tMsync.push(ms(process.hrtime.bigint() - t0));
    t0 = process.hrtime.bigint();
    let done = 0;
    while (done < LEN) done += writeSync(plain, bytes, done, LEN - done, done);
    tWrite.push(ms(process.hrtime.bigint() - t0));
  }
  console.log(
    `rounds msync ${tMsync.map((x) => x.toFixed(0))} write ${tWrite.map((x) => x.toFixed(0))}`,
  );
  closeSync(plain);
  p.exit();
  f.close();
  const bm = Math.min(...tMsync);
  const bw = Math.min(...tWrite);
  const cpus = os.cpus();
  console.log(
    `machine: ${cpus[0]?.model ?? "?"} x${cpus.length}, ${os.platform()} ${os.release()}`,
  );
  console.log(`node ${process.version}; load average ${os.loadavg().map((x) => x.toFixed(2))}`);
  console.log(`${MIB} MiB, ${ROUNDS} rounds (ms: best / median)`);
  console.log(
    `msync(MS_SYNC) of ${LEN >>> 12} dirty pages: ${bm.toFixed(1)} / ${median(tMsync).toFixed(1)}`,
  );
  console.log(
    `one fs.writeSync of ${MIB} MiB:          ${bw.toFixed(1)} / ${median(tWrite).toFixed(1)}`,
  );
  console.log(`ratio of bests: ${(bm / bw).toFixed(2)} (goal <= 1.5)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
