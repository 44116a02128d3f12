package parquet

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/apache/arrow-go/v18/parquet"

	"github.com/chload/chload/internal/bytesize"
)

// Defaults of Config.MaxPageBytes and Config.MaxUncompressedPageBytes:
// arrow-go's own limits.
const (
	DefaultMaxPageBytes             = bytesize.Size(parquet.DefaultMaxCompressedPageSize)
	DefaultMaxUncompressedPageBytes = bytesize.Size(parquet.DefaultMaxUncompressedPageSize)
)

// pageLimits returns the compressed and uncompressed page size caps.
func (s *Source) pageLimits() (compressed, uncompressed int64) {
	compressed, uncompressed = int64(s.cfg.MaxPageBytes), int64(s.cfg.MaxUncompressedPageBytes)
	if compressed <= 0 {
		compressed = int64(DefaultMaxPageBytes)
	}
	if uncompressed <= 0 {
		uncompressed = int64(DefaultMaxUncompressedPageBytes)
	}
	return compressed, uncompressed
}

// arrowPageLimit matches arrow-go's message for a page over a cap.
var arrowPageLimit = regexp.MustCompile(`(uncompressed|compressed) page size (\d+) exceeds configured limit (\d+)`)

// pageLimitError is a page over one of the caps.
type pageLimitError struct {
	key          string // the setting to raise
	uncompressed bool
	size, limit  int64
	err          error // arrow-go's
}

func (e *pageLimitError) Error() string {
	what := "compressed"
	if e.uncompressed {
		what = "uncompressed"
	}
	return fmt.Sprintf("a page holds %d bytes %s, more than %s allows (%s): raise the source's %s if the file is trusted",
		e.size, what, e.key, bytesize.Size(e.limit), e.key)
}

func (e *pageLimitError) Unwrap() error { return e.err }

// explainPageLimit turns arrow-go's error for a page over a cap into one
// that names the setting; other errors pass unchanged.
func (s *Source) explainPageLimit(err error) error {
	var already *pageLimitError
	if err == nil || errors.As(err, &already) {
		return err
	}
	m := arrowPageLimit.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	size, err1 := strconv.ParseInt(m[2], 10, 64)
	limit, err2 := strconv.ParseInt(m[3], 10, 64)
	if err1 != nil || err2 != nil {
		return err
	}
	e := &pageLimitError{key: "max_page_bytes", size: size, limit: limit, err: err}
	if m[1] == "uncompressed" {
		e.key, e.uncompressed = "max_uncompressed_page_bytes", true
	}
	return e
}
