// Package hitgen writes realistic POST /v1/hit bodies for Pathlight's load runs: pageviews
// of a small shop (some landing from the visitor's own campaign), commerce events with props,
// engagement reports and small batches, all asking for the slots of the example rules. The
// open-loop client of `make bench-load` and the server's benchmarks and load test share it;
// internal/bench/wrk/hit.lua writes the same mix for wrk.
package hitgen

import (
	"math/rand/v2"
	"strconv"
)

// UserAgent is a desktop Chrome: a browser, so hits are tracked rather than set aside as bots.
const UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

// Slots is the body field asking for the page slots the example rules define.
const Slots = `"slots":["hero","home_returning","cart_message","pricing_offer"]`

var (
	// paths are the pages of the shop.
	paths = [...]string{
		"/", "/products/trail-jacket", "/products/rain-shell", "/products/merino-base-layer",
		"/category/jackets", "/category/outlet", "/pricing", "/cart", "/checkout",
		"/blog/layering-guide", "/about", "/signup",
	}
	// campaigns pairs the query a landing page carries with the referrer it came from.
	campaigns = [...]struct{ query, ref string }{
		{"", ""},
		{"?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring&utm_content=video_a", "https://l.facebook.com/"},
		{"?utm_source=newsletter&utm_medium=email&utm_campaign=april_digest", ""},
		{"?gclid=Cj0KCQjwn7mwBhCiARIsAGoxjaL0", "https://www.google.com/"},
		{"", "https://www.google.com/"},
		{"", "https://news.ycombinator.com/item?id=40000000"},
		{"?utm_source=tiktok&utm_medium=cpc&utm_campaign=trail_launch&ttclid=E.C.P.abc", "https://www.tiktok.com/"},
	}
	// events are the custom events, with their share of all events in percent.
	events = [...]struct {
		name, props string
		pct         int
	}{
		{"view_item", `{"sku":"RS-7","price":89,"currency":"EUR"}`, 40},
		{"add_to_cart", `{"sku":"TJ-42","price":129.5,"currency":"EUR","qty":1}`, 30},
		{"begin_checkout", `{"value":129.5,"currency":"EUR","items":1}`, 15},
		{"signup", `{"plan":"free"}`, 10},
		{"purchase", `{"value":129.5,"currency":"EUR","order":"A-1001"}`, 5},
	}
)

// A Gen writes hit bodies from its random source. Each visitor keeps one acquisition
// channel, as real visitors mostly do, so journeys grow the way real ones do rather than
// switching campaign on every hit. Event ids are the Gen's prefix followed by a sequence
// number in base 36, so generators with distinct prefixes never repeat an id. A Gen is not
// safe for concurrent use.
type Gen struct {
	rng    *rand.Rand
	prefix string
	seq    uint64
}

// New returns a Gen drawing from rng whose event ids start with prefix.
func New(rng *rand.Rand, prefix string) *Gen { return &Gen{rng: rng, prefix: prefix} }

// Next appends the body of one hit of visitor v (an index into the caller's visitor ids,
// which picks the visitor's campaign) and returns it with the number of events it carries:
// 55% a pageview, 25% a commerce event, 15% an engagement report, 5% a pageview and an event.
func (g *Gen) Next(dst []byte, v int) ([]byte, int) {
	dst = append(dst, `{"site":"demo","events":[`...)
	n := 1
	switch r := g.rng.IntN(100); {
	case r < 55:
		dst = g.pageview(dst, v)
	case r < 80:
		dst = g.event(dst)
	case r < 95:
		dst = g.engagement(dst)
	default:
		dst = g.pageview(dst, v)
		dst = append(dst, ',')
		dst = g.event(dst)
		n = 2
	}
	dst = append(dst, `],`...)
	dst = append(dst, Slots...)
	return append(dst, '}'), n
}

// id opens an event object with a fresh event id.
func (g *Gen) id(dst []byte) []byte {
	g.seq++
	dst = append(dst, `{"id":"`...)
	dst = append(dst, g.prefix...)
	dst = strconv.AppendUint(dst, g.seq, 36)
	return append(dst, '"')
}

func (g *Gen) pageview(dst []byte, v int) []byte {
	path := paths[g.rng.IntN(len(paths))]
	dst = g.id(dst)
	dst = append(dst, `,"type":"pageview","url":"https://shop.example`...)
	dst = append(dst, path...)
	// One pageview in five lands from the visitor's campaign; the rest browse on.
	ref := "https://shop.example/"
	if g.rng.IntN(5) == 0 {
		c := campaigns[v%len(campaigns)]
		dst = append(dst, c.query...)
		ref = c.ref
	}
	dst = append(dst, `","ref":"`...)
	dst = append(dst, ref...)
	dst = append(dst, `","title":"Trail Outfitters `...)
	dst = append(dst, path...)
	return append(dst, `"}`...)
}

func (g *Gen) event(dst []byte) []byte {
	e := &events[len(events)-1]
	for r, i := g.rng.IntN(100), 0; i < len(events); i++ {
		if r -= events[i].pct; r < 0 {
			e = &events[i]
			break
		}
	}
	dst = g.id(dst)
	dst = append(dst, `,"type":"event","name":"`...)
	dst = append(dst, e.name...)
	dst = append(dst, `","url":"https://shop.example/products/trail-jacket","props":`...)
	dst = append(dst, e.props...)
	return append(dst, '}')
}

func (g *Gen) engagement(dst []byte) []byte {
	dst = g.id(dst)
	dst = append(dst, `,"type":"engagement","url":"https://shop.example/products/trail-jacket","engaged_ms":`...)
	dst = strconv.AppendInt(dst, int64(1000+g.rng.IntN(60_000)), 10)
	dst = append(dst, `,"scroll":`...)
	dst = strconv.AppendInt(dst, int64(g.rng.IntN(101)), 10)
	return append(dst, '}')
}
