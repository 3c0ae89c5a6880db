package jsonata

import (
	"encoding/base64"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// JSONata functions as values: lambdas (function($x){...}), references to
// built-in functions ($string), the ~> chaining operator and the
// higher-order built-ins $map, $filter, $reduce, $each, $sift and $single,
// following the JSONata documentation (docs.jsonata.org/higher-order-functions
// and /other-operators), which AWS Step Functions implements for
// QueryLanguage JSONata (AWS docs: "Transforming data with JSONata in Step
// Functions").

// maxLambdaDepth bounds nested lambda calls, so runaway recursion fails the
// state instead of exhausting the goroutine stack.
const maxLambdaDepth = 500

// jlambda is a function definition.
type jlambda struct {
	params []string
	body   jnode
}

// jclosure is a lambda bound to the scope it was defined in.
type jclosure struct {
	params []string
	body   jnode
	env    *jenv
}

// jbuiltin is a built-in function used as a value.
type jbuiltin struct{ name string }

func (n *jlambda) eval(env *jenv, _ any) (any, error) {
	return &jclosure{params: n.params, body: n.body, env: env}, nil
}

// jinvoke calls a function value: a variable bound to a lambda, or any
// expression yielding one.
type jinvoke struct {
	fn   jnode
	args []jnode
}

func (n *jinvoke) eval(env *jenv, ctx any) (any, error) {
	f, err := n.fn.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	args, err := evalArgs(env, ctx, n.args)
	if err != nil {
		return nil, err
	}
	return applyFn(env, f, args)
}

// jchain is "value ~> function": the value becomes the first argument.
type jchain struct{ l, r jnode }

func (n *jchain) eval(env *jenv, ctx any) (any, error) {
	l, err := n.l.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	if s, ok := l.(seqT); ok {
		l = []any(s)
	}
	switch r := n.r.(type) {
	case *jcall:
		args, err := evalArgs(env, ctx, r.args)
		if err != nil {
			return nil, err
		}
		return jfuncs[r.name](env, append([]any{l}, args...))
	case *jinvoke:
		f, err := r.fn.eval(env, ctx)
		if err != nil {
			return nil, err
		}
		args, err := evalArgs(env, ctx, r.args)
		if err != nil {
			return nil, err
		}
		return applyFn(env, f, append([]any{l}, args...))
	}
	f, err := n.r.eval(env, ctx)
	if err != nil {
		return nil, err
	}
	return applyFn(env, f, []any{l})
}

func evalArgs(env *jenv, ctx any, nodes []jnode) ([]any, error) {
	args := make([]any, len(nodes))
	for i, a := range nodes {
		v, err := a.eval(env, ctx)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(seqT); ok {
			v = []any(s)
		}
		args[i] = v
	}
	return args, nil
}

// isFn reports whether v can be called.
func isFn(v any) bool {
	switch v.(type) {
	case *jclosure, jbuiltin:
		return true
	}
	return false
}

// arity is how many arguments a function value takes (builtins: one).
func arity(f any) int {
	if c, ok := f.(*jclosure); ok {
		return len(c.params)
	}
	return 1
}

// applyFn calls a function value with args; a lambda ignores extra
// arguments and sees missing ones as undefined.
func applyFn(env *jenv, f any, args []any) (any, error) {
	switch x := f.(type) {
	case *jclosure:
		if env.depth >= maxLambdaDepth {
			return nil, &EvalError{"U1001: Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive."}
		}
		inner := &jenv{vars: make(map[string]any, len(x.params)), parent: x.env, rt: x.env.rt, depth: env.depth + 1}
		for i, p := range x.params {
			var v any = undefined
			if i < len(args) {
				v = args[i]
			}
			inner.vars[p] = v
		}
		return x.body.eval(inner, undefined)
	case jbuiltin:
		return jfuncs[x.name](env, args)
	}
	return nil, &EvalError{"T1006: Attempted to invoke a non-function"}
}

// callWith calls f with (value, index, array) trimmed to f's arity.
func callWith(env *jenv, f any, all ...any) (any, error) {
	n := min(arity(f), len(all))
	return applyFn(env, f, all[:n])
}

func hofArray(name string, a []any) ([]any, any, error) {
	if len(a) < 2 || !isFn(a[1]) {
		return nil, nil, argErr(name)
	}
	switch x := a[0].(type) {
	case undefinedT:
		return nil, a[1], nil
	case []any:
		return x, a[1], nil
	case seqT:
		return []any(x), a[1], nil
	}
	return []any{a[0]}, a[1], nil
}

// mapArray calls the function of a higher-order built-in (name) on every
// element of its array, with the element, its index and the array, and
// collects keep(element, result) where keep says so: $map keeps defined
// results, $filter the elements whose result is truthy.
func mapArray(env *jenv, name string, a []any, keep func(v, r any) (any, bool)) (any, error) {
	in, f, err := hofArray(name, a)
	if err != nil {
		return nil, err
	}
	if in == nil {
		return undefined, nil
	}
	var out seqT
	for i, v := range in {
		r, err := callWith(env, f, v, float64(i), in)
		if err != nil {
			return nil, err
		}
		if x, ok := keep(v, r); ok {
			out = append(out, x)
		}
	}
	return collapse(out), nil
}

// addHigherOrder registers the higher-order built-ins; jsonata.go's init
// calls it once jfuncs exists.
func addHigherOrder() {
	jfuncs["map"] = func(env *jenv, a []any) (any, error) {
		return mapArray(env, "map", a, func(_, r any) (any, bool) {
			_, u := r.(undefinedT)
			return r, !u
		})
	}
	jfuncs["filter"] = func(env *jenv, a []any) (any, error) {
		return mapArray(env, "filter", a, func(v, r any) (any, bool) { return v, truthy(r) })
	}
	jfuncs["single"] = func(env *jenv, a []any) (any, error) {
		if len(a) == 1 {
			a = append(a, &jclosure{params: []string{"v"}, body: &jlit{v: true}, env: env})
		}
		in, f, err := hofArray("single", a)
		if err != nil {
			return nil, err
		}
		var found any = undefined
		n := 0
		for i, v := range in {
			r, err := callWith(env, f, v, float64(i), in)
			if err != nil {
				return nil, err
			}
			if truthy(r) {
				found = v
				n++
			}
		}
		switch n {
		case 1:
			return found, nil
		case 0:
			return nil, &EvalError{"D3139: The $single() function expected exactly 1 matching result.  Instead it matched 0."}
		}
		return nil, &EvalError{"D3138: The $single() function expected exactly 1 matching result.  Instead it matched more."}
	}
	jfuncs["reduce"] = func(env *jenv, a []any) (any, error) {
		in, f, err := hofArray("reduce", a)
		if err != nil {
			return nil, err
		}
		if arity(f) < 2 {
			return nil, &EvalError{"D3050: The second argument of reduce function must be a function with at least two arguments"}
		}
		if in == nil {
			return undefined, nil
		}
		var acc any = undefined
		start := 0
		if len(a) > 2 {
			acc = a[2]
		} else if len(in) > 0 {
			acc, start = in[0], 1
		}
		for i := start; i < len(in); i++ {
			if acc, err = callWith(env, f, acc, in[i], float64(i), in); err != nil {
				return nil, err
			}
		}
		return acc, nil
	}
	objFn := func(name string, env *jenv, a []any) (map[string]any, []string, any, error) {
		if len(a) != 2 || !isFn(a[1]) {
			return nil, nil, nil, argErr(name)
		}
		m, ok := a[0].(map[string]any)
		if !ok {
			if _, u := a[0].(undefinedT); u {
				return nil, nil, a[1], nil
			}
			return nil, nil, nil, argErr(name)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return m, keys, a[1], nil
	}
	jfuncs["each"] = func(env *jenv, a []any) (any, error) {
		m, keys, f, err := objFn("each", env, a)
		if err != nil || m == nil {
			return undefined, err
		}
		var out seqT
		for _, k := range keys {
			r, err := callWith(env, f, m[k], k, m)
			if err != nil {
				return nil, err
			}
			if _, u := r.(undefinedT); !u {
				out = append(out, r)
			}
		}
		return collapse(out), nil
	}
	jfuncs["sift"] = func(env *jenv, a []any) (any, error) {
		m, keys, f, err := objFn("sift", env, a)
		if err != nil || m == nil {
			return undefined, err
		}
		out := map[string]any{}
		for _, k := range keys {
			r, err := callWith(env, f, m[k], k, m)
			if err != nil {
				return nil, err
			}
			if truthy(r) {
				out[k] = m[k]
			}
		}
		if len(out) == 0 {
			return undefined, nil
		}
		return out, nil
	}
}

// jsonataStandard lists JSONata's standard library; a call to one of these
// this interpreter lacks is reported unsupported at compile time rather
// than failing at run time.
var jsonataStandard = map[string]bool{
	"sum": true, "count": true, "max": true, "min": true, "average": true, "string": true,
	"substring": true, "substringBefore": true, "substringAfter": true, "lowercase": true,
	"uppercase": true, "length": true, "trim": true, "pad": true, "contains": true, "split": true,
	"join": true, "match": true, "replace": true, "eval": true, "base64encode": true,
	"base64decode": true, "encodeUrlComponent": true, "encodeUrl": true,
	"decodeUrlComponent": true, "decodeUrl": true, "number": true, "abs": true, "floor": true,
	"ceil": true, "round": true, "power": true, "sqrt": true, "random": true,
	"formatNumber": true, "formatBase": true, "formatInteger": true, "parseInteger": true,
	"boolean": true, "not": true, "exists": true, "append": true, "reverse": true,
	"shuffle": true, "distinct": true, "sort": true, "zip": true, "keys": true, "lookup": true,
	"spread": true, "merge": true, "sift": true, "each": true, "error": true, "assert": true,
	"type": true, "map": true, "filter": true, "single": true, "reduce": true, "now": true,
	"millis": true, "fromMillis": true, "toMillis": true,
}

// addMoreStandard registers further JSONata standard functions (JSONata
// documentation: string, date/time and object functions).
func addMoreStandard() {
	str1 := func(name string, a []any, min, max int) (string, bool, error) {
		if len(a) < min || len(a) > max {
			return "", false, argErr(name)
		}
		if len(a) == 0 {
			return "", false, nil
		}
		if _, u := a[0].(undefinedT); u {
			return "", false, nil
		}
		s, ok := a[0].(string)
		if !ok {
			return "", false, argErr(name)
		}
		return s, true, nil
	}
	jfuncs["pad"] = func(_ *jenv, a []any) (any, error) {
		s, ok, err := str1("pad", a, 2, 3)
		if err != nil || !ok {
			return undefined, err
		}
		w, okw := toFloat(a[1])
		if !okw {
			return nil, argErr("pad")
		}
		ch := " "
		if len(a) == 3 {
			c, okc := a[2].(string)
			if !okc || c == "" {
				return nil, argErr("pad")
			}
			ch = c
		}
		runes := []rune(s)
		width := int(math.Abs(math.Trunc(w)))
		if len(runes) >= width {
			return s, nil
		}
		padding := []rune(strings.Repeat(ch, width))[:width-len(runes)]
		if w < 0 {
			return string(padding) + s, nil
		}
		return s + string(padding), nil
	}
	jfuncs["base64encode"] = func(_ *jenv, a []any) (any, error) {
		s, ok, err := str1("base64encode", a, 1, 1)
		if err != nil || !ok {
			return undefined, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	}
	jfuncs["base64decode"] = func(_ *jenv, a []any) (any, error) {
		s, ok, err := str1("base64decode", a, 1, 1)
		if err != nil || !ok {
			return undefined, err
		}
		b, derr := base64.StdEncoding.DecodeString(s)
		if derr != nil {
			return nil, &EvalError{"D3136: The string to be decoded is not valid base64"}
		}
		return string(b), nil
	}
	jfuncs["encodeUrlComponent"] = func(_ *jenv, a []any) (any, error) {
		s, ok, err := str1("encodeUrlComponent", a, 1, 1)
		if err != nil || !ok {
			return undefined, err
		}
		return strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), nil
	}
	jfuncs["decodeUrlComponent"] = func(_ *jenv, a []any) (any, error) {
		s, ok, err := str1("decodeUrlComponent", a, 1, 1)
		if err != nil || !ok {
			return undefined, err
		}
		d, derr := url.PathUnescape(s)
		if derr != nil {
			return nil, &EvalError{"D3140: Malformed URL passed to $decodeUrlComponent(): " + s}
		}
		return d, nil
	}
	jfuncs["toMillis"] = func(_ *jenv, a []any) (any, error) {
		s, ok, err := str1("toMillis", a, 1, 1)
		if err != nil || !ok {
			return undefined, err
		}
		t, okt := jsonpath.ParseTimestamp(s)
		if !okt {
			return nil, &EvalError{"D3110: The timestamp value cannot be parsed as an ISO 8601 timestamp: " + s}
		}
		return float64(t.UnixMilli()), nil
	}
	jfuncs["fromMillis"] = func(_ *jenv, a []any) (any, error) {
		if len(a) != 1 {
			return nil, &UnsupportedError{Feature: "$fromMillis with a picture"}
		}
		if _, u := a[0].(undefinedT); u {
			return undefined, nil
		}
		f, ok := toFloat(a[0])
		if !ok {
			return nil, argErr("fromMillis")
		}
		return time.UnixMilli(int64(f)).UTC().Format("2006-01-02T15:04:05.000Z"), nil
	}
	jfuncs["zip"] = func(_ *jenv, a []any) (any, error) {
		if len(a) == 0 {
			return []any{}, nil
		}
		var arrs [][]any
		n := -1
		for _, x := range a {
			arr := asArray(x)
			arrs = append(arrs, arr)
			if n < 0 || len(arr) < n {
				n = len(arr)
			}
		}
		out := []any{}
		for i := 0; i < n; i++ {
			row := make([]any, len(arrs))
			for j, arr := range arrs {
				row[j] = arr[i]
			}
			out = append(out, row)
		}
		return out, nil
	}
	jfuncs["spread"] = func(_ *jenv, a []any) (any, error) {
		if len(a) != 1 {
			return nil, argErr("spread")
		}
		m, ok := a[0].(map[string]any)
		if !ok {
			return a[0], nil
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out seqT
		for _, k := range keys {
			out = append(out, map[string]any{k: m[k]})
		}
		return collapse(out), nil
	}
	jfuncs["error"] = func(_ *jenv, a []any) (any, error) {
		msg := "$error() function evaluated"
		if len(a) > 0 {
			if s, ok := a[0].(string); ok {
				msg = s
			}
		}
		return nil, &EvalError{"D3137: " + msg}
	}
	jfuncs["assert"] = func(_ *jenv, a []any) (any, error) {
		if len(a) < 1 {
			return nil, argErr("assert")
		}
		b, ok := a[0].(bool)
		if !ok {
			return nil, argErr("assert")
		}
		if !b {
			msg := "$assert() statement failed"
			if len(a) > 1 {
				if s, ok := a[1].(string); ok {
					msg = s
				}
			}
			return nil, &EvalError{"D3141: " + msg}
		}
		return undefined, nil
	}
}
