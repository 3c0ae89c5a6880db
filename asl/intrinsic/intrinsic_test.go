package intrinsic

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonpath.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestEval(t *testing.T) {
	ctx := `{"StateMachine":{"Name":"abc-def-ghi"},"Execution":{"Input":{"input_field":{"constant_input_field":"constant_value"}}}}`
	tests := []struct {
		call  string
		input string
		want  string
	}{
		// States.Format
		{`States.Format('Formatting argument {}.', $.a)`, `{"a":""}`, `"Formatting argument ."`},
		{`States.Format('Formatting argument {}.', $.a)`, `{"a":null}`, `"Formatting argument null."`},
		{`States.Format('Formatting argument {}.', $.a)`, `{"a":1.1}`, `"Formatting argument 1.1."`},
		{`States.Format('Formatting argument {}.', $.a)`, `{"a":"{\"Arg1\": 1}"}`, `"Formatting argument {\"Arg1\": 1}."`},
		{`States.Format('fst={} and snd={}.', $.a, $.b)`, `{"a":{"Arg1":1,"Arg2":[]},"b":true}`, `"fst={Arg1=1, Arg2=[]} and snd=true."`},
		{`States.Format('{}', $.a)`, `{"a":[1,"x",{"k":[null]}]}`, `"[1, x, {k=[null]}]"`},
		{`States.Format('Format:{}', 101)`, `{}`, `"Format:101"`},
		{`States.Format('esc \{\} \\ \' {}', 'x')`, `{}`, `"esc {} \\ ' x"`},
		{`States.Format($.t, $.v)`, `{"t":"It's {}!","v":"Pikachu"}`, `"It's Pikachu!"`},
		{`States.Format('Hello')`, `{}`, `"Hello"`},
		// JSON
		{`States.StringToJson($.s)`, `{"s":"{\"a\":[1,2.50]}"}`, `{"a":[1,2.50]}`},
		{`States.StringToJson('{\"k\": \"false\"}')`, `{}`, `{"k":"false"}`},
		{`States.StringToJson($.s)`, `{"s":""}`, `null`},
		{`States.StringToJson($.s)`, `{"s":" "}`, `null`},
		{`States.StringToJson($.s)`, `{"s":"-0"}`, `0`},
		{`States.StringToJson($.s)`, `{"s":"\"HelloWorld\""}`, `"HelloWorld"`},
		{`States.JsonToString($.v)`, `{"v":{"Arg1":1,"Arg2":[]}}`, `"{\"Arg1\":1,\"Arg2\":[]}"`},
		{`States.JsonToString($.v)`, `{"v":"HelloWorld"}`, `"\"HelloWorld\""`},
		{`States.JsonToString($.v)`, `{"v":"<&>"}`, `"\"<&>\""`},
		{`States.JsonToString($.v)`, `{"v":null}`, `"null"`},
		{`States.JsonMerge($.a, $.b, false)`, `{"a":{"a":{"a1":1},"b":2,"d":3},"b":{"a":{"a3":1},"c":3,"d":4}}`, `{"a":{"a3":1},"b":2,"c":3,"d":4}`},
		{`States.JsonMerge(States.StringToJson('{"x": 1}'), $$.Execution.Input.input_field, false)`, `{}`, `{"x":1,"constant_input_field":"constant_value"}`},
		// arrays
		{`States.Array()`, `{}`, `[]`},
		{`States.Array($.a, 'b', 1, true, null, $.o)`, `{"a":1.1,"o":{"k":[]}}`, `[1.1,"b",1,true,null,{"k":[]}]`},
		{`States.ArrayPartition($.a, 2)`, `{"a":[0,1,2]}`, `[[0,1],[2]]`},
		{`States.ArrayPartition($.a, 5)`, `{"a":[0,1,2,3]}`, `[[0,1,2,3]]`},
		{`States.ArrayPartition($.a, 1)`, `{"a":[]}`, `[]`},
		{`States.ArrayPartition($.a, 2.0)`, `{"a":[1,2,3,4]}`, `[[1,2],[3,4]]`},
		{`States.ArrayContains($.a, $.v)`, `{"a":[[1,2,3],2],"v":[1,2,3]}`, `true`},
		{`States.ArrayContains($.a, $.v)`, `{"a":[[1,2,3],2],"v":null}`, `false`},
		{`States.ArrayContains($.a, $.v)`, `{"a":[{"1":2,"2":[]}],"v":{"2":[],"1":2}}`, `true`},
		{`States.ArrayContains($.a, 2.0)`, `{"a":[1,2]}`, `false`}, // see TestAWSIntrinsicFacts
		{`States.ArrayRange(1, 10, 2)`, `{}`, `[1,3,5,7,9]`},
		{`States.ArrayRange(0, 3, 1)`, `{}`, `[0,1,2,3]`},
		{`States.ArrayRange(5, 1, -2)`, `{}`, `[5,3,1]`},
		{`States.ArrayRange(5, 1, 1)`, `{}`, `[]`},
		{`States.ArrayRange(1, 1000, 1)`, `{}`, ``}, // 1000 items: checked by length below
		{`States.ArrayGetItem($.a, 5)`, `{"a":[1,2,3,4,5,6,7,8,9]}`, `6`},
		{`States.ArrayLength($.a)`, `{"a":[1,2,3,4,5,6,7,8,9]}`, `9`},
		{`States.ArrayUnique($.a)`, `{"a":[1,2,2,3,3,4,1.0,"1",{"a":1},{"a":1.0}]}`, `[1.0,{"a":1},1,"1",{"a":1.0},2,3,4]`}, // Java HashSet order: see uniqueJava
		// encoding and hashing
		{`States.Base64Encode($.s)`, `{"s":"Data to encode"}`, `"RGF0YSB0byBlbmNvZGU="`},
		{`States.Base64Encode($.s)`, `{"s":""}`, `""`},
		{`States.Base64Decode($.s)`, `{"s":"RGF0YSB0byBlbmNvZGU="}`, `"Data to encode"`},
		{`States.Hash('input data', 'SHA-1')`, `{}`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.Hash('', 'MD5')`, `{}`, `"d41d8cd98f00b204e9800998ecf8427e"`},
		{`States.Hash('abc', 'SHA-256')`, `{}`, `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		// math
		{`States.MathAdd($.a, $.b)`, `{"a":-9,"b":3}`, `-6`},
		{`States.MathAdd($.a, $.b)`, `{"a":1.49,"b":1.5}`, `3`},
		{`States.MathAdd($.a, $.b)`, `{"a":-1.5,"b":-1.51}`, `-3`},
		{`States.MathAdd($.a, 0)`, `{"a":-0.5}`, `0`},
		{`States.MathAdd($.a, 0)`, `{"a":-2.5}`, `-2`},
		{`States.MathAdd($.a, 0)`, `{"a":2.5}`, `3`},
		{`States.MathAdd($.a, -1)`, `{"a":1}`, `0`},
		{`States.MathAdd(States.MathAdd(1, 2), 3)`, `{}`, `6`},
		// strings
		{`States.StringSplit($.s, ',')`, `{"s":", , ,"}`, `[" "," "]`},
		{`States.StringSplit($.s, ',')`, `{"s":",,,,"}`, `[]`},
		{`States.StringSplit($.s, '.+,=')`, `{"s":"This.is+a,test=string"}`, `["This","is","a","test","string"]`},
		{`States.StringSplit($.s, $.d)`, `{"s":"split on T and \nnew line","d":"T\n"}`, `["split on "," and ","new line"]`},
		{`States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)`, `{}`, `"abc"`},
		// whitespace between arguments
		{`  States.Array( 1 ,'a' ,  $.x )  `, `{"x":2}`, `[1,"a",2]`},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			env := &Env{Input: mustDecode(t, tt.input), Context: mustDecode(t, ctx)}
			got, err := Eval(tt.call, env)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if tt.want == "" {
				if a, ok := got.([]any); !ok || len(a) != 1000 {
					t.Fatalf("got %d items, want 1000", len(a))
				}
				return
			}
			if want := mustDecode(t, tt.want); !jsonpath.Equal(got, want) {
				enc, _ := jsonpath.EncodeString(got)
				t.Fatalf("got %s, want %s", enc, tt.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		call  string
		input string
		cause string // regexp the cause must match
	}{
		{`States.Format('{} {}', 'a')`, `{}`, `placeholders`},
		{`States.Format('{}', 'a', 'b')`, `{}`, `placeholders`},
		{`States.Format($.n, 'a')`, `{"n":1}`, `must be a string`},
		{`States.StringToJson($.s)`, `{"s":"{bad"}`, `not valid JSON`},
		{`States.StringToJson($.s)`, `{"s":"1 2"}`, `not valid JSON`},
		{`States.ArrayPartition($.a, 0)`, `{"a":[1]}`, `greater than 0`},
		{`States.ArrayPartition($.a, -1)`, `{"a":[1]}`, `greater than 0`},
		{`States.ArrayPartition('x', 1)`, `{}`, `must be an array`},
		{`States.ArrayRange(1, 1001, 1)`, `{}`, `maximum of 1000`},
		{`States.ArrayRange(1, 5, 0)`, `{}`, `step`},
		{`States.ArrayGetItem($.a, 3)`, `{"a":[1,2,3]}`, `out of bounds`},
		{`States.ArrayGetItem($.a, -1)`, `{"a":[1,2,3]}`, `out of bounds`},
		{`States.ArrayLength($.a)`, `{"a":{}}`, `must be an array`},
		{`States.Base64Encode($.s)`, `{"s":"` + repeat("a", 10001) + `"}`, `maximum of 10000`},
		{`States.Hash('x', 'SHA-999')`, `{}`, `algorithm`},
		{`States.JsonMerge($.a, $.a, true)`, `{"a":{}}`, `deep`},
		{`States.JsonMerge($.a, 1, false)`, `{"a":{}}`, `JSON object`},
		{`States.MathAdd('1', 2)`, `{}`, `must be a number`},
		{`States.MathRandom(5, 1)`, `{}`, `not greater than`},
		{`States.MathRandom(5, 5)`, `{}`, `not greater than`},
		{`States.StringSplit(1, ',')`, `{}`, `must be a string`},
		{`States.ArrayLength($.a, $.b)`, `{"a":[]}`, `could not be found`},
		{`States.ArrayLength($.a, 1)`, `{"a":[]}`, `expects 1 arguments`},
		{`States.UUID(1)`, `{}`, `expects 0 arguments`},
		{`States.Nope(1)`, `{}`, `not supported`},
		{`States.ArrayLength($.missing)`, `{}`, `JSONPath '\$.missing' could not be found`},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			_, err := Eval(tt.call, &Env{Input: mustDecode(t, tt.input)})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Name != ErrRuntime {
				t.Errorf("name %q, want %q", e.Name, ErrRuntime)
			}
			// The detail of an "Invalid arguments in States.X" cause is
			// kept in the wrapped error.
			text := e.Cause
			if e.Err != nil {
				text += " " + e.Err.Error()
			}
			if !regexp.MustCompile(tt.cause).MatchString(text) {
				t.Errorf("cause %q does not match %q", text, tt.cause)
			}
		})
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, n*len(s))
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

func TestNotFoundUnwraps(t *testing.T) {
	_, err := Eval(`States.Format('{}', $.a.b)`, &Env{Input: map[string]any{}})
	var nf *jsonpath.NotFoundError
	if !errors.As(err, &nf) || nf.Path != "$.a.b" {
		t.Fatalf("got %v, want a NotFoundError for $.a.b", err)
	}
}

func TestVariables(t *testing.T) {
	vars := map[string]any{"x": mustDecode(t, `{"y":[4,5]}`), "bias": mustDecode(t, `4.3`)}
	env := &Env{Variable: func(n string) (any, bool) { v, ok := vars[n]; return v, ok }}
	tests := []struct{ call, want string }{
		{`States.MathAdd($x.y[1], $bias)`, `9`},
		{`States.Format('{}', $x)`, `"{y=[4, 5]}"`},
		{`States.ArrayLength($x.y)`, `2`},
	}
	for _, tt := range tests {
		got, err := Eval(tt.call, env)
		if err != nil {
			t.Fatalf("%s: %v", tt.call, err)
		}
		if !jsonpath.Equal(got, mustDecode(t, tt.want)) {
			t.Errorf("%s = %v, want %s", tt.call, got, tt.want)
		}
	}
	_, err := Eval(`States.ArrayLength($nope)`, env)
	var nf *jsonpath.NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("undefined variable: got %v, want NotFoundError", err)
	}
}

func TestRandomAndUUID(t *testing.T) {
	uuidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 50 {
		// Bounds are truncated: [12, 44).
		v, err := Eval(`States.MathRandom(12.5, 44.51)`, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := jsonpath.Int(v)
		if !ok || n < 12 || n >= 44 {
			t.Fatalf("MathRandom(12.5, 44.51) = %v", v)
		}
		u, err := Eval(`States.UUID()`, nil)
		if err != nil || !uuidRe.MatchString(u.(string)) {
			t.Fatalf("UUID() = %v, %v", u, err)
		}
	}
	a, _ := Eval(`States.MathRandom(1, 1000000, 42)`, nil)
	b, _ := Eval(`States.MathRandom(1, 1000000, 42)`, nil)
	if !jsonpath.Equal(a, b) {
		t.Errorf("seeded MathRandom differs: %v vs %v", a, b)
	}
	env := &Env{RandomInt: func(n int64) int64 { return n - 1 }, UUID: func() string { return "fixed" }}
	if v, _ := Eval(`States.MathRandom(1, 10)`, env); !jsonpath.Equal(v, 9) {
		t.Errorf("MathRandom with RandomInt = %v, want 9", v)
	}
	if v, _ := Eval(`States.UUID()`, env); v != "fixed" {
		t.Errorf("UUID with env.UUID = %v", v)
	}
}

func TestJavaNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1", "1"}, {"-12", "-12"}, {"123456789012345678901234", "123456789012345678901234"},
		{"1.1", "1.1"}, {"1.0", "1.0"}, {"1.50", "1.5"}, {"1e2", "100.0"}, {"-0.0", "-0.0"},
		{"0.001", "0.001"}, {"0.0001", "1.0E-4"}, {"1e7", "1.0E7"}, {"1.5e7", "1.5E7"},
		{"9999999.5", "9999999.5"}, {"1.234e-10", "1.234E-10"}, {"1e400", "1e400"},
	}
	for _, tt := range tests {
		if got := javaNumber(json.Number(tt.in)); got != tt.want {
			t.Errorf("javaNumber(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	got, err := Eval(`States.JsonToString($)`, &Env{Input: mustDecode(t, `{"a":[1.50,2,1e2]}`)})
	if err != nil || got != `{"a":[1.5,2,100.0]}` {
		t.Errorf("JsonToString = %v, %v", got, err)
	}
	got, err = Eval(`States.Format('{} {}', $.a, 2.50)`, &Env{Input: mustDecode(t, `{"a":[1.50]}`)})
	if err != nil || got != `[1.5] 2.5` {
		t.Errorf("Format = %v, %v", got, err)
	}
}
