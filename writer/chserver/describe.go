package chserver

import (
	"context"

	"github.com/chload/chload/writer"
)

// Describe reads the table's columns, engine and keys from the system
// tables.
func (n *Node) Describe(ctx context.Context, database, name string) (writer.TableDesc, error) {
	conn := n.conn
	t := writer.TableDesc{Database: database, Name: name}
	row := conn.QueryRow(ctx, "SELECT engine, engine_full, partition_key, sorting_key FROM system.tables WHERE database = ? AND name = ?", database, name)
	if err := row.Scan(&t.Engine, &t.EngineFull, &t.PartitionKey, &t.SortingKey); err != nil {
		if isNoRows(err) {
			return t, &writer.TargetError{Table: database + "." + name, Problem: "table does not exist", Fix: "create it first, or correct target.table"}
		}
		return t, serverError("describe table "+database+"."+name, err)
	}
	rows, err := conn.Query(ctx, "SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = ? AND table = ?", database, name)
	if err != nil {
		return t, serverError("read columns of "+database+"."+name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c writer.Column
		if err := rows.Scan(&c.Name, &c.TypeName, &c.DefaultKind, &c.DefaultExpr); err != nil {
			return t, serverError("read columns of "+database+"."+name, err)
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return t, serverError("read columns of "+database+"."+name, err)
	}
	return t, nil
}
