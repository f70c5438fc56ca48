package event

// AppendBatchJSON appends b in the wire format DecodeBatch reads, always in the batch shape,
// leaving out empty members. It is what a back end or the traffic simulator posts to
// /v1/hit, and DecodeBatch(AppendBatchJSON(b)) gives back b's valid events.
func AppendBatchJSON(dst []byte, b *Batch) []byte {
	o := open(dst)
	o.str("site", b.Site)
	o.str("vid", b.VID)
	switch b.Consent {
	case ConsentGranted:
		o.str("consent", "granted")
	case ConsentDenied:
		o.str("consent", "denied")
	}
	o.key("events")
	o.b = append(o.b, '[')
	for i := range b.Events {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendEventJSON(o.b, &b.Events[i])
	}
	o.b = append(o.b, ']')
	if len(b.Slots) > 0 {
		o.key("slots")
		o.b = append(o.b, '[')
		for i, s := range b.Slots {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, s)
		}
		o.b = append(o.b, ']')
	}
	return o.close()
}

// appendEventJSON appends e as a wire event object.
func appendEventJSON(dst []byte, e *Event) []byte {
	o := open(dst)
	o.str("id", e.ID)
	o.str("type", e.Type.String())
	o.str("name", e.Name)
	o.int("ts", e.TS)
	o.str("url", e.URL)
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
	return o.close()
}
