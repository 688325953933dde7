/**
 * For emulator authors and OS students: fork and copy on write.
 *
 * fork() copies no page: parent and child share every page read-only, each behind its own
 * shadow object, and the first store on either side copies just that page. minherit() decides
 * per range what a child gets: a copy (the default), the same pages (INHERIT_SHARE), or nothing
 * (INHERIT_NONE).
 *
 * Run: npx tsx examples/fork-cow.ts
 *
 * Output:
 *   after fork: 0 pages copied
 *   parent reads 1111, child reads 2222: 1 page copied
 *   shared page seen by the parent: 3333
 *   child's INHERIT_NONE range: SIGSEGV (SEGV_MAPERR) on read at 0x800011000
 *   parent heap: needs copy true, shadow depth 0
 *   parent heap: needs copy false, shadow depth 1
 *   after the child exits: needs copy false, shadow depth 0
 */
import { freebsd as F, MemoryFault, VmSystem } from "vmspace";

const sys = new VmSystem({ physicalMemory: 16 << 20 });
const parent = sys.createProcess();
const RW = F.PROT_READ | F.PROT_WRITE;

const heap = parent.mmap(0, 64 << 10, RW, F.MAP_PRIVATE | F.MAP_ANON); // 16 pages
for (let a = heap; a < heap + (64 << 10); a += 4096) parent.write32(a, 1111);
const shared = parent.mmap(0, 4096, RW, F.MAP_PRIVATE | F.MAP_ANON);
parent.minherit(shared, 4096, F.INHERIT_SHARE);
const secret = parent.mmap(0, 4096, RW, F.MAP_PRIVATE | F.MAP_ANON);
parent.minherit(secret, 4096, F.INHERIT_NONE);

const child = parent.fork();
console.log(`after fork: ${sys.stats().cowCopies} pages copied`);

child.write32(heap, 2222); // the child's store copies one page, for the child only
console.log(
  `parent reads ${parent.read32(heap)}, child reads ${child.read32(heap)}: ` +
    `${sys.stats().cowCopies} page copied`,
);

child.write32(shared, 3333); // INHERIT_SHARE: one page, both processes
console.log(`shared page seen by the parent: ${parent.read32(shared)}`);

try {
  child.read32(secret);
} catch (e) {
  if (!(e instanceof MemoryFault)) throw e;
  console.log(`child's INHERIT_NONE range: ${e.message}`);
}

// The parent's entry is marked needs-copy: its shadow is made at its own first store.
const heapState = () => {
  const m = parent.maps().find((e) => e.start === heap)!;
  return `needs copy ${m.needsCopy}, shadow depth ${m.shadowDepth}`;
};
console.log(`parent heap: ${heapState()}`);
parent.write32(heap + 4096, 4444);
console.log(`parent heap: ${heapState()}`);
child.exit(); // nobody else uses the shared object now: the parent's shadow absorbs it
console.log(`after the child exits: ${heapState()}`);
sys.audit();
