package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pathlight/pathlight/internal/rules/cond"
)

// content is a slot or variant content compiled once: plain HTML, or HTML with
// {{ field }} placeholders whose values are always HTML-escaped, so that a visitor's trait
// can never inject markup.
type content struct {
	static string // the content when it has no placeholders
	parts  []part // otherwise literal text and fields, in order
	size   int    // the literal bytes, to size the output once
}

// part is literal text or a field placeholder.
type part struct {
	lit string
	get getter // nil for literal text
	def string // the escaped fallback for a missing or empty field
}

// compileContent parses placeholders: {{ visitor.traits.first_name }} or, with a fallback,
// {{ visitor.traits.first_name | default: "there" }}.
func (c *compiler) content(rt *rawText) *content {
	ct, err := parseContent(rt.text, func(path string) (getter, error) { return c.field(path, scopeRule) })
	if err != nil {
		c.errAt(rt.at, "content: %v", err)
		return nil
	}
	return ct
}

func parseContent(text string, resolve func(string) (getter, error)) (*content, error) {
	if !strings.Contains(text, "{{") {
		return &content{static: text}, nil
	}
	ct := &content{}
	rest := text
	for rest != "" {
		open := strings.Index(rest, "{{")
		if open < 0 {
			ct.parts = append(ct.parts, part{lit: rest})
			ct.size += len(rest)
			break
		}
		if open > 0 {
			ct.parts = append(ct.parts, part{lit: rest[:open]})
			ct.size += open
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", rest[open:])
		}
		inner := rest[open+2 : open+end]
		p, err := placeholder(inner, resolve)
		if err != nil {
			return nil, fmt.Errorf("{{%s}}: %w", inner, err)
		}
		ct.parts = append(ct.parts, p)
		rest = rest[open+end+2:]
	}
	return ct, nil
}

func placeholder(inner string, resolve func(string) (getter, error)) (part, error) {
	path, filter, hasFilter := strings.Cut(inner, "|")
	path = strings.TrimSpace(path)
	if path == "" {
		return part{}, fmt.Errorf("empty placeholder")
	}
	g, err := resolve(path)
	if err != nil {
		return part{}, err
	}
	p := part{get: g}
	if hasFilter {
		name, arg, ok := strings.Cut(strings.TrimSpace(filter), ":")
		if !ok || strings.TrimSpace(name) != "default" {
			return part{}, fmt.Errorf("unknown filter %q (the only filter is default: \"text\")", strings.TrimSpace(filter))
		}
		arg = strings.TrimSpace(arg)
		if len(arg) >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[len(arg)-1] == arg[0] {
			arg = arg[1 : len(arg)-1]
		}
		p.def = escapeHTML(arg)
	}
	return p, nil
}

// render returns the content for ctx.
func (ct *content) render(c *Context) string {
	if ct == nil {
		return ""
	}
	if ct.parts == nil {
		return ct.static
	}
	var b strings.Builder
	b.Grow(ct.size + 16*len(ct.parts))
	for _, p := range ct.parts {
		if p.get == nil {
			b.WriteString(p.lit)
			continue
		}
		if !writeValue(&b, p.get(c)) {
			b.WriteString(p.def)
		}
	}
	return b.String()
}

// writeValue writes v as escaped text; false when there is nothing to write.
func writeValue(b *strings.Builder, v cond.Value) bool {
	switch v.Kind {
	case cond.KindString:
		if v.Str == "" {
			return false
		}
		writeEscaped(b, v.Str)
	case cond.KindNumber:
		var buf [32]byte
		b.Write(strconv.AppendFloat(buf[:0], v.Num, 'f', -1, 64))
	case cond.KindBool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case cond.KindArray:
		if len(v.Arr) == 0 {
			return false
		}
		for i, e := range v.Arr {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e)
		}
	default:
		return false
	}
	return true
}

// writeEscaped writes s with the five HTML-special characters escaped, as html.EscapeString
// does, without its intermediate string.
func writeEscaped(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

func escapeHTML(s string) string {
	var b strings.Builder
	writeEscaped(&b, s)
	return b.String()
}
