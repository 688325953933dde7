/**
 * The Linux personality: the same address space (VmMap, objects, pmap, faults) behind Linux's
 * system calls — its argument checks and their order, its errno numbers and flag values, its
 * placement (top-down below mmap_base, see src/map/placement.ts), brk and mremap — restated
 * from Linux 6.x mm/mmap.c, mm/mremap.c, mm/mprotect.c, mm/madvise.c and
 * arch/x86/kernel/sys_x86_64.c (x86-64, 47-bit user space).
 *
 * Where Linux changes state before it fails, so does this (each is named in docs/syscalls.md):
 * mprotect applies itself vma by vma and stops at the first hole (ENOMEM), the first vma
 * whose maximum protection forbids the change (EACCES) or a sealed vma (EPERM); madvise advises
 * vma by vma, stops at the first vma the advice is refused for (EINVAL, or EPERM: mseal), and
 * reports a hole with ENOMEM after advising every mapped part; mremap with MREMAP_FIXED unmaps
 * its destination, and a shrink the old tail, before what can still fail after them, and a
 * MREMAP_FIXED move of several vmas stops at the first that fails, the ones before it moved.
 *
 * Linux ideas mapped onto the FreeBSD structures:
 * - a "vma" is a maximal run of adjacent entries with the same attributes (FreeBSD merges less
 *   eagerly than Linux, so one Linux vma may be several entries here);
 * - VM_MAYSHARE is a vnode object without copy-on-write, or a shared anonymous object (OBJ_SHM,
 *   Linux's shmem): that is what /proc/PID/maps prints as "s";
 * - VM_DONTCOPY (MADV_DONTFORK) is INHERIT_NONE, VM_WIPEONFORK is INHERIT_ZERO; DOFORK and
 *   KEEPONFORK restore INHERIT_SHARE for shared mappings and INHERIT_COPY for private ones;
 * - MADV_DONTNEED on a private mapping replaces the range with a fresh mapping of the same
 *   kind (the next touch sees zeros, or the file's bytes), exactly what zapping the ptes of a
 *   private vma means; on a shared mapping it only drops the translations.
 *
 * Deliberate difference: Linux ignores unknown bits in mmap's prot and in MAP_PRIVATE/MAP_SHARED
 * flags; here a bit that no Linux constant names is EINVAL (API.md: a constant the personality
 * lacks is refused, never silently ignored).
 *
 * Guarded by: as Process (the map lock for the map; brk fields by the process).
 */

import {
  MAP_COPY_ON_WRITE,
  MAP_ENTRY_COW,
  MAP_ENTRY_DROPPABLE,
  MAP_ENTRY_GROWS_DOWN,
  MAP_ENTRY_LOCK_ONFAULT,
  MAP_ENTRY_SEALED,
  MAP_ENTRY_USER_WIRED,
  MAP_ENTRY_WIPE_HELD,
  MAP_INHERIT_SHARE,
  MAP_READ_IMPLIED,
  MAP_STACK_GROWS_DOWN,
  MAP_WIREFUTURE,
  VM_MAP_PROTECT_SET_PROT,
  VM_MAP_WIRE_HOLESOK,
  VM_MAP_WIRE_NOFAULT,
  VM_MAP_WIRE_USER,
} from "../base/flags.js";
import { KERN_SUCCESS } from "../base/kern.js";
import {
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_SHARE,
  VM_INHERIT_ZERO,
  VM_PROT_ALL,
  VM_PROT_NONE,
  VM_PROT_READ,
  VM_PROT_WRITE,
  type VmProt,
} from "../base/prot.js";
import { LinuxTopDown, type PlacementStrategy } from "../map/placement.js";
import type { VmMapEntry } from "../map/VmMapEntry.js";
import { OBJ_ONEMAPPING, OBJ_SHM, VmObject } from "../object/VmObject.js";
import { Device } from "../pager/device.js";
import { linux as L } from "./constants.js";
import { Process, type ProcessOptions, type Rlimit } from "./Process.js";
import type { VmSystem } from "./VmSystem.js";

/** vm.max_map_count's default. */
export const LINUX_MAX_MAP_COUNT = 65530;
/** vm.mmap_min_addr's default. */
export const LINUX_MMAP_MIN_ADDR = 65536;

/** mm/madvise.c is_discard: the advice a sealed read-only anonymous vma refuses. */
const DISCARD_ADVICE: ReadonlySet<number> = new Set([
  L.MADV_FREE,
  L.MADV_DONTNEED,
  L.MADV_DONTNEED_LOCKED,
  L.MADV_REMOVE,
  L.MADV_DONTFORK,
  L.MADV_WIPEONFORK,
  L.MADV_GUARD_INSTALL,
]);
/** stack_guard_gap: 256 pages. */
const STACK_GUARD_PAGES = 256;

const PROT_KNOWN = L.PROT_READ | L.PROT_WRITE | L.PROT_EXEC | L.PROT_SEM;
const MAP_KNOWN =
  L.MAP_TYPE |
  L.MAP_FIXED |
  L.MAP_ANONYMOUS |
  L.MAP_32BIT |
  L.MAP_GROWSDOWN |
  L.MAP_DENYWRITE |
  L.MAP_EXECUTABLE |
  L.MAP_LOCKED |
  L.MAP_NORESERVE |
  L.MAP_POPULATE |
  L.MAP_NONBLOCK |
  L.MAP_STACK |
  L.MAP_HUGETLB |
  L.MAP_SYNC |
  L.MAP_FIXED_NOREPLACE |
  L.MAP_UNINITIALIZED |
  (0x3f << 26); /* MAP_HUGE_SHIFT: the huge page size field */
/** LEGACY_MAP_MASK: what MAP_SHARED (not _VALIDATE) of a file keeps. */
const LEGACY_MAP_MASK =
  L.MAP_SHARED |
  L.MAP_PRIVATE |
  L.MAP_FIXED |
  L.MAP_ANONYMOUS |
  L.MAP_DENYWRITE |
  L.MAP_EXECUTABLE |
  L.MAP_UNINITIALIZED |
  L.MAP_GROWSDOWN |
  L.MAP_LOCKED |
  L.MAP_NORESERVE |
  L.MAP_POPULATE |
  L.MAP_NONBLOCK |
  L.MAP_STACK |
  L.MAP_HUGETLB |
  L.MAP_32BIT |
  (0x3f << 26);
/**
 * What MAP_SHARED_VALIDATE accepts: LEGACY_MAP_MASK plus the file's mmap_supported_flags.
 * MAP_FIXED_NOREPLACE is EOPNOTSUPP there (the kernel's legacy mask lacks it too). A regular
 * file here is what ext4 or xfs offer without DAX: its mmap_supported_flags name MAP_SYNC, so
 * validation lets it through, and its mmap method refuses it (EOPNOTSUPP) whatever the mapping
 * type, MAP_SHARED and MAP_PRIVATE included: Linux 6.18 sets VM_SYNC from the flags before it
 * masks MAP_SHARED's to the legacy set (checked on this machine's kernel). A device is as
 * /dev/zero or shmem: MAP_SYNC is not among its flags (EOPNOTSUPP under MAP_SHARED_VALIDATE),
 * and it ignores it otherwise.
 */
const VALIDATE_MASK = LEGACY_MAP_MASK;
const FILE_VALIDATE_MASK = LEGACY_MAP_MASK | L.MAP_SYNC;

/** Options of a Linux process (sys.createProcess()). */
export interface LinuxProcessOptions extends ProcessOptions {
  /** mm->mmap_base: where top-down placement starts (an exec image sets it). */
  mmapBase?: number;
  /** mm->start_brk: where the heap starts. Default: ELF_ET_DYN_BASE-like, 2/3 of the space. */
  brkBase?: number;
  /** A placement strategy of your own (default: Linux top-down below mmapBase). */
  placement?: PlacementStrategy;
}

/** The Linux default mmap_base without ASLR: TASK_SIZE - 128 MiB (the minimum stack gap). */
export function defaultMmapBase(addressBits: number, pageSize: number): number {
  return 2 ** addressBits - pageSize - 128 * 2 ** 20;
}

/** A process of a `personality: "linux"` system. */
export class LinuxProcess extends Process {
  /** mm->mmap_base (constant after exec). */
  mmapBase: number;
  /** The placement policy of this address space. */
  placement: PlacementStrategy;
  /** mm->start_brk and mm->brk (bytes; brk may be unaligned, as Linux keeps it). */
  startBrk: number;
  #brk: number;
  /** mm->def_flags' VM_LOCKONFAULT: mappings made under MCL_FUTURE lock on fault. */
  #lockOnFault = false;
  /** vm.max_map_count: more map entries than this is ENOMEM. */
  maxMapCount = LINUX_MAX_MAP_COUNT;

  /** @internal Use sys.createProcess() or p.fork(). */
  constructor(sys: VmSystem, pid: number, opts: LinuxProcessOptions, parent: Process | null) {
    super(sys, pid, opts, parent);
    // x86: PROT_WRITE or PROT_EXEC alone still lets a read through (access_error).
    this.map.modflags(MAP_READ_IMPLIED, 0);
    const ps = sys.pageSize;
    if (parent instanceof LinuxProcess) {
      this.mmapBase = parent.mmapBase;
      this.placement = parent.placement;
      this.startBrk = parent.startBrk;
      this.#brk = parent.#brk;
      this.maxMapCount = parent.maxMapCount;
      return;
    }
    const top = 2 ** sys.addressBits - ps;
    const base = opts.mmapBase ?? defaultMmapBase(sys.addressBits, ps);
    if (!Number.isSafeInteger(base) || base % ps !== 0 || base <= 0 || base > top)
      throw new RangeError(`createProcess: mmapBase ${base} is not a page in the address space`);
    this.mmapBase = base;
    this.placement =
      opts.placement ??
      new LinuxTopDown({
        mmapBase: base,
        pageSize: ps,
        addressBits: sys.addressBits,
        random: sys.aslrRandom ?? undefined,
      });
    const brk = opts.brkBase ?? Math.floor((top * 2) / 3 / ps) * ps;
    if (!Number.isSafeInteger(brk) || brk % ps !== 0 || brk <= 0 || brk > top)
      throw new RangeError(`createProcess: brkBase ${brk} is not a page in the address space`);
    this.startBrk = brk;
    this.#brk = brk;
  }

  /** The current break (mm->brk). */
  get currentBrk(): number {
    return this.#brk;
  }

  /**
   * What execve leaves behind for the heap: start_brk = brk = `addr` (page aligned). Replayers
   * call it with the first brk(0) answer of a trace, since a trace does not show the ELF image.
   */
  setBrkBase(addr: number): void {
    if (!Number.isSafeInteger(addr) || addr <= 0 || addr % this._ps !== 0)
      throw new RangeError(`setBrkBase: ${addr} is not a page-aligned address`);
    this.startBrk = addr;
    this.#brk = addr;
  }

  /** TASK_SIZE: x86-64 keeps the last page below 2^47 out of user space. */
  get #taskSize(): number {
    return this.map.max - this._ps;
  }

  // ------------------------------------------------------------------ mmap

  /**
   * mmap(2) with Linux's checks in the kernel's order (sys_mmap, ksys_mmap_pgoff, do_mmap,
   * mmap_region): EINVAL, EBADF, ENOMEM, EPERM, EEXIST, EACCES, EOPNOTSUPP, EAGAIN.
   */
  override mmap(
    addr: number,
    length: number,
    prot: number,
    flags: number,
    fd = -1,
    offset = 0,
  ): number {
    const sc = "mmap";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    this._num(sc, offset, "off");
    this._int(sc, prot, "prot");
    this._int(sc, flags, "flags");
    this._int(sc, fd, "fd");
    const ps = this._ps;
    if (offset % ps !== 0) throw this._err(sc, "EINVAL", "offset not page aligned");
    if ((prot & ~PROT_KNOWN) !== 0) throw this._err(sc, "EINVAL", "unknown prot bits");
    if (flags < 0 || (flags & ~MAP_KNOWN) !== 0) throw this._err(sc, "EINVAL", "unknown flags");
    const anon = (flags & L.MAP_ANONYMOUS) !== 0;
    const file = anon ? undefined : this.fds.get(fd);
    if (!anon && file === undefined) throw this._err(sc, "EBADF", `descriptor ${fd} is not open`);
    const droppable = anon && (flags & L.MAP_TYPE) === L.MAP_DROPPABLE;
    // (Anonymous MAP_HUGETLB gets a hugetlbfs file here; without reserved huge pages the mapping
    // fails later with ENOMEM. A droppable one is refused first, by do_mmap's MAP_TYPE switch.)
    if ((flags & L.MAP_HUGETLB) !== 0 && !droppable)
      throw this._err(sc, anon ? "ENOMEM" : "EINVAL", "no huge pages are reserved");
    // do_mmap
    if (length === 0) throw this._err(sc, "EINVAL", "len is 0");
    const size = Math.ceil(length / ps) * ps;
    const task = this.#taskSize;
    if (size > task) throw this._err(sc, "ENOMEM", "length does not fit the address space");
    if (this.map.nentries > this.maxMapCount) throw this._err(sc, "ENOMEM", "max_map_count");
    if ((flags & L.MAP_FIXED_NOREPLACE) !== 0) flags |= L.MAP_FIXED;
    const type = flags & L.MAP_TYPE;
    const shared = type === L.MAP_SHARED || type === L.MAP_SHARED_VALIDATE;
    let at: number;
    if ((flags & L.MAP_FIXED) !== 0) {
      if (addr > task - size) throw this._err(sc, "ENOMEM", "range beyond the address space");
      if (addr % ps !== 0) throw this._err(sc, "EINVAL", "MAP_FIXED address not page aligned");
      if (addr < LINUX_MMAP_MIN_ADDR && !this.privileged)
        throw this._err(sc, "EPERM", "below vm.mmap_min_addr");
      at = addr;
    } else {
      at = this.placement.place(this.map, {
        hint: addr,
        length: size,
        offset,
        file: !anon,
        shared,
        below4G: (flags & L.MAP_32BIT) !== 0,
      });
      if (at < 0) throw this._err(sc, "ENOMEM", "no space");
    }
    const noreplace = (flags & L.MAP_FIXED_NOREPLACE) !== 0;
    if (noreplace && this.#overlaps(at, at + size))
      throw this._err(sc, "EEXIST", "MAP_FIXED_NOREPLACE over a mapping");
    // can_do_mlock for MAP_LOCKED, then mlock_future_ok with VM_LOCKED from the flags or from
    // mm->def_flags (mlockall(MCL_FUTURE)); both before the file checks, as in do_mmap.
    if ((flags & L.MAP_LOCKED) !== 0 && !this.#canDoMlock())
      throw this._err(sc, "EPERM", "RLIMIT_MEMLOCK is 0");
    if ((flags & L.MAP_LOCKED) !== 0 || (this.map.flags & MAP_WIREFUTURE) !== 0)
      this.#mlockFutureOk(sc, size);
    // vm_flags: VM_MAY* all set; a shared mapping of a file not open for writing loses MAYWRITE.
    let maxprot: VmProt = VM_PROT_ALL;
    const regular = file !== undefined && !(file.vnode instanceof Device);
    const sync = regular && (flags & L.MAP_SYNC) !== 0;
    if (file !== undefined) {
      if (type === L.MAP_SHARED) flags &= LEGACY_MAP_MASK;
      if (shared) {
        if ((flags & ~(regular ? FILE_VALIDATE_MASK : VALIDATE_MASK)) !== 0)
          throw this._err(sc, "EOPNOTSUPP");
        if ((prot & L.PROT_WRITE) !== 0 && file.mode === "r")
          throw this._err(sc, "EACCES", "shared PROT_WRITE on a descriptor open read-only");
        if (file.mode === "r") maxprot &= ~VM_PROT_WRITE;
      } else if (type !== L.MAP_PRIVATE) throw this._err(sc, "EINVAL", "no mapping type");
      if (file.mode === "w") throw this._err(sc, "EACCES", "descriptor not open for reading");
      if ((flags & L.MAP_GROWSDOWN) !== 0) throw this._err(sc, "EINVAL", "MAP_GROWSDOWN file");
    } else if (type === L.MAP_SHARED) {
      if ((flags & L.MAP_GROWSDOWN) !== 0) throw this._err(sc, "EINVAL", "shared MAP_GROWSDOWN");
    } else if (droppable) {
      // do_mmap's MAP_DROPPABLE: a locked, huge or stack area makes no sense to be droppable.
      if ((flags & (L.MAP_LOCKED | L.MAP_HUGETLB)) !== 0)
        throw this._err(sc, "EINVAL", "MAP_DROPPABLE with MAP_LOCKED or MAP_HUGETLB");
      if ((flags & L.MAP_GROWSDOWN) !== 0)
        throw this._err(sc, "EINVAL", "MAP_DROPPABLE with MAP_GROWSDOWN");
    } else if (type !== L.MAP_PRIVATE) throw this._err(sc, "EINVAL", "no mapping type");
    // __mmap_prepare: a fixed mapping's munmap of what it replaces, refused over a sealed vma;
    // then the address-space and data limits, counting what it replaces. (MAP_FIXED_NOREPLACE
    // got here over a free range: it replaces nothing.)
    if ((flags & L.MAP_FIXED) !== 0 && !noreplace && this.#sealedIn(at, at + size))
      throw this._err(sc, "EPERM", "MAP_FIXED over a sealed mapping (mseal)");
    const replaced =
      (flags & L.MAP_FIXED) !== 0 && !noreplace ? this.#mappedBytes(at, at + size) : 0;
    if (this.map.size - replaced + size > this._limits.vmem)
      throw this._err(sc, "ENOMEM", "RLIMIT_AS");
    const p = prot & VM_PROT_ALL;
    if ((p & VM_PROT_WRITE) !== 0 && !shared && (flags & L.MAP_GROWSDOWN) === 0)
      this.#dataLimit(sc, size - replaced);
    let object: VmObject | null = null;
    let cow = 0;
    if (file !== undefined) {
      // The file's mmap method (ext4_file_mmap: daxdev_mapping_supported).
      if (sync) throw this._err(sc, "EOPNOTSUPP", "MAP_SYNC needs a DAX file");
      this._checkDevice(sc, file.vnode, shared, offset, size);
      object = this.sys._vnodeObject(file.vnode, file.path);
      // A shared vma stays shared in a fork child (dup_mmap copies no VM_SHARED page).
      cow |= shared ? MAP_INHERIT_SHARE : MAP_COPY_ON_WRITE;
    } else if (shared) {
      object = this.#shmObject(size);
      cow |= MAP_INHERIT_SHARE;
    }
    if ((flags & L.MAP_GROWSDOWN) !== 0) cow |= MAP_STACK_GROWS_DOWN;
    // do_mmap ignores the offset of an anonymous mapping (shmem starts at 0, private anonymous
    // memory has no object to index).
    this.#insert(sc, object, anon ? 0 : offset, at, size, p, maxprot, cow);
    if ((flags & L.MAP_GROWSDOWN) !== 0) {
      this.#markGrowsDown(at, at + size);
      // Clipped out of a merge, the vma counts as Linux counts it (as #insert checks).
      if (this.map.nentries > this.maxMapCount + 1) {
        this.map.remove(at, at + size);
        throw this._err(sc, "ENOMEM", "max_map_count");
      }
    }
    if (droppable) {
      // VM_DROPPABLE | VM_WIPEONFORK (and VM_DONTDUMP, VM_NORESERVE: nothing to model). It is
      // never locked, MCL_FUTURE or not, but populated as a locked mapping would be.
      this.map.inherit(at, at + size, VM_INHERIT_ZERO);
      this.#setEntryBit(at, at + size, MAP_ENTRY_DROPPABLE, true);
      if ((flags & L.MAP_POPULATE) !== 0 || (this.map.flags & MAP_WIREFUTURE) !== 0)
        this.#populate(at, at + size, false);
    } else if ((flags & L.MAP_LOCKED) !== 0 || (this.map.flags & MAP_WIREFUTURE) !== 0)
      this.#lockRange(at, at + size, false, this.#futureLock());
    else if ((flags & L.MAP_POPULATE) !== 0) this.#populate(at, at + size, shared);
    return at;
  }

  /** A shared anonymous object (shmem): one object, shared by every mapping and child. */
  #shmObject(size: number): VmObject {
    const o = VmObject.allocateAnon(this.sys.objects, size / this._ps);
    o.flags = (o.flags & ~OBJ_ONEMAPPING) | OBJ_SHM;
    return o;
  }

  /** Inserts at exactly [at, at + size), replacing what is there; consumes `object`'s ref. */
  #insert(
    sc: string,
    object: VmObject | null,
    offset: number,
    at: number,
    size: number,
    prot: VmProt,
    max: VmProt,
    cow: number,
  ): void {
    // A grows-down mapping is an ordinary entry marked afterwards (vm_map_stack's reserve and
    // guard are FreeBSD's, not Linux's).
    const rv = this.map.fixed(object, offset, at, size, prot, max, cow & ~MAP_STACK_GROWS_DOWN);
    if (rv !== KERN_SUCCESS) {
      object?.deallocate();
      throw this._err(sc, "ENOMEM", `vm_map_fixed: ${rv}`);
    }
    if (this.map.nentries > this.maxMapCount + 1) {
      this.map.remove(at, at + size);
      throw this._err(sc, "ENOMEM", "max_map_count");
    }
  }

  #markGrowsDown(start: number, end: number): void {
    // The plain entry just made for [start, end) may have merged with a plain neighbour
    // (vm_map_insert's coalescing); a VM_GROWSDOWN vma never merges with one that does not grow
    // down, so the range is clipped out again before it is marked (marked, it merges no more).
    this.map.lock();
    try {
      for (const e of [...this.#entriesIn(start, end)]) {
        this.map.clipStart(e, start);
        this.map.clipEnd(e, end);
      }
      for (const e of [...this.#entriesIn(start, end)]) this._markGrowsDown(e);
    } finally {
      this.map.unlock();
    }
  }

  /** True when some entry intersects [start, end). */
  #overlaps(start: number, end: number): boolean {
    return this.#firstIn(start, end) !== null;
  }

  /** True when some sealed entry (mseal) intersects [start, end). */
  #sealedIn(start: number, end: number): boolean {
    for (let e = this.#firstIn(start, end); e !== null && e.start < end; e = e.next)
      if ((e.eflags & MAP_ENTRY_SEALED) !== 0) return true;
    return false;
  }

  /** The first entry that intersects [start, end), or null (the walks below need no generator). */
  #firstIn(start: number, end: number): VmMapEntry | null {
    const r = this.map.lookupEntry(start);
    const e = r.found ? r.entry : r.entry === null ? this.map.firstEntry : r.entry.next;
    return e !== null && e.start < end ? e : null;
  }

  /** Bytes of [start, end) that are mapped. */
  #mappedBytes(start: number, end: number): number {
    let n = 0;
    for (let e = this.#firstIn(start, end); e !== null && e.start < end; e = e.next)
      n += Math.min(end, e.end) - Math.max(start, e.start);
    return n;
  }

  *#entriesIn(start: number, end: number): Generator<VmMapEntry> {
    const r = this.map.lookupEntry(start);
    let e = r.found ? r.entry : r.entry === null ? this.map.firstEntry : r.entry.next;
    while (e !== null && e.start < end) {
      const next = e.next;
      yield e;
      e = next;
    }
  }

  /** may_expand_vm's data check: private writable mappings count against RLIMIT_DATA. */
  #dataLimit(sc: string, add: number): void {
    const lim = this._rlimits[this._rl.data].soft;
    if (!Number.isFinite(lim)) return;
    let data = 0;
    for (const e of this.map.entries())
      if ((e.protection & VM_PROT_WRITE) !== 0 && !this.#isShared(e) && !this.#growsDown(e))
        data += e.end - e.start;
    if (data + add > lim) throw this._err(sc, "ENOMEM", "RLIMIT_DATA");
  }

  /** can_do_mlock: a memory-lock allowance, or CAP_IPC_LOCK. */
  #canDoMlock(): boolean {
    return this.privileged || this._rlimits[this._rl.memlock].soft !== 0;
  }

  /** mlock_future_ok for a range that will be locked: EAGAIN past RLIMIT_MEMLOCK. */
  #mlockFutureOk(sc: string, add: number): void {
    if (this.privileged) return;
    if (this.map.userWiredPages * this._ps + add > this._limits.memlock)
      throw this._err(sc, "EAGAIN", "RLIMIT_MEMLOCK");
  }

  /**
   * VM_LOCKED for every vma of [start, end), then __mm_populate. The entries are marked wired
   * without faulting (VM_MAP_WIRE_NOFAULT: a vma without access is locked too, as mlock_fixup
   * locks it), then the range is populated in address order with wiring faults, which also
   * wire the pages already resident. A vma without access is not populated
   * (populate_vma_page_range: -EFAULT). `how`: "mlock" stops population there, or at a failing
   * fault, and only wires resident pages past that point (mlock_fixup locks present pages before
   * population begins); "all" (mlockall, a locked mmap, brk or move) skips failures
   * (ignore_errors); "onfault" (VM_LOCKONFAULT: MCL_ONFAULT) populates nothing and wires the
   * resident pages only, the others wired as they fault in; "grown" (a locked stack grown down:
   * expand_downwards populates nothing, the faulting access brings its page in) is "onfault"
   * without the flag. Returns the marking's KERN_* code and whether population went through.
   */
  #lockRange(
    start: number,
    end: number,
    holesOk: boolean,
    how: "mlock" | "all" | "onfault" | "grown",
  ): { rv: number; populated: boolean } {
    const flags = VM_MAP_WIRE_USER | VM_MAP_WIRE_NOFAULT | (holesOk ? VM_MAP_WIRE_HOLESOK : 0);
    const rv = this.map.wire(start, end, flags);
    if (rv !== KERN_SUCCESS) return { rv, populated: false };
    // mlock_fixup leaves a VM_DROPPABLE vma unlocked and uncounted; it is populated all the same.
    // (By address: an unwire merges entries, and the map reuses those it frees.)
    const both = MAP_ENTRY_DROPPABLE | MAP_ENTRY_USER_WIRED;
    for (let at = start; at < end; ) {
      const e = this.#firstIn(at, end);
      if (e === null) break;
      const t = Math.min(end, e.end);
      if ((e.eflags & both) === both)
        kassertOk(
          this.map.unwire(Math.max(at, e.start), t, VM_MAP_WIRE_USER | VM_MAP_WIRE_HOLESOK),
        );
      at = t;
    }
    this.#markLockOnFault(start, end, how === "onfault");
    const stopAtFirst = how === "mlock";
    const lazy = how === "onfault" || how === "grown";
    let stopped = lazy;
    const ps = this._ps;
    for (const e of this.#entriesIn(start, end)) {
      const droppable = (e.eflags & MAP_ENTRY_DROPPABLE) !== 0;
      if (!droppable && (e.eflags & MAP_ENTRY_USER_WIRED) === 0) continue; // a guard: never locked
      if (this.#isDevice(e)) continue; // VM_PFNMAP: not populated
      const accessible = (e.protection & VM_PROT_ALL) !== 0;
      if (!accessible && stopAtFirst) stopped = true;
      if (!accessible) continue;
      const from = Math.max(start, e.start);
      const to = Math.min(end, e.end);
      for (let va = from; va < to; va += ps) {
        if (stopped && this.pmap.extract(va) === 0) continue;
        const ok = droppable ? this._prefault(va, VM_PROT_READ) : this._wireFault(va);
        if (!ok && stopAtFirst) stopped = true;
      }
    }
    return { rv, populated: lazy || !stopped };
  }

  /**
   * VM_LOCKONFAULT on the locked vmas of [start, end), or off: mlock and mlockall set the
   * vmas' lock flags anew (mlock_fixup, apply_mlockall_flags).
   */
  #markLockOnFault(start: number, end: number, on: boolean): void {
    this.#setEntryBit(start, end, MAP_ENTRY_LOCK_ONFAULT, on, MAP_ENTRY_USER_WIRED);
  }

  /**
   * Sets (or clears) eflags bit `bit` of the entries in [s, t) that carry every bit of `only`,
   * clipped to the range, then lets them merge with their neighbours again (the bits a vmspace
   * entry keeps for a Linux vma flag FreeBSD has no field for).
   */
  #setEntryBit(s: number, t: number, bit: number, on: boolean, only = 0): void {
    const inRange = [...this.#entriesIn(s, t)].filter(
      (e) => (e.eflags & only) === only && ((e.eflags & bit) !== 0) !== on,
    );
    if (inRange.length === 0) return;
    this.map.lock();
    for (const e of inRange) {
      this.map.clipStart(e, Math.max(s, e.start));
      this.map.clipEnd(e, Math.min(t, e.end));
      e.eflags = on ? e.eflags | bit : e.eflags & ~bit;
    }
    for (const e of inRange) if (e.leaf >= 0) this.map.simplifyEntry(e);
    this.map.unlock();
  }

  /** How a mapping made now is locked (mm->def_flags: VM_LOCKED, VM_LOCKONFAULT). */
  #futureLock(): "all" | "onfault" {
    return this.#lockOnFault ? "onfault" : "all";
  }

  /** MAP_POPULATE / MADV_POPULATE_*: fault every page in (write faults for writable ones). */
  #populate(start: number, end: number, shared: boolean): boolean {
    for (const e of this.#entriesIn(start, end)) {
      const write = (e.protection & VM_PROT_WRITE) !== 0 && shared;
      for (let va = Math.max(start, e.start); va < Math.min(end, e.end); va += this._ps)
        if (!this._prefault(va, write ? VM_PROT_WRITE : VM_PROT_READ)) return false;
    }
    return true;
  }

  #isShared(e: VmMapEntry): boolean {
    const o = e.object;
    return (
      (e.eflags & MAP_ENTRY_COW) === 0 &&
      o !== null &&
      (o.type === "vnode" || o.type === "device" || (o.flags & OBJ_SHM) !== 0)
    );
  }
  /** Whether e maps a file (its chain ends in a vnode object). */
  #isFile(e: VmMapEntry): boolean {
    return e.object !== null && e.object.bottom.type === "vnode";
  }

  /** Whether e maps a device (Linux's VM_IO | VM_PFNMAP). */
  #isDevice(e: VmMapEntry): boolean {
    return e.object !== null && e.object.type === "device";
  }

  #growsDown(e: VmMapEntry): boolean {
    return (e.eflags & MAP_ENTRY_GROWS_DOWN) !== 0;
  }

  // ------------------------------------------------------------------ munmap

  /** munmap(2): EINVAL for an unaligned address, a zero length or a range beyond TASK_SIZE. */
  override munmap(addr: number, length: number): void {
    const sc = "munmap";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    const ps = this._ps;
    const task = this.#taskSize;
    if (addr % ps !== 0 || addr > task || length > task - addr)
      throw this._err(sc, "EINVAL", "unaligned or beyond the address space");
    const size = Math.ceil(length / ps) * ps;
    if (size === 0) throw this._err(sc, "EINVAL", "len is 0");
    this.#unmap(sc, addr, addr + size);
  }

  /** do_vmi_munmap: a split in the middle of a vma needs one more map entry. */
  #unmap(sc: string, start: number, end: number): void {
    const r = this.map.lookupEntry(start);
    if (
      r.found &&
      r.entry!.start < start &&
      r.entry!.end > end &&
      this.map.nentries >= this.maxMapCount
    )
      throw this._err(sc, "ENOMEM", "max_map_count");
    // vms_gather_munmap_vmas refuses the whole range at its first sealed vma.
    if (this.#sealedIn(start, end)) throw this._err(sc, "EPERM", "a sealed mapping (mseal)");
    this._writeBack(start, end);
    const rv = this.map.remove(start, end);
    if (rv !== KERN_SUCCESS) throw this._err(sc, "EINVAL", `vm_map_remove: ${rv}`);
  }

  // ------------------------------------------------------------------ mprotect

  /**
   * mprotect(2), Linux: EINVAL for an unaligned start or unknown bits, ENOMEM when the range
   * starts in (or runs into) a hole, EACCES when a vma's VM_MAY* forbid the change. Applied vma
   * by vma: what precedes the failing vma keeps its new protection, as in the kernel.
   */
  override mprotect(addr: number, length: number, prot: number): void {
    const sc = "mprotect";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    this._int(sc, prot, "prot");
    const ps = this._ps;
    const grows = prot & (L.PROT_GROWSDOWN | L.PROT_GROWSUP);
    prot &= ~(L.PROT_GROWSDOWN | L.PROT_GROWSUP);
    if (grows === (L.PROT_GROWSDOWN | L.PROT_GROWSUP))
      throw this._err(sc, "EINVAL", "PROT_GROWSDOWN with PROT_GROWSUP");
    if (addr % ps !== 0) throw this._err(sc, "EINVAL", "addr not page aligned");
    if (length === 0) return;
    let start = addr;
    // do_mprotect_pkey's only size check is wrap-around (ENOMEM), which two safe integers never
    // reach in 64 bits. A range running past TASK_SIZE is walked like any other: the vmas in
    // it change, and the unmapped rest is the hole reported at the end (checked on 6.18).
    // Past 2^53 the end is only a bound above every entry.
    const end = Math.min(addr + Math.ceil(length / ps) * ps, Number.MAX_SAFE_INTEGER);
    if (prot < 0 || (prot & ~PROT_KNOWN) !== 0) throw this._err(sc, "EINVAL", "unknown prot bits");
    const p = prot & VM_PROT_ALL;
    let first = this.#firstIn(start, end);
    if (first === null) throw this._err(sc, "ENOMEM", "nothing mapped");
    if (grows === L.PROT_GROWSDOWN) {
      // start = vma->vm_start: the Linux vma's, which may span several entries (a stack grown
      // down by faults is a further entry here, one vma there).
      first = this.#vma(first.start)!.first;
      start = first.start;
      if (!this.#growsDown(first)) throw this._err(sc, "EINVAL", "not a grows-down vma");
    } else {
      if (first.start > start) throw this._err(sc, "ENOMEM", "hole at start");
      // PROT_GROWSUP: the hole check comes first, as in do_mprotect_pkey.
      if (grows === L.PROT_GROWSUP) throw this._err(sc, "EINVAL", "no grows-up vmas on x86");
    }
    let at = start;
    // Reads only: the entries are changed by #protect once the walk is over.
    for (let e: VmMapEntry | null = first; e !== null && e.start < end; e = e.next) {
      if (e.start > at) break;
      if ((p & ~e.maxProtection) !== 0) {
        this.#protectAndPopulate(start, at, p);
        throw this._err(sc, "EACCES", "beyond the mapping's VM_MAY* bits");
      }
      // mprotect_fixup: a sealed vma is refused, even for the protection it has.
      if ((e.eflags & MAP_ENTRY_SEALED) !== 0) {
        this.#protectAndPopulate(start, at, p);
        throw this._err(sc, "EPERM", "a sealed mapping (mseal)");
      }
      at = Math.min(end, e.end);
    }
    this.#protectAndPopulate(start, at, p);
    if (at < end) throw this._err(sc, "ENOMEM", "hole in range");
  }

  /**
   * #protect, then mprotect_fixup's populate: a private locked vma that becomes writable has its
   * pages faulted in for write (copy on write broken, locked) unless it is locked on fault.
   */
  #protectAndPopulate(start: number, end: number, prot: VmProt): void {
    const fill: [number, number][] = [];
    if ((prot & VM_PROT_WRITE) !== 0)
      for (const e of this.#entriesIn(start, end))
        if (
          (e.eflags & (MAP_ENTRY_USER_WIRED | MAP_ENTRY_LOCK_ONFAULT)) === MAP_ENTRY_USER_WIRED &&
          (e.protection & VM_PROT_WRITE) === 0 &&
          !this.#isShared(e)
        )
          fill.push([Math.max(start, e.start), Math.min(end, e.end)]);
    this.#protect(start, end, prot);
    for (const [s, t] of fill) for (let va = s; va < t; va += this._ps) this._wireFault(va);
  }

  #protect(start: number, end: number, prot: VmProt): void {
    if (start >= end) return;
    const rv = this.map.protect(start, end, prot, VM_PROT_NONE, VM_MAP_PROTECT_SET_PROT);
    if (rv !== KERN_SUCCESS) throw this._err("mprotect", "ENOMEM", `vm_map_protect: ${rv}`);
  }

  // ------------------------------------------------------------------ madvise

  /**
   * madvise(2), Linux: EINVAL for unknown advice, an unaligned start or a wrapping range;
   * advice-specific EINVAL (DONTNEED/FREE on locked memory, FREE on file or shared memory,
   * WIPEONFORK on shared or file mappings) for the first vma that refuses it, the vmas before
   * it being advised already (madvise_walk_vmas); else ENOMEM when the range has holes (after
   * advising what is mapped).
   */
  override madvise(addr: number, length: number, advice: number): void {
    const sc = "madvise";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    this._int(sc, advice, "advice");
    if (
      advice < 0 ||
      (advice > L.MADV_DONTNEED_LOCKED &&
        advice !== L.MADV_GUARD_INSTALL &&
        advice !== L.MADV_GUARD_REMOVE) ||
      (advice > 4 && advice < 8)
    )
      throw this._err(sc, "EINVAL", "unknown advice");
    const ps = this._ps;
    if (addr % ps !== 0) throw this._err(sc, "EINVAL", "addr not page aligned");
    const size = Math.ceil(length / ps) * ps;
    const end = addr + size;
    if (!Number.isSafeInteger(end)) throw this._err(sc, "EINVAL", "range wraps");
    if (size === 0) return;
    if (advice === L.MADV_POPULATE_READ || advice === L.MADV_POPULATE_WRITE) {
      this.#populateAdvice(sc, addr, end, advice === L.MADV_POPULATE_WRITE);
      return;
    }
    // madvise_walk_vmas: each vma is checked, then advised; a refusal returns at once (the vmas
    // before it stay advised), a hole is reported after the walk. By address, not over a list
    // taken first: advising one entry may replace or merge the ones after it (a zap maps its
    // range afresh), and the map reuses the entries it frees. (One Linux vma may be several
    // entries here; the refusals concern attributes they share, so the first one refuses.)
    let hole = false;
    for (let at = addr; at < end; ) {
      const e = this.#firstIn(at, end);
      if (e === null) {
        hole = true;
        break;
      }
      if (e.start > at) hole = true;
      this.#adviceValid(sc, e, advice);
      const t = Math.min(end, e.end);
      this.#advise(e, Math.max(at, e.start), t, advice);
      at = t;
    }
    if (hole) throw this._err(sc, "ENOMEM", "range has unmapped pages");
  }

  #adviceValid(sc: string, e: VmMapEntry, advice: number): void {
    // can_madvise_modify: advice that discards (is_discard) is refused for a sealed vma of
    // read-only private anonymous memory (is_ro_anon), before any other check.
    if (
      (e.eflags & MAP_ENTRY_SEALED) !== 0 &&
      DISCARD_ADVICE.has(advice) &&
      (e.protection & VM_PROT_WRITE) === 0 &&
      !this.#isShared(e) &&
      !this.#isFile(e)
    )
      throw this._err(sc, "EPERM", "discarding sealed read-only anonymous memory (mseal)");
    const locked = (e.eflags & MAP_ENTRY_USER_WIRED) !== 0 || e.wiredCount > 0;
    switch (advice) {
      // madvise_dontneed_free_valid_vma: VM_PFNMAP (a device mapping) is refused, and VM_LOCKED
      // except for MADV_DONTNEED_LOCKED.
      case L.MADV_DONTNEED:
      case L.MADV_DONTNEED_LOCKED:
        if (this.#isDevice(e))
          throw this._err(sc, "EINVAL", "madvise of a device mapping (VM_PFNMAP)");
        if (locked && advice === L.MADV_DONTNEED)
          throw this._err(sc, "EINVAL", "MADV_DONTNEED on locked memory");
        return;
      case L.MADV_COLD:
      case L.MADV_PAGEOUT:
        // can_madv_lru_vma: neither VM_LOCKED nor VM_PFNMAP (a device mapping).
        if (locked || this.#isDevice(e))
          throw this._err(sc, "EINVAL", "MADV_COLD/MADV_PAGEOUT on locked memory or a device");
        return;
      case L.MADV_FREE:
        if (locked || this.#isShared(e) || this.#isFile(e))
          throw this._err(sc, "EINVAL", "MADV_FREE needs private anonymous memory");
        return;
      case L.MADV_REMOVE:
        // madvise_remove, in its order: a locked vma, then one with no file (private anonymous
        // memory; shared anonymous memory has its shmem file), then one that is not shared and
        // writable (vma_is_shared_maywrite); vfs_fallocate refuses a device file.
        if (locked) throw this._err(sc, "EINVAL", "MADV_REMOVE on locked memory");
        if (e.object === null || (!this.#isShared(e) && !this.#isFile(e)))
          throw this._err(sc, "EINVAL", "MADV_REMOVE needs a file or shared memory");
        if (!this.#isShared(e) || (e.maxProtection & VM_PROT_WRITE) === 0)
          throw this._err(sc, "EACCES", "MADV_REMOVE needs a shared writable mapping");
        if (e.object.type === "device")
          throw this._err(sc, "ENODEV", "MADV_REMOVE cannot punch a hole in a device");
        return;
      case L.MADV_WIPEONFORK:
        if (this.#isShared(e) || this.#isFile(e))
          throw this._err(sc, "EINVAL", "MADV_WIPEONFORK needs private anonymous memory");
        return;
      // madvise_vma_behavior: a droppable vma is wiped on fork for good.
      case L.MADV_KEEPONFORK:
        if ((e.eflags & MAP_ENTRY_DROPPABLE) !== 0)
          throw this._err(sc, "EINVAL", "MADV_KEEPONFORK of a MAP_DROPPABLE mapping");
        return;
      // is_valid_guard_vma: not VM_SPECIAL (a device mapping), and for an install not VM_LOCKED.
      case L.MADV_GUARD_INSTALL:
      case L.MADV_GUARD_REMOVE:
        if (this.#isDevice(e)) throw this._err(sc, "EINVAL", "guard pages in a device mapping");
        if (locked && advice === L.MADV_GUARD_INSTALL)
          throw this._err(sc, "EINVAL", "MADV_GUARD_INSTALL on locked memory");
        return;
      // madvise_vma_behavior: a device mapping is VM_IO | VM_PFNMAP | VM_DONTEXPAND (what
      // remap_pfn_range sets): MADV_DOFORK refuses VM_IO, MADV_DODUMP any of VM_SPECIAL.
      case L.MADV_DOFORK:
      case L.MADV_DODUMP:
        if (this.#isDevice(e))
          throw this._err(sc, "EINVAL", "MADV_DOFORK/MADV_DODUMP of a device mapping");
        return;
    }
  }

  /**
   * Gives [s, t), just mapped afresh, the Linux attributes of the vma it continues: its
   * inheritance (VM_DONTCOPY, VM_WIPEONFORK, both), VM_GROWSDOWN, VM_DROPPABLE and VM_SEALED.
   */
  #copyAttrs(s: number, t: number, inh: number, eflags: number): void {
    if ((eflags & MAP_ENTRY_WIPE_HELD) !== 0) this.#inheritHeld(s, t, inh, true);
    else if (inh !== VM_INHERIT_COPY && inh !== VM_INHERIT_SHARE) this.map.inherit(s, t, inh);
    if ((eflags & MAP_ENTRY_DROPPABLE) !== 0) this.#setEntryBit(s, t, MAP_ENTRY_DROPPABLE, true);
    if ((eflags & MAP_ENTRY_SEALED) !== 0) this.#setEntryBit(s, t, MAP_ENTRY_SEALED, true);
    if ((eflags & MAP_ENTRY_GROWS_DOWN) !== 0) this.#markGrowsDown(s, t);
  }

  /** Sets the inheritance of [s, t) (an entry's part) and its held VM_WIPEONFORK bit. */
  #inheritHeld(s: number, t: number, inh: number, held: boolean): void {
    this.map.inherit(s, t, inh);
    this.#setEntryBit(s, t, MAP_ENTRY_WIPE_HELD, held);
  }

  #advise(e: VmMapEntry, s: number, t: number, advice: number): void {
    const shared = this.#isShared(e);
    switch (advice) {
      case L.MADV_DONTFORK:
        // VM_DONTCOPY; a VM_WIPEONFORK entry keeps its wipe for a later MADV_DOFORK.
        if (e.inheritance === VM_INHERIT_ZERO) this.#inheritHeld(s, t, VM_INHERIT_NONE, true);
        else if (e.inheritance !== VM_INHERIT_NONE) this.map.inherit(s, t, VM_INHERIT_NONE);
        return;
      case L.MADV_DOFORK:
        if (e.inheritance === VM_INHERIT_NONE)
          this.#inheritHeld(
            s,
            t,
            (e.eflags & MAP_ENTRY_WIPE_HELD) !== 0
              ? VM_INHERIT_ZERO
              : shared
                ? VM_INHERIT_SHARE
                : VM_INHERIT_COPY,
            false,
          );
        return;
      case L.MADV_WIPEONFORK:
        if (e.inheritance === VM_INHERIT_NONE) this.#inheritHeld(s, t, VM_INHERIT_NONE, true);
        else this.map.inherit(s, t, VM_INHERIT_ZERO);
        return;
      case L.MADV_KEEPONFORK:
        if (e.inheritance === VM_INHERIT_ZERO)
          this.map.inherit(s, t, shared ? VM_INHERIT_SHARE : VM_INHERIT_COPY);
        else if ((e.eflags & MAP_ENTRY_WIPE_HELD) !== 0)
          this.#inheritHeld(s, t, VM_INHERIT_NONE, false);
        return;
      case L.MADV_DONTNEED:
        if (shared) this.pmap.remove(s, t);
        else this.#zap(e, s, t);
        return;
      case L.MADV_GUARD_INSTALL:
        // madvise_guard_install: the range's pages are zapped (a private page is gone, a shared
        // one only unmapped), then every page gets a marker that faults with SIGSEGV.
        this.#advise(e, s, t, L.MADV_DONTNEED);
        this.pmap.installGuards(s, t);
        return;
      case L.MADV_GUARD_REMOVE:
        // The markers go and nothing else: the pages fault in afresh.
        this.pmap.clearGuards(s, t);
        return;
      case L.MADV_DONTNEED_LOCKED: {
        // madvise_dontneed_free with VM_LOCKED allowed: the pages go as with MADV_DONTNEED and
        // the vma stays locked (locked_vm unchanged); they come back locked at their next
        // fault, as with MLOCK_ONFAULT, whatever the lock was.
        if ((e.eflags & MAP_ENTRY_USER_WIRED) === 0) {
          this.#advise(e, s, t, L.MADV_DONTNEED);
          return;
        }
        if (shared) {
          this._dropWiredPages(s, t);
          return;
        }
        if (e.object === null) return; // nothing was ever touched
        const onFault = (e.eflags & MAP_ENTRY_LOCK_ONFAULT) !== 0;
        this.#zap(e, s, t);
        this.#lockRange(s, t, true, onFault ? "onfault" : "grown");
        return;
      }
      case L.MADV_FREE:
        this._pageAdvice(s, t, 5 /* FreeBSD MADV_FREE */);
        return;
      case L.MADV_COLD:
      case L.MADV_PAGEOUT:
        this._pageAdvice(s, t, 4 /* FreeBSD MADV_DONTNEED: deactivate, keep contents */);
        return;
      case L.MADV_WILLNEED:
        this._pageAdvice(s, t, 3 /* FreeBSD MADV_WILLNEED */);
        return;
      case L.MADV_REMOVE: {
        // Punch a hole: the object's pages go, and a file's bytes read back as zeros.
        const o = e.object!;
        const ps = this._ps;
        const first = (s - e.start + e.offset) / ps;
        const last = (t - e.start + e.offset) / ps;
        o.removePages(first, last);
        if (o.pager !== null) {
          const size = o.pager.vnode.size;
          const from = first * ps;
          if (from < size)
            o.pager.vnode.write(from, new Uint8Array(Math.min(size, last * ps) - from));
        }
        return;
      }
      default:
        // NORMAL, RANDOM, SEQUENTIAL, MERGEABLE, UNMERGEABLE, HUGEPAGE, NOHUGEPAGE, DONTDUMP,
        // DODUMP: hints with no effect on what the process sees.
        return;
    }
  }

  /**
   * madvise_populate (faultin_page_range with FOLL_MADV_POPULATE): faults [start, end) in page
   * by page, in address order, and stops at the first problem, keeping what it populated: a
   * hole is ENOMEM, a vma without the access asked for is EINVAL (check_vma_flags), a fault
   * that would raise SIGSEGV or SIGBUS on a permitted access is EFAULT.
   */
  #populateAdvice(sc: string, start: number, end: number, write: boolean): void {
    const access = write ? VM_PROT_WRITE : VM_PROT_READ;
    let at = start;
    for (const e of [...this.#entriesIn(start, end)]) {
      if (e.start > at) break;
      if ((e.protection & access) === 0)
        throw this._err(sc, "EINVAL", "the mapping does not permit the access");
      const t = Math.min(end, e.end);
      for (let va = at; va < t; va += this._ps)
        if (!this._prefault(va, access)) throw this._err(sc, "EFAULT", "fault failed");
      at = t;
    }
    if (at < end) throw this._err(sc, "ENOMEM", "range has unmapped pages");
  }

  /**
   * zap_page_range on a private mapping: the range becomes a fresh mapping of the same kind
   * and attributes, so the next access sees zeros (anonymous) or the file's bytes.
   */
  #zap(e: VmMapEntry, s: number, t: number): void {
    const o = e.object;
    if (o === null) return; // nothing was ever touched
    const file = o.bottom.type === "vnode";
    const prot = e.protection;
    const max = e.maxProtection;
    const inh = e.inheritance;
    const eflags = e.eflags;
    let object: VmObject | null = null;
    let offset = 0;
    let cow = 0;
    if (file) {
      const bottom = o.bottom;
      offset = this.#bottomOffset(e) + (s - e.start);
      bottom.reference();
      object = bottom;
      cow = MAP_COPY_ON_WRITE;
    }
    // Zapping keeps guard markers (the unmap below drops them).
    const guards = this.pmap.guardsIn(s, t);
    this.map.remove(s, t);
    const rv = this.map.fixed(object, offset, s, t - s, prot, max, cow);
    if (rv !== KERN_SUCCESS) object?.deallocate();
    this.#copyAttrs(s, t, inh, eflags);
    for (const g of guards) this.pmap.installGuards(g, g + this._ps);
  }

  /** Byte offset in the chain's last object of the entry's start. */
  #bottomOffset(e: VmMapEntry): number {
    return this.#bottomOffsetOf(e.object, e.offset);
  }

  /** Byte offset in the last object of `object`'s chain of `offset` in `object`. */
  #bottomOffsetOf(object: VmObject | null, offset: number): number {
    let off = offset;
    for (let o = object; o !== null && o.backingObject !== null; o = o.backingObject)
      off += o.backingObjectOffset;
    return off;
  }

  // ------------------------------------------------------------------ brk

  /**
   * brk(2), Linux: never fails with an errno; returns the new break, or the old one when the
   * request is refused (below start_brk, past RLIMIT_DATA, into the next mapping or its stack
   * guard gap, past RLIMIT_AS). brk(0) asks for the current break. Shrinking unmaps.
   */
  override brk(addr: number): number {
    const sc = "brk";
    this._alivecheck(sc);
    this._num(sc, addr, "brk");
    const ps = this._ps;
    const orig = this.#brk;
    if (addr < this.startBrk) return orig;
    const lim = this._rlimits[this._rl.data].soft;
    if (Number.isFinite(lim) && addr - this.startBrk > lim) return orig;
    const newbrk = Math.ceil(addr / ps) * ps;
    const oldbrk = Math.ceil(orig / ps) * ps;
    if (newbrk === oldbrk) {
      this.#brk = addr;
      return addr;
    }
    if (addr <= orig) {
      // Shrink: only if [newbrk, oldbrk) holds a mapping (the heap).
      if (!this.#overlaps(newbrk, oldbrk)) return orig;
      if (this.#sealedIn(newbrk, oldbrk)) return orig; // do_vmi_align_munmap: EPERM
      this.map.remove(newbrk, oldbrk);
      this.#brk = addr;
      return addr;
    }
    if (newbrk > this.#taskSize) return orig;
    if ((this.map.flags & MAP_WIREFUTURE) !== 0 && !this.privileged) {
      if (this.map.userWiredPages * ps + (newbrk - oldbrk) > this._limits.memlock) return orig;
    }
    // The next mapping (with its stack guard gap) must leave room plus one page.
    const probeEnd = newbrk + ps + STACK_GUARD_PAGES * ps;
    const next = this.#firstIn(oldbrk, probeEnd);
    if (next !== null) {
      const gapStart = this.#growsDown(next) ? next.start - STACK_GUARD_PAGES * ps : next.start;
      if (newbrk + ps > gapStart) return orig;
    }
    if (this.map.size + (newbrk - oldbrk) > this._limits.vmem) return orig;
    if (this.map.nentries >= this.maxMapCount) return orig;
    const rv = this.map.fixed(
      null,
      0,
      oldbrk,
      newbrk - oldbrk,
      VM_PROT_READ | VM_PROT_WRITE,
      VM_PROT_ALL,
      0,
    );
    if (rv !== KERN_SUCCESS) return orig;
    this.#brk = addr;
    if ((this.map.flags & MAP_WIREFUTURE) !== 0)
      this.#lockRange(oldbrk, newbrk, false, this.#futureLock());
    return addr;
  }

  // ------------------------------------------------------------------ mremap

  /**
   * mremap(2), as Linux 6.17 and later do it (mm/mremap.c; checked on 6.18): shrink in place,
   * grow in place when the space after the vma is free, else move (MREMAP_MAYMOVE: placed as
   * an mmap without hint while the old mapping still exists; MREMAP_FIXED: at `newAddr`,
   * replacing what is there; MREMAP_DONTUNMAP: the old range stays mapped and empty). The pages
   * move with the mapping. Order: the arguments (EINVAL, check_mremap_params), then the vma
   * at oldAddr (EFAULT) and its checks (check_prep_vma: EINVAL, EFAULT when the range crosses
   * vmas, EAGAIN, ENOMEM), all before anything changes; then MREMAP_FIXED unmaps the
   * destination and a shrink the old tail, and what fails after that (ENOMEM, EPERM, EINVAL for
   * a tail past TASK_SIZE) leaves them unmapped. MREMAP_FIXED without a size change moves every
   * vma of the old range, holes kept (remap_move), and stops at the first that fails.
   */
  override mremap(
    oldAddr: number,
    oldLength: number,
    newLength: number,
    flags: number,
    newAddr = 0,
  ): number {
    const sc = "mremap";
    this._alivecheck(sc);
    this._num(sc, oldAddr, "old_address");
    this._num(sc, oldLength, "old_size");
    this._num(sc, newLength, "new_size");
    this._int(sc, flags, "flags");
    this._num(sc, newAddr, "new_address");
    const ps = this._ps;
    const MAYMOVE = L.MREMAP_MAYMOVE;
    const FIXED = L.MREMAP_FIXED;
    const DONTUNMAP = L.MREMAP_DONTUNMAP;
    const task = this.#taskSize;
    // check_mremap_params, on the page-aligned lengths.
    const oldLen = Math.ceil(oldLength / ps) * ps;
    const newLen = Math.ceil(newLength / ps) * ps;
    if (flags < 0 || (flags & ~(MAYMOVE | FIXED | DONTUNMAP)) !== 0)
      throw this._err(sc, "EINVAL", "unknown flags");
    if (oldAddr % ps !== 0) throw this._err(sc, "EINVAL", "old_address not page aligned");
    if (newLen === 0) throw this._err(sc, "EINVAL", "new_size is 0");
    if (newLen > task) throw this._err(sc, "EINVAL", "new_size beyond TASK_SIZE");
    const to = (flags & (FIXED | DONTUNMAP)) !== 0;
    if (to) {
      // new_address is checked with or without MREMAP_FIXED (without it, it is the hint).
      if (newAddr > task - newLen) throw this._err(sc, "EINVAL", "new range beyond TASK_SIZE");
      if (newAddr % ps !== 0) throw this._err(sc, "EINVAL", "new_address not page aligned");
      if ((flags & MAYMOVE) === 0)
        throw this._err(sc, "EINVAL", "MREMAP_FIXED or MREMAP_DONTUNMAP without MREMAP_MAYMOVE");
      if ((flags & DONTUNMAP) !== 0 && oldLen !== newLen)
        throw this._err(sc, "EINVAL", "MREMAP_DONTUNMAP with a size change");
      if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen)
        throw this._err(sc, "EINVAL", "old and new ranges overlap");
      // move_vma needs four map entries to spare; asked here, before anything changes.
      if (this.map.nentries + 2 >= this.maxMapCount - 3)
        throw this._err(sc, "ENOMEM", "max_map_count");
    }
    if ((flags & FIXED) !== 0 && oldLen === newLen)
      return this.#remapMove(sc, oldAddr, oldLen, newAddr, flags);
    const vma = this.#vma(oldAddr);
    if (vma === null) throw this._err(sc, "EFAULT", "no mapping at old_address");
    this.#prepCheck(sc, vma, oldAddr, oldLen, newLen, flags);
    if (to) return this.#mremapTo(sc, oldAddr, oldLen, newLen, flags, newAddr);
    // mremap_at
    if (oldLen === newLen) return oldAddr;
    if (oldLen > newLen) {
      // do_vmi_munmap of the tail, which may run over further vmas and holes.
      if (oldAddr + oldLen > task) throw this._err(sc, "EINVAL", "old range beyond TASK_SIZE");
      this.#unmap(sc, oldAddr + newLen, oldAddr + oldLen);
      return oldAddr;
    }
    const delta = newLen - oldLen;
    if (oldLen === vma.end - oldAddr && oldLen !== 0) {
      const end = vma.end + delta;
      if (end <= task && !this.#overlaps(vma.end, end)) {
        this.#extend(vma.last, end);
        return oldAddr;
      }
    }
    if ((flags & MAYMOVE) === 0) throw this._err(sc, "ENOMEM", "cannot grow in place");
    const dst = this.#placeMove(sc, vma, oldAddr, newLen);
    return this.#move(sc, oldAddr, oldLen, newLen, dst, false);
  }

  /**
   * check_prep_vma: the checks of the vma holding the old range, made before anything changes.
   * A shrink or no-op without a new address needs none; a shrink checks the part it keeps. A
   * device mapping is a VM_PFNMAP | VM_DONTEXPAND vma (what remap_pfn_range makes): it may
   * move, but MREMAP_DONTUNMAP is EINVAL and growing EFAULT.
   */
  #prepCheck(
    sc: string,
    vma: Vma,
    addr: number,
    oldLen: number,
    newLen: number,
    flags: number,
  ): void {
    const e = vma.first;
    if ((e.eflags & MAP_ENTRY_SEALED) !== 0)
      throw this._err(sc, "EPERM", "a sealed mapping (mseal)");
    const to = (flags & (L.MREMAP_FIXED | L.MREMAP_DONTUNMAP)) !== 0;
    if (!to && newLen <= oldLen) return;
    if (oldLen === 0 && !this.#isShared(e))
      throw this._err(sc, "EINVAL", "old_size 0 needs a shared mapping");
    const device = this.#isDevice(e);
    if ((flags & L.MREMAP_DONTUNMAP) !== 0 && device)
      throw this._err(sc, "EINVAL", "MREMAP_DONTUNMAP of a device mapping (VM_PFNMAP)");
    // A shrink may unmap past the vma; the part it keeps must lie in it.
    if (Math.min(oldLen, newLen) > vma.end - addr)
      throw this._err(sc, "EFAULT", "range crosses mappings");
    if (newLen <= oldLen) return;
    if (device) throw this._err(sc, "EFAULT", "a device mapping cannot grow (VM_DONTEXPAND)");
    const delta = newLen - oldLen;
    if ((e.eflags & MAP_ENTRY_USER_WIRED) !== 0) this.#mlockFutureOk(sc, delta);
    this.#mayExpand(sc, e, delta);
  }

  /**
   * mremap_to, once the checks passed: MREMAP_FIXED unmaps the destination, a shrink the old
   * tail; then MREMAP_DONTUNMAP's may_expand_vm, the destination (MREMAP_FIXED's, or placed
   * from the hint) and move_vma.
   */
  #mremapTo(
    sc: string,
    oldAddr: number,
    oldLen: number,
    newLen: number,
    flags: number,
    newAddr: number,
  ): number {
    const fixed = (flags & L.MREMAP_FIXED) !== 0;
    const keep = (flags & L.MREMAP_DONTUNMAP) !== 0;
    // do_munmap, as munmap(2) does it: max_map_count, and dirty pages of shared file mappings
    // written back to their object first.
    if (fixed && this.#overlaps(newAddr, newAddr + newLen))
      this.#unmap(sc, newAddr, newAddr + newLen);
    // With old_size 0 (no overlap by the kernel's test) the destination may have been the old
    // vma itself: the lookup after the unmap finds nothing (6.18 answers ENOMEM instead in
    // some layouts: see docs/syscalls.md).
    let v = this.#vma(oldAddr);
    if (v === null) throw this._err(sc, "EFAULT", "no mapping at old_address");
    let len = oldLen;
    if (oldLen > newLen) {
      // shrink_vma: do_vmi_munmap refuses a range past TASK_SIZE (EINVAL), after the
      // destination went.
      if (oldAddr + oldLen > this.#taskSize)
        throw this._err(sc, "EINVAL", "old range beyond TASK_SIZE");
      this.#unmap(sc, oldAddr + newLen, oldAddr + oldLen);
      len = newLen;
      v = this.#vma(oldAddr)!;
    }
    if (keep) this.#mayExpand(sc, v.first, len);
    let dst = newAddr;
    if (!fixed) dst = this.#placeMove(sc, v, oldAddr, newLen, newAddr);
    else if (dst < LINUX_MMAP_MIN_ADDR && !this.privileged)
      throw this._err(sc, "EPERM", "below vm.mmap_min_addr"); // get_unmapped_area
    return this.#move(sc, oldAddr, len, newLen, dst, keep);
  }

  /**
   * may_expand_vm for `len` more bytes like those of entry `e`'s mapping: RLIMIT_AS, and
   * RLIMIT_DATA for a private writable one (a growth, or MREMAP_DONTUNMAP's old range, which
   * stays mapped).
   */
  #mayExpand(sc: string, e: VmMapEntry, len: number): void {
    if (this.map.size + len > this._limits.vmem) throw this._err(sc, "ENOMEM", "RLIMIT_AS");
    if ((e.protection & VM_PROT_WRITE) !== 0 && !this.#isShared(e) && !this.#growsDown(e))
      this.#dataLimit(sc, len);
  }

  /**
   * remap_move: MREMAP_FIXED without a size change moves each vma of [start, start + len) on
   * its own, the holes between them kept (the destination's pages over a hole stay as they
   * are), the first vma to `dst`. A hole at start is EFAULT; a vma that fails (check_prep_vma:
   * sealed, or MREMAP_DONTUNMAP of a device mapping; may_expand_vm, an unmap or move that
   * fails) ends the call with its error, the vmas before it moved. Returns dst.
   */
  #remapMove(sc: string, start: number, len: number, dst: number, flags: number): number {
    const keep = (flags & L.MREMAP_DONTUNMAP) !== 0;
    const end = start + len;
    let cursor = start;
    let target = dst;
    let lastEnd = 0;
    let seen = false;
    while (cursor < end) {
      const e = this.#firstIn(cursor, end);
      if (e === null) break;
      const v = this.#vma(e.start)!;
      if (!seen && start < v.start) throw this._err(sc, "EFAULT", "no mapping at old_address");
      const from = Math.max(v.start, cursor);
      const to = Math.min(end, v.end);
      const at = target + (seen ? from - lastEnd : 0);
      lastEnd = v.end;
      this.#prepCheck(sc, v, from, to - from, to - from, flags);
      // mremap_to
      if (this.#overlaps(at, at + (to - from))) this.#unmap(sc, at, at + (to - from));
      if (keep) this.#mayExpand(sc, v.first, to - from);
      if (at < LINUX_MMAP_MIN_ADDR && !this.privileged)
        throw this._err(sc, "EPERM", "below vm.mmap_min_addr");
      this.#move(sc, from, to - from, to - from, at, keep);
      seen = true;
      target = at + (to - from);
      cursor = to;
    }
    if (!seen) throw this._err(sc, "EFAULT", "no mapping at old_address");
    return dst;
  }

  /**
   * Rule 6 of LINUX-PLACEMENT: searched as an mmap with no hint (mremap_to without
   * MREMAP_FIXED: new_address as the hint), the old mapping in place.
   */
  #placeMove(sc: string, vma: Vma, oldAddr: number, newLen: number, hint = 0): number {
    const e = vma.first;
    const file = this.#isFile(e);
    const at = this.placement.place(this.map, {
      hint,
      length: newLen,
      offset: file ? this.#bottomOffset(e) + (oldAddr - e.start) : 0,
      file,
      shared: this.#isShared(e),
    });
    if (at < 0) throw this._err(sc, "ENOMEM", "no space to move to");
    return at;
  }

  /**
   * move_vma: maps the objects of [src, src + len) at dst with the same attributes, grows the
   * new mapping to newLen, then unmaps the source (or, with DONTUNMAP, leaves it mapped and
   * empty). Wired (mlocked) ranges stay wired at their new place. With len 0 (old_size 0 of a
   * shared mapping, checked by the caller) copy_vma makes a second mapping of newLen bytes of
   * the same memory, from src's offset on, and nothing is unmapped.
   */
  #move(sc: string, src: number, len: number, newLen: number, dst: number, keep: boolean): number {
    // prep_move_vma: unmapping the source may split a vma in three.
    if (this.map.nentries >= this.maxMapCount - 3) throw this._err(sc, "ENOMEM", "max_map_count");
    const parts: {
      from: number;
      to: number;
      object: VmObject | null;
      offset: number;
      prot: VmProt;
      max: VmProt;
      inh: number;
      eflags: number;
      wired: boolean;
      shared: boolean;
    }[] = [];
    const dup = len === 0;
    const span = dup ? newLen : len;
    // move_page_tables carries guard markers with the pages; copy_vma's new mapping has none.
    const guards = dup ? [] : this.pmap.guardsIn(src, src + len);
    for (const e of dup ? [this.map.lookupEntry(src).entry!] : this.#entriesIn(src, src + len)) {
      const from = Math.max(src, e.start);
      const to = dup ? src + newLen : Math.min(src + len, e.end);
      parts.push({
        from,
        to,
        object: e.object,
        offset: e.offset + (from - e.start),
        prot: e.protection,
        max: e.maxProtection,
        inh: e.inheritance,
        eflags: e.eflags,
        wired: (e.eflags & MAP_ENTRY_USER_WIRED) !== 0,
        shared: this.#isShared(e),
      });
    }
    for (const p of parts) p.object?.reference();
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const at = dst + (p.from - src);
      let cow = 0;
      if ((p.eflags & MAP_ENTRY_COW) !== 0) cow |= MAP_COPY_ON_WRITE;
      if (p.shared || p.inh === VM_INHERIT_SHARE) cow |= MAP_INHERIT_SHARE;
      const rv = this.map.fixed(p.object, p.offset, at, p.to - p.from, p.prot, p.max, cow);
      if (rv !== KERN_SUCCESS) {
        for (let j = i; j < parts.length; j++) parts[j].object?.deallocate();
        throw this._err(sc, "ENOMEM", `vm_map_fixed: ${rv}`);
      }
      this.#copyAttrs(at, at + (p.to - p.from), p.inh, p.eflags);
    }
    // Source gone (or emptied) before the new tail is added.
    const wired = parts.filter((p) => p.wired);
    if (keep) {
      for (const p of parts) {
        this.map.remove(p.from, p.to);
        // A shared mapping keeps mapping the same memory; a private one loses its pages: an
        // anonymous one is left empty (zero fill), a file one reads the file again.
        let keepObject: VmObject | null = null;
        let keepOffset = 0;
        let keepCow = 0;
        if (p.shared) {
          keepObject = p.object;
          keepOffset = p.offset;
          keepCow = MAP_INHERIT_SHARE;
        } else if (p.object !== null && p.object.bottom.type === "vnode") {
          keepObject = p.object.bottom;
          keepOffset = this.#bottomOffsetOf(p.object, p.offset);
          keepCow = MAP_COPY_ON_WRITE;
        }
        keepObject?.reference();
        const rv = this.map.fixed(
          keepObject,
          keepOffset,
          p.from,
          p.to - p.from,
          p.prot,
          p.max,
          keepCow,
        );
        kassertOk(rv);
        // The old vma keeps its flags (VM_GROWSDOWN, VM_DONTCOPY, VM_WIPEONFORK); only
        // VM_LOCKED is cleared (move_vma: vm_flags_clear(vma, VM_LOCKED_MASK)).
        this.#copyAttrs(p.from, p.to, p.inh, p.eflags);
      }
    } else if (!dup) this.map.remove(src, src + len);
    // The vma grows from its last part, looked up now: the source's removal and the merges of
    // the copies may have freed the entry that first mapped it (the map reuses freed entries).
    if (newLen > span && parts.length > 0) {
      const last = this.map.lookupEntry(dst + (parts[parts.length - 1].from - src)).entry;
      if (last !== null) this.#extend(last, dst + newLen);
    }
    for (const g of guards) this.pmap.installGuards(dst + (g - src), dst + (g - src) + this._ps);
    for (const p of wired) {
      const at = dst + (p.from - src);
      const onFault = (p.eflags & MAP_ENTRY_LOCK_ONFAULT) !== 0;
      this.#lockRange(at, at + (p.to - p.from), false, onFault ? "onfault" : "all");
    }
    return dst;
  }

  /** vma_expand: the mapping whose last entry is `e` grows to `end` (zeros, or the file). */
  #extend(e: VmMapEntry, end: number): void {
    const start = e.end;
    const shared = this.#isShared(e);
    let object: VmObject | null = null;
    let offset = 0;
    let cow = 0;
    if (e.object !== null && e.object.bottom.type === "vnode") {
      object = e.object.bottom;
      object.reference();
      offset = this.#bottomOffset(e) + (start - e.start);
      cow = shared ? MAP_INHERIT_SHARE : MAP_COPY_ON_WRITE;
    } else if (shared && e.object !== null && (e.object.flags & OBJ_SHM) !== 0) {
      // The vma grows over the same shmem object, whose size does not change: pages past it
      // raise SIGBUS (shmem_fault beyond i_size), pages a shrink left in it come back.
      object = e.object;
      object.reference();
      offset = e.offset + (start - e.start);
      cow = MAP_INHERIT_SHARE;
    }
    const inh = e.inheritance;
    const prot = e.protection;
    const max = e.maxProtection;
    const eflags = e.eflags;
    const rv = this.map.fixed(object, offset, start, end - start, prot, max, cow);
    if (rv !== KERN_SUCCESS) {
      object?.deallocate();
      throw this._err("mremap", "ENOMEM", `vm_map_fixed: ${rv}`);
    }
    this.#copyAttrs(start, end, inh, eflags);
  }

  /**
   * lock_mm_and_find_vma's expand_stack for a fault at unmapped `page`: the vma above grows
   * down to it when it is VM_GROWSDOWN, the page is not below mmap_min_addr, no accessible vma
   * that does not grow down ends within stack_guard_gap below it, and the grown vma fits
   * RLIMIT_STACK, RLIMIT_AS and, when locked, RLIMIT_MEMLOCK (acct_stack_growth). The new part
   * takes the vma's protection, inheritance and lock (a locked vma's new pages are populated).
   */
  protected override _expandStack(page: number): boolean {
    const r = this.map.lookupEntry(page);
    if (r.found) return false;
    const below = r.entry;
    const above = below !== null ? below.next : this.map.firstEntry;
    if (above === null || !this.#growsDown(above)) return false;
    if (page < LINUX_MMAP_MIN_ADDR && !this.privileged) return false;
    const ps = this._ps;
    if (
      below !== null &&
      !this.#growsDown(below) &&
      (below.protection & VM_PROT_ALL) !== 0 &&
      page - below.end < STACK_GUARD_PAGES * ps
    )
      return false;
    const grow = above.start - page;
    const vma = this.#vma(above.start)!;
    if (vma.end - page > this._rlimits[this._rl.stack].soft) return false;
    if (this.map.size + grow > this._limits.vmem) return false;
    const locked = (above.eflags & MAP_ENTRY_USER_WIRED) !== 0;
    if (locked && !this.privileged && this.map.userWiredPages * ps + grow > this._limits.memlock)
      return false;
    const rv = this.map.fixed(null, 0, page, grow, above.protection, above.maxProtection, 0);
    if (rv !== KERN_SUCCESS) return false;
    this.#copyAttrs(page, above.start, above.inheritance, above.eflags);
    // expand_downwards populates nothing: the faulting access brings its own page in, locked.
    if (locked)
      this.#lockRange(
        page,
        above.start,
        false,
        (above.eflags & MAP_ENTRY_LOCK_ONFAULT) !== 0 ? "onfault" : "grown",
      );
    return true;
  }

  /**
   * The Linux vma containing `addr`: the entry there, extended over adjacent entries with the
   * same attributes (Linux would have merged them into one vma). Null when unmapped.
   */
  #vma(addr: number): Vma | null {
    const r = this.map.lookupEntry(addr);
    if (!r.found) return null;
    let first = r.entry!;
    let last = first;
    while (first.prev !== null && this.#sameVma(first.prev, first)) first = first.prev;
    while (last.next !== null && this.#sameVma(last, last.next)) last = last.next;
    return { first, last, start: first.start, end: last.end };
  }

  #sameVma(a: VmMapEntry, b: VmMapEntry): boolean {
    if (a.end !== b.start) return false;
    if (a.protection !== b.protection || a.maxProtection !== b.maxProtection) return false;
    if (a.inheritance !== b.inheritance) return false;
    const vmaBits =
      MAP_ENTRY_WIPE_HELD | MAP_ENTRY_GROWS_DOWN | MAP_ENTRY_DROPPABLE | MAP_ENTRY_SEALED;
    if (((a.eflags ^ b.eflags) & vmaBits) !== 0) return false;
    const sa = this.#isShared(a);
    if (sa !== this.#isShared(b)) return false;
    const fa = this.#isFile(a);
    const fb = this.#isFile(b);
    if (fa !== fb) return false;
    if (fa)
      return (
        a.object!.bottom === b.object!.bottom &&
        this.#bottomOffset(a) + (a.end - a.start) === this.#bottomOffset(b)
      );
    // One shmem vma maps consecutive pages of its object (vma_merge needs vm_pgoff to follow).
    if (sa) return a.object === b.object && a.offset + (a.end - a.start) === b.offset;
    return ((a.eflags ^ b.eflags) & MAP_ENTRY_USER_WIRED) === 0;
  }

  // ------------------------------------------------------------------ msync, locks, mincore

  /**
   * msync(2), Linux: EINVAL for unknown flags, an unaligned start or MS_ASYNC with MS_SYNC;
   * ENOMEM for a hole, reported after the walk: plain MS_ASYNC stops at the first hole, any
   * other flags go on past it and sync the mappings after it (mm/msync.c); EBUSY for
   * MS_INVALIDATE on locked memory. Shared file pages are written back; a write the file
   * fails ends the walk with its error (EIO or ENOSPC), the refused pages staying dirty.
   */
  override msync(addr: number, length: number, flags: number): void {
    const sc = "msync";
    this._alivecheck(sc);
    this._num(sc, addr, "addr");
    this._num(sc, length, "len");
    this._int(sc, flags, "flags");
    if (flags < 0 || (flags & ~(L.MS_ASYNC | L.MS_INVALIDATE | L.MS_SYNC)) !== 0)
      throw this._err(sc, "EINVAL", "unknown flags");
    if (addr % this._ps !== 0) throw this._err(sc, "EINVAL", "addr not page aligned");
    if ((flags & L.MS_ASYNC) !== 0 && (flags & L.MS_SYNC) !== 0)
      throw this._err(sc, "EINVAL", "MS_ASYNC with MS_SYNC");
    const end = addr + Math.ceil(length / this._ps) * this._ps;
    if (!Number.isSafeInteger(end)) throw this._err(sc, "ENOMEM", "range wraps");
    if (end === addr) return;
    const entries = this._entriesIn(addr, end);
    if (entries.length === 0) throw this._err(sc, "ENOMEM", "nothing mapped");
    let at = addr;
    let hole = false;
    const done: VmMapEntry[] = [];
    for (const e of entries) {
      if (e.start > at) {
        if (flags === L.MS_ASYNC) break;
        hole = true;
      }
      if ((flags & L.MS_INVALIDATE) !== 0 && (e.eflags & MAP_ENTRY_USER_WIRED) !== 0) {
        const err = this._syncRange(done, addr, end, false, true);
        if (err !== null) throw this._err(sc, err, "the file failed a write");
        throw this._err(sc, "EBUSY", "MS_INVALIDATE on locked memory");
      }
      done.push(e);
      at = e.end;
    }
    // vfs_fsync_range's error ends the walk and is what msync returns.
    const err = this._syncRange(done, addr, end, false, true);
    if (err !== null) throw this._err(sc, err, "the file failed a write; the pages stay dirty");
    if (hole || at < end) throw this._err(sc, "ENOMEM", "range has unmapped pages");
  }

  /**
   * mlock(2), Linux do_mlock: EPERM without a memory-lock allowance (RLIMIT_MEMLOCK 0 and
   * unprivileged) before anything else; ENOMEM past RLIMIT_MEMLOCK, where pages of the range
   * that are locked already do not count twice (count_mm_mlocked_page_nr); ENOMEM for a hole.
   */
  override mlock(addr: number, length: number): void {
    const sc = "mlock";
    this._alivecheck(sc);
    this._num(sc, addr, "start");
    this._num(sc, length, "len");
    this.#doMlock(sc, addr, length, false);
  }

  /**
   * mseal(2) (Linux 6.10+, do_mseal): seals the vmas of [addr, addr + len) for good (see
   * MAP_ENTRY_SEALED). EINVAL for flags (none exist), an unaligned start or a length that wraps;
   * len 0 does nothing; ENOMEM, with nothing sealed, when the range has a hole (the range past
   * TASK_SIZE is one). Sealing a sealed range again is no error. The vmas split at the ends
   * (sealed and unsealed memory are different vmas).
   */
  override mseal(addr: number, length: number, flags: number): void {
    const sc = "mseal";
    this._alivecheck(sc);
    this._num(sc, addr, "start");
    this._num(sc, length, "len");
    this._num(sc, flags, "flags");
    if (flags !== 0) throw this._err(sc, "EINVAL", "flags must be 0");
    const ps = this._ps;
    if (addr % ps !== 0) throw this._err(sc, "EINVAL", "start not page aligned");
    const end = addr + Math.ceil(length / ps) * ps;
    if (!Number.isSafeInteger(end)) throw this._err(sc, "EINVAL", "range wraps");
    if (end === addr) return;
    // check_mm_seal: the first pass, so that a hole seals nothing.
    if (this.#mappedBytes(addr, end) !== end - addr)
      throw this._err(sc, "ENOMEM", "range has unmapped pages");
    this.#setEntryBit(addr, end, MAP_ENTRY_SEALED, true);
  }

  /**
   * mlock2(2): mlock with flags, of which Linux knows one (anything else is EINVAL, first).
   * MLOCK_ONFAULT locks the vmas (VM_LOCKED | VM_LOCKONFAULT) without populating them: a page
   * comes in, locked, when it is first touched, and munlock or a later mlock treat the range
   * as locked. Without it, mlock.
   */
  override mlock2(addr: number, length: number, flags: number): void {
    const sc = "mlock2";
    this._alivecheck(sc);
    this._num(sc, addr, "start");
    this._num(sc, length, "len");
    this._int(sc, flags, "flags");
    if (flags < 0 || (flags & ~L.MLOCK_ONFAULT) !== 0)
      throw this._err(sc, "EINVAL", "unknown flags");
    this.#doMlock(sc, addr, length, flags === L.MLOCK_ONFAULT);
  }

  /** do_mlock, for mlock and mlock2 (MLOCK_ONFAULT: `onFault`). */
  #doMlock(sc: string, addr: number, length: number, onFault: boolean): void {
    if (!this.#canDoMlock()) throw this._err(sc, "EPERM", "RLIMIT_MEMLOCK is 0");
    const [start, end] = this._round(sc, addr, length);
    const ps = this._ps;
    let locked = (end - start) / ps + this.map.userWiredPages;
    if (locked * ps > this._limits.memlock)
      for (const e of this.#entriesIn(start, end))
        if ((e.eflags & MAP_ENTRY_USER_WIRED) !== 0)
          locked -= (Math.min(end, e.end) - Math.max(start, e.start)) / ps;
    if (locked * ps > this._limits.memlock) throw this._err(sc, "ENOMEM", "RLIMIT_MEMLOCK");
    // apply_vma_lock_flags: a hole at the start locks nothing; a later one leaves the vmas
    // before it locked, unpopulated (mlock_fixup locks their resident pages; __mm_populate is
    // not reached). Checked on this machine's 6.18.
    let at = start;
    for (let e = this.#firstIn(start, end); e !== null && e.start < end; e = e.next) {
      if (e.start > at) break;
      at = e.end;
    }
    if (at < end) {
      if (at > start)
        kassertOk(this.#lockRange(start, at, false, onFault ? "onfault" : "grown").rv);
      throw this._err(sc, "ENOMEM", "range has unmapped pages");
    }
    const r = this.#lockRange(start, end, false, onFault ? "onfault" : "mlock");
    if (r.rv !== KERN_SUCCESS) throw this._err(sc, "ENOMEM", `vm_map_wire: ${r.rv}`);
    // __mlock_posix_error_return: population's -EFAULT (a vma without access) is ENOMEM, and
    // the range stays locked.
    if (!r.populated)
      throw this._err(sc, "ENOMEM", "population stopped (a vma without access or a failed fault)");
  }

  /** setrlimit(2), Linux do_prlimit: a soft limit above the hard one is EINVAL. */
  override setrlimit(resource: number, lim: Rlimit): void {
    this._alivecheck("setrlimit");
    if (lim.soft > lim.hard) throw this._err("setrlimit", "EINVAL", "soft limit above hard limit");
    super.setrlimit(resource, lim);
  }

  /** minherit(2) is FreeBSD's: Linux has madvise(MADV_DONTFORK) instead (ENOSYS). */
  override minherit(_addr: number, _length: number, _inherit: number): void {
    throw this._err("minherit", "ENOSYS", "minherit is a BSD system call");
  }

  /**
   * mlockall(2), Linux: MCL_CURRENT, MCL_FUTURE and MCL_ONFAULT (not alone); EPERM when
   * RLIMIT_MEMLOCK is 0 for an unprivileged process; ENOMEM when MCL_CURRENT and the mapped
   * size (total_vm) pass RLIMIT_MEMLOCK, unprivileged. Then apply_mlockall_flags: MCL_FUTURE
   * is set, or cleared when absent (mm->def_flags); with MCL_CURRENT every vma is locked, those
   * without access too, and populated with failures skipped (__mm_populate ignore_errors).
   */
  override mlockall(how: number): void {
    const sc = "mlockall";
    this._alivecheck(sc);
    this._int(sc, how, "flags");
    const known = L.MCL_CURRENT | L.MCL_FUTURE | L.MCL_ONFAULT;
    if (how === 0 || (how & ~known) !== 0 || how === L.MCL_ONFAULT)
      throw this._err(sc, "EINVAL", "bad flags");
    if (!this.privileged && this._limits.memlock === 0)
      throw this._err(sc, "EPERM", "RLIMIT_MEMLOCK is 0");
    const current = (how & L.MCL_CURRENT) !== 0;
    if (current && this.map.size > this._limits.memlock)
      throw this._err(sc, "ENOMEM", "total_vm past RLIMIT_MEMLOCK");
    const onFault = (how & L.MCL_ONFAULT) !== 0;
    if ((how & L.MCL_FUTURE) !== 0) this.map.modflags(MAP_WIREFUTURE, 0);
    else this.map.modflags(0, MAP_WIREFUTURE);
    this.#lockOnFault = (how & L.MCL_FUTURE) !== 0 && onFault;
    if (!current) return;
    const r = this.#lockRange(this.map.min, this.map.max, true, onFault ? "onfault" : "all");
    if (r.rv !== KERN_SUCCESS) throw this._err(sc, "ENOMEM", `vm_map_wire: ${r.rv}`);
  }

  /** munlockall(2): apply_mlockall_flags(0), which clears mm->def_flags too. */
  override munlockall(): void {
    super.munlockall();
    this.#lockOnFault = false;
  }

  /**
   * mincore(2), Linux: EINVAL for an unaligned start, an empty vector for len 0 (mapped or
   * not), ENOMEM for an unmapped page; only bit 0 (resident) of each byte is defined.
   */
  override mincore(addr: number, length: number): Uint8Array {
    const sc = "mincore";
    this._alivecheck(sc);
    this._num(sc, addr, "start");
    this._num(sc, length, "len");
    if (addr % this._ps !== 0) throw this._err(sc, "EINVAL", "addr not page aligned");
    if (length === 0) return new Uint8Array(0);
    const v = super.mincore(addr, length);
    for (let i = 0; i < v.length; i++) v[i] &= 1;
    return v;
  }

  // ------------------------------------------------------------------ views

  /** "[heap]" for the entries of the break area, as /proc/PID/maps names them. */
  protected override _pathOf(e: VmMapEntry): string | null {
    const base = super._pathOf(e);
    if (base !== null) return base;
    if (e.start <= this.#brk && e.end >= this.startBrk && this.#brk > this.startBrk)
      return "[heap]";
    return null;
  }

  protected override _isShared(e: VmMapEntry): boolean {
    return this.#isShared(e);
  }
}

interface Vma {
  first: VmMapEntry;
  last: VmMapEntry;
  start: number;
  end: number;
}

function kassertOk(rv: number): void {
  if (rv !== KERN_SUCCESS) throw new Error(`mremap: DONTUNMAP re-map failed (${rv})`);
}
