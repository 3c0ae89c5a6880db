package importcsv

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// flaky is an item store whose transactions fail once armed: every one
// on table (when set) after the first okLeft have passed.
type flaky struct {
	core.ItemStore
	table  string
	okLeft atomic.Int64
	armed  atomic.Bool
	perm   bool // fail with a plain error rather than a TransientError
}

func (f *flaky) Transact(ctx context.Context, ops []core.TxOp) error {
	if f.armed.Load() && (f.table == "" || ops[0].Table == f.table) && f.okLeft.Add(-1) < 0 {
		if f.perm {
			return errors.New("flaky: connection reset")
		}
		return &core.TransientError{Service: "dynamodb", Err: errors.New("flaky: throttled")}
	}
	return f.ItemStore.Transact(ctx, ops)
}

// fixture is an import service on a memory store, with a job and its file
// ready for batches.
func fixture(t *testing.T, store *flaky) (*Service, *jobRow, *fileRow, *command.Service) {
	t.Helper()
	ctx := context.Background()
	cfg := core.DefaultConfig()
	mem := memory.NewStore()
	for _, tb := range []string{cfg.CommandTable("order"), cfg.DataTable("order"), cfg.HistoryTable("order"), cfg.ImportTable()} {
		if err := mem.CreateTable(tb); err != nil {
			t.Fatal(err)
		}
	}
	store.ItemStore = mem
	cmd, err := command.New(command.Options{Module: "order", Config: cfg, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	Register(reg, "order", Strategy[core.Attributes]{Type: "ORDER"})
	s, err := New(Options{Config: cfg, Store: store, Commands: CommandsOf(map[string]*command.Service{"order": cmd}), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := jobKey("acme", "J1")
	job := &jobRow{PK: k.PK, SK: k.SK, Kind: "job", TenantCode: "acme", Module: "order", Mode: ModeStepFunction, Status: StatusProcessing, Version: 1}
	it, _ := core.MarshalItem(job)
	if err := mem.Put(ctx, s.table, it, core.IfAbsent()); err != nil {
		t.Fatal(err)
	}
	if job, err = s.createFiles(ctx, job, []fileSpec{{name: "f.csv"}}); err != nil {
		t.Fatal(err)
	}
	f, err := s.readFile(ctx, job.key(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if f, err = s.startFile(ctx, f, []string{"code", "name"}, []string{"code", "name"}, 100, 0); err != nil {
		t.Fatal(err)
	}
	return s, job, f, cmd
}

func hundredRows() []batchRow {
	rows := make([]batchRow, 100)
	for i := range rows {
		rows[i] = batchRow{row: Row{Number: i + 1, Header: []string{"code", "name"}, Fields: []string{fmt.Sprintf("k%03d", i+1), fmt.Sprintf("row %d", i+1)}}}
	}
	return rows
}

// checkCreatedOnce checks that every row of the batch created its entity
// with exactly one version, and that the outcomes say so.
func checkCreatedOnce(t *testing.T, s *Service, job *jobRow, cmd *command.Service, c Counts) {
	t.Helper()
	ctx := context.Background()
	if c != (Counts{Created: 100}) {
		t.Fatalf("counts %+v", c)
	}
	f, err := s.readFile(ctx, job.key(), 0)
	if err != nil || f.counts() != (Counts{Total: 100, Created: 100}) || f.Batches != 1 {
		t.Fatalf("file %+v %v", f, err)
	}
	p, err := s.Outcomes(ctx, job.key(), OutcomeQuery{Limit: MaxPageSize})
	if err != nil || len(p.Rows) != 100 {
		t.Fatalf("outcomes %d %v", len(p.Rows), err)
	}
	for i, o := range p.Rows {
		if o.Row != i+1 || o.Outcome != OutcomeCreated || o.Version != 1 {
			t.Fatalf("outcome %+v", o)
		}
		vs, err := cmd.ListVersions(ctx, core.Key{PK: "ORDER#acme", SK: fmt.Sprintf("ORDER#k%03d", i+1)})
		if err != nil || len(vs) != 1 || vs[0].Status != core.StatusFinished {
			t.Fatalf("row %d: %d versions %v", i+1, len(vs), err)
		}
	}
}

// TestBatchRetriedAfterPartialApply: a batch whose step failed after 50
// of its rows were applied is run again; the rows the first attempt
// applied are counted as created (recognised by their source), not as
// unchanged, and nothing is applied twice.
func TestBatchRetriedAfterPartialApply(t *testing.T) {
	ctx := stepCtx(context.Background())
	store := &flaky{table: core.DefaultConfig().CommandTable("order")}
	s, job, f, cmd := fixture(t, store)
	s.set.RowConcurrency = 1
	store.okLeft.Store(50)
	store.armed.Store(true)
	if _, err := s.applyBatch(ctx, job, f, hundredRows()); !errors.Is(err, core.ErrTransient) {
		t.Fatalf("first attempt: %v, want a transient error", err)
	}
	n := 0
	for range 100 {
		if _, err := cmd.GetData(ctx, core.Key{PK: "ORDER#acme", SK: fmt.Sprintf("ORDER#k%03d", n+1)}, true); err != nil {
			break
		}
		n++
	}
	if n != 50 {
		t.Fatalf("the first attempt applied %d rows, want 50", n)
	}
	store.armed.Store(false)
	c, err := s.applyBatch(ctx, job, f, hundredRows())
	if err != nil {
		t.Fatal(err)
	}
	checkCreatedOnce(t, s, job, cmd, c)
	// A third run (the step's result was lost) returns the record.
	if c, err = s.applyBatch(ctx, job, f, hundredRows()); err != nil {
		t.Fatal(err)
	}
	checkCreatedOnce(t, s, job, cmd, c)
}

// TestBatchRetriedAfterLostCommit: every row applied, the batch record's
// write failed; the retry records all of them as created.
func TestBatchRetriedAfterLostCommit(t *testing.T) {
	ctx := stepCtx(context.Background())
	store := &flaky{table: core.DefaultConfig().ImportTable(), perm: true}
	s, job, f, cmd := fixture(t, store)
	store.armed.Store(true)
	if _, err := s.applyBatch(ctx, job, f, hundredRows()); err == nil {
		t.Fatal("the first attempt did not fail")
	}
	store.armed.Store(false)
	c, err := s.applyBatch(ctx, job, f, hundredRows())
	if err != nil {
		t.Fatal(err)
	}
	checkCreatedOnce(t, s, job, cmd, c)
}

// TestAccountFailedBatch: the BatchFailed step counts the rows an attempt
// applied as created and fails the others with the cause.
func TestAccountFailedBatch(t *testing.T) {
	ctx := stepCtx(context.Background())
	store := &flaky{table: core.DefaultConfig().CommandTable("order")}
	s, job, f, _ := fixture(t, store)
	s.set.RowConcurrency = 1
	store.okLeft.Store(30)
	store.armed.Store(true)
	if _, err := s.applyBatch(ctx, job, f, hundredRows()); err == nil {
		t.Fatal("the first attempt did not fail")
	}
	store.armed.Store(false)
	c, err := s.accountBatch(ctx, job, f, hundredRows(), "the batch failed: boom")
	if err != nil {
		t.Fatal(err)
	}
	if c != (Counts{Created: 30, Failed: 70}) {
		t.Fatalf("counts %+v", c)
	}
	p, err := s.Failures(ctx, job.key(), OutcomeQuery{Limit: MaxPageSize})
	if err != nil || len(p.Rows) != 70 || p.Rows[0].Row != 31 || p.Rows[0].Reason != "the batch failed: boom" ||
		fmt.Sprint(p.Rows[0].Fields) != "[k031 row 31]" {
		t.Fatalf("failures %d %+v %v", len(p.Rows), p.Rows[:1], err)
	}
}

// TestGapsAccounted: rows no batch processed are failed when the file
// ends, as ranges; Outcomes and Failures page through them row by row.
func TestGapsAccounted(t *testing.T) {
	ctx := stepCtx(context.Background())
	store := &flaky{}
	s, job, f, _ := fixture(t, store)
	if _, err := s.store.Update(ctx, s.table, f.key(), core.Update{Set: map[string]core.AttributeValue{"total": avN(2500)}}, core.IfExists()); err != nil {
		t.Fatal(err)
	}
	rows := hundredRows()
	for i := range rows {
		rows[i].row.Number += 1000 // rows 1001..1100
	}
	if _, err := s.applyBatch(ctx, job, f, rows); err != nil {
		t.Fatal(err)
	}
	f, err := s.readFile(ctx, job.key(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if f, err = s.finishFile(ctx, job, f, "not imported: the Distributed Map failed: boom", "the Distributed Map failed: boom"); err != nil {
		t.Fatal(err)
	}
	if f.Status != StatusFailed || f.counts() != (Counts{Total: 2500, Created: 100, Failed: 2400}) {
		t.Fatalf("file %s %+v", f.Status, f.counts())
	}
	var all []RowOutcome
	q := OutcomeQuery{Limit: 333}
	for {
		p, err := s.Outcomes(ctx, job.key(), q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Rows...)
		if p.Next == 0 {
			break
		}
		q.After = p.Next
	}
	if len(all) != 2500 {
		t.Fatalf("%d outcomes", len(all))
	}
	for i, o := range all {
		created := o.Row > 1000 && o.Row <= 1100
		if o.Row != i+1 || created != (o.Outcome == OutcomeCreated) || !created && o.Reason != "not imported: the Distributed Map failed: boom" {
			t.Fatalf("outcome %d: %+v", i, o)
		}
	}
	var fails []RowOutcome
	q = OutcomeQuery{Limit: 777}
	for {
		p, err := s.Failures(ctx, job.key(), q)
		if err != nil {
			t.Fatal(err)
		}
		fails = append(fails, p.Rows...)
		if p.Next == 0 {
			break
		}
		q.After = p.Next
	}
	if len(fails) != 2400 || fails[999].Row != 1000 || fails[1000].Row != 1101 || fails[2399].Row != 2500 {
		t.Fatalf("%d failures", len(fails))
	}
}
