package enrich

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

func TestClassify(t *testing.T) {
	type want struct {
		source, medium, campaign, channel, refHost string
	}
	tests := []struct {
		url, ref string
		want     want
	}{
		// Direct and self-referrals.
		{"https://example.com/", "", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://example.com/", "https://example.com/pricing", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://www.example.com/", "https://shop.example.com/cart", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://example.co.uk/", "https://blog.example.co.uk/", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://example.com/", "https://checkout.stripe.com/pay", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://example.com/", "https://app.example.net/", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://example.com/", "not a url", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"/relative", "", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},

		// Search engines.
		{"https://example.com/", "https://www.google.com/", want{"google", "organic", "(organic)", ChannelOrganicSearch, "www.google.com"}},
		{"https://example.com/", "https://www.google.co.uk/", want{"google", "organic", "(organic)", ChannelOrganicSearch, "www.google.co.uk"}},
		{"https://example.com/", "https://www.google.com.br/search?q=x", want{"google", "organic", "(organic)", ChannelOrganicSearch, "www.google.com.br"}},
		{"https://example.com/", "https://google.de", want{"google", "organic", "(organic)", ChannelOrganicSearch, "google.de"}},
		{"https://example.com/", "android-app://com.google.android.googlequicksearchbox/", want{"google", "organic", "(organic)", ChannelOrganicSearch, "com.google.android.googlequicksearchbox"}},
		{"https://example.com/", "https://www.bing.com/search?q=pathlight", want{"bing", "organic", "(organic)", ChannelOrganicSearch, "www.bing.com"}},
		{"https://example.com/", "https://duckduckgo.com/", want{"duckduckgo", "organic", "(organic)", ChannelOrganicSearch, "duckduckgo.com"}},
		{"https://example.com/", "https://search.yahoo.co.jp/", want{"yahoo", "organic", "(organic)", ChannelOrganicSearch, "search.yahoo.co.jp"}},
		{"https://example.com/", "https://yandex.ru/search/", want{"yandex", "organic", "(organic)", ChannelOrganicSearch, "yandex.ru"}},
		{"https://example.com/", "https://www.baidu.com/link?url=x", want{"baidu", "organic", "(organic)", ChannelOrganicSearch, "www.baidu.com"}},
		{"https://example.com/", "https://www.ecosia.org/", want{"ecosia", "organic", "(organic)", ChannelOrganicSearch, "www.ecosia.org"}},
		{"https://example.com/", "https://search.brave.com/", want{"brave", "organic", "(organic)", ChannelOrganicSearch, "search.brave.com"}},

		// Services on search engines' domains are referrals.
		{"https://example.com/", "https://mail.google.com/", want{"mail.google.com", "referral", "(referral)", ChannelReferral, "mail.google.com"}},
		{"https://example.com/", "https://docs.google.com/document/d/1", want{"docs.google.com", "referral", "(referral)", ChannelReferral, "docs.google.com"}},
		{"https://example.com/", "android-app://com.google.android.gm/", want{"com.google.android.gm", "referral", "(referral)", ChannelReferral, "com.google.android.gm"}},

		// Social, video and shopping referrers.
		{"https://example.com/", "https://l.facebook.com/", want{"l.facebook.com", "referral", "(referral)", ChannelOrganicSocial, "l.facebook.com"}},
		{"https://example.com/", "https://m.facebook.com/", want{"m.facebook.com", "referral", "(referral)", ChannelOrganicSocial, "m.facebook.com"}},
		{"https://example.com/", "https://t.co/abc", want{"t.co", "referral", "(referral)", ChannelOrganicSocial, "t.co"}},
		{"https://example.com/", "https://www.linkedin.com/", want{"linkedin.com", "referral", "(referral)", ChannelOrganicSocial, "www.linkedin.com"}},
		{"https://example.com/", "https://old.reddit.com/r/golang", want{"old.reddit.com", "referral", "(referral)", ChannelOrganicSocial, "old.reddit.com"}},
		{"https://example.com/", "https://news.ycombinator.com/item?id=1", want{"news.ycombinator.com", "referral", "(referral)", ChannelOrganicSocial, "news.ycombinator.com"}},
		{"https://example.com/", "https://www.youtube.com/", want{"youtube.com", "referral", "(referral)", ChannelOrganicVideo, "www.youtube.com"}},
		{"https://example.com/", "https://www.amazon.de/dp/1", want{"amazon.de", "referral", "(referral)", ChannelOrganicShopping, "www.amazon.de"}},
		{"https://example.com/", "https://console.aws.amazon.com/", want{"console.aws.amazon.com", "referral", "(referral)", ChannelReferral, "console.aws.amazon.com"}},
		{"https://example.com/", "https://blog.partner.org:8080/post", want{"blog.partner.org", "referral", "(referral)", ChannelReferral, "blog.partner.org"}},
		{"https://example.com/", "https://WWW.Partner.ORG/", want{"partner.org", "referral", "(referral)", ChannelReferral, "www.partner.org"}},
		{"https://me.github.io/", "https://you.github.io/", want{"you.github.io", "referral", "(referral)", ChannelReferral, "you.github.io"}},

		// Ad click ids.
		{"https://example.com/?gclid=Cj0KCQ", "", want{"google", "cpc", "(not set)", ChannelPaidSearch, ""}},
		{"https://example.com/?gbraid=0AAAA", "https://www.google.com/", want{"google", "cpc", "(not set)", ChannelPaidSearch, "www.google.com"}},
		{"https://example.com/?wbraid=CkAK", "", want{"google", "cpc", "(not set)", ChannelPaidSearch, ""}},
		{"https://example.com/?dclid=CJ3x", "", want{"google", "cpc", "(not set)", ChannelPaidSearch, ""}},
		{"https://example.com/?msclkid=8a9b", "https://www.bing.com/", want{"bing", "cpc", "(not set)", ChannelPaidSearch, "www.bing.com"}},
		{"https://example.com/?fbclid=IwAR", "https://l.facebook.com/", want{"l.facebook.com", "referral", "(referral)", ChannelOrganicSocial, "l.facebook.com"}},
		{"https://example.com/?gclid=x&utm_term=shoes", "", want{"google", "cpc", "(not set)", ChannelPaidSearch, ""}},

		// UTM parameters win over click ids and referrers.
		{"https://example.com/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", "https://l.facebook.com/", want{"facebook", "paid_social", "spring", ChannelPaidSocial, "l.facebook.com"}},
		{"https://example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=x", "", want{"google", "cpc", "brand", ChannelPaidSearch, ""}},
		{"https://example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=june", "https://mail.google.com/", want{"newsletter", "email", "june", ChannelEmail, "mail.google.com"}},
		{"https://example.com/?utm_source=partner", "", want{"partner", "(not set)", "(not set)", ChannelUnassigned, ""}},
		{"https://example.com/?utm_medium=social", "", want{"(not set)", "social", "(not set)", ChannelOrganicSocial, ""}},
		{"https://example.com/?utm_campaign=launch", "", want{"(not set)", "(not set)", "launch", ChannelUnassigned, ""}},
		{"https://example.com/?utm_source=&utm_medium=", "", want{"(direct)", "(none)", "(direct)", ChannelDirect, ""}},
		{"https://example.com/?UTM_SOURCE=Facebook&UTM_MEDIUM=CPC", "", want{"Facebook", "CPC", "(not set)", ChannelPaidSocial, ""}},
		{"https://example.com/?utm_source=fb&utm_medium=cpc&utm_source=google", "", want{"fb", "cpc", "(not set)", ChannelPaidSocial, ""}},
		{"https://example.com/?utm_source=google&utm_medium=cpc&utm_campaign=pmax_cross-network", "", want{"google", "cpc", "pmax_cross-network", ChannelCrossNetwork, ""}},
		{"https://example.com/?utm_source=google&utm_medium=cpc&utm_campaign=summer_shopping", "", want{"google", "cpc", "summer_shopping", ChannelPaidShopping, ""}},
		{"https://example.com/?utm_source=youtube&utm_medium=cpv", "", want{"youtube", "cpv", "(not set)", ChannelPaidVideo, ""}},
		{"https://example.com/?utm_source=taboola&utm_medium=display", "", want{"taboola", "display", "(not set)", ChannelDisplay, ""}},
		{"https://example.com/?utm_source=spotify&utm_medium=audio", "", want{"spotify", "audio", "(not set)", ChannelAudio, ""}},
		{"https://example.com/?utm_source=twilio&utm_medium=sms", "", want{"twilio", "sms", "(not set)", ChannelSMS, ""}},
		{"https://example.com/?utm_source=firebase&utm_medium=notification", "", want{"firebase", "notification", "(not set)", ChannelMobilePush, ""}},
		{"https://example.com/?utm_source=awin&utm_medium=affiliate", "", want{"awin", "affiliate", "(not set)", ChannelAffiliates, ""}},
	}
	c := NewClassifier([]string{"example.net", "https://www.example.org", "checkout.stripe.com"})
	var s event.Source
	for _, tt := range tests {
		var p event.Page
		ParsePage(tt.url, &p)
		c.Classify(&p, tt.ref, &s)
		got := want{s.Source, s.Medium, s.Campaign, s.Channel, s.RefHost}
		if got != tt.want {
			t.Errorf("Classify(%q, %q) = %+v; want %+v", tt.url, tt.ref, got, tt.want)
		}
	}
}

func TestClassifyTermContentAndClickIDs(t *testing.T) {
	c := NewClassifier(nil)
	var p event.Page
	ParsePage("https://example.com/?utm_source=google&utm_medium=cpc&utm_term=running+shoes&utm_content=ad_b"+
		"&gclid=G1&fbclid=F1&msclkid=M1&ttclid=T1&li_fat_id=L1&twclid=W1&epik=E1&rdt_cid=R1&sccid=S1&gbraid=B1&wbraid=W2&dclid=D1&other=x", &p)
	var s event.Source
	c.Classify(&p, "", &s)
	if s.Term != "running shoes" || s.Content != "ad_b" {
		t.Errorf("Classify term, content = %q, %q; want %q, %q", s.Term, s.Content, "running shoes", "ad_b")
	}
	want := [][2]string{
		{"gclid", "G1"}, {"fbclid", "F1"}, {"msclkid", "M1"}, {"ttclid", "T1"}, {"li_fat_id", "L1"}, {"twclid", "W1"},
		{"epik", "E1"}, {"rdt_cid", "R1"}, {"sccid", "S1"}, {"gbraid", "B1"}, {"wbraid", "W2"}, {"dclid", "D1"},
	}
	got := make([][2]string, len(s.ClickIDs))
	for i, id := range s.ClickIDs {
		got[i] = [2]string{id.Name, id.Value}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Classify click ids = %v; want %v", got, want)
	}

	// Classifying into the same Source again must not keep the old click ids.
	ParsePage("https://example.com/", &p)
	c.Classify(&p, "", &s)
	if len(s.ClickIDs) != 0 || s.Term != "" || s.Channel != ChannelDirect {
		t.Errorf("Classify into a reused Source = %+v; want a direct source without click ids", s)
	}
}

func TestClassifyNilPageAndLongValues(t *testing.T) {
	c := NewClassifier(nil)
	var s event.Source
	c.Classify(nil, "https://www.bing.com/", &s)
	if s.Source != "bing" || s.Channel != ChannelOrganicSearch {
		t.Errorf("Classify(nil, bing) = %+v; want bing organic", s)
	}
	long := strings.Repeat("x", 600)
	p := event.Page{Query: event.Props{{Key: "utm_source", Val: event.StringValue(long)}, {Key: "utm_medium", Val: event.NumberValue(3)}}}
	c.Classify(&p, "", &s)
	if len(s.Source) != maxAttributionValue || s.Medium != "(not set)" {
		t.Errorf("Classify(long source, numeric medium) = source of %d bytes, medium %q; want %d bytes, (not set)", len(s.Source), s.Medium, maxAttributionValue)
	}
}

func TestChannelGroup(t *testing.T) {
	tests := []struct {
		source, medium, campaign string
		want                     string
	}{
		{"(direct)", "(none)", "(direct)", ChannelDirect},
		{"(direct)", "(not set)", "(not set)", ChannelDirect},
		{"google", "cpc", "Brand | Cross-Network", ChannelCrossNetwork},
		{"amazon", "cpc", "(not set)", ChannelPaidShopping},
		{"newsletter", "paid", "eshop_launch", ChannelPaidShopping},
		{"google", "ppc", "shop-all", ChannelPaidShopping},
		{"google", "cpc", "workshop_signups", ChannelPaidSearch},
		{"bing", "paidsearch", "x", ChannelPaidSearch},
		{"www.google.co.uk", "retargeting", "x", ChannelPaidSearch},
		{"facebook", "cpc", "x", ChannelPaidSocial},
		{"ig", "paid_social", "x", ChannelPaidSocial},
		{"linkedin.com", "cpm-cpc", "x", ChannelPaidSocial},
		{"youtube", "cpv", "x", ChannelPaidVideo},
		{"vimeo.com", "paid", "x", ChannelPaidVideo},
		{"gdn", "display", "x", ChannelDisplay},
		{"news-site", "banner", "x", ChannelDisplay},
		{"news-site", "interstitial", "x", ChannelDisplay},
		{"news-site", "expandable", "x", ChannelDisplay},
		{"news-site", "cpm", "x", ChannelDisplay},
		{"taboola", "cpa", "x", ChannelPaidOther},
		{"outbrain", "paid_native", "x", ChannelPaidOther},
		{"ebay.co.uk", "referral", "(referral)", ChannelOrganicShopping},
		{"newsletter", "email", "summer_shopping", ChannelOrganicShopping},
		{"l.instagram.com", "referral", "(referral)", ChannelOrganicSocial},
		{"partner", "social-network", "x", ChannelOrganicSocial},
		{"partner", "Social Media", "x", ChannelOrganicSocial},
		{"partner", "sm", "x", ChannelOrganicSocial},
		{"youtu.be", "referral", "(referral)", ChannelOrganicVideo},
		{"partner", "video_embed", "x", ChannelOrganicVideo},
		{"google", "organic", "(organic)", ChannelOrganicSearch},
		{"any-engine", "organic", "(organic)", ChannelOrganicSearch},
		{"partner.org", "referral", "(referral)", ChannelReferral},
		{"my-app", "app", "x", ChannelReferral},
		{"bio", "link", "x", ChannelReferral},
		{"email", "referral", "x", ChannelReferral},
		{"newsletter", "email", "june", ChannelEmail},
		{"e-mail", "(not set)", "x", ChannelEmail},
		{"mailchimp", "E_Mail", "x", ChannelEmail},
		{"awin", "affiliate", "x", ChannelAffiliates},
		{"spotify", "audio", "x", ChannelAudio},
		{"sms", "(not set)", "x", ChannelSMS},
		{"twilio", "sms", "x", ChannelSMS},
		{"onesignal", "web_push", "x", ChannelMobilePush},
		{"app", "mobile_banner", "x", ChannelMobilePush},
		{"braze", "in-app-notification", "x", ChannelMobilePush},
		{"firebase", "(not set)", "x", ChannelMobilePush},
		{"partner", "(not set)", "(not set)", ChannelUnassigned},
		{"(not set)", "(not set)", "launch", ChannelUnassigned},
		{"", "", "", ChannelUnassigned},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got := ChannelGroup(tt.source, tt.medium, tt.campaign)
		if got != tt.want {
			t.Errorf("ChannelGroup(%q, %q, %q) = %q; want %q", tt.source, tt.medium, tt.campaign, got, tt.want)
		}
		seen[got] = true
	}
	for _, ch := range Channels() {
		if !seen[ch] {
			t.Errorf("no test case reaches channel %q", ch)
		}
	}
}

func TestIsShoppingCampaign(t *testing.T) {
	tests := []struct {
		campaign string
		want     bool
	}{
		{"shop", true},
		{"Shop_Now", true},
		{"eshop", true},
		{"summer-shop", true},
		{"summer_shop", true},
		{"2024shop", true},
		{"black friday shopping", true},
		{"SHOPPING", true},
		{"workshop", false},
		{"bishop", false},
		{"photoshop", false},
		{"sho", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isShoppingCampaign(tt.campaign); got != tt.want {
			t.Errorf("isShoppingCampaign(%q) = %v; want %v", tt.campaign, got, tt.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add("https://example.com/?utm_source=fb&utm_medium=cpc", "https://l.facebook.com/")
	f.Add("https://example.com/?gclid=1", "")
	f.Add("/x", "android-app://com.google.android.gm/")
	f.Add("", "https://[::1]:80/")
	f.Fuzz(func(t *testing.T, url, ref string) {
		c := NewClassifier([]string{"example.com"})
		var p event.Page
		ParsePage(url, &p)
		var s event.Source
		c.Classify(&p, ref, &s)
		if s.Source == "" || s.Medium == "" || s.Campaign == "" || s.Channel == "" {
			t.Errorf("Classify(%q, %q) = %+v; want source, medium, campaign and channel set", url, ref, s)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	c := NewClassifier([]string{"example.com"})
	cases := []struct{ name, url, ref string }{
		{"PaidSocialUTM", "https://example.com/landing?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring_sale&fbclid=IwAR2xyz", "https://l.facebook.com/"},
		{"GoogleOrganic", "https://example.com/pricing", "https://www.google.co.uk/"},
		{"Direct", "https://example.com/", ""},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var p event.Page
			ParsePage(bc.url, &p)
			var s event.Source
			b.ReportAllocs()
			for b.Loop() {
				c.Classify(&p, bc.ref, &s)
			}
		})
	}
}
