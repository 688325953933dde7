/**
 * The `vmspace replay` command line: argument parsing, reading the trace folder, printing the
 * final maps, the statistics and the verdicts (see cli/replay.ts for what the replay does).
 *
 *   vmspace replay [TRACE] [--check] [--predict] [--format linux|procstat|json] [--paranoid]
 *
 * Exit status: 0 when everything replayed (and, with --check, every space matched); 1 when a
 * space mismatched, a call's outcome diverged from the kernel's, or the trace had unreadable
 * lines or nothing to replay; 2 for bad usage or a trace that cannot be read. Errors are one
 * line on stderr, never a stack trace.
 */

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ReplayResult, type ReplaySpace, replay } from "./replay.js";
import { type LoadedTrace, loadTrace } from "./trace.js";

/** Where output goes (tests capture it). */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** True when stderr is a terminal (progress is shown only then). */
  tty: boolean;
}

export const REPLAY_USAGE = `usage: vmspace replay [TRACE] [--check] [--predict] [--format linux|procstat|json] [--paranoid]

  TRACE        a trace folder (strace.log or ops.jsonl, maps/ snapshots) or a bare strace log;
               default: the bundled trace (sh -c 'seq | sort | uniq | awk | cat', Linux 6.18)
  --check      compare each final space with maps/<pid>.final.maps page by page; exit 1 on a mismatch
  --predict    place non-fixed mappings with Linux's policy and report how many kernel
               addresses it reproduced (the replay then follows the kernel's address)
  --format F   final maps as linux (/proc/PID/maps), procstat (FreeBSD procstat -v) or json
  --paranoid   audit every structure after every operation
`;

/** The bundled trace: traces/sh_pipeline of the package (from cli/ or from dist/cli/). */
export function bundledTrace(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ["..", "../.."]) {
    const p = resolve(here, up, "traces", "sh_pipeline");
    if (existsSync(p)) return p;
  }
  return resolve(here, "..", "traces", "sh_pipeline");
}

interface Args {
  trace: string | null;
  check: boolean;
  predict: boolean;
  paranoid: boolean;
  format: "linux" | "procstat" | "json";
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { trace: null, check: false, predict: false, paranoid: false, format: "linux" };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === "--check") a.check = true;
    else if (s === "--predict") a.predict = true;
    else if (s === "--paranoid") a.paranoid = true;
    else if (s === "--format" || s.startsWith("--format=")) {
      const v = s === "--format" ? argv[++i] : s.slice("--format=".length);
      if (v !== "linux" && v !== "procstat" && v !== "json")
        return `--format takes linux, procstat or json (got '${v ?? ""}')`;
      a.format = v;
    } else if (s.startsWith("-")) return `unknown option '${s}'`;
    else if (a.trace === null) a.trace = s;
    else return `one trace at a time ('${a.trace}' and '${s}')`;
  }
  return a;
}

/** Runs `vmspace replay` with `argv` (after the word "replay"); returns the exit status. */
export function runReplay(argv: string[], io: Io): number {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    io.err(`vmspace replay: ${args}\n${REPLAY_USAGE}`);
    return 2;
  }
  const path = args.trace ?? bundledTrace();
  let trace: LoadedTrace;
  try {
    trace = loadTrace(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    io.err(`vmspace replay: cannot read '${path}'${code ? ` (${code})` : ""}\n`);
    return 2;
  }
  for (const m of trace.malformed.slice(0, 20))
    io.err(`${trace.source}:${m.line}: cannot read: ${m.text}\n`);
  if (trace.malformed.length > 20)
    io.err(`... and ${trace.malformed.length - 20} more unreadable lines\n`);
  if (trace.ops.length === 0) {
    io.err(`vmspace replay: no system calls to replay in '${trace.source}'\n`);
    return 1;
  }
  const readMaps = (name: string): string | null => {
    try {
      return readFileSync(join(trace.dir, name), "utf8");
    } catch {
      return null;
    }
  };
  let shown = false;
  const progress =
    io.tty && trace.ops.length >= 5000
      ? (done: number, total: number) => {
          io.err(`\rreplaying ${done}/${total}`);
          shown = true;
        }
      : undefined;
  let result: ReplayResult;
  try {
    result = replay(trace.ops, {
      predict: args.predict,
      paranoid: args.paranoid,
      readMaps,
      progress,
    });
  } catch (e) {
    if (shown) io.err("\n");
    io.err(`vmspace replay: ${(e as Error).message}\n`);
    return 1;
  }
  if (shown) io.err("\r\x1b[K");
  if (args.format === "json") io.out(`${JSON.stringify(jsonOf(trace, result, args), null, 2)}\n`);
  else printText(io, trace, result, args);
  let status = trace.malformed.length > 0 || result.divergences.length > 0 ? 1 : 0;
  if (args.check && result.spaces.some((s) => s.verdict !== null && !s.verdict.ok)) status = 1;
  return status;
}

function describe(s: ReplaySpace): string {
  return `${s.id} pid ${s.pids.join(",") || "-"} ${s.path}`;
}

function printText(io: Io, trace: LoadedTrace, r: ReplayResult, args: Args): void {
  const unknown = Object.values(trace.unknown).reduce((a, b) => a + b, 0);
  io.out(
    `replay ${trace.source}: ${trace.ops.length} operations (${r.applied} applied, ${r.skipped} in spaces without an exec snapshot), ${unknown} other system calls, ${trace.malformed.length} unreadable lines\n`,
  );
  for (const s of r.spaces) {
    const pages = s.maps.reduce((n, m) => n + (m.end - m.start) / 4096, 0);
    io.out(
      `\n== ${describe(s)}: ${s.ops} calls, ${s.maps.length} entries, ${pages} pages mapped\n`,
    );
    io.out(args.format === "procstat" ? s.procstatMaps : s.linuxMaps);
  }
  const st = r.stats;
  io.out(
    `\nsystem: ${st.objects.shadowsCreated} shadow objects created, ${st.faults.faults} faults, ${st.tlbInvalidations} TLB invalidations, ${st.frames.total - st.frames.free} frames in use at the end\n`,
  );
  if (args.predict)
    io.out(`placement: ${r.placement.hits} of ${r.placement.total} kernel addresses reproduced\n`);
  for (const m of r.placement.misses.slice(0, 10)) io.out(`  miss ${m}\n`);
  for (const d of r.divergences.slice(0, 20)) io.out(`diverged: ${d}\n`);
  if (r.divergences.length > 20) io.out(`... and ${r.divergences.length - 20} more divergences\n`);
  for (const u of r.unverifiable.slice(0, 20)) io.out(`not replayed: ${u}\n`);
  if (r.unverifiable.length > 20)
    io.out(`... and ${r.unverifiable.length - 20} more calls not replayed\n`);
  if (args.check) {
    io.out("\n");
    for (const s of r.spaces) {
      const v = s.verdict;
      if (v === null) {
        io.out(`check ${describe(s)}: no final snapshot\n`);
        continue;
      }
      io.out(
        v.ok
          ? `check ${describe(s)}: match (${v.pages} pages)\n`
          : `check ${describe(s)}: MISMATCH (${v.differenceCount} of ${v.pages} pages differ)\n`,
      );
      for (const d of v.differences) io.out(`  ${d}\n`);
    }
  }
}

function jsonOf(trace: LoadedTrace, r: ReplayResult, args: Args): unknown {
  return {
    source: trace.source,
    operations: trace.ops.length,
    applied: r.applied,
    skipped: r.skipped,
    unknown: trace.unknown,
    malformed: trace.malformed,
    spaces: r.spaces.map((s) => ({
      id: s.id,
      pids: s.pids,
      path: s.path,
      calls: s.ops,
      verdict: args.check ? s.verdict : undefined,
      maps: s.maps,
    })),
    placement: args.predict ? r.placement : undefined,
    divergences: r.divergences,
    unverifiable: r.unverifiable,
    stats: r.stats,
  };
}
