package core

import (
	"context"
	"encoding/json"
	"time"
)

// ExecutionStatus is the status of a workflow execution, as Step Functions
// names it.
type ExecutionStatus string

// Execution statuses.
const (
	ExecutionRunning   ExecutionStatus = "RUNNING"
	ExecutionSucceeded ExecutionStatus = "SUCCEEDED"
	ExecutionFailed    ExecutionStatus = "FAILED"
	ExecutionTimedOut  ExecutionStatus = "TIMED_OUT"
	ExecutionAborted   ExecutionStatus = "ABORTED"
)

// Execution describes one workflow execution.
type Execution struct {
	ARN             string
	StateMachineARN string
	Name            string
	Status          ExecutionStatus
	Input           json.RawMessage
	Output          json.RawMessage // set when SUCCEEDED
	Error, Cause    string          // set when FAILED
	StartDate       time.Time
	StopDate        time.Time // zero while RUNNING
}

// Workflows is the port to a Step Functions-like workflow service.
//
// Implementations are safe for concurrent use and honour ctx cancellation.
type Workflows interface {
	// StartExecution starts an execution of the state machine with the given
	// name and input. Starting a name whose execution is still RUNNING with
	// the same input returns that execution's ARN and no error (Step
	// Functions' idempotency for standard workflows). A different input, or a
	// name whose execution has already ended, gives an error matching
	// ErrExecutionExists: a caller that derives names deterministically
	// treats that as "already started".
	StartExecution(ctx context.Context, stateMachineARN, name string, input json.RawMessage) (executionARN string, err error)
	// DescribeExecution returns the execution; ErrNotFound when unknown.
	DescribeExecution(ctx context.Context, executionARN string) (Execution, error)
	// SendTaskSuccess completes the task waiting on token with output.
	// An unknown, completed or timed-out token gives ErrTaskTokenInvalid.
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
	// SendTaskFailure fails the task waiting on token with errName and cause.
	SendTaskFailure(ctx context.Context, token, errName, cause string) error
	// SendTaskHeartbeat reports that the task waiting on token is alive.
	SendTaskHeartbeat(ctx context.Context, token string) error
}
