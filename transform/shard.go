package transform

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ShardKeyUint64 converts the values of an evaluated sharding key to the
// unsigned numbers a Distributed table takes modulo the total weight of its
// cluster's shards: row i goes to the shard that owns slot
// ShardKeyUint64(key)[i] % totalWeight, shards owning consecutive runs of
// slots, as many as their weight, in shard_num order.
//
// ClickHouse's createBlockSelector (18.16 and current releases alike) casts
// each value of a key column straight to UInt32 when the key type is 4 bytes
// or narrower and to UInt64 otherwise, not through the unsigned type of the
// key's own width: an Int8, Int16 or Int32 key of -1 becomes 4294967295 and an
// Int64 key of -1 becomes 18446744073709551615, while unsigned keys are
// zero-extended. The results here are those numbers as uint64, so a modulo
// of them equals the server's modulo. (A constant key, one referencing no
// column, is instead cast to the unsigned type of its own width; ClickHouse
// sends every row of a block to the same shard then.)
//
// The key must be a non-null integer array (Int8..Int64, UInt8..UInt64), as
// ClickHouse requires; any other type, or a NULL value, is an error.
func ShardKeyUint64(key arrow.Array) ([]uint64, error) {
	if key.NullN() > 0 {
		for i := 0; i < key.Len(); i++ {
			if key.IsNull(i) {
				return nil, fmt.Errorf("sharding key is NULL in row %d", i)
			}
		}
	}
	switch key.(type) {
	case *array.Int8, *array.Int16, *array.Int32:
		out := intValues(key) // sign-extended: keep the low 32 bits
		for i, v := range out {
			out[i] = uint64(uint32(v))
		}
		return out, nil
	case *array.Int64, *array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		return intValues(key), nil
	}
	return nil, fmt.Errorf("sharding key has type %s: ClickHouse requires an integer sharding key", key.DataType())
}
