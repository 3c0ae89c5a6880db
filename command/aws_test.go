package command_test

// Integration tests of the command flow on the AWS adapters, against an
// AWS-compatible endpoint (moto_server, started by endpointtest, or
// AWS_ENDPOINT_URL). They exercise the DynamoDB paths the flow uses —
// conditional put, TransactWriteItems, conditional update, query with
// pagination — plus S3 offload, the stream read back with the dynamodbstreams
// API and decoded by the event factory, and the deployability of the command
// state machine definition.
//
// Known moto 5.2.1 divergences (localstack/README.md) do not apply to these paths:
// the flow creates rows with PutItem or in transactions, never with an
// UpdateItem (moto emits two INSERT records for that), so the stream
// assertions are exact; TTL is asserted as an attribute, never as expiry.
//
// Step Functions executions are not started on the endpoint: the stream
// route's StartExecution goes to an in-process recording core.Workflows, and
// the step handlers are invoked through the Dispatcher with the payloads the
// state machine's Task states send. Everything else is the real adapter on
// the endpoint.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

const awsModule = "order"

// awsFunctionARN is the Lambda every Task state of the test definition
// invokes; no function runs on the endpoint.
const awsFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:stepcqrs-it"

// awsDB is the SDK client under the ItemStore, counting the calls the
// tests make claims about and optionally holding PutItem.
type awsDB struct {
	*dynamodb.Client
	mu        sync.Mutex
	transacts [][]string // per TransactWriteItems call: "Put table", "Update table", …
	queries   int
	continued int // queries with an ExclusiveStartKey (a second or later page)
	beforePut func(*dynamodb.PutItemInput)
	beforeTx  func()
	txErrs    []error // errors of TransactWriteItems calls, nil included
}

func (d *awsDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	d.mu.Lock()
	hook := d.beforePut
	d.mu.Unlock()
	if hook != nil {
		hook(in)
	}
	return d.Client.PutItem(ctx, in, o...)
}

func (d *awsDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	d.mu.Lock()
	d.queries++
	if in.ExclusiveStartKey != nil {
		d.continued++
	}
	d.mu.Unlock()
	return d.Client.Query(ctx, in, o...)
}

func (d *awsDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	var ops []string
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			ops = append(ops, "Put "+aws.ToString(it.Put.TableName))
		case it.Update != nil:
			ops = append(ops, "Update "+aws.ToString(it.Update.TableName))
		case it.Delete != nil:
			ops = append(ops, "Delete "+aws.ToString(it.Delete.TableName))
		case it.ConditionCheck != nil:
			ops = append(ops, "Check "+aws.ToString(it.ConditionCheck.TableName))
		}
	}
	sort.Strings(ops)
	d.mu.Lock()
	d.transacts = append(d.transacts, ops)
	hook := d.beforeTx
	d.mu.Unlock()
	if hook != nil {
		hook()
	}
	out, err := d.Client.TransactWriteItems(ctx, in, o...)
	d.mu.Lock()
	d.txErrs = append(d.txErrs, err)
	d.mu.Unlock()
	return out, err
}

// barrier returns a hook that holds n callers until all n arrived (or 20 s
// passed), and a func reporting whether they all did.
func barrier(n int) (hook func(), all func() bool) {
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	go func() {
		arrived.Wait()
		close(release)
	}()
	return func() {
			arrived.Done()
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
		}, func() bool {
			select {
			case <-release:
				return true
			default:
				return false
			}
		}
}

// takeTransacts returns the TransactWriteItems calls since the last call.
func (d *awsDB) takeTransacts() [][]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.transacts
	d.transacts = nil
	return t
}

func (d *awsDB) queryCounts() (queries, continued int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries, d.continued
}

// execInput returns the recorded input of the execution named name.
func execInput(t testing.TB, w *coretest.RecordingWorkflows, name string) command.ExecutionInput {
	t.Helper()
	raw, ok := w.Input(name)
	if !ok {
		t.Fatalf("no execution %s was started", name)
	}
	var in command.ExecutionInput
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields() // keys only, never the record
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("execution input %s: %v", raw, err)
	}
	return in
}

// awsEnv is the order module's command service on the AWS adapters, with
// its tables, bucket and state machine provisioned on the endpoint under
// unique names.
type awsEnv struct {
	aws     aws.Config
	conf    core.Config
	db      *awsDB
	raw     *awsadapter.ItemStore // unwrapped store, for assertions on rows
	objects *awsadapter.ObjectStore
	queue   *awsadapter.Queue // the notification queue's adapter
	svc     *command.Service
	wf      *coretest.RecordingWorkflows
	disp    *eventfactory.Dispatcher
	machine string          // command state machine ARN
	seen    map[string]bool // stream records delivered already
}

var awsCtx = context.Background()

func newAWSEnv(t *testing.T, tweak func(*core.Config), dbOpts ...func(*dynamodb.Options)) *awsEnv {
	t.Helper()
	cfg := endpointtest.Config(t)
	conf := core.Config{Env: "it", AppName: "shop", TablePrefix: endpointtest.Name("cmd") + "-"}
	if tweak != nil {
		tweak(&conf)
	}
	def, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: awsFunctionARN})
	if err != nil {
		t.Fatal(err)
	}
	smName := conf.Prefix() + "command"
	res, err := localstack.Provision(awsCtx, cfg, localstack.Spec{
		Tables: []localstack.TableSpec{
			{Name: conf.CommandTable(awsModule), Stream: localstack.StreamNewImage, TTL: true, Indexes: []core.Index{command.UnsettledIndex}},
			{Name: conf.DataTable(awsModule), TTL: true},
			{Name: conf.HistoryTable(awsModule), TTL: true},
		},
		Buckets:       []string{conf.Bucket()},
		Queues:        []localstack.QueueSpec{{Name: conf.NotificationQueue()}},
		Topics:        []localstack.TopicSpec{{Name: conf.NotificationTopic(), Queues: []string{conf.NotificationQueue()}, RawDelivery: true}},
		StateMachines: []localstack.StateMachineSpec{{Name: smName, Definition: string(def)}},
	})
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	conf.CommandStateMachineARN = res.StateMachineARNs[smName]
	if conf.CommandStateMachineARN == "" || res.TableStreamARNs[conf.CommandTable(awsModule)] == "" {
		t.Fatalf("Provision returned %+v", res)
	}
	// The client's requests reach moto one at a time: moto does not
	// isolate concurrent requests (two racing conditional writes or
	// transactions may both commit, or a cancelled transaction may restore
	// a table over the other's write; TestTransactWriteItemsIsolation in
	// core/awsadapter reproduces it), where DynamoDB does. Racing applies
	// and publishes still interleave request by request, so the tests see
	// the flow's handling of a failed condition, not moto's race.
	client := dynamodb.NewFromConfig(endpointtest.Serialized(cfg), dbOpts...)
	e := &awsEnv{
		aws: cfg, conf: conf,
		db:      &awsDB{Client: client},
		raw:     awsadapter.NewItemStore(client),
		objects: awsadapter.NewObjectStore(awsadapter.NewS3Client(cfg, awsadapter.S3PathStyle(cfg))),
		queue:   awsadapter.NewQueue(sqs.NewFromConfig(cfg)),
		wf:      &coretest.RecordingWorkflows{AcceptTokens: true},
		machine: conf.CommandStateMachineARN,
		seen:    map[string]bool{},
	}
	quiet := slog.New(slog.DiscardHandler)
	e.svc, err = command.New(command.Options{
		Module: awsModule, Config: conf, Store: awsadapter.NewItemStore(e.db), Objects: e.objects,
		Topic: awsadapter.NewTopic(sns.NewFromConfig(cfg)), Source: "it", Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := command.Steps(command.StepsOptions{
		Services: map[string]*command.Service{awsModule: e.svc}, Workflows: e.wf,
		StateMachineARN: e.machine, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := eventfactory.NewRouter(eventfactory.Config{Logger: quiet})
	reg(r)
	if e.disp, err = r.Build(); err != nil {
		t.Fatal(err)
	}
	return e
}

func awsKey(t testing.TB, code string) core.Key {
	t.Helper()
	k, err := core.NewKey("ORDER", "acme", code)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *awsEnv) publish(t testing.TB, in command.Input) *core.Command {
	t.Helper()
	res, err := e.svc.PublishAsync(awsCtx, in)
	if err != nil {
		t.Fatalf("PublishAsync(%s v%d): %v", in.SK, in.Version, err)
	}
	if res.Unchanged {
		t.Fatalf("PublishAsync(%s v%d): unexpectedly unchanged", in.SK, in.Version)
	}
	return res.Command
}

// readStream reads the whole command table stream with the DynamoDB
// Streams API.
func (e *awsEnv) readStream(t testing.TB) []events.DynamoDBEventRecord {
	t.Helper()
	recs, err := localstack.ReadStream(awsCtx, e.aws, e.conf.CommandTable(awsModule))
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	return recs
}

// deliverNew reads the command stream and delivers the INSERT records not
// delivered yet in one Lambda event, as the event source mapping does with
// FilterCriteria {"eventName": ["INSERT"]} (Steps' documented setup: status
// updates are MODIFY records, which no route handles). It returns them.
func (e *awsEnv) deliverNew(t testing.TB) []events.DynamoDBEventRecord {
	t.Helper()
	var batch []events.DynamoDBEventRecord
	for _, r := range e.readStream(t) {
		id := r.EventID + "/" + r.Change.SequenceNumber
		if e.seen[id] || r.EventName != eventfactory.StreamInsert {
			continue
		}
		e.seen[id] = true
		batch = append(batch, r)
	}
	e.deliver(t, batch)
	return batch
}

// deliver sends recs to the Dispatcher as one DynamoDB stream event, the
// JSON Lambda receives, and fails on any batch item failure.
func (e *awsEnv) deliver(t testing.TB, recs []events.DynamoDBEventRecord) {
	t.Helper()
	if len(recs) == 0 {
		return
	}
	payload, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.disp.Dispatch(awsCtx, payload)
	if err != nil {
		t.Fatalf("Dispatch stream batch: %v", err)
	}
	resp, ok := out.(events.DynamoDBEventResponse)
	if !ok || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Dispatch stream batch = %#v", out)
	}
}

// step invokes the handler of state with the payload its Task state sends
// ({"input.$": "$", "context.$": "$$"}, plus the task token of the wait
// state).
func (e *awsEnv) step(t testing.TB, state string, in command.StepInput, token string) (any, error) {
	t.Helper()
	name := command.ExecutionName(in.Module, in.PK, in.SK)
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	p := eventfactory.SFNPayload{Input: raw, TaskToken: token, Context: &eventfactory.SFNContext{
		Execution:    eventfactory.SFNExecution{ID: awsadapter.ExecutionARN(e.machine, name), Name: name, StartTime: now},
		State:        eventfactory.SFNState{Name: state, EnteredTime: now},
		StateMachine: eventfactory.SFNStateMachine{ID: e.machine, Name: command.MachineName(e.machine)},
	}}
	if token != "" {
		p.Context.Task = &eventfactory.SFNTaskInfo{Token: token}
	}
	payload, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return e.disp.Dispatch(awsCtx, payload)
}

// applyStep runs the Apply state of the execution started for cmd, with
// the input the stream route gave that execution.
func (e *awsEnv) applyStep(t testing.TB, cmd core.Key) command.ApplyStepResult {
	t.Helper()
	in := execInput(t, e.wf, command.ExecutionName(awsModule, cmd.PK, cmd.SK))
	out, err := e.step(t, command.StateApply, command.StepInput{ExecutionInput: in}, "")
	if err != nil {
		t.Fatalf("Apply step of %s: %v", cmd.SK, err)
	}
	r, ok := out.(command.ApplyStepResult)
	if !ok {
		t.Fatalf("Apply step of %s returned %T", cmd.SK, out)
	}
	return r
}

// commandRow reads a command row as stored.
func (e *awsEnv) commandRow(t testing.TB, k core.Key) core.Command {
	t.Helper()
	it, err := e.raw.Get(awsCtx, e.conf.CommandTable(awsModule), k, true)
	if err != nil {
		t.Fatalf("command row %s: %v", k.SK, err)
	}
	var c core.Command
	if err := core.UnmarshalItem(it, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// dataRow reads a data (or, with a versioned sk, history) row as stored.
func (e *awsEnv) dataRow(t testing.TB, table string, k core.Key) core.Data {
	t.Helper()
	it, err := e.raw.Get(awsCtx, table, k, true)
	if err != nil {
		t.Fatalf("row %s %s: %v", table, k.SK, err)
	}
	var d core.Data
	if err := core.UnmarshalItem(it, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// count returns the number of rows of table in partition pk.
func (e *awsEnv) count(t testing.TB, table, pk string) int {
	t.Helper()
	n := 0
	q := core.Query{PK: pk, ConsistentRead: true}
	for {
		page, err := e.raw.Query(awsCtx, table, q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Items)
		if page.Next == nil {
			return n
		}
		q.StartAfter = page.Next
	}
}

// notifications drains the notification queue (SNS raw delivery to SQS).
func (e *awsEnv) notifications(t testing.TB) []command.Notification {
	t.Helper()
	var out []command.Notification
	for {
		msgs, err := e.queue.Receive(awsCtx, e.conf.NotificationQueue(), 10, 0)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			var n command.Notification
			if err := json.Unmarshal([]byte(m.Body), &n); err != nil {
				t.Fatalf("notification %q: %v", m.Body, err)
			}
			out = append(out, n)
			if err := e.queue.Delete(awsCtx, e.conf.NotificationQueue(), m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func awsVersionedSK(t testing.TB, sk string, v int64) string {
	t.Helper()
	s, err := core.VersionedSK(sk, v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAWSPublishAsyncConditionalPut: PublishAsync on DynamoDB — the row
// written, its stream INSERT decoded by the event factory, create/version
// conflicts, exactly one winner of two writers that both read the same
// latest version (forced: both reach PutItem before either writes), and no
// write at all for unchanged input.
func TestAWSPublishAsyncConditionalPut(t *testing.T) {
	e := newAWSEnv(t, nil)
	k := awsKey(t, "p1")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "first", Attributes: core.Attributes{"qty": 1}})
	if c1.Version != 1 || c1.SK != awsVersionedSK(t, k.SK, 1) {
		t.Fatalf("first command %s v%d", c1.SK, c1.Version)
	}
	row := e.commandRow(t, c1.Key())
	if row.Name != "first" || row.Version != 1 || row.Status != core.StatusStarted || row.ID != core.EntityID(k.PK, k.SK) || row.Source != "it" {
		t.Fatalf("stored command row %+v", row)
	}

	// The INSERT read back with the dynamodbstreams API decodes into the
	// record Lambda would get.
	recs := e.readStream(t)
	if len(recs) != 1 || recs[0].EventName != "INSERT" {
		t.Fatalf("stream after one publish: %d records %+v", len(recs), recs)
	}
	raw, _ := json.Marshal(recs[0])
	dec, err := eventfactory.DecodeStreamRecord(raw)
	if err != nil {
		t.Fatalf("DecodeStreamRecord: %v", err)
	}
	img := dec.Change.NewImage
	if img["sk"].String() != c1.SK || img["version"].Number() != "1" || img["status"].String() != string(core.StatusStarted) || img["name"].String() != "first" {
		t.Fatalf("decoded NewImage %v", img)
	}
	if tbl, err := eventfactory.TableFromStreamARN(dec.EventSourceArn); err != nil || tbl != e.conf.CommandTable(awsModule) {
		t.Fatalf("stream ARN %s -> table %q, %v", dec.EventSourceArn, tbl, err)
	}

	// Create again, and a stale version.
	_, err = e.svc.PublishAsync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Name: "again"})
	wantConflict(t, err, 1)
	_, err = e.svc.PublishAsync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Version: 7, Name: "stale"})
	wantConflict(t, err, 1)

	// Two writers of version 1: hold both at PutItem until both have read
	// latest = 1, so the conditional put alone decides.
	const writers = 2
	hold, allArrived := barrier(writers)
	e.db.mu.Lock()
	e.db.beforePut = func(in *dynamodb.PutItemInput) {
		if aws.ToString(in.TableName) == e.conf.CommandTable(awsModule) {
			hold()
		}
	}
	e.db.mu.Unlock()
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.PublishAsync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: fmt.Sprint("writer", i)})
		}()
	}
	wg.Wait()
	e.db.mu.Lock()
	e.db.beforePut = nil
	e.db.mu.Unlock()
	if !allArrived() {
		t.Fatal("the writers never both reached PutItem")
	}
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantConflict(t, err, 2)
	}
	if wins != 1 {
		t.Fatalf("%d writers won: %v", wins, errs)
	}
	latest, err := e.svc.GetCommand(awsCtx, k, core.VersionLatest)
	if err != nil || latest.Version != 2 || !strings.HasPrefix(latest.Name, "writer") {
		t.Fatalf("latest %+v, %v", latest, err)
	}

	// Unchanged input (same name and attributes): no row, no stream record.
	before := len(e.readStream(t))
	res, err := e.svc.PublishAsync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: latest.Name})
	if err != nil || !res.Unchanged || res.Command.Version != 2 {
		t.Fatalf("unchanged publish: %+v, %v", res, err)
	}
	if n := e.count(t, e.conf.CommandTable(awsModule), k.PK); n != 2 {
		t.Fatalf("%d command rows after an unchanged publish, want 2", n)
	}
	after := e.readStream(t)
	if len(after) != before {
		t.Fatalf("unchanged publish added %d stream records", len(after)-before)
	}
	for _, r := range after {
		if r.EventName != "INSERT" {
			t.Fatalf("publishing only puts, but the stream has %s", r.EventName)
		}
	}
}

// TestAWSStreamToApply: the real path of the command flow on DynamoDB —
// the command table's stream read with the dynamodbstreams API, delivered
// to the Dispatcher, which starts one execution per command with a
// deterministic name and a keys-only input; the Apply step with that input
// writes data, history, the superseded command's TTL and the status in one
// TransactWriteItems; redelivery of the records and of the apply is a no-op.
func TestAWSStreamToApply(t *testing.T) {
	e := newAWSEnv(t, func(c *core.Config) { c.TTL = core.TTLDays{Command: 7, History: 30} })
	k := awsKey(t, "flow")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1", Attributes: core.Attributes{"qty": 1, "note": "a"}})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2", Attributes: core.Attributes{"qty": 2}})
	c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v2", IsDeleted: true, Attributes: core.Attributes{"qty": 2}})
	cmds := []*core.Command{c1, c2, c3}

	recs := e.deliverNew(t)
	if len(recs) != 3 {
		t.Fatalf("%d INSERT records, want one per command", len(recs))
	}
	starts, names, _ := e.wf.Snapshot()
	if starts != 3 || len(names) != 3 {
		t.Fatalf("%d StartExecution calls, %d executions; want 3 and 3", starts, len(names))
	}
	for i, c := range cmds {
		want := command.ExecutionName(awsModule, c.PK, c.SK)
		if names[i] != want {
			t.Fatalf("execution %d named %s, want %s", i, names[i], want)
		}
		if in := execInput(t, e.wf, want); in != (command.ExecutionInput{Module: awsModule, PK: c.PK, SK: c.SK}) {
			t.Fatalf("execution input %+v", in)
		}
	}

	commandTable, dataTable, historyTable := e.svc.Tables()
	e.db.takeTransacts()
	for i, c := range cmds {
		r := e.applyStep(t, c.Key())
		if r.Outcome != command.OutcomeApplied || r.Next != command.NextDone || r.Version != c.Version {
			t.Fatalf("Apply step of v%d = %+v", c.Version, r)
		}
		want := []string{"Put " + dataTable, "Update " + commandTable}
		if i > 0 {
			// history copy of the previous data row, command TTL on the
			// superseded command.
			want = []string{"Put " + dataTable, "Put " + historyTable, "Update " + commandTable, "Update " + commandTable}
		}
		sort.Strings(want)
		if got := e.db.takeTransacts(); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("apply of v%d wrote %v, want one TransactWriteItems %v", c.Version, got, want)
		}
		if row := e.commandRow(t, c.Key()); row.Status != core.StatusFinished {
			t.Fatalf("v%d status %q after the default path, want finished", c.Version, row.Status)
		}
	}

	d := e.dataRow(t, dataTable, k)
	if d.Version != 3 || !d.IsDeleted || d.Name != "v2" || d.CPK != c3.PK || d.CSK != c3.SK || d.Attributes["qty"] != json.Number("2") {
		t.Fatalf("data row %+v", d)
	}
	if first := e.commandRow(t, c1.Key()); d.CreatedAt.IsZero() || !d.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("data row createdAt %v, want the first version's %v", d.CreatedAt, first.CreatedAt)
	}
	for _, c := range cmds[:2] {
		h := e.dataRow(t, historyTable, core.Key{PK: k.PK, SK: awsVersionedSK(t, k.SK, c.Version)})
		if h.Version != c.Version || h.Name != c.Name || h.CSK != c.SK || h.TTL == 0 {
			t.Fatalf("history row of v%d %+v", c.Version, h)
		}
		// The TTL attribute is what the flow controls; expiry is
		// DynamoDB's (and moto 5.2.1 never deletes expired items), so
		// only the attribute is asserted.
		if row := e.commandRow(t, c.Key()); row.TTL <= time.Now().Unix() {
			t.Fatalf("superseded command v%d has TTL %d, want one in the future", c.Version, row.TTL)
		}
	}
	if row := e.commandRow(t, c3.Key()); row.TTL != 0 {
		t.Fatalf("latest command has TTL %d", row.TTL)
	}
	if n := e.count(t, historyTable, k.PK); n != 2 {
		t.Fatalf("%d history rows, want 2", n)
	}
	// Finish published one notification per command through SNS.
	notes := e.notifications(t)
	sort.Slice(notes, func(i, j int) bool { return notes[i].Version < notes[j].Version })
	if len(notes) != 3 {
		t.Fatalf("%d notifications, want 3: %+v", len(notes), notes)
	}
	for i, n := range notes {
		if n.Action != "command-status" || n.Status != core.StatusFinished || n.Version != cmds[i].Version || n.SK != cmds[i].SK || n.Table != commandTable {
			t.Fatalf("notification %d: %+v", i, n)
		}
	}

	// Redelivery: the same INSERT records again start no new execution
	// (same names and inputs), and a redelivered apply writes nothing.
	e.deliver(t, recs)
	if starts, names, _ := e.wf.Snapshot(); starts != 6 || len(names) != 3 {
		t.Fatalf("after redelivery: %d StartExecution calls, %d executions; want 6 and 3", starts, len(names))
	}
	for _, c := range cmds {
		if r := e.applyStep(t, c.Key()); r.Outcome != command.OutcomeAlreadyApplied || r.Next != command.NextDone {
			t.Fatalf("redelivered apply of v%d = %+v", c.Version, r)
		}
	}
	if got := e.db.takeTransacts(); len(got) != 0 {
		t.Fatalf("redelivered applies wrote %v", got)
	}
	if n := e.count(t, historyTable, k.PK); n != 2 {
		t.Fatalf("%d history rows after redelivery, want 2", n)
	}
	// A redelivered apply of a finished command re-runs the (idempotent)
	// finish, which notifies again: notifications are at least once. They
	// must repeat the finished status, never report anything new.
	for _, n := range e.notifications(t) {
		if n.Status != core.StatusFinished || n.Version < 1 || n.Version > 3 || n.SK != cmds[n.Version-1].SK {
			t.Fatalf("notification after redelivery: %+v", n)
		}
	}
	if d2 := e.dataRow(t, dataTable, k); !reflect.DeepEqual(d2, d) {
		t.Fatalf("redelivery changed the data row:\n%+v\n%+v", d2, d)
	}

	// Every stream record is an INSERT of a put command row or a MODIFY of
	// its status: one INSERT per command. (moto emits two INSERTs for an
	// UpdateItem that creates an item; the flow never creates rows with
	// UpdateItem, so no allowance is made for it here.)
	inserts := map[string]int{}
	for _, r := range e.readStream(t) {
		switch r.EventName {
		case "INSERT":
			inserts[r.Change.Keys["sk"].String()]++
		case "MODIFY":
		default:
			t.Fatalf("unexpected %s record", r.EventName)
		}
	}
	if len(inserts) != 3 || inserts[c1.SK] != 1 || inserts[c2.SK] != 1 || inserts[c3.SK] != 1 {
		t.Fatalf("INSERT records per command: %v", inserts)
	}
}

// TestAWSOutOfOrder: v2's Apply runs before v1's; it waits (task token
// stored on its row by the Wait step's conditional update), v1's apply
// resumes it, and v2 then applies on top of v1.
func TestAWSOutOfOrder(t *testing.T) {
	e := newAWSEnv(t, nil)
	k := awsKey(t, "ooo")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	// The records arrive in reverse order (separate batches, as from two
	// shards or a retried batch).
	recs := e.readStream(t)
	if len(recs) != 2 {
		t.Fatalf("%d stream records", len(recs))
	}
	e.deliver(t, recs[1:])
	e.deliver(t, recs[:1])

	r := e.applyStep(t, c2.Key())
	if r.Outcome != command.OutcomeWait || r.Next != command.NextWait {
		t.Fatalf("v2 before v1: %+v", r)
	}
	in := execInput(t, e.wf, command.ExecutionName(awsModule, c2.PK, c2.SK))
	out, err := e.step(t, command.StateWait, command.StepInput{ExecutionInput: in}, "token-v2")
	if err != nil {
		t.Fatalf("Wait step: %v", err)
	}
	if sr, ok := out.(command.StepResult); !ok || sr.Resume {
		t.Fatalf("Wait step = %#v, want to wait", out)
	}
	if row := e.commandRow(t, c2.Key()); row.Status != core.StatusWaiting || row.TaskToken != "token-v2" {
		t.Fatalf("waiting row: status %q token %q", row.Status, row.TaskToken)
	}
	if _, err := e.svc.GetData(awsCtx, k, true); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("data written before v1 applied: %v", err)
	}

	r = e.applyStep(t, c1.Key())
	if r.Outcome != command.OutcomeApplied || r.Next != command.NextDone || r.Resumed != 1 {
		t.Fatalf("v1: %+v", r)
	}
	if _, _, resumed := e.wf.Snapshot(); !reflect.DeepEqual(resumed, []string{"token-v2"}) {
		t.Fatalf("v1 resumed %v, want [token-v2]", resumed)
	}
	r = e.applyStep(t, c2.Key())
	if r.Outcome != command.OutcomeApplied || r.Next != command.NextDone {
		t.Fatalf("v2 after v1: %+v", r)
	}
	d, err := e.svc.GetData(awsCtx, k, true)
	if err != nil || d.Version != 2 || d.Name != "v2" {
		t.Fatalf("data %+v, %v", d, err)
	}
	hist, err := e.svc.History(awsCtx, k)
	if err != nil || len(hist) != 1 || hist[0].Version != 1 || hist[0].Name != "v1" {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if row := e.commandRow(t, c2.Key()); row.Status != core.StatusFinished || row.TaskToken != "" {
		t.Fatalf("v2 row: status %q token %q", row.Status, row.TaskToken)
	}
}

// TestAWSConcurrentApplyOneWins: two applies of the same version that
// both read the same data row (forced: both reach TransactWriteItems before
// either writes). DynamoDB cancels one transaction on its conditions; that
// apply re-reads and reports already_applied. Exactly one set of rows is
// written. The two transactions reach the endpoint one after the other
// (endpointtest.Serialized), as DynamoDB's serializable transactions would
// commit them; unserialized, moto lets both commit now and then. The same
// race runs on the in-memory store, whose transactions are serializable,
// in TestConcurrentApplyOneWins.
func TestAWSConcurrentApplyOneWins(t *testing.T) {
	e := newAWSEnv(t, func(c *core.Config) { c.TTL = core.TTLDays{Command: 7} })
	k := awsKey(t, "race")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	if r, err := e.svc.Apply(awsCtx, c1.Key()); err != nil || r.Outcome != command.OutcomeApplied {
		t.Fatalf("apply v1: %+v, %v", r, err)
	}
	hold, allArrived := barrier(2)
	e.db.takeTransacts()
	e.db.mu.Lock()
	e.db.txErrs = nil
	e.db.beforeTx = func() {
		// Hold only the first transaction of each apply; the loser's
		// retry after its cancellation must not wait for a partner.
		e.db.mu.Lock()
		n := len(e.db.transacts)
		e.db.mu.Unlock()
		if n <= 2 {
			hold()
		}
	}
	e.db.mu.Unlock()
	results := make([]command.ApplyResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.svc.Apply(awsCtx, c2.Key())
		}()
	}
	wg.Wait()
	e.db.mu.Lock()
	e.db.beforeTx = nil
	txErrs := append([]error(nil), e.db.txErrs...)
	e.db.mu.Unlock()
	if !allArrived() {
		t.Fatal("the applies never both reached TransactWriteItems")
	}
	outcomes := map[command.Outcome]int{}
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("apply %d: %v", i, errs[i])
		}
		outcomes[results[i].Outcome]++
	}
	if outcomes[command.OutcomeApplied] != 1 || outcomes[command.OutcomeAlreadyApplied] != 1 {
		t.Fatalf("outcomes %v, want one applied and one already_applied", outcomes)
	}
	// The SDK saw one success and one cancellation; the adapter turned the
	// cancellation into the core.ErrConditionFailed the apply retries on
	// (otherwise Apply would have returned it).
	ok, canceled := 0, 0
	for _, err := range txErrs {
		var tce *dtypes.TransactionCanceledException
		switch {
		case err == nil:
			ok++
		case errors.As(err, &tce):
			canceled++
		default:
			t.Fatalf("transaction error %v", err)
		}
	}
	if ok != 1 || canceled != 1 {
		t.Fatalf("%d transactions succeeded, %d were canceled; want 1 and 1", ok, canceled)
	}
	_, dataTable, historyTable := e.svc.Tables()
	if d := e.dataRow(t, dataTable, k); d.Version != 2 || d.CSK != c2.SK {
		t.Fatalf("data row %+v", d)
	}
	if n := e.count(t, historyTable, k.PK); n != 1 {
		t.Fatalf("%d history rows, want 1", n)
	}
	if row := e.commandRow(t, c2.Key()); row.Status != core.StatusApplied {
		t.Fatalf("v2 status %q", row.Status)
	}
	if row := e.commandRow(t, c1.Key()); row.TTL == 0 {
		t.Fatal("superseded v1 has no TTL")
	}
}

// TestAWSConditionalStatus: the status updates are conditioned on the
// status read. A command marked failed (the MarkFailed step) is never
// applied, its successor applies on top of the last applied version, and a
// Wait step on a command whose status moved meanwhile resumes at once.
// Finishing an unapplied command is refused.
func TestAWSConditionalStatus(t *testing.T) {
	e := newAWSEnv(t, nil)
	k := awsKey(t, "st")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v3"})
	e.deliverNew(t)

	if _, err := e.svc.Finish(awsCtx, c2.Key()); err == nil {
		t.Fatal("Finish of an unapplied command succeeded")
	}
	if row := e.commandRow(t, c2.Key()); row.Status != core.StatusStarted {
		t.Fatalf("refused Finish changed the status to %q", row.Status)
	}
	if r := e.applyStep(t, c3.Key()); r.Next != command.NextWait {
		t.Fatalf("v3 first: %+v", r)
	}
	in3 := execInput(t, e.wf, command.ExecutionName(awsModule, c3.PK, c3.SK))
	if out, err := e.step(t, command.StateWait, command.StepInput{ExecutionInput: in3}, "token-v3"); err != nil || out.(command.StepResult).Resume {
		t.Fatalf("Wait step of v3: %#v, %v", out, err)
	}

	// v2 fails (a Catch led to MarkFailed): status failed, with the error,
	// and its waiting successor v3 is resumed.
	in2 := execInput(t, e.wf, command.ExecutionName(awsModule, c2.PK, c2.SK))
	if _, err := e.step(t, command.StateMarkFailed, command.StepInput{ExecutionInput: in2, Error: &eventfactory.SFNError{Error: "States.TaskFailed", Cause: "boom"}}, ""); err != nil {
		t.Fatalf("MarkFailed: %v", err)
	}
	row := e.commandRow(t, c2.Key())
	if row.Status != core.StatusFailed || !strings.Contains(row.Error, "boom") {
		t.Fatalf("failed row: status %q error %q", row.Status, row.Error)
	}
	if _, _, resumed := e.wf.Snapshot(); !reflect.DeepEqual(resumed, []string{"token-v3"}) {
		t.Fatalf("MarkFailed of v2 resumed %v, want [token-v3]", resumed)
	}
	if r := e.applyStep(t, c2.Key()); r.Outcome != command.OutcomeFailed || r.Next != command.NextFailed {
		t.Fatalf("apply of the failed v2: %+v", r)
	}
	// Resumed, v3's execution goes back to Apply: v1 is still unsettled,
	// so it waits again with a new task token.
	if r := e.applyStep(t, c3.Key()); r.Next != command.NextWait {
		t.Fatalf("v3 after v2 failed, v1 pending: %+v", r)
	}
	if out, err := e.step(t, command.StateWait, command.StepInput{ExecutionInput: in3}, "token-v3b"); err != nil || out.(command.StepResult).Resume {
		t.Fatalf("second Wait step of v3: %#v, %v", out, err)
	}
	if row := e.commandRow(t, c3.Key()); row.Status != core.StatusWaiting || row.TaskToken != "token-v3b" {
		t.Fatalf("v3 row: status %q token %q", row.Status, row.TaskToken)
	}
	// v1 applies; its finish resumes v3 across the failed v2.
	if r := e.applyStep(t, c1.Key()); r.Outcome != command.OutcomeApplied || r.Resumed != 1 {
		t.Fatalf("v1: %+v", r)
	}
	if _, _, resumed := e.wf.Snapshot(); !reflect.DeepEqual(resumed, []string{"token-v3", "token-v3b"}) {
		t.Fatalf("resumed %v, want [token-v3 token-v3b]", resumed)
	}
	if r := e.applyStep(t, c3.Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("v3 after v1 and failed v2: %+v", r)
	}
	d, err := e.svc.GetData(awsCtx, k, true)
	if err != nil || d.Version != 3 || d.Name != "v3" {
		t.Fatalf("data %+v, %v", d, err)
	}
	hist, err := e.svc.History(awsCtx, k)
	if err != nil || len(hist) != 1 || hist[0].Version != 1 {
		t.Fatalf("history %+v, %v; want only v1 (v2 never applied)", hist, err)
	}
	// A Wait step for a command that is settled already resumes itself
	// without touching the row.
	before := e.commandRow(t, c3.Key())
	out, err := e.step(t, command.StateWait, command.StepInput{ExecutionInput: in3}, "late-token")
	if err != nil || !out.(command.StepResult).Resume {
		t.Fatalf("late Wait step: %#v, %v", out, err)
	}
	if after := e.commandRow(t, c3.Key()); !reflect.DeepEqual(after, before) {
		t.Fatalf("late Wait step changed the row: %+v", after)
	}
}

// TestAWSReadSidePagination: ListData pages with a small Limit (DynamoDB
// Limit + LastEvaluatedKey, both orders, with a sort-key condition), and
// ListVersions/History follow LastEvaluatedKey across DynamoDB's 1 MB pages.
func TestAWSReadSidePagination(t *testing.T) {
	e := newAWSEnv(t, nil)
	const entities = 11
	for i := range entities {
		k := awsKey(t, fmt.Sprintf("e%02d", i))
		if _, err := e.svc.PublishSync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Another entity type in the same partition, outside the begins_with.
	other, _ := core.NewKey("ORDER", "acme", "x")
	other.SK = "NOTE#x"
	if _, err := e.svc.PublishSync(awsCtx, command.Input{PK: other.PK, SK: other.SK, Name: "note"}); err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{false, true} {
		var got []string
		cursor, pages := "", 0
		for {
			page, err := e.svc.ListData(awsCtx, command.ListInput{PK: "ORDER#acme", Op: core.SKBeginsWith, SK: "ORDER#e", Limit: 4, Cursor: cursor, Descending: desc})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.Items) > 4 {
				t.Fatalf("page of %d rows with Limit 4", len(page.Items))
			}
			for _, d := range page.Items {
				got = append(got, d.Name)
			}
			if page.Cursor == "" {
				break
			}
			cursor = page.Cursor
		}
		want := make([]string, entities)
		for i := range want {
			want[i] = fmt.Sprint(i)
			if desc {
				want[i] = fmt.Sprint(entities - 1 - i)
			}
		}
		if !reflect.DeepEqual(got, want) || pages != 3 {
			t.Fatalf("descending=%v: %d pages %v, want 3 pages %v", desc, pages, got, want)
		}
	}

	// Versions of ~220 KB each (under the default offload threshold, so
	// inline): 6 command rows, or 5 history rows, are over 1 MB, which
	// DynamoDB returns in more than one page.
	k := awsKey(t, "big")
	blob := strings.Repeat("v", 220*1024)
	const versions = 6
	for v := int64(1); v <= versions; v++ {
		if _, err := e.svc.PublishSync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: fmt.Sprint("v", v), Attributes: core.Attributes{"blob": blob, "v": v}}); err != nil {
			t.Fatalf("publish v%d: %v", v, err)
		}
	}
	q0, c0 := e.db.queryCounts()
	vers, err := e.svc.ListVersions(awsCtx, k)
	if err != nil || len(vers) != versions {
		t.Fatalf("ListVersions: %d, %v", len(vers), err)
	}
	for i, c := range vers {
		if c.Version != int64(i+1) || c.Attributes["blob"] != blob || c.AttributesRef != "" {
			t.Fatalf("version %d: v%d, ref %q", i, c.Version, c.AttributesRef)
		}
	}
	q1, c1 := e.db.queryCounts()
	if c1-c0 < 1 {
		t.Fatalf("ListVersions over %d KB made %d queries, none continued: no pagination exercised", versions*220, q1-q0)
	}
	hist, err := e.svc.History(awsCtx, k)
	if err != nil || len(hist) != versions-1 {
		t.Fatalf("History: %d, %v", len(hist), err)
	}
	for i, h := range hist {
		if h.Version != int64(i+1) || h.Attributes["blob"] != blob {
			t.Fatalf("history %d: v%d", i, h.Version)
		}
	}
	if _, c2 := e.db.queryCounts(); c2-c1 < 1 {
		t.Fatal("History over 1 MB made no continued query")
	}
}

// TestAWSLargeAttributes: attributes over the offload threshold (here also
// over DynamoDB's 400 KB item limit) go to S3, the rows carry the s3://
// reference, and every read path resolves it.
func TestAWSLargeAttributes(t *testing.T) {
	e := newAWSEnv(t, func(c *core.Config) { c.AttributeOffloadBytes = 8 * 1024 })
	k := awsKey(t, "large")
	blob := strings.Repeat("x", 500*1024)
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "big", Attributes: core.Attributes{"blob": blob, "n": 1}})
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "big2", Attributes: core.Attributes{"blob": blob, "n": 2}})
	row := e.commandRow(t, c1.Key())
	prefix := "s3://" + e.conf.Bucket() + "/"
	if !strings.HasPrefix(row.AttributesRef, prefix) || len(row.Attributes) != 0 {
		t.Fatalf("command row not offloaded: ref %q, %d attributes", row.AttributesRef, len(row.Attributes))
	}
	// The object is in the bucket, as JSON of the attributes.
	s3c := awsadapter.NewS3Client(e.aws, awsadapter.S3PathStyle(e.aws))
	obj, err := s3c.GetObject(awsCtx, &s3.GetObjectInput{Bucket: aws.String(e.conf.Bucket()), Key: aws.String(strings.TrimPrefix(row.AttributesRef, prefix))})
	if err != nil {
		t.Fatalf("offloaded object: %v", err)
	}
	body, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	var stored map[string]any
	if err := json.Unmarshal(body, &stored); err != nil || stored["blob"] != blob {
		t.Fatalf("offloaded object is not the attributes' JSON (%d bytes): %v", len(body), err)
	}

	e.deliverNew(t)
	for _, c := range []*core.Command{c1, c2} {
		if r := e.applyStep(t, c.Key()); r.Outcome != command.OutcomeApplied {
			t.Fatalf("apply v%d: %+v", c.Version, r)
		}
	}
	_, dataTable, historyTable := e.svc.Tables()
	if d := e.dataRow(t, dataTable, k); d.AttributesRef != e.commandRow(t, c2.Key()).AttributesRef || d.AttributesRef == "" {
		t.Fatalf("data row ref %q, want the command's", d.AttributesRef)
	}
	check := func(what string, a core.Attributes, ref, n string) {
		t.Helper()
		if ref != "" || a["blob"] != blob || a["n"] != json.Number(n) {
			t.Fatalf("%s: attributes not resolved (ref %q, n %v)", what, ref, a["n"])
		}
	}
	got, err := e.svc.GetCommand(awsCtx, k, 1)
	if err != nil {
		t.Fatal(err)
	}
	check("GetCommand", got.Attributes, got.AttributesRef, "1")
	d, err := e.svc.GetData(awsCtx, k, true)
	if err != nil {
		t.Fatal(err)
	}
	check("GetData", d.Attributes, d.AttributesRef, "2")
	hist, err := e.svc.History(awsCtx, k)
	if err != nil || len(hist) != 1 {
		t.Fatalf("History: %d, %v", len(hist), err)
	}
	check("History", hist[0].Attributes, hist[0].AttributesRef, "1")
	if h := e.dataRow(t, historyTable, core.Key{PK: k.PK, SK: awsVersionedSK(t, k.SK, 1)}); h.AttributesRef != row.AttributesRef {
		t.Fatalf("history row ref %q, want v1's %q", h.AttributesRef, row.AttributesRef)
	}
	page, err := e.svc.ListData(awsCtx, command.ListInput{PK: k.PK})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ListData: %d, %v", len(page.Items), err)
	}
	check("ListData", page.Items[0].Attributes, page.Items[0].AttributesRef, "2")
	vers, err := e.svc.ListVersions(awsCtx, k)
	if err != nil || len(vers) != 2 {
		t.Fatalf("ListVersions: %d, %v", len(vers), err)
	}
	check("ListVersions", vers[1].Attributes, vers[1].AttributesRef, "2")
	res, err := e.svc.PublishAsync(awsCtx, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "big2", Attributes: core.Attributes{"blob": blob, "n": 2}})
	if err != nil || !res.Unchanged {
		t.Fatalf("unchanged large input: %+v, %v", res, err)
	}
	objs, err := e.objects.List(awsCtx, e.conf.Bucket(), "")
	if err != nil || len(objs) != 2 {
		t.Fatalf("%d objects (%v), want 2: data and history share the commands'", len(objs), err)
	}
}

// TestAWSStateMachineDeployable: the exported command state machine
// definition is accepted by CreateStateMachine (through Provision) and
// stored as sent. moto 5.2.1 does not validate Amazon States Language (only
// names, role ARN and encryption settings), so the test also checks what AWS
// would reject and moto would not: the size limit, and that every Task
// invokes the function through a Lambda integration AWS knows.
func TestAWSStateMachineDeployable(t *testing.T) {
	cfg := endpointtest.Config(t)
	opts := command.StateMachineOptions{FunctionARN: awsFunctionARN, WaitTimeoutSeconds: 60, SyncMaxConcurrency: 2}
	def, err := command.StateMachineJSON(opts)
	if err != nil {
		t.Fatal(err)
	}
	name := endpointtest.Name("command-sm")
	res, err := localstack.Provision(awsCtx, cfg, localstack.Spec{StateMachines: []localstack.StateMachineSpec{{Name: name, Definition: string(def)}}})
	if err != nil {
		t.Fatalf("CreateStateMachine rejected the definition: %v", err)
	}
	arn := res.StateMachineARNs[name]
	if command.MachineName(arn) != name {
		t.Fatalf("state machine ARN %q", arn)
	}
	out, err := sfn.NewFromConfig(cfg).DescribeStateMachine(awsCtx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(def, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Definition)), &got); err != nil {
		t.Fatalf("stored definition: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored definition differs from the exported one")
	}
	if len(def) > 1<<20 {
		t.Fatalf("definition is %d bytes, over Step Functions' 1 MiB", len(def))
	}
	tasks := 0
	var walk func(states map[string]any)
	walk = func(states map[string]any) {
		for name, v := range states {
			st, _ := v.(map[string]any)
			if st["Type"] == "Task" {
				tasks++
				params, _ := st["Parameters"].(map[string]any)
				res := st["Resource"]
				if (res != "arn:aws:states:::lambda:invoke" && res != "arn:aws:states:::lambda:invoke.waitForTaskToken") || params["FunctionName"] != awsFunctionARN {
					t.Errorf("task %s: resource %v, function %v", name, res, params["FunctionName"])
				}
			}
			for _, sub := range []string{"ItemProcessor", "Iterator"} {
				if p, ok := st[sub].(map[string]any); ok {
					inner, _ := p["States"].(map[string]any)
					walk(inner)
				}
			}
		}
	}
	states, _ := got["States"].(map[string]any)
	walk(states)
	if tasks != 5 {
		t.Errorf("%d Task states, want 5 (Apply, Wait, SyncHandler, Finish, MarkFailed)", tasks)
	}
	for _, s := range []string{command.StateApply, command.StateRoute, command.StateWait, command.StateSync, command.StateFinish, command.StateMarkFailed} {
		if _, ok := states[s]; !ok {
			t.Errorf("deployed definition has no state %s", s)
		}
	}
}
