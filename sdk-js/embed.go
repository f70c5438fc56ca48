// Package sdkjs holds Pathlight's browser snippet, built from src/ into dist/ with esbuild, and
// the demo shop that embeds it. The Go server embeds the built files from here, so the binary
// serves the very bytes the snippet's tests checked: a test in this directory fails when dist/
// differs from a fresh build of src/.
package sdkjs

import (
	"embed"
	"io/fs"
)

// The built bundles are kept as strings: they cannot be changed at run time, and each accessor
// hands out its own copy.
var (
	//go:embed dist/pl.js
	snippet string
	//go:embed dist/pl-ui.js
	ui string
	//go:embed dist/pl-hm.js
	heatmap string
	//go:embed dist/pl-rr.js
	replay string
	//go:embed demo
	demo embed.FS
)

// Snippet returns the tracking snippet that every page loads (/pl.js): tracking, the retry
// queue, decisions, slots and anti-flicker, and prompt trigger arming. It returns a new copy on
// each call, so the server should call it once at start-up.
func Snippet() []byte { return []byte(snippet) }

// UI returns the survey and chat prompt UI (/pl-ui.js), which the snippet loads from its own
// origin only when the server sends a prompt. It returns a new copy on each call.
func UI() []byte { return []byte(ui) }

// Heatmap returns the heatmap capture chunk (/pl-hm.js), which the snippet loads only for a
// pageview the capture rules sample. It returns a new copy on each call.
func Heatmap() []byte { return []byte(heatmap) }

// Replay returns the session replay chunk (/pl-rr.js, rrweb's recorder), which the heatmap
// chunk loads only for a pageview the capture rules sample for replay, with consent. It
// returns a new copy on each call.
func Replay() []byte { return []byte(replay) }

// Demo returns the demo shop's static pages, rooted so that "index.html" is the landing page
// and "products/jacket/index.html" is /products/jacket. Every page embeds the snippet as
// <script async src="/pl.js" data-site="demo">.
func Demo() fs.FS {
	sub, err := fs.Sub(demo, "demo")
	if err != nil {
		// fs.Sub fails only for an invalid directory name, and "demo" is a valid constant.
		return demo
	}
	return sub
}
