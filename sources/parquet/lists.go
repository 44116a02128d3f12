package parquet

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Legacy two-level lists. Before the Parquet format settled on three levels
// (LIST group, repeated group "list", element), writers used two:
//
//	repeated int32 xs;                            // no LIST annotation
//	optional group xs (LIST) { repeated int32 array; }     // parquet-avro
//	optional group xs (LIST) { repeated group array { optional int32 item; } }
//	optional group xs (LIST) { repeated group xs_tuple { required binary s; } } // parquet-thrift
//	optional group xs (LIST) { repeated group bag { optional int32 array_element; } } // Hive
//
// pqarrow follows the format's backward-compatibility rules: a repeated
// primitive is a list of required elements; a repeated group with several
// fields is a list of structs; a repeated group with one field named
// "array" or "<list>_tuple" is a list of one-field structs; any other
// repeated group with one field is the three-level form. The one-field
// structs are what parquet-avro and parquet-thrift wrote around plain
// elements, so the source takes them off: such a list comes out as a list
// of the field's type, nullable as the field is, and loads into Array(T).
// A repeated group without a LIST annotation stays a list of structs
// (protobuf's repeated messages), as does an "array" group of several
// fields.

// unwrapLegacyList returns List<field> for t when t is the List pqarrow built
// for the LIST-annotated group name whose repeated child is a one-field group
// named "array" or name+"_tuple" (pqarrow names the element after that group
// and makes it a required struct); otherwise t.
func unwrapLegacyList(name string, t arrow.DataType) arrow.DataType {
	l, ok := t.(*arrow.ListType)
	if !ok {
		return t
	}
	elem := l.ElemField()
	st, ok := elem.Type.(*arrow.StructType)
	if !ok || st.NumFields() != 1 || elem.Nullable || (elem.Name != "array" && elem.Name != name+"_tuple") {
		return t
	}
	return arrow.ListOfField(st.Field(0))
}

// listElemNullability returns t, the type of the list sf, with its element
// nullable exactly when the Parquet schema lets it be NULL: pqarrow marks the
// elements of one-level lists (a repeated field) and the struct of a
// repeated group nullable, though a repeated field's values never are. An
// element may be NULL when its definition level is above the list's.
func listElemNullability(t arrow.DataType, sf *pqarrow.SchemaField) arrow.DataType {
	l, ok := t.(*arrow.ListType)
	if !ok || len(sf.Children) != 1 {
		return t
	}
	elem := l.ElemField()
	nullable := sf.Children[0].LevelInfo.DefLevel > sf.LevelInfo.DefLevel
	if elem.Nullable == nullable {
		return t
	}
	elem.Nullable = nullable
	return arrow.ListOfField(elem)
}
