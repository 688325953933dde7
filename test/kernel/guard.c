/*
 * Records what this machine's Linux does with guard pages (MADV_GUARD_INSTALL, 102, and
 * MADV_GUARD_REMOVE, 103; Linux 6.13+) for test/kernel.guard.test.ts, which makes the same
 * calls on vmspace and must print the same lines. Build and run:
 *   cc -O0 -o guard guard.c && ./guard FILE > test/golden/kernel/guard.linux.txt
 * FILE: a scratch file of at least 32 KiB; it is zeroed first.
 * A read prints the byte read, S (SIGSEGV) or B (SIGBUS), each from a forked child (so every
 * read also shows what fork passes on); "core" is mincore's bit 0 per page, printed where it
 * shows what an install discards: only right after one. (Later, the children's reads of
 * never-written private pages would count: vmspace, as FreeBSD, puts the zero-filled page a
 * child reads into the object it shares with the parent, where Linux maps the zero page in the
 * child alone.) The whole file stays mapped from the start, so that its pages stay cached in
 * vmspace as they do in Linux's page cache after the mappings that read them are gone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kinds.h"

#define INSTALL 102
#define REMOVE 103

/* A fresh mapping of kind k, its pages 10, 11, 12, 13 where it may be written. */
static char *make(int k) {
  char *a = map_kind(k);
  if (writable(k))
    for (int i = 0; i < 4; i++) a[i * P] = 10 + i;
  return a;
}

static char *anon(int n) {
  char *a = mmap(0, n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) { perror("mmap"); _exit(1); }
  for (int i = 0; i < n; i++) a[i * P] = 10 + i;
  return a;
}

/* The first n pages of a, each read in a forked child; with core, mincore of the n pages. */
static void reads(const char *what, char *a, int n, int core) {
  printf("%s", what);
  page_reads(a, n);
  if (core) {
    unsigned char v[8];
    mincore(a, n * P, v);
    printf(" core ");
    for (int i = 0; i < n; i++) printf("%d", v[i] & 1);
  }
  printf("\n");
}

static void on_segv(int sig, siginfo_t *si, void *u) {
  (void)sig; (void)u;
  _exit(si->si_code);
}

/* si_code of the SIGSEGV a read of p raises, in a child. */
static int sigcode(char *p) {
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    volatile char v = *p;
    (void)v;
    _exit(100);
  }
  int st;
  waitpid(c, &st, 0);
  return WEXITSTATUS(st);
}

/* In one child: madvise(MADV_WILLNEED) of the n pages at a when willneed, then a read of each
 * page in turn; prints the pages read before the signal, and the signal (or "ok"). */
static void sweep(const char *what, char *a, int n, int willneed) {
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    if (willneed) madvise(a, n * P, MADV_WILLNEED);
    for (int i = 0; i < n; i++) {
      printf(" %d", a[i * P]);
      fflush(stdout);
    }
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf(" %s (%s)\n", WIFSIGNALED(st) ? (WTERMSIG(st) == SIGSEGV ? "S" : "B") : "ok", what);
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
  rw = open(argv[1], O_RDWR);
  ro = open(argv[1], O_RDONLY);
  if (rw < 0 || ro < 0 || ftruncate(rw, 0) != 0 || ftruncate(rw, 8 * P) != 0) {
    perror(argv[1]);
    return 1;
  }
  char *keep = mmap(0, 8 * P, PROT_READ, MAP_SHARED, ro, 0);
  if (keep == MAP_FAILED) { perror("mmap"); return 1; }
  char w[64];
  for (int k = 0; k < 9; k++) {
    char *a = make(k);
#define LINE(s) (snprintf(w, sizeof w, "%s %s", kinds[k], s), w)
    rc(LINE("install"), madvise(a + P, 2 * P, INSTALL));
    reads(LINE("read"), a, 4, 1);
    rc(LINE("dontneed"), madvise(a, 4 * P, MADV_DONTNEED));
    reads(LINE("read"), a, 4, 0);
    rc(LINE("mprotect"), mprotect(a, 4 * P, PROT_READ));
    reads(LINE("read"), a, 4, 0);
    rc(LINE("populate_read"), madvise(a, 4 * P, MADV_POPULATE_READ));
    rc(LINE("mlock"), mlock(a, 4 * P));
    munlock(a, 4 * P);
    rc(LINE("remove"), madvise(a + P, P, REMOVE));
    reads(LINE("read"), a, 4, 0);
    munmap(a, 4 * P);
  }
  char *a = anon(4);
  madvise(a + P, P, INSTALL);
  pid_t c = fork();
  if (c == 0) { a[P] = 5; _exit(0); }
  int st;
  waitpid(c, &st, 0);
  printf("write %s\n", WIFSIGNALED(st) ? "S" : "ok");
  printf("sigcode guard %d\n", sigcode(a + P));
  char *n = mmap(0, P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("sigcode none %d\n", sigcode(n));
  munmap(n, P);
  char *x = anon(4);
  madvise(x, 4 * P, MADV_WIPEONFORK);
  madvise(x + P, P, INSTALL);
  reads("wipeonfork read", x, 4, 0);
  rc("free", madvise(a, 4 * P, MADV_FREE));
  reads("free read", a, 4, 0);
  char *b = anon(4);
  madvise(b + 2 * P, P, INSTALL);
  char *dst = mmap(0, 8 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *d = mremap(b, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 2 * P);
  if (d == MAP_FAILED) printf("moved fail %d\n", errno);
  else reads("moved read", d, 4, 0);
  char *e = anon(4);
  madvise(e + P, 2 * P, INSTALL);
  munmap(e + P, P);
  mmap(e + P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  reads("remapped read", e, 4, 0);
  char *f = anon(4);
  madvise(f + P, 2 * P, INSTALL);
  mmap(f + P, P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  reads("fixed-over read", f, 4, 0);
  char *g = anon(4);
  munmap(g + 2 * P, P);
  rc("hole", madvise(g, 4 * P, INSTALL));
  reads("hole read", g, 2, 0);
  rc("hole remove", madvise(g, 4 * P, REMOVE));
  rc("unaligned", madvise(a + 1, P, INSTALL));
  rc("zero", madvise(a, 0, INSTALL));
  rc("twice", madvise(a + P, P, INSTALL));
  rc("remove-none", madvise(a, P, REMOVE));
  rc("mprotect-none", mprotect(a, 4 * P, PROT_NONE));
  rc("mprotect-back", mprotect(a, 4 * P, PROT_READ | PROT_WRITE));
  reads("mprotect read", a, 4, 0);
  rc("populate_write", madvise(a, 4 * P, MADV_POPULATE_WRITE));
  rc("willneed", madvise(a, 4 * P, MADV_WILLNEED));
  char *h = anon(4);
  madvise(h + P, P, INSTALL);
  rc("mlock", mlock(h, 4 * P));
  rc("mlock dontneed", madvise(h, 4 * P, MADV_DONTNEED));
  rc("mlock install", madvise(h + 2 * P, P, INSTALL));
  rc("mlock remove", madvise(h + P, P, REMOVE));
  reads("mlock read", h, 4, 0);
  char *q = anon(2);
  madvise(q + P, P, INSTALL);
  char *q2 = mremap(q, 2 * P, 4 * P, MREMAP_MAYMOVE);
  reads("grown read", q2, 4, 0);
  char *s = mmap(0, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 4; i++) s[i * P] = 10 + i;
  madvise(s + P, P, INSTALL);
  reads("shared read", s, 4, 1);
  /* A shared file mapping whose pages are all cached: neither the prefault of a fault's
   * neighbours nor MADV_WILLNEED may map a guard page. */
  char *fs = mmap(0, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
  for (int i = 0; i < 4; i++) fs[i * P] = 20 + i;
  madvise(fs + 2 * P, P, INSTALL);
  printf("sweep");
  sweep("fault by fault", fs, 4, 0);
  printf("sweep");
  sweep("after willneed", fs, 4, 1);
  char *t = anon(4);
  madvise(t + P, P, INSTALL);
  char *t2 = mremap(t, 4 * P, P, 0);
  reads("shrunk read", t2, 1, 0);
  char *t3 = mremap(t2, P, 4 * P, 0);
  if (t3 == MAP_FAILED) printf("regrown fail %d\n", errno);
  else reads("regrown read", t3, 4, 0);
  /* MADV_REMOVE of shared memory keeps the marker. */
  char *r = mmap(0, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 4; i++) r[i * P] = 10 + i;
  madvise(r + P, P, INSTALL);
  rc("madv_remove", madvise(r, 4 * P, MADV_REMOVE));
  reads("madv_remove read", r, 4, 0);
  /* msync, MADV_PAGEOUT and MADV_COLD keep it. */
  char *k = anon(4);
  madvise(k + P, P, INSTALL);
  rc("msync", msync(k, 4 * P, MS_SYNC));
  rc("pageout", madvise(k, 4 * P, MADV_PAGEOUT));
  rc("cold", madvise(k, 4 * P, MADV_COLD));
  reads("pageout read", k, 4, 0);
  /* MREMAP_DONTUNMAP: the marker goes with the pages; the old range has none. */
  char *u = anon(4);
  madvise(u + P, P, INSTALL);
  char *v = mremap(u, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
  if (v == MAP_FAILED) printf("dontunmap fail %d\n", errno);
  else {
    reads("dontunmap old read", u, 4, 0);
    reads("dontunmap new read", v, 4, 0);
  }
  /* The break: a guard in the heap, gone once the heap shrinks past it and grows again. */
  char *heap = sbrk(0);
  if (sbrk(4 * P) == (void *)-1) { perror("sbrk"); return 1; }
  heap[0] = 1;
  rc("brk install", madvise(heap + P, P, INSTALL));
  reads("brk read", heap, 2, 0);
  sbrk(-3 * P);
  sbrk(3 * P);
  reads("brk regrown read", heap, 2, 0);
  /* mlockall: the guard stays (MCL_CURRENT populates around it) and installs are refused. */
  rc("mlockall", mlockall(MCL_CURRENT));
  rc("mlockall install", madvise(k + 2 * P, P, INSTALL));
  reads("mlockall read", k, 4, 0);
  munlockall();
  return 0;
}
