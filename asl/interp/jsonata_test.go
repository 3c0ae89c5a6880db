package interp

import (
	"testing"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

func TestJSONataExpressions(t *testing.T) {
	vars := map[string]any{
		"states": map[string]any{"input": map[string]any{"a": 2.0, "xs": []any{1.0, 2.0, 3.0}, "s": "hi", "o": []any{map[string]any{"k": 1.0}, map[string]any{"k": 2.0}}}},
		"v":      "x",
	}
	tests := []struct {
		expr string
		want string // JSON; "undefined" for no value
	}{
		{`$states.input.a`, `2`},
		{`$sum($states.input.xs) + 1`, `7`},
		{`$states.input.s & "-" & $v`, `"hi-x"`},
		{`$states.input.a >= 2 and $states.input.a < 3`, `true`},
		{`$not($states.input.s = 'hi')`, `false`},
		{`$exists($nope) ? 'y' : 'n'`, `"n"`},
		{`$doesNotExist`, `undefined`},
		{`($x := 3; $x * 2)`, `6`},
		{`$states.input.o.k`, `[1,2]`},
		{`$states.input.o[k=2].k`, `2`},
		{`$states.input.xs[0]`, `1`},
		{`[1, 'two', 3]`, `[1,"two",3]`},
		{`{'foo': 'bar'}`, `{"foo":"bar"}`},
		{`$contains("hello$world", /^hello\$/)`, `true`},
		{`$number("2")`, `2`},
		{`$range(0, 9, 3)`, `[0,3,6,9]`},
		{`$partition([1,2,3], 2)`, `[[1,2],[3]]`},
		{`$parse('{"a":[1]}')`, `{"a":[1]}`},
		{`$count($states.input.xs)`, `3`},
		{`10 / 4`, `2.5`},
		{`-$states.input.a`, `-2`},
	}
	e := &Engine{}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			n, err := compileJSONata(tt.expr)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			env := &jenv{vars: map[string]any{}, parent: &jenv{vars: vars}, eng: e}
			got, err := n.eval(env, nil)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if _, u := got.(undefinedT); u {
				if tt.want != "undefined" {
					t.Fatalf("got undefined, want %s", tt.want)
				}
				return
			}
			want, _ := jsonpath.DecodeString(tt.want)
			if !jsonpath.Equal(toJSON(got), want) {
				t.Errorf("got %s, want %s", encodeJSON(toJSON(got)), tt.want)
			}
		})
	}
}

func TestJSONataUnsupportedConstructs(t *testing.T) {
	// A call to an unknown name compiles (it may name a lambda bound at
	// run time); a standard function this interpreter lacks does not.
	for _, expr := range []string{`$formatNumber(1, '#')`, `$match('a', /a/)`, `$.x ^`} {
		if _, err := compileJSONata(expr); err == nil {
			t.Errorf("%s: compiled, want an error", expr)
		}
	}
}

func FuzzJSONata(f *testing.F) {
	for _, s := range []string{`$states.input.a + 1`, `($x := [1,2]; $x[0])`, `$contains('a', /b/i)`, `{'a': $sum([1..3])}`, `a.b[c > 1].d`, `"x" & 'y'`, `$f(`, `/*c*/ 1`} {
		f.Add(s)
	}
	e := &Engine{opts: Options{Clock: RealClock{}}}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := compileJSONata(src)
		if err != nil {
			return
		}
		env := &jenv{vars: map[string]any{}, parent: &jenv{vars: map[string]any{"states": map[string]any{"input": []any{1.0, "a", map[string]any{"b": true}}}}}, eng: e}
		_, _ = n.eval(env, nil)
	})
}
