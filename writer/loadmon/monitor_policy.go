package loadmon

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// LoadPolicy says how many concurrent inserts the LoadMonitor allows per
// node and in all.
//
// With Fixed set, every node gets Fixed concurrent inserts. Otherwise (auto)
// each node's limit follows its load, polled every PollEvery:
//
//   - start from PerNodeCap;
//   - subtract 1 when the node runs 2 or more heavy queries (every running
//     query that is not an INSERT and not a load monitor's own poll counts:
//     a snapshot of system.processes only catches queries that run long
//     enough to be seen);
//   - subtract 1 when the node runs 2 or more merges on the target table, or
//     4 or more merges in all;
//   - never go below 1 for the reasons above.
//
// In both modes a node is paused (limit 0) while
//
//   - the target table's fullest partition has at least 3/4 of
//     parts_to_delay_insert active parts (or of parts_to_throw_insert, if
//     that is lower), so chload backs off before the server starts delaying
//     or refusing inserts; the thresholds are the server's merge_tree
//     settings overridden by the table's own SETTINGS;
//   - the replica is read-only (it lost ZooKeeper);
//   - the node does not answer a poll, or a write to it failed (MarkFailed).
//
// A paused node resumes at the first poll that finds the condition cleared.
// Every change of a node's limit is logged at Info level with the node, its
// shard and replica, the new and previous limit and the reason; so is a
// change of reason at the same limit (a paused node that goes from too many
// parts to read-only, say), but not a change of counts alone.
//
// A batch waits for whichever replica of its shard frees a slot first
// (AcquireAny). While every replica it may go to is paused, the shard is
// stalled: after StallWarning, and every StallWarning after that, the stall
// is logged at Warn level with each replica's reason; after MaxPause the
// wait ends with a *PauseError.
type LoadPolicy struct {
	// Fixed, when above 0, is the number of concurrent inserts on every
	// node (write.concurrency: N); 0 chooses it from each node's load.
	Fixed int
	// PerNodeCap is the most concurrent inserts on one node in auto mode.
	// Optional, defaults to 2.
	PerNodeCap int
	// GlobalCap is the most concurrent inserts over all nodes. Optional,
	// defaults to the per-node limit (PerNodeCap, or Fixed when set) times
	// the number of nodes: 2*len(nodes) with the defaults.
	GlobalCap int
	// PollEvery is the interval between polls of Run. Optional, defaults
	// to 2s.
	PollEvery time.Duration
	// MaxPause is the longest a batch waits while every replica it may go
	// to is paused; 0 waits forever. Time spent waiting for slots that
	// inserts in flight hold does not count. Optional, defaults to 0.
	MaxPause time.Duration
	// StallWarning is how long a stall lasts before it is logged at Warn
	// level, and how often it is logged again. Optional, defaults to 1m.
	StallWarning time.Duration
}

// Thresholds of the auto policy.
const (
	heavyQueriesCut = 2 // heavy queries on a node that cost one slot
	tableMergesCut  = 2 // merges on the target table that cost one slot
	nodeMergesCut   = 4 // merges in all that cost one slot
)

// withDefaults fills the optional fields for nodes nodes.
func (p LoadPolicy) withDefaults(nodes int) LoadPolicy {
	if p.Fixed < 0 {
		p.Fixed = 0
	}
	if p.PerNodeCap <= 0 {
		p.PerNodeCap = 2
	}
	if p.GlobalCap <= 0 {
		per := p.PerNodeCap
		if p.Fixed > 0 {
			per = p.Fixed
		}
		p.GlobalCap = per * max(nodes, 1)
	}
	if p.PollEvery <= 0 {
		p.PollEvery = 2 * time.Second
	}
	if p.MaxPause < 0 {
		p.MaxPause = 0
	}
	if p.StallWarning <= 0 {
		p.StallWarning = time.Minute
	}
	return p
}

// pauseAt is the active parts in one partition at which a node pauses, or 0
// when the table's thresholds are unknown.
func pauseAt(l NodeLoad) int {
	limit := l.PartsToDelay
	if l.PartsToThrow > 0 && (limit <= 0 || l.PartsToThrow < limit) {
		limit = l.PartsToThrow
	}
	if limit <= 0 {
		return 0
	}
	return max(limit*3/4, 1)
}

// decideLimit applies policy p (defaults filled) to a node's load: the
// concurrent inserts allowed now and why, in words.
func decideLimit(l NodeLoad, p LoadPolicy) (int, string) {
	switch {
	case l.Err != nil:
		return 0, "node down: " + l.Err.Error()
	case l.ReadOnly:
		return 0, "replica is read-only"
	}
	if at := pauseAt(l); at > 0 && l.MaxParts >= at {
		return 0, fmt.Sprintf("%d active parts in one partition, pausing at %d (3/4 of parts_to_delay_insert %d, parts_to_throw_insert %d)",
			l.MaxParts, at, l.PartsToDelay, l.PartsToThrow)
	}
	if p.Fixed > 0 {
		return p.Fixed, fmt.Sprintf("fixed at %d", p.Fixed)
	}
	limit := p.PerNodeCap
	var why []string
	if l.Queries >= heavyQueriesCut {
		limit--
		why = append(why, plural(l.Queries, "heavy query", "heavy queries"))
	}
	switch {
	case l.TableMerges >= tableMergesCut:
		limit--
		why = append(why, plural(l.TableMerges, "merge", "merges")+" on the table")
	case l.Merges >= nodeMergesCut:
		limit--
		why = append(why, plural(l.Merges, "merge", "merges")+" on the node")
	}
	if len(why) == 0 {
		return limit, fmt.Sprintf("light load, per-node cap %d", limit)
	}
	reason := strings.Join(why, ", ")
	if limit < 1 {
		limit = 1
		reason += ", kept at 1"
	}
	return limit, reason
}

// reasonKind is what a reason says without its counts, so that a node whose
// parts go from 7 to 8 keeps its reason while one that goes from too many
// parts to read-only changes it. Every failure of a down node is one kind.
func reasonKind(reason string) string {
	if strings.HasPrefix(reason, "node down") {
		return "node down"
	}
	return digits.ReplaceAllString(reason, "#")
}

var digits = regexp.MustCompile(`[0-9]+`)

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
