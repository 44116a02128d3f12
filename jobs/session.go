package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
	"github.com/chload/chload/writer/chcol"
	"github.com/chload/chload/writer/plan"
)

// session is what a run and a dry run share: the open source, its splits,
// the target opened through the door (server, table, a cluster's nodes and
// their load) and the plan that maps the source onto the table.
type session struct {
	job    *Job
	log    *slog.Logger
	mem    memory.Allocator
	src    sources.Source
	schema *arrow.Schema
	splits []sources.Split
	target *writer.Target
	dest   *writer.Destination
	table  *writer.Table
	plan   *plan.Plan
	// probeHosts dials every listed host (RunParams.probeHosts).
	probeHosts bool
}

func openSession(ctx context.Context, job *Job, log *slog.Logger, p RunParams) (*session, error) {
	mem := p.Mem
	if mem == nil {
		// Freed buffers are kept for reuse, up to an eighth of the
		// buffer budget (measured: about 5% less CPU, no more memory).
		mem = newBufferPool(int(job.Write.MaxBufferBytes) / 8)
	}
	s := &session{job: job, log: log, mem: mem, probeHosts: p.probeHosts}
	src, err := sources.New(job.Source.Type, job.Source.Decoder())
	if err != nil {
		return nil, &ConfigError{Path: job.Path, Err: err}
	}
	s.src = src
	if err := s.open(ctx, p.dialer()); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) open(ctx context.Context, dialer writer.Dialer) error {
	job := s.job
	var err error
	if s.schema, err = s.src.Schema(ctx); err != nil {
		return &SourceError{Err: err}
	}
	if s.splits, err = s.src.Splits(ctx); err != nil {
		return &SourceError{Err: err}
	}
	ch := job.Target.ClickHouse
	tlsConfig, err := ch.TLSConfig()
	if err != nil {
		return &ConfigError{Path: job.Path, Err: err}
	}
	concurrency := 0
	if job.Write.Concurrency != Auto {
		concurrency = int(job.Write.Concurrency)
	}
	s.target, err = writer.Open(ctx, dialer, writer.OpenParams{
		Conn: writer.ConnParams{
			Addrs: ch.Hosts, User: ch.User, Password: string(ch.Password),
			Compression: ch.Compression, DialTimeout: ch.DialTimeout, TLS: tlsConfig, Logger: s.log, Mem: s.mem,
		},
		ProbeHosts: s.probeHosts,
		Target: writer.DestinationParams{
			Database: job.Target.Database(), Table: job.Target.TableName(), Cluster: job.Target.Cluster,
			ShardingKey: job.Target.ShardingKey, InternalReplication: job.Target.InternalReplication,
		},
		Concurrency: concurrency, NodeConcurrency: job.Write.NodeConcurrency, MaxConcurrency: job.Write.MaxConcurrency,
		MaxPause: job.Write.PauseLimit(), Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.dest = s.target.Destination()
	s.table = s.dest.Table
	if s.plan, err = plan.New(s.table, s.target.Server(), s.schema, job.Source.IgnoreExtraColumns, s.dest.RowKeys()...); err != nil {
		return err
	}
	if job.Source.NullAsDefault {
		if err := s.plan.UseNullAsDefault(); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) close() {
	if s.target != nil {
		s.target.Close()
	}
	if s.src != nil {
		s.src.Close()
	}
}

// converted is one source record after conversion, split by shard and
// partition (and sorted within each piece, when asked for).
type converted struct {
	rows   int64
	bytes  int64 // of the converted record, for the read-ahead budget
	pieces batch.Pieces
}

func (c converted) release() { c.pieces.Release() }

// splitChunkRows is a lower bound on the rows of one record a source
// yields, for sizing the channel that holds a split's records.
const splitChunkRows = 4096

// splitChanCap is the capacity of the channel for sp's records: room for
// all of them when the source says how many rows it has (a reader then
// never waits within a split), within bounds a corrupt row count cannot
// push.
func splitChanCap(sp sources.Split) int {
	if sp.Rows <= 0 {
		return 2
	}
	return int(min(sp.Rows/splitChunkRows+2, 1024))
}

// readConverted reads every split with plan's columns, converts records and
// evaluates the partition key on `workers` goroutines, and hands the results
// to consume in split order and row order: the same source gives the same
// sequence. consume owns each item. It runs on the calling goroutine.
// With sorted, each record also comes with its rows' order by the table's
// sorting key, computed on the reading goroutines.
func (s *session) readConverted(parent context.Context, pl *plan.Plan, workers int, sorted bool, progress *Progress, consume func(converted) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	// Each split's channel holds all its records, so a reader never waits
	// for the consumer within a split (which left a core idle while the
	// consumer caught up). Instead, a reader starts split i only once the
	// consumer has started split i-workers: at most workers splits are
	// read ahead of the one being consumed, and, ahead of that one, at most
	// ReadAheadBudget bytes are held (readahead.go).
	// A split's channel is made by its reader when it starts the split
	// (ready[i] is closed then), so only the splits in flight hold one.
	ra := newReadAhead(ReadAheadBudget(s.job.Write.MaxBufferBytes))
	outs := make([]chan converted, len(s.splits))
	ready := make([]chan struct{}, len(s.splits))
	started := make([]chan struct{}, len(s.splits))
	for i := range s.splits {
		ready[i] = make(chan struct{})
		started[i] = make(chan struct{})
	}
	errs := make(chan error, workers)
	opts := sources.OpenOptions{Columns: pl.SourceColumns(), Mem: s.mem, KeepDictionaries: pl.DictionaryColumns(),
		RecordBytes: RecordBudget(s.job.Write.MaxBufferBytes)}
	for w := 0; w < workers; w++ {
		go func(w int) {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("internal error reading splits: %v\n%s", r, debug.Stack())
				}
				if err != nil {
					cancel(err)
				}
				errs <- err
			}()
			for i := w; i < len(s.splits); i += workers {
				if i >= workers {
					select {
					case <-started[i-workers]:
					case <-ctx.Done():
						err = ctx.Err()
						return
					}
				}
				outs[i] = make(chan converted, splitChanCap(s.splits[i]))
				close(ready[i])
				if err = s.readSplit(ctx, pl, opts, sorted, s.splits[i], outs[i], &splitBudget{ra: ra, split: i}); err != nil {
					return
				}
				if progress != nil {
					progress.SplitsDone.Add(1)
				}
			}
		}(w)
	}
	var consumeErr error
loop:
	for i := range outs {
		close(started[i])
		ra.advance(i)
		select {
		case <-ready[i]:
		case <-ctx.Done():
			break loop
		}
		for {
			var item converted
			var ok bool
			select {
			case item, ok = <-outs[i]:
			case <-ctx.Done():
				break loop
			}
			if !ok {
				break
			}
			ra.taken(i, item.bytes)
			if consumeErr = consume(item); consumeErr != nil {
				cancel(consumeErr)
				break loop
			}
		}
	}
	cancel(nil)
	var first error
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil && first == nil && !errors.Is(err, context.Canceled) {
			first = err
		}
	}
	// Drain what readers left behind (every reader has returned).
	for i, ch := range outs {
		select {
		case <-ready[i]:
		default:
			continue // never started
		}
	drain:
		for {
			select {
			case item, ok := <-ch:
				if !ok {
					break drain
				}
				item.release()
			default:
				break drain
			}
		}
	}
	if consumeErr != nil {
		return consumeErr
	}
	if first != nil {
		return first
	}
	return parent.Err()
}

func (s *session) readSplit(ctx context.Context, pl *plan.Plan, o sources.OpenOptions, sorted bool, sp sources.Split, out chan<- converted, budget *splitBudget) error {
	defer close(out)
	if err := budget.start(ctx, sp.Bytes); err != nil {
		return err
	}
	defer budget.finish()
	rr, err := s.src.Open(ctx, sp, o)
	if err != nil {
		return &SourceError{Err: splitErr("open", sp, err)}
	}
	defer rr.Release()
	var row int64
	for rr.Next() {
		rec := rr.Record()
		if sp.Rows >= 0 && row+rec.NumRows() > sp.Rows {
			return &SourceError{Err: &RowCountError{Split: sp.String(), Promised: sp.Rows, Delivered: row + rec.NumRows()}}
		}
		item, err := s.convert(pl, rec, sp, row, sorted)
		if err != nil {
			return err
		}
		row += rec.NumRows()
		if err := budget.take(ctx, item.bytes); err != nil {
			item.release()
			return err
		}
		select {
		case out <- item:
		case <-ctx.Done():
			item.release()
			return ctx.Err()
		}
	}
	if err := rr.Err(); err != nil {
		var bad *sources.ValueError
		if errors.As(err, &bad) {
			return &DataError{Split: sp, Row: bad.Row, Column: bad.Column,
				Err: &chcol.ValueError{Row: int(bad.Row), Value: bad.Value, Reason: bad.Reason, Fix: bad.Fix}}
		}
		return &SourceError{Err: splitErr("read", sp, err)}
	}
	// Every split delivers what its metadata promises: a reader that ends
	// early without an error (arrow/go v15 did, on a bad page) must not
	// pass for a complete read.
	if sp.Rows >= 0 && row != sp.Rows {
		return &SourceError{Err: &RowCountError{Split: sp.String(), Promised: sp.Rows, Delivered: row}}
	}
	return nil
}

func (s *session) convert(pl *plan.Plan, rec arrow.Record, sp sources.Split, firstRow int64, sorted bool) (converted, error) {
	out, err := pl.Convert(rec, s.mem)
	if err != nil {
		var ve *plan.ColumnValueError
		if errors.As(err, &ve) {
			return converted{}, &DataError{Split: sp, Row: firstRow + int64(ve.Err.Row), Column: ve.Column, Err: ve.Err}
		}
		return converted{}, fmt.Errorf("convert %s: %w", sp, err)
	}
	defer out.Release()
	keys, err := batch.EvalKeys(pl.Table.Partition, out, s.mem)
	if err != nil {
		return converted{}, fmt.Errorf("%s: %w", sp, err)
	}
	defer func() {
		for _, k := range keys {
			k.Release()
		}
	}()
	r := batch.Rows{Record: out, Keys: keys}
	if router := s.target.Router(); router != nil {
		if r.Shards, err = router.Shards(out, splitSeed(sp), firstRow, s.mem); err != nil {
			return converted{}, fmt.Errorf("%s: %w", sp, err)
		}
	}
	if sorted {
		if r.Order, err = batch.SortPermutation([]arrow.Record{out}, pl.Table.Sorting, s.mem); err != nil {
			return converted{}, fmt.Errorf("%s: %w", sp, err)
		}
	}
	pieces, err := batch.SplitRows(context.Background(), r, s.mem)
	if err != nil {
		return converted{}, fmt.Errorf("%s: %w", sp, err)
	}
	return converted{rows: out.NumRows(), bytes: batch.RecordSize(out), pieces: pieces}, nil
}

// splitSeed derives the rand() routing seed of a split from its stable ID,
// so two runs over the same data route its rows alike.
func splitSeed(sp sources.Split) uint64 {
	return writer.SplitSeed(sp.ID)
}

// splitErr is err from doing op on sp, naming the split once: the source
// contract has its errors be a *sources.SplitError already, and one that is
// not is made one.
func splitErr(op string, sp sources.Split, err error) error {
	var named *sources.SplitError
	if errors.As(err, &named) {
		return err
	}
	return &sources.SplitError{Op: op, Split: sp, Err: err}
}
