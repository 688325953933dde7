/**
 * Panics and assertions.
 *
 * A broken invariant is a thrown {@link VmPanic} naming the function that found it
 * (STYLE habit 9): it means a bug in vmspace or a misuse of the kernel layer (for example
 * unlocking a map that is not locked), never a condition a caller should handle.
 * Expected failures are KERN_* values or `VmError`, not panics.
 */

/** Thrown when an invariant of the VM system is broken. */
export class VmPanic extends Error {
  override name = "VmPanic";
}

/** Throws a {@link VmPanic} with the message `fn: msg`. */
export function panic(fn: string, msg: string): never {
  throw new VmPanic(`${fn}: ${msg}`);
}

/** Cheap assertion that is always on: panics with `fn: msg` when `cond` is false. */
export function kassert(cond: boolean, fn: string, msg: string): asserts cond {
  if (!cond) panic(fn, msg);
}
