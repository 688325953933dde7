#!/bin/sh
# For researchers: replay a real program's memory system calls and compare with the kernel.
#
# traces/py_alloc is CPython 3.11 on Linux 6.18, recorded with
#   strace -f -tt -e trace=memory,process -o strace.log python3 ...
# plus /proc/PID/maps snapshots taken after each execve and at exit (traces/README.md).
# vmspace rebuilds the address space from the log, lets Linux's top-down placement choose
# every address the program did not fix (--predict), and compares the final map with the
# kernel's own, page by page (--check); `vmspace replay` exits 1 on any mismatch.
#
# Run: sh examples/replay.sh
#
# Output:
#   replay traces/py_alloc/strace.log: 377 operations (347 applied, 29 in spaces without an exec snapshot), 0 other system calls, 0 unreadable lines
#   == as2 pid 5064 /opt/python3.11/bin/python3: 345 calls, 111 entries, 11311 pages mapped
#   system: 0 shadow objects created, 0 faults, 1 TLB invalidations, 0 frames in use at the end
#   placement: 119 of 119 kernel addresses reproduced
#   check as2 pid 5064 /opt/python3.11/bin/python3: match (11311 pages)
set -e
cd "$(dirname "$0")/.."

# Where vmspace is installed, the command is `npx vmspace`; in this repository it runs from
# the sources.
vmspace() { npx tsx cli/main.ts "$@"; }

# The final maps (one /proc/PID/maps line per entry) and blank lines are left out here.
vmspace replay traces/py_alloc --predict --check | grep -Ev '^([0-9a-f]+-[0-9a-f]+ |$)'
