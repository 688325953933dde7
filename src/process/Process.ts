/**
 * Process: an address space (vmspace: a VmMap and its Pmap) with the system calls on top and
 * the memory as the process's CPU sees it.
 *
 * System calls follow FreeBSD's sys/vm/vm_mmap.c: argument validation in the kernel's order,
 * then the vm_map(9) function, then the KERN_* code turned into an errno with the call's own
 * table (spec section 8.3). A failed call throws VmError and changes nothing.
 *
 * Memory access: `read32` and friends look the page up in the pmap's software TLB first — a hit
 * is a few typed-array reads, with no allocation and no call — and otherwise take the slow path:
 * pmap lookup, then the fault handler, then a retry; an access the kernel would answer with a
 * signal throws MemoryFault (vm_fault_trap's mapping of KERN_* codes to signals).
 *
 * Guarded by: the map lock for the map; the fast-path caches are constant references to the
 * pmap's and physical memory's typed arrays.
 */

import { isAddr, lowBits } from "../base/addr.js";
import { kassert } from "../base/assert.js";
import type { ErrnoName } from "../base/errno.js";
import {
  MADV_DONTNEED,
  MADV_FREE,
  MADV_PROTECT,
  MADV_WILLNEED,
  MAP_CHECK_EXCL,
  MAP_CREATE_GUARD,
  MAP_DISABLE_COREDUMP,
  MAP_DISABLE_SYNCER,
  MAP_ENTRY_COW,
  MAP_ENTRY_GROWS_DOWN,
  MAP_ENTRY_GROWS_UP,
  MAP_ENTRY_GUARD,
  MAP_ENTRY_NEEDS_COPY,
  MAP_ENTRY_STACK_GAP_DN,
  MAP_ENTRY_STACK_GAP_UP,
  MAP_ENTRY_USER_WIRED,
  MAP_INHERIT_SHARE,
  MAP_STACK_GROWS_DOWN,
  MAP_WIREFUTURE,
  VM_MAP_PROTECT_SET_MAXPROT,
  VM_MAP_PROTECT_SET_PROT,
  VM_MAP_WIRE_HOLESOK,
  VM_MAP_WIRE_NOHOLES,
  VM_MAP_WIRE_USER,
  VMFS_ALIGNED_SPACE,
  VMFS_OPTIMAL_SPACE,
  VMFS_SUPER_SPACE,
} from "../base/flags.js";
import {
  KERN_FAILURE,
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_OUT_OF_BOUNDS,
  KERN_PROTECTION_FAILURE,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  type KernReturn,
} from "../base/kern.js";
import {
  INHERIT_NAMES,
  VM_INHERIT_COPY,
  VM_INHERIT_SHARE,
  VM_PROT_ALL,
  VM_PROT_EXECUTE,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type VmProt,
} from "../base/prot.js";
import { type FaultContext, VM_FAULT_WIRE, vmFault } from "../fault/vmFault.js";
import { MAP_32BIT_MAX_ADDR, VmMap, type VmMapLimits } from "../map/VmMap.js";
import type { VmMapEntry } from "../map/VmMapEntry.js";
import { CHAIN_RESIDENT, CHAIN_SWAPPED, OBJ_SHM, type VmObject } from "../object/VmObject.js";
import { PG_DIRTY, Q_INACTIVE } from "../page/PhysMem.js";
import { Device } from "../pager/device.js";
import type { PagerError, Vnode } from "../pager/vnode.js";
import { Pmap, PTE_A, PTE_M, PTE_R, PTE_W, PTE_WIRED, PTE_X } from "../pmap/Pmap.js";
import { RLIM_INFINITY } from "./constants.js";
import { type AccessType, MemoryFault, VmError } from "./errors.js";
import { FdTable } from "./fds.js";
import { ShmPager } from "./shm.js";
import type { VmSystem } from "./VmSystem.js";

/** Options of sys.createProcess(). */
export interface ProcessOptions {
  /** PRIV_VM_MLOCK and friends: memory-lock limits do not apply. Default false. */
  privileged?: boolean;
}

/** One resource limit. */
export interface Rlimit {
  soft: number;
  hard: number;
}

/** One map entry as plain data (p.maps()). */
export interface MapInfo {
  start: number;
  end: number;
  prot: number;
  maxProt: number;
  inheritance: number;
  shared: boolean;
  cow: boolean;
  needsCopy: boolean;
  wired: number;
  /** What backs the entry: the type of the deepest object of its shadow chain. */
  kind: "anon" | "vnode" | "shm" | "device" | "guard" | "stack" | "phys";
  /** Byte offset of the entry's start in that deepest object (the file offset of a file). */
  offset: number;
  /** The file's path (the deepest object's), or null. */
  path: string | null;
  resident: number;
  swapped: number;
  shadowDepth: number;
}

// FreeBSD mmap(2) flag bits used by the validation (spec section 1.9).
/** The most bytes (or mincore pages) one call copies into a single Uint8Array. */
const MAX_COPY = 2 ** 31;

const MAP_SHARED = 0x0001;
const MAP_PRIVATE = 0x0002;
const MAP_FIXED = 0x0010;
const MAP_RESERVED0020 = 0x0020;
const MAP_RESERVED0040 = 0x0040;
const MAP_HASSEMAPHORE = 0x0200;
const MAP_STACK = 0x0400;
const MAP_NOSYNC = 0x0800;
const MAP_ANON = 0x1000;
const MAP_GUARD = 0x2000;
const MAP_EXCL = 0x4000;
const MAP_NOCORE = 0x20000;
const MAP_PREFAULT_READ = 0x40000;
const MAP_32BIT = 0x80000;
const MAP_ALIGNMENT_SHIFT = 24;
const MAP_ALIGNMENT_MASK = 0xff << MAP_ALIGNMENT_SHIFT;
const MAP_ALIGNED_SUPER = 1 << MAP_ALIGNMENT_SHIFT;
const MAP_KNOWN =
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_HASSEMAPHORE |
  MAP_STACK |
  MAP_NOSYNC |
  MAP_ANON |
  MAP_EXCL |
  MAP_NOCORE |
  MAP_PREFAULT_READ |
  MAP_GUARD |
  MAP_32BIT |
  MAP_ALIGNMENT_MASK;
const PROT_MAX_SHIFT = 16;
const FREEBSD_MS_ASYNC = 0x1;
const FREEBSD_MS_INVALIDATE = 0x2;
const MCL_CURRENT = 1;
const MCL_FUTURE = 2;

/** Where each personality keeps the limits the VM enforces (its RLIMIT_* numbers). */
interface RlimitIndex {
  data: number;
  stack: number;
  memlock: number;
  /** RLIMIT_AS (FreeBSD's RLIMIT_VMEM is the same resource). */
  as: number;
  /** The highest resource number. */
  max: number;
}
const RLIMITS_FREEBSD: RlimitIndex = { data: 2, stack: 3, memlock: 6, as: 10, max: 14 };
const RLIMITS_LINUX: RlimitIndex = { data: 2, stack: 3, memlock: 8, as: 9, max: 15 };

/**
 * Limits a fresh login gets: FreeBSD 14 amd64 (login.conf "default", vmparam.h: data 32 GiB,
 * stack 512 MiB, memorylocked 64 KiB); Linux 6 (stack 8 MiB soft, memlock 8 MiB, the rest
 * unlimited).
 */
function defaultRlimits(ix: RlimitIndex, linux: boolean): Rlimit[] {
  const r: Rlimit[] = [];
  for (let i = 0; i <= ix.max; i++) r.push({ soft: RLIM_INFINITY, hard: RLIM_INFINITY });
  if (linux) {
    r[ix.stack] = { soft: 8 * 2 ** 20, hard: RLIM_INFINITY };
    r[ix.memlock] = { soft: 8 * 2 ** 20, hard: 8 * 2 ** 20 };
  } else {
    r[ix.data] = { soft: 32 * 2 ** 30, hard: 32 * 2 ** 30 };
    r[ix.stack] = { soft: 512 * 2 ** 20, hard: 512 * 2 ** 20 };
    r[ix.memlock] = { soft: 64 * 1024, hard: 64 * 1024 };
  }
  return r;
}

/** Reusable result slot of the access slow path. */
let slowOff = 0;

export class Process {
  readonly sys: VmSystem;
  readonly pid: number;
  /** The address space (constant). */
  readonly map: VmMap;
  readonly pmap: Pmap;
  readonly privileged: boolean;
  /** The descriptor table (fork copies it). */
  readonly fds: FdTable;
  /** vmspace fields: text and data base, data size (bytes). */
  taddr = 0;
  daddr = 0;
  dsize = 0;
  /** @internal Resource limits by this personality's RLIMIT_* number. */
  protected readonly _rlimits: Rlimit[];
  /** @internal This personality's RLIMIT_* numbers (constant). */
  protected readonly _rl: RlimitIndex;
  /** @internal The limits the map enforces (kept in step with _rlimits). */
  protected readonly _limits: VmMapLimits;
  #alive = true;
  readonly #fc: FaultContext;
  // Fast-path caches (constant references).
  readonly #base: Int32Array;
  readonly #rd: Float64Array;
  readonly #wr: Float64Array;
  /** pageSize - 1 and log2(pageSize), for the access fast path. */
  readonly #pmask: number;
  readonly #pshift: number;
  readonly #u8: Uint8Array;
  readonly #u16: Uint16Array;
  readonly #u32: Uint32Array;
  /** @internal Page size (constant). */
  protected readonly _ps: number;

  /** @internal Use sys.createProcess() or p.fork(). */
  constructor(sys: VmSystem, pid: number, opts: ProcessOptions, parent: Process | null) {
    this.sys = sys;
    this.pid = pid;
    this.privileged = parent?.privileged ?? opts.privileged ?? false;
    this.fds = parent !== null ? parent.fds._clone() : new FdTable();
    this._rl = sys.personality === "linux" ? RLIMITS_LINUX : RLIMITS_FREEBSD;
    this._rlimits = parent
      ? parent._rlimits.map((r) => ({ ...r }))
      : defaultRlimits(this._rl, sys.personality === "linux");
    this._limits = { vmem: 0, stack: 0, memlock: 0 };
    this._syncLimits();
    this.pmap = new Pmap(sys.pv);
    const ps = sys.pageSize;
    this.map = VmMap.create(this.pmap, ps, 2 ** sys.addressBits, {
      pageSize: ps,
      limits: this._limits,
      wireCounter: sys.wireCounter,
      objects: sys.objects,
      random: sys.aslrRandom ?? undefined,
      flags: sys.aslrRandom !== null ? 0x08 /* MAP_ASLR */ : 0,
    });
    this.#fc = {
      objects: sys.objects,
      stats: sys.faultStats,
      events: sys.events,
      pid,
      mmio: null,
      mmioOffset: 0,
      mapOf: (pm) => sys._mapOfPmap(pm),
    };
    this.map.hooks = {
      wirePages: (map, start, end) => this.#wirePages(map, start, end),
      unwirePages: (_map, start, end) => this.#unwirePages(start, end),
    };
    this.#base = this.pmap.tlbBase;
    this.#rd = this.pmap.tlbRd;
    this.#wr = this.pmap.tlbWr;
    const buf = sys.mem.buffer;
    this.#u8 = new Uint8Array(buf);
    this.#u16 = new Uint16Array(buf);
    this.#u32 = new Uint32Array(buf);
    this._ps = ps;
    this.#pmask = ps - 1;
    this.#pshift = Math.round(Math.log2(ps));
    if (parent !== null) {
      this.taddr = parent.taddr;
      this.daddr = parent.daddr;
      this.dsize = parent.dsize;
    }
  }

  /** True until exit(). */
  get alive(): boolean {
    return this.#alive;
  }

  /** @internal */
  protected _syncLimits(): void {
    this._limits.vmem = this._rlimits[this._rl.as].soft;
    this._limits.stack = this._rlimits[this._rl.stack].soft;
    this._limits.memlock = this.privileged ? RLIM_INFINITY : this._rlimits[this._rl.memlock].soft;
  }

  /** @internal */
  protected _err(syscall: string, code: ErrnoName, detail?: string): VmError {
    return new VmError(syscall, code, this.sys.errno[code], detail);
  }

  /** @internal */
  protected _alivecheck(syscall: string): void {
    if (!this.#alive) throw this._err(syscall, "ESRCH" as ErrnoName, "the process has exited");
  }

  /** Validates a number argument that C passes as an unsigned integer. */
  /** @internal */
  protected _num(syscall: string, v: number, what: string): void {
    if (!isAddr(v))
      throw this._err(syscall, "EINVAL", `${what} ${v} is not a safe unsigned integer`);
  }

  /** @internal */
  protected _int(syscall: string, v: number, what: string): void {
    // The kernel's argument is a C int: anything outside 32 bits would be silently truncated
    // there; here it is refused rather than reinterpreted.
    if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0xffff_ffff)
      throw this._err(syscall, "EINVAL", `${what} ${v} is not a 32-bit integer`);
  }

  // ------------------------------------------------------------------ limits

  /**
   * setrlimit: any limit may be set by the embedder (hard limits too). A soft limit above the
   * hard one is lowered to it, as FreeBSD's kern_proc_setrlimit does (Linux refuses it: the
   * Linux personality overrides this).
   */
  setrlimit(resource: number, lim: Rlimit): void {
    this._alivecheck("setrlimit");
    if (!Number.isInteger(resource) || resource < 0 || resource > this._rl.max)
      throw this._err("setrlimit", "EINVAL", `unknown resource ${resource}`);
    const ok = (v: number) => v === RLIM_INFINITY || isAddr(v);
    if (!ok(lim.soft) || !ok(lim.hard)) throw this._err("setrlimit", "EINVAL", "malformed limit");
    this._rlimits[resource] = { soft: Math.min(lim.soft, lim.hard), hard: lim.hard };
    this._syncLimits();
  }

  /** getrlimit. */
  getrlimit(resource: number): Rlimit {
    if (!Number.isInteger(resource) || resource < 0 || resource > this._rl.max)
      throw this._err("getrlimit", "EINVAL", `unknown resource ${resource}`);
    return { ...this._rlimits[resource] };
  }

  // ------------------------------------------------------------------ mmap

  /** round_page(daddr + lim_max(RLIMIT_DATA)): the floor of hint-less placements. */
  /** @internal */
  protected _heapEnd(): number {
    const d = this.daddr + this._rlimits[this._rl.data].hard;
    const ps = this._ps;
    return Number.isFinite(d) ? Math.min(Math.ceil(d / ps) * ps, this.map.max) : this.map.max;
  }

  /**
   * mmap(2), FreeBSD kern_mmap and vm_mmap_object. Anonymous (MAP_ANON), guard (MAP_GUARD) and
   * stack (MAP_STACK) mappings, shared or private, fixed, hinted or placed first fit above the
   * heap limit. Returns the address. Throws VmError in the kernel's validation order (spec
   * section 8.1): EINVAL, ENOTSUP (prot outside PROT_MAX), ENOMEM (no space, limits), EBADF.
   */
  mmap(addr: number, length: number, prot: number, flags: number, fd = -1, offset = 0): number {
    const sc = "mmap";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    this._num(sc, offset, "pos");
    this._int(sc, prot, "prot");
    this._int(sc, flags, "flags");
    this._int(sc, fd, "fd");
    const ps = this._ps;
    // 1. prot
    if (prot < 0 || (prot & ~(VM_PROT_ALL | (VM_PROT_ALL << PROT_MAX_SHIFT))) !== 0)
      throw this._err(sc, "EINVAL", "unknown prot bits");
    let maxprot = (prot >> PROT_MAX_SHIFT) & VM_PROT_ALL;
    prot &= VM_PROT_ALL;
    if (maxprot !== 0 && (prot & maxprot) !== prot)
      throw this._err(sc, "ENOTSUP", "prot exceeds PROT_MAX");
    if (maxprot === 0) maxprot = VM_PROT_ALL;
    if (flags < 0 || flags > 0xffffffff) throw this._err(sc, "EINVAL", "unknown flags");
    // 2.
    flags &= ~(MAP_RESERVED0020 | MAP_RESERVED0040);
    // 3.
    if (length === 0) throw this._err(sc, "EINVAL", "len is 0");
    if ((flags & MAP_ANON) !== 0 && (fd !== -1 || offset !== 0))
      throw this._err(sc, "EINVAL", "MAP_ANON with a descriptor or offset");
    // 4.
    if ((flags & MAP_STACK) !== 0) {
      if (fd !== -1) throw this._err(sc, "EINVAL", "MAP_STACK with a descriptor");
      if ((prot & (VM_PROT_READ | VM_PROT_WRITE)) !== (VM_PROT_READ | VM_PROT_WRITE))
        throw this._err(sc, "EINVAL", "MAP_STACK needs PROT_READ|PROT_WRITE");
      flags |= MAP_ANON;
      offset = 0;
    }
    // 5.
    if ((flags & ~MAP_KNOWN) !== 0) throw this._err(sc, "EINVAL", "unknown flags");
    // 6.
    if ((flags & (MAP_EXCL | MAP_FIXED)) === MAP_EXCL)
      throw this._err(sc, "EINVAL", "MAP_EXCL without MAP_FIXED");
    if ((flags & (MAP_SHARED | MAP_PRIVATE)) === (MAP_SHARED | MAP_PRIVATE))
      throw this._err(sc, "EINVAL", "MAP_SHARED with MAP_PRIVATE");
    // 7.
    if (
      (flags & MAP_GUARD) !== 0 &&
      (prot !== VM_PROT_NONE ||
        fd !== -1 ||
        offset !== 0 ||
        (flags & ~(MAP_FIXED | MAP_GUARD | MAP_EXCL | MAP_32BIT | MAP_ALIGNMENT_MASK)) !== 0)
    )
      throw this._err(sc, "EINVAL", "MAP_GUARD with access, descriptor or other flags");
    // 8.
    const pageoff = offset % ps;
    offset -= pageoff;
    // The kernel's ENOMEM here is for round_page(len) wrapping; a length too long for the map
    // is EINVAL for MAP_FIXED (the range check below) and ENOMEM otherwise (no space).
    const size = Math.ceil((length + pageoff) / ps) * ps;
    if (!Number.isSafeInteger(size))
      throw this._err(sc, "ENOMEM", "length does not fit the address space");
    // 9.
    const align = (flags & MAP_ALIGNMENT_MASK) >>> MAP_ALIGNMENT_SHIFT;
    const pageShift = Math.round(Math.log2(ps));
    if (
      align !== 0 &&
      (flags & MAP_ALIGNMENT_MASK) !== MAP_ALIGNED_SUPER &&
      (align >= 64 || align < pageShift)
    )
      throw this._err(sc, "EINVAL", "bad MAP_ALIGNED");
    // 10.
    let maxAddr = 0;
    if ((flags & MAP_FIXED) !== 0) {
      addr -= pageoff;
      if (addr % ps !== 0) throw this._err(sc, "EINVAL", "MAP_FIXED address not page aligned");
      if (!this.map.rangeValid(addr, addr + size))
        throw this._err(sc, "EINVAL", "MAP_FIXED range outside the address space");
      if ((flags & MAP_32BIT) !== 0 && addr + size > MAP_32BIT_MAX_ADDR)
        throw this._err(sc, "EINVAL", "MAP_32BIT range above 2 GiB");
    } else if (size > this.map.max) {
      throw this._err(sc, "ENOMEM", "length does not fit the address space");
    } else if ((flags & MAP_32BIT) !== 0) {
      maxAddr = MAP_32BIT_MAX_ADDR;
      if (addr + size > MAP_32BIT_MAX_ADDR) addr = 0;
    } else {
      const heapEnd = this._heapEnd();
      if (addr === 0 || (addr >= Math.ceil(this.taddr / ps) * ps && addr < heapEnd)) addr = heapEnd;
    }
    // 11. dispatch
    if ((flags & MAP_GUARD) !== 0) {
      prot = VM_PROT_NONE;
      maxprot = VM_PROT_NONE;
    } else if ((flags & MAP_ANON) === 0) {
      // vn_mmap: the open mode bounds the maximum protection.
      const file = this.fds.get(fd);
      if (file === undefined) throw this._err(sc, "EBADF", `descriptor ${fd} is not open`);
      // P_OSREL_MAP_FSTRICT (every binary since FreeBSD 11): a file mapping names its type.
      if ((flags & (MAP_SHARED | MAP_PRIVATE)) === 0)
        throw this._err(sc, "EINVAL", "file mapping with neither MAP_SHARED nor MAP_PRIVATE");
      let fmax = VM_PROT_EXECUTE;
      if (file.mode !== "w") fmax |= VM_PROT_READ;
      else if ((prot & VM_PROT_READ) !== 0)
        throw this._err(sc, "EACCES", "PROT_READ on a descriptor not open for reading");
      if ((flags & MAP_SHARED) !== 0) {
        if (file.mode !== "r") fmax |= VM_PROT_WRITE;
        else if ((prot & VM_PROT_WRITE) !== 0)
          throw this._err(sc, "EACCES", "shared PROT_WRITE on a descriptor open read-only");
      } else fmax |= VM_PROT_WRITE;
      maxprot &= fmax;
      if ((prot & maxprot) !== prot) throw this._err(sc, "EACCES", "prot exceeds the file's");
      this._checkDevice(sc, file.vnode, (flags & MAP_SHARED) !== 0, offset, size);
      const obj = this.sys._vnodeObject(file.vnode, file.path);
      try {
        return (
          this._mmapObject(sc, addr, maxAddr, size, prot, maxprot, flags, obj, offset) + pageoff
        );
      } catch (e) {
        obj.deallocate();
        throw e;
      }
    }
    const at = this._mmapObject(sc, addr, maxAddr, size, prot, maxprot, flags, null, offset);
    return at + pageoff;
  }

  /**
   * @internal vm_mmap_cdev and dev_pager_alloc: a device maps only MAP_SHARED ("character
   * devices do not provide private mappings") and only over pages that hold some of its bytes;
   * otherwise EINVAL. Nothing to check for other vnodes.
   */
  protected _checkDevice(
    sc: string,
    vnode: Vnode,
    shared: boolean,
    offset: number,
    size: number,
  ): void {
    if (!(vnode instanceof Device)) return;
    if (!shared) throw this._err(sc, "EINVAL", "a device cannot be mapped MAP_PRIVATE");
    const ps = this._ps;
    if (offset + size > Math.ceil(vnode.size / ps) * ps)
      throw this._err(sc, "EINVAL", "mapping beyond the device's last page");
  }

  /** vm_mmap_object: limits, cow flags, placement, insertion, MCL_FUTURE wiring. */
  /** @internal */
  protected _mmapObject(
    sc: string,
    addr: number,
    maxAddr: number,
    size: number,
    prot: VmProt,
    maxprot: VmProt,
    flags: number,
    object: VmObject | null,
    foff: number,
  ): number {
    const map = this.map;
    const ps = this._ps;
    if (map.size + size > this._limits.vmem) throw this._err(sc, "ENOMEM", "RLIMIT_AS");
    if ((map.flags & MAP_WIREFUTURE) !== 0 && this.pmap.wired * ps + size > this._limits.memlock)
      throw this._err(sc, "ENOMEM", "RLIMIT_MEMLOCK with MCL_FUTURE");
    if (foff % ps !== 0) throw this._err(sc, "EINVAL", "offset not page aligned");
    if ((flags & MAP_FIXED) === 0) addr = Math.ceil(addr / ps) * ps;
    let docow = 0;
    if ((flags & (MAP_ANON | MAP_SHARED)) === 0) docow |= 0x2; /* MAP_COPY_ON_WRITE */
    if ((flags & MAP_NOSYNC) !== 0) docow |= MAP_DISABLE_SYNCER;
    if ((flags & MAP_NOCORE) !== 0) docow |= MAP_DISABLE_COREDUMP;
    if ((flags & MAP_SHARED) !== 0) docow |= MAP_INHERIT_SHARE;
    if ((flags & MAP_STACK) !== 0) {
      if (object !== null) throw this._err(sc, "EINVAL", "MAP_STACK with an object");
      docow |= MAP_STACK_GROWS_DOWN;
    }
    if ((flags & MAP_EXCL) !== 0) docow |= MAP_CHECK_EXCL;
    if ((flags & MAP_GUARD) !== 0) docow |= MAP_CREATE_GUARD;
    let rv: KernReturn;
    if ((flags & MAP_FIXED) === 0) {
      const align = (flags & MAP_ALIGNMENT_MASK) >>> MAP_ALIGNMENT_SHIFT;
      const findSpace =
        (flags & MAP_ALIGNMENT_MASK) === MAP_ALIGNED_SUPER
          ? VMFS_SUPER_SPACE
          : align !== 0
            ? VMFS_ALIGNED_SPACE(align)
            : VMFS_OPTIMAL_SPACE;
      const r = map.findMin(
        object,
        foff,
        addr,
        size,
        this._heapEnd(),
        maxAddr,
        findSpace,
        prot,
        maxprot,
        docow,
      );
      rv = r.rv;
      addr = r.addr;
    } else {
      if (maxAddr !== 0 && addr + size > maxAddr) throw this._err(sc, "ENOMEM", "above max_addr");
      rv = map.fixed(object, foff, addr, size, prot, maxprot, docow);
    }
    if (rv === KERN_SUCCESS && (map.flags & MAP_WIREFUTURE) !== 0)
      map.wire(
        addr,
        addr + size,
        VM_MAP_WIRE_USER | ((flags & MAP_STACK) !== 0 ? VM_MAP_WIRE_HOLESOK : VM_MAP_WIRE_NOHOLES),
      );
    if (rv !== KERN_SUCCESS) throw this._err(sc, mmapToErrno(rv), `vm_map: ${rv}`);
    return addr;
  }

  // ------------------------------------------------------------------ munmap, mprotect, minherit

  /** Page-rounds [addr, addr + len) the way the kernel does; throws EINVAL on wrap. */
  /** @internal */
  protected _round(sc: string, addr: number, len: number): [number, number] {
    this._num(sc, addr, "addr");
    this._num(sc, len, "len");
    const ps = this._ps;
    const pageoff = addr % ps;
    const start = addr - pageoff;
    const end = start + Math.ceil((len + pageoff) / ps) * ps;
    if (!Number.isSafeInteger(end)) throw this._err(sc, "EINVAL", "range wraps");
    return [start, end];
  }

  /** munmap(2): len 0, wrap or a range outside the address space is EINVAL; holes are fine. */
  munmap(addr: number, length: number): void {
    const sc = "munmap";
    this._alivecheck(sc);
    const [start, end] = this._round(sc, addr, length);
    if (length === 0) throw this._err(sc, "EINVAL", "len is 0");
    if (start < this.map.min || end > this.map.max)
      throw this._err(sc, "EINVAL", "range outside the address space");
    this._writeBack(start, end);
    const rv = this.map.remove(start, end);
    if (rv !== KERN_SUCCESS) throw this._err(sc, mmapToErrno(rv));
  }

  /**
   * @internal munmap and exit write the dirty pages of the shared file mappings in
   * [start, end) back before unmapping them (the file then holds every store made through
   * them, even while other mappings of the file remain).
   */
  protected _writeBack(start: number, end: number): void {
    this._syncRange(this._entriesIn(start, end), start, end, false);
  }

  /**
   * mprotect(2): PROT_MAX(x) in prot also sets the maximum protection. EINVAL for unknown
   * bits or wrap, ENOTSUP when prot exceeds PROT_MAX, EACCES when an entry's maximum forbids it
   * (nothing changed). Holes are skipped.
   */
  mprotect(addr: number, length: number, prot: number): void {
    const sc = "mprotect";
    this._alivecheck(sc);
    this._int(sc, prot, "prot");
    if (prot < 0 || (prot & ~(VM_PROT_ALL | (VM_PROT_ALL << PROT_MAX_SHIFT))) !== 0)
      throw this._err(sc, "EINVAL", "unknown prot bits");
    const maxprot = (prot >> PROT_MAX_SHIFT) & VM_PROT_ALL;
    prot &= VM_PROT_ALL;
    const [start, end] = this._round(sc, addr, length);
    let flags = VM_MAP_PROTECT_SET_PROT;
    if (maxprot !== 0) flags |= VM_MAP_PROTECT_SET_MAXPROT;
    const rv = this.map.protect(start, Math.min(end, this.map.max), prot, maxprot, flags);
    switch (rv) {
      case KERN_SUCCESS:
        return;
      case KERN_PROTECTION_FAILURE:
        throw this._err(sc, "EACCES");
      case KERN_RESOURCE_SHORTAGE:
        throw this._err(sc, "ENOMEM");
      case KERN_OUT_OF_BOUNDS:
        throw this._err(sc, "ENOTSUP", "prot exceeds PROT_MAX");
      default:
        throw this._err(sc, "EINVAL");
    }
  }

  /** minherit(2): INHERIT_SHARE, _COPY, _NONE or _ZERO; anything else is EINVAL. */
  minherit(addr: number, length: number, inherit: number): void {
    const sc = "minherit";
    this._alivecheck(sc);
    this._int(sc, inherit, "inherit");
    const [start, end] = this._round(sc, addr, length);
    const rv = this.map.inherit(start, Math.min(end, this.map.max), inherit);
    if (rv === KERN_SUCCESS) return;
    throw this._err(sc, rv === KERN_PROTECTION_FAILURE ? "EACCES" : "EINVAL");
  }

  /**
   * madvise(2): behaviour flags change the entries (and re-merge them); WILLNEED prefaults
   * resident pages; DONTNEED deactivates pages (their contents stay); FREE lets the page daemon
   * reclaim clean private anonymous pages. MADV_PROTECT needs privilege (EPERM).
   */
  madvise(addr: number, length: number, advice: number): void {
    const sc = "madvise";
    this._alivecheck(sc);
    this._int(sc, advice, "behav");
    if (advice === MADV_PROTECT) {
      if (!this.privileged) throw this._err(sc, "EPERM", "MADV_PROTECT needs privilege");
      return;
    }
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    if (!Number.isSafeInteger(addr + length) || !this.map.rangeValid(addr, addr + length))
      throw this._err(sc, "EINVAL", "range outside the address space");
    const ps = this._ps;
    const start = addr - (addr % ps);
    const end = Math.ceil((addr + length) / ps) * ps;
    const e = this.map.madvise(start, end, advice);
    if (e !== 0) throw this._err(sc, "EINVAL", "unknown advice");
    if (
      start !== end &&
      (advice === MADV_WILLNEED || advice === MADV_DONTNEED || advice === MADV_FREE)
    )
      this._pageAdvice(start, end, advice);
  }

  /** The object- and pmap-level part of madvise WILLNEED/DONTNEED/FREE. */
  /** @internal */
  protected _pageAdvice(start: number, end: number, advice: number): void {
    const mem = this.sys.mem;
    const pv = this.sys.pv;
    const ps = this._ps;
    for (const e of this.map.entries()) {
      if (e.end <= start || e.start >= end || e.object === null) continue;
      const obj = e.object;
      if (advice === MADV_FREE && (obj.backingObject !== null || !obj.isAnon)) continue;
      const s = Math.max(start, e.start);
      const t = Math.min(end, e.end);
      for (let va = s; va < t; va += ps) {
        const p = (va - e.start + e.offset) / ps;
        const f = obj.pageLookup(p);
        if (f < 0) continue;
        if (advice === MADV_WILLNEED) {
          // vm_map_pmap_enter: read-only, and nothing for an entry without READ or EXECUTE.
          if (e.wiredCount === 0) this.pmap.enterQuick(va, f, e.protection);
        } else if (mem.wire[f] === 0) {
          if (advice === MADV_FREE) {
            pv.clearModify(f);
            mem.flags[f] &= ~PG_DIRTY;
          }
          pv.tsReferenced(f);
          mem.requeue(f, Q_INACTIVE);
        }
      }
    }
  }

  // ------------------------------------------------------------------ wiring

  /**
   * vm_map_wire's faults: with VM_PROT_NONE, as FreeBSD's, so the lookup checks no access and
   * the fault takes the (wired) entry's whole protection. A write-only entry that mprotect
   * made writable while user-wired (vm_fault_copy_entry) is wired this way too; a read fault
   * would be refused there.
   */
  #wirePages(map: VmMap, start: number, end: number): KernReturn {
    for (let va = start; va < end; va += this._ps) {
      const rv = vmFault(this.#fc, map, this.pmap, va, VM_PROT_NONE, VM_FAULT_WIRE);
      if (rv !== KERN_SUCCESS) return rv;
    }
    return KERN_SUCCESS;
  }

  #unwirePages(start: number, end: number): void {
    const mem = this.sys.mem;
    for (let va = start; va < end; va += this._ps) {
      const pte = this.pmap.extract(va);
      if (pte !== 0 && (pte & PTE_WIRED) !== 0) {
        this.pmap.setWired(va, va + this._ps, false);
        mem.unwireFrame(pte >>> 8);
        // A wired page of a PROT_NONE entry kept a translation without access (Pmap.protect);
        // unwired, it has no reason to stay.
        if ((pte & (PTE_R | PTE_W | PTE_X)) === 0) this.pmap.remove(va, va + this._ps);
      }
    }
  }

  /**
   * mlock(2), kern_mlock: wires the pages (user wiring). ENOMEM past RLIMIT_MEMLOCK, past the
   * system's user-wired limit, or on holes: every vm_map_wire failure is ENOMEM.
   */
  mlock(addr: number, length: number): void {
    const sc = "mlock";
    this._alivecheck(sc);
    const [start, end] = this._round(sc, addr, length);
    const npages = (end - start) / this._ps;
    if (npages > this.sys.wireCounter.maxUserWired) throw this._err(sc, "ENOMEM");
    if ((npages + this.pmap.wired) * this._ps > this._limits.memlock)
      throw this._err(sc, "ENOMEM", "RLIMIT_MEMLOCK");
    const rv = this.map.wire(start, end, VM_MAP_WIRE_USER | VM_MAP_WIRE_NOHOLES);
    if (rv !== KERN_SUCCESS) throw this._err(sc, "ENOMEM", `vm_map_wire: ${rv}`);
  }

  /** munlock(2). */
  munlock(addr: number, length: number): void {
    const sc = "munlock";
    this._alivecheck(sc);
    const [start, end] = this._round(sc, addr, length);
    const rv = this.map.unwire(start, end, VM_MAP_WIRE_USER | VM_MAP_WIRE_NOHOLES);
    if (rv !== KERN_SUCCESS) throw this._err(sc, "ENOMEM");
  }

  /**
   * mlockall(2): MCL_CURRENT wires everything now, MCL_FUTURE every later mapping. ENOMEM past
   * RLIMIT_MEMLOCK or the system's user-wired limit (KERN_RESOURCE_SHORTAGE); EAGAIN for any
   * other wiring failure.
   */
  mlockall(how: number): void {
    const sc = "mlockall";
    this._alivecheck(sc);
    this._int(sc, how, "how");
    if (how === 0 || (how & ~(MCL_CURRENT | MCL_FUTURE)) !== 0) throw this._err(sc, "EINVAL");
    if ((how & MCL_CURRENT) !== 0 && this.map.size > this._limits.memlock)
      throw this._err(sc, "ENOMEM", "RLIMIT_MEMLOCK");
    if ((how & MCL_FUTURE) !== 0) this.map.modflags(MAP_WIREFUTURE, 0);
    if ((how & MCL_CURRENT) !== 0) {
      const rv = this.map.wire(this.map.min, this.map.max, VM_MAP_WIRE_USER | VM_MAP_WIRE_HOLESOK);
      if (rv !== KERN_SUCCESS)
        throw this._err(
          sc,
          rv === KERN_RESOURCE_SHORTAGE ? "ENOMEM" : "EAGAIN",
          `vm_map_wire: ${rv}`,
        );
    }
  }

  /** munlockall(2). */
  munlockall(): void {
    this._alivecheck("munlockall");
    this.map.modflags(0, MAP_WIREFUTURE);
    this.map.unwire(this.map.min, this.map.max, VM_MAP_WIRE_USER | VM_MAP_WIRE_HOLESOK);
  }

  // ------------------------------------------------------------------ msync

  /**
   * msync(2), FreeBSD kern_msync / vm_map_sync: writes the dirty pages of the files mapped
   * shared in [addr, addr + len) back through their pagers (MS_SYNC and MS_ASYNC alike: the
   * write is synchronous here); MS_INVALIDATE also drops the cached clean pages so the next
   * access reads the file again. EINVAL for unknown flags, MS_ASYNC with MS_INVALIDATE, or a
   * wrapping range; ENOMEM when the start is unmapped or the range has a hole; EBUSY to
   * invalidate user-wired pages. A zero-length range means the whole entry containing addr.
   * EIO when a file fails a write: the other pages are still written (state changes before
   * the failure, as in the kernel), the refused ones stay dirty and resident (MS_INVALIDATE
   * drops only clean pages).
   */
  msync(addr: number, length: number, flags: number): void {
    const sc = "msync";
    this._alivecheck(sc);
    this._int(sc, flags, "flags");
    const [start, end] = this._round(sc, addr, length);
    if (flags < 0 || (flags & ~(FREEBSD_MS_ASYNC | FREEBSD_MS_INVALIDATE)) !== 0)
      throw this._err(sc, "EINVAL", "unknown flags");
    if (
      (flags & (FREEBSD_MS_ASYNC | FREEBSD_MS_INVALIDATE)) ===
      (FREEBSD_MS_ASYNC | FREEBSD_MS_INVALIDATE)
    )
      throw this._err(sc, "EINVAL", "MS_ASYNC with MS_INVALIDATE");
    // vm_map_sync validates (unmapped start, holes, user-wired memory under MS_INVALIDATE)
    // before it writes anything; its KERN_* code becomes msync's errno (spec section 8.3).
    const rv = this.map.sync(
      start,
      end,
      (flags & FREEBSD_MS_ASYNC) === 0,
      (flags & FREEBSD_MS_INVALIDATE) !== 0,
    );
    switch (rv) {
      case KERN_SUCCESS:
        return;
      case KERN_INVALID_ADDRESS:
        throw this._err(sc, "ENOMEM", "the range has unmapped pages");
      case KERN_INVALID_ARGUMENT:
        throw this._err(sc, "EBUSY", "MS_INVALIDATE on wired pages");
      case KERN_FAILURE:
        throw this._err(sc, "EIO", "the pager failed");
      default:
        throw this._err(sc, "EINVAL", `vm_map_sync: ${rv}`);
    }
  }

  /** @internal The entries intersecting [start, end), in address order. */
  protected _entriesIn(start: number, end: number): VmMapEntry[] {
    const out: VmMapEntry[] = [];
    const r = this.map.lookupEntry(start);
    let e = r.found ? r.entry : r.entry === null ? this.map.firstEntry : r.entry.next;
    for (; e !== null && e.start < end; e = e.next) out.push(e);
    return out;
  }

  /**
   * @internal vm_object_sync of each entry's file over the part of [start, end) it maps:
   * dirty pages are written back; with `invalidate` the clean, unwired pages are then dropped
   * (OBJPR_CLEANONLY: a page the file refused stays, dirty). With `stopOnError` (Linux) the
   * walk ends at the first entry whose file fails a write. Returns null, or the first error.
   */
  protected _syncRange(
    entries: VmMapEntry[],
    start: number,
    end: number,
    invalidate: boolean,
    stopOnError = false,
  ): PagerError | null {
    let error: PagerError | null = null;
    for (const e of entries) {
      const err = e.syncWindow(start, end, invalidate, this._ps);
      if (err !== null) {
        error ??= err;
        if (stopOnError) break;
      }
    }
    return error;
  }

  /**
   * mincore(2), kern_mincore: one byte per page of [trunc_page(addr), round_page(addr + len)):
   * MINCORE_INCORE (1) when resident, plus REFERENCED (2) / MODIFIED (4) as this pmap saw them.
   * ENOMEM if the first page (even for len 0) or any later page is unmapped.
   */
  mincore(addr: number, length: number): Uint8Array {
    const sc = "mincore";
    this._alivecheck(sc);
    const [start, end] = this._round(sc, addr, length);
    const ps = this._ps;
    if (!this.map.lookupEntry(start).found) throw this._err(sc, "ENOMEM", "addr is not mapped");
    // Holes first (the kernel stops at the first one): the result is allocated only for a
    // range that is mapped whole, and a range too long for one array is refused.
    const entries = this._entriesIn(start, end);
    let at = start;
    for (const e of entries) {
      if (e.start > at) break;
      at = e.end;
    }
    if (at < end) throw this._err(sc, "ENOMEM", "unmapped page");
    if ((end - start) / ps > MAX_COPY)
      throw this._err(sc, "EINVAL", `more than ${MAX_COPY} pages in one call`);
    const out = new Uint8Array((end - start) / ps);
    const mem = this.sys.mem;
    let i = 0;
    for (const e of entries) {
      const hi = Math.min(end, e.end);
      for (let va = Math.max(start, e.start); va < hi; va += ps, i++) {
        const pte = this.pmap.extract(va);
        let v = 0;
        if (pte !== 0) {
          v = 1;
          if ((pte & PTE_A) !== 0) v |= 2;
          if ((pte & PTE_M) !== 0 || (mem.flags[pte >>> 8] & PG_DIRTY) !== 0) v |= 4;
        } else if (e.object !== null) {
          const o = e.object.lookupChain((va - e.start + e.offset) / ps);
          if (o !== null) v = 1;
        }
        out[i] = v;
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ break

  /**
   * FreeBSD break(2) (kern_break): moves the end of the data segment [daddr, daddr + dsize) to
   * round_page(addr) and returns it; an address below the data segment's base, or 0, returns the
   * current break unchanged. ENOMEM past RLIMIT_DATA, RLIMIT_VMEM, RLIMIT_MEMLOCK (with
   * MCL_FUTURE), the map's end, or into another mapping. The Linux personality overrides this
   * with Linux's brk.
   */
  brk(addr: number): number {
    const sc = "brk";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    const ps = this._ps;
    const base = Math.ceil(this.daddr / ps) * ps;
    const old = base + this.dsize;
    if (addr === 0) return old;
    const next = Math.ceil(addr / ps) * ps;
    if (next < base) return old;
    if (next > base) {
      if (next - base > this._rlimits[this._rl.data].soft && next > old)
        throw this._err(sc, "ENOMEM", "RLIMIT_DATA");
      if (next > this.map.max) throw this._err(sc, "ENOMEM", "beyond the address space");
    }
    if (next > old) {
      if (
        (this.map.flags & MAP_WIREFUTURE) !== 0 &&
        this.pmap.wired * ps + (next - old) > this._limits.memlock
      )
        throw this._err(sc, "ENOMEM", "RLIMIT_MEMLOCK");
      if (this.map.size + (next - old) > this._limits.vmem)
        throw this._err(sc, "ENOMEM", "RLIMIT_VMEM");
      const rv = this.map.insert(null, 0, old, next, VM_PROT_READ | VM_PROT_WRITE, VM_PROT_ALL, 0);
      if (rv !== KERN_SUCCESS) throw this._err(sc, "ENOMEM", `vm_map_insert: ${rv}`);
      this.dsize += next - old;
      if ((this.map.flags & MAP_WIREFUTURE) !== 0)
        this.map.wire(old, next, VM_MAP_WIRE_USER | VM_MAP_WIRE_NOHOLES);
    } else if (next < old) {
      const rv = this.map.delete(next, old);
      if (rv !== KERN_SUCCESS) throw this._err(sc, "ENOMEM", `vm_map_delete: ${rv}`);
      this.dsize -= old - next;
    }
    return next;
  }

  /** mseal(2) is Linux's: FreeBSD has no such system call (ENOSYS). */
  mseal(_addr: number, _length: number, _flags: number): void {
    throw this._err("mseal", "ENOSYS", "mseal is a Linux system call");
  }

  /** mlock2(2) is Linux's: FreeBSD has no such system call (ENOSYS). */
  mlock2(_addr: number, _length: number, _flags: number): void {
    throw this._err("mlock2", "ENOSYS", "mlock2 is a Linux system call");
  }

  /** mremap(2) is Linux's: FreeBSD has no such system call (ENOSYS). */
  mremap(
    _oldAddr: number,
    _oldLength: number,
    _newLength: number,
    _flags: number,
    _newAddr?: number,
  ): number {
    throw this._err("mremap", "ENOSYS", "mremap is a Linux system call");
  }

  // ------------------------------------------------------------------ fork and exit

  /** fork(2): a child whose address space follows each entry's inheritance. */
  fork(): Process {
    this._alivecheck("fork");
    const child = this.sys._adopt(this);
    const rv = this.map.fork(child.map);
    kassert(rv === KERN_SUCCESS, "vmspace_fork", "fork failed");
    // Guard markers (Linux's MADV_GUARD_INSTALL) go with what the child inherits as it is
    // (copy_pte_range copies them), not with a VM_WIPEONFORK range, which it gets fresh.
    const ps = this._ps;
    for (const g of this.pmap.guardsIn(this.map.min, this.map.max)) {
      const inh = this.map.lookupEntry(g).entry!.inheritance;
      if (inh === VM_INHERIT_COPY || inh === VM_INHERIT_SHARE) child.pmap.installGuards(g, g + ps);
    }
    return child;
  }

  /** exit(2): releases every mapping, page and object the process holds. */
  exit(): void {
    if (!this.#alive) return;
    this._writeBack(this.map.min, this.map.max);
    this.map.remove(this.map.min, this.map.max);
    this.map.modflags(0, MAP_WIREFUTURE);
    this.pmap.destroy();
    this.#alive = false;
    this.sys._forget(this);
  }

  // ------------------------------------------------------------------ memory access

  /**
   * The slow path: translates `addr` for `access`, faulting as needed; sets `slowOff` to the
   * byte offset in physical memory and returns it. Returns -1 for a device page (the fault
   * left the device and the offset of `addr` in it in the fault context: see #device). Throws
   * MemoryFault for what the kernel would signal.
   */
  #translate(addr: number, access: VmProt): number {
    if (!Number.isSafeInteger(addr) || addr < 0)
      throw new RangeError(`address ${addr} is not a safe non-negative integer`);
    if (!this.#alive) throw new Error(`process ${this.pid} has exited`);
    const ps = this._ps;
    const page = addr - lowBits(addr, ps);
    const fc = this.#fc;
    for (let tries = 0; tries < 4; tries++) {
      const base = this.pmap.fill(page, access);
      if (base >= 0) {
        slowOff = base + (addr - page);
        return slowOff;
      }
      fc.mmio = null;
      const rv =
        page >= this.map.max
          ? KERN_INVALID_ADDRESS
          : vmFault(fc, this.map, this.pmap, page, access, 0);
      if (rv === KERN_INVALID_ADDRESS && this._expandStack(page)) continue;
      if (rv !== KERN_SUCCESS) throw this.#signal(rv, addr, access);
      if (fc.mmio !== null) {
        fc.mmioOffset += addr - page;
        return -1;
      }
    }
    throw new Error(`vm_fault: no progress at 0x${addr.toString(16)}`);
  }

  /**
   * The device of the access that #translate just returned -1 for, once the `width` bytes at
   * `addr` are known to lie inside it (a byte past its end is SIGBUS, as past a file's end).
   * The offset is the fault context's `mmioOffset`.
   */
  #device(addr: number, width: number, access: VmProt): Device {
    const fc = this.#fc;
    const d = fc.mmio!.device;
    if (!d.inRange(fc.mmioOffset, width))
      throw this.#signal(KERN_OUT_OF_BOUNDS, addr + Math.max(0, d.size - fc.mmioOffset), access);
    return d;
  }

  /** One byte at `addr` through the slow path (memory or device). */
  #loadByte(addr: number, access: VmProt): number {
    const off = this.#translate(addr, access);
    return off >= 0 ? this.#u8[off] : this.#device(addr, 1, access).load(this.#fc.mmioOffset, 1);
  }

  /** vm_fault_trap: KERN_* to signal and code. */
  #signal(rv: KernReturn, addr: number, access: VmProt): MemoryFault {
    const type: AccessType =
      (access & VM_PROT_WRITE) !== 0
        ? "write"
        : (access & VM_PROT_EXECUTE) !== 0
          ? "execute"
          : "read";
    let f: MemoryFault;
    switch (rv) {
      case KERN_PROTECTION_FAILURE:
        f = new MemoryFault("SIGSEGV", "SEGV_ACCERR", addr, type);
        break;
      case KERN_OUT_OF_BOUNDS:
        // Past the end of the object: FreeBSD's vm_fault_trap says BUS_OBJERR; Linux x86's
        // do_sigbus says BUS_ADRERR.
        f = new MemoryFault(
          "SIGBUS",
          this.sys.personality === "linux" ? "BUS_ADRERR" : "BUS_OBJERR",
          addr,
          type,
        );
        break;
      case KERN_RESOURCE_SHORTAGE:
        f = new MemoryFault("SIGBUS", "BUS_OOMERR", addr, type);
        break;
      default:
        f = new MemoryFault("SIGSEGV", "SEGV_MAPERR", addr, type);
    }
    const ev = this.sys.events;
    if (ev.active)
      ev.emit({
        type: "fault-failed",
        pid: this.pid,
        address: addr,
        signal: f.signal,
        code: f.code,
      });
    return f;
  }

  /** Loads one byte. */
  read8(addr: number): number {
    const lo = addr & this.#pmask;
    const slot = (addr >>> this.#pshift) & 255;
    if (this.#rd[slot] === addr - lo) return this.#u8[this.#base[slot] + lo];
    return this.#loadByte(addr, VM_PROT_READ);
  }

  /** Loads a little-endian 16-bit value. */
  read16(addr: number): number {
    const lo = addr & this.#pmask;
    const slot = (addr >>> this.#pshift) & 255;
    if (this.#rd[slot] === addr - lo && (lo & 1) === 0)
      return this.#u16[(this.#base[slot] + lo) >> 1];
    return this.#readSlow(addr, 2);
  }

  /** Loads a little-endian 32-bit value (unsigned). */
  read32(addr: number): number {
    const lo = addr & this.#pmask;
    const slot = (addr >>> this.#pshift) & 255;
    if (this.#rd[slot] === addr - lo && (lo & 3) === 0)
      return this.#u32[(this.#base[slot] + lo) >> 2];
    return this.#readSlow(addr, 4);
  }

  /** Loads a little-endian 64-bit value (from a device: one 8-byte access). */
  read64(addr: number): bigint {
    const off = addr & this.#pmask;
    if (
      this.#rd[(addr >>> this.#pshift) & 255] !== addr - off &&
      off + 8 <= this._ps &&
      this.#translate(addr, VM_PROT_READ) < 0
    )
      return this.#device(addr, 8, VM_PROT_READ).load64(this.#fc.mmioOffset);
    const lo = this.read32(addr);
    const hi = this.read32(addr + 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  #readSlow(addr: number, n: 2 | 4): number {
    if ((addr % this._ps) + n <= this._ps) {
      // Within one page: one translation (a TLB miss or a fault), then the bytes.
      const off = this.#translate(addr, VM_PROT_READ);
      if (off < 0) return this.#device(addr, n, VM_PROT_READ).load(this.#fc.mmioOffset, n);
      const u8 = this.#u8;
      let w = 0;
      for (let i = n - 1; i >= 0; i--) w = w * 256 + u8[off + i];
      return w;
    }
    // Bytes in ascending order, so an access spanning pages faults on the lowest bad page.
    let v = 0;
    for (let i = 0, m = 1; i < n; i++, m *= 256) v += this.#loadByte(addr + i, VM_PROT_READ) * m;
    return v;
  }

  /** Stores one byte. */
  write8(addr: number, value: number): void {
    const lo = addr & this.#pmask;
    const slot = (addr >>> this.#pshift) & 255;
    if (this.#wr[slot] === addr - lo) {
      this.#u8[this.#base[slot] + lo] = value;
      return;
    }
    const off = this.#translate(addr, VM_PROT_WRITE);
    if (off >= 0) this.#u8[off] = value;
    else this.#device(addr, 1, VM_PROT_WRITE).store(this.#fc.mmioOffset, 1, value);
  }

  /** Stores a little-endian 16-bit value. */
  write16(addr: number, value: number): void {
    const lo = addr & this.#pmask;
    const slot = (addr >>> this.#pshift) & 255;
    if (this.#wr[slot] === addr - lo && (lo & 1) === 0) {
      this.#u16[(this.#base[slot] + lo) >> 1] = value;
      return;
    }
    this.#writeSlow(addr, value, 2);
  }

  /** Stores a little-endian 32-bit value. */
  write32(addr: number, value: number): void {
    const lo = addr & this.#pmask;
    const slot = (addr >>> this.#pshift) & 255;
    if (this.#wr[slot] === addr - lo && (lo & 3) === 0) {
      this.#u32[(this.#base[slot] + lo) >> 2] = value;
      return;
    }
    this.#writeSlow(addr, value, 4);
  }

  /** Stores a little-endian 64-bit value (to a device: one 8-byte access). */
  write64(addr: number, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    // Check both halves are writable before storing either, so a fault stores nothing.
    const off = this.#translate(addr, VM_PROT_WRITE);
    if (off < 0 && (addr % this._ps) + 8 <= this._ps) {
      this.#device(addr, 8, VM_PROT_WRITE).store64(this.#fc.mmioOffset, v);
      return;
    }
    this.#translate(addr + 7, VM_PROT_WRITE);
    this.write32(addr, Number(v & 0xffffffffn));
    this.write32(addr + 4, Number(v >> 32n));
  }

  #writeSlow(addr: number, value: number, n: 2 | 4): void {
    if ((addr % this._ps) + n <= this._ps) {
      // Within one page: one translation (a TLB miss or a fault), then the bytes.
      const off = this.#translate(addr, VM_PROT_WRITE);
      if (off < 0) {
        this.#device(addr, n, VM_PROT_WRITE).store(this.#fc.mmioOffset, n, value);
        return;
      }
      const u8 = this.#u8;
      let w = value >>> 0;
      for (let i = 0; i < n; i++, w >>>= 8) u8[off + i] = w & 0xff;
      return;
    }
    // Across pages: translate every byte first, so an access that faults stores nothing.
    const offs: number[] = [];
    const devs: (Device | null)[] = [];
    for (let i = 0; i < n; i++) {
      const off = this.#translate(addr + i, VM_PROT_WRITE);
      const d = off < 0 ? this.#device(addr + i, 1, VM_PROT_WRITE) : null;
      offs.push(off < 0 ? this.#fc.mmioOffset : off);
      devs.push(d);
    }
    let v = value >>> 0;
    for (let i = 0; i < n; i++, v >>>= 8) {
      const d = devs[i];
      if (d === null) this.#u8[offs[i]] = v & 0xff;
      else d.store(offs[i], 1, v & 0xff);
    }
  }

  #copyOut(addr: number, length: number, access: VmProt): Uint8Array {
    this._num("read", length, "length");
    const ps = this._ps;
    if (length > MAX_COPY) {
      // More than one Uint8Array can hold: fault page by page first, so the access gets the
      // MemoryFault the kernel's copyout would give; only a range mapped whole is refused.
      for (let done = 0; done < length; ) {
        const a = addr + done;
        this.#translate(a, access);
        done += Math.min(length - done, ps - lowBits(a, ps));
      }
      throw this._err("read", "EINVAL", `length ${length} exceeds one copy (${MAX_COPY} bytes)`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const n = Math.min(length - done, ps - lowBits(a, ps));
      const off = this.#translate(a, access);
      if (off >= 0) out.set(this.#u8.subarray(off, off + n), done);
      else {
        // A device: one 1-byte load per byte, in ascending order, up to its end.
        const at = this.#fc.mmioOffset;
        const d = this.#fc.mmio!.device;
        for (let i = 0; i < n; i++) {
          if (!d.inRange(at + i, 1)) this.#device(a + i, 1, access);
          out[done + i] = d.load(at + i, 1);
        }
      }
      done += n;
    }
    return out;
  }

  /** Copies `length` bytes out of the address space (from a device: one load per byte). */
  readBytes(addr: number, length: number): Uint8Array {
    return this.#copyOut(addr, length, VM_PROT_READ);
  }

  /** Instruction fetch: like readBytes, but the pages need PROT_EXEC. */
  fetch(addr: number, length: number): Uint8Array {
    return this.#copyOut(addr, length, VM_PROT_EXECUTE);
  }

  /**
   * Copies `bytes` into the address space. Every page is checked before any byte is stored;
   * to a device, one 1-byte store per byte, in ascending order.
   */
  writeBytes(addr: number, bytes: Uint8Array): void {
    const ps = this._ps;
    const length = bytes.length;
    for (let done = 0; done < length; ) {
      const a = addr + done;
      const n = Math.min(length - done, ps - lowBits(a, ps));
      if (this.#translate(a, VM_PROT_WRITE) < 0) this.#device(a, n, VM_PROT_WRITE);
      done += n;
    }
    for (let done = 0; done < length; ) {
      const a = addr + done;
      const n = Math.min(length - done, ps - lowBits(a, ps));
      const off = this.#translate(a, VM_PROT_WRITE);
      if (off >= 0) this.#u8.set(bytes.subarray(done, done + n), off);
      else {
        const at = this.#fc.mmioOffset;
        const d = this.#fc.mmio!.device;
        for (let i = 0; i < n; i++) d.store(at + i, 1, bytes[done + i]);
      }
      done += n;
    }
  }

  // ------------------------------------------------------------------ inspection

  /** One plain object per map entry, in address order. */
  maps(): MapInfo[] {
    const out: MapInfo[] = [];
    for (const e of this.map.entries()) out.push(this.#info(e));
    return out;
  }

  #info(e: VmMapEntry): MapInfo {
    const ps = this._ps;
    const obj = e.object;
    let resident = 0;
    let swapped = 0;
    let chainPages = 0;
    for (let o = obj; o !== null; o = o.backingObject)
      chainPages += o.residentCount + o.swappedCount;
    if (obj !== null && chainPages > 0) {
      const first = e.offset / ps;
      const n = (e.end - e.start) / ps;
      for (let p = 0; p < n; p++) {
        const where = obj.chainState(first + p);
        if (where === CHAIN_RESIDENT) resident++;
        else if (where === CHAIN_SWAPPED) swapped++;
      }
    }
    const guard = (e.eflags & MAP_ENTRY_GUARD) !== 0;
    const stack =
      (e.eflags &
        (MAP_ENTRY_GROWS_DOWN |
          MAP_ENTRY_GROWS_UP |
          MAP_ENTRY_STACK_GAP_DN |
          MAP_ENTRY_STACK_GAP_UP)) !==
      0;
    // As procstat (kern_proc_vmmap_out) and /proc/PID/maps report it: the kind, path and
    // offset of the deepest object of the chain, so a private file mapping stays a file mapping
    // after its first copy-on-write shadow.
    let deep = obj;
    let offset = e.offset;
    while (deep !== null && deep.backingObject !== null) {
      offset += deep.backingObjectOffset;
      deep = deep.backingObject;
    }
    const kind: MapInfo["kind"] =
      deep !== null && deep.type === "vnode"
        ? deep.pager instanceof ShmPager
          ? "shm"
          : "vnode"
        : deep !== null && deep.type === "device"
          ? "device"
          : stack
            ? "stack"
            : guard
              ? "guard"
              : "anon";
    const cow = (e.eflags & MAP_ENTRY_COW) !== 0;
    return {
      start: e.start,
      end: e.end,
      prot: e.protection,
      maxProt: e.maxProtection,
      inheritance: e.inheritance,
      shared: this._isShared(e),
      cow,
      needsCopy: (e.eflags & MAP_ENTRY_NEEDS_COPY) !== 0,
      wired: e.wiredCount,
      kind,
      offset,
      path: this._pathOf(e),
      resident,
      swapped,
      shadowDepth: obj === null ? 0 : obj.chainLength - 1,
    };
  }

  /** @internal Whether the entry is a shared mapping (shown "s" in Linux's maps format). */
  protected _isShared(e: VmMapEntry): boolean {
    const obj = e.object;
    if ((e.eflags & (MAP_ENTRY_COW | MAP_ENTRY_GUARD)) !== 0) return false;
    return (
      e.inheritance === VM_INHERIT_SHARE ||
      (obj !== null && (!obj.isAnon || (obj.flags & OBJ_SHM) !== 0))
    );
  }

  /** @internal The path shown for an entry: its file's name, or null. */
  protected _pathOf(e: VmMapEntry): string | null {
    const o = e.object?.bottom;
    return o?.pager?.path ?? o?.devicePager?.path ?? null;
  }

  /**
   * @internal Unwires and unmaps the wired pages of [start, end) whose entries stay wired (a
   * Linux VM_LOCKED range whose pages are dropped: they come back, wired, at their next fault).
   */
  protected _dropWiredPages(start: number, end: number): void {
    this.#unwirePages(start, end);
    this.pmap.remove(start, end);
  }

  /**
   * @internal A wiring fault of page `va` (vm_fault_wire's, with the entry's whole protection):
   * maps it wired and wires its frame, faulting it in if need be. False on failure.
   */
  protected _wireFault(va: number): boolean {
    const page = va - lowBits(va, this._ps);
    return (
      vmFault(this.#fc, this.map, this.pmap, page, VM_PROT_NONE, VM_FAULT_WIRE) === KERN_SUCCESS
    );
  }

  /** @internal Faults page `va` in for `access` (prefault, MAP_POPULATE); false on failure. */
  protected _prefault(va: number, access: VmProt): boolean {
    const page = va - lowBits(va, this._ps);
    if (this.pmap.fill(page, access) >= 0) return true;
    return vmFault(this.#fc, this.map, this.pmap, page, access, 0) === KERN_SUCCESS;
  }

  /**
   * @internal A fault found no entry at `page`: may the personality grow a stack down to it?
   * FreeBSD grows its stacks in vm_map_lookup (stack gap entries), so here: never.
   */
  protected _expandStack(_page: number): boolean {
    return false;
  }

  /** @internal Marks an entry grows-down (Linux MAP_GROWSDOWN, an exec image's [stack]). */
  protected _markGrowsDown(e: VmMapEntry): void {
    e.eflags |= MAP_ENTRY_GROWS_DOWN;
  }

  /**
   * The map as text: "procstat" as FreeBSD `procstat -v` prints it (PID START END PRT RES PRES
   * REF SHD FLAG TP PATH), or "linux" as /proc/PID/maps.
   */
  formatMaps(format: "procstat" | "linux" = "procstat"): string {
    const lines: string[] = [];
    const prot = (p: number) =>
      (p & VM_PROT_READ ? "r" : "-") +
      (p & VM_PROT_WRITE ? "w" : "-") +
      (p & VM_PROT_EXECUTE ? "x" : "-");
    if (format === "linux") {
      for (const e of this.map.entries()) {
        const i = this.#info(e);
        const name =
          i.path ?? (i.kind === "stack" && (e.eflags & MAP_ENTRY_GUARD) === 0 ? "[stack]" : "");
        const off = i.kind === "vnode" || i.kind === "shm" || i.kind === "device" ? i.offset : 0;
        const head = `${i.start.toString(16).padStart(8, "0")}-${i.end.toString(16).padStart(8, "0")} ${prot(i.prot)}${i.shared ? "s" : "p"} ${off.toString(16).padStart(8, "0")} 00:00 0`;
        lines.push(name ? `${head.padEnd(72)} ${name}` : `${head} `);
      }
      return lines.length > 0 ? `${lines.join("\n")}\n` : "";
    }
    lines.push("  PID              START                END PRT  RES PRES REF SHD FLAG  TP PATH");
    for (const e of this.map.entries()) {
      const i = this.#info(e);
      const obj = e.object;
      const flag =
        (i.cow ? "C" : "-") +
        (i.needsCopy ? "N" : "-") +
        "-" +
        ((e.eflags & MAP_ENTRY_GROWS_DOWN) !== 0
          ? "D"
          : (e.eflags & MAP_ENTRY_GROWS_UP) !== 0
            ? "U"
            : "-") +
        ((e.eflags & MAP_ENTRY_USER_WIRED) !== 0 || e.wiredCount > 0 ? "W" : "-");
      const tp =
        obj === null
          ? i.kind === "guard" || (e.eflags & MAP_ENTRY_GUARD) !== 0
            ? "gd"
            : "--"
          : i.kind === "vnode"
            ? "vn"
            : i.kind === "shm"
              ? "sw"
              : i.kind === "device"
                ? "dv"
                : obj.backingObject !== null || obj.type === "swap"
                  ? "sw"
                  : "df";
      lines.push(
        `${String(this.pid).padStart(5)} ${(`0x${i.start.toString(16)}`).padStart(18)} ${(`0x${i.end.toString(16)}`).padStart(18)} ${prot(i.prot)} ${String(i.resident).padStart(4)} ${String(obj ? obj.residentCount : 0).padStart(4)} ${String(obj ? obj.refCount : 0).padStart(3)} ${String(obj ? obj.shadowCount : 0).padStart(3)} ${flag} ${tp} ${i.path ?? ""}`.trimEnd(),
      );
    }
    return `${lines.join("\n")}\n`;
  }

  /** Inheritance as text, for views. */
  static inheritName(i: number): string {
    return INHERIT_NAMES[i] ?? String(i);
  }
}

/** vm_mmap_to_errno. */
export function mmapToErrno(rv: KernReturn): ErrnoName {
  switch (rv) {
    case KERN_SUCCESS:
      throw new Error("mmapToErrno: success");
    case KERN_INVALID_ADDRESS:
    case KERN_NO_SPACE:
      return "ENOMEM";
    case KERN_PROTECTION_FAILURE:
      return "EACCES";
    default:
      return "EINVAL";
  }
}
