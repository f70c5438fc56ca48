package analytics

import (
	"math"
	"runtime"
	"sync"

	"github.com/pathlight/pathlight/internal/report"
)

// journeyMap computes the journey map over the journeys in parallel: each part of the
// visitors is mapped on its own and the parts are added up. Every figure of the map is a sum
// over visitors (a visitor is in exactly one part), and the parts list all their session
// paths, so the sum is exactly the map of the whole.
func journeyMap(js []report.Journey, o report.JourneyMapOptions) (*report.JourneyMap, error) {
	return journeyMapIn(js, o, min(runtime.GOMAXPROCS(0), 1+len(js)/5000))
}

// journeyMapIn is journeyMap over n parts.
func journeyMapIn(js []report.Journey, o report.JourneyMapOptions, n int) (*report.JourneyMap, error) {
	if n <= 1 {
		return report.BuildJourneyMap(js, o)
	}
	top := o.TopPaths
	if top == 0 {
		top = report.DefaultTopPaths
	}
	po := o
	po.TopPaths = math.MaxInt32 // every path, to be ranked after the sum
	parts := make([]*report.JourneyMap, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := i*len(js)/n, (i+1)*len(js)/n
		wg.Go(func() { parts[i], errs[i] = report.BuildJourneyMap(js[lo:hi], po) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return report.MergeJourneyMaps(parts, top), nil
}
