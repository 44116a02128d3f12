package jobs

import "sync/atomic"

// Progress is a run's counters, updated as the run goes; any goroutine may
// read them at any time (the CLI draws bars or logs lines from them).
type Progress struct {
	// TotalRows is the rows the splits hold, when the source knows (else -1).
	TotalRows atomic.Int64
	// RowsRead counts rows converted and buffered; BytesRead is their size
	// in memory, as converted (what the batches are made of).
	RowsRead, BytesRead atomic.Int64
	// RowsWritten counts rows the server acknowledged; BytesWritten is the
	// size of their batches, as BytesRead counts it.
	RowsWritten, BytesWritten atomic.Int64
	// Batches counts inserts acknowledged.
	Batches atomic.Int64
	// SplitsDone counts splits read to the end; TotalSplits is all of them.
	SplitsDone, TotalSplits atomic.Int64
}

// Snapshot is a copy of Progress at one moment.
type Snapshot struct {
	TotalRows, RowsRead, BytesRead, RowsWritten, BytesWritten, Batches, SplitsDone, TotalSplits int64
}

// Snapshot reads every counter.
func (p *Progress) Snapshot() Snapshot {
	return Snapshot{
		TotalRows: p.TotalRows.Load(), RowsRead: p.RowsRead.Load(), BytesRead: p.BytesRead.Load(),
		RowsWritten: p.RowsWritten.Load(), BytesWritten: p.BytesWritten.Load(),
		Batches: p.Batches.Load(), SplitsDone: p.SplitsDone.Load(), TotalSplits: p.TotalSplits.Load(),
	}
}
