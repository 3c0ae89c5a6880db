package interp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONataFunctionsAsValues covers lambdas, ~> and the higher-order and
// other standard functions, with results as the JSONata documentation
// (docs.jsonata.org: higher-order functions, other operators, string and
// date/time functions) defines them; AWS Step Functions evaluates
// QueryLanguage JSONata with that library (AWS docs: "Transforming data
// with JSONata in Step Functions").
func TestJSONataFunctionsAsValues(t *testing.T) {
	tests := []struct{ expr, input, want string }{
		{`$map([1,2,3], function($v){$v*2})`, `{}`, `[2,4,6]`},
		{`$map($states.input.a, function($v, $i){$i})`, `{"a":["x","y"]}`, `[0,1]`},
		{`$map($states.input.a, $string)`, `{"a":[1,2]}`, `["1","2"]`},
		{`$filter([1,2,3,4], function($v){$v % 2 = 0})`, `{}`, `[2,4]`},
		{`$reduce([1,2,3,4], function($acc, $v){$acc + $v})`, `{}`, `10`},
		{`$reduce([1,2,3], function($acc, $v){$acc + $v}, 10)`, `{}`, `16`},
		{`$each({"a":1,"b":2}, function($v, $k){$k & "=" & $v})`, `{}`, `["a=1","b=2"]`},
		{`$sift({"a":1,"b":2}, function($v){$v > 1})`, `{}`, `{"b":2}`},
		{`$single([1,2,3], function($v){$v = 2})`, `{}`, `2`},
		{`($double := function($x){$x*2}; $double(21))`, `{}`, `42`},
		{`$states.input.s ~> $uppercase()`, `{"s":"abc"}`, `"ABC"`},
		{`[3,1,2] ~> $sort() ~> $reverse()`, `{}`, `[3,2,1]`},
		{`$pad("5", -3, "0")`, `{}`, `"005"`},
		{`$zip([1,2],[3,4])`, `{}`, `[[1,3],[2,4]]`},
		{`$base64decode($base64encode("hi"))`, `{}`, `"hi"`},
		{`$toMillis("1970-01-01T00:00:01.000Z")`, `{}`, `1000`},
		{`$fromMillis(1000)`, `{}`, `"1970-01-01T00:00:01.000Z"`},
		{`($fact := function($n){$n <= 1 ? 1 : $n * $fact($n - 1)}; $fact(10))`, `{}`, `3628800`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			expr := strings.ReplaceAll(tt.expr, `"`, `\"`)
			def := `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% ` + expr + ` %}","End":true}}}`
			e := newEngine(t, def, Options{})
			res, err := e.Run(context.Background(), json.RawMessage(tt.input))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Status != StatusSucceeded {
				t.Fatalf("status %s: %s %s", res.Status, res.Error, res.Cause)
			}
			jsonEq(t, res.Output, tt.want)
		})
	}
	// Calling something that is not a function, or recursing without end,
	// fails the state.
	for _, expr := range []string{`($f := 1; $f(2))`, `($f := function($x){$f($x)}; $f(1))`} {
		def := `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% ` + expr + ` %}","End":true}}}`
		res, err := newEngine(t, def, Options{}).Run(context.Background(), json.RawMessage(`{}`))
		if err != nil || res.Status != StatusFailed || res.Error != "States.QueryEvaluationError" {
			t.Fatalf("%s: got %v %s %s, want a States.QueryEvaluationError failure", expr, err, res.Status, res.Error)
		}
	}
}
