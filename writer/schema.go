package writer

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer/chcol"
)

// Table is the target table as the server describes it.
type Table struct {
	// Database and Name identify the table.
	Database, Name string
	// Engine is the engine name, e.g. "MergeTree".
	Engine string
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
func (t *Table) QualifiedName() string { return quoteIdent(t.Database) + "." + quoteIdent(t.Name) }

// DescribeTable reads the table's columns, engine and keys from the system
// tables.
func DescribeTable(ctx context.Context, conn driver.Conn, database, name string) (*Table, error) {
	t := &Table{Database: database, Name: name}
	row := conn.QueryRow(ctx, "SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = ? AND name = ?", database, name)
	if err := row.Scan(&t.Engine, &t.PartitionKey, &t.SortingKey); err != nil {
		if isNoRows(err) {
			return nil, &TargetError{Table: database + "." + name, Problem: "table does not exist", Fix: "create it first, or correct target.table"}
		}
		return nil, &ServerError{Op: "describe table " + database + "." + name, Err: err}
	}
	rows, err := conn.Query(ctx, "SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = ? AND table = ?", database, name)
	if err != nil {
		return nil, &ServerError{Op: "read columns of " + database + "." + name, Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Name, &c.TypeName, &c.DefaultKind, &c.DefaultExpr); err != nil {
			return nil, &ServerError{Op: "read columns of " + database + "." + name, Err: err}
		}
		typ, err := chcol.ParseType(c.TypeName)
		if err != nil {
			return nil, &TargetError{Table: database + "." + name, Problem: fmt.Sprintf("column %s has type %s: %v", c.Name, c.TypeName, err), Fix: "this type is not supported yet"}
		}
		c.Type = typ
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, &ServerError{Op: "read columns of " + database + "." + name, Err: err}
	}
	if t.Partition, err = transform.ParseKey(t.PartitionKey); err != nil {
		return nil, &TargetError{Table: database + "." + name, Problem: fmt.Sprintf("partition key %q: %v", t.PartitionKey, err), Fix: "this partition key is not supported yet"}
	}
	if t.Sorting, err = transform.ParseKey(t.SortingKey); err != nil {
		return nil, &TargetError{Table: database + "." + name, Problem: fmt.Sprintf("sorting key %q: %v", t.SortingKey, err), Fix: "this sorting key is not supported yet"}
	}
	return t, nil
}

func quoteIdent(s string) string {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '`')
	for i := 0; i < len(s); i++ {
		if s[i] == '`' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '`'))
}
