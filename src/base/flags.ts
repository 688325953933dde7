/**
 * Flag words of the map layer: entry eflags, map flags, the `cow` argument of insert/find/
 * fixed/stack, find-space strategies, wiring and protect flags, and the madvise behaviours the
 * map understands. Values are FreeBSD 14's (sys/vm/vm_map.h, sys/vm/vm.h, sys/sys/mman.h).
 */

// ---- vm_map_entry eflags (vm_eflags_t) ----
export const MAP_ENTRY_NOSYNC = 0x00000001;
export const MAP_ENTRY_IS_SUB_MAP = 0x00000002;
export const MAP_ENTRY_COW = 0x00000004;
export const MAP_ENTRY_NEEDS_COPY = 0x00000008;
export const MAP_ENTRY_NOFAULT = 0x00000010;
export const MAP_ENTRY_USER_WIRED = 0x00000020;
export const MAP_ENTRY_BEHAV_NORMAL = 0x00000000;
export const MAP_ENTRY_BEHAV_SEQUENTIAL = 0x00000040;
export const MAP_ENTRY_BEHAV_RANDOM = 0x00000080;
export const MAP_ENTRY_BEHAV_RESERVED = 0x000000c0;
export const MAP_ENTRY_BEHAV_MASK = 0x000000c0;
export const MAP_ENTRY_IN_TRANSITION = 0x00000100;
export const MAP_ENTRY_NEEDS_WAKEUP = 0x00000200;
export const MAP_ENTRY_NOCOREDUMP = 0x00000400;
export const MAP_ENTRY_VN_EXEC = 0x00000800;
export const MAP_ENTRY_GROWS_DOWN = 0x00001000;
export const MAP_ENTRY_GROWS_UP = 0x00002000;
export const MAP_ENTRY_WIRE_SKIPPED = 0x00004000;
export const MAP_ENTRY_WRITECNT = 0x00008000;
export const MAP_ENTRY_GUARD = 0x00010000;
export const MAP_ENTRY_STACK_GAP_DN = 0x00020000;
export const MAP_ENTRY_STACK_GAP_UP = 0x00040000;
export const MAP_ENTRY_HEADER = 0x00080000;
export const MAP_ENTRY_SPLIT_BOUNDARY_MASK = 0x00300000;
export const MAP_ENTRY_SPLIT_BOUNDARY_SHIFT = 20;
/**
 * Not FreeBSD's: the Linux personality's VM_WIPEONFORK on an entry whose inheritance is
 * VM_INHERIT_NONE (VM_DONTCOPY). Linux keeps the two flags apart and DONTCOPY wins at fork;
 * the entry's inheritance says NONE and this bit remembers the wipe for a later MADV_DOFORK.
 */
export const MAP_ENTRY_WIPE_HELD = 0x00400000;
/**
 * Not FreeBSD's: the Linux personality's VM_LOCKONFAULT, a qualifier of USER_WIRED (the vma is
 * locked, its pages are not populated but locked as they fault in). The map clears it
 * wherever it clears USER_WIRED; it is never set without USER_WIRED.
 */
export const MAP_ENTRY_LOCK_ONFAULT = 0x00800000;
/**
 * Not FreeBSD's: the Linux personality's VM_DROPPABLE (MAP_DROPPABLE, 6.11+: memory the kernel
 * may free under pressure, wiped on fork, never locked). It keeps the entry apart from plain
 * private memory, as the flag keeps Linux's vmas apart.
 */
export const MAP_ENTRY_DROPPABLE = 0x01000000;
/**
 * Not FreeBSD's: the Linux personality's VM_SEALED (mseal(2), 6.10+): the vma may no longer be
 * unmapped, moved, resized, replaced or reprotected, nor, when it is read-only private
 * anonymous memory, discarded. Set for good; a fork child inherits it with the entry.
 */
export const MAP_ENTRY_SEALED = 0x02000000;
/** USER_WIRED with its qualifier: what the map clears when a user wiring goes. */
export const MAP_ENTRY_USER_WIRED_BITS = MAP_ENTRY_USER_WIRED | MAP_ENTRY_LOCK_ONFAULT;

/** An entry with any of these never absorbs its predecessor. */
export const MAP_ENTRY_NOMERGE_MASK =
  MAP_ENTRY_GROWS_DOWN |
  MAP_ENTRY_GROWS_UP |
  MAP_ENTRY_IN_TRANSITION |
  MAP_ENTRY_IS_SUB_MAP |
  MAP_ENTRY_VN_EXEC;

// ---- vm_map flags ----
export const MAP_WIREFUTURE = 0x01;
export const MAP_BUSY_WAKEUP = 0x02;
export const MAP_IS_SUB_MAP = 0x04;
export const MAP_ASLR = 0x08;
export const MAP_ASLR_IGNSTART = 0x10;
export const MAP_REPLENISH = 0x20;
export const MAP_WXORX = 0x40;
export const MAP_ASLR_STACK = 0x80;
/**
 * Not FreeBSD's: x86 page tables cannot express write-only or (without protection keys)
 * execute-only pages, so on a map with this flag any of PROT_WRITE / PROT_EXEC lets a read
 * through (Linux's access_error on x86). The Linux personality sets it.
 */
export const MAP_READ_IMPLIED = 0x100;

// ---- cow argument of vm_map_insert / find / fixed / stack ----
export const MAP_INHERIT_SHARE = 0x00000001;
export const MAP_COPY_ON_WRITE = 0x00000002;
export const MAP_NOFAULT = 0x00000004;
export const MAP_PREFAULT = 0x00000008;
export const MAP_PREFAULT_PARTIAL = 0x00000010;
export const MAP_DISABLE_SYNCER = 0x00000020;
export const MAP_CHECK_EXCL = 0x00000040;
export const MAP_CREATE_GUARD = 0x00000080;
export const MAP_DISABLE_COREDUMP = 0x00000100;
export const MAP_PREFAULT_MADVISE = 0x00000200;
export const MAP_WRITECOUNT = 0x00000400;
export const MAP_REMAP = 0x00000800;
export const MAP_STACK_GROWS_DOWN = 0x00001000;
export const MAP_STACK_GROWS_UP = 0x00002000;
export const MAP_ACC_CHARGED = 0x00004000;
export const MAP_ACC_NO_CHARGE = 0x00008000;
export const MAP_CREATE_STACK_GAP_UP = 0x00010000;
export const MAP_CREATE_STACK_GAP_DN = 0x00020000;
export const MAP_VN_EXEC = 0x00040000;
export const MAP_SPLIT_BOUNDARY_MASK = 0x00180000;
export const MAP_SPLIT_BOUNDARY_SHIFT = 19;
export const MAP_NO_HINT = 0x00200000;

/** Every bit the cow argument may carry. */
export const MAP_COW_ALL = 0x003fffff;

// ---- find_space strategies of vm_map_find ----
export const VMFS_NO_SPACE = 0;
export const VMFS_ANY_SPACE = 1;
export const VMFS_OPTIMAL_SPACE = 2;
export const VMFS_SUPER_SPACE = 3;
/** Alignment 2^n: `VMFS_ALIGNED_SPACE(n) = n << 8`. */
export function VMFS_ALIGNED_SPACE(n: number): number {
  return n << 8;
}

// ---- wiring ----
export const VM_MAP_WIRE_SYSTEM = 0;
export const VM_MAP_WIRE_USER = 1;
export const VM_MAP_WIRE_NOHOLES = 0;
export const VM_MAP_WIRE_HOLESOK = 2;
export const VM_MAP_WIRE_WRITE = 4;
/**
 * vmspace's, not FreeBSD's: mark the entries wired without faulting their pages in, entries
 * without access included (guards excepted); pages already mapped stay as they are and pages
 * fault in wired. Linux's VM_LOCKED, whose population comes after and may stop early.
 */
export const VM_MAP_WIRE_NOFAULT = 8;

// ---- vm_map_protect flags ----
export const VM_MAP_PROTECT_SET_PROT = 0x1;
export const VM_MAP_PROTECT_SET_MAXPROT = 0x2;
export const VM_MAP_PROTECT_GROWSDOWN = 0x4;

// ---- madvise behaviours (FreeBSD sys/sys/mman.h) ----
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 5;
export const MADV_NOSYNC = 6;
export const MADV_AUTOSYNC = 7;
export const MADV_NOCORE = 8;
export const MADV_CORE = 9;
export const MADV_PROTECT = 10;
