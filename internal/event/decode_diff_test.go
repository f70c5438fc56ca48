package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// The differential test writes many random bodies, the way different clients might (random
// whitespace, member order, escapes, number forms, unknown members), decodes each with
// DecodeBatch and with a decoder built on encoding/json, and requires the same result.

// wireGen writes random but well-formed request bodies.
type wireGen struct {
	r  *rand.Rand
	sb bytes.Buffer
}

// runes that strings are drawn from: ASCII, characters JSON must escape, multi-byte and
// astral characters, and the line separators JavaScript cares about.
var genRunes = []rune("abcdefxyzABC0189 -_./:?&=%+~!\"\\\b\f\n\r\t\x00\x01\x1f\x7féß€–\u2028\u2029😀𝄞中")

func (g *wireGen) ws() {
	if g.r.IntN(3) == 0 {
		g.sb.WriteString([]string{" ", "\n", "\t", "\r\n  ", "  "}[g.r.IntN(5)])
	}
}

// text returns a random string of up to n runes.
func (g *wireGen) text(n int) string {
	var sb strings.Builder
	for range g.r.IntN(n + 1) {
		sb.WriteRune(genRunes[g.r.IntN(len(genRunes))])
	}
	if g.r.IntN(20) == 0 {
		sb.WriteByte(0xff) // invalid UTF-8, which decoders turn into U+FFFD
	}
	return sb.String()
}

// id returns a random valid id.
func (g *wireGen) id() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789-_:.!~"
	b := make([]byte, 1+g.r.IntN(40))
	for i := range b {
		b[i] = chars[g.r.IntN(len(chars))]
	}
	return string(b)
}

// str writes s as a JSON string, escaping what must be escaped and, at random, what need not.
func (g *wireGen) str(s string) {
	g.sb.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			g.sb.WriteByte(s[i]) // raw invalid byte
			i++
			continue
		}
		i += size
		switch {
		case r == '"' || r == '\\':
			g.sb.WriteByte('\\')
			g.sb.WriteRune(r)
		case r < 0x20 || g.r.IntN(6) == 0:
			switch {
			case r == '\n' && g.r.IntN(2) == 0:
				g.sb.WriteString(`\n`)
			case r == '/' && g.r.IntN(2) == 0:
				g.sb.WriteString(`\/`)
			case r > 0xffff:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&g.sb, `\u%04x\u%04X`, r1, r2)
			default:
				fmt.Fprintf(&g.sb, `\u%04x`, r)
			}
		default:
			g.sb.WriteRune(r)
		}
	}
	g.sb.WriteByte('"')
}

// num writes a random number in one of JSON's forms, within Limits.MaxNumber (numbers past it
// reject their event; the rejection tests cover them).
func (g *wireGen) num() {
	switch g.r.IntN(7) {
	case 0:
		g.sb.WriteString(strconv.Itoa(g.r.IntN(1000)))
	case 1:
		g.sb.WriteString(strconv.FormatInt(-g.r.Int64N(1<<53+1), 10))
	case 2:
		g.sb.WriteString(strconv.FormatFloat(g.r.NormFloat64()*1e3, 'f', -1, 64))
	case 3:
		g.sb.WriteString(strconv.FormatFloat(g.r.NormFloat64(), 'e', g.r.IntN(17), 64))
	case 4:
		g.sb.WriteString(strconv.FormatFloat(g.r.ExpFloat64()*1e-8, 'E', -1, 64))
	case 5:
		g.sb.WriteString([]string{"0", "-0", "0.0", "1e+2", "1E-2", "9007199254740992", "-9.007199254740992e15"}[g.r.IntN(7)])
	default:
		g.sb.WriteString(strconv.FormatUint(g.r.Uint64N(1<<53+1), 10))
	}
}

// junk writes a random JSON value, for members the decoder must skip.
func (g *wireGen) junk(depth int) {
	g.ws()
	switch n := g.r.IntN(8); {
	case n == 0 && depth < 5:
		g.sb.WriteByte('[')
		for i := range g.r.IntN(4) {
			if i > 0 {
				g.sb.WriteByte(',')
			}
			g.junk(depth + 1)
		}
		g.sb.WriteByte(']')
	case n == 1 && depth < 5:
		g.sb.WriteByte('{')
		for i := range g.r.IntN(4) {
			if i > 0 {
				g.sb.WriteByte(',')
			}
			g.str(g.text(5))
			g.sb.WriteByte(':')
			g.junk(depth + 1)
		}
		g.sb.WriteByte('}')
	case n == 2:
		g.num()
	case n == 3:
		g.sb.WriteString([]string{"true", "false", "null"}[g.r.IntN(3)])
	default:
		g.str(g.text(10))
	}
	g.ws()
}

// scalar writes a random prop value.
func (g *wireGen) scalar() {
	switch g.r.IntN(4) {
	case 0:
		g.num()
	case 1:
		g.sb.WriteString([]string{"true", "false", "null"}[g.r.IntN(3)])
	default:
		g.str(g.text(12))
	}
}

// member is one object member as the generator writes it: its name and a writer for its value.
type member struct {
	key string
	val func()
}

// object writes the members in random order, with unknown members mixed in.
func (g *wireGen) object(ms []member) {
	for range g.r.IntN(3) {
		ms = append(ms, member{"x_" + g.text(4), func() { g.junk(0) }})
	}
	g.r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	g.ws()
	g.sb.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			g.sb.WriteByte(',')
		}
		g.ws()
		g.str(m.key)
		g.ws()
		g.sb.WriteByte(':')
		g.ws()
		m.val()
		g.ws()
	}
	g.sb.WriteByte('}')
	g.ws()
}

// strMember is a member with a string value.
func (g *wireGen) strMember(k, v string) member { return member{k, func() { g.str(v) }} }

// propsMember is a props or traits member with up to n distinct keys.
func (g *wireGen) propsMember(k string, n int) member {
	return member{k, func() {
		var ms []member
		seen := map[string]bool{}
		for range g.r.IntN(n + 1) {
			key := g.text(8)
			if key == "" || seen[key] || strings.ContainsRune(key, 0xff) {
				continue
			}
			seen[key] = true
			ms = append(ms, member{key, g.scalar})
		}
		// No unknown members here: in props every member is kept.
		g.r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		g.sb.WriteByte('{')
		for i, m := range ms {
			if i > 0 {
				g.sb.WriteByte(',')
			}
			g.ws()
			g.str(m.key)
			g.sb.WriteByte(':')
			g.ws()
			m.val()
		}
		g.sb.WriteByte('}')
	}}
}

// eventMembers returns the members of a random event; broken events fail validation.
func (g *wireGen) eventMembers(broken bool) []member {
	types := []string{"pageview", "event", "identify", "engagement", "prompt"}
	typ := types[g.r.IntN(len(types))]
	ms := []member{g.strMember("id", g.id()), g.strMember("type", typ)}
	if g.r.IntN(2) == 0 {
		ts := testNow - g.r.Int64N(40*3600*1000) + g.r.Int64N(20*3600*1000)
		ms = append(ms, member{"ts", func() { g.sb.WriteString(strconv.FormatInt(ts, 10)) }})
	}
	for _, k := range []string{"url", "ref", "title"} {
		if g.r.IntN(2) == 0 {
			ms = append(ms, g.strMember(k, g.text(30)))
		}
	}
	if g.r.IntN(2) == 0 {
		ms = append(ms, g.propsMember("props", 6))
	}
	switch typ {
	case "event":
		ms = append(ms, g.strMember("name", "n"+g.text(10)))
	case "identify":
		ms = append(ms, g.strMember("user_id", "u"+g.text(10)), g.propsMember("traits", 4))
	case "engagement":
		ms = append(ms,
			member{"engaged_ms", func() { g.sb.WriteString(strconv.Itoa(g.r.IntN(600000))) }},
			member{"scroll", func() { g.sb.WriteString(strconv.Itoa(g.r.IntN(101))) }})
	case "prompt":
		action := []string{"shown", "dismissed", "answered"}[g.r.IntN(3)]
		ms = append(ms, g.strMember("prompt", "p"+g.text(6)), g.strMember("action", action), g.strMember("answer", g.text(20)))
	}
	if broken {
		switch g.r.IntN(4) {
		case 0:
			ms = ms[1:] // no id
		case 1:
			ms[1] = g.strMember("type", "bogus")
		case 2:
			ms = slices.DeleteFunc(ms, func(m member) bool { return m.key == "url" })
			ms = append(ms, g.strMember("url", strings.Repeat("u", 2049)))
		default:
			ms = slices.DeleteFunc(ms, func(m member) bool { return m.key == "props" })
			ms = append(ms, member{"props", func() { g.sb.WriteString(`{"deep":{"x":1}}`) }})
		}
	}
	return ms
}

// body writes a random request body and returns it with the indexes of its broken events.
func (g *wireGen) body() ([]byte, []int) {
	g.sb.Reset()
	n := g.r.IntN(6)
	var broken []int
	var ms []member
	if g.r.IntN(2) == 0 {
		ms = append(ms, g.strMember("site", g.id()))
	}
	if g.r.IntN(2) == 0 {
		ms = append(ms, g.strMember("vid", g.id()))
	}
	if g.r.IntN(3) == 0 {
		ms = append(ms, g.strMember("consent", []string{"granted", "denied", ""}[g.r.IntN(3)]))
	}
	if g.r.IntN(2) == 0 {
		slots := make([]string, g.r.IntN(4))
		for i := range slots {
			slots[i] = g.id()
		}
		ms = append(ms, member{"slots", func() {
			g.sb.WriteByte('[')
			for i, s := range slots {
				if i > 0 {
					g.sb.WriteByte(',')
				}
				g.ws()
				g.str(s)
				g.ws()
			}
			g.sb.WriteByte(']')
		}})
	}
	if n == 1 && g.r.IntN(2) == 0 {
		// A single-event body: the event's members sit beside the batch's.
		bad := g.r.IntN(5) == 0
		if bad {
			broken = append(broken, 0)
		}
		ms = append(ms, g.eventMembers(bad)...)
	} else {
		events := make([][]member, n)
		for i := range events {
			bad := g.r.IntN(5) == 0
			if bad {
				broken = append(broken, i)
			}
			events[i] = g.eventMembers(bad)
		}
		ms = append(ms, member{"events", func() {
			g.sb.WriteByte('[')
			for i, ev := range events {
				if i > 0 {
					g.sb.WriteByte(',')
				}
				g.object(ev)
			}
			g.sb.WriteByte(']')
		}})
	}
	g.object(ms)
	return bytes.Clone(g.sb.Bytes()), broken
}

// refDecode decodes body with encoding/json, without validating events.
func refDecode(body []byte) (*Batch, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	b := &Batch{}
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		if raw, ok := m[k]; ok {
			if err := json.Unmarshal(raw, &s); err != nil {
				panic(err)
			}
		}
		return s
	}
	b.Site, b.VID = str(top, "site"), str(top, "vid")
	switch str(top, "consent") {
	case "granted":
		b.Consent = ConsentGranted
	case "denied":
		b.Consent = ConsentDenied
	}
	if raw, ok := top["slots"]; ok {
		if err := json.Unmarshal(raw, &b.Slots); err != nil {
			return nil, err
		}
	}
	var events []json.RawMessage
	if raw, ok := top["events"]; ok {
		if err := json.Unmarshal(raw, &events); err != nil {
			return nil, err
		}
	} else if _, ok := top["id"]; ok {
		events = []json.RawMessage{body}
	} else if _, ok := top["type"]; ok {
		events = []json.RawMessage{body}
	}
	for _, raw := range events {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		num := func(k string) float64 {
			var f float64
			if raw, ok := m[k]; ok {
				if err := json.Unmarshal(raw, &f); err != nil {
					panic(err)
				}
			}
			return f
		}
		e := Event{
			ID: str(m, "id"), Type: ParseType(str(m, "type")), Name: str(m, "name"),
			TS: int64(num("ts")), URL: str(m, "url"), Ref: str(m, "ref"), Title: str(m, "title"),
			UserID: str(m, "user_id"), Prompt: str(m, "prompt"), Action: str(m, "action"),
			Answer: str(m, "answer"), EngagedMS: int64(num("engaged_ms")), ScrollPct: int(num("scroll")),
		}
		var err error
		if e.Props, err = refProps(m["props"]); err != nil {
			return nil, err
		}
		if e.Traits, err = refProps(m["traits"]); err != nil {
			return nil, err
		}
		b.Events = append(b.Events, e)
	}
	return b, nil
}

// refProps decodes a flat object keeping the order of its members.
func refProps(raw json.RawMessage) (Props, error) {
	if raw == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var p Props
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var val Value
		switch v := v.(type) {
		case string:
			val = StringValue(v)
		case float64:
			val = NumberValue(v)
		case bool:
			val = BoolValue(v)
		case nil:
		case json.Delim:
			// Not a scalar: the event is rejected; skip the value.
			for depth := 1; depth > 0; {
				t, err := dec.Token()
				if err != nil {
					return nil, err
				}
				if d, ok := t.(json.Delim); ok {
					if d == '{' || d == '[' {
						depth++
					} else {
						depth--
					}
				}
			}
			continue
		}
		p = append(p, Prop{Key: k.(string), Val: val})
	}
	return p, nil
}

func TestDecodeBatchMatchesEncodingJSON(t *testing.T) {
	g := &wireGen{r: rand.New(rand.NewPCG(1, 2))}
	var b Batch // reused, as the server pools it
	for range 5000 {
		body, broken := g.body()
		want, err := refDecode(body)
		if err != nil {
			t.Fatalf("encoding/json cannot decode the generated body %q: %v", body, err)
		}
		rej, err := DecodeBatch(body, &b, testNow, nil)
		if err != nil {
			t.Fatalf("DecodeBatch(%q) = %v; want success", body, err)
		}
		var rejected []int
		for _, r := range rej {
			rejected = append(rejected, r.Index)
		}
		if !slices.Equal(rejected, broken) {
			t.Fatalf("DecodeBatch(%q) rejected %v; want events %v rejected", body, rej, broken)
		}
		if b.Site != want.Site || b.VID != want.VID || b.Consent != want.Consent || !slices.Equal(b.Slots, want.Slots) {
			t.Fatalf("DecodeBatch(%q) = site %q vid %q consent %d slots %q; want %q %q %d %q",
				body, b.Site, b.VID, b.Consent, b.Slots, want.Site, want.VID, want.Consent, want.Slots)
		}
		var kept []Event
		for i, e := range want.Events {
			if !slices.Contains(broken, i) {
				kept = append(kept, e)
			}
		}
		if len(b.Events) != len(kept) {
			t.Fatalf("DecodeBatch(%q) = %d events; want %d", body, len(b.Events), len(kept))
		}
		for i := range kept {
			if !sameEvent(&b.Events[i], &kept[i]) {
				t.Fatalf("DecodeBatch(%q).Events[%d] = %+v; want %+v", body, i, b.Events[i], kept[i])
			}
		}
	}
}
