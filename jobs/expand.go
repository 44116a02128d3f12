package jobs

import (
	"fmt"
	"sort"
	"strings"
)

// Expand replaces ${VAR} and ${VAR:-default} in text. Values come from vars
// first (the --var flags), then from env. "$${" stands for a literal "${".
// Every variable that is neither set nor given a default is reported at once,
// with the lines where it is used.
func Expand(text string, vars map[string]string, env func(string) (string, bool)) (string, error) {
	var out strings.Builder
	out.Grow(len(text))
	missing := map[string][]int{}
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		if c == '\n' {
			line++
		}
		if c != '$' || i+1 >= len(text) {
			out.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(text[i:], "$${") {
			out.WriteString("${")
			i += 3
			continue
		}
		if text[i+1] != '{' {
			out.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("line %d: unterminated ${ (write $${ for a literal ${)", line)
		}
		body := text[i+2 : i+end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("line %d: invalid variable name %q in ${%s}", line, name, body)
		}
		val, ok := vars[name]
		if !ok && env != nil {
			val, ok = env(name)
		}
		switch {
		case ok:
			out.WriteString(val)
		case hasDef:
			out.WriteString(def)
		default:
			missing[name] = append(missing[name], line)
		}
		i += end + 1
	}
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for k, n := range names {
			parts[k] = fmt.Sprintf("%s (line %s)", n, joinInts(missing[n]))
		}
		return "", fmt.Errorf("variables not set: %s; set them in the environment, pass --var NAME=VALUE, or give a default with ${NAME:-default}", strings.Join(parts, ", "))
	}
	return out.String(), nil
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
