#!/usr/bin/env bash
# make bench-load: the end-to-end load run against real processes.
#
# Builds the pathlight binary, a bare fasthttp server that answers 204 (internal/server/benchbare)
# and the open-loop client (internal/bench/openloop); with BASE=<git revision> it also builds
# pathlight at that revision, to compare in the same run. Each server runs as its own process
# on 127.0.0.1. Then:
#   1. ROUNDS rounds; in each, every server in turn gets PHASE seconds of wrk (1 thread, CONNS
#      connections) sending POST /v1/hit bodies of 1,000 returning visitors
#      (internal/bench/wrk/hit.lua): req/s, p50/p99/p99.9/max, and the server's CPU per request
#      (user + system time of its process, from /proc), and the writes a Pathlight server slowed
#      because its write backlog passed half its bound or that waited at the bound; and for
#      each Pathlight server, from its /metrics, the collections and GC CPU of every round, the
#      heap, the next collection's goal and the resident memory (anonymous, file-backed) at
#      its end.
#   While one server is measured, the others are stopped (SIGSTOP), so that the flushes and
#   compactions another server still owes for its own load do not run beside it.
#   2. For every server, a constant-rate open-loop run (OPEN seconds) at one rate: half of the
#      slowest Pathlight build's req/s in step 1. p50/p99/p99.9/max from each request's
#      scheduled send time, and the p99 of the worst 100 ms window.
#   3. With perf available, a CPU profile of the Pathlight server under wrk load, summed into
#      parts by function (user space).
# The machine may be shared: read the ratios of servers measured in the same round.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
PHASE=${PHASE:-15}
OPEN=${OPEN:-15}
CONNS=${CONNS:-64}
PORT=${PORT:-18600}
BASE=${BASE:-}
PROFILE=${PROFILE:-1}
GO=${GO:-go}

root=$(git rev-parse --show-toplevel)
cd "$root"

. internal/bench/lib.sh
command -v wrk >/dev/null || install_debian wrk

echo "building…" >&2
$GO build -trimpath -o "$tmp/pathlight" ./cmd/pathlight
$GO build -trimpath -o "$tmp/bare" ./internal/server/benchbare
$GO build -trimpath -o "$tmp/openloop" ./internal/bench/openloop
names=(bare hit)
ports=("$PORT" "$((PORT + 1))")
if [ -n "$BASE" ]; then
	mkdir "$tmp/base-src"
	git archive "$BASE" | tar -x -C "$tmp/base-src"
	(cd "$tmp/base-src" && $GO build -trimpath -o "$tmp/pathlight-base" ./cmd/pathlight)
	names+=(base)
	ports+=("$((PORT + 2))")
fi

declare -A pid
start_pathlight() { # name binary port rules
	mkdir -p "$tmp/data-$1"
	"$2" serve --addr "127.0.0.1:$3" --data "$tmp/data-$1" --rules "$4" \
		--admin-token bench-admin-token-0123456789 --log-level warn \
		--rate-ip 1e9 --burst-ip 1000000000 --rate-visitor 1e9 --burst-visitor 1000000000 \
		--max-conns-per-ip 100000 >"$tmp/$1.log" 2>&1 &
	pid[$1]=$!
	pids+=($!)
}
"$tmp/bare" -addr "127.0.0.1:$PORT" >"$tmp/bare.log" 2>&1 &
pid[bare]=$!
pids+=($!)
start_pathlight hit "$tmp/pathlight" "$((PORT + 1))" "$root/rules"
# Each build runs with the example rules of its own revision.
if [ -n "$BASE" ]; then start_pathlight base "$tmp/pathlight-base" "$((PORT + 2))" "$tmp/base-src/rules"; fi
for i in "${!names[@]}"; do
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:${ports[$i]}/healthz" && break
		sleep 0.1
	done
	curl -s -o /dev/null "http://127.0.0.1:${ports[$i]}/healthz" || { echo "${names[$i]} did not start:"; cat "$tmp/${names[$i]}.log"; exit 1; } >&2
done

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

label() { case $1 in bare) echo "bare 204" ;; hit) echo "pathlight" ;; base) echo "base ${BASE:0:7}" ;; esac; }

# alone NAME: stops every other server (SIGSTOP) while NAME is measured, so that the
# flushes and compactions another Pathlight server still owes for its own load do not run
# beside this one's; together resumes them. Each server pays for its own background work,
# in its own rounds, as it would on a machine of its own.
alone() { for s in "${!pid[@]}"; do [ "$s" = "$1" ] || kill -STOP "${pid[$s]}"; done; }
together() { for s in "${!pid[@]}"; do kill -CONT "${pid[$s]}"; done; }

# mem NAME PORT: the server's GC count, GC CPU seconds, heap in use, next GC goal and resident
# memory (anonymous, file-backed) from its /metrics, on one line.
mem() {
	curl -s "http://127.0.0.1:$2/metrics" | awk '
		$1 == "go_gc_duration_seconds_count" { gc = $2 }
		$1 == "go_gc_cpu_seconds_total" { gccpu = $2 }
		$1 == "go_memstats_heap_inuse_bytes" { heap = $2 }
		$1 == "go_memstats_next_gc_bytes" { goal = $2 }
		$1 == "process_resident_memory_anon_bytes" { anon = $2 }
		$1 == "process_resident_memory_file_bytes" { file = $2 }
		END { printf "%d %.3f %.0f %.0f %.0f %.0f\n", gc, gccpu, heap, goal, anon, file }'
}
# slowed PORT: the writes the server has slowed so far because its write backlog passed half
# its bound, and those that found it at its bound and waited (0 0 for a build without the
# metrics, or the bare server).
slowed() {
	curl -s "http://127.0.0.1:$1/metrics" | awk '
		$1 == "pathlight_store_slowed_writes_total" { n = $2 }
		$1 == "pathlight_store_backlog_waits_total" { w = $2 }
		END { printf "%d %d\n", n, w }'
}
# slowlabel BEFORE AFTER: "  slowed N  waited M" for what changed between two slowed lines.
slowlabel() {
	echo "$1 $2" | awk '{ s = $3 - $1; w = $4 - $2; if (s > 0) printf "  slowed %d", s; if (w > 0) printf "  waited %d", w }'
}
memres="$tmp/memory"
results="$tmp/results"
echo "load average before the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "closed loop: wrk, 1 thread, $CONNS connections, $ROUNDS rounds of ${PHASE}s per server, alternating"
printf '%-5s %-16s %9s %8s %8s %8s %8s %11s %s\n' round server "req/s" "p50 ms" "p99 ms" "p99.9 ms" "max ms" "CPU µs/req" "errors"
for round in $(seq "$ROUNDS"); do
	for i in "${!names[@]}"; do
		n=${names[$i]}
		[ "$n" = bare ] || m0=$(mem "$n" "${ports[$i]}")
		s0=$(slowed "${ports[$i]}")
		c0=$(cpu_ticks "${pid[$n]}")
		alone "$n"
		line=$(RUN="w$round$n" SEED=$round wrk -t1 -c"$CONNS" -d"${PHASE}s" --timeout 5s \
			-s internal/bench/wrk/hit.lua "http://127.0.0.1:${ports[$i]}/" | grep '^BENCH')
		together
		c1=$(cpu_ticks "${pid[$n]}")
		sl=$(slowlabel "$s0" "$(slowed "${ports[$i]}")")
		eval "$(echo "$line" | sed 's/^BENCH //; s/ /;/g')"
		echo "$round $n $requests $seconds $p50 $p99 $p999 $max $((c1 - c0)) $non2xx $errors" >>"$results"
		[ "$n" = bare ] || echo "$round $n $m0 $(mem "$n" "${ports[$i]}")" >>"$memres"
		awk -v r="$round" -v l="$(label "$n")" -v q="$requests" -v s="$seconds" -v a="$p50" -v b="$p99" \
			-v c="$p999" -v m="$max" -v t="$((c1 - c0))" -v tck="$tck" -v e="$non2xx/$errors" -v sl="$sl" \
			'BEGIN { printf "%-5s %-16s %9.0f %8.2f %8.2f %8.2f %8.1f %11.1f %s%s\n", r, l, q/s, a/1000, b/1000, c/1000, m/1000, t/tck*1e6/q, e, sl }'
	done
done

echo
echo "summary (ranges over the rounds; the ratio is taken within each round)"
awk -v base="$BASE" '
	{ rps[$2, $1] = $3 / $4; n[$2]++; rounds[$1] = 1
	  if (!($2 in lo) || $3/$4 < lo[$2]) lo[$2] = $3/$4
	  if (!($2 in hi) || $3/$4 > hi[$2]) hi[$2] = $3/$4
	  sum[$2] += $3 / $4 }
	END {
		for (s in n) printf "  %-9s req/s %6.0f–%6.0f (mean %.0f)\n", s, lo[s], hi[s], sum[s]/n[s]
		for (s in n) {
			if (s == "bare") continue
			rl = 9; rh = 0
			for (r in rounds) { x = rps[s, r] / rps["bare", r]; if (x < rl) rl = x; if (x > rh) rh = x }
			printf "  ratio %s/bare %.2f–%.2f\n", s, rl, rh
		}
	}' "$results"

echo
echo "memory of the Pathlight servers in each round (their /metrics): collections and GC CPU in the round;"
echo "at its end, heap in use, the next collection's goal, resident memory (anonymous / file-backed: Badger's mapped tables)"
printf '%-5s %-16s %6s %8s %9s %11s %10s %10s\n' round server GCs "GC CPU s" "heap MiB" "GC goal MiB" "RSS anon" "RSS file"
while read -r r n g0 gc0 _ _ _ _ g1 gc1 heap next anon file; do
	awk -v r="$r" -v l="$(label "$n")" -v g=$((g1 - g0)) -v c0="$gc0" -v c1="$gc1" -v h="$heap" -v x="$next" -v a="$anon" -v f="$file" \
		'BEGIN { printf "%-5s %-16s %6d %8.2f %9.0f %11.0f %10.0f %10.0f\n", r, l, g, c1 - c0, h/1048576, x/1048576, a/1048576, f/1048576 }'
done <"$memres"

echo
# One rate for every server: half of the slowest Pathlight build's mean req/s, so that the
# builds (and the bare server, the machine's own floor) are compared under the same load.
rate=$(awk '$2 != "bare" { r[$2] += $3 / $4; k[$2]++ } END { m = 0; for (s in r) { x = r[s] / k[s]; if (m == 0 || x < m) m = x } printf "%.0f", m / 2 }' "$results")
echo "open loop: every server at one constant rate, half of the slowest Pathlight build's mean req/s above,"
echo "${OPEN}s, latency from the scheduled send time"
printf '%-16s %7s %9s %8s %8s %8s %8s %14s %11s\n' server rate requests "p50 ms" "p99 ms" "p99.9 ms" "max ms" "worst 100ms p99" "CPU µs/req"
for n in "${names[@]}"; do
	i=0
	[ "$n" = hit ] && i=1
	[ "$n" = base ] && i=2
	s0=$(slowed "${ports[$i]}")
	c0=$(cpu_ticks "${pid[$n]}")
	alone "$n"
	line=$("$tmp/openloop" -addr "127.0.0.1:${ports[$i]}" -rate "$rate" -d "${OPEN}s" -run "o$n" | grep '^OPENLOOP')
	together
	c1=$(cpu_ticks "${pid[$n]}")
	sl=$(slowlabel "$s0" "$(slowed "${ports[$i]}")")
	eval "$(echo "$line" | sed 's/^OPENLOOP //; s/ /;/g')"
	awk -v l="$(label "$n")" -v rate="$rate" -v q="$requests" -v f="$failed" -v a="$p50" -v b="$p99" -v c="$p999" \
		-v m="$max" -v w="$worst100ms_p99" -v t="$((c1 - c0))" -v tck="$tck" -v sl="$sl" \
		'BEGIN { printf "%-16s %7d %9d %8.2f %8.2f %8.2f %8.1f %14.2f %11.1f%s%s\n", l, rate, q, a/1000, b/1000, c/1000, m/1000, w/1000, t/tck*1e6/q, (f > 0 ? "  failed " f : ""), sl }'
done

echo "load average after the open loop: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
	echo
	echo "where the Pathlight server's CPU goes under wrk load (perf, user space, self time by function)"
	for n in "${names[@]}"; do
		[ "$n" = bare ] && continue
		i=1
		[ "$n" = base ] && i=2
		alone "$n"
		RUN="p$n" SEED=9 wrk -t1 -c"$CONNS" -d"${PHASE}s" --timeout 5s -s internal/bench/wrk/hit.lua \
			"http://127.0.0.1:${ports[$i]}/" >"$tmp/perf-wrk-$n" &
		wrkpid=$!
		sleep 2
		c0=$(cpu_ticks "${pid[$n]}")
		if ! perf record -q -F 999 -e cpu-clock -p "${pid[$n]}" -o "$tmp/perf-$n.data" -- sleep $((PHASE - 4)) 2>"$tmp/perf-$n.err"; then
			echo "  perf record failed: $(head -c 300 "$tmp/perf-$n.err")"
			wait "$wrkpid" || true
			together
			continue
		fi
		c1=$(cpu_ticks "${pid[$n]}")
		wait "$wrkpid" || true
		together
		reqs=$(grep '^BENCH' "$tmp/perf-wrk-$n" | sed 's/.*requests=\([0-9]*\).*/\1/')
		secs=$(grep '^BENCH' "$tmp/perf-wrk-$n" | sed 's/.*seconds=\([0-9.]*\).*/\1/')
		prof=$(awk -v t="$((c1 - c0))" -v tck="$tck" -v q="$reqs" -v s="$secs" -v p="$((PHASE - 4))" \
			'BEGIN { printf "%.1f", t/tck*1e6 / (q/s*p) }')
		# The parts are shares of the CPU per request measured in the rounds, without perf.
		us_per=$(awk -v s="$n" -v tck="$tck" '$2 == s { t += $9; q += $3 } END { printf "%.1f", t/tck*1e6/q }' "$results")
		echo "  $(label "$n"): $us_per µs of CPU per request in the rounds ($prof µs while perf sampled)"
		perf report -i "$tmp/perf-$n.data" --no-children --sort sym --stdio 2>/dev/null |
			awk -v total="$us_per" -f internal/bench/parts.awk
	done
fi
