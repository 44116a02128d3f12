// Package jobs loads and validates job files, plans runs and drives them:
// source splits are read, converted and handed to the writer.
package jobs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

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
	node          ast.Node
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
		if err := yaml.NodeToValue(connectorNode(s.node), v, yaml.Strict()); err != nil {
			return fmt.Errorf("source: %s", yamlMessage(err))
		}
		return nil
	}
}

// connectorNode is the source section without the job-level keys.
func connectorNode(n ast.Node) ast.Node {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return n
	}
	c := *m
	c.Values = nil
	for _, v := range m.Values {
		if v.Key != nil && jobLevelSourceKeys[v.Key.GetToken().Value] {
			continue
		}
		c.Values = append(c.Values, v)
	}
	return &c
}

// MarshalYAML prints the source section as written (after expansion).
func (s SourceSpec) MarshalYAML() (any, error) {
	var m yaml.MapSlice
	if s.node == nil {
		return m, nil
	}
	if err := yaml.NodeToValue(s.node, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Target is the target section.
type Target struct {
	// ClickHouse says how to reach the server.
	ClickHouse ClickHouse `yaml:"clickhouse"`
	// Table is "database.table" (database defaults to "default"): a
	// MergeTree-family table, or a Distributed table, which chload resolves
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

// Database is the target table's database.
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
	// Password is never printed. Optional, defaults to $CH_PASSWORD.
	Password Secret `yaml:"password"`
	// Compression of the native protocol: auto, lz4, zstd or none. auto is
	// none for loopback addresses and lz4 for others. Optional, defaults to
	// auto.
	Compression string `yaml:"compression"`
	// DialTimeout bounds connecting. Optional, defaults to 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
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

// MarshalYAML masks the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

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

// rawJob mirrors Job for strict decoding; source stays a node.
type rawJob struct {
	Version int      `yaml:"version"`
	Name    string   `yaml:"name"`
	Source  ast.Node `yaml:"source"`
	Target  Target   `yaml:"target"`
	Write   Write    `yaml:"write"`
}

// Parse expands variables in data, decodes it strictly, applies defaults and
// the environment, and validates the result.
func Parse(data []byte, opt LoadOptions) (*Job, error) {
	env := opt.Env
	if env == nil {
		env = os.LookupEnv
	}
	text, err := Expand(string(data), opt.Vars, env)
	if err != nil {
		return nil, err
	}
	var raw rawJob
	if err := yaml.UnmarshalWithOptions([]byte(text), &raw, yaml.Strict()); err != nil {
		return nil, errors.New(yamlMessage(err))
	}
	job := &Job{Version: raw.Version, Name: raw.Name, Target: raw.Target, Write: raw.Write}
	if raw.Source != nil {
		var head struct {
			Type               string `yaml:"type"`
			IgnoreExtraColumns bool   `yaml:"ignore_extra_columns"`
			NullAsDefault      bool   `yaml:"null_as_default"`
		}
		if err := yaml.NodeToValue(raw.Source, &head); err != nil {
			return nil, fmt.Errorf("source: %s", yamlMessage(err))
		}
		job.Source = SourceSpec{Type: head.Type, IgnoreExtraColumns: head.IgnoreExtraColumns, NullAsDefault: head.NullAsDefault, node: raw.Source}
	}
	job.applyDefaults(env)
	if err := job.Validate(); err != nil {
		return nil, err
	}
	return job, nil
}

func (j *Job) applyDefaults(env func(string) (string, bool)) {
	get := func(k, def string) string {
		if v, ok := env(k); ok && v != "" {
			return v
		}
		return def
	}
	ch := &j.Target.ClickHouse
	if len(ch.Hosts) == 0 {
		ch.Hosts = []string{get("CH_HOST", "127.0.0.1") + ":" + get("CH_PORT", "9000")}
	}
	if ch.User == "" {
		ch.User = get("CH_USER", "default")
	}
	if ch.Password == "" {
		ch.Password = Secret(get("CH_PASSWORD", ""))
	}
	if ch.Compression == "" {
		ch.Compression = "auto"
	}
	if ch.DialTimeout == 0 {
		ch.DialTimeout = 10 * time.Second
	}
	w := &j.Write
	if w.Mode == "" {
		w.Mode = "append"
	}
	if w.BatchRows == 0 {
		w.BatchRows = DefaultBatchRows
	}
	if w.MaxBufferBytes == 0 {
		w.MaxBufferBytes = DefaultMaxBufferBytes
	}
	if w.NodeConcurrency == 0 {
		w.NodeConcurrency = DefaultConcurrency
	}
	if w.Readers == 0 {
		w.Readers = DefaultReaders
	}
	if w.MaxPause == nil {
		d := DefaultMaxPause
		w.MaxPause = &d
	}
}

// Validate returns every problem at once, each naming its key.
func (j *Job) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if j.Version != 1 {
		bad("version", "must be 1, got %d", j.Version)
	}
	if strings.TrimSpace(j.Name) == "" {
		bad("name", "required: a short name for logs and summaries")
	}
	if j.Source.node == nil {
		bad("source", "required")
	} else if j.Source.Type == "" {
		bad("source.type", "required (known: %s)", strings.Join(sources.Names(), ", "))
	}
	if j.Target.Table == "" {
		bad("target.table", "required, as database.table")
	} else if db, tbl := j.Target.Database(), j.Target.TableName(); db == "" || tbl == "" || strings.Contains(tbl, ".") {
		bad("target.table", "%q is not database.table", j.Target.Table)
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
	if j.Target.ClickHouse.DialTimeout < 0 {
		bad("target.clickhouse.dial_timeout", "must be positive")
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
	if w.MaxConcurrency < 0 || w.MaxConcurrency > 256 {
		bad("write.max_concurrency", "must be 1..256, got %d", w.MaxConcurrency)
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

// yamlMessage flattens a go-yaml error, which carries the line and column,
// into one readable message without colour codes.
func yamlMessage(err error) string {
	msg := yaml.FormatError(err, false, false)
	return strings.TrimSpace(msg)
}

// PauseLimit is write.max_pause: how long a batch may wait while every
// replica of its shard is paused (0: forever).
func (w Write) PauseLimit() time.Duration {
	if w.MaxPause == nil {
		return DefaultMaxPause
	}
	return *w.MaxPause
}
