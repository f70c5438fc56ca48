package enrich

import (
	"strings"

	"github.com/pathlight/pathlight/internal/event"
)

// The GA4 default channel groups, as reports and rule conditions name them.
const (
	ChannelDirect          = "Direct"
	ChannelCrossNetwork    = "Cross-network"
	ChannelPaidShopping    = "Paid Shopping"
	ChannelPaidSearch      = "Paid Search"
	ChannelPaidSocial      = "Paid Social"
	ChannelPaidVideo       = "Paid Video"
	ChannelDisplay         = "Display"
	ChannelPaidOther       = "Paid Other"
	ChannelOrganicShopping = "Organic Shopping"
	ChannelOrganicSocial   = "Organic Social"
	ChannelOrganicVideo    = "Organic Video"
	ChannelOrganicSearch   = "Organic Search"
	ChannelReferral        = "Referral"
	ChannelEmail           = "Email"
	ChannelAffiliates      = "Affiliates"
	ChannelAudio           = "Audio"
	ChannelSMS             = "SMS"
	ChannelMobilePush      = "Mobile Push Notifications"
	ChannelUnassigned      = "Unassigned"
)

// GA4's placeholder values for sources, media and campaigns.
const (
	sourceDirect     = "(direct)"
	mediumNone       = "(none)"
	notSet           = "(not set)"
	campaignDirect   = "(direct)"
	campaignOrganic  = "(organic)"
	campaignReferral = "(referral)"
	mediumOrganic    = "organic"
	mediumReferral   = "referral"
	mediumCPC        = "cpc"
)

const (
	// maxClickIDs bounds the click ids kept per hit: a URL has one or two.
	maxClickIDs = 12
	// maxAttributionValue bounds the bytes kept of a UTM or click id value: journey state
	// stores them per session, and a real one is far shorter.
	maxAttributionValue = 256
)

// channelOrder is the order in which the default channel groups are tested.
var channelOrder = [...]string{
	ChannelDirect, ChannelCrossNetwork, ChannelPaidShopping, ChannelPaidSearch, ChannelPaidSocial,
	ChannelPaidVideo, ChannelDisplay, ChannelPaidOther, ChannelOrganicShopping, ChannelOrganicSocial,
	ChannelOrganicVideo, ChannelOrganicSearch, ChannelReferral, ChannelEmail, ChannelAffiliates,
	ChannelAudio, ChannelSMS, ChannelMobilePush, ChannelUnassigned,
}

// Channels returns the default channel groups in the order ChannelGroup tests them;
// Unassigned, the group of what matches no rule, is last. Rule validation and reports use it
// to know every channel name.
func Channels() []string { return append([]string(nil), channelOrder[:]...) }

// clickIDs are the ad platforms' click identifier parameters Classify records, by the names
// event.ClickID uses.
var clickIDs = [...]string{
	"gclid", "gbraid", "wbraid", "dclid", "msclkid", "fbclid", "ttclid", "li_fat_id", "twclid", "epik",
	"rdt_cid", "sccid",
}

// Classifier derives where a hit's traffic came from, the way GA4 does for web streams. It is
// safe for concurrent use.
type Classifier struct {
	sources   *sourceTable
	siteHosts []string // lower case, without "www."
}

// NewClassifier returns a classifier for a site served on siteHosts. A referrer on one of
// them or on a subdomain of one ("shop.example.com" for "example.com"), or on the page's own
// registrable domain, is a self-referral: it says nothing about where the visit came from and
// is ignored. List payment providers and login pages that send visitors back here
// ("checkout.stripe.com") as site hosts too, to keep them from starting referral sessions.
func NewClassifier(siteHosts []string) *Classifier {
	c := &Classifier{sources: defaultSources}
	for _, h := range siteHosts {
		h = trimWWW(normaliseHost(strings.TrimSpace(h)))
		if h != "" {
			c.siteHosts = append(c.siteHosts, h)
		}
	}
	return c
}

// PageAndSource fills h.Page from the URL of the hit's event, and h.Source: for a pageview,
// from that page and its referrer (see Classify); any other event is sent from the page the
// visitor is on and says nothing of how they arrived, so it is direct. The capacity of
// h.Page.Query and h.Source.ClickIDs is reused. The tracker enriches every hit with it, and
// the rule tests theirs, so that a rule test sees what production sees.
func (c *Classifier) PageAndSource(h *event.Hit) {
	ParsePage(h.Event.URL, &h.Page)
	if h.Event.Type == event.TypePageview {
		c.Classify(&h.Page, h.Event.Ref, &h.Source)
		return
	}
	h.Source.Source, h.Source.Medium, h.Source.Channel = "(direct)", "(none)", "Direct"
}

// Classify fills s from the landing page and the document referrer, by the first rule that
// applies:
//
//  1. UTM parameters (utm_source, utm_medium, utm_campaign): a manually tagged campaign. A
//     missing source, medium or campaign is "(not set)".
//  2. A Google Ads click id (gclid, gbraid, wbraid, dclid): google / cpc. Display & Video 360
//     clicks (dclid) are reported as google / cpc too: without the linked ad account there is
//     no telling the networks apart.
//  3. A Microsoft Advertising click id (msclkid): bing / cpc.
//  4. An external referrer that is a search engine: the engine's bare name / organic
//     (google / organic for www.google.co.uk), campaign "(organic)".
//  5. Any other external referrer: its host without "www." / referral, campaign "(referral)".
//  6. Nothing: (direct) / (none), campaign "(direct)". A self-referral counts as nothing.
//
// Without UTM parameters the campaign is "(not set)" for ad clicks, as in GA4, which takes
// campaign names from the linked ad account. Term and content come from utm_term and
// utm_content whatever the rule. Every click id on the URL is recorded in s.ClickIDs; s.RefHost
// is the referrer's host, or "" for no referrer or a self-referral. s.Channel is the GA4
// default channel group of the result (see ChannelGroup).
//
// page may be nil. s is overwritten; the capacity of s.ClickIDs is reused, so classifying a
// hit without click ids into a pooled Source allocates nothing. Strings in s are constants or
// substrings of page's strings and referrer, except a referrer host with upper-case letters,
// which is lower-cased into a new string.
func (c *Classifier) Classify(page *event.Page, referrer string, s *event.Source) {
	ids := s.ClickIDs[:cap(s.ClickIDs)]
	clear(ids)
	*s = event.Source{ClickIDs: ids[:0]}

	var pageHost, utmSource, utmMedium, utmCampaign string
	var googleClick, bingClick bool
	if page != nil {
		pageHost = page.Host
		for i := range page.Query {
			p := &page.Query[i]
			if p.Val.Kind != event.KindString {
				continue
			}
			v := strings.TrimSpace(p.Val.Str)
			if v == "" {
				continue
			}
			v = event.CutUTF8(v, maxAttributionValue)
			k := p.Key
			if len(k) > 4 && strings.EqualFold(k[:4], "utm_") {
				switch f := k[4:]; {
				case strings.EqualFold(f, "source"):
					utmSource = first(utmSource, v)
				case strings.EqualFold(f, "medium"):
					utmMedium = first(utmMedium, v)
				case strings.EqualFold(f, "campaign"):
					utmCampaign = first(utmCampaign, v)
				case strings.EqualFold(f, "term"):
					s.Term = first(s.Term, v)
				case strings.EqualFold(f, "content"):
					s.Content = first(s.Content, v)
				}
				continue
			}
			name := clickIDName(k)
			if name == "" || len(s.ClickIDs) >= maxClickIDs {
				continue
			}
			s.ClickIDs = append(s.ClickIDs, event.ClickID{Name: name, Value: v})
			switch name {
			case "gclid", "gbraid", "wbraid", "dclid":
				googleClick = true
			case "msclkid":
				bingClick = true
			}
		}
	}

	if h := referrerHost(referrer); h != "" && !c.selfReferral(h, pageHost) {
		s.RefHost = h
	}

	switch {
	case utmSource != "" || utmMedium != "" || utmCampaign != "":
		s.Source = first(utmSource, notSet)
		s.Medium = first(utmMedium, notSet)
		s.Campaign = first(utmCampaign, notSet)
	case googleClick:
		s.Source, s.Medium, s.Campaign = "google", mediumCPC, notSet
	case bingClick:
		s.Source, s.Medium, s.Campaign = "bing", mediumCPC, notSet
	case s.RefHost != "":
		if info, ok := c.sources.lookupHost(s.RefHost); ok && info.cat == catSearch {
			s.Source, s.Medium, s.Campaign = info.name, mediumOrganic, campaignOrganic
		} else {
			s.Source, s.Medium, s.Campaign = trimWWW(s.RefHost), mediumReferral, campaignReferral
		}
	default:
		s.Source, s.Medium, s.Campaign = sourceDirect, mediumNone, campaignDirect
	}
	s.Channel = c.sources.channelGroup(s.Source, s.Medium, s.Campaign)
}

// ChannelGroup returns the GA4 default channel group of a source, medium and campaign, by
// Google's published rules, tested in this order (the first that matches wins; text is
// compared without regard to case):
//
//   - Direct: source "(direct)" and medium "(none)" or "(not set)".
//   - Cross-network: the campaign contains "cross-network".
//   - Paid Shopping: a shopping source or a shopping campaign (one with "shopping" in it, or
//     "shop" at its start or after anything but a letter other than "e": "summer_shop",
//     "eshop", not "workshop"), and a paid medium: one containing "cp", starting with "paid",
//     or equal to "ppc" or "retargeting".
//   - Paid Search, Paid Social, Paid Video: a search, social or video source and a paid medium.
//   - Display: medium "display", "banner", "expandable", "interstitial" or "cpm".
//   - Paid Other: any other paid medium.
//   - Organic Shopping: a shopping source or a shopping campaign.
//   - Organic Social: a social source, or medium "social", "social-network", "social-media",
//     "sm", "social network" or "social media".
//   - Organic Video: a video source, or a medium containing "video".
//   - Organic Search: a search source, or medium "organic".
//   - Referral: medium "referral", "app" or "link".
//   - Email: source or medium "email", "e-mail", "e_mail" or "e mail".
//   - Affiliates: medium "affiliate".
//   - Audio: medium "audio".
//   - SMS: source or medium "sms".
//   - Mobile Push Notifications: a medium ending in "push" or containing "mobile" or
//     "notification", or source "firebase".
//   - Unassigned: anything else.
//
// Sources are categorised by the table in sources.txt: by bare name ("facebook", "fb"), by
// domain and subdomain ("l.facebook.com"), and by domain under any country's top-level domain
// ("google.co.uk"). Referral comes before Email, as in Google's table: utm_source=email with
// utm_medium=referral is Referral.
func ChannelGroup(source, medium, campaign string) string {
	return defaultSources.channelGroup(source, medium, campaign)
}

func (t *sourceTable) channelGroup(source, medium, campaign string) string {
	if source == sourceDirect && (medium == mediumNone || medium == notSet) {
		return ChannelDirect
	}
	var cat category
	if source != "" {
		if info, ok := t.lookup(lowerASCII(source)); ok {
			cat = info.cat
		}
	}
	paid := containsFold(medium, "cp") || hasPrefixFold(medium, "paid") ||
		strings.EqualFold(medium, "ppc") || strings.EqualFold(medium, "retargeting")
	shopping := cat == catShopping || isShoppingCampaign(campaign)
	switch {
	case containsFold(campaign, "cross-network"):
		return ChannelCrossNetwork
	case shopping && paid:
		return ChannelPaidShopping
	case cat == catSearch && paid:
		return ChannelPaidSearch
	case cat == catSocial && paid:
		return ChannelPaidSocial
	case cat == catVideo && paid:
		return ChannelPaidVideo
	case equalsAnyFold(medium, "display", "banner", "expandable", "interstitial", "cpm"):
		return ChannelDisplay
	case paid:
		return ChannelPaidOther
	case shopping:
		return ChannelOrganicShopping
	case cat == catSocial ||
		equalsAnyFold(medium, "social", "social-network", "social-media", "sm", "social network", "social media"):
		return ChannelOrganicSocial
	case cat == catVideo || containsFold(medium, "video"):
		return ChannelOrganicVideo
	case cat == catSearch || strings.EqualFold(medium, mediumOrganic):
		return ChannelOrganicSearch
	case equalsAnyFold(medium, mediumReferral, "app", "link"):
		return ChannelReferral
	case isEmailWord(source) || isEmailWord(medium):
		return ChannelEmail
	case strings.EqualFold(medium, "affiliate"):
		return ChannelAffiliates
	case strings.EqualFold(medium, "audio"):
		return ChannelAudio
	case strings.EqualFold(source, "sms") || strings.EqualFold(medium, "sms"):
		return ChannelSMS
	case hasSuffixFold(medium, "push") || containsFold(medium, "mobile") || containsFold(medium, "notification") ||
		strings.EqualFold(source, "firebase"):
		return ChannelMobilePush
	}
	return ChannelUnassigned
}

// isShoppingCampaign reports whether a campaign name reads as a shopping campaign: it contains
// "shopping", or "shop" at its start or after a character that is not a letter from a to z
// other than e (so "eshop" and "summer-shop" count, "workshop" does not).
func isShoppingCampaign(c string) bool {
	if containsFold(c, "shopping") {
		return true
	}
	for i := 0; i+4 <= len(c); i++ {
		if !strings.EqualFold(c[i:i+4], "shop") {
			continue
		}
		if i == 0 {
			return true
		}
		if p := lowerByte(c[i-1]); p < 'a' || p > 'z' || p == 'e' {
			return true
		}
	}
	return false
}

func isEmailWord(s string) bool {
	return equalsAnyFold(s, "email", "e-mail", "e_mail", "e mail")
}

// clickIDName returns the canonical name of the click id parameter k, or "".
func clickIDName(k string) string {
	if len(k) < 4 || len(k) > 9 {
		return ""
	}
	for _, n := range clickIDs {
		if strings.EqualFold(k, n) {
			return n
		}
	}
	return ""
}

// referrerHost returns the lower-case host of an absolute referrer URL, "" when there is none
// or the referrer is not absolute. Browsers send absolute referrers; anything else is noise.
func referrerHost(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	if _, ok := cutScheme(ref); !ok && !strings.HasPrefix(ref, "//") {
		return ""
	}
	a, _ := splitAuthority(ref)
	for i := 0; i < len(a); i++ {
		if a[i] == '?' || a[i] == '#' {
			a = a[:i]
			break
		}
	}
	return normaliseHost(a)
}

// selfReferral reports whether the referrer host ref belongs to the site: one of its hosts or
// their subdomains, or the page's registrable domain.
func (c *Classifier) selfReferral(ref, pageHost string) bool {
	r := trimWWW(ref)
	for _, h := range c.siteHosts {
		if r == h || len(r) > len(h) && strings.HasSuffix(r, h) && r[len(r)-len(h)-1] == '.' {
			return true
		}
	}
	if pageHost == "" {
		return false
	}
	p := trimWWW(pageHost)
	return r == p || registrableDomain(r) == registrableDomain(p)
}

func trimWWW(h string) string { return strings.TrimPrefix(h, "www.") }

// first returns a, or b when a is empty.
func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// containsFold reports whether s contains the lower-case ASCII string sub, ignoring case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func equalsAnyFold(s string, words ...string) bool {
	for _, w := range words {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}
