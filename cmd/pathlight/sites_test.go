package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sitesVID is the visitor of TestExampleRulesServeTheDemoOnly: outside the example rules'
// 5% holdout, so the demo's hits get its personalised content.
const sitesVID = "0123456789abcdef0123456789abcd01"

// allDemoSlots are the slots the demo shop's pages ask for.
var allDemoSlots = []string{"hero", "pricing_offer", "cart_message", "checkout_banner", "home_returning"}

// TestExampleRulesServeTheDemoOnly: `pathlight serve` with the example rules and a second
// site for the user's own pages: the user's pages get none of the demo's slots, prompts or
// experiments and reach none of its steps, however much they look like the demo shop's;
// the demo still gets them; GET /api/v1/rules and explain show the rules' sites.
func TestExampleRulesServeTheDemoOnly(t *testing.T) {
	p := startServe(t, filepath.Join(t.TempDir(), "data"), "--sites", "demo=*;mine=http://localhost:3000")
	post := func(path, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequest("POST", p.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", crashUA)
		req.Header.Set("Origin", "http://localhost:3000")
		return doJSON(t, req, http.StatusOK)
	}
	slots, _ := json.Marshal(allDemoSlots)
	hit := func(site, id, url string) map[string]any {
		return post("/v1/hit", `{"site":"`+site+`","vid":"`+sitesVID+`","slots":`+string(slots)+
			`,"events":[{"id":"`+id+`","type":"pageview","url":"`+url+`"}]}`)
	}
	decisions := func(r map[string]any) string {
		b, _ := json.Marshal(r["decisions"])
		return string(b)
	}
	// The user's own pages, as the demo shop's visitors browse it: an ad click, the
	// pricing page three times, the checkout.
	for i, url := range []string{
		"http://localhost:3000/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring",
		"http://localhost:3000/pricing", "http://localhost:3000/pricing", "http://localhost:3000/pricing",
		"http://localhost:3000/checkout",
	} {
		r := hit("mine", "m"+string(rune('0'+i)), url)
		if got := decisions(r); got != `{"prompts":[],"slots":{}}` {
			t.Fatalf("hit %d of site mine (%s): decisions %s; want none of the demo's", i+1, url, got)
		}
	}
	d := post("/v1/decide", `{"site":"mine","vid":"`+sitesVID+`","slots":["hero","checkout_banner"],"url":"http://localhost:3000/checkout"}`)
	if got := decisions(d); got != `{"prompts":[],"slots":{}}` {
		t.Errorf("decide for site mine: %s; want none of the demo's", got)
	}

	admin := func(path string, status int) map[string]any {
		t.Helper()
		req, err := http.NewRequest("GET", p.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+crashToken)
		return doJSON(t, req, status)
	}
	v := admin("/api/v1/visitors/"+sitesVID, http.StatusOK)
	if steps, _ := v["steps"].(map[string]any); len(steps) != 0 || v["experiments"] != nil && len(v["experiments"].(map[string]any)) != 0 {
		t.Errorf("after the hits of site mine the visitor has steps %v and experiments %v; want none of the demo's", v["steps"], v["experiments"])
	}
	// A purchase on the user's own site is a conversion: no conversion step of the rules
	// serves site mine, so the default conversion (every purchase event) counts it there.
	const buyer = "0123456789abcdef0123456789abcd02"
	post("/v1/hit", `{"site":"mine","vid":"`+buyer+`","events":[{"id":"b1","type":"event","name":"purchase","url":"http://localhost:3000/thanks","props":{"value":30}}]}`)
	if b := admin("/api/v1/visitors/"+buyer, http.StatusOK); b["conversions"] != 1.0 || b["value"] != 30.0 {
		t.Errorf("a purchase on site mine: conversions %v, value %v; want 1 and 30", b["conversions"], b["value"])
	}
	// An answer to the demo's survey sent from site mine, where it is never offered, is refused.
	ans := post("/v1/hit", `{"site":"mine","vid":"`+buyer+`","events":[{"id":"a1","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Price","url":"http://localhost:3000/pricing"}]}`)
	if rej, _ := ans["rejected"].([]any); len(rej) != 1 || !strings.Contains(fmt.Sprint(rej[0]), "serves only demo") {
		t.Errorf("an answer to the demo's survey on site mine: rejected %v; want it refused as serving only demo", ans["rejected"])
	}
	ex := admin("/api/v1/visitors/"+sitesVID+"/explain?site=mine", http.StatusOK)
	if ex["site"] != "mine" || ex["slots"] != nil {
		t.Errorf("explain for site mine: site %v, slots %v; want mine and no slot", ex["site"], ex["slots"])
	}
	for _, pr := range ex["prompts"].([]any) {
		if m := pr.(map[string]any); m["blocked_by"] != "sites: serves only demo" || !slices.Equal(toStrings(m["sites"]), []string{"demo"}) {
			t.Errorf("explain prompt %v; want it blocked as serving only demo", m)
		}
	}
	admin("/api/v1/visitors/"+sitesVID+"/explain?site=nosuch", http.StatusBadRequest)

	// The demo itself still gets its rules: the ad's hero, and the steps. Its pricing page
	// is the first the demo's step counts: the three of site mine did not count.
	r := hit("demo", "d1", "http://127.0.0.1:8080/pricing?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring")
	if got := decisions(r); !strings.Contains(got, `"hero":{"content":"\u003ch1\u003eThe Trail Jacket from the ad`) &&
		!strings.Contains(got, `"hero":{"content":"<h1>The Trail Jacket from the ad`) {
		t.Errorf("demo hit: decisions %s; want the paid social hero", got)
	}
	v = admin("/api/v1/visitors/"+sitesVID, http.StatusOK)
	if steps, _ := v["steps"].(map[string]any); len(steps) != 1 || steps["viewed_pricing"] == nil ||
		steps["viewed_pricing"].(map[string]any)["count"] != 1.0 {
		t.Errorf("after a demo hit the visitor has steps %v; want viewed_pricing once", v["steps"])
	}

	rl := admin("/api/v1/rules", http.StatusOK)
	scopes, _ := rl["scopes"].([]any)
	if len(scopes) == 0 || rl["warnings"] != nil {
		t.Fatalf("GET /api/v1/rules: scopes %v, warnings %v; want the rules' scopes and no warning", rl["scopes"], rl["warnings"])
	}
	for _, s := range scopes {
		if m := s.(map[string]any); !slices.Equal(toStrings(m["sites"]), []string{"demo"}) {
			t.Errorf("GET /api/v1/rules: %v; want every example rule to serve demo only", m)
		}
	}

	// The quick start's server (no --sites: demo and the README's shop, any origin): a hit of
	// the README's snippet on the user's own page keeps its own hero.
	p3 := startServe(t, filepath.Join(t.TempDir(), "data"))
	req, _ := http.NewRequest("POST", p3.url+"/v1/hit", strings.NewReader(`{"site":"shop","slots":`+string(slots)+
		`,"events":[{"id":"q1","type":"pageview","url":"http://localhost:3000/?utm_source=facebook&utm_medium=paid_social"}]}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", crashUA)
	req.Header.Set("Origin", "http://localhost:3000")
	if got := decisions(doJSON(t, req, http.StatusOK)); got != `{"prompts":[],"slots":{}}` {
		t.Errorf("quick start, site shop: decisions %s; want none of the demo's", got)
	}

	// A server that does not serve the demo says its rules never apply.
	p2 := startServe(t, filepath.Join(t.TempDir(), "data"), "--sites", "mine=http://localhost:3000")
	req, _ = http.NewRequest("GET", p2.url+"/api/v1/rules", nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	w := toStrings(doJSON(t, req, http.StatusOK)["warnings"])
	if len(w) != 1 || !strings.Contains(w[0], `rules serve site "demo", which this server does not serve (it serves mine)`) {
		t.Errorf("warnings %q; want one about the demo site", w)
	}
	if !strings.Contains(p2.stderr.String(), `rules serve site \"demo\", which the configuration does not serve`) {
		t.Errorf("serve logged %q; want the warning at load", p2.stderr.String())
	}
}

// doJSON sends req and decodes its JSON reply, which must have status.
func doJSON(t *testing.T, req *http.Request, status int) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s; want %d", req.Method, req.URL.Path, resp.StatusCode, b, status)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %v in %s", req.Method, req.URL.Path, err, b)
	}
	return m
}

// toStrings converts a decoded JSON list of strings.
func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
