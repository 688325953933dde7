/*
 * What the kernel recorders (matrix.c, guard.c, droppable.c) share, as test/kernelKinds.ts
 * shares it on the TypeScript side: the kinds of mapping, in the order and with the names the
 * tests give them (four pages each, of the scratch file open read-write (rw) and read-only
 * (ro) for the file kinds), a call's errno line, and page reads from forked children.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNUSED __attribute__((unused))

static const long P = 4096;
UNUSED static const char *kinds[] = {"anon",   "shanon", "filepriv",  "fileshared",  "filero",
                              "none",   "locked", "growsdown", "lockedshared"};
UNUSED static int rw, ro;

/* A fresh mapping of kind k (exits on failure). */
UNUSED static char *map_kind(int k) {
  const int RW = PROT_READ | PROT_WRITE, A = MAP_PRIVATE | MAP_ANONYMOUS;
  char *a = MAP_FAILED;
  switch (k) {
    case 0: a = mmap(0, 4 * P, RW, A, -1, 0); break;
    case 1: a = mmap(0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0); break;
    case 2: a = mmap(0, 4 * P, RW, MAP_PRIVATE, rw, 0); break;
    case 3: a = mmap(0, 4 * P, RW, MAP_SHARED, rw, 0); break;
    case 4: a = mmap(0, 4 * P, PROT_READ, MAP_SHARED, ro, 0); break;
    case 5: a = mmap(0, 4 * P, PROT_NONE, A, -1, 0); break;
    case 6: a = mmap(0, 4 * P, RW, A | MAP_LOCKED, -1, 0); break;
    case 7: a = mmap(0, 4 * P, RW, A | MAP_GROWSDOWN, -1, 0); break;
    case 8: a = mmap(0, 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_LOCKED, -1, 0); break;
  }
  if (a == MAP_FAILED) { perror("mmap"); _exit(1); }
  return a;
}

/* Whether kind k may be written (not the read-only file, not PROT_NONE). */
UNUSED static int writable(int k) { return k != 4 && k != 5; }

/* "<what> <errno, 0 for success>". */
UNUSED static void rc(const char *what, int r) { printf("%s %d\n", what, r ? errno : 0); }

/* Each of the n pages at a read by a forked child: " <byte>", or " S" / " B" (SIGSEGV /
 * SIGBUS), so that a read also shows what fork passes on. */
UNUSED static void page_reads(char *a, int n) {
  for (int i = 0; i < n; i++) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { volatile char v = a[i * P]; _exit(v); }
    int st;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st)) printf(" %s", WTERMSIG(st) == SIGSEGV ? "S" : "B");
    else printf(" %d", WEXITSTATUS(st));
  }
}
