// Package plan maps a source's columns onto the target table: which source
// columns are read, how each converts to the ClickHouse type of its column
// (writer/chcol), which columns the server fills with their DEFAULT, and
// which key columns chload computes. It needs no server: the table comes
// from the door (writer.Target).
package plan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform"
	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chcol"
)

// Plan maps source columns onto the target table: which source columns are
// read, how each converts to its target type, which target columns the
// server fills with their DEFAULT, and which key columns chload computes from
// their DEFAULT expression because a key needs them.
type Plan struct {
	// Table is the target.
	Table *writer.Table
	// Server is the target server's version and capabilities.
	Server writer.ServerInfo
	// Inserts are the columns every INSERT names, in order: first the
	// source columns, then the computed ones. Schema is their canonical
	// Arrow schema.
	Inserts []InsertColumn
	Schema  *arrow.Schema
	// Defaulted are target columns the source lacks; the server fills them.
	Defaulted []string
	// Ignored are source columns the target lacks, skipped because the job
	// allows it.
	Ignored []string

	sourceCols []string       // source column names read, in order
	insert     *writer.Insert // what every INSERT names (Insert)
}

// Insert is what every INSERT of the plan names, for the door
// (writer.Target.Write): the same value for the plan's lifetime.
func (p *Plan) Insert() *writer.Insert {
	return p.insert
}

// newInsert sets p.insert from p.Inserts; called once Inserts are final.
func (p *Plan) newInsert() {
	ins := &writer.Insert{Table: p.Table, Sorting: p.Table.Sorting}
	for _, ic := range p.Inserts {
		ins.Columns = append(ins.Columns, ic.Column)
	}
	p.insert = ins
}

// InsertColumn is one column of the INSERT.
type InsertColumn struct {
	// Column is the target column.
	Column writer.Column
	// Source is the source column it comes from; empty for a computed one.
	Source string
	// Computed is the DEFAULT expression chload evaluates for a key column
	// the source lacks; nil for source columns.
	Computed *transform.Expr

	conv   *chcol.Converter
	srcIdx int // index in the record Convert receives
	// keepDict: a dictionary of strings from the source stays a dictionary
	// (see Plan.DictionaryColumns).
	keepDict bool
	// dictConv converts such a dictionary (int32 indices into strings)
	// when it cannot pass as it is.
	dictConv *chcol.Converter
	// nested takes the column's values out of its source column, the
	// parent of a Nested column (see plan_nested.go); nil for the others.
	nested *nestedPart
}

// New matches the source schema to the table by column name; a source
// column n that is a list of structs or a struct of lists fills the table's
// Nested columns n.<field> (see plan_nested.go). extraKeys
// are further expressions chload evaluates on every row (the sharding key):
// their columns are treated like the partition and sorting keys'. All
// problems are reported at once in one *TargetError.
func New(table *writer.Table, server writer.ServerInfo, src *arrow.Schema, ignoreExtra bool, extraKeys ...*transform.Expr) (*Plan, error) {
	p := &Plan{Table: table, Server: server}
	var problems []string
	fromSource := map[string]bool{}
	for _, f := range src.Fields() {
		col, ok := table.Column(f.Name)
		if !ok {
			if shape, st, isNested := nestedSource(table, f); isNested {
				inserts, ignored, probs := planNested(table, server, f, shape, st, ignoreExtra, len(p.sourceCols))
				p.Ignored = append(p.Ignored, ignored...)
				problems = append(problems, probs...)
				for _, ic := range inserts {
					fromSource[ic.Column.Name] = true
				}
				p.Inserts = append(p.Inserts, inserts...)
				if len(inserts) > 0 {
					p.sourceCols = append(p.sourceCols, f.Name)
				}
				continue
			}
		}
		switch {
		case !ok && ignoreExtra:
			p.Ignored = append(p.Ignored, f.Name)
			continue
		case !ok:
			problems = append(problems, fmt.Sprintf("source column %s is not in the table (add it to the table, or set source.ignore_extra_columns: true)", f.Name))
			continue
		case !col.Insertable() && ignoreExtra:
			p.Ignored = append(p.Ignored, f.Name)
			continue
		case !col.Insertable():
			problems = append(problems, fmt.Sprintf("column %s is %s: the server computes it (drop it from the source, or set source.ignore_extra_columns: true)", f.Name, col.DefaultKind))
			continue
		}
		conv, err := chcol.NewConverter(col.Type, server.Timezone, f.Type)
		if err != nil {
			problems = append(problems, fmt.Sprintf("column %s: %v", f.Name, err))
			continue
		}
		fromSource[f.Name] = true
		p.Inserts = append(p.Inserts, InsertColumn{Column: col, Source: f.Name, conv: conv, srcIdx: len(p.sourceCols)})
		p.sourceCols = append(p.sourceCols, f.Name)
	}
	// A column filled twice: a flat source column n.a beside the struct n
	// that holds a field a for the Nested column n.
	seen := map[string]bool{}
	for _, ic := range p.Inserts {
		if seen[ic.Column.Name] {
			problems = append(problems, fmt.Sprintf("column %s comes from two source columns (drop one of them from the source)", ic.Column.Name))
		}
		seen[ic.Column.Name] = true
	}
	// Key columns the source lacks: computed from their DEFAULT when chload
	// can evaluate it, otherwise an error.
	keys := append(append(append([]*transform.Expr{}, table.Partition...), table.Sorting...), extraKeys...)
	needed := keyColumns(keys)
	for _, name := range needed {
		if col, ok := table.Column(name); ok && hasTuple(col.Type) {
			problems = append(problems, fmt.Sprintf("key column %s is %s: chload does not compute partition, sorting or sharding keys over Tuple columns yet (load into a table whose keys read no Tuple column)", name, col.Type))
		}
	}
	for _, name := range needed {
		if fromSource[name] {
			continue
		}
		col, ok := table.Column(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("key column %s is not a column of the table", name))
			continue
		}
		if col.DefaultKind == "" || col.DefaultExpr == "" {
			problems = append(problems, fmt.Sprintf("key column %s is not in the source and has no DEFAULT (add it to the source)", name))
			continue
		}
		expr, err := transform.Parse(col.DefaultExpr)
		if err == nil {
			for _, c := range expr.Columns() {
				if !fromSource[c] {
					err = fmt.Errorf("it needs column %s, which the source lacks", c)
				}
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("key column %s is not in the source and chload cannot evaluate its %s %s: %v (add it to the source)", name, col.DefaultKind, col.DefaultExpr, err))
			continue
		}
		p.Inserts = append(p.Inserts, InsertColumn{Column: col, Computed: expr, srcIdx: -1})
		fromSource[name] = true
	}
	for _, c := range table.Columns {
		if c.Insertable() && !fromSource[c.Name] {
			p.Defaulted = append(p.Defaulted, c.Name)
		}
	}
	if len(p.Inserts) == 0 && len(problems) == 0 {
		problems = append(problems, "no source column matches a table column (columns are matched by name)")
	}
	if len(problems) > 0 {
		return nil, &writer.TargetError{Table: table.Database + "." + table.Name, Problem: "source does not fit: " + strings.Join(problems, "; ")}
	}
	fields := make([]arrow.Field, len(p.Inserts))
	for i, ic := range p.Inserts {
		dt, err := ic.Column.Type.Arrow(server.Timezone)
		if err != nil {
			return nil, &writer.TargetError{Table: table.Database + "." + table.Name, Problem: fmt.Sprintf("column %s: %v", ic.Column.Name, err)}
		}
		// The ClickHouse type rides along: functions that hash values need
		// to know a Date32 from a Date, which share a canonical type.
		inner := *ic.Column.Type
		inner.Nullable, inner.LowCardinality = false, false
		md := arrow.NewMetadata([]string{transform.ClickHouseTypeKey}, []string{inner.String()})
		fields[i] = arrow.Field{Name: ic.Column.Name, Type: dt, Nullable: true, Metadata: md}
	}
	p.Schema = arrow.NewSchema(fields, nil)
	// Computed columns need a converter from the expression's result type.
	for i := range p.Inserts {
		ic := &p.Inserts[i]
		if ic.Computed == nil {
			continue
		}
		rt, err := ic.Computed.ResultType(p.Schema)
		if err == nil {
			ic.conv, err = chcol.NewConverter(ic.Column.Type, server.Timezone, rt)
		}
		if err != nil {
			return nil, &writer.TargetError{Table: table.Database + "." + table.Name, Problem: fmt.Sprintf("key column %s from %s: %v", ic.Column.Name, ic.Computed, err)}
		}
	}
	// Keys must evaluate on the canonical schema, before any data is read.
	if err := checkKeys(table, p.Schema, extraKeys); err != nil {
		return nil, err
	}
	// String columns that no key or computed column reads may stay
	// dictionaries: nothing but the inserts looks at their values. The
	// sorting key may read them as bare columns, which the sort ranks
	// through the dictionary.
	read := map[string]bool{}
	for _, name := range keyColumns(append(append([]*transform.Expr{}, table.Partition...), extraKeys...)) {
		read[name] = true
	}
	for _, e := range table.Sorting {
		if _, bare := e.Column(); !bare {
			for _, c := range e.Columns() {
				read[c] = true
			}
		}
	}
	for _, ic := range p.Inserts {
		if ic.Computed != nil {
			for _, c := range ic.Computed.Columns() {
				read[c] = true
			}
		}
	}
	for i := range p.Inserts {
		ic := &p.Inserts[i]
		t := ic.Column.Type
		ic.keepDict = ic.Computed == nil && !read[ic.Column.Name] && t.Base == "String" &&
			arrow.TypeEqual(src.Field(src.FieldIndices(ic.Source)[0]).Type, arrow.BinaryTypes.String)
		if ic.keepDict {
			dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
			var err error
			if ic.dictConv, err = chcol.NewConverter(t, server.Timezone, dt); err != nil {
				return nil, &writer.TargetError{Table: table.Database + "." + table.Name, Problem: fmt.Sprintf("column %s: %v", ic.Column.Name, err)}
			}
		}
	}
	p.newInsert()
	return p, nil
}

// DictionaryColumns lists the source columns that Convert passes through
// as they are when they come as dictionaries of strings (int32 indices):
// String columns that no key reads, except as a bare column of the sorting
// key. Encoding such a column costs one copy
// of each value, at insert, instead of three. A source may deliver these
// columns as dictionaries.
func (p *Plan) DictionaryColumns() []string {
	var out []string
	for _, ic := range p.Inserts {
		if ic.keepDict {
			out = append(out, ic.Source)
		}
	}
	return out
}

// passDictionary reports whether Convert keeps a as it is for ic: a
// dictionary of strings with int32 indices and no NULL in the dictionary
// itself, holding no NULL row unless the column is Nullable.
func (ic *InsertColumn) passDictionary(a arrow.Array) bool {
	if !ic.keepDict {
		return false
	}
	d, ok := a.(*array.Dictionary)
	return ok && chcol.IsDictString(d) && (ic.Column.Type.Nullable || d.NullN() == 0)
}

// schemaFor returns the schema of a converted record with columns cols:
// Schema, with the dictionary type of any column passed through as one.
func (p *Plan) schemaFor(cols []arrow.Array) *arrow.Schema {
	var fields []arrow.Field
	for i, c := range cols {
		if c.DataType().ID() != arrow.DICTIONARY {
			continue
		}
		if fields == nil {
			fields = slices.Clone(p.Schema.Fields())
		}
		fields[i].Type = c.DataType()
	}
	if fields == nil {
		return p.Schema
	}
	return arrow.NewSchema(fields, nil)
}

// hasTuple reports whether t is or holds a Tuple.
func hasTuple(t *chcol.Type) bool {
	switch {
	case t == nil:
		return false
	case t.Base == "Tuple":
		return true
	case t.Base == "Array":
		return hasTuple(t.Elem)
	case t.Base == "Map":
		return hasTuple(t.Key) || hasTuple(t.Value)
	}
	return false
}

// keyColumns lists the columns the key expressions read.
func keyColumns(keys []*transform.Expr) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range keys {
		for _, c := range e.Columns() {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

// SourceColumns are the top-level source columns to read, in the order
// Convert expects them. A source column that fills the children of a Nested
// column (n for n.a, n.b, ...) is listed once.
func (p *Plan) SourceColumns() []string { return p.sourceCols }

// PartitionPlan returns a plan restricted to what the partition key (and
// the extra expressions, such as the sharding key) need, for a dry run that
// reads only those columns.
func (p *Plan) PartitionPlan(extra ...*transform.Expr) *Plan {
	need := map[string]bool{}
	for _, e := range append(append([]*transform.Expr{}, p.Table.Partition...), extra...) {
		for _, c := range e.Columns() {
			need[c] = true
		}
	}
	// Computed key columns need their inputs too.
	for _, ic := range p.Inserts {
		if ic.Computed != nil && need[ic.Column.Name] {
			for _, c := range ic.Computed.Columns() {
				need[c] = true
			}
		}
	}
	// Without a key that reads a source column (no PARTITION BY, or a
	// constant one), one column is still read, to count the rows.
	readsSource := false
	for _, ic := range p.Inserts {
		readsSource = readsSource || (ic.Computed == nil && need[ic.Column.Name])
	}
	if !readsSource {
		for _, ic := range p.Inserts {
			if ic.Computed == nil {
				need[ic.Column.Name] = true
				break
			}
		}
	}
	q := &Plan{Table: p.Table, Server: p.Server}
	var fields []arrow.Field
	read := map[string]int{} // source column -> its index in q.sourceCols
	for _, ic := range p.Inserts {
		if !need[ic.Column.Name] {
			continue
		}
		if ic.Computed == nil {
			// The children of a Nested column share their source column.
			j, ok := read[ic.Source]
			if !ok {
				j = len(q.sourceCols)
				read[ic.Source] = j
				q.sourceCols = append(q.sourceCols, ic.Source)
			}
			ic.srcIdx = j
		}
		q.Inserts = append(q.Inserts, ic)
		fields = append(fields, p.Schema.Field(p.Schema.FieldIndices(ic.Column.Name)[0]))
	}
	q.Schema = arrow.NewSchema(fields, nil)
	q.newInsert()
	return q
}

// ColumnValueError is a source value that cannot be stored in its target
// column. Row counts from 0 within the record Convert was given.
type ColumnValueError struct {
	// Column is the target column.
	Column string
	// Err says what is wrong with the value and how to fix it.
	Err *chcol.ValueError
}

func (e *ColumnValueError) Error() string { return fmt.Sprintf("column %s: %v", e.Column, e.Err) }
func (e *ColumnValueError) Unwrap() error { return e.Err }

// Convert turns a source record (columns in SourceColumns order) into a
// canonical record of Schema, computing key columns the source lacks. The
// caller releases the result. A value that does not fit its column is a
// *ColumnValueError.
func (p *Plan) Convert(rec arrow.Record, mem memory.Allocator) (arrow.Record, error) {
	n := rec.NumRows()
	cols := make([]arrow.Array, 0, len(p.Inserts))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for _, ic := range p.Inserts {
		if ic.Computed != nil {
			continue
		}
		in := rec.Column(ic.srcIdx)
		if ic.nested != nil {
			part := ic.nested.extract(in, mem)
			out, err := ic.conv.Convert(part, mem)
			part.Release()
			if err != nil {
				release()
				return nil, valueError(ic.Column.Name, err)
			}
			cols = append(cols, out)
			continue
		}
		if ic.passDictionary(in) {
			in.Retain()
			cols = append(cols, in)
			continue
		}
		conv := ic.conv
		if ic.keepDict && in.DataType().ID() == arrow.DICTIONARY {
			// A dictionary that cannot pass (NULLs for a non-Nullable
			// column): decoded and converted, which reports the NULL.
			var err error
			if ic.dictConv != nil && arrow.TypeEqual(ic.dictConv.SourceType(), in.DataType()) {
				conv = ic.dictConv
			} else if conv, err = chcol.NewConverter(ic.Column.Type, p.Server.Timezone, in.DataType()); err != nil {
				release()
				return nil, fmt.Errorf("convert column %s: %w", ic.Column.Name, err)
			}
		}
		out, err := conv.Convert(in, mem)
		if err != nil {
			release()
			return nil, valueError(ic.Column.Name, err)
		}
		cols = append(cols, out)
	}
	if err := p.checkNestedLengths(cols); err != nil {
		release()
		return nil, err
	}
	if len(cols) == len(p.Inserts) {
		out := array.NewRecord(p.schemaFor(cols), cols, n)
		release()
		return out, nil
	}
	// Computed columns: evaluate on the converted source columns.
	srcFields := p.schemaFor(cols).Fields()[:len(cols)]
	base := array.NewRecord(arrow.NewSchema(srcFields, nil), cols, n)
	defer base.Release()
	for _, ic := range p.Inserts[len(cols):] {
		v, err := ic.Computed.Eval(base, mem)
		if err != nil {
			release()
			return nil, fmt.Errorf("compute column %s from %s: %w", ic.Column.Name, ic.Computed, err)
		}
		out, err := ic.conv.Convert(v, mem)
		v.Release()
		if err != nil {
			release()
			return nil, valueError(ic.Column.Name, err)
		}
		cols = append(cols, out)
	}
	rec2 := array.NewRecord(p.schemaFor(cols), cols, n)
	release()
	return rec2, nil
}

func valueError(col string, err error) error {
	var ve *chcol.ValueError
	if errors.As(err, &ve) {
		return &ColumnValueError{Column: col, Err: ve}
	}
	return fmt.Errorf("convert column %s: %w", col, err)
}
