package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chload/chload/internal/arrowbuf"
	"github.com/chload/chload/internal/testenv"
)

// peakAllocator counts the bytes its allocator has handed out and not got
// back, and the most that ever were.
type peakAllocator struct {
	inner     *bufferPool
	held, max atomic.Int64
}

func (p *peakAllocator) add(n int) {
	h := p.held.Add(int64(n))
	for {
		m := p.max.Load()
		if h <= m || p.max.CompareAndSwap(m, h) {
			return
		}
	}
}

func (p *peakAllocator) Allocate(size int) []byte {
	b := p.inner.Allocate(size)
	p.add(cap(b))
	return b
}

func (p *peakAllocator) AllocateUninit(size int) []byte {
	b := p.inner.AllocateUninit(size)
	p.add(cap(b))
	return b
}

func (p *peakAllocator) Reallocate(size int, b []byte) []byte {
	old := cap(b)
	nb := p.inner.Reallocate(size, b)
	p.add(cap(nb) - old)
	return nb
}

func (p *peakAllocator) Free(b []byte) {
	p.add(-cap(b))
	p.inner.Free(b)
}

var _ arrowbuf.UninitAllocator = (*peakAllocator)(nil)

// heapPeak samples the Go heap's live and not yet collected objects until
// stop is called, and returns the most it saw.
func heapPeak() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// writeWideRows writes rows rows of (id UInt64, payload String) with 2 KB
// payloads into one Parquet file under dir, in row groups of rowGroup rows
// and without dictionaries, and returns its path.
func writeWideRows(t *testing.T, dir string, rows, rowGroup int) string {
	t.Helper()
	path := filepath.Join(dir, "wide.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "payload", Type: arrow.BinaryTypes.String},
	}, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(false), parquet.WithMaxRowGroupLength(int64(rowGroup)))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 2048)
	for id := 0; id < rows; {
		n := min(4096, rows-id)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := id; i < id+n; i++ {
			x := uint64(i)*0x9E3779B97F4A7C15 + 1
			for k := range payload {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				payload[k] = 'A' + byte(x%58)
			}
			b.Field(0).(*array.Uint64Builder).Append(uint64(i))
			b.Field(1).(*array.StringBuilder).BinaryBuilder.Append(payload)
		}
		rec := b.NewRecord()
		b.Release()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		id += n
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunMemoryBudgetHoldsForWideRows loads rows of 2 KB in row groups of
// 128 MiB with a 128 MiB budget: the Arrow buffers the run holds (with the
// freed ones its pool keeps) stay within the budget, and the Go heap within
// the budget plus 64 MiB. Before, a row group was read whole and records
// of 65,536 rows took 128 MiB each.
func TestRunMemoryBudgetHoldsForWideRows(t *testing.T) {
	conn := testenv.Conn(t)
	db := testenv.ScratchDB(t, conn)
	const rows, rowGroup = 2 * 65536, 65536
	path := writeWideRows(t, t.TempDir(), rows, rowGroup)
	exec(t, conn, "CREATE TABLE "+db+".wide (id UInt64, payload String) ENGINE = MergeTree ORDER BY id")
	const budget = 128 << 20
	job := loadJob(t, path, db+".wide", fmt.Sprintf("  batch_rows: 1000000\n  max_buffer_bytes: %d\n", budget))

	runtime.GC()
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit(job.Write.MaxBufferBytes)))
	mem := &peakAllocator{inner: newBufferPool(budget / 8)}
	stop := heapPeak()
	sum, err := Run(context.Background(), job, RunParams{Logger: testLogger(t), Mem: mem})
	heap := stop()
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsWritten != rows {
		t.Fatalf("wrote %d rows, want %d", sum.RowsWritten, rows)
	}
	var n, ids uint64
	if err := conn.QueryRow(context.Background(), "SELECT count(), sum(id) FROM "+db+".wide WHERE length(payload) = 2048").Scan(&n, &ids); err != nil {
		t.Fatal(err)
	}
	if n != rows || ids != rows*(rows-1)/2 {
		t.Fatalf("table holds %d full rows with ids summing to %d, want %d and %d", n, ids, rows, rows*(rows-1)/2)
	}
	arrowPeak := mem.max.Load() + budget/8 // with what the pool may keep
	t.Logf("budget %d MiB: Arrow buffers at most %d MiB (pool included), Go heap at most %d MiB",
		budget>>20, arrowPeak>>20, heap>>20)
	if arrowPeak > budget {
		t.Errorf("the run held up to %d MiB of Arrow buffers with a %d MiB budget", arrowPeak>>20, budget>>20)
	}
	if margin := uint64(64 << 20); heap > budget+margin {
		t.Errorf("the Go heap reached %d MiB with a %d MiB budget (allowed: %d MiB more)", heap>>20, budget>>20, margin>>20)
	}
}
