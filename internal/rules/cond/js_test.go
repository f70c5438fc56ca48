package cond

import (
	"math"
	"testing"
)

// The expected values in this file were produced by JavaScript (String(n), Number(s), a < b).

func TestAppendJSNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"}, {1.5, "1.5"},
		{-2.5, "-2.5"}, {1e21, "1e+21"}, {1e20, "100000000000000000000"},
		{123456789012345680000, "123456789012345680000"}, {1e-7, "1e-7"}, {1e-6, "0.000001"},
		{0.000001234, "0.000001234"}, {5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"}, {1 << 53, "9007199254740992"},
		{1<<53 + 2, "9007199254740994"}, {1 << 60, "1152921504606847000"}, {-1e-7, "-1e-7"},
		{100, "100"}, {1.0 / 3, "0.3333333333333333"}, {math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := string(appendJSNumber(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSNumber(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestStringToNumber(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		in   string
		want float64
	}{
		{"", 0}, {"  ", 0}, {"12", 12}, {" 12 ", 12}, {"\n5\t", 5}, {"+5", 5}, {"-5", -5},
		{"5.", 5}, {".5", 0.5}, {".", nan}, {"0x10", 16}, {"0X1f", 31}, {"0o17", 15},
		{"0b101", 5}, {"-0x10", nan}, {"0x", nan}, {"1e3", 1000}, {"1E-2", 0.01}, {"1e", nan},
		{"e3", nan}, {"1_000", nan}, {"Infinity", math.Inf(1)}, {"-Infinity", math.Inf(-1)},
		{"+Infinity", math.Inf(1)}, {"infinity", nan}, {"NaN", nan}, {"abc", nan},
		{"\u00a05", 5}, {"\u20285", 5}, {"\ufeff7", 7}, {"1e400", math.Inf(1)},
		{"-1e400", math.Inf(-1)}, {"0x1fffffffffffff1", 144115188075855860}, {"00012", 12},
		{"1.5e+3", 1500},
	}
	for _, tt := range tests {
		got := stringToNumber(tt.in)
		if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("stringToNumber(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestCompareStrings(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"a", "b", -1}, {"b", "a", 1}, {"a", "a", 0}, {"a", "ab", -1},
		{"😀", "\ue000", -1}, // a surrogate pair sorts below U+E000 in UTF-16
		{"\ue000", "😀", 1},
		{"é", "z", 1}, {"Z", "a", -1}, {"", "a", -1},
		{"\uffff", "𐀀", 1},
		{"x😀", "x\ue000", -1}, // the difference after a common prefix
	}
	for _, tt := range tests {
		if got := compareStrings(tt.a, tt.b); got != tt.want {
			t.Errorf("compareStrings(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestToString(t *testing.T) {
	tests := []struct {
		in   Value
		want string
	}{
		{Value{}, "null"},
		{NullValue(), "null"},
		{BoolValue(true), "true"},
		{NumberValue(1e21), "1e+21"},
		{ArrayValue([]Value{NumberValue(1), NullValue(), ArrayValue([]Value{StringValue("a"), BoolValue(false)})}), "1,,a,false"},
		{ObjectValue(Map{"a": NumberValue(1)}), "[object Object]"},
	}
	for _, tt := range tests {
		if got := toString(tt.in); got != tt.want {
			t.Errorf("toString(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestPaddedVersion(t *testing.T) {
	tests := []struct {
		in   Value
		want string
	}{
		{StringValue("1.2.3"), "    1-    2-    3-~"},
		{StringValue("v1.2.3-rc.1+build123"), "    1-    2-    3-rc-    1"},
		{StringValue("1-2-3"), "    1-    2-    3-~"},
		{StringValue("123456.0.1"), "123456-    0-    1-~"},
		{StringValue(""), "    0"},
		{StringValue("v"), ""},
		{NumberValue(1.5), "    1-    5"},
		{Value{}, "    0"},
		{BoolValue(true), "    0"},
		{StringValue("1..2"), "    1--    2-~"},
		{StringValue("1.2+a\n+b"), "    1-2+a\n"}, // "." stops at line ends: only "+b" is the build
	}
	for _, tt := range tests {
		if got := paddedVersion(tt.in); got != tt.want {
			t.Errorf("paddedVersion(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
