package asl_test

import (
	"fmt"

	"github.com/stepcqrs/stepcqrs/asl"
)

func ExampleNewMachine() {
	sm, err := asl.NewMachine("Validate").
		Comment("Place an order").
		Add("Validate", asl.LambdaInvoke("validate-order").
			Payload(asl.JSON{"order.$": "$.order"}).
			ResultSelector(asl.JSON{"ok.$": "$.Payload.ok"}).
			ResultPath("$.validation").
			Retry(asl.Retry("States.TaskFailed").IntervalSeconds(2).MaxAttempts(3).BackoffRate(2)).
			Catch(asl.Catch("Rejected").ResultPath("$.error")).
			Next("IsValid")).
		Add("IsValid", asl.Choice().
			When(asl.BooleanEquals("$.validation.ok", true), "Ship").
			Otherwise("Rejected")).
		Add("Ship", asl.Pass().Result(asl.JSON{"shipped": true}).End()).
		Add("Rejected", asl.Fail("OrderRejected", "the order did not validate")).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := sm.JSON("  ")
	fmt.Println(string(out))
	// Output:
	// {
	//   "Comment": "Place an order",
	//   "StartAt": "Validate",
	//   "States": {
	//     "Validate": {
	//       "Type": "Task",
	//       "Resource": "arn:aws:states:::lambda:invoke",
	//       "Parameters": {
	//         "FunctionName": "validate-order",
	//         "Payload": {
	//           "order.$": "$.order"
	//         }
	//       },
	//       "ResultSelector": {
	//         "ok.$": "$.Payload.ok"
	//       },
	//       "ResultPath": "$.validation",
	//       "Retry": [
	//         {
	//           "ErrorEquals": [
	//             "States.TaskFailed"
	//           ],
	//           "IntervalSeconds": 2,
	//           "MaxAttempts": 3,
	//           "BackoffRate": 2
	//         }
	//       ],
	//       "Catch": [
	//         {
	//           "ErrorEquals": [
	//             "States.ALL"
	//           ],
	//           "Next": "Rejected",
	//           "ResultPath": "$.error"
	//         }
	//       ],
	//       "Next": "IsValid"
	//     },
	//     "IsValid": {
	//       "Type": "Choice",
	//       "Choices": [
	//         {
	//           "Variable": "$.validation.ok",
	//           "BooleanEquals": true,
	//           "Next": "Ship"
	//         }
	//       ],
	//       "Default": "Rejected"
	//     },
	//     "Ship": {
	//       "Type": "Pass",
	//       "Result": {
	//         "shipped": true
	//       },
	//       "End": true
	//     },
	//     "Rejected": {
	//       "Type": "Fail",
	//       "Error": "OrderRejected",
	//       "Cause": "the order did not validate"
	//     }
	//   }
	// }
}

func ExampleMermaid() {
	sm := asl.NewMachine("Fan out").
		Add("Fan out", asl.Parallel(
			asl.Branch("Price").Add("Price", asl.LambdaInvoke("price").End()),
			asl.Branch("Stock").Add("Stock", asl.LambdaInvoke("stock").End()),
		).Catch(asl.Catch("Failed")).Next("Enough?")).
		Add("Enough?", asl.Choice().
			When(asl.And(asl.IsPresent("$[1].Payload"), asl.NumericGreaterThan("$[1].Payload.count", 0)), "Each").
			Otherwise("Failed")).
		Add("Each", asl.Map(asl.Branch("Ship").Add("Ship", asl.WaitSeconds(1).End())).
			ItemsPath("$[0].Payload.items").End()).
		Add("Failed", asl.Fail("NoStock", "")).
		MustBuild()
	fmt.Print(asl.Mermaid(sm))
	// Output:
	// flowchart TD
	//     start__((start))
	//     end__((end))
	//     subgraph s1 ["Fan out (Parallel)"]
	//         direction TB
	//         subgraph s1_b1 ["branch 1"]
	//             s2((start))
	//             s3["Price"]
	//         end
	//         subgraph s1_b2 ["branch 2"]
	//             s4((start))
	//             s5["Stock"]
	//         end
	//     end
	//     s6{"Enough?"}
	//     subgraph s7 ["Each (Map)"]
	//         direction TB
	//         s8((start))
	//         s9[/"Ship"/]
	//     end
	//     s10[["Failed"]]
	//     start__ --> s1
	//     s2 --> s3
	//     s4 --> s5
	//     s1 --> s6
	//     s1 -.->|"States.ALL"| s10
	//     s6 -->|"isPresent($[1].Payload) and $[1].Payload.count #gt; 0"| s7
	//     s6 -->|"default"| s10
	//     s8 --> s9
	//     s7 --> end__
	//     s10 --> end__
}
