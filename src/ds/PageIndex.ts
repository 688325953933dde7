/**
 * The resident-page index of a VM object: page index -> frame.
 *
 * FreeBSD keeps an object's pages in a radix trie (vm_radix) keyed by page index, so that the
 * fault path finds a page with a few array loads. This is the same idea, one level deep: the
 * index space is cut into chunks of CHUNK_PAGES consecutive pages. A chunk is an Int32Array
 * holding its count of resident pages at [0], then `frame + 1` per page (0: not resident). It
 * is as long as the highest page it has held needs (a power of two, at least MIN_CHUNK_PAGES)
 * and doubles when a higher one comes: a one-page object needs a few words, not 128.
 *
 * The first chunk lives in fields of the index; further ones in a Map by chunk number, made
 * when the second chunk is. Most objects of an address space are small, and an empty Map or a
 * full-length chunk would each cost more than the object itself. The chunk of the last lookup
 * is remembered, so the faults of a sequential sweep (and the prefault of the neighbours) read
 * one typed array and make no Map call. A chunk is dropped when its last page goes.
 *
 * The interface is the subset of Map<number, number> the objects use (get, has, set, delete,
 * size, keys, iteration as [pindex, frame] pairs). Iteration visits chunks in no particular
 * order and pages in ascending order inside a chunk; callers that need address order sort.
 * Indices below 2^31 split with shifts, larger ones (a file offset reaches 2^41 pages) with
 * division. Deleting while iterating is allowed (a deleted page is not visited if not reached
 * yet).
 *
 * Guarded by: the owning object's lock (one thread).
 */

/** Pages per chunk (a power of two): 128 pages = 512 bytes of a full chunk. */
export const CHUNK_SHIFT = 7;
export const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;
/** Pages a new chunk has room for at least (a power of two). */
export const MIN_CHUNK_PAGES = 4;

/** Room for page slot `i` (0-based) in a chunk: a power of two >= i + 1, within the bounds. */
function roomFor(i: number): number {
  let n = MIN_CHUNK_PAGES;
  while (n <= i) n *= 2;
  return n;
}

export class PageIndex {
  /** The first chunk and its number (NaN and undefined: none). */
  #key0 = Number.NaN;
  #chunk0: Int32Array | undefined = undefined;
  /** The other chunks by chunk number; null until a second chunk exists. */
  #more: Map<number, Int32Array> | null = null;
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
    let c: Int32Array | undefined;
    if (key === this.#key0) c = this.#chunk0;
    else if (this.#more !== null) c = this.#more.get(key);
    if (c !== undefined) {
      this.#lastKey = key;
      this.#last = c;
    }
    return c;
  }

  /** Puts chunk c under `key`: a new chunk, or (`grown`) a longer copy of the one there. */
  #store(key: number, c: Int32Array, grown: boolean): void {
    if (grown ? key === this.#key0 : this.#chunk0 === undefined) {
      this.#key0 = key;
      this.#chunk0 = c;
    } else {
      if (this.#more === null) this.#more = new Map();
      this.#more.set(key, c);
    }
    this.#lastKey = key;
    this.#last = c;
  }

  #drop(key: number): void {
    if (key === this.#key0) {
      this.#key0 = Number.NaN;
      this.#chunk0 = undefined;
    } else this.#more!.delete(key);
    if (this.#lastKey === key) {
      this.#lastKey = Number.NaN;
      this.#last = undefined;
    }
  }

  /** Every chunk with its number. */
  *#chunks(): IterableIterator<[number, Int32Array]> {
    if (this.#chunk0 !== undefined) yield [this.#key0, this.#chunk0];
    if (this.#more !== null) yield* this.#more;
  }

  /** The frame of page `p`, or undefined. */
  get(p: number): number | undefined {
    const f = this.frame(p);
    return f < 0 ? undefined : f;
  }

  /** The frame of page `p`, or -1 (no allocation, no undefined). */
  frame(p: number): number {
    let key: number;
    let j: number;
    if ((p | 0) === p && p >= 0) {
      key = p >> CHUNK_SHIFT;
      j = (p & CHUNK_MASK) + 1;
    } else {
      if (!Number.isSafeInteger(p) || p < 0) return -1;
      key = Math.floor(p / CHUNK_PAGES);
      j = p - key * CHUNK_PAGES + 1;
    }
    const c = this.#chunk(key);
    return c === undefined || j >= c.length ? -1 : c[j] - 1;
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
      c = new Int32Array(1 + roomFor(i));
      this.#store(key, c, false);
    } else if (i + 1 >= c.length) {
      const grown = new Int32Array(1 + roomFor(i));
      grown.set(c);
      c = grown;
      this.#store(key, c, true);
    }
    if (c[i + 1] === 0) {
      this.#size++;
      c[0]++;
    }
    c[i + 1] = frame + 1;
    return this;
  }

  /** Removes page `p`; true when it was there. */
  delete(p: number): boolean {
    if (!Number.isSafeInteger(p) || p < 0) return false;
    const small = (p | 0) === p;
    const key = small ? p >> CHUNK_SHIFT : Math.floor(p / CHUNK_PAGES);
    const j = (small ? p & CHUNK_MASK : p - key * CHUNK_PAGES) + 1;
    const c = this.#chunk(key);
    if (c === undefined || j >= c.length || c[j] === 0) return false;
    c[j] = 0;
    this.#size--;
    if (--c[0] === 0) this.#drop(key);
    return true;
  }

  /** Page indices, chunk by chunk. */
  *keys(): IterableIterator<number> {
    for (const [key, c] of this.#chunks()) {
      const base = key * CHUNK_PAGES - 1;
      for (let j = 1; j < c.length; j++) if (c[j] !== 0) yield base + j;
    }
  }

  /** [page index, frame] pairs, chunk by chunk. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (const [key, c] of this.#chunks()) {
      const base = key * CHUNK_PAGES - 1;
      for (let j = 1; j < c.length; j++) if (c[j] !== 0) yield [base + j, c[j] - 1];
    }
  }

  /**
   * Calls fn(pindex, frame) for each resident page with index in [start, end), in ascending
   * order, visiting only the chunks that overlap the range when it is wider than the index.
   */
  forEachIn(start: number, end: number, fn: (p: number, frame: number) => void): void {
    if (this.#size === 0 || start >= end) return;
    const nchunks = (this.#chunk0 !== undefined ? 1 : 0) + (this.#more?.size ?? 0);
    if ((end - start) / CHUNK_PAGES > nchunks) {
      const keys = Float64Array.from(this.#chunks(), ([key]) => key).sort();
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
    const base = key * CHUNK_PAGES - 1;
    for (let p = from; p < to; p++) {
      // Re-read the chunk each time: fn may delete pages (and drop the chunk).
      const c = this.#chunk(key);
      if (c === undefined) return;
      const j = p - base;
      if (j >= c.length) return;
      const v = c[j];
      if (v !== 0) fn(p, v - 1);
    }
  }
}
