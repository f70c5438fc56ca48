package event

// DeviceType is the class of device a hit came from.
type DeviceType uint8

// Device classes.
const (
	DeviceUnknown DeviceType = iota
	DeviceDesktop
	DeviceMobile
	DeviceTablet
	DeviceBot
)

var deviceNames = [...]string{"unknown", "desktop", "mobile", "tablet", "bot"}

// String returns the device class as reports and conditions name it.
func (d DeviceType) String() string {
	if int(d) < len(deviceNames) {
		return deviceNames[d]
	}
	return "unknown"
}

// ParseDeviceType returns the DeviceType named s, or DeviceUnknown.
func ParseDeviceType(s string) DeviceType {
	for i, n := range deviceNames {
		if n == s {
			return DeviceType(i)
		}
	}
	return DeviceUnknown
}

// Device is what the user agent says about the visitor's device.
type Device struct {
	Type    DeviceType
	OS      string // "Windows", "macOS", "iOS", "Android", "Linux" …
	Browser string // "Chrome", "Safari", "Firefox", "Edge" …
	Bot     bool   // a crawler, a headless browser or a script: counted apart, never personalized
}

// Geo is where the visitor is, from GeoIP or a trusted CDN header. The IP address itself is
// never part of a Hit.
type Geo struct {
	Country  string // ISO 3166-1 alpha-2, "GB"
	Region   string // ISO 3166-2 subdivision code without the country, "ENG"
	City     string // English name, "London"
	TimeZone string // IANA name, "Europe/London"
}

// ClickID is an ad platform's click identifier found on the landing URL.
type ClickID struct {
	Name  string // gclid, gbraid, wbraid, dclid, msclkid, fbclid, ttclid, li_fat_id, twclid, epik, rdt_cid, sccid
	Value string
}

// Source is where a hit's traffic came from: the GA4-style source / medium / campaign of the
// page URL and referrer, and the default channel group they fall into. For a hit that carries
// no campaign information and no external referrer, Source is "(direct)" / "(none)" and the
// channel is "Direct".
type Source struct {
	Source   string
	Medium   string
	Campaign string
	Term     string
	Content  string
	Channel  string // GA4 default channel group: "Paid Social", "Organic Search", "Direct" …
	RefHost  string // the referrer's host, "" when none or a self-referral
	ClickIDs []ClickID
}

// Direct reports whether s carries no campaign information: direct traffic does not start a
// new session.
func (s *Source) Direct() bool { return s.Source == "(direct)" || s.Source == "" }

// Page is the parsed page URL of a hit.
type Page struct {
	URL   string // the full URL as sent
	Host  string // lower-cased host without port
	Path  string // the normalised path: no tracking parameters, no fragment, "/" when empty
	Query Props  // query parameters, tracking parameters (utm_*, click ids) included
}

// Hit is one event after identification and enrichment: everything journey state and rules
// need to know about it. A Hit refers to its Event; neither keeps any request buffer.
type Hit struct {
	Event  *Event
	Site   string
	VID    string // the visitor id the server resolved
	Time   int64  // server-accepted time, Unix milliseconds (the client ts, clamped)
	Device Device
	Geo    Geo
	Page   Page
	Source Source
	// Offline marks an event a back end sent through the events API, not a browser: it
	// happened off the site, so it never opens a session (which would credit a visit that
	// did not happen) and is counted in the session live at its time, if any.
	Offline bool
}
