/** The public entry exposes what an embedder needs to read pmap.mappings(). */
import { expect, it } from "vitest";
import { freebsd as F, PTE_A, PTE_M, PTE_R, PTE_V, PTE_W, PTE_X, VmSystem } from "../src/index.js";

it("PTE bits from the entry describe a written page and a read-only page", () => {
  const sys = new VmSystem();
  const p = sys.createProcess();
  const a = p.mmap(0, 2 * 4096, F.PROT_READ | F.PROT_WRITE, F.MAP_PRIVATE | F.MAP_ANON);
  p.write8(a, 1);
  p.mprotect(a + 4096, 4096, F.PROT_READ);
  expect(p.read8(a + 4096)).toBe(0);
  const ptes = new Map(p.pmap.mappings());
  const w = ptes.get(a)!;
  expect(w & (PTE_V | PTE_R | PTE_W | PTE_A | PTE_M)).toBe(PTE_V | PTE_R | PTE_W | PTE_A | PTE_M);
  expect(w & PTE_X).toBe(0);
  const r = ptes.get(a + 4096)!;
  expect(r & (PTE_V | PTE_R | PTE_A)).toBe(PTE_V | PTE_R | PTE_A);
  expect(r & (PTE_W | PTE_M)).toBe(0);
  sys.audit();
});
