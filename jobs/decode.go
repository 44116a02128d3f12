package jobs

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The job file is decoded by walking its parsed values against the Go
// types, field by field, by their yaml tags, so that every problem is
// reported at once, each under its YAML key and line, in the user's words
// ("expected an integer") and never with a Go type's name; and so that a
// key that is present (even as 0 or "") is told apart from one left out.

// yamlUnmarshaler is implemented by the types that read themselves from a
// string (sizes, concurrency).
type yamlUnmarshaler interface {
	UnmarshalYAML(func(any) error) error
}

// decodeState collects what decoding found.
type decodeState struct {
	probs []error
	// lines maps each key path that was given a value to its line.
	lines map[string]int
	// incomplete are key paths whose value was already reported (a variable
	// that is not set, a value that cannot be decoded); validation skips them.
	incomplete map[string]bool
}

func newDecodeState() *decodeState {
	return &decodeState{lines: map[string]int{}, incomplete: map[string]bool{}}
}

// bad reports a value that cannot be decoded; the key is not judged again
// by validation.
func (d *decodeState) bad(key string, n *vnode, format string, args ...any) {
	d.incomplete[key] = true
	d.probs = append(d.probs, problem{key: key, line: n.line, msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	vnodeType    = reflect.TypeOf((*vnode)(nil))
)

// show quotes a value for a message, unless it is secret.
func show(n *vnode) string {
	if n.secret {
		return "a value that is not shown (secret)"
	}
	return strconv.Quote(n.text)
}

// describe says what kind of value n is, for "expected X, got Y".
func describe(n *vnode) string {
	switch n.kind {
	case vMap:
		return "a mapping (key: value lines)"
	case vSeq:
		return "a list"
	}
	return show(n)
}

// decode stores n into v. key is n's path ("write.batch_rows"); a null or
// incomplete n leaves v as it is.
func (d *decodeState) decode(n *vnode, key string, v reflect.Value) {
	if v.Type() == vnodeType {
		v.Set(reflect.ValueOf(n))
		return
	}
	if n.incomplete {
		d.incomplete[key] = true
		return
	}
	if n.kind == vNull {
		return
	}
	d.lines[key] = n.line
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(yamlUnmarshaler); ok {
			if n.kind != vScalar {
				d.bad(key, n, "expected a single value, got %s", describe(n))
				return
			}
			err := u.UnmarshalYAML(func(x any) error {
				p, ok := x.(*string)
				if !ok {
					return fmt.Errorf("this value cannot be read")
				}
				*p = n.text
				return nil
			})
			if err != nil {
				if n.secret {
					d.bad(key, n, "the value is not valid (not shown: secret)")
				} else {
					d.bad(key, n, "%v", err)
				}
			}
			return
		}
	}
	if v.Type() == durationType {
		if n.kind != vScalar {
			d.bad(key, n, "expected a duration such as 10s or 1m30s, got %s", describe(n))
			return
		}
		dur, err := time.ParseDuration(strings.TrimSpace(n.text))
		if err != nil {
			d.bad(key, n, "expected a duration such as 10s or 1m30s, got %s", show(n))
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, key, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, key, v, nil)
	case reflect.Slice:
		if n.kind != vSeq {
			d.bad(key, n, "expected a list such as [a, b], got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
		for i, item := range n.items {
			d.decode(item, fmt.Sprintf("%s[%d]", key, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf(n.plain()))
			return
		}
		d.bad(key, n, "this key cannot be read from a job file")
	default:
		if n.kind != vScalar {
			d.bad(key, n, "expected %s, got %s", kindWord(v.Kind()), describe(n))
			return
		}
		if msg := setScalar(v, n.text); msg != "" {
			d.bad(key, n, "expected %s, got %s", msg, show(n))
		}
	}
}

// kindWord names what a Go kind takes, in the user's words.
func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number from 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a single value"
}

// setScalar stores text into a scalar v, or says what v expects.
func setScalar(v reflect.Value, text string) string {
	t := strings.TrimSpace(text)
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		switch strings.ToLower(t) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return kindWord(v.Kind())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(digits(t), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return kindWord(v.Kind())
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(digits(t), 10, 64)
		if err != nil || v.OverflowUint(i) {
			return kindWord(v.Kind())
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) {
			return kindWord(v.Kind())
		}
		v.SetFloat(f)
	default:
		return "a value this key cannot hold"
	}
	return ""
}

// digits drops the "_" YAML allows between digits (1_000_000).
func digits(s string) string {
	if !strings.Contains(s, "_") || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return s
	}
	return strings.ReplaceAll(s, "_", "")
}

// yamlKeys lists a struct's fields by their yaml key.
func yamlKeys(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

// decodeStruct stores a mapping into struct v; a key v lacks is an error
// unless skip holds it (keys another reader takes).
func (d *decodeState) decodeStruct(n *vnode, key string, v reflect.Value, skip map[string]bool) {
	if n.kind != vMap {
		d.bad(key, n, "expected a section of key: value lines, got %s", describe(n))
		return
	}
	names, index := yamlKeys(v.Type())
	for _, k := range n.keys {
		path := k.name
		if key != "" {
			path = key + "." + k.name
		}
		if skip[k.name] {
			continue
		}
		i, ok := index[k.name]
		if !ok {
			where := "the job file"
			if key != "" {
				where = key
			}
			var extra []string
			for s := range skip {
				extra = append(extra, s)
			}
			sort.Strings(extra)
			known := append(append([]string(nil), names...), extra...)
			d.probs = append(d.probs, problem{key: path, line: k.line, msg: fmt.Sprintf("unknown key; %s takes: %s", where, strings.Join(known, ", "))})
			continue
		}
		d.decode(k.val, path, v.Field(i))
	}
}

// plain returns the value as plain Go values (string, []any, map[string]any).
func (n *vnode) plain() any {
	switch n.kind {
	case vScalar:
		return n.text
	case vSeq:
		s := make([]any, len(n.items))
		for i, v := range n.items {
			s[i] = v.plain()
		}
		return s
	case vMap:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k.name] = k.val.plain()
		}
		return m
	}
	return nil
}
