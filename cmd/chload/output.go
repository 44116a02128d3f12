package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chload/chload/jobs"
)

func printDryRun(w io.Writer, r *jobs.DryRunReport) {
	fmt.Fprintf(w, "dry run of job %s into %s (ClickHouse %s)\n", r.Job, r.Table, r.Server)
	fmt.Fprintf(w, "partition key: %s\nsorting key:   %s\n", orNone(r.PartitionKey), orNone(r.SortingKey))
	fmt.Fprintf(w, "columns: %s\n", strings.Join(r.Columns, ", "))
	if len(r.Defaulted) > 0 {
		fmt.Fprintf(w, "filled by the server's DEFAULT: %s\n", strings.Join(r.Defaulted, ", "))
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(w, "source columns ignored: %s\n", strings.Join(r.Ignored, ", "))
	}
	if r.Cluster != "" {
		fmt.Fprintf(w, "cluster: %s, sharding key: %s", r.Cluster, r.ShardingKey)
		if r.Distributed != "" {
			fmt.Fprintf(w, " (from Distributed table %s; rows go straight to the shards' local tables)", r.Distributed)
		}
		fmt.Fprintln(w)
	}
	printHosts(w, r.Hosts)
	fmt.Fprintf(w, "splits: %d, rows: %d, estimated bytes: %s, batch_rows: %d\n\n", r.Splits, r.Rows, humanBytes(r.EstimatedBytes), r.BatchRows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\treplica\tpartition\trows\test. bytes\tbatches (new parts)\tcurrent parts\tcurrent rows\t")
	for _, p := range r.Partitions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t\n", shardText(p.Shard), p.Replica, p.Partition, p.Rows, humanBytes(p.EstimatedBytes), p.Batches, p.CurrentParts, p.CurrentRows)
	}
	fmt.Fprintf(tw, "total\t\t\t%d\t%s\t%d\t\t\t\n", r.Rows, humanBytes(r.EstimatedBytes), r.Batches)
	tw.Flush()
	fmt.Fprintf(w, "\nnodes (load now, and the concurrent inserts each would get; at most %d at once in all):\n", r.MaxConcurrency)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tshard\treplica\tinserts allowed\tmerges (table)\tqueries\tmax parts/partition\twhy\t")
	for _, n := range r.Nodes {
		why := n.Reason
		if n.Error != "" {
			why = "down: " + n.Error
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d (%d)\t%d\t%d\t%s\t\n", n.Addr, n.Shard, n.Replica, n.Limit, n.Merges, n.TableMerges, n.Queries, n.MaxParts, why)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// printHosts says how each of target.clickhouse.hosts answered.
func printHosts(w io.Writer, hosts []jobs.DryRunHost) {
	for _, h := range hosts {
		switch {
		case h.Used:
			fmt.Fprintf(w, "host %s: answers (used)\n", h.Addr)
		case h.Answered:
			fmt.Fprintf(w, "host %s: answers\n", h.Addr)
		case h.Error != "":
			fmt.Fprintf(w, "host %s: does not answer: %s\n", h.Addr, h.Error)
		default:
			fmt.Fprintf(w, "host %s: not tried\n", h.Addr)
		}
	}
}

func shardText(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

type summaryOut struct {
	Status        string  `json:"status"`
	Error         string  `json:"error,omitempty"`
	Kind          string  `json:"kind,omitempty"`
	ExitCode      int     `json:"exit_code"`
	Job           string  `json:"job"`
	Table         string  `json:"table"`
	Server        string  `json:"server"`
	RowsRead      int64   `json:"rows_read"`
	RowsWritten   int64   `json:"rows_written"`
	Batches       int     `json:"batches"`
	PartsCreated  int     `json:"parts_created"`
	ForcedBatches int     `json:"batches_flushed_early"`
	ElapsedSec    float64 `json:"elapsed_seconds"`
	RowsPerSecond float64 `json:"rows_per_second"`
	// RowsOutcomeUnknown are rows the server may or may not have written.
	RowsOutcomeUnknown int64 `json:"rows_outcome_unknown,omitempty"`
	// NullsDefaulted is per column, under source.null_as_default.
	NullsDefaulted map[string]int64        `json:"nulls_defaulted,omitempty"`
	Partitions     []jobs.PartitionSummary `json:"partitions"`
}

func summaryJSON(s *jobs.Summary, err error) summaryOut {
	out := summaryOut{Status: "ok", Job: s.Job, Table: s.Table, Server: s.Server, RowsRead: s.RowsRead,
		RowsWritten: s.RowsWritten, Batches: s.Batches, PartsCreated: s.PartsCreated, ForcedBatches: s.ForcedBatches,
		ElapsedSec: s.Elapsed.Seconds(), RowsPerSecond: s.RowsPerSecond, NullsDefaulted: s.NullsDefaulted, RowsOutcomeUnknown: s.RowsOutcomeUnknown, Partitions: s.Partitions}
	if err != nil {
		out.Status, out.Error = "failed", err.Error()
		out.ExitCode = exitCode(err)
		out.Kind = exitKind(out.ExitCode)
	}
	return out
}

func printSummary(w io.Writer, s *jobs.Summary, err error) {
	status := "done"
	if err != nil {
		status = "FAILED"
	}
	fmt.Fprintf(w, "%s: job %s into %s (ClickHouse %s)\n", status, s.Job, s.Table, s.Server)
	fmt.Fprintf(w, "rows read %d, rows written %d, batches %d, parts created %d", s.RowsRead, s.RowsWritten, s.Batches, s.PartsCreated)
	if s.ForcedBatches > 0 {
		fmt.Fprintf(w, " (%d flushed early by write.max_buffer_bytes)", s.ForcedBatches)
	}
	fmt.Fprintf(w, "\nelapsed %s, %.0f rows/s\n", s.Elapsed.Round(time.Millisecond), s.RowsPerSecond)
	if s.RowsOutcomeUnknown > 0 {
		fmt.Fprintf(w, "rows whose insert outcome is unknown %d: they reached the server, which may have written them; check the table before running the job again\n", s.RowsOutcomeUnknown)
	}
	if len(s.NullsDefaulted) > 0 {
		fmt.Fprint(w, "NULLs stored as the column default (source.null_as_default):")
		for _, c := range slices.Sorted(maps.Keys(s.NullsDefaulted)) {
			fmt.Fprintf(w, " %s %d", c, s.NullsDefaulted[c])
		}
		fmt.Fprintln(w)
	}
	if len(s.Partitions) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "shard\tpartition\trows written\tbatches\t")
		for _, p := range s.Partitions {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", shardText(p.Shard), p.Partition, p.Rows, p.Batches)
		}
		tw.Flush()
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
