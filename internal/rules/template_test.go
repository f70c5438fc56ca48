package rules

import "testing"

func TestContentTemplates(t *testing.T) {
	set := mustLoad(t, "steps: [{id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}]\n")
	st, h := fieldFixture()
	var c Context
	c.reset(set, st, h, 0)
	comp := &compiler{set: set, stepIndex: map[string]int{"viewed_pricing": 0}, experimentIDs: map[string]bool{}, promptIDs: map[string]bool{}}
	resolve := func(p string) (getter, error) { return comp.field(p, scopeRule) }
	tests := []struct {
		src, want string
	}{
		{"<h1>Plain</h1>", "<h1>Plain</h1>"},
		{"Hi {{ visitor.traits.plan }}!", "Hi pro!"},
		{"{{visitor.traits.seats}} seats, {{ visitor.value }}", "5 seats, 120.5"},
		{"{{ visitor.traits.name | default: \"there\" }}", "there"},
		{"{{ visitor.traits.name | default: 'a & b' }}", "a &amp; b"},
		{"{{ visitor.traits.name }}|", "|"},
		{"<a href=\"?q={{ page.referrer }}\">", "<a href=\"?q=https://m.facebook.com/\">"},
		{"{{ visitor.known }} {{ steps.viewed_pricing.count }}", "true 3"},
	}
	for _, tt := range tests {
		ct, err := parseContent(tt.src, resolve)
		if err != nil {
			t.Errorf("parseContent(%q) error = %v", tt.src, err)
			continue
		}
		if got := ct.render(&c); got != tt.want {
			t.Errorf("render(%q) = %q; want %q", tt.src, got, tt.want)
		}
	}
}

func TestContentEscapes(t *testing.T) {
	set := Empty()
	st, h := fieldFixture()
	st.Traits[0].Val.Str = `<script>alert("x")</script>'&`
	var c Context
	c.reset(set, st, h, 0)
	comp := &compiler{set: set, experimentIDs: map[string]bool{}, promptIDs: map[string]bool{}}
	ct, err := parseContent("<b>{{ visitor.traits.plan }}</b>", func(p string) (getter, error) { return comp.field(p, scopeRule) })
	if err != nil {
		t.Fatal(err)
	}
	want := "<b>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;&amp;</b>"
	if got := ct.render(&c); got != want {
		t.Errorf("render = %q; want %q", got, want)
	}
}

func TestContentErrors(t *testing.T) {
	comp := &compiler{set: Empty(), experimentIDs: map[string]bool{}, promptIDs: map[string]bool{}}
	resolve := func(p string) (getter, error) { return comp.field(p, scopeRule) }
	tests := []struct{ src, want string }{
		{"Hi {{ visitor.traits.plan", `unclosed {{ in "{{ visitor.traits.plan"`},
		{"Hi {{ }}", `{{ }}: empty placeholder`},
		{"Hi {{ visitor.name }}", `{{ visitor.name }}: unknown field; did you mean "visitor.traits.name"?`},
		{"Hi {{ visitor.id | upcase }}", `{{ visitor.id | upcase }}: unknown filter "upcase" (the only filter is default: "text")`},
	}
	for _, tt := range tests {
		_, err := parseContent(tt.src, resolve)
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseContent(%q) error = %v; want %q", tt.src, err, tt.want)
		}
	}
}
