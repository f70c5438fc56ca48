package rules

import (
	"cmp"
	"net/url"
	"strings"

	"github.com/pathlight/pathlight/internal/enrich"
	"github.com/pathlight/pathlight/internal/event"
)

// The rule tests enrich their hits as the tracker does: the page, source and channel come
// from enrich.Classifier.PageAndSource and the device from the user agent, so a rule test sees
// what production sees. A test may still state source:, medium:, campaign: (the channel
// follows from them) or channel:, and device:, os:, browser: and geo, which always win; a
// hit without a user agent comes from a desktop browser.
var (
	checkSources = enrich.NewClassifier(nil) // the page's own domain is the site
	checkUA      = enrich.NewUAParser(0)
)

// buildHit turns a test hit into an event and an enriched Hit.
func buildHit(th *testHit, vis *testHit, pageURL, vid string, at int64, ev *event.Event, h *event.Hit) {
	*ev = event.Event{
		Type: event.ParseType(th.typ), Name: th.name, TS: at, Title: th.title,
		URL: pageURL, Ref: cmp.Or(th.ref, vis.ref),
		UserID: th.userID, Prompt: th.prompt, Action: th.action, Answer: th.answer,
		EngagedMS: th.engagedMS, ScrollPct: th.scroll,
	}
	ev.Props = toProps(th.props)
	ev.Traits = toProps(th.traits)
	*h = event.Hit{Event: ev, VID: vid, Time: at}
	checkSources.PageAndSource(h)
	src, med, camp := cmp.Or(th.source, vis.source), cmp.Or(th.medium, vis.medium), cmp.Or(th.campaign, vis.campaign)
	if src != "" || med != "" || camp != "" {
		h.Source.Source = cmp.Or(src, h.Source.Source)
		h.Source.Medium = cmp.Or(med, h.Source.Medium)
		h.Source.Campaign = cmp.Or(camp, h.Source.Campaign)
		h.Source.Channel = enrich.ChannelGroup(h.Source.Source, h.Source.Medium, h.Source.Campaign)
	}
	if ch := cmp.Or(th.channel, vis.channel); ch != "" {
		h.Source.Channel = ch
	}
	h.Device = event.Device{Type: event.DeviceDesktop}
	if ua := cmp.Or(th.userAgent, vis.userAgent); ua != "" {
		h.Device = checkUA.Parse(ua)
	}
	if d := cmp.Or(th.device, vis.device); d != "" {
		h.Device.Type = event.ParseDeviceType(d)
		h.Device.Bot = h.Device.Type == event.DeviceBot
	}
	if os := cmp.Or(th.os, vis.os); os != "" {
		h.Device.OS = os
	}
	if b := cmp.Or(th.browser, vis.browser); b != "" {
		h.Device.Browser = b
	}
	h.Geo = event.Geo{
		Country:  strings.ToUpper(cmp.Or(th.country, vis.country)),
		Region:   cmp.Or(th.region, vis.region),
		City:     cmp.Or(th.city, vis.city),
		TimeZone: cmp.Or(th.tz, vis.tz),
	}
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
