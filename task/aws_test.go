package task_test

// Integration tests of the task rows and counters on the AWS adapters,
// against an AWS-compatible endpoint (moto_server, started by
// endpointtest, or AWS_ENDPOINT_URL): the tasks table with its stream and
// unsettled index, the task queue with its dead-letter queue, the bucket
// of manifests and the task state machine definition are provisioned on
// the endpoint; the DynamoDB paths the capability uses (conditional put,
// batch write, conditional update with ADD, TransactWriteItems,
// consistent queries, the index) run on the real adapter.
//
// moto runs no state machine: StartExecution goes to an in-process
// recording core.Workflows, and the steps are invoked through the
// Dispatcher with the payloads the state machine's Task states send. The
// steps run one after the other: moto does not isolate concurrent
// transactions (see localstack/README.md), so concurrency is the embedded
// runtime's tests' business.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/task"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

const awsFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:stepcqrs-it"

// awsTaskEnv is the task service on the AWS adapters.
type awsTaskEnv struct {
	t       *testing.T
	conf    core.Config
	raw     *awsadapter.ItemStore
	queue   *awsadapter.Queue
	svc     *task.Service
	wf      *coretest.RecordingWorkflows
	disp    *eventfactory.Dispatcher
	machine string
	seen    map[string]bool
	now     time.Time
	mu      sync.Mutex
}

func (e *awsTaskEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func newAWSTaskEnv(t *testing.T, reg *task.Registry) *awsTaskEnv {
	t.Helper()
	cfg := endpointtest.Config(t)
	conf := core.Config{Env: "it", AppName: "shop", TablePrefix: endpointtest.Name("task") + "-"}
	def, err := task.StateMachineJSON(task.StateMachineOptions{FunctionARN: awsFunctionARN})
	if err != nil {
		t.Fatal(err)
	}
	smName := conf.Prefix() + "task"
	res, err := localstack.Provision(bg, cfg, localstack.Spec{
		Tables:        []localstack.TableSpec{{Name: conf.TasksTable(), Stream: localstack.StreamNewImage, Indexes: []core.Index{task.UnsettledIndex}}},
		Buckets:       []string{conf.Bucket()},
		Queues:        []localstack.QueueSpec{{Name: conf.TaskQueue(), DLQ: conf.TaskDLQ(), MaxReceiveCount: 2}},
		StateMachines: []localstack.StateMachineSpec{{Name: smName, Definition: string(def)}},
	})
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	conf.TaskStateMachineARN = res.StateMachineARNs[smName]
	if conf.TaskStateMachineARN == "" {
		t.Fatalf("Provision returned %+v", res)
	}
	e := &awsTaskEnv{
		t: t, conf: conf,
		raw:   awsadapter.NewItemStore(dynamodb.NewFromConfig(cfg)),
		queue: awsadapter.NewQueue(sqs.NewFromConfig(cfg)),
		wf:    &coretest.RecordingWorkflows{}, machine: conf.TaskStateMachineARN, seen: map[string]bool{},
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	quiet := slog.New(slog.DiscardHandler)
	e.svc, err = task.New(task.Options{Config: conf, Store: e.raw, Registry: reg, Queue: e.queue, Workflows: e.wf,
		Objects:  awsadapter.NewObjectStore(awsadapter.NewS3Client(cfg, awsadapter.S3PathStyle(cfg))),
		Settings: task.Settings{MaxReceiveCount: 2, InlineMax: 8, Clock: e.clock}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	routes, err := e.svc.Routes()
	if err != nil {
		t.Fatal(err)
	}
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	routes(r)
	if e.disp, err = r.Build(); err != nil {
		t.Fatal(err)
	}
	return e
}

// deliverStream reads the tasks table's stream and delivers the records
// not delivered yet that the event source mapping's filter
// (task.StreamFilterCriteria) lets through, in one Lambda event. It
// returns how many it delivered.
func (e *awsTaskEnv) deliverStream() int {
	t := e.t
	t.Helper()
	recs, err := localstack.ReadStream(bg, endpointtest.Config(t), e.conf.TasksTable())
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	var batch []events.DynamoDBEventRecord
	for _, r := range recs {
		id := r.EventID + "/" + r.Change.SequenceNumber
		kind := r.Change.NewImage["kind"]
		if e.seen[id] || kind.DataType() != events.DataTypeString || !task.Streamed(r.EventName, kind.String()) {
			continue
		}
		e.seen[id] = true
		batch = append(batch, r)
	}
	if len(batch) == 0 {
		return 0
	}
	payload, _ := json.Marshal(events.DynamoDBEvent{Records: batch})
	out, err := e.disp.Dispatch(bg, payload)
	if resp, ok := out.(events.DynamoDBEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("stream batch: %#v %v", out, err)
	}
	return len(batch)
}

// deliverQueue receives the task queue's visible messages and delivers
// them in one SQS event, as the event source mapping does, deleting those
// that succeeded. It returns the SQS response.
func (e *awsTaskEnv) deliverQueue() (int, events.SQSEventResponse) {
	t := e.t
	t.Helper()
	msgs, err := e.queue.Receive(bg, e.conf.TaskQueue(), 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		return 0, events.SQSEventResponse{}
	}
	ev := events.SQSEvent{}
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body,
			Attributes:     map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.ReceiveCount)},
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + e.conf.TaskQueue(), EventSource: "aws:sqs"})
	}
	payload, _ := json.Marshal(ev)
	out, err := e.disp.Dispatch(bg, payload)
	if err != nil {
		t.Fatalf("SQS batch: %v", err)
	}
	resp, _ := out.(events.SQSEventResponse)
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range msgs {
		if !failed[m.ID] {
			if err := e.queue.Delete(bg, e.conf.TaskQueue(), m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(msgs), resp
}

// step invokes the handler of state with the payload its Task state
// sends, in the execution started for parent, as retry retryCount.
func (e *awsTaskEnv) step(parent core.Key, state string, in task.StepInput, entered time.Time, retryCount int) (any, error) {
	e.t.Helper()
	name := task.ExecutionName(parent)
	raw, _ := json.Marshal(in)
	p := eventfactory.SFNPayload{Input: raw, Context: &eventfactory.SFNContext{
		Execution:    eventfactory.SFNExecution{ID: awsadapter.ExecutionARN(e.machine, name), Name: name, StartTime: entered},
		State:        eventfactory.SFNState{Name: state, EnteredTime: entered, RetryCount: retryCount},
		StateMachine: eventfactory.SFNStateMachine{ID: e.machine},
	}}
	payload, _ := json.Marshal(p)
	return e.disp.Dispatch(bg, payload)
}

// row reads a row of the tasks table as stored.
func (e *awsTaskEnv) row(k core.Key) map[string]any {
	e.t.Helper()
	it, err := e.raw.Get(bg, e.conf.TasksTable(), k, true)
	if err != nil {
		e.t.Fatalf("row %s: %v", k.SK, err)
	}
	var m map[string]any
	if err := core.UnmarshalItem(it, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestAWSSingleTask(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "double", func(_ context.Context, j task.Job[echo]) (echo, error) {
		if j.Input.N < 0 {
			return echo{}, errors.New("negative")
		}
		return echo{N: 2 * j.Input.N}, nil
	})
	e := newAWSTaskEnv(t, reg)
	ok, err := e.svc.Create(bg, task.Input{TenantCode: "acme", Type: "double", Input: echo{N: 21}})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := e.svc.Create(bg, task.Input{TenantCode: "acme", Type: "double", Input: echo{N: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.deliverStream(); n != 2 {
		t.Fatalf("%d stream records delivered, want the 2 INSERTs", n)
	}
	if got := e.row(ok.Key()); got["status"] != "QUEUED" || fmt.Sprint(got["version"]) != "2" {
		t.Fatalf("after the stream: %v", got)
	}
	// A redelivered record sends the message again; the consumer runs the
	// task once whatever the number of messages.
	e.seen = map[string]bool{}
	e.deliverStream()
	n, resp := e.deliverQueue()
	if n != 4 || len(resp.BatchItemFailures) != 2 {
		t.Fatalf("first delivery: %d messages, response %+v", n, resp)
	}
	got := e.row(ok.Key())
	if got["status"] != "COMPLETED" || got["result"] != `{"n":42}` || fmt.Sprint(got["attempts"]) != "1" ||
		got["unsettled"] != nil || got["leaseUntil"] != nil {
		t.Fatalf("completed row %v", got)
	}
	// Both of its messages ran it (each a first receive, below the limit):
	// QUEUED again, with the cause, for the redeliveries.
	if got := e.row(bad.Key()); got["status"] != "QUEUED" || got["error"] != "negative" || fmt.Sprint(got["attempts"]) != "2" {
		t.Fatalf("failed attempt row %v", got)
	}
}

func TestAWSFanOutCounters(t *testing.T) {
	const subs = 12 // beyond InlineMax 8: with a manifest
	reg := task.NewRegistry()
	task.Register(reg, "sq", func(_ context.Context, j task.Job[echo]) (echo, error) {
		if j.Input.N%4 == 1 {
			return echo{}, fmt.Errorf("bad %d", j.Input.N)
		}
		return echo{N: j.Input.N * j.Input.N}, nil
	})
	e := newAWSTaskEnv(t, reg)
	in := make([]any, subs)
	for i := range in {
		in[i] = echo{N: i}
	}
	p, err := e.svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "sq", ID: "batch-1", SubTasks: in})
	if err != nil {
		t.Fatal(err)
	}
	// A retried creation with the same ID writes nothing.
	again, err := e.svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "sq", ID: "batch-1", SubTasks: in})
	if err != nil || again.SK != p.SK || again.Version != 1 {
		t.Fatalf("re-creation: %+v %v", again, err)
	}
	if n := e.deliverStream(); n != 1 {
		t.Fatalf("%d stream records delivered, want the parent's INSERT only", n)
	}
	var exec task.ExecutionInput
	raw, _ := e.wf.Input(task.ExecutionName(p.Key()))
	if err := json.Unmarshal([]byte(raw), &exec); err != nil || exec.Total != subs || exec.Manifest == nil ||
		exec.MaxConcurrency != task.DefaultMaxConcurrency {
		t.Fatalf("execution input %s: %v", raw, err)
	}
	entered := e.clock()
	for i := range subs {
		idx := i
		out, err := e.step(p.Key(), task.StateSubTaskDistributed, task.StepInput{PK: p.PK, SK: p.SK, Index: &idx}, entered, 0)
		if err != nil {
			t.Fatalf("SubTask %d: %v", i, err)
		}
		// Every third step is delivered again: nothing runs, nothing counts twice.
		if i%3 == 0 {
			again, err := e.step(p.Key(), task.StateSubTaskDistributed, task.StepInput{PK: p.PK, SK: p.SK, Index: &idx}, entered, 1)
			if err != nil || again != out {
				t.Fatalf("redelivered SubTask %d: %v %v (first %v)", i, again, err, out)
			}
		}
	}
	parent := e.row(p.Key())
	want := map[string]string{"total": "12", "succeeded": "9", "failed": "3", "running": "0"}
	for k, v := range want {
		if fmt.Sprint(parent[k]) != v {
			t.Errorf("parent %s = %v, want %s", k, parent[k], v)
		}
	}
	d, err := e.svc.Get(bg, p.Key(), task.PageRequest{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	var all []*task.SubTask
	all = append(all, d.SubTasks...)
	for next := d.Next; next != nil; {
		pg, err := e.svc.SubTasks(bg, p.Key(), task.PageRequest{Limit: 5, After: next})
		if err != nil {
			t.Fatal(err)
		}
		all, next = append(all, pg.SubTasks...), pg.Next
	}
	if c := recount(all); c != d.Task.Counts || len(all) != subs {
		t.Fatalf("counters %+v, recount of %d rows %+v", d.Task.Counts, len(all), c)
	}
	fp, err := e.svc.Failures(bg, p.Key(), task.PageRequest{Limit: 2})
	if err != nil || len(fp.Failures) != 2 || fp.Next == nil || fp.Failures[0].Index != 1 || fp.Failures[0].Error != "bad 1" {
		t.Fatalf("failures page %+v %v", fp, err)
	}
	out, err := e.step(p.Key(), task.StateFinalize, task.StepInput{PK: p.PK, SK: p.SK}, e.clock(), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := out.(task.Summary)
	if sum.Status != task.StatusFailed || sum.Counts != d.Task.Counts || sum.Error != "3 of 12 sub-tasks failed (see the failures)" {
		t.Fatalf("summary %+v", sum)
	}
	if got := e.row(p.Key()); got["status"] != "FAILED" || got["unsettled"] != nil {
		t.Fatalf("parent after Finalize %v", got)
	}
}

func TestAWSSweep(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "noop", func(context.Context, task.Job[echo]) (echo, error) { return echo{}, nil })
	e := newAWSTaskEnv(t, reg)
	tk, err := e.svc.Create(bg, task.Input{TenantCode: "acme", Type: "noop"})
	if err != nil {
		t.Fatal(err)
	}
	// Its stream record is lost: the sweep finds it in the index once it
	// is due, and enqueues it.
	res, err := e.svc.Sweep(bg, task.SweepOptions{})
	if err != nil || res.Found != 0 {
		t.Fatalf("sweep before due: %+v %v", res, err)
	}
	e.mu.Lock()
	e.now = e.now.Add(task.DefaultStuckAfter + time.Second)
	e.mu.Unlock()
	if res, err = e.svc.Sweep(bg, task.SweepOptions{}); err != nil || res.Found != 1 || res.Enqueued != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if got := e.row(tk.Key()); got["status"] != "QUEUED" {
		t.Fatalf("after the sweep %v", got)
	}
	if n, resp := e.deliverQueue(); n != 1 || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("queue: %d %+v", n, resp)
	}
	if got := e.row(tk.Key()); got["status"] != "COMPLETED" {
		t.Fatalf("after the queue %v", got)
	}
}
