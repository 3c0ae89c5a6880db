package memory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func newMachine(t *testing.T, w *memory.Workflows) string {
	t.Helper()
	arn, err := w.CreateStateMachine("sm", `{"StartAt":"A"}`)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// A runner that waits on a task token and ends the execution with the
// token's outcome, as a .waitForTaskToken state would.
func TestWorkflowsRunnerWithTaskToken(t *testing.T) {
	ctx := context.Background()
	tokens := make(chan string, 1)
	w := memory.NewWorkflows(memory.RunnerFunc(func(_ context.Context, run *memory.Run) {
		if run.Definition != `{"StartAt":"A"}` {
			t.Errorf("definition %q", run.Definition)
		}
		tok, err := run.IssueTaskToken()
		if err != nil {
			t.Error(err)
			return
		}
		tokens <- tok.Token
		go func() {
			select {
			case <-tok.Done():
			case <-run.Done():
				return
			}
			o := tok.Outcome()
			switch o.Status {
			case memory.TaskSucceeded:
				_, _ = run.Succeed(o.Output)
			case memory.TaskFailed:
				run.Fail(o.Error, o.Cause)
			}
		}()
	}))
	sm := newMachine(t, w)
	arn, err := w.StartExecution(ctx, sm, "e1", json.RawMessage(`{"x": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	tok := <-tokens
	if err := w.SendTaskSuccess(ctx, tok, json.RawMessage(`{"done": true}`)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ex, err := w.Wait(wctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != core.ExecutionSucceeded || string(ex.Output) != `{"done":true}` || ex.StopDate.IsZero() {
		t.Fatalf("execution %+v", ex)
	}
	// A finished name is taken, as in Step Functions.
	_, err = w.StartExecution(ctx, sm, "e1", json.RawMessage(`{"x":1}`))
	if !errors.Is(err, core.ErrExecutionExists) {
		t.Fatalf("restart of a finished name: %v, want ErrExecutionExists", err)
	}

	arn2, err := w.StartExecution(ctx, sm, "e2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SendTaskFailure(ctx, <-tokens, "Boom", "cause"); err != nil {
		t.Fatal(err)
	}
	ex, err = w.Wait(wctx, arn2)
	if err != nil || ex.Status != core.ExecutionFailed || ex.Error != "Boom" || ex.Cause != "cause" {
		t.Fatalf("execution %+v, %v", ex, err)
	}
	if got := w.Executions(sm); len(got) != 2 || got[0].Name != "e1" || got[1].Name != "e2" {
		t.Fatalf("Executions: %+v", got)
	}
}

func TestWorkflowsStopCancelsTokens(t *testing.T) {
	ctx := context.Background()
	w := memory.NewWorkflows(nil)
	sm := newMachine(t, w)
	arn, err := w.StartExecution(ctx, sm, "e", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.IssueTaskToken(arn)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SendTaskHeartbeat(ctx, tok.Token); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tok.Heartbeats():
	default:
		t.Fatal("no heartbeat signalled")
	}
	if tok.LastHeartbeat().IsZero() {
		t.Fatal("heartbeat time not recorded")
	}
	if err := w.StopExecution(ctx, arn, "Stopped", "by test"); err != nil {
		t.Fatal(err)
	}
	<-tok.Done()
	if tok.Outcome().Status != memory.TaskCanceled {
		t.Fatalf("outcome %+v", tok.Outcome())
	}
	if err := w.SendTaskSuccess(ctx, tok.Token, nil); !errors.Is(err, core.ErrTaskTokenInvalid) {
		t.Fatalf("token of a stopped execution: %v", err)
	}
	ex, _ := w.DescribeExecution(ctx, arn)
	if ex.Status != core.ExecutionAborted || ex.Error != "Stopped" {
		t.Fatalf("execution %+v", ex)
	}
	if _, err := w.IssueTaskToken(arn); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("token for a stopped execution: %v", err)
	}
}

func TestWorkflowsTokenExpiry(t *testing.T) {
	ctx := context.Background()
	w := memory.NewWorkflows(nil)
	arn, err := w.StartExecution(ctx, newMachine(t, w), "e", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := w.IssueTaskToken(arn)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expire() || tok.Expire() {
		t.Fatal("Expire should succeed once")
	}
	if err := w.SendTaskHeartbeat(ctx, tok.Token); !errors.Is(err, core.ErrTaskTokenInvalid) {
		t.Fatalf("heartbeat after expiry: %v", err)
	}
}

func TestWorkflowsValidation(t *testing.T) {
	ctx := context.Background()
	w := memory.NewWorkflows(nil)
	sm := newMachine(t, w)
	cases := []struct {
		name, exec string
		input      json.RawMessage
	}{
		{"name with a space", "a b", nil},
		{"name too long", string(make([]byte, 81)), nil},
		{"input not JSON", "ok", json.RawMessage(`{`)},
		{"input too large", "ok2", json.RawMessage(`"` + string(make([]byte, memory.MaxPayloadBytes)) + `"`)},
	}
	for _, c := range cases {
		if _, err := w.StartExecution(ctx, sm, c.exec, c.input); !errors.Is(err, core.ErrValidation) {
			t.Errorf("%s: %v, want ErrValidation", c.name, err)
		}
	}
	arn, err := w.StartExecution(ctx, sm, "", nil)
	if err != nil || arn == "" {
		t.Fatalf("generated name: %q, %v", arn, err)
	}
}

// TestKeepExecutionDetails: beyond the last n ended executions, records
// keep name, status, error and dates, not input and output; the names stay
// taken, and waiting on an old execution returns at once.
func TestKeepExecutionDetails(t *testing.T) {
	ctx := context.Background()
	w := memory.NewWorkflows(nil, memory.KeepExecutionDetails(2))
	sm, err := w.CreateStateMachine("m", `{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for i := range 4 {
		arn, err := w.StartExecution(ctx, sm, fmt.Sprintf("x%d", i), []byte(`{"i":1}`))
		if err != nil {
			t.Fatal(err)
		}
		run, err := w.Lookup(arn)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			run.Fail("E", "cause")
		} else {
			_, _ = run.Succeed([]byte(`{"out":1}`))
		}
		arns = append(arns, arn)
	}
	for i, arn := range arns {
		ex, err := w.DescribeExecution(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		kept := i >= 2
		if (ex.Input != nil) != kept || ex.Name != fmt.Sprintf("x%d", i) || ex.StopDate.IsZero() {
			t.Errorf("execution %d: %+v (details kept: %v)", i, ex, kept)
		}
		if i == 1 && (ex.Status != core.ExecutionFailed || ex.Error != "E" || ex.Cause != "cause") {
			t.Errorf("failed execution lost its status: %+v", ex)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		if _, err := w.Wait(wctx, arn); err != nil {
			t.Errorf("Wait on ended execution %d: %v", i, err)
		}
		cancel()
	}
	if _, err := w.StartExecution(ctx, sm, "x0", []byte(`{"i":1}`)); !errors.Is(err, core.ErrExecutionExists) {
		t.Fatalf("restart of an old ended name: %v", err)
	}
}
