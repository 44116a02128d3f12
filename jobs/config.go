// Package jobs loads and validates job files, plans runs and drives them:
// source splits are read, converted and handed to the writer.
package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/chload/chload/internal/bytesize"
	"github.com/chload/chload/sources"
)

// Defaults for the write section.
const (
	DefaultBatchRows      = 1_000_000
	DefaultMaxBufferBytes = ByteSize(1 << 30)
	DefaultConcurrency    = 2 // per node, the cap under auto
	DefaultReaders        = 2
	DefaultMaxPause       = 30 * time.Minute
)

// Job is a parsed job file, version 1.
type Job struct {
	// Version is the job file format; only 1 exists.
	Version int `yaml:"version"`
	// Name names the job in logs and summaries.
	Name string `yaml:"name"`
	// Source says where the rows come from; its keys belong to the connector.
	Source SourceSpec `yaml:"source"`
	// Target is the ClickHouse table the rows go to.
	Target Target `yaml:"target"`
	// Write tunes batching and concurrency.
	Write Write `yaml:"write"`

	// Path is the file the job came from, for messages.
	Path string `yaml:"-"`

	// lines maps each key the file gave a value to its line; a key
	// missing here was left out (and took its default).
	lines map[string]int
	// incomplete are keys whose value was already reported (a variable
	// that is not set, a value that cannot be decoded); Validate skips them.
	incomplete map[string]bool
}

// SourceSpec is the source section: the connector's name and its raw YAML,
// which the connector decodes itself (strictly).
type SourceSpec struct {
	// Type is the connector name, e.g. "parquet".
	Type string
	// IgnoreExtraColumns lets source columns the target lacks be skipped
	// instead of failing the run. Optional, defaults to false.
	IgnoreExtraColumns bool
	// NullAsDefault stores a NULL bound for a non-Nullable column as the
	// column type's default (0, '', the epoch, an empty array), as
	// ClickHouse's input_format_null_as_default does, instead of failing
	// the run. Optional, defaults to false (strict).
	NullAsDefault bool
	node          *vnode
}

// jobLevelSourceKeys are the source keys the job reads itself (the fields
// of SourceSpec) and removes before a connector decodes its section, so no
// connector declares them.
var jobLevelSourceKeys = map[string]bool{"type": true, "ignore_extra_columns": true, "null_as_default": true}

// Decoder returns the strict decoder connectors use for their section.
func (s SourceSpec) Decoder() sources.Decoder {
	return func(v any) error {
		if s.node == nil {
			return errors.New("source: section missing")
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
			return errors.New("source: the connector's settings cannot be read")
		}
		d := newDecodeState()
		d.decodeStruct(s.node, "source", rv.Elem(), jobLevelSourceKeys)
		if len(d.incomplete) > 0 {
			return errors.New("source: a variable it names is not set")
		}
		return errors.Join(d.probs...)
	}
}

// MarshalYAML prints the source section as written (after expansion),
// with the values of secret keys masked.
func (s SourceSpec) MarshalYAML() (any, error) {
	if s.node == nil {
		return yaml.MapSlice{}, nil
	}
	return s.node.masked(), nil
}

// Target is the target section.
type Target struct {
	// ClickHouse says how to reach the server.
	ClickHouse ClickHouse `yaml:"clickhouse"`
	// Table is "database.table" (a name without a database is refused):
	// a MergeTree-family table, or a Distributed table, which chload resolves
	// to its cluster and local table and never inserts through.
	Table string `yaml:"table"`
	// Cluster, with a local table, names the cluster (system.clusters)
	// whose shards hold it. Optional.
	Cluster string `yaml:"cluster"`
	// ShardingKey, with Cluster, routes rows to shards as a Distributed
	// table would. Optional, defaults to rand().
	ShardingKey string `yaml:"sharding_key"`
	// InternalReplication says whether a batch goes to one replica of its
	// shard (true) or to every replica (false). Optional, defaults to true
	// for Replicated* tables and false for others.
	InternalReplication *bool `yaml:"internal_replication"`
}

// Database is the target table's database ("default" for a name without
// one, which Validate refuses).
func (t Target) Database() string {
	if db, _, ok := strings.Cut(t.Table, "."); ok {
		return db
	}
	return "default"
}

// TableName is the target table's name without its database.
func (t Target) TableName() string {
	if _, tbl, ok := strings.Cut(t.Table, "."); ok {
		return tbl
	}
	return t.Table
}

// ClickHouse is the connection section.
type ClickHouse struct {
	// Hosts are "host:port" native-protocol addresses. Optional, defaults to
	// $CH_HOST:$CH_PORT (127.0.0.1:9000).
	Hosts []string `yaml:"hosts"`
	// User is the ClickHouse user. Optional, defaults to $CH_USER or "default".
	User string `yaml:"user"`
	// Password is never printed. Optional, defaults to the content of
	// PasswordFile, else $CH_PASSWORD.
	Password Secret `yaml:"password"`
	// PasswordFile names a file holding the password (one trailing newline
	// is dropped), as container platforms mount secrets; it is read when
	// the job file is loaded. Optional; not with Password.
	PasswordFile string `yaml:"password_file,omitempty"`
	// Compression of the native protocol: auto, lz4, zstd or none. auto is
	// none for loopback addresses and lz4 for others. Optional, defaults to
	// auto.
	Compression string `yaml:"compression"`
	// DialTimeout bounds connecting. Optional, defaults to 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Secure speaks the native protocol over TLS (the server's
	// tcp_port_secure, usually 9440). Optional, defaults to false.
	Secure bool `yaml:"secure"`
	// CAFile is a PEM file of the CAs that sign the server's certificate.
	// Optional, defaults to the system's CAs.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// servers that ask for one. Optional; both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify accepts any server certificate: for tests only.
	// Optional, defaults to false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Write is the write section.
type Write struct {
	// Mode is how rows meet what the table holds; only "append" so far.
	// Optional, defaults to append.
	Mode string `yaml:"mode"`
	// BatchRows is the most rows in one insert (one new part). Optional,
	// defaults to 1,000,000.
	BatchRows int `yaml:"batch_rows"`
	// MaxBufferBytes caps the rows held in memory across partitions; when
	// reached the largest partition buffer is flushed early. Optional,
	// defaults to 1GiB.
	MaxBufferBytes ByteSize `yaml:"max_buffer_bytes"`
	// Concurrency is the number of concurrent inserts per node: "auto"
	// derives it from each node's load (merges, queries, parts), a number
	// fixes it. Optional, defaults to auto.
	Concurrency Concurrency `yaml:"concurrency"`
	// MaxConcurrency caps concurrent inserts over all nodes. Optional,
	// defaults to the servers' cores (max_threads) per host, shared by the
	// nodes on a host and at most node_concurrency per node; with a fixed
	// concurrency, that number per node.
	MaxConcurrency int `yaml:"max_concurrency"`
	// NodeConcurrency caps concurrent inserts on one node under auto.
	// Optional, defaults to 2.
	NodeConcurrency int `yaml:"node_concurrency"`
	// Readers is the number of splits read at once. Optional, defaults to 2.
	Readers int `yaml:"readers"`
	// MaxPause ends the run with an error when every replica of a shard
	// stays paused (too many parts, read-only, down) that long while a
	// batch waits for it; 0s waits forever. Optional, defaults to 30m.
	MaxPause *time.Duration `yaml:"max_pause"`
}

// Concurrency is "auto" (0) or a fixed number of concurrent inserts per
// node.
type Concurrency int

// Auto says the concurrency follows each node's load.
const Auto Concurrency = 0

// UnmarshalYAML reads "auto" or a number.
func (c *Concurrency) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	if strings.TrimSpace(s) == "auto" {
		*c = Auto
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return fmt.Errorf("concurrency %q: write auto or a number of inserts per node from 1", s)
	}
	*c = Concurrency(n)
	return nil
}

// MarshalYAML prints auto or the number.
func (c Concurrency) MarshalYAML() (any, error) {
	if c == Auto {
		return "auto", nil
	}
	return int(c), nil
}

// Secret is a string that never prints.
type Secret string

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "******"
}

// GoString masks the secret in %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalYAML masks the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON masks the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// ByteSize is a size in bytes; the job file may say 1073741824, "1GiB",
// "512MiB", "64KiB", "1GB" or "500MB" (the syntax every size key shares).
type ByteSize = bytesize.Size

// ParseByteSize parses "1GiB", "512MiB", "1GB", "100" and the like.
func ParseByteSize(s string) (ByteSize, error) { return bytesize.Parse(s) }

// LoadOptions are the inputs that are not in the file.
type LoadOptions struct {
	// Vars are --var KEY=VALUE flags; they win over the environment.
	Vars map[string]string
	// Env looks up environment variables. Optional, defaults to os.LookupEnv.
	Env func(string) (string, bool)
}

// Load reads, expands, decodes and validates a job file.
func Load(path string, opt LoadOptions) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	job, err := Parse(data, opt)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	job.Path = path
	return job, nil
}

// ConfigError is a job file that cannot be used: unreadable, bad YAML, an
// unknown key, a missing variable, or values that fail validation.
type ConfigError struct {
	Path string
	Err  error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("job file %s: %v", e.Path, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

// rawJob mirrors Job for decoding; source stays a node for its connector.
type rawJob struct {
	Version int    `yaml:"version"`
	Name    string `yaml:"name"`
	Source  *vnode `yaml:"source"`
	Target  Target `yaml:"target"`
	Write   Write  `yaml:"write"`
}

// sourceHead is the part of the source section the job reads itself.
type sourceHead struct {
	Type               string `yaml:"type"`
	IgnoreExtraColumns bool   `yaml:"ignore_extra_columns"`
	NullAsDefault      bool   `yaml:"null_as_default"`
}

// Parse parses data, expands the variables inside its values, decodes it
// strictly, applies defaults and the environment, reads a password file,
// and validates the result. Every problem is reported at once, each under
// its key and line; no secret appears in the error.
func Parse(data []byte, opt LoadOptions) (*Job, error) {
	env := opt.Env
	if env == nil {
		env = os.LookupEnv
	}
	root, tb, err := parseTree(data, lookupIn(opt.Vars, env))
	if err != nil {
		return nil, err
	}
	errs := tb.errors()
	secrets := tb.secrets
	d := newDecodeState()
	var raw rawJob
	if root.kind == vNull {
		errs = append(errs, errors.New("the file is empty: a job needs version, name, source and target"))
	} else {
		d.decode(root, "", reflect.ValueOf(&raw).Elem())
	}
	job := &Job{Version: raw.Version, Name: raw.Name, Target: raw.Target, Write: raw.Write, lines: d.lines, incomplete: d.incomplete}
	if raw.Source != nil && raw.Source.kind != vNull {
		var head sourceHead
		if raw.Source.kind == vMap {
			only := &vnode{kind: vMap, line: raw.Source.line}
			for _, k := range raw.Source.keys {
				if jobLevelSourceKeys[k.name] {
					only.keys = append(only.keys, k)
				}
			}
			d.decodeStruct(only, "source", reflect.ValueOf(&head).Elem(), nil)
		} else {
			d.decodeStruct(raw.Source, "source", reflect.ValueOf(&head).Elem(), nil)
		}
		job.Source = SourceSpec{Type: head.Type, IgnoreExtraColumns: head.IgnoreExtraColumns, NullAsDefault: head.NullAsDefault, node: raw.Source}
	}
	errs = append(errs, d.probs...)
	job.applyDefaults(env)
	if p := job.Target.ClickHouse.Password; p != "" {
		secrets = append(secrets, string(p))
	}
	if err := job.readPasswordFile(); err != nil {
		errs = append(errs, err)
	} else if p := job.Target.ClickHouse.Password; p != "" {
		secrets = append(secrets, string(p))
	}
	if err := job.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := job.checkSource(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.New(redact(errors.Join(errs...).Error(), secrets))
	}
	return job, nil
}

// checkSource has the connector decode and check its section, so that its
// problems are reported with the rest of the file's. It is skipped when the
// connector is not registered (Validate names the known ones) or the
// section is already reported. Building a source reads no data.
func (j *Job) checkSource() error {
	n := j.Source.node
	if n == nil || n.kind != vMap || j.Source.Type == "" || !slices.Contains(sources.Names(), j.Source.Type) {
		return nil
	}
	for _, k := range n.keys {
		if j.incomplete["source."+k.name] || k.val.incomplete {
			return nil
		}
	}
	src, err := sources.New(j.Source.Type, j.Source.Decoder())
	if err != nil {
		return err
	}
	return src.Close()
}

// isSet says whether the file gave key a value (even 0 or "").
func (j *Job) isSet(key string) bool {
	_, ok := j.lines[key]
	return ok
}

// applyDefaults fills the keys the file left out; a key given a value,
// even 0 or "", keeps it (Validate judges it).
func (j *Job) applyDefaults(env func(string) (string, bool)) {
	get := func(k, def string) string {
		if v, ok := env(k); ok && v != "" {
			return v
		}
		return def
	}
	unset := func(key string) bool { return !j.isSet(key) && !j.incomplete[key] }
	ch := &j.Target.ClickHouse
	if unset("target.clickhouse.hosts") {
		ch.Hosts = []string{get("CH_HOST", "127.0.0.1") + ":" + get("CH_PORT", "9000")}
	}
	if unset("target.clickhouse.user") {
		ch.User = get("CH_USER", "default")
	} else if ch.User == "" {
		ch.User = "default"
	}
	if unset("target.clickhouse.password") && unset("target.clickhouse.password_file") {
		ch.Password = Secret(get("CH_PASSWORD", ""))
	}
	if unset("target.clickhouse.compression") {
		ch.Compression = "auto"
	}
	if unset("target.clickhouse.dial_timeout") {
		ch.DialTimeout = 10 * time.Second
	}
	w := &j.Write
	if unset("write.mode") {
		w.Mode = "append"
	}
	if unset("write.batch_rows") {
		w.BatchRows = DefaultBatchRows
	}
	if unset("write.max_buffer_bytes") {
		w.MaxBufferBytes = DefaultMaxBufferBytes
	}
	if unset("write.node_concurrency") {
		w.NodeConcurrency = DefaultConcurrency
	}
	if unset("write.readers") {
		w.Readers = DefaultReaders
	}
	if w.MaxPause == nil {
		d := DefaultMaxPause
		w.MaxPause = &d
	}
}

// readPasswordFile reads target.clickhouse.password_file into the
// password, dropping one trailing newline (as Docker and Kubernetes
// secrets are usually written). An error names the key and the path,
// never the content.
func (j *Job) readPasswordFile() error {
	const key = "target.clickhouse.password_file"
	ch := &j.Target.ClickHouse
	if !j.isSet(key) {
		return nil
	}
	where := problem{key: key, line: j.lines[key]}
	if j.isSet("target.clickhouse.password") {
		where.msg = "set password or password_file, not both"
		return where
	}
	if ch.PasswordFile == "" {
		where.msg = "is empty: name the file that holds the password"
		return where
	}
	b, err := os.ReadFile(ch.PasswordFile)
	if err != nil {
		where.msg = fmt.Sprintf("cannot read the password file %q: %v", ch.PasswordFile, pathErrReason(err))
		return where
	}
	s := string(b)
	if strings.HasSuffix(s, "\n") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	ch.Password = Secret(s)
	return nil
}

// pathErrReason is why a file could not be read, without repeating its path.
func pathErrReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Validate returns every problem at once, each naming its key (and its
// line, for a job read from a file). Keys whose value names a variable
// that is not set are skipped: the missing variable is reported instead.
func (j *Job) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		if j.incomplete[key] {
			return
		}
		errs = append(errs, problem{key: key, line: j.lines[key], msg: fmt.Sprintf(format, args...)})
	}
	if j.Version != 1 {
		bad("version", "must be 1, got %d", j.Version)
	}
	if strings.TrimSpace(j.Name) == "" {
		bad("name", "required: a short name for logs and summaries")
	}
	if j.Source.node == nil || j.Source.node.kind == vNull {
		if !j.incomplete["source"] {
			bad("source", "required")
		}
	} else if j.Source.Type == "" {
		bad("source.type", "required (known: %s)", strings.Join(sources.Names(), ", "))
	}
	if j.Target.Table == "" {
		bad("target.table", "required, as database.table")
	} else if db, tbl, ok := strings.Cut(j.Target.Table, "."); !ok {
		bad("target.table", "%q names no database: write database.table, e.g. default.%s", j.Target.Table, j.Target.Table)
	} else if db == "" || tbl == "" || strings.Contains(tbl, ".") {
		bad("target.table", "%q is not database.table", j.Target.Table)
	}
	if j.isSet("target.clickhouse.hosts") && len(j.Target.ClickHouse.Hosts) == 0 {
		bad("target.clickhouse.hosts", "needs at least one host:port (leave the key out for $CH_HOST:$CH_PORT)")
	}
	for i, h := range j.Target.ClickHouse.Hosts {
		host, port, ok := strings.Cut(h, ":")
		if p, err := strconv.Atoi(port); !ok || host == "" || err != nil || p <= 0 || p > 65535 {
			bad(fmt.Sprintf("target.clickhouse.hosts[%d]", i), "%q is not host:port", h)
		}
	}
	switch j.Target.ClickHouse.Compression {
	case "auto", "lz4", "zstd", "none":
	default:
		bad("target.clickhouse.compression", "%q is not one of auto, lz4, zstd, none", j.Target.ClickHouse.Compression)
	}
	if j.Target.ClickHouse.DialTimeout <= 0 {
		bad("target.clickhouse.dial_timeout", "must be positive, got %s", j.Target.ClickHouse.DialTimeout)
	}
	if _, err := j.Target.ClickHouse.TLSConfig(); err != nil {
		errs = append(errs, err)
	}
	w := j.Write
	if w.Mode != "append" {
		bad("write.mode", "%q is not supported (supported: append)", w.Mode)
	}
	if w.BatchRows < 1 {
		bad("write.batch_rows", "must be at least 1, got %d", w.BatchRows)
	}
	if w.MaxBufferBytes < 1<<20 {
		bad("write.max_buffer_bytes", "must be at least 1MiB, got %s", w.MaxBufferBytes)
	}
	if w.Concurrency < 0 || w.Concurrency > 64 {
		bad("write.concurrency", "must be auto or 1..64, got %d", w.Concurrency)
	}
	if w.MaxConcurrency < 0 || w.MaxConcurrency > 256 || (w.MaxConcurrency == 0 && j.isSet("write.max_concurrency")) {
		bad("write.max_concurrency", "must be 1..256, got %d (leave the key out for the default)", w.MaxConcurrency)
	}
	if w.NodeConcurrency < 1 || w.NodeConcurrency > 64 {
		bad("write.node_concurrency", "must be 1..64, got %d", w.NodeConcurrency)
	}
	if j.Target.ShardingKey != "" && j.Target.Cluster == "" {
		bad("target.sharding_key", "needs target.cluster (a Distributed table brings its own)")
	}
	if w.Readers < 1 || w.Readers > 64 {
		bad("write.readers", "must be 1..64, got %d", w.Readers)
	}
	if w.MaxPause != nil && *w.MaxPause < 0 {
		bad("write.max_pause", "must be a duration such as 30m, or 0s to wait forever, got %s", *w.MaxPause)
	}
	return errors.Join(errs...)
}

// PauseLimit is write.max_pause: how long a batch may wait while every
// replica of its shard is paused (0: forever).
func (w Write) PauseLimit() time.Duration {
	if w.MaxPause == nil {
		return DefaultMaxPause
	}
	return *w.MaxPause
}
