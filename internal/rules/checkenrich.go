package rules

import (
	"net/url"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
)

// The rule tests build hits themselves, with a deliberately small enrichment: the URL is
// parsed, UTM parameters and a few click ids and referrers give the source, and a compact
// version of GA4's default channel grouping names the channel. A test that depends on an
// exact channel states it with channel: (and source:, medium:), which always wins.

// buildHit turns a test hit into an event and an enriched Hit.
func buildHit(th *testHit, vis *testHit, baseURL, pageURL, vid string, at int64, ev *event.Event, h *event.Hit) {
	*ev = event.Event{
		Type: event.ParseType(th.typ), Name: th.name, TS: at, Title: th.title,
		URL: pageURL, Ref: firstNonEmpty(th.ref, vis.ref),
		UserID: th.userID, Prompt: th.prompt, Action: th.action, Answer: th.answer,
		EngagedMS: th.engagedMS, ScrollPct: th.scroll,
	}
	ev.Props = toProps(th.props)
	ev.Traits = toProps(th.traits)
	*h = event.Hit{Event: ev, VID: vid, Time: at}
	h.Page = parsePage(baseURL, pageURL)
	h.Source = sourceOf(h.Page, ev.Ref)
	if s := firstNonEmpty(th.source, vis.source); s != "" {
		h.Source.Source = s
	}
	if m := firstNonEmpty(th.medium, vis.medium); m != "" {
		h.Source.Medium = m
	}
	if c := firstNonEmpty(th.campaign, vis.campaign); c != "" {
		h.Source.Campaign = c
	}
	h.Source.Channel = channelOf(h.Source.Source, h.Source.Medium)
	if ch := firstNonEmpty(th.channel, vis.channel); ch != "" {
		h.Source.Channel = ch
	}
	h.Device = deviceOf(firstNonEmpty(th.userAgent, vis.userAgent))
	if d := firstNonEmpty(th.device, vis.device); d != "" {
		h.Device.Type = event.ParseDeviceType(d)
		h.Device.Bot = h.Device.Type == event.DeviceBot
	}
	if os := firstNonEmpty(th.os, vis.os); os != "" {
		h.Device.OS = os
	}
	if b := firstNonEmpty(th.browser, vis.browser); b != "" {
		h.Device.Browser = b
	}
	h.Geo = event.Geo{
		Country:  strings.ToUpper(firstNonEmpty(th.country, vis.country)),
		Region:   firstNonEmpty(th.region, vis.region),
		City:     firstNonEmpty(th.city, vis.city),
		TimeZone: firstNonEmpty(th.tz, vis.tz),
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func toProps(kvs []kv) event.Props {
	if len(kvs) == 0 {
		return nil
	}
	ps := make(event.Props, 0, len(kvs))
	for _, p := range kvs {
		var v event.Value
		switch x := p.val.(type) {
		case string:
			v = event.StringValue(x)
		case float64:
			v = event.NumberValue(x)
		case bool:
			v = event.BoolValue(x)
		}
		ps = append(ps, event.Prop{Key: p.key, Val: v})
	}
	return ps
}

// resolveURL resolves a test URL ("/pricing", "?utm_source=x", or absolute) against base.
func resolveURL(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// parsePage parses a page URL the way the enrichment does: lower-cased host without port,
// path ("/" when empty), and every query parameter.
func parsePage(base, raw string) event.Page {
	p := event.Page{URL: raw, Path: "/"}
	u, err := url.Parse(raw)
	if err != nil {
		return p
	}
	p.Host = strings.ToLower(u.Hostname())
	if u.Path != "" {
		p.Path = u.Path
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			p.Query = append(p.Query, event.Prop{Key: k, Val: event.StringValue(v)})
		}
	}
	return p
}

// clickIDSources maps ad click ids to the source and medium they stand for.
var clickIDSources = []struct{ param, source, medium string }{
	{"gclid", "google", "cpc"}, {"gbraid", "google", "cpc"}, {"wbraid", "google", "cpc"},
	{"msclkid", "bing", "cpc"}, {"ttclid", "tiktok", "cpc"}, {"li_fat_id", "linkedin", "cpc"},
}

// sourceOf derives source / medium / campaign from UTM parameters, click ids or the
// referrer, else direct.
func sourceOf(p event.Page, ref string) event.Source {
	q := func(k string) string {
		v, _ := p.Query.Get(k)
		return v.Str
	}
	if s := q("utm_source"); s != "" {
		return event.Source{Source: strings.ToLower(s), Medium: strings.ToLower(firstNonEmpty(q("utm_medium"), "(not set)")),
			Campaign: q("utm_campaign"), Term: q("utm_term"), Content: q("utm_content")}
	}
	for _, c := range clickIDSources {
		if q(c.param) != "" {
			return event.Source{Source: c.source, Medium: c.medium, Campaign: q("utm_campaign")}
		}
	}
	if ref != "" {
		if u, err := url.Parse(ref); err == nil {
			host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
			if host != "" && host != strings.TrimPrefix(p.Host, "www.") {
				medium := "referral"
				if isSearch(host) {
					medium = "organic"
				}
				return event.Source{Source: host, Medium: medium, RefHost: host}
			}
		}
	}
	return event.Source{Source: "(direct)", Medium: "(none)"}
}

var (
	socialSources = []string{"facebook", "fb", "instagram", "ig", "meta", "twitter", "t.co", "x.com", "linkedin", "lnkd.in", "pinterest", "reddit", "tiktok", "youtube", "snapchat"}
	searchSources = []string{"google", "bing", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia"}
)

func isSocial(source string) bool { return hasAny(source, socialSources) }
func isSearch(source string) bool { return hasAny(source, searchSources) }

// hasAny reports whether source names one of words: as a whole word of it ("facebook" in
// "facebook_ads" or "m.facebook.com"), or as its domain ("t.co").
func hasAny(source string, words []string) bool {
	tokens := strings.FieldsFunc(source, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	for _, w := range words {
		if strings.Contains(w, ".") {
			if source == w || strings.HasSuffix(source, "."+w) {
				return true
			}
			continue
		}
		if contains(tokens, w) {
			return true
		}
	}
	return false
}

// channelOf is a compact GA4 default channel grouping.
func channelOf(source, medium string) string {
	source, medium = strings.ToLower(source), strings.ToLower(medium)
	paid := medium == "cpc" || medium == "ppc" || medium == "retargeting" || strings.HasPrefix(medium, "paid") || strings.Contains(medium, "cp")
	switch {
	case source == "(direct)" && (medium == "(none)" || medium == "(not set)"):
		return "Direct"
	case paid && isSocial(source):
		return "Paid Social"
	case paid && isSearch(source):
		return "Paid Search"
	case paid:
		return "Paid Other"
	case medium == "display" || medium == "banner" || medium == "cpm" || medium == "interstitial":
		return "Display"
	case medium == "email" || medium == "e-mail" || medium == "e_mail":
		return "Email"
	case medium == "affiliate":
		return "Affiliates"
	case medium == "organic" || isSearch(source):
		return "Organic Search"
	case isSocial(source) || medium == "social" || medium == "social-network" || medium == "social-media" || medium == "sm":
		return "Organic Social"
	case medium == "referral" || medium == "app" || medium == "link":
		return "Referral"
	}
	return "Unassigned"
}

// deviceOf is a crude user-agent reading for tests; give device:, os: and browser: to be
// exact.
func deviceOf(ua string) event.Device {
	if ua == "" {
		return event.Device{Type: event.DeviceDesktop}
	}
	l := strings.ToLower(ua)
	d := event.Device{Type: event.DeviceDesktop}
	switch {
	case strings.Contains(l, "bot") || strings.Contains(l, "crawler") || strings.Contains(l, "spider") || strings.Contains(l, "headless"):
		return event.Device{Type: event.DeviceBot, Bot: true}
	case strings.Contains(l, "ipad") || strings.Contains(l, "tablet"):
		d.Type = event.DeviceTablet
	case strings.Contains(l, "mobi") || strings.Contains(l, "iphone") || strings.Contains(l, "android"):
		d.Type = event.DeviceMobile
	}
	switch {
	case strings.Contains(l, "iphone") || strings.Contains(l, "ipad"):
		d.OS = "iOS"
	case strings.Contains(l, "android"):
		d.OS = "Android"
	case strings.Contains(l, "windows"):
		d.OS = "Windows"
	case strings.Contains(l, "mac os"):
		d.OS = "macOS"
	case strings.Contains(l, "linux"):
		d.OS = "Linux"
	}
	switch {
	case strings.Contains(l, "edg/"):
		d.Browser = "Edge"
	case strings.Contains(l, "firefox/"):
		d.Browser = "Firefox"
	case strings.Contains(l, "chrome/"):
		d.Browser = "Chrome"
	case strings.Contains(l, "safari/"):
		d.Browser = "Safari"
	}
	return d
}
