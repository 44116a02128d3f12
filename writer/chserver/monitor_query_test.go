package chserver

import (
	"maps"
	"strings"
	"testing"
)

func TestIsInsertQuery(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{"INSERT INTO t (a) VALUES", true},
		{"insert into t format Native", true},
		{"  \n\tInSeRt INTO t", true},
		{"/* chload */ INSERT INTO t", true},
		{"/* a /* nested */ comment */INSERT INTO t", true},
		{"-- line\nINSERT INTO t", true},
		{"# line\n  -- two\n/**/insert\tinto t", true},
		{"INSERT", true},
		{"INSERT(", true},
		{"SELECT * FROM t", false},
		{"SELECT 'INSERT'", false},
		{"INSERTS", false},
		{"insert_x", false},
		{"/* INSERT */ SELECT 1", false},
		{"-- INSERT", false},
		{"/* unterminated INSERT", false},
		{"", false},
		{"CREATE TABLE t AS SELECT", false},
		{"WITH 1 AS x SELECT x", false},
		{monitorMarker + " SELECT 1", false},
	}
	for _, tc := range tests {
		if got := isInsertQuery(tc.q); got != tc.want {
			t.Errorf("isInsertQuery(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestEngineSettings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]int
	}{
		{name: "engine_full 18.16", in: "MergeTree PARTITION BY toYYYYMM(d) ORDER BY k SETTINGS parts_to_delay_insert = 8, index_granularity = 8192",
			want: map[string]int{"parts_to_delay_insert": 8, "index_granularity": 8192}},
		{name: "create query", in: "CREATE TABLE db.t ( d Date,  k UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}') PARTITION BY toYYYYMM(d) ORDER BY k SETTINGS index_granularity = 8192, parts_to_throw_insert = 600",
			want: map[string]int{"index_granularity": 8192, "parts_to_throw_insert": 600}},
		{name: "no settings", in: "MergeTree ORDER BY k", want: nil},
		{name: "settings in a string", in: "MergeTree PARTITION BY x ORDER BY (k, 'SETTINGS a = 1')", want: nil},
		{name: "settings in parentheses", in: "MergeTree ORDER BY f(SETTINGS = 1)", want: nil},
		{name: "comment after", in: "CREATE TABLE t (k UInt64) ENGINE = MergeTree ORDER BY k SETTINGS parts_to_delay_insert = 100 COMMENT 'x = 1'",
			want: map[string]int{"parts_to_delay_insert": 100}},
		{name: "string and float values skipped", in: "MergeTree ORDER BY k SETTINGS storage_policy = 'default', ratio = 0.5, parts_to_delay_insert = 20, quoted = '7'",
			want: map[string]int{"parts_to_delay_insert": 20, "quoted": 7}},
		{name: "negative", in: "MergeTree ORDER BY k SETTINGS a = -3, b = 4", want: map[string]int{"a": -3, "b": 4}},
		{name: "upper case", in: "MergeTree ORDER BY k settings PARTS_TO_DELAY_INSERT=12", want: map[string]int{"parts_to_delay_insert": 12}},
		{name: "last settings wins", in: "MergeTree ORDER BY k SETTINGS a = 1 SETTINGS b = 2", want: map[string]int{"b": 2}},
		{name: "truncated", in: "MergeTree ORDER BY k SETTINGS a =", want: map[string]int{}},
		{name: "escaped quote", in: `MergeTree PARTITION BY 'it\'s SETTINGS x = 1' ORDER BY k SETTINGS a = 5`, want: map[string]int{"a": 5}},
	}
	for _, tc := range tests {
		got := engineSettings(tc.in)
		if !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%s: engineSettings(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func FuzzIsInsertQuery(f *testing.F) {
	for _, s := range []string{"INSERT INTO t", "/* x */insert", "-- a\nSELECT", "/* /* */", "#\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got := isInsertQuery(q)
		// A leading space or comment never changes the answer.
		if isInsertQuery(" /* c */\n"+q) != got {
			t.Fatalf("a leading comment changed the answer for %q", q)
		}
		if got && !strings.Contains(strings.ToLower(q), "insert") {
			t.Fatalf("isInsertQuery(%q) = true without the word insert", q)
		}
	})
}

func FuzzEngineSettings(f *testing.F) {
	for _, s := range []string{
		"MergeTree ORDER BY k SETTINGS parts_to_delay_insert = 8, index_granularity = 8192",
		"MergeTree ORDER BY (a, 'x') SETTINGS a = -1",
		"SETTINGS",
		"'unterminated SETTINGS a = 1",
		"/* SETTINGS a = 1 */ x",
		"`a` SETTINGS b = '3'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := engineSettings(s)
		for name := range got {
			if name == "" || name != strings.ToLower(name) {
				t.Fatalf("engineSettings(%q) gave setting name %q", s, name)
			}
		}
		if !strings.Contains(strings.ToUpper(s), "SETTINGS") && got != nil {
			t.Fatalf("engineSettings(%q) = %v without a SETTINGS clause", s, got)
		}
	})
}
