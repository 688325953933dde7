/**
 * Every TypeScript example in README.md runs: each ```ts block is written to a module under
 * test/.readme/ (ignored by git) and imported, with `vmspace` resolved to the sources.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it, vi } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const blocks = [
  ...readFileSync(join(ROOT, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g),
].map((m) => m[1]);

describe("README examples", () => {
  it("has examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });
  const dir = join(ROOT, "test", ".readme");
  mkdirSync(dir, { recursive: true });
  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, async () => {
      const file = join(dir, `example${i + 1}.ts`);
      writeFileSync(file, code);
      const log = vi.spyOn(console, "log").mockImplementation(() => {});
      let calls: unknown[][];
      try {
        await import(file);
      } finally {
        calls = [...log.mock.calls];
        log.mockRestore();
      }
      if (code.includes("console.log(p.read32(a), child.read32(a))"))
        expect(calls).toContainEqual([51966, 1]);
    });
  });
});
