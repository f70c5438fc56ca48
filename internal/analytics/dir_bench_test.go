package analytics

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

var (
	reportsDir  = flag.String("reports.dir", "", "BenchmarkReportsOnDir: a stopped server's data directory (make bench-scale SCALE_DIR=… keeps one under visitors-N)")
	reportsPack = flag.Bool("reports.pack", false, "BenchmarkReportsOnDir: pack every closed day of the directory first (as a server does in the background), and print how long it took")
	reportsCold = flag.Bool("reports.cold", false, "BenchmarkReportsOnDir: drop every daily rollup before each run (untimed), so that each run computes its days again: the first report after the rollups were dropped")
	reportsCopy = flag.Bool("reports.copy", false, "BenchmarkReportsOnDir: copy every key into a new store in a temporary directory and run the reports there: the store as Badger's compactions leave it once they dropped every deleted key")
)

// BenchmarkReportsOnDir runs every report over the last 90 and 365 days of a data
// directory that `make bench-scale` (or `pathlight simulate --data`) filled, warm: the
// report store as it is, rollups kept after the first run, no cached result (each run asks
// for a period a millisecond later). It reports the records each run reads, so that
// ns/record and allocs/record follow, and the CPU time of the process per run (cpu-ns/op:
// on a loaded machine the wall time follows the load, and the report worker's pauses);
// profile it with -cpuprofile and -memprofile.
func BenchmarkReportsOnDir(b *testing.B) {
	if *reportsDir == "" {
		b.Skip("needs a filled data directory: -reports.dir dir")
	}
	db, err := store.Open(filepath.Join(*reportsDir, "badger"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if *reportsCopy {
		start := time.Now()
		if db, err = copyStore(db, b.TempDir()); err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.Logf("copied the store in %s", time.Since(start).Round(time.Millisecond))
	}
	set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
	if err != nil {
		b.Fatal(err)
	}
	tr := track.New(trackstore.New(db), nil, set, track.Config{})
	s := New(tr, nil, Options{Store: trackstore.New(db)})
	defer func() {
		if err := s.Close(); err != nil { // marks the store clean, as a server's stop does
			b.Error(err)
		}
	}()
	if *reportsPack {
		start := time.Now()
		if err := s.Pack(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Logf("packed every closed day in %s", time.Since(start).Round(time.Millisecond))
	}
	now := time.Now().UTC().Truncate(time.Minute)
	for _, days := range []int{90, 365} {
		for _, name := range []string{"overview", "journey", "funnel", "paths", "attribution", "ttc", "health", "cac", "surveys", "experiments", "micro"} {
			b.Run(fmt.Sprintf("%s/%dd", name, days), func(b *testing.B) {
				q := Query{From: now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli(), To: now.UnixMilli(), Options: map[string]string{}}
				if _, err := s.Report(name, q); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				scanned0, handed0 := s.rs.Reads()
				cpu := int64(0)
				for b.Loop() {
					if *reportsCold {
						b.StopTimer()
						if err := s.rs.DropRollups(); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					q.From++
					q.To++
					cpu0 := cpuTime()
					if _, err := s.Report(name, q); err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime() - cpu0
				}
				scanned, handed := s.rs.Reads()
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(scanned-scanned0)/float64(b.N), "scanned/op")
				b.ReportMetric(float64(handed-handed0)/float64(b.N), "records/op")
			})
		}
	}
}

// copyStore writes every key of db into a new store in dir, without the versions and
// deleted keys db's levels may still hold.
func copyStore(db *store.DB, dir string) (*store.DB, error) {
	to, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, err
	}
	var ops []store.Op
	// flush writes ops, waiting for the applier when the copy outruns it: a write refused
	// with ErrBacklog was not logged, and is sent again.
	flush := func() error {
		err := to.Write(ops)
		for errors.Is(err, store.ErrBacklog) {
			err = to.Write(ops)
		}
		ops = ops[:0]
		return err
	}
	err = db.Scan(nil, nil, func(key, val []byte) error {
		ops = append(ops, store.Op{Key: bytes.Clone(key), Value: bytes.Clone(val)})
		if len(ops) == 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		to.Close()
		return nil, err
	}
	return to, nil
}
