// Package dashboard holds Pathlight's dashboard for marketers: a single-page app built from
// web/src into dist/ with esbuild (the charts library bundled in, nothing loaded from another
// origin at run time). The server embeds dist/ and serves it under /dashboard/, so the binary
// serves the very bytes the dashboard's browser tests checked: a test in web/ fails when
// dist/ differs from a fresh build of web/src.
package dashboard

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// FS returns the built dashboard, rooted so that "index.html" is the app's page and
// "login.html" the sign-in page. The files cannot change at run time.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid directory name, and "dist" is a valid constant.
		return dist
	}
	return sub
}
