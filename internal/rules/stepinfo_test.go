package rules

import (
	"testing"
	"testing/fstest"
)

// TestStepInfoNamesItsEventAndPath: a step whose condition asks for one event name or one
// page path says which, so a client can send traffic that reaches it; any other condition
// says nothing.
func TestStepInfoNamesItsEventAndPath(t *testing.T) {
	set, err := Load(fstest.MapFS{"r/journey.yaml": {Data: []byte(`stages: [a]
steps:
  - {id: ordered, stage: a, when: {event.type: event, event.name: order}, conversion: true, value: amount}
  - {id: guide, stage: a, when: {page.path: {$eq: /guides/jackets}}}
  - {id: either, stage: a, when: {event.name: {$in: [x, y]}}}
  - {id: docs, stage: a, when: {page.path: {$regex: "^/docs/"}}}
`)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"ordered": {"order", ""}, "guide": {"", "/guides/jackets"}, "either": {"", ""}, "docs": {"", ""}}
	for _, st := range set.Steps() {
		if got := [2]string{st.Event, st.Path}; got != want[st.ID] {
			t.Errorf("step %s: event, path = %q; want %q", st.ID, got, want[st.ID])
		}
	}
}
