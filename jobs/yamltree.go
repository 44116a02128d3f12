package jobs

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// vkind is what a job-file value is.
type vkind int

const (
	vNull vkind = iota // no value: the same as leaving the key out
	vScalar
	vMap
	vSeq
)

// vnode is one value of a parsed job file, with its variables expanded.
type vnode struct {
	kind vkind
	line int
	// text is a scalar's value after expansion, byte for byte.
	text string
	// secret marks a value never to be shown: it sits under a secret key or
	// was made from a variable a secret key uses.
	secret bool
	// incomplete marks a value that names a variable that is not set; it is
	// neither decoded nor validated (the missing variable is reported).
	incomplete bool
	keys       []vkey   // vMap, in file order
	items      []*vnode // vSeq
}

// vkey is one key of a mapping with its value.
type vkey struct {
	name string
	line int
	val  *vnode
}

// problem is one thing wrong with a job file, under its key.
type problem struct {
	key  string
	line int
	msg  string
}

func (p problem) Error() string {
	switch {
	case p.key == "" && p.line == 0:
		return p.msg
	case p.key == "":
		return fmt.Sprintf("line %d: %s", p.line, p.msg)
	case p.line == 0:
		return fmt.Sprintf("%s: %s", p.key, p.msg)
	}
	return fmt.Sprintf("%s (line %d): %s", p.key, p.line, p.msg)
}

// isSecretKey says whether a key holds a secret: its name contains
// "password", "secret" or "token" and does not end in "_file" (a file's
// path is not secret; its content is).
func isSecretKey(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_file") {
		return false
	}
	return strings.Contains(n, "password") || strings.Contains(n, "secret") || strings.Contains(n, "token")
}

// varUse is one value that a variable was substituted into.
type varUse struct {
	name string
	key  string
	node *vnode
}

// treeBuilder turns goccy's syntax tree into vnodes, expanding variables.
type treeBuilder struct {
	restore func(string) string
	look    func(string) (string, bool)
	anchors map[string]*vnode
	probs   []error
	missing map[string][]int
	// hidden are missing variables in secret values that mix text and
	// references, where the name may be part of the secret.
	hidden []problem
	uses   []varUse
	// secrets are values never to be shown (see redact).
	secrets []string
}

// parseTree parses a job file and expands its variables. The error, if
// any, is a syntax error (nothing else can be checked); problems with
// values (missing variables, aliases, tags) are in b.probs.
func parseTree(data []byte, look func(string) (string, bool)) (*vnode, *treeBuilder, error) {
	text, restore := protectRefs(string(data))
	b := &treeBuilder{restore: restore, look: look, anchors: map[string]*vnode{}, missing: map[string][]int{}}
	f, err := parser.ParseBytes([]byte(text), 0)
	if err != nil {
		return nil, nil, syntaxProblem(err, string(data), restore)
	}
	var root *vnode
	docs := 0
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if docs++; docs > 1 {
			b.probs = append(b.probs, problem{line: d.Body.GetToken().Position.Line, msg: "a job file holds one YAML document; remove the second '---'"})
			break
		}
		root = b.convert(d.Body, "", false)
	}
	if root == nil {
		root = &vnode{kind: vNull, line: 1}
	}
	b.markSecretVars()
	return root, b, nil
}

// secretKeyLine matches a line that starts a secret key, to keep the
// parser's message, which may quote the value, out of the error.
var secretKeyLine = regexp.MustCompile(`^[\s-]*["']?([A-Za-z0-9_]+)["']?\s*:`)

// syntaxProblem turns a YAML syntax error into a message with its line. The
// parser's own text is dropped when the line holds a secret key, since it
// may quote part of the value.
func syntaxProblem(err error, text string, restore func(string) string) error {
	var te interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if !errors.As(err, &te) || te.GetToken() == nil {
		return errors.New("the file is not valid YAML")
	}
	line := te.GetToken().Position.Line
	lines := strings.Split(text, "\n")
	if line >= 1 && line <= len(lines) {
		if m := secretKeyLine.FindStringSubmatch(lines[line-1]); m != nil && isSecretKey(m[1]) {
			return problem{line: line, msg: fmt.Sprintf("the value of %s is not valid YAML as written (message not shown: the value is secret); quote it with single quotes, or set it from a variable: %s: ${NAME}", m[1], m[1])}
		}
	}
	return problem{line: line, msg: "not valid YAML: " + restore(te.GetMessage())}
}

// convert builds the vnode for n at key path key.
func (b *treeBuilder) convert(n ast.Node, key string, secret bool) *vnode {
	if n == nil {
		return &vnode{kind: vNull, secret: secret}
	}
	line := 0
	if t := n.GetToken(); t != nil {
		line = t.Position.Line
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return &vnode{kind: vNull, line: line, secret: secret}
	case *ast.StringNode:
		return b.scalar(n.Value, key, line, secret)
	case *ast.LiteralNode:
		return b.scalar(n.Value.Value, key, line, secret)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return b.scalar(n.GetToken().Value, key, line, secret)
	case *ast.MappingNode:
		m := &vnode{kind: vMap, line: line, secret: secret}
		for _, kv := range n.Values {
			b.addPair(m, kv, key, secret)
		}
		return m
	case *ast.MappingValueNode:
		m := &vnode{kind: vMap, line: line, secret: secret}
		b.addPair(m, n, key, secret)
		return m
	case *ast.SequenceNode:
		s := &vnode{kind: vSeq, line: line, secret: secret}
		for i, v := range n.Values {
			s.items = append(s.items, b.convert(v, fmt.Sprintf("%s[%d]", key, i), secret))
		}
		return s
	case *ast.AnchorNode:
		v := b.convert(n.Value, key, secret)
		if n.Name != nil {
			b.anchors[n.Name.GetToken().Value] = v
		}
		return v
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		if v, ok := b.anchors[name]; ok {
			if v.secret && !secret {
				b.probs = append(b.probs, problem{key: key, line: line, msg: fmt.Sprintf("alias *%s repeats a secret value: a secret may only be used in secret keys, since other values are printed and logged", name)})
				return &vnode{kind: vNull, line: line, secret: true, incomplete: true}
			}
			if secret && !v.secret {
				c := *v
				c.secret = true
				return &c
			}
			return v
		}
		if secret {
			b.probs = append(b.probs, problem{key: key, line: line, msg: "the value starts with * and so is read as a YAML alias (not shown: the value is secret); quote it with single quotes, or set it from a variable"})
		} else {
			b.probs = append(b.probs, problem{key: key, line: line, msg: fmt.Sprintf("alias *%s names no anchor (&%s) above it; to write a value starting with *, quote it", name, name)})
		}
		return &vnode{kind: vNull, line: line, secret: secret, incomplete: true}
	case *ast.TagNode:
		if secret {
			b.probs = append(b.probs, problem{key: key, line: line, msg: "the value starts with ! and so is read as a YAML tag (not shown: the value is secret); quote it with single quotes, or set it from a variable"})
		} else {
			b.probs = append(b.probs, problem{key: key, line: line, msg: fmt.Sprintf("YAML tags (%s) are not supported; to write a value starting with !, quote it", n.Start.Value)})
		}
		return &vnode{kind: vNull, line: line, secret: secret, incomplete: true}
	}
	b.probs = append(b.probs, problem{key: key, line: line, msg: "this kind of YAML value is not supported here"})
	return &vnode{kind: vNull, line: line, secret: secret, incomplete: true}
}

// addPair adds one key: value pair to the mapping m at path key.
func (b *treeBuilder) addPair(m *vnode, kv *ast.MappingValueNode, key string, secret bool) {
	line := kv.Key.GetToken().Position.Line
	if _, ok := kv.Key.(*ast.MergeKeyNode); ok {
		b.probs = append(b.probs, problem{key: key, line: line, msg: "merge keys (<<) are not supported; write the keys out"})
		return
	}
	k := kv.Key
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		if v, ok := mk.Value.(ast.MapKeyNode); ok {
			k = v
		}
	}
	var name string
	switch k := k.(type) {
	case *ast.StringNode:
		name = b.restore(k.Value)
	case ast.ScalarNode:
		name = b.restore(k.GetToken().Value)
	default:
		b.probs = append(b.probs, problem{key: key, line: line, msg: "a key must be a plain name"})
		return
	}
	path := name
	if key != "" {
		path = key + "." + name
	}
	val := b.convert(kv.Value, path, secret || isSecretKey(name))
	m.keys = append(m.keys, vkey{name: name, line: line, val: val})
}

// scalar builds a scalar value, expanding its variables.
func (b *treeBuilder) scalar(raw, key string, line int, secret bool) *vnode {
	raw = b.restore(raw)
	n := &vnode{kind: vScalar, line: line, secret: secret}
	x := expandValue(raw, b.look)
	n.text = x.text
	if secret && x.text != "" {
		b.secrets = append(b.secrets, x.text)
	}
	if x.malformed {
		b.probs = append(b.probs, problem{key: key, line: line, msg: errMalformedRef.Error()})
		n.incomplete = true
	}
	for _, name := range x.used {
		b.uses = append(b.uses, varUse{name: name, key: key, node: n})
	}
	if len(x.missing) > 0 {
		n.incomplete = true
		if secret && !x.onlyRefs {
			b.hidden = append(b.hidden, problem{key: key, line: line})
			return n
		}
		for _, name := range x.missing {
			b.missing[name] = append(b.missing[name], line)
		}
	}
	return n
}

// markSecretVars makes every value built from a variable that a secret
// key uses secret too, and refuses such a variable in a key that is not
// secret: chload prints and logs those keys' values.
func (b *treeBuilder) markSecretVars() {
	secretVar := map[string]string{}
	for _, u := range b.uses {
		if u.node.secret {
			if _, ok := secretVar[u.name]; !ok {
				secretVar[u.name] = u.key
			}
			if v, _ := b.look(u.name); v != "" {
				b.secrets = append(b.secrets, v)
			}
		}
	}
	for _, u := range b.uses {
		if sk, ok := secretVar[u.name]; ok && !u.node.secret {
			u.node.secret = true
			u.node.incomplete = true
			b.probs = append(b.probs, problem{key: u.key, line: u.node.line, msg: fmt.Sprintf("uses ${%s}, which the secret key %s uses too: a secret's variable may only be used in secret keys, since other values are printed and logged", u.name, sk)})
		}
	}
}

// errors returns the missing variables (all in one message) and every other
// problem found while building the tree.
func (b *treeBuilder) errors() []error {
	var errs []error
	if len(b.missing) > 0 {
		names := make([]string, 0, len(b.missing))
		for n := range b.missing {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for k, n := range names {
			parts[k] = fmt.Sprintf("%s (line %s)", n, joinInts(b.missing[n]))
		}
		errs = append(errs, fmt.Errorf("variables not set: %s; %s", strings.Join(parts, ", "), missingVarFix))
	}
	for _, h := range b.hidden {
		h.msg = "names a variable that is not set (its name is not shown: this secret value mixes text and ${...}, so the name may be part of the secret); set it, or write $${ for a literal ${"
		errs = append(errs, h)
	}
	return append(errs, b.probs...)
}

// child returns the value under name in a mapping, or nil.
func (n *vnode) child(name string) *vnode {
	if n == nil || n.kind != vMap {
		return nil
	}
	for _, k := range n.keys {
		if k.name == name {
			return k.val
		}
	}
	return nil
}

// masked returns the value as plain Go values for printing, with secret
// values replaced by "******".
func (n *vnode) masked() any {
	if n == nil {
		return nil
	}
	if n.secret && n.kind != vNull {
		return Secret("x").String()
	}
	switch n.kind {
	case vScalar:
		return n.text
	case vSeq:
		s := make([]any, len(n.items))
		for i, v := range n.items {
			s[i] = v.masked()
		}
		return s
	case vMap:
		m := make(yaml.MapSlice, 0, len(n.keys))
		for _, k := range n.keys {
			m = append(m, yaml.MapItem{Key: k.name, Value: k.val.masked()})
		}
		return m
	}
	return nil
}

// redact replaces every secret in msg with "******", as a last guard for
// messages that quote a whole value. Secrets shorter than 3 bytes are left:
// replacing them would garble the message and hides nothing.
func redact(msg string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, s := range sorted {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "******")
		}
	}
	return msg
}
