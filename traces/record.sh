#!/usr/bin/env bash
# Records a trace folder that `vmspace replay` reads: traces/record.sh OUT_DIR COMMAND [ARGS...]
#
# Runs `env COMMAND ARGS...` under strace (-f -tt -e trace=memory,process) with every execve
# held for DELAY_US microseconds after it returns and every exit_group held on entry, and
# meanwhile saves /proc/PID/maps at those moments:
#   OUT_DIR/strace.log                the raw log
#   OUT_DIR/maps/<pid>.exec<k>.maps   right after the k-th successful execve of <pid>
#   OUT_DIR/maps/<pid>.final.maps     on entry to exit_group
# The command is started through env, whose own exec is the run's first execve: strace's
# injection does not hold that one, so it has no snapshot and env's space is not replayed.
# Linux only; needs strace with syscall injection (4.16 or later) and a readable /proc.
# Set PATH for the command in ARGS (`env PATH=/usr/bin node ...`): every directory env tries
# before the right one is a failed execve in the log, each held too.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 OUT_DIR COMMAND [ARGS...]" >&2
  exit 2
fi
out=$1
shift
delay=${DELAY_US:-300000}
command -v strace >/dev/null || { echo "$0: strace is not installed" >&2; exit 1; }
mkdir -p "$out/maps"
log="$out/strace.log"
: >"$log"
done_flag="$out/.recording-done"
rm -f "$done_flag"

(
  status=0
  strace -f -tt -e trace=memory,process \
    -e "inject=execve:delay_exit=$delay" -e "inject=exit_group:delay_enter=$delay" \
    -o "$log" env "$@" || status=$?
  echo "$status" >"$done_flag"
) &

declare -A execs=()
seen=0
scan() {
  local n=0 line pid k
  while IFS= read -r line; do
    n=$((n + 1))
    ((n <= seen)) && continue
    seen=$n
    pid=${line%% *}
    if [[ $line == *"execve("*"= 0 (DELAYED)"* || $line == *"execve resumed>"*"= 0 (DELAYED)"* ]]; then
      k=${execs[$pid]:-0}
      cp "/proc/$pid/maps" "$out/maps/$pid.exec$k.maps" 2>/dev/null || true
      execs[$pid]=$((k + 1))
    elif [[ $line == *" exit_group("* ]]; then
      cp "/proc/$pid/maps" "$out/maps/$pid.final.maps" 2>/dev/null || true
    fi
  done < <(grep -E 'execve.*= 0 \(DELAYED\)|execve resumed>.*= 0 \(DELAYED\)| exit_group\(' "$log" || true)
}
while [[ ! -f $done_flag ]]; do
  scan
  sleep 0.02
done
scan
chmod -R u+w "$out/maps" # copies of /proc files are read-only
status=$(cat "$done_flag")
rm -f "$done_flag"
echo "recorded $(wc -l <"$log") lines and $(ls "$out/maps" | wc -l) snapshots in $out (exit status $status)" >&2
exit "$status"
