package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// Tests that pin down behaviour a one-line change of the command flow
// would otherwise break unnoticed: interleavings forced between two store
// calls of a step, the exact bound of the timed-out waits, the
// executions recovery leaves alone, history contents, and stale versions
// with equal content.

// interleaveStore forwards to the ItemStore it wraps and runs the test's
// hooks before Get and Transact calls: another step can be put between
// two store calls of the step under test, deterministically.
type interleaveStore struct {
	core.ItemStore
	beforeGet      func(ctx context.Context, table string, k core.Key)
	beforeTransact func(ctx context.Context, ops []core.TxOp)
}

func (s *interleaveStore) Get(ctx context.Context, table string, k core.Key, consistent bool) (core.Item, error) {
	if s.beforeGet != nil {
		s.beforeGet(ctx, table, k)
	}
	return s.ItemStore.Get(ctx, table, k, consistent)
}

func (s *interleaveStore) Transact(ctx context.Context, ops []core.TxOp) error {
	if s.beforeTransact != nil {
		s.beforeTransact(ctx, ops)
	}
	return s.ItemStore.Transact(ctx, ops)
}

// serviceOver returns a Service of e's module, tables, topic and clock
// whose item store is st (e.svc keeps the bare store: it is the racer).
func serviceOver(t testing.TB, e *env, st core.ItemStore) *command.Service {
	t.Helper()
	svc, err := command.New(command.Options{Module: "order", Config: e.cfg, Store: st, Objects: e.objects,
		Topic: e.topic, Clock: e.clock.Now, Source: "test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// notifications renders notification messages as "v<version>:<status>".
func notifications(t testing.TB, msgs []string) []string {
	t.Helper()
	out := []string{}
	for _, m := range msgs {
		var n command.Notification
		if err := json.Unmarshal([]byte(m), &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("v%d:%s", n.Version, n.Status))
	}
	return out
}

// TestAdvanceDoesNotFinishASkippedCommand: Advance reads version 2
// (started); before it reads the data row, version 2 is failed and
// version 3 applied on top of version 1, skipping it. Apply then finds
// the data row past version 2 and answers already_applied with the status
// it read; Advance must leave version 2 failed and unfinished, without an
// error.
func TestAdvanceDoesNotFinishASkippedCommand(t *testing.T) {
	e := newEnv(t)
	k := key("skipped-adv")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	e.run(t, c1.Key())
	c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
	c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v3"})
	dataTable := e.cfg.DataTable("order")
	fired := false
	st := &interleaveStore{ItemStore: e.store}
	st.beforeGet = func(ctx context.Context, table string, gk core.Key) {
		if table != dataTable || gk != k || fired {
			return
		}
		fired = true
		if _, err := e.svc.Fail(ctx, c2.Key(), errors.New("raced")); err != nil {
			t.Fatalf("Fail(v2): %v", err)
		}
		if r := e.apply(t, c3.Key()); r.Outcome != command.OutcomeApplied {
			t.Fatalf("Apply(v3) after v2 failed = %+v, want applied", r)
		}
	}
	r, err := serviceOver(t, e, st).Advance(ctx, c2.Key())
	if !fired {
		t.Fatal("Advance(v2) read no data row: the interleaving was not forced")
	}
	if err != nil || r.Apply.Outcome != command.OutcomeAlreadyApplied || r.Finished || len(r.Resume.Tokens) != 0 {
		t.Fatalf("Advance(v2) after it was failed and skipped = %+v, %v; want already_applied, not finished, no error", r, err)
	}
	if c, _ := e.svc.GetCommand(ctx, k, 2); c.Status != core.StatusFailed || c.Error != "raced" {
		t.Fatalf("v2 %s %q, want failed \"raced\"", c.Status, c.Error)
	}
	if d := e.data(t, "skipped-adv"); d.Version != 3 || d.Name != "v3" {
		t.Fatalf("data v%d %q, want v3", d.Version, d.Name)
	}
	if got := notifications(t, e.topic.messages()); fmt.Sprint(got) != "[v1:finished v2:failed]" {
		t.Fatalf("notifications %v, want [v1:finished v2:failed]", got)
	}
}

// testMachineARN is the command state machine of the tests that run the
// step handlers without a runtime.
const testMachineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:shop-test-command"

// execARN is the ARN Step Functions gives the execution named name of
// machine.
func execARN(machine, name string) string {
	return strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
}

// fakeWorkflows is a core.Workflows whose executions are a map the test
// fills: name → status. StartExecution of a known name fails with
// ErrExecutionExists; of an unknown one it records the start (RUNNING).
type fakeWorkflows struct {
	machine string
	mu      sync.Mutex
	execs   map[string]core.ExecutionStatus
	started map[string]string // name → input
	tokens  []string          // SendTaskSuccess
}

func newFakeWorkflows(execs map[string]core.ExecutionStatus) *fakeWorkflows {
	if execs == nil {
		execs = map[string]core.ExecutionStatus{}
	}
	return &fakeWorkflows{machine: testMachineARN, execs: execs, started: map[string]string{}}
}

func (f *fakeWorkflows) StartExecution(_ context.Context, machine, name string, input json.RawMessage) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if machine != f.machine {
		return "", &core.NotFoundError{Kind: "state machine", Name: machine}
	}
	if st, ok := f.execs[name]; ok {
		return "", fmt.Errorf("execution %s (%s): %w", name, st, core.ErrExecutionExists)
	}
	f.execs[name] = core.ExecutionRunning
	f.started[name] = string(input)
	return execARN(machine, name), nil
}

func (f *fakeWorkflows) DescribeExecution(_ context.Context, arn string) (core.Execution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, st := range f.execs {
		if execARN(f.machine, name) == arn {
			ex := core.Execution{ARN: arn, StateMachineARN: f.machine, Name: name, Status: st}
			if st == core.ExecutionFailed {
				ex.Error = "States.Runtime"
			}
			return ex, nil
		}
	}
	return core.Execution{}, &core.NotFoundError{Kind: "execution", Name: arn}
}

func (f *fakeWorkflows) SendTaskSuccess(_ context.Context, token string, _ json.RawMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, token)
	return nil
}

func (f *fakeWorkflows) SendTaskFailure(context.Context, string, string, string) error { return nil }
func (f *fakeWorkflows) SendTaskHeartbeat(context.Context, string) error               { return nil }

// stepsOptions are the StepsOptions of e's service on wf.
func stepsOptions(e *env, wf core.Workflows) command.StepsOptions {
	return command.StepsOptions{Services: map[string]*command.Service{"order": e.svc}, Workflows: wf,
		StateMachineARN: testMachineARN, Logger: slog.New(slog.DiscardHandler)}
}

// stepPayload is the Lambda payload of state of the command execution of
// the command row c on machine, with extra fields in the state input.
func stepPayload(t testing.TB, machine, state string, c core.Key, extra map[string]any) []byte {
	t.Helper()
	in := map[string]any{"module": "order", "pk": c.PK, "sk": c.SK}
	for k, v := range extra {
		in[k] = v
	}
	name := command.ExecutionName("order", c.PK, c.SK)
	b, err := json.Marshal(map[string]any{
		"input": in,
		"context": map[string]any{
			"Execution":    map[string]any{"Id": execARN(machine, name), "Name": name},
			"State":        map[string]any{"Name": state},
			"StateMachine": map[string]any{"Id": machine, "Name": command.MachineName(machine)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestApplyRacingAFailureNeverAppliesTheFailedCommand fails version 2
// between Apply's reads and its transaction, by each of the paths that
// fail a command: Fail, the MarkFailed step, and recovery abandoning a
// command whose execution ended. The transaction must not go through:
// Apply answers failed, version 2 stays failed and out of the data and
// history, and version 3 applies on top of version 1.
func TestApplyRacingAFailureNeverAppliesTheFailedCommand(t *testing.T) {
	racers := []struct {
		name string
		fail func(t *testing.T, e *env, c2 *core.Command)
		// wantError is in version 2's error afterwards.
		wantError string
	}{
		{"Fail", func(t *testing.T, e *env, c2 *core.Command) {
			if _, err := e.svc.Fail(ctx, c2.Key(), errors.New("raced")); err != nil {
				t.Fatalf("Fail: %v", err)
			}
		}, "raced"},
		{"MarkFailed step", func(t *testing.T, e *env, c2 *core.Command) {
			reg, err := command.Steps(stepsOptions(e, newFakeWorkflows(nil)))
			if err != nil {
				t.Fatal(err)
			}
			router := eventfactory.NewRouter(eventfactory.Config{Logger: slog.New(slog.DiscardHandler)})
			reg(router)
			d, err := router.Build()
			if err != nil {
				t.Fatal(err)
			}
			payload := stepPayload(t, testMachineARN, command.StateMarkFailed, c2.Key(),
				map[string]any{"error": map[string]any{"Error": "States.TaskFailed", "Cause": "lambda gone"}})
			if _, err := d.Handler()(ctx, payload); err != nil {
				t.Fatalf("MarkFailed: %v", err)
			}
		}, "States.TaskFailed: lambda gone"},
		{"abandoned by Recover", func(t *testing.T, e *env, c2 *core.Command) {
			wf := newFakeWorkflows(map[string]core.ExecutionStatus{
				command.ExecutionName("order", c2.PK, c2.SK): core.ExecutionFailed,
			})
			n, err := command.Recover(ctx, stepsOptions(e, wf), "order", core.Key{PK: c2.PK, SK: core.BaseSK(c2.SK)})
			if err != nil || n != 2 {
				t.Fatalf("Recover = %d, %v; want 2 unsettled (v2, v3)", n, err)
			}
		}, "without settling"},
	}
	for _, rc := range racers {
		t.Run(rc.name, func(t *testing.T) {
			e := newEnv(t)
			k := key("racing-fail")
			c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1", Attributes: core.Attributes{"n": 1}})
			e.run(t, c1.Key())
			c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2", Attributes: core.Attributes{"n": 2}})
			c3 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "v3", Attributes: core.Attributes{"n": 3}})
			fired := false
			st := &interleaveStore{ItemStore: e.store}
			st.beforeTransact = func(context.Context, []core.TxOp) {
				if !fired {
					fired = true
					rc.fail(t, e, c2)
				}
			}
			r, err := serviceOver(t, e, st).Apply(ctx, c2.Key())
			if !fired {
				t.Fatal("Apply(v2) wrote no transaction: the interleaving was not forced")
			}
			if err != nil || r.Outcome != command.OutcomeFailed {
				t.Fatalf("Apply(v2) racing %s = %+v, %v; want failed", rc.name, r, err)
			}
			got, err := e.svc.GetCommand(ctx, k, 2)
			if err != nil || got.Status != core.StatusFailed || !strings.Contains(got.Error, rc.wantError) {
				t.Fatalf("v2 after the race: %+v, %v; want failed with %q", got, err, rc.wantError)
			}
			if d := e.data(t, "racing-fail"); d.Version != 1 || d.Name != "v1" || fmt.Sprint(d.Attributes["n"]) != "1" {
				t.Fatalf("data v%d %q %v, want v1: the failed v2 was applied", d.Version, d.Name, d.Attributes)
			}
			if hist, err := e.svc.History(ctx, k); err != nil || len(hist) != 0 {
				t.Fatalf("history %+v, %v; want none", hist, err)
			}
			if r := e.apply(t, c3.Key()); r.Outcome != command.OutcomeApplied {
				t.Fatalf("Apply(v3) = %+v, want applied on top of v1", r)
			}
			hist, err := e.svc.History(ctx, k)
			if err != nil || len(hist) != 1 || hist[0].Version != 1 || hist[0].Name != "v1" || fmt.Sprint(hist[0].Attributes["n"]) != "1" {
				t.Fatalf("history %+v, %v; want v1 only", hist, err)
			}
		})
	}
}

// sansKeyTTL returns d without what a history row changes: its sort key
// and TTL.
func sansKeyTTL(d core.Data) core.Data {
	d.SK, d.TTL = core.BaseSK(d.SK), 0
	return d
}

// TestHistoryRowsHoldTheSupersededData applies versions by every path
// (asynchronous, synchronous, partial, offloaded attributes, a failed
// version skipped, audit fields of different callers) and checks that
// each history row is exactly the data row its version had, under the
// versioned sort key and with the history TTL.
func TestHistoryRowsHoldTheSupersededData(t *testing.T) {
	e := newEnv(t, withConfig(func(c *core.Config) {
		c.AttributeOffloadBytes = 1024
		c.TTL = core.TTLDays{History: 30}
	}))
	k := key("hist")
	as := func(user string) context.Context {
		return core.NewContext(ctx, core.Invoke{RequestID: "req-" + user, UserID: user, SourceIP: "192.0.2.1"})
	}
	big := strings.Repeat("b", 4096)
	// snap and refs are the data row (attributes resolved) and its
	// attributesRef as stored, by version.
	snap := map[int64]core.Data{}
	refs := map[int64]string{}
	rawRef := func(table string, k core.Key) string {
		t.Helper()
		it, err := e.store.Get(ctx, table, k, true)
		if err != nil {
			t.Fatalf("raw %s %v: %v", table, k, err)
		}
		if r, ok := it["attributesRef"].(*types.AttributeValueMemberS); ok {
			return r.Value
		}
		return ""
	}
	record := func(v int64) {
		t.Helper()
		d := e.data(t, "hist")
		if d.Version != v {
			t.Fatalf("data v%d after applying v%d", d.Version, v)
		}
		snap[v] = *d
		refs[v] = rawRef(e.cfg.DataTable("order"), k)
	}
	asyncRun := func(user string, in command.Input) {
		t.Helper()
		res, err := e.svc.PublishAsync(as(user), in)
		if err != nil || res.Unchanged {
			t.Fatalf("PublishAsync(v%d): %+v, %v", in.Version+1, res, err)
		}
		e.run(t, res.Command.Key())
		record(res.Command.Version)
	}
	asyncRun("ann", command.Input{PK: k.PK, SK: k.SK, Name: "first", Seq: 1, Attributes: core.Attributes{"n": 1, "tags": []any{"a"}}})
	asyncRun("bob", command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "big", Seq: 2, Attributes: core.Attributes{"n": 2, "blob": big}})
	// Version 3 fails before it is applied: skipped, never in history.
	c3, err := e.svc.PublishAsync(as("cid"), command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "doomed", Attributes: core.Attributes{"n": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Fail(ctx, c3.Command.Key(), errors.New("no")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PublishSync(as("dan"), command.Input{PK: k.PK, SK: k.SK, Version: 3, Name: "sync", Seq: 4, IsDeleted: true,
		Attributes: core.Attributes{"n": 4, "m": map[string]any{"x": "y"}}}); err != nil {
		t.Fatal(err)
	}
	record(4)
	name := "partial"
	res, err := e.svc.PublishPartialUpdateAsync(as("eve"), command.PartialInput{PK: k.PK, SK: k.SK, Version: 4, Name: &name,
		Attributes: map[string]any{"n": 5, "blob": big + "!"}})
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, res.Command.Key())
	record(5)
	if _, err := e.svc.PublishSync(as("fay"), command.Input{PK: k.PK, SK: k.SK, Version: 5, Name: "last", Attributes: core.Attributes{"n": 6}}); err != nil {
		t.Fatal(err)
	}
	record(6)

	if refs[2] == "" || refs[5] == "" || refs[4] != "" || refs[2] == refs[5] {
		t.Fatalf("offloading: v2 ref %q, v4 ref %q, v5 ref %q; want v2 and v5 offloaded", refs[2], refs[4], refs[5])
	}
	if snap[2].CreatedBy != "ann" || snap[2].UpdatedBy != "bob" || snap[5].UpdatedBy != "eve" {
		t.Fatalf("audit fields: v2 created by %q updated by %q, v5 updated by %q", snap[2].CreatedBy, snap[2].UpdatedBy, snap[5].UpdatedBy)
	}
	hist, err := e.svc.History(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, h := range hist {
		got = append(got, h.Version)
	}
	if want := []int64{1, 2, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history versions %v, want %v", got, want)
	}
	for _, h := range hist {
		want := snap[h.Version]
		sk, _ := core.VersionedSK(k.SK, h.Version)
		if h.SK != sk {
			t.Errorf("history v%d sk %q, want %q", h.Version, h.SK, sk)
		}
		if ref := rawRef(e.cfg.HistoryTable("order"), core.Key{PK: k.PK, SK: sk}); ref != refs[h.Version] {
			t.Errorf("history v%d stores attributesRef %q, want the data row's %q", h.Version, ref, refs[h.Version])
		}
		if h.TTL <= want.UpdatedAt.Unix() {
			t.Errorf("history v%d ttl %d, want the history TTL (30 days)", h.Version, h.TTL)
		}
		if !reflect.DeepEqual(sansKeyTTL(h), sansKeyTTL(want)) {
			t.Errorf("history v%d\n got %+v\nwant %+v (the data row of v%d)", h.Version, sansKeyTTL(h), sansKeyTTL(want), h.Version)
		}
	}
}

// TestWaitTimeoutsBound drives the Apply step after a timed-out wait, as
// Step Functions does, on each side of StepsOptions.MaxWaitTimeouts: the
// MaxWaitTimeouts-th consecutive timeout still re-starts the predecessor
// and waits again; only the next one gives up and fails the command.
func TestWaitTimeoutsBound(t *testing.T) {
	const limit = command.DefaultMaxWaitTimeouts
	for _, tc := range []struct {
		before int // timeouts in $.step before this one
		giveUp bool
	}{
		{before: limit - 1},
		{before: limit, giveUp: true},
	} {
		t.Run(fmt.Sprintf("timeout %d of %d", tc.before+1, limit), func(t *testing.T) {
			bg := context.Background()
			rt := newRuntime(t, local.Options{})
			svc := rt.Service("order")
			k := orderKey("bound")
			rt.PauseStreams()
			c1 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
			c2 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
			payload := stepPayload(t, rt.Config.CommandStateMachineARN, command.StateApply, c2.Key(), map[string]any{
				"step": map[string]any{"next": "wait", "handlers": []string{}, "waitFor": 1, "timeouts": tc.before},
				"wake": map[string]any{"Error": "States.Timeout", "Cause": "timed out"},
			})
			out, err := rt.Handler()(bg, payload)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(out)
			var res command.ApplyStepResult
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			got, _ := svc.GetCommand(bg, k, 2)
			if tc.giveUp {
				if res.Next != command.NextFailed || res.Timeouts != limit+1 || got.Status != core.StatusFailed {
					t.Fatalf("timeout %d: result %s, v2 %s; want failed after %d timeouts", tc.before+1, b, got.Status, limit+1)
				}
				want := (&command.WaitTimeoutError{SK: c2.SK, WaitFor: 1, Timeouts: limit + 1}).Error()
				if got.Error != want {
					t.Fatalf("v2 error %q, want %q", got.Error, want)
				}
			} else {
				if res.Next != command.NextWait || res.WaitFor != 1 || res.Timeouts != limit || got.Status == core.StatusFailed {
					t.Fatalf("timeout %d of %d: result %s, v2 %s %q; want a wait for v1 with %d timeouts", tc.before+1, limit, b, got.Status, got.Error, limit)
				}
				// The predecessor's execution was re-started and applies v1.
				wctx, cancel := context.WithTimeout(bg, 10*time.Second)
				defer cancel()
				if ex, err := rt.Workflows.Wait(wctx, executionARN(rt, c1)); err != nil || ex.Status != core.ExecutionSucceeded {
					t.Fatalf("v1 execution %+v, %v; want re-started and succeeded", ex, err)
				}
			}
			rt.ResumeStreams()
			waitIdle(t, rt, 10*time.Second)
			d, err := svc.GetData(bg, k, true)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{false: "b", true: "a"}[tc.giveUp]; d.Name != want {
				t.Fatalf("data %q v%d, want %q", d.Name, d.Version, want)
			}
		})
	}
}

// TestRecoverLeavesRunningExecutionsAlone: of the unsettled versions of an
// entity, Recover abandons only those whose execution ended; a running
// execution (even one waiting on a task token) is left to settle its
// command, and a missing one is started under its deterministic name.
func TestRecoverLeavesRunningExecutionsAlone(t *testing.T) {
	e := newEnv(t)
	k := key("recover")
	var cmds []*core.Command
	for v := int64(0); v < 5; v++ {
		cmds = append(cmds, e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: v, Name: fmt.Sprint("v", v+1)}))
	}
	e.run(t, cmds[0].Key())
	if w, err := e.svc.RegisterWaitToken(ctx, cmds[4].Key(), "t5"); err != nil || w.Resume {
		t.Fatalf("v5 wait %+v, %v", w, err)
	}
	name := func(i int) string { return command.ExecutionName("order", cmds[i].PK, cmds[i].SK) }
	wf := newFakeWorkflows(map[string]core.ExecutionStatus{
		name(1): core.ExecutionFailed,  // v2: ended without settling it
		name(2): core.ExecutionRunning, // v3
		// v4: no execution (its stream record was lost)
		name(4): core.ExecutionRunning, // v5, waiting on its token
	})
	n, err := command.Recover(ctx, stepsOptions(e, wf), "order", k)
	if err != nil || n != 4 {
		t.Fatalf("Recover = %d, %v; want 4 unsettled", n, err)
	}
	want := []struct {
		status core.CommandStatus
		token  string
	}{
		{core.StatusFinished, ""}, {core.StatusFailed, ""}, {core.StatusStarted, ""}, {core.StatusStarted, ""}, {core.StatusWaiting, "t5"},
	}
	for i, w := range want {
		c, err := e.svc.GetCommand(ctx, k, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != w.status || c.TaskToken != w.token {
			t.Errorf("v%d (execution %q) is %s %q token %q, want %s token %q", i+1, wf.execs[name(i)], c.Status, c.Error, c.TaskToken, w.status, w.token)
		}
	}
	if c, _ := e.svc.GetCommand(ctx, k, 2); !strings.Contains(c.Error, "ended (FAILED") || !strings.Contains(c.Error, "without settling") {
		t.Errorf("v2 error %q, want the ended execution named", c.Error)
	}
	in, _ := json.Marshal(command.ExecutionInput{Module: "order", PK: cmds[3].PK, SK: cmds[3].SK})
	if len(wf.started) != 1 || wf.started[name(3)] != string(in) {
		t.Errorf("started %v, want only v4's execution %s with input %s", wf.started, name(3), in)
	}
	if len(wf.tokens) != 0 {
		t.Errorf("resumed %v, want nobody (v3 still holds up v4 and v5)", wf.tokens)
	}
	if got := notifications(t, e.topic.messages()); fmt.Sprint(got) != "[v1:finished v2:failed]" {
		t.Errorf("notifications %v, want [v1:finished v2:failed]", got)
	}
}

// TestStaleVersionWithEqualContentConflicts: input equal to a version that
// is no longer the latest is a version conflict (a lost update), not
// "unchanged", by every publish path; input equal to the latest is
// unchanged.
func TestStaleVersionWithEqualContentConflicts(t *testing.T) {
	k := key("stale-equal")
	v1 := command.Input{PK: k.PK, SK: k.SK, Name: "a", Seq: 1, Attributes: core.Attributes{"n": 1}}
	v2 := command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b", Seq: 2, Attributes: core.Attributes{"n": 2}}
	paths := []struct {
		name    string
		publish func(svc *command.Service, base command.Input, version int64) (command.Result, error)
	}{
		{"PublishAsync", func(svc *command.Service, in command.Input, v int64) (command.Result, error) {
			in.Version = v
			return svc.PublishAsync(ctx, in)
		}},
		{"PublishSync", func(svc *command.Service, in command.Input, v int64) (command.Result, error) {
			in.Version = v
			return svc.PublishSync(ctx, in)
		}},
		{"PublishPartialUpdateAsync", func(svc *command.Service, _ command.Input, v int64) (command.Result, error) {
			return svc.PublishPartialUpdateAsync(ctx, command.PartialInput{PK: k.PK, SK: k.SK, Version: v})
		}},
		{"PublishPartialUpdateSync", func(svc *command.Service, _ command.Input, v int64) (command.Result, error) {
			return svc.PublishPartialUpdateSync(ctx, command.PartialInput{PK: k.PK, SK: k.SK, Version: v})
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			for _, in := range []command.Input{v1, v2} {
				if _, err := e.svc.PublishSync(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			res, err := p.publish(e.svc, v1, 1)
			if err == nil {
				got := "no command"
				if res.Command != nil {
					got = fmt.Sprintf("version %d", res.Command.Version)
				}
				t.Fatalf("%s of version 1's content on version 1 = %s, unchanged %v, no error; want a version conflict (latest 2)", p.name, got, res.Unchanged)
			}
			wantConflict(t, err, 2)
			res, err = p.publish(e.svc, v2, 2)
			if err != nil || !res.Unchanged || res.Command.Version != 2 {
				t.Fatalf("%s of version 2's content on version 2 = %+v, %v; want unchanged version 2", p.name, res, err)
			}
			if vers, err := e.svc.ListVersions(ctx, k); err != nil || len(vers) != 2 {
				t.Fatalf("%d versions, %v; want 2", len(vers), err)
			}
			if d := e.data(t, "stale-equal"); d.Version != 2 || d.Name != "b" {
				t.Fatalf("data v%d %q, want v2", d.Version, d.Name)
			}
		})
	}
}
