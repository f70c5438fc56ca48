package analytics

import (
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/journey"
)

// steps reads option name, a comma-separated list of the rules' step ids. An id the rules do
// not define fails the option with the ids they do: a typo must not give plausible zeros.
func (rc *reportCtx) steps(name string) []string {
	return rc.checkSteps(name, stepIDs(rc), "step")
}

// conversionSteps reads option name, a list of conversion steps: the rules' steps that count
// conversions or, when none does, the default conversion event.
func (rc *reportCtx) conversionSteps(name string) []string {
	var ids []string
	for _, s := range rc.set.Steps() {
		if s.Conversion {
			ids = append(ids, s.ID)
		}
	}
	if rc.set.DefaultConversion(rc.q.Site) {
		ids = []string{journey.DefaultConversionEvent}
	}
	return rc.checkSteps(name, ids, "conversion step")
}

func (rc *reportCtx) checkSteps(name string, defined []string, what string) []string {
	ids := rc.o.list(name)
	for _, id := range ids {
		if !slices.Contains(defined, id) {
			rc.o.fail(name, "%q: the rules define no such %s (they define: %s)", id, what, orNone(defined))
			return nil
		}
	}
	return ids
}

// experiment checks that the rules define the experiment of an arm breakdown.
func (rc *reportCtx) experiment(name, id string) {
	var ids []string
	for _, x := range rc.set.Experiments() {
		if x.ID == id {
			return
		}
		ids = append(ids, x.ID)
	}
	rc.o.fail(name, "arm:%s: the rules define no such experiment (they define: %s)", id, orNone(ids))
}

// orNone lists ids, or says there are none.
func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
