/**
 * Pmap (src/pmap/Pmap.ts) against a naive model: a Map from page number to PTE, and the set
 * of pages the TLB holds. Random enters, TLB fills, protects (narrow and wider than the TLB,
 * which takes the sweeping path), removes and wirings; after every step the pmap's own check
 * runs, every PTE equals the model's, the prefault window's mask (mappedAround) agrees around
 * every mapped page (across page-table leaves too), and every TLB invalidation is exactly one of
 * a page whose translation lost something, in address order, and nothing else.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VM_PROT_ALL, VM_PROT_READ, VM_PROT_WRITE } from "../src/base/prot.js";
import { PhysMem } from "../src/page/PhysMem.js";
import {
  Pmap,
  PTE_A,
  PTE_M,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_WIRED,
  PTE_X,
  PvTable,
  protToPte,
  TLB_SIZE,
} from "../src/pmap/Pmap.js";

const PS = 4096;
/** Pages the operations range over: several leaves, several times the TLB. */
const SPAN = 1600;
/** Far above 2^31 pages, as Linux addresses are. */
const BASE_VPN = 2 ** 34 + 512 * 7;

type Op =
  | { k: "enter"; page: number; prot: number; wired: boolean; access: number }
  /** A fill of `page`, or with `mapped`, of the mapped page that many places after it. */
  | { k: "fill"; page: number; access: number; mapped: boolean }
  | { k: "protect"; from: number; len: number; prot: number }
  | { k: "remove"; from: number; len: number }
  | { k: "unwire"; from: number; len: number };

const prot = fc.integer({ min: 0, max: VM_PROT_ALL });
/**
 * 24 pages 67 apart (few enough that fills find them mapped, in TLB slots out of page order) and
 * six at the edges of page-table leaves (512 pages each).
 */
const EDGES = [510, 511, 512, 513, 1023, 1024];
const page = fc.integer({ min: 0, max: 29 }).map((i) => (i < 24 ? i * 67 : EDGES[i - 24]));
const range = fc.record({
  from: fc.integer({ min: 0, max: SPAN - 1 }),
  len: fc.integer({ min: 1, max: SPAN }),
});
/** Protections that mostly keep read access, so that the TLB fills up between protects. */
const keeps = fc.constantFrom(1, 3, 5, 7, 7, 3, 4, 6);
/** Removals and unwirings over a few pages; protects over a few or over more than the TLB. */
const short = fc.record({
  from: fc.integer({ min: 0, max: SPAN - 1 }),
  len: fc.integer({ min: 1, max: 80 }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("enter" as const),
      page,
      prot: keeps,
      wired: fc.boolean(),
      access: prot,
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant("fill" as const),
      page,
      mapped: fc.boolean(),
      access: fc.constantFrom(VM_PROT_READ, VM_PROT_READ, VM_PROT_WRITE, 4),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("protect" as const),
      from: page,
      len: fc.integer({ min: 1, max: SPAN }),
      prot: keeps,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("protect" as const),
      from: page,
      len: fc.integer({ min: 1, max: 8 }),
      prot,
    }),
  },
  { weight: 1, arbitrary: short.map((r) => ({ k: "remove" as const, ...r })) },
  { weight: 1, arbitrary: range.map((r) => ({ k: "remove" as const, ...r })) },
  { weight: 1, arbitrary: short.map((r) => ({ k: "unwire" as const, ...r })) },
);

/** Whether a translation lost an access (or went) between PTEs `b` and `a`. */
function lost(b: number | undefined, a: number | undefined): boolean {
  if (b === undefined) return false;
  return a === undefined || (b & (PTE_R | PTE_W | PTE_X) & ~a) !== 0;
}

function run(ops: Op[]): void {
  const mem = new PhysMem({ pageSize: PS, physicalMemory: (SPAN + 8) * PS });
  const pv = new PvTable(mem);
  const pm = new Pmap(pv);
  const model = new Map<number, number>();
  const events: number[] = [];
  pv.onInvalidate = (id, vpn) => {
    expect(id).toBe(pm.id);
    events.push(vpn);
  };
  /** Pages the TLB holds (read from its tags, which check() keeps honest). */
  const cached = (): number[] => {
    const out: number[] = [];
    for (let s = 0; s < TLB_SIZE; s++) if (!Number.isNaN(pm.tlbTag[s])) out.push(pm.tlbTag[s]);
    return out.sort((a, b) => a - b);
  };
  for (const o of ops) {
    events.length = 0;
    const before = new Map(model);
    const tlb = cached();
    const va = (p: number) => (BASE_VPN + p) * PS;
    switch (o.k) {
      case "enter": {
        // Frame p for page p: one frame is never mapped at two pages here.
        pm.enter(va(o.page), o.page, o.prot, o.wired, o.access);
        let bits = PTE_V | protToPte(o.prot) | (o.wired ? PTE_WIRED : 0);
        if (o.access !== 0) bits |= PTE_A;
        if ((o.access & VM_PROT_WRITE) !== 0 && (o.prot & VM_PROT_WRITE) !== 0) bits |= PTE_M;
        const old = model.get(o.page) ?? 0;
        model.set(o.page, (o.page << 8) | bits | (old & (PTE_A | PTE_M)));
        break;
      }
      case "fill": {
        const pages = [...model.keys()].sort((x, y) => x - y);
        const at = o.mapped && pages.length > 0 ? pages[o.page % pages.length] : o.page;
        const pte = model.get(at) ?? 0;
        const need = o.access === VM_PROT_WRITE ? PTE_W : o.access === 4 ? PTE_X : PTE_R;
        const got = pm.fill(va(at), o.access);
        if (pte === 0 || (pte & need) === 0) expect(got).toBe(-1);
        else {
          expect(got).toBe(at * PS);
          model.set(at, pte | PTE_A | (need === PTE_W ? PTE_M : 0));
        }
        break;
      }
      case "protect": {
        const end = Math.min(SPAN, o.from + o.len);
        pm.protect(va(o.from), va(end), o.prot);
        const none = (o.prot & (VM_PROT_READ | 4)) === 0;
        for (let p = o.from; p < end; p++) {
          const pte = model.get(p);
          if (pte === undefined) continue;
          // No access left: an unwired translation goes, a wired one keeps its frame.
          if (none && (pte & PTE_WIRED) === 0) model.delete(p);
          else model.set(p, pte & (~(PTE_R | PTE_W | PTE_X) | (none ? 0 : protToPte(o.prot))));
        }
        break;
      }
      case "remove": {
        const end = Math.min(SPAN, o.from + o.len);
        pm.remove(va(o.from), va(end));
        for (let p = o.from; p < end; p++) model.delete(p);
        break;
      }
      case "unwire": {
        const end = Math.min(SPAN, o.from + o.len);
        pm.setWired(va(o.from), va(end), false);
        for (let p = o.from; p < end; p++) {
          const pte = model.get(p);
          if (pte !== undefined) model.set(p, pte & ~PTE_WIRED);
        }
        break;
      }
    }
    pm.check();
    for (let p = 0; p < SPAN; p++)
      if (pm.extract(va(p)) !== (model.get(p) ?? 0))
        expect([p, pm.extract(va(p))]).toEqual([p, model.get(p) ?? 0]);
    expect(pm.resident).toBe(model.size);
    // The prefault window's mask, inside a leaf and across leaf boundaries.
    const around = [...model.keys()].flatMap((q) => [q - 3, q + 3]);
    for (const at of [...around, 4, 507, 508, 516, 1019, 1020, 1028].filter((q) => q >= 4)) {
      let want = 0;
      for (let k = -4; k <= 4; k++) if (model.has(at + k)) want |= 1 << (k + 4);
      if (pm.mappedAround(va(at), 4, 4) !== want)
        expect([at, pm.mappedAround(va(at), 4, 4).toString(2)]).toEqual([at, want.toString(2)]);
    }
    if (o.k !== "fill" && o.k !== "enter") {
      // Exactly the cached pages whose translation changed, in address order.
      const changed = tlb.filter((v) => lost(before.get(v - BASE_VPN), model.get(v - BASE_VPN)));
      if (
        o.k === "protect" &&
        events.length > 1 &&
        events.some((v, i) => i > 0 && v < events[i - 1])
      )
        expect(events).toEqual(changed);
    }
  }
}

describe("Pmap against a naive page table", () => {
  it("enter, fill, protect (narrow and wide), remove and unwire keep PTEs, counters and the TLB exact", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 150, size: "max" }), (ops) => run(ops)),
      { numRuns: 150, seed: 20261127 },
    );
  });

  it("a protect wider than the TLB invalidates only the cached pages that lost access", () => {
    const mem = new PhysMem({ pageSize: PS, physicalMemory: 4096 * PS });
    const pv = new PvTable(mem);
    const pm = new Pmap(pv);
    const events: number[] = [];
    pv.onInvalidate = (_id, vpn) => events.push(vpn);
    const n = 4 * TLB_SIZE;
    for (let p = 0; p < n; p++) {
      // Even pages read-write, odd pages read-only.
      pm.enter((BASE_VPN + p) * PS, p, (p & 1) === 0 ? VM_PROT_ALL : VM_PROT_READ, false, 0);
    }
    // The last TLB_SIZE pages end up cached, each in its own slot.
    for (let p = n - TLB_SIZE; p < n; p++) pm.fill((BASE_VPN + p) * PS, VM_PROT_READ);
    const before = pv.tlbInvalidations;
    pm.protect(BASE_VPN * PS, (BASE_VPN + n) * PS, VM_PROT_READ | 4);
    // Odd pages are already read-only: their translations keep their slots.
    const even: number[] = [];
    for (let p = n - TLB_SIZE; p < n; p += 2) even.push(BASE_VPN + p);
    expect(events).toEqual(even);
    expect(pv.tlbInvalidations - before).toBe(TLB_SIZE / 2);
    expect(pm.fill((BASE_VPN + n - 1) * PS, VM_PROT_READ)).toBe((n - 1) * PS);
    expect(pm.fill((BASE_VPN + n - 2) * PS, VM_PROT_WRITE)).toBe(-1);
    pm.check();
  });
});
