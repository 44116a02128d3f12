package jobs

import (
	"slices"
	"testing"
)

// TestSortPartitionsOrdersPeopleRead checks the order of partitions in run
// summaries and dry-run reports: by shard number, then by partition with
// integers by value and other text as text.
func TestSortPartitionsOrdersPeopleRead(t *testing.T) {
	type p struct {
		shard int
		name  string
	}
	for _, tc := range []struct {
		name string
		want []p // in the order a reader expects
	}{
		{"integers by value", []p{{0, "9"}, {0, "10"}, {0, "100"}}},
		{"integers by value on a shard", []p{{1, "2"}, {1, "11"}, {2, "1"}, {2, "3"}}},
		{"shards by number", []p{{9999, "1"}, {10000, "1"}}},
		{"shard before partition", []p{{1, "100"}, {2, "9"}}},
		{"negative integers", []p{{0, "-10"}, {0, "-5"}, {0, "0"}, {0, "3"}}},
		{"longer than int64", []p{{0, "9223372036854775807"}, {0, "18446744073709551615"}, {0, "99999999999999999999"}}},
		{"months by number", []p{{0, "202309"}, {0, "202310"}, {0, "202401"}}},
		{"dates as text", []p{{0, "2024-01-02"}, {0, "2024-01-10"}, {0, "2024-02-01"}}},
		{"integers before text", []p{{0, "10"}, {0, "abc"}, {0, "tuple"}}},
		{"unpartitioned and empty", []p{{0, ""}, {0, "all"}}},
		{"same value written two ways", []p{{0, "007"}, {0, "7"}, {0, "8"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// every rotation and the reverse of the expected order sort back to it
			inputs := [][]p{slices.Clone(tc.want)}
			rev := slices.Clone(tc.want)
			slices.Reverse(rev)
			inputs = append(inputs, rev)
			for i := 1; i < len(tc.want); i++ {
				inputs = append(inputs, append(slices.Clone(tc.want[i:]), tc.want[:i]...))
			}
			for _, in := range inputs {
				got := slices.Clone(in)
				sortPartitions(got, func(x p) (int, string) { return x.shard, x.name })
				if !slices.Equal(got, tc.want) {
					t.Errorf("sorted %v: got %v, want %v", in, got, tc.want)
				}
			}
		})
	}
}
