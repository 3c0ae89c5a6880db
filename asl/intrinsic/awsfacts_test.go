package intrinsic

import (
	"errors"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// Sources cited below:
//   - LS: AWS snapshot in LocalStack tests,
//     tests/aws/services/stepfunctions/v2/intrinsic_functions/*.snapshot.json
//   - SUITE: a public suite of intrinsic cases executed against AWS,
//     tests/support/conformance/intrinsicCases/States.<Name>.ts (found by
//     code search); its skipReason notes record what AWS returned where
//     AWS differs from that project's own runtime.

// TestAWSIntrinsicFacts pins intrinsic results AWS is recorded to return.
func TestAWSIntrinsicFacts(t *testing.T) {
	tests := []struct {
		call, input, want, source string
	}{
		// LS test_json_manipulation.snapshot.json test_string_to_json: a
		// blank string parses to null, "-0" to 0.
		{`States.StringToJson($.s)`, `{"s":""}`, `null`, "LS"},
		{`States.StringToJson($.s)`, `{"s":" "}`, `null`, "LS"},
		{`States.StringToJson($.s)`, `{"s":"-0"}`, `0`, "LS"},
		// SUITE States.ArrayRange.ts: fractional arguments are truncated.
		{`States.ArrayRange(1.6, 1.4, 1)`, `{}`, `[1]`, "SUITE ARANGE-023"},
		{`States.ArrayRange(5.4, -0.6, -2.4)`, `{}`, `[5,3,1]`, "SUITE ARANGE-024"},
		{`States.ArrayRange(1.4, 5.6, 2.2)`, `{}`, `[1,3,5]`, "SUITE ARANGE-004"},
		// SUITE States.ArrayPartition.ts: 2.6 partitions by 2.
		{`States.ArrayPartition($.a, 2.6)`, `{"a":[1,2,3,4,5]}`, `[[1,2],[3,4],[5]]`, "SUITE AP-013"},
		{`States.ArrayPartition($.a, 2147483647)`, `{"a":[1,2,3]}`, `[[1,2,3]]`, "SUITE AP-024"},
		// SUITE States.ArrayGetItem.ts: 1.2 reads index 1; any index into
		// an empty array gives null.
		{`States.ArrayGetItem($.a, 1.2)`, `{"a":[10,20,30]}`, `20`, "SUITE AGI-015"},
		{`States.ArrayGetItem($.a, 999)`, `{"a":[]}`, `null`, "SUITE AGI-011"},
		// SUITE States.ArrayContains.ts: scalars compare by text; arrays
		// and objects by JSON text.
		{`States.ArrayContains($.a, true)`, `{"a":["true","false","maybe"]}`, `true`, "SUITE AC-028"},
		{`States.ArrayContains($.a, $.t)`, `{"a":["-1","9007199254740991"],"t":9007199254740991}`, `true`, "SUITE AC-026"},
		{`States.ArrayContains($.a, false)`, `{"a":[0,1,-1,-1.5]}`, `false`, "SUITE AC-025"},
		{`States.ArrayContains($.a, $.t)`, `{"a":[null,"",0,true,[0,1,false]],"t":[0,1,false]}`, `true`, "SUITE AC-027"},
		{`States.ArrayContains($.a, $.t)`, `{"a":[{"a":1}],"t":{"a":1,"extra":null}}`, `false`, "SUITE AC-024"},
		{`States.ArrayContains($.a, null)`, `{"a":[1,null,3]}`, `true`, "SUITE AC-005"},
		// SUITE States.ArrayUnique.ts: Java HashSet semantics and order.
		{`States.ArrayUnique($.a)`, `{"a":[true,false,true,false]}`, `[false,true]`, "SUITE AUNIQ-004"},
		{`States.ArrayUnique($.a)`, `{"a":[[1,2],[1,2],[2,1]]}`, `[[2,1],[1,2]]`, "SUITE AUNIQ-010"},
		{`States.ArrayUnique($.a)`, `{"a":[null,null,1,null]}`, `[null,1]`, "SUITE AUNIQ-005"},
		{`States.ArrayUnique($.a)`, `{"a":[{"a":1,"b":2},{"b":2,"a":1}]}`, `[{"a":1,"b":2}]`, "SUITE AUNIQ-008"},
		{`States.ArrayUnique($.a)`, `{"a":["a","b","a","c","b"]}`, `["a","b","c"]`, "SUITE AUNIQ-002"},
		{`States.ArrayUnique($.a)`, `{"a":[1,2,1,3,2,4]}`, `[1,2,3,4]`, "SUITE AUNIQ-014"},
		// SUITE States.Hash.ts: a non-string value is hashed as its text.
		{`States.Hash(123, 'MD5')`, `{}`, `"202cb962ac59075b964b07152d234b70"`, "SUITE HASH-014"},
		{`States.Hash('hello', 'SHA-1')`, `{}`, `"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"`, "SUITE HASH-002"},
		// SUITE States.Base64Decode.ts: decoding is lenient.
		{`States.Base64Decode(' YWJjZA== ')`, `{}`, `"abcd"`, "SUITE B64D-024"},
		{`States.Base64Decode('YWJjZA')`, `{}`, `"abcd"`, "SUITE B64D-017"},
		{`States.Base64Decode('YWJj==ZA')`, `{}`, `"abc"`, "SUITE B64D-019"},
		{`States.Base64Decode('')`, `{}`, `""`, "SUITE B64D-002"},
		// SUITE States.JsonMerge.ts: a non-boolean flag merges shallowly.
		{`States.JsonMerge($.a, $.b, 'false')`, `{"a":{"x":1},"b":{"y":2}}`, `{"x":1,"y":2}`, "SUITE JMG-13"},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			got, err := Eval(tt.call, &Env{Input: mustDecode(t, tt.input)})
			if err != nil {
				t.Fatalf("%s: %v", tt.source, err)
			}
			gs, _ := jsonpath.EncodeString(got)
			ws, _ := jsonpath.EncodeString(mustDecode(t, tt.want))
			if gs != ws {
				t.Errorf("%s: got %s, want %s", tt.source, gs, ws)
			}
		})
	}
}

// TestAWSIntrinsicFailures pins calls AWS fails with States.Runtime and the
// cause "Invalid arguments in States.<Name>".
func TestAWSIntrinsicFailures(t *testing.T) {
	tests := []struct{ call, input, source string }{
		{`States.MathRandom(1, 1)`, `{}`, "SUITE MRAND-005"},
		{`States.MathRandom(1.4, 1.6)`, `{}`, "SUITE MRAND-009 (bounds truncate to 1, 1)"},
		{`States.MathRandom(10, 5)`, `{}`, "SUITE MRAND-006"},
		{`States.MathRandom(1, 10, null)`, `{}`, "SUITE MRAND-019"},
		{`States.ArrayRange(1, 1001, 1)`, `{}`, "SUITE ARANGE-016"},
		{`States.ArrayRange(1001, 1, -1)`, `{}`, "SUITE ARANGE-018"},
		{`States.ArrayRange(1, 10, 0.49)`, `{}`, "SUITE ARANGE-014"},
		{`States.ArrayRange('a', 5, 1)`, `{}`, "SUITE ARANGE-010"},
		{`States.ArrayPartition($.a, 0.6)`, `{"a":[1,2,3]}`, "SUITE AP-015"},
		{`States.ArrayPartition($.a, -0.6)`, `{"a":[1,2,3]}`, "SUITE AP-018"},
		{`States.ArrayPartition($.a, '2')`, `{"a":[1,2,3]}`, "SUITE AP-009"},
		{`States.ArrayGetItem($.a, 3)`, `{"a":[10,20,30]}`, "SUITE AGI-009"},
		{`States.ArrayGetItem($.a, -1)`, `{"a":[10,20,30]}`, "SUITE AGI-010"},
		{`States.ArrayGetItem($.a, '1')`, `{"a":[10,20,30]}`, "SUITE AGI-012"},
		{`States.Hash('data', 'sha-256')`, `{}`, "SUITE HASH-025"},
		{`States.Hash('hello', 123)`, `{}`, "SUITE HASH-018"},
		{`States.Hash($.s, 'SHA-256')`, `{"s":"` + strings.Repeat("a", 10001) + `"}`, "SUITE HASH-013"},
		{`States.Base64Decode($.s)`, `{"s":"` + strings.Repeat("A", 10001) + `"}`, "SUITE B64D-008"},
		{`States.Base64Decode(123)`, `{}`, "SUITE B64D-009"},
		{`States.StringToJson($.s)`, `{"s":"undefined"}`, "SUITE STJ-12"},
		{`States.StringToJson($.s)`, `{"s":123}`, "SUITE STJ-13"},
		{`States.JsonMerge($.a, $.b, true)`, `{"a":{},"b":{}}`, "SUITE JsonMerge 016"},
		{`States.ArrayUnique('not-array')`, `{}`, "SUITE AUNIQ-015"},
	}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			_, err := Eval(tt.call, &Env{Input: mustDecode(t, tt.input)})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: got %v, want a failure", tt.source, err)
			}
			if e.Name != "States.Runtime" {
				t.Errorf("%s: error %q, want States.Runtime", tt.source, e.Name)
			}
			name := tt.call[:strings.IndexByte(tt.call, '(')]
			if e.Cause != "Invalid arguments in "+name {
				t.Errorf("%s: cause %q, want %q", tt.source, e.Cause, "Invalid arguments in "+name)
			}
		})
	}
}
