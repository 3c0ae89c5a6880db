package command_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
)

// Recovery of chains whose predecessor would otherwise never settle
// (no interleaving may leave a chain waiting forever).

// waitStatus polls until the command k@v has status st.
func waitStatus(t *testing.T, svc *command.Service, k core.Key, v int64, st core.CommandStatus) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := svc.GetCommand(context.Background(), k, v)
		if err == nil && c.Status == st {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("v%d: status %v (%v), want %s", v, c, err, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestE2ELostStreamRecord loses the stream record of version 1 entirely:
// its execution never starts. Versions 2 and 3 wait; when their waits
// time out, Apply re-starts the unsettled predecessors under their
// deterministic names, and the whole chain completes.
func TestE2ELostStreamRecord(t *testing.T) {
	bg := context.Background()
	k := orderKey("lost")
	sk1, _ := core.VersionedSK(k.SK, 1)
	drop := func(_ string, rec events.DynamoDBEventRecord) bool {
		return rec.Change.NewImage["sk"].String() == sk1
	}
	rt := newRuntime(t, local.Options{WaitTimeoutSeconds: 60, Faults: local.Faults{Drop: drop}})
	svc := rt.Service("order")
	for v := int64(0); v < 3; v++ {
		mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: v, Name: "x", Attributes: core.Attributes{"v": v + 1}})
	}
	waitStatus(t, svc, k, 2, core.StatusWaiting)
	waitStatus(t, svc, k, 3, core.StatusWaiting)
	if s := rt.Stats(); s.StreamDropped != 1 || s.ExecutionsStarted != 2 {
		t.Fatalf("dropped %d, started %d; want 1 and 2", s.StreamDropped, s.ExecutionsStarted)
	}
	if err := rt.AdvanceClock(61 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt, 10*time.Second)
	d, err := svc.GetData(bg, k, true)
	if err != nil || d.Version != 3 || fmt.Sprint(d.Attributes["v"]) != "3" {
		t.Fatalf("data %+v %v", d, err)
	}
	if got := historyVersions(t, svc, k); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("history %v", got)
	}
	for v := int64(1); v <= 3; v++ {
		c, _ := svc.GetCommand(bg, k, v)
		if c.Status != core.StatusFinished {
			t.Errorf("v%d status %s", v, c.Status)
		}
	}
	if s := rt.Stats(); s.ExecutionsStarted != 3 || s.ExecutionsSucceeded != 3 || len(rt.Running()) != 0 {
		t.Fatalf("stats %+v, running %d", s, len(rt.Running()))
	}
}

// TestE2EAbandonedPredecessor ends version 1's execution (under its
// deterministic name) without settling version 1: a redelivered record
// can no longer start it. When version 2's wait times out, Apply finds
// the execution ended, marks version 1 failed (with a notification) and
// applies version 2 on top of it.
func TestE2EAbandonedPredecessor(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{WaitTimeoutSeconds: 60})
	svc := rt.Service("order")
	k := orderKey("abandoned")
	rt.PauseStreams()
	c1 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	c2 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	// An execution of v1's name that fails without touching v1 (an
	// unknown module): as if it had died before settling the command.
	bogus := fmt.Sprintf(`{"module":"nosuch","pk":%q,"sk":%q}`, c1.PK, c1.SK)
	if _, err := rt.Workflows.StartExecution(bg, rt.Config.CommandStateMachineARN, command.ExecutionName("order", c1.PK, c1.SK), []byte(bogus)); err != nil {
		t.Fatal(err)
	}
	ex, err := rt.Workflows.Wait(bg, executionARN(rt, c1))
	if err != nil || ex.Status != core.ExecutionFailed {
		t.Fatalf("v1 execution %+v %v", ex, err)
	}
	in := fmt.Sprintf(`{"module":"order","pk":%q,"sk":%q}`, c2.PK, c2.SK)
	arn2, err := rt.Workflows.StartExecution(bg, rt.Config.CommandStateMachineARN, command.ExecutionName("order", c2.PK, c2.SK), []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, svc, k, 2, core.StatusWaiting)
	if err := rt.AdvanceClock(61 * time.Second); err != nil {
		t.Fatal(err)
	}
	rt.ResumeStreams()
	waitIdle(t, rt, 10*time.Second)
	v1, _ := svc.GetCommand(bg, k, 1)
	if v1.Status != core.StatusFailed || !strings.Contains(v1.Error, "without settling") {
		t.Fatalf("v1 %s %q", v1.Status, v1.Error)
	}
	d, err := svc.GetData(bg, k, true)
	if err != nil || d.Version != 2 || d.Name != "b" {
		t.Fatalf("data %+v %v", d, err)
	}
	var statuses []string
	for _, p := range rt.Topics.Published(rt.Config.NotificationTopic()) {
		var n command.Notification
		if err := json.Unmarshal([]byte(p.Message), &n); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, fmt.Sprintf("v%d:%s", n.Version, n.Status))
	}
	if fmt.Sprint(statuses) != "[v1:failed v2:finished]" {
		t.Fatalf("notifications %v", statuses)
	}
	// The timed-out Apply, having abandoned v1, applies v2 at once rather
	// than waiting again.
	states, err := rt.Workflows.StatesEntered(arn2)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[Apply Route Wait Apply Route Done]"; fmt.Sprint(states) != want {
		t.Fatalf("v2 states %v, want %s", states, want)
	}
}

// TestWaitGivesUp drives the Apply step as Step Functions would after the
// last allowed timed-out wait: the command is failed loudly (status
// failed with a WaitTimeoutError, notification) and the state machine is
// sent to its Failed state, rather than waiting for ever.
func TestWaitGivesUp(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{})
	svc := rt.Service("order")
	k := orderKey("giveup")
	rt.PauseStreams()
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	c2 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	machine := command.MachineName(rt.Config.CommandStateMachineARN)
	payload := func(timeouts int) []byte {
		b, _ := json.Marshal(map[string]any{
			"input": map[string]any{
				"module": "order", "pk": c2.PK, "sk": c2.SK,
				"step": map[string]any{"next": "wait", "handlers": []string{}, "waitFor": 1, "timeouts": timeouts},
				"wake": map[string]any{"Error": "States.Timeout", "Cause": "timed out"},
			},
			"context": map[string]any{
				"Execution":    map[string]any{"Id": executionARN(rt, c2), "Name": "x"},
				"State":        map[string]any{"Name": command.StateApply},
				"StateMachine": map[string]any{"Id": rt.Config.CommandStateMachineARN, "Name": machine},
			},
		})
		return b
	}
	out, err := rt.Handler()(bg, payload(command.DefaultMaxWaitTimeouts))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	var res command.ApplyStepResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Next != command.NextFailed || res.Timeouts != command.DefaultMaxWaitTimeouts+1 {
		t.Fatalf("result %s", b)
	}
	got, _ := svc.GetCommand(bg, k, 2)
	if got.Status != core.StatusFailed || !strings.Contains(got.Error, "still unsettled after 11 timed-out waits") {
		t.Fatalf("v2 %s %q", got.Status, got.Error)
	}
	pub := rt.Topics.Published(rt.Config.NotificationTopic())
	if len(pub) != 1 || !strings.Contains(pub[0].Message, `"status":"failed"`) {
		t.Fatalf("notifications %+v", pub)
	}
}

// TestRecoveryUnderDrops loses about 10% of the stream records (never a
// last version, whose loss no successor could notice) of many entities,
// with duplicated and reordered deliveries too, and lets the virtual
// clock run the waits' timeouts until the runtime is idle: every chain
// completes, with one execution per command.
func TestRecoveryUnderDrops(t *testing.T) {
	bg := context.Background()
	entities, versions := 60, 8
	last := map[string]bool{}
	for e := range entities {
		k := orderKey(fmt.Sprintf("d%03d", e))
		sk, _ := core.VersionedSK(k.SK, int64(versions))
		last[sk] = true
	}
	drop := func(_ string, rec events.DynamoDBEventRecord) bool {
		sk := rec.Change.NewImage["sk"].String()
		h := fnv.New32a()
		h.Write([]byte(sk))
		return !last[sk] && h.Sum32()%10 == 0
	}
	rt := newRuntime(t, local.Options{WaitTimeoutSeconds: 60, Seed: 3,
		Faults: local.Faults{Drop: drop, DuplicateRate: 0.1, ReorderRate: 0.1}})
	svc := rt.Service("order")
	for v := range versions {
		for e := range entities {
			k := orderKey(fmt.Sprintf("d%03d", e))
			mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: int64(v), Name: "x", Attributes: core.Attributes{"v": v + 1}})
		}
	}
	cycles := 0
	for ; ; cycles++ {
		wctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
		err := rt.WaitIdle(wctx)
		cancel()
		if err == nil {
			break
		}
		if cycles > 50 {
			t.Fatalf("not idle after %d clock advances: %d running", cycles, len(rt.Running()))
		}
		if err := rt.AdvanceClock(61 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	s := rt.Stats()
	if s.StreamDropped == 0 {
		t.Fatal("no record dropped")
	}
	for e := range entities {
		k := orderKey(fmt.Sprintf("d%03d", e))
		d, err := svc.GetData(bg, k, true)
		if err != nil || d.Version != int64(versions) {
			t.Fatalf("entity %d: %+v %v", e, d, err)
		}
		if got := historyVersions(t, svc, k); len(got) != versions-1 {
			t.Fatalf("entity %d: history %v", e, got)
		}
		cmds, err := svc.ListVersions(bg, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			if c.Status != core.StatusFinished {
				t.Fatalf("entity %d v%d: %s %s", e, c.Version, c.Status, c.Error)
			}
		}
	}
	if s.ExecutionsStarted != int64(entities*versions) || s.ExecutionsFailed != 0 {
		t.Fatalf("executions started %d failed %d, want %d and 0", s.ExecutionsStarted, s.ExecutionsFailed, entities*versions)
	}
	t.Logf("dropped=%d duplicates=%d reordered=%d clock_advances=%d executions=%d", s.StreamDropped, s.StreamDuplicates, s.StreamReordered, cycles, s.ExecutionsStarted)
}

// TestStateMachineWakeWiring checks the definition carries what the
// recovery needs: Apply keeps waitFor and timeouts in $.step, and both
// ends of Wait write $.wake.
func TestStateMachineWakeWiring(t *testing.T) {
	b, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: "fn"})
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			ResultSelector map[string]string
			ResultPath     string
			Catch          []struct {
				ErrorEquals []string
				Next        string
				ResultPath  string
			}
		}
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	apply := def.States[command.StateApply]
	if apply.ResultPath != "$.step" || apply.ResultSelector["waitFor.$"] != "$.Payload.waitFor" || apply.ResultSelector["timeouts.$"] != "$.Payload.timeouts" {
		t.Fatalf("Apply %+v", apply)
	}
	wait := def.States[command.StateWait]
	if wait.ResultPath != "$.wake" || len(wait.Catch) == 0 || wait.Catch[0].ErrorEquals[0] != "States.Timeout" ||
		wait.Catch[0].Next != command.StateApply || wait.Catch[0].ResultPath != "$.wake" {
		t.Fatalf("Wait %+v", wait)
	}
}

// TestE2ELostStreamRecordAutoClock is TestE2ELostStreamRecord with the
// runtime's clock advancing by itself: nobody touches the clock, and the
// chain still completes.
func TestE2ELostStreamRecordAutoClock(t *testing.T) {
	bg := context.Background()
	k := orderKey("lostauto")
	sk1, _ := core.VersionedSK(k.SK, 1)
	drop := func(_ string, rec events.DynamoDBEventRecord) bool { return rec.Change.NewImage["sk"].String() == sk1 }
	rt := newRuntime(t, local.Options{AutoAdvanceClock: true, Faults: local.Faults{Drop: drop}})
	svc := rt.Service("order")
	start := rt.Clock.Now()
	for v := int64(0); v < 3; v++ {
		mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: v, Name: "x", Attributes: core.Attributes{"v": v + 1}})
	}
	waitIdle(t, rt, 10*time.Second)
	if d, err := svc.GetData(bg, k, true); err != nil || d.Version != 3 {
		t.Fatalf("data %+v %v", d, err)
	}
	if s := rt.Stats(); s.StreamDropped != 1 || s.ExecutionsStarted != 3 || s.ExecutionsSucceeded != 3 {
		t.Fatalf("stats %+v", s)
	}
	if waited := rt.Clock.Now().Sub(start); waited < 300*time.Second {
		t.Fatalf("virtual time passed %s, want at least one wait timeout (300s)", waited)
	}
}

// TestRecoverLostLastVersion loses the stream record of an entity's last
// version: nobody waits for it, so Recover starts it.
func TestRecoverLostLastVersion(t *testing.T) {
	bg := context.Background()
	k := orderKey("lostlast")
	sk2, _ := core.VersionedSK(k.SK, 2)
	drop := func(_ string, rec events.DynamoDBEventRecord) bool { return rec.Change.NewImage["sk"].String() == sk2 }
	rt := newRuntime(t, local.Options{Faults: local.Faults{Drop: drop}})
	svc := rt.Service("order")
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	waitIdle(t, rt, 10*time.Second)
	if c, _ := svc.GetCommand(bg, k, 2); c.Status != core.StatusStarted {
		t.Fatalf("v2 status %s, want started (its record was lost)", c.Status)
	}
	opts := command.StepsOptions{Services: rt.Services, Workflows: rt.Workflows, StateMachineARN: rt.Config.CommandStateMachineARN}
	n, err := command.Recover(bg, opts, "order", k)
	if err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	waitIdle(t, rt, 10*time.Second)
	if d, _ := svc.GetData(bg, k, true); d == nil || d.Version != 2 || d.Name != "b" {
		t.Fatalf("data %+v", d)
	}
	if n, err := command.Recover(bg, opts, "order", k); err != nil || n != 0 {
		t.Fatalf("second Recover = %d, %v; want 0", n, err)
	}
	if _, err := command.Recover(bg, opts, "nosuch", k); err == nil {
		t.Fatal("Recover of an unknown module succeeded")
	}
}

// TestWaitTimeoutsCountPerPredecessor: the timed-out waits are counted
// for the predecessor waited for; when the command now waits for another
// one (the $.step of the previous Apply names another waitFor), the count
// starts again instead of giving up.
func TestWaitTimeoutsCountPerPredecessor(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{})
	svc := rt.Service("order")
	k := orderKey("recount")
	rt.PauseStreams()
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	c2 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	b, err := json.Marshal(map[string]any{
		"input": map[string]any{
			"module": "order", "pk": c2.PK, "sk": c2.SK,
			"step": map[string]any{"next": "wait", "handlers": []string{}, "waitFor": 7, "timeouts": command.DefaultMaxWaitTimeouts},
			"wake": map[string]any{"Error": "States.Timeout", "Cause": "timed out"},
		},
		"context": map[string]any{
			"Execution":    map[string]any{"Id": executionARN(rt, c2), "Name": "x"},
			"State":        map[string]any{"Name": command.StateApply},
			"StateMachine": map[string]any{"Id": rt.Config.CommandStateMachineARN, "Name": command.MachineName(rt.Config.CommandStateMachineARN)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := rt.Handler()(bg, b)
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := json.Marshal(out)
	var res command.ApplyStepResult
	if err := json.Unmarshal(ob, &res); err != nil {
		t.Fatal(err)
	}
	if res.Next != command.NextWait || res.WaitFor != 1 || res.Timeouts != 1 {
		t.Fatalf("result %s, want a wait for v1 with 1 timeout", ob)
	}
	if got, _ := svc.GetCommand(bg, k, 2); got.Status == core.StatusFailed {
		t.Fatalf("v2 failed: %s", got.Error)
	}
}
