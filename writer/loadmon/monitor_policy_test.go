package loadmon

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecideLimit(t *testing.T) {
	auto := LoadPolicy{}.withDefaults(4)
	cap3 := LoadPolicy{PerNodeCap: 3}.withDefaults(4)
	fixed := LoadPolicy{Fixed: 4}.withDefaults(4)
	thresholds := NodeLoad{PartsToDelay: 8, PartsToThrow: 300}
	with := func(f func(*NodeLoad)) NodeLoad {
		l := thresholds
		f(&l)
		return l
	}
	tests := []struct {
		name       string
		load       NodeLoad
		policy     LoadPolicy
		want       int
		wantReason string
	}{
		{name: "idle", load: thresholds, policy: auto, want: 2, wantReason: "light load, per-node cap 2"},
		{name: "one heavy query is not enough", load: with(func(l *NodeLoad) { l.Queries = 1 }), policy: auto, want: 2, wantReason: "light load"},
		{name: "two heavy queries", load: with(func(l *NodeLoad) { l.Queries = 2 }), policy: auto, want: 1, wantReason: "2 heavy queries"},
		{name: "inserts are not heavy", load: with(func(l *NodeLoad) { l.Inserts = 9 }), policy: auto, want: 2, wantReason: "light load"},
		{name: "two merges on the table", load: with(func(l *NodeLoad) { l.TableMerges, l.Merges = 2, 2 }), policy: auto, want: 1, wantReason: "2 merges on the table"},
		{name: "four merges on the node", load: with(func(l *NodeLoad) { l.Merges = 4 }), policy: auto, want: 1, wantReason: "4 merges on the node"},
		{name: "three merges elsewhere", load: with(func(l *NodeLoad) { l.Merges, l.TableMerges = 3, 1 }), policy: auto, want: 2, wantReason: "light load"},
		{name: "both cuts, never below 1", load: with(func(l *NodeLoad) { l.Queries, l.TableMerges, l.Merges = 3, 2, 5 }), policy: auto, want: 1, wantReason: "3 heavy queries, 2 merges on the table, kept at 1"},
		{name: "both cuts from cap 3", load: with(func(l *NodeLoad) { l.Queries, l.Merges = 2, 4 }), policy: cap3, want: 1, wantReason: "2 heavy queries, 4 merges on the node"},
		{name: "one cut from cap 3", load: with(func(l *NodeLoad) { l.Queries = 5 }), policy: cap3, want: 2, wantReason: "5 heavy queries"},
		{name: "parts below 3/4", load: with(func(l *NodeLoad) { l.MaxParts = 5 }), policy: auto, want: 2},
		{name: "parts at 3/4 pause", load: with(func(l *NodeLoad) { l.MaxParts = 6 }), policy: auto, want: 0, wantReason: "6 active parts in one partition, pausing at 6"},
		{name: "parts_to_throw lower than delay", load: NodeLoad{PartsToDelay: 150, PartsToThrow: 20, MaxParts: 15}, policy: auto, want: 0, wantReason: "pausing at 15"},
		{name: "thresholds unknown", load: NodeLoad{MaxParts: 1000}, policy: auto, want: 2},
		{name: "tiny threshold", load: NodeLoad{PartsToDelay: 1, MaxParts: 1}, policy: auto, want: 0, wantReason: "pausing at 1"},
		{name: "read-only", load: with(func(l *NodeLoad) { l.ReadOnly = true }), policy: auto, want: 0, wantReason: "replica is read-only"},
		{name: "down", load: with(func(l *NodeLoad) { l.Err = errors.New("connection refused") }), policy: auto, want: 0, wantReason: "node down: connection refused"},
		{name: "fixed ignores load", load: with(func(l *NodeLoad) { l.Queries, l.TableMerges = 9, 9 }), policy: fixed, want: 4, wantReason: "fixed at 4"},
		{name: "fixed paused by parts", load: with(func(l *NodeLoad) { l.MaxParts = 7 }), policy: fixed, want: 0, wantReason: "active parts"},
		{name: "fixed paused by read-only", load: with(func(l *NodeLoad) { l.ReadOnly = true }), policy: fixed, want: 0, wantReason: "read-only"},
		{name: "fixed paused when down", load: with(func(l *NodeLoad) { l.Err = errors.New("eof") }), policy: fixed, want: 0, wantReason: "node down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := decideLimit(tc.load, tc.policy)
			if got != tc.want {
				t.Errorf("limit = %d (%s), want %d", got, reason, tc.want)
			}
			if !strings.Contains(reason, tc.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", reason, tc.wantReason)
			}
		})
	}
}

func TestLoadPolicyDefaults(t *testing.T) {
	tests := []struct {
		name  string
		in    LoadPolicy
		nodes int
		want  LoadPolicy
	}{
		{name: "zero", nodes: 4, want: LoadPolicy{PerNodeCap: 2, GlobalCap: 8, PollEvery: 2 * time.Second, StallWarning: time.Minute}},
		{name: "fixed", in: LoadPolicy{Fixed: 3}, nodes: 2, want: LoadPolicy{Fixed: 3, PerNodeCap: 2, GlobalCap: 6, PollEvery: 2 * time.Second, StallWarning: time.Minute}},
		{name: "cap", in: LoadPolicy{PerNodeCap: 4, GlobalCap: 5, PollEvery: time.Second}, nodes: 2, want: LoadPolicy{PerNodeCap: 4, GlobalCap: 5, PollEvery: time.Second, StallWarning: time.Minute}},
		{name: "no nodes", nodes: 0, want: LoadPolicy{PerNodeCap: 2, GlobalCap: 2, PollEvery: 2 * time.Second, StallWarning: time.Minute}},
		{name: "negative", in: LoadPolicy{Fixed: -1, PerNodeCap: -1, GlobalCap: -1, PollEvery: -1}, nodes: 1, want: LoadPolicy{PerNodeCap: 2, GlobalCap: 2, PollEvery: 2 * time.Second, StallWarning: time.Minute}},
	}
	for _, tc := range tests {
		if got := tc.in.withDefaults(tc.nodes); got != tc.want {
			t.Errorf("%s: withDefaults(%d) = %+v, want %+v", tc.name, tc.nodes, got, tc.want)
		}
	}
}
