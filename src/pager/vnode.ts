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
 * I/O errors: a Vnode reports a failed read or write by throwing an error whose `code` is
 * "EIO" or "ENOSPC" (what node:fs throws for a disk error or a full disk, so a `HostFile`
 * needs no translation). The pager turns such a throw into a value (`PagerError`), as the swap
 * backend reports its failures: a failed page-in is SIGBUS for the faulting access, a failed
 * write leaves the pages resident and dirty (msync reports it; the page daemon tries again
 * later). Anything else a Vnode throws is a bug of the Vnode and propagates. `FaultyFile`
 * wraps a Vnode and fails chosen reads and writes that way, for tests and teaching.
 *
 * Guarded by: the object lock of the object that owns the pager (one thread here).
 */

/** Why a file read or write failed (the `code` of what the Vnode threw). */
export type PagerError = "EIO" | "ENOSPC";

/**
 * The PagerError a Vnode's throw stands for, or null when `e` is not an I/O error (a bug,
 * which the caller lets propagate).
 */
export function pagerError(e: unknown): PagerError | null {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return code === "EIO" || code === "ENOSPC" ? code : null;
}

/**
 * A file as the VM sees it. `read` returns fewer bytes at end of file. A failed read or write
 * throws an error with `code` "EIO" or "ENOSPC" (as node:fs does) and should store nothing.
 */
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
  /**
   * Copies the page at byte `offset` into `dst` (zero-filled past EOF). Returns null, or the
   * file's error (`dst` is then unspecified).
   */
  getPage(offset: number, dst: Uint8Array): PagerError | null;
  /** Writes `src` (one page) at byte `offset`, clipped to the file's size; null or the error. */
  putPage(offset: number, src: Uint8Array): PagerError | null;
  /**
   * Writes consecutive pages from byte `offset` on, clipped to the file's size; `pages` holds
   * their bytes back to back in one or more chunks (a chunk may span several pages whose
   * frames are consecutive). Returns null,
   * or the file's error (some of the run may have reached the file: the caller keeps every
   * page of the run dirty).
   */
  putPages(offset: number, pages: readonly Uint8Array[]): PagerError | null;
}

/** The vnode pager of one file. */
export class VnodePager implements ObjectPager {
  readonly vnode: Vnode;
  readonly path: string | null;
  /** Statistics: pages read, and writes made (one per run of consecutive pages written). */
  pageins = 0;
  pageouts = 0;

  constructor(vnode: Vnode, path: string | null = null) {
    this.vnode = vnode;
    this.path = path;
  }

  hasPage(offset: number): boolean {
    return offset < this.vnode.size;
  }

  getPage(offset: number, dst: Uint8Array): PagerError | null {
    let bytes: Uint8Array;
    try {
      bytes = this.vnode.read(offset, dst.length);
    } catch (e) {
      const err = pagerError(e);
      if (err === null) throw e;
      return err;
    }
    dst.set(bytes.length > dst.length ? bytes.subarray(0, dst.length) : bytes);
    if (bytes.length < dst.length) dst.fill(0, bytes.length);
    this.pageins++;
    return null;
  }

  putPage(offset: number, src: Uint8Array): PagerError | null {
    return this.putPages(offset, [src]);
  }

  putPages(offset: number, pages: readonly Uint8Array[]): PagerError | null {
    const size = this.vnode.size;
    if (offset >= size || pages.length === 0) return null;
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
    try {
      if (chunks.length > 1 && v.writev !== undefined) v.writev(offset, chunks);
      else {
        let pos = offset;
        for (const c of chunks) {
          v.write(pos, c);
          pos += c.length;
        }
      }
    } catch (e) {
      const err = pagerError(e);
      if (err === null) throw e;
      return err;
    }
    this.pageouts++;
    return null;
  }
}

/** Which file operation a FaultyFile rule applies to. */
export type FileOp = "read" | "write";

/** A rule of FaultyFile: fail `op` with `error` (on byte ranges accepted by `where`). */
interface FileFaultRule {
  op: FileOp;
  error: PagerError;
  remaining: number;
  where: ((position: number, length: number) => boolean) | null;
}

/** The error a FaultyFile throws: `code` is "EIO" or "ENOSPC", as node:fs errors carry. */
export class FileIoError extends Error {
  readonly code: PagerError;
  constructor(code: PagerError, op: FileOp, position: number, length: number) {
    super(`${code}: injected ${op} failure at ${position} (+${length})`);
    this.name = "FileIoError";
    this.code = code;
  }
}

/**
 * Fault injection for files, the counterpart of FaultyBackend: wraps a Vnode and fails the
 * chosen reads or writes by throwing a FileIoError ("EIO" or "ENOSPC"). Rules are tried in
 * the order they were added; each fails at most `count` operations (default: all until
 * `heal()`). A failing write stores nothing; a failing read returns nothing; `size` and
 * `truncate` always pass through. Map the FaultyFile (not the file inside it). Example:
 * ```ts
 * const file = new FaultyFile(new MemoryFile(8 * 4096));
 * const fd = p.fds.open(file, "rw");
 * const a = p.mmap(0, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 * file.fail("read", "EIO", 1);   // the next page-in of the file raises SIGBUS (BUS_OBJERR)
 * file.fail("write", "ENOSPC");  // msync throws EIO, pageouts keep the pages resident and dirty
 * file.heal();                   // back to normal; nothing was lost
 * ```
 */
export class FaultyFile implements Vnode {
  readonly inner: Vnode;
  /** Operations failed so far, by kind. */
  failedReads = 0;
  failedWrites = 0;
  #rules: FileFaultRule[] = [];

  constructor(inner: Vnode = new MemoryFile()) {
    this.inner = inner;
  }

  /**
   * Fails the next `count` operations `op` (on the byte ranges `where` accepts, if given) with
   * `error`. Returns this, so rules chain.
   */
  fail(
    op: FileOp,
    error: PagerError = "EIO",
    count = Number.POSITIVE_INFINITY,
    where?: (position: number, length: number) => boolean,
  ): this {
    if (op !== "read" && op !== "write") throw new RangeError(`FaultyFile: bad op '${op}'`);
    if (error !== "EIO" && error !== "ENOSPC")
      throw new RangeError(`FaultyFile: bad error '${error}'`);
    if (!(count >= 0)) throw new RangeError(`FaultyFile: bad count ${count}`);
    this.#rules.push({ op, error, remaining: count, where: where ?? null });
    return this;
  }

  /** Drops every rule: from now on the inner file answers. */
  heal(): void {
    this.#rules = [];
  }

  /** True while some rule may still fail an operation. */
  get failing(): boolean {
    return this.#rules.length > 0;
  }

  #check(op: FileOp, position: number, length: number): void {
    const rules = this.#rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.op !== op || (r.where !== null && !r.where(position, length))) continue;
      if (--r.remaining <= 0) rules.splice(i, 1);
      if (op === "read") this.failedReads++;
      else this.failedWrites++;
      throw new FileIoError(r.error, op, position, length);
    }
  }

  get size(): number {
    return this.inner.size;
  }

  read(position: number, length: number): Uint8Array {
    this.#check("read", position, length);
    return this.inner.read(position, length);
  }

  write(position: number, bytes: Uint8Array): number {
    this.#check("write", position, bytes.length);
    return this.inner.write(position, bytes);
  }

  writev(position: number, chunks: readonly Uint8Array[]): number {
    let total = 0;
    for (const c of chunks) total += c.length;
    this.#check("write", position, total);
    const inner = this.inner;
    if (inner.writev !== undefined) return inner.writev(position, chunks);
    let pos = position;
    for (const c of chunks) pos += inner.write(pos, c);
    return pos - position;
  }

  truncate(length: number): void {
    this.inner.truncate(length);
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
