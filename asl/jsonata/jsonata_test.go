package jsonata_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/jsonata"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// fixedRuntime is a Runtime with a fixed time, random number and UUID.
type fixedRuntime struct{}

func (fixedRuntime) Now() time.Time  { return time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC) }
func (fixedRuntime) Random() float64 { return 0.25 }
func (fixedRuntime) UUID() string    { return "00000000-0000-4000-8000-000000000001" }

func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonpath.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestEval(t *testing.T) {
	vars := map[string]any{
		"states": decode(t, `{"input":{"a":2,"xs":[1,2,3],"s":"hi","o":[{"k":1},{"k":2}]}}`),
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
		{`$states.input.a > 5 ? 'big'`, `undefined`},
		{`function($x){$x}`, `undefined`},
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
		{`$now()`, `"2024-06-01T12:00:00.000Z"`},
		{`$millis()`, `1717243200000`},
		{`$uuid()`, `"00000000-0000-4000-8000-000000000001"`},
		{`$toMillis("1970-01-01T00:00:01.000Z")`, `1000`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			x, err := jsonata.Compile(tt.expr)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, ok, err := x.Eval(vars, fixedRuntime{})
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !ok {
				if tt.want != "undefined" {
					t.Fatalf("got undefined, want %s", tt.want)
				}
				return
			}
			if tt.want == "undefined" {
				t.Fatalf("got %v, want undefined", got)
			}
			if !jsonpath.Equal(got, decode(t, tt.want)) {
				s, _ := jsonpath.EncodeString(got)
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // the EvalError message
	}{
		{`1 + 'a'`, `T2002: The right side of the "+" operator must evaluate to a number`},
		{`($f := 1; $f(2))`, `T1006: Attempted to invoke a non-function`},
		{`$parse('{')`, `The argument of $parse is not valid JSON: {`},
	}
	for _, tt := range tests {
		x, err := jsonata.Compile(tt.expr)
		if err != nil {
			t.Fatalf("%s: compile: %v", tt.expr, err)
		}
		_, _, err = x.Eval(nil, fixedRuntime{})
		var ee *jsonata.EvalError
		if !errors.As(err, &ee) || ee.Msg != tt.want {
			t.Errorf("%s: err = %v, want EvalError %q", tt.expr, err, tt.want)
		}
	}
}

// TestCompileErrors: text that is not JSONata is a *SyntaxError; JSONata
// constructs outside the subset are an *UnsupportedError, never a syntax
// error, so that a validator does not reject what Step Functions runs.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr   string
		syntax bool
	}{
		// Not JSONata.
		{`$foo(`, true},
		{`1 +`, true},
		{``, true},
		{`(1`, true},
		{`[1, 2`, true},
		{`{'a': 1`, true},
		{`{'a'}`, true},
		{`(1]`, true},
		{`1)`, true},
		{`$f(1]`, true},
		{`a.`, true},
		{`function($x`, true},
		{`$x ? 1 :`, true},
		{`'open`, true},
		{`"open`, true},
		{"`open", true},
		{`/* open`, true},
		{`$match('a', /open`, true},
		// JSONata this package does not implement.
		{`$formatNumber(1, '#')`, false},
		{`[1,2]^($)`, false},
		{`$.x ^`, false},
		{`Account.**`, false},
		{`Account.**.Price`, false},
		{`Account.Order{OrderID: Price}`, false},
		{`Account.Order@$o`, false},
		{`Account.Order#$i`, false},
		{`$ ~> |Account|{'x': 1}|`, false},
		{`$substring(?, 2)`, false},
		{`function($x)<n:n>{$x}`, false},
		{`$a ?: 1`, false},
		{`$a ?? 1`, false},
		{`Account.Order.%.x`, false},
		{`$match('a', /(?=a)/)`, false},
		{`a := 1`, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := jsonata.Compile(tt.expr)
			var se *jsonata.SyntaxError
			switch {
			case err == nil:
				t.Fatal("compiled, want an error")
			case tt.syntax && !errors.As(err, &se):
				t.Errorf("err = %v, want a *SyntaxError", err)
			case !tt.syntax && !errors.Is(err, jsonata.ErrUnsupported):
				t.Errorf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}

func TestExpression(t *testing.T) {
	tests := []struct {
		in, expr string
		ok       bool
	}{
		{"{% $x %}", "$x", true},
		{"{%$x%}", "$x", true},
		{"{%%}", "", true},
		{"{% $x", "", false},
		{"$x %}", "", false},
		{"{%}", "", false},
		{"plain", "", false},
	}
	for _, tt := range tests {
		expr, ok := jsonata.Expression(tt.in)
		if expr != tt.expr || ok != tt.ok {
			t.Errorf("Expression(%q) = %q, %v; want %q, %v", tt.in, expr, ok, tt.expr, tt.ok)
		}
	}
}

func FuzzJSONata(f *testing.F) {
	for _, s := range []string{`$states.input.a + 1`, `($x := [1,2]; $x[0])`, `$contains('a', /b/i)`, `{'a': $sum([1..3])}`, `a.b[c > 1].d`, `"x" & 'y'`, `$f(`, `/*c*/ 1`} {
		f.Add(s)
	}
	vars := map[string]any{"states": map[string]any{"input": []any{1.0, "a", map[string]any{"b": true}}}}
	f.Fuzz(func(t *testing.T, src string) {
		x, err := jsonata.Compile(src)
		if err != nil {
			var se *jsonata.SyntaxError
			if !errors.As(err, &se) && !errors.Is(err, jsonata.ErrUnsupported) {
				t.Fatalf("Compile(%q): %v is neither a syntax error nor unsupported", src, err)
			}
			return
		}
		_, _, _ = x.Eval(vars, fixedRuntime{})
	})
}
