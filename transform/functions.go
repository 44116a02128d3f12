package transform

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// function is one supported ClickHouse function.
//
// The first values arguments of a call are evaluated into arrays; any further
// arguments are constant parameters that check validated at parse time and
// that eval reads from the call itself.
type function struct {
	name      string
	signature string // for error messages, e.g. "intDiv(x, N)"
	values    int    // number of leading arguments evaluated into arrays; -1 for all
	check     func(args []*Expr) error
	result    func(c *Expr, in []arrow.DataType) (arrow.DataType, error)
	eval      func(c *Expr, in []arrow.Array, mem memory.Allocator) (arrow.Array, error)
	// typed functions are evaluated by evalTyped instead of eval, which also
	// gets the ClickHouse type named by ClickHouseTypeKey of every argument
	// that is a column reference ("" for other arguments).
	typed     bool
	evalTyped func(c *Expr, in []arrow.Array, chTypes []string, mem memory.Allocator) (arrow.Array, error)
}

var functions = map[string]*function{}

func register(f *function) { functions[f.name] = f }

func init() {
	register(&function{
		name: "toYYYYMM", signature: "toYYYYMM(date)", values: 1, check: arity(1),
		result: dateResult(arrow.PrimitiveTypes.Uint32),
		eval:   evalToYYYYMM,
	})
	register(&function{
		name: "toYYYYMMDD", signature: "toYYYYMMDD(date)", values: 1, check: arity(1),
		result: dateResult(arrow.PrimitiveTypes.Uint32),
		eval:   evalToYYYYMMDD,
	})
	register(&function{
		name: "toDate", signature: "toDate(date_or_datetime)", values: 1, check: arity(1),
		result: dateResult(arrow.FixedWidthTypes.Date32),
		eval:   evalToDate,
	})
	register(&function{
		name: "toStartOfMonth", signature: "toStartOfMonth(date)", values: 1, check: arity(1),
		result: dateResult(arrow.FixedWidthTypes.Date32),
		eval:   evalToStartOfMonth,
	})
	register(&function{
		name: "toMonday", signature: "toMonday(date)", values: 1, check: arity(1),
		result: dateResult(arrow.FixedWidthTypes.Date32),
		eval:   evalToMonday,
	})
	register(&function{
		name: "intDiv", signature: "intDiv(x, N) with an integer literal N", values: 1,
		check: checkIntDiv, result: intDivResult, eval: evalIntDiv,
	})
	register(&function{
		name: "rand", signature: "rand() or rand(x) as a whole sharding key only (chload picks the shards)", values: 0,
		check:  func([]*Expr) error { return nil },
		result: constResult(arrow.PrimitiveTypes.Uint32),
		eval: func(*Expr, []arrow.Array, memory.Allocator) (arrow.Array, error) {
			return nil, errors.New("rand() is not evaluated here: chload assigns rows to shards itself for a rand() sharding key, and rand() has no place in a partition or sorting key")
		},
	})
	register(&function{
		name: "tuple", signature: "tuple(...)", values: -1,
		check:  func([]*Expr) error { return nil },
		result: tupleResult, eval: evalTuple,
	})
}

// supportedFunctions lists the signatures of all supported functions.
func supportedFunctions() string {
	sigs := make([]string, 0, len(functions))
	for _, f := range functions {
		sigs = append(sigs, f.signature)
	}
	sort.Strings(sigs)
	return strings.Join(sigs, ", ")
}

// newCall resolves a function by name and checks its arguments.
func newCall(name string, args []*Expr) (*Expr, error) {
	f, ok := functions[name]
	if !ok {
		return nil, fmt.Errorf("unsupported function %s (supported: %s)", name, supportedFunctions())
	}
	if err := f.check(args); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Expr{kind: kindCall, name: name, args: args, fn: f}, nil
}

func arity(n int) func(args []*Expr) error {
	return func(args []*Expr) error {
		if len(args) != n {
			return fmt.Errorf("want %d argument(s), got %d", n, len(args))
		}
		return nil
	}
}

// dateResult is the type rule of functions of one Date or DateTime argument.
func dateResult(out arrow.DataType) func(c *Expr, in []arrow.DataType) (arrow.DataType, error) {
	return func(c *Expr, in []arrow.DataType) (arrow.DataType, error) {
		switch in[0].ID() {
		case arrow.DATE32, arrow.TIMESTAMP:
			return out, nil
		}
		return nil, fmt.Errorf("%s: argument %s has type %s, want a date or timestamp", c.name, c.args[0], in[0])
	}
}
