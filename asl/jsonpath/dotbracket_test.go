package jsonpath

import "testing"

// TestDotBracket covers a bracket step written after a dot ("$.['a']",
// "$.[?(...)]"). AWS evaluates paths with Jayway JsonPath, whose compiler
// reads any token after a single dot. Evidence: AWS-validated template
// pass_result_regex_json_path.json5 in LocalStack tests
// (tests/aws/services/stepfunctions/templates/base/statemachines/) uses
// "$.[?(@.year <= 1998)]" and "$.[?(@.year < 1999)].name".
func TestDotBracket(t *testing.T) {
	doc, err := DecodeString(`{"a": 1, "users": [{"year": 1997, "name": "x"}, {"year": 2000, "name": "y"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{`$.['a']`, `1`},
		{`$.users.[0].name`, `"x"`},
		{`$.users.[?(@.year < 1999)].name`, `["x"]`},
		{`$.users.[*].year`, `[1997,2000]`},
	}
	for _, tc := range tests {
		p, err := Compile(tc.path)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		v, err := p.Get(doc)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		got, _ := EncodeString(v)
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.path, got, tc.want)
		}
	}
	// A dot must still be followed by something.
	for _, bad := range []string{`$.`, `$..`, `$.a.`} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("%s: compiled, want an error", bad)
		}
	}
}
