package interp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestAWSRecordedBehaviour pins execution results AWS is recorded to
// produce. Sources:
//   - LS: AWS snapshot in LocalStack tests (tests/aws/services/stepfunctions/
//     v2/...snapshot.json) or an AWS-validated LocalStack template.
//   - SUITE: a public suite of cases executed against AWS
//     (tests/support/conformance/...Cases/*.ts, found by code search).
//   - EMU: a Java emulator whose constant is marked "AWS wording, verified
//     against us-east-1" (found by code search).
func TestAWSRecordedBehaviour(t *testing.T) {
	tests := []struct {
		name, source, def, input string
		status                   Status
		output                   string // when SUCCEEDED
		errName, cause           string // when FAILED; cause compared exactly
	}{
		{
			name:    "choice without default and no match",
			source:  "SUITE Choice.* no-default cases (States.Runtime, 'state does not point to a next state'); EMU NO_NEXT_STATE_CAUSE",
			def:     `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"E"}]},"E":{"Type":"Succeed"}}}`,
			input:   `{"x":2}`,
			status:  StatusFailed,
			errName: "States.Runtime",
			cause:   "An error occurred while executing the state 'C' (entered at the event id #2). Failed to transition out of the state. The state does not point to a next state.",
		},
		{
			name:    "choice without default and no match, JSONata",
			source:  "SUITE Feature.ChoiceJsonata / Choice no-default cases",
			def:     `{"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.x = 1 %}","Next":"E"}]},"E":{"Type":"Succeed"}}}`,
			input:   `{"x":2}`,
			status:  StatusFailed,
			errName: "States.Runtime",
			cause:   "An error occurred while executing the state 'C' (entered at the event id #2). Failed to transition out of the state. The state does not point to a next state.",
		},
		{
			name:   "NumericGreaterThanPath reads an array operand as 0",
			source: "SUITE Choice.NumericGreaterThanPath 008 (AWS returns matched for right: [6])",
			def:    `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.left","NumericGreaterThanPath":"$.right","Next":"M"}],"Default":"D"},"M":{"Type":"Pass","Result":"matched","End":true},"D":{"Type":"Pass","Result":"default","End":true}}}`,
			input:  `{"left":7,"right":[6]}`,
			status: StatusSucceeded,
			output: `"matched"`,
		},
		{
			name:   "NumericGreaterThanEqualsPath reads false as 0",
			source: "SUITE Choice.NumericGreaterThanEqualsPath 008 (AWS returns matched for right: false)",
			def:    `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.left","NumericGreaterThanEqualsPath":"$.right","Next":"M"}],"Default":"D"},"M":{"Type":"Pass","Result":"matched","End":true},"D":{"Type":"Pass","Result":"default","End":true}}}`,
			input:  `{"left":8,"right":false}`,
			status: StatusSucceeded,
			output: `"matched"`,
		},
		{
			name:   "Numeric*Path needs a numeric variable",
			source: "SUITE Choice.NumericGreaterThanEqualsPath 007; LS choice_operators/test_numeric.snapshot.json test_numeric_equals_path",
			def:    `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.left","NumericGreaterThanEqualsPath":"$.right","Next":"M"}],"Default":"D"},"M":{"Type":"Pass","Result":"matched","End":true},"D":{"Type":"Pass","Result":"default","End":true}}}`,
			input:  `{"left":{"value":8},"right":8}`,
			status: StatusSucceeded,
			output: `"default"`,
		},
		{
			name:    "Pass result over 256 KiB",
			source:  "LS error_handling/test_states_errors.snapshot.json test_start_large_input",
			def:     `{"StartAt":"State_1","States":{"State_1":{"Type":"Pass","Result":{"Arg1":"` + strings.Repeat("a", 257*1024) + `"},"End":true}}}`,
			input:   `{}`,
			status:  StatusFailed,
			errName: "States.DataLimitExceeded",
			cause:   "The state/task 'State_1' returned a result with a size exceeding the maximum number of bytes service limit.",
		},
		{
			name:   "bracket step after a dot in OutputPath and intrinsic argument",
			source: "LS templates/base/statemachines/pass_result_regex_json_path.json5 (Jayway JsonPath syntax)",
			def:    `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"v.$":"States.JsonToString($.[?(@.year <= 1998)].name)"},"End":true}}}`,
			input:  `[{"year":1997,"name":"a"},{"year":2000,"name":"b"}]`,
			status: StatusSucceeded,
			output: `{"v":"[\"a\"]"}`,
		},
		{
			name:    "intrinsic argument failure",
			source:  "SUITE intrinsicCases/States.ArrayGetItem.ts AGI-009 (States.Runtime, 'Invalid arguments in States.ArrayGetItem')",
			def:     `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"v.$":"States.ArrayGetItem($.a, 3)"},"End":true}}}`,
			input:   `{"a":[10,20,30]}`,
			status:  StatusFailed,
			errName: "States.Runtime",
			cause:   "An error occurred while executing the state 'S' (entered at the event id #2). Invalid arguments in States.ArrayGetItem",
		},
		{
			name:   "Wait SecondsPath with a numeric string",
			source: "SUITE Feature.WaitValidation 006 note: AWS coerces numeric-looking strings",
			def:    `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.w","End":true}}}`,
			input:  `{"w":"3"}`,
			status: StatusSucceeded,
			output: `{"w":"3"}`,
		},
		{
			name:    "Wait SecondsPath with an object",
			source:  "SUITE Feature.WaitValidation 006 (States.Runtime)",
			def:     `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.w","End":true}}}`,
			input:   `{"w":{"raw":"3"}}`,
			status:  StatusFailed,
			errName: "States.Runtime",
			cause:   `An error occurred while executing the state 'W' (entered at the event id #2). The SecondsPath parameter cannot be parsed as a long value: $.w == {"raw":"3"}`,
		},
		{
			name:   "JSONata $partition without a size",
			source: "SUITE Feature.JSONataBuiltins 014",
			def:    `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $partition($states.input.arr) %}","End":true}}}`,
			input:  `{"arr":[1,2,3]}`,
			status: StatusSucceeded,
			output: `[[1,2,3]]`,
		},
		{
			name:   "JSONata $partition truncates the size",
			source: "SUITE Feature.JSONataBuiltins 008",
			def:    `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $partition($states.input.arr, 2.6) %}","End":true}}}`,
			input:  `{"arr":[1,2,3,4,5]}`,
			status: StatusSucceeded,
			output: `[[1,2],[3,4],[5]]`,
		},
		{
			name:   "JSONata $range truncates its arguments",
			source: "SUITE Feature.JSONataBuiltins 016",
			def:    `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $range(1.4, 5.6, 2.2) %}","End":true}}}`,
			input:  `{}`,
			status: StatusSucceeded,
			output: `[1,3,5]`,
		},
		{
			name:   "JSONata $range has no 1000-item cap",
			source: "SUITE Feature.JSONataBuiltins 019",
			def:    `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $count($range(1, 1001, 1)) %}","End":true}}}`,
			input:  `{}`,
			status: StatusSucceeded,
			output: `1001`,
		},
		{
			name:   "JSONata $random with the same seed",
			source: "SUITE Feature.JSONataBuiltins 007",
			def:    `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $random(77) = $random(77) %}","End":true}}}`,
			input:  `{}`,
			status: StatusSucceeded,
			output: `true`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, tt.def, Options{})
			res, err := e.Run(context.Background(), json.RawMessage(tt.input))
			if err != nil {
				t.Fatalf("%s: Run: %v", tt.source, err)
			}
			if res.Status != tt.status {
				t.Fatalf("%s: status %s (%s: %s), want %s", tt.source, res.Status, res.Error, res.Cause, tt.status)
			}
			if tt.status == StatusSucceeded {
				jsonEq(t, res.Output, tt.output)
				return
			}
			if res.Error != tt.errName || res.Cause != tt.cause {
				t.Errorf("%s: got %q / %q, want %q / %q", tt.source, res.Error, res.Cause, tt.errName, tt.cause)
			}
		})
	}
}

// TestAWSJSONataBuiltinFailures: calls AWS fails (SUITE
// Feature.JSONataBuiltins 009-046).
func TestAWSJSONataBuiltinFailures(t *testing.T) {
	for _, expr := range []string{
		`$partition([1,2,3], 0)`, `$partition([1,2,3], -1)`, `$partition([1,2,3], '2')`,
		`$partition([1,2,3], null)`, `$partition('not-array', 2)`, `$partition([1,2,3], 2, 99)`,
		`$range(1, 10, 0)`, `$range(1, 10, 0.49)`, `$range('a', 5, 1)`, `$range(1, 5, null)`,
		`$range(1, 5)`, `$range(1, 5, 1, 99)`,
		`$hash('data', 'UNSUPPORTED')`, `$hash('hello', 'sha-256')`, `$hash(123, 'SHA-256')`,
		`$hash()`, `$hash('hello', 'SHA-256', 'extra')`,
		`$parse('{bad json}')`, `$parse('')`, `$parse(123)`, `$parse(null)`, `$parse({'a':1})`,
		`$parse()`, `$parse('{}', 1)`,
		`$uuid('x')`, `$uuid(null)`, `$uuid(1, 2)`,
		`$random('seed')`, `$random(null)`, `$random({'bad':true})`, `$random(77, 88)`,
	} {
		t.Run(expr, func(t *testing.T) {
			def := `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% ` + strings.ReplaceAll(expr, `"`, `\"`) + ` %}","End":true}}}`
			e := newEngine(t, def, Options{})
			res, err := e.Run(context.Background(), json.RawMessage(`{}`))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Status != StatusFailed {
				t.Errorf("status %s, output %s; want FAILED", res.Status, res.Output)
			}
		})
	}
}
