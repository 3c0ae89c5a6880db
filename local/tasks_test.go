package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// Options.Tasks provisions the task capability: the tasks table, the task
// queue and its dead-letter queue, the task state machine; without it
// there is none.
func TestTasksResources(t *testing.T) {
	ctx := context.Background()
	off, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if off.Tasks() != nil || off.TaskStateMachine() != nil || off.Config.TaskStateMachineARN != "" {
		t.Fatal("tasks are on without Options.Tasks")
	}
	if _, err := off.SweepTasks(ctx); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("SweepTasks without tasks: %v", err)
	}

	var calls atomic.Int64
	rt, err := local.New(ctx, local.Options{
		Modules: []string{"order"},
		Tasks:   &local.TaskOptions{Settings: task.Settings{MaxReceiveCount: 4, Lease: time.Minute}},
		WrapHandler: func(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
			return func(ctx context.Context, p json.RawMessage) (any, error) {
				calls.Add(1)
				return next(ctx, p)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	cfg := rt.Config
	if cfg.TaskStateMachineARN != "arn:aws:states:us-east-1:000000000000:stateMachine:local-app-task" {
		t.Fatalf("TaskStateMachineARN %q", cfg.TaskStateMachineARN)
	}
	if _, err := rt.Store.Query(ctx, cfg.TasksTable(), core.Query{PK: "TASK#acme"}); err != nil {
		t.Fatalf("tasks table: %v", err)
	}
	for _, q := range []string{cfg.TaskQueue(), cfg.TaskDLQ()} {
		if _, _, err := rt.Queues.QueueDepth(q); err != nil {
			t.Fatalf("queue %s: %v", q, err)
		}
	}
	if _, err := rt.Workflows.DescribeExecution(ctx, "arn:aws:states:us-east-1:000000000000:execution:local-app-task:none"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("DescribeExecution: %v", err)
	}
	if string(rt.TaskStateMachine()) == "" || rt.Tasks().Settings().MaxReceiveCount != 4 {
		t.Fatal("no task state machine or settings")
	}
	// Every invocation goes through WrapHandler: the stream batch and the
	// queue batch of one task.
	tk, err := rt.Tasks().Create(ctx, task.Input{TenantCode: "acme", Type: "none"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	d, err := rt.Tasks().Get(ctx, tk.Key(), task.PageRequest{})
	if err != nil || d.Task.Status != task.StatusFailed || d.Task.ErrorName != task.ErrorNameUnknownType {
		t.Fatalf("task %+v %v", d, err)
	}
	if n := calls.Load(); n != 2 || rt.Stats().LambdaInvocations != 2 {
		t.Fatalf("%d wrapped calls, %d invocations, want 2", n, rt.Stats().LambdaInvocations)
	}
}
