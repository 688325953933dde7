/**
 * Every file in examples/ runs and prints what it says it prints.
 *
 * - `NAME.ts` runs with tsx (`npx tsx examples/NAME.ts`) and its output must equal the
 *   `Output:` block of its header comment; it may import only `vmspace`, `vmspace/node` and
 *   node built-ins, as a user's program would.
 * - `NAME.sh` runs with sh; the same rule, with `#` comments.
 * - `NAME.vmsh` is a `vmspace shell` script: `vmspace shell examples/NAME.vmsh` must print
 *   NAME.out exactly and exit 0. After a deliberate change, rewrite the .out files with
 *   `UPDATE_GOLDEN=1 npx vitest run test/examples.test.ts` and read the diff.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, run, runTs } from "./transcript.js";

const DIR = join(ROOT, "examples");
const files = readdirSync(DIR).sort();

/** The indented lines after `Output:` in a header comment whose lines start with `prefix`. */
function shownOutput(source: string, prefix: string): string {
  const all = source.split("\n");
  const start = all.findIndex((l) => l.trimEnd() === `${prefix} Output:`);
  expect(start, "the header comment has an Output: block").toBeGreaterThan(-1);
  const out: string[] = [];
  for (const l of all.slice(start + 1)) {
    if (!l.startsWith(`${prefix}   `)) break;
    out.push(l.slice(prefix.length + 3));
  }
  expect(out.length).toBeGreaterThan(0);
  return `${out.join("\n")}\n`;
}

describe("examples/", () => {
  it("every file is an example this test runs", () => {
    for (const f of files)
      expect(f, "examples/ holds .ts, .sh and .vmsh with its .out").toMatch(/\.(ts|sh|vmsh|out)$/);
    for (const f of files.filter((n) => n.endsWith(".out")))
      expect(files).toContain(f.replace(/\.out$/, ".vmsh"));
    expect(files.filter((f) => f.endsWith(".ts")).length).toBeGreaterThanOrEqual(3);
  });

  for (const f of files.filter((n) => n.endsWith(".ts"))) {
    it(`${f} prints its Output block`, () => {
      const source = readFileSync(join(DIR, f), "utf8");
      for (const m of source.matchAll(/^import .* from "([^"]+)";$/gm))
        expect(m[1]).toMatch(/^(vmspace|vmspace\/node|node:.+)$/);
      const r = runTs(join("examples", f));
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(shownOutput(source.replace(/^\/\*\*/, ""), " *"));
    });
  }

  for (const f of files.filter((n) => n.endsWith(".sh"))) {
    it(`${f} prints its Output block`, () => {
      const source = readFileSync(join(DIR, f), "utf8");
      const r = run(["sh", join("examples", f)]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(shownOutput(source, "#"));
    });
  }

  for (const f of files.filter((n) => n.endsWith(".vmsh"))) {
    it(`vmspace shell examples/${f} prints ${f.replace(/\.vmsh$/, ".out")}`, () => {
      const r = run(["vmspace", "shell", join("examples", f)]);
      const golden = join(DIR, f.replace(/\.vmsh$/, ".out"));
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, r.stdout);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(readFileSync(golden, "utf8"));
    });
  }
});
