package heatmap

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
)

func openRecorder(t testing.TB) *Recorder {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return New(trackstore.New(db), 24*time.Hour)
}

func pct(f float64) *float64 { return &f }

func TestRecordAndReport(t *testing.T) {
	r := openRecorder(t)
	day := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	send := func(id, url string, w float64, at time.Time, scroll *float64, clicks ...WireClick) Result {
		t.Helper()
		res, err := r.Record("demo", &Batch{Site: "demo", ID: id, URL: url, Width: w, Clicks: clicks, Scroll: scroll}, nil, at)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	buy := WireClick{Sel: "#buy", X: 0.9, Y: 0.1, PX: 1000, PY: 85}
	rage := buy
	rage.Rage = true
	pic := WireClick{Sel: "main>img:nth-of-type(2)", X: 0.5, Y: 0.5, PX: 100, PY: 10000, Dead: true}
	send("b1", "https://shop.example/pricing?utm_source=x", 1280, day, nil, buy, buy, rage, pic)
	if got := send("b1", "https://shop.example/pricing", 1280, day, nil, buy); got != Duplicate {
		t.Errorf("a retried batch: %v; want Duplicate", got)
	}
	send("b2", "https://shop.example/pricing", 1280, day.Add(24*time.Hour), pct(60), buy)
	send("b3", "https://shop.example/pricing", 1280, day.Add(24*time.Hour), pct(100))
	send("b4", "https://shop.example/pricing", 390, day, pct(20), pic)
	send("b5", "https://shop.example/user/jane@example.com", 1280, day, nil, buy)
	send("b6", "https://shop.example/pricing", 1280, day.Add(5*24*time.Hour), nil, buy) // outside the period

	from := day.Truncate(24 * time.Hour).UnixMilli()
	rep, err := r.Report("demo", "", "", "", from, from+2*dayMs)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Page != "/pricing" || rep.Band != "desktop" || rep.Days != 2 {
		t.Fatalf("page %q band %q days %d; want /pricing, desktop (the busiest), 2", rep.Page, rep.Band, rep.Days)
	}
	if rep.Clicks != 5 || rep.Rage != 1 || rep.Dead != 1 || rep.Views != 2 {
		t.Errorf("clicks %d rage %d dead %d views %d; want 5, 1, 1, 2", rep.Clicks, rep.Rage, rep.Dead, rep.Views)
	}
	if len(rep.Elements) != 2 || rep.Elements[0].Selector != "#buy" || rep.Elements[0].Clicks != 4 || rep.Elements[0].Within[3] != 4 {
		t.Errorf("elements %+v; want #buy 4 clicks in the top right cell, then the picture", rep.Elements)
	}
	if !reflect.DeepEqual(rep.RageTop, []Issue{{"#buy", 1}}) || !reflect.DeepEqual(rep.DeadTop, []Issue{{"main>img:nth-of-type(2)", 1}}) {
		t.Errorf("rage %+v dead %+v", rep.RageTop, rep.DeadTop)
	}
	// #buy at x 1000 of 1280 px: column 12 of 16; y 85: row 2. The picture is below the
	// grid's 10,000 px: the last row.
	want := [][3]uint64{{2, 12, 4}, {GridRows - 1, 1, 1}}
	if !reflect.DeepEqual(rep.Grid.Cells, want) {
		t.Errorf("grid %v; want %v", rep.Grid.Cells, want)
	}
	if len(rep.Scroll) != ScrollSteps || rep.Scroll[0].Share != 1 || rep.Scroll[12].Share != 1 || rep.Scroll[13].Share != 0.5 || rep.Scroll[20].Share != 0.5 {
		t.Errorf("scroll %+v; want all to 60%%, half to 100%%", rep.Scroll)
	}
	if len(rep.Pages) != 2 || rep.Pages[1].Page != "/user/:redacted" {
		t.Errorf("pages %+v; want /pricing and the redacted address", rep.Pages)
	}
	if len(rep.Bands) != 2 || rep.Bands[0].Band != "phone" {
		t.Errorf("bands %+v", rep.Bands)
	}
	ph, err := r.Report("demo", "/pricing", "phone", "", from, from+2*dayMs)
	if err != nil || ph.Clicks != 1 || ph.Dead != 1 || ph.Views != 1 || ph.Scroll[4].Share != 1 || ph.Scroll[5].Share != 0 {
		t.Errorf("phone: %+v, %v", ph, err)
	}
	if _, err := r.Report("demo", "", "watch", "", from, from+dayMs); err == nil {
		t.Error("band watch: no error")
	}
	other, err := r.Report("shop", "", "", "", from, from+2*dayMs)
	if err != nil || len(other.Pages) != 0 || other.Clicks != 0 {
		t.Errorf("another site: %+v, %v; want nothing", other, err)
	}
}

func TestTopListsStayBoundedAndMerge(t *testing.T) {
	var a, b Table
	for i := range 1000 {
		a.AddClick(Click{Sel: fmt.Sprintf("#rare%d", i)})
		a.AddClick(Click{Sel: "#hot", Rage: i%10 == 0, Dead: i%20 == 0})
		b.AddClick(Click{Sel: "#hot"})
	}
	if len(a.Top) != TopClicks || len(a.Rages) != 1 || len(a.Grid) != 1 {
		t.Fatalf("top %d rages %d grid %d; want %d, 1, 1", len(a.Top), len(a.Rages), len(a.Grid), TopClicks)
	}
	a.Merge(&b)
	Sort(a.Top)
	if a.Top[0].Sel != "#hot" || a.Top[0].Count != 2000 || a.Clicks != 3000 || a.Rage != 100 || a.Dead != 50 {
		t.Errorf("merged: top %+v clicks %d rage %d dead %d", a.Top[0], a.Clicks, a.Rage, a.Dead)
	}
	enc := a.Encode(nil)
	back, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Encode(nil), enc) || back.Clicks != a.Clicks || len(back.Top) != TopClicks {
		t.Error("decode(encode) differs")
	}
	if len(enc) > 64<<10 {
		t.Errorf("a full table takes %d bytes; want it bounded well under 64 KiB", len(enc))
	}
	for _, bad := range [][]byte{nil, {9}, enc[:len(enc)-1], append(enc, 0)} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%d bytes) = nil error", len(bad))
		}
	}
}

func TestParseBatch(t *testing.T) {
	ok := `{"site":"demo","id":"x","url":"https://a.example/p","w":800,"clicks":[{"s":"#a","x":0.5,"y":0.5,"px":1,"py":2,"r":true}],"scroll":50}`
	if b, err := ParseBatch([]byte(ok)); err != nil || len(b.Clicks) != 1 || !b.Clicks[0].Rage || *b.Scroll != 50 {
		t.Fatalf("ParseBatch(ok) = %+v, %v", b, err)
	}
	for _, bad := range []string{
		`{"site":"demo","url":"https://a.example/p","w":800}`,
		`{"site":"demo","id":"x","url":"/p","w":800}`,
		`{"site":"demo","id":"x","url":"https://a.example/p","w":0}`,
		`{"site":"demo","id":"x","url":"https://a.example/p","w":800,"scroll":101}`,
		`{"site":"demo","id":"x","url":"https://a.example/p","w":800,"clicks":[{"s":"","x":0,"y":0}]}`,
		`{"site":"demo","id":"x","url":"https://a.example/p","w":800,"clicks":[{"s":"#a","x":2,"y":0}]}`,
		`{"site":"demo","id":"x","url":"https://a.example/p","w":800,"extra":1}`,
		`{"site":"demo","id":"x","url":"https://a.example/p","w":800} {}`,
	} {
		if _, err := ParseBatch([]byte(bad)); err == nil {
			t.Errorf("ParseBatch(%s) = nil error", bad)
		}
	}
}

func TestDimensionsFilterTheReport(t *testing.T) {
	r := openRecorder(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	from := at.Truncate(24 * time.Hour).UnixMilli()
	click := []WireClick{{Sel: "#buy", X: 0.5, Y: 0.5, PX: 10, PY: 10}}
	paid := []string{"channel:Paid Social", "segment:paid", "arm:banner:loud", "step:viewed_pricing"}
	for i, dims := range [][]string{paid, paid, {"channel:Direct"}, nil} {
		if _, err := r.Record("demo", &Batch{ID: fmt.Sprint("b", i), URL: "https://shop.example/pricing", Width: 1280, Clicks: click}, dims, at); err != nil {
			t.Fatal(err)
		}
	}
	for dim, want := range map[string]uint64{"": 4, "channel:Paid Social": 2, "segment:paid": 2, "arm:banner:loud": 2, "step:viewed_pricing": 2, "channel:Direct": 1, "segment:other": 0} {
		rep, err := r.Report("demo", "/pricing", "", dim, from, from+dayMs)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Clicks != want || rep.Filter != dim {
			t.Errorf("filter %q: %d clicks (filter %q); want %d", dim, rep.Clicks, rep.Filter, want)
		}
	}
}

func TestDimsOf(t *testing.T) {
	st := &journey.State{
		Touchpoints: []journey.Touchpoint{{Channel: "Organic Search"}, {Channel: "Paid Social"}},
		Segments:    []string{"paid", "returning"},
		Experiments: []journey.Assignment{{Experiment: "banner", Variant: "loud"}},
		Steps:       []journey.Count{{Key: "landed", N: 1}, {Key: "never", N: 0}},
	}
	want := []string{"channel:Paid Social", "segment:paid", "segment:returning", "arm:banner:loud", "step:landed"}
	if got := DimsOf(st); !reflect.DeepEqual(got, want) {
		t.Errorf("DimsOf = %q; want %q", got, want)
	}
	for range 40 {
		st.Segments = append(st.Segments, "s")
	}
	if got := DimsOf(st); len(got) != MaxDims {
		t.Errorf("DimsOf of many segments: %d dims; want at most %d", len(got), MaxDims)
	}
}
