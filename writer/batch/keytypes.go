package batch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// PartitionKeyType reports whether the batcher can group rows by a
// partition key element of type dt (the type its expression evaluates to).
// The plan calls it once per element before any data is read; the error
// says why not, in the user's words.
func PartitionKeyType(dt arrow.DataType) error {
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.BOOL:
		return nil
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP, arrow.STRUCT:
		return fmt.Errorf("chload cannot group rows by an array, map or tuple value")
	case arrow.DICTIONARY:
		return fmt.Errorf("chload cannot group rows by a dictionary-encoded value")
	}
	if fw, ok := dt.(arrow.FixedWidthDataType); ok && fw.BitWidth()%8 == 0 {
		return nil
	}
	return fmt.Errorf("chload cannot group rows by a value of type %s", dt)
}

// SortingKeyType reports whether the batcher can sort rows by a sorting key
// element of type dt as the server orders them. The plan calls it once per
// element before any data is read; the error says why not.
func SortingKeyType(dt arrow.DataType) error {
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.FIXED_SIZE_BINARY, arrow.DECIMAL128, arrow.DICTIONARY,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.DATE32, arrow.TIMESTAMP, arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL:
		return nil
	case arrow.STRUCT:
		// A tuple sorts element by element, each as the server orders it.
		for _, f := range dt.(*arrow.StructType).Fields() {
			if err := SortingKeyType(f.Type); err != nil {
				return err
			}
		}
		return nil
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP:
		return fmt.Errorf("chload cannot sort rows by an array or map value")
	}
	return fmt.Errorf("chload cannot sort rows by a value of type %s as the server does", dt)
}
