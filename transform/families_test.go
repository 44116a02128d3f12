package transform

// The ClickHouse type families register how hash functions read their
// columns (Date32, DateTime64, UUID, ...); the writer links them in
// production, the tests here link them the same way.
import _ "github.com/chload/chload/writer/chcol"
