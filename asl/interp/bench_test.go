package interp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// BenchmarkTransitions runs a representative machine (a Pass/Choice loop
// around an inline Map whose iterations invoke a stubbed Lambda) and
// reports state transitions per second.
func BenchmarkTransitions(b *testing.B) {
	def := `{"StartAt":"Init","States":{
	  "Init":{"Type":"Pass","Parameters":{"n":5,"items.$":"States.ArrayRange(1, 8, 1)"},"Next":"Check"},
	  "Check":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThanEquals":0,"Next":"Done"}],"Default":"Work"},
	  "Work":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":4,"ResultPath":"$.results",
	    "ItemSelector":{"v.$":"$$.Map.Item.Value"},
	    "ItemProcessor":{"StartAt":"Call","States":{
	      "Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","ResultSelector":{"r.$":"$.v"},"Next":"After"},
	      "After":{"Type":"Pass","End":true}}},
	    "Next":"Dec"},
	  "Dec":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, -1)","items.$":"$.items"},"Next":"Check"},
	  "Done":{"Type":"Succeed"}}}`
	echo := LambdaInvokerFunc(func(ctx context.Context, fn string, p []byte) ([]byte, error) { return p, nil })
	e := newEngine(b, def, Options{Lambda: echo, Clock: NewVirtualClock(time.Unix(0, 0))})
	b.ReportAllocs()
	b.ResetTimer()
	transitions := 0
	start := time.Now()
	for i := 0; i < b.N; i++ {
		x, err := e.Start(context.Background(), json.RawMessage(`{}`))
		if err != nil {
			b.Fatal(err)
		}
		r, err := x.Wait(context.Background())
		if err != nil || r.Status != StatusSucceeded {
			b.Fatalf("run: %v %+v", err, r)
		}
		for _, ev := range x.History() {
			if strings.HasSuffix(string(ev.Type), "StateEntered") {
				transitions++
			}
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(transitions)/elapsed.Seconds(), "transitions/s")
	b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
}
