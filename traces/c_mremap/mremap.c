/*
 * c_mremap: mremap as Linux 6.17 and later do it, one case after another, each printing its
 * result (recorded as traces/c_mremap with traces/record.sh on Linux 6.18; built with gcc -O1).
 * MREMAP_FIXED without a size change over several vmas and holes (each vma moves, the
 * destination's pages over a hole stay), with a hole at the old address (EFAULT), with
 * MREMAP_DONTUNMAP, from the middle of a vma; MREMAP_FIXED growing over two vmas (EFAULT, the
 * destination kept), shrinking over two vmas (the tail goes) and shrinking to a part that
 * still crosses (EFAULT); MREMAP_DONTUNMAP with lengths equal once page aligned; old_size 0 of a
 * private mapping (EINVAL, the destination kept) and of a shared one onto itself (EFAULT, its
 * first page gone); arguments refused before the old address is looked up (EINVAL, not
 * EFAULT).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#define P 4096
static void r(const char *w, long v) { printf("%s = %ld (%s)\n", w, v, v == -1 ? strerror(errno) : "ok"); }
static char *region(int pages) {
  char *p = mmap(NULL, pages * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(p, pages * P);
  return p;
}
static char *at(char *a, int pages, int prot, int flags) {
  char *p = mmap(a, pages * P, prot, flags | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p != MAP_FAILED && (prot & PROT_WRITE)) memset(p, 0x5a, pages * P);
  return p;
}
int main(void) {
  const int RW = PROT_READ | PROT_WRITE, PR = MAP_PRIVATE, SH = MAP_SHARED;
  const int MF = MREMAP_MAYMOVE | MREMAP_FIXED;
  char *s = region(64), *d = s + 32 * P;
  /* [A rw 2][hole][B r 2] moved onto D (5 pages, exec): D's middle page stays */
  at(s, 2, RW, PR); at(s + 3 * P, 2, PROT_READ, PR); at(d, 5, PROT_EXEC, PR);
  r("fixed same size over two vmas and a hole", (long)mremap(s, 5 * P, 5 * P, MF, d));
  /* hole at the old address */
  at(s + 9 * P, 2, RW, PR);
  r("fixed same size, hole at old address", (long)mremap(s + 8 * P, 3 * P, 3 * P, MF, d + 8 * P));
  /* growing over two vmas: EFAULT before the destination goes */
  at(s + 12 * P, 2, RW, PR); at(s + 14 * P, 2, PROT_READ, PR); at(d + 12 * P, 6, PROT_EXEC, PR);
  r("fixed grow over two vmas", (long)mremap(s + 12 * P, 4 * P, 6 * P, MF, d + 12 * P));
  /* shrinking to a part that still crosses: EFAULT, destination kept */
  r("fixed shrink, kept part crosses", (long)mremap(s + 12 * P, 4 * P, 3 * P, MF, d + 12 * P));
  /* shrinking over two vmas: the tail goes, the rest moves */
  r("fixed shrink over two vmas", (long)mremap(s + 12 * P, 4 * P, 1 * P, MF, d + 12 * P));
  /* MREMAP_FIXED | MREMAP_DONTUNMAP over two vmas: both move, both stay mapped */
  at(s + 20 * P, 2, RW, PR); at(s + 22 * P, 2, PROT_READ, PR);
  r("fixed dontunmap over two vmas", (long)mremap(s + 20 * P, 4 * P, 4 * P, MF | MREMAP_DONTUNMAP, d + 20 * P));
  /* from the middle of a vma over the next one */
  at(s + 26 * P, 3, RW, PR); at(s + 29 * P, 2, PROT_READ, PR);
  r("fixed from mid-vma over two", (long)mremap(s + 27 * P, 3 * P, 3 * P, MF, d + 26 * P));
  /* DONTUNMAP: lengths compared once page aligned */
  char *e = mmap(NULL, P, RW, PR | MAP_ANONYMOUS, -1, 0);
  r("dontunmap P to P-1", (long)mremap(e, P, P - 1, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, (void *)0));
  /* old_size 0: private refused first; shared onto itself loses its first page */
  char *f = region(8);
  at(f, 2, RW, PR); at(f + 4 * P, 2, PROT_READ, PR);
  r("old 0 private", (long)mremap(f, 0, P, MF, f + 4 * P));
  at(f, 2, RW, SH);
  r("old 0 shared onto itself", (long)mremap(f, 0, P, MF, f));
  /* arguments before the lookup */
  char *g = region(4);
  r("fixed unaligned new, nothing at old", (long)mremap(g, P, P, MF, g + 2 * P + 1));
  r("new_size beyond TASK_SIZE, nothing at old", (long)mremap(g, P, 1UL << 47, MREMAP_MAYMOVE));
  r("nothing at old", (long)mremap(g, P, 2 * P, MREMAP_MAYMOVE));
  return 0;
}
