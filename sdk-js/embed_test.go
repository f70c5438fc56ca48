package sdkjs

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
)

func TestBundles(t *testing.T) {
	tests := []struct {
		name string
		get  func() []byte
		want []string // substrings the bundle must contain
	}{
		{"Snippet", Snippet, []string{"/v1/hit", "/v1/beacon", "pathlight:decision", "pl-ui.js", "pl-hm.js"}},
		{"UI", UI, []string{"pathlight-prompt", "attachShadow", "role=dialog"}},
		{"Heatmap", Heatmap, []string{"/v1/capture", "MutationObserver", "pl_hq", "pl-rr.js"}},
		{"Replay", Replay, []string{"/v1/replay", "pl_rq", "pl-block", "pl-unmask", "CompressionStream"}},
	}
	for _, tt := range tests {
		b := tt.get()
		if len(b) == 0 {
			t.Fatalf("%s() is empty; run npm run build in sdk-js", tt.name)
		}
		for _, w := range tt.want {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("%s() does not contain %q", tt.name, w)
			}
		}
		b[0] = 0 // a caller's copy is its own
		if tt.get()[0] == 0 {
			t.Errorf("%s() returned shared bytes; want a copy", tt.name)
		}
	}
}

func TestDemo(t *testing.T) {
	const tag = `<script async src="/pl.js" data-site="demo"></script>`
	tests := []struct {
		file  string
		slots []string
		event []string
	}{
		{"index.html", []string{"hero", "home_returning", "cart_message"}, nil},
		{"products/jacket/index.html", nil, []string{"add_to_cart"}},
		{"pricing/index.html", []string{"pricing_offer"}, nil},
		{"cart/index.html", []string{"cart_message"}, []string{"begin_checkout"}},
		{"checkout/index.html", []string{"checkout_banner"}, nil},
		{"checkout/pay/index.html", nil, []string{"purchase"}},
		{"thanks/index.html", nil, nil},
		{"signup/index.html", nil, []string{"signup"}},
	}
	demo := Demo()
	for _, tt := range tests {
		b, err := fs.ReadFile(demo, tt.file)
		if err != nil {
			t.Errorf("ReadFile(Demo(), %q) = %v; want the page", tt.file, err)
			continue
		}
		page := string(b)
		if !strings.Contains(page, tag) {
			t.Errorf("%s does not embed the snippet as %s", tt.file, tag)
		}
		for _, s := range tt.slots {
			if !strings.Contains(page, `data-pl-slot="`+s+`"`) {
				t.Errorf("%s has no slot %q", tt.file, s)
			}
		}
		for _, e := range tt.event {
			if !strings.Contains(page, `data-pl-event="`+e+`"`) {
				t.Errorf("%s has no data-pl-event %q", tt.file, e)
			}
		}
	}
	for _, f := range []string{"style.css", "shop.js"} {
		if _, err := fs.Stat(demo, f); err != nil {
			t.Errorf("Stat(Demo(), %q) = %v; want the file", f, err)
		}
	}
}
