package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// simLine is one line of the import, with its time and its visitor for the order.
type simLine struct {
	ts      int64
	visitor int
	seq     int
	text    []byte
}

// simChannel is a marketing channel the simulated visitors come from: how they land (URL
// query and referrer, as GA4 classifies them), how common the channel is, how likely its
// visitors buy compared with the average, and what a visit from it costs (0: unpaid).
type simChannel struct {
	name    string
	weight  int
	lift    float64
	cpc     float64
	landing []([2]string) // {query, referrer}
}

// simChannels are the channels of simulated traffic, a read-only table.
var simChannels = []simChannel{
	{"Organic Search", 25, 1.0, 0, [][2]string{{"", "https://www.google.com/"}, {"", "https://www.bing.com/"}}},
	{"Paid Search", 14, 1.4, 3.20, [][2]string{{"?utm_source=google&utm_medium=cpc&utm_campaign=brand", ""}, {"?utm_source=google&utm_medium=cpc&utm_campaign=jackets", ""}}},
	{"Paid Social", 13, 0.6, 2.40, [][2]string{{"?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", ""}, {"?utm_source=instagram&utm_medium=paid_social&utm_campaign=spring", ""}}},
	{"Organic Social", 8, 0.5, 0, [][2]string{{"", "https://www.facebook.com/"}, {"", "https://t.co/x"}}},
	{"Email", 9, 1.7, 0.45, [][2]string{{"?utm_source=newsletter&utm_medium=email&utm_campaign=weekly", ""}}},
	{"Referral", 7, 0.9, 0, [][2]string{{"", "https://blog.example.org/best-jackets"}}},
	{"Direct", 18, 1.2, 0, [][2]string{{"", ""}}},
	{"Affiliates", 4, 0.9, 2.80, [][2]string{{"?utm_source=partner&utm_medium=affiliate&utm_campaign=deals", ""}}},
	{"Display", 2, 0.3, 1.90, [][2]string{{"?utm_source=dv360&utm_medium=display&utm_campaign=retarget", ""}}},
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

// The demo shop (sdk-js/demo): Trailhead, one jacket at 129 USD, and its pages with their
// titles and the slots they ask for.
const (
	simShopURL   = "https://shop.example"
	simPrice     = 129.0
	simCurrency  = "USD"
	simProduct   = "/products/jacket"
	simProductID = "trail-jacket"
)

// simPages are the titles and slots of the demo shop's pages, a read-only table.
var simPages = map[string]struct {
	title string
	slots []string
}{
	"/":             {"Trailhead: outdoor gear for the spring", []string{"hero", "home_returning", "cart_message"}},
	simProduct:      {"Trail jacket · Trailhead", nil},
	"/pricing":      {"Trailhead Club plans · Trailhead", []string{"pricing_offer"}},
	"/signup":       {"Join the Trailhead Club · Trailhead", nil},
	"/cart":         {"Your cart · Trailhead", []string{"cart_message"}},
	"/checkout":     {"Checkout · Trailhead", []string{"checkout_banner"}},
	"/checkout/pay": {"Payment · Trailhead", []string{"checkout_banner"}},
	"/thanks":       {"Thank you · Trailhead", nil},
}

// Answers of simulated visitors.
var (
	npsWeights    = []int{2, 1, 1, 2, 2, 3, 4, 8, 14, 22, 21} // answers 0 … 10
	ratingWeights = []int{1, 2, 4, 8, 6}                      // answers 1 … 5
	simTexts      = []string{"Shipping costs are too high", "I could not find my size", "Great jacket, quick delivery", "I need to compare first", "Checkout asked for too much"}
)

// simulateLines generates the import lines of a simulation, in time order, and the spend
// of its paid visits. It depends only on c: the same configuration gives the same lines,
// byte for byte.
func simulateLines(c simConfig) ([]simLine, []simSpend) {
	var lines []simLine
	spend := map[simSpendKey]float64{}
	for i := range c.visitors {
		v := newSimVisitor(c, i)
		v.run()
		lines = append(lines, v.lines...)
		for _, vs := range v.visits {
			spend[vs.simSpendKey] += vs.cost
		}
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
	rows := make([]simSpend, 0, len(spend))
	for k, amount := range spend {
		rows = append(rows, simSpend{k, math.Round(amount*100) / 100})
	}
	slices.SortFunc(rows, func(a, b simSpend) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.channel, b.channel), cmp.Compare(a.campaign, b.campaign))
	})
	return lines, rows
}

// simSpendKey is one day of one campaign.
type simSpendKey struct {
	day, channel, campaign string
}

// simSpend is the spend of one campaign on one day.
type simSpend struct {
	simSpendKey
	amount float64
}

// simVisit is one paid visit: its day, channel and campaign, and what it cost.
type simVisit struct {
	simSpendKey
	cost float64
}

// simVisitor is one simulated visitor: their random stream, identity and what they did.
type simVisitor struct {
	c      *simConfig
	r      *rand.Rand
	n      int
	vid    string
	ua     string
	ip     string
	lift   float64 // of the first channel
	t      int64   // the visitor's clock, Unix ms
	end    int64
	seq    int
	lines  []simLine
	visits []simVisit

	carted, signedUp bool
	asked            map[string]bool // surveys shown
	pricing          int
}

func newSimVisitor(c simConfig, n int) *simVisitor {
	r := rand.New(rand.NewPCG(c.seed, uint64(n)))
	v := &simVisitor{c: &c, r: r, n: n, end: c.end.UnixMilli(), asked: map[string]bool{}}
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

// session simulates one visit to the demo shop: landing, the jacket's page (where it is
// added to the cart), the club's pricing and signup, the cart (where checkout begins), the
// checkout, the payment (the purchase) and the thank-you page; and the rules' surveys.
func (v *simVisitor) session(s int, ch *simChannel) {
	land := ch.landing[v.r.IntN(len(ch.landing))]
	start := "/"
	if x := v.r.Float64(); x < 0.3 {
		start = simProduct
	} else if x < 0.4 {
		start = "/pricing"
	}
	if ch.cpc > 0 && v.t < v.end {
		q, _ := url.ParseQuery(strings.TrimPrefix(land[0], "?"))
		day := time.UnixMilli(v.t).UTC().Format(time.DateOnly)
		v.visits = append(v.visits, simVisit{simSpendKey{day, ch.name, q.Get("utm_campaign")}, ch.cpc})
	}
	v.page(start+land[0], land[1])
	lift := (v.lift + ch.lift) / 2
	if start != simProduct && v.chance(0.65) {
		v.page(simProduct, "")
	}
	// The rules' own steps: their pages and their events, now and then.
	for _, p := range v.c.rules.pages {
		if v.chance(0.3) {
			v.page(p, "")
		}
	}
	for _, name := range v.c.rules.events {
		if v.chance(0.2 * lift) {
			v.event(simProduct, name, nil)
		}
	}
	if start == "/pricing" || v.chance(0.25) {
		if start != "/pricing" {
			v.page("/pricing", "")
		}
		if !v.signedUp && v.chance(0.07*lift) {
			v.page("/signup", "")
			v.event("/signup", "signup", nil)
			v.identify("/signup")
			v.signedUp = true
		}
	}
	if v.pricing >= 3 && !v.signedUp {
		v.surveys("/pricing", false)
	}
	if !v.carted && !v.chance(0.22*lift*(1+0.4*float64(s))) {
		return
	}
	if !v.carted {
		v.page(simProduct, "")
		v.event(simProduct, "add_to_cart", map[string]any{"value": simPrice, "sku": simProductID})
		v.carted = true
	}
	v.page("/cart", "")
	if !v.chance(0.6) {
		return
	}
	v.event("/cart", "begin_checkout", map[string]any{"value": simPrice})
	v.page("/checkout", "")
	if !v.chance(0.8) {
		v.surveys("/checkout", false)
		return
	}
	v.event("/checkout", "add_shipping_info", nil)
	v.page("/checkout/pay", "")
	if !v.chance(0.75) {
		return
	}
	qty := 1
	if v.chance(0.12) {
		qty = 2
	}
	props := map[string]any{"value": simPrice * float64(qty), "currency": simCurrency}
	for _, p := range v.c.rules.valueProps {
		props[p] = simPrice * float64(qty)
	}
	v.event("/checkout/pay", "purchase", props)
	for _, name := range v.c.rules.conversions {
		v.event("/checkout/pay", name, props) // the rules' own conversion events, as the order
	}
	v.page("/thanks", "")
	v.carted = false
	v.t += 5_000
	v.surveys("/thanks", true)
}

// surveys offers the rules' surveys on a page, each at most once per visitor: NPS surveys
// after a purchase (afterPurchase), the others to visitors who hesitate. A visitor answers
// some and dismisses the others, as the survey's type allows.
func (v *simVisitor) surveys(path string, afterPurchase bool) {
	for _, sv := range v.c.rules.surveys {
		if v.asked[sv.ID] || (sv.Type == "nps") != afterPurchase || !v.chance(0.6) {
			continue
		}
		v.asked[sv.ID] = true
		v.prompt(path, sv.ID, "shown", "")
		if !v.chance(0.55) {
			v.prompt(path, sv.ID, "dismissed", "")
			continue
		}
		if a := v.answer(sv.Type, sv.Choices); a != "" {
			v.prompt(path, sv.ID, "answered", a)
		}
	}
}

// answer draws an answer of a survey's type; "" for a type it does not know.
func (v *simVisitor) answer(typ string, choices []string) string {
	switch typ {
	case "single_choice":
		if len(choices) > 0 {
			return choices[v.r.IntN(len(choices))]
		}
	case "multiple_choice":
		if len(choices) > 0 {
			var picked []string
			for _, c := range choices {
				if v.chance(0.35) {
					picked = append(picked, c)
				}
			}
			if len(picked) == 0 {
				picked = choices[:1]
			}
			return strings.Join(picked, "|")
		}
	case "nps":
		return strconv.Itoa(pickWeighted(v.r, npsWeights, func(w int) int { return w }))
	case "rating":
		return strconv.Itoa(1 + pickWeighted(v.r, ratingWeights, func(w int) int { return w }))
	case "text":
		return simTexts[v.r.IntN(len(simTexts))]
	}
	return ""
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

// slots are the slots a page asks for, as the snippet does: the demo page's own, and the
// slot of every experiment of the rules, so that each experiment exposes the visitors its
// conditions admit. At most 20, as the server answers.
func (v *simVisitor) slots(path string) []string {
	out := slices.Clone(simPages[path].slots)
	for _, s := range v.c.rules.experimentSlots {
		if len(out) < 20 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (v *simVisitor) page(pathQuery, ref string) {
	path, _, _ := strings.Cut(pathQuery, "?")
	if path == "/pricing" {
		v.pricing++
	}
	title := simPages[path].title
	if title == "" {
		title = "Trailhead"
	}
	e := simEvent{Type: "pageview", URL: simShopURL + pathQuery, Ref: ref, Title: title}
	v.emit(e, v.slots(path))
}

func (v *simVisitor) event(path, name string, props map[string]any) {
	v.emit(simEvent{Type: "event", Name: name, URL: simShopURL + path, Props: props}, nil)
}

// identify links the visitor to a club member, as the demo's signup form does.
func (v *simVisitor) identify(path string) {
	v.emit(simEvent{Type: "identify", URL: simShopURL + path, UserID: fmt.Sprintf("demo-member%d-%d", v.c.seed, v.n)}, nil)
}

func (v *simVisitor) prompt(path, id, action, answer string) {
	v.emit(simEvent{Type: "prompt", URL: simShopURL + path, Prompt: id, Action: action, Answer: answer}, nil)
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
	UserID string         `json:"user_id,omitempty"`
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

// spendCSV writes the spend rows in the spend file format.
func spendCSV(rows []simSpend) []byte {
	b := []byte("date,channel,campaign,amount,currency\n")
	for _, r := range rows {
		b = fmt.Appendf(b, "%s,%s,%s,%s,%s\n", r.day, r.channel, r.campaign, strconv.FormatFloat(r.amount, 'f', 2, 64), simCurrency)
	}
	return b
}
