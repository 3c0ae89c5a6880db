package docs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/serve"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// The snippets of serve.md: the asl engine over the Step Functions API.

func init() {
	generators["serve-config"] = func() (string, string, error) { return "json", serveConfigJSON, nil }
}

// serveConfigJSON is the config file of serve.md; TestServeConfigFile
// starts it.
const serveConfigJSON = `{
  "listen": "127.0.0.1:8083",
  "endpoint": "http://127.0.0.1:5000",
  "stateMachines": [
    {"name": "dev-shop-command", "definitionFile": "command.asl.json"},
    {"name": "dev-shop-hello", "type": "EXPRESS",
     "definition": {"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Result": "hello", "End": true}}}}
  ],
  "functions": [
    {"name": "shop", "url": "http://127.0.0.1:9000", "remoteName": "function", "concurrency": 1}
  ],
  "mappings": [
    {"FunctionName": "shop",
     "EventSourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/dev-shop-order-command",
     "BatchSize": 100, "StartingPosition": "TRIM_HORIZON",
     "FilterCriteria": {"Filters": [{"Pattern": "{\"eventName\":[\"INSERT\"],\"dynamodb\":{\"NewImage\":{\"syncMode\":[{\"exists\":false}]}}}"}]},
     "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    {"FunctionName": "shop",
     "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:dev-shop-task-queue",
     "BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
  ]
}`

// TestServeConfigFile loads the config of serve.md and starts it, in
// memory (no endpoint) and on a free port.
func TestServeConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serve.json")
	if err := os.WriteFile(path, []byte(serveConfigJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "command.asl.json"), []byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := serve.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Listen, c.Endpoint = "127.0.0.1:0", ""
	c.Tables, c.Queues = []string{"dev-shop-order-command"}, []string{"dev-shop-task-queue"}
	run, err := serve.Start(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if len(run.StateMachineARNs) != 2 || len(run.Mappings.Stats()) != 2 {
		t.Errorf("started %v with %d mappings", run.StateMachineARNs, len(run.Mappings.Stats()))
	}
}

// docsClient is an SDK client of a server, as an application builds one.
func docsClient(url string) *sfn.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		panic(err)
	}
	// snippet: serve-client
	client := sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		o.BaseEndpoint = aws.String(url) // e.g. http://127.0.0.1:8083
	}, serve.NoHostPrefix) // StartSyncExecution and TestState on 127.0.0.1
	// /snippet
	return client
}

func Example_serveInProcess() {
	ctx := context.Background()
	// snippet: serve-inprocess
	// The Lambda functions the state machines invoke: here one, in-process.
	fns := serve.NewFunctions("us-east-1", "123456789012")
	fns.Add("greeter", serve.HandlerFunction{Name: "greeter", Handler: func(ctx context.Context, payload json.RawMessage) (any, error) {
		var in struct{ Name string }
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, err
		}
		return map[string]string{"greeting": "hello " + in.Name}, nil
	}}, 0)

	srv := serve.New(serve.Options{Lambda: fns})
	defer srv.Close()
	url, err := srv.Start("127.0.0.1:0") // the Step Functions API on loopback
	if err != nil {
		panic(err)
	}
	arn, err := srv.CreateStateMachine(serve.StateMachine{Name: "greet", Definition: `{
	  "StartAt": "Greet",
	  "States": {"Greet": {"Type": "Task", "End": true,
	    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:greeter"}}}`})
	if err != nil {
		panic(err)
	}

	// Any Step Functions client: here the AWS SDK for Go.
	client := docsClient(url)
	started, err := client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(arn), Name: aws.String("first"), Input: aws.String(`{"Name": "Ada"}`)})
	if err != nil {
		panic(err)
	}
	ex, err := srv.Wait(ctx, aws.ToString(started.ExecutionArn)) // or poll DescribeExecution
	if err != nil {
		panic(err)
	}
	fmt.Println(ex.Status, string(ex.Output))
	// /snippet

	// Output:
	// SUCCEEDED {"greeting":"hello Ada"}
}

func Example_serveIntegrations() {
	ctx := context.Background()
	// snippet: serve-integrations
	// The integrations' resources, in memory (core/memory); the AWS
	// adapters of core/awsadapter put them on an endpoint.
	store, queues := memory.NewStore(), memory.NewQueues()
	if err := queues.CreateQueue("approvals", memory.QueueConfig{}); err != nil {
		panic(err)
	}
	srv := serve.New(serve.Options{Backends: integrations.Backends{Items: store, Queues: queues}})
	defer srv.Close()
	arn, err := srv.CreateStateMachine(serve.StateMachine{Name: "order", Definition: `{
	  "StartAt": "Save",
	  "States": {
	    "Save": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "ResultPath": null,
	      "Parameters": {"TableName": "orders", "Item": {"pk": {"S": "ORDER#acme"}, "sk": {"S.$": "$.id"}}},
	      "Next": "Approve"},
	    "Approve": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
	      "Parameters": {"QueueUrl": "approvals", "MessageBody": {"id.$": "$.id", "token.$": "$$.Task.Token"}},
	      "End": true}}}`})
	if err != nil {
		panic(err)
	}
	exARN, err := srv.StartExecution(ctx, arn, "o-1", json.RawMessage(`{"id": "ORDER#o-1"}`))
	if err != nil {
		panic(err)
	}
	// An approver takes the message and answers with its task token.
	msgs, err := queues.Receive(ctx, "approvals", 1, 5*time.Second)
	if err != nil || len(msgs) != 1 {
		panic(fmt.Sprint(msgs, err))
	}
	var msg struct{ ID, Token string }
	if err := json.Unmarshal([]byte(msgs[0].Body), &msg); err != nil {
		panic(err)
	}
	if err := srv.SendTaskSuccess(ctx, msg.Token, json.RawMessage(`{"approved": true}`)); err != nil {
		panic(err)
	}
	ex, err := srv.Wait(ctx, exARN)
	if err != nil {
		panic(err)
	}
	_, err = store.Get(ctx, "orders", core.Key{PK: "ORDER#acme", SK: msg.ID}, true)
	fmt.Println(ex.Status, string(ex.Output), "stored:", err == nil)
	// /snippet

	// Output:
	// SUCCEEDED {"approved":true} stored: true
}

func Example_serveMappings() {
	ctx := context.Background()
	store := memory.NewStore()
	if err := store.CreateTable("orders", memory.WithStream(memory.StreamNewImage)); err != nil {
		panic(err)
	}
	got := make(chan []string, 1)
	// snippet: serve-mappings
	fns := serve.NewFunctions("", "")
	fns.Add("projector", serve.HandlerFunction{Name: "projector", Handler: func(ctx context.Context, payload json.RawMessage) (any, error) {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		var keys []string
		for _, r := range ev.Records {
			keys = append(keys, r.EventName+" "+r.Change.Keys["sk"].String())
		}
		got <- keys
		return map[string]any{"batchItemFailures": []any{}}, nil
	}}, 0)

	streams := serve.NewMemoryStreams(store) // serve.NewStreamReader(cfg) on an endpoint
	maps, err := serve.StartMappings(ctx, serve.MappingOptions{Lambda: fns, Streams: streams}, serve.Mapping{
		FunctionName:          "projector",
		EventSourceArn:        "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
		BatchSize:             10,
		StartingPosition:      "TRIM_HORIZON",
		FilterCriteria:        &serve.FilterCriteria{Filters: []serve.Filter{{Pattern: command.StreamFilterCriteria}}},
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
	})
	if err != nil {
		panic(err)
	}
	defer maps.Close()
	// /snippet
	// The stream is read from the first poll on: write after it.
	if _, err := streams.StreamARN(ctx, "arn:aws:dynamodb:us-east-1:123456789012:table/orders"); err != nil {
		panic(err)
	}
	for _, sk := range []string{"o-1", "o-2"} {
		it, _ := core.MarshalItem(map[string]string{"pk": "ORDER#acme", "sk": sk})
		if err := store.Put(ctx, "orders", it, core.Condition{}); err != nil {
			panic(err)
		}
	}
	var all []string
	for len(all) < 2 {
		all = append(all, <-got...)
	}
	fmt.Println(strings.Join(all, ", "))

	// Output:
	// INSERT o-1, INSERT o-2
}
