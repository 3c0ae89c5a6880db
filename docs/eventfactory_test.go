package docs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// snippet: ef-helpers
// quiet is a logger for examples whose log lines would clutter the output.
var quiet = slog.New(slog.DiscardHandler)

// dispatch prints what a dispatcher answers, as JSON.
func dispatch(d *eventfactory.Dispatcher, payload string) {
	out, err := d.Dispatch(context.Background(), json.RawMessage(payload))
	b, _ := json.Marshal(out)
	fmt.Printf("%s %v\n", b, err)
}

// /snippet

// snippet: ef-main
// The main of a service: one binary, every source.
func Example_lambdaMain() {
	r := eventfactory.NewRouter(eventfactory.Config{})
	eventfactory.OnSQS(r, "dev-shop-task-queue", func(ctx context.Context, m eventfactory.SQSMessage[Job]) error {
		return runJob(ctx, m.Body)
	})
	eventfactory.OnS3(r, "dev-shop-objects", "ObjectCreated:", func(ctx context.Context, obj eventfactory.S3Object) error {
		log.Printf("new object %s", obj.Key)
		return nil
	})
	// ...the routes of command.Steps, of the application's state machines, ...
	d, err := r.Build()
	if err != nil {
		log.Fatal(err) // every registration problem at once, at start-up
	}
	lambda.Start(d.Handler())
}

// /snippet

// snippet: ef-types
// Job is the body of a task queue message (JSON).
type Job struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

// OrderRow is a row of the order tables, as stream images decode it
// (dynamodbav tags, as attributevalue.UnmarshalMap reads them).
type OrderRow struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Version int64  `dynamodbav:"version"`
}

// /snippet

func runJob(ctx context.Context, j Job) error {
	if j.Kind == "broken" {
		return fmt.Errorf("job %s: unknown kind %q", j.ID, j.Kind)
	}
	return nil
}

func Example_typedRoutes() {
	// snippet: ef-routes
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	eventfactory.OnDynamoDB(r, "dev-shop-order-data", []string{eventfactory.StreamInsert, eventfactory.StreamModify},
		func(ctx context.Context, rec eventfactory.DynamoDBRecord[OrderRow]) error {
			fmt.Println("stream:", rec.Table, rec.EventName, rec.NewImage.SK, rec.NewImage.Version)
			return nil
		})
	eventfactory.OnSQS(r, "dev-shop-task-queue", func(ctx context.Context, m eventfactory.SQSMessage[Job]) error {
		fmt.Println("sqs:", m.Queue, m.Body.ID, m.Body.Kind)
		return nil
	})
	eventfactory.OnStepFunctions(r, "dev-shop-checkout", "Reserve",
		func(ctx context.Context, t eventfactory.SFNTask[Job]) (map[string]any, error) {
			// The return value is the task result, as is.
			return map[string]any{"reserved": t.Input.ID, "execution": t.Context.Execution.Name}, nil
		})
	d, err := r.Build()
	if err != nil {
		panic(err)
	}

	dispatch(d, `{"Records": [{"eventID": "1", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
		"eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/dev-shop-order-data/stream/2026-01-01T00:00:00.000",
		"dynamodb": {"SequenceNumber": "7", "NewImage": {"pk": {"S": "ORDER#acme"}, "sk": {"S": "ORDER#0001"}, "version": {"N": "2"}}}}]}`)
	dispatch(d, `{"Records": [{"messageId": "m1", "eventSource": "aws:sqs", "body": "{\"id\": \"j1\", \"kind\": \"mail\"}",
		"eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:dev-shop-task-queue"}]}`)
	// A Task state with Parameters {"input.$": "$", "context.$": "$$"}:
	dispatch(d, `{"input": {"id": "j2"}, "context": {
		"Execution": {"Id": "arn:aws:states:eu-west-1:123456789012:execution:dev-shop-checkout:run-1", "Name": "run-1"},
		"State": {"Name": "Reserve"},
		"StateMachine": {"Id": "arn:aws:states:eu-west-1:123456789012:stateMachine:dev-shop-checkout", "Name": "dev-shop-checkout"}}}`)
	// /snippet

	// Output:
	// stream: dev-shop-order-data MODIFY ORDER#0001 2
	// {"batchItemFailures":[]} <nil>
	// sqs: dev-shop-task-queue j1 mail
	// {"batchItemFailures":[]} <nil>
	// {"execution":"run-1","reserved":"j2"} <nil>
}

func Example_partialBatchFailures() {
	// snippet: ef-batch
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	eventfactory.OnSQS(r, "dev-shop-task-queue", func(ctx context.Context, m eventfactory.SQSMessage[Job]) error {
		return runJob(ctx, m.Body)
	})
	eventfactory.OnDynamoDB(r, "dev-shop-order-data", eventfactory.AllStreamEvents(),
		func(ctx context.Context, rec eventfactory.DynamoDBRecord[OrderRow]) error {
			if rec.NewImage != nil && rec.NewImage.Version < 0 {
				return errors.New("negative version")
			}
			return nil
		})
	d, err := r.Build()
	if err != nil {
		panic(err)
	}
	const queue = `"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:dev-shop-task-queue"`
	// SQS: every message runs; m2 fails, m3 is not JSON: both are retried, m1 is not.
	dispatch(d, `{"Records": [
		{"messageId": "m1", "body": "{\"id\": \"1\", \"kind\": \"mail\"}", `+queue+`},
		{"messageId": "m2", "body": "{\"id\": \"2\", \"kind\": \"broken\"}", `+queue+`},
		{"messageId": "m3", "body": "{oops", `+queue+`}]}`)

	const table = `"eventSource": "aws:dynamodb", "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/dev-shop-order-data/stream/x"`
	// Streams keep order: processing stops at the first failure (sequence 20),
	// which Lambda redelivers together with everything after it.
	dispatch(d, `{"Records": [
		{"eventName": "INSERT", `+table+`, "dynamodb": {"SequenceNumber": "10", "NewImage": {"version": {"N": "1"}}}},
		{"eventName": "INSERT", `+table+`, "dynamodb": {"SequenceNumber": "20", "NewImage": {"version": {"N": "-1"}}}},
		{"eventName": "INSERT", `+table+`, "dynamodb": {"SequenceNumber": "30", "NewImage": {"version": {"N": "3"}}}}]}`)
	// /snippet

	// Output:
	// {"batchItemFailures":[{"itemIdentifier":"m2"},{"itemIdentifier":"m3"}]} <nil>
	// {"batchItemFailures":[{"itemIdentifier":"20"}]} <nil>
}

// snippet: ef-named-errors
// ErrOutOfStock is a domain error; Named gives it the name Step Functions sees.
var ErrOutOfStock = eventfactory.Named("OutOfStock", errors.New("not enough stock"))

func Example_namedErrors() {
	// What the Lambda runtime would report as errorType, for various errors:
	for _, err := range []error{
		fmt.Errorf("reserve: %w", ErrOutOfStock),                                          // a named error, wrapped
		fmt.Errorf("apply: %w", &core.VersionConflictError{ID: "x", Input: 1, Latest: 2}), // a core error, wrapped
		fmt.Errorf("apply: %w", core.ErrConditionFailed),                                  // a core sentinel
		errors.New("boom"), // an error without a name of its own
	} {
		fmt.Println(eventfactory.ErrorName(err))
	}
	// A state machine matches those names in Retry and Catch.
	sm, err := asl.NewMachine("Reserve").
		Add("Reserve", asl.LambdaInvoke("dev-shop").
			Payload(asl.JSON{"input.$": "$", "context.$": "$$"}).
			Retry(asl.Retry(eventfactory.ErrorNameConditionFailed).IntervalSeconds(1).MaxAttempts(3)).
			Catch(asl.Catch("SoldOut", "OutOfStock")).
			End()).
		Add("SoldOut", asl.Fail("SoldOut", "")).
		Build()
	fmt.Println(sm.States["Reserve"].Catch[0].ErrorEquals, err)
	// Output:
	// OutOfStock
	// VersionConflictError
	// ConditionFailedError
	// HandlerError
	// [OutOfStock] <nil>
}

// /snippet

func Example_handlerErrors() {
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	eventfactory.OnStepFunctions(r, "dev-shop-checkout", "Reserve",
		func(ctx context.Context, t eventfactory.SFNTask[Job]) (any, error) {
			return nil, fmt.Errorf("reserve %s: %w", t.Input.ID, ErrOutOfStock)
		})
	d, err := r.Build()
	if err != nil {
		panic(err)
	}
	payload := json.RawMessage(`{"input": {"id": "j1"}, "context": {"State": {"Name": "Reserve"},
		"StateMachine": {"Id": "arn:aws:states:eu-west-1:123456789012:stateMachine:dev-shop-checkout"}}}`)
	// snippet: ef-handler-errors
	_, err = d.Dispatch(context.Background(), payload) // Go errors, for tests
	fmt.Println(errors.Is(err, ErrOutOfStock), err)

	_, err = d.Handler()(context.Background(), payload) // what lambda.Start gets
	fmt.Printf("%T %s\n", err, eventfactory.ErrorName(err))
	// /snippet

	// Output:
	// true reserve j1: not enough stock
	// messages.InvokeResponse_Error OutOfStock
}

func Example_unrouted() {
	queue := func(name string) string {
		return `{"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:` + name + `"}]}`
	}
	// snippet: ef-unrouted
	strict := eventfactory.NewRouter(eventfactory.Config{Logger: quiet}) // UnroutedFail, the default
	lenient := eventfactory.NewRouter(eventfactory.Config{Logger: quiet, Unrouted: eventfactory.UnroutedSkip})
	for _, r := range []*eventfactory.Router{strict, lenient} {
		d, err := r.Build()
		if err != nil {
			panic(err)
		}
		dispatch(d, queue("nobody-listens")) // a message for a queue without a route
		_, err = d.Dispatch(context.Background(), json.RawMessage(`{"input": {}, "context": {
			"State": {"Name": "Nobody"}, "StateMachine": {"Name": "dev-shop-checkout"}}}`))
		fmt.Println(errors.Is(err, eventfactory.ErrUnrouted)) // a task needs a result: never skipped
	}
	// /snippet

	// Output:
	// {"batchItemFailures":[{"itemIdentifier":"m1"}]} <nil>
	// true
	// {"batchItemFailures":[]} <nil>
	// true
}

func Example_registrationErrors() {
	// snippet: ef-registration
	r := eventfactory.NewRouter(eventfactory.Config{})
	eventfactory.OnSQS(r, "", func(context.Context, eventfactory.SQSMessage[Job]) error { return nil })
	task := func(context.Context, eventfactory.SFNTask[Job]) (any, error) { return nil, nil }
	eventfactory.OnStepFunctions(r, "dev-shop-checkout", "Reserve", task)
	eventfactory.OnStepFunctions(r, "dev-shop-checkout", "Reserve", task)
	_, err := r.Build()
	fmt.Println(errors.Is(err, core.ErrValidation))
	fmt.Println(err)
	// /snippet

	// Output:
	// true
	// eventfactory: sqs route queue "": queue name must be 1-80 characters of A-Z a-z 0-9 _ - (FIFO: ending in .fifo)
	// eventfactory: stepfunctions route state machine "dev-shop-checkout" state "Reserve": registered twice: a task has exactly one handler, its result is the task result
}

func Example_commandSteps() {
	// snippet: ef-command
	ctx := context.Background()
	const machine = "dev-shop-command"
	cfg := core.Config{Env: "dev", AppName: "shop", CommandStateMachineARN: memory.StateMachineARN(machine)}

	// The command table's stream carries new images, as deployed.
	store := memory.NewStore()
	_ = store.CreateTable(cfg.CommandTable("order"), memory.WithStream(memory.StreamNewImage))
	svc, err := command.New(command.Options{Module: "order", Config: cfg, Store: store, Logger: quiet})
	if err != nil {
		panic(err)
	}

	// A Step Functions stand-in without a runner: executions are recorded
	// and stay RUNNING (local/ plugs the interpreter in here).
	flows := memory.NewWorkflows(nil)
	def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: "dev-shop"})
	if err != nil {
		panic(err)
	}
	if _, err := flows.CreateStateMachine(machine, string(def)); err != nil {
		panic(err)
	}

	// The framework's routes join the application's on one router.
	steps, err := command.Steps(command.StepsOptions{
		Services:        map[string]*command.Service{"order": svc},
		Workflows:       flows,
		StateMachineARN: cfg.CommandStateMachineARN,
		Logger:          quiet,
	})
	if err != nil {
		panic(err)
	}
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	steps(r)
	d, err := r.Build()
	if err != nil {
		panic(err)
	}

	// Deliver every stream record twice, as Lambda may.
	store.Subscribe(cfg.CommandTable("order"), func(rec events.DynamoDBEventRecord) {
		payload, _ := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
		for range 2 {
			if _, err := d.Dispatch(ctx, payload); err != nil {
				fmt.Println(err)
			}
		}
	})

	key, _ := core.NewKey("ORDER", "acme", "0001")
	res, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "first order"})
	if err != nil {
		panic(err)
	}
	execs := flows.Executions(cfg.CommandStateMachineARN)
	fmt.Println(len(execs), "execution")
	for _, x := range execs {
		fmt.Println(x.Status, x.Name == command.ExecutionName("order", res.Command.PK, res.Command.SK), string(x.Input))
	}
	// /snippet

	// Output:
	// 1 execution
	// RUNNING true {"module":"order","pk":"ORDER#acme","sk":"ORDER#0001@0000000001"}
}

// snippet: ef-http
func Example_httpIngress() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{code}", func(w http.ResponseWriter, r *http.Request) {
		inv, _ := core.FromContext(r.Context())          // the caller: tenant and user from the claims
		ev, _ := eventfactory.HTTPEventFrom(r.Context()) // the event: stage, authorizer, …
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"code": r.PathValue("code"),
			"tenant": inv.TenantCode, "user": inv.Username, "source": ev.Source.String()})
	})
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	eventfactory.OnHTTP(r, mux) // one http.Handler serves every HTTP source
	d, err := r.Build()
	if err != nil {
		panic(err)
	}
	serve := func(payload string) {
		out, err := d.Dispatch(context.Background(), json.RawMessage(payload))
		b, _ := json.Marshal(out)
		var resp struct {
			StatusCode int
			Body       string
		}
		_ = json.Unmarshal(b, &resp)
		fmt.Printf("%T %d %s %v\n", out, resp.StatusCode, strings.TrimSpace(resp.Body), err)
	}
	// An HTTP API request (payload format 2.0) with a JWT authorizer:
	serve(`{"version": "2.0", "rawPath": "/orders/0001", "rawQueryString": "", "headers": {},
		"requestContext": {"domainName": "r3pmxmplak.execute-api.eu-west-1.amazonaws.com", "requestId": "JKJaXmPLvHcESHA=",
			"http": {"method": "GET", "path": "/orders/0001", "sourceIp": "203.0.113.9"},
			"authorizer": {"jwt": {"claims": {"sub": "3c2b", "cognito:username": "grace", "custom:tenant": "acme"}}}}}`)
	// The same request through a function URL (IAM auth: no claims):
	serve(`{"version": "2.0", "rawPath": "/orders/0002", "rawQueryString": "", "headers": {},
		"requestContext": {"domainName": "a2b3xmpl.lambda-url.eu-west-1.on.aws", "requestId": "5f1c9e0a",
			"http": {"method": "GET", "path": "/orders/0002", "sourceIp": "192.0.2.44"}}}`)
	// Output:
	// events.APIGatewayV2HTTPResponse 200 {"code":"0001","source":"apigateway-v2","tenant":"acme","user":"grace"} <nil>
	// events.LambdaFunctionURLResponse 200 {"code":"0002","source":"function-url","tenant":"","user":""} <nil>
}

// /snippet
