#!/usr/bin/env bash
# make bench-cluster: cluster mode against the embedded mode, in the same run.
#
# Builds the pathlight binary and starts, as processes on 127.0.0.1: one nats-server with
# JetStream (Debian's package), one Pathlight server without --cluster ("embedded") and one
# node in cluster mode on that NATS server (--cluster-replicas 1, "cluster"). Then:
#   1. ROUNDS rounds; in each, both servers in turn get PHASE seconds of wrk (1 thread, CONNS
#      connections, the hit bodies of internal/bench/wrk/hit.lua, as make bench-load sends):
#      req/s, p50/p99/p99.9/max, the server's CPU per request and, for the cluster, the NATS
#      server's too; during the cluster's phases, the stream lag of /metrics
#      (pathlight_cluster_stream_lag_messages) sampled every half second.
#   2. The stream's size per acknowledged hit (from the NATS server's /jsz).
#   3. A second node with an empty data directory joins: the time it takes to replay the
#      whole stream, and its replay rate (messages applied per second, from /metrics).
#   4. The first node is killed (SIGKILL): the time until the second node serves every shard,
#      and its pathlight_cluster_takeover_seconds (lease acquired → caught up).
# The machine may be shared: read the ratio of the two servers measured in the same round.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
PHASE=${PHASE:-15}
CONNS=${CONNS:-64}
PORT=${PORT:-18700}
LEASE=${LEASE:-5s}
GO=${GO:-go}
NATS=${NATS:-$(command -v nats-server || echo /usr/sbin/nats-server)}

root=$(git rev-parse --show-toplevel)
cd "$root"

. internal/bench/lib.sh
command -v wrk >/dev/null || install_debian wrk
if [ ! -x "$NATS" ]; then
	install_debian nats-server
	NATS=/usr/sbin/nats-server
fi

echo "building…" >&2
$GO build -trimpath -o "$tmp/pathlight" ./cmd/pathlight

nats_port=$((PORT + 10))
nats_mon=$((PORT + 11))
cat >"$tmp/nats.conf" <<EOF
server_name: bench
host: 127.0.0.1
port: $nats_port
http: "127.0.0.1:$nats_mon"
jetstream { store_dir: "$tmp/nats-store" }
EOF
"$NATS" -c "$tmp/nats.conf" >"$tmp/nats.log" 2>&1 &
nats_pid=$!
pids+=($!)
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$nats_mon/healthz" && break
	sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$nats_mon/healthz" || { echo "nats-server did not start:"; cat "$tmp/nats.log"; exit 1; } >&2

declare -A pid
start_pathlight() { # name port [flags…]
	local name=$1 port=$2
	shift 2
	mkdir -p "$tmp/data-$name"
	"$tmp/pathlight" serve --addr "127.0.0.1:$port" --data "$tmp/data-$name" --rules "$root/rules" \
		--admin-token bench-admin-token-0123456789 --log-level warn \
		--rate-ip 1e9 --burst-ip 1000000000 --rate-visitor 1e9 --burst-visitor 1000000000 \
		--max-conns-per-ip 100000 "$@" >"$tmp/$name.log" 2>&1 &
	pid[$name]=$!
	pids+=($!)
	for _ in $(seq 300); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		sleep 0.1
	done
	echo "$name did not start:" >&2
	cat "$tmp/$name.log" >&2
	exit 1
}
cluster_flags=(--cluster "nats://127.0.0.1:$nats_port" --cluster-replicas 1 --cluster-lease "$LEASE")
names=(embedded cluster)
ports=("$((PORT + 1))" "$((PORT + 2))")
start_pathlight embedded "${ports[0]}"
start_pathlight cluster "${ports[1]}" "${cluster_flags[@]}" --node bench-1

# metric URL NAME: the value of an unlabelled metric line.
# (awk reads to the end: an early exit would fail curl's write, and the pipeline with it)
metric() { curl -sf "$1/metrics" | awk -v n="$2" '$1 == n && !found { print $2; found = 1 }'; }
# health URL FIELD: a number of /healthz's cluster object.
health() { curl -sf "$1/healthz" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"; }

# Wait until the cluster node serves every shard.
url1="http://127.0.0.1:${ports[1]}"
for _ in $(seq 300); do
	[ "$(health "$url1" shards_owned)" = "$(health "$url1" shards)" ] && break
	sleep 0.1
done
echo "cluster node: $(health "$url1" shards_owned) of $(health "$url1" shards) shards"

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

results="$tmp/results"
echo "load average before the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "closed loop: wrk, 1 thread, $CONNS connections, $ROUNDS rounds of ${PHASE}s per server, alternating"
printf '%-5s %-9s %9s %8s %8s %8s %8s %11s %11s %9s %s\n' round server "req/s" "p50 ms" "p99 ms" "p99.9 ms" "max ms" "CPU µs/req" "NATS µs/req" "lag max" "errors"
for round in $(seq "$ROUNDS"); do
	for i in "${!names[@]}"; do
		n=${names[$i]}
		url="http://127.0.0.1:${ports[$i]}"
		c0=$(cpu_ticks "${pid[$n]}")
		s0=$(cpu_ticks "$nats_pid")
		: >"$tmp/lag"
		if [ "$n" = cluster ]; then
			(end=$((SECONDS + PHASE)); while [ $SECONDS -lt $end ]; do metric "$url" pathlight_cluster_stream_lag_messages >>"$tmp/lag" || true; sleep 0.5; done) &
			lagpid=$!
		fi
		line=$(RUN="c$round$n" SEED=$round wrk -t1 -c"$CONNS" -d"${PHASE}s" --timeout 5s \
			-s internal/bench/wrk/hit.lua "$url/" | grep '^BENCH')
		c1=$(cpu_ticks "${pid[$n]}")
		s1=$(cpu_ticks "$nats_pid")
		lag=-
		if [ "$n" = cluster ]; then
			wait "$lagpid" || true
			lag=$(sort -n "$tmp/lag" | tail -1)
		fi
		eval "$(echo "$line" | sed 's/^BENCH //; s/ /;/g')"
		nats=$((s1 - s0))
		[ "$n" = embedded ] && nats=0
		echo "$round $n $requests $seconds $p50 $p99 $p999 $max $((c1 - c0)) $nats $non2xx $errors" >>"$results"
		awk -v r="$round" -v l="$n" -v q="$requests" -v s="$seconds" -v a="$p50" -v b="$p99" \
			-v c="$p999" -v m="$max" -v t="$((c1 - c0))" -v nt="$nats" -v tck="$tck" -v lag="${lag:--}" -v e="$non2xx/$errors" \
			'BEGIN { printf "%-5s %-9s %9.0f %8.2f %8.2f %8.2f %8.1f %11.1f %11s %9s %s\n", r, l, q/s, a/1000, b/1000, c/1000, m/1000, t/tck*1e6/q, (l == "cluster" ? sprintf("%.1f", nt/tck*1e6/q) : "-"), lag, e }'
	done
done

echo
echo "summary (ranges over the rounds; the ratio is taken within each round)"
awk '
	{ rps[$2, $1] = $3 / $4; n[$2]++; rounds[$1] = 1; sum[$2] += $3 / $4
	  if (!($2 in lo) || $3/$4 < lo[$2]) lo[$2] = $3/$4
	  if (!($2 in hi) || $3/$4 > hi[$2]) hi[$2] = $3/$4 }
	END {
		for (s in n) printf "  %-9s req/s %6.0f–%6.0f (mean %.0f)\n", s, lo[s], hi[s], sum[s]/n[s]
		rl = 9; rh = 0
		for (r in rounds) { x = rps["cluster", r] / rps["embedded", r]; if (x < rl) rl = x; if (x > rh) rh = x }
		printf "  ratio cluster/embedded %.2f–%.2f\n", rl, rh
	}' "$results"

echo
stream_state() { # messages bytes of the stream PATHLIGHT
	curl -sf "http://127.0.0.1:$nats_mon/jsz?streams=true" |
		jq -r '.account_details[]?.stream_detail[]? | select(.name == "PATHLIGHT") | "\(.state.messages) \(.state.bytes)"'
}
read -r msgs bytes <<<"$(stream_state)"
hits=$(awk '$2 == "cluster" { q += $3 } END { print q }' "$results")
echo "stream: $msgs messages, $bytes bytes for $hits hits acknowledged by the cluster node:"
awk -v m="$msgs" -v b="$bytes" -v h="$hits" 'BEGIN { printf "  %.2f messages and %.0f bytes per hit (%.0f bytes per message)\n", m/h, b/h, b/m }'

echo
echo "a second node joins with an empty data directory and replays the stream…"
url2="http://127.0.0.1:$((PORT + 3))"
t0=$(date +%s.%N)
start_pathlight joiner "$((PORT + 3))" "${cluster_flags[@]}" --node bench-2
for _ in $(seq 6000); do
	a=$(health "$url2" applied_seq)
	l=$(health "$url2" stream_last_seq)
	[ -n "$a" ] && [ "$a" = "$l" ] && [ "$a" -gt 0 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
applied=$(metric "$url2" pathlight_cluster_applied_messages_total)
awk -v t0="$t0" -v t1="$t1" -v n="$applied" -v s="$l" \
	'BEGIN { printf "  replayed %d messages (stream at %d) in %.1f s from start: %.0f messages/s\n", n, s, t1-t0, n/(t1-t0) }'

# Let the two nodes share the shards, then kill the first.
for _ in $(seq 300); do
	o2=$(health "$url2" shards_owned)
	[ -n "$o2" ] && [ "$o2" -gt 0 ] && [ "$((o2 + $(health "$url1" shards_owned)))" = "$(health "$url2" shards)" ] && break
	sleep 0.1
done
echo "  shards: bench-1 $(health "$url1" shards_owned), bench-2 $(health "$url2" shards_owned)"

echo
echo "two nodes: ${PHASE}s of wrk on bench-1 (half the visitors' shards are bench-2's: forwarded);"
echo "stream lag of each node sampled every half second"
: >"$tmp/lag1"
: >"$tmp/lag2"
(end=$((SECONDS + PHASE)); while [ $SECONDS -lt $end ]; do
	metric "$url1" pathlight_cluster_stream_lag_messages >>"$tmp/lag1" || true
	metric "$url2" pathlight_cluster_stream_lag_messages >>"$tmp/lag2" || true
	sleep 0.5
done) &
lagpid=$!
f0=$(metric "$url1" pathlight_cluster_forwarded_hits_total)
line=$(RUN="two" SEED=11 wrk -t1 -c"$CONNS" -d"${PHASE}s" --timeout 5s -s internal/bench/wrk/hit.lua "$url1/" | grep '^BENCH')
wait "$lagpid" || true
f1=$(metric "$url1" pathlight_cluster_forwarded_hits_total)
eval "$(echo "$line" | sed 's/^BENCH //; s/ /;/g')"
awk -v q="$requests" -v s="$seconds" -v a="$p50" -v b="$p99" -v c="$p999" -v m="$max" -v f="$((f1 - f0))" -v e="$non2xx/$errors" \
	'BEGIN { printf "  %.0f req/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.1f ms; %.0f%% forwarded; errors %s\n", q/s, a/1000, b/1000, c/1000, m/1000, 100*f/q, e }'
for k in 1 2; do
	sort -n "$tmp/lag$k" | awk -v k="$k" '{ v[NR] = $1; sum += $1 } END { if (NR) printf "  bench-%d stream lag: mean %.0f, median %d, max %d messages (%d samples)\n", k, sum/NR, v[int((NR+1)/2)], v[NR], NR }'
done
echo
echo "bench-1 is killed (SIGKILL, --cluster-lease $LEASE)…"
before=$(metric "$url2" pathlight_cluster_takeovers_total)
k0=$(date +%s.%N)
{ kill -9 "${pid[cluster]}" && wait "${pid[cluster]}"; } 2>/dev/null || true
shards=$(health "$url2" shards)
for _ in $(seq 600); do
	[ "$(health "$url2" shards_owned)" = "$shards" ] && break
	sleep 0.05
done
k1=$(date +%s.%N)
after=$(metric "$url2" pathlight_cluster_takeovers_total)
awk -v k0="$k0" -v k1="$k1" -v n="$((after - before))" -v s="$shards" -v last="$(metric "$url2" pathlight_cluster_takeover_seconds)" \
	'BEGIN { printf "  bench-2 serves all %d shards %.2f s after the kill (%d takeovers; the last took %.3f s from lease to caught up)\n", s, k1-k0, n, last }'
