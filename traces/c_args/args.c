/*
 * c_args: unusual and malformed arguments to the Linux memory system calls, each printing its
 * result (recorded as traces/c_args with traces/record.sh; built with gcc -O1): file mappings
 * past the end of the file and at an offset, a hole punched by munmap, mremap of a file
 * mapping, madvise with an unaligned start, length 0, a hole, hints and an unknown advice,
 * PROT_GROWSUP and PROT_SEM, mmap of length 0, of 2^50 bytes, without a type, MAP_32BIT, hints
 * (low, taken, free), MAP_NORESERVE, a bad descriptor, mremap onto another mapping, shrinking
 * with MAYMOVE, a blocked grow, MREMAP_DONTUNMAP called without its fifth argument (the kernel
 * reads a garbage new_addr), mlock2(MLOCK_ONFAULT), DONTFORK/DOFORK, brk out of range, fork.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#define P 4096
static void r(const char *w, long v) { printf("%s = %lx (%s)\n", w, v, v == -1 ? strerror(errno) : "ok"); }
int main(void) {
  int fd = open("/tmp/c_edges2.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
  ftruncate(fd, 6 * P);
  char *f = mmap(NULL, 8 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  r("file shared 8 pages over 6", (long)f);
  char *fp = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 2 * P);
  r("file private offset 2", (long)fp);
  r("munmap file middle", munmap(f + 2 * P, P));
  r("mremap file grow", (long)mremap(f, 2 * P, 5 * P, MREMAP_MAYMOVE));
  r("madvise unaligned", madvise(fp + 1, P, MADV_DONTNEED));
  r("madvise len 0", madvise(fp, 0, MADV_DONTNEED));
  r("madvise hole", madvise(fp, 64 * P, MADV_NORMAL));
  r("madvise cold", madvise(fp, 2 * P, MADV_COLD));
  r("madvise pageout", madvise(fp, 2 * P, MADV_PAGEOUT));
  r("madvise hugepage", madvise(fp, 2 * P, MADV_HUGEPAGE));
  r("madvise mergeable", madvise(fp, 2 * P, MADV_MERGEABLE));
  r("madvise bogus", madvise(fp, P, 1234));
  r("mprotect growsup", mprotect(fp, P, PROT_READ | PROT_GROWSUP));
  r("mprotect sem", mprotect(fp, P, PROT_READ | 0x8));
  r("mprotect bogus", mprotect(fp, P, 0x100));
  r("mmap len 0", (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  r("mmap huge", (long)mmap(NULL, 1UL << 50, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  r("mmap no type", (long)mmap(NULL, P, PROT_READ, MAP_ANONYMOUS, -1, 0));
  r("mmap 32bit", (long)mmap(NULL, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0));
  r("mmap hint low", (long)mmap((void *)0x1000, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  r("mmap hint taken", (long)mmap(fp, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  r("mmap hint free", (long)mmap((void *)0x200000000000UL, 3 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  r("mmap noreserve", (long)mmap(NULL, 64 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  r("mmap shared none", (long)mmap(NULL, 2 * P, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  r("mmap fixed unaligned", (long)mmap((void *)0x200000001000UL + 5, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  r("mmap bad fd", (long)mmap(NULL, P, PROT_READ, MAP_PRIVATE, 99, 0));
  char *a = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r("anon 16", (long)a);
  char *b = mmap(NULL, 4 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r("anon 4", (long)b);
  r("mremap fixed onto b", (long)mremap(a, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, b));
  r("mremap shrink maymove", (long)mremap(a + 4 * P, 4 * P, P, MREMAP_MAYMOVE));
  r("mremap grow in place blocked", (long)mremap(a + 8 * P, 4 * P, 8 * P, 0));
  r("mremap dontunmap shared", (long)mremap(f, P, P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
  r("mremap old 0 private", (long)mremap(a + 12 * P, 0, P, MREMAP_MAYMOVE));
  r("mremap bad flags", (long)mremap(a, P, P, 0x80));
  r("mlock2 onfault", mlock2(a + 12 * P, 2 * P, MLOCK_ONFAULT));
  r("munlock part", munlock(a + 13 * P, P));
  r("madvise dontfork", madvise(a + 14 * P, P, MADV_DONTFORK));
  r("madvise dofork", madvise(a + 14 * P, P, MADV_DOFORK));
  r("madvise wipeonfork file", madvise(fp, P, MADV_WIPEONFORK));
  r("madvise free file", madvise(fp, P, MADV_FREE));
  void *b0 = sbrk(0);
  r("brk below", (long)brk((char *)b0 - (1L << 30)));
  r("brk huge", (long)brk((char *)b0 + (1L << 46)));
  pid_t pid = fork();
  if (pid == 0) {
    r("child munmap all of a", munmap(a, 16 * P));
    r("child mprotect file", mprotect(f, P, PROT_READ));
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  unlink("/tmp/c_edges2.dat");
  return 0;
}
