package parquet

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// reshape turns an array as pqarrow reads it into the type the source
// promises for it (want), where the two differ beyond dictionaries (see
// normalizeManifest): INT96 leaves come as int96Raw and become Timestamps
// (int96.go), and the one-field struct around the elements of a legacy
// two-level list (lists.go) is taken off. Everything else is shared, not
// copied. rowOf maps an index of a to its row in the split, for messages.
// The caller releases the result.
func reshape(a arrow.Array, want arrow.DataType, mem memory.Allocator, rowOf func(int) int64) (arrow.Array, error) {
	if arrow.TypeEqual(a.DataType(), want) {
		a.Retain()
		return a, nil
	}
	if _, ok := a.DataType().(*int96Raw); ok {
		ts, ok := want.(*arrow.TimestampType)
		if !ok {
			return nil, fmt.Errorf("read INT96 values as %s: not a timestamp type", want)
		}
		return decodeInt96(a, ts, mem, rowOf)
	}
	switch a := a.(type) {
	case array.ListLike:
		wantElem, ok := elemType(want)
		if !ok || want.ID() != a.DataType().ID() {
			break
		}
		child, err := listChild(a, wantElem, mem, rowOf)
		if err != nil {
			return nil, err
		}
		defer child.Release()
		d := a.Data()
		out := array.NewData(want, d.Len(), d.Buffers(), []arrow.ArrayData{child.Data()}, d.NullN(), d.Offset())
		defer out.Release()
		return array.MakeFromData(out), nil
	case *array.Struct:
		st, ok := want.(*arrow.StructType)
		if !ok || st.NumFields() != a.NumField() {
			break
		}
		d := a.Data()
		// The children are reshaped whole and keep the struct's offset.
		childRow := func(j int) int64 { return rowOf(j - d.Offset()) }
		children := make([]arrow.ArrayData, a.NumField())
		for i := range children {
			raw := array.MakeFromData(d.Children()[i])
			c, err := reshape(raw, st.Field(i).Type, mem, childRow)
			raw.Release()
			if err != nil {
				releaseData(children)
				return nil, err
			}
			children[i] = c.Data()
			children[i].Retain()
			c.Release()
		}
		out := array.NewData(want, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
		releaseData(children)
		defer out.Release()
		return array.MakeFromData(out), nil
	}
	return nil, fmt.Errorf("read %s values as %s: the reader does not know how", a.DataType(), want)
}

// listChild reshapes the values of list a to wantElem; rowOf for them maps
// each value to the row of the list holding it. A one-field struct of
// required elements becomes that field when wantElem is not a struct.
func listChild(a array.ListLike, wantElem arrow.DataType, mem memory.Allocator, rowOf func(int) int64) (arrow.Array, error) {
	values := array.MakeFromData(a.Data().Children()[0])
	defer values.Release()
	childRow := func(j int) int64 {
		for k := 0; k < a.Len(); k++ {
			if start, end := a.ValueOffsets(k); int64(j) >= start && int64(j) < end {
				return rowOf(k)
			}
		}
		return rowOf(0)
	}
	if st, ok := values.(*array.Struct); ok && st.NumField() == 1 && wantElem.ID() != arrow.STRUCT {
		if st.NullN() > 0 {
			return nil, fmt.Errorf("read list elements as %s: the list holds NULL elements where the file's schema allows none", wantElem)
		}
		return reshape(st.Field(0), wantElem, mem, childRow)
	}
	return reshape(values, wantElem, mem, childRow)
}

// elemType is the element type of a list-like type.
func elemType(t arrow.DataType) (arrow.DataType, bool) {
	switch t := t.(type) {
	case arrow.ListLikeType:
		return t.Elem(), true
	}
	return nil, false
}

func releaseData(ds []arrow.ArrayData) {
	for _, d := range ds {
		if d != nil {
			d.Release()
		}
	}
}
