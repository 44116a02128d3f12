package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/writer"
	"github.com/chload/chload/writer/chcol"
)

// ClickHouse stores a Nested column n Nested(a T, b U) as the Array columns
// n.a Array(T) and n.b Array(U), whose arrays have equal lengths in every
// row (system.columns lists them so). 18.16 stores an Array(Tuple(T, U))
// column t the same way, as t.1 Array(T) and t.2 Array(U); struct fields
// fill those by position (tupleArrayChildren). A source column n loads into
// them when it is
//
//   - a list of structs (how Spark and Hive write an array of structs): row
//     r of n.a holds field a of each struct of the row's list; or
//   - a struct of lists: row r of n.a is field a's list, and the lists of
//     one row must have equal lengths.
//
// Struct fields are matched to n.<field> columns by name. A NULL list (or
// NULL struct) is a NULL for every child column, which its Array converter
// refuses like any other, or under source.null_as_default stores as an
// empty array. Children the source lacks are left to the server, which
// fills them with default arrays of their siblings' lengths.

// nestedShape says how a source column holds the children of a Nested
// column.
type nestedShape int

const (
	listOfStructs nestedShape = iota + 1
	structOfLists
)

// nestedPart is how an InsertColumn takes its values out of the source
// column of a Nested column: the struct's field number field.
type nestedPart struct {
	shape nestedShape
	field int
}

// nestedSource describes source column f as the parent of Nested columns,
// or returns false when f has no such shape or the table has no f.<name>
// column.
func nestedSource(table *writer.Table, f arrow.Field) (nestedShape, *arrow.StructType, bool) {
	prefix := f.Name + "."
	has := false
	for _, c := range table.Columns {
		if strings.HasPrefix(c.Name, prefix) && c.Type.Base == "Array" {
			has = true
			break
		}
	}
	if !has {
		return 0, nil, false
	}
	switch t := f.Type.(type) {
	case *arrow.ListType:
		if st, ok := t.Elem().(*arrow.StructType); ok {
			return listOfStructs, st, true
		}
	case *arrow.LargeListType:
		if st, ok := t.Elem().(*arrow.StructType); ok {
			return listOfStructs, st, true
		}
	case *arrow.StructType:
		return structOfLists, t, true
	}
	return 0, nil, false
}

// childType is the Arrow type of the array a nestedPart makes from a
// source column of type src.
func (np *nestedPart) childType(src arrow.DataType) arrow.DataType {
	switch t := src.(type) {
	case *arrow.ListType:
		f := t.Elem().(*arrow.StructType).Field(np.field)
		return arrow.ListOfField(arrow.Field{Name: f.Name, Type: f.Type, Nullable: true})
	case *arrow.LargeListType:
		f := t.Elem().(*arrow.StructType).Field(np.field)
		return arrow.LargeListOfField(arrow.Field{Name: f.Name, Type: f.Type, Nullable: true})
	}
	return src.(*arrow.StructType).Field(np.field).Type
}

// extract returns the child column's source array out of the source column
// a: for a list of structs, a list of field values with the list's offsets;
// for a struct of lists, the field's lists. A NULL struct makes its field
// NULL. The caller releases the result.
func (np *nestedPart) extract(a arrow.Array, mem memory.Allocator) arrow.Array {
	if np.shape == structOfLists {
		st := a.(*array.Struct)
		return chcol.MaskNulls(st.Field(np.field), st, mem)
	}
	list := a.(array.ListLike)
	values := list.ListValues().(*array.Struct)
	field := chcol.MaskNulls(values.Field(np.field), values, mem)
	defer field.Release()
	d := a.Data()
	out := array.NewData(np.childType(a.DataType()), d.Len(), d.Buffers()[:2], []arrow.ArrayData{field.Data()}, d.NullN(), d.Offset())
	defer out.Release()
	return array.MakeFromData(out)
}

// checkNestedLengths refuses the first row where the children of one Nested
// column taken from a struct of lists have arrays of different lengths.
// cols are the converted columns, in the order of p.Inserts.
func (p *Plan) checkNestedLengths(cols []arrow.Array) error {
	first := map[int]int{} // source index -> first converted column fed by it
	for i, ic := range p.Inserts[:len(cols)] {
		if ic.nested == nil || ic.nested.shape != structOfLists {
			continue
		}
		j, ok := first[ic.srcIdx]
		if !ok {
			first[ic.srcIdx] = i
			continue
		}
		ref, cur := cols[j].(array.ListLike), cols[i].(array.ListLike)
		for r := 0; r < cur.Len(); r++ {
			want, got := listLen(ref, r), listLen(cur, r)
			if want == got {
				continue
			}
			shown := cols[i].ValueStr(r)
			if len(shown) > 128 {
				shown = shown[:128] + "..."
			}
			return &ColumnValueError{Column: ic.Column.Name, Err: &chcol.ValueError{
				Row:    r,
				Value:  shown,
				Reason: fmt.Sprintf("has %d elements where column %s has %d in the same row; the arrays of one row of Nested column %s must have equal lengths", got, p.Inserts[j].Column.Name, want, ic.Source),
				Fix:    fmt.Sprintf("make the lists of struct column %s equally long in every row", ic.Source),
			}}
		}
	}
	return nil
}

// listLen is the number of elements of row r; 0 for a NULL row.
func listLen(l array.ListLike, r int) int64 {
	if l.IsNull(r) {
		return 0
	}
	s, e := l.ValueOffsets(r)
	return e - s
}

// planNested maps source column f onto the Nested children of table named
// f.<field>; the caller has checked nestedSource. It returns the insert
// columns, the names ignored and the problems found.
func planNested(table *writer.Table, server writer.ServerInfo, f arrow.Field, shape nestedShape, st *arrow.StructType, ignoreExtra bool, srcIdx int) ([]InsertColumn, []string, []string) {
	var inserts []InsertColumn
	var ignored, problems []string
	what := "struct column"
	if shape == listOfStructs {
		what = "list of structs"
	}
	byPosition := tupleArrayChildren(table, f.Name, st)
	for i, sf := range st.Fields() {
		name := f.Name + "." + sf.Name
		if byPosition {
			name = fmt.Sprintf("%s.%d", f.Name, i+1)
		}
		col, ok := table.Column(name)
		switch {
		case !ok && ignoreExtra:
			ignored = append(ignored, name)
			continue
		case !ok:
			problems = append(problems, fmt.Sprintf("field %s of source %s %s is not in the table as column %s (add it to the Nested column, or set source.ignore_extra_columns: true)", sf.Name, what, f.Name, name))
			continue
		case !col.Insertable() && ignoreExtra:
			ignored = append(ignored, name)
			continue
		case !col.Insertable():
			problems = append(problems, fmt.Sprintf("column %s is %s: the server computes it (drop field %s from source column %s, or set source.ignore_extra_columns: true)", name, col.DefaultKind, sf.Name, f.Name))
			continue
		}
		np := &nestedPart{shape: shape, field: i}
		conv, err := chcol.NewConverter(col.Type, server.Timezone, np.childType(f.Type))
		if err != nil {
			problems = append(problems, fmt.Sprintf("column %s from field %s of source %s %s: %v", name, sf.Name, what, f.Name, err))
			continue
		}
		inserts = append(inserts, InsertColumn{Column: col, Source: f.Name, conv: conv, srcIdx: srcIdx, nested: np})
	}
	return inserts, ignored, problems
}

// tupleArrayChildren reports whether the table's children of parent are
// those of an Array(Tuple(...)) column as 18.16 stores it, parent.1 ..
// parent.k for the k fields of st, none of which is named 1 .. k: then field
// i fills parent.<i+1>.
func tupleArrayChildren(table *writer.Table, parent string, st *arrow.StructType) bool {
	prefix := parent + "."
	k := 0
	for _, c := range table.Columns {
		if strings.HasPrefix(c.Name, prefix) {
			k++
			if _, err := strconv.Atoi(c.Name[len(prefix):]); err != nil {
				return false
			}
		}
	}
	if k != st.NumFields() {
		return false
	}
	for i := 1; i <= k; i++ {
		if _, ok := table.Column(fmt.Sprintf("%s%d", prefix, i)); !ok {
			return false
		}
		if _, ok := st.FieldIdx(strconv.Itoa(i)); ok {
			return false
		}
	}
	return true
}
