package transform

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cespare/xxhash/v2"
	"github.com/go-faster/city"

	"github.com/chload/chload/internal/arrowbuf"
)

// hashAlgo is one of ClickHouse's 64-bit hash functions of any arguments
// (FunctionAnyHash in FunctionsHashing.h).
type hashAlgo struct {
	// bytes hashes one value's bytes.
	bytes func(b []byte) uint64
	// combine folds the hash h of the next argument into the hash acc of
	// the arguments before it.
	combine func(acc, h uint64) uint64
	// intPods is ClickHouse's use_int_hash_for_pods: numbers are hashed with
	// intHash64 of their bits instead of hashing their bytes.
	intPods bool
}

var (
	cityHash64Algo = &hashAlgo{bytes: city.CH64, combine: hash128to64, intPods: true}
	sipHash64Algo  = &hashAlgo{bytes: sipHash64, combine: func(acc, h uint64) uint64 {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], acc)
		binary.LittleEndian.PutUint64(b[8:], h)
		return sipHash64(b[:])
	}}
	xxHash64Algo       = &hashAlgo{bytes: xxhash.Sum64, combine: hash128to64}
	murmurHash364Algo  = &hashAlgo{bytes: murmurHash364, combine: func(acc, h uint64) uint64 { return intHash64(acc) ^ h }}
	errHashNeedsArgs   = errors.New("want at least 1 argument")
	errJavaHashOneArgs = errors.New("javaHash takes exactly 1 argument: ClickHouse cannot combine Java hashes of several arguments")
)

// murmurHash364 is ClickHouse's murmurHash3_64 of one value: the xor of the
// two halves of MurmurHash3_x64_128 with seed 0.
func murmurHash364(b []byte) uint64 {
	h1, h2 := murmur3x64128(b)
	return h1 ^ h2
}

func init() {
	for name, algo := range map[string]*hashAlgo{
		"cityHash64": cityHash64Algo, "sipHash64": sipHash64Algo,
		"xxHash64": xxHash64Algo, "murmurHash3_64": murmurHash364Algo,
	} {
		algo := algo
		register(&function{
			name: name, signature: name + "(x, ...)", values: -1, typed: true,
			check: func(args []*Expr) error {
				if len(args) == 0 {
					return errHashNeedsArgs
				}
				return nil
			},
			result: constResult(arrow.PrimitiveTypes.Uint64),
			evalTyped: func(_ *Expr, in []arrow.Array, hints []string, mem memory.Allocator) (arrow.Array, error) {
				return evalAnyHash(algo, in, hints, mem)
			},
		})
	}
	register(&function{
		name: "javaHash", signature: "javaHash(x)", values: 1, typed: true,
		check: func(args []*Expr) error {
			if len(args) != 1 {
				return errJavaHashOneArgs
			}
			return nil
		},
		result: constResult(arrow.PrimitiveTypes.Int32), evalTyped: evalJavaHash,
	})
	register(&function{
		name: "intHash64", signature: "intHash64(integer)", values: 1, check: arity(1),
		result: intHashResult(arrow.PrimitiveTypes.Uint64),
		eval: func(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			return evalIntHash(in[0], mem, arrow.PrimitiveTypes.Uint64, func(v uint64) uint64 { return intHash64(v) })
		},
	})
	register(&function{
		name: "intHash32", signature: "intHash32(integer)", values: 1, check: arity(1),
		result: intHashResult(arrow.PrimitiveTypes.Uint32),
		eval: func(_ *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			return evalIntHash(in[0], mem, arrow.PrimitiveTypes.Uint32, func(v uint64) uint32 { return intHash32(v) })
		},
	})
}

// constResult is the type rule of functions whose result type does not
// depend on their arguments; argument types are checked at evaluation.
func constResult(t arrow.DataType) func(*Expr, []arrow.DataType) (arrow.DataType, error) {
	return func(*Expr, []arrow.DataType) (arrow.DataType, error) { return t, nil }
}

// intHashResult accepts the argument types of ClickHouse's intHash32 and
// intHash64: integers, Date, Date32 and DateTime.
func intHashResult(out arrow.DataType) func(*Expr, []arrow.DataType) (arrow.DataType, error) {
	return func(c *Expr, in []arrow.DataType) (arrow.DataType, error) {
		if _, _, ok := intInfo(in[0]); ok {
			return out, nil
		}
		switch t := in[0].(type) {
		case *arrow.Date32Type, *arrow.BooleanType:
			return out, nil
		case *arrow.TimestampType:
			if t.Unit == arrow.Second {
				return out, nil
			}
		}
		return nil, fmt.Errorf("%s: argument %s has type %s, want an integer, date or datetime", c.name, c.args[0], in[0])
	}
}

// evalAnyHash hashes every row of the arguments and combines the hashes of
// the arguments left to right, as FunctionAnyHash does.
func evalAnyHash(algo *hashAlgo, in []arrow.Array, hints []string, mem memory.Allocator) (arrow.Array, error) {
	n := in[0].Len()
	var inputs []hashInput
	for i, a := range in {
		hint := ""
		if i < len(hints) {
			hint = hints[i]
		}
		got, err := hashInputs(a, hint)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		inputs = append(inputs, got...)
	}
	buf, out := arrowbuf.NewValues[uint64](mem, n)
	if len(inputs) == 0 {
		// An empty tuple: ClickHouse's fixed filler value.
		for i := range out {
			out[i] = 0xe28dbde7fe22e41c
		}
	}
	for k, x := range inputs {
		first := k == 0
		var le [8]byte
		for i := 0; i < n; i++ {
			var h uint64
			switch {
			case x.Pod && algo.intPods:
				h = intHash64(x.Raw[i])
			case x.Pod:
				binary.LittleEndian.PutUint64(le[:], x.Raw[i])
				h = algo.bytes(le[:x.Width])
			default:
				h = algo.bytes(x.Value(i))
			}
			if first {
				out[i] = h
			} else {
				out[i] = algo.combine(out[i], h)
			}
		}
	}
	return finish(arrow.PrimitiveTypes.Uint64, n, unionValidity(mem, in), buf), nil
}

// evalJavaHash is ClickHouse's javaHash (JavaHashImpl): Java's
// String.hashCode over the bytes of a string taken as signed bytes, the
// value itself for Int8, Int16, Int32 and Date32, Java's Long.hashCode for
// Int64, and the byte hash of floats and other fixed-size values. Unsigned
// types (including Date and DateTime) are refused, as ClickHouse refuses
// them.
func evalJavaHash(_ *Expr, in []arrow.Array, hints []string, mem memory.Allocator) (arrow.Array, error) {
	hint := ""
	if len(hints) > 0 {
		hint = hints[0]
	}
	inputs, err := hashInputs(in[0], hint)
	if err != nil {
		return nil, err
	}
	if len(inputs) != 1 {
		return nil, errJavaHashOneArgs
	}
	x := inputs[0]
	if x.Pod && !x.Signed {
		return nil, fmt.Errorf("javaHash of unsigned type %s is not supported by ClickHouse", x.Type)
	}
	n := in[0].Len()
	buf, out := arrowbuf.NewValues[int32](mem, n)
	var le [8]byte
	for i := 0; i < n; i++ {
		switch {
		case x.Pod && !x.Float && x.Width <= 4:
			out[i] = int32(signExtend(x.Raw[i], x.Width))
		case x.Pod && !x.Float:
			out[i] = int32(uint32(x.Raw[i]) ^ uint32(x.Raw[i]>>32))
		case x.Pod:
			binary.LittleEndian.PutUint64(le[:], x.Raw[i])
			out[i] = javaHashBytes(le[:x.Width])
		default:
			out[i] = javaHashBytes(x.Value(i))
		}
	}
	return finish(arrow.PrimitiveTypes.Int32, n, arrowbuf.CopyValidity(mem, in[0]), buf), nil
}

// javaHashBytes is Java's String.hashCode over b taken as signed bytes.
func javaHashBytes(b []byte) int32 {
	var h uint32
	for _, c := range b {
		h = 31*h + uint32(int8(c))
	}
	return int32(h)
}

// evalIntHash applies f to each value converted to UInt64 as C++ converts
// it: signed values are sign-extended.
func evalIntHash[T uint32 | uint64](a arrow.Array, mem memory.Allocator, dt arrow.DataType, f func(uint64) T) (arrow.Array, error) {
	inputs, err := hashInputs(a, "")
	if err != nil {
		return nil, err
	}
	x := inputs[0]
	if !x.Pod || x.Float {
		return nil, fmt.Errorf("type %s is not an integer", x.Type)
	}
	n := a.Len()
	buf, out := arrowbuf.NewValues[T](mem, n)
	for i, v := range x.Raw {
		if x.Signed {
			v = signExtend(v, x.Width)
		}
		out[i] = f(v)
	}
	return finish(dt, n, arrowbuf.CopyValidity(mem, a), buf), nil
}

// unionValidity returns a bitmap valid where every array in arrs is valid,
// or nil when none has nulls.
func unionValidity(mem memory.Allocator, arrs []arrow.Array) *memory.Buffer {
	var out *memory.Buffer
	for _, a := range arrs {
		if a.NullN() == 0 {
			continue
		}
		if out == nil {
			out = arrowbuf.CopyValidity(mem, a)
			continue
		}
		n := a.Len()
		bitutil.BitmapAnd(out.Bytes(), a.NullBitmapBytes(), 0, int64(a.Data().Offset()), out.Bytes(), 0, int64(n))
	}
	return out
}
