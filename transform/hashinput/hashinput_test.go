package hashinput

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestLookupByNameWithoutParameters(t *testing.T) {
	r := func(arrow.Array, string) ([]Input, error) { return nil, nil }
	Register("TestType64", r)
	for _, typ := range []string{"TestType64", "TestType64(3, 'UTC')", " TestType64 (3)"} {
		if Lookup(typ) == nil {
			t.Errorf("Lookup(%q) found no reader", typ)
		}
	}
	for _, typ := range []string{"", "TestType", "Nullable(TestType64)"} {
		if Lookup(typ) != nil {
			t.Errorf("Lookup(%q) found a reader", typ)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	Register("TestTwice", func(arrow.Array, string) ([]Input, error) { return nil, nil })
	defer func() {
		if recover() == nil {
			t.Error("second Register of the same name did not panic")
		}
	}()
	Register("TestTwice", func(arrow.Array, string) ([]Input, error) { return nil, nil })
}

func TestIntsZeroExtends(t *testing.T) {
	in := Ints[int8](nil, "Int8", []int8{-1, 1}, 1, true)
	if in[0].Raw[0] != 0xff || in[0].Raw[1] != 1 || !in[0].Pod || !in[0].Signed || in[0].Width != 1 {
		t.Errorf("Ints(-1, 1) = %+v, want raw [0xff 1], pod, signed, width 1", in[0])
	}
}
