package chcol

import "testing"

// TestFamiliesComplete: every family that carries values (has a canonical
// Arrow type) converts, encodes in the Native format, appends through
// clickhouse-go, and gives its default when LowCardinality is encoded.
func TestFamiliesComplete(t *testing.T) {
	seen := map[*family]bool{}
	for name, f := range familyByName {
		if seen[f] {
			continue
		}
		seen[f] = true
		if f.arrow == nil {
			if f.parse == nil || f.kernel != nil || f.encode != nil {
				t.Errorf("family of %s: no Arrow type, yet it is not a wrapper", name)
			}
			continue
		}
		if f.kernel == nil || f.encode == nil || f.goValues == nil {
			t.Errorf("family of %s: kernel %v, encode %v, goValues %v; want all", name, f.kernel != nil, f.encode != nil, f.goValues != nil)
		}
		if f.lowCardinality && f.defaultWidth == nil {
			t.Errorf("family of %s encodes LowCardinality without a default width", name)
		}
		if f.composite && f.nullFix == nil {
			t.Errorf("family of %s is composite without advice for its NULLs", name)
		}
	}
}

// TestFamilyNamesParse: every registered name parses (with parameters where
// the family wants them) to a type whose family is the one registered.
func TestFamilyNamesParse(t *testing.T) {
	params := map[string]string{
		"Nullable": "(String)", "LowCardinality": "(String)", "Array": "(UInt8)", "Map": "(String, UInt8)",
		"Tuple": "(UInt8)", "FixedString": "(2)", "Decimal": "(9, 2)", "Decimal32": "(2)", "Decimal64": "(2)",
		"Decimal128": "(2)", "Decimal256": "(2)", "DateTime64": "(3)", "Enum8": "('a' = 1)", "Enum16": "('a' = 1)",
		"Enum": "('a' = 1)",
	}
	for name, f := range familyByName {
		typ, err := ParseType(name + params[name])
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "Nullable" || name == "LowCardinality" {
			continue
		}
		if typ.family() != f {
			t.Errorf("%s parsed to Base %s of another family", name, typ.Base)
		}
	}
}
