package resources

import (
	"math"
	"slices"
	"testing"
)

const maxU = math.MaxUint64

func TestCoalesceRanges(t *testing.T) {
	tests := []struct {
		in, want []Range
	}{
		{nil, []Range{}},
		{[]Range{{5, 1}}, []Range{}},
		{[]Range{{1, 2}, {3, 5}}, []Range{{1, 5}}},
		{[]Range{{10, 20}, {1, 2}, {15, 30}, {4, 4}}, []Range{{1, 2}, {4, 4}, {10, 30}}},
		{[]Range{{1, 10}, {2, 3}}, []Range{{1, 10}}},
		{[]Range{{0, maxU}, {5, 6}}, []Range{{0, maxU}}},
		{[]Range{{maxU, maxU}, {maxU - 1, maxU - 1}}, []Range{{maxU - 1, maxU}}},
		{[]Range{{1, 1}, {1, 1}}, []Range{{1, 1}}},
	}
	for _, tc := range tests {
		in := slices.Clone(tc.in)
		got := CoalesceRanges(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("CoalesceRanges(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("input modified: %v", tc.in)
		}
	}
}

func TestSubtractRanges(t *testing.T) {
	tests := []struct {
		a, b, want []Range
	}{
		{[]Range{{1, 10}}, []Range{{3, 4}}, []Range{{1, 2}, {5, 10}}},
		{[]Range{{1, 10}}, []Range{{1, 10}}, []Range{}},
		{[]Range{{1, 10}}, []Range{{0, 100}}, []Range{}},
		{[]Range{{1, 10}}, []Range{{10, 12}}, []Range{{1, 9}}},
		{[]Range{{1, 10}}, []Range{{0, 1}}, []Range{{2, 10}}},
		{[]Range{{1, 5}, {10, 15}}, []Range{{4, 11}}, []Range{{1, 3}, {12, 15}}},
		{[]Range{{0, maxU}}, []Range{{0, 0}, {maxU, maxU}}, []Range{{1, maxU - 1}}},
		{[]Range{{1, 3}}, nil, []Range{{1, 3}}},
	}
	for _, tc := range tests {
		got := SubtractRanges(tc.a, tc.b)
		if !slices.Equal(got, tc.want) {
			t.Errorf("SubtractRanges(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRangesContain(t *testing.T) {
	tests := []struct {
		a, b []Range
		want bool
	}{
		{[]Range{{1, 10}}, []Range{{2, 3}, {10, 10}}, true},
		{[]Range{{1, 5}, {6, 10}}, []Range{{4, 7}}, true},
		{[]Range{{1, 5}, {7, 10}}, []Range{{4, 7}}, false},
		{[]Range{{1, 5}}, []Range{{0, 0}}, false},
		{[]Range{{1, 5}}, nil, true},
		{nil, []Range{{1, 1}}, false},
		{[]Range{{0, maxU}}, []Range{{maxU, maxU}}, true},
	}
	for _, tc := range tests {
		if got := RangesContain(tc.a, tc.b); got != tc.want {
			t.Errorf("RangesContain(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

func TestRangesSizeAndFormat(t *testing.T) {
	if n := RangesSize([]Range{{31000, 32000}, {1, 1}, {1, 2}}); n != 1003 {
		t.Errorf("size = %d", n)
	}
	if n := RangesSize([]Range{{0, maxU}}); n != maxU {
		t.Errorf("full size = %d", n)
	}
	if n := (Range{5, 4}).Size(); n != 0 {
		t.Errorf("inverted size = %d", n)
	}
	if s := FormatRanges([]Range{{31000, 31000}, {31005, 31006}}); s != "[31000-31000, 31005-31006]" {
		t.Errorf("FormatRanges = %q", s)
	}
	if s := FormatRanges(nil); s != "[]" {
		t.Errorf("FormatRanges(nil) = %q", s)
	}
	if s := FormatSet([]string{"a", "b"}); s != "{a, b}" {
		t.Errorf("FormatSet = %q", s)
	}
	if RangesFromProto(nil) != nil {
		t.Error("RangesFromProto(nil) not nil")
	}
}
