/**
 * The trace parser of `vmspace replay` (cli/trace.ts).
 *
 * The main test reads the three real traces (gcc, CPython, a dash pipeline) and requires that
 * parsing the raw strace.log (plus the list of maps/ files) gives, op by op, exactly what the
 * recorder wrote in ops.jsonl: same order, seq, pids, address-space ids, arguments, results and
 * snapshot names (`line` differs by nature: it is a line of each file). The recorder's summary.json
 * is a third witness for op counts and the number of address spaces. No disagreement between
 * strace.log and ops.jsonl was found; ops.jsonl only carries more (ts, the clone flags word, the
 * parsed initial maps), which TraceOp does not keep.
 *
 * The traces are read from the repository's traces/ (or $VMSPACE_TRACES); the test fails, rather than skips, when none is there.
 *
 * The other tests feed small inline logs through every corner of strace's format.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  LOCAL_NAMES,
  loadTrace,
  loadTraceDir,
  type ParsedTrace,
  parseOpsJsonl,
  parseStrace,
  parseTraceNumber,
  type TraceOp,
} from "../cli/trace.js";
import { linux as L } from "../src/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const TRACE_DIRS = [process.env.VMSPACE_TRACES, join(ROOT, "traces")].filter(
  (d): d is string => d !== undefined && d !== "",
);
const TRACES = TRACE_DIRS.find((d) => existsSync(join(d, "sh_pipeline", "strace.log")));
const NAMES = ["gcc_compile", "py_alloc", "sh_pipeline"] as const;

function traceDir(name: string): string {
  if (TRACES === undefined) throw new Error(`real traces not found in ${TRACE_DIRS.join(", ")}`);
  return join(TRACES, name);
}

/** The op without where the log had it (ops.jsonl has neither field). */
function withoutLine(op: TraceOp): Omit<TraceOp, "line" | "entered"> {
  const { line: _, entered: __, ...rest } = op;
  return rest;
}

/** Parses a log, expecting no malformed line. */
function ok(text: string, maps?: readonly string[]): ParsedTrace {
  const t = parseStrace(text, maps);
  expect(t.malformed).toEqual([]);
  return t;
}

describe("the real traces: strace.log parses to exactly ops.jsonl", () => {
  for (const name of NAMES) {
    describe(name, () => {
      const load = () => {
        const dir = traceDir(name);
        const maps = readdirSync(join(dir, "maps")).map((f) => `maps/${f}`);
        const log = readFileSync(join(dir, "strace.log"), "utf8");
        return {
          dir,
          log,
          s: parseStrace(log, maps),
          j: parseOpsJsonl(readFileSync(join(dir, "ops.jsonl"), "utf8")),
          summary: JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as {
            n_ops: number;
            n_address_spaces: number;
            op_counts: Record<string, number>;
          },
        };
      };

      it("every op equals the recorder's, field by field, except its lines in the log", () => {
        const { s, j } = load();
        expect(s.format).toBe("strace");
        expect(j.format).toBe("jsonl");
        expect(s.malformed).toEqual([]);
        expect(j.malformed).toEqual([]);
        expect(j.unknown).toEqual({});
        expect(s.ops.length).toBe(j.ops.length);
        for (let i = 0; i < j.ops.length; i++)
          expect(withoutLine(s.ops[i]!)).toEqual(withoutLine(j.ops[i]!));
      });

      it("agrees with summary.json on op counts and address spaces", () => {
        const { s, summary } = load();
        expect(s.ops.length).toBe(summary.n_ops);
        const counts: Record<string, number> = {};
        for (const op of s.ops) counts[op.op] = (counts[op.op] ?? 0) + 1;
        expect(counts).toEqual(summary.op_counts);
        const spaces = new Set<string>();
        for (const op of s.ops) {
          spaces.add(op.as);
          if (op.op === "exec" && op.oldAs !== null) spaces.add(op.oldAs);
          if (op.op === "fork") spaces.add(op.parentAs);
        }
        expect(spaces.size).toBe(summary.n_address_spaces);
      });

      it("numbers seq in order and sorts ops by line", () => {
        const { s } = load();
        expect(s.ops.map((op) => op.seq)).toEqual(s.ops.map((_, i) => i));
        for (let i = 1; i < s.ops.length; i++)
          expect(s.ops[i]!.line).toBeGreaterThan(s.ops[i - 1]!.line);
      });
    });
  }

  it("gcc_compile: vfork children share the space until exec; wait4 is unknown", () => {
    const dir = traceDir("gcc_compile");
    const t = loadTraceDir(dir);
    expect(t.source).toBe(join(dir, "strace.log"));
    expect(t.mapsFiles).toContain("maps/5223.exec0.maps");
    expect(t.unknown).toEqual({ wait4: 4 });
    const execs = t.ops.filter((o) => o.op === "exec");
    expect(execs.map((o) => [o.pid, o.as, o.oldAs, o.initialMapsFile])).toEqual([
      [5222, "as1", "as0", null],
      [5222, "as2", "as1", "maps/5222.exec0.maps"],
      [5223, "as3", "as2", "maps/5223.exec0.maps"],
      [5224, "as4", "as2", "maps/5224.exec0.maps"],
      [5231, "as5", "as2", "maps/5231.exec0.maps"],
      [5232, "as6", "as5", "maps/5232.exec0.maps"],
    ]);
    const fork = t.ops.find((o) => o.op === "fork" && o.child === 5232);
    expect(fork).toMatchObject({
      pid: 5231,
      as: "as5",
      parentAs: "as5",
      shareVm: true,
      syscall: "vfork",
    });
    // The vfork's entry line, not its `<... vfork resumed>` line.
    const lines = readFileSync(join(dir, "strace.log"), "utf8").split("\n");
    expect(fork!.line).toBe(lines.indexOf("5231  03:20:09.130953 vfork( <unfinished ...>") + 1);
  });

  it("sh_pipeline: forks sit at the clone's entry line, before an exec that completes earlier", () => {
    const dir = traceDir("sh_pipeline");
    const t = loadTrace(join(dir, "strace.log"));
    expect(t.mapsFiles).toHaveLength(12);
    expect(t.unknown).toEqual({ wait4: 6 });
    const lines = readFileSync(join(dir, "strace.log"), "utf8").split("\n");
    const entry = lines.findIndex((l) => l.startsWith("5712  03:20:40.294810 clone(")) + 1;
    const resumed =
      lines.findIndex((l) => l.startsWith("5712  03:20:40.294988 <... clone resumed>")) + 1;
    const execDone = lines.findIndex((l) => l.startsWith("5720  03:20:40.294959 <... execve")) + 1;
    expect(entry).toBeLessThan(execDone);
    expect(execDone).toBeLessThan(resumed);
    expect(t.ops[46]).toEqual({
      op: "fork",
      seq: 46,
      pid: 5712,
      as: "as4",
      line: entry,
      child: 5721,
      parentAs: "as2",
      shareVm: false,
      syscall: "clone",
    });
    expect(t.ops[47]).toMatchObject({
      op: "exec",
      pid: 5720,
      as: "as5",
      oldAs: "as3",
      line: execDone,
    });
    // The 15 failed execve() of the PATH search are not execs.
    expect(t.ops.filter((o) => o.op === "exec")).toHaveLength(7);
    const exits = t.ops.filter((o) => o.op === "exit" && o.pid === 5712);
    expect(exits).toMatchObject([
      { how: "exit_group", code: 0, as: "as2", finalMapsFile: "maps/5712.final.maps" },
      { how: "exited", code: 0, as: "as2", finalMapsFile: null },
    ]);
  });

  it("py_alloc: mremap ops and ops.jsonl read through loadTrace", () => {
    const dir = traceDir("py_alloc");
    const j = loadTrace(join(dir, "ops.jsonl"));
    expect(j.format).toBe("jsonl");
    const first = j.ops.find((o) => o.op === "mremap");
    expect(first).toEqual({
      op: "mremap",
      seq: 281,
      pid: 5064,
      as: "as2",
      line: 282,
      oldAddr: 0x7f73f77a5000,
      oldSize: 8183808,
      newSize: 8695808,
      flags: L.MREMAP_MAYMOVE,
      newAddr: null,
      result: 0x7f73f6f5a000,
      errno: null,
    });
  });
});

describe("strace: joining unfinished and resumed halves", () => {
  const log = [
    "100  00:00:01.000001 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>",
    "101  00:00:01.000002 munmap(0x7f0000010000, 4096 <unfinished ...>",
    "100  00:00:01.000003 <... mmap resumed>) = 0x7f0000020000",
    "102  00:00:01.000004 mprotect(0x7f0000030000, <unfinished ...>",
    "101  00:00:01.000005 <... munmap resumed>) = 0",
    "100  00:00:01.000006 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>",
    "102  00:00:01.000007 <... mprotect resumed>4096, PROT_NONE) = 0",
    "103  00:00:01.000008 brk(NULL <unfinished ...>",
    "100  00:00:01.000009 <... clone resumed>, child_tidptr=0x7f00000a10) = 103",
    "103  00:00:01.000010 <... brk resumed>) = 0x5555555000",
  ].join("\n");

  it("joins each pid's halves, whatever lies between, in completion order", () => {
    const t = ok(log);
    expect(t.ops.map((o) => [o.op, o.pid, o.line])).toEqual([
      ["mmap", 100, 3],
      ["munmap", 101, 5],
      ["fork", 100, 6], // at the clone's entry line
      ["mprotect", 102, 7],
      ["brk", 103, 10],
    ]);
    expect(t.ops[0]).toMatchObject({
      addr: 0,
      length: 8192,
      prot: 3,
      flags: 0x22,
      fd: -1,
      offset: 0,
      result: 0x7f0000020000,
      errno: null,
    });
    expect(t.ops[1]).toMatchObject({ addr: 0x7f0000010000, length: 4096, result: 0 });
    expect(t.ops[3]).toMatchObject({ addr: 0x7f0000030000, length: 4096, prot: 0, result: 0 });
    expect(t.ops[4]).toMatchObject({ addr: 0, result: 0x5555555000 });
  });

  it("gives ids: the first pid has as0, unknown pids a new one, a forked child a copy", () => {
    const t = ok(log);
    expect(t.ops.map((o) => o.as)).toEqual(["as0", "as1", "as2", "as3", "as2"]);
    expect(t.ops[2]).toMatchObject({
      child: 103,
      parentAs: "as0",
      shareVm: false,
      syscall: "clone",
    });
    expect(t.ops.map((o) => o.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it("reports a resumed half without its first half, and a half of another call", () => {
    const t = parseStrace(
      [
        "7 <... mmap resumed>) = 0x1000",
        "7 munmap(0x1000, 4096 <unfinished ...>",
        "7 <... mprotect resumed>) = 0",
        "7 <... munmap resumed>) = 0",
      ].join("\n"),
    );
    expect(t.malformed).toEqual([
      { line: 1, text: "7 <... mmap resumed>) = 0x1000" },
      { line: 3, text: "7 <... mprotect resumed>) = 0" },
    ]);
    expect(t.ops).toMatchObject([{ op: "munmap", addr: 0x1000, length: 4096, line: 4 }]);
  });
});

describe("strace: processes and address spaces", () => {
  it("clone3 with CLONE_VM makes a thread that shares the space", () => {
    const t = ok(
      [
        '50 execve("/bin/app", ["app"], 0x7ffd /* 3 vars */) = 0',
        "50 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f1e0f5ff910, parent_tid=0x7f1e0f5ff910, exit_signal=0, stack=0x7f1e0edff000, stack_size=0x7fff00, tls=0x7f1e0f5ff640} => {parent_tid=[51]}, 88) = 51",
        "51 mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f1e06dff000",
        "51 exit(0) = ?",
        "51 +++ exited with 0 +++",
        "50 clone3({flags=CLONE_FS|CLONE_FILES, exit_signal=SIGCHLD, stack=NULL, stack_size=0} <unfinished ...>",
        "50 <... clone3 resumed> => {parent_tid=[0]}, 88) = 52",
        "52 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1e06dfe000",
      ].join("\n"),
    );
    expect(t.ops.map((o) => [o.op, o.pid, o.as])).toEqual([
      ["exec", 50, "as1"],
      ["fork", 50, "as1"],
      ["mmap", 51, "as1"],
      ["exit", 51, "as1"],
      ["exit", 51, "as1"],
      ["fork", 50, "as2"],
      ["mmap", 52, "as2"],
    ]);
    expect(t.ops[1]).toMatchObject({
      child: 51,
      parentAs: "as1",
      shareVm: true,
      syscall: "clone3",
    });
    expect(t.ops[2]).toMatchObject({ flags: L.MAP_PRIVATE | L.MAP_ANONYMOUS | L.MAP_NORESERVE });
    expect(t.ops[3]).toMatchObject({ how: "exit", code: 0, finalMapsFile: null });
    expect(t.ops[4]).toMatchObject({ how: "exited", code: 0 });
    expect(t.ops[5]).toMatchObject({
      child: 52,
      parentAs: "as1",
      shareVm: false,
      syscall: "clone3",
    });
  });

  it("clone with numeric flags holding CLONE_VM (0x100) shares the space; fork() does not", () => {
    const t = ok(
      [
        "1 clone(child_stack=0x7f00, flags=0x3d0f00, parent_tid=[2]) = 2",
        "1 fork() = 3",
        "1 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)",
        "1 clone(child_stack=NULL, flags=SIGCHLD) = ? ERESTARTNOINTR (To be restarted)",
      ].join("\n"),
    );
    expect(
      t.ops.map((o) => (o.op === "fork" ? [o.child, o.as, o.shareVm, o.syscall] : null)),
    ).toEqual([
      [2, "as0", true, "clone"],
      [3, "as1", false, "fork"],
    ]);
  });

  it("execs: a failed one is not an exec; snapshots are numbered per pid after the run's first exec", () => {
    const maps = [
      "maps/9.exec0.maps",
      "maps/9.exec1.maps",
      "maps/10.exec0.maps",
      "maps/9.final.maps",
    ];
    const t = ok(
      [
        '9 execve("/usr/bin/env", ["env", "x"], 0x7ffc /* 38 vars */) = 0',
        '9 execve("/no/x", ["x"], 0x7ffd /* 38 vars */) = -1 ENOENT (No such file or directory) (DELAYED)',
        '9 execve("/bin/x", ["x"], 0x7ffd /* 38 vars */) = 0 (DELAYED)',
        "9 vfork( <unfinished ...>",
        '10 execve("/bin/a \\"quoted\\"\\tname", ["a"], 0x7ffd /* 38 vars */ <unfinished ...>',
        "9 <... vfork resumed>) = 10",
        "10 <... execve resumed>) = 0 (DELAYED)",
        '9 execveat(AT_FDCWD, "/bin/y", ["y"], 0x7ffd /* 38 vars */, 0) = 0 (DELAYED)',
        '9 execve("/bin/z", ["z"], 0x7ffd /* 38 vars */) = 0 (DELAYED)',
        "9 exit_group(3) = ?",
        "9 +++ exited with 3 +++",
      ].join("\n"),
      maps,
    );
    expect(
      t.ops.map((o) =>
        o.op === "exec" ? [o.pid, o.path, o.as, o.oldAs, o.initialMapsFile] : o.op,
      ),
    ).toEqual([
      [9, "/usr/bin/env", "as1", "as0", null],
      [9, "/bin/x", "as2", "as1", "maps/9.exec0.maps"],
      "fork",
      [10, '/bin/a "quoted"\tname', "as3", "as2", "maps/10.exec0.maps"],
      [9, "/bin/y", "as4", "as2", "maps/9.exec1.maps"],
      [9, "/bin/z", "as5", "as4", null], // 9.exec2.maps is not in the list
      "exit",
      "exit",
    ]);
    expect(t.ops[2]).toMatchObject({ as: "as2", parentAs: "as2", shareVm: true, syscall: "vfork" });
    expect(t.ops.slice(6)).toMatchObject([
      { how: "exit_group", code: 3, as: "as5", finalMapsFile: "maps/9.final.maps" },
      { how: "exited", code: 3, as: "as5", finalMapsFile: null },
    ]);
  });

  it("+++ killed by SIGKILL +++ ends a process; a call it was inside of is lost", () => {
    const t = parseStrace(
      [
        "20 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>",
        "20 +++ killed by SIGKILL +++",
        "21 +++ killed by SIGSEGV (core dumped) +++",
      ].join("\n"),
    );
    expect(t.ops).toEqual([
      {
        op: "exit",
        seq: 0,
        pid: 20,
        as: "as0",
        line: 2,
        how: "killed",
        code: 9,
        finalMapsFile: null,
      },
      {
        op: "exit",
        seq: 1,
        pid: 21,
        as: "as1",
        line: 3,
        how: "killed",
        code: 11,
        finalMapsFile: null,
      },
    ]);
    expect(t.malformed).toEqual([
      {
        line: 1,
        text: "20 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>",
      },
    ]);
  });

  it("an exit_group that never resumes is still an exit, at its entry line", () => {
    const t = ok(["30 exit_group(1 <unfinished ...>", "30 +++ exited with 1 +++"].join("\n"));
    expect(t.ops).toMatchObject([
      { op: "exit", how: "exit_group", code: 1, line: 1 },
      { op: "exit", how: "exited", code: 1, line: 2 },
    ]);
  });

  it("--- SIGSEGV {...} --- is skipped: no op, no unknown, not malformed", () => {
    const t = ok(
      [
        "40 mprotect(0x7f0000000000, 4096, PROT_NONE) = 0",
        "40 --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x7f0000000010} ---",
        "40 +++ killed by SIGSEGV +++",
      ].join("\n"),
    );
    expect(t.ops.map((o) => [o.op, o.line])).toEqual([
      ["mprotect", 1],
      ["exit", 3],
    ]);
    expect(t.unknown).toEqual({});
  });
});

describe("strace: line prefixes", () => {
  it("a log without pid prefixes (no -f) is pid 1", () => {
    const t = ok(
      [
        "brk(NULL)                               = 0x55d000",
        "12:00:00.000001 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3, 0) = 0x7f0000000000",
        "1700000000.123456 munmap(0x7f0000000000, 4096) = 0",
      ].join("\n"),
    );
    expect(t.ops.map((o) => [o.op, o.pid, o.as])).toEqual([
      ["brk", 1, "as0"],
      ["mmap", 1, "as0"],
      ["munmap", 1, "as0"],
    ]);
  });

  it("unprefixed lines of a `[pid N]` log belong to the pid that no fork created", () => {
    const t = ok(
      [
        "brk(NULL) = 0x1000",
        "clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00) = 778",
        "[pid   778] brk(NULL) = 0x2000",
        "[pid   777] brk(NULL) = 0x1000",
        "brk(0x3000) = 0x3000",
      ].join("\n"),
    );
    expect(t.ops.map((o) => [o.op, o.pid, o.as])).toEqual([
      ["brk", 777, "as0"],
      ["fork", 777, "as1"],
      ["brk", 778, "as1"],
      ["brk", 777, "as0"],
      ["brk", 777, "as0"],
    ]);
  });

  it("-T durations, -y descriptor paths and CRLF endings are tolerated", () => {
    const t = ok(
      "5 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</usr/lib/libc.so.6>, 0) = 0x7f0000000000 <0.000012>\r\n",
    );
    expect(t.ops).toMatchObject([{ op: "mmap", fd: 3, result: 0x7f0000000000 }]);
  });
});

describe("strace: arguments and results", () => {
  it("a failed mmap is an op with result -1 and its errno", () => {
    const t = ok(
      "3 mmap(NULL, 1099511627776, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)",
    );
    expect(t.ops).toEqual([
      {
        op: "mmap",
        seq: 0,
        pid: 3,
        as: "as0",
        line: 1,
        addr: 0,
        length: 2 ** 40,
        prot: 3,
        flags: 0x22,
        fd: -1,
        offset: 0,
        result: -1,
        errno: "ENOMEM",
      },
    ]);
  });

  it("numeric and mixed flag words", () => {
    const t = ok(
      [
        "3 mmap(0x10000, 4096, 0x7, MAP_PRIVATE|0x40000, -1, 0x1000) = 0x10000",
        "3 mmap(NULL, 4096, PROT_READ, 0x1000, 3, 0) = 0x20000",
        "3 mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB, -1, 0) = 0x200000",
        "3 mmap(NULL, 4096, PROT_READ, MAP_SHARED|0x100000000, 3, 0) = 0x30000",
        "3 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_HUGETLB|30<<MAP_HUGE_SHIFT, -1, 0) = 0x40000000",
        "3 mmap(NULL, 8388608, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK|MAP_DENYWRITE|MAP_GROWSDOWN, -1, 0) = 0x40000",
      ].join("\n"),
    );
    expect(t.ops.map((o) => (o.op === "mmap" ? [o.prot, o.flags, o.offset] : null))).toEqual([
      [7, 0x40002, 0x1000],
      [1, 0x1000, 0],
      [3, 0x22 | 0x40000 | (21 * 2 ** 26), 0],
      [1, 2 ** 32 + 1, 0],
      [1, 0x2 | 0x40000 | (30 * 2 ** 26), 0],
      [0, 0x2 | 0x20 | 0x20000 | 0x800 | 0x100, 0],
    ]);
  });

  it("munmap, mprotect, madvise, mremap (4 and 5 arguments) and brk", () => {
    const t = ok(
      [
        "3 munmap(0x7f0000000000, 8192) = -1 EINVAL (Invalid argument)",
        "3 mprotect(0x7f0000000000, 4096, PROT_READ|PROT_EXEC) = 0",
        "3 madvise(0x7f0000000000, 4096, MADV_DONTFORK) = 0",
        "3 madvise(0x7f0000000000, 4096, MADV_GUARD_INSTALL) = 0",
        "3 madvise(0x7f0000000000, 4096, 0x65 /* MADV_??? */) = -1 EINVAL (Invalid argument)",
        "3 mremap(0x7f0000000000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f0000100000) = 0x7f0000100000",
        "3 mremap(0x7f0000100000, 8192, 4096, 0) = 0x7f0000100000",
        "3 brk(0x5555556000)                      = 0x5555555000",
      ].join("\n"),
    );
    expect(t.ops.map((o) => withoutLine(o))).toEqual([
      {
        op: "munmap",
        seq: 0,
        pid: 3,
        as: "as0",
        addr: 0x7f0000000000,
        length: 8192,
        result: -1,
        errno: "EINVAL",
      },
      {
        op: "mprotect",
        seq: 1,
        pid: 3,
        as: "as0",
        addr: 0x7f0000000000,
        length: 4096,
        prot: 5,
        result: 0,
        errno: null,
      },
      {
        op: "madvise",
        seq: 2,
        pid: 3,
        as: "as0",
        addr: 0x7f0000000000,
        length: 4096,
        advice: 10,
        result: 0,
        errno: null,
      },
      {
        op: "madvise",
        seq: 3,
        pid: 3,
        as: "as0",
        addr: 0x7f0000000000,
        length: 4096,
        advice: 102,
        result: 0,
        errno: null,
      },
      {
        op: "madvise",
        seq: 4,
        pid: 3,
        as: "as0",
        addr: 0x7f0000000000,
        length: 4096,
        advice: 101,
        result: -1,
        errno: "EINVAL",
      },
      {
        op: "mremap",
        seq: 5,
        pid: 3,
        as: "as0",
        oldAddr: 0x7f0000000000,
        oldSize: 4096,
        newSize: 8192,
        flags: 3,
        newAddr: 0x7f0000100000,
        result: 0x7f0000100000,
        errno: null,
      },
      {
        op: "mremap",
        seq: 6,
        pid: 3,
        as: "as0",
        oldAddr: 0x7f0000100000,
        oldSize: 8192,
        newSize: 4096,
        flags: 0,
        newAddr: null,
        result: 0x7f0000100000,
        errno: null,
      },
      { op: "brk", seq: 7, pid: 3, as: "as0", addr: 0x5555556000, result: 0x5555555000 },
    ]);
  });

  it("numbers: exact below 2^53, never a safe integer above", () => {
    expect(parseTraceNumber("0x7fffffffffff")).toBe(2 ** 47 - 1);
    expect(parseTraceNumber("0x1fffffffffffff")).toBe(2 ** 53 - 1);
    expect(parseTraceNumber("9007199254740991")).toBe(2 ** 53 - 1);
    expect(parseTraceNumber("NULL")).toBe(0);
    expect(parseTraceNumber("-1")).toBe(-1);
    expect(parseTraceNumber("0xffffffffffffffff")).toBe(2 ** 64);
    expect(Number.isSafeInteger(parseTraceNumber("0xffffffffff600000"))).toBe(false);
    expect(parseTraceNumber("18446744073709551615")).toBe(2 ** 64);
    expect(parseTraceNumber("0x")).toBeNull();
    expect(parseTraceNumber("12ab")).toBeNull();
    const t = ok("3 munmap(0xffffffffff600000, 4096) = -1 EINVAL (Invalid argument)");
    expect(t.ops[0]).toMatchObject({ addr: Number(0xffffffffff600000n), result: -1 });
  });

  it("uses Linux's values from the public table, and the local table only for what it lacks", () => {
    for (const name of [
      "PROT_READ",
      "MAP_DENYWRITE",
      "MAP_STACK",
      "MAP_NORESERVE",
      "MREMAP_MAYMOVE",
      "MADV_DONTNEED",
    ])
      expect(name in L).toBe(true);
    for (const name of Object.keys(LOCAL_NAMES)) expect(name in L).toBe(false);
  });
});

describe("strace: what cannot be read", () => {
  it("counts uninteresting calls by name, also across unfinished halves", () => {
    const t = ok(
      [
        "1 arch_prctl(ARCH_SET_FS, 0x7f0000000740) = 0",
        "1 wait4(-1,  <unfinished ...>",
        "2 mincore(0x7f0000000000, 4096, [1]) = 0",
        "1 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 2",
        "1 wait4(-1, 0x7ffc1d1c209c, WNOHANG, NULL) = -1 ECHILD (No child processes)",
        "1 brk(NULL) = 0x1000",
      ].join("\n"),
    );
    expect(t.unknown).toEqual({ arch_prctl: 1, wait4: 2, mincore: 1 });
    expect(t.ops.map((o) => o.op)).toEqual(["brk"]);
  });

  it("reads mseal, also as strace 6.1 prints it (syscall_0x1ce), split across lines too", () => {
    const t = ok(
      [
        "1 mseal(0x7f0000001000, 8192, 0) = 0",
        "1 syscall_0x1ce(0x7f0000003000, 0x1000, 0x1, 0xffffffff, 0, 0) = -1 EINVAL (Invalid argument)",
        "1 syscall_0x1ce(0x7f0000005000, 0x1000, 0, 0, 0, 0 <unfinished ...>",
        "2 brk(NULL) = 0x1000",
        "1 <... syscall_0x1ce resumed>) = 0",
      ].join("\n"),
    );
    expect(t.unknown).toEqual({});
    expect(t.ops.filter((o) => o.op === "mseal")).toEqual([
      {
        op: "mseal",
        pid: 1,
        as: "as0",
        seq: 0,
        line: 1,
        addr: 0x7f0000001000,
        length: 8192,
        flags: 0,
        result: 0,
        errno: null,
      },
      {
        op: "mseal",
        pid: 1,
        as: "as0",
        seq: 1,
        line: 2,
        addr: 0x7f0000003000,
        length: 4096,
        flags: 1,
        result: -1,
        errno: "EINVAL",
      },
      {
        op: "mseal",
        pid: 1,
        as: "as0",
        seq: 3,
        line: 5,
        entered: 3,
        addr: 0x7f0000005000,
        length: 4096,
        flags: 0,
        result: 0,
        errno: null,
      },
    ]);
  });

  it("reads mlock, mlock2, munlock, mlockall and munlockall, failed ones too", () => {
    const t = ok(
      [
        "1 mlock(0x7f0000001000, 8192) = 0",
        "1 mlock2(0x7f0000003000, 4096, MLOCK_ONFAULT) = -1 ENOMEM (Cannot allocate memory)",
        "1 munlock(0x7f0000001000, 4096) = 0",
        "1 mlockall(MCL_CURRENT|MCL_FUTURE) = 0",
        "1 munlockall()      = 0",
      ].join("\n"),
    );
    expect(t.unknown).toEqual({});
    const base = { op: "mlock", pid: 1, as: "as0" };
    expect(t.ops).toEqual([
      {
        ...base,
        seq: 0,
        line: 1,
        syscall: "mlock",
        addr: 0x7f0000001000,
        length: 8192,
        flags: 0,
        result: 0,
        errno: null,
      },
      {
        ...base,
        seq: 1,
        line: 2,
        syscall: "mlock2",
        addr: 0x7f0000003000,
        length: 4096,
        flags: 1,
        result: -1,
        errno: "ENOMEM",
      },
      {
        ...base,
        seq: 2,
        line: 3,
        syscall: "munlock",
        addr: 0x7f0000001000,
        length: 4096,
        flags: 0,
        result: 0,
        errno: null,
      },
      {
        ...base,
        seq: 3,
        line: 4,
        syscall: "mlockall",
        addr: 0,
        length: 0,
        flags: 3,
        result: 0,
        errno: null,
      },
      {
        ...base,
        seq: 4,
        line: 5,
        syscall: "munlockall",
        addr: 0,
        length: 0,
        flags: 0,
        result: 0,
        errno: null,
      },
    ]);
    expect(parseStrace("1 mlockall(MCL_BOGUS) = 0\n1 munlockall(5) = 0\n").malformed).toHaveLength(
      2,
    );
  });

  it("garbage, truncated calls, bad numbers and unknown names are reported and skipped", () => {
    const t = parseStrace(
      [
        "1 brk(NULL) = 0x1000",
        "this is not strace",
        "1 mmap(NULL, 8192, PROT_READ",
        "1 munmap(0xzz, 4096) = 0",
        "1 mmap(NULL, 4096, PROT_READ|PROT_BOGUS, MAP_PRIVATE, 3, 0) = 0x2000",
        "1 mprotect(0x2000, 4096, MAP_SHARED) = 0",
        "1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3) = 0x2000",
        "1 munmap(0x2000, 4096) =",
        "1 munmap(0x2000, 4096) = ?",
        "1 --- SIGSEGV {si_signo=SIGSEGV",
        "1 +++ exited with +++",
        "1 brk(0x2000) = 0x2000",
      ].join("\n"),
    );
    expect(t.malformed.map((m) => m.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(t.malformed[1]).toEqual({ line: 3, text: "1 mmap(NULL, 8192, PROT_READ" });
    expect(t.ops.map((o) => [o.op, o.seq, o.line])).toEqual([
      ["brk", 0, 1],
      ["brk", 1, 12],
    ]);
    expect(t.unknown).toEqual({});
  });

  it("an empty input gives no ops and no error", () => {
    for (const text of ["", "\n", "\n\n  \n"]) {
      expect(parseStrace(text)).toEqual({ ops: [], unknown: {}, malformed: [], format: "strace" });
      expect(parseOpsJsonl(text)).toEqual({ ops: [], unknown: {}, malformed: [], format: "jsonl" });
    }
  });

  it("a truncated last line is reported; a call still unfinished at the end is lost", () => {
    const cut = parseStrace("1 brk(NULL) = 0x1000\n1 mmap(NULL, 4096, PROT_READ, MAP_PRIV");
    expect(cut.ops).toHaveLength(1);
    expect(cut.malformed).toEqual([{ line: 2, text: "1 mmap(NULL, 4096, PROT_READ, MAP_PRIV" }]);
    const open = parseStrace("1 brk(NULL) = 0x1000\n2 munmap(0x1000, 4096 <unfinished ...>\n");
    expect(open.ops).toHaveLength(1);
    expect(open.malformed).toEqual([{ line: 2, text: "2 munmap(0x1000, 4096 <unfinished ...>" }]);
  });
});

describe("ops.jsonl", () => {
  it("reads the documented fields and reports bad lines", () => {
    const t = parseOpsJsonl(
      [
        '{"op": "mmap", "seq": 0, "pid": 4, "as": "as1", "addr": "0x0", "length": "0x1000", "prot": "PROT_READ", "flags": "MAP_PRIVATE|MAP_ANONYMOUS", "fd": -1, "offset": "0x0", "result": "-1", "errno": "ENOMEM"}',
        "{not json",
        '{"op": "munmap", "seq": 1, "pid": 4, "as": "as1", "addr": "0x1000"}',
        '{"op": "mincore", "seq": 2, "pid": 4, "as": "as1"}',
        '{"op": "madvise", "seq": 3, "pid": 4, "as": "as1", "addr": "0x1000", "length": "0x1000", "advice": "MADV_DONTNEED", "result": "0x0"}',
      ].join("\n"),
    );
    expect(t.malformed.map((m) => m.line)).toEqual([2, 3]);
    expect(t.unknown).toEqual({ mincore: 1 });
    expect(t.ops).toEqual([
      {
        op: "mmap",
        seq: 0,
        pid: 4,
        as: "as1",
        line: 1,
        addr: 0,
        length: 4096,
        prot: 1,
        flags: 0x22,
        fd: -1,
        offset: 0,
        result: -1,
        errno: "ENOMEM",
      },
      {
        op: "madvise",
        seq: 3,
        pid: 4,
        as: "as1",
        line: 5,
        addr: 4096,
        length: 4096,
        advice: 4,
        result: 0,
        errno: null,
      },
    ]);
  });
});

describe("doc comment examples", () => {
  it("parseStrace", () => {
    const t = parseStrace(
      "7 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000\n",
    );
    expect(t.ops[0]).toEqual({
      op: "mmap",
      seq: 0,
      pid: 7,
      as: "as0",
      addr: 0,
      length: 4096,
      prot: 1,
      flags: 0x22,
      fd: -1,
      offset: 0,
      result: 0x7f0000001000,
      errno: null,
      line: 1,
    });
  });

  it("parseOpsJsonl", () => {
    const t = parseOpsJsonl(
      '{"op": "brk", "seq": 0, "pid": 5, "as": "as1", "addr": "0x0", "result": "0x1000"}',
    );
    expect(t.ops).toEqual([
      { op: "brk", seq: 0, pid: 5, as: "as1", addr: 0, result: 4096, line: 1 },
    ]);
  });
});
