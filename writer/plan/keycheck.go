package plan

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/batch"
)

// keyFix is the advice for a key chload cannot compute.
const keyFix = "chload computes keys over columns with the functions the README lists under \"Key functions\"; change the table's key, or load into a table whose key chload can compute"

// checkKeys refuses, before any data is read, a partition, sorting or
// sharding key that chload cannot compute as the server does: one that
// calls rand() (only a sharding key of rand() alone is computed, by picking
// shards itself), one whose functions do not take its columns' types, or one
// whose value chload cannot group rows by (partition) or sort rows by
// (sorting) or route rows by (sharding: an integer). The error is a
// TargetError naming the key and saying why.
func checkKeys(table *writer.Table, schema *arrow.Schema, sharding []*transform.Expr) error {
	var problems []string
	check := func(what, whole string, e *transform.Expr, fits func(arrow.DataType) error) {
		rt, err := e.Check(schema)
		if err == nil {
			err = fits(rt)
		}
		if err == nil {
			return
		}
		name := what + " " + whole
		if s := e.String(); s != whole {
			name += " (its element " + s + ")"
		}
		if c, bare := e.Column(); bare {
			if col, ok := table.Column(c); ok {
				err = fmt.Errorf("column %s is %s, and %w", c, col.TypeName, err)
			}
		}
		problems = append(problems, fmt.Sprintf("%s: %v", name, err))
	}
	for _, e := range table.Partition {
		check("partition key", table.PartitionKey, e, batch.PartitionKeyType)
	}
	for _, e := range table.Sorting {
		check("sorting key", table.SortingKey, e, batch.SortingKeyType)
	}
	for _, e := range sharding {
		check("sharding key", e.String(), e, shardingKeyType)
	}
	if len(problems) == 0 {
		return nil
	}
	return &writer.TargetError{Table: table.Database + "." + table.Name, Problem: "chload cannot compute " + strings.Join(problems, "; "), Fix: keyFix}
}

// shardingKeyType accepts the integer types ClickHouse takes as a sharding
// key (see transform.ShardKeyUint64).
func shardingKeyType(dt arrow.DataType) error {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return nil
	}
	return fmt.Errorf("its value is %s, and ClickHouse requires an integer sharding key", dt)
}
