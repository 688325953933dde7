/**
 * The device pager (issue 4): a memory-mapped device whose read and write handlers run on every
 * access through a mapping, never cached in a page or the software TLB.
 */

import { describe, expect, it } from "vitest";
import {
  Device,
  type DeviceHandlers,
  freebsd as F,
  KERN_INVALID_ARGUMENT,
  KERN_SUCCESS,
  linux as L,
  MemoryFault,
  type MmioWidth,
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_ZERO,
  VmError,
  VmSystem,
} from "../src/index.js";

const PAGE = 4096;
const RW = F.PROT_READ | F.PROT_WRITE;

type Access = [op: "r" | "w", offset: number, width: MmioWidth, value?: number | bigint];

/**
 * A UART-like register file of 16 bytes: THR/RBR at 0 (a store queues a byte to `tx`, a load
 * pops the receive queue), LSR at 5 (bit 0: data ready), SCR at 7 (scratch), a 64-bit counter
 * at 8 that counts loads. Every access is recorded.
 */
function uart() {
  const log: Access[] = [];
  const tx: number[] = [];
  const rx: number[] = [0x41, 0x42];
  let scratch = 0;
  let loads = 0n;
  const handlers: DeviceHandlers = {
    read(offset, width) {
      log.push(["r", offset, width]);
      loads++;
      if (offset === 0) return rx.shift() ?? 0;
      if (offset === 5) return rx.length > 0 ? 1 : 0;
      if (offset === 7) return scratch;
      if (offset === 8 && width === 8) return loads;
      return 0xee;
    },
    write(offset, width, value) {
      log.push(["w", offset, width, value]);
      if (offset === 0) tx.push(Number(value));
      if (offset === 7) scratch = Number(value);
    },
  };
  return { dev: new Device(16, handlers, "/dev/uart0"), log, tx, rx };
}

function fault(f: () => unknown): MemoryFault {
  try {
    f();
  } catch (e) {
    if (e instanceof MemoryFault) return e;
    throw e;
  }
  throw new Error("no fault");
}

function errno(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VmError) return e.code;
    throw e;
  }
  return "ok";
}

describe("device pager", () => {
  it("every load and store through the mapping calls the device, with offset and width", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const { dev, log, tx } = uart();
    const fd = p.fds.open(dev, "rw");
    const a = p.mmap(0, PAGE, RW, F.MAP_SHARED, fd, 0);
    expect(p.read8(a + 5)).toBe(1);
    expect(p.read8(a)).toBe(0x41);
    expect(p.read8(a + 5)).toBe(1);
    expect(p.read8(a)).toBe(0x42);
    expect(p.read8(a + 5)).toBe(0);
    p.write8(a, 0x68);
    p.write8(a, 0x69);
    expect(tx).toEqual([0x68, 0x69]);
    // Never cached: the same access twice is two calls, and nothing sits in the pmap.
    p.write16(a + 6, 0x1234);
    p.write32(a + 4, 0xdeadbeef);
    expect(p.read16(a + 6)).toBe(0xee);
    expect(p.read32(a + 12)).toBe(0xee);
    expect(p.read32(a + 12)).toBe(0xee);
    p.write64(a + 8, 0x1122334455667788n);
    expect(p.read64(a + 8)).toBe(9n); // the 9th load
    expect(p.pmap.extract(a)).toBe(0);
    expect(p.pmap.resident).toBe(0);
    expect(log).toEqual([
      ["r", 5, 1],
      ["r", 0, 1],
      ["r", 5, 1],
      ["r", 0, 1],
      ["r", 5, 1],
      ["w", 0, 1, 0x68],
      ["w", 0, 1, 0x69],
      ["w", 6, 2, 0x1234],
      ["w", 4, 4, 0xdeadbeef],
      ["r", 6, 2],
      ["r", 12, 4],
      ["r", 12, 4],
      ["w", 8, 8, 0x1122334455667788n],
      ["r", 8, 8],
    ]);
    // No frame was ever allocated for the device.
    expect(sys.stats().frames.free).toBe(sys.stats().frames.total);
    sys.audit();
  });

  it("readBytes and writeBytes are one 1-byte access per byte, in ascending order", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const { dev, log, tx } = uart();
    const a = p.mmap(0, PAGE, RW, F.MAP_SHARED, p.fds.open(dev, "rw"), 0);
    p.writeBytes(a, Uint8Array.of(1, 2, 3));
    expect(log).toEqual([
      ["w", 0, 1, 1],
      ["w", 1, 1, 2],
      ["w", 2, 1, 3],
    ]);
    expect(tx).toEqual([1]);
    log.length = 0;
    expect([...p.readBytes(a + 5, 3)]).toEqual([1, 0xee, 0]);
    expect(log).toEqual([
      ["r", 5, 1],
      ["r", 6, 1],
      ["r", 7, 1],
    ]);
  });

  it("bytes past the device's end are SIGBUS; writeBytes checks before storing anything", () => {
    for (const personality of ["freebsd", "linux"] as const) {
      const sys = new VmSystem({ personality, physicalMemory: 1 << 20 });
      const p = sys.createProcess();
      const { dev, log } = uart();
      const C = personality === "linux" ? L : F;
      const a = p.mmap(0, PAGE, C.PROT_READ | C.PROT_WRITE, C.MAP_SHARED, p.fds.open(dev, "rw"), 0);
      const f = fault(() => p.read32(a + 14));
      expect(f.signal).toBe("SIGBUS");
      expect(f.code).toBe(personality === "linux" ? "BUS_ADRERR" : "BUS_OBJERR");
      expect(fault(() => p.read8(a + 16)).signal).toBe("SIGBUS");
      expect(fault(() => p.writeBytes(a + 12, new Uint8Array(8))).address).toBe(a + 16);
      expect(fault(() => p.read64(a + 12)).signal).toBe("SIGBUS");
      expect(log).toEqual([]);
      sys.audit();
    }
  });

  it("protection is checked on every access: a read-only mapping refuses stores", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const { dev, log } = uart();
    const a = p.mmap(0, PAGE, F.PROT_READ, F.MAP_SHARED, p.fds.open(dev, "r"), 0);
    expect(p.read8(a + 7)).toBe(0);
    const f = fault(() => p.write8(a + 7, 1));
    expect([f.signal, f.code]).toEqual(["SIGSEGV", "SEGV_ACCERR"]);
    expect(errno(() => p.mprotect(a, PAGE, RW))).toBe("EACCES");
    expect(log).toEqual([["r", 7, 1]]);
  });

  it("MAP_PRIVATE and mappings past the device's last page are EINVAL, changing nothing", () => {
    for (const personality of ["freebsd", "linux"] as const) {
      const sys = new VmSystem({ personality, physicalMemory: 1 << 20 });
      const p = sys.createProcess({ mmapBase: 0x7f0000000000 });
      const C = personality === "linux" ? L : F;
      const { dev } = uart();
      const fd = p.fds.open(dev, "rw");
      const prot = C.PROT_READ | C.PROT_WRITE;
      const before = p.maps();
      expect(errno(() => p.mmap(0, PAGE, prot, C.MAP_PRIVATE, fd, 0))).toBe("EINVAL");
      expect(errno(() => p.mmap(0, 2 * PAGE, prot, C.MAP_SHARED, fd, 0))).toBe("EINVAL");
      expect(errno(() => p.mmap(0, PAGE, prot, C.MAP_SHARED, fd, PAGE))).toBe("EINVAL");
      expect(p.maps()).toEqual(before);
      expect(sys.objects.objects.size).toBe(0);
      expect(errno(() => sys.ftruncate(dev, 0))).toBe("EINVAL");
      sys.audit();
    }
  });

  it("maps() and both formats show a device mapping; fork shares it; minherit COPY/ZERO refused", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const p = sys.createProcess();
    const { dev, tx } = uart();
    const a = p.mmap(0, PAGE, RW, F.MAP_SHARED, p.fds.open(dev, "rw"), 0);
    const [m] = p.maps();
    expect(m).toMatchObject({ kind: "device", path: "/dev/uart0", shared: true, resident: 0 });
    expect(p.formatMaps("procstat")).toMatch(/ dv \/dev\/uart0\n$/);
    expect(errno(() => p.minherit(a, PAGE, VM_INHERIT_COPY))).toBe("EINVAL");
    expect(p.map.inherit(a, a + PAGE, VM_INHERIT_ZERO)).toBe(KERN_INVALID_ARGUMENT);
    const c = p.fork();
    c.write8(a, 0x63);
    p.write8(a, 0x70);
    expect(tx).toEqual([0x63, 0x70]);
    expect(c.maps()[0].kind).toBe("device");
    expect(p.map.inherit(a, a + PAGE, VM_INHERIT_NONE)).toBe(KERN_SUCCESS);
    expect(p.fork().maps()).toEqual([]);
    // msync, mlock and munmap of a device mapping: nothing to write, nothing to wire.
    p.msync(a, PAGE, F.MS_SYNC);
    p.mlock(a, PAGE);
    p.write8(a, 1);
    sys.audit();
    p.munlock(a, PAGE);
    p.munmap(a, PAGE);
    c.exit();
    expect(sys.objects.objects.size).toBe(0);
    sys.audit();
  });

  it("Linux: /proc/PID/maps shows the device's path and offset, shared", () => {
    const sys = new VmSystem({ personality: "linux", physicalMemory: 1 << 20 });
    const p = sys.createProcess({ mmapBase: 0x7f0000000000 });
    const dev = new Device(3 * PAGE, { read: () => 0, write: () => {} });
    const fd = p.fds.open(dev, "rw", "/dev/mem");
    p.mmap(0, PAGE, L.PROT_READ | L.PROT_WRITE, L.MAP_SHARED, fd, 2 * PAGE);
    expect(p.formatMaps("linux")).toMatch(/ rw-s 00002000 00:00 0 +\/dev\/mem\n$/);
  });

  it("the device is a Vnode: sys.pread/pwrite are byte accesses; malformed devices are refused", () => {
    const sys = new VmSystem({ physicalMemory: 1 << 20 });
    const { dev, log } = uart();
    expect([...sys.pread(dev, 5, 100)].length).toBe(11);
    expect(sys.pwrite(dev, 7, Uint8Array.of(9))).toBe(1);
    expect(log.at(-1)).toEqual(["w", 7, 1, 9]);
    expect(() => new Device(0, { read: () => 0, write: () => {} })).toThrow(RangeError);
    expect(() => new Device(16, {} as DeviceHandlers)).toThrow(TypeError);
  });
});
