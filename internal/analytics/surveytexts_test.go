package analytics_test

import (
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
)

// TestSurveyOpenAnswersNameTheirVisitors: the surveys read records without visitor ids,
// and an open answer still names its visitor (made from the record's key), newest first, of
// equal times in the order the scan hands them over; the distinct visitors shown and
// answering are counted without ids.
func TestSurveyOpenAnswersNameTheirVisitors(t *testing.T) {
	e := scopedEnv(t)
	e.send(t,
		hit{at: at(10, 9, 0), n: 3, evs: []ev{prompt("shop_survey", "shown", ""), prompt("shop_survey", "answered", "too dear")}},
		hit{at: at(11, 9, 0), n: 7, evs: []ev{prompt("shop_survey", "shown", ""), prompt("shop_survey", "answered", "no size")}},
		hit{at: at(11, 9, 0), n: 5, evs: []ev{prompt("shop_survey", "shown", ""), prompt("shop_survey", "answered", "later")}},
		hit{at: at(12, 9, 0), n: 9, evs: []ev{prompt("shop_survey", "shown", ""), prompt("shop_survey", "dismissed", "")}},
		hit{at: at(13, 9, 0), n: 3, evs: []ev{prompt("shop_survey", "shown", "")}},
	)
	res := run[*analytics.SurveysReport](t, e, "surveys", day(1), day(30))
	if len(res.Surveys) != 1 {
		t.Fatalf("surveys = %+v; want shop_survey", res.Surveys)
	}
	s := res.Surveys[0]
	if s.Shown != 5 || s.VisitorsShown != 4 || s.Answered != 3 || s.VisitorsAnswered != 3 || s.Dismissed != 1 {
		t.Errorf("shop_survey: %d shown to %d visitors, %d answered by %d, %d dismissed; want 5, 4, 3, 3, 1", s.Shown, s.VisitorsShown, s.Answered, s.VisitorsAnswered, s.Dismissed)
	}
	// Visitors 5 and 7 answered at the same time: the scan hands 5 over first (id order).
	want := []report.OpenText{
		{VID: vid(5), At: at(11, 9, 0).UnixMilli(), Text: "later"},
		{VID: vid(7), At: at(11, 9, 0).UnixMilli(), Text: "no size"},
		{VID: vid(3), At: at(10, 9, 0).UnixMilli(), Text: "too dear"},
	}
	if len(s.Texts) != len(want) {
		t.Fatalf("open answers %+v; want %+v", s.Texts, want)
	}
	for i := range want {
		if got := s.Texts[i]; got.VID != want[i].VID || got.At != want[i].At || got.Text != want[i].Text {
			t.Errorf("open answer %d = %+v; want %+v", i, got, want[i])
		}
	}
}
