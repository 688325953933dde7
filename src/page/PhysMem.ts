/**
 * Physical memory: page frames in one ArrayBuffer, their metadata in typed arrays.
 *
 * Frame f occupies bytes [f * pageSize, (f + 1) * pageSize) of `bytes`. Per-frame metadata
 * (STYLE habit 14: typed arrays, not one object per page):
 *   owner   Int32Array   id of the VM object holding the page (-1: none)          page lock
 *   pindex  Float64Array page index in the owner                                  page lock
 *   wire    Uint16Array  wire count                                               page lock
 *   queue   Uint8Array   which queue the frame is on (Q_FREE, Q_ACTIVE, ...)       queue lock
 *   flags   Uint8Array   PG_* flags                                                page lock
 *   qnext / qprev Int32Array  links of the frame's queue (-1: end)                 queue lock
 * = 4 + 8 + 2 + 1 + 1 + 4 + 4 = 24 bytes per frame.
 *
 * Queues: free, active, inactive (candidates for reclaim, scanned by the page daemon in
 * FIFO order) and none (wired pages leave the paging queues). Every frame is on exactly one.
 * A frame is zero-filled when it is freed, so no byte of a previous owner is ever handed out
 * (and allocation of a zero page needs no second pass).
 *
 * Guarded by: the page and queue locks (one thread: any caller).
 */

import { panic } from "../base/assert.js";

export const Q_NONE = 0;
export const Q_FREE = 1;
export const Q_ACTIVE = 2;
export const Q_INACTIVE = 3;
export const QUEUE_NAMES = ["none", "free", "active", "inactive"] as const;

/** The page has been modified relative to its pager's copy. */
export const PG_DIRTY = 0x01;
/** The page's contents are valid (a freshly allocated page is not). */
export const PG_VALID = 0x02;
/** The page daemon referenced bit, aggregated from the pmaps at scan time. */
export const PG_REFERENCED = 0x04;
/**
 * The page is in use by an operation that may sleep for memory (a copy-on-write copy whose
 * destination is being allocated, a page-in): the page daemon leaves it alone (vm_page_xbusy).
 */
export const PG_BUSY = 0x08;

/** Bytes of metadata kept per frame (see the prologue). */
export const METADATA_BYTES_PER_FRAME = 24;

export interface PhysMemOptions {
  pageSize: number;
  /** Bytes of frames; rounded down to whole pages. */
  physicalMemory: number;
  /** Back the frames with a SharedArrayBuffer (for sharing with workers). */
  shared?: boolean;
}

export class PhysMem {
  /** Page size in bytes (constant). */
  readonly pageSize: number;
  /** log2(pageSize) (constant). */
  readonly pageShift: number;
  /** Number of frames (constant). */
  readonly nframes: number;
  /** The frames (constant buffer; contents guarded by the owner's page). */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly owner: Int32Array;
  readonly pindex: Float64Array;
  readonly wire: Uint16Array;
  readonly queue: Uint8Array;
  readonly flags: Uint8Array;
  readonly qnext: Int32Array;
  readonly qprev: Int32Array;
  /** Queue heads, tails and lengths, indexed by Q_*. */
  readonly qhead = new Int32Array(4).fill(-1);
  readonly qtail = new Int32Array(4).fill(-1);
  readonly qlen = new Int32Array(4);

  constructor(opts: PhysMemOptions) {
    const ps = opts.pageSize;
    this.pageSize = ps;
    this.pageShift = Math.round(Math.log2(ps));
    const n = Math.floor(opts.physicalMemory / ps);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new RangeError(`PhysMem: physicalMemory ${opts.physicalMemory} holds no page`);
    this.nframes = n;
    this.buffer = opts.shared ? new SharedArrayBuffer(n * ps) : new ArrayBuffer(n * ps);
    this.bytes = new Uint8Array(this.buffer);
    this.owner = new Int32Array(n).fill(-1);
    this.pindex = new Float64Array(n);
    this.wire = new Uint16Array(n);
    this.queue = new Uint8Array(n);
    this.flags = new Uint8Array(n);
    this.qnext = new Int32Array(n).fill(-1);
    this.qprev = new Int32Array(n).fill(-1);
    for (let f = 0; f < n; f++) this.#enqueue(f, Q_FREE);
  }

  /** Frames on the free queue. */
  get freeCount(): number {
    return this.qlen[Q_FREE];
  }

  /** Links frame f into queue q: at the tail, or at the head (the next to be taken). */
  #enqueue(f: number, q: number, head = false): void {
    this.queue[f] = q;
    const p = head ? -1 : this.qtail[q];
    const nx = head ? this.qhead[q] : -1;
    this.qprev[f] = p;
    this.qnext[f] = nx;
    if (p < 0) this.qhead[q] = f;
    else this.qnext[p] = f;
    if (nx < 0) this.qtail[q] = f;
    else this.qprev[nx] = f;
    this.qlen[q]++;
  }

  #dequeue(f: number): void {
    const q = this.queue[f];
    const p = this.qprev[f];
    const nx = this.qnext[f];
    if (p < 0) this.qhead[q] = nx;
    else this.qnext[p] = nx;
    if (nx < 0) this.qtail[q] = p;
    else this.qprev[nx] = p;
    this.qnext[f] = this.qprev[f] = -1;
    this.qlen[q]--;
    this.queue[f] = Q_NONE;
  }

  /** Moves frame f to the tail of queue q. */
  requeue(f: number, q: number): void {
    this.#dequeue(f);
    this.#enqueue(f, q);
  }

  /**
   * vm_page_alloc: takes a free frame for page `pindex` of object `ownerId` and puts it on the
   * active queue. The frame's bytes are zero (frames are cleared when freed). Returns -1 when
   * no frame is free (the caller reclaims memory and retries).
   */
  alloc(ownerId: number, pindex: number): number {
    const f = this.qhead[Q_FREE];
    if (f < 0) return -1;
    this.#dequeue(f);
    this.owner[f] = ownerId;
    this.pindex[f] = pindex;
    this.flags[f] = 0;
    this.wire[f] = 0;
    this.#enqueue(f, Q_ACTIVE);
    return f;
  }

  /**
   * vm_page_free: clears the frame's bytes and metadata and returns it to the head of the free
   * queue (the next frame alloc hands out).
   */
  free(f: number): void {
    if (this.queue[f] === Q_FREE) panic("vm_page_free", `frame ${f} is already free`);
    if (this.wire[f] !== 0) panic("vm_page_free", `frame ${f} is wired`);
    this.#dequeue(f);
    const ps = this.pageSize;
    this.bytes.fill(0, f * ps, f * ps + ps);
    this.owner[f] = -1;
    this.pindex[f] = 0;
    this.flags[f] = 0;
    // At the head: the next allocation takes the frame just cleared, still in the caches, as
    // FreeBSD's per-CPU page caches (UMA buckets, last in, first out) hand out the page freed
    // last; its buddy lists below them add at the tail.
    this.#enqueue(f, Q_FREE, true);
  }

  /** vm_page_wire: one more wiring; a wired frame leaves the paging queues. */
  wireFrame(f: number): void {
    if (this.wire[f]++ === 0 && this.queue[f] !== Q_NONE) this.#dequeue(f);
  }

  /** vm_page_unwire: one wiring less; the last one puts the frame back on the active queue. */
  unwireFrame(f: number): void {
    if (this.wire[f] === 0) panic("vm_page_unwire", `frame ${f} is not wired`);
    if (--this.wire[f] === 0) this.#enqueue(f, Q_ACTIVE);
  }

  /** Number of wired frames. */
  get wiredCount(): number {
    return this.nframes - this.qlen[Q_FREE] - this.qlen[Q_ACTIVE] - this.qlen[Q_INACTIVE];
  }

  /** Copies frame `src` into frame `dst`. */
  copyFrame(src: number, dst: number): void {
    const ps = this.pageSize;
    this.bytes.copyWithin(dst * ps, src * ps, src * ps + ps);
  }

  /**
   * Checks the queues against the per-frame queue tags and lengths; panics on the first
   * inconsistency.
   */
  check(): void {
    const seen = new Uint8Array(this.nframes);
    for (let q = 1; q < 4; q++) {
      let n = 0;
      let prev = -1;
      for (let f = this.qhead[q]; f >= 0; f = this.qnext[f]) {
        if (this.queue[f] !== q)
          panic("vm_page_check", `frame ${f} on queue ${q} tagged ${this.queue[f]}`);
        if (this.qprev[f] !== prev) panic("vm_page_check", `queue ${q} back link broken at ${f}`);
        if (seen[f]++) panic("vm_page_check", `frame ${f} twice on the queues`);
        prev = f;
        n++;
      }
      if (this.qtail[q] !== prev) panic("vm_page_check", `queue ${q} tail is wrong`);
      if (n !== this.qlen[q]) panic("vm_page_check", `queue ${q} length ${this.qlen[q]} != ${n}`);
    }
    for (let f = 0; f < this.nframes; f++) {
      const q = this.queue[f];
      if (q === Q_FREE && this.owner[f] !== -1)
        panic("vm_page_check", `free frame ${f} has an owner`);
      if (q !== Q_FREE && this.owner[f] === -1)
        panic("vm_page_check", `frame ${f} in use without owner`);
      if (q === Q_NONE && this.wire[f] === 0)
        panic("vm_page_check", `frame ${f} off the queues but not wired`);
      if (q !== Q_NONE && this.wire[f] !== 0)
        panic("vm_page_check", `wired frame ${f} on queue ${q}`);
    }
  }
}
