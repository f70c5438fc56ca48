# Sums `perf report --no-children --sort sym --stdio` into the parts of a Pathlight hit and
# prints each part's share and its µs of the CPU per request given as -v total=.
/%/ && /\[[.k]\]/ {
	pct = $1; sub(/%/, "", pct)
	sym = $0; sub(/^.*\] /, "", sym)
	if ($0 ~ /\[k\]/) part = "kernel: network stack, syscalls"
	else if (sym ~ /dgraph-io|ristretto|store\.\(\*applier\)|store\.setOp|klauspost|dustin|cespare/) part = "Badger and the applier (background)"
	else if (sym ~ /pathlight\/internal\/store|hash\/crc32/) part = "store on the request path: log append, overlay, reads"
	else if (sym ~ /^(memeqbody|cmpbody|indexbytebody|aeshashbody|countbody|memclrNoHeapPointers)$|^runtime\.(memmove|memequal|mapaccess|mapassign|mapdelete|aeshash|strhash)/) part = "Go runtime: copies, compares, maps (callers above)"
	else if (sym ~ /runtime\.(gcBgMarkWorker|gcDrain|scanobject|greyobject|markBits|sweep|bgsweep|wbBuf|gcWriteBarrier|findObject|heapBits|scanblock|markroot|gcAssist|gcMark)/ || sym ~ /runtime\.(mallocgc|nextFreeFast|memclr|newobject|makeslice|growslice|mallocgc)/) part = "Go runtime: allocation and GC"
	else if (sym ~ /^runtime\.|^internal\/runtime|^sync\.|^internal\/sync/) part = "Go runtime: scheduler, locks, other"
	else if (sym ~ /syscall\.|internal\/poll|^net\.|valyala|bufio/) part = "HTTP layer: fasthttp, connections"
	else if (sym ~ /^(strconv|strings|bytes|unicode|time|sort|slices|math|encoding|hash)/) part = "Go standard library (strings, time, encoding)"
	else if (sym ~ /pathlight\/internal\/event/) part = "decode and encode (event, JSON)"
	else if (sym ~ /pathlight\/internal\/(track|journey|rules|enrich)/) part = "tracker: identity, enrich, journey, rules, dedup"
	else if (sym ~ /pathlight\/internal\/(server|analytics)/) part = "server handler, analytics feed"
	else part = "other (libraries, unresolved)"
	share[part] += pct
	all += pct
}
END {
	n = 0
	for (k in share) idx[++n] = k
	# largest first
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (share[idx[j]] > share[idx[i]]) { t = idx[i]; idx[i] = idx[j]; idx[j] = t }
	for (i = 1; i <= n; i++) printf "    %-55s %5.1f%%  %5.1f µs\n", idx[i], share[idx[i]] * 100 / all, total * share[idx[i]] / all
}
