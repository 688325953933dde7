/**
 * Every example in README.md runs, and prints what the README shows. Each fenced block is one of:
 *
 * - ```ts: written to a module under test/.readme/ (ignored by git) and imported, with `vmspace`
 *   resolved to the sources. Every `console.log(` line ends with `// → EXPECTED` (a trailing
 *   `...` matches any rest of the line), and the calls must print exactly those lines, in order.
 * - ```console: a transcript. Lines starting with `$ ` are commands, run with sh in the
 *   repository (`vmspace` and `npx vmspace` are the CLI from the sources; `npm start` is its
 *   package.json script, run the same way without the build); the lines up to the next command
 *   are its stdout, where a line `...` stands for any number of lines. It must exit 0.
 * - ```sh: commands only (installing, testing), not run here; each must be an npm script that
 *   package.json defines, and `npm start` must also appear in a transcript.
 * - ```text: the layer picture; it must name every folder of src/.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { mismatch, ROOT, runLine } from "./transcript.js";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = [...README.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
  lang: m[1],
  code: m[2],
  line: README.slice(0, m.index).split("\n").length,
}));
const scripts: Record<string, string> = JSON.parse(
  readFileSync(join(ROOT, "package.json"), "utf8"),
).scripts;

/** A README command line as it runs in the test: npm scripts become their commands. */
function command(line: string): string {
  if (line === "npm start") {
    expect(scripts.prestart).toBe("npm run build");
    expect(scripts.start).toMatch(/^node dist\/cli\/main\.js /);
    // The built CLI is the CLI of the sources: run that, so the test needs no build.
    return scripts.start.replace(/^node dist\/cli\/main\.js/, "vmspace");
  }
  expect(line, "a transcript command runs vmspace").toMatch(/^(npx )?vmspace /);
  return line;
}

/** The commands of a transcript, each with the output the README shows for it. */
function transcript(code: string): { cmd: string; shown: string }[] {
  const out: { cmd: string; shown: string }[] = [];
  for (const l of code.split("\n").slice(0, -1)) {
    if (l.startsWith("$ ")) out.push({ cmd: l.slice(2), shown: "" });
    else {
      expect(out.length, "a transcript starts with a $ command").toBeGreaterThan(0);
      out[out.length - 1].shown += `${l}\n`;
    }
  }
  return out;
}

describe("README examples", () => {
  it("has examples for each user group, in known kinds of blocks", () => {
    for (const b of blocks) expect(["ts", "console", "sh", "text"]).toContain(b.lang);
    expect(blocks.filter((b) => b.lang === "ts").length).toBeGreaterThanOrEqual(3);
    const shown = blocks.filter((b) => b.lang === "console").map((b) => b.code);
    expect(shown.some((c) => c.includes("$ npx vmspace shell "))).toBe(true);
    expect(shown.some((c) => c.includes("$ npx vmspace replay "))).toBe(true);
    expect(shown.some((c) => c.includes("$ npm start\n"))).toBe(true);
  });

  it("compares output line by line, with ... for elided lines and line ends", () => {
    expect(mismatch("a\n...\nd\n", "a\nb\nc\nd\n")).toBe(null);
    expect(mismatch("a\n...\n", "a\n")).toBe(null);
    expect(mismatch("SIGBUS on ...\n", "SIGBUS on read at 0x1000\n")).toBe(null);
    expect(mismatch("a\nd\n", "a\nb\nd\n")).toBe("a");
    expect(mismatch("a\nx\n", "a\nb\n")).toBe("x");
    expect(mismatch("a\n", "a\nb\n")).toBe("a");
  });

  const dir = join(ROOT, "test", ".readme");
  mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const { lang, code, line } of blocks) {
    if (lang === "ts") {
      const k = ++n;
      it(`TypeScript example at line ${line} prints what its comments show`, async () => {
        const want: string[] = [];
        for (const l of code.split("\n"))
          if (l.includes("console.log(")) {
            const m = /\/\/ → (.*)$/.exec(l);
            expect(m, `README line ${line}: console.log without '// → output': ${l}`).not.toBe(
              null,
            );
            want.push(m![1]);
          }
        const file = join(dir, `example${k}.ts`);
        writeFileSync(file, code);
        const log = vi.spyOn(console, "log").mockImplementation(() => {});
        let calls: unknown[][];
        try {
          await import(file);
        } finally {
          calls = [...log.mock.calls];
          log.mockRestore();
        }
        const got = calls.map((args) => format(...args));
        expect(mismatch(`${want.join("\n")}\n`, `${got.join("\n")}\n`), got.join("\n")).toBe(null);
      });
    } else if (lang === "console") {
      for (const { cmd, shown } of transcript(code))
        it(`transcript at line ${line}: ${cmd}`, () => {
          const r = runLine(command(cmd));
          expect(r.stderr).toBe("");
          expect(r.status).toBe(0);
          const bad = mismatch(shown, r.stdout);
          expect(bad, `README line ${line}: '${bad}' is not what '${cmd}' prints`).toBe(null);
        });
    } else if (lang === "sh") {
      it(`commands at line ${line} are npm scripts of package.json`, () => {
        for (const l of code.split("\n").slice(0, -1)) {
          const cmd = l.replace(/#.*$/, "").trim();
          for (const part of cmd.split("&&").map((s) => s.trim())) {
            if (part === "npm install") continue;
            const m = /^npm (?:run )?(\S+)$/.exec(part);
            expect(m, `not an npm script: ${part}`).not.toBe(null);
            expect(Object.keys(scripts)).toContain(m![1]);
          }
        }
      });
    } else if (lang === "text") {
      it(`the layer picture at line ${line} names every layer`, () => {
        const layers = readdirSync(join(ROOT, "src"), { withFileTypes: true })
          .filter((d) => d.isDirectory() && d.name !== "node")
          .map((d) => d.name);
        for (const l of layers) expect(code).toMatch(new RegExp(`\\b${l}\\b`));
      });
    }
  }
});
