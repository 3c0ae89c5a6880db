package eventfactory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// A service's main: register handlers, build, and hand the dispatcher's
// handler to the Lambda runtime. One binary serves every source.
func Example_main() {
	r := eventfactory.NewRouter(eventfactory.Config{})
	eventfactory.OnSQS(r, "orders-tasks", func(ctx context.Context, m eventfactory.SQSMessage[map[string]any]) error {
		return nil
	})
	eventfactory.OnStepFunctions(r, "orders-command", "apply", func(ctx context.Context, t eventfactory.SFNTask[core.Key]) (core.Key, error) {
		return t.Input, nil
	})
	d, err := r.Build()
	if err != nil {
		log.Fatal(err) // every registration problem, joined
	}
	lambda.Start(d.Handler())
}

type command struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Version int    `dynamodbav:"version"`
}

func ExampleOnDynamoDB() {
	r := eventfactory.NewRouter(eventfactory.Config{})
	eventfactory.OnDynamoDB(r, "orders-command", []string{eventfactory.StreamInsert},
		func(ctx context.Context, rec eventfactory.DynamoDBRecord[command]) error {
			fmt.Println(rec.Table, rec.EventName, rec.NewImage.SK, rec.NewImage.Version)
			return nil
		})
	d, err := r.Build()
	if err != nil {
		panic(err)
	}
	out, err := d.Dispatch(context.Background(), json.RawMessage(`{"Records": [{
		"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
		"eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders-command/stream/2026-01-01T00:00:00.000",
		"dynamodb": {"SequenceNumber": "100", "NewImage": {
			"pk": {"S": "ORDER#acme"}, "sk": {"S": "ORDER#o1@3"}, "version": {"N": "3"}}}}]}`))
	fmt.Printf("%+v %v\n", out, err)
	// Output:
	// orders-command INSERT ORDER#o1@3 3
	// {BatchItemFailures:[]} <nil>
}

func ExampleOnSQS() {
	type job struct{ ID string }
	r := eventfactory.NewRouter(eventfactory.Config{Logger: slog.New(slog.DiscardHandler)})
	eventfactory.OnSQS(r, "jobs", func(ctx context.Context, m eventfactory.SQSMessage[job]) error {
		if m.Body.ID == "bad" {
			return errors.New("cannot run")
		}
		return nil
	})
	d, _ := r.Build()
	out, _ := d.Dispatch(context.Background(), json.RawMessage(`{"Records": [
		{"messageId": "m1", "body": "{\"ID\":\"ok\"}", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs"},
		{"messageId": "m2", "body": "{\"ID\":\"bad\"}", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs"},
		{"messageId": "m3", "body": "not json", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs"}]}`))
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	// Output:
	// {"batchItemFailures":[{"itemIdentifier":"m2"},{"itemIdentifier":"m3"}]}
}

func ExampleOnStepFunctions() {
	r := eventfactory.NewRouter(eventfactory.Config{Logger: slog.New(slog.DiscardHandler)})
	eventfactory.OnStepFunctions(r, "orders-command", "apply",
		func(ctx context.Context, t eventfactory.SFNTask[core.Key]) (map[string]string, error) {
			if t.Context.State.RetryCount > 0 {
				return nil, &core.VersionConflictError{ID: t.Input.PK, Input: 1, Latest: 2}
			}
			return map[string]string{"applied": t.Input.SK, "execution": t.Context.Execution.Name}, nil
		})
	d, _ := r.Build()
	payload := func(retry int) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"input": {"PK": "ORDER#acme", "SK": "ORDER#o1@1"}, "context": {
			"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:orders-command:e1", "Name": "e1"},
			"State": {"Name": "apply", "RetryCount": %d},
			"StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:orders-command", "Name": "orders-command"}}}`, retry))
	}
	out, err := d.Handler()(context.Background(), payload(0))
	fmt.Println(out, err)
	_, err = d.Handler()(context.Background(), payload(1))
	fmt.Println(eventfactory.ErrorName(err))
	// Output:
	// map[applied:ORDER#o1@1 execution:e1] <nil>
	// VersionConflictError
}

func ExampleErrorName() {
	fmt.Println(eventfactory.ErrorName(fmt.Errorf("apply: %w", core.ErrConditionFailed)))
	fmt.Println(eventfactory.ErrorName(eventfactory.Named("PaymentDeclined", errors.New("card refused"))))
	// Output:
	// ConditionFailedError
	// PaymentDeclined
}

func ExampleDetect() {
	for _, p := range []string{
		`{"Records": [{"eventSource": "aws:s3"}]}`,
		`{"input": {}, "context": {}}`,
		`{"version": "0", "id": "1", "detail-type": "Shipped", "source": "shop", "detail": {}}`,
		`{"Records": []}`,
		`{"Records": [{"eventSource": "aws:sqs"}, {"EventSource": "aws:sns"}]}`,
	} {
		src, err := eventfactory.Detect(json.RawMessage(p))
		fmt.Println(src, err)
	}
	// Output:
	// s3 <nil>
	// stepfunctions <nil>
	// eventbridge <nil>
	// unknown eventfactory: empty Records batch
	// unknown eventfactory: mixed event sources in one batch: [sqs sns]
}
