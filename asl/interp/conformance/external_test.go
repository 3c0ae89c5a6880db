package conformance_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl/interp/conformance"
)

func TestGradeExternal(t *testing.T) {
	errName := "States.Runtime"
	succeeded := conformance.Case{ID: "ok", Exact: true,
		Expected: conformance.Expected{Status: "SUCCEEDED", Output: json.RawMessage(`{"a":1}`)}}
	failed := conformance.Case{ID: "bad", Exact: true,
		Expected: conformance.Expected{Status: "FAILED", Error: &errName}}
	tests := []struct {
		name string
		c    conformance.Case
		res  conformance.ExternalResult
		ok   bool
		want conformance.Verdict
	}{
		{"same output", succeeded, conformance.ExternalResult{Status: "SUCCEEDED", Output: json.RawMessage(`{"a":1.0}`)}, true, conformance.Pass},
		{"other output", succeeded, conformance.ExternalResult{Status: "SUCCEEDED", Output: json.RawMessage(`{"a":2}`)}, true, conformance.Fail},
		{"other status", succeeded, conformance.ExternalResult{Status: "FAILED", Error: "X"}, true, conformance.Fail},
		{"same error", failed, conformance.ExternalResult{Status: "FAILED", Error: "States.Runtime"}, true, conformance.Pass},
		{"unexpected cause", failed, conformance.ExternalResult{Status: "FAILED", Error: "States.Runtime", Cause: "boom"}, true, conformance.Fail},
		{"other error", failed, conformance.ExternalResult{Status: "FAILED", Error: "States.TaskFailed"}, true, conformance.Fail},
		{"skipped", succeeded, conformance.ExternalResult{Skipped: "JSONata"}, true, conformance.Skip},
		{"missing", succeeded, conformance.ExternalResult{}, false, conformance.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conformance.Grade(tt.c, tt.res, tt.ok); got.Verdict != tt.want {
				t.Fatalf("Grade = %s (%s), want %s", got.Verdict, got.Reason, tt.want)
			}
		})
	}
}

func TestReadExternalResultsRejectsDuplicates(t *testing.T) {
	_, err := conformance.ReadExternalResults(strings.NewReader(`{"id":"a","status":"SUCCEEDED"}` + "\n" + `{"id":"a","skipped":"x"}`))
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("err = %v, want a duplicate-id error", err)
	}
}
