package awsadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stepcqrs/stepcqrs/core"
)

// SFNAPI is the part of *sfn.Client that Workflows calls.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	SendTaskHeartbeat(ctx context.Context, in *sfn.SendTaskHeartbeatInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error)
}

// Workflows is core.Workflows on AWS Step Functions.
type Workflows struct {
	client SFNAPI
}

var _ core.Workflows = (*Workflows)(nil)

// NewWorkflows returns a Workflows that calls client, typically an
// *sfn.Client.
func NewWorkflows(client SFNAPI) *Workflows { return &Workflows{client: client} }

// ExecutionARN derives the ARN of the execution named name of the standard
// state machine stateMachineARN
// (arn:PARTITION:states:REGION:ACCOUNT:stateMachine:SM becomes
// arn:PARTITION:states:REGION:ACCOUNT:execution:SM:NAME). It returns "" when
// stateMachineARN is not a state machine ARN.
func ExecutionARN(stateMachineARN, name string) string {
	parts := strings.Split(stateMachineARN, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
		return ""
	}
	parts[5] = "execution"
	return strings.Join(parts[:7], ":") + ":" + name
}

// jsonEqual reports whether a and b hold equal JSON values.
func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// StartExecution implements core.Workflows. When the name is taken, it
// describes the existing execution and returns its ARN if its input is
// JSON-equal to input (whether it is still running or not), else an error
// matching core.ErrExecutionExists. An empty input is sent as {}.
func (w *Workflows) StartExecution(ctx context.Context, stateMachineARN, name string, input json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	out, err := w.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(input)),
	})
	if err == nil {
		return aws.ToString(out.ExecutionArn), nil
	}
	switch apiCode(err) {
	case "ExecutionAlreadyExists":
		arn := ExecutionARN(stateMachineARN, name)
		if arn == "" {
			return "", sentinel(core.ErrExecutionExists, "execution "+name, err)
		}
		ex, derr := w.DescribeExecution(ctx, arn)
		if derr != nil {
			return "", sentinel(core.ErrExecutionExists, "execution "+arn, fmt.Errorf("%w; describing it: %v", err, derr))
		}
		if jsonEqual(ex.Input, input) {
			return ex.ARN, nil
		}
		return "", sentinel(core.ErrExecutionExists, "execution "+arn+" has another input", err)
	case "StateMachineDoesNotExist", "StateMachineDeleting":
		return "", notFound("state machine", stateMachineARN, err)
	}
	return "", transient("sfn", err)
}

// DescribeExecution implements core.Workflows. An unknown or malformed
// execution ARN gives a *core.NotFoundError.
func (w *Workflows) DescribeExecution(ctx context.Context, executionARN string) (core.Execution, error) {
	out, err := w.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		switch apiCode(err) {
		case "ExecutionDoesNotExist", "InvalidArn", "ResourceNotFound":
			return core.Execution{}, notFound("execution", executionARN, err)
		}
		return core.Execution{}, transient("sfn", err)
	}
	ex := core.Execution{
		ARN:             aws.ToString(out.ExecutionArn),
		StateMachineARN: aws.ToString(out.StateMachineArn),
		Name:            aws.ToString(out.Name),
		Status:          core.ExecutionStatus(out.Status),
		Error:           aws.ToString(out.Error),
		Cause:           aws.ToString(out.Cause),
	}
	if out.Input != nil {
		ex.Input = json.RawMessage(*out.Input)
	}
	if out.Output != nil {
		ex.Output = json.RawMessage(*out.Output)
	}
	if out.StartDate != nil {
		ex.StartDate = *out.StartDate
	}
	if out.StopDate != nil {
		ex.StopDate = *out.StopDate
	}
	return ex, nil
}

// taskErr maps the token errors of Step Functions to core.ErrTaskTokenInvalid.
func taskErr(err error) error {
	switch apiCode(err) {
	case "TaskDoesNotExist", "InvalidToken", "TaskTimedOut":
		return sentinel(core.ErrTaskTokenInvalid, "task token", err)
	}
	return transient("sfn", err)
}

// SendTaskSuccess implements core.Workflows. An empty output is sent as {}.
func (w *Workflows) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if len(bytes.TrimSpace(output)) == 0 {
		output = json.RawMessage("{}")
	}
	_, err := w.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return taskErr(err)
}

// SendTaskFailure implements core.Workflows.
func (w *Workflows) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	_, err := w.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errName), Cause: aws.String(cause)})
	return taskErr(err)
}

// SendTaskHeartbeat implements core.Workflows.
func (w *Workflows) SendTaskHeartbeat(ctx context.Context, token string) error {
	_, err := w.client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
	return taskErr(err)
}
