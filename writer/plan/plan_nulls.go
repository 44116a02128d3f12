package plan

import (
	"fmt"

	"github.com/chload/chload/writer"
)

// UseNullAsDefault makes Convert store a NULL bound for a non-Nullable
// column as the column type's default value (chcol.Converter.NullAsDefault)
// instead of refusing the row: the job's source.null_as_default. Call it once,
// right after New, before Convert is used.
func (p *Plan) UseNullAsDefault() error {
	for i := range p.Inserts {
		ic := &p.Inserts[i]
		if ic.Computed != nil || ic.Column.Type.Nullable {
			continue
		}
		conv, err := ic.conv.NullAsDefault(p.Server.Timezone)
		if err != nil {
			return &writer.TargetError{Table: p.Table.Database + "." + p.Table.Name, Problem: fmt.Sprintf("column %s: %v", ic.Column.Name, err)}
		}
		ic.conv = conv
		if ic.dictConv != nil {
			if ic.dictConv, err = ic.dictConv.NullAsDefault(p.Server.Timezone); err != nil {
				return &writer.TargetError{Table: p.Table.Database + "." + p.Table.Name, Problem: fmt.Sprintf("column %s: %v", ic.Column.Name, err)}
			}
		}
	}
	return nil
}

// NullsDefaulted returns, per target column, how many NULLs Convert stored
// as the column's default so far (UseNullAsDefault); columns with none are
// left out.
func (p *Plan) NullsDefaulted() map[string]int64 {
	out := map[string]int64{}
	for _, ic := range p.Inserts {
		n := int64(0)
		if ic.conv != nil {
			n += ic.conv.Defaulted()
		}
		if ic.dictConv != nil {
			n += ic.dictConv.Defaulted()
		}
		if n > 0 {
			out[ic.Column.Name] = n
		}
	}
	return out
}
