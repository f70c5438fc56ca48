package rules

import (
	"testing"
	"testing/fstest"
)

// TestStepInfoNamesItsEventAndPath: a step whose condition asks for one event name or one
// page path says which, and one that asks for a path pattern gives a path it matches built
// from the pattern's literal start, so a client can send traffic that reaches it; any other
// condition says nothing.
func TestStepInfoNamesItsEventAndPath(t *testing.T) {
	set, err := Load(fstest.MapFS{"r/journey.yaml": {Data: []byte(`stages: [a]
steps:
  - {id: ordered, stage: a, when: {event.type: event, event.name: order}, conversion: true, value: amount}
  - {id: guide, stage: a, when: {page.path: {$eq: /guides/jackets}}}
  - {id: either, stage: a, when: {event.name: {$in: [x, y]}}}
  - {id: docs, stage: a, when: {page.path: {$regex: "^/docs/"}}}
  - {id: anydoc, stage: a, when: {page.path: {$regex: "^/docs/.+"}}}
  - {id: either_page, stage: a, when: {page.path: {$regex: "^/(a|b)/"}}}
  - {id: checkout, stage: a, when: {page.path: {$regex: "^/checkout"}}}
  - {id: whole, stage: a, when: {page.path: {$regex: "^/docs/$"}}}
  - {id: docs_and_more, stage: a, when: {page.path: {$regex: "^/docs/", $ne: /docs/old}}}
`)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{"ordered": {"order", "", ""}, "guide": {"", "/guides/jackets", ""}, "either": {"", "", ""},
		"docs": {"", "", "/docs/example"}, "anydoc": {"", "", ""}, "checkout": {"", "", "/checkout"}, "whole": {"", "", ""}, "either_page": {"", "", ""}, "docs_and_more": {"", "", ""}}
	for _, st := range set.Steps() {
		if got := [3]string{st.Event, st.Path, st.PathExample}; got != want[st.ID] {
			t.Errorf("step %s: event, path, path example = %q; want %q", st.ID, got, want[st.ID])
		}
	}
}
