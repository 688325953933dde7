/**
 * KERN_* return codes of the kernel layer (FreeBSD sys/vm/vm_param.h).
 *
 * Expected failures in the vm_map layer are values of this type, never exceptions
 * (STYLE habit 9); the system-call layer converts them to errno with per-call tables.
 * Values 0-8 are FreeBSD's historical ones; 9 (KERN_OUT_OF_BOUNDS) and 10 (KERN_RESTART)
 * match sys/vm/vm_param.h of FreeBSD 12 and later.
 */

export const KERN_SUCCESS = 0;
export const KERN_INVALID_ADDRESS = 1;
export const KERN_PROTECTION_FAILURE = 2;
export const KERN_NO_SPACE = 3;
export const KERN_INVALID_ARGUMENT = 4;
export const KERN_FAILURE = 5;
export const KERN_RESOURCE_SHORTAGE = 6;
export const KERN_NOT_RECEIVER = 7;
export const KERN_NO_ACCESS = 8;
export const KERN_OUT_OF_BOUNDS = 9;
export const KERN_RESTART = 10;

/** A KERN_* code. */
export type KernReturn = number;

const NAMES = [
  "KERN_SUCCESS",
  "KERN_INVALID_ADDRESS",
  "KERN_PROTECTION_FAILURE",
  "KERN_NO_SPACE",
  "KERN_INVALID_ARGUMENT",
  "KERN_FAILURE",
  "KERN_RESOURCE_SHORTAGE",
  "KERN_NOT_RECEIVER",
  "KERN_NO_ACCESS",
  "KERN_OUT_OF_BOUNDS",
  "KERN_RESTART",
] as const;

/** The C name of a KERN_* code, e.g. `kernName(3) === "KERN_NO_SPACE"`. */
export function kernName(rv: KernReturn): string {
  return NAMES[rv] ?? `KERN_${rv}`;
}
