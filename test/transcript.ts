/**
 * Helpers of the documentation tests (readme.test.ts, examples.test.ts): run a shell command
 * line the way a reader would type it, with `vmspace` (and `npx vmspace`) being the package's
 * command run from the sources, and compare printed output with the text the docs show.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll } from "vitest";

export const ROOT = resolve(import.meta.dirname, "..");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

let binDir: string | null = null;

// Registered while the importing test file is collected: the folder goes with its last test.
afterAll(() => {
  if (binDir !== null) rmSync(binDir, { recursive: true, force: true });
  binDir = null;
});

/** A folder holding a `vmspace` script that runs cli/main.ts from the sources. */
function bin(): string {
  if (binDir !== null) return binDir;
  binDir = mkdtempSync(join(tmpdir(), "vmspace-bin-"));
  const script = join(binDir, "vmspace");
  writeFileSync(script, `#!/bin/sh\nexec "${TSX}" "${join(ROOT, "cli", "main.ts")}" "$@"\n`);
  chmodSync(script, 0o755);
  return binDir;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `argv` in ROOT with the `vmspace` command on PATH. */
export function run(argv: string[]): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin()}:${process.env.PATH}`, NO_COLOR: "1" },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs one command line through sh; `npx vmspace` is the same command as `vmspace`. */
export function runLine(line: string): RunResult {
  return run(["sh", "-c", line.replace(/\bnpx vmspace\b/g, "vmspace")]);
}

/** Runs a TypeScript file with tsx, as `npx tsx FILE` does. */
export function runTs(file: string): RunResult {
  return run([TSX, file]);
}

function lines(text: string): string[] {
  const l = text.split("\n");
  if (l.at(-1) === "") l.pop();
  return l;
}

/**
 * Whether `actual` is what `shown` shows: line by line equal, where a line `...` stands for any
 * number of lines (an elision), and a line ending in `...` for any line starting with the rest.
 * Returns null on a match, else the first line of `shown` that does not match, for the message.
 */
export function mismatch(shown: string, actual: string): string | null {
  const want = lines(shown);
  const got = lines(actual);
  const same = (w: string, g: string) =>
    w.endsWith("...") && w !== "..." ? g.startsWith(w.slice(0, -3)) : w === g;
  // Dynamic programming over (want index, got index): can want[i..] match got[j..]?
  const memo = new Map<number, boolean>();
  const ok = (i: number, j: number): boolean => {
    if (i === want.length) return j === got.length;
    const key = i * (got.length + 1) + j;
    const seen = memo.get(key);
    if (seen !== undefined) return seen;
    let r: boolean;
    if (want[i] === "...") r = ok(i + 1, j) || (j < got.length && ok(i, j + 1));
    else r = j < got.length && same(want[i], got[j]) && ok(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  if (ok(0, 0)) return null;
  // Report the first shown line that appears nowhere in the output (or the first one).
  return want.find((w) => w !== "..." && !got.some((g) => same(w, g))) ?? want[0] ?? "(empty)";
}
