package rules

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Delivery formats of a destination.
const (
	FormatPathlight = "pathlight"  // Pathlight's own JSON envelope
	FormatSegment   = "segment"    // a Segment spec batch of an identify and a track call
	FormatMeta      = "meta_capi"  // a Meta Conversions API event, built from the fbclid
	FormatGoogleAds = "google_ads" // a Google Ads click conversion, built from the gclid
)

var formats = []string{FormatPathlight, FormatSegment, FormatMeta, FormatGoogleAds}

// Automation trigger kinds.
const (
	OnEnters   = "enters"   // the visitor enters a segment
	OnLeaves   = "leaves"   // the visitor leaves a segment
	OnReaches  = "reaches"  // the visitor reaches a step
	OnStage    = "stage"    // the visitor's stage changes (to a given stage, or any)
	OnConverts = "converts" // the visitor converts (at a given step, or any)
	OnAfter    = "after"    // a wait after a step, unless another step comes in between
	OnInactive = "inactive" // no visit for a while after having been active
)

var (
	destinationKeys = []string{"url", "format", "secret_env", "secret_file", "timeout", "concurrency", "rate", "description",
		"event_name", "currency", "conversion_action"}
	automationKeys = []string{"on", "when", "cap", "to", "description", "sites"}
	onKeys         = []string{OnEnters, OnLeaves, OnReaches, OnStage, OnConverts, OnAfter, OnInactive, "wait", "unless"}
	capKeys        = []string{"max", "cooldown"}
)

// Defaults of a destination that does not say.
const (
	DefaultTimeout     = 10_000 // ms
	DefaultConcurrency = 4
)

type rawDestination struct {
	at  pos
	dst Destination
}

type rawAutomation struct {
	at       pos
	scope    rawScope
	id       string
	desc     string
	on       string
	target   string
	targetAt pos
	wait     int64
	unless   string
	unlessAt pos
	when     *rawCond
	max      int
	cooldown int64
	to       []string
	toAt     []pos
}

func (d *dec) destination(e entry) *rawDestination {
	if !d.keyIdent(e, "destination id") {
		return nil
	}
	rd := &rawDestination{at: d.at(e.k), dst: Destination{ID: e.key, Format: FormatPathlight, Timeout: DefaultTimeout, Concurrency: DefaultConcurrency}}
	what := "destination " + quote(e.key)
	have := map[string]bool{}
	if !d.object(e.v, what, destinationKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "url":
			if s, ok := d.str(f.v, "url"); ok {
				if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					d.errorf(f.v, "url %q must be an absolute http or https URL", s)
				}
				rd.dst.URL = s
			}
		case "format":
			if s, ok := d.str(f.v, "format"); ok {
				if !slices.Contains(formats, s) {
					d.errorf(f.v, "unknown format %q (want %s)%s", s, strings.Join(formats, ", "), suggest(s, formats))
				}
				rd.dst.Format = s
			}
		case "secret_env":
			if s, ok := d.str(f.v, "secret_env"); ok {
				if !envName(s) {
					d.errorf(f.v, "secret_env %q must name an environment variable (letters, digits and '_'); the secret itself never goes in a rules file", s)
				}
				rd.dst.SecretEnv = s
			}
		case "secret_file":
			if s, ok := d.str(f.v, "secret_file"); ok {
				if s == "" || strings.HasPrefix(s, "whsec_") {
					d.errorf(f.v, "secret_file must be the path of a file holding the secret; the secret itself never goes in a rules file")
				}
				rd.dst.SecretFile = s
			}
		case "timeout":
			if ms, ok := d.duration(f.v, "timeout"); ok {
				if ms <= 0 || ms > 120_000 {
					d.errorf(f.v, "timeout must be longer than zero and at most 2m")
				}
				rd.dst.Timeout = ms
			}
		case "concurrency":
			if n, ok := d.positive(f.v, "concurrency"); ok {
				if n > 64 {
					d.errorf(f.v, "concurrency %d is more than 64", n)
				}
				rd.dst.Concurrency = n
			}
		case "rate":
			if r, ok := d.number(f.v, "rate"); ok {
				if r <= 0 {
					d.errorf(f.v, "rate must be a number of requests per second greater than zero")
				}
				rd.dst.Rate = r
			}
		case "description":
			rd.dst.Description, _ = d.text(f.v, "description")
		case "event_name":
			if s, ok := d.str(f.v, "event_name"); ok {
				if s == "" || len(s) > 100 {
					d.errorf(f.v, "event_name must hold 1 to 100 characters")
				}
				rd.dst.EventName = s
			}
		case "currency":
			if s, ok := d.str(f.v, "currency"); ok {
				if !currencyCode(s) {
					d.errorf(f.v, "currency %q must be an ISO 4217 code of three capital letters, such as EUR", s)
				}
				rd.dst.Currency = s
			}
		case "conversion_action":
			if s, ok := d.str(f.v, "conversion_action"); ok {
				if !conversionAction.MatchString(s) {
					d.errorf(f.v, "conversion_action %q must be a resource name such as customers/1234567890/conversionActions/987654321", s)
				}
				rd.dst.ConversionAction = s
			}
		}
	}) {
		return nil
	}
	d.require(e.k, what, have, "url")
	switch rd.dst.Format {
	case FormatMeta:
		d.require(e.k, what+" (format meta_capi)", have, "currency")
		for _, k := range []string{"conversion_action"} {
			if have[k] {
				d.errorf(e.k, "%s: %s belongs to format google_ads", what, k)
			}
		}
	case FormatGoogleAds:
		d.require(e.k, what+" (format google_ads)", have, "currency", "conversion_action")
		if have["event_name"] {
			d.errorf(e.k, "%s: event_name belongs to format meta_capi", what)
		}
	default:
		for _, k := range []string{"event_name", "currency", "conversion_action"} {
			if have[k] {
				d.errorf(e.k, "%s: %s belongs to the ad platform formats (meta_capi, google_ads)", what, k)
			}
		}
	}
	if have["secret_env"] && have["secret_file"] {
		d.errorf(e.k, "%s takes secret_env or secret_file, not both", what)
	}
	return rd
}

// conversionAction is the resource name of a Google Ads conversion action.
var conversionAction = regexp.MustCompile(`^customers/[0-9]+/conversionActions/[0-9]+$`)

// currencyCode reports whether s looks like an ISO 4217 code.
func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// envName reports whether s can name an environment variable.
func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (d *dec) automation(e entry) *rawAutomation {
	if !d.keyIdent(e, "automation id") {
		return nil
	}
	ra := &rawAutomation{at: d.at(e.k), id: e.key}
	what := "automation " + quote(e.key)
	have := map[string]bool{}
	if !d.object(e.v, what, automationKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "on":
			d.autoTrigger(f.v, ra)
		case "when":
			ra.when = d.cond(f.v, "when")
		case "cap":
			d.autoCap(f.v, ra)
		case "to":
			r := d.resolve(f.v)
			if _, one := r.(*ast.StringNode); one {
				if s, ok := d.ident(f.v, "destination"); ok {
					ra.to, ra.toAt = []string{s}, []pos{d.at(f.v)}
				}
				return
			}
			ids, nodes := d.idList(f.v, "destination")
			ra.to = ids
			for _, n := range nodes {
				ra.toAt = append(ra.toAt, d.at(n))
			}
			if len(ids) == 0 {
				d.errorf(f.k, "%s needs at least one destination in to", what)
			}
		case "description":
			ra.desc, _ = d.text(f.v, "description")
		case "sites":
			ra.scope = d.scope(f)
		}
	}) {
		return nil
	}
	d.require(e.k, what, have, "on", "to")
	return ra
}

// autoTrigger decodes `on:`: exactly one of the trigger kinds, plus wait and unless for after.
func (d *dec) autoTrigger(n ast.Node, ra *rawAutomation) {
	have := map[string]ast.Node{}
	d.object(n, "on", onKeys, func(f entry) {
		have[f.key] = f.k
		switch f.key {
		case OnEnters, OnLeaves:
			ra.target, _ = d.ident(f.v, "segment")
			ra.targetAt = d.at(f.v)
		case OnReaches, OnAfter:
			ra.target, _ = d.ident(f.v, "step")
			ra.targetAt = d.at(f.v)
		case OnStage, OnConverts:
			if s, ok := d.str(f.v, f.key); ok && s != "any" {
				ra.target, _ = d.ident(f.v, f.key)
			}
			ra.targetAt = d.at(f.v)
		case OnInactive, "wait":
			if ms, ok := d.duration(f.v, f.key); ok {
				if ms <= 0 {
					d.errorf(f.v, "%s must be longer than zero", f.key)
				}
				ra.wait = ms
			}
		case "unless":
			ra.unless, _ = d.ident(f.v, "unless step")
			ra.unlessAt = d.at(f.v)
		}
	})
	var kinds []string
	for _, k := range onKeys[:7] {
		if have[k] != nil {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		d.errorf(n, "on needs a trigger: one of %s", strings.Join(onKeys[:7], ", "))
		return
	case len(kinds) > 1:
		d.errorf(have[kinds[1]], "on takes one trigger; %s conflicts with %s", kinds[1], kinds[0])
		return
	}
	ra.on = kinds[0]
	if ra.on == OnAfter && have["wait"] == nil {
		d.errorf(have[OnAfter], "after needs a wait, such as wait: 1h")
	}
	if ra.on != OnAfter {
		for _, k := range []string{"wait", "unless"} {
			if have[k] != nil {
				d.errorf(have[k], "%s belongs to an after trigger, not %s", k, ra.on)
			}
		}
	}
}

// autoCap decodes `cap: once`, `cap: always` or `cap: {max: N, cooldown: 7d}`.
func (d *dec) autoCap(n ast.Node, ra *rawAutomation) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok {
		switch s.Value {
		case "once":
			ra.max = 1
		case "always":
		default:
			d.errorf(n, "unknown cap %q (want once, always or a mapping of max and cooldown)", s.Value)
		}
		return
	}
	d.object(n, "cap", capKeys, func(f entry) {
		switch f.key {
		case "max":
			ra.max, _ = d.positive(f.v, "max")
		case "cooldown":
			ra.cooldown, _ = d.duration(f.v, "cooldown")
		}
	})
}
