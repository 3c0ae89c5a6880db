package interp

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
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

// passChoice10 is a 10-state machine of Pass, Choice and Succeed states
// only: five Pass states (Parameters with paths and an intrinsic, Result,
// ResultPath, InputPath/OutputPath), four Choice states (numeric, string,
// And/Not, IsPresent/BooleanEquals) and a Succeed state.
const passChoice10 = `{"StartAt":"Init","States":{
  "Init":{"Type":"Pass","Parameters":{"n.$":"$.n","name.$":"$.name","flags":{"on":true},"sum.$":"States.MathAdd($.n, 1)"},"Next":"IsSmall"},
  "IsSmall":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":10,"Next":"Tag"}],"Default":"Fail"},
  "Tag":{"Type":"Pass","Result":{"tag":"small"},"ResultPath":"$.meta","Next":"IsNamed"},
  "IsNamed":{"Type":"Choice","Choices":[{"Variable":"$.name","StringEquals":"order","Next":"Narrow"}],"Default":"Fail"},
  "Narrow":{"Type":"Pass","InputPath":"$.meta","ResultPath":"$.copy","OutputPath":"$.copy","Next":"Both"},
  "Both":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.tag","IsPresent":true},{"Not":{"Variable":"$.tag","StringEquals":"big"}}],"Next":"Shape"}],"Default":"Fail"},
  "Shape":{"Type":"Pass","Parameters":{"tag.$":"$.tag","copy.$":"$.tag","const":[1,2,3]},"Next":"Flag"},
  "Flag":{"Type":"Choice","Choices":[{"Variable":"$.const[1]","NumericEquals":2,"Next":"Last"}],"Default":"Fail"},
  "Last":{"Type":"Pass","ResultPath":"$.last","Next":"Done"},
  "Done":{"Type":"Succeed"},
  "Fail":{"Type":"Fail","Error":"Unexpected"}}}`

// BenchmarkPassChoice10 runs passChoice10 (ten states entered per
// execution) on the wall clock and reports the cost per state, the median
// and 99th percentile of the time of one execution, and their ratio. Run
// is Engine.Run, which keeps no history; Execute is Engine.Execute, which
// records the history the embedded runtime serves.
func BenchmarkPassChoice10(b *testing.B) {
	e := newEngine(b, passChoice10, Options{Clock: RealClock{}})
	input := json.RawMessage(`{"n":3,"name":"order"}`)
	const want = `{"const":[1,2,3],"copy":"small","last":{"const":[1,2,3],"copy":"small","tag":"small"},"tag":"small"}`
	ctx := context.Background()
	check := func(b *testing.B, r Result, err error) {
		if err != nil || r.Status != StatusSucceeded || string(r.Output) != want {
			b.Fatalf("run: %v %+v", err, r)
		}
	}
	b.Run("Run", func(b *testing.B) {
		benchPerState(b, func() {
			r, err := e.Run(ctx, input)
			check(b, r, err)
		})
	})
	b.Run("Execute", func(b *testing.B) {
		benchPerState(b, func() {
			x, err := e.Execute(ctx, input)
			if err == nil && x.hist.len() != 22 {
				b.Fatalf("history of %d events, want 22", x.hist.len())
			}
			check(b, x.Status(), err)
		})
	})
}

// benchPerState times run, an execution of passChoice10, b.N times.
func benchPerState(b *testing.B, run func()) {
	run()
	const states = 10
	durations := make([]time.Duration, 0, 1024)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		run()
		durations = append(durations, time.Since(t0))
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(n*states), "ns/state")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/(n*states), "allocs/state")
	b.ReportMetric(n*states/b.Elapsed().Seconds(), "transitions/s")
	slices.Sort(durations)
	p50 := durations[len(durations)/2]
	p99 := durations[min(len(durations)-1, len(durations)*99/100)]
	b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns/exec")
	b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns/exec")
	b.ReportMetric(float64(p99)/float64(p50), "p99/p50")
}
