/**
 * The two ways a process sees failure: a system call that returns an error (VmError, with the
 * personality's errno) and an access that the kernel answers with a signal (MemoryFault).
 */

import type { ErrnoName } from "../base/errno.js";

/** A failed system call. Nothing changed, unless the call's documentation says otherwise. */
export class VmError extends Error {
  override name = "VmError";
  /** Symbolic errno, e.g. "EINVAL". */
  readonly code: ErrnoName;
  /** The personality's errno number. */
  readonly errno: number;
  /** The system call, e.g. "mmap". */
  readonly syscall: string;

  constructor(syscall: string, code: ErrnoName, errno: number, detail?: string) {
    super(`${syscall}: ${code}${detail ? ` (${detail})` : ""}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

export type FaultSignal = "SIGSEGV" | "SIGBUS";
export type FaultCode = "SEGV_MAPERR" | "SEGV_ACCERR" | "BUS_ADRERR" | "BUS_OBJERR" | "BUS_OOMERR";
export type AccessType = "read" | "write" | "execute";

/** An access the kernel answers with a signal (vm_fault_trap). */
export class MemoryFault extends Error {
  override name = "MemoryFault";
  readonly signal: FaultSignal;
  readonly code: FaultCode;
  /** The faulting address. */
  readonly address: number;
  readonly access: AccessType;

  constructor(signal: FaultSignal, code: FaultCode, address: number, access: AccessType) {
    super(`${signal} (${code}) on ${access} at 0x${address.toString(16)}`);
    this.signal = signal;
    this.code = code;
    this.address = address;
    this.access = access;
  }
}
