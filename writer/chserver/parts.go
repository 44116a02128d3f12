package chserver

import (
	"context"

	"github.com/chload/chload/writer"
)

// Partitions reads the active parts of t per partition, keyed by the
// partition value as system.parts prints it.
func (n *Node) Partitions(ctx context.Context, t *writer.Table) (map[string]writer.PartitionState, error) {
	rows, err := n.conn.Query(ctx, "SELECT partition, count(), sum(rows) FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY partition", t.Database, t.Name)
	if err != nil {
		return nil, serverError("read parts of "+t.Database+"."+t.Name, err)
	}
	defer rows.Close()
	out := map[string]writer.PartitionState{}
	for rows.Next() {
		var p string
		var parts, n uint64
		if err := rows.Scan(&p, &parts, &n); err != nil {
			return nil, serverError("read parts of "+t.Database+"."+t.Name, err)
		}
		out[p] = writer.PartitionState{Parts: int64(parts), Rows: int64(n)}
	}
	if err := rows.Err(); err != nil {
		return nil, serverError("read parts of "+t.Database+"."+t.Name, err)
	}
	return out, nil
}
