package analytics_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
)

// TestReportsRunOnALowPriorityThread: after a report, the process has a thread at nice 19,
// the report worker's, and hits keep their own priority.
func TestReportsRunOnALowPriorityThread(t *testing.T) {
	niced := func() int {
		n := 0
		tasks, _ := filepath.Glob("/proc/self/task/*/stat")
		for _, p := range tasks {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			// After the command in parentheses: state is field 3; nice is field 19.
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
			if len(f) > 16 && f[16] == "19" {
				n++
			}
		}
		return n
	}
	before := niced()
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	run[*analytics.Overview](t, e, "overview", day(1), day(11))
	if after := niced(); after != before+1 {
		t.Errorf("threads at nice 19: %d before the first report of a service, %d after; want one more, the report worker's", before, after)
	}
	run[*analytics.Overview](t, e, "overview", day(2), day(11))
	if after := niced(); after != before+1 {
		t.Errorf("threads at nice 19 after a second report: %d; want still %d (one worker)", after, before+1)
	}
}
