package intrinsic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

func TestParse(t *testing.T) {
	c, err := Parse(`States.Format('a\'b\{\}', $.x[0], $$.Execution.Id, $var.f, -1.5e3, true, false, null, States.Array())`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "States.Format" || len(c.Args) != 9 {
		t.Fatalf("got %s with %d args", c.Name, len(c.Args))
	}
	want := []struct {
		kind ArgKind
		val  any
		path string
	}{
		{ArgLiteral, "a'b{}", ""},
		{ArgPath, nil, "$.x[0]"},
		{ArgPath, nil, "$$.Execution.Id"},
		{ArgPath, nil, "$var.f"},
		{ArgLiteral, json.Number("-1.5e3"), ""},
		{ArgLiteral, true, ""},
		{ArgLiteral, false, ""},
		{ArgLiteral, nil, ""},
		{ArgCall, nil, ""},
	}
	for i, w := range want {
		a := c.Args[i]
		if a.Kind != w.kind {
			t.Errorf("arg %d: kind %d, want %d", i, a.Kind, w.kind)
			continue
		}
		switch a.Kind {
		case ArgLiteral:
			if a.Value != w.val {
				t.Errorf("arg %d: value %#v, want %#v", i, a.Value, w.val)
			}
		case ArgPath:
			if a.Path.String() != w.path {
				t.Errorf("arg %d: path %q, want %q", i, a.Path, w.path)
			}
		case ArgCall:
			if a.Call.Name != "States.Array" || a.Call.String() != "States.Array()" {
				t.Errorf("arg %d: call %q", i, a.Call)
			}
		}
	}
	if c.Args[0].Raw != `a\'b\{\}` {
		t.Errorf("raw %q", c.Args[0].Raw)
	}
	if c.Args[3].Path.Root() != "$var" {
		t.Errorf("root %q", c.Args[3].Path.Root())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []string{
		``,
		`States.Format`,
		`States.Format(`,
		`States.Format('x'`,
		`States.Format('x)`,
		`States.Format('x' 'y')`,
		`States.Format('x',)`,
		`States.Format(,'x')`,
		`States.Format('x') extra`,
		`Foo.Bar()`,
		`States.()`,
		`States.Format(abc)`,
		`States.Format(1.)`,
		`States.Format(--1)`,
		`States.Format($.a[)`,
		`States.Format($.a.length())`,
		`States.Format(truex)`,
		`States.Format('\`,
	}
	for _, s := range tests {
		t.Run(s, func(t *testing.T) {
			_, err := Parse(s)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", s, err)
			}
		})
	}
	_, err := Parse(`States.Format($.a[)`)
	var pe *jsonpath.SyntaxError
	if !errors.As(err, &pe) {
		t.Errorf("path error does not unwrap to *jsonpath.SyntaxError: %v", err)
	}
}

func TestIsIntrinsic(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"States.Format('x')", true},
		{" States.UUID()", true},
		{"States.Array ()", false},
		{"States.", false},
		{"$.a", false},
		{"States.Format", false},
		{"states.Format()", false},
	}
	for _, tt := range tests {
		if got := IsIntrinsic(tt.s); got != tt.want {
			t.Errorf("IsIntrinsic(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		s  string
		ok bool
	}{
		{"States.Format('x')", true},
		{"States.Array(States.UUID(), States.MathRandom(1, 2, 3))", true},
		{"States.Array(States.UUID(1))", false},
		{"States.Hash('x')", false},
		{"States.Unknown()", false},
	}
	for _, tt := range tests {
		c, err := Parse(tt.s)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(c); (err == nil) != tt.ok {
			t.Errorf("Check(%s) = %v, want ok=%v", tt.s, err, tt.ok)
		}
	}
	if len(Names()) != 18 {
		t.Errorf("Names() has %d functions, want 18", len(Names()))
	}
}

func FuzzIntrinsicParse(f *testing.F) {
	for _, s := range []string{
		`States.Format('Hello {}', $.name)`,
		`States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)`,
		`States.JsonMerge(States.StringToJson('{\"a\": 1}'), $x.y['z'], false)`,
		`States.MathAdd(-1.5e3, $.a[?(@.b > 1)])`,
		`States.Array(true, false, null, 'a\'b')`,
	} {
		f.Add(s)
	}
	input := map[string]any{"name": "n", "a": []any{map[string]any{"b": json.Number("2")}}}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if c.Name == "" || c.String() == "" {
			t.Fatalf("Parse(%q) gave an empty call", s)
		}
		_ = Check(c)
		// Evaluation must not panic either; bound the work by skipping
		// ranges, which may be large but are capped at 1000 items.
		_, _ = c.Eval(&Env{Input: input, Context: input})
	})
}
