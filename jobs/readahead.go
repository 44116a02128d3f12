package jobs

import (
	"context"
	"sync"
)

// ReadAheadBudget is the share of write.max_buffer_bytes that converted
// records read ahead of the batcher may take: one eighth, taken from the
// three eighths BufferBudget leaves (the rest stays for the batches being
// sent and the garbage collector's headroom).
func ReadAheadBudget(max ByteSize) int64 { return int64(max) / 8 }

// RecordBudget is about the most bytes one record read from a split may
// take (sources.OpenOptions.RecordBytes): a sixty-fourth of
// write.max_buffer_bytes, at least 1 MiB. Each reader holds a record, its
// conversion and its pieces at once, so wide rows and large row groups are
// read in records small enough for the budget.
func RecordBudget(m ByteSize) int64 { return max(int64(m)/64, 1<<20) }

// readAhead bounds the bytes of converted records that readers hold for the
// consumer: records waiting in the splits' channels, and the bytes splits
// promise (sources.Split.Bytes) that they have not delivered yet.
//
// A reader reserves a split's promised bytes before it opens it, and a
// record's bytes beyond what its split promised before it hands the record
// over; the consumer gives a record's bytes back once it has taken it, and
// a finished reader gives back what its split promised but did not deliver.
// The split being consumed (the head) is held back only while records of
// it wait in its channel, which the consumer is taking: so the consumer
// always makes progress, and a head split does not pile up records while
// the consumer is busy elsewhere (a batch being sent). Nor is a reservation
// held back when nothing is held, so a split larger than the budget is
// read with nothing else ahead of it.
type readAhead struct {
	mu     sync.Mutex
	budget int64
	held   int64
	head   int           // the split the consumer is taking records from
	queued map[int]int64 // bytes of records handed over, by split, not taken yet
	wake   chan struct{} // closed, and replaced, when held or head changes
}

func newReadAhead(budget int64) *readAhead {
	return &readAhead{budget: budget, queued: map[int]int64{}, wake: make(chan struct{})}
}

// reserve waits until n more bytes fit in the budget for split, then holds
// them. It returns ctx's error if ctx is done first.
func (r *readAhead) reserve(ctx context.Context, split int, n int64) error {
	if n <= 0 {
		return nil
	}
	for {
		r.mu.Lock()
		if (split <= r.head && r.queued[split] == 0) || r.held == 0 || r.held+n <= r.budget {
			r.held += n
			r.mu.Unlock()
			return nil
		}
		wake := r.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back n bytes.
func (r *readAhead) release(n int64) {
	if n <= 0 {
		return
	}
	r.mu.Lock()
	r.held -= n
	r.signal()
	r.mu.Unlock()
}

// queue notes that a record of n bytes of split, reserved already, is
// handed over to the consumer.
func (r *readAhead) queue(split int, n int64) {
	r.mu.Lock()
	r.queued[split] += n
	r.mu.Unlock()
}

// taken gives back the n bytes of a record of split the consumer took.
func (r *readAhead) taken(split int, n int64) {
	r.mu.Lock()
	r.held -= n
	if r.queued[split] -= n; r.queued[split] <= 0 {
		delete(r.queued, split)
	}
	r.signal()
	r.mu.Unlock()
}

// advance makes split the head.
func (r *readAhead) advance(split int) {
	r.mu.Lock()
	r.head = split
	r.signal()
	r.mu.Unlock()
}

// signal wakes the waiting readers; r.mu is held.
func (r *readAhead) signal() {
	close(r.wake)
	r.wake = make(chan struct{})
}

// splitBudget is one reader's account of its split with the readAhead: the
// bytes the split promised that records have not used up yet.
type splitBudget struct {
	ra      *readAhead
	split   int
	promise int64
}

// start reserves the split's promised bytes (none when unknown).
func (b *splitBudget) start(ctx context.Context, promised int64) error {
	b.promise = max(promised, 0)
	if b.promise > b.ra.budget {
		b.promise = b.ra.budget // a larger split is read alone anyway
	}
	return b.ra.reserve(ctx, b.split, b.promise)
}

// take accounts for a record of n bytes about to be handed over: it uses up
// the promise first, then reserves the rest. The record holds n bytes until
// the consumer takes it (readAhead.taken).
func (b *splitBudget) take(ctx context.Context, n int64) error {
	used := min(n, b.promise)
	b.promise -= used
	if err := b.ra.reserve(ctx, b.split, n-used); err != nil {
		b.ra.release(used)
		return err
	}
	b.ra.queue(b.split, n)
	return nil
}

// finish gives back what the split promised but did not deliver.
func (b *splitBudget) finish() {
	b.ra.release(b.promise)
	b.promise = 0
}
