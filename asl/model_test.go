package asl

import (
	"bytes"
	"strings"
	"testing"
)

func TestRoundTripEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"null paths", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":null,"OutputPath":null,"ResultPath":null,"End":true}}}`},
		{"zero values kept", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"","End":false,"Comment":""}}}`},
		{"unknown fields", `{"StartAt":"A","Foo":1,"States":{"A":{"Type":"Pass","Bar":{"x":[1,2]},"End":true}}}`},
		{"wrong types", `{"StartAt":5,"States":{"A":{"Type":"Wait","Seconds":true,"End":"yes","Retry":[null]}}}`},
		{"states not object", `{"StartAt":"A","States":[1]}`},
		{"choice two operators", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","NumericEquals":1,"Next":"C"}]}}}`},
		{"jsonata numbers", `{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait","Seconds":"{% $x %}","End":true}}}`},
		{"html kept", `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"a":"<&>"},"End":true}}}`},
		{"null templates", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":null,"End":true}}}`},
		{"map", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["a","b"],"MaxItems":10},"Parameters":{"Bucket":"b","Key":"k"}},"ItemBatcher":{"MaxItemsPerBatch":5,"BatchInput":{"x":1}},"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"b","Prefix":"p"}},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"Label":"x","End":true}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out, err := sm.JSON("")
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if !semanticEqual(t, []byte(tc.in), out) {
				t.Fatalf("round trip differs\n in: %s\nout: %s", tc.in, out)
			}
			if !bytes.Equal([]byte(tc.in), out) {
				t.Errorf("key order or text changed\n in: %s\nout: %s", tc.in, out)
			}
		})
	}
}

func TestParseModel(t *testing.T) {
	sm, err := Parse([]byte(`{"StartAt":"B","States":{"B":{"Type":"Pass","ResultPath":null,"Next":"A"},"A":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThanPath":"$.m","Next":"B"}],"Default":"B"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := sm.StateNames(); len(got) != 2 || got[0] != "B" || got[1] != "A" {
		t.Errorf("StateNames = %v", got)
	}
	b := sm.States["B"]
	if !b.ResultPath.IsNull() || b.InputPath.IsSet() || b.InputPath.Or("$") != "$" {
		t.Errorf("paths: %+v %+v", b.ResultPath, b.InputPath)
	}
	r := sm.States["A"].Choices[0]
	if r.Operator != "NumericLessThanPath" || !r.IsPathOperator() || r.BaseOperator() != "NumericLessThan" {
		t.Errorf("rule = %+v", r)
	}
	if s, ok := r.StringValue(); !ok || s != "$.m" {
		t.Errorf("StringValue = %q %v", s, ok)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"a":`, `"x"`, `{} {}`} {
		_, err := Parse([]byte(in))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		n      *Number
		i      int64
		intOK  bool
		isExpr bool
	}{
		{Int(3), 3, true, false},
		{Float(2.5), 0, false, false},
		{&Number{Lit: "4.0"}, 4, true, false},
		{Expr("{% $x %}"), 0, false, true},
	}
	for _, tc := range tests {
		i, ok := tc.n.Int64()
		if i != tc.i || ok != tc.intOK || tc.n.IsExpr() != tc.isExpr {
			t.Errorf("%+v: Int64 = %d %v, IsExpr %v", tc.n, i, ok, tc.n.IsExpr())
		}
	}
}

// TestParseDeepNesting guards against decoding costs that grow
// exponentially with nesting: a bad state deep inside 40 nested Map states
// used to be decoded twice per level.
func TestParseDeepNesting(t *testing.T) {
	def := `{"StartAt":"X","States":{"X":5}}`
	for i := 0; i < 40; i++ {
		def = `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":` + def + `}}}`
	}
	sm, err := Parse([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	out, err := sm.JSON("")
	if err != nil || !semanticEqual(t, []byte(def), out) {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	if err := Validate(sm); err == nil || !strings.Contains(err.Error(), "'States' has an unexpected type") {
		t.Errorf("Validate = %v", err)
	}
}

func TestEffectiveQueryLanguage(t *testing.T) {
	tests := []struct {
		state, outer, want string
	}{
		{"", "", QueryLanguageJSONPath},
		{"", QueryLanguageJSONata, QueryLanguageJSONata},
		{QueryLanguageJSONPath, QueryLanguageJSONata, QueryLanguageJSONPath},
		{QueryLanguageJSONata, "", QueryLanguageJSONata},
	}
	for _, tc := range tests {
		st := &State{QueryLanguage: tc.state}
		if got := st.EffectiveQueryLanguage(tc.outer); got != tc.want {
			t.Errorf("EffectiveQueryLanguage(%q, %q) = %q", tc.state, tc.outer, got)
		}
	}
}
