package registry

import (
	"slices"
	"strings"
	"testing"

	"github.com/sanbao/sanbao/policy"
)

func TestSortOnTwoCoresSortsLargeSlices(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1<<16 + 7} {
		s := make([]int, n)
		for i := range s {
			s[i] = (i * 7919) % (n + 1)
		}
		got := sortOnTwoCores(slices.Clone(s), func(a, b int) int { return a - b })
		slices.Sort(s)
		if !slices.Equal(got, s) {
			t.Fatalf("n=%d: not sorted", n)
		}
	}
}

func TestSortRowsOrdersBySerialAndFlagsRepeats(t *testing.T) {
	long := strings.Repeat("X", 20) // ties in the 16 bytes the sort keys carry
	tests := []struct {
		name    string
		serials []string
		bad     []int // rows failing their checks: left out
		want    []string
		repeats []int // rows reported as repeats
	}{
		{"shared prefix, lengths differ", []string{"SN10", "SN1", "SN09", "SN100", "SN2"}, nil, []string{"SN09", "SN1", "SN10", "SN100", "SN2"}, nil},
		{"serials alike in their first 16 bytes after the shared prefix", []string{"A" + long + "9", "A" + long + "10", "A" + long, "B"},
			nil, []string{"A" + long, "A" + long + "10", "A" + long + "9", "B"}, nil},
		{"a repeat keeps the first row", []string{"S2", "S1", "S2", "S3", "S2"}, nil, []string{"S1", "S2", "S3"}, []int{3, 5}},
		{"long repeats", []string{long + "Z", long + "Y", long + "Z"}, nil, []string{long + "Y", long + "Z"}, []int{3}},
		{"rows failing their checks are left out", []string{"S2", "S1", "S1"}, []int{2}, []string{"S1", "S2"}, nil},
		{"one row", []string{"S1"}, nil, []string{"S1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := make([]Row, len(tt.serials))
			for i, s := range tt.serials {
				rows[i] = Row{Serial: s}
			}
			var errs []policy.RowError
			s := sortRows(len(rows), func(i int) *Row { return &rows[i] }, func(i int) bool { return !slices.Contains(tt.bad, i+1) }, &errs)
			var got []string
			for j, r := range s.Rows {
				got = append(got, r.Serial)
				if tt.serials[s.nums[j]-1] != r.Serial {
					t.Fatalf("row %d is %s, not %s", s.nums[j], tt.serials[s.nums[j]-1], r.Serial)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("sorted %q; want %q", got, tt.want)
			}
			var repeats []int
			for _, e := range errs {
				repeats = append(repeats, e.Row)
			}
			if slices.Sort(repeats); !slices.Equal(repeats, tt.repeats) {
				t.Fatalf("repeats on rows %v; want %v", repeats, tt.repeats)
			}
		})
	}
}
