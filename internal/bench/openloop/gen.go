package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// The hits of the load: the same mix as internal/bench/wrk/hit.lua, which drives the
// closed-loop part of the run.
const visitors = 1000

const userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

var vids = func() []string {
	v := make([]string, visitors)
	for i := range v {
		v[i] = fmt.Sprintf("%016x%016x", 0x5eed0000+i+1, (i+1)*2654435761)
	}
	return v
}()

func vid(v int) string { return vids[v] }

var (
	paths = [...]string{
		"/", "/products/trail-jacket", "/products/rain-shell", "/products/merino-base-layer",
		"/category/jackets", "/category/outlet", "/pricing", "/cart", "/checkout",
		"/blog/layering-guide", "/about", "/signup",
	}
	campaigns = [...]struct{ query, ref string }{
		{"", ""},
		{"?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring&utm_content=video_a", "https://l.facebook.com/"},
		{"?utm_source=newsletter&utm_medium=email&utm_campaign=april_digest", ""},
		{"?gclid=Cj0KCQjwn7mwBhCiARIsAGoxjaL0", "https://www.google.com/"},
		{"", "https://www.google.com/"},
		{"", "https://news.ycombinator.com/item?id=40000000"},
		{"?utm_source=tiktok&utm_medium=cpc&utm_campaign=trail_launch&ttclid=E.C.P.abc", "https://www.tiktok.com/"},
	}
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

const slots = `"slots":["hero","home_returning","cart_message","pricing_offer"]`

// gen writes hit bodies with event ids unique per run.
type gen struct {
	rng *rand.Rand
	run string
	seq uint64
}

func newGen(run string) *gen { return &gen{rng: rand.New(rand.NewPCG(1, 2)), run: run} }

// body appends the body of one hit of visitor v.
func (g *gen) body(dst []byte, v int) []byte {
	dst = append(dst, `{"site":"demo","events":[`...)
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
	}
	dst = append(dst, `],`...)
	dst = append(dst, slots...)
	return append(dst, '}')
}

func (g *gen) id(dst []byte) []byte {
	g.seq++
	dst = append(dst, `{"id":"`...)
	dst = append(dst, g.run...)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, g.seq, 10)
	return append(dst, '"')
}

func (g *gen) pageview(dst []byte, v int) []byte {
	path := paths[g.rng.IntN(len(paths))]
	query, ref := "", "https://shop.example/"
	if g.rng.IntN(5) == 0 {
		c := campaigns[v%len(campaigns)]
		query, ref = c.query, c.ref
	}
	dst = g.id(dst)
	dst = append(dst, `,"type":"pageview","url":"https://shop.example`...)
	dst = append(dst, path...)
	dst = append(dst, query...)
	dst = append(dst, `","ref":"`...)
	dst = append(dst, ref...)
	dst = append(dst, `","title":"Trail Outfitters `...)
	dst = append(dst, path...)
	return append(dst, `"}`...)
}

func (g *gen) event(dst []byte) []byte {
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

func (g *gen) engagement(dst []byte) []byte {
	dst = g.id(dst)
	dst = append(dst, `,"type":"engagement","url":"https://shop.example/products/trail-jacket","engaged_ms":`...)
	dst = strconv.AppendInt(dst, int64(1000+g.rng.IntN(60_000)), 10)
	dst = append(dst, `,"scroll":`...)
	dst = strconv.AppendInt(dst, int64(g.rng.IntN(101)), 10)
	return append(dst, '}')
}
