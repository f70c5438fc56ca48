package event

// AppendRecordJSON appends h as one JSON object, without a trailing newline, for the NDJSON
// export of the event log. Empty members are left out. ts is the server-accepted time
// (Hit.Time); client_ts is the client's own clock, when it sent one that differs.
func AppendRecordJSON(dst []byte, h *Hit) []byte {
	var none Event
	e := h.Event
	if e == nil {
		e = &none
	}
	o := open(dst)
	o.str("id", e.ID)
	o.str("type", e.Type.String())
	o.str("name", e.Name)
	o.int("ts", h.Time)
	if e.TS != h.Time {
		o.int("client_ts", e.TS)
	}
	o.str("site", h.Site)
	o.str("vid", h.VID)
	o.str("url", h.Page.URL)
	o.str("path", h.Page.Path)
	o.str("host", h.Page.Host)
	o.str("ref", e.Ref)
	o.str("title", e.Title)
	o.props("props", e.Props)
	o.str("user_id", e.UserID)
	o.props("traits", e.Traits)
	o.str("prompt", e.Prompt)
	o.str("action", e.Action)
	o.str("answer", e.Answer)
	o.int("engaged_ms", e.EngagedMS)
	o.int("scroll", int64(e.ScrollPct))

	if d := &h.Device; d.Type != DeviceUnknown || d.OS != "" || d.Browser != "" || d.Bot {
		o.key("device")
		in := open(o.b)
		if d.Type != DeviceUnknown {
			in.str("type", d.Type.String())
		}
		in.str("os", d.OS)
		in.str("browser", d.Browser)
		if d.Bot {
			in.key("bot")
			in.b = append(in.b, "true"...)
		}
		o.b = in.close()
	}
	if g := &h.Geo; *g != (Geo{}) {
		o.key("geo")
		in := open(o.b)
		in.str("country", g.Country)
		in.str("region", g.Region)
		in.str("city", g.City)
		in.str("tz", g.TimeZone)
		o.b = in.close()
	}
	if s := &h.Source; s.Source != "" || s.Medium != "" || s.Campaign != "" || s.Term != "" ||
		s.Content != "" || s.Channel != "" || s.RefHost != "" || len(s.ClickIDs) > 0 {
		o.key("source")
		in := open(o.b)
		in.str("source", s.Source)
		in.str("medium", s.Medium)
		in.str("campaign", s.Campaign)
		in.str("term", s.Term)
		in.str("content", s.Content)
		in.str("channel", s.Channel)
		in.str("ref_host", s.RefHost)
		if len(s.ClickIDs) > 0 {
			in.key("click_ids")
			ids := open(in.b)
			for _, c := range s.ClickIDs {
				ids.key(c.Name)
				ids.b = appendString(ids.b, c.Value)
			}
			in.b = ids.close()
		}
		o.b = in.close()
	}
	return o.close()
}
