/**
 * `vmspace replay` on the bundled real traces (traces/, copied from the project's shared set):
 * every address space with a final snapshot must match the kernel's /proc/PID/maps page by
 * page, every call must end as the kernel's did, and with --predict Linux's placement must
 * reproduce every address the kernel chose. Golden transcripts pin the output formats
 * (UPDATE_GOLDEN=1 rewrites them); broken trace files must give a clear message and a non-zero
 * status, never a stack trace.
 */

import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { replay } from "../cli/replay.js";
import { runReplay } from "../cli/replayCommand.js";
import { loadTrace, parseStrace } from "../cli/trace.js";

const ROOT = resolve(import.meta.dirname, "..");

/** Scratch folders of this file, removed after its last test. */
const scratchDirs: string[] = [];
function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of scratchDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const TRACES = [
  "c_args",
  "c_droppable",
  "c_edges",
  "c_guard",
  "c_mremap",
  "c_mseal",
  "gcc_compile",
  "java_version",
  "node_gc",
  "py_alloc",
  "py_mmap",
  "sh_pipeline",
];
/** Spaces with a final snapshot per trace (traces/README.md). */
const CHECKED: Record<string, number> = {
  c_args: 2,
  c_droppable: 2,
  c_edges: 2,
  c_guard: 2,
  c_mremap: 1,
  c_mseal: 2,
  gcc_compile: 5,
  java_version: 1,
  node_gc: 1,
  py_alloc: 1,
  py_mmap: 1,
  sh_pipeline: 6,
};

function run(argv: string[]): { status: number; out: string; err: string } {
  let out = "";
  let err = "";
  const status = runReplay(argv, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    tty: false,
  });
  return { status, out, err };
}

function golden(name: string, text: string): void {
  const file = join(ROOT, "test", "golden", "replay", name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, "utf8"));
}

describe("vmspace replay --check on the real traces", () => {
  for (const t of TRACES) {
    it(`${t}: every space with a final snapshot matches the kernel's`, () => {
      const r = run([join(ROOT, "traces", t), "--check"]);
      const verdicts = r.out.split("\n").filter((l) => l.startsWith("check "));
      const matched = verdicts.filter((l) => / match \(\d+ pages\)$/.test(l));
      expect(matched.length).toBe(CHECKED[t]);
      expect(verdicts.filter((l) => l.includes("MISMATCH"))).toEqual([]);
      expect(r.out).not.toContain("diverged:");
      expect(r.err).toBe("");
      expect(r.status).toBe(0);
    });
  }

  it("failures the log cannot account for are listed, not replayed and not divergences", () => {
    // c_args maps a bad descriptor (EBADF: descriptors are not in the log) and calls mremap with
    // MREMAP_DONTUNMAP but no fifth argument (EINVAL from a garbage new_addr strace leaves out).
    const t = "c_args";
    const tr = loadTrace(join(ROOT, "traces", t));
    const res = replay(tr.ops, {
      readMaps: (n) => readFileSync(join(ROOT, "traces", t, n), "utf8"),
    });
    expect(res.divergences).toEqual([]);
    expect(res.unverifiable.map((u) => u.replace(/ \(.*?\)/, ""))).toEqual([
      "line 71: EBADF: the descriptor's state is not in the log",
      "line 77: EINVAL: may come from new_addr, which the log leaves out",
    ]);
    const r = run([join(ROOT, "traces", t), "--predict"]);
    expect(r.out).toContain("not replayed: line 71 (mmap, ");
    // Its MAP_32BIT mapping is not a prediction: the kernel randomizes that window's start.
    expect(tr.ops.some((o) => o.op === "mmap" && (o.flags & 0x40) !== 0)).toBe(true);
    expect(r.out).toContain("placement: 14 of 14 kernel addresses reproduced");
  });

  it("--paranoid audits after every operation and agrees", () => {
    const r = run([join(ROOT, "traces", "sh_pipeline"), "--check", "--paranoid"]);
    expect(r.status).toBe(0);
  });

  it("a space that differs from its snapshot is a MISMATCH and exit status 1", () => {
    const dir = scratch("vmspace-replay-");
    cpSync(join(ROOT, "traces", "py_alloc"), dir, { recursive: true });
    const f = join(dir, "maps", "5064.final.maps");
    // One private read-only line of the kernel's final map becomes writable.
    const text = readFileSync(f, "utf8").replace(/ r--p /, " rw-p ");
    writeFileSync(f, text);
    const r = run([dir, "--check"]);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/check as2 pid 5064 \S+: MISMATCH \(\d+ of \d+ pages differ\)/);
    expect(r.out).toMatch(/kernel rw-p, vmspace r--p/);
  });
});

describe("vmspace replay --predict", () => {
  for (const t of TRACES) {
    it(`${t}: Linux placement reproduces every kernel address`, () => {
      const tr = loadTrace(join(ROOT, "traces", t));
      const res = replay(tr.ops, {
        predict: true,
        readMaps: (n) => readFileSync(join(ROOT, "traces", t, n), "utf8"),
      });
      expect(res.placement.misses).toEqual([]);
      expect(res.placement.total).toBeGreaterThan(5);
      expect(res.placement.hits).toBe(res.placement.total);
      const r = run([join(ROOT, "traces", t), "--predict"]);
      expect(r.out).toContain(
        `placement: ${res.placement.total} of ${res.placement.total} kernel addresses reproduced`,
      );
    });
  }
});

describe("vmspace replay --predict with threads", () => {
  // Two threads of one process map 64 KiB at the same time. The kernel served the one that
  // completed second first (it got the higher address, top-down), which the log cannot show.
  const snapshot = readFileSync(
    join(ROOT, "traces", "py_alloc", "maps", "5064.exec0.maps"),
    "utf8",
  );
  const readMaps = () => snapshot;
  const MMAP = "mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0";
  const CLONE =
    "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, exit_signal=0}, 88)";
  const head = [
    '7 00:00:00.000001 execve("/usr/bin/env", ["env", "prog"], 0x7ffc0 /* 1 var */) = 0',
    '7 00:00:00.000002 execve("/usr/bin/prog", ["prog"], 0x7ffc0 /* 1 var */) = 0 (DELAYED)',
    `7 00:00:00.000003 ${CLONE} = 8`,
    `7 00:00:00.000004 ${CLONE} = 9`,
  ];
  const predict = (lines: string[]) =>
    replay(parseStrace(`${lines.join("\n")}\n`, ["maps/7.exec0.maps"]).ops, {
      predict: true,
      readMaps,
    }).placement;
  /** Where the policy puts the first 64 KiB mapping of this image. */
  const top = (() => {
    const p = predict([...head, `8 00:00:00.000005 ${MMAP}) = 0x1000`]);
    return Number(/vmspace (0x[0-9a-f]+)/.exec(p.misses[0] ?? "")?.[1]);
  })();
  const hex = (v: number) => `0x${v.toString(16)}`;

  it("calls that overlapped in time may have been served in either order", () => {
    expect(Number.isSafeInteger(top)).toBe(true);
    const lines = [
      ...head,
      `8 00:00:00.000005 ${MMAP} <unfinished ...>`,
      `9 00:00:00.000006 ${MMAP} <unfinished ...>`,
      `8 00:00:00.000007 <... mmap resumed>) = ${hex(top - 0x10000)}`,
      `9 00:00:00.000008 <... mmap resumed>) = ${hex(top)}`,
    ];
    const ops = parseStrace(`${lines.join("\n")}\n`, ["maps/7.exec0.maps"]).ops;
    expect(ops.filter((o) => o.op === "mmap").map((o) => [o.line, o.entered])).toEqual([
      [7, 5],
      [8, 6],
    ]);
    expect(predict(lines)).toEqual({ hits: 2, total: 2, misses: [] });
  });

  it("calls that did not overlap keep the log's order", () => {
    const lines = [
      ...head,
      `8 00:00:00.000005 ${MMAP}) = ${hex(top - 0x10000)}`,
      `9 00:00:00.000006 ${MMAP}) = ${hex(top)}`,
    ];
    const ops = parseStrace(`${lines.join("\n")}\n`, ["maps/7.exec0.maps"]).ops;
    expect(ops.filter((o) => o.op === "mmap").map((o) => o.entered)).toEqual([
      undefined,
      undefined,
    ]);
    const p = predict(lines);
    expect([p.hits, p.total]).toEqual([1, 2]);
    expect(p.misses).toEqual([
      `line 5: mmap(0x0, 0x10000): kernel ${hex(top - 0x10000)}, vmspace ${hex(top)}`,
    ]);
  });
});

describe("vmspace replay of pkey_mprotect", () => {
  // Protection keys are not in /proc/PID/maps: pkey_mprotect is replayed as the mprotect it also
  // is. An EINVAL with a key may come from the key's allocation (pkey_alloc is not a memory
  // call, so not in the log): not replayed.
  const snapshot = readFileSync(
    join(ROOT, "traces", "py_alloc", "maps", "5064.exec0.maps"),
    "utf8",
  );
  const lines = [
    '7 00:00:00.000001 execve("/usr/bin/env", ["env", "prog"], 0x7ffc0 /* 1 var */) = 0',
    '7 00:00:00.000002 execve("/usr/bin/prog", ["prog"], 0x7ffc0 /* 1 var */) = 0 (DELAYED)',
    "7 00:00:00.000003 mmap(0x100000000, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x100000000",
    "7 00:00:00.000004 pkey_mprotect(0x100001000, 4096, PROT_READ|PROT_EXEC, 1) = 0",
    "7 00:00:00.000005 pkey_mprotect(0x100002000, 4096, PROT_READ, 5) = -1 EINVAL (Invalid argument)",
  ];
  const tr = parseStrace(`${lines.join("\n")}\n`, ["maps/7.exec0.maps"]);
  it("parses as mprotect ops with their keys", () => {
    expect(tr.malformed).toEqual([]);
    const ops = tr.ops.filter((o) => o.op === "mprotect");
    expect(ops.map((o) => (o.op === "mprotect" ? [o.prot, o.pkey, o.errno] : null))).toEqual([
      [5, 1, null],
      [1, 5, "EINVAL"],
    ]);
  });
  it("changes the protection, and leaves a keyed EINVAL unreplayed", () => {
    const res = replay(tr.ops, { readMaps: () => snapshot });
    expect(res.divergences).toEqual([]);
    expect(res.unverifiable).toEqual([
      "line 5 (mprotect, pid 7, as2): EINVAL: may come from the key, whose allocation the log leaves out",
    ]);
    const maps = res.spaces[0]?.maps.filter((m) => m.start >= 0x100000000 && m.end <= 0x100004000);
    expect(maps?.map((m) => [m.start - 0x100000000, m.prot])).toEqual([
      [0, 3],
      [0x1000, 5],
      [0x2000, 3],
    ]);
  });
});

describe("vmspace replay output formats (golden)", () => {
  it("linux", () =>
    golden("sh_pipeline.linux.out", run([join("traces", "sh_pipeline"), "--check"]).out));
  it("procstat", () =>
    golden("py_alloc.procstat.out", run([join("traces", "py_alloc"), "--format", "procstat"]).out));
  it("json", () => {
    const r = run([join("traces", "sh_pipeline"), "--format", "json", "--check"]);
    const j = JSON.parse(r.out);
    expect(j.spaces.filter((s: { verdict: { ok: boolean } | null }) => s.verdict?.ok)).toHaveLength(
      6,
    );
    golden("sh_pipeline.json.out", r.out);
  });
});

describe("vmspace replay on broken input", () => {
  const tmp = () => scratch("vmspace-bad-");

  it("an empty trace: a message and status 1", () => {
    const f = join(tmp(), "strace.log");
    writeFileSync(f, "");
    const r = run([f]);
    expect(r.status).toBe(1);
    expect(r.err).toBe(`vmspace replay: no system calls to replay in '${f}'\n`);
  });

  it("garbled lines are reported with their numbers, the rest replays, status 1", () => {
    const dir = tmp();
    cpSync(join(ROOT, "traces", "py_alloc"), dir, { recursive: true });
    const f = join(dir, "strace.log");
    const lines = readFileSync(f, "utf8").split("\n");
    lines.splice(
      3,
      0,
      "5064  03:19:45.716999 mmap(NULL, 8192, PROT_BANANA, MAP_PRIVATE, -1, 0) = 0x1000",
    );
    lines.splice(5, 0, "\u0000\u0001 garbage ))) =");
    writeFileSync(f, lines.join("\n"));
    const r = run([dir, "--check"]);
    expect(r.status).toBe(1);
    expect(r.err).toContain(
      `${f}:4: cannot read: 5064  03:19:45.716999 mmap(NULL, 8192, PROT_BANANA`,
    );
    expect(r.err).toContain(`${f}:6: cannot read:`);
    expect(r.out).toMatch(/check as2 pid 5064 \S+: match/);
  });

  it("a truncated trace replays what it has and reports the cut line", () => {
    const dir = tmp();
    cpSync(join(ROOT, "traces", "sh_pipeline"), dir, { recursive: true });
    const f = join(dir, "strace.log");
    const text = readFileSync(f, "utf8");
    const cut = text.slice(0, Math.floor(text.length / 2));
    writeFileSync(f, cut.slice(0, cut.lastIndexOf("mmap(") + 12));
    const r = run([dir, "--check"]);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/strace\.log:\d+: cannot read: .*mmap\(/);
    expect(r.out).toContain("replay ");
  });

  it("a missing trace and bad options: one line, status 2, no stack trace (real process)", () => {
    const tsx = join(ROOT, "node_modules", ".bin", "tsx");
    const p = spawnSync(tsx, [join(ROOT, "cli", "main.ts"), "replay", "/no/such/trace"], {
      encoding: "utf8",
    });
    expect(p.status).toBe(2);
    expect(p.stderr).toBe("vmspace replay: cannot read '/no/such/trace' (ENOENT)\n");
    const q = run(["--format", "xml"]);
    expect(q.status).toBe(2);
    expect(q.err.split("\n")[0]).toBe(
      "vmspace replay: --format takes linux, procstat or json (got 'xml')",
    );
  });
});
