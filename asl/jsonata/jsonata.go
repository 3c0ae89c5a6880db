package jsonata

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// maxJSONataRange bounds the sequences that ranges may allocate.
const maxJSONataRange = 1e7

// undefinedT is JSONata's "no value".
type undefinedT struct{}

var undefined any = undefinedT{}

// seqT is a sequence produced by a path step over an array; it flattens
// into arrays and collapses to its element when it has one.
type seqT []any

// jnode is a compiled JSONata expression.
type jnode interface {
	eval(env *jenv, ctx any) (any, error)
}

// jenv is the variable environment of an evaluation.
type jenv struct {
	vars   map[string]any
	parent *jenv
	rt     Runtime
	depth  int // lambda call depth
}

func (e *jenv) lookup(name string) (any, bool) {
	for c := e; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// ---- lexer ----

type jtok struct {
	kind string // num, str, name, var, op, regex, eof
	text string
	num  float64
}

func jlex(src string) ([]jtok, error) {
	var toks []jtok
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{Msg: "Comment has no closing tag"}
			}
			i += end + 4
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
				(src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				if src[j] == '.' && j+1 < len(src) && src[j+1] == '.' {
					break
				}
				j++
			}
			f, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil {
				return nil, &UnsupportedError{Feature: "number " + src[i:j]}
			}
			toks = append(toks, jtok{kind: "num", num: f, text: src[i:j]})
			i = j
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && j+1 < len(src) {
					j++
					switch src[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					case 'u':
						if j+4 < len(src) {
							n, err := strconv.ParseUint(src[j+1:j+5], 16, 32)
							if err == nil {
								b.WriteRune(rune(n))
								j += 4
								break
							}
						}
						b.WriteByte('u')
					default:
						b.WriteByte(src[j])
					}
					j++
					continue
				}
				b.WriteByte(src[j])
				j++
			}
			if j >= len(src) {
				return nil, &SyntaxError{Msg: "String literal must be terminated by a matching quote"}
			}
			toks = append(toks, jtok{kind: "str", text: b.String()})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, &SyntaxError{Msg: "Quoted property name must be terminated with a backquote (`)"}
			}
			toks = append(toks, jtok{kind: "name", text: src[i+1 : i+1+j]})
			i += j + 2
		case c == '$':
			j := i + 1
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			toks = append(toks, jtok{kind: "var", text: src[i+1 : j]})
			i = j
		case isIdentByte(c):
			j := i
			for j < len(src) && isIdentByte(src[j]) {
				j++
			}
			toks = append(toks, jtok{kind: "name", text: src[i:j]})
			i = j
		default:
			// regex literal where an operand is expected
			if c == '/' && regexAllowed(toks) {
				j := i + 1
				for j < len(src) && src[j] != '/' {
					if src[j] == '\\' {
						j++
					}
					j++
				}
				if j >= len(src) {
					return nil, &SyntaxError{Msg: "No terminating / in regular expression"}
				}
				pat := src[i+1 : j]
				j++
				flags := ""
				for j < len(src) && (src[j] == 'i' || src[j] == 'm') {
					flags += string(src[j])
					j++
				}
				toks = append(toks, jtok{kind: "regex", text: pat, num: 0})
				if flags != "" {
					toks[len(toks)-1].text = "(?" + flags + ")" + pat
				}
				i = j
				continue
			}
			for _, op := range []string{"~>", ":=", "!=", "<=", ">=", "..", "=", "<", ">", "+", "-", "*", "/", "%", "&", "?", ":", ".", ",", ";", "(", ")", "[", "]", "{", "}"} {
				if strings.HasPrefix(src[i:], op) {
					toks = append(toks, jtok{kind: "op", text: op})
					i += len(op)
					goto next
				}
			}
			return nil, &UnsupportedError{Feature: fmt.Sprintf("character %q", c)}
		next:
		}
	}
	return append(toks, jtok{kind: "eof"}), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func regexAllowed(toks []jtok) bool {
	if len(toks) == 0 {
		return true
	}
	t := toks[len(toks)-1]
	if t.kind == "op" {
		return t.text != ")" && t.text != "]" && t.text != "}"
	}
	return false
}

// ---- parser ----

type jparser struct {
	toks []jtok
	pos  int
	// descendant is set when the source has "**", JSONata's descendant
	// operator, which the lexer reads as two "*": where such a parse
	// fails, the failure may be the operator's, not the expression's.
	descendant bool
}

func (p *jparser) peek() jtok { return p.toks[p.pos] }
func (p *jparser) next() jtok {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}
func (p *jparser) isOp(s string) bool { t := p.peek(); return t.kind == "op" && t.text == s }
func (p *jparser) expect(s string) error {
	if !p.isOp(s) {
		return p.unexpected(p.peek(), strconv.Quote(s))
	}
	p.next()
	return nil
}

// compile compiles an expression (without the {% %} markers).
func compile(src string) (jnode, error) {
	toks, err := jlex(src)
	if err != nil {
		return nil, err
	}
	p := &jparser{toks: toks, descendant: strings.Contains(src, "**")}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != "eof" {
		return nil, p.unexpected(p.peek(), "")
	}
	return n, nil
}

// unexpected reports token t where the parser needed something else (want,
// if not empty, says what). It is a syntax error when the expression ends
// too early or a bracket closes out of turn: no JSONata construct goes on
// that way. Any other token may begin a construct this parser does not
// know (sort, transform, focus and index binding, partial application, a
// function signature, grouping), so it is reported as unsupported.
func (p *jparser) unexpected(t jtok, want string) error {
	var msg string
	switch {
	case t.kind == "eof" && want != "":
		msg = "Expected " + want + " before end of expression"
	case t.kind == "eof":
		msg = "Unexpected end of expression"
	case want != "":
		msg = "Expected " + want + ", got " + tokenText(t)
	default:
		msg = "Unexpected token " + tokenText(t)
	}
	closer := t.kind == "op" && (t.text == ")" || t.text == "]" || t.text == "}")
	if (t.kind == "eof" || closer) && !p.descendant {
		return &SyntaxError{Msg: msg}
	}
	return &UnsupportedError{Feature: msg}
}

// tokenText renders a token as the source had it, near enough for a
// message.
func tokenText(t jtok) string {
	switch t.kind {
	case "str":
		return strconv.Quote(t.text)
	case "var":
		return strconv.Quote("$" + t.text)
	case "regex":
		return "regex /" + t.text + "/"
	}
	return strconv.Quote(t.text)
}

var jbinPrec = map[string]int{
	"or": 1, "and": 2,
	"=": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3, "~>": 3,
	"&": 4, "+": 4, "-": 4,
	"*": 5, "/": 5, "%": 5,
}

func (p *jparser) binOp() (string, bool) {
	t := p.peek()
	if t.kind == "op" {
		if _, ok := jbinPrec[t.text]; ok {
			return t.text, true
		}
	}
	if t.kind == "name" && (t.text == "and" || t.text == "or" || t.text == "in") {
		return t.text, true
	}
	return "", false
}

func (p *jparser) expr(minPrec int) (jnode, error) {
	lhs, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		if minPrec == 0 && p.isOp(":=") {
			v, ok := lhs.(*jvar)
			if !ok {
				return nil, &UnsupportedError{Feature: "binding to a non-variable"}
			}
			p.next()
			rhs, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			return &jbind{name: v.name, value: rhs}, nil
		}
		if minPrec == 0 && p.isOp("?") {
			p.next()
			then, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			var els jnode
			if p.isOp(":") {
				p.next()
				if els, err = p.expr(0); err != nil {
					return nil, err
				}
			}
			lhs = &jcond{cond: lhs, then: then, els: els}
			continue
		}
		op, ok := p.binOp()
		if !ok || jbinPrec[op] <= minPrec {
			return lhs, nil
		}
		p.next()
		rhs, err := p.expr(jbinPrec[op])
		if err != nil {
			return nil, err
		}
		if op == "~>" {
			lhs = &jchain{l: lhs, r: rhs}
			continue
		}
		lhs = &jbin{op: op, l: lhs, r: rhs}
	}
}

func (p *jparser) unary() (jnode, error) {
	if p.isOp("-") {
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &jneg{n: n}, nil
	}
	return p.postfix()
}

func (p *jparser) postfix() (jnode, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			step, err := p.primary()
			if err != nil {
				return nil, err
			}
			n = &jpath{l: n, r: step}
		case p.isOp("["):
			p.next()
			if p.isOp("]") {
				p.next()
				n = &jkeepArray{n: n}
				continue
			}
			pred, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			n = &jfilter{n: n, pred: pred}
		case p.isOp("("):
			v, _ := n.(*jvar)
			p.next()
			args, err := p.exprs(",", ")")
			if err != nil {
				return nil, err
			}
			if v == nil {
				n = &jinvoke{fn: n, args: args}
				continue
			}
			if _, ok := jfuncs[v.name]; ok {
				n = &jcall{name: v.name, args: args}
				continue
			}
			if jsonataStandard[v.name] {
				return nil, &UnsupportedError{Feature: "function $" + v.name}
			}
			n = &jinvoke{fn: n, args: args}
		default:
			return n, nil
		}
	}
}

func (p *jparser) primary() (jnode, error) {
	t := p.next()
	switch t.kind {
	case "num":
		return &jlit{v: t.num}, nil
	case "str":
		return &jlit{v: t.text}, nil
	case "regex":
		re, err := regexp.Compile(t.text)
		if err != nil {
			return nil, &UnsupportedError{Feature: "regex " + t.text}
		}
		return &jlit{v: re}, nil
	case "var":
		return &jvar{name: t.text}, nil
	case "name":
		switch t.text {
		case "true":
			return &jlit{v: true}, nil
		case "false":
			return &jlit{v: false}, nil
		case "null":
			return &jlit{v: nil}, nil
		case "function":
			if p.isOp("(") {
				return p.lambda()
			}
		}
		return &jfield{name: t.text}, nil
	case "op":
		switch t.text {
		case "(":
			seq, err := p.exprs(";", ")")
			if err != nil {
				return nil, err
			}
			return &jblock{seq: seq}, nil
		case "[":
			var items []jnode
			err := p.list(",", "]", func() error {
				e, err := p.expr(0)
				if err != nil {
					return err
				}
				if p.isOp("..") {
					p.next()
					hi, err := p.expr(0)
					if err != nil {
						return err
					}
					e = &jrange{lo: e, hi: hi}
				}
				items = append(items, e)
				return nil
			})
			if err != nil {
				return nil, err
			}
			return &jarray{items: items}, nil
		case "{":
			var keys, vals []jnode
			err := p.list(",", "}", func() error {
				k, err := p.expr(0)
				if err != nil {
					return err
				}
				if err := p.expect(":"); err != nil {
					return err
				}
				v, err := p.expr(0)
				if err != nil {
					return err
				}
				keys, vals = append(keys, k), append(vals, v)
				return nil
			})
			if err != nil {
				return nil, err
			}
			return &jobject{keys: keys, vals: vals}, nil
		case "*":
			return &jwild{}, nil
		}
	}
	return nil, p.unexpected(t, "")
}

// ---- nodes ----

type jlit struct{ v any }

func (n *jlit) eval(*jenv, any) (any, error) { return n.v, nil }

type jvar struct{ name string }

func (n *jvar) eval(env *jenv, ctx any) (any, error) {
	if n.name == "" {
		return ctx, nil
	}
	if v, ok := env.lookup(n.name); ok {
		return v, nil
	}
	if _, ok := jfuncs[n.name]; ok {
		return jbuiltin{name: n.name}, nil
	}
	return undefined, nil
}

// list parses elements separated by sep up to close, which it consumes:
// "a sep b sep c close", or just "close". item parses one element.
func (p *jparser) list(sep, close string, item func() error) error {
	for !p.isOp(close) {
		if err := item(); err != nil {
			return err
		}
		if p.isOp(sep) {
			p.next()
			continue
		}
		if !p.isOp(close) {
			return p.unexpected(p.peek(), strconv.Quote(sep)+" or "+strconv.Quote(close))
		}
	}
	p.next()
	return nil
}

// exprs parses expressions separated by sep up to close (see list).
func (p *jparser) exprs(sep, close string) ([]jnode, error) {
	var out []jnode
	err := p.list(sep, close, func() error {
		e, err := p.expr(0)
		if err == nil {
			out = append(out, e)
		}
		return err
	})
	return out, err
}

// lambda parses "function($a, $b) { body }" after the keyword.
func (p *jparser) lambda() (jnode, error) {
	p.next() // (
	var params []string
	err := p.list(",", ")", func() error {
		t := p.next()
		if t.kind != "var" {
			return p.unexpected(t, "a parameter")
		}
		params = append(params, t.text)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	seq, err := p.exprs(";", "}")
	if err != nil {
		return nil, err
	}
	var body jnode = &jblock{seq: seq}
	if len(seq) == 1 {
		body = seq[0]
	}
	return &jlambda{params: params, body: body}, nil
}

type jfield struct{ name string }

func (n *jfield) eval(_ *jenv, ctx any) (any, error) { return fieldOf(ctx, n.name), nil }

func fieldOf(ctx any, name string) any {
	switch c := ctx.(type) {
	case map[string]any:
		if v, ok := c[name]; ok {
			return v
		}
	case []any:
		var out seqT
		for _, e := range c {
			v := fieldOf(e, name)
			out = appendSeq(out, v)
		}
		return collapse(out)
	case seqT:
		return fieldOf([]any(c), name)
	}
	return undefined
}

type jwild struct{}

func (n *jwild) eval(_ *jenv, ctx any) (any, error) {
	m, ok := ctx.(map[string]any)
	if !ok {
		return undefined, nil
	}
	keys := sortedMapKeys(m)
	var out seqT
	for _, k := range keys {
		out = appendSeq(out, m[k])
	}
	return collapse(out), nil
}

func appendSeq(out seqT, v any) seqT {
	switch x := v.(type) {
	case undefinedT:
		return out
	case seqT:
		return append(out, x...)
	case []any:
		return append(out, x...)
	}
	return append(out, v)
}

func collapse(s seqT) any {
	switch len(s) {
	case 0:
		return undefined
	case 1:
		return s[0]
	}
	return s
}

type jpath struct{ l, r jnode }

func (n *jpath) eval(env *jenv, ctx any) (any, error) {
	lv, err := n.l.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	var items []any
	switch x := lv.(type) {
	case undefinedT:
		return undefined, nil
	case seqT:
		items = x
	case []any:
		items = x
	default:
		return n.r.eval(env, lv)
	}
	var out seqT
	for _, it := range items {
		v, err := n.r.eval(env, it)
		if err != nil {
			return nil, err
		}
		out = appendSeq(out, v)
	}
	return collapse(out), nil
}

type jkeepArray struct{ n jnode }

func (n *jkeepArray) eval(env *jenv, ctx any) (any, error) {
	v, err := n.n.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	items, ok := seqItems(v)
	if !ok {
		return undefined, nil
	}
	return items, nil
}

// seqItems views v as the items a step iterates: the members of a sequence
// or array, else v alone; ok is false for undefined.
func seqItems(v any) (items []any, ok bool) {
	switch x := v.(type) {
	case undefinedT:
		return nil, false
	case seqT:
		return x, true
	case []any:
		return x, true
	}
	return []any{v}, true
}

type jfilter struct{ n, pred jnode }

func (n *jfilter) eval(env *jenv, ctx any) (any, error) {
	v, err := n.n.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	items, ok := seqItems(v)
	if !ok {
		return undefined, nil
	}
	if lit, ok := n.pred.(*jlit); ok {
		if f, isNum := lit.v.(float64); isNum {
			i := int(math.Floor(f))
			if i < 0 {
				i += len(items)
			}
			if i < 0 || i >= len(items) {
				return undefined, nil
			}
			return items[i], nil
		}
	}
	var out seqT
	for idx, it := range items {
		pv, err := n.pred.eval(env, it)
		if err != nil {
			return nil, err
		}
		if f, isNum := toFloat(pv); isNum {
			i := int(math.Floor(f))
			if i < 0 {
				i += len(items)
			}
			if i == idx {
				out = append(out, it)
			}
			continue
		}
		if truthy(pv) {
			out = append(out, it)
		}
	}
	return collapse(out), nil
}

type jneg struct{ n jnode }

func (n *jneg) eval(env *jenv, ctx any) (any, error) {
	v, err := n.n.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(undefinedT); ok {
		return undefined, nil
	}
	f, ok := toFloat(v)
	if !ok {
		return nil, &EvalError{"Cannot negate a non-numeric value"}
	}
	return -f, nil
}

type jbind struct {
	name  string
	value jnode
}

func (n *jbind) eval(env *jenv, ctx any) (any, error) {
	v, err := n.value.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	env.vars[n.name] = v
	return v, nil
}

type jcond struct{ cond, then, els jnode }

func (n *jcond) eval(env *jenv, ctx any) (any, error) {
	c, err := n.cond.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	if truthy(c) {
		return n.then.eval(env, ctx)
	}
	if n.els == nil {
		return undefined, nil
	}
	return n.els.eval(env, ctx)
}

type jblock struct{ seq []jnode }

func (n *jblock) eval(env *jenv, ctx any) (any, error) {
	inner := &jenv{vars: map[string]any{}, parent: env, rt: env.rt, depth: env.depth}
	var v any = undefined
	for _, e := range n.seq {
		var err error
		if v, err = e.eval(inner, ctx); err != nil {
			return nil, err
		}
	}
	return v, nil
}

type jrange struct{ lo, hi jnode }

func (n *jrange) eval(env *jenv, ctx any) (any, error) {
	lo, err := n.lo.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	hi, err := n.hi.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	a, ok1 := toFloat(lo)
	b, ok2 := toFloat(hi)
	if !ok1 || !ok2 {
		return nil, &EvalError{"The operands of the range operator must be integers"}
	}
	if b-a > maxJSONataRange {
		return nil, &EvalError{"The size of the sequence allocated by the range operator must not exceed 1e7"}
	}
	var out seqT
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out, nil
}

type jarray struct{ items []jnode }

func (n *jarray) eval(env *jenv, ctx any) (any, error) {
	out := []any{}
	for _, it := range n.items {
		v, err := it.eval(env, ctx)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case undefinedT:
		case seqT:
			if _, isRange := it.(*jrange); isRange {
				out = append(out, x...)
			} else {
				out = append(out, []any(x)...)
			}
		default:
			out = append(out, v)
		}
	}
	return out, nil
}

type jobject struct{ keys, vals []jnode }

func (n *jobject) eval(env *jenv, ctx any) (any, error) {
	out := map[string]any{}
	for i := range n.keys {
		k, err := n.keys[i].eval(env, ctx)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, &EvalError{"Key in object structure must evaluate to a string"}
		}
		v, err := n.vals[i].eval(env, ctx)
		if err != nil {
			return nil, err
		}
		if _, isUndef := v.(undefinedT); !isUndef {
			out[ks] = v
		}
	}
	return out, nil
}

type jbin struct {
	op   string
	l, r jnode
}

func (n *jbin) eval(env *jenv, ctx any) (any, error) {
	l, err := n.l.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and":
		if !truthy(l) {
			return false, nil
		}
		r, err := n.r.eval(env, ctx)
		return truthy(r), err
	case "or":
		if truthy(l) {
			return true, nil
		}
		r, err := n.r.eval(env, ctx)
		return truthy(r), err
	}
	r, err := n.r.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	_, lu := l.(undefinedT)
	_, ru := r.(undefinedT)
	switch n.op {
	case "&":
		ls, rs := "", ""
		if !lu {
			ls = jstring(l)
		}
		if !ru {
			rs = jstring(r)
		}
		return ls + rs, nil
	case "=", "!=":
		if lu || ru {
			return false, nil
		}
		eq := jsonpath.Equal(toJSON(l), toJSON(r))
		if n.op == "=" {
			return eq, nil
		}
		return !eq, nil
	case "in":
		if lu || ru {
			return false, nil
		}
		arr, ok := toJSON(r).([]any)
		if !ok {
			arr = []any{toJSON(r)}
		}
		for _, e := range arr {
			if jsonpath.Equal(toJSON(l), e) {
				return true, nil
			}
		}
		return false, nil
	case "<", "<=", ">", ">=":
		if lu || ru {
			return undefined, nil
		}
		var c int
		if lf, ok := toFloat(l); ok {
			rf, ok := toFloat(r)
			if !ok {
				return nil, &EvalError{"T2010: The expressions either side of operator \"" + n.op + "\" must evaluate to numeric or string values"}
			}
			c = cmpFloat(lf, rf)
		} else if ls, ok := l.(string); ok {
			rs, ok := r.(string)
			if !ok {
				return nil, &EvalError{"T2010: The expressions either side of operator \"" + n.op + "\" must evaluate to numeric or string values"}
			}
			c = strings.Compare(ls, rs)
		} else {
			return nil, &EvalError{"T2010: The expressions either side of operator \"" + n.op + "\" must evaluate to numeric or string values"}
		}
		switch n.op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	}
	if lu || ru {
		return undefined, nil
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 {
		return nil, &EvalError{fmt.Sprintf("T2001: The left side of the \"%s\" operator must evaluate to a number", n.op)}
	}
	if !ok2 {
		return nil, &EvalError{fmt.Sprintf("T2002: The right side of the \"%s\" operator must evaluate to a number", n.op)}
	}
	switch n.op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		return lf / rf, nil
	default:
		return math.Mod(lf, rf), nil
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type jcall struct {
	name string
	args []jnode
}

func (n *jcall) eval(env *jenv, ctx any) (any, error) {
	args := make([]any, len(n.args))
	for i, a := range n.args {
		v, err := a.eval(env, ctx)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(seqT); ok {
			v = []any(s)
		}
		args[i] = v
	}
	return jfuncs[n.name](env, args)
}

// ---- values ----

// fromJSON converts a JSON value (json.Number) to JSONata's (float64).
func fromJSON(v any) any {
	return jsonpath.MapLeaves(v, func(leaf any) any {
		if n, ok := leaf.(json.Number); ok {
			f, _ := n.Float64()
			return f
		}
		return leaf
	})
}

// toJSON converts a JSONata value back to a JSON value.
func toJSON(v any) any {
	switch x := v.(type) {
	case float64:
		return floatNumber(x)
	case int:
		return json.Number(strconv.Itoa(x))
	case seqT:
		return toJSON([]any(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSON(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if c := toJSON(e); c != undefined {
				out[k] = c
			}
		}
		return out
	case *regexp.Regexp:
		return x.String()
	case *jclosure, jbuiltin:
		// A function has no JSON form.
		return undefined
	}
	return v
}

// floatNumber renders a float as JSON: integral values without a fraction.
func floatNumber(f float64) json.Number {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefinedT:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case seqT:
		for _, e := range x {
			if truthy(e) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if truthy(e) {
				return true
			}
		}
		return false
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// jstring is JSONata's $string.
func jstring(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case undefinedT:
		return ""
	}
	s, err := jsonpath.EncodeString(toJSON(v))
	if err != nil {
		return "null"
	}
	return s
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- functions ----

func argErr(name string) error {
	return &EvalError{fmt.Sprintf("T0410: Argument of function \"%s\" does not match function signature", name)}
}

func numArgs(name string, args []any, n int) ([]float64, error) {
	if len(args) < n {
		return nil, argErr(name)
	}
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		f, ok := toFloat(args[i])
		if !ok {
			return nil, argErr(name)
		}
		out[i] = f
	}
	return out, nil
}

func asArray(v any) []any {
	switch x := v.(type) {
	case undefinedT:
		return nil
	case []any:
		return x
	case seqT:
		return x
	}
	return []any{v}
}

var jfuncs map[string]func(env *jenv, args []any) (any, error)

func init() {
	jfuncs = map[string]func(env *jenv, args []any) (any, error){
		"sum": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return nil, argErr("sum")
			}
			s := 0.0
			for _, e := range asArray(a[0]) {
				f, ok := toFloat(e)
				if !ok {
					return nil, argErr("sum")
				}
				s += f
			}
			return s, nil
		},
		"count": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return 0.0, nil
			}
			return float64(len(asArray(a[0]))), nil
		},
		"max":     aggregate("max", math.Max),
		"min":     aggregate("min", math.Min),
		"average": func(_ *jenv, a []any) (any, error) { return average(a) },
		"string": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			if _, u := a[0].(undefinedT); u {
				return undefined, nil
			}
			return jstring(a[0]), nil
		},
		"number": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			switch x := a[0].(type) {
			case float64:
				return x, nil
			case bool:
				if x {
					return 1.0, nil
				}
				return 0.0, nil
			case string:
				f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
				if err != nil {
					return nil, &EvalError{"D3030: Unable to cast value to a number: " + strconv.Quote(x)}
				}
				return f, nil
			case undefinedT:
				return undefined, nil
			}
			return nil, argErr("number")
		},
		"boolean": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			return truthy(a[0]), nil
		},
		"not": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			return !truthy(a[0]), nil
		},
		"exists": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return false, nil
			}
			_, u := a[0].(undefinedT)
			return !u, nil
		},
		"length": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return nil, argErr("length")
			}
			s, ok := a[0].(string)
			if !ok {
				return nil, argErr("length")
			}
			return float64(len([]rune(s))), nil
		},
		"uppercase": strFunc("uppercase", strings.ToUpper),
		"lowercase": strFunc("lowercase", strings.ToLower),
		"trim":      strFunc("trim", func(s string) string { return strings.Join(strings.Fields(s), " ") }),
		"contains": func(_ *jenv, a []any) (any, error) {
			if len(a) < 2 {
				return nil, argErr("contains")
			}
			s, ok := a[0].(string)
			if !ok {
				return undefined, nil
			}
			switch p := a[1].(type) {
			case string:
				return strings.Contains(s, p), nil
			case *regexp.Regexp:
				return p.MatchString(s), nil
			}
			return nil, argErr("contains")
		},
		"substring": func(_ *jenv, a []any) (any, error) {
			if len(a) < 2 {
				return nil, argErr("substring")
			}
			s, ok := a[0].(string)
			if !ok {
				return nil, argErr("substring")
			}
			r := []rune(s)
			st, ok := toFloat(a[1])
			if !ok {
				return nil, argErr("substring")
			}
			start := int(st)
			if start < 0 {
				start = max(len(r)+start, 0)
			}
			if start > len(r) {
				return "", nil
			}
			end := len(r)
			if len(a) > 2 {
				l, ok := toFloat(a[2])
				if !ok {
					return nil, argErr("substring")
				}
				end = min(start+max(int(l), 0), len(r))
			}
			return string(r[start:end]), nil
		},
		"join": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return nil, argErr("join")
			}
			sep := ""
			if len(a) > 1 {
				sep, _ = a[1].(string)
			}
			var parts []string
			for _, e := range asArray(a[0]) {
				s, ok := e.(string)
				if !ok {
					return nil, argErr("join")
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, sep), nil
		},
		"split": func(_ *jenv, a []any) (any, error) {
			if len(a) < 2 {
				return nil, argErr("split")
			}
			s, ok1 := a[0].(string)
			sep, ok2 := a[1].(string)
			if !ok1 || !ok2 {
				return nil, argErr("split")
			}
			out := []any{}
			for _, p := range strings.Split(s, sep) {
				out = append(out, p)
			}
			return out, nil
		},
		"keys": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			m, ok := a[0].(map[string]any)
			if !ok {
				return undefined, nil
			}
			out := []any{}
			for _, k := range sortedMapKeys(m) {
				out = append(out, k)
			}
			return out, nil
		},
		"append": func(_ *jenv, a []any) (any, error) {
			if len(a) < 2 {
				return nil, argErr("append")
			}
			out := append([]any{}, asArray(a[0])...)
			return append(out, asArray(a[1])...), nil
		},
		"reverse": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			in := asArray(a[0])
			out := make([]any, len(in))
			for i, e := range in {
				out[len(in)-1-i] = e
			}
			return out, nil
		},
		"distinct": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			var out []any
			for _, e := range asArray(a[0]) {
				dup := false
				for _, o := range out {
					if jsonpath.Equal(toJSON(o), toJSON(e)) {
						dup = true
						break
					}
				}
				if !dup {
					out = append(out, e)
				}
			}
			return out, nil
		},
		"merge": func(_ *jenv, a []any) (any, error) {
			out := map[string]any{}
			if len(a) == 0 {
				return out, nil
			}
			for _, e := range asArray(a[0]) {
				m, ok := e.(map[string]any)
				if !ok {
					return nil, argErr("merge")
				}
				for k, v := range m {
					out[k] = v
				}
			}
			return out, nil
		},
		"lookup": func(_ *jenv, a []any) (any, error) {
			if len(a) < 2 {
				return nil, argErr("lookup")
			}
			k, _ := a[1].(string)
			return fieldOf(a[0], k), nil
		},
		"abs":   mathFunc("abs", math.Abs),
		"floor": mathFunc("floor", math.Floor),
		"ceil":  mathFunc("ceil", math.Ceil),
		"round": mathFunc("round", math.RoundToEven),
		"sqrt":  mathFunc("sqrt", math.Sqrt),
		"power": func(_ *jenv, a []any) (any, error) {
			f, err := numArgs("power", a, 2)
			if err != nil {
				return nil, err
			}
			return math.Pow(f[0], f[1]), nil
		},
		"type": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			switch a[0].(type) {
			case undefinedT:
				return undefined, nil
			case float64:
				return "number", nil
			}
			return jsonpath.TypeName(toJSON(a[0])), nil
		},
		"substringBefore": func(_ *jenv, a []any) (any, error) {
			s, sep, err := twoStrings("substringBefore", a)
			if err != nil {
				return nil, err
			}
			if i := strings.Index(s, sep); i >= 0 {
				return s[:i], nil
			}
			return s, nil
		},
		"substringAfter": func(_ *jenv, a []any) (any, error) {
			s, sep, err := twoStrings("substringAfter", a)
			if err != nil {
				return nil, err
			}
			if i := strings.Index(s, sep); i >= 0 {
				return s[i+len(sep):], nil
			}
			return s, nil
		},
		"replace": func(_ *jenv, a []any) (any, error) {
			if len(a) < 3 {
				return nil, argErr("replace")
			}
			s, ok := a[0].(string)
			repl, ok2 := a[2].(string)
			if !ok || !ok2 {
				return nil, argErr("replace")
			}
			switch p := a[1].(type) {
			case string:
				if p == "" {
					return nil, &EvalError{"The second argument of the replace function cannot be an empty string"}
				}
				return strings.ReplaceAll(s, p, repl), nil
			case *regexp.Regexp:
				return p.ReplaceAllString(s, strings.ReplaceAll(repl, "$0", "${0}")), nil
			}
			return nil, argErr("replace")
		},
		"sort": func(_ *jenv, a []any) (any, error) {
			if len(a) == 0 {
				return undefined, nil
			}
			in := append([]any{}, asArray(a[0])...)
			var bad bool
			sort.SliceStable(in, func(i, j int) bool {
				if x, ok := toFloat(in[i]); ok {
					y, ok := toFloat(in[j])
					bad = bad || !ok
					return x < y
				}
				x, ok1 := in[i].(string)
				y, ok2 := in[j].(string)
				bad = bad || !ok1 || !ok2
				return x < y
			})
			if bad {
				return nil, &EvalError{"The values of the $sort function must be all numbers or all strings"}
			}
			return in, nil
		},
		"now": func(env *jenv, _ []any) (any, error) {
			return env.rt.Now().UTC().Format("2006-01-02T15:04:05.000Z"), nil
		},
		"millis": func(env *jenv, _ []any) (any, error) {
			return float64(env.rt.Now().UnixMilli()), nil
		},
		// AWS additions.
		// AWS additions. Arity and argument checks follow a public suite of
		// JSONata cases executed against AWS (Feature.JSONataBuiltins,
		// found by code search): extra arguments fail, $partition without a
		// size returns one chunk, fractional sizes and $range arguments are
		// truncated, $range has no 1000-item cap, $hash has no length cap but
		// needs a string, $random takes at most a numeric seed.
		"parse": func(_ *jenv, a []any) (any, error) {
			if len(a) != 1 {
				return nil, argErr("parse")
			}
			s, ok := a[0].(string)
			if !ok {
				return nil, argErr("parse")
			}
			v, err := jsonpath.DecodeString(s)
			if err != nil {
				return nil, &EvalError{"The argument of $parse is not valid JSON: " + s}
			}
			return fromJSON(v), nil
		},
		"range": func(_ *jenv, a []any) (any, error) {
			if len(a) != 3 {
				return nil, argErr("range")
			}
			f, err := numArgs("range", a, 3)
			if err != nil {
				return nil, err
			}
			for i := range f {
				f[i] = math.Trunc(f[i])
			}
			if f[2] == 0 || math.Abs((f[1]-f[0])/f[2]) > maxJSONataRange {
				return nil, argErr("range")
			}
			var out []any
			for x := f[0]; (f[2] > 0 && x <= f[1]) || (f[2] < 0 && x >= f[1]); x += f[2] {
				out = append(out, x)
			}
			if len(out) == 1 {
				return out[0], nil
			}
			return out, nil
		},
		"partition": func(_ *jenv, a []any) (any, error) {
			if len(a) < 1 || len(a) > 2 {
				return nil, argErr("partition")
			}
			var in []any
			switch x := a[0].(type) {
			case []any:
				in = x
			case seqT:
				in = []any(x)
			default:
				return nil, argErr("partition")
			}
			size := float64(len(in))
			if len(a) == 2 {
				f, ok := toFloat(a[1])
				if !ok || math.Trunc(f) < 1 {
					return nil, argErr("partition")
				}
				size = math.Trunc(f)
			}
			if size < 1 {
				size = 1
			}
			out := []any{}
			for i := 0; i < len(in); i += int(size) {
				out = append(out, append([]any{}, in[i:min(i+int(size), len(in))]...))
			}
			return out, nil
		},
		"hash": func(_ *jenv, a []any) (any, error) {
			if len(a) < 1 || len(a) > 2 {
				return nil, argErr("hash")
			}
			s, ok := a[0].(string)
			if !ok {
				return nil, argErr("hash")
			}
			alg := "SHA-256"
			if len(a) > 1 {
				alg, _ = a[1].(string)
			}
			var sum []byte
			switch alg {
			case "MD5":
				h := md5.Sum([]byte(s))
				sum = h[:]
			case "SHA-1":
				h := sha1.Sum([]byte(s))
				sum = h[:]
			case "SHA-256":
				h := sha256.Sum256([]byte(s))
				sum = h[:]
			case "SHA-384":
				h := sha512.Sum384([]byte(s))
				sum = h[:]
			case "SHA-512":
				h := sha512.Sum512([]byte(s))
				sum = h[:]
			default:
				return nil, argErr("hash")
			}
			return hex.EncodeToString(sum), nil
		},
		"random": func(env *jenv, a []any) (any, error) {
			switch len(a) {
			case 0:
				return env.rt.Random(), nil
			case 1:
				seed, ok := toFloat(a[0])
				if !ok {
					return nil, argErr("random")
				}
				// The same seed gives the same number.
				return mrand.New(mrand.NewPCG(math.Float64bits(seed), 0)).Float64(), nil
			}
			return nil, argErr("random")
		},
		"uuid": func(env *jenv, a []any) (any, error) {
			if len(a) != 0 {
				return nil, argErr("uuid")
			}
			return env.rt.UUID(), nil
		},
	}
	addHigherOrder()
	addMoreStandard()
}

func strFunc(name string, f func(string) string) func(*jenv, []any) (any, error) {
	return func(_ *jenv, a []any) (any, error) {
		if len(a) == 0 {
			return undefined, nil
		}
		if _, u := a[0].(undefinedT); u {
			return undefined, nil
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, argErr(name)
		}
		return f(s), nil
	}
}

func mathFunc(name string, f func(float64) float64) func(*jenv, []any) (any, error) {
	return func(_ *jenv, a []any) (any, error) {
		if len(a) > 0 {
			if _, u := a[0].(undefinedT); u {
				return undefined, nil
			}
		}
		x, err := numArgs(name, a, 1)
		if err != nil {
			return nil, err
		}
		return f(x[0]), nil
	}
}

func aggregate(name string, f func(a, b float64) float64) func(*jenv, []any) (any, error) {
	return func(_ *jenv, a []any) (any, error) {
		if len(a) == 0 {
			return nil, argErr(name)
		}
		in := asArray(a[0])
		if len(in) == 0 {
			return undefined, nil
		}
		var acc float64
		for i, e := range in {
			x, ok := toFloat(e)
			if !ok {
				return nil, argErr(name)
			}
			if i == 0 {
				acc = x
			} else {
				acc = f(acc, x)
			}
		}
		return acc, nil
	}
}

func average(a []any) (any, error) {
	if len(a) == 0 {
		return nil, argErr("average")
	}
	in := asArray(a[0])
	if len(in) == 0 {
		return undefined, nil
	}
	s := 0.0
	for _, e := range in {
		x, ok := toFloat(e)
		if !ok {
			return nil, argErr("average")
		}
		s += x
	}
	return s / float64(len(in)), nil
}

func twoStrings(name string, a []any) (string, string, error) {
	if len(a) < 2 {
		return "", "", argErr(name)
	}
	s, ok1 := a[0].(string)
	t, ok2 := a[1].(string)
	if !ok1 || !ok2 {
		return "", "", argErr(name)
	}
	return s, t, nil
}
