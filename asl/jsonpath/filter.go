package jsonpath

import (
	"encoding/json"
	"regexp"
	"strings"
)

// expr is a filter predicate, evaluated with @ bound to cur.
type expr interface {
	test(cur, root any) bool
}

// operand is a value inside a filter: a literal or a path.
type operand interface {
	// value returns the operand's value, or false when a path finds nothing.
	value(cur, root any) (any, bool)
}

type literal struct{ v any }

func (l literal) value(any, any) (any, bool) { return l.v, true }

type pathOperand struct {
	relative bool // rooted at @ rather than $
	segs     []segment
}

func (p pathOperand) value(cur, root any) (any, bool) {
	doc := root
	if p.relative {
		doc = cur
	}
	if definite(p.segs) {
		v, err := getDefinite(p.segs, doc, "")
		return v, err == nil
	}
	return collect(p.segs, doc, root), true
}

type andExpr struct{ l, r expr }

func (e andExpr) test(cur, root any) bool { return e.l.test(cur, root) && e.r.test(cur, root) }

type orExpr struct{ l, r expr }

func (e orExpr) test(cur, root any) bool { return e.l.test(cur, root) || e.r.test(cur, root) }

type notExpr struct{ e expr }

func (e notExpr) test(cur, root any) bool { return !e.e.test(cur, root) }

// existsExpr is a lone path: true when the path finds a value.
type existsExpr struct{ p pathOperand }

func (e existsExpr) test(cur, root any) bool {
	v, ok := e.p.value(cur, root)
	if !ok {
		return false
	}
	if !definite(e.p.segs) {
		l, _ := v.([]any)
		return len(l) > 0
	}
	return true
}

// litExpr is a lone literal: true unless false or null.
type litExpr struct{ v any }

func (e litExpr) test(any, any) bool { return e.v != nil && e.v != false }

type cmpExpr struct {
	op   string
	l, r operand
	re   *regexp.Regexp
}

func (e cmpExpr) test(cur, root any) bool {
	lv, lok := e.l.value(cur, root)
	if e.op == "=~" {
		s, ok := lv.(string)
		return lok && ok && e.re.MatchString(s)
	}
	rv, rok := e.r.value(cur, root)
	switch e.op {
	case "==":
		return lok && rok && filterEqual(lv, rv)
	case "!=":
		return !(lok && rok && filterEqual(lv, rv))
	case "in", "nin":
		in := false
		if l, ok := rv.([]any); ok && lok && rok {
			for _, x := range l {
				if filterEqual(lv, x) {
					in = true
					break
				}
			}
		}
		if e.op == "in" {
			return in
		}
		return lok && rok && !in
	}
	if !lok || !rok {
		return false
	}
	c, ok := CompareNumbers(lv, rv)
	if !ok {
		ls, ok1 := lv.(string)
		rs, ok2 := rv.(string)
		if !ok1 || !ok2 {
			return false
		}
		c = strings.Compare(ls, rs)
	}
	switch e.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default: // ">="
		return c >= 0
	}
}

// filterEqual is equality in filters. Like Jayway JsonPath it lets a number
// equal a string: a number on the left compares by value with the string
// parsed as a number, a string on the left compares as text with the
// number's text.
func filterEqual(l, r any) bool {
	ls, lIsStr := l.(string)
	rs, rIsStr := r.(string)
	switch {
	case IsNumber(l) && rIsStr:
		if !validNumber(rs) {
			return false
		}
		c, ok := CompareNumbers(l, json.Number(rs))
		return ok && c == 0
	case lIsStr && IsNumber(r):
		n, _ := Number(r)
		return ls == string(n)
	}
	return Equal(l, r)
}

// orExpr := andExpr ('||' andExpr)*
func (ps *parser) orExpr() (expr, error) {
	l, err := ps.andExpr()
	if err != nil {
		return nil, err
	}
	for {
		ps.skipSpace()
		if !strings.HasPrefix(ps.src[ps.pos:], "||") {
			return l, nil
		}
		ps.pos += 2
		r, err := ps.andExpr()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
}

// andExpr := unary ('&&' unary)*
func (ps *parser) andExpr() (expr, error) {
	l, err := ps.unary()
	if err != nil {
		return nil, err
	}
	for {
		ps.skipSpace()
		if !strings.HasPrefix(ps.src[ps.pos:], "&&") {
			return l, nil
		}
		ps.pos += 2
		r, err := ps.unary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
}

// unary := '!' unary | '(' orExpr ')' | comparison
func (ps *parser) unary() (expr, error) {
	ps.skipSpace()
	switch ps.peek() {
	case '!':
		ps.pos++
		e, err := ps.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	case '(':
		ps.pos++
		e, err := ps.orExpr()
		if err != nil {
			return nil, err
		}
		ps.skipSpace()
		if ps.peek() != ')' {
			return nil, ps.errf("expected ')'")
		}
		ps.pos++
		return e, nil
	}
	return ps.comparison()
}

var cmpOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">", " in ", " nin "}

func (ps *parser) comparison() (expr, error) {
	l, err := ps.operand()
	if err != nil {
		return nil, err
	}
	save := ps.pos
	ps.skipSpace()
	op := ""
	for _, o := range cmpOps {
		t := strings.TrimSpace(o)
		if strings.HasPrefix(ps.src[ps.pos:], t) {
			if o[0] == ' ' { // word operators need a following space
				if ps.pos+len(t) >= len(ps.src) || !isSpace(ps.src[ps.pos+len(t)]) {
					continue
				}
			}
			op = t
			break
		}
	}
	if op == "" {
		ps.pos = save
		switch o := l.(type) {
		case pathOperand:
			return existsExpr{o}, nil
		case literal:
			return litExpr(o), nil
		}
		return nil, ps.errf("expected a comparison")
	}
	ps.pos += len(op)
	ps.skipSpace()
	if op == "=~" {
		re, err := ps.regex()
		if err != nil {
			return nil, err
		}
		return cmpExpr{op: op, l: l, re: re}, nil
	}
	r, err := ps.operand()
	if err != nil {
		return nil, err
	}
	return cmpExpr{op: op, l: l, r: r}, nil
}

// regex reads /pattern/flags; the pattern must match a whole string.
func (ps *parser) regex() (*regexp.Regexp, error) {
	if ps.peek() != '/' {
		return nil, ps.errf("expected a /regex/")
	}
	ps.pos++
	var b strings.Builder
	for {
		if ps.eof() {
			return nil, ps.errf("unterminated regex")
		}
		c := ps.peek()
		if c == '\\' && ps.pos+1 < len(ps.src) && ps.src[ps.pos+1] == '/' {
			b.WriteByte('/')
			ps.pos += 2
			continue
		}
		if c == '/' {
			ps.pos++
			break
		}
		b.WriteByte(c)
		ps.pos++
	}
	flags := ""
	for !ps.eof() && strings.IndexByte("imsx", ps.peek()) >= 0 {
		if c := ps.peek(); c != 'x' && !strings.Contains(flags, string(c)) {
			flags += string(c)
		}
		ps.pos++
	}
	pat := "^(?:" + b.String() + ")$"
	if flags != "" {
		pat = "(?" + flags + ")" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, ps.errf("invalid regex: " + err.Error())
	}
	return re, nil
}

func (ps *parser) operand() (operand, error) {
	ps.skipSpace()
	c := ps.peek()
	switch {
	case c == '@' || c == '$':
		root, err := ps.root(true)
		if err != nil {
			return nil, err
		}
		if root == RootContext {
			return nil, ps.errf("'$$' is not allowed in filters")
		}
		segs, err := ps.segments(true)
		if err != nil {
			return nil, err
		}
		return pathOperand{relative: root == "@", segs: segs}, nil
	case c == '\'' || c == '"':
		s, err := ps.quoted()
		if err != nil {
			return nil, err
		}
		return literal{s}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := ps.pos
		ps.pos++
		for !ps.eof() && strings.IndexByte("0123456789.eE+-", ps.peek()) >= 0 {
			ps.pos++
		}
		n := ps.src[start:ps.pos]
		if !validNumber(n) {
			ps.pos = start
			return nil, ps.errf("invalid number")
		}
		return literal{jsonNumber(n)}, nil
	case c == '[':
		ps.pos++
		var items []any
		for {
			ps.skipSpace()
			if ps.peek() == ']' && len(items) == 0 {
				break
			}
			o, err := ps.operand()
			if err != nil {
				return nil, err
			}
			l, ok := o.(literal)
			if !ok {
				return nil, ps.errf("array literals may hold only literals")
			}
			items = append(items, l.v)
			ps.skipSpace()
			if ps.peek() != ',' {
				break
			}
			ps.pos++
		}
		if ps.peek() != ']' {
			return nil, ps.errf("expected ']'")
		}
		ps.pos++
		if items == nil {
			items = []any{}
		}
		return literal{items}, nil
	}
	for _, kw := range []struct {
		s string
		v any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(ps.src[ps.pos:], kw.s) {
			ps.pos += len(kw.s)
			return literal{kw.v}, nil
		}
	}
	return nil, ps.errf("expected a value or a path")
}
