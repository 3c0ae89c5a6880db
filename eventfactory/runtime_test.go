package eventfactory

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/stepcqrs/stepcqrs/core"
)

// invokeRuntime runs handler through aws-lambda-go's own invoke path (the
// code that builds the errorType Step Functions sees) and returns its
// response.
func invokeRuntime(t *testing.T, handler any, payload []byte) messages.InvokeResponse {
	t.Helper()
	//lint:ignore SA1019 Function is the exported entry into the runtime's error conversion (lambdaErrorResponse), the code under test.
	fn := lambda.NewFunction(lambda.NewHandler(handler))
	var resp messages.InvokeResponse
	req := &messages.InvokeRequest{
		Payload:   payload,
		RequestId: "req-rt",
		Deadline:  messages.InvokeRequest_Timestamp{Seconds: time.Now().Add(time.Minute).Unix()},
	}
	if err := fn.Invoke(req, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestRuntimeErrorType shows the runtime's rule and that Handler beats it:
// a wrapped core error is reported as "wrapError" by the runtime, and as
// "VersionConflictError" through Handler.
func TestRuntimeErrorType(t *testing.T) {
	wrapped := func(ctx context.Context, task SFNTask[keysInput]) (any, error) {
		return nil, fmt.Errorf("apply %s: %w", task.Input.SK, &core.VersionConflictError{ID: "x", Input: 1, Latest: 3})
	}
	raw := func(_ context.Context, _ json.RawMessage) (any, error) {
		return wrapped(context.Background(), SFNTask[keysInput]{})
	}
	if resp := invokeRuntime(t, raw, []byte(`{}`)); resp.Error == nil || resp.Error.Type != "wrapError" {
		t.Fatalf("runtime without eventfactory: %+v", resp.Error)
	}

	r := NewRouter(Config{Logger: quietLogger()})
	OnStepFunctions(r, "demo-command", "apply", wrapped)
	OnStepFunctions(r, "demo-command", "wait", func(ctx context.Context, task SFNTask[keysInput]) (map[string]string, error) {
		return map[string]string{"token": task.TaskToken}, nil
	})
	OnSQS(r, "demo-tasks", func(ctx context.Context, m SQSMessage[taskBody]) error {
		if m.Body.ID == "t2" {
			return Named("Retryable", fmt.Errorf("later"))
		}
		return nil
	})
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	resp := invokeRuntime(t, d.Handler(), readFixture(t, "sfn-task.json"))
	if resp.Error == nil || resp.Error.Type != ErrorNameVersionConflict {
		t.Fatalf("through Handler: %+v", resp.Error)
	}
	if want := "apply ORDER#o1@1: stepcqrs: version conflict on x: input version 1, latest version 3"; resp.Error.Message != want {
		t.Errorf("message %q", resp.Error.Message)
	}
	resp = invokeRuntime(t, d.Handler(), readFixture(t, "sfn-task-token.json"))
	if resp.Error != nil || string(resp.Payload) != `{"token":"AQCEAAAAKgAAAAMAAAAAAAAAAe3Yexampletoken=="}` {
		t.Errorf("task result %q %+v", resp.Payload, resp.Error)
	}
	resp = invokeRuntime(t, d.Handler(), readFixture(t, "sqs-batch.json"))
	if resp.Error != nil || string(resp.Payload) != `{"batchItemFailures":[{"itemIdentifier":"m-2"}]}` {
		t.Errorf("sqs response %q %+v", resp.Payload, resp.Error)
	}
}
