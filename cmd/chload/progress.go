package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/chload/chload/jobs"
)

// Progress display: jobs.Progress holds the counters; this file only
// renders them. On a terminal, two bars (reading, writing) sit at the
// bottom of the screen, redrawn in place at the terminal's width, and log
// lines scroll above them; elsewhere (a scheduler, a pipe) a plain log line
// reports the same numbers every 10 seconds.

const (
	barRefresh  = 200 * time.Millisecond
	logInterval = 10 * time.Second
)

// logSink is where log lines go: stderr, or, while bars are drawn, the bar
// container, which prints them above the bars.
type logSink struct {
	mu   sync.Mutex
	base io.Writer
	over io.Writer // nil: write to base
}

func (s *logSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over != nil {
		return s.over.Write(b)
	}
	return s.base.Write(b)
}

// redirect sends log lines to w, or back to stderr for nil.
func (s *logSink) redirect(w io.Writer) {
	s.mu.Lock()
	s.over = w
	s.mu.Unlock()
}

// progressView is one moment of the run as the display shows it.
type progressView struct {
	rows, bytes, total int64
	elapsed            time.Duration
}

// rate is rows per second since the start.
func (v progressView) rate() float64 {
	if v.elapsed <= 0 {
		return 0
	}
	return float64(v.rows) / v.elapsed.Seconds()
}

// eta is the time left at the average rate so far, or -1 when unknown.
func (v progressView) eta() time.Duration {
	r := v.rate()
	if v.total < 0 || r <= 0 {
		return -1
	}
	left := v.total - v.rows
	if left < 0 {
		left = 0
	}
	return time.Duration(float64(left) / r * float64(time.Second)).Round(time.Second)
}

// text is "1234/5000 rows  1.2 MiB  617 rows/s  ETA 6s".
func (v progressView) text() string {
	total := "?"
	if v.total >= 0 {
		total = fmt.Sprint(v.total)
	}
	return fmt.Sprintf("%d/%s rows  %s  %.0f rows/s  ETA %s", v.rows, total, humanBytes(v.bytes), v.rate(), v.etaText())
}

// etaText is the ETA, or "?" when unknown.
func (v progressView) etaText() string {
	if d := v.eta(); d >= 0 {
		return d.String()
	}
	return "?"
}

func readView(s jobs.Snapshot, elapsed time.Duration) progressView {
	return progressView{rows: s.RowsRead, bytes: s.BytesRead, total: s.TotalRows, elapsed: elapsed}
}

func writeView(s jobs.Snapshot, elapsed time.Duration) progressView {
	return progressView{rows: s.RowsWritten, bytes: s.BytesWritten, total: s.TotalRows, elapsed: elapsed}
}

// showProgress renders p until the returned function is called with the
// run's outcome: bars on a terminal, with log lines redirected above them,
// else a log line every 10 seconds.
func showProgress(ctx context.Context, st *state, sink *logSink, log *slog.Logger, p *jobs.Progress) func(failed bool) {
	if st.terminal {
		return showBars(ctx, st, sink, p)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		every := st.progressEvery
		if every <= 0 {
			every = logInterval
		}
		t := time.NewTicker(every)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s, el := p.Snapshot(), time.Since(start)
			if s.TotalSplits == 0 {
				continue // not planned yet
			}
			r, w := readView(s, el), writeView(s, el)
			log.Info("progress", "rows_total", s.TotalRows,
				"rows_read", r.rows, "bytes_read", r.bytes, "read_rows_per_second", int64(r.rate()),
				"rows_written", w.rows, "bytes_written", w.bytes, "write_rows_per_second", int64(w.rate()), "write_eta", w.etaText(),
				"batches", s.Batches, "splits_done", s.SplitsDone, "splits", s.TotalSplits)
		}
	}()
	return func(bool) { cancel(); <-done }
}

// showBars draws the reading and the writing bar on stderr.
func showBars(ctx context.Context, st *state, sink *logSink, p *jobs.Progress) func(failed bool) {
	start := time.Now()
	var mu sync.Mutex
	snap := p.Snapshot()
	view := func(f func(jobs.Snapshot, time.Duration) progressView) decor.Decorator {
		return decor.Any(func(decor.Statistics) string {
			mu.Lock()
			defer mu.Unlock()
			return f(snap, time.Since(start)).text()
		}, decor.WCSyncWidthR)
	}
	c := mpb.NewWithContext(context.WithoutCancel(ctx), mpb.WithOutput(st.stderr), mpb.WithRefreshRate(barRefresh), mpb.WithAutoRefresh())
	style := mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding(" ").Rbound("]")
	bar := func(name string, f func(jobs.Snapshot, time.Duration) progressView) *mpb.Bar {
		return c.New(0, style, // 0: no total yet, so mpb never completes the bar on its own
			mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(view(f)),
			mpb.BarWidth(30),
		)
	}
	read, write := bar("read", readView), bar("write", writeView)
	update := func() {
		s := p.Snapshot()
		mu.Lock()
		snap = s
		mu.Unlock()
		for _, x := range []struct {
			b     *mpb.Bar
			n, of int64
		}{{read, s.RowsRead, s.TotalRows}, {write, s.RowsWritten, s.TotalRows}} {
			total := x.of
			if total <= 0 || x.n > total {
				total = x.n + 1 // unknown: the bar stays short of full
			}
			x.b.SetTotal(total, false)
			x.b.SetCurrent(x.n)
		}
	}
	sink.redirect(c)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(barRefresh)
		defer t.Stop()
		for {
			update()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func(failed bool) {
		cancel()
		<-done
		update()
		planned := p.TotalSplits.Load() > 0
		for _, b := range []*mpb.Bar{read, write} {
			if failed {
				b.Abort(!planned) // keep the bars of a run that started
			} else {
				b.SetTotal(-1, true)
			}
		}
		c.Wait()
		sink.redirect(nil)
	}
}
