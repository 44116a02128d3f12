// Package chcol knows ClickHouse column types on the writer side: it parses
// type strings, converts source Arrow arrays into the canonical Arrow
// representation of a column type with row-precise errors, and encodes
// canonical arrays in ClickHouse's Native format (AppendNative) or hands them
// to clickhouse-go's columnar batch Append.
//
// Each type family lives in one file that registers it (see family.go), for
// example:
//
//	integers.go  Int8..Int64, UInt8..UInt64 (Int128/256 parse only)
//	floats.go    Float32, Float64
//	bools.go     Bool
//	decimals.go  Decimal(P, S), Decimal32..256(S)
//	strings.go   String, FixedString(N)
//	uuid.go      UUID
//	dates.go     Date, Date32, DateTime[(tz)], DateTime64(P[, tz])
//	enums.go     Enum8, Enum16
//	arrays.go    Array(T)
//	maps.go      Map(K, V)
//	tuples.go    Tuple(T1, T2, ...), named or not
//	wrappers.go  Nullable(T) and LowCardinality(T), flags on T
//
// Each file's init comment states the family's canonical Arrow type and its
// Native layout. Nested columns reach chcol as the Array columns the server
// describes (n.a Array(T)); the writer's plan groups them.
//
// The clickhouse-go path (Append) stays, for two reasons. The insert path
// still uses it for a table with any column NativeSupported refuses:
// LowCardinality inside Array, Map or Tuple, LowCardinality over Bool, Enum or
// Decimal, and every column on a big-endian host (and for every insert when
// the writer's ConnParams set DriverInserts or give no addresses). And it is
// the oracle the Native bytes are compared with in tests (native_test.go,
// ip_test.go). Every other type chcol carries is encoded by AppendNative.
package chcol
