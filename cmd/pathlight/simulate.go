package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
)

const simulateUsage = `Usage: pathlight simulate --server URL --token T [flags]

Sends realistic traffic for a site to a running server through POST /api/v1/import: visitors
arrive over the last --days days from the GA4 channels (each with its own conversion
propensity), browse the demo shop (/, /products/jacket, /pricing, /cart, /checkout,
/checkout/pay, /thanks, /signup), add to the cart, check out, buy, sign up, answer the example
surveys, and ask for page slots as the snippet does (so experiments expose them). The same
--seed and --end give the same events, ids included. It stops after --max-duration.

Flags:
`

// Bounds of a simulation.
const (
	maxSimVisitors = 100_000
	maxSimDays     = 400
)

// simConfig is what a simulation generates.
type simConfig struct {
	site     string
	visitors int
	days     int
	seed     uint64
	end      time.Time // visitors arrive in [end − days, end)
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
	case *visitors < 1 || *visitors > maxSimVisitors:
		return fail("--visitors %d: want 1 to %d", *visitors, maxSimVisitors)
	case *days < 1 || *days > maxSimDays:
		return fail("--days %d: want 1 to %d", *days, maxSimDays)
	case *chunk < 4096 || *chunk > 64<<20:
		return fail("--chunk %d: want 4096 bytes to 64 MiB", *chunk)
	case *maxDur <= 0:
		return fail("--max-duration %v: want a positive duration", *maxDur)
	case *site == "":
		return fail("--site: want a site id")
	case *out == "" && *server == "":
		return fail("give --server (or --out to write the import to a file)")
	}
	c := simConfig{site: *site, visitors: *visitors, days: *days, seed: *seed, end: time.Now().UTC().Truncate(time.Minute)}
	if *end != "" {
		ms, err := analytics.ParseTime(*end)
		if err != nil {
			return fail("--end: %v", err)
		}
		c.end = time.UnixMilli(ms).UTC()
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
	lines := simulateLines(c)
	if *out != "" {
		return writeLines(*out, stdout, lines)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *maxDur)
	defer cancel()
	total, sent, reqs, err := sendLines(ctx, strings.TrimRight(*server, "/"), token, lines, *chunk)
	fmt.Fprintf(stdout, "simulated %d visitors over %d days (seed %d): sent %d of %d lines in %d requests in %s\n",
		c.visitors, c.days, c.seed, sent, len(lines), reqs, since(start))
	fmt.Fprintf(stdout, "accepted %d events, %d duplicates, %d rejected, %d bad lines\n",
		total.Accepted, total.Duplicate, total.Rejected, total.BadLines)
	for _, e := range total.Errors[:min(5, len(total.Errors))] {
		fmt.Fprintf(stdout, "  line %d: %s\n", e.Line, e.Error)
	}
	if ctx.Err() != nil && sent < len(lines) {
		return exitError{code: 1, msg: fmt.Sprintf("pathlight simulate: stopped after --max-duration %v with %d lines unsent", *maxDur, len(lines)-sent)}
	}
	if err != nil {
		return err
	}
	if total.BadLines > 0 || total.Rejected > 0 {
		// Not all the traffic arrived: a script must not take that for a success.
		return exitError{code: 1, msg: fmt.Sprintf("pathlight simulate: the server refused %d of the %d lines sent and rejected %d events", total.BadLines, sent, total.Rejected)}
	}
	return nil
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

// simLine is one line of the import, with its time and its visitor for the order.
type simLine struct {
	ts      int64
	visitor int
	seq     int
	text    []byte
}

// simChannel is a marketing channel the simulated visitors come from: how they land (URL
// query and referrer, as GA4 classifies them), how common the channel is, and how likely
// its visitors buy compared with the average.
type simChannel struct {
	name    string
	weight  int
	lift    float64
	landing []([2]string) // {query, referrer}
}

// simChannels are the channels of simulated traffic, a read-only table.
var simChannels = []simChannel{
	{"Organic Search", 25, 1.0, [][2]string{{"", "https://www.google.com/"}, {"", "https://www.bing.com/"}}},
	{"Paid Search", 14, 1.4, [][2]string{{"?utm_source=google&utm_medium=cpc&utm_campaign=brand", ""}, {"?utm_source=google&utm_medium=cpc&utm_campaign=jackets", ""}}},
	{"Paid Social", 13, 0.6, [][2]string{{"?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", ""}, {"?utm_source=instagram&utm_medium=paid_social&utm_campaign=spring", ""}}},
	{"Organic Social", 8, 0.5, [][2]string{{"", "https://www.facebook.com/"}, {"", "https://t.co/x"}}},
	{"Email", 9, 1.7, [][2]string{{"?utm_source=newsletter&utm_medium=email&utm_campaign=weekly", ""}}},
	{"Referral", 7, 0.9, [][2]string{{"", "https://blog.example.org/best-jackets"}}},
	{"Direct", 18, 1.2, [][2]string{{"", ""}}},
	{"Affiliates", 4, 0.9, [][2]string{{"?utm_source=partner&utm_medium=affiliate&utm_campaign=deals", ""}}},
	{"Display", 2, 0.3, [][2]string{{"?utm_source=dv360&utm_medium=display&utm_campaign=retarget", ""}}},
}

// simDevice is a user agent of simulated visitors and its weight.
type simDevice struct {
	weight int
	ua     string
}

// simDevices are the user agents of simulated visitors, with their weights.
var simDevices = []simDevice{
	{40, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"},
	{15, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"},
	{25, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"},
	{12, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"},
	{8, "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"},
}

// The answers of the example surveys (rules/prompts.yaml).
var (
	pricingExitChoices = []string{"Price", "A missing feature", "I need to ask my team", "Just looking"}
	npsWeights         = []int{2, 1, 1, 2, 2, 3, 4, 8, 14, 22, 21} // answers 0 … 10
)

// simulateLines generates the import lines of a simulation, in time order. It depends only
// on c: the same configuration gives the same lines, byte for byte.
func simulateLines(c simConfig) []simLine {
	var lines []simLine
	for i := range c.visitors {
		v := newSimVisitor(c, i)
		v.run()
		lines = append(lines, v.lines...)
	}
	slices.SortStableFunc(lines, func(a, b simLine) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		if a.visitor != b.visitor {
			return a.visitor - b.visitor
		}
		return a.seq - b.seq
	})
	return lines
}

// simVisitor is one simulated visitor: their random stream, identity and what they did.
type simVisitor struct {
	c     *simConfig
	r     *rand.Rand
	n     int
	vid   string
	ua    string
	ip    string
	lift  float64 // of the first channel
	t     int64   // the visitor's clock, Unix ms
	end   int64
	seq   int
	lines []simLine

	carted, signedUp, npsDone, exitAsked bool
	pricing                              int
}

func newSimVisitor(c simConfig, n int) *simVisitor {
	r := rand.New(rand.NewPCG(c.seed, uint64(n)))
	v := &simVisitor{c: &c, r: r, n: n, end: c.end.UnixMilli()}
	v.vid = fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
	v.ua = simDevices[pickWeighted(r, simDevices, func(d simDevice) int { return d.weight })].ua
	v.ip = fmt.Sprintf("198.51.100.%d", 1+r.IntN(254))
	span := int64(c.days) * 24 * 3600 * 1000
	v.t = v.end - span + r.Int64N(span)
	return v
}

// run simulates the visitor's sessions: a first one from a channel, then return visits
// while the visitor is interested, each days apart.
func (v *simVisitor) run() {
	sessions := 1
	for sessions < 5 && v.r.Float64() < 0.45 {
		sessions++
	}
	for s := range sessions {
		ch := v.channel(s)
		if s == 0 {
			v.lift = ch.lift
		}
		v.session(s, ch)
		v.t += int64(3600_000 + v.r.ExpFloat64()*2.5*24*3600_000)
		if v.t >= v.end {
			return
		}
	}
}

// channel picks the channel of session s: any for the first; then mostly direct or email.
func (v *simVisitor) channel(s int) *simChannel {
	if s > 0 {
		switch x := v.r.Float64(); {
		case x < 0.45:
			return &simChannels[6] // Direct
		case x < 0.6:
			return &simChannels[4] // Email
		}
	}
	return &simChannels[pickWeighted(v.r, simChannels, func(c simChannel) int { return c.weight })]
}

// chance reports true with probability p.
func (v *simVisitor) chance(p float64) bool { return v.r.Float64() < math.Min(p, 0.95) }

// session simulates one visit: landing, browsing, and maybe the cart, checkout, purchase,
// signup and surveys.
func (v *simVisitor) session(s int, ch *simChannel) {
	land := ch.landing[v.r.IntN(len(ch.landing))]
	start := "/"
	if x := v.r.Float64(); x < 0.3 {
		start = "/products/jacket"
	} else if x < 0.4 {
		start = "/pricing"
	}
	v.page(start+land[0], land[1])
	lift := (v.lift + ch.lift) / 2
	if start != "/products/jacket" && v.chance(0.65) {
		v.page("/products/jacket", "")
	}
	if start == "/pricing" || v.chance(0.25) {
		if start != "/pricing" {
			v.page("/pricing", "")
		}
		if !v.signedUp && v.chance(0.07*lift) {
			v.page("/signup", "")
			v.event("signup", nil)
			v.signedUp = true
		}
	}
	if v.pricing >= 3 && !v.signedUp && !v.exitAsked && v.chance(0.6) {
		v.exitAsked = true
		v.prompt("pricing_exit", "shown", "")
		if v.chance(0.45) {
			v.prompt("pricing_exit", "answered", pricingExitChoices[v.r.IntN(len(pricingExitChoices))])
		} else {
			v.prompt("pricing_exit", "dismissed", "")
		}
	}
	if !v.carted && !v.chance(0.22*lift*(1+0.4*float64(s))) {
		return
	}
	if !v.carted {
		v.event("add_to_cart", map[string]any{"product": "jacket"})
		v.carted = true
	}
	v.page("/cart", "")
	if !v.chance(0.6) {
		return
	}
	v.page("/checkout", "")
	v.event("begin_checkout", nil)
	if !v.chance(0.8) {
		return
	}
	v.page("/checkout/pay", "")
	if !v.chance(0.75) {
		return
	}
	value := math.Round((49+v.r.Float64()*200)*100) / 100
	v.event("purchase", map[string]any{"value": value, "currency": "USD"})
	v.page("/thanks", "")
	v.carted = false
	if !v.npsDone {
		v.npsDone = true
		v.t += 5_000
		v.prompt("post_purchase_nps", "shown", "")
		if v.chance(0.7) {
			v.prompt("post_purchase_nps", "answered", strconv.Itoa(pickWeighted(v.r, npsWeights, func(w int) int { return w })))
		}
	}
}

// pickWeighted returns the index of an element of xs drawn with probability proportional to
// its weight.
func pickWeighted[T any](r *rand.Rand, xs []T, weight func(T) int) int {
	total := 0
	for _, x := range xs {
		total += weight(x)
	}
	pick := r.IntN(total)
	for i, x := range xs {
		if pick -= weight(x); pick < 0 {
			return i
		}
	}
	return len(xs) - 1
}

// simSlots are the page slots the demo shop's pages ask for, as the snippet does.
func simSlots(path string) []string {
	switch {
	case path == "/":
		return []string{"hero", "home_returning", "cart_message"}
	case strings.HasPrefix(path, "/pricing"):
		return []string{"pricing_offer"}
	case path == "/cart":
		return []string{"cart_message"}
	case strings.HasPrefix(path, "/checkout"):
		return []string{"checkout_banner"}
	}
	return nil
}

func (v *simVisitor) page(pathQuery, ref string) {
	path, _, _ := strings.Cut(pathQuery, "?")
	if path == "/pricing" {
		v.pricing++
	}
	e := simEvent{Type: "pageview", URL: "https://shop.example" + pathQuery, Ref: ref, Title: "Trail Outfitters"}
	v.emit(e, simSlots(path))
}

func (v *simVisitor) event(name string, props map[string]any) {
	v.emit(simEvent{Type: "event", Name: name, URL: "https://shop.example/", Props: props}, nil)
}

func (v *simVisitor) prompt(id, action, answer string) {
	v.emit(simEvent{Type: "prompt", URL: "https://shop.example/", Prompt: id, Action: action, Answer: answer}, nil)
}

// simEvent is an event of the wire contract, with the fields the simulation sends.
type simEvent struct {
	ID     string         `json:"id"`
	Type   string         `json:"type"`
	Name   string         `json:"name,omitempty"`
	TS     int64          `json:"ts"`
	URL    string         `json:"url"`
	Ref    string         `json:"ref,omitempty"`
	Title  string         `json:"title,omitempty"`
	Props  map[string]any `json:"props,omitempty"`
	Prompt string         `json:"prompt,omitempty"`
	Action string         `json:"action,omitempty"`
	Answer string         `json:"answer,omitempty"`
}

// emit adds one line: the event at the visitor's clock, which then moves on a few seconds
// to a minute and a half.
func (v *simVisitor) emit(e simEvent, slots []string) {
	if v.t >= v.end {
		return
	}
	e.ID = fmt.Sprintf("sim-%d-%d-%d", v.c.seed, v.n, v.seq)
	e.TS = v.t
	line := struct {
		TS    int64  `json:"ts"`
		UA    string `json:"ua"`
		IP    string `json:"ip"`
		Batch struct {
			Site   string     `json:"site"`
			VID    string     `json:"vid"`
			Slots  []string   `json:"slots,omitempty"`
			Events []simEvent `json:"events"`
		} `json:"batch"`
	}{TS: v.t, UA: v.ua, IP: v.ip}
	line.Batch.Site, line.Batch.VID, line.Batch.Slots, line.Batch.Events = v.c.site, v.vid, slots, []simEvent{e}
	b, _ := json.Marshal(line) // plain strings, numbers and maps: cannot fail
	v.lines = append(v.lines, simLine{ts: v.t, visitor: v.n, seq: v.seq, text: b})
	v.seq++
	v.t += 8_000 + v.r.Int64N(80_000)
}
