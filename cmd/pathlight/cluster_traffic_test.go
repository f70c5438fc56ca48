package main

// The traffic of the cluster test: a deterministic script of hits for each visitor, sent to
// a node of the fleet chosen at random for every hit, and the same hit, in the same order
// for the visitor, to a single server without --cluster.

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clusterRounds is the number of hits each visitor of the script sends.
const clusterRounds = 7

// scriptVID is the visitor id of visitor i.
func scriptVID(i int) string { return fmt.Sprintf("c1%030x", i+1) }

// scriptHit is the body of visitor i's hit of round r. Every event carries its own time, so
// both servers fold it at the same moment of the visitor's journey: rounds 0 to 5 are one
// visit a minute apart, round 6 a new visit three hours later. base is the Unix millisecond
// of visitor 0's first hit, a few hours in the past.
func scriptHit(i, r int, base int64) string {
	ts := base + int64(i)*1000 + int64(r)*60_000
	if r == 6 {
		ts += 3 * 3600_000
	}
	var evs []string
	n := 0
	ev := func(format string, args ...any) {
		id := fmt.Sprintf("v%d-r%d-%d", i, r, n)
		n++
		evs = append(evs, fmt.Sprintf(`{"id":%q,"ts":%d,`, id, ts+int64(n))+fmt.Sprintf(format, args...)+"}")
	}
	pv := func(path string) { ev(`"type":"pageview","url":"https://shop.example%s","title":"t"`, path) }
	slots := `["hero"]`
	switch r {
	case 0: // landing, by channel
		q := [...]string{
			"/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring",
			"/products/trail-jacket?utm_source=newsletter&utm_medium=email",
			"/products/rain-shell?gclid=abc" + fmt.Sprint(i),
			"/",
			"/blog/layering",
		}[i%5]
		if i%5 == 4 {
			ev(`"type":"pageview","url":"https://shop.example%s","ref":"https://blog.example/post"`, q)
		} else {
			pv(q)
		}
		slots = `["hero","home_returning"]`
	case 1: // a product, sometimes into the cart
		pv(fmt.Sprintf("/products/p%d", i%9))
		if i%3 != 2 {
			ev(`"type":"event","name":"add_to_cart","url":"https://shop.example/products/p%d","props":{"sku":"p%d","value":%d}`, i%9, i%9, 20+i%50)
		}
	case 2, 3: // pricing, twice for a quarter of the visitors
		if r == 2 || i%4 == 0 {
			pv("/pricing")
			slots = `["pricing_offer","hero"]`
		} else if i%3 == 0 {
			pv("/checkout")
			slots = `["checkout_banner"]`
		} else {
			ev(`"type":"engagement","url":"https://shop.example/products/p1","engaged_ms":%d,"scroll":%d`, 1000+i, i%100)
		}
	case 4: // the third pricing view makes a hesitator; some sign in
		switch {
		case i%4 == 0:
			pv("/pricing")
			slots = `["pricing_offer","hero"]`
		case i%7 == 0:
			ev(`"type":"identify","user_id":"u%d","traits":{"first_name":"N%d","plan":"pro"}`, i, i)
		default:
			pv("/checkout")
			slots = `["checkout_banner"]`
		}
	case 5: // purchases, survey answers, sign-ups
		switch {
		case i%3 == 0:
			pv("/checkout/pay")
			ev(`"type":"event","name":"purchase","url":"https://shop.example/checkout/pay","props":{"value":%d,"order":"o%d"}`, 40+i%90, i)
			slots = `["checkout_banner"]`
		case i%4 == 0:
			ev(`"type":"prompt","prompt":"pricing_exit","action":"shown","url":"https://shop.example/pricing"`)
			ev(`"type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Price","url":"https://shop.example/pricing"`)
		case i%5 == 1:
			ev(`"type":"event","name":"signup","url":"https://shop.example/signup"`)
		default:
			pv("/blog/care")
		}
	case 6: // back three hours later
		pv("/")
		if i%6 == 0 {
			ev(`"type":"event","name":"purchase","url":"https://shop.example/checkout/pay","props":{"value":55}`)
		}
		slots = `["home_returning","hero","checkout_banner"]`
	}
	return fmt.Sprintf(`{"site":"demo","vid":%q,"events":[%s],"slots":%s}`, scriptVID(i), strings.Join(evs, ","), slots)
}

// hitReply is the part of a /v1/hit reply the test compares.
type hitReply struct {
	VID       string          `json:"vid"`
	Accepted  []string        `json:"accepted"`
	Duplicate []string        `json:"duplicate"`
	Rejected  json.RawMessage `json:"rejected"`
	Queued    bool            `json:"queued"`
	Decisions json.RawMessage `json:"decisions"`
}

// hitResult is one scripted hit as the fleet and the single server answered it.
type hitResult struct {
	sent           time.Time
	visitor, round int
	node           int  // the node that answered
	retried        bool // an earlier attempt got no answer (the node was gone) or a 5xx
	outage         bool // sent and answered while every NATS server was stopped
	fleet, single  hitReply
}

// fleet is the cluster's Pathlight nodes; a nil entry is a node that is down.
type fleet struct {
	mu    sync.Mutex
	nodes []*serverProc
	rng   *rand.Rand
}

// pick returns a node chosen at random among those believed up, and its index.
func (f *fleet) pick() (int, *serverProc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var up []int
	for i, n := range f.nodes {
		if n != nil {
			up = append(up, i)
		}
	}
	i := up[f.rng.IntN(len(up))]
	return i, f.nodes[i]
}

// set replaces node i (nil: down).
func (f *fleet) set(i int, p *serverProc) {
	f.mu.Lock()
	f.nodes[i] = p
	f.mu.Unlock()
}

// up returns the nodes that are up.
func (f *fleet) up() []*serverProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*serverProc
	for _, n := range f.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// sendHit posts one hit and decodes a 200 reply; any other status is an error naming it.
func sendHit(client *http.Client, url, body string) (hitReply, int, error) {
	var r hitReply
	req, err := http.NewRequest(http.MethodPost, url+"/v1/hit", strings.NewReader(body))
	if err != nil {
		return r, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", crashUA)
	req.Header.Set("Origin", "https://shop.example")
	resp, err := client.Do(req)
	if err != nil {
		return r, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return r, resp.StatusCode, fmt.Errorf("POST /v1/hit = %d %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, resp.StatusCode, fmt.Errorf("POST /v1/hit reply %q: %w", b, err)
	}
	return r, resp.StatusCode, nil
}

// traffic sends the script's rounds and keeps every result.
type traffic struct {
	fleet   *fleet
	single  *serverProc
	base    int64
	workers int
	pace    time.Duration // between two hits dispatched, when set
	client  *http.Client
	outage  atomic.Bool // every NATS server is stopped

	mu      sync.Mutex
	results []hitResult
	errs    []string
}

// fail records an error of a sending goroutine; the test reports them after the round.
func (tr *traffic) fail(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.errs) < 50 {
		tr.errs = append(tr.errs, fmt.Sprintf(format, args...))
	}
}

// round sends round r of visitors [lo, hi) with tr.workers goroutines, each visitor's hit
// first to a random node of the fleet (again to another on a refused connection or a 5xx,
// for up to 30 s) and then to the single server. at, when positive, runs action in its own
// goroutine once at hits are answered, while the others keep going. With a non-zero until,
// no hit is started after it. round returns, when the hits and the action are done, the
// first visitor whose hit was not sent.
func (tr *traffic) round(r, lo, hi, at int, action func(), until time.Time) int {
	next := make(chan int)
	var done atomic.Int64
	var wg, act sync.WaitGroup
	for range tr.workers {
		wg.Go(func() {
			for i := range next {
				tr.one(i, r)
				if done.Add(1) == int64(at) && action != nil {
					act.Go(action)
				}
			}
		})
	}
	i := lo
	for ; i < hi && (until.IsZero() || time.Now().Before(until)); i++ {
		next <- i
		if tr.pace > 0 {
			time.Sleep(tr.pace)
		}
	}
	close(next)
	wg.Wait()
	act.Wait()
	return i
}

// one sends visitor i's hit of round r to the fleet, then to the single server.
func (tr *traffic) one(i, r int) {
	body := scriptHit(i, r, tr.base)
	res := hitResult{visitor: i, round: r, sent: time.Now()}
	deadline := time.Now().Add(30 * time.Second)
	for {
		outage := tr.outage.Load()
		node, p := tr.fleet.pick()
		rep, code, err := sendHit(tr.client, p.url, body)
		if err == nil {
			res.node, res.fleet = node, rep
			res.outage = outage && tr.outage.Load()
			break
		}
		if code != 0 && code < 500 {
			tr.fail("visitor %d round %d: node %d: %v", i, r, node, err)
			return
		}
		if time.Now().After(deadline) {
			tr.fail("visitor %d round %d: no node answered within 30s; last: node %d: %v", i, r, node, err)
			return
		}
		res.retried = true
		time.Sleep(50 * time.Millisecond)
	}
	rep, _, err := sendHit(tr.client, tr.single.url, body)
	if err != nil {
		tr.fail("visitor %d round %d: single server: %v", i, r, err)
		return
	}
	res.single = rep
	tr.mu.Lock()
	tr.results = append(tr.results, res)
	tr.mu.Unlock()
}
