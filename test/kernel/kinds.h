/*
 * The kinds of mapping the kernel recorders (matrix.c, guard.c) make, in the order and with
 * the names test/kernelKinds.ts gives them: four pages each, of the scratch file open
 * read-write (rw) and read-only (ro) for the file kinds.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static const long P = 4096;
static const char *kinds[] = {"anon",   "shanon", "filepriv",  "fileshared",  "filero",
                              "none",   "locked", "growsdown", "lockedshared"};
static int rw, ro;

/* A fresh mapping of kind k (exits on failure). */
static char *map_kind(int k) {
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
static int writable(int k) { return k != 4 && k != 5; }
