package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/chload/chload/sources"
	"github.com/chload/chload/writer"
)

// session is what a run and a dry run share: the open source, its splits,
// the server, the target table and the plan that maps one onto the other.
type session struct {
	job    *Job
	log    *slog.Logger
	mem    memory.Allocator
	src    sources.Source
	schema *arrow.Schema
	splits []sources.Split
	conn   driver.Conn
	server writer.ServerInfo
	table  *writer.Table
	plan   *writer.Plan
}

func openSession(ctx context.Context, job *Job, log *slog.Logger, mem memory.Allocator) (*session, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	s := &session{job: job, log: log, mem: mem}
	src, err := sources.New(job.Source.Type, job.Source.Decoder())
	if err != nil {
		return nil, &ConfigError{Path: job.Path, Err: err}
	}
	s.src = src
	if s.schema, err = src.Schema(ctx); err != nil {
		s.close()
		return nil, &SourceError{Err: err}
	}
	if s.splits, err = src.Splits(ctx); err != nil {
		s.close()
		return nil, &SourceError{Err: err}
	}
	ch := job.Target.ClickHouse
	s.conn, err = writer.Connect(ctx, writer.ConnParams{
		Addrs: ch.Hosts, User: ch.User, Password: string(ch.Password),
		Compression: ch.Compression, DialTimeout: ch.DialTimeout,
		MaxConns: job.Write.Concurrency + 2, Logger: log,
	})
	if err != nil {
		s.close()
		return nil, err
	}
	if s.server, err = writer.DetectServer(ctx, s.conn); err != nil {
		s.close()
		return nil, err
	}
	log.Info("connected", "server", s.server.Version, "timezone", s.server.Timezone, "hosts", ch.Hosts)
	if s.table, err = writer.DescribeTable(ctx, s.conn, job.Target.Database(), job.Target.TableName()); err != nil {
		s.close()
		return nil, err
	}
	if s.table.Engine == "Distributed" {
		s.close()
		return nil, &writer.TargetError{Table: job.Target.Table, Problem: "is a Distributed table; chload never inserts through one", Fix: "name the shards' local table in target.table (cluster writes come with the cluster feature)"}
	}
	if s.plan, err = writer.NewPlan(s.table, s.server, s.schema, job.Source.IgnoreExtraColumns); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	if s.conn != nil {
		s.conn.Close()
	}
	if s.src != nil {
		s.src.Close()
	}
}

// converted is one source record after conversion: canonical columns and
// the partition key's values.
type converted struct {
	rec  arrow.Record
	keys []arrow.Array
	// order lists rec's rows sorted by the sorting key, when asked for.
	order []uint32
}

func (c converted) release() {
	c.rec.Release()
	for _, k := range c.keys {
		k.Release()
	}
}

// readConverted reads every split with plan's columns, converts records and
// evaluates the partition key on `workers` goroutines, and hands the results
// to consume in split order and row order: the same source gives the same
// sequence. consume owns each item. It runs on the calling goroutine.
// With sorted, each record also comes with its rows' order by the table's
// sorting key, computed on the reading goroutines.
func (s *session) readConverted(parent context.Context, plan *writer.Plan, workers int, sorted bool, progress *Progress, consume func(converted) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	outs := make([]chan converted, len(s.splits))
	for i := range outs {
		outs[i] = make(chan converted, 2)
	}
	errs := make(chan error, workers)
	cols := plan.SourceColumns()
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
				if err = s.readSplit(ctx, plan, cols, sorted, s.splits[i], outs[i]); err != nil {
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
	// Drain what readers left behind.
	for _, ch := range outs {
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

func (s *session) readSplit(ctx context.Context, plan *writer.Plan, cols []string, sorted bool, sp sources.Split, out chan<- converted) error {
	defer close(out)
	rr, err := s.src.Open(ctx, sp, cols)
	if err != nil {
		return &SourceError{Err: fmt.Errorf("open %s: %w", sp, err)}
	}
	defer rr.Release()
	var row int64
	for rr.Next() {
		rec := rr.Record()
		item, err := s.convert(plan, rec, sp, row, sorted)
		if err != nil {
			return err
		}
		row += rec.NumRows()
		select {
		case out <- item:
		case <-ctx.Done():
			item.release()
			return ctx.Err()
		}
	}
	if err := rr.Err(); err != nil {
		return &SourceError{Err: fmt.Errorf("read %s: %w", sp, err)}
	}
	return nil
}

func (s *session) convert(plan *writer.Plan, rec arrow.Record, sp sources.Split, firstRow int64, sorted bool) (converted, error) {
	out, err := plan.Convert(rec, s.mem)
	if err != nil {
		var ve *writer.ColumnValueError
		if errors.As(err, &ve) {
			return converted{}, &DataError{Path: sp.Path, Split: sp.Index, Row: firstRow + int64(ve.Err.Row), Column: ve.Column, Err: ve.Err}
		}
		return converted{}, fmt.Errorf("convert %s: %w", sp, err)
	}
	keys, err := writer.EvalKeys(plan.Table.Partition, out, s.mem)
	if err != nil {
		out.Release()
		return converted{}, fmt.Errorf("%s: %w", sp, err)
	}
	item := converted{rec: out, keys: keys}
	if sorted {
		if item.order, err = writer.SortPermutation([]arrow.Record{out}, plan.Table.Sorting, s.mem); err != nil {
			item.release()
			return converted{}, fmt.Errorf("%s: %w", sp, err)
		}
	}
	return item, nil
}
