package coretest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
)

// WorkflowsHarness adapts a Workflows implementation to TestWorkflows.
type WorkflowsHarness struct {
	// New returns the Workflows under test. Required.
	New func(t *testing.T) core.Workflows
	// CreateStateMachine creates a state machine named name and returns its
	// ARN. Its executions must stay RUNNING for the duration of the suite
	// (for example a long Wait state, a .waitForTaskToken task, or an
	// endpoint that does not run executions). Required.
	CreateStateMachine func(t *testing.T, wf core.Workflows, name string) (arn string)
	// IssueTaskToken makes the RUNNING execution wait on a new task token and
	// returns the token. Nil skips the task-token tests (for endpoints that
	// cannot issue tokens, such as moto without execution).
	IssueTaskToken func(t *testing.T, wf core.Workflows, executionARN string) (token string)
}

// TestWorkflows runs the Workflows conformance suite against h.
func TestWorkflows(t *testing.T, h WorkflowsHarness) {
	t.Helper()
	if h.New == nil || h.CreateStateMachine == nil {
		t.Fatal("coretest: WorkflowsHarness needs New and CreateStateMachine")
	}
	ctx := context.Background()
	wf := h.New(t)
	sm := h.CreateStateMachine(t, wf, uniqueName("ct-sm"))

	t.Run("start and describe a running execution", func(t *testing.T) {
		name := uniqueName("ex")
		input := json.RawMessage(`{"pk":"P#1","sk":"S#1@2","n":[1,2]}`)
		arn, err := wf.StartExecution(ctx, sm, name, input)
		if err != nil {
			t.Fatalf("StartExecution: %v", err)
		}
		if arn == "" || !strings.Contains(arn, name) {
			t.Fatalf("execution ARN %q does not name the execution %q", arn, name)
		}
		ex, err := wf.DescribeExecution(ctx, arn)
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if ex.ARN != arn || ex.Name != name || ex.StateMachineARN != sm {
			t.Errorf("described ARN %q name %q state machine %q; want %q %q %q", ex.ARN, ex.Name, ex.StateMachineARN, arn, name, sm)
		}
		if ex.Status != core.ExecutionRunning {
			t.Errorf("status %s, want RUNNING", ex.Status)
		}
		if !jsonEqual(ex.Input, input) {
			t.Errorf("input %s, want %s", ex.Input, input)
		}
		if ex.StartDate.IsZero() || !ex.StopDate.IsZero() {
			t.Errorf("start date %v (want set), stop date %v (want zero)", ex.StartDate, ex.StopDate)
		}
	})
	t.Run("start with the same name and input is idempotent", func(t *testing.T) {
		name := uniqueName("ex")
		input := json.RawMessage(`{"a":1}`)
		first, err := wf.StartExecution(ctx, sm, name, input)
		if err != nil {
			t.Fatalf("first StartExecution: %v", err)
		}
		second, err := wf.StartExecution(ctx, sm, name, input)
		if err != nil {
			t.Fatalf("second StartExecution: %v", err)
		}
		if first != second {
			t.Fatalf("second start returned %q, want the first ARN %q", second, first)
		}
	})
	t.Run("start with the same name and another input is ErrExecutionExists", func(t *testing.T) {
		name := uniqueName("ex")
		if _, err := wf.StartExecution(ctx, sm, name, json.RawMessage(`{"a":1}`)); err != nil {
			t.Fatalf("first StartExecution: %v", err)
		}
		_, err := wf.StartExecution(ctx, sm, name, json.RawMessage(`{"a":2}`))
		wantErrIs(t, err, core.ErrExecutionExists, "second StartExecution")
	})
	t.Run("concurrent starts of one name give one execution", func(t *testing.T) {
		name := uniqueName("ex")
		const n = 8
		arns := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				arns[i], errs[i] = wf.StartExecution(ctx, sm, name, json.RawMessage(`{"same":true}`))
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("start %d: %v", i, errs[i])
			}
			if arns[i] != arns[0] {
				t.Fatalf("start %d returned %q, start 0 %q", i, arns[i], arns[0])
			}
		}
	})
	t.Run("empty input is accepted", func(t *testing.T) {
		arn, err := wf.StartExecution(ctx, sm, uniqueName("ex"), nil)
		if err != nil {
			t.Fatalf("StartExecution: %v", err)
		}
		ex, err := wf.DescribeExecution(ctx, arn)
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if !jsonEqual(ex.Input, json.RawMessage(`{}`)) {
			t.Errorf("input %s, want {}", ex.Input)
		}
	})
	t.Run("unknown execution is ErrNotFound", func(t *testing.T) {
		arn := strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":" + uniqueName("never")
		_, err := wf.DescribeExecution(ctx, arn)
		mustNotFound(t, err, "DescribeExecution")
	})
	t.Run("unknown state machine is ErrNotFound", func(t *testing.T) {
		unknown := sm[:strings.LastIndex(sm, ":")+1] + uniqueName("nosm")
		_, err := wf.StartExecution(ctx, unknown, uniqueName("ex"), nil)
		mustNotFound(t, err, "StartExecution")
	})
	t.Run("canceled context fails with context.Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := wf.StartExecution(cctx, sm, uniqueName("ex"), nil)
		wantErrIs(t, err, context.Canceled, "StartExecution")
		_, err = wf.DescribeExecution(cctx, sm)
		wantErrIs(t, err, context.Canceled, "DescribeExecution")
	})

	t.Run("task tokens", func(t *testing.T) {
		if h.IssueTaskToken == nil {
			t.Skip("coretest: harness cannot issue task tokens (IssueTaskToken is nil)")
		}
		start := func(t *testing.T) string {
			t.Helper()
			arn, err := wf.StartExecution(ctx, sm, uniqueName("ex"), json.RawMessage(`{}`))
			if err != nil {
				t.Fatalf("StartExecution: %v", err)
			}
			return arn
		}
		t.Run("heartbeat then success; a second use is ErrTaskTokenInvalid", func(t *testing.T) {
			tok := h.IssueTaskToken(t, wf, start(t))
			if err := wf.SendTaskHeartbeat(ctx, tok); err != nil {
				t.Fatalf("SendTaskHeartbeat: %v", err)
			}
			if err := wf.SendTaskSuccess(ctx, tok, json.RawMessage(`{"ok":true}`)); err != nil {
				t.Fatalf("SendTaskSuccess: %v", err)
			}
			wantErrIs(t, wf.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)), core.ErrTaskTokenInvalid, "second SendTaskSuccess")
			wantErrIs(t, wf.SendTaskFailure(ctx, tok, "E", "c"), core.ErrTaskTokenInvalid, "SendTaskFailure after success")
			wantErrIs(t, wf.SendTaskHeartbeat(ctx, tok), core.ErrTaskTokenInvalid, "SendTaskHeartbeat after success")
		})
		t.Run("failure; a second use is ErrTaskTokenInvalid", func(t *testing.T) {
			tok := h.IssueTaskToken(t, wf, start(t))
			if err := wf.SendTaskFailure(ctx, tok, "Boom", "it broke"); err != nil {
				t.Fatalf("SendTaskFailure: %v", err)
			}
			wantErrIs(t, wf.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)), core.ErrTaskTokenInvalid, "SendTaskSuccess after failure")
		})
		t.Run("unknown token is ErrTaskTokenInvalid", func(t *testing.T) {
			bogus := "AAAA" + uniqueName("bogus-token")
			wantErrIs(t, wf.SendTaskSuccess(ctx, bogus, json.RawMessage(`{}`)), core.ErrTaskTokenInvalid, "SendTaskSuccess")
			wantErrIs(t, wf.SendTaskFailure(ctx, bogus, "E", "c"), core.ErrTaskTokenInvalid, "SendTaskFailure")
			wantErrIs(t, wf.SendTaskHeartbeat(ctx, bogus), core.ErrTaskTokenInvalid, "SendTaskHeartbeat")
		})
		t.Run("canceled context fails with context.Canceled", func(t *testing.T) {
			tok := h.IssueTaskToken(t, wf, start(t))
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			wantErrIs(t, wf.SendTaskSuccess(cctx, tok, json.RawMessage(`{}`)), context.Canceled, "SendTaskSuccess")
			if err := wf.SendTaskSuccess(ctx, tok, json.RawMessage(`{}`)); err != nil {
				t.Fatalf("token unusable after a canceled call: %v", err)
			}
		})
	})
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
