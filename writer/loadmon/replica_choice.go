package loadmon

// Choose returns the replica among addrs to write a shard's batch to: the
// healthiest, least loaded one. Replicas that are read-only, down (their
// poll or a write failed), unknown or in exclude are skipped. Among the
// rest it prefers a node that is not paused, then the lowest share of its
// limit in use (inflight/limit), then the shortest replication queue, then
// the smallest replication delay, then the order of addrs. A paused node is
// still chosen when every candidate is paused. A dry run calls it to say
// where each shard's batches would go; the inserter waits on every
// candidate instead (AcquireAny), which prefers free replicas in the same
// order. It returns false when no replica is writable.
func (m *LoadMonitor) Choose(addrs []string, exclude map[string]bool) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	best := -1
	for _, a := range addrs {
		i, ok := m.index[a]
		if !ok || exclude[a] {
			continue
		}
		l := m.loads[i]
		if l.ReadOnly || l.Err != nil {
			continue
		}
		if best < 0 || m.better(i, best) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	return m.nodes[best].Addr, true
}

// better reports whether node i is a better choice than node j. m.mu is
// held.
func (m *LoadMonitor) better(i, j int) bool {
	li, lj := m.loads[i], m.loads[j]
	if (li.Limit > 0) != (lj.Limit > 0) {
		return li.Limit > 0
	}
	if li.Limit > 0 {
		// inflight_i/limit_i < inflight_j/limit_j without division.
		a, b := m.inflight[i]*lj.Limit, m.inflight[j]*li.Limit
		if a != b {
			return a < b
		}
	}
	if li.QueueSize != lj.QueueSize {
		return li.QueueSize < lj.QueueSize
	}
	return li.AbsoluteDelay < lj.AbsoluteDelay
}
