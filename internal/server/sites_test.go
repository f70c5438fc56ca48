package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSitesList(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"configured", nil, `{"sites":[{"id":"shop","origins":["https://shop.example"]}],"any_origin":false}`},
		{"two sites", []string{"--sites", "shop=https://shop.example;blog=https://blog.example,https://www.blog.example"},
			`{"sites":[{"id":"shop","origins":["https://shop.example"]},{"id":"blog","origins":["https://blog.example","https://www.blog.example"]}],"any_origin":false}`},
		{"any origin", []string{"--sites", ""}, `{"sites":[{"id":"demo","origins":["*"]},{"id":"shop","origins":["*"]}],"any_origin":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := start(t, tt.flags...)
			r := ts.do(t, "GET", "/api/v1/sites", "", "Authorization", "Bearer "+token)
			if r.status != 200 || r.body != tt.want {
				t.Fatalf("GET /api/v1/sites = %d %s; want 200 %s", r.status, r.body, tt.want)
			}
			if r := ts.do(t, "GET", "/api/v1/sites", ""); r.status != 401 {
				t.Fatalf("GET /api/v1/sites without token = %d; want 401", r.status)
			}
			if r := ts.do(t, "POST", "/api/v1/sites", "", "Authorization", "Bearer "+token); r.status != 405 {
				t.Fatalf("POST /api/v1/sites = %d; want 405", r.status)
			}
		})
	}
}

// exportedLine is the part of an NDJSON export line the visitor tests look at.
type exportedLine struct {
	ID, VID string
	TS      int64
}

func exportLines(t *testing.T, body string) []exportedLine {
	t.Helper()
	var out []exportedLine
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var e exportedLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestExportOneVisitor(t *testing.T) {
	ts := start(t)
	vids := map[string]string{} // visitor name → vid
	for i := 0; i < 6; i++ {
		who := []string{"a", "b"}[i%2]
		r := ts.do(t, "POST", "/v1/hit", fmt.Sprintf(`{"site":"shop","events":[{"id":"%s%d","type":"event","name":"add_to_cart","url":"https://shop.example/p"}]}`, who, i), "Cookie", "pl_vid="+vids[who])
		h := decode[hitReply](t, r.body)
		if len(h.Accepted) != 1 {
			t.Fatalf("hit %d: %s", i, r.body)
		}
		vids[who] = h.VID
	}
	tests := []struct {
		who, query, want string
	}{
		{"a", "", "a0,a2,a4"},
		{"b", "", "b1,b3,b5"},
		{"a", "&from=0", "a0,a2,a4"},
		{"a", "&to=1", ""},
	}
	for _, tt := range tests {
		path := "/api/v1/events?vid=" + vids[tt.who] + tt.query
		r := ts.do(t, "GET", path, "", "Authorization", "Bearer "+token)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-ndjson") {
			t.Fatalf("GET %s = %d %s", path, r.status, r.header.Get("Content-Type"))
		}
		var ids []string
		var last int64
		for _, e := range exportLines(t, r.body) {
			if e.VID != vids[tt.who] {
				t.Errorf("GET %s: line of visitor %q; want only %q", path, e.VID, vids[tt.who])
			}
			if e.TS < last {
				t.Errorf("GET %s: ts %d after %d; want time order", path, e.TS, last)
			}
			last = e.TS
			ids = append(ids, e.ID)
		}
		if got := strings.Join(ids, ","); got != tt.want {
			t.Errorf("GET %s ids = %q; want %q", path, got, tt.want)
		}
	}

	unknown := strings.Repeat("0", len(vids["a"]))
	for _, vid := range []string{unknown} { // a malformed id is a 400: TestMalformedVisitorIDIsBadRequest
		r := ts.do(t, "GET", "/api/v1/events?vid="+vid, "", "Authorization", "Bearer "+token)
		if r.status != 404 || !strings.HasPrefix(r.header.Get("X-Pathlight-Reason"), "unknown_visitor") {
			t.Errorf("GET /api/v1/events?vid=%s = %d %q; want 404 unknown_visitor", vid, r.status, r.header.Get("X-Pathlight-Reason"))
		}
	}
	if r := ts.do(t, "GET", "/api/v1/events?vid="+vids["a"]+"&from=later", "", "Authorization", "Bearer "+token); r.status != 400 {
		t.Errorf("GET with a bad from = %d; want 400", r.status)
	}
}
