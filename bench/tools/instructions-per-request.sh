#!/bin/sh
# Instructions executed per request by the benchmark app's server, counted by valgrind's callgrind: unlike
# throughput on a shared 2-core machine (a few % of noise), the count repeats within ~0.5% run to run, so a
# change of 1% in the tracer's hot path shows. Counts are not seconds (cache misses and GC threads differ);
# use them to compare two builds, and the benchmark for the figures.
#
#   bench/tools/instructions-per-request.sh /hello 4000                      # untraced
#   bench/tools/instructions-per-request.sh /hello 4000 -r ./dist/hooks/register.js
#
# Needs valgrind, PostgreSQL for /users/:id (as the benchmark), and bench/'s dependencies (autocannon).
# V8 runs --single-threaded (no concurrent compiler or GC threads) so that the count is repeatable. The server
# exports to the benchmark's sink (bench/lib/sink.cjs), which with AGENT_LIKE=1 answers as a loaded Datadog Agent
# (about 10 traces/s kept, the rest dropped by the tracer); 3000 warm-up requests come first. CG_OUT=FILE keeps
# callgrind's output there (for callgrind_annotate).
set -eu
route=${1:?route, e.g. /hello}; n=${2:?number of measured requests}; shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $sink 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$root"
node bench/lib/sink.cjs $([ "${AGENT_LIKE:-0}" = 1 ] && echo --agent-like) >"$work/sink" 2>&1 &
sink=$!
i=0
until grep -q '^sink ' "$work/sink" 2>/dev/null; do i=$((i + 1)); [ $i -gt 40 ] && { echo "the sink did not start" >&2; exit 1; }; sleep 0.25; done
agent=http://127.0.0.1:$(sed -n 's/^sink \([0-9]*\).*/\1/p' "$work/sink")
DD_SERVICE=bench-web DD_TRACE_AGENT_URL=$agent PGHOST=127.0.0.1 PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-test} \
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/out" \
  node --single-threaded "$@" bench/apps/web.cjs >"$work/server" 2>"$work/stderr" &
vg=$!
i=0
until grep -q listening "$work/server" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 240 ] && { echo "the server did not start:" >&2; cat "$work/stderr" >&2; exit 1; }
  sleep 0.5
done
port=$(sed -n 's/^listening \([0-9]*\).*/\1/p' "$work/server")
cannon="$root/bench/node_modules/autocannon/autocannon.js"
node "$cannon" -c 4 -a 3000 "http://127.0.0.1:$port$route" >/dev/null 2>&1
callgrind_control -i on $vg >/dev/null 2>&1
node "$cannon" -c 4 -a "$n" "http://127.0.0.1:$port$route" >/dev/null 2>&1
sleep 2.5 # the tracer's next flush falls inside the window
callgrind_control -i off $vg >/dev/null 2>&1
kill -TERM $vg; wait $vg || true
[ -n "${CG_OUT:-}" ] && cp "$work/out" "$CG_OUT"
total=$(sed -n 's/^totals: \([0-9]*\).*/\1/p' "$work/out")
echo "$route: $((total / n)) instructions per request ($n requests)"
