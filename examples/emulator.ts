/**
 * For emulator and runtime authors: vmspace as the guest's memory.
 *
 * The guest gets a FreeBSD address space: a code segment it can only read and execute, a data
 * segment, and a stack. Every guest load and store goes through the process's accessors, which
 * resolve faults the way the kernel would (zero fill, copy on write, stack growth). An access the
 * kernel would refuse throws MemoryFault; the emulator turns it into the guest's SIGSEGV or
 * SIGBUS instead of crashing.
 *
 * Run: npx tsx examples/emulator.ts
 *
 * Output:
 *   code at 0x800000000, data at 0x800001000
 *   fetched 4 bytes: 90 90 90 c3
 *   guest signal SIGSEGV (SEGV_ACCERR) on write at 0x800000000
 *   guest signal SIGSEGV (SEGV_MAPERR) on read at 0x10
 *   guest signal SIGSEGV (SEGV_ACCERR) on execute at 0x800001000
 *   data[0] = 42, faults: 2 zero fill
 */
import { freebsd as F, MemoryFault, VmSystem } from "vmspace";

const sys = new VmSystem({ physicalMemory: 16 << 20 });
const guest = sys.createProcess();

// Load the guest image: map the code writable, copy the instructions in, then make it r-x,
// as a loader does. mmap returns the address the kernel chose.
const code = guest.mmap(0, 4096, F.PROT_READ | F.PROT_WRITE, F.MAP_PRIVATE | F.MAP_ANON);
guest.writeBytes(code, Uint8Array.of(0x90, 0x90, 0x90, 0xc3)); // nop; nop; nop; ret
guest.mprotect(code, 4096, F.PROT_READ | F.PROT_EXEC);
const data = guest.mmap(0, 64 << 10, F.PROT_READ | F.PROT_WRITE, F.MAP_PRIVATE | F.MAP_ANON);
console.log(`code at 0x${code.toString(16)}, data at 0x${data.toString(16)}`);

// Instruction fetches need PROT_EXEC; the emulator's decoder reads through fetch().
const insn = guest.fetch(code, 4);
console.log(`fetched ${insn.length} bytes: ${[...insn].map((b) => b.toString(16)).join(" ")}`);

/** One guest memory operation; a fault becomes the guest's signal, as a CPU trap would. */
function step(op: () => void): void {
  try {
    op();
  } catch (e) {
    if (!(e instanceof MemoryFault)) throw e; // a VmError or a bug: not the guest's business
    // Here a real emulator would push a signal frame and jump to the guest's handler.
    console.log(
      `guest signal ${e.signal} (${e.code}) on ${e.access} at 0x${e.address.toString(16)}`,
    );
  }
}

step(() => guest.write8(code, 0xcc)); // store into read-only code
step(() => guest.read32(0x10)); // NULL-pointer dereference: nothing mapped there
step(() => guest.fetch(data, 4)); // jump into non-executable data
step(() => guest.write32(data, 42)); // fine: first store zero-fills the page

const stats = sys.stats();
console.log(`data[0] = ${guest.read32(data)}, faults: ${stats.faults.zeroFill} zero fill`);
sys.audit(); // cross-checks every structure; throws if any invariant broke
