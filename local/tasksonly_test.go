package local_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// A runtime of tasks alone needs no CQRS module.
func TestTasksOnlyRuntime(t *testing.T) {
	ctx := context.Background()
	reg := task.NewRegistry()
	type num struct{ N int }
	task.Register(reg, "double", func(ctx context.Context, job task.Job[num]) (num, error) {
		return num{job.Input.N * 2}, nil
	})
	rt, err := local.New(ctx, local.Options{Tasks: &local.TaskOptions{Registry: reg}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	tk, err := rt.Tasks().Create(ctx, task.Input{TenantCode: "acme", Type: "double", Input: map[string]int{"N": 21}})
	if err != nil {
		t.Fatal(err)
	}
	idle(t, rt)
	d, err := rt.Tasks().Get(ctx, tk.Key(), task.PageRequest{})
	if err != nil || d.Task.Status != task.StatusCompleted || string(d.Task.Result) != `{"N":42}` {
		t.Fatalf("task %+v %v", d.Task, err)
	}
	if _, err := rt.Sweep(ctx); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Sweep without modules: %v", err)
	}
	if _, err := local.New(ctx, local.Options{}); err == nil {
		t.Error("a runtime with neither modules nor tasks was built")
	}
}
