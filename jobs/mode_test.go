package jobs

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/plan"
)

// recordingMode records the partitions it is told were written.
type recordingMode struct {
	mu      sync.Mutex
	written map[string]int
}

func (m *recordingMode) Insert(p *plan.Plan) *writer.Insert { return p.Insert() }
func (m *recordingMode) Finish(context.Context) error       { return nil }
func (m *recordingMode) PartitionWritten(_ context.Context, shard int, partition string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.written[fmt.Sprintf("%d/%s", shard, partition)]++
	return nil
}

// TestPartitionTrackerFiresOnceWhenWholeAndWritten: a partition is
// reported written exactly once, only after the batcher said it is complete
// AND all its batches were written, whichever comes last, with writes
// arriving concurrently.
func TestPartitionTrackerFiresOnceWhenWholeAndWritten(t *testing.T) {
	ctx := context.Background()
	m := &recordingMode{written: map[string]int{}}
	tr := newPartitionTracker(m)
	const parts, batches = 20, 5
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		name := fmt.Sprint(p)
		// Half the partitions complete before their writes, half after.
		if p%2 == 0 {
			if err := tr.complete(ctx, batch.PartitionStats{ID: p, Shard: p % 2, Partition: name, Batches: batches}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < batches; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := tr.written(ctx, &batch.Batch{PartitionID: p, Shard: p % 2, Partition: name, Seq: i}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	m.mu.Lock()
	early := len(m.written)
	m.mu.Unlock()
	if early != parts/2 {
		t.Fatalf("%d partitions reported before the odd ones were complete, want %d", early, parts/2)
	}
	if err := tr.check(); err == nil {
		t.Fatal("check passed with partitions not complete")
	}
	for p := 1; p < parts; p += 2 {
		if err := tr.complete(ctx, batch.PartitionStats{ID: p, Shard: p % 2, Partition: fmt.Sprint(p), Batches: batches}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.check(); err != nil {
		t.Fatal(err)
	}
	for p := 0; p < parts; p++ {
		if n := m.written[fmt.Sprintf("%d/%d", p%2, p)]; n != 1 {
			t.Errorf("partition %d reported %d times", p, n)
		}
	}
	// A partition complete with batches still unwritten is not reported.
	tr.complete(ctx, batch.PartitionStats{ID: 99, Partition: "late", Batches: 2})
	tr.written(ctx, &batch.Batch{PartitionID: 99, Partition: "late"})
	if m.written["0/late"] != 0 || tr.check() == nil {
		t.Fatal("a partition was reported written with one of its two batches unwritten")
	}
}
