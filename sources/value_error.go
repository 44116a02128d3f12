package sources

import "fmt"

// ValueError is a value a source read but cannot represent in the type its
// schema promises (an INT96 timestamp outside the unit's range, say). A
// reader's Err returns it inside the *SplitError that names the split; the
// run reports it as a bad value of the split (exit 3), like a value that
// does not fit its column.
type ValueError struct {
	// Row counts from 0 within the split; Column is the source column.
	Row    int64
	Column string
	// Value is the value as the user would read it.
	Value string
	// Reason says what is wrong with it; Fix what the user can do.
	Reason, Fix string
}

func (e *ValueError) Error() string {
	msg := fmt.Sprintf("row %d: value %s %s", e.Row, e.Value, e.Reason)
	if e.Column != "" {
		msg = fmt.Sprintf("column %s: %s", e.Column, msg)
	}
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}
