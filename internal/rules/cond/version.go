package cond

// GrowthBook compares versions ($veq … $vlte) as strings after padding them with its
// paddedVersionString: drop a leading "v" and any "+build" suffix, split on "-" and ".",
// append "~" to a plain x.y.z (so that a release sorts after its pre-releases), left-pad
// numeric parts with spaces to width 5 (so " 9" < "10") and join with "-". The operand is
// padded once at compile time; the attribute is padded into a stack buffer at each
// evaluation.

// appendPaddedVersion appends paddedVersionString(v) to dst.
func appendPaddedVersion(dst []byte, v Value) []byte {
	var num [32]byte
	s := ""
	switch v.Kind {
	case KindString:
		s = v.Str
	case KindNumber:
		s = string(appendJSNumber(num[:0], v.Num))
	}
	if s == "" {
		s = "0"
	}
	s = stripVersionDecorations(s)
	parts := 1
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == '.' {
			parts++
		}
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '-' && s[i] != '.' {
			continue
		}
		if start > 0 {
			dst = append(dst, '-')
		}
		dst = appendPaddedPart(dst, s[start:i])
		start = i + 1
	}
	if parts == 3 {
		dst = append(dst, "-~"...)
	}
	return dst
}

// stripVersionDecorations is s.replace(/(^v|\+.*$)/g, ""): a leading "v", and the first "+"
// after the last line terminator with everything after it ("." does not match line
// terminators, and "$" is the end of the input).
func stripVersionDecorations(s string) string {
	tail := s
	if len(s) > 0 && s[0] == 'v' {
		s = s[1:]
		tail = s
	}
	from := 0
	for i := 0; i < len(tail); i++ {
		if tail[i] == '\n' || tail[i] == '\r' {
			from = i + 1
		} else if tail[i] == 0xe2 && i+2 < len(tail) && tail[i+1] == 0x80 && (tail[i+2] == 0xa8 || tail[i+2] == 0xa9) {
			from = i + 3 // U+2028, U+2029
		}
	}
	for i := from; i < len(s); i++ {
		if s[i] == '+' {
			return s[:i]
		}
	}
	return s
}

func appendPaddedPart(dst []byte, p string) []byte {
	if p == "" {
		return dst
	}
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return append(dst, p...)
		}
	}
	for i := len(p); i < 5; i++ {
		dst = append(dst, ' ')
	}
	return append(dst, p...)
}

// paddedVersion returns paddedVersionString(v) as a string, for compile time.
func paddedVersion(v Value) string { return string(appendPaddedVersion(nil, v)) }
