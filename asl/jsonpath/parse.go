package jsonpath

import (
	"strconv"
	"strings"
)

// segKind is the kind of one step of a path.
type segKind int

const (
	segNames    segKind = iota // .name, ['a'] or ['a','b']
	segIndexes                 // [0] or [0,2]
	segWildcard                // .* or [*]
	segSlice                   // [a:b]
	segFilter                  // [?(expr)]
)

// segment is one step of a parsed path.
type segment struct {
	kind    segKind
	deep    bool // reached through '..'
	names   []string
	indexes []int
	from    int
	to      int
	hasFrom bool
	hasTo   bool
	filter  expr
}

// Root values returned by Path.Root.
const (
	RootInput   = "$"  // the state input (or the document passed to Get)
	RootContext = "$$" // the context object
)

// Path is a compiled JSONPath expression. It is safe for concurrent use.
type Path struct {
	text string
	root string
	segs []segment
}

// String returns the path as written.
func (p *Path) String() string { return p.text }

// Root returns the root of the path: RootInput for "$...", RootContext for
// "$$..." and "$name" for a variable reference such as "$name.field".
func (p *Path) Root() string { return p.root }

// Variable returns the variable name of a path such as "$x.y" ("x") and
// true, or "" and false when the root is "$" or "$$".
func (p *Path) Variable() (string, bool) {
	if p.root == RootInput || p.root == RootContext {
		return "", false
	}
	return p.root[1:], true
}

// FirstField returns the field name of the path's first step when that
// step is a single name (".a" or "['a']", not "..a"): Get then reads only
// that field of the document.
func (p *Path) FirstField() (string, bool) {
	if len(p.segs) == 0 {
		return "", false
	}
	s := p.segs[0]
	if s.kind != segNames || s.deep || len(s.names) != 1 {
		return "", false
	}
	return s.names[0], true
}

// IsDefinite reports whether the path selects at most one value (no
// wildcard, slice, filter, recursive descent or index list). Get returns a
// definite path's value itself and an indefinite path's matches as an array.
func (p *Path) IsDefinite() bool { return definite(p.segs) }

// IsReference reports whether the path is a reference path in the sense of
// the States Language: rooted at "$" and made only of single field names and
// single array indexes.
func (p *Path) IsReference() bool {
	if p.root != RootInput {
		return false
	}
	for _, s := range p.segs {
		if s.deep {
			return false
		}
		switch s.kind {
		case segNames:
			if len(s.names) != 1 {
				return false
			}
		case segIndexes:
			if len(s.indexes) != 1 || s.indexes[0] < 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func definite(segs []segment) bool {
	for i, s := range segs {
		if s.deep {
			return false
		}
		switch s.kind {
		case segNames:
			if len(s.names) != 1 && i != len(segs)-1 {
				return false
			}
		case segIndexes:
			if len(s.indexes) != 1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Compile parses a path. A path starts with "$" (the input), "$$" (the
// context object) or "$name" (a variable) and continues with steps:
// .name, ['name'], ["name"], ['a','b'], [n], [n,m], [from:to], [*], .*,
// ..name, ..*, and filters [?(expr)]. Functions such as length() are not
// part of the AWS dialect and are rejected.
func Compile(path string) (*Path, error) {
	p, n, err := CompilePrefix(path)
	if err != nil {
		return nil, err
	}
	if n != len(path) {
		return nil, &SyntaxError{Path: path, Pos: n, Msg: "unexpected " + strconv.Quote(path[n:n+1])}
	}
	return p, nil
}

// MustCompile is Compile that panics on error, for paths known at compile
// time.
func MustCompile(path string) *Path {
	p, err := Compile(path)
	if err != nil {
		panic(err)
	}
	return p
}

// CompilePrefix parses the longest path at the start of s and returns it with
// the number of bytes consumed. Parsing stops before white space, ',' or ')'
// outside brackets, so it can read a path argument of an intrinsic function.
func CompilePrefix(s string) (*Path, int, error) {
	ps := &parser{src: s}
	root, err := ps.root(false)
	if err != nil {
		return nil, 0, err
	}
	segs, err := ps.segments(false)
	if err != nil {
		return nil, 0, err
	}
	return &Path{text: s[:ps.pos], root: root, segs: segs}, ps.pos, nil
}

// Validate reports whether path is a syntactically valid path.
func Validate(path string) error {
	_, err := Compile(path)
	return err
}

// IsReferencePath reports whether path is a valid reference path (see
// Path.IsReference), as required for ResultPath.
func IsReferencePath(path string) bool {
	p, err := Compile(path)
	return err == nil && p.IsReference()
}

// parser reads paths and filter expressions.
type parser struct {
	src string
	pos int
}

func (ps *parser) errf(msg string) error {
	return &SyntaxError{Path: ps.src, Pos: ps.pos, Msg: msg}
}

func (ps *parser) peek() byte {
	if ps.pos < len(ps.src) {
		return ps.src[ps.pos]
	}
	return 0
}

func (ps *parser) eof() bool { return ps.pos >= len(ps.src) }

func (ps *parser) skipSpace() {
	for ps.pos < len(ps.src) && isSpace(ps.src[ps.pos]) {
		ps.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// root reads "$", "$$", "$name" or, inside a filter, "@".
func (ps *parser) root(inFilter bool) (string, error) {
	c := ps.peek()
	if inFilter && c == '@' {
		ps.pos++
		return "@", nil
	}
	if c != '$' {
		return "", ps.errf("a path must start with '$'")
	}
	ps.pos++
	if ps.peek() == '$' {
		ps.pos++
		return RootContext, nil
	}
	start := ps.pos
	for !ps.eof() && isIdent(ps.peek()) {
		ps.pos++
	}
	if ps.pos > start {
		if inFilter {
			return "", ps.errf("variables are not allowed in filters")
		}
		return "$" + ps.src[start:ps.pos], nil
	}
	return RootInput, nil
}

// nameEnd reports whether c ends a dotted field name.
func nameEnd(c byte, inFilter bool) bool {
	switch c {
	case '.', '[', '(', ')', ']', ',', ' ', '\t', '\n', '\r', '\'', '"':
		return true
	case '=', '!', '<', '>', '&', '|':
		return inFilter
	}
	return false
}

// segments reads steps until something that cannot continue a path.
func (ps *parser) segments(inFilter bool) ([]segment, error) {
	var segs []segment
	for !ps.eof() {
		c := ps.peek()
		switch {
		case c == '.' && strings.HasPrefix(ps.src[ps.pos:], ".."):
			ps.pos += 2
			var seg segment
			switch ps.peek() {
			case '[':
				s, err := ps.bracket()
				if err != nil {
					return nil, err
				}
				seg = s
			case '*':
				ps.pos++
				seg = segment{kind: segWildcard}
			default:
				name, err := ps.name(inFilter)
				if err != nil {
					return nil, err
				}
				seg = segment{kind: segNames, names: []string{name}}
			}
			seg.deep = true
			segs = append(segs, seg)
		case c == '.':
			ps.pos++
			if ps.peek() == '[' {
				// Jayway JsonPath (which AWS uses) accepts a bracket
				// step after a dot: "$.['a']", "$.[?(@.x)]".
				s, err := ps.bracket()
				if err != nil {
					return nil, err
				}
				segs = append(segs, s)
				continue
			}
			if ps.peek() == '*' {
				ps.pos++
				segs = append(segs, segment{kind: segWildcard})
				continue
			}
			name, err := ps.name(inFilter)
			if err != nil {
				return nil, err
			}
			segs = append(segs, segment{kind: segNames, names: []string{name}})
		case c == '[':
			s, err := ps.bracket()
			if err != nil {
				return nil, err
			}
			segs = append(segs, s)
		default:
			return segs, nil
		}
	}
	return segs, nil
}

func (ps *parser) name(inFilter bool) (string, error) {
	start := ps.pos
	for !ps.eof() && !nameEnd(ps.peek(), inFilter) {
		ps.pos++
	}
	if ps.pos == start {
		return "", ps.errf("expected a field name")
	}
	if ps.peek() == '(' {
		return "", ps.errf("functions such as " + ps.src[start:ps.pos] + "() are not supported")
	}
	return ps.src[start:ps.pos], nil
}

// bracket reads a [...] step; ps.pos is at '['.
func (ps *parser) bracket() (segment, error) {
	ps.pos++ // '['
	ps.skipSpace()
	switch c := ps.peek(); {
	case c == '*':
		ps.pos++
		if err := ps.closeBracket(); err != nil {
			return segment{}, err
		}
		return segment{kind: segWildcard}, nil
	case c == '?':
		ps.pos++
		ps.skipSpace()
		if ps.peek() != '(' {
			return segment{}, ps.errf("expected '(' after '?'")
		}
		ps.pos++
		e, err := ps.orExpr()
		if err != nil {
			return segment{}, err
		}
		ps.skipSpace()
		if ps.peek() != ')' {
			return segment{}, ps.errf("expected ')' to close the filter")
		}
		ps.pos++
		if err := ps.closeBracket(); err != nil {
			return segment{}, err
		}
		return segment{kind: segFilter, filter: e}, nil
	case c == '\'' || c == '"':
		var names []string
		for {
			s, err := ps.quoted()
			if err != nil {
				return segment{}, err
			}
			names = append(names, s)
			ps.skipSpace()
			if ps.peek() != ',' {
				break
			}
			ps.pos++
			ps.skipSpace()
			if c := ps.peek(); c != '\'' && c != '"' {
				return segment{}, ps.errf("expected a quoted field name")
			}
		}
		if err := ps.closeBracket(); err != nil {
			return segment{}, err
		}
		return segment{kind: segNames, names: names}, nil
	case c == ':' || c == '-' || c >= '0' && c <= '9':
		return ps.indexes()
	default:
		return segment{}, ps.errf("unexpected character in brackets")
	}
}

func (ps *parser) closeBracket() error {
	ps.skipSpace()
	if ps.peek() != ']' {
		return ps.errf("expected ']'")
	}
	ps.pos++
	return nil
}

// quoted reads a '...' or "..." string. A backslash escapes the next byte
// for the purpose of finding the end; only an escaped delimiter is replaced
// (by the delimiter itself), other backslashes are kept, as AWS does.
func (ps *parser) quoted() (string, error) {
	delim := ps.peek()
	ps.pos++
	start := ps.pos
	for {
		if ps.eof() {
			return "", ps.errf("unterminated string")
		}
		c := ps.peek()
		if c == '\\' && ps.pos+1 < len(ps.src) {
			ps.pos += 2
			continue
		}
		if c == delim {
			break
		}
		ps.pos++
	}
	s := ps.src[start:ps.pos]
	ps.pos++
	return strings.ReplaceAll(s, `\`+string(delim), string(delim)), nil
}

func (ps *parser) int() (int, bool, error) {
	start := ps.pos
	if ps.peek() == '-' {
		ps.pos++
	}
	for !ps.eof() && ps.peek() >= '0' && ps.peek() <= '9' {
		ps.pos++
	}
	if ps.pos == start {
		return 0, false, nil
	}
	n, err := strconv.Atoi(ps.src[start:ps.pos])
	if err != nil {
		ps.pos = start
		return 0, false, ps.errf("invalid array index")
	}
	return n, true, nil
}

// indexes reads [n], [n,m,...] or [from:to].
func (ps *parser) indexes() (segment, error) {
	first, ok, err := ps.int()
	if err != nil {
		return segment{}, err
	}
	ps.skipSpace()
	if ps.peek() == ':' {
		ps.pos++
		ps.skipSpace()
		seg := segment{kind: segSlice, from: first, hasFrom: ok}
		to, ok2, err := ps.int()
		if err != nil {
			return segment{}, err
		}
		seg.to, seg.hasTo = to, ok2
		ps.skipSpace()
		if ps.peek() == ':' {
			return segment{}, ps.errf("slice steps are not supported")
		}
		if err := ps.closeBracket(); err != nil {
			return segment{}, err
		}
		return seg, nil
	}
	if !ok {
		return segment{}, ps.errf("expected an array index")
	}
	seg := segment{kind: segIndexes, indexes: []int{first}}
	for ps.peek() == ',' {
		ps.pos++
		ps.skipSpace()
		n, ok, err := ps.int()
		if err != nil {
			return segment{}, err
		}
		if !ok {
			return segment{}, ps.errf("expected an array index")
		}
		seg.indexes = append(seg.indexes, n)
		ps.skipSpace()
	}
	if err := ps.closeBracket(); err != nil {
		return segment{}, err
	}
	return seg, nil
}
