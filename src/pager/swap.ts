/**
 * The swap pager: where anonymous pages go when the page daemon needs their frames (FreeBSD
 * sys/vm/swap_pager.c, reduced to one synchronous backend).
 *
 * Three pieces, each small:
 *  - `SwapBackend`: page-sized slots that can be written, read back and forgotten. The default
 *    `MemorySwap` keeps them in memory and never runs out; an embedder may bring a file or
 *    IndexedDB instead (`vmspace/node` can add a swap file). A backend reports an I/O failure
 *    as a value ("EIO", "ENOSPC"), never by throwing: a failed pageout is an ordinary event.
 *  - `FaultyBackend`: a wrapper that makes chosen reads or writes fail, for tests and teaching
 *    (a failed pageout leaves the page resident and dirty; a failed page-in is SIGBUS).
 *  - `SwapPager`: the system's slot allocator and counters; and `SwapBlocks`, the per-object
 *    map from page index to slot. Like FreeBSD's swblk trie it keeps slots in fixed blocks of
 *    SWAP_BLOCK consecutive page indices (one Int32Array per block), so an object swapped out
 *    densely costs 4 bytes per page and a lookup is one Map access and one array read.
 *
 * Invariants (checked by the audit): a slot belongs to at most one (object, page index); a page
 * is either resident or in swap, never both (a page-in frees its slot and marks the page
 * dirty, where FreeBSD keeps the slot until the page is next dirtied: simpler, and nothing is
 * lost, since the next pageout writes it anew); `inUse` equals the slots held by live objects.
 *
 * This layer does not import the object layer: objects hold their own SwapBlocks.
 *
 * Guarded by: the object lock of the owning object for SwapBlocks; the swap pager by the
 * system (one thread).
 */

/** Why a swap read or write failed. */
export type SwapError = "EIO" | "ENOSPC";

/**
 * Storage for page-sized slots. `write` stores `src` (one page) in `slot`; `read` copies slot
 * `slot` into `dst`; `free` says the slot's contents are no longer needed. Slot numbers are
 * chosen by the swap pager (freed slots are reused first, so slot numbers stay below the
 * most ever in use at once): a backend may be a flat array or a file.
 * `read` and `write` return null on success, or the error. Example:
 * ```ts
 * const sys = new VmSystem({ physicalMemory: 1 << 20, swap: new MemorySwap() });
 * ```
 */
export interface SwapBackend {
  write(slot: number, src: Uint8Array): SwapError | null;
  read(slot: number, dst: Uint8Array): SwapError | null;
  free(slot: number): void;
}

/** Slots per chunk of MemorySwap. */
const CHUNK_SLOTS = 64;

/**
 * The default backend: slots in memory, in chunks of 64 pages, unbounded unless given a
 * `maxSlots` (a write to a slot at or past it fails with ENOSPC).
 */
export class MemorySwap implements SwapBackend {
  readonly maxSlots: number;
  #chunks: Uint8Array[] = [];
  #pageSize = 0;

  constructor(opts: { maxSlots?: number } = {}) {
    const m = opts.maxSlots ?? Number.POSITIVE_INFINITY;
    if (m !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(m) || m < 0))
      throw new RangeError(`MemorySwap: maxSlots ${m} is not a non-negative integer`);
    this.maxSlots = m;
  }

  write(slot: number, src: Uint8Array): SwapError | null {
    if (slot >= this.maxSlots) return "ENOSPC";
    const ps = src.length;
    if (this.#pageSize === 0) this.#pageSize = ps;
    const c = Math.floor(slot / CHUNK_SLOTS);
    while (this.#chunks.length <= c) this.#chunks.push(new Uint8Array(CHUNK_SLOTS * ps));
    this.#chunks[c].set(src, (slot % CHUNK_SLOTS) * ps);
    return null;
  }

  read(slot: number, dst: Uint8Array): SwapError | null {
    const ps = dst.length;
    const c = Math.floor(slot / CHUNK_SLOTS);
    if (c >= this.#chunks.length) return "EIO";
    const off = (slot % CHUNK_SLOTS) * ps;
    dst.set(this.#chunks[c].subarray(off, off + ps));
    return null;
  }

  free(_slot: number): void {
    // Slots are reused by number; the bytes are overwritten by the next write.
  }
}

/** Which operation a fault rule applies to. */
export type SwapOp = "read" | "write";

/** A rule of FaultyBackend: fail `op` with `error` (on slots accepted by `slots`). */
interface FaultRule {
  op: SwapOp;
  error: SwapError;
  remaining: number;
  slots: ((slot: number) => boolean) | null;
}

/**
 * Fault injection: wraps a backend and fails the chosen reads or writes. Rules are tried in
 * the order they were added; each fails at most `count` operations (default: all until
 * `heal()`). A failing write stores nothing; a failing read copies nothing. Example:
 * ```ts
 * const swap = new FaultyBackend(new MemorySwap());
 * const sys = new VmSystem({ physicalMemory: 64 * 4096, swap });
 * swap.fail("write", "ENOSPC");   // every pageout fails: pages stay resident and dirty
 * swap.fail("read", "EIO", 1);    // the next page-in raises SIGBUS (BUS_OBJERR)
 * swap.heal();                    // back to normal; nothing was lost
 * ```
 */
export class FaultyBackend implements SwapBackend {
  readonly inner: SwapBackend;
  /** Operations failed so far, by kind. */
  failedReads = 0;
  failedWrites = 0;
  #rules: FaultRule[] = [];

  constructor(inner: SwapBackend = new MemorySwap()) {
    this.inner = inner;
  }

  /**
   * Fails the next `count` operations `op` (on the slots `slots` accepts, if given) with
   * `error`. Returns this, so rules chain.
   */
  fail(
    op: SwapOp,
    error: SwapError = "EIO",
    count = Number.POSITIVE_INFINITY,
    slots?: (slot: number) => boolean,
  ): this {
    if (op !== "read" && op !== "write") throw new RangeError(`FaultyBackend: bad op '${op}'`);
    if (error !== "EIO" && error !== "ENOSPC")
      throw new RangeError(`FaultyBackend: bad error '${error}'`);
    if (!(count >= 0)) throw new RangeError(`FaultyBackend: bad count ${count}`);
    this.#rules.push({ op, error, remaining: count, slots: slots ?? null });
    return this;
  }

  /** Drops every rule: from now on the inner backend answers. */
  heal(): void {
    this.#rules = [];
  }

  /** True while some rule may still fail an operation. */
  get failing(): boolean {
    return this.#rules.length > 0;
  }

  #check(op: SwapOp, slot: number): SwapError | null {
    const rules = this.#rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.op !== op || (r.slots !== null && !r.slots(slot))) continue;
      const e = r.error;
      if (--r.remaining <= 0) rules.splice(i, 1);
      return e;
    }
    return null;
  }

  write(slot: number, src: Uint8Array): SwapError | null {
    const e = this.#check("write", slot);
    if (e !== null) {
      this.failedWrites++;
      return e;
    }
    return this.inner.write(slot, src);
  }

  read(slot: number, dst: Uint8Array): SwapError | null {
    const e = this.#check("read", slot);
    if (e !== null) {
      this.failedReads++;
      return e;
    }
    return this.inner.read(slot, dst);
  }

  free(slot: number): void {
    this.inner.free(slot);
  }
}

/** Page indices per block of a SwapBlocks map (FreeBSD SWAP_META_PAGES). */
export const SWAP_BLOCK = 32;

/**
 * The swap slots of one object: page index -> slot, in blocks of SWAP_BLOCK indices. A block
 * is dropped when its last slot goes.
 */
export class SwapBlocks {
  /** Block number -> slots (-1: none) (object lock). */
  readonly #blocks = new Map<number, Int32Array>();
  /** Slots held (object lock). */
  count = 0;

  /** The slot of page `pindex`, or -1. */
  get(pindex: number): number {
    const b = this.#blocks.get(Math.floor(pindex / SWAP_BLOCK));
    return b === undefined ? -1 : b[pindex & (SWAP_BLOCK - 1)];
  }

  has(pindex: number): boolean {
    return this.get(pindex) >= 0;
  }

  /** Records `slot` for page `pindex` (which must have none). */
  set(pindex: number, slot: number): void {
    const k = Math.floor(pindex / SWAP_BLOCK);
    let b = this.#blocks.get(k);
    if (b === undefined) {
      b = new Int32Array(SWAP_BLOCK).fill(-1);
      this.#blocks.set(k, b);
    }
    const i = pindex & (SWAP_BLOCK - 1);
    if (b[i] < 0) this.count++;
    b[i] = slot;
  }

  /** Forgets page `pindex`'s slot and returns it (-1 if it had none). */
  take(pindex: number): number {
    const k = Math.floor(pindex / SWAP_BLOCK);
    const b = this.#blocks.get(k);
    if (b === undefined) return -1;
    const i = pindex & (SWAP_BLOCK - 1);
    const s = b[i];
    if (s < 0) return -1;
    b[i] = -1;
    if (--this.count === 0 || SwapBlocks.#empty(b)) this.#blocks.delete(k);
    return s;
  }

  static #empty(b: Int32Array): boolean {
    for (let i = 0; i < b.length; i++) if (b[i] >= 0) return false;
    return true;
  }

  /**
   * The page indices in [start, end) that hold a slot, ascending. Visits blocks, not the
   * range, when the range is larger than the map.
   */
  indices(start = 0, end = Number.MAX_SAFE_INTEGER): number[] {
    const out: number[] = [];
    if (this.count === 0) return out;
    const keys = [...this.#blocks.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      const base = k * SWAP_BLOCK;
      if (base + SWAP_BLOCK <= start || base >= end) continue;
      const b = this.#blocks.get(k)!;
      for (let i = 0; i < SWAP_BLOCK; i++)
        if (b[i] >= 0 && base + i >= start && base + i < end) out.push(base + i);
    }
    return out;
  }
}

/** Counters of the swap pager (part of sys.stats()). */
export interface SwapStats {
  /** Pages written to swap (successful). */
  pageouts: number;
  /** Pages read back from swap (successful). */
  pageins: number;
  /** Writes and reads the backend refused. */
  writeErrors: number;
  readErrors: number;
}

/**
 * The system's swap: the backend, the slot allocator (freed slots first, so a bounded backend
 * fills from the start) and the counters.
 */
export class SwapPager {
  readonly backend: SwapBackend;
  readonly stats: SwapStats = { pageouts: 0, pageins: 0, writeErrors: 0, readErrors: 0 };
  /** Slots in use (system). */
  #inUse = 0;
  /** Free slot numbers below #high, as a stack (system). */
  #free = new Int32Array(64);
  #nfree = 0;
  /** Slots ever handed out: [0, #high) (system). */
  #high = 0;

  constructor(backend: SwapBackend = new MemorySwap()) {
    this.backend = backend;
  }

  /** Slots holding a page. */
  get inUse(): number {
    return this.#inUse;
  }

  #alloc(): number {
    this.#inUse++;
    if (this.#nfree > 0) return this.#free[--this.#nfree];
    return this.#high++;
  }

  #release(slot: number): void {
    if (this.#nfree === this.#free.length) {
      const g = new Int32Array(this.#free.length * 2);
      g.set(this.#free);
      this.#free = g;
    }
    this.#free[this.#nfree++] = slot;
    this.#inUse--;
  }

  /**
   * swap_pager_putpages of one page: writes `src` to a new slot and returns the slot, or the
   * backend's error (no slot is kept then).
   */
  pageOut(src: Uint8Array): number | SwapError {
    const slot = this.#alloc();
    const e = this.backend.write(slot, src);
    if (e !== null) {
      this.#release(slot);
      this.stats.writeErrors++;
      return e;
    }
    this.stats.pageouts++;
    return slot;
  }

  /** swap_pager_getpages of one page: reads `slot` into `dst`; null or the backend's error. */
  pageIn(slot: number, dst: Uint8Array): SwapError | null {
    const e = this.backend.read(slot, dst);
    if (e !== null) {
      this.stats.readErrors++;
      return e;
    }
    this.stats.pageins++;
    return null;
  }

  /** swap_pager_freespace of one slot. */
  free(slot: number): void {
    this.backend.free(slot);
    this.#release(slot);
  }
}
