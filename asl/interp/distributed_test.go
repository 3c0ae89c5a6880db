package interp

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl"
)

func TestItemReaderFormats(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		config string
		want   string
		fails  bool
	}{
		{"csv first row", "a,b\n1,2\n3,4\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[{"a":"1","b":"2"},{"a":"3","b":"4"}]`, false},
		{"csv given headers", "1;2\n", `{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["x","y"],"CSVDelimiter":"SEMICOLON"}`, `[{"x":"1","y":"2"}]`, false},
		{"csv bom crlf", "\ufeffa,b\r\n1,2\r\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[{"a":"1","b":"2"}]`, false},
		{"csv short row padded", "a,b\n1\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[{"a":"1","b":""}]`, false},
		{"csv long row cut", "a,b\n1,2,3\n4,5\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[{"a":"1","b":"2"},{"a":"4","b":"5"}]`, false},
		{"csv blank lines and mixed endings", "a\r\n\r\n1\n\n2\r\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[{"a":"1"},{"a":"2"}]`, false},
		{"csv quoted field over lines", "a,b\n\"x\ny\",2\n3,4\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[{"a":"x\ny","b":"2"},{"a":"3","b":"4"}]`, false},
		{"csv bare quote", "a,b\n1,x\"y\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, ``, true},
		{"csv header only", "a,b\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}`, `[]`, false},
		{"csv max items", "a\n1\n2\n3\n", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","MaxItems":2}`, `[{"a":"1"},{"a":"2"}]`, false},
		{"json array", `[1,{"k":2}]`, `{"InputType":"JSON"}`, `[1,{"k":2}]`, false},
		{"json not array", `{"k":2}`, `{"InputType":"JSON"}`, ``, true},
		{"jsonl", "{\"a\":1}\n\n{\"a\":2}\n", `{"InputType":"JSONL"}`, `[{"a":1},{"a":2}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &memStore{objs: map[string][]byte{"b/k": []byte(tt.body)}}
			def := `{"StartAt":"M","States":{"M":{"Type":"Map",
			  "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":` + tt.config + `,"Parameters":{"Bucket":"b","Key":"k"}},
			  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
			  "End":true}}}`
			e := newEngine(t, def, Options{Objects: store})
			r, err := e.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.fails {
				if r.Status != StatusFailed || r.Error != asl.ErrorItemReaderFailed {
					t.Errorf("result = %+v, want %s", r, asl.ErrorItemReaderFailed)
				}
				return
			}
			if r.Status != StatusSucceeded {
				t.Fatalf("result = %+v", r)
			}
			jsonEq(t, r.Output, tt.want)
		})
	}
}

// failOdd is a resource that fails odd numbers and returns even ones.
var failOdd = ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
	n, _ := req.Parameters.(json.Number).Int64()
	if n%2 == 1 {
		return nil, &StatesError{Name: "Odd", Cause: "odd item", HasName: true, HasCause: true}
	}
	return req.Parameters, nil
})

func TestToleratedFailures(t *testing.T) {
	tests := []struct {
		name      string
		tolerance string
		mode      string
		status    Status
		errName   string
	}{
		{"inline map fails with the item's error", ``, `INLINE`, StatusFailed, "Odd"},
		{"distributed map tolerates nothing by default", ``, `DISTRIBUTED`, StatusFailed, asl.ErrorExceedToleratedFailureThreshold},
		{"count within tolerance", `"ToleratedFailureCount":2,`, `DISTRIBUTED`, StatusSucceeded, ""},
		{"count exceeded", `"ToleratedFailureCount":1,`, `DISTRIBUTED`, StatusFailed, asl.ErrorExceedToleratedFailureThreshold},
		{"percentage within tolerance", `"ToleratedFailurePercentage":50,`, `DISTRIBUTED`, StatusSucceeded, ""},
		{"percentage exceeded", `"ToleratedFailurePercentage":10,`, `DISTRIBUTED`, StatusFailed, asl.ErrorExceedToleratedFailureThreshold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"M","States":{"M":{"Type":"Map",` + tt.tolerance + `"MaxConcurrency":1,
			  "ItemProcessor":{"ProcessorConfig":{"Mode":"` + tt.mode + `"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::odd","End":true}}},
			  "End":true}}}`
			e := newEngine(t, def, Options{Resources: map[string]Resource{"arn:aws:states:::odd": failOdd}})
			r, err := e.Run(context.Background(), json.RawMessage(`[0,1,2,3]`))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status || r.Error != tt.errName {
				t.Errorf("result = %+v", r)
			}
		})
	}
}

// TestToleratedFailureBoundary: a threshold exactly met is tolerated, and
// meeting it early (the failing items run first) does not stop the Map from
// running the remaining items.
func TestToleratedFailureBoundary(t *testing.T) {
	const all = `[{"Error":"Odd","Cause":"odd item"},{"Error":"Odd","Cause":"odd item"},0,2]`
	tests := []struct {
		name      string
		tolerance string
		output    string // "" when the Map fails
	}{
		{"count exactly met", `"ToleratedFailureCount":2,`, all},
		{"count exceeded", `"ToleratedFailureCount":1,`, ""},
		{"percentage exactly met", `"ToleratedFailurePercentage":50,`, all},
		{"percentage just below", `"ToleratedFailurePercentage":49.9,`, ""},
		{"percentage path exactly met", `"ToleratedFailurePercentagePath":"$$.Execution.Input.pct",`, all},
		{"zero percent", `"ToleratedFailurePercentage":0,`, ""},
		{"hundred percent", `"ToleratedFailurePercentage":100,`, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"M","States":{"M":{"Type":"Map",` + tt.tolerance + `"MaxConcurrency":1,"ItemsPath":"$.items",
			  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::odd","End":true}}},
			  "End":true}}}`
			e := newEngine(t, def, Options{Resources: map[string]Resource{"arn:aws:states:::odd": failOdd}})
			r, err := e.Run(context.Background(), json.RawMessage(`{"items":[1,3,0,2],"pct":50}`))
			if err != nil {
				t.Fatal(err)
			}
			if tt.output == "" {
				if r.Status != StatusFailed || r.Error != asl.ErrorExceedToleratedFailureThreshold {
					t.Errorf("result = %+v, want %s", r, asl.ErrorExceedToleratedFailureThreshold)
				}
				return
			}
			if r.Status != StatusSucceeded {
				t.Fatalf("result = %+v", r)
			}
			jsonEq(t, r.Output, tt.output)
		})
	}
}
