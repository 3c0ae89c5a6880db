package importcsv_test

// Integration tests of the import on the AWS adapters, against an
// AWS-compatible endpoint (moto_server, started by endpointtest, or
// AWS_ENDPOINT_URL): the module's tables and the import table with its
// unsettled index, and the bucket, are provisioned on the endpoint; the
// job, file, batch record and failure rows, the counters' transactions and
// the command service's writes run on the real adapters.
//
// moto runs no Distributed Map (it rejects ItemBatcher): StartExecution
// goes to a recording core.Workflows, and the steps are invoked through the
// Dispatcher with the payloads the state machine sends, the batches made
// as the Map's ItemReader and ItemBatcher would. The DynamoDB client is
// Serialized: moto does not isolate concurrent transactions.

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
)

func TestMain(m *testing.M) { endpointtest.Main(m) }

type awsImportEnv struct {
	t       *testing.T
	conf    core.Config
	objects core.ObjectStore
	svc     *importcsv.Service
	cmd     *command.Service
	wf      *coretest.RecordingWorkflows
	disp    *eventfactory.Dispatcher
}

func newAWSImportEnv(t *testing.T) *awsImportEnv {
	t.Helper()
	cfg := endpointtest.Config(t)
	conf := core.Config{Env: "it", AppName: "shop", TablePrefix: endpointtest.Name("imp") + "-",
		ImportStateMachineARN: "arn:aws:states:us-east-1:123456789012:stateMachine:it-import"}
	_, err := localstack.Provision(bg, cfg, localstack.Spec{
		Tables: []localstack.TableSpec{
			{Name: conf.CommandTable("order"), Stream: localstack.StreamNewImage, Indexes: []core.Index{command.UnsettledIndex}},
			{Name: conf.DataTable("order")}, {Name: conf.HistoryTable("order")},
			{Name: conf.ImportTable(), Indexes: []core.Index{importcsv.UnsettledIndex}},
		},
		Buckets: []string{conf.Bucket()},
	})
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	store := awsadapter.NewItemStore(dynamodb.NewFromConfig(endpointtest.Serialized(cfg)))
	objects := awsadapter.NewObjectStore(awsadapter.NewS3Client(cfg, awsadapter.S3PathStyle(cfg)))
	quiet := slog.New(slog.DiscardHandler)
	cmd, err := command.New(command.Options{Module: "order", Config: conf, Store: store, Objects: objects, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &awsImportEnv{t: t, conf: conf, objects: objects, cmd: cmd, wf: &coretest.RecordingWorkflows{}}
	e.svc, err = importcsv.New(importcsv.Options{Config: conf, Store: store, Objects: objects, Workflows: e.wf,
		Commands: importcsv.CommandsOf(map[string]*command.Service{"order": cmd}), Registry: registry(),
		Settings: importcsv.Settings{BatchSize: 3}, Logger: quiet})
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

// step invokes a step of the import state machine as Step Functions does.
func (e *awsImportEnv) step(job core.Key, state string, in any, out any) {
	e.t.Helper()
	raw, _ := json.Marshal(in)
	name := importcsv.ExecutionName(job)
	now := time.Now()
	p := eventfactory.SFNPayload{Input: raw, Context: &eventfactory.SFNContext{
		Execution:    eventfactory.SFNExecution{ID: awsadapter.ExecutionARN(e.conf.ImportStateMachineARN, name), Name: name, StartTime: now},
		State:        eventfactory.SFNState{Name: state, EnteredTime: now},
		StateMachine: eventfactory.SFNStateMachine{ID: e.conf.ImportStateMachineARN},
	}}
	payload, _ := json.Marshal(p)
	res, err := e.disp.Dispatch(bg, payload)
	if err != nil {
		e.t.Fatalf("step %s: %v", state, err)
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, out); err != nil {
		e.t.Fatal(err)
	}
}

// TestAWSImportSteps runs the steps of a step-function job on the AWS
// adapters: Next scans the file, the batches apply their rows (one of
// them twice, as a retried child execution), Next finalizes the job.
func TestAWSImportSteps(t *testing.T) {
	e := newAWSImportEnv(t)
	body := "code,name,total\nA1,one,1\nA2,two,2\nA3,three\nA4,four,4\nA5,five,5\n"
	if err := e.objects.Put(bg, e.conf.Bucket(), "in/orders.csv", []byte(body), "text/csv"); err != nil {
		t.Fatal(err)
	}
	job, err := e.svc.Import(bg, importcsv.JobInput{TenantCode: "acme", Module: "order", Mode: importcsv.ModeStepFunction,
		Object: &importcsv.Source{Bucket: e.conf.Bucket(), Key: "in/orders.csv"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, started, _ := e.wf.Snapshot(); job.Status != importcsv.StatusCreated || len(started) != 1 {
		t.Fatalf("job %+v, executions %v", job, started)
	}
	var st importcsv.StepState
	e.step(job.Key(), importcsv.StateNext, importcsv.ExecutionInput{PK: job.PK, SK: job.SK}, &st)
	if st.Done || st.File == nil || st.File.Key != "in/orders.csv" || st.MaxItemsPerBatch != 3 {
		t.Fatalf("Next: %+v", st)
	}
	// The Map's items: the rows as its CSV reader gives them (the ragged
	// row padded), three to a batch.
	rd, err := importcsv.NewReader(strings.NewReader(body), "orders.csv", 0)
	if err != nil {
		t.Fatal(err)
	}
	var items []importcsv.BatchItem
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		m := map[string]string{}
		for i, h := range row.Header {
			m[h] = ""
			if i < len(row.Fields) {
				m[h] = row.Fields[i]
			}
		}
		items = append(items, importcsv.BatchItem{N: row.Number - 1, R: m})
	}
	batch := func(items []importcsv.BatchItem) importcsv.BatchInput {
		var in importcsv.BatchInput
		in.Items = items
		in.BatchInput.PK, in.BatchInput.SK, in.BatchInput.File = job.PK, job.SK, st.File.Index
		return in
	}
	var r1, r1again, r2 importcsv.BatchResult
	e.step(job.Key(), importcsv.StateApplyBatch, batch(items[:3]), &r1)
	e.step(job.Key(), importcsv.StateApplyBatch, batch(items[:3]), &r1again)
	e.step(job.Key(), importcsv.StateApplyBatch, batch(items[3:]), &r2)
	if r1.Counts != (importcsv.Counts{Created: 2, Failed: 1}) || r1again != r1 || r2.Counts != (importcsv.Counts{Created: 2}) {
		t.Fatalf("batches %+v %+v %+v", r1, r1again, r2)
	}
	var end importcsv.StepState
	st.Map = nil
	e.step(job.Key(), importcsv.StateNext, st, &end)
	if !end.Done || end.Status != importcsv.StatusCompletedWithFailures {
		t.Fatalf("Next: %+v", end)
	}
	d, err := e.svc.Get(bg, job.Key())
	if err != nil {
		t.Fatal(err)
	}
	if d.Job.Counts != (importcsv.Counts{Total: 5, Created: 4, Failed: 1}) || d.Files[0].Batches != 2 {
		t.Fatalf("job %+v files %+v", d.Job, d.Files)
	}
	p, err := e.svc.Outcomes(bg, job.Key(), importcsv.OutcomeQuery{Limit: 2})
	if err != nil || len(p.Rows) != 2 || p.Next != 2 || p.Rows[1].SK != "ORDER#A2" {
		t.Fatalf("outcomes %+v %v", p, err)
	}
	p, err = e.svc.Outcomes(bg, job.Key(), importcsv.OutcomeQuery{After: p.Next, Limit: 10})
	if err != nil || len(p.Rows) != 3 || p.Next != 0 || p.Rows[0].Outcome != importcsv.OutcomeFailed || p.Rows[0].Reason != "the row has 2 fields, the header has 3" {
		t.Fatalf("outcomes %+v %v", p, err)
	}
	f, err := e.svc.Failures(bg, job.Key(), importcsv.OutcomeQuery{})
	if err != nil || len(f.Rows) != 1 || f.Rows[0].Row != 3 {
		t.Fatalf("failures %+v %v", f, err)
	}
	for _, code := range []string{"A1", "A2", "A4", "A5"} {
		vs, err := e.cmd.ListVersions(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#" + code})
		if err != nil || len(vs) != 1 || vs[0].Status != core.StatusFinished || vs[0].Source == "" {
			t.Fatalf("%s: %+v %v", code, vs, err)
		}
	}
}

// TestAWSImportDirect imports directly on the AWS adapters, then again:
// the second run writes nothing and finds every row unchanged.
func TestAWSImportDirect(t *testing.T) {
	e := newAWSImportEnv(t)
	body := "code,name\nB1,one\nB2,two\nB3,three\nB4,four\n"
	for _, want := range []importcsv.Counts{{Total: 4, Created: 4}, {Total: 4, Unchanged: 4}} {
		job, err := e.svc.Import(bg, importcsv.JobInput{TenantCode: "acme", Module: "order", Reader: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		if job.Status != importcsv.StatusCompleted || job.Counts != want {
			t.Fatalf("job %s %+v (%s), want %+v", job.Status, job.Counts, job.Reason, want)
		}
	}
	d, err := e.cmd.GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#B3"}, true)
	if err != nil || d.Name != "three" || d.Version != 1 {
		t.Fatalf("data %+v %v", d, err)
	}
}
