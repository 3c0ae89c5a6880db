// Command orders is the stepcqrs demo service: an "order" CQRS module with
// a data-sync handler that keeps a SQL read model (PostgreSQL via pgx when
// DATABASE_URL is set, in memory otherwise).
//
//	go run ./examples/orders
//
// runs it on the embedded runtime (package local): no AWS, no Docker. It
// publishes creates, updates, partial updates, concurrent conflicting
// updates and a soft delete, lets the command state machine apply them, and
// shows the data, the history and the read model.
//
//	go run ./examples/orders -asl -function arn:aws:lambda:REGION:ACCOUNT:function:orders
//
// prints the command state machine definition to deploy with it.
//
// Deployed as a Lambda (AWS_LAMBDA_FUNCTION_NAME is set), the same service
// starts from its fx modules and hands the event factory's dispatcher to
// lambda.Start: see runLambda. The same function serves the service's REST
// API (api.go: /orders) behind API Gateway or a function URL.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

func main() {
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		runLambda()
		return
	}
	asl := flag.Bool("asl", false, "print the command state machine definition (Amazon States Language) and exit")
	function := flag.String("function", "orders", "with -asl: the Lambda function (name or ARN) the state machine invokes")
	flag.Parse()
	if *asl {
		def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: *function})
		if err != nil {
			fmt.Fprintln(os.Stderr, "orders:", err)
			os.Exit(1)
		}
		fmt.Println(string(def))
		return
	}
	if err := runDemo(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

// runLambda starts the service on AWS: configuration from the environment
// (STEPCQRS_* variables, see core.ConfigFromEnv), the AWS adapters, the
// event factory, and the orders module; the dispatcher serves every event
// source (the command table's stream, the command state machine's tasks,
// the REST API's HTTP requests).
func runLambda() {
	var handler eventfactory.HandlerFunc
	app := fx.New(
		fx.NopLogger,
		core.Module,
		awsadapter.Module,
		eventfactory.Module,
		serviceModule,
		fx.Populate(&handler),
	)
	if err := app.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "orders: start:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
