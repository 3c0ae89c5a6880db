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
