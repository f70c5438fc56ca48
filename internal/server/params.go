package server

import (
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
)

// onlyParams answers 400 for a query string that has a parameter takes does not list, naming
// it and those subject takes, or a parameter given twice, and reports whether the query is
// well formed. The admin API refuses what it would otherwise ignore, as the command line
// refuses an unknown flag: ?range=90d must not answer for the default period without a word.
func (s *Server) onlyParams(ctx *fasthttp.RequestCtx, subject string, takes ...string) bool {
	args := ctx.QueryArgs()
	if args.Len() == 0 {
		return true
	}
	names := make([]string, 0, args.Len())
	var twice []string
	for k := range args.All() {
		n := string(k)
		if slices.Contains(names, n) && !slices.Contains(twice, n) {
			twice = append(twice, n)
		}
		names = append(names, n)
	}
	if err := analytics.CheckParams(names, takes, subject); err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return false
	}
	if len(twice) > 0 {
		for i, n := range twice {
			twice[i] = quote(n)
		}
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", strings.Join(twice, ", ")+": given more than once; give each parameter once")
		return false
	}
	return true
}
