/**
 * Protections (vm_prot_t) and inheritance (vm_inherit_t), FreeBSD sys/vm/vm.h and
 * sys/sys/mman.h. PROT_* of mmap(2) equal VM_PROT_* numerically.
 */

export const VM_PROT_NONE = 0x00;
export const VM_PROT_READ = 0x01;
export const VM_PROT_WRITE = 0x02;
export const VM_PROT_EXECUTE = 0x04;
/** Force copy-on-write on a read (debuggers). */
export const VM_PROT_COPY = 0x08;
/** Marks a lookup made by the fault handler (stack growth allowed). */
export const VM_PROT_FAULT_LOOKUP = 0x10;
export const VM_PROT_RW = VM_PROT_READ | VM_PROT_WRITE;
export const VM_PROT_ALL = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE;
export const VM_PROT_DEFAULT = VM_PROT_ALL;

/** A vm_prot_t value. */
export type VmProt = number;

/** True when `p` uses only the R, W and X bits. */
export function isProt(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= VM_PROT_ALL;
}

/** True when every bit of `sub` is in `sup`. */
export function protSubset(sub: VmProt, sup: VmProt): boolean {
  return (sub & ~sup) === 0;
}

/** `r--`, `rw-`, `r-x` and so on. */
export function protString(p: VmProt): string {
  return (
    (p & VM_PROT_READ ? "r" : "-") +
    (p & VM_PROT_WRITE ? "w" : "-") +
    (p & VM_PROT_EXECUTE ? "x" : "-")
  );
}

export const VM_INHERIT_SHARE = 0;
export const VM_INHERIT_COPY = 1;
export const VM_INHERIT_NONE = 2;
export const VM_INHERIT_ZERO = 3;
export const VM_INHERIT_DEFAULT = VM_INHERIT_COPY;

/** A vm_inherit_t value. */
export type VmInherit = number;

/** True for exactly SHARE, COPY, NONE and ZERO. */
export function isInherit(i: number): boolean {
  return (
    i === VM_INHERIT_SHARE ||
    i === VM_INHERIT_COPY ||
    i === VM_INHERIT_NONE ||
    i === VM_INHERIT_ZERO
  );
}

export const INHERIT_NAMES = ["share", "copy", "none", "zero"] as const;
