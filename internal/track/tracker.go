// Package track is Pathlight's use case, free of any transport: given a decoded batch of
// events and what the HTTP layer knows of the request (user agent, client address, cookie),
// it identifies the visitor, enriches each event, folds it into the visitor's journey,
// evaluates the rules and commits everything in one atomic store write before answering.
//
// Concurrency: hits for one visitor are serialised by a striped lock held across the read,
// the rules and the commit, so no update is ever lost and the store never sees a write
// conflict; hits for different visitors run in parallel and their commits are grouped into
// shared disk writes by the store.
package track

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pathlight/pathlight/internal/enrich"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

// Identity is how visitors are recognised.
type Identity uint8

// Identity modes.
const (
	// IdentityCookie: a random id in the first-party pl_vid cookie that the server sets.
	IdentityCookie Identity = iota
	// IdentityCookieless: a daily-salted hash of site, IP and user agent; no cookie.
	IdentityCookieless
)

// ConsentMode says what a hit without an explicit consent field means.
type ConsentMode uint8

// Consent modes.
const (
	// ConsentImplied tracks unless the hit says "denied" or the browser sends Sec-GPC: 1.
	ConsentImplied ConsentMode = iota
	// ConsentRequired tracks a visitor only when the hit says "granted".
	ConsentRequired
)

// DedupWindow is how long an event id is remembered: a retry within it changes nothing.
const DedupWindow = 48 * time.Hour

// Config configures a Tracker.
type Config struct {
	Identity  Identity
	Consent   ConsentMode
	Retention time.Duration // TTL of visitor state, events and links; 0: keep forever
	// SiteHosts lists, per site id, the hosts that belong to the site: referrers from them
	// are self-referrals and do not start a session.
	SiteHosts map[string][]string
	Logger    *slog.Logger
	Now       func() time.Time // the clock; nil: time.Now
	// StateCache is the byte budget of the in-memory cache of visitor states (decoded
	// journeys and automation memories): 0 means DefaultStateCache, a negative value turns
	// the cache off.
	StateCache int
	// OnOutbox, when set, is called after a commit that stored deliveries or timers, so
	// the deliverer need not wait for its next poll. It must not block.
	OnOutbox func()
	// Salts, when set, keeps the cookieless salts where a fleet of servers shares them;
	// nil keeps them in the store.
	Salts SaltSource
}

// DefaultStateCache is the default byte budget of the visitor-state cache: about 12,000
// active visitors of typical size, kept decoded.
const DefaultStateCache = 64 << 20

// Tracker runs the use case. It is safe for concurrent use.
type Tracker struct {
	st       Store
	ua       *enrich.UAParser
	geo      *enrich.GeoDB
	classify map[string]*enrich.Classifier
	fallback *enrich.Classifier
	rules    atomic.Pointer[rules.Set]
	cfg      Config
	now      func() time.Time
	salts    salts
	seq      atomic.Uint64
	cache    *stateCache   // encoded automation memories (autoCacheKey)
	journeys *journeyCache // decoded journeys
	memo     *spillMemo
	locks    [lockStripes]sync.Mutex
	seed     maphash.Seed
	pool     sync.Pool // *work
	// importVia, when set, tracks the lines of an import instead of Track (SetImportVia).
	importVia func(*Request, *Result) error
}

// SetImportVia makes Import track each line through fn, which must end in a Track of this
// tracker or another's: in cluster mode, the tracker of the node that owns the line's
// visitor. Call it before imports start.
func (t *Tracker) SetImportVia(fn func(*Request, *Result) error) { t.importVia = fn }

const lockStripes = 4096

// New returns a Tracker over st. geo may be nil (no GeoIP database); set may be nil (no rules:
// every slot gets its default).
func New(st Store, geo *enrich.GeoDB, set *rules.Set, cfg Config) *Tracker {
	t := &Tracker{
		st:       st,
		ua:       enrich.NewUAParser(4096),
		geo:      geo,
		classify: make(map[string]*enrich.Classifier, len(cfg.SiteHosts)),
		fallback: enrich.NewClassifier(nil),
		cfg:      cfg,
		now:      cfg.Now,
		seed:     maphash.MakeSeed(),
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.cfg.Logger == nil {
		t.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for site, hosts := range cfg.SiteHosts {
		t.classify[site] = enrich.NewClassifier(hosts)
	}
	budget := cfg.StateCache
	if budget == 0 {
		budget = DefaultStateCache
	}
	// Journeys take most of the budget; automation memories, a few hundred bytes of JSON per
	// visitor with automations, a sixteenth.
	t.journeys = newJourneyCache(budget - budget/16)
	t.cache = newStateCache(budget / 16)
	t.memo = newSpillMemo(budget / 4)
	t.salts.st, t.salts.src = st, cfg.Salts
	t.seq.Store(uint64(time.Now().UnixNano()))
	if set == nil {
		set = rules.Empty()
	}
	t.rules.Store(set)
	t.pool.New = func() any { return new(work) }
	return t
}

// SetRules swaps the rule set atomically: hits already deciding finish with the old set.
func (t *Tracker) SetRules(s *rules.Set) { t.rules.Store(s) }

// Rules returns the rule set in force.
func (t *Tracker) Rules() *rules.Set { return t.rules.Load() }

// Request is one beacon request as the transport hands it over.
type Request struct {
	Batch      *event.Batch
	UserAgent  string
	IP         netip.Addr // the client address (after trusted proxies); never stored
	CDNCountry string     // country from a trusted CDN header, "" when none
	CookieVID  string     // the pl_vid cookie, "" when none
	GPC        bool       // Sec-GPC: 1
	Decisions  bool       // the caller wants decisions (hit and decide, not beacon)
	DecideOnly bool       // /v1/decide: nothing is recorded; DecideURL is the page
	DecideURL  string
	// Now, when not zero, is the request's time in Unix ms instead of the clock's: for
	// importing historic traffic through the admin API. Event times are clamped to it, and
	// a Watcher hears its records as imported.
	Now int64
	// Offline marks events a back end sent through the events API: no device (the sender
	// is not the visitor's browser), and no session opened (see event.Hit.Offline).
	Offline bool
	// NewVID, when a valid id, is the id given to a new visitor (one without a body or
	// cookie id) instead of a random one: a cluster mints it into a shard this server owns.
	NewVID string
	// Deadline, when set, is when the request must be answered: in cluster mode a commit
	// the stream has not taken by then is queued in the local outbox (see Commit).
	Deadline time.Time
	// Arrived, when not zero, is when the request first reached the fleet, in Unix ms: a
	// request kept in a cluster's outbox and tracked later is tracked at that time (unlike
	// Now, it is no import: automations fire and its records are live ones).
	Arrived int64
	// FromOutbox: the request is taken out of a cluster's outbox, to be tracked by the
	// visitor's owner. What the tracker remembers of the visitor beyond its store (the
	// journey it answered the request from) is dropped first, and its commit fails rather
	// than queue again.
	FromOutbox bool
}

// Result is the answer to a Request. Reuse it with Reset.
type Result struct {
	VID       string // "" when no per-visitor state is kept (no consent, bot)
	SetCookie bool   // the transport should (re)set the pl_vid cookie to VID
	// ClearCookie: the hit refused consent (Sec-GPC: 1 or "denied") but came with a pl_vid
	// cookie, which the transport should expire.
	ClearCookie bool
	Tracked     bool // per-visitor state was kept
	Bot         bool
	Accepted    []string
	Duplicate   []string
	// Rejected lists events the rules refused, such as a survey answer that is not one of
	// the survey's choices; the wire decoder's own rejections come on top.
	Rejected  []event.Rejection
	Decisions rules.Decisions
	// Queued: the accepted events are committed locally and kept in the local outbox, not
	// yet in the fleet's replicated stream (cluster mode, stream out of reach).
	Queued bool
	// Page is the path of the page the decisions are for ("" without decisions).
	Page string
}

// Reset clears r for reuse, keeping capacity.
func (r *Result) Reset() {
	r.VID, r.SetCookie, r.ClearCookie, r.Tracked, r.Bot, r.Queued = "", false, false, false, false, false
	r.Accepted, r.Duplicate, r.Rejected = r.Accepted[:0], r.Duplicate[:0], r.Rejected[:0]
	r.Decisions.Reset()
	r.Page = ""
}

// Track records the batch and, when asked, decides for the visitor. It returns only after
// everything it reports as accepted is committed; on error nothing of the batch is stored.
func (t *Tracker) Track(req *Request, res *Result) error {
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	now := t.now().UnixMilli()
	if req.Now > 0 {
		now = req.Now
	} else if req.Arrived > 0 {
		now = req.Arrived
	}
	b := req.Batch

	w.device = t.ua.Parse(req.UserAgent)
	w.offline = req.Offline
	if req.Offline {
		w.device = event.Device{}
	}
	if req.IP.IsValid() && !req.Offline {
		w.geo = t.geo.Lookup(req.IP)
	}
	if req.CDNCountry != "" && w.geo.Country == "" {
		w.geo.Country = req.CDNCountry
	}
	res.Bot = w.device.Bot
	if res.Bot && req.DecideOnly && (ValidVID(b.VID) || ValidVID(req.CookieVID)) {
		// A site back end asking for a visitor it knows: its own HTTP client is not the
		// visitor. Decide for the visitor with the device unknown.
		res.Bot, w.device = false, event.Device{}
	}

	if res.Bot || !t.consented(b.Consent, req.GPC) {
		if !res.Bot && (req.GPC || b.Consent == event.ConsentDenied) {
			// A visitor who says no keeps no id: the cookie goes, and what was armed for
			// the id while consent held is cancelled (see withdraw). A hit that only lacks
			// the grant --consent required asks for is not taken for a refusal: it may come
			// from a page that never asked (another subdomain sharing the cookie, a back
			// end). History imported with its own clock cancels nothing, as it fires nothing.
			res.ClearCookie = req.CookieVID != "" && !req.Offline
			if vid := withdrawnVID(req); vid != "" && req.Now == 0 {
				if _, err := t.withdraw(w, vid); err != nil {
					return err
				}
			}
		}
		return t.trackAnonymous(w, req, res, now)
	}

	vid, minted, err := t.identify(req, res, now)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err = t.trackVisitor(w, req, res, vid, minted, now)
		if !errors.Is(err, errRelock) || attempt == 2 {
			return err
		}
		// An identity link moved under us: forget the attempt and lock again.
		w.ops, w.seenIDs, w.extra, w.memoAdds, w.moved, w.loaded, w.taken = w.ops[:0], w.seenIDs[:0], w.extra[:0], w.memoAdds[:0], false, 0, nil
		w.auto.reset()
		res.Accepted, res.Duplicate, res.Rejected = res.Accepted[:0], res.Duplicate[:0], res.Rejected[:0]
		res.Decisions.Reset()
	}
}

// consented reports whether per-visitor state may be kept.
func (t *Tracker) consented(c event.Consent, gpc bool) bool {
	if gpc || c == event.ConsentDenied {
		return false
	}
	return t.cfg.Consent == ConsentImplied || c == event.ConsentGranted
}

// identify picks the visitor id: the body's, else the cookie's, else a new one (minted: no
// journey can exist under it yet); in cookieless mode the daily hash.
func (t *Tracker) identify(req *Request, res *Result, now int64) (vid string, minted bool, err error) {
	if t.cfg.Identity == IdentityCookieless {
		salt, err := t.salts.get(time.UnixMilli(now))
		if err != nil {
			return "", false, err
		}
		return cookielessVID(salt, req.Batch.Site, req.IP, req.UserAgent), false, nil
	}
	res.SetCookie = true // a new id, or a refresh of the 400-day expiry
	switch {
	case ValidVID(req.Batch.VID):
		return req.Batch.VID, false, nil
	case ValidVID(req.CookieVID):
		return req.CookieVID, false, nil
	case ValidVID(req.NewVID):
		return req.NewVID, true, nil
	}
	return NewVID(), true, nil
}

// trackAnonymous records hits without per-visitor state: bots (kept apart by their device
// flag) and visitors without consent (counted in aggregates only). No id, no cookie, and a
// record that identifies nobody (see anonymize).
func (t *Tracker) trackAnonymous(w *work, req *Request, res *Result, now int64) error {
	b := req.Batch
	set := t.rules.Load()
	if !req.DecideOnly {
		if err := t.prefetch(w, b, "", false, false); err != nil {
			return err
		}
		for i := range b.Events {
			e := &b.Events[i]
			if w.dup[i] || slices.Contains(w.seenIDs, e.ID) {
				res.Duplicate = append(res.Duplicate, e.ID)
				continue
			}
			if !answerValid(set, b, i, res) {
				continue
			}
			h := w.hit(i)
			t.enrichHit(h, e, b.Site, "", now, w)
			anonymize(&w.anonHit, &w.anonEvent, h, set)
			t.logEvent(w, &w.anonHit, "")
			t.markSeen(w, b, i)
			res.Accepted = append(res.Accepted, e.ID)
		}
		if len(w.ops) > 0 {
			queued, err := t.write(w.ops, Commit{Imported: req.Now > 0, Site: b.Site, Accepted: res.Accepted, Deadline: req.Deadline})
			if err != nil {
				return fmt.Errorf("commit anonymous hits: %w", err)
			}
			res.Queued = queued
		}
	}
	if req.Decisions {
		w.state.Reset()
		h := t.decisionHit(w, req, "", now)
		set.Decide(&w.state, h, rules.Request{Slots: b.Slots, DefaultsOnly: true, Now: now}, &res.Decisions)
	}
	return nil
}

// answerValid checks a survey answer in event i of b against the prompt's rules; an answer
// they refuse is listed in res.Rejected, whoever sent it, and false is returned.
func answerValid(set *rules.Set, b *event.Batch, i int, res *Result) bool {
	e := &b.Events[i]
	if e.Type != event.TypePrompt || e.Action != event.ActionAnswered {
		return true
	}
	if err := set.CheckAnswer(b.Site, e.Prompt, e.Answer); err != nil {
		res.Rejected = append(res.Rejected, event.Rejection{ID: e.ID, Index: i, Reason: err.Error()})
		return false
	}
	return true
}

// trackVisitor records hits with per-visitor state, under the visitor's lock.
func (t *Tracker) trackVisitor(w *work, req *Request, res *Result, vid string, minted bool, now int64) (err error) {
	b := req.Batch
	// A visitor merged into a known user's journey lives on under that user's id. A cached
	// journey, or an id minted for this request, cannot be such an alias.
	if !minted && !t.journeys.has(vid) {
		if canon, ok, err := t.alias(w, vid); err != nil {
			return err
		} else if ok {
			vid, res.SetCookie = canon, t.cfg.Identity == IdentityCookie
		}
	}

	// Identify events may move the batch to another visitor's journey; lock every visitor
	// and user the batch may touch, in stripe order, so that two batches never deadlock.
	w.lockIDs = append(w.lockIDs[:0], vid)
	for i := range b.Events {
		if e := &b.Events[i]; e.Type == event.TypeIdentify {
			w.lockIDs = append(w.lockIDs, "u\x00"+b.Site+"\x00"+e.UserID)
			if linked, err := t.linkedVID(w, b.Site, e.UserID); err != nil {
				return err
			} else if linked != "" {
				w.lockIDs = append(w.lockIDs, linked)
			}
		}
	}
	t.lock(w)
	defer t.unlock(w)
	defer func() {
		// Before the unlock: a journey taken from the cache and not put back (nothing was
		// committed) goes back as it was; after an error it stays out, and the next hit
		// reads the committed one from storage.
		if w.taken != nil && err == nil {
			t.journeys.restore(w.taken, &w.state)
		}
		w.taken = nil
	}()
	if req.FromOutbox {
		for _, id := range w.lockIDs {
			t.forgetLocked(id)
		}
	}

	if err := t.prefetch(w, b, vid, !minted, req.DecideOnly); err != nil {
		return err
	}
	set := t.rules.Load()
	opt := journey.Options{DefaultConversion: set.DefaultConversion(b.Site), OwnStrings: t.journeys != nil}
	w.cur = vid
	// Decisions are made for the batch's last accepted hit, as rule tests make them after
	// every hit: a slot may answer an add_to_cart event, not only a pageview. A hit on
	// another page than the batch's last pageview (another tab's, sharing the snippet's
	// queue) does not take the page's place.
	var lastHit, lastPage *event.Hit

	if !req.DecideOnly {
		for i := range b.Events {
			e := &b.Events[i]
			if w.dup[i] || slices.Contains(w.seenIDs, e.ID) {
				res.Duplicate = append(res.Duplicate, e.ID)
				continue
			}
			if !answerValid(set, b, i, res) {
				continue
			}
			if e.Type == event.TypeIdentify {
				if err := t.link(w, b.Site, e.UserID); err != nil {
					return err
				}
			}
			h := w.hit(i)
			t.enrichHit(h, e, b.Site, w.cur, now, w)
			// History imported with its own clock (Request.Now) fires nothing: a backfill must
			// not send webhooks, nor arm timers that fell due long ago.
			auto := set.HasAutomations() && req.Now == 0
			if auto {
				// A visitor minted for this request has no automation memory to read yet.
				if err := t.autoBefore(w, set, h, b.Consent, minted && w.cur == vid); err != nil {
					return err
				}
			}
			journey.Apply(&w.state, h, opt)
			set.Observe(&w.state, h)
			if auto {
				t.autoAfter(w, set, h)
			}
			if e.Type == event.TypePrompt {
				stampSegments(e, w.state.Segments)
			}
			t.logEvent(w, h, w.cur)
			t.markSeen(w, b, i)
			res.Accepted = append(res.Accepted, e.ID)
			lastHit = h
			if e.Type == event.TypePageview {
				lastPage = h
			}
		}
	}
	if req.Decisions {
		h := lastHit
		if lastPage != nil && h.Event.URL != lastPage.Event.URL {
			h = lastPage
		}
		if h == nil {
			h = t.decisionHit(w, req, w.cur, now)
		}
		set.Decide(&w.state, h, rules.Request{Slots: b.Slots, Now: now}, &res.Decisions)
		res.Page = h.Page.Path
		// A visitor minted for a decision alone (a back end asking without an id) is not
		// stored, so nothing is logged for it either: its exposure would be logged again
		// at its next request, or never mean anything.
		if !(minted && len(w.ops) == 0) {
			t.logDecisions(w, h, &res.Decisions)
		}
	}
	// Deciding alone changes a journey only through what it logs (exposures, holdout
	// would-haves), except that a known visitor's segments are refreshed. A visitor minted
	// for a request that recorded nothing is not stored, and nothing is logged for it: a
	// back end asking /v1/decide without a visitor id would otherwise leave an empty journey
	// and an exposure per call. Its cookie keeps the id, and experiments hash the id, so the
	// next request decides the same.
	if err := t.autoCommit(w, set); err != nil {
		return err
	}
	if len(w.ops) > 0 || (req.Decisions && !minted) {
		w.stateBuf = w.state.AppendBinary(w.stateBuf[:0])
		w.ops = append(w.ops, Op{Key: w.key(func(d []byte) []byte { return visitorKey(d, w.cur) }), Value: w.stateBuf, TTL: t.cfg.Retention})
		queued, err := t.write(w.ops, Commit{Imported: req.Now > 0, Site: b.Site, Accepted: res.Accepted, Deadline: req.Deadline,
			Request: req, VID: w.cur, NoQueue: req.FromOutbox})
		if err != nil {
			return fmt.Errorf("commit hits of %s: %w", w.cur, err)
		}
		res.Queued = queued
		t.autoCommitted(w)
		t.rememberSpills(w)
		// Last: the cache takes w.state over and leaves it holding stale arrays.
		t.journeys.put(w.cur, &w.state, len(w.stateBuf), w.loaded, queued, w.taken)
		w.taken = nil
	}
	if w.cur != vid && t.cfg.Identity == IdentityCookie {
		res.SetCookie = true
	}
	res.VID, res.Tracked = w.cur, true
	return nil
}

// SegmentsProp is the prop the tracker adds to every logged prompt event: the visitor's
// segments at that moment, comma-separated, so survey reports can group answers by the
// segments the visitor was in when answering rather than by the ones they are in today.
const SegmentsProp = "$segments"

// stampSegments sets SegmentsProp on e, replacing any value a client sent under that name.
func stampSegments(e *event.Event, segments []string) {
	e.Props = slices.DeleteFunc(e.Props, func(p event.Prop) bool { return p.Key == SegmentsProp })
	e.Props = append(e.Props, event.Prop{Key: SegmentsProp, Val: event.StringValue(strings.Join(segments, ","))})
}

// decisionHit builds the hit that decisions are made for when the batch accepted no event: a
// pageview of the /v1/decide URL, or of the page of the batch's first event.
func (t *Tracker) decisionHit(w *work, req *Request, vid string, now int64) *event.Hit {
	w.decideEvent.Reset()
	w.decideEvent.Type = event.TypePageview
	switch {
	case req.DecideOnly:
		w.decideEvent.URL = req.DecideURL
	case len(req.Batch.Events) > 0:
		w.decideEvent.URL = req.Batch.Events[0].URL
	}
	h := &w.decideHit
	t.enrichHit(h, &w.decideEvent, req.Batch.Site, vid, now, w)
	return h
}

// enrichHit fills h from the event and the request-wide device and geo.
func (t *Tracker) enrichHit(h *event.Hit, e *event.Event, site, vid string, now int64, w *work) {
	clickIDs := h.Source.ClickIDs[:0]
	query := h.Page.Query[:0]
	*h = event.Hit{Event: e, Site: site, VID: vid, Device: w.device, Geo: w.geo, Offline: w.offline}
	h.Page.Query, h.Source.ClickIDs = query, clickIDs
	h.Time = now
	if e.TS > 0 && e.TS < now {
		h.Time = e.TS
	}
	c := t.classify[site]
	if c == nil {
		c = t.fallback
	}
	c.PageAndSource(h)
}

// lock takes the stripes of every id in w.lockIDs in ascending order; unlock releases them.
func (t *Tracker) lock(w *work) {
	w.stripes = w.stripes[:0]
	for _, id := range w.lockIDs {
		w.stripes = append(w.stripes, int(maphash.String(t.seed, id)%lockStripes))
	}
	sort.Ints(w.stripes)
	n := 0
	for i, s := range w.stripes {
		if i == 0 || s != w.stripes[n-1] {
			w.stripes[n] = s
			n++
		}
	}
	w.stripes = w.stripes[:n]
	for _, s := range w.stripes {
		t.locks[s].Lock()
	}
}

// unlock releases the stripes lock took.
func (t *Tracker) unlock(w *work) {
	for i := len(w.stripes) - 1; i >= 0; i-- {
		t.locks[w.stripes[i]].Unlock()
	}
}

func (t *Tracker) putWork(w *work) {
	w.reset()
	t.pool.Put(w)
}
