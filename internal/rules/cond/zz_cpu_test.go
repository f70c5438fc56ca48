package cond

import (
	"runtime"
	"syscall"
	"testing"
)

func threadCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, src := range []string{threeClause, "{device.user_agent: {$regex: (iPhone|Android).*Mobile}}", "{$sequence: {steps: [viewed_pricing, started_trial, invited_team], within: 7d}}", "{app.version: {$vgte: 2.9.0, $vlt: 3.0.0}}"} {
		c := compileVisit(t, src)
		v := pricingVisit()
		const n = 5_000_000
		best := int64(1 << 62)
		for r := 0; r < 3; r++ {
			start := threadCPU()
			for i := 0; i < n; i++ {
				c.Eval(v)
			}
			if d := threadCPU() - start; d < best {
				best = d
			}
		}
		t.Logf("%s: %.1f ns/op CPU", src, float64(best)/n)
	}
}
