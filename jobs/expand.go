package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Variable references in a job file.
//
// A value may hold ${NAME} and ${NAME:-default}; "$${" stands for a literal
// "${". References are expanded inside scalar values after the YAML is
// parsed, so whatever a variable holds (quotes, ":", "#", "*", "&", "!",
// "{", "[", newlines) arrives byte for byte and is never read as YAML. Keys
// are never expanded. A reference sits on one line: its "}" is the first
// one after "${" on the same line, so a default holds no "}" and no newline.

// Expand replaces ${VAR} and ${VAR:-default} in one value. Values come from
// vars first (the --var flags), then from env. "$${" stands for a literal
// "${". Every variable that is neither set nor given a default is reported
// at once. A "${" that does not start a reference is an error; the message
// does not quote the value, which may be a secret.
func Expand(value string, vars map[string]string, env func(string) (string, bool)) (string, error) {
	x := expandValue(value, lookupIn(vars, env))
	if x.malformed {
		return "", errMalformedRef
	}
	if len(x.missing) > 0 {
		names := append([]string(nil), x.missing...)
		sort.Strings(names)
		return "", fmt.Errorf("variables not set: %s; %s", strings.Join(names, ", "), missingVarFix)
	}
	return x.text, nil
}

// missingVarFix is the advice every missing-variable message ends with.
const missingVarFix = "set them in the environment, pass --var NAME=VALUE, or give a default with ${NAME:-default}"

// errMalformedRef is a "${" that starts no reference.
var errMalformedRef = errors.New("${ must be followed by NAME} or NAME:-default} on the same line (NAME: letters, digits and _, not starting with a digit); write $${ for a literal ${")

// lookupIn looks a variable up in vars, then in env.
func lookupIn(vars map[string]string, env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		if env != nil {
			return env(name)
		}
		return "", false
	}
}

// expansion is one value with its references replaced.
type expansion struct {
	text      string
	used      []string // variables whose values were substituted
	missing   []string // variables neither set nor defaulted, in order
	refs      int      // references found
	onlyRefs  bool     // the value is nothing but references (and escapes)
	malformed bool     // a "${" starts no reference
}

// refScanner finds references in s, left to right, in linear time.
type refScanner struct {
	s    string
	stop int // the first '}' or '\n' at or after some point; -1 for none yet
}

// at says what starts at s[i]: an escape ("$${", length 3), a reference
// (length n, with its name and default), or neither (n == 0). Calls must
// come with i increasing.
func (r *refScanner) at(i int) (escape bool, n int, name, def string, hasDef bool) {
	s := r.s
	if strings.HasPrefix(s[i:], "$${") {
		return true, 3, "", "", false
	}
	if !strings.HasPrefix(s[i:], "${") {
		return false, 0, "", "", false
	}
	if r.stop < i+2 && r.stop != len(s) {
		k := strings.IndexAny(s[i+2:], "}\n")
		if k < 0 {
			r.stop = len(s)
		} else {
			r.stop = i + 2 + k
		}
	}
	if r.stop == len(s) || s[r.stop] != '}' {
		return false, 0, "", "", false
	}
	body := s[i+2 : r.stop]
	name, def, hasDef = strings.Cut(body, ":-")
	if !validVarName(name) {
		return false, 0, "", "", false
	}
	return false, r.stop - i + 1, name, def, hasDef
}

// expandValue expands the references in s.
func expandValue(s string, look func(string) (string, bool)) expansion {
	var out strings.Builder
	out.Grow(len(s))
	x := expansion{onlyRefs: true}
	r := refScanner{s: s, stop: -1}
	for i := 0; i < len(s); {
		escape, n, name, def, hasDef := r.at(i)
		switch {
		case escape:
			out.WriteString("${")
			i += n
		case n > 0:
			x.refs++
			if val, ok := look(name); ok {
				out.WriteString(val)
				x.used = append(x.used, name)
			} else if hasDef {
				out.WriteString(def)
			} else {
				x.missing = append(x.missing, name)
			}
			i += n
		default:
			if strings.HasPrefix(s[i:], "${") {
				x.malformed = true
			}
			x.onlyRefs = false
			out.WriteByte(s[i])
			i++
		}
	}
	x.text = out.String()
	return x
}

// protectRefs replaces every reference and escape in a job file's text with
// a marker made of letters and digits, which YAML reads as plain text in any
// context (a flow mapping {a: ${X}} would otherwise not parse), on the same
// line. restore puts the original text back into a parsed value or key.
func protectRefs(text string) (protected string, restore func(string) string) {
	nonce := newNonce(text)
	var out strings.Builder
	var originals []string
	r := refScanner{s: text, stop: -1}
	for i := 0; i < len(text); {
		_, n, _, _, _ := r.at(i)
		if n == 0 {
			out.WriteByte(text[i])
			i++
			continue
		}
		fmt.Fprintf(&out, "%sx%dy", nonce, len(originals))
		originals = append(originals, text[i:i+n])
		i += n
	}
	if len(originals) == 0 {
		return text, func(s string) string { return s }
	}
	return out.String(), func(s string) string {
		if !strings.Contains(s, nonce) {
			return s
		}
		var b strings.Builder
		for {
			k := strings.Index(s, nonce)
			if k < 0 {
				b.WriteString(s)
				return b.String()
			}
			b.WriteString(s[:k])
			rest := s[k+len(nonce):]
			end := strings.IndexByte(rest, 'y')
			idx, err := strconv.Atoi(strings.TrimPrefix(rest[:max(end, 0)], "x"))
			if end < 0 || !strings.HasPrefix(rest, "x") || err != nil || idx < 0 || idx >= len(originals) {
				b.WriteString(nonce) // not one of ours: keep it as it is
				s = rest
				continue
			}
			b.WriteString(originals[idx])
			s = rest[end+1:]
		}
	}
}

// newNonce returns a marker prefix that text does not contain.
func newNonce(text string) string {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		n := "chloadref" + hex.EncodeToString(b[:])
		if !strings.Contains(text, n) {
			return n
		}
	}
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
