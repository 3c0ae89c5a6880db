package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/deploy"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/task"
)

// emulator is the bootstrap running under aws-lambda-rie.
type emulator struct{ *endpointtest.Emulator }

// invoke sends one invocation (the emulator serves one at a time) and
// returns the function's response body.
func (e *emulator) invoke(t *testing.T, payload []byte) json.RawMessage {
	t.Helper()
	resp, err := http.Post(e.URL+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v\nlogs:\n%s", err, e.Logs())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: HTTP %d %s (%v)\nlogs:\n%s", resp.StatusCode, b, err, e.Logs())
	}
	return b
}

// lambdaError is the runtime's error response.
type lambdaError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func errorOf(t *testing.T, body json.RawMessage) lambdaError {
	t.Helper()
	var e lambdaError
	_ = json.Unmarshal(body, &e)
	return e
}

// testdataEvent reads an event of aws-lambda-go's own test data (in the
// module cache: Apache-2.0, not copied here).
func testdataEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("locating aws-lambda-go: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBootstrapUnderRuntimeEmulator builds examples/orders as bootstrap
// (for this machine's architecture), runs it under the Lambda Runtime
// Interface Emulator with its storage on moto, and invokes it with
// aws-lambda-go's test events (adapted to the service's names where
// routing needs it), the sweep events of the template's schedules and the
// Step Functions payloads of every command step.
func TestBootstrapUnderRuntimeEmulator(t *testing.T) {
	rie := endpointtest.LookRIE(t)
	cfg := endpointtest.Config(t)
	endpoint := endpointtest.Endpoint(t)
	ctx := context.Background()

	// The service's resources on moto.
	c := core.Config{Env: "rie", AppName: strings.ToLower(endpointtest.Name("orders"))}
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
	const fnARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	cmdDef, _ := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: fnARN})
	taskDef, _ := task.StateMachineJSON(task.StateMachineOptions{FunctionARN: fnARN})
	sp.StateMachines = []localstack.StateMachineSpec{{Name: c.Prefix() + "command", Definition: string(cmdDef)}, {Name: c.Prefix() + "task", Definition: string(taskDef)}}
	res, err := localstack.Provision(ctx, cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	c.CommandStateMachineARN = res.StateMachineARNs[c.Prefix()+"command"]
	c.TaskStateMachineARN = res.StateMachineARNs[c.Prefix()+"task"]

	// The real binary, built as Lambda runs it, for this machine.
	dir := t.TempDir()
	pkg, err := deploy.Package(ctx, deploy.PackageOptions{Main: "./examples/orders", Dir: "..", Arch: runtime.GOARCH,
		BootstrapDir: dir, Out: filepath.Join(dir, "bootstrap.zip")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap (linux/%s, -tags lambda.norpc, trimmed): %.1f MB, zip %.2f MB, built in %s",
		runtime.GOARCH, float64(pkg.BootstrapBytes)/1e6, float64(pkg.ZipBytes)/1e6, pkg.BuildTime.Round(time.Millisecond))

	// The emulator, on loopback ports of its own.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "STEPCQRS_") {
			env = append(env, kv)
		}
	}
	for k, v := range deploy.Environment(c) {
		env = append(env, k+"="+v)
	}
	env = append(env, "AWS_ENDPOINT_URL="+endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID="+bootstrapKey, "AWS_SECRET_ACCESS_KEY=test", "AWS_LAMBDA_FUNCTION_NAME=orders",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60", "LOG_LEVEL=warn")
	recording := startRecording(t, endpoint)
	start := time.Now()
	rt := emulator{endpointtest.StartEmulator(t, rie, pkg.Bootstrap, dir, env)}

	// 1. Cold start: the command sweep, as the template's rule sends it.
	sweep := func(source, detailType string) []byte {
		return mustJSON(t, map[string]any{"version": "0", "id": "stepcqrs-sweep", "source": source, "detail-type": detailType,
			"account": "123456789012", "region": "us-east-1", "resources": []string{}, "detail": map[string]any{}})
	}
	first := time.Now()
	if out := rt.invoke(t, sweep(command.SweepEventSource, command.SweepEventDetailType)); string(out) != "null" {
		t.Fatalf("command sweep: %s", out)
	}
	cold, firstInvoke := time.Since(start), time.Since(first)
	warmStart := time.Now()
	if out := rt.invoke(t, sweep(task.SweepEventSource, task.SweepEventDetailType)); string(out) != "null" {
		t.Fatalf("task sweep: %s", out)
	}
	t.Logf("cold start (emulator process start to first invocation served): %s; first invocation %s (init included), a warm one %s",
		cold.Round(time.Millisecond), firstInvoke.Round(time.Millisecond), time.Since(warmStart).Round(time.Millisecond))

	// Commands published by a service of the test on the same tables.
	db := awsadapter.NewItemStore(dynamodb.NewFromConfig(cfg))
	s3c := awsadapter.NewS3Client(cfg, true)
	orders, err := command.New(command.Options{Module: "order", Config: c, Store: db, Objects: awsadapter.NewObjectStore(s3c)})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := core.NewKey("ORDER", "acme", "o-1")
	publish := func(version int64, total float64) core.Key {
		r, err := orders.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: version, Name: "order o-1",
			Code: "o-1", TenantCode: "acme", Type: "ORDER", Attributes: map[string]any{"total": total}})
		if err != nil {
			t.Fatal(err)
		}
		return core.Key{PK: r.Command.PK, SK: r.Command.SK}
	}
	v1 := publish(core.VersionNew, 100)

	// 2. The command table's stream: aws-lambda-go's DynamoDB event, its
	// first record carrying v1's row, both with the table's stream ARN.
	// The second record (keys "key"/"val") is no command: skipped.
	ddb := testdataEvent(t, "dynamodb-event.json")
	row := streamImage(ctx, t, cfg, c.CommandTable("order"), v1)
	recs := ddb["Records"].([]any)
	streamARN := "arn:aws:dynamodb:us-east-1:123456789012:table/" + c.CommandTable("order") + "/stream/2026-01-01T00:00:00.000"
	for i, r := range recs {
		rec := r.(map[string]any)
		rec["eventSourceARN"] = streamARN
		if i == 0 {
			rec["dynamodb"].(map[string]any)["Keys"] = map[string]any{"pk": map[string]any{"S": v1.PK}, "sk": map[string]any{"S": v1.SK}}
			rec["dynamodb"].(map[string]any)["NewImage"] = row
		}
	}
	if out := rt.invoke(t, mustJSON(t, ddb)); string(out) != `{"batchItemFailures":[]}` {
		t.Fatalf("command stream: %s", out)
	}
	sf := sfn.NewFromConfig(cfg)
	name := command.ExecutionName("order", v1.PK, v1.SK)
	ex, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(c.CommandStateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name)})
	if err != nil {
		t.Fatalf("the stream record started no execution %s: %v", name, err)
	}
	if !jsonEqual(t, []byte(aws.ToString(ex.Input)), mustJSON(t, command.ExecutionInput{Module: "order", PK: v1.PK, SK: v1.SK})) {
		t.Errorf("execution input %s", aws.ToString(ex.Input))
	}
	// The same event unadapted names a table no route knows: its first
	// record is reported, the batch stops there.
	if out := rt.invoke(t, mustJSON(t, testdataEvent(t, "dynamodb-event.json"))); string(out) != `{"batchItemFailures":[{"itemIdentifier":"1405400000000002063282832"}]}` {
		t.Errorf("unrouted stream: %s", out)
	}

	// 3. The task queue: aws-lambda-go's SQS event, with the task
	// queue's ARN; one message runs a reprice task, another is no task.
	tasks, err := task.New(task.Options{Config: c, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	key2, _ := core.NewKey("ORDER", "acme", "o-2")
	if _, err := orders.PublishSync(ctx, command.Input{PK: key2.PK, SK: key2.SK, Version: core.VersionNew, Name: "order o-2",
		Code: "o-2", TenantCode: "acme", Type: "ORDER", Attributes: map[string]any{"total": 200}}); err != nil {
		t.Fatal(err)
	}
	tk, err := tasks.Create(ctx, task.Input{TenantCode: "acme", Type: "reprice", Input: map[string]any{"code": "o-2", "percent": 10}})
	if err != nil {
		t.Fatal(err)
	}
	sqsEv := testdataEvent(t, "sqs-event.json")
	msg := sqsEv["Records"].([]any)[0].(map[string]any)
	msg["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:" + c.TaskQueue()
	msg["body"] = string(mustJSON(t, task.QueueMessage{PK: tk.PK, SK: tk.SK}))
	bad := map[string]any{}
	for k, v := range msg {
		bad[k] = v
	}
	bad["messageId"], bad["body"] = "MessageID_2", `{"pk":"nope","sk":"nope"}`
	sqsEv["Records"] = []any{msg, bad}
	if out := rt.invoke(t, mustJSON(t, sqsEv)); string(out) != `{"batchItemFailures":[{"itemIdentifier":"MessageID_2"}]}` {
		t.Errorf("task queue: %s", out)
	}
	got, err := tasks.Get(ctx, core.Key{PK: tk.PK, SK: tk.SK}, task.PageRequest{})
	if err != nil || got.Task.Status != task.StatusCompleted {
		t.Errorf("task after its message: %+v, %v", got, err)
	}
	if data, err := orders.GetData(ctx, key2, true); err != nil || fmt.Sprint(data.Attributes["total"]) != "220" || data.Version != 2 {
		t.Errorf("order after reprice +10%%: %v, %v", data.Attributes, err)
	}
	// 4. The command steps, with the payloads the state machine sends.
	step := func(state string, k core.Key, extra map[string]any, token string) json.RawMessage {
		in := map[string]any{"module": "order", "pk": k.PK, "sk": k.SK}
		for kk, v := range extra {
			in[kk] = v
		}
		exName := command.ExecutionName("order", k.PK, k.SK)
		ctxObj := map[string]any{
			"Execution":    map[string]any{"Id": strings.Replace(c.CommandStateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + exName, "Name": exName, "StartTime": "2026-01-01T00:00:00Z", "RoleArn": "arn:aws:iam::123456789012:role/sm"},
			"StateMachine": map[string]any{"Id": c.CommandStateMachineARN, "Name": command.MachineName(c.CommandStateMachineARN)},
			"State":        map[string]any{"Name": state, "EnteredTime": "2026-01-01T00:00:01Z", "RetryCount": 0},
		}
		p := map[string]any{"input": in, "context": ctxObj}
		if token != "" {
			ctxObj["Task"] = map[string]any{"Token": token}
			p["taskToken"] = token
		}
		return rt.invoke(t, mustJSON(t, p))
	}
	var applied command.ApplyStepResult
	if err := json.Unmarshal(step(command.StateApply, v1, nil, ""), &applied); err != nil || applied.Next != command.NextSync || !slices.Equal(applied.Handlers, []string{"sql"}) {
		t.Fatalf("Apply v1: %+v (%v)", applied, err)
	}
	data, err := orders.GetData(ctx, key, true)
	if err != nil || data.Version != 1 || fmt.Sprint(data.Attributes["total"]) != "100" {
		t.Fatalf("data row after Apply: %+v, %v", data, err)
	}
	if out := step(command.StateSyncHandler, v1, map[string]any{"handler": "sql"}, ""); string(out) != "{}" {
		t.Errorf("SyncHandler: %s", out)
	}
	if out := step(command.StateFinish, v1, nil, ""); string(out) != "{}" {
		t.Errorf("Finish v1: %s", out)
	}
	wantStatus := func(v int64, want core.CommandStatus) {
		t.Helper()
		cmd, err := orders.GetCommand(ctx, key, v)
		if err != nil || cmd.Status != want {
			t.Errorf("command v%d: status %v (%v), want %s", v, statusOf(cmd), err, want)
		}
	}
	wantStatus(1, core.StatusFinished)

	// v3 arrives before v2 is applied: Apply answers wait, Wait stores
	// the token, and v2's Finish resumes v3.
	v2 := publish(1, 110)
	v3 := publish(2, 120)
	if err := json.Unmarshal(step(command.StateApply, v3, nil, ""), &applied); err != nil || applied.Next != command.NextWait || applied.WaitFor != 2 {
		t.Fatalf("Apply v3 before v2: %+v (%v)", applied, err)
	}
	if out := step(command.StateWait, v3, map[string]any{"step": applied}, "token-v3"); string(out) != "{}" {
		t.Errorf("Wait v3: %s", out)
	}
	wantStatus(3, core.StatusWaiting)
	step(command.StateApply, v2, nil, "")
	step(command.StateSyncHandler, v2, map[string]any{"handler": "sql"}, "")
	var fin command.StepResult
	if err := json.Unmarshal(step(command.StateFinish, v2, nil, ""), &fin); err != nil || fin.Resumed != 1 {
		t.Errorf("Finish v2 resumed %d successors (%v), want v3", fin.Resumed, err)
	}
	hist, err := orders.History(ctx, key)
	if err != nil || len(hist) != 1 || hist[0].Version != 1 {
		t.Errorf("history after v2: %+v, %v", hist, err)
	}
	// MarkFailed (the Catch's error output in $.error) fails v3; an
	// unknown command is a NotFoundError Step Functions can match.
	cause := `{"errorType":"HandlerError","errorMessage":"sync handler \"sql\": down"}`
	if out := step(command.StateMarkFailed, v3, map[string]any{"error": map[string]any{"Error": "HandlerError", "Cause": cause}}, ""); string(out) != "{}" {
		t.Errorf("MarkFailed v3: %s", out)
	}
	wantStatus(3, core.StatusFailed)
	missing, _ := core.NewKey("ORDER", "acme", "o-404")
	missingSK, _ := core.VersionedSK(missing.SK, 1)
	if e := errorOf(t, step(command.StateApply, core.Key{PK: missing.PK, SK: missingSK}, nil, "")); e.Type != eventfactory.ErrorNameNotFound {
		t.Errorf("Apply of an unknown command: errorType %q (%s), want %s", e.Type, e.Message, eventfactory.ErrorNameNotFound)
	}

	// The tasks table's stream: a new task's INSERT enqueues it.
	tk2, err := tasks.Create(ctx, task.Input{TenantCode: "acme", Type: "reprice", Input: map[string]any{"code": "o-2", "percent": 0}})
	if err != nil {
		t.Fatal(err)
	}
	tev := testdataEvent(t, "dynamodb-event.json")
	trec := tev["Records"].([]any)[0].(map[string]any)
	trec["eventSourceARN"] = "arn:aws:dynamodb:us-east-1:123456789012:table/" + c.TasksTable() + "/stream/2026-01-01T00:00:00.000"
	trec["dynamodb"].(map[string]any)["Keys"] = map[string]any{"pk": map[string]any{"S": tk2.PK}, "sk": map[string]any{"S": tk2.SK}}
	trec["dynamodb"].(map[string]any)["NewImage"] = streamImage(ctx, t, cfg, c.TasksTable(), core.Key{PK: tk2.PK, SK: tk2.SK})
	tev["Records"] = []any{trec}
	if out := rt.invoke(t, mustJSON(t, tev)); string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("tasks stream: %s", out)
	}
	if got, err := tasks.Get(ctx, core.Key{PK: tk2.PK, SK: tk2.SK}, task.PageRequest{}); err != nil || got.Task.Status != task.StatusQueued {
		t.Errorf("task after its stream record: %+v, %v", got, err)
	}
	// The unadapted event names a queue no route knows.
	if out := rt.invoke(t, mustJSON(t, testdataEvent(t, "sqs-event.json"))); string(out) != `{"batchItemFailures":[{"itemIdentifier":"MessageID_1"}]}` {
		t.Errorf("unrouted queue: %s", out)
	}

	// 5. SNS and S3: the service routes neither; the error is named.
	// The SNS event's TopicArn ("arn:aws:sns:EXAMPLE") is no ARN: it
	// gets the notification topic's.
	snsEv := testdataEvent(t, "sns-event.json")
	snsEv["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)["TopicArn"] = "arn:aws:sns:us-east-1:123456789012:" + c.NotificationTopic()
	for name, ev := range map[string]map[string]any{"sns-event.json": snsEv, "s3-event.json": testdataEvent(t, "s3-event.json")} {
		if e := errorOf(t, rt.invoke(t, mustJSON(t, ev))); e.Type != eventfactory.ErrorNameUnrouted {
			t.Errorf("%s: errorType %q (%s), want %s", name, e.Type, e.Message, eventfactory.ErrorNameUnrouted)
		}
	}

	// The notification of v1's Finish reached the subscribed queue.
	q := sqs.NewFromConfig(cfg)
	msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(res.QueueURLs[c.NotificationQueue()]), MaxNumberOfMessages: 10})
	var bodies []string
	if err == nil {
		for _, m := range msgs.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	if !slices.ContainsFunc(bodies, func(b string) bool {
		return strings.Contains(b, `"action":"command-status"`) && strings.Contains(b, v1.SK)
	}) {
		t.Errorf("notification queue: no command-status notification of %s in %q (%v)", v1.SK, bodies, err)
	}

	checkRecordedActions(t, endpoint, recording, c)
}

// streamImage reads the NEW_IMAGE of key's INSERT record from table's
// stream, as DynamoDB JSON.
func streamImage(ctx context.Context, t *testing.T, cfg aws.Config, table string, key core.Key) any {
	t.Helper()
	recs, err := localstack.ReadStream(ctx, cfg, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.EventName == "INSERT" && r.Change.Keys["sk"].String() == key.SK {
			var img any
			if err := json.Unmarshal(mustJSON(t, r.Change.NewImage), &img); err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no INSERT record of %s in %s's stream", key.SK, table)
	return nil
}

func statusOf(c *core.Command) any {
	if c == nil {
		return nil
	}
	return c.Status
}

// bootstrapKey is the access key of the bootstrap's requests, which tells
// them apart in moto's recording.
const bootstrapKey = "BOOTSTRAPTEST"

// startRecording starts moto's request recorder; false when the endpoint
// is not this test binary's moto (TestMain points it at a file of ours).
func startRecording(t *testing.T, endpoint string) bool {
	t.Helper()
	if !endpointtest.UsesMoto() || os.Getenv("MOTO_RECORDER_FILEPATH") == "" {
		return false
	}
	for _, p := range []string{"reset-recording", "start-recording"} {
		resp, err := http.Post(endpoint+"/moto-api/recorder/"+p, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	return true
}

// checkRecordedActions maps every request the bootstrap made to its IAM
// action and checks that the template grants it to the function.
func checkRecordedActions(t *testing.T, endpoint string, recording bool, c core.Config) {
	t.Helper()
	if !recording {
		t.Log("no request recording on this endpoint: IAM actions not checked against the calls")
		return
	}
	resp, err := http.Get(endpoint + "/moto-api/recorder/download-recording")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	called := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e struct {
			Headers map[string]string `json:"headers"`
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Body    string            `json:"body"`
			Encoded bool              `json:"body_encoded"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || !strings.Contains(e.Headers["Authorization"], "Credential="+bootstrapKey+"/") {
			continue
		}
		for _, a := range iamActions(e.Headers, e.Method, e.URL, e.Body, e.Encoded) {
			called[a] = true
		}
	}
	tp, err := deploy.New(deploy.Options{Config: c, Modules: []string{"order"}})
	if err != nil {
		t.Fatal(err)
	}
	granted := tp.Actions(deploy.RoleFunction)
	var missing, unexercised []string
	for a := range called {
		if !slices.Contains(granted, a) {
			missing = append(missing, a)
		}
	}
	for _, a := range granted {
		if !called[a] {
			unexercised = append(unexercised, a)
		}
	}
	slices.Sort(missing)
	for _, a := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "sqs:SendMessage", "states:StartExecution", "states:SendTaskSuccess", "sns:Publish"} {
		if !called[a] {
			t.Errorf("the recording lacks %s, which the invocations above call", a)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the bootstrap called %v; not granted to the function: %v", sortedKeys(called), missing)
	}
	t.Logf("IAM actions the bootstrap called: %v; granted but not called here (event source mappings, logs, paths not run): %v", sortedKeys(called), unexercised)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// iamActions maps a recorded request to the IAM actions it needs:
// X-Amz-Target for the JSON protocols (DynamoDB, Step Functions, SQS),
// Action for the query protocol (SNS), method and path for S3.
// TransactWriteItems is authorised per item (PutItem, UpdateItem,
// DeleteItem, ConditionCheckItem), SendMessageBatch as SendMessage.
func iamActions(h map[string]string, method, rawURL, body string, encoded bool) []string {
	if encoded {
		if b, err := base64.StdEncoding.DecodeString(body); err == nil {
			body = string(b)
		}
	}
	prefixes := map[string]string{"DynamoDB_20120810": "dynamodb", "AWSStepFunctions": "states", "AmazonSQS": "sqs"}
	if target := h["X-Amz-Target"]; target != "" {
		svc, op, _ := strings.Cut(target, ".")
		p, ok := prefixes[svc]
		switch {
		case !ok:
			return nil
		case p == "sqs" && op == "SendMessageBatch":
			return []string{"sqs:SendMessage"}
		case p == "dynamodb" && op == "TransactWriteItems":
			var tx struct{ TransactItems []map[string]json.RawMessage }
			_ = json.Unmarshal([]byte(body), &tx)
			var out []string
			for _, it := range tx.TransactItems {
				for kind := range it {
					out = append(out, map[string]string{"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
						"Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}[kind])
				}
			}
			return out
		}
		return []string{p + ":" + op}
	}
	if v, err := url.ParseQuery(body); err == nil && v.Get("Action") != "" {
		return []string{"sns:" + v.Get("Action")}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	if parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2); len(parts) == 2 && parts[1] != "" {
		switch method {
		case http.MethodPut:
			return []string{"s3:PutObject"}
		case http.MethodGet, http.MethodHead:
			return []string{"s3:GetObject"}
		case http.MethodDelete:
			return []string{"s3:DeleteObject"}
		}
	}
	return nil
}
