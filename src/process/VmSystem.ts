/**
 * VmSystem: one machine's virtual memory — physical memory, the reverse map, the objects, the
 * fault handler's counters and the processes (address spaces) running on it.
 *
 * Guarded by: the system (one thread). Each process's map has its own lock.
 */

import { isPowerOfTwo } from "../base/addr.js";
import { type ErrnoName, FREEBSD_ERRNO, LINUX_ERRNO } from "../base/errno.js";
import { type DaemonStats, PageDaemon } from "../daemon/pageDaemon.js";
import { EventHub, type VmEventListener } from "../events/events.js";
import { type FaultStats, newFaultStats } from "../fault/vmFault.js";
import type { VmMap, WireCounter } from "../map/VmMap.js";
import { cacheRead, cacheTruncate, cacheWrite } from "../object/pageCache.js";
import { ObjectContext, VmObject } from "../object/VmObject.js";
import {
  METADATA_BYTES_PER_FRAME,
  PhysMem,
  Q_ACTIVE,
  Q_FREE,
  Q_INACTIVE,
} from "../page/PhysMem.js";
import { Device, DevicePager } from "../pager/device.js";
import { type SwapBackend, SwapPager, type SwapStats } from "../pager/swap.js";
import { pagerError, type Vnode, VnodePager } from "../pager/vnode.js";
import { type Pmap, PvTable } from "../pmap/Pmap.js";
import { type FreebsdConstants, freebsd, type LinuxConstants, linux } from "./constants.js";
import { VmError } from "./errors.js";
import { LinuxProcess, type LinuxProcessOptions } from "./linux.js";
import { Process } from "./Process.js";
import { type ShmHost, ShmObject, shmKey } from "./shm.js";

export type Personality = "freebsd" | "linux";

export interface VmSystemOptions {
  /** Errno numbers, flags and placement of this kernel. Default "freebsd". */
  personality?: Personality;
  /** Page size, a power of two from 4096 to 65536. Default 4096. */
  pageSize?: number;
  /** Bytes of page frames (at most 2 GiB). Default 256 MiB. */
  physicalMemory?: number;
  /** Back physical memory with a SharedArrayBuffer. Default false. */
  sharedMemory?: boolean;
  /** User address space is [pageSize, 2^addressBits). 32 to 52; default 47. */
  addressBits?: number;
  /** Random source for ASLR (uniform unsigned 32-bit integers). ASLR is off unless given. */
  aslrRandom?: () => number;
  /**
   * FreeBSD's vm_page_max_user_wired in pages: the most pages all processes may hold
   * user-wired. Default: a third of physical memory under FreeBSD; no limit under Linux, which
   * has none (only each process's RLIMIT_MEMLOCK).
   */
  maxUserWired?: number;
  /** Where anonymous pages go under memory pressure. Default: in memory, unbounded. */
  swap?: SwapBackend;
}

/** What sys.stats() reports. */
export interface VmStats {
  pageSize: number;
  frames: { total: number; free: number; active: number; inactive: number; wired: number };
  faults: FaultStats;
  cowCopies: number;
  objects: {
    live: number;
    shadowsCreated: number;
    collapses: number;
    bypasses: number;
    splits: number;
  };
  tlbInvalidations: number;
  pageins: number;
  pageouts: number;
  /** Swap slots holding a page. */
  swapInUse: number;
  /** The swap pager's counters (pages written and read back, backend errors). */
  swap: SwapStats;
  /** The page daemon's counters. */
  daemon: DaemonStats;
  processes: number;
  /** Bytes of metadata per physical frame. */
  metadataBytesPerFrame: number;
}

/** The whole-system audit, installed by the package entry (the audit layer sits above this). */
export type SystemAuditor = (sys: VmSystem) => void;
let auditor: SystemAuditor | null = null;

/** Installs the function behind sys.audit() (done by src/index.ts). */
export function installAuditor(fn: SystemAuditor): void {
  auditor = fn;
}

export class VmSystem {
  readonly personality: Personality;
  readonly pageSize: number;
  readonly addressBits: number;
  /** Physical memory, the reverse map and the object registry (constant). */
  readonly mem: PhysMem;
  readonly pv: PvTable;
  readonly objects: ObjectContext;
  /** The swap pager (constant) and the page daemon reclaiming frames into it (constant). */
  readonly swap: SwapPager;
  readonly daemon: PageDaemon;
  readonly faultStats: FaultStats = newFaultStats();
  /** System-wide user-wired page count and its ceiling. */
  readonly wireCounter: WireCounter;
  /** The personality's constant table. */
  readonly constants: FreebsdConstants | LinuxConstants;
  readonly errno: Readonly<Record<ErrnoName, number>>;
  readonly aslrRandom: (() => number) | null;
  /** Typed events; no cost when nobody listens. */
  readonly events = new EventHub();
  readonly #processes = new Map<number, Process>();
  /**
   * vp->v_object: each file's object while something maps it. A Map whose entry goes when the
   * object is terminated (not a WeakMap: V8's WeakMap costs microseconds per fresh key, and
   * every file mapping of a replay is a fresh file).
   */
  readonly #vnodeObjects = new Map<Vnode, VmObject>();
  /** Each device's object while something maps it (one object, hence one view of it). */
  readonly #deviceObjects = new WeakMap<Device, VmObject>();
  #nextPid = 1;
  /** POSIX shared-memory objects by name (shm_open's namespace). */
  readonly #shm = new Map<string, ShmObject>();
  /** What shm objects ask of the system (constant). */
  readonly #shmHost: ShmHost;

  constructor(opts: VmSystemOptions = {}) {
    const personality = opts.personality ?? "freebsd";
    if (personality !== "freebsd" && personality !== "linux")
      throw new RangeError(`VmSystem: unknown personality '${String(personality)}'`);
    this.personality = personality;
    const ps = opts.pageSize ?? 4096;
    if (!isPowerOfTwo(ps) || ps < 4096 || ps > 65536)
      throw new RangeError(`VmSystem: pageSize ${ps} is not a power of two in [4096, 65536]`);
    this.pageSize = ps;
    const bits = opts.addressBits ?? 47;
    if (!Number.isInteger(bits) || bits < 32 || bits > 52)
      throw new RangeError(`VmSystem: addressBits ${bits} is not an integer in [32, 52]`);
    this.addressBits = bits;
    const physical = opts.physicalMemory ?? 256 * 1024 * 1024;
    if (!Number.isSafeInteger(physical) || physical < ps || physical > 2 ** 31)
      throw new RangeError(`VmSystem: physicalMemory ${physical} is not in [pageSize, 2 GiB]`);
    this.mem = new PhysMem({ pageSize: ps, physicalMemory: physical, shared: opts.sharedMemory });
    this.pv = new PvTable(this.mem);
    this.swap = new SwapPager(opts.swap);
    this.objects = new ObjectContext(this.mem, this.pv, this.swap);
    this.daemon = new PageDaemon(this.objects);
    this.objects.reclaim = () => this.daemon.reclaim();
    this.objects.onPagerTerminate = (obj) => {
      const pager = obj.pager;
      if (pager instanceof VnodePager && this.#vnodeObjects.get(pager.vnode) === obj)
        this.#vnodeObjects.delete(pager.vnode);
    };
    this.wireCounter = {
      userWired: 0,
      maxUserWired:
        opts.maxUserWired ??
        (personality === "linux" ? Number.POSITIVE_INFINITY : Math.floor(this.mem.nframes / 3)),
    };
    this.constants = personality === "linux" ? linux : freebsd;
    this.errno = personality === "linux" ? LINUX_ERRNO : FREEBSD_ERRNO;
    this.aslrRandom = opts.aslrRandom ?? null;
    this.events.onActiveChange = (active) => this.#wireEvents(active);
    this.#shmHost = { personality, cachedObject: (v) => this.#cached(v) };
  }

  #wireEvents(active: boolean): void {
    const ev = this.events;
    if (!active) {
      this.objects.onEvent = null;
      this.pv.onInvalidate = null;
      this.daemon.onPageout = null;
      return;
    }
    this.objects.onEvent = (kind, obj) => {
      if (kind === "shadow")
        ev.emit({ type: "shadow", objectId: obj.id, backingId: obj.backingObject?.id ?? null });
      else ev.emit({ type: kind, objectId: obj.id });
    };
    this.pv.onInvalidate = (pmapId, page) => ev.emit({ type: "tlb-invalidate", pmapId, page });
    this.daemon.onPageout = (objectId, pindex) => ev.emit({ type: "pageout", objectId, pindex });
  }

  /** Subscribes to events; returns the unsubscribe function. */
  on(fn: VmEventListener): () => void {
    return this.events.on(fn);
  }

  /** A new process with an empty address space. */
  createProcess(opts: LinuxProcessOptions = {}): Process {
    const p =
      this.personality === "linux"
        ? new LinuxProcess(this, this.#nextPid++, opts, null)
        : new Process(this, this.#nextPid++, opts, null);
    this.#processes.set(p.pid, p);
    return p;
  }

  /** @internal Registers a forked child. */
  _adopt(parent: Process): Process {
    const p =
      parent instanceof LinuxProcess
        ? new LinuxProcess(this, this.#nextPid++, {}, parent)
        : new Process(this, this.#nextPid++, {}, parent);
    this.#processes.set(p.pid, p);
    return p;
  }

  /** @internal The map of the live process whose pmap is `pmap` (null: none). */
  _mapOfPmap(pmap: Pmap): VmMap | null {
    for (const p of this.#processes.values()) if (p.pmap === pmap) return p.map;
    return null;
  }

  /** @internal Forgets an exited process. */
  _forget(p: Process): void {
    this.#processes.delete(p.pid);
  }

  /**
   * @internal The object of `vnode` with one new reference for the caller (vnode_pager_alloc:
   * every mapping of one file shares one object, hence one copy of each page).
   */
  _vnodeObject(vnode: Vnode, path: string | null): VmObject {
    if (vnode instanceof Device) {
      // dev_pager_alloc: one device object per device, shared by every mapping.
      const dev = this.#deviceObjects.get(vnode);
      if (dev !== undefined && !dev.isDead) {
        dev.reference();
        return dev;
      }
      const o = VmObject.allocateDevice(this.objects, new DevicePager(vnode, path));
      this.#deviceObjects.set(vnode, o);
      return o;
    }
    const cached = this.#vnodeObjects.get(vnode);
    if (cached !== undefined && !cached.isDead) {
      cached.reference();
      return cached;
    }
    const pager = vnode instanceof ShmObject ? vnode._pager() : new VnodePager(vnode, path);
    const obj = VmObject.allocateVnode(this.objects, pager);
    this.#vnodeObjects.set(vnode, obj);
    return obj;
  }

  // ---------------------------------------------------------------- file I/O through the cache

  /** The object caching `vnode`'s pages while something maps it, or null. */
  #cached(vnode: Vnode): VmObject | null {
    const o = this.#vnodeObjects.get(vnode);
    return o !== undefined && !o.isDead ? o : null;
  }

  #fileArg(sc: string, v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new VmError(
        sc,
        "EINVAL",
        this.errno.EINVAL,
        `${what} ${v} is not a safe unsigned integer`,
      );
  }

  /**
   * pread(2) through the page cache: up to `length` bytes of `vnode` from `position` (fewer at
   * end of file). Pages that mappings hold resident are read from memory, so stores through a
   * MAP_SHARED mapping are seen at once, before any msync. EINVAL for a malformed number; EIO
   * (or ENOSPC) when the file fails the read.
   * Example: `sys.pread(file, 0, 16)`.
   */
  pread(vnode: Vnode, position: number, length: number): Uint8Array {
    this.#fileArg("pread", position, "offset");
    this.#fileArg("pread", length, "nbytes");
    const n = Math.max(0, Math.min(length, vnode.size - position));
    const out = new Uint8Array(n);
    const obj = this.#cached(vnode);
    const fill = (pos: number, dst: Uint8Array) => dst.set(vnode.read(pos, dst.length));
    try {
      if (obj === null) fill(position, out);
      else cacheRead(obj, position, out, fill);
    } catch (e) {
      throw this.#ioError("pread", e);
    }
    return out;
  }

  /** The VmError for a Vnode's I/O failure (code EIO or ENOSPC); anything else as thrown. */
  #ioError(sc: string, e: unknown): unknown {
    const code = pagerError(e);
    if (code === null) return e;
    return new VmError(sc, code, this.errno[code], (e as Error).message);
  }

  /**
   * pwrite(2) through the page cache: writes `bytes` to `vnode` at `position` (the file grows
   * as needed), then into the resident pages that cover them, so every existing mapping sees
   * the new bytes at once. Returns the bytes written. (Writing the Vnode directly bypasses the
   * cache, as a change made by another machine would: mappings keep their resident pages
   * until MS_INVALIDATE or until the pages are freed.) EIO or ENOSPC when the file fails the
   * write (a Vnode that fails stores nothing, so nothing changes).
   */
  pwrite(vnode: Vnode, position: number, bytes: Uint8Array): number {
    this.#fileArg("pwrite", position, "offset");
    let n: number;
    try {
      n = vnode.write(position, bytes);
    } catch (e) {
      throw this.#ioError("pwrite", e);
    }
    const obj = this.#cached(vnode);
    if (obj !== null) cacheWrite(obj, position, bytes.subarray(0, n));
    return n;
  }

  /**
   * ftruncate(2) through the page cache (vnode_pager_setsize): sets the file's length, frees
   * the cached pages wholly past the new end (so every mapping, shared or private, that had
   * not copied them faults on its next access: SIGBUS, BUS_OBJERR on FreeBSD and BUS_ADRERR on
   * Linux) and zeroes the rest of the page straddling it. The Linux personality also drops
   * private copies made of those pages (truncate_pagecache unmaps even COW pages); FreeBSD
   * keeps them. Growing the file again shows zeros. A Device's size is fixed: EINVAL.
   */
  ftruncate(vnode: Vnode, length: number): void {
    this.#fileArg("ftruncate", length, "length");
    if (vnode instanceof Device)
      throw new VmError("ftruncate", "EINVAL", this.errno.EINVAL, "a device's size is fixed");
    vnode.truncate(length);
    const obj = this.#cached(vnode);
    if (obj !== null) cacheTruncate(obj, length, this.personality === "linux");
  }

  // ---------------------------------------------------------------- POSIX shared memory

  /**
   * shm_open(2): the shared-memory object named `name`, created empty (size 0; set it with
   * ftruncate) when absent. The same name gives the same object until shmUnlink. Open it with
   * `p.fds.open(shm, "rw")` and map it; every MAP_SHARED mapping sees the same pages.
   * `exclusive` (O_EXCL) makes an existing name EEXIST; `create: false` (no O_CREAT) makes a
   * missing one ENOENT. Names as each kernel takes them (src/process/shm.ts): EINVAL for a
   * malformed name, ENAMETOOLONG for a long one. Example: `sys.shmOpen("/ring")`.
   */
  shmOpen(name: string, opts: { create?: boolean; exclusive?: boolean } = {}): ShmObject {
    const sc = "shm_open";
    const k = shmKey(this.personality, name);
    if ("err" in k) throw new VmError(sc, k.err, this.errno[k.err], k.detail);
    const create = opts.create ?? true;
    const exclusive = opts.exclusive ?? false;
    if (typeof create !== "boolean" || typeof exclusive !== "boolean")
      throw new VmError(sc, "EINVAL", this.errno.EINVAL, "create and exclusive are booleans");
    const found = this.#shm.get(k.key);
    if (found !== undefined) {
      if (exclusive && create) throw new VmError(sc, "EEXIST", this.errno.EEXIST, name);
      return found;
    }
    if (!create) throw new VmError(sc, "ENOENT", this.errno.ENOENT, name);
    const shm = new ShmObject(this.#shmHost, k.key);
    this.#shm.set(k.key, shm);
    return shm;
  }

  /**
   * shm_unlink(2): removes `name`; descriptors and mappings of the object keep it (its pages
   * and bytes) until they go. ENOENT for a name that is not there; EINVAL and ENAMETOOLONG as
   * shmOpen. Example: `sys.shmUnlink("/ring")`.
   */
  shmUnlink(name: string): void {
    const sc = "shm_unlink";
    const k = shmKey(this.personality, name);
    if ("err" in k) throw new VmError(sc, k.err, this.errno[k.err], k.detail);
    const found = this.#shm.get(k.key);
    if (found === undefined) throw new VmError(sc, "ENOENT", this.errno.ENOENT, name);
    this.#shm.delete(k.key);
    found._unlink();
  }

  /** Live processes in creation order. */
  processes(): Process[] {
    return [...this.#processes.values()];
  }

  /** Counters of the whole system. */
  stats(): VmStats {
    const m = this.mem;
    const o = this.objects.stats;
    return {
      pageSize: this.pageSize,
      frames: {
        total: m.nframes,
        free: m.qlen[Q_FREE],
        active: m.qlen[Q_ACTIVE],
        inactive: m.qlen[Q_INACTIVE],
        wired: m.wiredCount,
      },
      faults: { ...this.faultStats },
      cowCopies: this.faultStats.cowCopies + this.faultStats.cowMoves,
      objects: {
        live: this.objects.objects.size,
        shadowsCreated: o.shadowsCreated,
        collapses: o.collapses,
        bypasses: o.bypasses,
        splits: o.splits,
      },
      tlbInvalidations: this.pv.tlbInvalidations,
      pageins: this.faultStats.pageins,
      pageouts: this.daemon.pageouts,
      swapInUse: this.swap.inUse,
      swap: { ...this.swap.stats },
      daemon: { ...this.daemon.stats },
      processes: this.#processes.size,
      metadataBytesPerFrame: METADATA_BYTES_PER_FRAME,
    };
  }

  /** Walks every structure and throws a VmPanic on the first broken invariant. */
  audit(): void {
    if (auditor === null) throw new Error("VmSystem.audit: import VmSystem from the package entry");
    auditor(this);
  }
}
