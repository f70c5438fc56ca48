package enrich

import (
	"hash/maphash"
	"strings"

	"github.com/mssola/useragent"

	"github.com/pathlight/pathlight/internal/event"
)

const (
	// DefaultUACacheSize is the number of user agents a UAParser remembers when NewUAParser
	// is given no size. A site's traffic comes from a few thousand distinct user agents.
	DefaultUACacheSize = 8192

	// maxCachedUA is the longest user agent kept in the cache. Real browsers send 100 to 300
	// bytes; longer strings are parsed every time, so that a client cycling through huge
	// made-up user agents cannot make the cache hold much memory.
	maxCachedUA = 512

	// maxParsedUA bounds the work one parse does. Everything that identifies a browser or a
	// bot sits well inside it.
	maxParsedUA = 2048
)

// UAParser turns User-Agent strings into devices. Parsing takes microseconds, so results are
// cached by user agent: hits share few distinct strings. A UAParser is safe for concurrent
// use.
type UAParser struct {
	cache *cache[string, event.Device]
}

// NewUAParser returns a parser that caches up to about cacheSize user agents;
// cacheSize ≤ 0 selects DefaultUACacheSize.
func NewUAParser(cacheSize int) *UAParser {
	if cacheSize <= 0 {
		cacheSize = DefaultUACacheSize
	}
	seed := maphash.MakeSeed()
	return &UAParser{cache: newCache[string, event.Device](cacheSize, func(s string) uint64 {
		return maphash.String(seed, s)
	})}
}

// Parse returns the device the user agent ua describes. An empty user agent is a bot: every
// browser sends one. ua may alias a transient request buffer: Parse copies what it keeps, and
// the strings of the returned Device never alias ua. A cached user agent costs one map lookup
// and no allocation.
func (p *UAParser) Parse(ua string) event.Device {
	if len(ua) > maxCachedUA {
		return parseUA(ua)
	}
	if d, ok := p.cache.get(ua); ok {
		return d
	}
	d := parseUA(ua)
	p.cache.put(strings.Clone(ua), d)
	return d
}

// parseUA does the uncached work of Parse.
func parseUA(ua string) event.Device {
	ua = strings.TrimSpace(ua)
	if len(ua) > maxParsedUA {
		ua = ua[:maxParsedUA]
	}
	if ua == "" {
		return event.Device{Type: event.DeviceBot, Bot: true}
	}
	lua := strings.ToLower(ua)
	if name, ok := matchBot(lua); ok {
		return event.Device{Type: event.DeviceBot, Bot: true, Browser: name}
	}

	var u useragent.UserAgent
	u.Parse(ua)
	if u.Bot() {
		name, _ := u.Browser()
		if name == "" || len(name) > 32 || !isPlainName(name) {
			name = "Bot"
		}
		return event.Device{Type: event.DeviceBot, Bot: true, Browser: strings.Clone(name)}
	}

	d := event.Device{OS: osName(ua, &u), Browser: browserName(ua, &u)}
	d.Type = deviceType(ua, d.OS, u.Mobile())
	return d
}

// osName returns the normalised operating system name of ua, "" when unknown. Tokens are
// checked from the most specific to the most general: Android and ChromeOS user agents also
// say Linux, iOS ones also say "like Mac OS X".
func osName(ua string, u *useragent.UserAgent) string {
	switch {
	case strings.Contains(ua, "Windows Phone"):
		return "Windows Phone"
	case strings.Contains(ua, "Windows"):
		return "Windows"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"), strings.Contains(ua, "iPod"):
		return "iOS"
	case strings.Contains(ua, "HarmonyOS"), strings.Contains(ua, "OpenHarmony"):
		return "HarmonyOS"
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Macintosh"), strings.Contains(ua, "Mac OS X"):
		return "macOS"
	case strings.Contains(ua, "KAIOS"), strings.Contains(ua, "KaiOS"):
		return "KaiOS"
	case strings.Contains(ua, "Tizen"):
		return "Tizen"
	case strings.Contains(ua, "Web0S"), strings.Contains(ua, "webOS"):
		return "webOS"
	case strings.Contains(ua, "FreeBSD"), strings.Contains(ua, "OpenBSD"), strings.Contains(ua, "NetBSD"):
		return "BSD"
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "X11"):
		return "Linux"
	}
	// Names the library knows and the list above does not: kept only when short and plain,
	// so that a forged user agent cannot fill reports with junk.
	if name := u.OSInfo().Name; name != "" && len(name) <= 32 && isPlainName(name) {
		return strings.Clone(name)
	}
	return ""
}

// browserRule maps a user-agent token to a browser name.
type browserRule struct {
	token string
	name  string
}

// browserRules are checked in order: browsers built on Chromium or WebKit also send the
// Chrome and Safari tokens, so the rebranded ones come first and Chrome and Safari last.
var browserRules = []browserRule{
	{"Edg/", "Edge"},
	{"EdgA/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"Edge/", "Edge"},
	{"OPR/", "Opera"},
	{"OPT/", "Opera"},
	{"OPX/", "Opera"},
	{"OPiOS/", "Opera"},
	{"Opera", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"YaBrowser/", "Yandex Browser"},
	{"YaSearchBrowser/", "Yandex Browser"},
	{"UCBrowser/", "UC Browser"},
	{"UCWEB", "UC Browser"},
	{"Vivaldi/", "Vivaldi"},
	{"Brave", "Brave"},
	{"DuckDuckGo/", "DuckDuckGo"},
	{"Ddg/", "DuckDuckGo"},
	{"MiuiBrowser/", "MIUI Browser"},
	{"HuaweiBrowser/", "Huawei Browser"},
	{"HeyTapBrowser/", "HeyTap Browser"},
	{"VivoBrowser/", "Vivo Browser"},
	{"Whale/", "Whale"},
	{"QQBrowser/", "QQ Browser"},
	{"MQQBrowser/", "QQ Browser"},
	{"baiduboxapp", "Baidu App"},
	{"Silk/", "Amazon Silk"},
	{"coc_coc_browser/", "Coc Coc"},
	{"FBAN/", "Facebook"},
	{"FBAV/", "Facebook"},
	{"FB_IAB/", "Facebook"},
	{"Instagram", "Instagram"},
	{"musical_ly", "TikTok"},
	{"BytedanceWebview", "TikTok"},
	{"LinkedInApp", "LinkedIn"},
	{"Pinterest/", "Pinterest"},
	{"Line/", "LINE"},
	{"MicroMessenger/", "WeChat"},
	{"GSA/", "Google App"},
	{"Firefox/", "Firefox"},
	{"FxiOS/", "Firefox"},
	{"Focus/", "Firefox"},
	{"Chromium/", "Chromium"},
	{"CriOS/", "Chrome"},
	{"Chrome/", "Chrome"},
	{"Trident/", "Internet Explorer"},
	{"MSIE ", "Internet Explorer"},
}

// browserName returns the normalised browser name of ua, "" when unknown.
func browserName(ua string, u *useragent.UserAgent) string {
	for _, r := range browserRules {
		if strings.Contains(ua, r.token) {
			if r.name == "Chrome" && strings.Contains(ua, "; wv)") {
				return "Android WebView"
			}
			return r.name
		}
	}
	if strings.Contains(ua, "AppleWebKit") && (strings.Contains(ua, "Safari/") ||
		strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") || strings.Contains(ua, "Macintosh")) {
		if strings.Contains(ua, "Android") {
			return "Android Browser"
		}
		return "Safari"
	}
	if name, _ := u.Browser(); name != "" && len(name) <= 32 && isPlainName(name) {
		return strings.Clone(name)
	}
	return ""
}

// deviceType classes a non-bot user agent from its tokens and normalised operating system. An
// app or library that names no operating system is of unknown type.
func deviceType(ua, os string, mobile bool) event.DeviceType {
	switch {
	case strings.Contains(ua, "iPad"), strings.Contains(ua, "Tablet"), strings.Contains(ua, "Kindle"),
		strings.Contains(ua, "Silk/"), strings.Contains(ua, "PlayBook"):
		return event.DeviceTablet
	case os == "Android" && !strings.Contains(ua, "Mobile"):
		// Android phones send "Mobile"; tablets do not.
		return event.DeviceTablet
	case mobile, strings.Contains(ua, "Mobi"), strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPod"),
		os == "Windows Phone", os == "KaiOS", strings.Contains(ua, "Opera Mini"):
		return event.DeviceMobile
	case os == "Windows", os == "macOS", os == "Linux", os == "ChromeOS", os == "BSD":
		return event.DeviceDesktop
	}
	return event.DeviceUnknown
}

// isPlainName reports whether s looks like a product name: letters, digits, spaces and a few
// separators, nothing a forged user agent could use to smuggle markup into reports.
func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ' ', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
