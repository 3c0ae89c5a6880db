package eventfactory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/smithy-go"

	"github.com/stepcqrs/stepcqrs/core"
)

type order struct {
	PK         string         `dynamodbav:"pk"`
	SK         string         `dynamodbav:"sk"`
	Version    int64          `dynamodbav:"version"`
	Name       string         `dynamodbav:"name"`
	IsDeleted  bool           `dynamodbav:"isDeleted"`
	Note       *string        `dynamodbav:"note"`
	Blob       []byte         `dynamodbav:"blob"`
	Tags       []string       `dynamodbav:"tags,stringset"`
	Scores     []float64      `dynamodbav:"scores,numberset"`
	Blobs      [][]byte       `dynamodbav:"blobs,binaryset"`
	Attributes map[string]any `dynamodbav:"attributes"`
}

type taskBody struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

type keysInput struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

// recorder notes what handlers saw and fails on demand.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	failOn map[string]error
	panics map[string]bool
}

func (r *recorder) note(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, id)
	if r.panics[id] {
		panic("boom " + id)
	}
	return r.failOn[id]
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(new(bytes.Buffer), nil))
}

// fullRouter routes every fixture of testdata/.
func fullRouter(t testing.TB, rec *recorder, cfg Config) *Dispatcher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	r := NewRouter(cfg)
	OnDynamoDB(r, "demo-order-command", AllStreamEvents(), func(ctx context.Context, e DynamoDBRecord[order]) error {
		return rec.note("ddb:" + e.Record.Change.SequenceNumber)
	})
	OnSQS(r, "demo-tasks", func(ctx context.Context, m SQSMessage[taskBody]) error {
		return rec.note("sqs:" + m.Body.ID)
	})
	OnSQS(r, "demo-tasks.fifo", func(ctx context.Context, m SQSMessage[taskBody]) error {
		return rec.note("fifo:" + m.Body.ID)
	})
	OnSNS(r, "demo-notifications", func(ctx context.Context, m SNSMessage[map[string]string]) error {
		return rec.note("sns:" + m.Message["status"])
	})
	OnS3(r, "demo-imports", "s3:ObjectCreated:*", func(ctx context.Context, o S3Object) error {
		return rec.note("s3:" + o.Key)
	})
	OnEventBridge(r, "com.example.orders", "OrderShipped", func(ctx context.Context, e EventBridgeEvent[struct{ OrderID string }]) error {
		return rec.note("eb:" + e.Detail.OrderID)
	})
	OnStepFunctions(r, "demo-command", "apply", func(ctx context.Context, task SFNTask[keysInput]) (map[string]any, error) {
		return map[string]any{"applied": task.Input.SK}, rec.note("sfn:apply:" + task.Input.SK)
	})
	OnStepFunctions(r, "demo-command", "wait", func(ctx context.Context, task SFNTask[json.RawMessage]) (string, error) {
		return task.TaskToken, rec.note("sfn:wait")
	})
	OnStepFunctions(r, "demo-task", "run-subtask", func(ctx context.Context, task SFNTask[struct{ SK string }]) (int, error) {
		return task.Context.Map.Item.Index, rec.note("sfn:map:" + task.Input.SK)
	})
	OnHTTP(r, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := rec.note("http:" + req.Method + " " + req.URL.Path); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dispatchFile(t testing.TB, d *Dispatcher, name string) (any, error) {
	t.Helper()
	return d.Dispatch(context.Background(), readFixture(t, name))
}

func ddbFailures(t testing.TB, out any) []string {
	t.Helper()
	resp, ok := out.(events.DynamoDBEventResponse)
	if !ok {
		t.Fatalf("result %T, want events.DynamoDBEventResponse", out)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func sqsFailures(t testing.TB, out any) []string {
	t.Helper()
	resp, ok := out.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("result %T, want events.SQSEventResponse", out)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// streamRecords dispatches the stream batch fixture with cfg and returns
// the records the handler got.
func streamRecords(t *testing.T, cfg Config) []DynamoDBRecord[order] {
	t.Helper()
	var got []DynamoDBRecord[order]
	cfg.Logger = quietLogger()
	r := NewRouter(cfg)
	OnDynamoDB(r, "demo-order-command", AllStreamEvents(), func(ctx context.Context, e DynamoDBRecord[order]) error {
		got = append(got, e)
		return nil
	})
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := dispatchFile(t, d, "dynamodb-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	if f := ddbFailures(t, out); len(f) != 0 {
		t.Fatalf("failures %v", f)
	}
	if b, _ := json.Marshal(out); string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("response JSON %s", b)
	}
	return got
}

func TestDispatchDynamoDBDecodesImages(t *testing.T) {
	got := streamRecords(t, Config{})
	if len(got) != 3 {
		t.Fatalf("%d records", len(got))
	}
	ins, mod, rem := got[0], got[1], got[2]
	if ins.EventName != "INSERT" || ins.Table != "demo-order-command" || ins.OldImage != nil || ins.NewImage == nil {
		t.Fatalf("insert: %+v", ins)
	}
	want := order{
		PK: "ORDER#acme", SK: "ORDER#o101@1", Version: 1, Name: "order 101",
		Blob: []byte("hello"), Tags: []string{"a", "b"}, Scores: []float64{1, 2.5},
		Blobs:      [][]byte{{1, 2}, {3, 4}},
		Attributes: map[string]any{"qty": float64(3), "items": []any{"x", float64(7), map[string]any{"deep": true}}},
	}
	if !reflect.DeepEqual(*ins.NewImage, want) {
		t.Errorf("NewImage\n got %+v\nwant %+v", *ins.NewImage, want)
	}
	if mod.NewImage.Version != 2 || mod.OldImage.Version != 1 {
		t.Errorf("modify: %+v / %+v", mod.NewImage, mod.OldImage)
	}
	if rem.NewImage != nil || rem.OldImage == nil || rem.EventName != "REMOVE" {
		t.Errorf("remove: %+v", rem)
	}
	if len(ins.Keys) != 2 {
		t.Errorf("keys %v", ins.Keys)
	}
}

func TestDynamoDBStopsAtFirstFailure(t *testing.T) {
	rec := &recorder{failOn: map[string]error{"ddb:102": errors.New("projection down")}}
	d := fullRouter(t, rec, Config{})
	out, err := dispatchFile(t, d, "dynamodb-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	if f := ddbFailures(t, out); !reflect.DeepEqual(f, []string{"102"}) {
		t.Errorf("failures %v, want [102]", f)
	}
	if s := rec.seen(); !reflect.DeepEqual(s, []string{"ddb:101", "ddb:102"}) {
		t.Errorf("processed %v: record 103 must wait for 102's retry", s)
	}
}

func TestSQSPartialFailure(t *testing.T) {
	rec := &recorder{failOn: map[string]error{"sqs:t1": errors.New("no")}}
	d := fullRouter(t, rec, Config{})
	out, err := dispatchFile(t, d, "sqs-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	if f := sqsFailures(t, out); !reflect.DeepEqual(f, []string{"m-1"}) {
		t.Errorf("failures %v", f)
	}
	if s := rec.seen(); !reflect.DeepEqual(s, []string{"sqs:t1", "sqs:t2"}) {
		t.Errorf("processed %v", s)
	}
}

func TestSQSFIFOKeepsGroupOrder(t *testing.T) {
	rec := &recorder{failOn: map[string]error{"fifo:a1": errors.New("no")}}
	d := fullRouter(t, rec, Config{})
	out, err := dispatchFile(t, d, "sqs-fifo-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	if f := sqsFailures(t, out); !reflect.DeepEqual(f, []string{"m-1", "m-3"}) {
		t.Errorf("failures %v, want group A's m-1 and m-3", f)
	}
	if s := rec.seen(); !reflect.DeepEqual(s, []string{"fifo:a1", "fifo:b1", "fifo:b2"}) {
		t.Errorf("processed %v", s)
	}
}

// fifoBatch returns sqs-fifo-batch.json (m-1 a1/A, m-2 b1/B, m-3 a2/A,
// m-4 b2/B) with its records changed by edit.
func fifoBatch(t *testing.T, edit func(recs []map[string]any)) json.RawMessage {
	t.Helper()
	var ev struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(readFixture(t, "sqs-fifo-batch.json"), &ev); err != nil {
		t.Fatal(err)
	}
	edit(ev.Records)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSQSFIFOWithoutGroupStopsBatch: a failed FIFO message whose group is
// unknown may belong to any group, so it and every later message are
// reported, and none of them runs.
func TestSQSFIFOWithoutGroupStopsBatch(t *testing.T) {
	cases := map[string]struct {
		edit   func(recs []map[string]any)
		failOn string
	}{
		"handler fails": {
			edit:   func(recs []map[string]any) { delete(recs[1]["attributes"].(map[string]any), "MessageGroupId") },
			failOn: "fifo:b1",
		},
		"record does not decode": {
			edit: func(recs []map[string]any) {
				delete(recs[1]["attributes"].(map[string]any), "MessageGroupId")
				recs[1]["messageAttributes"] = "not an object"
			},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{failOn: map[string]error{c.failOn: errors.New("no")}}
			d := fullRouter(t, rec, Config{})
			out, err := d.Dispatch(context.Background(), fifoBatch(t, c.edit))
			if err != nil {
				t.Fatal(err)
			}
			if f := sqsFailures(t, out); !reflect.DeepEqual(f, []string{"m-2", "m-3", "m-4"}) {
				t.Errorf("failures %v, want m-2 and every message after it", f)
			}
			want := []string{"fifo:a1"}
			if c.failOn != "" {
				want = append(want, c.failOn)
			}
			if s := rec.seen(); !reflect.DeepEqual(s, want) {
				t.Errorf("processed %v, want %v", s, want)
			}
		})
	}
}

// TestSQSFIFOUnparsableARN: a record whose own ARN cannot be parsed is
// still known to come from a FIFO queue (its batch's other records say
// so): it fails, and its group's later messages wait for it.
func TestSQSFIFOUnparsableARN(t *testing.T) {
	rec := &recorder{}
	d := fullRouter(t, rec, Config{})
	out, err := d.Dispatch(context.Background(), fifoBatch(t, func(recs []map[string]any) {
		recs[0]["eventSourceARN"] = "arn:aws:sqs:ap-northeast-1:123456789012" // no queue name
	}))
	if err != nil {
		t.Fatal(err)
	}
	if f := sqsFailures(t, out); !reflect.DeepEqual(f, []string{"m-1", "m-3"}) {
		t.Errorf("failures %v, want m-1 (bad ARN) and m-3 (same group, after it)", f)
	}
	if s := rec.seen(); !reflect.DeepEqual(s, []string{"fifo:b1", "fifo:b2"}) {
		t.Errorf("processed %v, want group B only", s)
	}
}

func TestHandlerPanicIsRecordFailure(t *testing.T) {
	rec := &recorder{panics: map[string]bool{"sqs:t2": true}}
	d := fullRouter(t, rec, Config{})
	out, err := dispatchFile(t, d, "sqs-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	if f := sqsFailures(t, out); !reflect.DeepEqual(f, []string{"m-2"}) {
		t.Errorf("failures %v", f)
	}
	rec = &recorder{panics: map[string]bool{"sfn:apply:ORDER#o1@1": true}}
	d = fullRouter(t, rec, Config{})
	_, err = dispatchFile(t, d, "sfn-task.json")
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, ErrHandlerPanic) || len(pe.Stack) == 0 {
		t.Fatalf("err = %v", err)
	}
	if n := ErrorName(err); n != ErrorNameHandlerPanic {
		t.Errorf("name %q", n)
	}
}

func TestRoutesEverySource(t *testing.T) {
	rec := &recorder{}
	d := fullRouter(t, rec, Config{})
	results := map[string]any{}
	for _, f := range []string{"sns.json", "s3.json", "eventbridge.json", "sfn-task.json", "sfn-task-token.json", "sfn-task-map.json"} {
		out, err := dispatchFile(t, d, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		results[f] = out
	}
	want := []string{"sns:finished", "s3:uploads/my file:1.csv", "eb:o1", "sfn:apply:ORDER#o1@1", "sfn:wait", "sfn:map:TASK#t1#4"}
	if s := rec.seen(); !reflect.DeepEqual(s, want) {
		t.Errorf("calls\n got %q\nwant %q", s, want)
	}
	if r := results["sfn-task.json"]; !reflect.DeepEqual(r, map[string]any{"applied": "ORDER#o1@1"}) {
		t.Errorf("task result %v", r)
	}
	if r := results["sfn-task-token.json"]; r != "AQCEAAAAKgAAAAMAAAAAAAAAAe3Yexampletoken==" {
		t.Errorf("token %v", r)
	}
	if r := results["sfn-task-map.json"]; r != 4 {
		t.Errorf("map index %v", r)
	}
	for _, f := range []string{"sns.json", "s3.json", "eventbridge.json"} {
		if results[f] != nil {
			t.Errorf("%s: result %v, want nil", f, results[f])
		}
	}
}

func TestSeveralHandlersAllRun(t *testing.T) {
	var calls []string
	r := NewRouter(Config{Logger: quietLogger()})
	for _, name := range []string{"a", "b", "c"} {
		OnSNS(r, "demo-notifications", func(ctx context.Context, m SNSMessage[string]) error {
			calls = append(calls, name)
			if name == "b" {
				return core.ErrConditionFailed
			}
			return nil
		})
	}
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	_, err = dispatchFile(t, d, "sns.json")
	if !errors.Is(err, core.ErrConditionFailed) {
		t.Errorf("err = %v", err)
	}
	if !reflect.DeepEqual(calls, []string{"a", "b", "c"}) {
		t.Errorf("calls %v", calls)
	}
}

func TestUnroutedPolicy(t *testing.T) {
	build := func(p UnroutedPolicy) *Dispatcher {
		r := NewRouter(Config{Unrouted: p, Logger: quietLogger()})
		OnSQS(r, "other-queue", func(context.Context, SQSMessage[string]) error { return nil })
		d, err := r.Build()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fail, skip := build(UnroutedFail), build(UnroutedSkip)

	out, err := dispatchFile(t, fail, "dynamodb-batch.json")
	if err != nil || !reflect.DeepEqual(ddbFailures(t, out), []string{"101"}) {
		t.Errorf("fail policy, stream: %v %v", out, err)
	}
	out, err = dispatchFile(t, skip, "dynamodb-batch.json")
	if err != nil || len(ddbFailures(t, out)) != 0 {
		t.Errorf("skip policy, stream: %v %v", out, err)
	}
	out, err = dispatchFile(t, fail, "sqs-batch.json")
	if err != nil || !reflect.DeepEqual(sqsFailures(t, out), []string{"m-1", "m-2"}) {
		t.Errorf("fail policy, sqs: %v %v", out, err)
	}
	for _, f := range []string{"sns.json", "s3.json", "eventbridge.json"} {
		if _, err := dispatchFile(t, fail, f); !errors.Is(err, ErrUnrouted) {
			t.Errorf("fail policy, %s: %v", f, err)
		}
		if _, err := dispatchFile(t, skip, f); err != nil {
			t.Errorf("skip policy, %s: %v", f, err)
		}
	}
	if _, err := dispatchFile(t, fail, "bad-unknown-shape.json"); !errors.Is(err, ErrUnknownSource) {
		t.Errorf("fail policy, unknown: %v", err)
	}
	if out, err := dispatchFile(t, skip, "bad-unknown-shape.json"); out != nil || err != nil {
		t.Errorf("skip policy, unknown: %v %v", out, err)
	}
	// A task needs a result: never skipped.
	_, err = dispatchFile(t, skip, "sfn-task.json")
	var ue *UnroutedError
	if !errors.As(err, &ue) || ErrorName(err) != ErrorNameUnrouted {
		t.Errorf("skip policy, task: %v", err)
	}
}

// TestBadInput: every hostile payload gives a typed error or a batch item
// failure for the bad record alone, never a panic.
func TestBadInput(t *testing.T) {
	type want struct {
		err      error    // errors.Is target, nil for none
		failures []string // batch item failures, nil when not a batch answer
		calls    []string // handlers that ran
	}
	cases := map[string]want{
		"bad-truncated.json":               {err: ErrMalformed},
		"bad-not-object.json":              {err: ErrMalformed},
		"bad-null.json":                    {err: ErrMalformed},
		"bad-unknown-shape.json":           {err: ErrUnknownSource},
		"bad-empty-records.json":           {err: ErrEmptyBatch},
		"bad-records-not-array.json":       {err: ErrMalformed},
		"bad-mixed-sources.json":           {err: ErrMixedSources},
		"bad-kinesis.json":                 {err: ErrUnknownSource},
		"bad-sfn-missing-context.json":     {err: ErrMalformed},
		"bad-sfn-context-null.json":        {err: ErrMalformed},
		"bad-sfn-context-wrong-types.json": {err: ErrMalformed},
		"bad-sfn-context-no-state.json":    {err: ErrMalformed},
		"bad-huge-number.json":             {err: ErrMalformed},
		"bad-dynamodb-base64.json":         {failures: []string{"102"}, calls: []string{"ddb:101"}},
		"bad-dynamodb-null-false.json":     {failures: []string{"102"}, calls: []string{"ddb:101"}},
		"bad-dynamodb-bs-panic.json":       {failures: []string{"102"}, calls: []string{"ddb:101"}},
		"bad-dynamodb-huge-number.json":    {failures: []string{"102"}, calls: []string{"ddb:101"}},
		"bad-dynamodb-wrong-types.json":    {failures: []string{"102"}, calls: []string{"ddb:101"}},
		"bad-dynamodb-arn.json":            {failures: []string{"102"}, calls: []string{"ddb:101"}},
		"bad-dynamodb-no-sequence.json":    {err: ErrMalformed, calls: []string{"ddb:101"}},
		"bad-sqs-wrong-types.json":         {failures: []string{"m-1"}, calls: []string{"sqs:t2"}},
		"bad-sqs-body.json":                {failures: []string{"m-1"}, calls: []string{"sqs:t2"}},
		"bad-sqs-no-message-id.json":       {err: ErrMalformed, calls: []string{"sqs:t1"}},
		"bad-sns-timestamp.json":           {err: ErrMalformed},
		"bad-sns-topic-arn.json":           {err: ErrMalformed},
		"bad-s3-wrong-types.json":          {err: ErrMalformed},
		"bad-s3-key-escape.json":           {err: ErrMalformed},
		"bad-eventbridge-time.json":        {err: ErrMalformed},
		"bad-eventbridge-detail.json":      {err: ErrMalformed},
		"bad-alb.json":                     {err: ErrUnknownSource},
		"bad-apigw-v1-wrong-types.json":    {err: ErrMalformed},
		"bad-apigw-v2-base64.json":         {err: ErrMalformed},
		"bad-function-url-no-method.json":  {err: ErrMalformed},
	}
	files, _ := filepath.Glob("testdata/bad-*.json")
	if len(files) != len(cases) {
		t.Errorf("%d bad-*.json fixtures, %d cases", len(files), len(cases))
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			d := fullRouter(t, rec, Config{})
			out, err := dispatchFile(t, d, name)
			if w.err != nil {
				if !errors.Is(err, w.err) {
					t.Fatalf("err = %v, want %v", err, w.err)
				}
				if out != nil {
					t.Errorf("result %v with an error", out)
				}
				// Every error has a meaningful name for Step Functions.
				if n := ErrorName(err); n == "" || anonymous[n] {
					t.Errorf("error name %q", n)
				}
			} else {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				var f []string
				if _, ok := out.(events.SQSEventResponse); ok {
					f = sqsFailures(t, out)
				} else {
					f = ddbFailures(t, out)
				}
				if !reflect.DeepEqual(f, w.failures) {
					t.Errorf("failures %v, want %v", f, w.failures)
				}
			}
			if s := rec.seen(); len(s) != len(w.calls) || (len(s) > 0 && !reflect.DeepEqual(s, w.calls)) {
				t.Errorf("calls %v, want %v", s, w.calls)
			}
		})
	}
}

func TestRegistrationProblemsJoined(t *testing.T) {
	r := NewRouter(Config{Unrouted: 7})
	nop := func(context.Context, DynamoDBRecord[order]) error { return nil }
	OnDynamoDB(r, "", AllStreamEvents(), nop)                            // bad table
	OnDynamoDB(r, "orders", nil, nop)                                    // no events
	OnDynamoDB(r, "orders", []string{"INSERT", "insert", "INSERT"}, nop) // bad + duplicate
	OnDynamoDB[order](r, "orders", AllStreamEvents(), nil)               // nil handler
	OnSQS[string](r, "has space", nil)                                   // 2 problems
	OnSNS(r, "", func(context.Context, SNSMessage[string]) error { return nil })
	OnS3(r, "Bad_Bucket", "ObjectCreated:", func(context.Context, S3Object) error { return nil })
	OnS3(r, "good-bucket", "Object:Nope", func(context.Context, S3Object) error { return nil })
	OnEventBridge(r, "", "", func(context.Context, EventBridgeEvent[any]) error { return nil })
	h := func(context.Context, SFNTask[any]) (any, error) { return nil, nil }
	OnStepFunctions(r, "machine", "state", h)
	OnStepFunctions(r, "machine", "state", h) // duplicate
	OnStepFunctions(r, "bad:machine", "", h)
	err := r.Validate()
	if err == nil {
		t.Fatal("no problems reported")
	}
	if _, berr := r.Build(); berr == nil {
		t.Fatal("Build succeeded")
	}
	problems := err.(interface{ Unwrap() []error }).Unwrap()
	if len(problems) != 16 {
		t.Errorf("%d problems, want 16:\n%v", len(problems), err)
	}
	for _, p := range problems {
		if !errors.Is(p, core.ErrValidation) {
			t.Errorf("%v does not match core.ErrValidation", p)
		}
	}
	for _, s := range []string{"Unrouted", "insert", "listed twice", "nil handler", "registered twice", "Object", "bucket"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("problems do not mention %q", s)
		}
	}
}

func TestBuildSnapshotsRoutes(t *testing.T) {
	r := NewRouter(Config{Logger: quietLogger()})
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	OnSQS(r, "demo-tasks", func(context.Context, SQSMessage[string]) error { return nil })
	out, _ := dispatchFile(t, d, "sqs-batch.json")
	if len(sqsFailures(t, out)) != 2 {
		t.Error("a registration after Build reached the Dispatcher")
	}
}

func TestInvokeContextAndLogs(t *testing.T) {
	var buf bytes.Buffer
	var got core.Invoke
	r := NewRouter(Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	OnStepFunctions(r, "demo-command", "apply", func(ctx context.Context, task SFNTask[keysInput]) (any, error) {
		got, _ = core.FromContext(ctx)
		return nil, &core.VersionConflictError{ID: "ORDER#acme#ORDER#o1", Input: 1, Latest: 2}
	})
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	_, err = d.Handler()(ctx, readFixture(t, "sfn-task.json"))
	if got.RequestID != "req-42" {
		t.Errorf("invoke %+v", got)
	}
	ive, ok := err.(messages.InvokeResponse_Error)
	if !ok || ive.Type != ErrorNameVersionConflict || !strings.Contains(ive.Message, "input version 1") {
		t.Fatalf("Handler error %#v", err)
	}
	log := buf.String()
	for _, s := range []string{`"requestId":"req-42"`, `"executionId":"arn:aws:states:`, `"errorName":"VersionConflictError"`} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %s:\n%s", s, log)
		}
	}
}

func TestHandlerSuccessPassesResult(t *testing.T) {
	d := fullRouter(t, &recorder{}, Config{})
	out, err := d.Handler()(context.Background(), readFixture(t, "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("%s", b)
	}
	_, err = d.Handler()(context.Background(), json.RawMessage(`{"x":1}`))
	if ive, ok := err.(messages.InvokeResponse_Error); !ok || ive.Type != "SourceError" {
		t.Errorf("%#v", err)
	}
}

func TestCanceledContextReportsRest(t *testing.T) {
	rec := &recorder{}
	d := fullRouter(t, rec, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := d.Dispatch(ctx, readFixture(t, "sqs-batch.json"))
	if err != nil || !reflect.DeepEqual(sqsFailures(t, out), []string{"m-1", "m-2"}) || len(rec.seen()) != 0 {
		t.Errorf("%v %v %v", out, err, rec.seen())
	}
	out, err = d.Dispatch(ctx, readFixture(t, "dynamodb-batch.json"))
	if err != nil || !reflect.DeepEqual(ddbFailures(t, out), []string{"101"}) {
		t.Errorf("%v %v", out, err)
	}
}

func TestDispatchConcurrent(t *testing.T) {
	d := fullRouter(t, &recorder{}, Config{})
	payload := readFixture(t, "dynamodb-batch.json")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Dispatch(context.Background(), payload); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestErrorNames(t *testing.T) {
	type custom struct{ error }
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{core.ErrVersionConflict, ErrorNameVersionConflict},
		{fmt.Errorf("apply: %w", &core.VersionConflictError{}), ErrorNameVersionConflict},
		{&core.ConditionFailedError{}, ErrorNameConditionFailed},
		{&core.TransactionCanceledError{Reasons: []error{nil, &core.ConditionFailedError{}}}, ErrorNameConditionFailed},
		{fmt.Errorf("x: %w", &core.NotFoundError{}), ErrorNameNotFound},
		{&core.ValidationError{}, ErrorNameValidation},
		{&core.KeyError{}, ErrorNameInvalidKey},
		{Named("PaymentDeclined", core.ErrValidation), "PaymentDeclined"},
		{fmt.Errorf("wrapped: %w", Named("PaymentDeclined", errors.New("x"))), "PaymentDeclined"},
		{messages.InvokeResponse_Error{Type: "Given"}, "Given"},
		{fmt.Errorf("a: %w", custom{errors.New("b")}), "custom"},
		{errors.New("plain"), ErrorNameHandler},
		{fmt.Errorf("sync handler %q: %w", "flaky", errors.New("search index down")), ErrorNameHandler},
		{errors.Join(errors.New("a"), errors.New("b")), ErrorNameHandler},
		{&core.TransientError{Service: "dynamodb", Err: errors.New("throttled")}, ErrorNameTransient},
		{fmt.Errorf("apply: %w", &core.TransientError{Err: &core.TransactionCanceledError{}}), ErrorNameTransient},
		{&core.TenantError{Requested: "globex"}, ErrorNameTenant},
		// An AWS service error is named by its code, through the SDK's
		// carriers; a handler's own type around it keeps its name.
		{fmt.Errorf("x: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
			Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}}), "AccessDenied"},
		{fmt.Errorf("x: %w", custom{&smithy.OperationError{Err: &smithy.GenericAPIError{Code: "AccessDenied"}}}), "custom"},
	}
	for _, c := range cases {
		if got := ErrorName(c.err); got != c.want {
			t.Errorf("ErrorName(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	if Named("x", nil) != nil || LambdaError(nil) != nil {
		t.Error("nil not kept")
	}
	err := Named("PaymentDeclined", core.ErrValidation)
	if !errors.Is(err, core.ErrValidation) || err.Error() != core.ErrValidation.Error() {
		t.Error("Named hides its cause")
	}
}

func TestARNs(t *testing.T) {
	good := map[string]string{
		"arn:aws:dynamodb:ap-northeast-1:123456789012:table/demo-order-command/stream/2026-11-21T00:00:00.000": "demo-order-command",
		"arn:aws-cn:dynamodb:cn-north-1:123456789012:table/t.1/stream/x":                                       "t.1",
		"arn:aws:dynamodb:ddblocal:000000000000:table/local_t/stream/2024":                                     "local_t",
		"arn:aws:dynamodb:us-east-1:123456789012:table/plain":                                                  "plain",
	}
	for arn, want := range good {
		if got, err := TableFromStreamARN(arn); got != want || err != nil {
			t.Errorf("%s: %q %v", arn, got, err)
		}
	}
	for _, arn := range []string{"", "arn:aws:sqs:r:a:q", "arn:aws:dynamodb:r:a:index/x", "arn:aws:dynamodb:r:a:table//stream/x", "table/x/stream/y"} {
		if _, err := TableFromStreamARN(arn); !errors.Is(err, core.ErrValidation) {
			t.Errorf("%q: %v", arn, err)
		}
	}
	if q, err := QueueFromARN("arn:aws:sqs:r:a:q.fifo"); q != "q.fifo" || err != nil {
		t.Error(q, err)
	}
	if _, err := QueueFromARN("arn:aws:sns:r:a:q"); err == nil {
		t.Error("sns ARN accepted as queue")
	}
	if tp, err := TopicFromARN("arn:aws:sns:r:a:topic"); tp != "topic" || err != nil {
		t.Error(tp, err)
	}
	if _, err := TopicFromARN("arn:aws:sns:r:a:topic:sub-id"); err == nil {
		t.Error("subscription ARN accepted as topic")
	}
}

func TestNullAndForeignRecords(t *testing.T) {
	d := fullRouter(t, &recorder{}, Config{Unrouted: UnroutedSkip})
	for _, p := range []string{
		`{"Records":[null,{"eventSource":"aws:s3"}]}`,
		`{"Records":[{"EventSource":"aws:sns"},null]}`,
		`{"Records":[{"eventSource":"aws:s3"},{"eventSource":42}]}`,
	} {
		if _, err := d.Dispatch(context.Background(), json.RawMessage(p)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{
		`{"Records":[{"eventSource":"aws:sqs","messageId":"a","eventSourceARN":"arn:aws:sqs:r:1:demo-tasks","body":"{}"},null]}`,
		`{"Records":[{"eventSource":"aws:dynamodb","eventSourceARN":"arn:aws:dynamodb:r:1:table/demo-order-command/stream/1","dynamodb":{"SequenceNumber":"1"}},[]]}`,
	} {
		if _, err := d.Dispatch(context.Background(), json.RawMessage(p)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestStreamRecordWithoutARN(t *testing.T) {
	d := fullRouter(t, &recorder{}, Config{Unrouted: UnroutedSkip})
	out, err := d.Dispatch(context.Background(), json.RawMessage(`{"Records":[{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"SequenceNumber":"7"}}]}`))
	if err != nil || !reflect.DeepEqual(ddbFailures(t, out), []string{"7"}) {
		t.Errorf("%v %v", out, err)
	}
}

// TestLazyStreamImages: with Config.LazyStreamImages the records reach the
// handler without aws-lambda-go images in Record, and LambdaRecord gives
// the record aws-lambda-go itself decodes from the payload; everything
// else is as without the option.
func TestLazyStreamImages(t *testing.T) {
	var lib events.DynamoDBEvent // aws-lambda-go's own decoding, the reference
	if err := json.Unmarshal(readFixture(t, "dynamodb-batch.json"), &lib); err != nil {
		t.Fatal(err)
	}
	eager, lazy := streamRecords(t, Config{}), streamRecords(t, Config{LazyStreamImages: true})
	if len(eager) != len(lib.Records) || len(lazy) != len(lib.Records) {
		t.Fatalf("%d and %d records, want %d", len(eager), len(lazy), len(lib.Records))
	}
	for i, want := range lib.Records {
		e, l := eager[i], lazy[i]
		if !reflect.DeepEqual(e.Record, want) || !reflect.DeepEqual(e.LambdaRecord(), want) {
			t.Errorf("record %d: eager Record differs from aws-lambda-go's\n got %+v\nwant %+v", i, e.Record, want)
		}
		if c := l.Record.Change; c.Keys != nil || c.NewImage != nil || c.OldImage != nil {
			t.Errorf("record %d: lazy Record has images: %+v", i, c)
		}
		noImages := want
		noImages.Change.Keys, noImages.Change.NewImage, noImages.Change.OldImage = nil, nil, nil
		if !reflect.DeepEqual(l.Record, noImages) {
			t.Errorf("record %d: lazy Record\n got %+v\nwant %+v", i, l.Record, noImages)
		}
		if got := l.LambdaRecord(); !reflect.DeepEqual(got, want) {
			t.Errorf("record %d: LambdaRecord\n got %+v\nwant %+v", i, got, want)
		}
		if !reflect.DeepEqual(e.Keys, l.Keys) || !reflect.DeepEqual(e.NewImage, l.NewImage) || !reflect.DeepEqual(e.OldImage, l.OldImage) {
			t.Errorf("record %d: decoded images differ with LazyStreamImages", i)
		}
	}
}
