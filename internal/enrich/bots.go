package enrich

import "strings"

// botToken is a lower-case substring that marks a user agent as automated, and the name
// reports show for it.
type botToken struct {
	token string
	name  string
}

// botTokens are the automated clients the user agent library does not recognise on its own:
// headless browsers and test drivers, HTTP libraries and command-line tools, link-preview
// fetchers, search and AI crawlers, SEO tools and uptime monitors. They are checked in order
// against the lower-cased user agent, so a specific token comes before a more general one
// that it contains ("adsbot-google" before "googlebot"-style words, "bingpreview" before
// "bing").
var botTokens = []botToken{
	// Headless browsers and automation.
	{"headlesschrome", "Headless Chrome"},
	{"phantomjs", "PhantomJS"},
	{"chrome-lighthouse", "Lighthouse"},
	{"lighthouse", "Lighthouse"},
	{"puppeteer", "Puppeteer"},
	{"playwright", "Playwright"},
	{"selenium", "Selenium"},
	{"webdriver", "WebDriver"},
	{"slimerjs", "SlimerJS"},
	{"electron-prerender", "Prerender"},
	{"prerender", "Prerender"},
	{"rendertron", "Rendertron"},
	{"cypress", "Cypress"},

	// HTTP libraries and tools.
	{"curl/", "curl"},
	{"wget/", "Wget"},
	{"python-requests", "python-requests"},
	{"python-urllib", "python-urllib"},
	{"python-httpx", "httpx"},
	{"python/", "Python"},
	{"aiohttp", "aiohttp"},
	{"httpx", "httpx"},
	{"go-http-client", "Go-http-client"},
	{"java/", "Java"},
	{"okhttp", "OkHttp"},
	{"apache-httpclient", "Apache-HttpClient"},
	{"node-fetch", "node-fetch"},
	{"undici", "undici"},
	{"axios", "axios"},
	{"got (https://github.com/sindresorhus/got)", "got"},
	{"libwww-perl", "libwww-perl"},
	{"lwp::simple", "libwww-perl"},
	{"scrapy", "Scrapy"},
	{"guzzlehttp", "Guzzle"},
	{"postmanruntime", "Postman"},
	{"insomnia", "Insomnia"},
	{"restsharp", "RestSharp"},
	{"httpie", "HTTPie"},
	{"reqwest", "reqwest"},
	{"dart:io", "Dart"},
	{"zgrab", "ZGrab"},
	{"masscan", "masscan"},
	{"nmap", "Nmap"},
	{"nikto", "Nikto"},
	{"sqlmap", "sqlmap"},
	{"wpscan", "WPScan"},
	{"httrack", "HTTrack"},
	{"heritrix", "Heritrix"},
	{"nutch", "Nutch"},

	// Search engines.
	{"adsbot-google", "AdsBot-Google"},
	{"mediapartners-google", "Mediapartners-Google"},
	{"storebot-google", "Storebot-Google"},
	{"google-inspectiontool", "Google-InspectionTool"},
	{"googleother", "GoogleOther"},
	{"google-extended", "Google-Extended"},
	{"google-read-aloud", "Google-Read-Aloud"},
	{"feedfetcher-google", "FeedFetcher-Google"},
	{"apis-google", "APIs-Google"},
	{"google page speed", "Google PageSpeed"},
	{"googlebot", "Googlebot"},
	{"bingpreview", "BingPreview"},
	{"bingbot", "bingbot"},
	{"adidxbot", "bingbot"},
	{"yandexbot", "YandexBot"},
	{"yandeximages", "YandexBot"},
	{"yandexmetrika", "YandexMetrika"},
	{"baiduspider", "Baiduspider"},
	{"duckduckbot", "DuckDuckBot"},
	{"duckassistbot", "DuckAssistBot"},
	{"applebot", "Applebot"},
	{"yahoo! slurp", "Yahoo! Slurp"},
	{"sogou", "Sogou"},
	{"seznambot", "SeznamBot"},
	{"naverbot", "Naverbot"},
	{"yeti/", "Naverbot"},
	{"exabot", "Exabot"},
	{"petalbot", "PetalBot"},
	{"qwantify", "Qwant"},
	{"mojeekbot", "MojeekBot"},
	{"ia_archiver", "ia_archiver"},
	{"archive.org_bot", "Internet Archive"},

	// SEO tools.
	{"ahrefsbot", "AhrefsBot"},
	{"ahrefssiteaudit", "AhrefsBot"},
	{"semrushbot", "SemrushBot"},
	{"siteauditbot", "SemrushBot"},
	{"mj12bot", "MJ12bot"},
	{"dotbot", "DotBot"},
	{"rogerbot", "rogerbot"},
	{"blexbot", "BLEXBot"},
	{"dataforseobot", "DataForSeoBot"},
	{"serpstatbot", "serpstatbot"},
	{"screaming frog", "Screaming Frog"},
	{"sitebulb", "Sitebulb"},
	{"barkrowler", "Barkrowler"},

	// Link previews and social fetchers.
	{"facebookexternalhit", "facebookexternalhit"},
	{"facebookcatalog", "facebookcatalog"},
	{"meta-externalagent", "Meta-ExternalAgent"},
	{"meta-externalfetcher", "Meta-ExternalFetcher"},
	{"twitterbot", "Twitterbot"},
	{"linkedinbot", "LinkedInBot"},
	{"slackbot", "Slackbot"},
	{"slack-imgproxy", "Slackbot"},
	{"discordbot", "Discordbot"},
	{"telegrambot", "TelegramBot"},
	{"whatsapp", "WhatsApp"},
	{"pinterestbot", "Pinterestbot"},
	{"redditbot", "redditbot"},
	{"skypeuripreview", "Skype"},
	{"embedly", "Embedly"},
	{"vkshare", "VK"},
	{"iframely", "Iframely"},

	// AI crawlers and assistants.
	{"gptbot", "GPTBot"},
	{"chatgpt-user", "ChatGPT-User"},
	{"oai-searchbot", "OAI-SearchBot"},
	{"claudebot", "ClaudeBot"},
	{"claude-web", "Claude-Web"},
	{"claude-user", "Claude-User"},
	{"claude-searchbot", "Claude-SearchBot"},
	{"anthropic-ai", "anthropic-ai"},
	{"ccbot", "CCBot"},
	{"perplexitybot", "PerplexityBot"},
	{"perplexity-user", "Perplexity-User"},
	{"bytespider", "Bytespider"},
	{"amazonbot", "Amazonbot"},
	{"cohere-ai", "cohere-ai"},
	{"diffbot", "Diffbot"},
	{"youbot", "YouBot"},
	{"timpibot", "Timpibot"},
	{"imagesiftbot", "ImagesiftBot"},
	{"omgili", "Omgili"},

	// Uptime and performance monitors.
	{"uptimerobot", "UptimeRobot"},
	{"pingdom", "Pingdom"},
	{"statuscake", "StatusCake"},
	{"site24x7", "Site24x7"},
	{"newrelicpinger", "New Relic"},
	{"datadogsynthetics", "Datadog"},
	{"gtmetrix", "GTmetrix"},
	{"checkly", "Checkly"},
	{"betteruptime", "Better Uptime"},

	// Generic words: last, so that a named token above wins.
	{"bot", "Bot"},
	{"crawl", "Crawler"},
	{"spider", "Spider"},
	{"scraper", "Scraper"},
	{"slurp", "Slurp"},
	{"fetcher", "Fetcher"},
	{"httpclient", "HTTP client"},
	{"headless", "Headless browser"},
}

// notBotWords are lower-case substrings of real devices that contain a generic bot word:
// Cubot phones, for one.
var notBotWords = []string{"cubot"}

// matchBot reports whether the lower-cased user agent lua belongs to an automated client, and
// its display name.
func matchBot(lua string) (string, bool) {
	for _, t := range botTokens {
		if !strings.Contains(lua, t.token) {
			continue
		}
		if t.name == "Bot" && isNotBot(lua) {
			continue
		}
		return t.name, true
	}
	return "", false
}

func isNotBot(lua string) bool {
	for _, w := range notBotWords {
		if strings.Contains(lua, w) && strings.Count(lua, "bot") == strings.Count(lua, w) {
			return true
		}
	}
	return false
}
