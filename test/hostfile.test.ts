/**
 * HostFile (vmspace/node): a real temporary file mapped through the vnode pager, checked with
 * node:fs from outside. Stores through a MAP_SHARED mapping reach the file on msync, munmap and
 * exit (exactly the bytes stored, nothing past EOF); private mappings never write; the host's
 * view of size, short reads and truncation is the Vnode contract.
 */

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freebsd as F, HostFile, linux as L, VmSystem } from "vmspace/node";

const dir = mkdtempSync(join(tmpdir(), "vmspace-hostfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
/** A new temporary file holding `bytes`. */
function tmpFile(bytes: Uint8Array): string {
  const path = join(dir, `f${serial++}.bin`);
  writeFileSync(path, bytes);
  return path;
}
const pattern = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe("HostFile as a Vnode", () => {
  it("size, short reads at EOF, writes that grow, truncate; throws after close", () => {
    const path = tmpFile(pattern(10, 1));
    const f = HostFile.open(path, "rw");
    expect(f.size).toBe(10);
    expect([...f.read(8, 5)]).toEqual([...pattern(10, 1).subarray(8)]);
    expect(f.read(20, 4).length).toBe(0);
    expect(f.write(12, Uint8Array.of(5, 6))).toBe(2);
    expect(f.size).toBe(14);
    expect([...f.read(10, 4)]).toEqual([0, 0, 5, 6]);
    expect(f.writev(0, [Uint8Array.of(1, 2), Uint8Array.of(3)])).toBe(3);
    expect([...readFileSync(path).subarray(0, 3)]).toEqual([1, 2, 3]);
    f.truncate(2);
    expect(statSync(path).size).toBe(2);
    f.close();
    expect(() => f.size).toThrow(/after close/);
    expect(() => f.read(-1, 1)).toThrow();
    expect(() => HostFile.open(join(dir, "missing"), "r")).toThrow(/ENOENT/);
    const created = HostFile.open(join(dir, "created.bin"), "w");
    expect(created.size).toBe(0);
    created.close();
  });
});

for (const personality of ["freebsd", "linux"] as const) {
  const C = personality === "linux" ? L : F;
  const RW = C.PROT_READ | C.PROT_WRITE;
  const PS = 4096;

  describe(`a host file mapped (${personality})`, () => {
    it("stores through MAP_SHARED reach the disk on msync: exactly the bytes written", () => {
      const before = pattern(3 * PS + 100, 3);
      const path = tmpFile(before);
      const f = HostFile.open(path, "rw");
      const sys = new VmSystem({ personality, physicalMemory: 8 << 20 });
      const p = sys.createProcess();
      const fd = p.fds.open(f, "rw", path);
      const a = p.mmap(0, 4 * PS, RW, C.MAP_SHARED, fd, 0);
      expect(p.read8(a + 5)).toBe(before[5]);
      const expected = before.slice();
      const stores: [number, number][] = [
        [1, 0xa1],
        [PS + 17, 0xb2],
        [3 * PS + 99, 0xc3], // the last byte of the file, in the page straddling EOF
      ];
      for (const [off, v] of stores) {
        p.write8(a + off, v);
        expected[off] = v;
      }
      p.write8(a + 3 * PS + 200, 0xdd); // past EOF inside the last page: never written
      expect([...readFileSync(path)]).toEqual([...before]); // nothing yet
      p.msync(a, 4 * PS, C.MS_SYNC);
      const disk = readFileSync(path);
      expect(disk.length).toBe(before.length);
      expect(Buffer.compare(disk, Buffer.from(expected))).toBe(0);
      // A second msync with nothing dirty writes nothing; a new store is written again.
      writeFileSync(path, before); // change the disk behind the (clean) mapping
      p.msync(a, 4 * PS, C.MS_SYNC);
      expect(Buffer.compare(readFileSync(path), Buffer.from(before))).toBe(0);
      p.write8(a + 2, 0xee);
      p.msync(a, PS, C.MS_ASYNC); // written at once (see README)
      expect(readFileSync(path)[2]).toBe(0xee);
      expect(readFileSync(path)[1]).toBe(0xa1); // the whole dirty page went out again
      p.exit();
      f.close();
      sys.audit();
    });

    it("munmap and exit write MAP_SHARED data back, even while another process maps the file", () => {
      const path = tmpFile(new Uint8Array(2 * PS));
      const f = HostFile.open(path, "rw");
      const sys = new VmSystem({ personality, physicalMemory: 8 << 20 });
      const p = sys.createProcess();
      const q = sys.createProcess();
      const a = p.mmap(0, 2 * PS, RW, C.MAP_SHARED, p.fds.open(f, "rw", path), 0);
      const b = q.mmap(0, 2 * PS, RW, C.MAP_SHARED, q.fds.open(f, "rw", path), 0);
      p.write32(a + 8, 0x11223344);
      q.write32(b + PS + 8, 0x55667788);
      expect(q.read32(b + 8)).toBe(0x11223344); // one page, seen by both
      p.munmap(a, 2 * PS); // q still maps the file
      const disk = readFileSync(path);
      expect(disk.readUInt32LE(8)).toBe(0x11223344);
      expect(disk.readUInt32LE(PS + 8)).toBe(0x55667788); // the shared page was dirty
      q.write8(b + 100, 0x42);
      q.exit();
      expect(readFileSync(path)[100]).toBe(0x42);
      expect(sys.stats().objects.live).toBe(0);
      f.close();
      sys.audit();
    });

    it("a private mapping of a host file copies on write and never writes the file", () => {
      const before = pattern(PS, 9);
      const path = tmpFile(before);
      const f = HostFile.open(path, "r");
      const sys = new VmSystem({ personality, physicalMemory: 8 << 20 });
      const p = sys.createProcess();
      const a = p.mmap(0, PS, RW, C.MAP_PRIVATE, p.fds.open(f, "r", path), 0);
      p.write8(a, 0xff);
      expect(p.read8(a)).toBe(0xff);
      p.msync(a, PS, C.MS_SYNC);
      p.exit();
      expect(Buffer.compare(readFileSync(path), Buffer.from(before))).toBe(0);
      f.close();
    });
  });
}
