package server

import (
	"testing"
	"time"
)

func TestDashSessions(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	d := newDashSessions(time.Hour, 3, clock)
	a, err := d.start()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		want bool
	}{
		{a, true},
		{"", false},
		{a[:42], false},
		{a[:42] + "x", false},
		{a + "x", false},
	}
	for _, tt := range tests {
		if got := d.valid(tt.id); got != tt.want {
			t.Errorf("valid(%q) = %v; want %v", tt.id, got, tt.want)
		}
	}
	now = now.Add(59 * time.Minute)
	if !d.valid(a) {
		t.Errorf("valid(%q) after 59 minutes = false; want true", a)
	}
	now = now.Add(time.Minute)
	if d.valid(a) {
		t.Errorf("valid(%q) after an hour = true; want false", a)
	}
	if n := d.len(); n != 0 {
		t.Errorf("len() after the expired session was seen = %d; want 0", n)
	}

	// Beyond the bound, the oldest session makes room.
	var ids []string
	for i := range 5 {
		now = now.Add(time.Second)
		id, err := d.start()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if n := d.len(); n > 3 {
			t.Fatalf("len() after %d sessions = %d; want at most 3", i+1, n)
		}
	}
	for i, id := range ids {
		if want := i >= 2; d.valid(id) != want {
			t.Errorf("valid(session %d) = %v; want %v (the two oldest were ended)", i, !want, want)
		}
	}
	d.end(ids[4])
	if d.valid(ids[4]) {
		t.Errorf("valid(%q) after end = true; want false", ids[4])
	}
}

func TestSafeFragment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"#/funnels?range=7d&funnel=purchase", "#/funnels?range=7d&funnel=purchase"},
		{"", ""},
		{"#funnels", ""},
		{"//evil.example/", ""},
		{"https://evil.example/", ""},
		{"#/x\r\nSet-Cookie: a=b", ""},
		{"#/x y", ""},
		{"#/x\\y", ""},
		{"#/é", ""},
	}
	for _, tt := range tests {
		if got := safeFragment(tt.in); got != tt.want {
			t.Errorf("safeFragment(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkDashSessionValid(b *testing.B) {
	d := newDashSessions(time.Hour, dashMaxSessions, time.Now)
	id, err := d.start()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !d.valid(id) {
			b.Fatal("session not valid")
		}
	}
}
