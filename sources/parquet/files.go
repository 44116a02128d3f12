package parquet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/sync/errgroup"
)

// footerReaders bounds how many file footers load reads at once.
const footerReaders = 8

// fileInfo is what the source keeps of one file: its footer and its
// top-level Arrow fields, with dictionaries replaced by their value types.
type fileInfo struct {
	path string // as the user named it
	// id is the file's absolute path with symbolic links resolved; size and
	// modTime are from the file system when its footer was read.
	id      string
	size    int64
	modTime time.Time
	meta    *metadata.FileMetaData
	fields  []pqarrow.SchemaField
	index   map[string]int // top-level column name -> position in fields
}

// load expands the patterns and reads every file's footer, once. A failed
// load is retried by the next call.
func (s *Source) load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files != nil {
		return nil
	}
	paths, err := expand(s.cfg.Paths)
	if err != nil {
		return err
	}
	files := make([]*fileInfo, len(paths))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(footerReaders)
	for i, p := range paths {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			f, err := readFooter(p.name, s.int96Unit())
			if err != nil {
				return err
			}
			f.id = p.id
			files[i] = f
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	schema, err := commonSchema(files)
	if err != nil {
		return err
	}
	s.byPath = make(map[string]*fileInfo, len(files))
	for _, f := range files {
		s.byPath[f.path] = f
	}
	s.files, s.schema = files, schema
	return nil
}

// namedFile is a file to read: its name as the user gave it and its
// absolute path with symbolic links resolved.
type namedFile struct{ name, id string }

// expand turns the configured paths and patterns into a list of distinct
// regular files, sorted by name. Patterns are doublestar globs: `*`, `?`,
// `[...]` and `{a,b}` within one path element, `**` across any number of
// directories (none included). As with filepath.Glob, `*` also matches
// names that start with "." or "_".
func expand(patterns []string) ([]namedFile, error) {
	seen := map[string]bool{}
	var out []namedFile
	for _, p := range patterns {
		matches, err := doublestar.FilepathGlob(p, doublestar.WithFailOnIOErrors())
		if err != nil {
			return nil, fmt.Errorf("expand %q: %w", p, err)
		}
		if !hasMeta(p) && len(matches) == 0 {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("parquet file %s: %w", p, err)
			}
		}
		n := 0
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("parquet file %s: %w", m, err)
			}
			if !st.Mode().IsRegular() {
				if !hasMeta(p) {
					return nil, fmt.Errorf("parquet file %s: not a regular file", m)
				}
				continue
			}
			n++
			// The same file under two names (a second pattern, "..", a
			// symlink) is read once, under the first name.
			key, err := filepath.EvalSymlinks(m)
			if err == nil {
				key, err = filepath.Abs(key)
			}
			if err != nil {
				return nil, fmt.Errorf("parquet file %s: %w", m, err)
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, namedFile{name: m, id: key})
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("pattern %q matches no files", p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("parquet source: no files to read")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// hasMeta reports whether p holds glob meta characters.
func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[{\`) }

// validPattern reports whether p is a pattern expand can use.
func validPattern(p string) bool { return doublestar.ValidatePathPattern(p) }

// readFooter opens path, reads its metadata and closes it again. A decoder
// panic on a corrupt footer becomes an error.
func readFooter(path string, int96Unit arrow.TimeUnit) (_ *fileInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read metadata of %s: corrupt file: %v; load an intact copy or leave it out of source.paths", path, p)
		}
	}()
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", path, err)
	}
	defer osf.Close()
	st, err := osf.Stat()
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", path, err)
	}
	r, err := openReader(osf) // logical_types.go
	if err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w: the file is truncated, damaged or not Parquet; load an intact copy or leave it out of source.paths", path, err)
	}
	meta := r.MetaData()
	// WriterVersion is computed lazily; compute it now, before readers on
	// several goroutines share meta.
	meta.WriterVersion()
	manifest, err := pqarrow.NewSchemaManifest(meta.Schema, meta.KeyValueMetadata(), &pqarrow.ArrowReadProperties{})
	if err != nil {
		return nil, fmt.Errorf("map schema of %s to arrow: %w", path, err)
	}
	normalizeManifest(manifest, meta.Schema, nil, normalizeOptions{int96Unit: int96Unit})
	f := &fileInfo{path: path, size: st.Size(), modTime: st.ModTime().UTC(), meta: meta, fields: manifest.Fields, index: make(map[string]int, len(manifest.Fields))}
	for i, sf := range manifest.Fields {
		name := sf.Field.Name
		if _, dup := f.index[name]; dup {
			return nil, fmt.Errorf("read schema of %s: column %q appears twice", path, name)
		}
		f.index[name] = i
	}
	return f, nil
}

// readerProperties are the Parquet reader settings for local files: each
// column chunk is streamed from the file through a buffer of
// readBufferSize bytes (grown for a larger page) instead of being read
// whole, so the memory a row group takes does not grow with its size.
func readerProperties() *parquet.ReaderProperties {
	// The decoder keeps pooled page buffers that are freed by finalizers,
	// so they come from the Go allocator, not from OpenOptions.Mem.
	rp := parquet.NewReaderProperties(nil)
	rp.BufferedStreamEnabled = true
	rp.BufferSize = readBufferSize
	return rp
}

// normalizeOptions say what normalizeManifest is for.
type normalizeOptions struct {
	// reading is set for the manifest the split reader hands pqarrow, unset
	// for the schema the source promises. The two differ where pqarrow
	// cannot read a column straight into the promised type: INT96 leaves
	// are read as int96Raw, and legacy two-level lists keep the struct
	// pqarrow puts around their elements; reshape (reshape.go) turns what
	// pqarrow read into the promised type.
	reading bool
	// int96Unit is the unit of the Timestamps INT96 leaves come out as.
	int96Unit arrow.TimeUnit
}

// normalizeManifest adjusts the Arrow types pqarrow inferred for m, whose
// Parquet schema is descr, to what the source promises: dictionary types
// become their value types, so the leaf readers decode dictionary-encoded
// columns into plain arrays; large strings and binaries become String and
// Binary; timestamps stored with isAdjustedToUTC=false get no time zone
// (pqarrow v15 marked every timestamp UTC); INT96 timestamps get the
// configured unit; and the elements of legacy two-level lists lose the
// one-field struct pqarrow wraps them in (lists.go). Types of nested fields
// are rebuilt from their children. Top-level leaves in keepDict stay
// dictionaries of String or Binary, for the split reader to expand (see
// dict.go).
func normalizeManifest(m *pqarrow.SchemaManifest, descr *schema.Schema, keepDict map[int]bool, opts normalizeOptions) {
	for i := range m.Fields {
		sf := &m.Fields[i]
		if len(sf.Children) == 0 && keepDict[sf.ColIndex] && sf.Field != nil && isStringDict(sf.Field.Type) {
			continue
		}
		normalizeField(sf, descr, opts)
	}
}

// isStringDict reports whether t is a dictionary of String or Binary with
// int32 indices, the kind expandDictionary takes.
func isStringDict(t arrow.DataType) bool {
	d, ok := t.(*arrow.DictionaryType)
	return ok && d.IndexType.ID() == arrow.INT32 && (d.ValueType.ID() == arrow.STRING || d.ValueType.ID() == arrow.BINARY)
}

func normalizeField(sf *pqarrow.SchemaField, descr *schema.Schema, opts normalizeOptions) {
	if sf.Field == nil {
		return
	}
	var t arrow.DataType
	if len(sf.Children) == 0 {
		t = leafType(sf.Field.Type, descr.Column(sf.ColIndex), opts)
	} else {
		for i := range sf.Children {
			normalizeField(&sf.Children[i], descr, opts)
		}
		t = nestedType(sf.Field.Type, sf.Children)
		t = listElemNullability(t, sf)
		if !opts.reading {
			t = unwrapLegacyList(sf.Field.Name, t)
		}
	}
	if t != sf.Field.Type {
		f := *sf.Field
		f.Type = t
		sf.Field = &f
	}
}

// leafType returns the type a leaf column of type t is read as.
func leafType(t arrow.DataType, col *schema.Column, opts normalizeOptions) arrow.DataType {
	if d, ok := t.(*arrow.DictionaryType); ok {
		t = d.ValueType
	}
	// Extension types (pqarrow v18 reads the UUID logical type as
	// arrow.uuid) come out as their storage: UUID as FixedSizeBinary(16),
	// which loads into UUID and FixedString(16) columns.
	if e, ok := t.(arrow.ExtensionType); ok {
		t = e.StorageType()
	}
	// Large variants come from a stored Arrow schema (pandas writes
	// large_string); one batch never needs 64-bit offsets.
	switch t.ID() {
	case arrow.LARGE_STRING:
		return arrow.BinaryTypes.String
	case arrow.LARGE_BINARY:
		return arrow.BinaryTypes.Binary
	}
	ts, ok := t.(*arrow.TimestampType)
	if !ok || (ts.TimeZone != "" && ts.TimeZone != "UTC" && col.PhysicalType() != parquet.Types.Int96) {
		return t // not a timestamp, or the zone comes from a stored Arrow schema
	}
	if col.PhysicalType() == parquet.Types.Int96 {
		if opts.reading {
			return newInt96Raw()
		}
		if ts.Unit == opts.int96Unit {
			return t
		}
		return &arrow.TimestampType{Unit: opts.int96Unit, TimeZone: ts.TimeZone}
	}
	lt, ok := col.LogicalType().(schema.TimestampLogicalType)
	if !ok {
		return t
	}
	tz := ""
	if lt.IsAdjustedToUTC() || lt.IsFromConvertedType() {
		// Legacy TIMESTAMP_MILLIS/MICROS are UTC-normalized by the spec.
		tz = "UTC"
	}
	if tz == ts.TimeZone {
		return t
	}
	return &arrow.TimestampType{Unit: ts.Unit, TimeZone: tz}
}

// nestedType returns t with its child types replaced by those of children,
// or t itself when they are unchanged or t is of a kind pqarrow does not
// build from children.
func nestedType(t arrow.DataType, children []pqarrow.SchemaField) arrow.DataType {
	elem := func(f arrow.Field) (arrow.Field, bool) {
		ct := children[0].Field.Type
		if ct == f.Type {
			return f, false
		}
		f.Type = ct
		return f, true
	}
	switch t := t.(type) {
	case *arrow.ListType:
		if f, changed := elem(t.ElemField()); changed {
			return arrow.ListOfField(f)
		}
	case *arrow.LargeListType:
		if f, changed := elem(t.ElemField()); changed {
			return arrow.LargeListOfField(f)
		}
	case *arrow.FixedSizeListType:
		if f, changed := elem(t.ElemField()); changed {
			return arrow.FixedSizeListOfField(t.Len(), f)
		}
	case *arrow.StructType:
		fields := t.Fields()
		if len(fields) != len(children) {
			return t
		}
		changed := false
		for i := range fields {
			if ct := children[i].Field.Type; ct != fields[i].Type {
				fields[i].Type = ct
				changed = true
			}
		}
		if changed {
			return arrow.StructOf(fields...)
		}
	case *arrow.MapType:
		kv, ok := children[0].Field.Type.(*arrow.StructType)
		if !ok || kv.NumFields() != 2 {
			return t
		}
		k, v := kv.Field(0).Type, kv.Field(1).Type
		if k != t.KeyType() || v != t.ItemType() {
			m := arrow.MapOf(k, v)
			m.KeysSorted = t.KeysSorted
			return m
		}
	}
	return t
}

// commonSchema checks that every file holds the first file's columns with
// the same types and returns the first file's schema, each field nullable,
// and each list element, struct field and map value nullable, when it is in
// any file (writers differ on required elements: Spark's are nullable,
// pyarrow's not, for the same data).
func commonSchema(files []*fileInfo) (*arrow.Schema, error) {
	first := files[0]
	fields := make([]arrow.Field, len(first.fields))
	for i, sf := range first.fields {
		fields[i] = *sf.Field
	}
	for _, f := range files[1:] {
		if err := compatible(first, f); err != nil {
			return nil, err
		}
		for i := range fields {
			other := f.fields[f.index[fields[i].Name]].Field
			fields[i].Type, _ = mergeNullability(fields[i].Type, other.Type)
			fields[i].Nullable = fields[i].Nullable || other.Nullable
		}
	}
	return arrow.NewSchema(fields, nil), nil
}

// mergeNullability returns a with each nested field nullable where it is in
// a or in b, and whether a and b are the same type but for that (list
// element names may differ between writers; struct field names may not).
func mergeNullability(a, b arrow.DataType) (arrow.DataType, bool) {
	if arrow.TypeEqual(a, b) {
		return a, true
	}
	field := func(x, y arrow.Field) (arrow.Field, bool) {
		t, same := mergeNullability(x.Type, y.Type)
		x.Type, x.Nullable = t, x.Nullable || y.Nullable
		return x, same
	}
	switch a := a.(type) {
	case *arrow.ListType:
		if b, ok := b.(*arrow.ListType); ok {
			f, same := field(a.ElemField(), b.ElemField())
			return arrow.ListOfField(f), same
		}
	case *arrow.LargeListType:
		if b, ok := b.(*arrow.LargeListType); ok {
			f, same := field(a.ElemField(), b.ElemField())
			return arrow.LargeListOfField(f), same
		}
	case *arrow.StructType:
		if b, ok := b.(*arrow.StructType); ok && a.NumFields() == b.NumFields() {
			fields := make([]arrow.Field, a.NumFields())
			all := true
			for i := range fields {
				var same bool
				fields[i], same = field(a.Field(i), b.Field(i))
				all = all && same && a.Field(i).Name == b.Field(i).Name
			}
			return arrow.StructOf(fields...), all
		}
	case *arrow.MapType:
		if b, ok := b.(*arrow.MapType); ok {
			k, ksame := mergeNullability(a.KeyType(), b.KeyType())
			v, vsame := field(a.ItemField(), b.ItemField())
			m := arrow.MapOfWithMetadata(k, a.KeyField().Metadata, v.Type, v.Metadata)
			m.SetItemNullable(v.Nullable)
			m.KeysSorted = a.KeysSorted
			return m, ksame && vsame
		}
	}
	return a, false
}

// sameButNullability reports whether a and b differ in nested nullability
// at most.
func sameButNullability(a, b arrow.DataType) bool {
	_, same := mergeNullability(a, b)
	return same
}

// compatible reports how f's columns differ from first's, if they do:
// nullability aside, at any depth.
func compatible(first, f *fileInfo) error {
	var problems []string
	for _, sf := range first.fields {
		j, ok := f.index[sf.Field.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("column %q is missing", sf.Field.Name))
			continue
		}
		if got := f.fields[j].Field.Type; !sameButNullability(got, sf.Field.Type) {
			problems = append(problems, fmt.Sprintf("column %q is %s, not %s", sf.Field.Name, got, sf.Field.Type))
		}
	}
	for _, sf := range f.fields {
		if _, ok := first.index[sf.Field.Name]; !ok {
			problems = append(problems, fmt.Sprintf("extra column %q (%s)", sf.Field.Name, sf.Field.Type))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("schema of %s differs from %s: %s; make the files' columns agree, or load them in separate jobs", f.path, first.path, strings.Join(problems, "; "))
}

// project maps top-level column names to the file's leaf column indices,
// grouped in the order of names, and returns the schema of those columns.
func (f *fileInfo) project(names []string) ([]int, *arrow.Schema, error) {
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no columns requested")
	}
	var leaves []int
	fields := make([]arrow.Field, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		i, ok := f.index[name]
		if !ok {
			return nil, nil, fmt.Errorf("file %s has no column %q (columns: %s)", f.path, name, f.columnList())
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("column %q requested twice", name)
		}
		seen[name] = true
		leaves = appendLeaves(leaves, &f.fields[i])
		fields = append(fields, *f.fields[i].Field)
	}
	return leaves, arrow.NewSchema(fields, nil), nil
}

func appendLeaves(dst []int, sf *pqarrow.SchemaField) []int {
	// Group fields hold ColIndex 0, not -1: a leaf is a field without children.
	if len(sf.Children) == 0 {
		return append(dst, sf.ColIndex)
	}
	for i := range sf.Children {
		dst = appendLeaves(dst, &sf.Children[i])
	}
	return dst
}

func (f *fileInfo) columnList() string {
	names := make([]string, len(f.fields))
	for i, sf := range f.fields {
		names[i] = sf.Field.Name
	}
	return strings.Join(names, ", ")
}
