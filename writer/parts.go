package writer

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// PartitionState is what a table holds in one partition.
type PartitionState struct {
	// Parts and Rows count the active parts and their rows.
	Parts, Rows int64
}

// CurrentPartitions reads the active parts of t per partition, keyed by
// the partition value as system.parts prints it.
func CurrentPartitions(ctx context.Context, conn driver.Conn, t *Table) (map[string]PartitionState, error) {
	rows, err := conn.Query(ctx, "SELECT partition, count(), sum(rows) FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY partition", t.Database, t.Name)
	if err != nil {
		return nil, &ServerError{Op: "read parts of " + t.Database + "." + t.Name, Err: err}
	}
	defer rows.Close()
	out := map[string]PartitionState{}
	for rows.Next() {
		var p string
		var parts, n uint64
		if err := rows.Scan(&p, &parts, &n); err != nil {
			return nil, &ServerError{Op: "read parts of " + t.Database + "." + t.Name, Err: err}
		}
		out[p] = PartitionState{Parts: int64(parts), Rows: int64(n)}
	}
	if err := rows.Err(); err != nil {
		return nil, &ServerError{Op: "read parts of " + t.Database + "." + t.Name, Err: err}
	}
	return out, nil
}
