package integrations

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
	"github.com/stepcqrs/stepcqrs/core"
)

// ExecutionStopper is implemented by Workflows that can stop an execution
// (StopExecution): a .sync integration whose task ends early (the parent
// was stopped or timed out) stops the execution it started, as Step
// Functions does.
type ExecutionStopper interface {
	StopExecution(ctx context.Context, executionARN, errName, cause string) error
}

// statesIntegration is arn:aws:states:::states:startExecution (request
// response, .sync and .sync:2) on a core.Workflows.
type statesIntegration struct{ b Backends }

// epochMillis renders a time as Step Functions renders the dates of this
// integration: milliseconds since the epoch.
func epochMillis(t time.Time) json.Number {
	if t.IsZero() {
		return ""
	}
	return json.Number(strconv.FormatInt(t.UnixMilli(), 10))
}

func (st *statesIntegration) start(ctx context.Context, req *interp.TaskRequest) (any, error) {
	p, err := params(req)
	if err != nil {
		return nil, err
	}
	smARN := str(p, "StateMachineArn")
	if smARN == "" {
		return nil, svcSFN.fail("InvalidArnException", "InvalidArn", 400, "Invalid Arn: 'StateMachineArn' is required")
	}
	name := str(p, "Name")
	if name == "" {
		name = newUUID()
	}
	input := json.RawMessage(`{}`)
	switch in := p["Input"].(type) {
	case nil:
	case string:
		if !json.Valid([]byte(in)) {
			return nil, svcSFN.fail("InvalidExecutionInputException", "InvalidExecutionInput", 400, "Invalid State Machine Execution Input: the input is not JSON")
		}
		input = json.RawMessage(in)
	default:
		b, err := jsonpath.Encode(in)
		if err != nil {
			return nil, err
		}
		input = b
	}
	arn, err := st.b.Workflows.StartExecution(ctx, smARN, name, input)
	if err != nil {
		var te *core.TransientError
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil, err
		case errors.Is(err, core.ErrNotFound):
			return nil, svcSFN.fail("StateMachineDoesNotExistException", "StateMachineDoesNotExist", 400, "State Machine Does Not Exist: '"+smARN+"'")
		case errors.Is(err, core.ErrExecutionExists):
			return nil, svcSFN.fail("ExecutionAlreadyExistsException", "ExecutionAlreadyExists", 400, "Execution Already Exists: '"+execARN(smARN, name)+"'")
		case errors.Is(err, core.ErrValidation):
			return nil, svcSFN.fail("InvalidNameException", "InvalidName", 400, err.Error())
		case errors.As(err, &te):
			return nil, svcSFN.fail("", "ServiceUnavailable", 503, err.Error())
		}
		return nil, svcSFN.fail("", "InternalFailure", 500, err.Error())
	}
	if !strings.Contains(req.Resource, ".sync") {
		ex, derr := st.b.Workflows.DescribeExecution(ctx, arn)
		startDate := st.b.Now()
		if derr == nil {
			startDate = ex.StartDate
		}
		out := map[string]any{"ExecutionArn": arn, "StartDate": epochMillis(startDate)}
		b, _ := json.Marshal(out)
		return sdkMetadata(out, "application/x-amz-json-1.0", len(b), st.b.Now()), nil
	}
	// The task waits for another execution: on a virtual clock, it must
	// not hold the clock still meanwhile.
	resume := interp.Idle(ctx)
	ex, err := st.wait(ctx, arn)
	resume()
	if err != nil {
		if ctx.Err() != nil {
			if s, ok := st.b.Workflows.(ExecutionStopper); ok {
				_ = s.StopExecution(context.WithoutCancel(ctx), arn, "", "the task of the parent execution ended")
			}
		}
		return nil, err
	}
	v2 := strings.HasSuffix(req.Resource, ".sync:2")
	doc := map[string]any{
		"ExecutionArn":    ex.ARN,
		"Input":           payload(ex.Input, v2),
		"InputDetails":    map[string]any{"Included": true},
		"Name":            ex.Name,
		"StartDate":       epochMillis(ex.StartDate),
		"StateMachineArn": ex.StateMachineARN,
		"Status":          string(ex.Status),
		"StopDate":        epochMillis(ex.StopDate),
	}
	if ex.Status == core.ExecutionSucceeded {
		doc["Output"] = payload(ex.Output, v2)
		doc["OutputDetails"] = map[string]any{"Included": true}
		return doc, nil
	}
	if ex.Error != "" {
		doc["Error"] = ex.Error
	}
	if ex.Cause != "" {
		doc["Cause"] = ex.Cause
	}
	cause, _ := jsonpath.EncodeString(doc)
	return nil, &interp.StatesError{Name: "States.TaskFailed", Cause: cause, HasName: true, HasCause: true}
}

// payload is an execution input or output as .sync reports it: JSON text,
// or (.sync:2) the JSON value.
func payload(b json.RawMessage, v2 bool) any {
	if len(b) == 0 {
		b = json.RawMessage(`{}`)
	}
	if !v2 {
		return string(b)
	}
	v, err := jsonpath.Decode(b)
	if err != nil {
		return string(b)
	}
	return v
}

// wait waits for the execution to end: through ExecutionWaiter, or by
// polling DescribeExecution.
func (st *statesIntegration) wait(ctx context.Context, arn string) (core.Execution, error) {
	if w, ok := st.b.Workflows.(ExecutionWaiter); ok {
		return w.Wait(ctx, arn)
	}
	t := time.NewTicker(st.b.PollInterval)
	defer t.Stop()
	for {
		ex, err := st.b.Workflows.DescribeExecution(ctx, arn)
		if err != nil {
			return core.Execution{}, err
		}
		if ex.Status != core.ExecutionRunning {
			return ex, nil
		}
		select {
		case <-ctx.Done():
			return core.Execution{}, ctx.Err()
		case <-t.C:
		}
	}
}

// execARN derives an execution ARN from a state machine ARN and a name.
func execARN(smARN, name string) string {
	return strings.Replace(smARN, ":stateMachine:", ":execution:", 1) + ":" + name
}
