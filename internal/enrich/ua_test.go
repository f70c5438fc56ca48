package enrich

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/pathlight/pathlight/internal/event"
)

// Real user agents, as browsers, apps and crawlers send them.
const (
	uaChromeWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaEdgeWindows    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaSafariMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	uaChromeMac      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaFirefoxLinux   = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaChromeOS       = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaSafariIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaChromeIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
	uaSafariIPad     = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaChromeAndroid  = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	uaAndroidTablet  = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaSamsung        = "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
	uaFirefoxAndroid = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
	uaFirefoxTablet  = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
	uaOpera          = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0"
	uaWebView        = "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36"
	uaFacebookIOS    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/458.0.0.40.108;FBBV/591063331;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4]"
	uaIE11           = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
	uaCubot          = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	uaYandex         = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36"

	uaGooglebot        = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaGooglebotMobile  = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaBingbot          = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	uaHeadless         = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36"
	uaGPTBot           = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.2; +https://openai.com/gptbot"
	uaClaudeBot        = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)"
	uaFacebookExternal = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
	uaLighthouse       = "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse"
	uaSiteBot          = "Mozilla/5.0 (compatible; FooFinder/1.0; +https://foo.example/about)"
)

func TestUAParse(t *testing.T) {
	desktop, mobile, tablet, bot := event.DeviceDesktop, event.DeviceMobile, event.DeviceTablet, event.DeviceBot
	tests := []struct {
		ua   string
		want event.Device
	}{
		{uaChromeWindows, event.Device{Type: desktop, OS: "Windows", Browser: "Chrome"}},
		{uaEdgeWindows, event.Device{Type: desktop, OS: "Windows", Browser: "Edge"}},
		{uaFirefoxWindows, event.Device{Type: desktop, OS: "Windows", Browser: "Firefox"}},
		{uaSafariMac, event.Device{Type: desktop, OS: "macOS", Browser: "Safari"}},
		{uaChromeMac, event.Device{Type: desktop, OS: "macOS", Browser: "Chrome"}},
		{uaFirefoxLinux, event.Device{Type: desktop, OS: "Linux", Browser: "Firefox"}},
		{uaChromeOS, event.Device{Type: desktop, OS: "ChromeOS", Browser: "Chrome"}},
		{uaSafariIPhone, event.Device{Type: mobile, OS: "iOS", Browser: "Safari"}},
		{uaChromeIPhone, event.Device{Type: mobile, OS: "iOS", Browser: "Chrome"}},
		{uaSafariIPad, event.Device{Type: tablet, OS: "iOS", Browser: "Safari"}},
		{uaChromeAndroid, event.Device{Type: mobile, OS: "Android", Browser: "Chrome"}},
		{uaAndroidTablet, event.Device{Type: tablet, OS: "Android", Browser: "Chrome"}},
		{uaSamsung, event.Device{Type: mobile, OS: "Android", Browser: "Samsung Internet"}},
		{uaFirefoxAndroid, event.Device{Type: mobile, OS: "Android", Browser: "Firefox"}},
		{uaFirefoxTablet, event.Device{Type: tablet, OS: "Android", Browser: "Firefox"}},
		{uaOpera, event.Device{Type: desktop, OS: "Windows", Browser: "Opera"}},
		{uaWebView, event.Device{Type: mobile, OS: "Android", Browser: "Android WebView"}},
		{uaFacebookIOS, event.Device{Type: mobile, OS: "iOS", Browser: "Facebook"}},
		{uaIE11, event.Device{Type: desktop, OS: "Windows", Browser: "Internet Explorer"}},
		{uaCubot, event.Device{Type: mobile, OS: "Android", Browser: "Chrome"}},
		{uaYandex, event.Device{Type: desktop, OS: "Windows", Browser: "Yandex Browser"}},
		{"SomeApp/1.0", event.Device{Type: event.DeviceUnknown, Browser: "SomeApp"}},

		{uaGooglebot, event.Device{Type: bot, Bot: true, Browser: "Googlebot"}},
		{uaGooglebotMobile, event.Device{Type: bot, Bot: true, Browser: "Googlebot"}},
		{uaBingbot, event.Device{Type: bot, Bot: true, Browser: "bingbot"}},
		{uaHeadless, event.Device{Type: bot, Bot: true, Browser: "Headless Chrome"}},
		{uaGPTBot, event.Device{Type: bot, Bot: true, Browser: "GPTBot"}},
		{uaClaudeBot, event.Device{Type: bot, Bot: true, Browser: "ClaudeBot"}},
		{uaFacebookExternal, event.Device{Type: bot, Bot: true, Browser: "facebookexternalhit"}},
		{uaLighthouse, event.Device{Type: bot, Bot: true, Browser: "Lighthouse"}},
		{uaSiteBot, event.Device{Type: bot, Bot: true, Browser: "FooFinder"}},
		{"curl/8.4.0", event.Device{Type: bot, Bot: true, Browser: "curl"}},
		{"Wget/1.21.4", event.Device{Type: bot, Bot: true, Browser: "Wget"}},
		{"python-requests/2.31.0", event.Device{Type: bot, Bot: true, Browser: "python-requests"}},
		{"Python-urllib/3.12", event.Device{Type: bot, Bot: true, Browser: "python-urllib"}},
		{"Python/3.12 aiohttp/3.9.5", event.Device{Type: bot, Bot: true, Browser: "Python"}},
		{"Go-http-client/1.1", event.Device{Type: bot, Bot: true, Browser: "Go-http-client"}},
		{"Java/17.0.2", event.Device{Type: bot, Bot: true, Browser: "Java"}},
		{"okhttp/4.12.0", event.Device{Type: bot, Bot: true, Browser: "OkHttp"}},
		{"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", event.Device{Type: bot, Bot: true, Browser: "node-fetch"}},
		{"axios/1.6.8", event.Device{Type: bot, Bot: true, Browser: "axios"}},
		{"libwww-perl/6.72", event.Device{Type: bot, Bot: true, Browser: "libwww-perl"}},
		{"Scrapy/2.11.1 (+https://scrapy.org)", event.Device{Type: bot, Bot: true, Browser: "Scrapy"}},
		{"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", event.Device{Type: bot, Bot: true, Browser: "YandexBot"}},
		{"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", event.Device{Type: bot, Bot: true, Browser: "Baiduspider"}},
		{"DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", event.Device{Type: bot, Bot: true, Browser: "DuckDuckBot"}},
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", event.Device{Type: bot, Bot: true, Browser: "AhrefsBot"}},
		{"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", event.Device{Type: bot, Bot: true, Browser: "SemrushBot"}},
		{"Twitterbot/1.0", event.Device{Type: bot, Bot: true, Browser: "Twitterbot"}},
		{"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", event.Device{Type: bot, Bot: true, Browser: "Slackbot"}},
		{"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", event.Device{Type: bot, Bot: true, Browser: "Discordbot"}},
		{"CCBot/2.0 (https://commoncrawl.org/faq/)", event.Device{Type: bot, Bot: true, Browser: "CCBot"}},
		{"Mozilla/5.0 (compatible; Bytespider; spider-feedback@bytedance.com)", event.Device{Type: bot, Bot: true, Browser: "Bytespider"}},
		{"SomeCrawler/0.1", event.Device{Type: bot, Bot: true, Browser: "Crawler"}},
		{"", event.Device{Type: bot, Bot: true}},
		{"   ", event.Device{Type: bot, Bot: true}},
	}
	p := NewUAParser(0)
	for _, tt := range tests {
		if got := p.Parse(tt.ua); got != tt.want {
			t.Errorf("Parse(%q) = %+v; want %+v", tt.ua, got, tt.want)
		}
		// A second call is answered from the cache and must agree.
		if got := p.Parse(tt.ua); got != tt.want {
			t.Errorf("Parse(%q) again = %+v; want %+v", tt.ua, got, tt.want)
		}
	}
}

// TestUAParseKeepsACopy: a user agent that aliases a request buffer is copied into the cache,
// so reusing the buffer changes no cache key (a lookup of the original string still hits).
func TestUAParseKeepsACopy(t *testing.T) {
	p := NewUAParser(0)
	b := []byte(uaSafariIPhone)
	want := event.Device{Type: event.DeviceMobile, OS: "iOS", Browser: "Safari"}
	if got := p.Parse(unsafe.String(&b[0], len(b))); got != want {
		t.Fatalf("Parse(%q) = %+v; want %+v", b, got, want)
	}
	copy(b, "XXXXXXXX")
	if got, ok := p.cache.get(uaSafariIPhone); !ok || got != want {
		t.Errorf("cache entry of %q after reusing the buffer = %+v, %v; want %+v, true", uaSafariIPhone, got, ok, want)
	}
}

func TestUAParseLong(t *testing.T) {
	p := NewUAParser(16)
	long := uaChromeWindows + " " + strings.Repeat("x", 4*maxCachedUA)
	want := event.Device{Type: event.DeviceDesktop, OS: "Windows", Browser: "Chrome"}
	if got := p.Parse(long); got != want {
		t.Errorf("Parse(long %d bytes) = %+v; want %+v", len(long), got, want)
	}
	if n := p.cache.len(); n != 0 {
		t.Errorf("cache holds %d entries after a long user agent; want 0", n)
	}
}

func TestUACacheBounded(t *testing.T) {
	p := NewUAParser(64)
	for i := range 2000 {
		p.Parse(uaChromeWindows + " build/" + strconv.Itoa(i))
	}
	if n := p.cache.len(); n > 64 || n < 32 {
		t.Errorf("cache holds %d entries after 2000 distinct user agents; want 32 to 64", n)
	}
}

func TestUAParseConcurrent(t *testing.T) {
	p := NewUAParser(32)
	uas := []string{uaChromeWindows, uaSafariIPhone, uaGooglebot, uaAndroidTablet, uaFirefoxLinux}
	want := make([]event.Device, len(uas))
	for i, ua := range uas {
		want[i] = parseUA(ua)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := (g + i) % len(uas)
				if got := p.Parse(uas[k]); got != want[k] {
					t.Errorf("Parse(%q) = %+v; want %+v", uas[k], got, want[k])
					return
				}
				p.Parse(uaChromeMac + strconv.Itoa(i)) // churn the cache
			}
		}()
	}
	wg.Wait()
}

func TestMatchBotGenericWords(t *testing.T) {
	tests := []struct {
		lua  string
		want bool
	}{
		{"mozilla/5.0 (compatible; examplebot/1.0)", true},
		{"mozilla/5.0 (linux; android 10; cubot x30) chrome/124", false},
		{"mozilla/5.0 (linux; android 10; cubot x30) chrome/124 examplebot", true},
		{"mozilla/5.0 (windows nt 10.0) chrome/124", false},
	}
	for _, tt := range tests {
		if _, got := matchBot(tt.lua); got != tt.want {
			t.Errorf("matchBot(%q) = %v; want %v", tt.lua, got, tt.want)
		}
	}
}

func FuzzUAParse(f *testing.F) {
	for _, s := range []string{uaChromeWindows, uaSafariIPad, uaGooglebot, uaFacebookIOS, uaIE11, "Opera/9.80 (Windows NT 6.1) Presto/2.12", "Mozilla/5.0 (", "Dalvik/2.1.0 (Linux; U; Android 9)", "(((", "a/b (c; d) e/f (g)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := parseUA(ua)
		if d.Bot != (d.Type == event.DeviceBot) {
			t.Errorf("parseUA(%q) = %+v; Bot and Type disagree", ua, d)
		}
	})
}

func BenchmarkUAParseCached(b *testing.B) {
	p := NewUAParser(0)
	uas := []string{uaChromeWindows, uaSafariIPhone, uaChromeAndroid, uaEdgeWindows}
	for _, ua := range uas {
		p.Parse(ua)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p.Parse(uas[i%len(uas)])
	}
}

func BenchmarkUAParseUncached(b *testing.B) {
	uas := []string{uaChromeWindows, uaSafariIPhone, uaChromeAndroid, uaGooglebot}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		parseUA(uas[i%len(uas)])
	}
}
