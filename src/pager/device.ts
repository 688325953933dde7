/**
 * The device pager: memory-mapped I/O (FreeBSD sys/vm/device_pager.c, reduced to what an
 * emulator's device model needs).
 *
 * A `Device` is a register file or any other memory-mapped device of fixed size: every load and
 * every store that a process makes through a mapping of it calls the device's `read` or `write`
 * handler with the byte offset in the device, the access width (1, 2, 4 or 8 bytes) and, for a
 * store, the value. Nothing is cached: a device object never holds a page, so no translation
 * of a device page ever enters a pmap or the software TLB, and each access reaches the fault
 * handler, which validates it against the map entry (protection, bounds) and hands it to the
 * device (the process layer performs it). The TLB hit path of ordinary memory is untouched.
 *
 * Non-obvious choices:
 * - FreeBSD's device pager enters fictitious pages that then reach the hardware without a fault;
 *   here the hardware is the embedder's callbacks, so every access traps instead (a hypervisor's
 *   MMIO exit), which is what "never cached" means for a software TLB.
 * - Mappings are shared only: MAP_PRIVATE of a device is EINVAL (vm_mmap_cdev: "character
 *   devices do not provide private mappings"), and so is a mapping past the device's last page
 *   (dev_pager_alloc fails). A device is also a `Vnode`, so `p.fds.open(device, "rw")` and
 *   `sys.pread`/`sys.pwrite` work: read(2)/write(2) of the device node are one-byte accesses
 *   in ascending order. Its size is fixed: `truncate` throws (ftruncate(2) is EINVAL).
 *
 * Guarded by: the object lock of the device object (one thread); the handlers run with no
 * VM lock held.
 */

import type { Vnode } from "./vnode.js";

/** The width of one device access, in bytes. */
export type MmioWidth = 1 | 2 | 4 | 8;

/** What a device does on each access. */
export interface DeviceHandlers {
  /**
   * A load of `width` bytes at byte `offset` of the device (offset + width <= size). Returns the
   * value: a number for widths 1, 2 and 4, a bigint (or number) for 8; bits above the width are
   * dropped, and a value that is not an integer reads as 0.
   */
  read(offset: number, width: MmioWidth): number | bigint;
  /**
   * A store of `width` bytes at byte `offset`: `value` is an unsigned number for widths 1, 2 and
   * 4, and an unsigned bigint for 8.
   */
  write(offset: number, width: MmioWidth, value: number | bigint): void;
}

/**
 * A memory-mapped device of `size` bytes. Example:
 * `new Device(4096, { read: (o, w) => regs[o], write: (o, w, v) => { regs[o] = Number(v); } }, "/dev/uart0")`.
 */
export class Device implements Vnode {
  /** A name for views (the path maps() shows when opened without one), or null (constant). */
  readonly name: string | null;
  readonly #size: number;
  readonly #h: DeviceHandlers;

  constructor(size: number, handlers: DeviceHandlers, name: string | null = null) {
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new RangeError(`Device: size ${size} is not a positive safe integer`);
    if (
      handlers === null ||
      typeof handlers !== "object" ||
      typeof handlers.read !== "function" ||
      typeof handlers.write !== "function"
    )
      throw new TypeError("Device: handlers need read(offset, width) and write(offset, width, v)");
    this.#size = size;
    this.#h = handlers;
    this.name = name;
  }

  /** Bytes of registers (constant). */
  get size(): number {
    return this.#size;
  }

  /** True when an access of `width` bytes at `offset` lies inside the device. */
  inRange(offset: number, width: number): boolean {
    return offset >= 0 && offset + width <= this.#size;
  }

  /** One load of width 1, 2 or 4 through the handler, as an unsigned number. */
  load(offset: number, width: 1 | 2 | 4): number {
    const v = this.#h.read(offset, width);
    const n = typeof v === "bigint" ? Number(BigInt.asUintN(32, v)) : v;
    return width === 4 ? n >>> 0 : n & (width === 1 ? 0xff : 0xffff);
  }

  /** One load of width 8 through the handler, as an unsigned bigint. */
  load64(offset: number): bigint {
    const v = this.#h.read(offset, 8);
    if (typeof v === "bigint") return BigInt.asUintN(64, v);
    return Number.isSafeInteger(v) ? BigInt.asUintN(64, BigInt(v)) : 0n;
  }

  /** One store of width 1, 2 or 4 through the handler (the value is masked to the width). */
  store(offset: number, width: 1 | 2 | 4, value: number): void {
    this.#h.write(offset, width, width === 4 ? value >>> 0 : value & (width === 1 ? 0xff : 0xffff));
  }

  /** One store of width 8 through the handler. */
  store64(offset: number, value: bigint): void {
    this.#h.write(offset, 8, BigInt.asUintN(64, value));
  }

  /** read(2) of the device node: one 1-byte load per byte, short at the end of the device. */
  read(position: number, length: number): Uint8Array {
    Device.#check(position, "position");
    Device.#check(length, "length");
    const n = Math.max(0, Math.min(length, this.#size - position));
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.load(position + i, 1);
    return out;
  }

  /** write(2) of the device node: one 1-byte store per byte; nothing past the end. */
  write(position: number, bytes: Uint8Array): number {
    Device.#check(position, "position");
    const n = Math.max(0, Math.min(bytes.length, this.#size - position));
    for (let i = 0; i < n; i++) this.store(position + i, 1, bytes[i]);
    return n;
  }

  /** A device's size is fixed: always throws (sys.ftruncate refuses a device with EINVAL). */
  truncate(length: number): void {
    throw new RangeError(`Device: cannot truncate a device (size ${this.#size}) to ${length}`);
  }

  static #check(v: number, what: string): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`Device: ${what} ${v} is not a safe non-negative integer`);
  }
}

/** The pager of a device object: the device and the name its mappings show. */
export class DevicePager {
  readonly device: Device;
  readonly path: string | null;

  constructor(device: Device, path: string | null) {
    this.device = device;
    this.path = path ?? device.name;
  }
}
