package chsql

import (
	"strings"
	"testing"

	"github.com/chload/chload/internal/sqlquote"
)

func TestParseDistributed(t *testing.T) {
	cases := []struct {
		in   string
		want Distributed
	}{
		// the cases of writer/topology_test.go
		{"Distributed(test_cluster, default, events_local, cityHash64(k))", Distributed{"test_cluster", "default", "events_local", "cityHash64(k)"}},
		{"Distributed('c', 'db', 't', sipHash64(a, concat(b, ',')), 'policy')", Distributed{"c", "db", "t", "sipHash64(a, concat(b, ','))"}},
		{"Distributed(c, db, t)", Distributed{"c", "db", "t", ""}},
		{"Distributed(`c`, `d b`, t, rand())", Distributed{"c", "d b", "t", "rand()"}},
		// tricky ones
		{"Distributed(c, db, t, rand()) SETTINGS fsync_after_insert = 1", Distributed{"c", "db", "t", "rand()"}},
		{"Distributed(c, db, t, cityHash64(k)) SETTINGS bytes_to_delay_insert = 1000", Distributed{"c", "db", "t", "cityHash64(k)"}},
		{"Distributed(/* cluster */ c, -- the database\n db, t, k % 2)", Distributed{"c", "db", "t", "k % 2"}},
		{`Distributed("c", "db", "t")`, Distributed{"c", "db", "t", ""}},
		{`Distributed('c', 'it\'s', 'a,b', concat(x, ')'))`, Distributed{"c", "it's", "a,b", "concat(x, ')')"}},
		{"Distributed('c', 'it''s', t)", Distributed{"c", "it's", "t", ""}},
		{"Distributed(c, `db\\\\x`, `Täble`, intHash64(`user id`))", Distributed{"c", `db\x`, "Täble", "intHash64(`user id`)"}},
		{"Distributed(c, db, t, 'a' < k, 'p')", Distributed{"c", "db", "t", "'a' < k"}},
		{"  Distributed(c,db,t,k)  ", Distributed{"c", "db", "t", "k"}},
	}
	for _, c := range cases {
		got, err := ParseDistributed(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"MergeTree", "Distributed(c, db)", "Distributed c", "", "MergeTree ORDER BY k",
		"Distributed(c, db, f(t))", "Distributed(c, db, t", "DistributedX(c, db, t)",
	} {
		if got, err := ParseDistributed(bad); err == nil {
			t.Errorf("%s accepted: %+v", bad, got)
		}
	}
}

// FuzzParseDistributed: names written the way a server may write them
// (bare or quoted) and a sharding key read back as themselves.
func FuzzParseDistributed(f *testing.F) {
	f.Add("c", "db", "t", "k", uint8(0))
	f.Add("my cluster", "it's", "a,b", "cityHash64(x, ',')", uint8(3))
	f.Add("", "`", `"`, "", uint8(1))
	f.Fuzz(func(t *testing.T, cluster, db, table, key string, style uint8) {
		quote := []func(string) string{sqlquote.Ident, sqlquote.QuoteIdent, sqlquote.String}
		if strings.ContainsAny(cluster+db+table, "`\"") && style%3 != 2 {
			return // the SQL parser cannot read every such name back as an identifier (see sqlquote.QuoteIdent)
		}
		for _, n := range []string{cluster, db, table} {
			if n == "" && style%3 != 2 {
				return // an empty identifier is not a name
			}
		}
		q := quote[style%3]
		in := "Distributed(" + q(cluster) + ", " + q(db) + ", " + q(table)
		want := Distributed{Cluster: cluster, Database: db, Table: table}
		if style >= 128 && key != "" {
			in += ", " + sqlquote.String(key) // a literal key keeps the sketch simple and any text valid
			want.ShardingKey = sqlquote.String(key)
		}
		in += ")"
		got, err := ParseDistributed(in)
		if err != nil || got != want {
			t.Fatalf("%s: got %+v, %v; want %+v", in, got, err, want)
		}
	})
}
