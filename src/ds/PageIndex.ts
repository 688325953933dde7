/**
 * The resident-page index of a VM object: page index -> frame.
 *
 * FreeBSD keeps an object's pages in a radix trie (vm_radix) keyed by page index, so that the
 * fault path finds a page with a few array loads. This is the same idea, one level deep: the
 * index space is cut into chunks of CHUNK_PAGES consecutive pages, each chunk an Int32Array
 * holding `frame + 1` per page (0: not resident) and, after them, its count of resident pages,
 * found in a Map by chunk number. The chunk of the last lookup is remembered, so the faults of a
 * sequential sweep (and the prefault of the neighbours) read one typed array and make no Map
 * call. A chunk is dropped when its last page goes. The Map is made with the first page: most
 * objects of a large address space never hold one (a clip gives an untouched mapping an
 * object), and an empty Map costs more than the rest of the object.
 *
 * The interface is the subset of Map<number, number> the objects use (get, has, set, delete,
 * size, keys, iteration as [pindex, frame] pairs). Iteration visits chunks in the order they
 * were created and pages in ascending order inside a chunk; callers that need address order
 * sort. Indices below 2^31 split with shifts, larger ones (a file offset reaches 2^41 pages)
 * with division. Deleting while iterating is allowed (a deleted page is not visited if not reached yet).
 *
 * Guarded by: the owning object's lock (one thread).
 */

/** Pages per chunk (a power of two): 128 pages = 512 bytes of chunk. */
export const CHUNK_SHIFT = 7;
export const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;

export class PageIndex {
  /** Chunks by chunk number; null until the first page. */
  #chunks: Map<number, Int32Array> | null = null;
  #size = 0;
  /** The chunk of the last lookup (NaN: none). */
  #lastKey = Number.NaN;
  #last: Int32Array | undefined = undefined;

  /** Number of resident pages. */
  get size(): number {
    return this.#size;
  }

  #chunk(key: number): Int32Array | undefined {
    if (key === this.#lastKey) return this.#last;
    if (this.#chunks === null) return undefined;
    const c = this.#chunks.get(key);
    if (c !== undefined) {
      this.#lastKey = key;
      this.#last = c;
    }
    return c;
  }

  /** The frame of page `p`, or undefined. */
  get(p: number): number | undefined {
    if ((p | 0) === p && p >= 0) {
      const c = this.#chunk(p >> CHUNK_SHIFT);
      if (c === undefined) return undefined;
      const v = c[p & CHUNK_MASK];
      return v === 0 ? undefined : v - 1;
    }
    return this.#getSlow(p);
  }

  #getSlow(p: number): number | undefined {
    if (!Number.isSafeInteger(p) || p < 0) return undefined;
    const key = Math.floor(p / CHUNK_PAGES);
    const c = this.#chunk(key);
    if (c === undefined) return undefined;
    const v = c[p - key * CHUNK_PAGES];
    return v === 0 ? undefined : v - 1;
  }

  /** The frame of page `p`, or -1 (no allocation, no undefined). */
  frame(p: number): number {
    if ((p | 0) === p && p >= 0) {
      const c = this.#chunk(p >> CHUNK_SHIFT);
      return c === undefined ? -1 : c[p & CHUNK_MASK] - 1;
    }
    const f = this.#getSlow(p);
    return f === undefined ? -1 : f;
  }

  has(p: number): boolean {
    return this.frame(p) >= 0;
  }

  /** Sets page `p` to `frame` (a non-negative integer below 2^31 - 1). */
  set(p: number, frame: number): this {
    if (!Number.isSafeInteger(p) || p < 0) throw new RangeError(`PageIndex: bad page index ${p}`);
    const small = (p | 0) === p;
    const key = small ? p >> CHUNK_SHIFT : Math.floor(p / CHUNK_PAGES);
    const i = small ? p & CHUNK_MASK : p - key * CHUNK_PAGES;
    let c = this.#chunk(key);
    if (c === undefined) {
      c = new Int32Array(CHUNK_PAGES + 1);
      if (this.#chunks === null) this.#chunks = new Map();
      this.#chunks.set(key, c);
      this.#lastKey = key;
      this.#last = c;
    }
    if (c[i] === 0) {
      this.#size++;
      c[CHUNK_PAGES]++;
    }
    c[i] = frame + 1;
    return this;
  }

  /** Removes page `p`; true when it was there. */
  delete(p: number): boolean {
    if (!Number.isSafeInteger(p) || p < 0) return false;
    const small = (p | 0) === p;
    const key = small ? p >> CHUNK_SHIFT : Math.floor(p / CHUNK_PAGES);
    const i = small ? p & CHUNK_MASK : p - key * CHUNK_PAGES;
    const c = this.#chunk(key);
    if (c === undefined || c[i] === 0) return false;
    c[i] = 0;
    this.#size--;
    if (--c[CHUNK_PAGES] === 0) {
      this.#chunks!.delete(key);
      if (this.#lastKey === key) {
        this.#lastKey = Number.NaN;
        this.#last = undefined;
      }
    }
    return true;
  }

  /** Page indices, chunk by chunk. */
  *keys(): IterableIterator<number> {
    if (this.#chunks === null) return;
    for (const [key, c] of this.#chunks) {
      const base = key * CHUNK_PAGES;
      for (let i = 0; i < CHUNK_PAGES; i++) if (c[i] !== 0) yield base + i;
    }
  }

  /** [page index, frame] pairs, chunk by chunk. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    if (this.#chunks === null) return;
    for (const [key, c] of this.#chunks) {
      const base = key * CHUNK_PAGES;
      for (let i = 0; i < CHUNK_PAGES; i++) if (c[i] !== 0) yield [base + i, c[i] - 1];
    }
  }

  /**
   * Calls fn(pindex, frame) for each resident page with index in [start, end), in ascending
   * order, visiting only the chunks that overlap the range when it is wider than the index.
   */
  forEachIn(start: number, end: number, fn: (p: number, frame: number) => void): void {
    const chunks = this.#chunks;
    if (chunks === null || this.#size === 0 || start >= end) return;
    if ((end - start) / CHUNK_PAGES > chunks.size) {
      const keys = Float64Array.from(chunks.keys()).sort();
      for (const key of keys) {
        const base = key * CHUNK_PAGES;
        if (base + CHUNK_PAGES <= start || base >= end) continue;
        this.#visit(key, Math.max(start, base), Math.min(end, base + CHUNK_PAGES), fn);
      }
      return;
    }
    for (let p = start; p < end; ) {
      const key = Math.floor(p / CHUNK_PAGES);
      const hi = Math.min(end, (key + 1) * CHUNK_PAGES);
      this.#visit(key, p, hi, fn);
      p = hi;
    }
  }

  #visit(key: number, from: number, to: number, fn: (p: number, frame: number) => void): void {
    const base = key * CHUNK_PAGES;
    for (let p = from; p < to; p++) {
      // Re-read the chunk each time: fn may delete pages (and drop the chunk).
      const c = this.#chunk(key);
      if (c === undefined) return;
      const v = c[p - base];
      if (v !== 0) fn(p, v - 1);
    }
  }
}
