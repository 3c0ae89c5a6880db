package interp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// An execution of a machine that calls a Lambda function, waits an hour on
// the virtual clock and chooses its result.
func ExampleEngine_Run() {
	def, err := asl.Parse([]byte(`{
	  "StartAt": "Price",
	  "States": {
	    "Price": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:price",
	              "ResultPath": "$.price", "Next": "Cool"},
	    "Cool":  {"Type": "Wait", "Seconds": 3600, "Next": "Check"},
	    "Check": {"Type": "Choice", "Default": "Cheap",
	              "Choices": [{"Variable": "$.price", "NumericGreaterThan": 100, "Next": "Dear"}]},
	    "Dear":  {"Type": "Pass", "Result": "dear", "End": true},
	    "Cheap": {"Type": "Pass", "Result": "cheap", "End": true}
	  }}`))
	if err != nil {
		panic(err)
	}
	price := interp.LambdaInvokerFunc(func(ctx context.Context, fn string, payload []byte) ([]byte, error) {
		return []byte(`250`), nil
	})
	clock := interp.NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	eng, err := interp.New(def, interp.Options{Clock: clock, Lambda: price})
	if err != nil {
		panic(err)
	}
	res, err := eng.Run(context.Background(), json.RawMessage(`{"item":"book"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status, string(res.Output), clock.Now().Format(time.Kitchen))
	// Output: SUCCEEDED "dear" 1:00AM
}

// A Wait in one branch does not move the virtual clock while the other
// branch's task is working: the task, which takes 20 s of the clock, ends
// within its 30 s timeout, and the Wait ends at 60 s.
func ExampleVirtualClock() {
	def, err := asl.Parse([]byte(`{"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
	  {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": true}}},
	  {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "arn:aws:states:::work", "TimeoutSeconds": 30, "End": true}}}]}}}`))
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := interp.NewVirtualClock(start)
	work := interp.ResourceFunc(func(ctx context.Context, _ *interp.TaskRequest) (any, error) {
		// 20 s of work on the clock, with the task's context: the clock
		// counts the task as idle meanwhile.
		if err := clock.Sleep(ctx, 20*time.Second); err != nil {
			return nil, err
		}
		return "done", nil
	})
	eng, err := interp.New(def, interp.Options{Clock: clock, Resources: map[string]interp.Resource{"arn:aws:states:::work": work}})
	if err != nil {
		panic(err)
	}
	x, err := eng.Execute(context.Background(), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Status().Status, string(x.Status().Output))
	for _, ev := range x.History() {
		switch ev.Type {
		case interp.EventTaskSucceeded, "WaitStateExited", interp.EventExecutionSucceeded:
			fmt.Printf("%s at %v\n", ev.Type, ev.Timestamp.Sub(start))
		}
	}
	// Output:
	// SUCCEEDED [{},"done"]
	// TaskSucceeded at 20s
	// WaitStateExited at 1m0s
	// ExecutionSucceeded at 1m0s
}
