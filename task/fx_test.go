package task_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// The fx wiring on the embedded runtime: the application includes
// task.Module and its registry; the runtime supplies the ports and the
// settings.
func TestModule(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "greet", func(_ context.Context, j task.Job[string]) (string, error) { return "hello " + j.Input, nil })
	var svc *task.Service
	rt := newRuntime(t, nil, func(o *local.Options) {
		o.Tasks.Settings.MaxReceiveCount = 3
		o.App = fx.Options(task.Module, fx.Supply(reg), fx.Populate(&svc))
	})
	if svc == nil || rt.Tasks() != svc || svc.Settings().MaxReceiveCount != 3 {
		t.Fatalf("service %p (runtime's %p)", svc, rt.Tasks())
	}
	tk, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "greet", Input: "fx"})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	if got := get(t, svc, tk.Key()).Task; got.Status != task.StatusCompleted || string(got.Result) != `"hello fx"` {
		t.Fatalf("task %s %s", got.Status, got.Result)
	}
}

// Registration mistakes fail the application's start.
func TestModuleRegistrationErrors(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "dup", noop)
	task.Register(reg, "dup", noop)
	_, err := local.New(bg, local.Options{Modules: []string{"order"}, Tasks: &local.TaskOptions{},
		App: fx.Options(task.Module, fx.Supply(reg))})
	if !errors.Is(err, core.ErrValidation) || !strings.Contains(err.Error(), `task type "dup" is registered twice`) {
		t.Fatalf("local.New: %v", err)
	}
}
