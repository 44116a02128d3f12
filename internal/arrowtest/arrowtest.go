// Package arrowtest builds the Arrow arrays tests in several packages need.
package arrowtest

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DictStrings builds a dictionary of strings (int32 indices); nil values
// are NULL rows.
func DictStrings(mem memory.Allocator, dict []string, idx []*int32) *array.Dictionary {
	db := array.NewStringBuilder(mem)
	db.AppendValues(dict, nil)
	d := db.NewArray()
	db.Release()
	defer d.Release()
	ib := array.NewInt32Builder(mem)
	for _, i := range idx {
		if i == nil {
			ib.AppendNull()
		} else {
			ib.Append(*i)
		}
	}
	ia := ib.NewArray()
	ib.Release()
	defer ia.Release()
	return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, ia, d)
}

// I32 points at v, for the indices DictStrings takes.
func I32(v int32) *int32 { return &v }
