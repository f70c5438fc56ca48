package event

import "strconv"

// bURL is the url member of a decide body, beside the batch members.
const bURL = bEvents << 1

// DecodeDecide decodes the JSON body of a decide request, {"site", "vid", "consent", "slots",
// "url"}, into b (reset first; its Events stay empty) and returns the url. Its members are
// read as DecodeBatch reads a batch's, with the same checks and the same limits on slots; as
// there, a member given twice is a *DecodeError, and so is a body that is not one JSON
// object. A member of any other name is a *DecodeError too: a decide body carries no events,
// so a misspelt member would otherwise be lost without a word. Strings are copied, as by
// DecodeBatch.
func DecodeDecide(body []byte, b *Batch, lim *Limits) (url string, err error) {
	if lim == nil {
		def := DefaultLimits()
		lim = &def
	}
	b.Site, b.VID, b.Consent = "", "", ConsentUnset
	b.Events, b.Slots = b.Events[:0], b.Slots[:0]
	d := decoder{data: body, lim: lim, b: b, buf: b.buf[:0], refs: b.refs[:0]}
	url, err = d.decide()
	b.buf, b.refs = d.buf[:0], d.refs[:0]
	if err != nil {
		b.Consent, b.Slots = ConsentUnset, b.Slots[:0]
		return "", err
	}
	d.place()
	return url, nil
}

// decide decodes a whole decide body.
func (d *decoder) decide() (string, error) {
	if err := d.object(); err != nil {
		return "", err
	}
	var seen uint
	var url string
	empty, err := d.openContainer(0, '}')
	if err != nil {
		return "", err
	}
	for !empty {
		kpos := d.pos
		k, err := d.key()
		if err != nil {
			return "", err
		}
		bit := batchBit(k)
		if string(k) == "url" {
			bit = bURL
		}
		switch {
		case bit == 0 || bit == bEvents:
			return "", &DecodeError{Offset: kpos, Reason: "unknown key " + strconv.Quote(string(k)) + "; a decide body has site, vid, consent, slots and url"}
		case seen&bit != 0:
			return "", d.duplicate(kpos, "", k)
		}
		seen |= bit
		if bit == bURL {
			url, err = d.optString("url")
		} else {
			err = d.batchMember(bit)
		}
		if err != nil {
			return "", err
		}
		more, err := d.next('}')
		if err != nil {
			return "", err
		}
		empty = !more
	}
	return url, d.end()
}

// optString decodes a string or null (as ""), member name being its name for an error.
func (d *decoder) optString(name string) (string, error) {
	if null, err := d.isNull(); null || err != nil {
		return "", err
	}
	if d.peek() != '"' {
		return "", d.typeErr(name, "string")
	}
	off, n, err := d.str()
	if err != nil {
		return "", err
	}
	s := string(d.buf[off : off+n])
	d.buf = d.buf[:off]
	return s, nil
}
