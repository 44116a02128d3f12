package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/chload/chload/writer/batch"
)

// DryRunReport is what a run would write, per partition, and what the
// table holds there now.
type DryRunReport struct {
	Job          string `json:"job"`
	Table        string `json:"table"`
	Server       string `json:"server"`
	PartitionKey string `json:"partition_key"`
	SortingKey   string `json:"sorting_key"`
	// Columns are the INSERT's columns; Defaulted the table columns the
	// server will fill; Ignored the source columns skipped.
	Columns   []string `json:"columns"`
	Defaulted []string `json:"defaulted"`
	Ignored   []string `json:"ignored"`
	Splits    int      `json:"splits"`
	Rows      int64    `json:"rows"`
	// EstimatedBytes is the uncompressed size of the rows, from the source's
	// metadata.
	EstimatedBytes int64 `json:"estimated_bytes"`
	BatchRows      int   `json:"batch_rows"`
	MaxBufferBytes int64 `json:"max_buffer_bytes"`
	// Batches is the inserts the run would make, which is the parts it
	// would create.
	Batches    int               `json:"batches"`
	Partitions []DryRunPartition `json:"partitions"`
	// Cluster, Distributed and ShardingKey describe a cluster target.
	Cluster     string `json:"cluster,omitempty"`
	Distributed string `json:"distributed,omitempty"`
	ShardingKey string `json:"sharding_key,omitempty"`
	// MaxConcurrency is the most inserts the run would have in flight at
	// once, over all nodes.
	MaxConcurrency int `json:"max_concurrency"`
	// Hosts is how each of target.clickhouse.hosts answered, in the order
	// listed: the run reads the server and the table through the first
	// that answers (and on one node writes to it).
	Hosts []DryRunHost `json:"hosts"`
	// Nodes is every node's load now and the inserts it would get.
	Nodes []DryRunNode `json:"nodes"`
	Notes []string     `json:"notes,omitempty"`
}

// DryRunHost is one of target.clickhouse.hosts as the dry run found it.
type DryRunHost struct {
	Addr string `json:"addr"`
	// Answered says the host answered; Error says why it did not.
	Answered bool   `json:"answered"`
	Error    string `json:"error,omitempty"`
	// Used says the run would go through this host: the first that
	// answered.
	Used bool `json:"used"`
}

// DryRunNode is one node's current load as the load monitor sees it.
type DryRunNode struct {
	Addr    string `json:"addr"`
	Shard   int    `json:"shard"`
	Replica int    `json:"replica"`
	// Limit is the concurrent inserts the node would get now (0: paused).
	Limit       int    `json:"limit"`
	Reason      string `json:"reason"`
	Merges      int    `json:"merges"`
	TableMerges int    `json:"table_merges"`
	Queries     int    `json:"queries"`
	Inserts     int    `json:"inserts"`
	MaxParts    int    `json:"max_parts_in_partition"`
	ReadOnly    bool   `json:"read_only"`
	Error       string `json:"error,omitempty"`
}

// DryRunPartition is one partition of a dry run.
type DryRunPartition struct {
	// Shard is the shard_num on a cluster (0 on one node); Replica the
	// node the batches would go to now.
	Shard          int    `json:"shard,omitempty"`
	Replica        string `json:"replica"`
	Partition      string `json:"partition"`
	Rows           int64  `json:"rows"`
	EstimatedBytes int64  `json:"estimated_bytes"`
	// Batches is the inserts (new parts) this partition would get.
	Batches int `json:"batches"`
	// CurrentParts and CurrentRows are what the table holds in the
	// partition now (active parts).
	CurrentParts int64 `json:"current_parts"`
	CurrentRows  int64 `json:"current_rows"`
}

// DryRun reads only the partition key's columns and reports, per
// partition, the rows and batches a run would write. It writes nothing.
func DryRun(ctx context.Context, job *Job, p RunParams) (*DryRunReport, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	p.probeHosts = true
	sess, err := openSession(ctx, job, log.With("job", job.Name), p)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	rep := &DryRunReport{
		Job: job.Name, Table: job.Target.Table, Server: sess.target.Server().Version,
		PartitionKey: sess.table.PartitionKey, SortingKey: sess.table.SortingKey,
		Defaulted: sess.plan.Defaulted, Ignored: sess.plan.Ignored, Splits: len(sess.splits),
		BatchRows: job.Write.BatchRows, MaxBufferBytes: int64(job.Write.MaxBufferBytes),
		MaxConcurrency: sess.target.MaxInFlight(),
	}
	for _, ic := range sess.plan.Inserts {
		rep.Columns = append(rep.Columns, ic.Column.Name)
	}
	var knownRows, knownBytes int64
	for _, sp := range sess.splits {
		if sp.Rows >= 0 && sp.Bytes >= 0 {
			knownRows += sp.Rows
			knownBytes += sp.Bytes
		}
	}
	// The batcher runs as in a real run, over the key columns only, so the
	// batches counted are the batches the run makes (save early flushes by
	// the memory budget, which depend on whole rows).
	keysOnly := sess.plan.PartitionPlan(sess.dest.RowKeys()...)
	batcher := batch.NewBatcher(batch.BatcherParams{BatchRows: int64(job.Write.BatchRows), MaxBufferBytes: 1 << 62, Mem: sess.mem},
		func(b *batch.Batch) error { b.Release(); return nil })
	err = sess.readConverted(ctx, keysOnly, job.Write.Readers, false, nil, func(c converted) error {
		rep.Rows += c.rows
		return batcher.AddPieces(ctx, c.pieces)
	})
	if err != nil {
		return nil, err
	}
	if err := batcher.Close(); err != nil {
		return nil, err
	}
	// What each shard holds now, read from its first replica that answers.
	now, err := sess.target.Inspect(ctx)
	if err != nil {
		return nil, err
	}
	if t := sess.dest.Topology; t != nil {
		rep.Cluster, rep.Distributed, rep.ShardingKey = t.Cluster, sess.dest.Distributed, sess.dest.ShardingKeyText()
	}
	for _, h := range sess.target.Hosts() {
		dh := DryRunHost{Addr: h.Addr, Answered: h.Answered, Used: h.Used}
		if h.Err != nil {
			dh.Error = h.Err.Error()
		}
		rep.Hosts = append(rep.Hosts, dh)
	}
	for _, l := range now.Nodes {
		n := DryRunNode{Addr: l.Addr, Shard: l.Shard, Replica: l.Replica, Limit: l.Limit, Reason: l.Reason,
			Merges: l.Merges, TableMerges: l.TableMerges, Queries: l.Queries, Inserts: l.Inserts, MaxParts: l.MaxParts, ReadOnly: l.ReadOnly}
		if l.Err != nil {
			n.Error = l.Err.Error()
		}
		rep.Nodes = append(rep.Nodes, n)
	}
	perRow := 0.0
	if knownRows > 0 {
		perRow = float64(knownBytes) / float64(knownRows)
	}
	for _, ps := range batcher.Partitions() {
		shard := now.Shards[ps.Shard]
		cur := shard.Partitions[ps.Partition]
		est := int64(perRow * float64(ps.Rows))
		rep.EstimatedBytes += est
		rep.Batches += ps.Batches
		rep.Partitions = append(rep.Partitions, DryRunPartition{
			Shard: shard.Num, Replica: shard.Replica, Partition: ps.Partition, Rows: ps.Rows, EstimatedBytes: est, Batches: ps.Batches,
			CurrentParts: cur.Parts, CurrentRows: cur.Rows,
		})
	}
	sortPartitions(rep.Partitions, func(p DryRunPartition) (int, string) { return p.Shard, p.Partition })
	if rep.EstimatedBytes > BufferBudget(job.Write.MaxBufferBytes) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the rows (about %d bytes) exceed the share of write.max_buffer_bytes (%s) that buffers may take: partitions may be flushed early, making more, smaller batches than shown", rep.EstimatedBytes, job.Write.MaxBufferBytes))
	}
	if knownRows == 0 && rep.Rows > 0 {
		rep.Notes = append(rep.Notes, "the source does not report sizes: estimated bytes are unknown")
	}
	return rep, nil
}
