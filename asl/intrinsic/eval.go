package intrinsic

import (
	"errors"
	"fmt"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// ErrRuntime is the AWS error name of an intrinsic function failure.
const ErrRuntime = "States.Runtime"

// Error is a failed evaluation. Name is the AWS error name the execution
// fails with and Cause the message (without the "An error occurred while
// executing the state ..." prefix, which the interpreter adds).
type Error struct {
	Name  string
	Cause string
	Err   error // underlying error, e.g. a *jsonpath.NotFoundError
}

// Error implements error.
func (e *Error) Error() string { return e.Name + ": " + e.Cause }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

func runtimeErr(format string, a ...any) *Error {
	return &Error{Name: ErrRuntime, Cause: fmt.Sprintf(format, a...)}
}

// Env is what a call is evaluated against.
type Env struct {
	// Input is the document "$" paths read.
	Input any
	// Context is the context object "$$" paths read.
	Context any
	// Variable returns the value of a workflow variable for "$name" paths;
	// nil means there are no variables.
	Variable func(name string) (any, bool)
	// RandomInt returns a uniformly random integer in [0, n) for
	// States.MathRandom without a seed; nil uses math/rand/v2.
	RandomInt func(n int64) int64
	// UUID returns a new version 4 UUID for States.UUID; nil uses
	// crypto/rand.
	UUID func() string
}

// Eval parses s and evaluates it; see Call.Eval.
func Eval(s string, env *Env) (any, error) {
	c, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return c.Eval(env)
}

// Eval evaluates the call. Arguments are evaluated left to right, nested
// calls first. A path argument that finds nothing is an *Error that unwraps
// to the *jsonpath.NotFoundError.
func (c *Call) Eval(env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	fn, ok := functions[c.Name]
	if !ok {
		return nil, runtimeErr("The function '%s' is not supported", c.Name)
	}
	args := make([]any, len(c.Args))
	for i, a := range c.Args {
		v, err := evalArg(a, env)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	if err := fn.arity.check(c.Name, len(args)); err != nil {
		return nil, err
	}
	return fn.impl(c, args, env)
}

func evalArg(a Arg, env *Env) (any, error) {
	switch a.Kind {
	case ArgLiteral:
		return a.Value, nil
	case ArgCall:
		return a.Call.Eval(env)
	}
	var doc any
	switch root := a.Path.Root(); root {
	case jsonpath.RootInput:
		doc = env.Input
	case jsonpath.RootContext:
		doc = env.Context
	default:
		name, _ := a.Path.Variable()
		var ok bool
		if env.Variable != nil {
			doc, ok = env.Variable(name)
		}
		if !ok {
			return nil, &Error{Name: ErrRuntime, Cause: fmt.Sprintf("The variable '%s' could not be found", name),
				Err: &jsonpath.NotFoundError{Path: a.Path.String(), Reason: "undefined variable " + name}}
		}
	}
	v, err := a.Path.Get(doc)
	if err != nil {
		var nf *jsonpath.NotFoundError
		if errors.As(err, &nf) {
			return nil, &Error{Name: ErrRuntime, Cause: fmt.Sprintf("The JSONPath '%s' could not be found", a.Path), Err: err}
		}
		return nil, &Error{Name: ErrRuntime, Cause: err.Error(), Err: err}
	}
	return v, nil
}

// arity is the allowed number of arguments: min..max, max < 0 meaning
// unbounded.
type arity struct{ min, max int }

func (a arity) check(name string, n int) error {
	if n < a.min || (a.max >= 0 && n > a.max) {
		want := fmt.Sprint(a.min)
		switch {
		case a.max < 0:
			want = fmt.Sprintf("at least %d", a.min)
		case a.max != a.min:
			want = fmt.Sprintf("%d to %d", a.min, a.max)
		}
		return runtimeErr("The function '%s' expects %s arguments, but %d were given", name, want, n)
	}
	return nil
}

type function struct {
	arity arity
	impl  func(c *Call, args []any, env *Env) (any, error)
}

// Names returns the names of all supported intrinsic functions.
func Names() []string {
	out := make([]string, 0, len(functions))
	for n := range functions {
		out = append(out, n)
	}
	return out
}

// Check validates a parsed call without evaluating it: every function
// (nested ones too) must exist and receive an allowed number of arguments.
// It suits definition-time validation.
func Check(c *Call) error {
	fn, ok := functions[c.Name]
	if !ok {
		return runtimeErr("The function '%s' is not supported", c.Name)
	}
	if err := fn.arity.check(c.Name, len(c.Args)); err != nil {
		return err
	}
	for _, a := range c.Args {
		if a.Kind == ArgCall {
			if err := Check(a.Call); err != nil {
				return err
			}
		}
	}
	return nil
}
