// Package intrinsic parses and evaluates the intrinsic functions of the
// Amazon States Language (States.Format, States.Array, States.MathAdd, ...)
// as they appear in "Field.$" values of JSONPath state machines.
//
// Parse turns a call string into a *Call; Call.Eval evaluates it against an
// Env holding the state input, the context object and the variables.
// Failures are *Error values carrying the AWS error name (States.Runtime)
// and a cause; a JSONPath argument that is not found also unwraps to a
// *jsonpath.NotFoundError.
package intrinsic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// ArgKind tells which field of an Arg is set.
type ArgKind int

// Kinds of argument.
const (
	ArgLiteral ArgKind = iota // Value holds a string, json.Number, bool or nil
	ArgPath                   // Path holds a JSONPath ($, $$ or $variable)
	ArgCall                   // Call holds a nested intrinsic call
)

// Arg is one argument of an intrinsic call.
type Arg struct {
	Kind  ArgKind
	Value any            // for ArgLiteral
	Raw   string         // for a string literal: the text between the quotes, escapes unprocessed
	Path  *jsonpath.Path // for ArgPath
	Call  *Call          // for ArgCall
}

// Call is a parsed intrinsic function call such as States.Format('{}', $.a).
type Call struct {
	Name string // full name, e.g. "States.Format"
	Args []Arg
	Text string // the call as written
}

// String returns the call as written.
func (c *Call) String() string { return c.Text }

// SyntaxError reports an intrinsic call that cannot be parsed.
type SyntaxError struct {
	Text string // the string being parsed
	Pos  int    // byte offset of the problem
	Msg  string
	Err  error // underlying error, e.g. a *jsonpath.SyntaxError
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("intrinsic: invalid call %q at offset %d: %s", e.Text, e.Pos, e.Msg)
}

// Unwrap returns the underlying error, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// IsIntrinsic reports whether s looks like an intrinsic function call: a
// name beginning with "States." followed by '('. It does not check the rest;
// use Parse for that.
func IsIntrinsic(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "States.") {
		return false
	}
	i := len("States.")
	for i < len(s) && isIdent(s[i]) {
		i++
	}
	return i > len("States.") && i < len(s) && s[i] == '('
}

// Parse parses an intrinsic call. Arguments are string literals in single
// quotes (\' \{ \} \\ and any other backslash pair stand for the escaped
// character), numbers, true, false, null, JSONPaths ($..., $$..., $name...)
// and nested calls. The function name is not checked against the known set;
// Check does that.
func Parse(s string) (*Call, error) {
	p := &parser{src: s}
	p.skipSpace()
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errf("unexpected text after the call")
	}
	return c, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) errf(msg string) error {
	return &SyntaxError{Text: p.src, Pos: p.pos, Msg: msg}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t' || p.peek() == '\n' || p.peek() == '\r') {
		p.pos++
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// call reads Name(args).
func (p *parser) call() (*Call, error) {
	start := p.pos
	if !strings.HasPrefix(p.src[p.pos:], "States.") {
		return nil, p.errf("expected a function name starting with 'States.'")
	}
	p.pos += len("States.")
	for !p.eof() && isIdent(p.peek()) {
		p.pos++
	}
	name := p.src[start:p.pos]
	if name == "States." {
		return nil, p.errf("expected a function name")
	}
	p.skipSpace()
	if p.peek() != '(' {
		return nil, p.errf("expected '(' after " + name)
	}
	p.pos++
	c := &Call{Name: name}
	p.skipSpace()
	if p.peek() == ')' {
		p.pos++
		c.Text = p.src[start:p.pos]
		return c, nil
	}
	for {
		p.skipSpace()
		a, err := p.arg()
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, a)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case ')':
			p.pos++
			c.Text = p.src[start:p.pos]
			return c, nil
		default:
			return nil, p.errf("expected ',' or ')'")
		}
	}
}

func (p *parser) arg() (Arg, error) {
	c := p.peek()
	switch {
	case c == '\'':
		raw, val, err := p.str()
		if err != nil {
			return Arg{}, err
		}
		return Arg{Kind: ArgLiteral, Value: val, Raw: raw}, nil
	case c == '$':
		path, n, err := jsonpath.CompilePrefix(p.src[p.pos:])
		if err != nil {
			return Arg{}, &SyntaxError{Text: p.src, Pos: p.pos, Msg: "invalid path argument", Err: err}
		}
		p.pos += n
		return Arg{Kind: ArgPath, Path: path}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for !p.eof() && strings.IndexByte("0123456789.eE+-", p.peek()) >= 0 {
			p.pos++
		}
		text := p.src[start:p.pos]
		if !jsonpath.IsNumber(json.Number(text)) {
			p.pos = start
			return Arg{}, p.errf("invalid number " + text)
		}
		return Arg{Kind: ArgLiteral, Value: json.Number(text)}, nil
	case strings.HasPrefix(p.src[p.pos:], "States."):
		call, err := p.call()
		if err != nil {
			return Arg{}, err
		}
		return Arg{Kind: ArgCall, Call: call}, nil
	}
	for _, kw := range []struct {
		s string
		v any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(p.src[p.pos:], kw.s) {
			end := p.pos + len(kw.s)
			if end < len(p.src) && isIdent(p.src[end]) {
				break
			}
			p.pos = end
			return Arg{Kind: ArgLiteral, Value: kw.v}, nil
		}
	}
	return Arg{}, p.errf("expected an argument")
}

// str reads a single-quoted string and returns its raw text and its value.
func (p *parser) str() (raw, val string, err error) {
	p.pos++ // opening quote
	start := p.pos
	var b strings.Builder
	for {
		if p.eof() {
			return "", "", p.errf("unterminated string literal")
		}
		c := p.peek()
		if c == '\\' {
			if p.pos+1 >= len(p.src) {
				p.pos++
				return "", "", p.errf("unterminated string literal")
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
			continue
		}
		if c == '\'' {
			raw = p.src[start:p.pos]
			p.pos++
			return raw, b.String(), nil
		}
		b.WriteByte(c)
		p.pos++
	}
}
