package batch

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"

	"github.com/chload/chload/transform"
)

// sortRow is one row of the sort tests as plain Go values; nil pointers are
// NULLs.
type sortRow struct {
	u  uuid.UUID
	nu *uuid.UUID
	f  float64
	tu uuid.UUID // tuple element 1
	ti int32     // tuple element 2
}

// refUUID compares UUIDs as ClickHouse prints its order: by the text's last
// two groups, then by its first three (fixed-width lowercase hex, so the
// text order is the numeric order of each half).
func refUUID(a, b uuid.UUID) int {
	as, bs := strings.ReplaceAll(a.String(), "-", ""), strings.ReplaceAll(b.String(), "-", "")
	if c := strings.Compare(as[16:], bs[16:]); c != 0 {
		return c
	}
	return strings.Compare(as[:16], bs[:16])
}

// refFloat compares floats as ClickHouse's sort does: NaNs equal and after
// everything, -0 equal to 0.
func refFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

// refNull compares nullable values with NULLs equal and last.
func refNull[T any](a, b *T, c func(T, T) int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return c(*a, *b)
}

// sortRefs are the reference comparators of each key column.
var sortRefs = map[string]func(a, b sortRow) int{
	"u":  func(a, b sortRow) int { return refUUID(a.u, b.u) },
	"nu": func(a, b sortRow) int { return refNull(a.nu, b.nu, refUUID) },
	"f":  func(a, b sortRow) int { return refFloat(a.f, b.f) },
	"t": func(a, b sortRow) int {
		if c := refUUID(a.tu, b.tu); c != 0 {
			return c
		}
		return cmp.Compare(a.ti, b.ti)
	},
}

var sortSchema = func() *arrow.Schema {
	md := func(t string) arrow.Metadata {
		return arrow.NewMetadata([]string{transform.ClickHouseTypeKey}, []string{t})
	}
	u := &arrow.FixedSizeBinaryType{ByteWidth: 16}
	return arrow.NewSchema([]arrow.Field{
		{Name: "u", Type: u, Metadata: md("UUID")},
		{Name: "nu", Type: u, Nullable: true, Metadata: md("UUID")},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Metadata: md("Float64")},
		{Name: "t", Type: arrow.StructOf(arrow.Field{Name: "1", Type: u}, arrow.Field{Name: "2", Type: arrow.PrimitiveTypes.Int32}), Metadata: md("Tuple(UUID, Int32)")},
	}, nil)
}()

// randomSortRows draws rows from small pools, so that keys tie, with UUIDs
// that differ in either half and floats that include NaN, -0 and infinities.
func randomSortRows(r *rand.Rand, n int) []sortRow {
	var uuids []uuid.UUID
	for _, s := range []string{
		"00000000-0000-0001-0000-000000000000", "ff000000-0000-0000-0000-000000000000",
		"00000000-0000-0000-0000-000000000001", "01000000-0000-0000-0000-000000000001",
		"00000000-0000-0000-0100-000000000000", "00000000-0000-0000-8000-000000000000",
		"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
	} {
		uuids = append(uuids, uuid.MustParse(s))
	}
	for i := 0; i < 8; i++ {
		var u uuid.UUID
		for j := range u {
			u[j] = byte(r.Uint32())
		}
		uuids = append(uuids, u)
	}
	floats := []float64{math.NaN(), -math.NaN(), math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), -1.5, 2.25, math.SmallestNonzeroFloat64, -math.MaxFloat64}
	rows := make([]sortRow, n)
	for i := range rows {
		row := sortRow{
			u:  uuids[r.IntN(len(uuids))],
			f:  floats[r.IntN(len(floats))],
			tu: uuids[r.IntN(len(uuids))],
			ti: int32(r.IntN(5)) - 2,
		}
		if r.IntN(4) > 0 {
			u := uuids[r.IntN(len(uuids))]
			row.nu = &u
		}
		rows[i] = row
	}
	return rows
}

func sortRecord(mem memory.Allocator, rows []sortRow) arrow.Record {
	b := array.NewRecordBuilder(mem, sortSchema)
	defer b.Release()
	for _, row := range rows {
		b.Field(0).(*array.FixedSizeBinaryBuilder).Append(row.u[:])
		if row.nu == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.FixedSizeBinaryBuilder).Append(row.nu[:])
		}
		b.Field(2).(*array.Float64Builder).Append(row.f)
		st := b.Field(3).(*array.StructBuilder)
		st.Append(true)
		st.FieldBuilder(0).(*array.FixedSizeBinaryBuilder).Append(row.tu[:])
		st.FieldBuilder(1).(*array.Int32Builder).Append(row.ti)
	}
	return b.NewRecord()
}

// TestSortOrderMatchesServer sorts random batches by every key column and
// combinations of them and checks the order against reference comparators
// written from ClickHouse's comparison rules (UUID by its second half first,
// NaN last and -0 equal to 0, NULLs last, tuples element by element): every
// row is at most its successor, and rows that tie keep arrival order. The
// merge of sorted chunks must give the same order.
func TestSortOrderMatchesServer(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(10, 10))
	for _, keyText := range []string{"u", "nu", "f", "t", "nu, f", "u, t", "(f, u)"} {
		t.Run(keyText, func(t *testing.T) {
			exprs, err := transform.ParseKey(keyText)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range exprs {
				name, _ := e.Column()
				names = append(names, name)
			}
			ref := func(a, b sortRow) int {
				for _, n := range names {
					if c := sortRefs[n](a, b); c != 0 {
						return c
					}
				}
				return 0
			}
			sizes := []int{700, 1, 0, 1300}
			var rows []sortRow
			var chunks, sortedChunks []arrow.Record
			for _, n := range sizes {
				part := randomSortRows(r, n)
				rows = append(rows, part...)
				chunks = append(chunks, sortRecord(mem, part))
				sorted := slices.Clone(part)
				slices.SortStableFunc(sorted, ref)
				sortedChunks = append(sortedChunks, sortRecord(mem, sorted))
			}
			defer func() {
				for _, c := range append(chunks, sortedChunks...) {
					c.Release()
				}
			}()
			perm, err := SortPermutation(chunks, exprs, mem)
			if err != nil {
				t.Fatal(err)
			}
			checkSorted(t, "sort", rows, perm, ref)

			var sortedRows []sortRow
			for _, c := range sortedChunks {
				sortedRows = append(sortedRows, rowsOf(c)...)
			}
			perm, err = MergePermutation(sortedChunks, exprs, mem)
			if err != nil {
				t.Fatal(err)
			}
			checkSorted(t, "merge", sortedRows, perm, ref)
		})
	}
}

// checkSorted asserts perm is a permutation of rows that orders them by ref,
// ties in arrival order.
func checkSorted(t *testing.T, what string, rows []sortRow, perm []uint32, ref func(a, b sortRow) int) {
	t.Helper()
	if len(perm) != len(rows) {
		t.Fatalf("%s: %d rows in the order, want %d", what, len(perm), len(rows))
	}
	seen := make([]bool, len(rows))
	for _, p := range perm {
		if seen[p] {
			t.Fatalf("%s: row %d appears twice", what, p)
		}
		seen[p] = true
	}
	for i := 1; i < len(perm); i++ {
		a, b := rows[perm[i-1]], rows[perm[i]]
		c := ref(a, b)
		if c > 0 || (c == 0 && perm[i-1] > perm[i]) {
			t.Fatalf("%s: row %d (%s) comes before row %d (%s)", what, perm[i-1], rowText(a), perm[i], rowText(b))
		}
	}
}

// rowsOf reads a record of sortSchema back into rows.
func rowsOf(rec arrow.Record) []sortRow {
	out := make([]sortRow, rec.NumRows())
	u := rec.Column(0).(*array.FixedSizeBinary)
	nu := rec.Column(1).(*array.FixedSizeBinary)
	f := rec.Column(2).(*array.Float64)
	st := rec.Column(3).(*array.Struct)
	for i := range out {
		out[i].u = uuid.UUID(u.Value(i))
		if !nu.IsNull(i) {
			v := uuid.UUID(nu.Value(i))
			out[i].nu = &v
		}
		out[i].f = f.Value(i)
		out[i].tu = uuid.UUID(st.Field(0).(*array.FixedSizeBinary).Value(i))
		out[i].ti = st.Field(1).(*array.Int32).Value(i)
	}
	return out
}

func rowText(r sortRow) string {
	nu := "NULL"
	if r.nu != nil {
		nu = r.nu.String()
	}
	return fmt.Sprintf("u=%s nu=%s f=%v t=(%s, %d)", r.u, nu, r.f, r.tu, r.ti)
}
