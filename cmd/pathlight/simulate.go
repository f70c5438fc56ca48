package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
)

const simulateUsage = `Usage: pathlight simulate --server URL --token T [flags]

Sends realistic traffic for a site to a running server through POST /api/v1/import: visitors
arrive over the last --days days from the GA4 channels (each with its own conversion
propensity) and browse the demo shop, Trailhead (sdk-js/demo): the jacket's page, where they
add it to the cart (129 USD), the club's pricing and signup, the cart, where checkout
begins, the checkout, the payment (the purchase) and the thank-you page. They follow the
rules the server runs (GET /api/v1/rules): they visit the pages and send the events its steps
ask for that the shop does not have, send its conversion steps' events with the purchase,
answer its surveys, and ask for page slots as the snippet does, with the slot of each of its
experiments (so experiments expose them).
The paid visits' cost is sent as spend (PUT /api/v1/spend/simulate-<site>-<seed>), so CAC
and ROAS can be computed. The same --seed and --end give the same events, ids included. It
stops after --max-duration.

Flags:
`

// Bounds of a simulation: over HTTP, and straight into a data directory (--data).
const (
	maxSimVisitors       = 100_000
	maxSimVisitorsDirect = 5_000_000
	maxSimDays           = 400
)

// simConfig is what a simulation generates.
type simConfig struct {
	site     string
	visitors int
	days     int
	seed     uint64
	end      time.Time // visitors arrive in [end − days, end)
	rules    simRules
}

// simulateCmd runs `pathlight simulate`.
func simulateCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "URL of the running server")
	tok := fs.String("token", "", "admin token (default: $PATHLIGHT_ADMIN_TOKEN)")
	site := fs.String("site", "demo", "site id of the traffic")
	visitors := fs.Int("visitors", 500, fmt.Sprintf("visitors to simulate (at most %d)", maxSimVisitors))
	days := fs.Int("days", 30, fmt.Sprintf("days the visitors arrive over (at most %d; keep it within the server's retention)", maxSimDays))
	seed := fs.Uint64("seed", 1, "random seed: the same seed and --end give the same traffic")
	end := fs.String("end", "", "end of the simulated period: RFC 3339, a date or Unix ms (default: now, to the minute)")
	maxDur := fs.Duration("max-duration", 60*time.Second, "stop sending after this long")
	chunk := fs.Int("chunk", 4<<20, "largest import request body in bytes (the server accepts up to 64 MiB on an authorised import)")
	out := fs.String("out", "", "write the NDJSON import to this file (- for stdout) instead of sending it")
	spendOut := fs.String("spend-out", "", "with --out: write the spend CSV to this file")
	rulesDir := fs.String("rules", "./rules", "with --out or --data: the rules the traffic follows (with --server, the server's; with --data, the rules the server serves)")
	data := fs.String("data", "", "write straight into this data directory of a stopped server instead of sending (fast; up to 5,000,000 visitors)")
	fs.Usage = func() {
		fmt.Fprint(stderr, simulateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	fail := func(format string, a ...any) error {
		return exitError{code: 2, msg: "pathlight simulate: " + fmt.Sprintf(format, a...)}
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case *data == "" && (*visitors < 1 || *visitors > maxSimVisitors):
		return fail("--visitors %d: want 1 to %d (or up to %d with --data)", *visitors, maxSimVisitors, maxSimVisitorsDirect)
	case *data != "" && (*visitors < 1 || *visitors > maxSimVisitorsDirect):
		return fail("--visitors %d: want 1 to %d", *visitors, maxSimVisitorsDirect)
	case *data != "" && (*out != "" || *server != ""):
		return fail("--data writes into a data directory: give it without --server and --out")
	case *days < 1 || *days > maxSimDays:
		return fail("--days %d: want 1 to %d", *days, maxSimDays)
	case *chunk < 4096 || *chunk > 64<<20:
		return fail("--chunk %d: want 4096 bytes to 64 MiB", *chunk)
	case *maxDur <= 0:
		return fail("--max-duration %v: want a positive duration", *maxDur)
	case *site == "":
		return fail("--site: want a site id")
	case *out == "" && *server == "" && *data == "":
		return fail("give --server (or --out to write the import to a file, or --data to write into a stopped server's data directory)")
	}
	c := simConfig{site: *site, visitors: *visitors, days: *days, seed: *seed, end: time.Now().UTC().Truncate(time.Minute)}
	if *end != "" {
		ms, err := analytics.ParseTime(*end)
		if err != nil {
			return fail("--end: %v", err)
		}
		c.end = time.UnixMilli(ms).UTC()
	}
	if *data != "" {
		if c.end.After(time.Now().Add(time.Minute)) {
			return fail("--end %s is in the future: the server refuses events from the future", c.end.Format(time.RFC3339))
		}
		return simulateDirect(c, *data, *rulesDir, *maxDur, stdout, stderr)
	}
	token := *tok
	if token == "" {
		token = getenv("PATHLIGHT_ADMIN_TOKEN")
	}
	if *out == "" {
		// What the server would refuse line by line is refused before anything is sent.
		switch {
		case token == "":
			return fail("give the admin token with --token or PATHLIGHT_ADMIN_TOKEN")
		case c.end.After(time.Now().Add(time.Minute)):
			return fail("--end %s is in the future: the server refuses events from the future", c.end.Format(time.RFC3339))
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *maxDur)
	defer cancel()
	var version string
	var err error
	if *out != "" {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "rules" })
		c.rules, version, err = dirRules(*rulesDir, c.site, given, stderr)
	} else {
		c.rules, version, err = serverRules(ctx, strings.TrimRight(*server, "/"), token, c.site)
	}
	if err != nil {
		return err
	}
	lines, spend := simulateLines(c)
	if *out != "" {
		if *spendOut != "" {
			if err := os.WriteFile(*spendOut, spendCSV(spend), 0o644); err != nil {
				return exitError{code: 1, msg: "pathlight simulate: " + err.Error()}
			}
		}
		return writeLines(*out, stdout, lines)
	}
	total, sent, reqs, err := sendLines(ctx, strings.TrimRight(*server, "/"), token, lines, *chunk)
	fmt.Fprintf(stdout, "simulated %s over %s (seed %d, rules %s): sent %d of %s in %s in %s\n",
		plural(c.visitors, "visitor", ""), plural(c.days, "day", ""), c.seed, version, sent, plural(len(lines), "line", ""), plural(reqs, "request", ""), since(start))
	fmt.Fprintf(stdout, "accepted %s, %s, %d rejected, %s\n",
		plural(total.Accepted, "event", ""), plural(total.Duplicate, "duplicate", ""), total.Rejected, plural(total.BadLines, "bad line", ""))
	for _, e := range total.Errors[:min(5, len(total.Errors))] {
		fmt.Fprintf(stdout, "  line %d: %s\n", e.Line, e.Error)
	}
	if ctx.Err() != nil && sent < len(lines) {
		return exitError{code: 1, msg: fmt.Sprintf("pathlight simulate: stopped after --max-duration %v with %d lines unsent", *maxDur, len(lines)-sent)}
	}
	if err != nil {
		return err
	}
	source := spendSource(c.site, c.seed)
	put, err := sendSpend(ctx, strings.TrimRight(*server, "/"), token, source, spend)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "spend: %s, %.2f %s in all, as source %s\n", plural(put.Rows, "row", ""), put.Amount, put.Currency, source)
	if total.BadLines > 0 || total.Rejected > 0 {
		// Not all the traffic arrived: a script must not take that for a success.
		return exitError{code: 1, msg: fmt.Sprintf("pathlight simulate: the server refused %d of the %d lines sent and rejected %d events", total.BadLines, sent, total.Rejected)}
	}
	return nil
}

// spendSource names the spend of a simulation: one per site and seed, so that sending the
// same simulation again replaces its spend rather than adding it twice.
func spendSource(site string, seed uint64) string {
	b := []byte("simulate-")
	for _, r := range strings.ToLower(site) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b = append(b, byte(r))
		} else {
			b = append(b, '-')
		}
	}
	b = fmt.Appendf(b, "-%d", seed)
	return string(b[:min(len(b), 64)])
}

// spendChunk bounds one spend request, below the server's default body limit of 64 KiB.
const spendChunk = 48 << 10

// sendSpend replaces the source's spend on the server with rows: the first part with PUT,
// the rest, when the rows are larger than one request may be, with POST.
func sendSpend(ctx context.Context, server, token, source string, rows []simSpend) (*analytics.SpendPut, error) {
	method := http.MethodPut
	var res *analytics.SpendPut
	for first := true; first || len(rows) > 0; first = false {
		n := 0
		for size := 0; n < len(rows) && size < spendChunk; n++ {
			size += len(rows[n].day) + len(rows[n].channel) + len(rows[n].campaign) + 16
		}
		req, err := http.NewRequestWithContext(ctx, method, server+"/api/v1/spend/"+source, bytes.NewReader(spendCSV(rows[:n])))
		if err != nil {
			return nil, exitError{code: 2, msg: "pathlight simulate: " + err.Error()}
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			return nil, fmt.Errorf("spend: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("spend: read the reply: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, apiError(resp.StatusCode, b)
		}
		res = new(analytics.SpendPut)
		if err := json.Unmarshal(b, res); err != nil {
			return nil, fmt.Errorf("spend: %w", err)
		}
		rows, method = rows[n:], http.MethodPost
	}
	return res, nil
}

// writeLines writes the import to a file, or stdout for "-".
func writeLines(path string, stdout io.Writer, lines []simLine) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l.text)
		b.WriteByte('\n')
	}
	if path == "-" {
		_, err := stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return exitError{code: 1, msg: "pathlight simulate: " + err.Error()}
	}
	return nil
}

// sendLines posts the lines in bodies of at most chunk bytes until done or ctx ends, and
// adds up the server's counts.
func sendLines(ctx context.Context, server, token string, lines []simLine, chunk int) (analytics.ImportResult, int, int, error) {
	var total analytics.ImportResult
	total.Errors = []analytics.ImportError{}
	sent, reqs := 0, 0
	var body bytes.Buffer
	for sent < len(lines) && ctx.Err() == nil {
		body.Reset()
		n := 0
		for sent+n < len(lines) && (n == 0 || body.Len()+len(lines[sent+n].text)+1 <= chunk) {
			body.Write(lines[sent+n].text)
			body.WriteByte('\n')
			n++
		}
		res, err := postImport(ctx, server, token, body.Bytes())
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return total, sent, reqs, err
		}
		reqs++
		total.Lines += res.Lines
		total.Accepted += res.Accepted
		total.Duplicate += res.Duplicate
		total.Rejected += res.Rejected
		total.BadLines += res.BadLines
		for _, e := range res.Errors {
			e.Line += sent
			total.Errors = append(total.Errors, e)
		}
		sent += n
	}
	return total, sent, reqs, nil
}

// postImport sends one import request.
func postImport(ctx context.Context, server, token string, body []byte) (*analytics.ImportResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/api/v1/import", bytes.NewReader(body))
	if err != nil {
		return nil, exitError{code: 2, msg: "pathlight simulate: " + err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("import: read the reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp.StatusCode, b)
	}
	var res analytics.ImportResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return &res, nil
}
