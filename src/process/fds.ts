/**
 * A process's descriptor table: what mmap(2) looks a descriptor up in. Descriptors are small
 * integers from 0 up, the lowest free one is handed out first (as open(2) does), and fork
 * copies the table (both processes then hold the same open files).
 *
 * Guarded by: the process (one thread).
 */

import type { Vnode } from "../pager/vnode.js";

/** How a file was opened. */
export type OpenMode = "r" | "w" | "rw";

/** One open file. */
export interface OpenFile {
  readonly vnode: Vnode;
  readonly mode: OpenMode;
  /** A name for views (maps' path column), or null. */
  readonly path: string | null;
}

export class FdTable {
  readonly #files: (OpenFile | undefined)[] = [];

  /** Opens `vnode` with `mode` and returns the lowest free descriptor. */
  open(vnode: Vnode, mode: OpenMode = "rw", path: string | null = null): number {
    if (mode !== "r" && mode !== "w" && mode !== "rw")
      throw new RangeError(`fds.open: mode '${String(mode)}' is not "r", "w" or "rw"`);
    if (vnode === null || typeof vnode !== "object" || typeof vnode.read !== "function")
      throw new TypeError("fds.open: not a Vnode (size, read, write, truncate)");
    let fd = this.#files.indexOf(undefined);
    if (fd < 0) fd = this.#files.length;
    this.#files[fd] = { vnode, mode, path };
    return fd;
  }

  /** Closes `fd`; false if it was not open. Mappings made through it stay. */
  close(fd: number): boolean {
    if (this.get(fd) === undefined) return false;
    this.#files[fd] = undefined;
    while (this.#files.length > 0 && this.#files[this.#files.length - 1] === undefined)
      this.#files.pop();
    return true;
  }

  /** The open file behind `fd`, or undefined. */
  get(fd: number): OpenFile | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.#files[fd] : undefined;
  }

  /** Open descriptors in increasing order. */
  list(): number[] {
    const out: number[] = [];
    this.#files.forEach((f, i) => {
      if (f !== undefined) out.push(i);
    });
    return out;
  }

  /** @internal fork: a copy of the table sharing the open files. */
  _clone(): FdTable {
    const t = new FdTable();
    for (let i = 0; i < this.#files.length; i++) t.#files[i] = this.#files[i];
    return t;
  }
}
