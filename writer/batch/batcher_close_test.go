package batch

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform"
)

// TestBatcherCloseFailureReleasesTheRest: when emit fails during Close (an
// insert failed and the run is ending), the partitions not flushed yet are
// released, not left holding their rows.
func TestBatcherCloseFailureReleasesTheRest(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key, err := transform.ParseKey("p")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("insert failed")
	emitted := 0
	b := NewBatcher(BatcherParams{BatchRows: 1 << 20, MaxBufferBytes: 1 << 40, Mem: mem}, func(b *Batch) error {
		b.Release()
		emitted++
		return boom // the run's emit releases a batch it cannot send
	})
	for _, r := range testRecords(mem, 4, 100, 5, 1) {
		keys, err := EvalKeys(key, r, mem)
		if err != nil {
			t.Fatal(err)
		}
		err = b.Add(context.Background(), Rows{Record: r, Keys: keys})
		for _, k := range keys {
			k.Release()
		}
		r.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close: %v, want the emit error", err)
	}
	if emitted != 1 {
		t.Fatalf("%d batches emitted after the first failed", emitted-1)
	}
}
