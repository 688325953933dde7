/**
 * Placement strategies: where a new mapping goes when its caller did not fix the address.
 *
 * A strategy is an object per address space (`PlacementStrategy.place(map, request)`) that
 * reads the map and returns an address, or -1 when nothing fits; it never changes the map.
 * Researchers plug in their own; two come with vmspace, both from Linux x86-64 (6.13 and
 * later; the rules are /work/shared/spec/LINUX-PLACEMENT.md, checked against mm/mmap.c,
 * mm/vma.c, mm/huge_memory.c and arch/x86/kernel/sys_x86_64.c):
 * - {@link LinuxTopDown}, the default layout: the highest gap below mmap_base that fits, with
 *   the hint, transparent-huge-page alignment, MAP_32BIT and fallback rules that make it
 *   reproduce, exactly, every address the kernel chose in real traces;
 * - {@link BottomUp}, the legacy layout (`ulimit -s unlimited`, ADDR_COMPAT_LAYOUT): the lowest
 *   gap above a base, with the same rules otherwise.
 * (FreeBSD's own placement, first fit with ASLR and clustering, is VmMap.find.)
 *
 * The kernel functions are mirrored one method each, in the kernel's order, so that their
 * quirks survive: __get_unmapped_area (which search a request takes), thp_get_unmapped_area
 * (search len + 2 MiB, then move up to the alignment; when the hint itself is accepted it is
 * returned unaligned), arch_get_unmapped_area_topdown / arch_get_unmapped_area (hint check,
 * limits, MAP_32BIT window, top-down falling back to bottom-up) and unmapped_area_topdown /
 * unmapped_area (gap search with alignment, retried below or above a grows-down entry whose
 * guard gap the found gap touches).
 *
 * Invariants and conventions:
 * - Obstacles are the map's entries as they stand. An entry with MAP_ENTRY_GROWS_DOWN stands
 *   for a Linux VM_GROWSDOWN vma (the main stack): its start gap reaches `stackGuardGap` bytes
 *   (256 pages) below its start, both for a hint and for the searches. Guard gaps above
 *   grows-up entries do not exist on x86 and are not modelled.
 * - Addresses are numbers; a page-aligned address below 2^56 is exact in a double, so the
 *   56-bit (5-level) limits compute exactly although they exceed 2^53.
 * - Requests carry raw user values: the hint is truncated to a page and raised to
 *   mmap_min_addr here (round_hint_to_min); the length must already be page-rounded.
 * - MAP_FIXED is the caller's: it never reaches a strategy.
 * - mremap that moves (rule 6) is the caller's too: it calls `place` with hint 0, the vma's
 *   file, its file offset plus the distance from the vma's start, and `shared` when the vma is
 *   shared, *while the old mapping is still in the map* (the kernel searches before it
 *   unmaps); an anonymous vma counts as offset 0, so a new length that is a multiple of 2 MiB
 *   takes the aligned search.
 * - Not modelled: AMD family 15h instruction-cache alignment (align_va_addr, off by default
 *   elsewhere), shadow stacks, MAP_ABOVE4G, shmem huge=always/within_size (shared anonymous
 *   and tmpfs files then align like files; the default, never, is what is modelled).
 *
 * Non-obvious choice: THP alignment is decided by the file system in Linux (a file's
 * get_unmapped_area). Requests say so with `thpAlign` (default true for files: ext4, xfs and
 * btrfs align; set it false for tmpfs, /proc, /dev), and hugetlbfs files with `hugePageSize`.
 *
 * Guarded by: strategies hold only constants; `place` reads the map, so the caller holds the
 * map lock (shared is enough) across `place` and the insert that follows.
 */

import { MAP_ENTRY_GROWS_DOWN } from "../base/flags.js";
import type { VmMap } from "./VmMap.js";
import type { VmMapEntry } from "./VmMapEntry.js";

/** One mmap (or moving mremap) to place. */
export interface PlacementRequest {
  /** The raw user hint; 0 = no hint. The strategy applies the kernel's rounding rules. */
  hint: number;
  /** Bytes, already page-rounded (for hugetlbfs, rounded to the huge page). */
  length: number;
  /** Byte offset in the file (0 for anonymous memory, where it is ignored). */
  offset: number;
  /** File-backed mapping. */
  file: boolean;
  /** MAP_SHARED (for a moving mremap: the vma is shared). */
  shared: boolean;
  /** MAP_32BIT: x86-64 places it bottom-up in [1 GiB, 2 GiB). */
  below4G?: boolean;
  /**
   * For a file: its file system aligns mappings to transparent huge pages (thp_get_unmapped_area:
   * ext4, xfs, btrfs ...). Default true; false for tmpfs/shmem, procfs, devices.
   */
  thpAlign?: boolean;
  /** A hugetlbfs file (or MAP_HUGETLB): its huge page size, a power of two above the page. */
  hugePageSize?: number;
}

/** A placement policy: one object per address space. */
export interface PlacementStrategy {
  readonly name: string;
  /** The address for `req` in `map`, or -1 when nothing fits. Never changes the map. */
  place(map: VmMap, req: PlacementRequest): number;
}

/** Options common to both Linux layouts; every field has the x86-64 default. */
export interface LinuxPlacementOptions {
  /** Base page size. Default 4096; the PMD (THP) size is pageSize * pageSize / 8 (2 MiB). */
  pageSize?: number;
  /** Virtual address bits: 47 (4-level paging, default) or 56 (5-level; hints above 2^47). */
  addressBits?: number;
  /**
   * A uniformly random unsigned integer (at least 32 bits), standing for PF_RANDOMIZE and
   * get_random_long: when given, MAP_32BIT searches start at a random page in
   * [1 GiB, 1 GiB + 32 MiB), as find_start_end does under ASLR; when omitted, at 1 GiB.
   */
  random?: () => number;
  /** vm.mmap_min_addr. Default 65536. */
  mmapMinAddr?: number;
  /** stack_guard_gap in bytes. Default 256 pages. */
  stackGuardGap?: number;
}

/** Options of {@link LinuxTopDown}. */
export interface LinuxTopDownOptions extends LinuxPlacementOptions {
  /** mm->mmap_base: the top of the top-down search (see {@link linuxMmapBase}). */
  mmapBase: number;
  /**
   * mm->mmap_legacy_base: where the bottom-up fallback starts when no gap below mmapBase fits.
   * Default PAGE_ALIGN(window / 3) (TASK_UNMAPPED_BASE without its random offset).
   */
  legacyBase?: number;
}

/** Options of {@link BottomUp}. */
export interface BottomUpOptions extends LinuxPlacementOptions {
  /** Where the search starts (mm->mmap_base of the legacy layout). Default mmapMinAddr. */
  base?: number;
}

/** Per-search parameters (vm_unmapped_area_info, less the limits). */
interface Area {
  /** align_offset: the result is congruent to it modulo `align`. */
  off: number;
  /** Alignment modulus (align_mask + page size); the page size when there is none. */
  align: number;
  /** MAP_32BIT. */
  below4G: boolean;
}

/** x86-64's MAP_32BIT window [1 GiB, 2 GiB), and the span its start is randomized over. */
const MAP_32BIT_BEGIN = 0x4000_0000;
const MAP_32BIT_END = 0x8000_0000;
const MAP_32BIT_RANDOM_SPAN = 0x0200_0000;

/** Paths of the exec-time image that are not placed below mmap_base. */
const NOT_BELOW_BASE = new Set(["[stack]", "[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"]);

/** a mod m in [0, m) (the kernel's unsigned `& (m - 1)` for a power of two m). */
function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

function isPow2(v: number): boolean {
  return Number.isSafeInteger(v) && v > 0 && 2 ** Math.round(Math.log2(v)) === v;
}

/** The first entry with end > addr (find_vma), or null. */
function findVma(map: VmMap, addr: number): VmMapEntry | null {
  const r = map.lookupEntry(addr);
  if (r.found) return r.entry;
  return r.entry !== null ? r.entry.next : map.firstEntry;
}

/** The first entry above a free address (the vma after the gap holding it), or null. */
function entryAbove(map: VmMap, freeAddr: number): VmMapEntry | null {
  const prev = map.lookupEntry(freeAddr).entry;
  return prev !== null ? prev.next : map.firstEntry;
}

/**
 * The kernel's get_unmapped_area family for one layout. Both exported strategies delegate to
 * one of these (composition: their own classes stay small and final).
 */
class LinuxUnmappedArea {
  readonly pageSize: number;
  readonly pmdSize: number;
  readonly mmapMinAddr: number;
  readonly stackGuardGap: number;
  /** TASK_SIZE_MAX (and TASK_SIZE of a 64-bit process). */
  readonly taskSize: number;
  /** DEFAULT_MAP_WINDOW: the 47-bit window that hints must stay in unless above it. */
  readonly window: number;
  /** MMF_TOPDOWN. */
  readonly topDown: boolean;
  /** Top of the top-down search (mm->mmap_base); unused bottom-up. */
  readonly mmapBase: number;
  /** Start of the bottom-up search (get_mmap_base(1)). */
  readonly legacyBase: number;
  readonly #random: (() => number) | null;

  /**
   * @param base  the bottom-up start; undefined for the layout's default
   * @param mmapBase  the top-down base (0 for the bottom-up layout, which has none)
   */
  constructor(
    who: string,
    o: LinuxPlacementOptions,
    topDown: boolean,
    base: number | undefined,
    mmapBase: number,
  ) {
    const ps = o.pageSize ?? 4096;
    if (!isPow2(ps) || ps < 4096 || ps > 65536)
      throw new RangeError(`${who}: page size ${ps} is not a power of two in [4096, 65536]`);
    this.pageSize = ps;
    this.pmdSize = (ps / 8) * ps;
    const bits = o.addressBits ?? 47;
    if (bits !== 47 && bits !== 56)
      throw new RangeError(`${who}: address bits ${bits} are neither 47 nor 56`);
    this.taskSize = 2 ** bits - ps;
    this.window = 2 ** 47 - ps;
    this.mmapMinAddr = o.mmapMinAddr ?? 65536;
    this.stackGuardGap = o.stackGuardGap ?? 256 * ps;
    for (const [what, v] of [
      ["mmapMinAddr", this.mmapMinAddr],
      ["stackGuardGap", this.stackGuardGap],
    ] as const)
      if (!Number.isSafeInteger(v) || v < 0 || v % ps !== 0)
        throw new RangeError(`${who}: ${what} ${v} is not a page-aligned non-negative integer`);
    this.topDown = topDown;
    const legacy = base ?? (topDown ? Math.ceil(this.window / 3 / ps) * ps : this.mmapMinAddr);
    if (!Number.isSafeInteger(legacy) || legacy < 0 || legacy % ps !== 0)
      throw new RangeError(`${who}: base ${legacy} is not a page-aligned non-negative integer`);
    this.legacyBase = legacy;
    if (topDown && (!Number.isSafeInteger(mmapBase) || mmapBase <= 0 || mmapBase % ps !== 0))
      throw new RangeError(`${who}: mmapBase ${mmapBase} is not a page-aligned positive integer`);
    this.mmapBase = mmapBase;
    this.#random = o.random ?? null;
  }

  /** vm_start_gap: where an entry's start gap begins. */
  #startGap(e: VmMapEntry): number {
    if ((e.eflags & MAP_ENTRY_GROWS_DOWN) === 0) return e.start;
    const s = e.start - this.stackGuardGap;
    return s < 0 ? 0 : s;
  }

  /** Both arch functions' hint test: [addr, addr + len) ends at or below the next start gap. */
  #hintFree(map: VmMap, addr: number, len: number): boolean {
    const vma = findVma(map, addr);
    return vma === null || addr + len <= this.#startGap(vma);
  }

  /** __get_unmapped_area (after do_mmap's round_hint_to_min). */
  place(who: string, map: VmMap, req: PlacementRequest): number {
    const ps = this.pageSize;
    const len = req.length;
    if (!Number.isSafeInteger(len) || len <= 0 || len % ps !== 0)
      throw new RangeError(`${who}: length ${len} is not a positive multiple of the page size`);
    const off = req.offset;
    if (!Number.isSafeInteger(off) || off < 0 || off % ps !== 0)
      throw new RangeError(`${who}: offset ${off} is not a page-aligned non-negative integer`);
    if (!Number.isInteger(req.hint) || req.hint < 0)
      throw new RangeError(`${who}: hint ${req.hint} is not a non-negative integer`);
    if (len > this.taskSize) return -1;
    // round_hint_to_min: truncate to a page; a non-zero hint below mmap_min_addr is raised.
    let hint = req.hint - mod(req.hint, ps);
    if (hint !== 0 && hint < this.mmapMinAddr) hint = this.mmapMinAddr;
    const below4G = req.below4G === true;
    let addr: number;
    if (req.hugePageSize !== undefined) {
      // hugetlb_get_unmapped_area: the hint is rounded up to the huge page; the search aligns
      // to it with offset 0 (x86 leaves align_offset unset for hugetlbfs files).
      const hps = req.hugePageSize;
      if (!isPow2(hps) || hps <= ps)
        throw new RangeError(`${who}: huge page size ${hps} is not a power of two above the page`);
      if (len % hps !== 0) return -1;
      const h = hint !== 0 ? Math.ceil(hint / hps) * hps : 0;
      addr = this.#mm(map, h, len, { off: 0, align: hps, below4G });
    } else if (req.file) {
      addr =
        req.thpAlign === false
          ? this.#mm(map, hint, len, { off, align: ps, below4G })
          : this.#thp(map, hint, len, off, below4G);
    } else if (!req.shared && hint === 0 && len % this.pmdSize === 0) {
      // Private anonymous, no hint, a multiple of the PMD size (6.13 and later).
      addr = this.#thp(map, 0, len, 0, below4G);
    } else {
      // Shared anonymous (shmem, huge=never) and every other anonymous request: offset 0.
      addr = this.#mm(map, hint, len, { off: 0, align: ps, below4G });
    }
    if (addr < 0 || addr > this.taskSize - len) return -1;
    return addr;
  }

  /** thp_get_unmapped_area_vmflags: the aligned search, else the plain one. */
  #thp(map: VmMap, addr: number, len: number, off: number, below4G: boolean): number {
    const ret = this.#thpPadded(map, addr, len, off, below4G);
    if (ret !== 0) return ret;
    return this.#mm(map, addr, len, { off, align: this.pageSize, below4G });
  }

  /** __thp_get_unmapped_area: 0 means "use the plain search". */
  #thpPadded(map: VmMap, addr: number, len: number, off: number, below4G: boolean): number {
    const size = this.pmdSize;
    const offEnd = off + len;
    const offAlign = Math.ceil(off / size) * size;
    // The file range must cover one whole aligned huge page.
    if (offEnd <= offAlign || offEnd - offAlign < size) return 0;
    const ret = this.#mm(map, addr, len + size, { off, align: this.pageSize, below4G });
    if (ret < 0) return 0;
    // An accepted hint is returned as it is.
    if (ret === addr) return addr;
    const offSub = mod(off - ret, size);
    if (this.topDown && offSub === 0) return ret + size;
    return ret + offSub;
  }

  /** mm_get_unmapped_area: the layout's arch function. */
  #mm(map: VmMap, addr: number, len: number, a: Area): number {
    return this.topDown
      ? this.#archTopDown(map, addr, len, a)
      : this.#archBottomUp(map, addr, len, a);
  }

  /** arch_get_unmapped_area_topdown (x86-64). */
  #archTopDown(map: VmMap, addr0: number, len: number, a: Area): number {
    if (len > this.taskSize) return -1;
    if (a.below4G) return this.#archBottomUp(map, addr0, len, a);
    const addr = addr0 - mod(addr0, this.pageSize);
    // mmap_address_hint_valid: within TASK_SIZE, and on one side of the 47-bit window.
    const startAbove = addr > this.window;
    const endAbove = addr + len > this.window;
    if (
      addr !== 0 &&
      this.taskSize - len >= addr &&
      startAbove === endAbove &&
      this.#hintFree(map, addr, len)
    )
      return addr;
    let high = this.mmapBase;
    if (startAbove) high += this.taskSize - this.window;
    const r = this.#unmappedAreaTopDown(map, len, this.pageSize, high, a);
    if (r >= 0) return r;
    // "A failed mmap() very likely causes application failure": try bottom-up.
    return this.#archBottomUp(map, addr0, len, a);
  }

  /** arch_get_unmapped_area (x86-64), with find_start_end. */
  #archBottomUp(map: VmMap, addr0: number, len: number, a: Area): number {
    const ps = this.pageSize;
    let begin: number;
    let end: number;
    if (a.below4G) {
      begin = MAP_32BIT_BEGIN;
      end = MAP_32BIT_END;
      // randomize_page(begin, 32 MiB), only for a process with PF_RANDOMIZE.
      if (this.#random !== null)
        begin += mod(Math.floor(this.#random()), MAP_32BIT_RANDOM_SPAN / ps) * ps;
    } else {
      begin = this.legacyBase;
      end = addr0 > this.window ? this.taskSize : this.window;
    }
    if (len > end) return -1;
    if (addr0 !== 0) {
      const addr = Math.ceil(addr0 / ps) * ps;
      if (end - len >= addr && this.#hintFree(map, addr, len)) return addr;
    }
    return this.#unmappedArea(map, len, begin, end, a);
  }

  /** unmapped_area_topdown: the highest fit in [low, high), aligned, clear of stack gaps. */
  #unmappedAreaTopDown(map: VmMap, len: number, low: number, high: number, a: Area): number {
    const length = len + a.align - this.pageSize;
    if (low < this.mmapMinAddr) low = this.mmapMinAddr;
    for (;;) {
      const top = map.findSpaceTopDown(low, high, length);
      if (top < 0) return -1;
      const gapEnd = top + length;
      let gap = gapEnd - len;
      gap -= mod(gap - a.off, a.align);
      const next = entryAbove(map, top);
      if (next !== null && (next.eflags & MAP_ENTRY_GROWS_DOWN) !== 0) {
        const sg = this.#startGap(next);
        if (sg < gapEnd) {
          high = sg;
          continue;
        }
      }
      return gap;
    }
  }

  /** unmapped_area: the lowest fit in [low, high), aligned, clear of stack gaps. */
  #unmappedArea(map: VmMap, len: number, low: number, high: number, a: Area): number {
    const length = len + a.align - this.pageSize;
    if (low < this.mmapMinAddr) low = this.mmapMinAddr;
    for (;;) {
      if (low >= map.max) return -1;
      const s = map.findSpace(low, length);
      if (s + length > high || s + length > map.max) return -1;
      let gap = s;
      gap += mod(a.off - gap, a.align);
      const next = entryAbove(map, s);
      // The kernel compares with the padded length here (gap + length - 1), not len.
      if (
        next !== null &&
        (next.eflags & MAP_ENTRY_GROWS_DOWN) !== 0 &&
        this.#startGap(next) < gap + length - 1
      ) {
        low = next.end;
        continue;
      }
      return gap;
    }
  }
}

/**
 * Linux's default (top-down) layout on x86-64: rules 2 to 7 of LINUX-PLACEMENT.md.
 * - hint: truncated to a page, raised to mmap_min_addr, used when [hint, hint + length) stays
 *   on one side of the 47-bit window and ends at or below the next entry's start gap;
 * - otherwise the highest gap in [mmap_min_addr, mmapBase) that fits, ending at the gap's top;
 * - files, and private anonymous mappings without a hint whose length is a multiple of 2 MiB,
 *   first search for length + 2 MiB and return the 2 MiB-aligned (offset-congruent for files)
 *   address inside it, when the file range covers an aligned 2 MiB;
 * - MAP_32BIT: bottom-up in [1 GiB, 2 GiB); nothing below mmapBase fits: bottom-up from
 *   legacyBase.
 * @throws RangeError for malformed options (and, from `place`, malformed requests).
 * @example
 * const map = VmMap.create(null, 4096, 2 ** 47);
 * const linux = new LinuxTopDown({ mmapBase: 0x7f0000000000 });
 * linux.place(map, { hint: 0, length: 0x3000, offset: 0, file: false, shared: false });
 * // 0x7effffffd000: the top of the gap below mmapBase, minus the length
 */
export class LinuxTopDown implements PlacementStrategy {
  readonly name = "linux-topdown";
  readonly #area: LinuxUnmappedArea;

  constructor(opts: LinuxTopDownOptions) {
    this.#area = new LinuxUnmappedArea("LinuxTopDown", opts, true, opts.legacyBase, opts.mmapBase);
  }

  /** mm->mmap_base (constant). */
  get mmapBase(): number {
    return this.#area.mmapBase;
  }

  place(map: VmMap, req: PlacementRequest): number {
    return this.#area.place("LinuxTopDown.place", map, req);
  }
}

/**
 * Linux's legacy (bottom-up) layout: the lowest gap at or above `base` that fits, with the same
 * hint, huge-page and MAP_32BIT rules as {@link LinuxTopDown} (an aligned file or anonymous
 * mapping moves up to its alignment inside the padded gap).
 * @example
 * const map = VmMap.create(null, 4096, 2 ** 47);
 * new BottomUp().place(map, { hint: 0, length: 0x1000, offset: 0, file: false, shared: false });
 * // 0x10000: mmap_min_addr
 */
export class BottomUp implements PlacementStrategy {
  readonly name = "bottom-up";
  readonly #area: LinuxUnmappedArea;

  constructor(opts: BottomUpOptions = {}) {
    this.#area = new LinuxUnmappedArea("BottomUp", opts, false, opts.base, 0);
  }

  /** Where the search starts (constant). */
  get base(): number {
    return this.#area.legacyBase;
  }

  place(map: VmMap, req: PlacementRequest): number {
    return this.#area.place("BottomUp.place", map, req);
  }
}

/**
 * Rule 1: mm->mmap_base from the exec-time image (/proc/PID/maps right after execve): the end of
 * the highest mapping below [stack], leaving out [stack], [vvar], [vvar_vclock], [vdso] and
 * [vsyscall]. That mapping is ld.so, the first thing the kernel placed top-down from
 * mmap_base (the base cannot be computed from the stack, which has its own random offset). For
 * a static binary without ld.so the result is the binary's end, which is not the base.
 * @throws RangeError when no mapping qualifies.
 * @example
 * linuxMmapBase([
 *   { start: 0x400000, end: 0x403000, path: "/usr/bin/true" },
 *   { start: 0x7f00000f0000, end: 0x7f00000f2000, path: "[vdso]" },
 *   { start: 0x7f00000f2000, end: 0x7f0000127000, path: "/usr/lib/ld-linux-x86-64.so.2" },
 *   { start: 0x7ffc00000000, end: 0x7ffc00021000, path: "[stack]" },
 * ]); // 0x7f0000127000
 */
export function linuxMmapBase(snapshot: { start: number; end: number; path: string }[]): number {
  let stackStart = Number.POSITIVE_INFINITY;
  for (const m of snapshot) if (m.path === "[stack]") stackStart = Math.min(stackStart, m.start);
  let base = -1;
  for (const m of snapshot)
    if (!NOT_BELOW_BASE.has(m.path) && m.end <= stackStart && m.end > base) base = m.end;
  if (base < 0) throw new RangeError("linuxMmapBase: no mapping below [stack] in the snapshot");
  return base;
}
