package asl

import (
	"errors"
	"strings"
	"testing"
)

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name      string
		b         *MachineBuilder
		wantBuild bool   // a *BuildError
		want      string // substring of the error, "" for success
	}{
		{"ok", NewMachine("A").Add("A", Pass().End()), false, ""},
		{"duplicate", NewMachine("A").Add("A", Pass().End()).Add("A", Succeed()), true, `state "A" added twice`},
		{"payload on pass", NewMachine("A").Add("A", Pass().Payload(1).End()), true, "Payload applies to LambdaInvoke"},
		{"bad raw template", NewMachine("A").Add("A", Pass().Parameters([]byte("{")).End()), true, "invalid JSON"},
		{"nested builder error", NewMachine("P").Add("P", Parallel(Branch("X").Add("X", Pass().End()).Add("X", Pass().End())).End()), true, "added twice"},
		{"missing target", NewMachine("A").Add("A", Pass().Next("B")), false, "MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next"},
		{"express wait for token", NewMachine("A").Add("A", Task("arn:aws:states:::lambda:invoke.waitForTaskToken").End()), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm, err := tc.b.Build()
			if tc.want == "" {
				if err != nil || sm == nil {
					t.Fatalf("Build = %v, %v", sm, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error = %v, want %q", err, tc.want)
			}
			var be *BuildError
			if errors.As(err, &be) != tc.wantBuild {
				t.Errorf("BuildError = %v, want %v", errors.As(err, &be), tc.wantBuild)
			}
			if !tc.wantBuild && !errors.Is(err, ErrInvalidDefinition) {
				t.Errorf("error does not unwrap to ErrInvalidDefinition")
			}
		})
	}
	if _, err := NewMachine("A").Add("A", Task("arn:aws:states:::lambda:invoke.waitForTaskToken").End()).Build(WithWorkflowType(WorkflowExpress)); err == nil {
		t.Error("EXPRESS build accepted .waitForTaskToken")
	}
}

func TestBuilderStates(t *testing.T) {
	sm := NewMachine("W").
		Comment("c").TimeoutSeconds(60).Version("1.0").
		Add("W", WaitUntil("2030-01-01T00:00:00Z").Next("M")).
		Add("M", Map(Branch("P").Add("P", LambdaInvoke("arn:aws:lambda:us-east-1:123456789012:function:f").End())).
			Distributed(ExecutionExpress).Label("items").MaxConcurrency(10).ToleratedFailurePercentage(5).
			ItemReader(&ItemReader{Resource: "arn:aws:states:::s3:getObject", ReaderConfig: &ReaderConfig{InputType: InputTypeCSV, CSVHeaderLocation: CSVHeaderFirstRow}, Parameters: []byte(`{"Bucket":"b","Key":"k.csv"}`)}).
			ItemSelector(JSON{"row.$": "$$.Map.Item.Value"}).
			DiscardResult().Next("C")).
		Add("C", Choice().
			When(Not(Or(StringEquals("$.s", "a"), StringMatches("$.s", "b*"))), "F").
			When(TimestampLessThan("$.t", "2030-01-01T00:00:00Z"), "S").
			Otherwise("S")).
		Add("F", Fail("E", "").Cause("why")).
		Add("S", Succeed()).
		MustBuild()
	out, err := sm.JSON("")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"}`,
		`"ResultPath":null`,
		`"Not":{"Or":[{"Variable":"$.s","StringEquals":"a"},{"Variable":"$.s","StringMatches":"b*"}]}`,
		`"Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:f","Payload.$":"$"}`,
		`"TimeoutSeconds":60`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if got := RuleString(sm.States["C"].Choices[0]); got != `not ($.s == "a" or $.s matches "b*")` {
		t.Errorf("RuleString = %s", got)
	}
	// The built machine survives a round trip.
	sm2, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(sm2); err != nil {
		t.Fatal(err)
	}
	out2, _ := sm2.JSON("")
	if string(out) != string(out2) {
		t.Errorf("round trip changed\n%s\n%s", out, out2)
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		c    *Condition
		want string
	}{
		{NumericLessThanEquals("$.n", 3), "$.n <= 3"},
		{Compare("$.n", "NumericGreaterThanPath", "$.m"), "$.n > $.m"},
		{IsNull("$.x"), "isNull($.x)"},
		{Compare("$.x", "IsString", false), "not isString($.x)"},
		{And(BooleanEquals("$.b", true), Or(IsNumeric("$.n"), IsBoolean("$.n"))), "$.b == true and (isNumeric($.n) or isBoolean($.n))"},
		{JSONataCondition("{% $x > 1 %}"), "$x > 1"},
	}
	for _, tc := range tests {
		if got := RuleString(&tc.c.rule); got != tc.want {
			t.Errorf("RuleString = %q, want %q", got, tc.want)
		}
	}
}

func TestMermaidEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want []string
	}{
		{"missing target", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, []string{`s2["B (missing)"]`, "s1 --> s2"}},
		{"escaping", `{"StartAt":"A \"q\" <x>","States":{"A \"q\" <x>":{"Type":"Succeed"}}}`, []string{`s1(["A #quot;q#quot; #lt;x#gt;"])`}},
		{"null state", `{"StartAt":"A","States":{"A":null}}`, []string{"flowchart TD"}},
		{"long label", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","IsNull":true,"Next":"C"}],"Default":"C"}}}`, []string{`s1 -->|"isNull($.` + strings.Repeat("a", 50) + `…"| s1`}},
		{"legacy iterator", `{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`, []string{`subgraph s1 ["M (Map)"]`, `s3("P")`, "s2 --> s3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm, err := Parse([]byte(tc.def))
			if err != nil {
				t.Fatal(err)
			}
			got := Mermaid(sm)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
		})
	}
	if Mermaid(nil) != "flowchart TD\n" {
		t.Error("Mermaid(nil)")
	}
}

func TestBuilderCoversEveryOption(t *testing.T) {
	tests := []struct {
		name string
		b    *MachineBuilder
		want []string
	}{
		{"jsonata", NewMachine("T").QueryLanguage(QueryLanguageJSONata).
			Add("T", Task("arn:aws:states:::lambda:invoke").Comment("call").
				Arguments(JSON{"FunctionName": "f", "Payload": "{% $states.input %}"}).
				Assign(JSON{"n": "{% $states.result.Payload.n %}"}).
				Output("{% $states.result.Payload %}").
				TimeoutSeconds(30).HeartbeatSeconds(10).
				Retry(Retry().MaxDelaySeconds(5).FullJitter()).
				Next("C")).
			Add("C", Choice().When(JSONataCondition("{% $n > 1 %}"), "S").Otherwise("S")).
			Add("S", Succeed()),
			[]string{`"QueryLanguage":"JSONata"`, `"HeartbeatSeconds":10`, `"JitterStrategy":"FULL"`, `"Condition":"{% $n > 1 %}"`}},
		{"paths", NewMachine("W").
			Add("W", WaitSecondsPath("$.wait").InputPath("$.in").OutputPath("$.out").QueryLanguage(QueryLanguageJSONPath).Next("U")).
			Add("U", WaitUntilPath("$.until").Next("M")).
			Add("M", Map(Branch("P").Add("P", Pass().End())).ToleratedFailureCount(1).
				ItemBatcher(&ItemBatcher{MaxItemsPerBatch: Int(10)}).
				ResultWriter(&ResultWriter{Resource: "arn:aws:states:::s3:putObject", Parameters: []byte(`{"Bucket":"b","Prefix":"p"}`)}).
				Distributed(ExecutionStandard).Next("C")).
			Add("C", Choice().
				When(NumericEquals("$.n", 1), "F").
				When(NumericLessThan("$.n", 1), "F").
				When(NumericGreaterThanEquals("$.n", 5), "F").
				When(TimestampGreaterThan("$.t", "2030-01-01T00:00:00Z"), "F").
				When(IsString("$.s"), "F").
				When(IsTimestamp("$.t"), "F").
				Otherwise("F")).
			Add("F", Fail("", "").Error("E")),
			[]string{`"SecondsPath":"$.wait"`, `"TimestampPath":"$.until"`, `"ToleratedFailureCount":1`, `"MaxItemsPerBatch":10`, `"NumericGreaterThanEquals":5`, `"IsTimestamp":true`, `"Error":"E"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm, err := tc.b.Build()
			if err != nil {
				t.Fatal(err)
			}
			out, _ := sm.JSON("")
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("missing %s in %s", w, out)
				}
			}
		})
	}
}

func TestMustBuildPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustBuild did not panic")
		}
	}()
	NewMachine("A").MustBuild()
}

func TestErrorTypes(t *testing.T) {
	be := &BuildError{Errs: []error{ErrInvalidDefinition}}
	if !errors.Is(be, ErrInvalidDefinition) {
		t.Error("BuildError does not unwrap")
	}
	ce := &CorpusError{Line: 3, Err: ErrInvalidDefinition}
	if !errors.Is(ce, ErrInvalidDefinition) || !strings.Contains(ce.Error(), "line 3") {
		t.Errorf("CorpusError = %v", ce)
	}
	if _, _, _, err := RunInvalidCorpus(strings.NewReader("{\n"), new(strings.Builder)); !errors.As(err, &ce) {
		t.Errorf("RunInvalidCorpus(bad line) = %v", err)
	}
	if ops := ComparisonOperators(); len(ops) != 39 {
		t.Errorf("%d comparison operators", len(ops))
	}
}
