package journey

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
)

// visitorView is the admin API view, as a client decodes it.
type visitorView struct {
	VID       string  `json:"vid"`
	UserID    string  `json:"user_id"`
	FirstSeen *string `json:"first_seen"`
	LastSeen  *string `json:"last_seen"`
	Sessions  []struct {
		StartedAt   string            `json:"started_at"`
		Channel     string            `json:"channel"`
		Source      string            `json:"source"`
		Medium      string            `json:"medium"`
		Campaign    string            `json:"campaign"`
		LandingPage string            `json:"landing_page"`
		RefHost     string            `json:"ref_host"`
		ClickIDs    map[string]string `json:"click_ids"`
		Pageviews   int               `json:"pageviews"`
		EngagedMS   int64             `json:"engaged_ms"`
	} `json:"sessions"`
	SessionCount int `json:"session_count"`
	Device       struct {
		Type    string `json:"type"`
		OS      string `json:"os"`
		Browser string `json:"browser"`
		Bot     bool   `json:"bot"`
	} `json:"device"`
	Geo       map[string]string `json:"geo"`
	Pageviews int               `json:"pageviews"`
	Paths     map[string]int    `json:"paths"`
	Events    map[string]int    `json:"events"`
	Steps     map[string]struct {
		Count   int    `json:"count"`
		FirstAt string `json:"first_at"`
		LastAt  string `json:"last_at"`
	} `json:"steps"`
	StepHistory []struct {
		Step string `json:"step"`
		At   string `json:"at"`
	} `json:"step_history"`
	Stage       string   `json:"stage"`
	Segments    []string `json:"segments"`
	Conversions int      `json:"conversions"`
	Value       float64  `json:"value"`
	Experiments map[string]struct {
		Variant string `json:"variant"`
		At      string `json:"at"`
	} `json:"experiments"`
	Prompts map[string]struct {
		Shown     int    `json:"shown"`
		Dismissed int    `json:"dismissed"`
		Answered  int    `json:"answered"`
		LastShown string `json:"last_shown"`
	} `json:"prompts"`
	Traits map[string]any `json:"traits"`
}

func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

func TestAppendJSON(t *testing.T) {
	s := typicalState()
	out := s.AppendJSON([]byte("prefix:"))
	var v visitorView
	if err := json.Unmarshal(out[len("prefix:"):], &v); err != nil {
		t.Fatalf("json.Unmarshal(AppendJSON(typical visitor)) = %v; want nil\n%s", err, out)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AppendJSON: %s = %#v; want %#v", name, got, want)
		}
	}
	check("vid", v.VID, s.VID)
	check("user_id", v.UserID, "u-12345")
	check("first_seen", *v.FirstSeen, rfc3339(s.FirstSeen))
	check("last_seen", *v.LastSeen, rfc3339(s.LastSeen))
	check("len(sessions)", len(v.Sessions), 5)
	check("sessions[2].campaign", v.Sessions[2].Campaign, "spring_sale")
	check("sessions[2].click_ids", v.Sessions[2].ClickIDs, map[string]string{"gclid": "Cj0KCQ"})
	check("sessions[0].started_at", v.Sessions[0].StartedAt, rfc3339(at(0)))
	check("sessions[0].landing_page", v.Sessions[0].LandingPage, "/")
	check("sessions[0].engaged_ms", v.Sessions[0].EngagedMS, int64(45_000))
	check("session_count", v.SessionCount, 5)
	check("device.type", v.Device.Type, "desktop")
	check("geo", v.Geo, map[string]string{"country": "GB", "region": "ENG", "city": "London", "tz": "Europe/London"})
	check("pageviews", v.Pageviews, 20)
	check("len(paths)", len(v.Paths), 8)
	check(`paths["/pricing"]`, v.Paths["/pricing"], 3)
	check("events", v.Events, map[string]int{"cta_click": 1, "video_play": 1, "scroll_90": 1,
		"add_to_cart": 1, "signup": 1, "purchase": 1})
	check(`steps["purchase"].count`, v.Steps["purchase"].Count, 2)
	check("len(step_history)", len(v.StepHistory), 5)
	check("stage", v.Stage, "customer")
	check("segments", v.Segments, []string{"returning", "paid-search"})
	check("conversions, value", []any{v.Conversions, v.Value}, []any{1, 49.99})
	check(`experiments["hero-test"].variant`, v.Experiments["hero-test"].Variant, "b")
	check(`prompts["nps"].shown`, v.Prompts["nps"].Shown, 1)
	check("traits", v.Traits, map[string]any{"email": "jane@example.com", "plan": "pro", "employees": 42.0})
}

func TestAppendJSONEmpty(t *testing.T) {
	out := (&State{}).AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("json.Unmarshal(AppendJSON(empty)) = %v; want nil\n%s", err, out)
	}
	for _, key := range []string{"sessions", "segments", "step_history"} {
		if _, ok := m[key].([]any); !ok {
			t.Errorf("AppendJSON(empty)[%q] = %#v; want an empty array", key, m[key])
		}
	}
	if m["first_seen"] != nil {
		t.Errorf("AppendJSON(empty)[first_seen] = %#v; want null", m["first_seen"])
	}
}

func TestAppendJSONEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`quote " and \ backslash`, `quote " and \ backslash`},
		{"tab\tnew\nline\rcr\x00nul\x1f", "tab\tnew\nline\rcr\x00nul\x1f"},
		{"<script>&amp;</script>", "<script>&amp;</script>"},
		{"line\u2028sep\u2029para", "line\u2028sep\u2029para"},
		{"naïve 東京 🚀", "naïve 東京 🚀"},
		{"bad \xff utf8 \xc3", "bad \ufffd utf8 \ufffd"},
	}
	for _, tt := range tests {
		s := &State{VID: tt.in, Traits: event.Props{{Key: tt.in, Val: event.StringValue(tt.in)}}}
		out := s.AppendJSON(nil)
		var v visitorView
		if err := json.Unmarshal(out, &v); err != nil {
			t.Errorf("AppendJSON(VID %q) is not valid JSON: %v\n%s", tt.in, err, out)
			continue
		}
		if v.VID != tt.want || v.Traits[tt.want] != tt.want {
			t.Errorf("AppendJSON(VID %q) decodes as %q, traits %v; want %q", tt.in, v.VID, v.Traits, tt.want)
		}
	}
}

func TestAppendJSONNumbers(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{49.99, "49.99"},
		{-5, "-5"},
		{1e21, "1e+21"},
		{1e-7, "1e-07"},
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
	}
	for _, tt := range tests {
		if got := string(appendJSONFloat(nil, tt.v)); got != tt.want {
			t.Errorf("appendJSONFloat(%v) = %q; want %q", tt.v, got, tt.want)
		}
	}
	s := &State{Value: math.Inf(-1), Traits: event.Props{{Key: "n", Val: event.NumberValue(math.NaN())}}}
	if out := s.AppendJSON(nil); !json.Valid(out) {
		t.Errorf("AppendJSON(non-finite numbers) is not valid JSON:\n%s", out)
	}
}
