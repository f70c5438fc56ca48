package report

import (
	"math"
	"strconv"
)

// NullFloat is a number that may be undefined: a rate whose denominator is zero, a CAC without
// any attributed customer, a median of nothing. It encodes to JSON as the number or as null, so
// that a report never shows an infinity or NaN as if it were a figure.
type NullFloat struct {
	Value float64
	Valid bool
}

// Some returns a valid NullFloat holding v, or an invalid one when v is NaN or infinite.
func Some(v float64) NullFloat {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return NullFloat{}
	}
	return NullFloat{Value: v, Valid: true}
}

// ratio returns num/den, undefined when den is zero.
func ratio(num, den float64) NullFloat {
	if den == 0 {
		return NullFloat{}
	}
	return Some(num / den)
}

// MarshalJSON encodes n as a JSON number, or null when it is undefined.
func (n NullFloat) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, n.Value, 'g', -1, 64), nil
}

// UnmarshalJSON decodes a JSON number or null.
func (n *NullFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = NullFloat{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*n = Some(v)
	return nil
}

// String formats n for a table: the shortest exact form, or "n/a" when undefined.
func (n NullFloat) String() string {
	if !n.Valid {
		return "n/a"
	}
	return strconv.FormatFloat(n.Value, 'g', -1, 64)
}
