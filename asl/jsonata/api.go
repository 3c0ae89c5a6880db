package jsonata

import (
	"errors"
	"strings"
	"time"
)

// ErrUnsupported matches the errors of expressions outside the subset this
// package implements.
var ErrUnsupported = errors.New("jsonata: not supported")

// SyntaxError reports an expression that is not JSONata: it ends too
// early, a bracket closes out of turn, or a string, name, regular
// expression or comment is not terminated.
type SyntaxError struct {
	// Msg describes the defect.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string { return "jsonata: syntax error: " + e.Msg }

// UnsupportedError reports a construct this package does not implement
// (or cannot tell from a syntax error without implementing it). It matches
// ErrUnsupported.
type UnsupportedError struct {
	// Feature names the construct.
	Feature string
}

// Error implements error.
func (e *UnsupportedError) Error() string { return "jsonata: unsupported: " + e.Feature }

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// EvalError is a failure while evaluating an expression, in JSONata's
// words (with its error code where it has one, e.g. "T2001: ...").
type EvalError struct {
	// Msg is the message.
	Msg string
}

// Error implements error.
func (e *EvalError) Error() string { return e.Msg }

// Runtime supplies what evaluation takes from outside the expression: the
// time ($now, $millis), random numbers ($random without a seed) and UUIDs
// ($uuid).
type Runtime interface {
	// Now returns the current time.
	Now() time.Time
	// Random returns a uniform float in [0,1).
	Random() float64
	// UUID returns a version 4 UUID.
	UUID() string
}

// Expr is a compiled expression. It is safe for concurrent use.
type Expr struct {
	root jnode
}

// Compile compiles an expression, given without the "{% %}" markers. It
// fails with a *SyntaxError for text that is not JSONata and with an
// *UnsupportedError for constructs outside the implemented subset.
func Compile(src string) (*Expr, error) {
	n, err := compile(src)
	if err != nil {
		return nil, err
	}
	return &Expr{root: n}, nil
}

// Eval evaluates the expression with the given variables ("states" for
// $states, and so on), which hold JSON values as jsonpath.Decode returns
// them. It returns the result as such a JSON value, and ok false when the
// expression yields no value (JSONata's undefined). Failures of the
// expression are *EvalError; a function used in a way this package does
// not implement fails with an *UnsupportedError.
func (x *Expr) Eval(vars map[string]any, rt Runtime) (v any, ok bool, err error) {
	outer := make(map[string]any, len(vars))
	for k, val := range vars {
		outer[k] = fromJSON(val)
	}
	env := &jenv{vars: map[string]any{}, parent: &jenv{vars: outer}, rt: rt}
	r, err := x.root.eval(env, nil)
	if err != nil {
		return nil, false, err
	}
	if _, u := r.(undefinedT); u {
		return nil, false, nil
	}
	r = toJSON(r)
	if _, u := r.(undefinedT); u {
		return nil, false, nil
	}
	return r, true, nil
}

// Expression returns the expression of a JSONata string, "{% expr %}",
// trimmed; ok is false for any other string.
func Expression(s string) (expr string, ok bool) {
	if strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}") && len(s) >= 4 {
		return strings.TrimSpace(s[2 : len(s)-2]), true
	}
	return "", false
}
