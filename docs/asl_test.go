package docs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// snippet: asl-build
// checkout describes a state machine: reserve the stock (retrying lost
// races, catching OutOfStock), wait an hour if payment is pending, then
// ship every line with at most two shipments at a time.
func checkout() (*asl.StateMachine, error) {
	return asl.NewMachine("Reserve").
		Comment("Check out an order").
		TimeoutSeconds(86400).
		Add("Reserve", asl.LambdaInvoke("dev-shop").
			Payload(asl.JSON{"input.$": "$", "context.$": "$$"}).
			ResultSelector(asl.JSON{"paid.$": "$.Payload.paid"}).
			ResultPath("$.reservation").
			Retry(asl.Retry("ConditionFailedError").IntervalSeconds(1).MaxAttempts(3).BackoffRate(2)).
			Catch(asl.Catch("SoldOut", "OutOfStock").ResultPath("$.error")).
			Next("Paid?")).
		Add("Paid?", asl.Choice().
			When(asl.BooleanEquals("$.reservation.paid", true), "Ship").
			Otherwise("Wait for payment")).
		Add("Wait for payment", asl.WaitSeconds(3600).Next("Ship")).
		Add("Ship", asl.Map(asl.Branch("Ship line").
			Add("Ship line", asl.LambdaInvoke("dev-shop").
				Payload(asl.JSON{"input.$": "$", "context.$": "$$"}).
				OutputPath("$.Payload").
				End())).
			ItemsPath("$.lines").
			MaxConcurrency(2).
			ResultPath("$.shipments").
			End()).
		Add("SoldOut", asl.Fail("SoldOut", "an item is out of stock")).
		Build()
}

// /snippet

func Example_aslBuild() {
	// snippet: asl-json
	sm, err := checkout()
	if err != nil {
		panic(err) // a *asl.BuildError or *asl.ValidationError listing every problem
	}
	def, err := sm.JSON("  ") // the definition for CreateStateMachine
	if err != nil {
		panic(err)
	}
	back, err := asl.ParseAndValidate(def) // and back: lossless
	if err != nil {
		panic(err)
	}
	fmt.Println(back.StateNames())
	fmt.Println(string(def[:60]))
	// /snippet

	// Output:
	// [Reserve Paid? Wait for payment Ship SoldOut]
	// {
	//   "Comment": "Check out an order",
	//   "StartAt": "Reserve",
}

func Example_aslValidate() {
	// snippet: asl-validate
	sm, err := asl.Parse([]byte(`{
	  "StartAt": "Reserve",
	  "States": {
	    "Reserve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Ship"},
	    "Wait": {"Type": "Wait", "Seconds": -1, "End": true},
	    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Wait"}]}
	  }
	}`))
	if err != nil {
		panic(err) // only for bad JSON: every other defect is kept for Validate
	}
	err = asl.Validate(sm)
	var invalid *asl.ValidationError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			fmt.Println(p.Code, p.Location)
		}
	}
	fmt.Println(errors.Is(err, asl.ErrInvalidDefinition))
	// /snippet

	// Output:
	// MISSING_TRANSITION_TARGET /States/Reserve/Next
	// SCHEMA_VALIDATION_FAILED /States/Wait/Seconds
	// UNREACHABLE_STATE /States/Wait
	// UNREACHABLE_STATE /States/Check
	// true
}

func Example_aslRun() {
	sm, err := checkout()
	if err != nil {
		panic(err)
	}
	// snippet: asl-run
	// The Lambda function every task of checkout invokes, played in-process.
	fn := interp.LambdaInvokerFunc(func(ctx context.Context, function string, payload []byte) ([]byte, error) {
		var task struct {
			Input   json.RawMessage `json:"input"`
			Context struct {
				State struct{ Name string } `json:"State"`
			} `json:"context"`
		}
		if err := json.Unmarshal(payload, &task); err != nil {
			return nil, err
		}
		switch task.Context.State.Name {
		case "Reserve":
			return []byte(`{"paid": false}`), nil
		case "Ship line":
			return []byte(`{"shipped": ` + string(task.Input) + `}`), nil
		}
		return nil, &interp.LambdaFunctionError{ErrorType: "UnknownState", ErrorMessage: task.Context.State.Name}
	})

	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	clock := interp.NewVirtualClock(start) // the hour of "Wait for payment" takes no real time
	eng, err := interp.New(sm, interp.Options{Clock: clock, Lambda: fn, StateMachineName: "dev-shop-checkout", Seed: 1})
	if err != nil {
		panic(err)
	}
	x, err := eng.Start(context.Background(), json.RawMessage(`{"order": "0001", "lines": ["apple", "pear"]}`))
	if err != nil {
		panic(err)
	}
	res, err := x.Wait(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status, string(res.Output))
	fmt.Println(x.StatesEntered())
	fmt.Println(clock.Now().Sub(start))
	// /snippet

	// Output:
	// SUCCEEDED {"lines":["apple","pear"],"order":"0001","reservation":{"paid":false},"shipments":[{"shipped":"apple"},{"shipped":"pear"}]}
	// [Reserve Paid? Wait for payment Ship Ship line Ship line]
	// 1h0m0s
}

func Example_aslMermaid() {
	sm, err := checkout()
	if err != nil {
		panic(err)
	}
	// snippet: asl-mermaid
	chart := asl.Mermaid(sm) // a flowchart, for a ```mermaid block of a README
	// /snippet
	fmt.Println(strings.SplitN(chart, "\n", 2)[0])

	// Output:
	// flowchart TD
}

func Example_aslTaskToken() {
	// snippet: asl-token
	// A task that hands its token to someone else and waits for the callback.
	approval, err := asl.NewMachine("Ask").
		Add("Ask", asl.Task("arn:aws:states:::sqs:sendMessage.waitForTaskToken").
			Parameters(asl.JSON{"QueueUrl": "approvals", "MessageBody": asl.JSON{"token.$": "$$.Task.Token", "order.$": "$.order"}}).
			TimeoutSeconds(3600).
			ResultPath("$.approval").
			End()).
		Build()
	if err != nil {
		panic(err)
	}
	tokens := make(chan string, 1)
	eng, err := interp.New(approval, interp.Options{
		Clock: interp.NewVirtualClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)),
		Resources: map[string]interp.Resource{
			// Any resource ARN can be played by Go code; "*" ends a prefix.
			"arn:aws:states:::sqs:*": interp.ResourceFunc(func(ctx context.Context, req *interp.TaskRequest) (any, error) {
				tokens <- req.TaskToken
				return nil, nil // the result of a .waitForTaskToken task is the callback's
			}),
		},
	})
	if err != nil {
		panic(err)
	}
	x, err := eng.Start(context.Background(), json.RawMessage(`{"order": "0001"}`))
	if err != nil {
		panic(err)
	}
	if err := eng.SendTaskSuccess(<-tokens, json.RawMessage(`{"approved": true}`)); err != nil {
		panic(err)
	}
	res, _ := x.Wait(context.Background())
	fmt.Println(res.Status, string(res.Output))
	// /snippet

	// Output:
	// SUCCEEDED {"approval":{"approved":true},"order":"0001"}
}
