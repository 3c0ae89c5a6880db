package coretest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/coretest"
)

func TestRecordingWorkflows(t *testing.T) {
	ctx := context.Background()
	const sm = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
	var w coretest.RecordingWorkflows
	arn, err := w.StartExecution(ctx, sm, "a", json.RawMessage(`{"n":1}`))
	if err != nil || arn != "arn:aws:states:us-east-1:123456789012:execution:orders:a" {
		t.Fatalf("start: %q %v", arn, err)
	}
	if again, err := w.StartExecution(ctx, sm, "a", json.RawMessage(`{"n":1}`)); err != nil || again != arn {
		t.Errorf("same name and input: %q %v, want the same ARN", again, err)
	}
	if _, err := w.StartExecution(ctx, sm, "a", json.RawMessage(`{"n":2}`)); !errors.Is(err, core.ErrExecutionExists) {
		t.Errorf("same name, other input: %v", err)
	}
	if _, err := w.StartExecution(ctx, sm, "b", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if in, ok := w.Input("a"); !ok || in != `{"n":1}` {
		t.Errorf("Input(a) = %q %v", in, ok)
	}
	if err := w.SendTaskSuccess(ctx, "tok", nil); err == nil {
		t.Error("SendTaskSuccess accepted without AcceptTokens")
	}
	w.AcceptTokens = true
	if err := w.SendTaskSuccess(ctx, "tok", nil); err != nil {
		t.Error(err)
	}
	if err := w.SendTaskSuccess(ctx, "tok", nil); !errors.Is(err, core.ErrTaskTokenInvalid) {
		t.Errorf("a used token: %v", err)
	}
	starts, names, resumed := w.Snapshot()
	if got := fmt.Sprint(starts, names, resumed); got != "4 [a b] [tok]" {
		t.Errorf("snapshot %s, want 4 [a b] [tok]", got)
	}
	if _, err := w.DescribeExecution(ctx, arn); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("DescribeExecution: %v", err)
	}
}
