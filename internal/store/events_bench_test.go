//go:build unix

package store

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkApplyHits writes hit-shaped writes (per hit: a journey of 1.5 KB among 1,000
// returning visitors, a report record of 2.7 KB, a 256-byte event-log record; a spill pack
// of 33 event ids every 33 hits and an ownership pack every 16) from 8 writers and waits
// until Badger holds them all: the write and apply path end to end. "main" keeps everything in one Badger instance (as
// before the event store), "events" sends the event log to the event store; compare the two
// of the same run. cpu-µs/hit is the process's user and system time per hit (Badger's
// flushes and compactions included), the cost the event store is meant to cut. The run ends
// once Badger holds everything, the ops the applier holds back (hold.go) included;
// "events-nohold" holds nothing back. tree-B/hit is what the main instance was given to write
// (keys and values), journey-B/hit the journeys' part of it.
func BenchmarkApplyHits(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  Options
	}{{"main", Options{}}, {"events", Options{EventPrefix: 'e'}}, {"events-nohold", Options{EventPrefix: 'e', holdFor: -1}}} {
		b.Run(c.name, func(b *testing.B) {
			db, err := Open(b.TempDir(), c.opt)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			journey, record, event, pack := make([]byte, 1500), make([]byte, 2700), make([]byte, 256), make([]byte, 330)
			rng := rand.New(rand.NewPCG(1, 2))
			for _, buf := range [][]byte{journey, record, event} {
				for i := range buf {
					buf[i] = byte(rng.Uint32())
				}
			}
			const writers = 8
			var next sync.Mutex
			n := 0
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						next.Lock()
						h := n
						n++
						next.Unlock()
						if h >= b.N {
							return
						}
						vid := binary.BigEndian.AppendUint64(nil, uint64(h%1000)*2654435761)
						ek := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{'e'}, uint64(h)), uint64(h))
						ops := []Op{
							{Key: append([]byte{'v'}, vid...), Value: journey},
							{Key: append([]byte{'L', 0, 0, 0, 1}, vid...), Value: record},
							{Key: ek, Value: event},
						}
						if h%33 == 0 {
							pk := binary.BigEndian.AppendUint64(append([]byte{'i'}, vid...), uint64(h)*0x9E3779B97F4A7C15)[:1+len(vid)+6]
							ops = append(ops, Op{Key: pk, Value: pack, TTL: 48 * time.Hour})
						}
						if h%16 == 0 {
							ops = append(ops, Op{Key: append(append([]byte{'o'}, vid...), 0, 'P', byte(h)), Value: event})
						}
						err := db.Write(ops)
						for tries := 0; err != nil && tries < 100; tries++ {
							time.Sleep(10 * time.Millisecond) // the backlog bound: retry, as a sender would
							err = db.Write(ops)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			db.ap.flushReq <- struct{}{} // the held ops too, without waiting for their hold to end
			for db.ov.size() > 0 {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
				syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/hit")
			_, vlog, _ := db.Sizes()
			b.ReportMetric(float64(vlog)/float64(b.N), "vlog-B/hit")
			var tree uint64
			w := db.Written()
			for _, n := range w {
				tree += n
			}
			b.ReportMetric(float64(tree)/float64(b.N), "tree-B/hit")
			b.ReportMetric(float64(w['v'])/float64(b.N), "journey-B/hit")
		})
	}
}
