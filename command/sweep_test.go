package command_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/local"
)

// unsettledIndex lists the command keys in the command table's unsettled
// index, by shard.
func unsettledIndex(t *testing.T, st core.ItemStore, table string) []string {
	t.Helper()
	var out []string
	for shard := range command.UnsettledShards {
		p, err := st.(core.IndexQuerier).QueryIndex(context.Background(), table,
			core.IndexQuery{Index: command.UnsettledIndex, PK: fmt.Sprint(shard)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			out = append(out, it["sk"].(*types.AttributeValueMemberS).Value)
		}
	}
	return out
}

// TestSweepRecoversLostLastVersion: the stream record of an entity's last
// version is lost, so nothing would ever apply it. The runtime's periodic
// sweep finds it in the unsettled index once it is older than
// SweepOlderThan, starts its execution, and the version applies; the
// index is empty afterwards. Commands that finished normally never stay
// in the index.
func TestSweepRecoversLostLastVersion(t *testing.T) {
	k := orderKey("swept")
	sk2, _ := core.VersionedSK(k.SK, 2)
	drop := func(_ string, rec events.DynamoDBEventRecord) bool { return rec.Change.NewImage["sk"].String() == sk2 }
	rt := newRuntime(t, local.Options{Faults: local.Faults{Drop: drop},
		SweepInterval: 5 * time.Minute, SweepOlderThan: 15 * time.Minute})
	svc := rt.Service("order")
	table, _, _ := svc.Tables()
	other := orderKey("fine")
	mustPublish(t, svc, command.Input{PK: other.PK, SK: other.SK, Name: "fine"})
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b", Attributes: core.Attributes{"last": true}})
	waitIdle(t, rt, 10*time.Second)
	if got := fmt.Sprint(unsettledIndex(t, rt.Store, table)); got != "["+sk2+"]" {
		t.Fatalf("unsettled index %s, want only the lost v2", got)
	}
	// Ten minutes: the sweep runs but v2 is not old enough.
	if err := rt.AdvanceClock(10 * time.Minute); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt, 10*time.Second)
	if c, _ := svc.GetCommand(ctx, k, 2); c.Status != core.StatusStarted {
		t.Fatalf("v2 status %s before it was old enough", c.Status)
	}
	if s := rt.Stats(); s.Sweeps != 2 || s.SweepStarted != 0 {
		t.Fatalf("after 10 min: %d sweeps, %d started; want 2 and 0", s.Sweeps, s.SweepStarted)
	}
	// Past fifteen minutes, the next sweep recovers it.
	if err := rt.AdvanceClock(10 * time.Minute); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt, 10*time.Second)
	d, err := svc.GetData(ctx, k, true)
	if err != nil || d.Version != 2 || d.Name != "b" || d.Attributes["last"] != true {
		t.Fatalf("data %+v, %v (stats %+v)", d, err, rt.Stats())
	}
	if c, _ := svc.GetCommand(ctx, k, 2); c.Status != core.StatusFinished {
		t.Fatalf("v2 status %s", c.Status)
	}
	if s := rt.Stats(); s.SweepStarted != 1 || s.SweepFailed != 0 {
		t.Fatalf("stats %+v", s)
	}
	if idx := unsettledIndex(t, rt.Store, table); len(idx) != 0 {
		t.Fatalf("unsettled index %v after recovery, want empty", idx)
	}
}

// TestSweepCases drives Sweep through each case on recorded executions
// (memory.Workflows without a runner: executions are recorded, never run):
// a command without an execution gets one started; a running execution is
// left alone; an execution that ended without finishing its command gets
// the command failed; a settled command with a stale index entry is
// cleared. Commands looked at move along the index, so the next sweep
// sees them only after OlderThan.
func TestSweepCases(t *testing.T) {
	e := newEnv(t)
	wf := memory.NewWorkflows(nil)
	machine := "arn:aws:states:us-east-1:000000000000:stateMachine:cmd"
	if _, err := wf.CreateStateMachine("cmd", `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`); err != nil {
		t.Fatal(err)
	}
	opts := command.StepsOptions{Services: map[string]*command.Service{"order": e.svc}, Workflows: wf, StateMachineARN: machine}
	table, _, _ := e.svc.Tables()
	start := func(c *core.Command) string {
		t.Helper()
		arn, err := wf.StartExecution(ctx, machine, command.ExecutionName("order", c.PK, c.SK),
			[]byte(fmt.Sprintf(`{"module":"order","pk":%q,"sk":%q}`, c.PK, c.SK)))
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	aborted := e.publish(t, command.Input{PK: key("aborted").PK, SK: key("aborted").SK, Name: "x"})
	if err := wf.StopExecution(ctx, start(aborted), "States.Aborted", "stopped by an operator"); err != nil {
		t.Fatal(err)
	}
	running := e.publish(t, command.Input{PK: key("running").PK, SK: key("running").SK, Name: "x"})
	start(running)
	lost := e.publish(t, command.Input{PK: key("lost").PK, SK: key("lost").SK, Name: "x"})
	stale := e.publish(t, command.Input{PK: key("stale").PK, SK: key("stale").SK, Name: "x"})
	if _, err := e.store.Update(ctx, table, stale.Key(), core.Update{Set: map[string]core.AttributeValue{
		"status": &types.AttributeValueMemberS{Value: string(core.StatusFinished)}}}, core.Condition{}); err != nil {
		t.Fatal(err)
	}
	done := e.publish(t, command.Input{PK: key("done").PK, SK: key("done").SK, Name: "x"})
	e.run(t, done.Key())
	if n := len(unsettledIndex(t, e.store, table)); n != 4 {
		t.Fatalf("%d commands in the index, want 4 (a finished one left it)", n)
	}

	now := e.clock.Now().Add(time.Hour)
	at := func() time.Time { return now }
	res, err := command.Sweep(ctx, opts, command.SweepOptions{OlderThan: 2 * time.Hour, Now: at})
	if err != nil || res != (command.SweepResult{}) {
		t.Fatalf("sweep of young commands: %+v, %v", res, err)
	}
	res, err = command.Sweep(ctx, opts, command.SweepOptions{OlderThan: 30 * time.Minute, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	if want := (command.SweepResult{Found: 4, Started: 1, Running: 1, Failed: 1, Cleared: 1}); res != want {
		t.Fatalf("sweep %+v, want %+v", res, want)
	}
	if c, _ := e.svc.GetCommand(ctx, key("aborted"), 1); c.Status != core.StatusFailed || !strings.Contains(c.Error, "ABORTED") {
		t.Fatalf("aborted command: %s %q", c.Status, c.Error)
	}
	if x, err := wf.DescribeExecution(ctx, strings.Replace(machine, ":stateMachine:", ":execution:", 1)+":"+
		command.ExecutionName("order", lost.PK, lost.SK)); err != nil || x.Status != core.ExecutionRunning {
		t.Fatalf("lost command's execution: %+v, %v", x, err)
	}
	if got := fmt.Sprint(unsettledIndex(t, e.store, table)); !strings.Contains(got, running.SK) || !strings.Contains(got, lost.SK) || strings.Count(got, "@") != 2 {
		t.Fatalf("index after the sweep: %s, want the running and the lost command", got)
	}
	// Looked at just now: not again before OlderThan has passed.
	if res, err := command.Sweep(ctx, opts, command.SweepOptions{OlderThan: 30 * time.Minute, Now: at}); err != nil || res.Found != 0 {
		t.Fatalf("immediate second sweep: %+v, %v", res, err)
	}
	now = now.Add(31 * time.Minute)
	if res, err := command.Sweep(ctx, opts, command.SweepOptions{OlderThan: 30 * time.Minute, Now: at}); err != nil ||
		res != (command.SweepResult{Found: 2, Running: 2}) {
		t.Fatalf("later sweep: %+v, %v", res, err)
	}
	// Limit bounds one sweep.
	now = now.Add(31 * time.Minute)
	if res, err := command.Sweep(ctx, opts, command.SweepOptions{OlderThan: 30 * time.Minute, Limit: 1, Now: at}); err != nil || res.Found != 1 {
		t.Fatalf("limited sweep: %+v, %v", res, err)
	}
}

// TestSweepNeedsAnIndexQuerier: a store that cannot query indexes gets a
// clear error, not a silent no-op.
func TestSweepNeedsAnIndexQuerier(t *testing.T) {
	type plain struct{ core.ItemStore }
	svc, err := command.New(command.Options{Module: "order", Config: testConfig(), Store: plain{memory.NewStore()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = command.Sweep(ctx, command.StepsOptions{Services: map[string]*command.Service{"order": svc},
		Workflows: memory.NewWorkflows(nil), StateMachineARN: "arn:aws:states:us-east-1:000000000000:stateMachine:m"}, command.SweepOptions{})
	if !errors.Is(err, core.ErrNotImplemented) {
		t.Fatalf("err = %v, want ErrNotImplemented", err)
	}
}
