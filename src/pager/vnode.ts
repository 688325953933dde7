/**
 * The pager contract and the vnode pager: where a file-backed object's pages come from and
 * where its dirty pages go (FreeBSD sys/vm/vnode_pager.c, reduced to what an embedder's file
 * needs).
 *
 * A `Vnode` is anything with a size and positional read/write/truncate: an in-memory
 * `MemoryFile` here, a host file in `vmspace/node`, or an embedder's own file system. The
 * object layer sees only `ObjectPager` (declared here, so that this layer does not import the
 * object layer): `getPage` fills one page from the file and says whether the page lies within
 * the file at all; `putPages` writes a run of consecutive pages back in one call, never past
 * the end of the file (a page straddling EOF writes only its head, as vnode_pager_putpages
 * clips to v_size). A run goes to the file as one gathered write when the Vnode offers
 * `writev` (a host file: one pwritev(2) instead of one write per page), else chunk by chunk.
 *
 * Non-obvious choice: the file's size is read at every page-in rather than cached in the
 * object, because an embedder may resize its file behind our back; an access to a page wholly
 * beyond EOF is the pager's "bad page" (the fault handler turns it into SIGBUS, BUS_OBJERR).
 *
 * Guarded by: the object lock of the object that owns the pager (one thread here).
 */

/** A file as the VM sees it. `read` returns fewer bytes at end of file. */
export interface Vnode {
  /** Bytes in the file. */
  readonly size: number;
  read(position: number, length: number): Uint8Array;
  /** Writes `bytes` at `position` (growing the file); returns the number written. */
  write(position: number, bytes: Uint8Array): number;
  truncate(length: number): void;
  /**
   * Optional gathered write: the chunks back to back from `position` (growing the file);
   * returns the number of bytes written. The pager uses it for runs of dirty pages.
   */
  writev?(position: number, chunks: readonly Uint8Array[]): number;
}

/** What the object layer asks of a pager. */
export interface ObjectPager {
  readonly vnode: Vnode;
  /** A name for views (a path), or null. */
  readonly path: string | null;
  /** True when byte `offset` of the object lies inside the file. */
  hasPage(offset: number): boolean;
  /** Copies the page at byte `offset` into `dst` (zero-filled past EOF). */
  getPage(offset: number, dst: Uint8Array): void;
  /** Writes `src` (one page) at byte `offset`, clipped to the file's size. */
  putPage(offset: number, src: Uint8Array): void;
  /** Writes consecutive pages from byte `offset` on, clipped to the file's size. */
  putPages(offset: number, pages: readonly Uint8Array[]): void;
}

/** The vnode pager of one file. */
export class VnodePager implements ObjectPager {
  readonly vnode: Vnode;
  readonly path: string | null;
  /** Pages read and written through this pager (statistics). */
  pageins = 0;
  pageouts = 0;

  constructor(vnode: Vnode, path: string | null = null) {
    this.vnode = vnode;
    this.path = path;
  }

  hasPage(offset: number): boolean {
    return offset < this.vnode.size;
  }

  getPage(offset: number, dst: Uint8Array): void {
    const bytes = this.vnode.read(offset, dst.length);
    dst.set(bytes.length > dst.length ? bytes.subarray(0, dst.length) : bytes);
    if (bytes.length < dst.length) dst.fill(0, bytes.length);
    this.pageins++;
  }

  putPage(offset: number, src: Uint8Array): void {
    this.putPages(offset, [src]);
  }

  putPages(offset: number, pages: readonly Uint8Array[]): void {
    const size = this.vnode.size;
    if (offset >= size || pages.length === 0) return;
    // Clip the run to the file: whole pages below EOF, the head of the page straddling it.
    const chunks: Uint8Array[] = [];
    let at = offset;
    for (const pg of pages) {
      if (at >= size) break;
      const n = Math.min(pg.length, size - at);
      chunks.push(n === pg.length ? pg : pg.subarray(0, n));
      at += n;
    }
    const v = this.vnode;
    if (chunks.length > 1 && v.writev !== undefined) v.writev(offset, chunks);
    else {
      let pos = offset;
      for (const c of chunks) {
        v.write(pos, c);
        pos += c.length;
      }
    }
    this.pageouts += chunks.length;
  }
}

/** A resizable file held in memory. */
export class MemoryFile implements Vnode {
  #bytes: Uint8Array;
  #size: number;

  /** Starts with a copy of `initial`, or `initial` zero bytes, or empty. */
  constructor(initial?: Uint8Array | number) {
    if (typeof initial === "number") {
      if (!Number.isSafeInteger(initial) || initial < 0)
        throw new RangeError(`MemoryFile: size ${initial} is not a safe non-negative integer`);
      this.#bytes = new Uint8Array(Math.max(initial, 16));
      this.#size = initial;
    } else {
      this.#bytes = new Uint8Array(Math.max(initial?.length ?? 0, 16));
      if (initial !== undefined) this.#bytes.set(initial);
      this.#size = initial?.length ?? 0;
    }
  }

  get size(): number {
    return this.#size;
  }

  read(position: number, length: number): Uint8Array {
    MemoryFile.#check(position, "position");
    MemoryFile.#check(length, "length");
    const end = Math.min(this.#size, position + length);
    return position >= end ? new Uint8Array(0) : this.#bytes.slice(position, end);
  }

  write(position: number, bytes: Uint8Array): number {
    MemoryFile.#check(position, "position");
    const end = position + bytes.length;
    this.#reserve(end);
    this.#bytes.set(bytes, position);
    if (end > this.#size) this.#size = end;
    return bytes.length;
  }

  truncate(length: number): void {
    MemoryFile.#check(length, "length");
    this.#reserve(length);
    if (length < this.#size) this.#bytes.fill(0, length, this.#size);
    this.#size = length;
  }

  /** A copy of the whole contents. */
  contents(): Uint8Array {
    return this.#bytes.slice(0, this.#size);
  }

  #reserve(n: number): void {
    if (n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(n, this.#bytes.length * 2));
    grown.set(this.#bytes.subarray(0, this.#size));
    this.#bytes = grown;
  }

  static #check(v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`MemoryFile: ${what} ${v} is not a safe non-negative integer`);
  }
}
