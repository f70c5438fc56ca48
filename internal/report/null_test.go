package report

import (
	"encoding/json"
	"math"
	"testing"
)

func TestNullFloatJSON(t *testing.T) {
	tests := []struct {
		in   NullFloat
		want string
	}{
		{NullFloat{}, "null"},
		{Some(0.25), "0.25"},
		{Some(3), "3"},
		{Some(math.Inf(1)), "null"},
		{Some(math.NaN()), "null"},
		{ratio(1, 0), "null"},
		{ratio(1, 4), "0.25"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
		var back NullFloat
		if err := json.Unmarshal(b, &back); err != nil || back != tt.in && tt.in.Valid {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, tt.in)
		}
	}
	if s := (NullFloat{}).String(); s != "n/a" {
		t.Errorf("NullFloat{}.String() = %q; want %q", s, "n/a")
	}
}
