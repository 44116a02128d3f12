package chcol

import (
	"strconv"
	"unicode/utf8"
)

// ValueError is the refusal of one source value by Converter.Convert. The caller adds
// where the array came from (file, row group, column).
type ValueError struct {
	// Row is the index of the refused value within the source array passed to Convert.
	Row int
	// Value is the refused value as the user would read it: numbers in decimal,
	// strings quoted, times as "2006-01-02 15:04:05", NULL as "NULL".
	Value string
	// Reason says why the value was refused, e.g. "does not fit UInt8 (range 0..255)".
	Reason string
	// Fix says what the user can do about it.
	Fix string
}

// Error returns e.g. "value 300 does not fit UInt8 (range 0..255): fix the data or
// widen the column". For NULL values the Reason stands alone:
// "NULL into non-Nullable column UInt32: make the column Nullable(UInt32), set
// source.null_as_default: true to store the column's default instead, or fill
// the value in the source".
func (e *ValueError) Error() string {
	msg := e.Reason
	if e.Value != "NULL" {
		msg = "value " + e.Value + " " + e.Reason
	}
	if e.Fix != "" {
		msg += ": " + e.Fix
	}
	return msg
}

// maxShownBytes bounds how much of a long string value an error prints.
const maxShownBytes = 64

// quoteValue prints a string value for an error message, shortened when long.
func quoteValue(s string) string {
	if len(s) <= maxShownBytes {
		return strconv.Quote(s)
	}
	cut := maxShownBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}
