package serve_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/serve"
	"github.com/stepcqrs/stepcqrs/serve/servetest"
	"github.com/stepcqrs/stepcqrs/task"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

// startEmulator builds examples/orders as a Lambda bootstrap and runs it
// under the emulator with env.
func startEmulator(t *testing.T, rie string, env []string) *endpointtest.Emulator {
	t.Helper()
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, "./examples/orders")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building examples/orders: %v\n%s", err, out)
	}
	return endpointtest.StartEmulator(t, rie, bootstrap, dir, env)
}

// TestServeEndToEnd runs the orders service as it is deployed: its real
// bootstrap under the Lambda Runtime Interface Emulator, its tables,
// queues and topics on moto, its state machines and event source mappings
// (the command table's stream through moto's dynamodbstreams API, the task
// queue) on the server. Commands published to moto's command table reach
// the bootstrap through the stream mapping, which starts executions on the
// server (AWS_ENDPOINT_URL_SFN), whose steps invoke the bootstrap again;
// every command must finish, with its data-sync handler run.
func TestServeEndToEnd(t *testing.T) {
	rie := endpointtest.LookRIE(t)
	cfg := endpointtest.Config(t)
	moto := endpointtest.Endpoint(t)
	ctx := context.Background()

	c := core.Config{Env: "e2e", AppName: strings.ToLower(endpointtest.Name("orders"))}
	sp, err := localstack.ServiceSpec(c, "order")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sp.Tables {
		switch sp.Tables[i].Name {
		case c.CommandTable("order"):
			sp.Tables[i].Indexes = []core.Index{command.UnsettledIndex}
		case c.TasksTable():
			sp.Tables[i].Indexes = []core.Index{task.UnsettledIndex}
		}
	}
	res, err := localstack.Provision(ctx, cfg, sp)
	if err != nil {
		t.Fatal(err)
	}

	// The server: the service's state machines, its function on the
	// emulator, its mappings.
	srv := servetest.Start(t, serve.Options{})
	const fnARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	cmdDef, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: fnARN})
	if err != nil {
		t.Fatal(err)
	}
	taskDef, err := task.StateMachineJSON(task.StateMachineOptions{FunctionARN: fnARN})
	if err != nil {
		t.Fatal(err)
	}
	if c.CommandStateMachineARN, err = srv.CreateStateMachine(serve.StateMachine{Name: c.Prefix() + "command", Definition: string(cmdDef)}); err != nil {
		t.Fatal(err)
	}
	if c.TaskStateMachineARN, err = srv.CreateStateMachine(serve.StateMachine{Name: c.Prefix() + "task", Definition: string(taskDef)}); err != nil {
		t.Fatal(err)
	}

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "STEPCQRS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		core.EnvEnv+"="+c.Env, core.EnvAppName+"="+c.AppName,
		core.EnvCommandStateMachineARN+"="+c.CommandStateMachineARN, core.EnvTaskStateMachineARN+"="+c.TaskStateMachineARN,
		// Storage on moto for every service but Step Functions, which the
		// per-service variable sends to the server.
		"AWS_ENDPOINT_URL="+moto, "AWS_ENDPOINT_URL_SFN="+srv.URL, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_LAMBDA_FUNCTION_NAME=orders", "LOG_LEVEL=warn")
	emulator := startEmulator(t, rie, env)
	srv.Functions.Add("orders", &serve.HTTPFunction{Endpoint: emulator.URL, Name: "function"}, 1)

	maps, err := serve.StartMappings(ctx, serve.MappingOptions{
		Lambda:  srv.Functions,
		Streams: serve.NewStreamReader(cfg),
		Queues:  awsadapter.NewQueue(sqs.NewFromConfig(cfg)),
		// moto answers quickly: poll often.
		PollInterval: 20 * time.Millisecond,
	}, serve.Mapping{
		FunctionName:          "orders",
		EventSourceArn:        "arn:aws:dynamodb:us-east-1:123456789012:table/" + c.CommandTable("order"),
		BatchSize:             100,
		StartingPosition:      "TRIM_HORIZON",
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
		// The command flow's stream route takes INSERTs only.
		FilterCriteria: &serve.FilterCriteria{Filters: []serve.Filter{{Pattern: command.StreamFilterCriteria}}},
	}, serve.Mapping{
		FunctionName:          "orders",
		EventSourceArn:        res.QueueARNs[c.TaskQueue()],
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = maps.Close() })

	// Commands: entities × versions, each version published on top of
	// the previous one before it is applied (the later ones wait for
	// their predecessors with task tokens sent to the server).
	db := awsadapter.NewItemStore(dynamodb.NewFromConfig(cfg))
	orders, err := command.New(command.Options{Module: "order", Config: c, Store: db, Objects: awsadapter.NewObjectStore(awsadapter.NewS3Client(cfg, true)),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const entities, versions = 10, 3
	type published struct {
		key     core.Key
		version int64
	}
	var cmds []published
	start := time.Now()
	for v := int64(1); v <= versions; v++ {
		for e := range entities {
			key, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("o-%d", e))
			r, err := orders.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: v - 1, Name: fmt.Sprintf("order %d", e),
				Attributes: core.Attributes{"total": float64(10*e) + float64(v)}})
			if err != nil {
				t.Fatalf("publish o-%d v%d: %v", e, v, err)
			}
			cmds = append(cmds, published{key, r.Command.Version})
		}
	}
	statusOf := func(p published) core.CommandStatus {
		cmd, err := orders.GetCommand(ctx, p.key, p.version)
		if err != nil {
			return ""
		}
		return cmd.Status
	}
	deadline := time.Now().Add(2 * time.Minute)
	finished := 0
	for {
		finished = 0
		for _, p := range cmds {
			if statusOf(p) == core.StatusFinished {
				finished++
			}
		}
		if finished == len(cmds) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling moto for the flow's progress in other processes
	}
	elapsed := time.Since(start)
	t.Logf("commands=%d finished=%d lost=%d in %s; mapping stats %+v; function invocations %d",
		len(cmds), finished, len(cmds)-finished, elapsed.Round(time.Millisecond), maps.Stats(), srv.Functions.Invocations("orders"))
	if finished != len(cmds) {
		for _, p := range cmds {
			if s := statusOf(p); s != core.StatusFinished {
				t.Errorf("%s v%d: status %q", p.key.SK, p.version, s)
			}
		}
		t.Fatalf("%d of %d commands did not finish\nbootstrap logs:\n%s", len(cmds)-finished, len(cmds), emulator.Logs())
	}
	// The data rows hold the last versions, and every execution of the
	// command state machine succeeded on the server.
	for e := range entities {
		key, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("o-%d", e))
		data, err := orders.GetData(ctx, key, true)
		if err != nil || data.Version != versions || fmt.Sprint(data.Attributes["total"]) != fmt.Sprint(float64(10*e)+versions) {
			t.Errorf("data of o-%d: %+v, %v", e, data, err)
		}
	}
	for _, p := range cmds {
		sk, _ := core.VersionedSK(p.key.SK, p.version)
		arn := strings.Replace(c.CommandStateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + command.ExecutionName("order", p.key.PK, sk)
		ex, err := srv.DescribeExecution(ctx, arn)
		if err != nil || ex.Status != core.ExecutionSucceeded {
			t.Errorf("execution of %s v%d: %+v, %v", p.key.SK, p.version, ex.Status, err)
		}
	}
	if st := maps.Stats()[0]; st.Records < int64(len(cmds)) || st.Discarded != 0 {
		t.Errorf("stream mapping delivered %d records (want >= %d) and discarded %d", st.Records, len(cmds), st.Discarded)
	}
}
