package analytics

import (
	"context"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
)

// packBudget is how long the background job packs days on each tick, at most: with the
// pause after each day, about half a core while a data directory written one record to a
// key is converted, and nothing once every closed day is packed.
const packBudget = time.Second

// packDays packs the report store's closed days (the day before yesterday and earlier), a
// day at a time, each read and encoded on the report worker (between reports) and written
// under the fold lock, pausing after each (see pacer), for at most budget (0: until every
// closed day is packed). Packing changes how records are kept, not what they say: no result changes,
// and no cached result is dropped. A data directory whose records are kept one to a key
// (as every version before packs wrote them), or packed in records without part lengths,
// is converted this way, in the background, while reports read it as it is.
func (s *Service) packDays(ctx context.Context, budget time.Duration, pause func() error) error {
	if !s.isReady.Load() {
		return nil
	}
	start := time.Now()
	before := dayOf(s.o.Now().UnixMilli()) - 1
	for ctx.Err() == nil && (budget == 0 || time.Since(start) < budget) {
		// The reading and encoding on the report worker, without the fold lock: holding
		// it there would keep every report, cached ones too, waiting on work that pauses
		// whenever the hits want the cores. Only the write holds the lock.
		var (
			plan *reportstore.PackPlan
			err  error
		)
		s.onWorker(func() { plan, err = s.rs.PreparePack(s.packFrom, before) })
		if err != nil {
			return err
		}
		if plan == nil {
			s.packFrom = max(s.packFrom, before)
			return nil
		}
		s.mu.Lock()
		written, err := s.rs.CommitPack(plan)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		day := plan.Day
		if !written {
			day-- // a fold changed the day meanwhile: packed again next time
		}
		s.packFrom = day + 1
		if pause != nil {
			if err := pause(); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// Pack packs every closed day of the report store now, as the background job does over
// time (see packDays).
func (s *Service) Pack(ctx context.Context) error {
	if err := s.open(); err != nil {
		return err
	}
	s.packFrom = 0
	return s.packDays(ctx, 0, nil)
}
