#!/usr/bin/env bash
# Counts the shim's native calls (exported eqx_* functions of libequinox_native.so) per C# training step of the
# `step` benchmark, without changing the library: a Linux uprobe on every eqx_* function, counted by `perf stat` around
# a child that runs N steps (`Equinox.Benchmarks step-calls <impl> <model> <N>`), for two N; the difference divided by
# the difference in steps leaves out setup, the first compile and exit. ltrace cannot do this: it aborts on .NET.
#
#   benchmarks/count-step-calls.sh [impl,...] [model,...] [optimizer]     (defaults: cs-jit,cs  small,wide  sgd)
#
# Needs root, perf (apt-get install linux-perf) and tracefs (mounted here if it is not, and unmounted again). The
# probes are added to this checkout's copy of the shim only and removed on exit. Prints `EQX_CALLS <impl> <model> <n>`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/benchmarks/Equinox.Benchmarks/bin/Release/net10.0"
lib=$(readlink -f "$bin/libequinox_native.so")
impls=${1:-cs-jit,cs}
models=${2:-small,wide}
optimizer=${3:-sgd}
few=10 many=40

mounted=""
if [ ! -e /sys/kernel/tracing/uprobe_events ]; then mount -t tracefs nodev /sys/kernel/tracing; mounted=1; fi
tmp=$(mktemp -d)
cleanup() {
  rm -rf "$tmp"
  perf probe -q -d 'probe_libequinox_native:*' >/dev/null 2>&1 || true
  # perf may mount tracefs again on top of ours; take every layer off.
  if [ -n "$mounted" ]; then while mountpoint -q /sys/kernel/tracing && umount /sys/kernel/tracing; do :; done; fi
}
trap cleanup EXIT

# One probe at a time: perf refuses the whole list if one name is not a valid event name (those ending in "_", the
# in-place ops, get an event name of their own).
for f in $(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^eqx_/ { print $3 }'); do
  event=${f%_}; [ "$event" = "$f" ] || event="${event}_inplace"
  perf probe -q -x "$lib" --add "$event=$f" >/dev/null 2>&1 || echo "no probe on $f" >&2
done

count() { # impl model steps -> "<function> <calls>" lines
  perf stat -x, -e 'probe_libequinox_native:*' -o /dev/stdout -- "$bin/Equinox.Benchmarks" step-calls "$1" "$2" "$3" "$optimizer" \
    | awk -F, '$1 ~ /^[0-9]+$/ { sub(/^probe_libequinox_native:/, "", $3); print $3, $1 }'
}
# EQX_CALLS <impl> <model> <calls per step>, then EQX_CALLS_BY <impl> <model> <function>=<calls per step> ...
for impl in ${impls//,/ }; do
  for model in ${models//,/ }; do
    count "$impl" "$model" $few >"$tmp/few"
    count "$impl" "$model" $many >"$tmp/many"
    awk -v impl="$impl" -v model="$model" -v n=$((many - few)) '
      FNR == NR { a[$1] = $2; next }
      { d = ($2 - a[$1]) / n; if (d != 0) { by = by sprintf(" %s=%g", $1, d); total += d } }
      END { printf "EQX_CALLS %s %s %.1f\nEQX_CALLS_BY %s %s%s\n", impl, model, total, impl, model, by }' "$tmp/few" "$tmp/many"
  done
done
