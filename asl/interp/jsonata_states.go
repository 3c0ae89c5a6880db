package interp

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonata"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// jsonataCache holds compiled expressions by their text.
type jsonataCache struct {
	mu    sync.Mutex
	exprs map[string]*jsonata.Expr
}

// compile compiles an expression once. Expressions this interpreter cannot
// run fail with an *UnsupportedError (matching ErrJSONataNotSupported),
// syntax errors included: a definition that carries one would not pass
// validation.
func (c *jsonataCache) compile(expr string) (*jsonata.Expr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x, ok := c.exprs[expr]; ok {
		return x, nil
	}
	x, err := jsonata.Compile(expr)
	if err != nil {
		return nil, jsonataUnsupported(err)
	}
	if c.exprs == nil {
		c.exprs = map[string]*jsonata.Expr{}
	}
	c.exprs[expr] = x
	return x, nil
}

// jsonataUnsupported converts an error of package jsonata that is not an
// evaluation failure to an *UnsupportedError of this package.
func jsonataUnsupported(err error) error {
	var ue *jsonata.UnsupportedError
	if errors.As(err, &ue) {
		return &UnsupportedError{Feature: "JSONata " + ue.Feature}
	}
	var se *jsonata.SyntaxError
	if errors.As(err, &se) {
		return &UnsupportedError{Feature: "JSONata syntax: " + se.Msg}
	}
	return err
}

// undefinedT marks an expression that yields no value (JSONata's
// undefined).
type undefinedT struct{}

var undefined any = undefinedT{}

// jsonataExpr returns the expression of a "{% ... %}" string.
func jsonataExpr(s string) (string, bool) { return jsonata.Expression(s) }

// jsonataRuntime gives expressions the engine's clock, random numbers and
// UUIDs.
type jsonataRuntime struct{ e *Engine }

func (r jsonataRuntime) Now() time.Time  { return r.e.opts.Clock.Now() }
func (r jsonataRuntime) Random() float64 { return r.e.randFloat() }
func (r jsonataRuntime) UUID() string    { return r.e.newID() }

// precompileJSONata compiles every JSONata expression of a definition that
// uses JSONata, so that unsupported constructs are reported by New.
func (e *Engine) precompileJSONata(def *asl.StateMachine) error {
	raw, err := json.Marshal(def)
	if err != nil {
		return err
	}
	doc, err := jsonpath.Decode(raw)
	if err != nil {
		return err
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case string:
			if expr, ok := jsonataExpr(x); ok {
				if _, err := e.jsonata.compile(expr); err != nil {
					return err
				}
			}
		case []any:
			for _, it := range x {
				if err := walk(it); err != nil {
					return err
				}
			}
		case map[string]any:
			for _, it := range x {
				if err := walk(it); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(doc)
}

// statesVar builds the $states variable.
func (sr *stateRun) statesVar(input any, extra map[string]any) map[string]any {
	st := map[string]any{"input": input, "context": sr.contextObject()}
	for k, v := range extra {
		st[k] = v
	}
	return st
}

// qeErr builds a States.QueryEvaluationError of this state.
func (sr *stateRun) qeErr(format string, args ...any) *StatesError {
	return newError(asl.ErrorQueryEvaluationError, runtimeError(sr.name, sr.entered, format, args...).Cause)
}

// evalExpr evaluates one JSONata expression; field names it in errors.
func (sr *stateRun) evalExpr(expr, field string, states map[string]any) (any, *StatesError) {
	e := sr.th.x.eng
	n, err := e.jsonata.compile(expr)
	if err != nil {
		return nil, sr.qeErr("The JSONata expression '%s' specified for the field '%s' could not be compiled: %v", expr, field, err)
	}
	vars := map[string]any{}
	for k, v := range sr.th.varsView() {
		vars[k] = v
	}
	vars["states"] = states
	v, ok, err := n.Eval(vars, jsonataRuntime{e})
	if err != nil {
		var ee *jsonata.EvalError
		if errors.As(err, &ee) {
			return nil, sr.qeErr("The JSONata expression '%s' specified for the field '%s' threw an error during evaluation: %s", expr, field, ee.Msg)
		}
		return nil, asStatesError(jsonataUnsupported(err))
	}
	if !ok {
		return undefined, nil
	}
	return v, nil
}

// evalTemplate evaluates a JSONata template: "{% %}" strings anywhere in a
// JSON value are evaluated. An expression that yields nothing is an error.
func (sr *stateRun) evalTemplate(v any, field string, states map[string]any) (any, *StatesError) {
	switch x := v.(type) {
	case string:
		expr, ok := jsonataExpr(x)
		if !ok {
			return x, nil
		}
		r, serr := sr.evalExpr(expr, field, states)
		if serr != nil {
			return nil, serr
		}
		if _, u := r.(undefinedT); u {
			return nil, sr.qeErr("The JSONata expression '%s' specified for the field '%s' returned nothing (undefined).", expr, field)
		}
		return r, nil
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			r, serr := sr.evalTemplate(it, fmt.Sprintf("%s[%d]", field, i), states)
			if serr != nil {
				return nil, serr
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			r, serr := sr.evalTemplate(x[k], field+"/"+k, states)
			if serr != nil {
				return nil, serr
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// evalRaw evaluates a raw JSON template field.
func (sr *stateRun) evalRaw(raw json.RawMessage, field string, states map[string]any) (any, *StatesError) {
	v, err := sr.th.x.eng.prog.value(raw)
	if err != nil {
		return nil, sr.qeErr("The field '%s' is not valid JSON", field)
	}
	return sr.evalTemplate(v, field, states)
}

// jsonataAssign evaluates an Assign block and returns the values to set.
func (sr *stateRun) jsonataAssign(raw json.RawMessage, states map[string]any) (map[string]any, *StatesError) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, serr := sr.evalRaw(raw, "Assign", states)
	if serr != nil {
		return nil, serr
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// jsonataOutput evaluates Output, or returns def when there is none.
func (sr *stateRun) jsonataOutput(raw json.RawMessage, def any, states map[string]any) (any, *StatesError) {
	if len(raw) == 0 {
		return def, nil
	}
	return sr.evalRaw(raw, "Output", states)
}

// jsonataFinish evaluates Assign and Output together (Output does not see
// the new variables) and then assigns.
func (sr *stateRun) jsonataFinish(assign, output json.RawMessage, def any, states map[string]any) (any, *StatesError) {
	vals, serr := sr.jsonataAssign(assign, states)
	if serr != nil {
		return nil, serr
	}
	out, serr := sr.jsonataOutput(output, def, states)
	if serr != nil {
		return nil, serr
	}
	if vals != nil {
		sr.th.vars.setAll(vals)
	}
	return out, nil
}

// jsonataNumber resolves a numeric field that may be an expression.
func (sr *stateRun) jsonataNumber(n *asl.Number, field string, states map[string]any) (float64, bool, *StatesError) {
	if n == nil {
		return 0, false, nil
	}
	if !n.IsExpr() {
		f, ok := n.Float64()
		return f, ok, nil
	}
	expr, ok := jsonataExpr(n.Expr)
	if !ok {
		return 0, false, sr.qeErr("The field '%s' must be a number or a JSONata expression", field)
	}
	v, serr := sr.evalExpr(expr, field, states)
	if serr != nil {
		return 0, false, serr
	}
	f, isNum := jsonpath.Float(v)
	if !isNum {
		return 0, false, sr.qeErr("The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected 'number', but was '%s' for value: %s", expr, field, jsonpath.TypeName(v), encodeJSON(v))
	}
	return f, true, nil
}
