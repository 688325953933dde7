/**
 * Number spaces and their conversions (STYLE habit 5).
 *
 * - a virtual address (`VmOffset`) and a byte length (`VmSize`) are safe integers, bytes;
 * - an object offset (`VmOoffset`) is a byte offset inside a VM object;
 * - a page index (`VmPindex`) is a page number inside a VM object;
 * - a frame number (`FrameNumber`) names a physical page frame.
 * All are plain numbers at run time; the aliases document which space a value lives in,
 * and each conversion has one function here.
 */

export type VmOffset = number;
export type VmSize = number;
export type VmOoffset = number;
export type VmPindex = number;
export type FrameNumber = number;

/** The largest address vmspace represents: 2^53. Address spaces are at most 2^52 bytes. */
export const ADDR_LIMIT = 2 ** 53;

/** True for a safe, non-negative integer (a well-formed address or length). */
export function isAddr(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/** True for a power of two between 1 and 2^52. */
export function isPowerOfTwo(v: number): boolean {
  return Number.isSafeInteger(v) && v > 0 && 2 ** Math.round(Math.log2(v)) === v;
}

/** log2 of a power of two. */
export function log2(v: number): number {
  return Math.round(Math.log2(v));
}

/** Rounds `a` down to a multiple of `align` (a power of two). Exact for safe integers. */
export function truncTo(a: number, align: number): number {
  return a - (a % align);
}

/** Rounds `a` up to a multiple of `align` (a power of two). May exceed 2^53 for huge `a`. */
export function roundTo(a: number, align: number): number {
  const r = a % align;
  return r === 0 ? a : a + (align - r);
}

/** True when `a` is a multiple of `align`. */
export function isAligned(a: number, align: number): boolean {
  return a % align === 0;
}

/**
 * `v mod align` for a non-negative safe integer `v` and a power of two `align`. A remainder of
 * two doubles is a call into the C library in V8's optimized code (addresses above 2^31 are
 * doubles), some 20-40 ns; for align <= 2^31 the low 32 bits of `v` (ToUint32, exact for safe
 * integers) hold the answer, so this is a truncation and a mask. Hot paths use it; the
 * general functions above keep `%`, which also rounds non-integers sensibly.
 */
export function lowBits(v: number, align: number): number {
  return align <= 0x80000000 ? (v >>> 0) & (align - 1) : v % align;
}

/** Byte offset to page index. */
export function offToPindex(off: VmOoffset, pageSize: number): VmPindex {
  return Math.floor(off / pageSize);
}

/** Page index to byte offset. */
export function pindexToOff(p: VmPindex, pageSize: number): VmOoffset {
  return p * pageSize;
}

/** Hexadecimal with 0x prefix, for messages. */
export function hex(v: number): string {
  return Number.isFinite(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
}
