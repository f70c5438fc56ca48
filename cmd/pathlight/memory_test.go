package main

import (
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/pathlight/pathlight/internal/config"
)

// TestGoLimitFollowsBudget: the budget sets the Go runtime's soft limit, unless GOMEMLIMIT
// says otherwise.
func TestGoLimitFollowsBudget(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	log := slog.New(slog.DiscardHandler)
	plan := config.PlanMemory(256 << 20)
	applyGoLimit(plan, func(string) string { return "" }, log)
	if got := debug.SetMemoryLimit(-1); got != plan.GoLimit {
		t.Errorf("memory limit = %d; want the plan's %d", got, plan.GoLimit)
	}
	debug.SetMemoryLimit(old)
	applyGoLimit(plan, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	}, log)
	if got := debug.SetMemoryLimit(-1); got != old {
		t.Errorf("with GOMEMLIMIT set, memory limit = %d; want it left at %d", got, old)
	}
}
