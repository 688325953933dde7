/**
 * The layer rule of STYLE.md: imports only go down the layer list, and no file imports itself
 * back through a cycle. The public entry (src/index.ts) may import any layer; src/node may
 * import the public entry; cli/ may import only the public entries and node built-ins.
 * The browser entry (src/ minus src/node) uses no Node built-ins.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const LAYERS = [
  "base",
  "ds",
  "lock",
  "events",
  "page",
  "pmap",
  "pager",
  "object",
  "map",
  "fault",
  "daemon",
  "process",
  "audit",
];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Module specifiers a file imports; `runtimeOnly` leaves out `import type` (erased at run time). */
function imports(file: string, runtimeOnly = false): string[] {
  const src = readFileSync(file, "utf8");
  const re =
    /(?:^|\n)\s*(?:import|export)\s(type\s)?[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;
  const out: string[] = [];
  for (let m = re.exec(src); m !== null; m = re.exec(src)) {
    if (runtimeOnly && m[1] !== undefined) continue;
    out.push(m[2] ?? m[3]);
  }
  return out;
}

/** The layer index of a file under src/, or -1 for the entry, LAYERS.length for src/node. */
function layerOf(file: string): number {
  const rel = relative(join(ROOT, "src"), file).split("/");
  if (rel.length === 1) return LAYERS.length; // src/index.ts: may import anything
  if (rel[0] === "node") return LAYERS.length + 1;
  const i = LAYERS.indexOf(rel[0]);
  if (i < 0) throw new Error(`${file}: folder src/${rel[0]} is not a layer of STYLE.md`);
  return i;
}

function resolveImport(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  return resolve(dirname(from), spec).replace(/\.js$/, ".ts");
}

describe("layers", () => {
  const src = files(join(ROOT, "src"));

  it("imports only go down the layer list", () => {
    const bad: string[] = [];
    for (const f of src) {
      const lf = layerOf(f);
      for (const spec of imports(f)) {
        const target = resolveImport(f, spec);
        if (target === null) continue;
        const lt = layerOf(target);
        if (lt > lf) bad.push(`${relative(ROOT, f)} imports ${relative(ROOT, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("no import cycles at run time (type-only imports are erased)", () => {
    const graph = new Map<string, string[]>();
    for (const f of src)
      graph.set(
        f,
        imports(f, true)
          .map((s) => resolveImport(f, s))
          .filter((t): t is string => t !== null),
      );
    const state = new Map<string, number>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      const s = state.get(f);
      if (s === 2) return;
      if (s === 1) {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(ROOT, p)).join(" -> "));
        return;
      }
      state.set(f, 1);
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 2);
    };
    for (const f of src) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it("the browser entry uses no Node built-ins and no packages", () => {
    const bad: string[] = [];
    for (const f of src) {
      if (layerOf(f) === LAYERS.length + 1) continue;
      for (const spec of imports(f))
        if (!spec.startsWith(".")) bad.push(`${relative(ROOT, f)} imports ${spec}`);
    }
    expect(bad).toEqual([]);
  });

  it("the CLI imports only the public entries and Node built-ins", () => {
    const bad: string[] = [];
    for (const f of files(join(ROOT, "cli"))) {
      for (const spec of imports(f)) {
        if (spec.startsWith("node:")) continue;
        const t = resolveImport(f, spec);
        if (t === null) {
          bad.push(`${relative(ROOT, f)} imports package ${spec}`);
          continue;
        }
        const ok =
          t === join(ROOT, "src/index.ts") ||
          t === join(ROOT, "src/node/index.ts") ||
          t.startsWith(join(ROOT, "cli"));
        if (!ok) bad.push(`${relative(ROOT, f)} imports ${relative(ROOT, t)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("the checker sees an upward import (self-test)", () => {
    const f = join(ROOT, "src/base/kern.ts");
    expect(layerOf(f)).toBeLessThan(layerOf(join(ROOT, "src/map/VmMap.ts")));
    expect(imports(join(ROOT, "src/map/VmMap.ts")).length).toBeGreaterThan(3);
  });
});
