/**
 * POSIX shared memory: shm_open(2) and shm_unlink(2) objects (FreeBSD sys/kern/uipc_shm.c,
 * Linux's /dev/shm files).
 *
 * A shared-memory object is a `Vnode` with a name in its system's table: `sys.shmOpen(name)`
 * returns the object of that name (creating it, empty, when absent), so every opener gets the
 * same object until `sys.shmUnlink(name)` removes the name; objects already handed out (open
 * descriptors, mappings) keep working, and the next shmOpen of the name makes a new object.
 * It is mapped like a file (`p.fds.open(shm, "rw")`, then mmap MAP_SHARED or MAP_PRIVATE), so
 * every MAP_SHARED mapping in every process shares one copy of each page (the object's page
 * cache, as for any file), and ftruncate sets its size (`sys.ftruncate(shm, n)` or
 * `shm.truncate(n)`: pages past the new end leave every mapping; a later access is SIGBUS).
 *
 * Non-obvious choices:
 * - The bytes live in the object itself (a memory file, as Linux's /dev/shm is a tmpfs file)
 *   and the VM object is its page cache, created while something maps it. FreeBSD backs shm
 *   with a swap object instead; the difference shows only in where pageout sends a page (back
 *   into this object rather than to swap) and in the statistics.
 * - Unlike a MemoryFile, the object's own methods go through the page cache (as read(2),
 *   write(2) and ftruncate(2) on a shm descriptor do): a `write` shows in every mapping at once
 *   and `read` sees stores made through mappings.
 * - Names follow each personality: FreeBSD needs a leading "/" (EINVAL otherwise) and takes
 *   the name whole, slashes included, up to MAXPATHLEN (1024 bytes with its NUL, else
 *   ENAMETOOLONG); Linux (glibc) drops leading slashes, refuses "", ".", ".." and any other
 *   "/" with EINVAL and names longer than NAME_MAX (255) with ENAMETOOLONG. An unknown name is
 *   ENOENT for shm_unlink on both.
 * - maps() shows kind "shm" with the path procstat shows (the name, e.g. "/x") or that
 *   /proc/PID/maps shows ("/dev/shm/x", with " (deleted)" once unlinked).
 *
 * Guarded by: the system (one thread).
 */

import { cacheRead, cacheTruncate, cacheWrite } from "../object/pageCache.js";
import type { VmObject } from "../object/VmObject.js";
import {
  MemoryFile,
  type ObjectPager,
  type PagerError,
  type Vnode,
  VnodePager,
} from "../pager/vnode.js";

/** What a shm object needs of its system: its cached object, and the personality. */
export interface ShmHost {
  /** The object caching `vnode`'s pages while something maps it, or null. */
  cachedObject(vnode: Vnode): VmObject | null;
  readonly personality: "freebsd" | "linux";
}

/** A POSIX shared-memory object (see the prologue). */
export class ShmObject implements Vnode {
  /** The name it was opened with, normalised for its personality (constant). */
  readonly name: string;
  readonly #host: ShmHost;
  /** The bytes (what the page cache pages in from and writes back to). */
  readonly #store = new MemoryFile();
  #unlinked = false;

  /** @internal Use sys.shmOpen(name). */
  constructor(host: ShmHost, name: string) {
    this.#host = host;
    this.name = name;
  }

  /** True once shm_unlink removed its name. */
  get unlinked(): boolean {
    return this.#unlinked;
  }

  /** @internal shm_unlink. */
  _unlink(): void {
    this.#unlinked = true;
  }

  /** The path views show: FreeBSD's shm path, or Linux's /dev/shm file. */
  get path(): string {
    if (this.#host.personality === "freebsd") return this.name;
    return `/dev/shm/${this.name}${this.#unlinked ? " (deleted)" : ""}`;
  }

  get size(): number {
    return this.#store.size;
  }

  /** read(2): resident pages (possibly newer than the store) first, the store for the rest. */
  read(position: number, length: number): Uint8Array {
    const obj = this.#host.cachedObject(this);
    if (obj === null) return this.#store.read(position, length);
    const n = Math.max(0, Math.min(length, this.#store.size - position));
    const out = new Uint8Array(n);
    cacheRead(obj, position, out, (pos, dst) => dst.set(this.#store.read(pos, dst.length)));
    return out;
  }

  /** write(2): the store, then every resident page the bytes cover. */
  write(position: number, bytes: Uint8Array): number {
    const n = this.#store.write(position, bytes);
    const obj = this.#host.cachedObject(this);
    if (obj !== null) cacheWrite(obj, position, bytes.subarray(0, n));
    return n;
  }

  /** ftruncate(2) (shm_dotruncate): pages past the new end leave every mapping. */
  truncate(length: number): void {
    this.#store.truncate(length);
    const obj = this.#host.cachedObject(this);
    if (obj !== null) cacheTruncate(obj, length, this.#host.personality === "linux");
  }

  /** @internal The pager of its page cache: pages come from and go to the store. */
  _pager(): ObjectPager {
    return new ShmPager(this, this.#store);
  }
}

/** The pager of a shm object's page cache: the vnode pager of its store, named as the object. */
export class ShmPager implements ObjectPager {
  readonly shm: ShmObject;
  readonly #inner: VnodePager;

  constructor(shm: ShmObject, store: MemoryFile) {
    this.shm = shm;
    this.#inner = new VnodePager(store, null);
  }

  get vnode(): Vnode {
    return this.#inner.vnode;
  }
  get path(): string {
    return this.shm.path;
  }
  hasPage(offset: number): boolean {
    return this.#inner.hasPage(offset);
  }
  getPage(offset: number, dst: Uint8Array): PagerError | null {
    return this.#inner.getPage(offset, dst);
  }
  putPage(offset: number, src: Uint8Array): PagerError | null {
    return this.#inner.putPage(offset, src);
  }
  putPages(offset: number, pages: readonly Uint8Array[]): PagerError | null {
    return this.#inner.putPages(offset, pages);
  }
}

/**
 * The key a name is known by, or the errno that refuses it (see the prologue).
 */
export function shmKey(
  personality: "freebsd" | "linux",
  name: unknown,
): { key: string } | { err: "EINVAL" | "ENAMETOOLONG"; detail: string } {
  if (typeof name !== "string") return { err: "EINVAL", detail: "the name is not a string" };
  if (name.includes("\0")) return { err: "EINVAL", detail: "the name contains a NUL" };
  const bytes = new TextEncoder().encode(name).length;
  if (personality === "freebsd") {
    if (!name.startsWith("/")) return { err: "EINVAL", detail: "the name must start with '/'" };
    if (bytes >= 1024) return { err: "ENAMETOOLONG", detail: "longer than MAXPATHLEN" };
    return { key: name };
  }
  const key = name.replace(/^\/+/, "");
  if (key === "" || key === "." || key === ".." || key.includes("/"))
    return { err: "EINVAL", detail: "not a single file name" };
  if (new TextEncoder().encode(key).length > 255)
    return { err: "ENAMETOOLONG", detail: "longer than NAME_MAX" };
  return { key };
}
