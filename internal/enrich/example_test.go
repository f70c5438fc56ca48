package enrich_test

import (
	"fmt"

	"github.com/pathlight/pathlight/internal/enrich"
	"github.com/pathlight/pathlight/internal/event"
)

func ExampleClassifier_Classify() {
	c := enrich.NewClassifier([]string{"example.com"})
	var page event.Page
	var src event.Source

	enrich.ParsePage("https://example.com/spring?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring&fbclid=IwAR", &page)
	c.Classify(&page, "https://l.facebook.com/", &src)
	fmt.Println(src.Source, "/", src.Medium, "/", src.Campaign, "→", src.Channel, src.ClickIDs)

	enrich.ParsePage("https://example.com/pricing", &page)
	c.Classify(&page, "https://www.google.co.uk/", &src)
	fmt.Println(src.Source, "/", src.Medium, "/", src.Campaign, "→", src.Channel)

	c.Classify(&page, "https://shop.example.com/cart", &src)
	fmt.Println(src.Source, "/", src.Medium, "/", src.Campaign, "→", src.Channel)
	// Output:
	// facebook / paid_social / spring → Paid Social [{fbclid IwAR}]
	// google / organic / (organic) → Organic Search
	// (direct) / (none) / (direct) → Direct
}

func ExampleChannelGroup() {
	fmt.Println(enrich.ChannelGroup("newsletter", "email", "june"))
	fmt.Println(enrich.ChannelGroup("m.youtube.com", "referral", "(referral)"))
	fmt.Println(enrich.ChannelGroup("google", "cpc", "summer_shopping"))
	// Output:
	// Email
	// Organic Video
	// Paid Shopping
}

func ExampleUAParser_Parse() {
	p := enrich.NewUAParser(0)
	d := p.Parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
	fmt.Println(d.Type, d.OS, d.Browser, d.Bot)
	d = p.Parse("curl/8.4.0")
	fmt.Println(d.Type, d.Browser, d.Bot)
	// Output:
	// mobile iOS Safari false
	// bot curl true
}
