package main

import "fmt"

// The visitors of the load: the same 1,000 as internal/bench/wrk/hit.lua, which drives the
// closed-loop part of the run; their hits come from internal/bench/hitgen.
const visitors = 1000

var vids = func() []string {
	v := make([]string, visitors)
	for i := range v {
		v[i] = fmt.Sprintf("%016x%016x", 0x5eed0000+i+1, (i+1)*2654435761)
	}
	return v
}()

func vid(v int) string { return vids[v] }
