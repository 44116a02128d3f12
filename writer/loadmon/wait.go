package loadmon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// PauseError is returned by AcquireAny when every replica a batch may go to
// stayed paused for LoadPolicy.MaxPause: the servers took no insert for the
// shard all that time. Its message names the replicas and their reasons;
// the caller names the batch and its shard.
type PauseError struct {
	// Shard is the replicas' shard number (from 1).
	Shard int
	// Paused is how long they were paused: the policy's MaxPause.
	Paused time.Duration
	// Replicas are the replicas' last loads, each with the Reason it is
	// paused.
	Replicas []NodeLoad
}

func (e *PauseError) Error() string {
	return fmt.Sprintf("every replica stayed paused for %s: %s", e.Paused, describeReplicas(e.Replicas))
}

// describeReplicas says, for each replica, its address and why its limit is
// what it is.
func describeReplicas(ls []NodeLoad) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s (replica %d) %s", l.Addr, l.Replica, l.Reason)
	}
	return strings.Join(parts, "; ")
}

// AcquireAny takes one insert slot on whichever of addrs, the replicas a
// batch may go to, has one free first: it waits on all of them at once, so
// a replica that resumes gets the batch even while another stays paused.
// When several have a free slot, it takes the one Choose would (not
// paused, lowest share of its limit in use, shortest replication queue,
// smallest delay, then the order of addrs). Replicas that are read-only or
// down (on entry or while waiting) are passed over. The inserter calls it
// for every batch, and again without a replica whose write failed; it calls
// release (once; later calls do nothing) when the insert ends.
//
// While every replica left is paused (limit 0) the wait counts as a stall:
// it is logged at Warn level after LoadPolicy.StallWarning and every
// StallWarning after that (once for all batches waiting on the same
// replicas), and after LoadPolicy.MaxPause the wait ends with a
// *PauseError. Waiting for slots held by inserts in flight is not a stall.
//
// The error is ctx's when ctx ends first, a *PauseError, an error that says
// an address is unknown, or one that wraps ErrNodeDown when no replica is
// writable: then addr is the replica that was preferred while the wait
// went on, or "" when none was writable on entry.
func (m *LoadMonitor) AcquireAny(ctx context.Context, addrs []string) (addr string, release func(), err error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("wait for an insert slot on %s: %w", strings.Join(addrs, ", "), err)
	}
	m.mu.Lock()
	idx := make([]int, 0, len(addrs))
	for _, a := range addrs {
		i, ok := m.index[a]
		if !ok {
			m.mu.Unlock()
			return "", nil, fmt.Errorf("acquire insert slot on %s: not a node of this load monitor", a)
		}
		idx = append(idx, i)
	}
	key := stallKey(addrs)
	var (
		preferred   = -1 // the best writable replica when last looked
		pausedSince time.Time
		nextWarn    time.Duration // the stall's length at its next warning
		warned      bool
	)
	for {
		free, best, writable, paused := -1, -1, 0, true
		for _, i := range idx {
			l := m.loads[i]
			if l.Err != nil || l.ReadOnly {
				continue
			}
			writable++
			if best < 0 || m.better(i, best) {
				best = i
			}
			if l.Limit > 0 {
				paused = false
			}
			if m.inflight[i] < l.Limit && m.total < m.policy.GlobalCap && (free < 0 || m.better(i, free)) {
				free = i
			}
		}
		if free >= 0 {
			if warned {
				m.log.Info("shard takes inserts again", "shard", m.nodes[free].Shard, "node", m.nodes[free].Addr,
					"paused", m.clock.Now().Sub(pausedSince).Round(time.Second).String())
			}
			return m.nodes[free].Addr, m.takeLocked(free), nil
		}
		if writable == 0 {
			err := fmt.Errorf("wait for an insert slot on %s: %w: %s", strings.Join(addrs, ", "), ErrNodeDown, describeReplicas(m.loadsLocked(idx)))
			if preferred >= 0 {
				addr = m.nodes[preferred].Addr
			}
			m.mu.Unlock()
			return addr, nil, err
		}
		preferred = best
		var timer <-chan time.Time
		stop := func() bool { return false }
		if paused {
			now := m.clock.Now()
			if pausedSince.IsZero() {
				pausedSince, nextWarn = now, m.policy.StallWarning
			}
			stalled := now.Sub(pausedSince)
			if limit := m.policy.MaxPause; limit > 0 && stalled >= limit {
				err := &PauseError{Shard: m.nodes[idx[0]].Shard, Paused: limit, Replicas: m.loadsLocked(idx)}
				m.mu.Unlock()
				return "", nil, err
			}
			if stalled >= nextWarn {
				if last, ok := m.warned[key]; !ok || now.Sub(last) >= m.policy.StallWarning {
					m.warned[key] = now
					m.log.Warn("shard stalled: every replica is paused", "shard", m.nodes[idx[0]].Shard,
						"paused", stalled.Round(time.Second).String(), "replicas", describeReplicas(m.loadsLocked(idx)))
				}
				warned = true
				for nextWarn <= stalled {
					nextWarn += m.policy.StallWarning
				}
			}
			wake := nextWarn - stalled
			if limit := m.policy.MaxPause; limit > 0 {
				wake = min(wake, limit-stalled)
			}
			timer, stop = m.clock.After(wake)
		} else {
			pausedSince = time.Time{}
		}
		changed := m.changed
		m.waiting++
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			stop()
			m.mu.Lock()
			m.waiting--
			m.mu.Unlock()
			return "", nil, fmt.Errorf("wait for an insert slot on %s: %w", strings.Join(addrs, ", "), ctx.Err())
		case <-changed:
		case <-timer:
		}
		stop()
		m.mu.Lock()
		m.waiting--
	}
}

// takeLocked takes a slot on node i and returns its release, then unlocks
// m.mu.
func (m *LoadMonitor) takeLocked(i int) func() {
	m.inflight[i]++
	m.total++
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.inflight[i]--
			m.total--
			m.wakeLocked()
		})
	}
}

// loadsLocked copies the loads of nodes idx. m.mu is held.
func (m *LoadMonitor) loadsLocked(idx []int) []NodeLoad {
	out := make([]NodeLoad, len(idx))
	for k, i := range idx {
		out[k] = m.loads[i]
	}
	return out
}

// stallKey names a set of replicas waited on.
func stallKey(addrs []string) string { return strings.Join(addrs, "\x00") }

// clock is the monitor's time: the wall clock, or a test's.
type clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, and a
	// function that stops it.
	After(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
