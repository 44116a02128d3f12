package writer

import (
	"fmt"

	"github.com/chload/chload/internal/sqlquote"
	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer/chcol"
)

// Table is the target table as the server describes it.
type Table struct {
	// Database and Name identify the table.
	Database, Name string
	// Engine is the engine name, e.g. "MergeTree"; EngineFull the whole
	// engine clause as system.tables prints it.
	Engine, EngineFull string
	// Columns are the table's columns in their declared order.
	Columns []Column
	// PartitionKey and SortingKey are the key expressions' text; empty when
	// the table has none.
	PartitionKey, SortingKey string
	// Partition and Sorting are the parsed key expressions (tuple elements).
	Partition, Sorting []*transform.Expr
}

// Column is one column of the target table.
type Column struct {
	// Name is the column's name.
	Name string
	// TypeName is the type as the server prints it; Type is it parsed.
	TypeName string
	Type     *chcol.Type
	// DefaultKind is "", DEFAULT, MATERIALIZED or ALIAS; DefaultExpr its
	// expression.
	DefaultKind, DefaultExpr string
}

// Insertable reports whether an INSERT may name the column.
func (c Column) Insertable() bool {
	return c.DefaultKind != "MATERIALIZED" && c.DefaultKind != "ALIAS"
}

// Column returns the named column, or false.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// QualifiedName is database.table, quoted for SQL.
func (t *Table) QualifiedName() string {
	return sqlquote.Backquote(t.Database) + "." + sqlquote.Backquote(t.Name)
}

// TableDesc is a table as the server's system tables describe it, before
// chload parses its types and keys.
type TableDesc struct {
	// Database and Name identify the table.
	Database, Name string
	// Engine is the engine's name; EngineFull the whole engine clause
	// (system.tables.engine_full), which names a Distributed table's
	// cluster, local table and sharding key.
	Engine, EngineFull string
	// PartitionKey and SortingKey are the keys' text; empty when absent.
	PartitionKey, SortingKey string
	// Columns are the table's columns in declared order: name, type as the
	// server prints it, default kind and expression. Type is left nil.
	Columns []Column
}

// NewTable parses a described table's column types and key expressions.
// A type or key chload cannot handle is a *TargetError naming it.
func NewTable(d TableDesc) (*Table, error) {
	t := &Table{Database: d.Database, Name: d.Name, Engine: d.Engine, EngineFull: d.EngineFull, PartitionKey: d.PartitionKey, SortingKey: d.SortingKey}
	name := d.Database + "." + d.Name
	for _, c := range d.Columns {
		typ, err := chcol.ParseType(c.TypeName)
		if err != nil {
			return nil, &TargetError{Table: name, Problem: fmt.Sprintf("column %s has type %s: %v", c.Name, c.TypeName, err), Fix: "this type is not supported yet"}
		}
		c.Type = typ
		t.Columns = append(t.Columns, c)
	}
	var err error
	if t.Partition, err = transform.ParseKey(t.PartitionKey); err != nil {
		return nil, &TargetError{Table: name, Problem: fmt.Sprintf("partition key %q: %v", t.PartitionKey, err), Fix: "this partition key is not supported yet"}
	}
	if t.Sorting, err = transform.ParseKey(t.SortingKey); err != nil {
		return nil, &TargetError{Table: name, Problem: fmt.Sprintf("sorting key %q: %v", t.SortingKey, err), Fix: "this sorting key is not supported yet"}
	}
	return t, nil
}
