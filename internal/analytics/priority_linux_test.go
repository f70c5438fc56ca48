package analytics_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
)

// nicedThreads returns the nice value of every thread of the process that runs at another
// priority than the normal one, by thread id.
func nicedThreads(t *testing.T) map[string]string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil || len(tasks) == 0 {
		t.Skipf("no /proc/self/task to read the threads' priorities from (%v)", err)
	}
	niced := map[string]string{}
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended meanwhile
		}
		// After the command in parentheses: state is field 3; nice is field 19.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if len(f) > 16 && f[16] != "0" {
			niced[filepath.Base(filepath.Dir(p))] = f[16]
		}
	}
	return niced
}

// TestReportsRunAtTheNormalPriority: reports and the background work run on threads of the
// normal priority, as the hits do. A thread at a lower priority (as the report worker was,
// at nice 19) waits behind every other for a core, and a garbage collection cannot stop the
// world until it has run to a safe point: every hit waited with it.
func TestReportsRunAtTheNormalPriority(t *testing.T) {
	before := nicedThreads(t)
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	run[*analytics.Overview](t, e, "overview", day(1), day(11))
	run[*analytics.Overview](t, e, "overview", day(2), day(11))
	for id, nice := range nicedThreads(t) {
		if _, ok := before[id]; !ok {
			t.Errorf("after two reports, thread %s runs at nice %s; want every thread a report starts at nice 0", id, nice)
		}
	}
}
