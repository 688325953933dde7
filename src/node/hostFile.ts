/**
 * HostFile: a real file on the host's disk as a `Vnode`, read and written with node:fs
 * positional calls (pread/pwrite/pwritev/ftruncate on one descriptor). Node-only: it lives
 * behind `vmspace/node`, never in the browser-safe entry.
 *
 * Non-obvious choices:
 *  - `size` asks the host (fstat) every time instead of caching it, because another program
 *    may change the file; the vnode pager reads the size once per page-in and once per run of
 *    pages written back.
 *  - `writev` gathers a run of pages into one pwritev(2), so msync of many dirty pages costs
 *    about what one write of the same bytes costs (see BENCHMARKS.md).
 *  - Opening never truncates: mode "w" and "rw" create a missing file (empty) and keep an
 *    existing one, as open(2) with O_CREAT and without O_TRUNC does.
 *
 * Guarded by: the caller (one thread); after close() every operation throws.
 */

import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
  writevSync,
} from "node:fs";
import type { Vnode } from "../index.js";

/** How a host file is opened: as the descriptor modes of `p.fds.open`. */
export type HostFileMode = "r" | "w" | "rw";

export class HostFile implements Vnode {
  /** The path it was opened with (constant). */
  readonly path: string;
  readonly mode: HostFileMode;
  /** The host descriptor, -1 once closed. */
  #fd: number;

  private constructor(path: string, mode: HostFileMode, fd: number) {
    this.path = path;
    this.mode = mode;
    this.#fd = fd;
  }

  /**
   * Opens `path`: "r" read-only (the file must exist), "w" write-only, "rw" read-write ("w"
   * and "rw" create a missing file; nothing is truncated). Throws node's error (ENOENT,
   * EACCES, ...) when the host refuses. Example:
   * ```ts
   * const f = HostFile.open("/tmp/data.bin", "rw");
   * const fd = p.fds.open(f, "rw", f.path);
   * const a = p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   * ```
   */
  static open(path: string, mode: HostFileMode = "rw"): HostFile {
    if (mode !== "r" && mode !== "w" && mode !== "rw")
      throw new RangeError(`HostFile.open: mode '${String(mode)}' is not "r", "w" or "rw"`);
    const c = constants;
    const flags = mode === "r" ? c.O_RDONLY : (mode === "w" ? c.O_WRONLY : c.O_RDWR) | c.O_CREAT;
    return new HostFile(path, mode, openSync(path, flags, 0o644));
  }

  #live(what: string): number {
    if (this.#fd < 0) throw new Error(`HostFile ${this.path}: ${what} after close`);
    return this.#fd;
  }

  static #check(v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`HostFile: ${what} ${v} is not a safe non-negative integer`);
  }

  /** Bytes in the file, as the host says now. */
  get size(): number {
    return fstatSync(this.#live("size")).size;
  }

  /** Up to `length` bytes from `position`; fewer at end of file. */
  read(position: number, length: number): Uint8Array {
    HostFile.#check(position, "position");
    HostFile.#check(length, "length");
    const fd = this.#live("read");
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? out : out.subarray(0, done);
  }

  /** Writes all of `bytes` at `position` (growing the file); returns bytes.length. */
  write(position: number, bytes: Uint8Array): number {
    HostFile.#check(position, "position");
    const fd = this.#live("write");
    let done = 0;
    while (done < bytes.length)
      done += writeSync(fd, bytes, done, bytes.length - done, position + done);
    return bytes.length;
  }

  /** The chunks back to back from `position`, with as few pwritev(2) calls as the host allows. */
  writev(position: number, chunks: readonly Uint8Array[]): number {
    HostFile.#check(position, "position");
    const fd = this.#live("writev");
    let total = 0;
    for (const c of chunks) total += c.length;
    const n = writevSync(fd, chunks as Uint8Array[], position);
    if (n < total) {
      // A short gathered write (rare for a regular file): finish chunk by chunk.
      let skip = n;
      let pos = position + n;
      for (const c of chunks) {
        if (skip >= c.length) {
          skip -= c.length;
          continue;
        }
        pos += this.write(pos, c.subarray(skip));
        skip = 0;
      }
    }
    return total;
  }

  /** Sets the file's length (zeros when it grows). */
  truncate(length: number): void {
    HostFile.#check(length, "length");
    ftruncateSync(this.#live("truncate"), length);
  }

  /** Closes the host descriptor. Mappings of the file must be gone (or synced) by then. */
  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  /** False once closed. */
  get isOpen(): boolean {
    return this.#fd >= 0;
  }
}
