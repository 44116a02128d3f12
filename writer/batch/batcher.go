// Package batch cuts a run's rows into batches of one partition each (and
// one shard on a cluster), within a memory budget, and orders a batch's rows
// by the table's sorting key (sort.go), so that every insert makes one
// sorted part. It needs no server.
package batch

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chload/chload/transform"
)

// Batch is rows of exactly one partition, inserted as one part after being
// sorted by the table's sorting key.
type Batch struct {
	// PartitionID is the partition's PartitionStats.ID.
	PartitionID int
	// Partition is the partition key's value as ClickHouse prints it in
	// system.parts.partition ("tuple()" for an unpartitioned table).
	Partition string
	// Shard is the index of the batch's shard in the topology (0 on a
	// single node).
	Shard int
	// Seq numbers the batches of a partition from 0, in the order they were
	// cut; the same source gives the same numbers.
	Seq int
	// Chunks are canonical records in arrival order; the batch owns them.
	Chunks []arrow.Record
	// Rows and Bytes are the batch's size.
	Rows, Bytes int64
	// Forced says the memory budget cut the batch before it was full.
	Forced bool
	// SortedChunks says every chunk is already sorted by the sorting key,
	// so the inserter merges them instead of sorting the whole batch.
	SortedChunks bool
}

// Release frees the batch's records.
func (b *Batch) Release() {
	for _, c := range b.Chunks {
		c.Release()
	}
	b.Chunks = nil
}

// BatcherParams tune a Batcher.
type BatcherParams struct {
	// BatchRows is the most rows in one batch.
	BatchRows int64
	// MaxBufferBytes caps the bytes held across partitions, together with
	// a reserve for the batches on their way to the server; above it the
	// largest partition's rows are emitted early.
	MaxBufferBytes int64
	// InFlight is how many emitted batches may be alive at once (being
	// sent, or waiting to be): the reserve is that many times the largest
	// batch emitted so far, and a partition is emitted early once it holds
	// MaxBufferBytes/(2*InFlight) bytes, so the batches in flight take at
	// most half the budget. It depends only on the data, so batching stays
	// deterministic. Optional, defaults to 0 (no reserve).
	InFlight int
	// Mem allocates the copies taken per partition. Optional, defaults to
	// memory.DefaultAllocator.
	Mem memory.Allocator
	// Complete, when set, is called once per partition as soon as no more
	// rows will come for it in this run: right after its last batch was
	// emitted, from Seal or Close, on the goroutine that called them. It is
	// the seam for write modes that act on whole partitions (a mode that
	// swaps a finished partition does not wait for the end of the run). An
	// error from it stops the Batcher. Optional.
	Complete func(PartitionStats) error
}

// PartitionStats is what a Batcher saw of one partition.
type PartitionStats struct {
	// ID numbers the partition within the Batcher, in first-seen order. Two
	// partitions may print alike (a NULL key and the string "NULL"); their
	// IDs differ.
	ID int
	// Partition is the key value as ClickHouse prints it.
	Partition string
	// Shard is the index of the partition's shard in the topology (0 on a
	// single node).
	Shard int
	// Rows and Bytes count every row the partition received.
	Rows, Bytes int64
	// Batches counts the batches emitted for it.
	Batches int
}

type partBuffer struct {
	stats  PartitionStats
	chunks []arrow.Record
	rows   int64
	bytes  int64
	// sealed: no more rows may come (Seal or Close completed it).
	sealed bool
}

// partName names a partition of a shard.
type partName struct {
	shard     int
	partition string
}

// Batcher groups canonical records by partition and cuts them into batches
// of one partition each, and says when a partition is complete (Seal,
// Close, BatcherParams.Complete). It is deterministic: the same records in the same
// order give the same batches with the same rows in the same order. Not safe
// for concurrent use: one goroutine adds records in source order.
type Batcher struct {
	p     BatcherParams
	emit  func(*Batch) error
	index map[string]int     // Piece.Key -> parts
	named map[partName][]int // shard and partition text -> parts (several when keys print alike)
	parts []*partBuffer
	total int64
	// largest is the biggest batch emitted so far, in bytes.
	largest int64
	// sorted says records come with their sort order.
	sorted bool
	// aborted: rows were dropped, so no partition may be called complete.
	aborted bool
}

// NewBatcher returns a Batcher that hands every batch to emit, which owns it
// from then on (and must release it). emit may block to apply backpressure;
// an error from it stops the Batcher.
func NewBatcher(p BatcherParams, emit func(*Batch) error) *Batcher {
	if p.Mem == nil {
		p.Mem = memory.DefaultAllocator
	}
	return &Batcher{p: p, emit: emit, index: map[string]int{}, named: map[partName][]int{}}
}

// Rows is one canonical record and what routes its rows.
type Rows struct {
	// Record holds the rows.
	Record arrow.Record
	// Keys are the partition key's values (none for an unpartitioned
	// table).
	Keys []arrow.Array
	// Order, when given, lists the rows sorted by the table's sorting key
	// (SortPermutation of Record alone): the Batcher then keeps every chunk
	// sorted, and its batches say so (Batch.SortedChunks), which lets the
	// inserter merge instead of sort. Give an order for every record or for
	// none.
	Order []uint32
	// Shards, when given, is each row's shard (an index into the
	// topology's shards): batches are then per shard and partition.
	Shards []uint16
}

// Piece is the rows of one record that belong to one shard and partition.
type Piece struct {
	// Key identifies the shard and partition (an encoding of both).
	Key string
	// Shard is the shard index; Partition the partition key's value as
	// ClickHouse prints it.
	Shard     int
	Partition string
	// Record holds the rows, owned by the piece.
	Record arrow.Record
	// SharedBytes is the piece's share, by rows, of the dictionaries its
	// dictionary columns share with the other pieces of its source record;
	// counted with the piece's own buffers against the memory budget.
	SharedBytes int64
}

// Pieces is one record split by shard and partition, in a deterministic
// order.
type Pieces struct {
	List []Piece
	// Sorted says each piece's rows are sorted by the sorting key.
	Sorted bool
}

// Release frees the pieces' records.
func (ps Pieces) Release() {
	for _, p := range ps.List {
		p.Record.Release()
	}
}

// SplitRows groups r's rows by shard and partition into compact pieces (the
// record itself when all its rows go to one place in their order), rows in
// sort order when r has one. It keeps no state: the reading goroutines call
// it in parallel, and the Batcher only appends pieces. The caller still
// releases r's record and keys.
func SplitRows(ctx context.Context, r Rows, mem memory.Allocator) (Pieces, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rec, keys, order := r.Record, r.Keys, r.Order
	n := int(rec.NumRows())
	out := Pieces{Sorted: order != nil}
	if n == 0 {
		return out, nil
	}
	rowGroup := make([]int32, n)
	index := map[string]int32{}
	var groups []Piece
	writers := make([]keyWriter, len(keys))
	for j, k := range keys {
		w, err := newKeyWriter(k)
		if err != nil {
			return out, err
		}
		writers[j] = w
	}
	var key, prevKey []byte
	prev := int32(-1)
	for i := 0; i < n; i++ {
		key = key[:0]
		if r.Shards != nil {
			key = append(key, byte(r.Shards[i]), byte(r.Shards[i]>>8))
		}
		for _, w := range writers {
			key = w(key, i)
		}
		if prev >= 0 && bytes.Equal(key, prevKey) {
			rowGroup[i] = prev
			continue
		}
		g, ok := index[string(key)]
		if !ok {
			g = int32(len(groups))
			index[string(key)] = g
			p := Piece{Key: string(key), Partition: transform.PartitionText(keys, i)}
			if r.Shards != nil {
				p.Shard = int(r.Shards[i])
			}
			groups = append(groups, p)
		}
		rowGroup[i] = g
		prev = g
		prevKey = append(prevKey[:0], key...)
	}
	if isIdentity(order) {
		order = nil
	}
	dictBytes := dictionaryBytes(rec)
	if len(groups) == 1 && order == nil {
		rec.Retain()
		groups[0].Record = rec
		groups[0].SharedBytes = dictBytes
		out.List = groups
		return out, nil
	}
	// One compact copy per group, in the order the groups first appear in
	// the rows' (sort) order, so the source record is freed at once.
	sel := make([][]int32, len(groups))
	var seq []int32
	visit := func(i int32) {
		g := rowGroup[i]
		if sel[g] == nil {
			seq = append(seq, g)
		}
		sel[g] = append(sel[g], i)
	}
	if order == nil {
		for i := range rowGroup {
			visit(int32(i))
		}
	} else {
		for _, i := range order {
			visit(int32(i))
		}
	}
	for _, g := range seq {
		part, err := takeRecord(ctx, rec, sel[g], mem)
		if err != nil {
			out.Release()
			return Pieces{}, fmt.Errorf("group rows by partition: %w", err)
		}
		p := groups[g]
		p.Record = part
		p.SharedBytes = dictBytes * int64(len(sel[g])) / int64(n)
		out.List = append(out.List, p)
	}
	return out, nil
}

// AddPieces appends pieces to their partitions' buffers, cutting batches;
// it owns the pieces from the call on. Pieces must come in source order.
func (b *Batcher) AddPieces(ctx context.Context, ps Pieces) error {
	b.sorted = ps.Sorted
	for k, p := range ps.List {
		idx, ok := b.index[p.Key]
		if !ok {
			idx = b.newPart(p.Shard, p.Partition)
			b.index[p.Key] = idx
		}
		if pb := b.parts[idx]; pb.sealed {
			Pieces{List: ps.List[k:]}.Release()
			return fmt.Errorf("internal error: rows for partition %s came after it was complete", p.Partition)
		}
		if err := b.add(ctx, idx, p.Record, recordBytes(p.Record)+p.SharedBytes); err != nil {
			Pieces{List: ps.List[k+1:]}.Release()
			return err
		}
	}
	return nil
}

// add appends rec (owned by the call) to partition p, cutting full batches.
func (b *Batcher) add(ctx context.Context, p int, rec arrow.Record, size int64) error {
	pb := b.parts[p]
	n := rec.NumRows()
	pb.stats.Rows += n
	pb.stats.Bytes += size
	for n > 0 {
		room := b.p.BatchRows - pb.rows
		if n <= room {
			pb.push(rec, n, size)
			b.total += size
			if pb.rows == b.p.BatchRows {
				if err := b.flush(p, false); err != nil {
					return err
				}
			}
			break
		}
		headSize := size * room / n
		head := rec.NewSlice(0, room)
		tail := rec.NewSlice(room, n)
		rec.Release()
		pb.push(head, room, headSize)
		b.total += headSize
		if err := b.flush(p, false); err != nil {
			tail.Release()
			return err
		}
		rec, n, size = tail, n-room, size-headSize
	}
	if m := b.maxBatch(); m > 0 && pb.bytes >= m {
		if err := b.flush(p, true); err != nil {
			return err
		}
	}
	for b.total+b.reserve() > b.p.MaxBufferBytes {
		largest := -1
		for i, q := range b.parts {
			if q.rows > 0 && (largest < 0 || q.bytes > b.parts[largest].bytes) {
				largest = i
			}
		}
		if largest < 0 {
			break
		}
		if err := b.flush(largest, true); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// maxBatch is the most bytes of one batch when batches may be in flight:
// InFlight of them take at most half the budget, so the reserve for them
// never leaves the buffered rows less than the other half. 0 for no bound.
func (b *Batcher) maxBatch() int64 {
	if b.p.InFlight <= 0 {
		return 0
	}
	return max(b.p.MaxBufferBytes/int64(2*b.p.InFlight), 1)
}

// reserve is the memory kept for emitted batches still in flight, at most
// half the budget.
func (b *Batcher) reserve() int64 {
	return min(int64(b.p.InFlight)*b.largest, b.p.MaxBufferBytes/2)
}

func (pb *partBuffer) push(rec arrow.Record, n, size int64) {
	pb.chunks = append(pb.chunks, rec)
	pb.rows += n
	pb.bytes += size
}

func (b *Batcher) flush(p int, forced bool) error {
	pb := b.parts[p]
	batch := &Batch{PartitionID: pb.stats.ID, Partition: pb.stats.Partition, Shard: pb.stats.Shard, Seq: pb.stats.Batches, Chunks: pb.chunks, Rows: pb.rows, Bytes: pb.bytes, Forced: forced, SortedChunks: b.sorted}
	pb.stats.Batches++
	b.total -= pb.bytes
	b.largest = max(b.largest, pb.bytes)
	pb.chunks, pb.rows, pb.bytes = nil, 0, 0
	return b.emit(batch)
}

// newPart adds a buffer for a new partition of shard and returns its index.
func (b *Batcher) newPart(shard int, partition string) int {
	idx := len(b.parts)
	n := partName{shard, partition}
	b.named[n] = append(b.named[n], idx)
	b.parts = append(b.parts, &partBuffer{stats: PartitionStats{ID: idx, Partition: partition, Shard: shard}})
	return idx
}

// Seal says no more rows will come for the shard's partition in this run:
// its remaining rows are emitted as its last batch and Complete is called.
// Rows for it that come later are an error. Sealing a partition not seen
// yet completes it with no rows; sealing one twice does nothing. The
// caller adds rows and seals on one goroutine, in source order, so batches
// stay deterministic.
func (b *Batcher) Seal(shard int, partition string) error {
	parts := b.named[partName{shard, partition}]
	if len(parts) == 0 {
		parts = []int{b.newPart(shard, partition)}
	}
	for _, i := range parts {
		if err := b.seal(i); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batcher) seal(i int) error {
	if b.aborted {
		return errors.New("internal error: a partition was sealed after the batcher dropped its rows")
	}
	pb := b.parts[i]
	if pb.sealed {
		return nil
	}
	if pb.rows > 0 {
		if err := b.flush(i, false); err != nil {
			return err
		}
	}
	pb.sealed = true
	if b.p.Complete != nil {
		return b.p.Complete(pb.stats)
	}
	return nil
}

// Close emits every partition's remaining rows and completes it, in the
// order the partitions were first seen. On an error the rows not emitted
// are released (Abort).
func (b *Batcher) Close() error {
	for i := range b.parts {
		if err := b.seal(i); err != nil {
			b.Abort()
			return err
		}
	}
	return nil
}

// Abort releases buffered rows without emitting them; no partition is
// complete after it (Seal and Close fail).
func (b *Batcher) Abort() {
	b.aborted = true
	for _, pb := range b.parts {
		for _, c := range pb.chunks {
			c.Release()
		}
		pb.chunks, pb.rows, pb.bytes = nil, 0, 0
	}
	b.total = 0
}

// Partitions reports every partition seen, in first-seen order.
func (b *Batcher) Partitions() []PartitionStats {
	out := make([]PartitionStats, len(b.parts))
	for i, pb := range b.parts {
		out[i] = pb.stats
	}
	return out
}

func isIdentity(order []uint32) bool {
	for i, o := range order {
		if o != uint32(i) {
			return false
		}
	}
	return true
}

// keyWriter appends an unambiguous binary encoding of row i of one key
// array to buf.
type keyWriter func(buf []byte, i int) []byte

// newKeyWriter resolves a's type once, so that the rows of a record are
// encoded without a type switch each.
func newKeyWriter(a arrow.Array) (keyWriter, error) {
	var value keyWriter
	switch v := a.(type) {
	case *array.String:
		value = func(buf []byte, i int) []byte {
			s := v.Value(i)
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
			return append(buf, s...)
		}
	case *array.Binary:
		value = func(buf []byte, i int) []byte {
			s := v.Value(i)
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
			return append(buf, s...)
		}
	case *array.Boolean:
		value = func(buf []byte, i int) []byte {
			if v.Value(i) {
				return append(buf, 1)
			}
			return append(buf, 0)
		}
	default:
		fw, ok := a.DataType().(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth()%8 != 0 {
			return nil, fmt.Errorf("partition key of type %s is not supported yet", a.DataType())
		}
		w := fw.BitWidth() / 8
		data := a.Data().Buffers()[1].Bytes()
		offset := a.Data().Offset()
		value = func(buf []byte, i int) []byte {
			off := (offset + i) * w
			return append(buf, data[off:off+w]...)
		}
	}
	return func(buf []byte, i int) []byte {
		if a.IsNull(i) {
			return append(buf, 0)
		}
		return value(append(buf, 1), i)
	}, nil
}

// dictionaryBytes is the size of the dictionaries of rec's dictionary
// columns, which recordBytes leaves out.
func dictionaryBytes(rec arrow.Record) int64 {
	var n int64
	for _, c := range rec.Columns() {
		if d, ok := c.(*array.Dictionary); ok {
			n += arrayBytes(d.Dictionary().Data())
		}
	}
	return n
}

// RecordSize is the bytes rec's buffers hold, dictionaries included. A
// buffer counts with its capacity, not its length: a builder's buffer grows
// by doubling, and the memory it holds is what the budget bounds.
func RecordSize(rec arrow.Record) int64 { return recordBytes(rec) + dictionaryBytes(rec) }

// recordBytes is the size of rec's buffers, dictionaries left out.
func recordBytes(rec arrow.Record) int64 {
	var total int64
	for _, c := range rec.Columns() {
		total += arrayBytes(c.Data())
	}
	return total
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(max(b.Len(), b.Cap()))
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	return n
}
