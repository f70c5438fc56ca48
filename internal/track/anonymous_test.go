package track_test

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/enrich"
	"github.com/pathlight/pathlight/internal/enrich/geotest"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// Identifiers a hit without consent carries in every field that can carry one. None of them
// may reach the store, in any key or value.
var personal = []string{
	"uid-4711",                   // user_id
	"jane.doe",                   // the local part of her address, in traits, props, path and query
	"Jane Doe",                   // a trait, a string prop, the title, a text answer
	"s3cr3t-t0ken",               // a token in the query and the fragment
	"pw-9",                       // a password in the URL's user info
	"inbox-77",                   // the referrer's query
	"Cj0KCQ-click-id",            // a Google click id
	"kw-jane",                    // utm_term
	"subscriber-99",              // utm_content
	"+44 20 7946 0958",           // a phone number in a string prop
	"0207946",                    // a long number in the path
	"81.2.69.160",                // the client's address
	"Mozilla/5.0 (Windows NT 10", // the user agent string
	"London", "Europe/London",    // city and time zone (the region, "ENG", is checked in the records)
}

const anonPage = "https://jane.doe:pw-9@shop.example:8443/account/jane.doe%40mail.example/orders/0207946123/view" +
	"?email=jane.doe%40mail.example&token=s3cr3t-t0ken&utm_source=newsletter&utm_medium=email&utm_campaign=spring" +
	"&utm_term=kw-jane&utm_content=subscriber-99&gclid=Cj0KCQ-click-id#access_token=s3cr3t-t0ken"

// anonEvents is one event of each type, each field filled with something personal.
func anonEvents(prefix string) []event.Event {
	str := event.StringValue
	base := event.Event{URL: anonPage, Ref: "https://webmail.example/inbox-77?from=jane.doe", Title: "Welcome back, Jane Doe",
		Props: event.Props{{Key: "email", Val: str("jane.doe@mail.example")}, {Key: "phone", Val: str("+44 20 7946 0958")},
			{Key: "value", Val: event.NumberValue(30)}, {Key: "gift", Val: event.BoolValue(true)}}}
	evs := []event.Event{base, base, base, base, base, base, base}
	evs[0].Type = event.TypePageview
	evs[1].Type, evs[1].Name = event.TypeEvent, "purchase"
	evs[2].Type, evs[2].UserID = event.TypeIdentify, "uid-4711"
	evs[2].Traits = event.Props{{Key: "email", Val: str("jane.doe@mail.example")}, {Key: "name", Val: str("Jane Doe")}}
	evs[3].Type, evs[3].EngagedMS, evs[3].ScrollPct = event.TypeEngagement, 5000, 80
	evs[4].Type, evs[4].Prompt, evs[4].Action = event.TypePrompt, "why", event.ActionShown
	evs[5].Type, evs[5].Prompt, evs[5].Action, evs[5].Answer = event.TypePrompt, "why", event.ActionAnswered, "Price"
	evs[6].Type, evs[6].Prompt, evs[6].Action, evs[6].Answer = event.TypePrompt, "tell", event.ActionAnswered, "Jane Doe here, call me"
	for i := range evs {
		evs[i].ID = prefix + "-" + evs[i].Type.String() + "-" + string(rune('a'+i))
		evs[i].Props = append(event.Props(nil), evs[i].Props...)
	}
	return evs
}

// anonTracker is a tracker over a real store with a GeoIP database and two surveys: a choice
// and a text one.
func anonTracker(t *testing.T, cfg track.Config) (*track.Tracker, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	mmdb := filepath.Join(dir, "city.mmdb")
	if err := geotest.WriteCityDB(mmdb, []geotest.Record{{CIDR: "81.2.69.0/24", Country: "GB", Subdivision: "ENG", City: "London", TimeZone: "Europe/London"}}); err != nil {
		t.Fatal(err)
	}
	geo, err := enrich.OpenGeo(mmdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { geo.Close() })
	rulesDir := filepath.Join(dir, "rules")
	yaml := "surveys:\n" +
		"  why: {trigger: exit_intent, question: Why not?, type: single_choice, choices: [Price, Other]}\n" +
		"  tell: {trigger: exit_intent, question: Anything else?, type: text}\n"
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "surveys.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.LoadDir(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	cfg.SiteHosts = map[string][]string{"shop": {"shop.example"}}
	return track.New(trackstore.New(db), geo, set, cfg), db
}

// TestAnonymousRecordsHoldNoIdentifier sends one event of each type, every field carrying
// something personal, without consent in each way a hit can lack it, and from a bot: every
// event is counted in the log, and no key or value of the store holds any identifier.
func TestAnonymousRecordsHoldNoIdentifier(t *testing.T) {
	cases := []struct {
		name    string
		cfg     track.Config
		consent event.Consent
		gpc     bool
		ua      string
	}{
		{name: "gpc", gpc: true},
		{name: "denied", consent: event.ConsentDenied},
		{name: "required", cfg: track.Config{Consent: track.ConsentRequired}},
		{name: "bot", ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, db := anonTracker(t, tc.cfg)
			ua := tc.ua
			if ua == "" {
				ua = chromeUA
			}
			evs := anonEvents(tc.name)
			b := &event.Batch{Site: "shop", VID: "0123456789abcdef0123456789abcdef", Consent: tc.consent, Events: evs, Slots: []string{"hero"}}
			var res track.Result
			err := tr.Track(&track.Request{Batch: b, UserAgent: ua, IP: netip.MustParseAddr("81.2.69.160"),
				CookieVID: "fedcba9876543210fedcba9876543210", GPC: tc.gpc, Decisions: true}, &res)
			if err != nil {
				t.Fatal(err)
			}
			if res.Tracked || res.VID != "" || len(res.Accepted) != len(evs) {
				t.Fatalf("tracked %v vid %q accepted %d of %d (rejected %v); want every event counted without a visitor",
					res.Tracked, res.VID, len(res.Accepted), len(evs), res.Rejected)
			}

			// The raw store: no identifier in any key or value.
			keys := 0
			err = db.Scan(nil, nil, func(k, v []byte) error {
				keys++
				for _, s := range append(personal, "0123456789abcdef", "fedcba9876543210") {
					if bytes.Contains(bytes.ToLower(k), bytes.ToLower([]byte(s))) || bytes.Contains(bytes.ToLower(v), bytes.ToLower([]byte(s))) {
						t.Errorf("the store holds %q under key %q: %q", s, k, v)
					}
				}
				return nil
			})
			if err != nil || keys == 0 {
				t.Fatalf("scan: %d keys, %v", keys, err)
			}

			// The log still counts each event, with what describes the traffic.
			byType := map[string]int{}
			var h event.Hit
			var e event.Event
			err = tr.Events(0, 0, func(rec []byte) error {
				if err := event.DecodeRecord(rec, &h, &e); err != nil {
					return err
				}
				byType[e.Type.String()]++
				if h.VID != "" || e.UserID != "" || len(e.Traits) != 0 || e.Title != "" || e.Ref != "" {
					t.Errorf("%s: record keeps vid %q user_id %q traits %v title %q ref %q", e.ID, h.VID, e.UserID, e.Traits, e.Title, e.Ref)
				}
				if want := "https://shop.example/account/:redacted/orders/:redacted/view"; e.URL != want || h.Page.Path != "/account/:redacted/orders/:redacted/view" {
					t.Errorf("%s: url %q path %q; want %q", e.ID, e.URL, h.Page.Path, want)
				}
				if h.Geo != (event.Geo{Country: "GB"}) {
					t.Errorf("%s: geo %+v; want the country only", e.ID, h.Geo)
				}
				if src := h.Source; e.Type == event.TypePageview && (src.Source != "newsletter" || src.Campaign != "spring" ||
					src.Channel != "Email" || src.RefHost != "webmail.example" || src.Term != "" || src.Content != "" || len(src.ClickIDs) != 0) {
					t.Errorf("%s: source %+v; want newsletter, spring, Email, webmail.example, without term, content or click ids", e.ID, src)
				}
				if v, ok := e.Props.Get("value"); !ok || v.Num != 30 || len(e.Props) != 2 {
					t.Errorf("%s: props %v; want value and gift only", e.ID, e.Props)
				}
				if h.Device.Bot != (tc.name == "bot") || h.Device.Browser == "" && tc.name != "bot" {
					t.Errorf("%s: device %+v", e.ID, h.Device)
				}
				switch e.Prompt {
				case "why":
					if e.Action == event.ActionAnswered && e.Answer != "Price" {
						t.Errorf("choice answer %q; want Price kept (it identifies nobody)", e.Answer)
					}
				case "tell":
					if e.Answer != "" {
						t.Errorf("text answer %q kept", e.Answer)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"pageview": 1, "event": 1, "identify": 1, "engagement": 1, "prompt": 3}
			for typ, n := range want {
				if byType[typ] != n {
					t.Errorf("%s records = %d; want %d (every event counted)", typ, byType[typ], n)
				}
			}
			if strings.Contains(tc.name, "bot") != res.Bot {
				t.Errorf("bot = %v", res.Bot)
			}
		})
	}
}

func TestRedactedPaths(t *testing.T) {
	for in, want := range map[string]string{
		"/":                                         "/",
		"/p/42":                                     "/p/42",
		"/pricing":                                  "/pricing",
		"/blog/2026/03/why-we-built-it":             "/blog/2026/03/why-we-built-it",
		"/u/jane@mail.example":                      "/u/:redacted",
		"/u/jane%40mail.example/x":                  "/u/:redacted/x",
		"/orders/1234567":                           "/orders/:redacted",
		"/reset/9f86d081884c7d659a2feaa0":           "/reset/:redacted",
		"/call/+44-20-7946-0958":                    "/call/:redacted",
		"/item/red-jacket-size-medium":              "/item/red-jacket-size-medium",
		"/blog/top-10-boots-for-2026":               "/blog/top-10-boots-for-2026",
		"/p/iphone15pro":                            "/p/iphone15pro",
		"/s/Xk29aP0qLm7Zt3":                         "/s/:redacted",
		"/p/iphone15/case":                          "/p/iphone15/case",
		"/t/550e8400-e29b-41d4-a716-446655440000/x": "/t/:redacted/x",
		"/auth/eyJhbGciOiJIUzI1NiJ9.e30":            "/auth/:redacted",
	} {
		if got := track.RedactPathForTest(in); got != want {
			t.Errorf("redactPath(%q) = %q; want %q", in, got, want)
		}
	}
}
