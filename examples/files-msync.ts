/**
 * For runtime authors and OS students: files mapped into memory (Node: `vmspace/node`).
 *
 * A real file on disk, mapped twice: MAP_SHARED stores reach the file on msync, MAP_PRIVATE
 * stores copy the page and never reach it (until then, the private mapping reads the file's
 * pages). Truncating the file under a mapping turns accesses
 * past the new end into SIGBUS, as on FreeBSD.
 *
 * Run: npx tsx examples/files-msync.ts
 *
 * Output:
 *   mapped "hello, file" at 0x800000000 (shared) and 0x800002000 (private)
 *   before msync the file says: hello, file
 *   after msync the file says:  HELLO, file
 *   the private copy says:      jELLO, file
 *   after ftruncate: SIGBUS (BUS_OBJERR) on read at 0x800001000
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freebsd as F, HostFile, MemoryFault, VmSystem } from "vmspace/node";

const dir = mkdtempSync(join(tmpdir(), "vmspace-example-"));
const path = join(dir, "data.txt");
writeFileSync(path, "hello, file".padEnd(8192, "."));

const sys = new VmSystem({ physicalMemory: 16 << 20 });
const p = sys.createProcess();
const file = HostFile.open(path, "rw");
const fd = p.fds.open(file, "rw", path);
const RW = F.PROT_READ | F.PROT_WRITE;
const shared = p.mmap(0, 8192, RW, F.MAP_SHARED, fd, 0);
const priv = p.mmap(0, 8192, RW, F.MAP_PRIVATE, fd, 0);

const text = (addr: number) => new TextDecoder().decode(p.readBytes(addr, 11));
const onDisk = () => readFileSync(path, "utf8").slice(0, 11);
console.log(
  `mapped "${text(shared)}" at 0x${shared.toString(16)} (shared) and 0x${priv.toString(16)} (private)`,
);

p.writeBytes(shared, new TextEncoder().encode("HELLO")); // dirties the cached page only
console.log(`before msync the file says: ${onDisk()}`);
p.msync(shared, 8192, F.MS_SYNC); // writes the dirty page back through HostFile
console.log(`after msync the file says:  ${onDisk()}`);

// Until its first store, a private mapping reads the file's page cache (HELLO is there);
// the store copies the page, and the copy never reaches the file.
p.write8(priv, "j".charCodeAt(0));
console.log(`the private copy says:      ${text(priv)}`);

sys.ftruncate(file, 100); // the second page of the file no longer exists
try {
  p.read8(shared + 4096);
} catch (e) {
  if (!(e instanceof MemoryFault)) throw e;
  console.log(`after ftruncate: ${e.message}`);
}

p.exit(); // unmaps everything (shared pages would be written back first)
file.close();
rmSync(dir, { recursive: true });
