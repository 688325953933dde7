# Recorded with: traces/record.sh traces/py_mmap PATH=/usr/bin python3 mm.py (CPython 3.11,
# Linux 6.18), with the file under /tmp/tr. These comments were added afterwards.
# mmap.mmap(-1, n) is MAP_SHARED | MAP_ANONYMOUS; resize() is mremap (a shrink here: growing
# a shared anonymous mapping past its shmem object's size makes the next touch SIGBUS, as
# vmspace does too); the file mapping is MAP_SHARED, flushed with msync and given
# MADV_DONTNEED; the bytearrays and the array are CPython's allocator (mmap and munmap).
import mmap, os, array, gc
m = mmap.mmap(-1, 1 << 24)
m[0:4] = b'abcd'
m2 = mmap.mmap(-1, 1 << 25)
m2[(1 << 25) - 1] = 7
m.resize(1 << 22)
f = open('/tmp/tr/data.bin', 'wb'); f.write(b'x' * (1 << 22)); f.close()
fd = os.open('/tmp/tr/data.bin', os.O_RDWR)
fm = mmap.mmap(fd, 1 << 22)
fm[100] = 65
fm.flush()
fm.madvise(mmap.MADV_DONTNEED)
fm.close()
bufs = [bytearray(1 << 20) for _ in range(40)]
del bufs[::2]
gc.collect()
a = array.array('d', range(2_000_000))
del a
print(len(m))
