package coretest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stepcqrs/stepcqrs/core"
)

// RecordingWorkflows is a core.Workflows that runs nothing, for tests that
// drive the steps of a state machine themselves: it records the executions
// started, with Step Functions' idempotency for a running standard
// execution (the same name and input: the same ARN, nothing new; the same
// name with another input: core.ErrExecutionExists). DescribeExecution
// finds nothing. SendTaskSuccess fails unless AcceptTokens is set; then it
// records each token once, as Step Functions accepts it once (a used one
// gives core.ErrTaskTokenInvalid). SendTaskFailure and SendTaskHeartbeat
// always fail. It is safe for concurrent use; the zero value is ready.
type RecordingWorkflows struct {
	// AcceptTokens makes SendTaskSuccess record its tokens.
	AcceptTokens bool

	mu      sync.Mutex
	starts  int               // StartExecution calls
	inputs  map[string]string // execution name -> input
	order   []string          // execution names, in start order
	resumed []string          // tokens sent SendTaskSuccess
}

// errUnexpected is the error of the calls a RecordingWorkflows does not
// expect.
var errUnexpected = errors.New("coretest.RecordingWorkflows: call not expected")

// StartExecution implements core.Workflows.
func (w *RecordingWorkflows) StartExecution(_ context.Context, sm, name string, input json.RawMessage) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.starts++
	if w.inputs == nil {
		w.inputs = map[string]string{}
	}
	if old, ok := w.inputs[name]; ok && old != string(input) {
		return "", fmt.Errorf("execution %s: %w", name, core.ErrExecutionExists)
	} else if !ok {
		w.inputs[name] = string(input)
		w.order = append(w.order, name)
	}
	return strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":" + name, nil
}

// DescribeExecution implements core.Workflows: every execution is unknown.
func (w *RecordingWorkflows) DescribeExecution(_ context.Context, arn string) (core.Execution, error) {
	return core.Execution{}, &core.NotFoundError{Kind: "execution", Name: arn}
}

// SendTaskSuccess implements core.Workflows.
func (w *RecordingWorkflows) SendTaskSuccess(_ context.Context, token string, _ json.RawMessage) error {
	if !w.AcceptTokens {
		return fmt.Errorf("SendTaskSuccess: %w", errUnexpected)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, used := range w.resumed {
		if used == token {
			return fmt.Errorf("token %s: %w", token, core.ErrTaskTokenInvalid)
		}
	}
	w.resumed = append(w.resumed, token)
	return nil
}

// SendTaskFailure implements core.Workflows; it always fails.
func (w *RecordingWorkflows) SendTaskFailure(context.Context, string, string, string) error {
	return fmt.Errorf("SendTaskFailure: %w", errUnexpected)
}

// SendTaskHeartbeat implements core.Workflows; it always fails.
func (w *RecordingWorkflows) SendTaskHeartbeat(context.Context, string) error {
	return fmt.Errorf("SendTaskHeartbeat: %w", errUnexpected)
}

// Snapshot returns the number of StartExecution calls, the names of the
// executions started, in order, and the tokens SendTaskSuccess accepted.
func (w *RecordingWorkflows) Snapshot() (starts int, names, resumed []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.starts, append([]string(nil), w.order...), append([]string(nil), w.resumed...)
}

// Input returns the input of the execution named name, and whether one
// was started.
func (w *RecordingWorkflows) Input(name string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.inputs[name]
	return in, ok
}
