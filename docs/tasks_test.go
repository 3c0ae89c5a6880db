package docs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// The snippets of tasks.md: background tasks and fan-outs.

func init() {
	generators["task-mermaid"] = func() (string, string, error) {
		sm, err := task.StateMachine(task.StateMachineOptions{FunctionARN: "dev-shop"})
		if err != nil {
			return "", "", err
		}
		return "mermaid", asl.Mermaid(sm), nil
	}
	generators["tasks-single-output"] = output(Example_taskSingle)
	generators["tasks-fanout-output"] = output(Example_taskFanOut)
}

// snippet: tasks-register
// ReportInput and Report are the input and result of the "report" task
// type.
type ReportInput struct {
	Month string `json:"month"`
}

type Report struct {
	Month  string `json:"month"`
	Orders int    `json:"orders"`
}

// registry registers the service's task handlers by type, with typed
// input and result. Mistakes (an empty type, a type registered twice)
// fail task.New at start-up.
func registry() *task.Registry {
	reg := task.NewRegistry()
	task.Register(reg, "report", func(ctx context.Context, j task.Job[ReportInput]) (Report, error) {
		if j.Input.Month == "" {
			// Retrying cannot fix this: fail the task at once.
			return Report{}, task.Permanent(errors.New("no month"))
		}
		return Report{Month: j.Input.Month, Orders: 42}, nil
	})
	// Sub-tasks of a "resize" fan-out run at most 4 at a time.
	task.Register(reg, "resize", func(ctx context.Context, j task.Job[string]) (string, error) {
		if j.Input == "broken.png" {
			return "", fmt.Errorf("cannot decode %s", j.Input)
		}
		return "thumbs/" + j.Input, nil
	}, task.MaxConcurrency(4))
	return reg
}

// /snippet

func Example_taskSingle() {
	ctx := context.Background()
	// snippet: tasks-single
	rt, err := local.New(ctx, local.Options{
		Modules: []string{"order"},
		Tasks:   &local.TaskOptions{Registry: registry()},
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	tasks := rt.Tasks()

	created, err := tasks.Create(ctx, task.Input{TenantCode: "acme", Type: "report", Input: ReportInput{Month: "2026-01"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(created.PK, created.Status)

	// The stream enqueues it, the queue consumer runs the handler.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}
	d, err := tasks.Get(ctx, created.Key(), task.PageRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Task.Status, string(d.Task.Result), "attempts:", d.Task.Attempts)
	// /snippet

	// Output:
	// TASK#acme CREATED
	// COMPLETED {"month":"2026-01","orders":42} attempts: 1
}

func Example_taskFanOut() {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, Tasks: &local.TaskOptions{Registry: registry()}})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	tasks := rt.Tasks()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// snippet: tasks-fanout
	images := []any{"a.png", "b.png", "broken.png", "c.png", "d.png"}
	parent, err := tasks.CreateFanOut(ctx, task.FanOutInput{TenantCode: "acme", Type: "resize", SubTasks: images})
	if err != nil {
		panic(err)
	}
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}
	d, err := tasks.Get(ctx, parent.Key(), task.PageRequest{Limit: 2})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %+v\n", d.Task.Status, d.Task.Counts)
	for _, s := range d.SubTasks { // the first page of sub-tasks
		fmt.Println(s.Index, s.Status, string(s.Result))
	}
	failures, err := tasks.Failures(ctx, parent.Key(), task.PageRequest{})
	if err != nil {
		panic(err)
	}
	for _, f := range failures.Failures {
		fmt.Println("failed:", f.Index, f.Error)
	}
	ex, err := rt.Workflows.DescribeExecution(ctx, d.Task.ExecutionARN)
	if err != nil {
		panic(err)
	}
	fmt.Println("execution:", ex.Status, ex.Error, "-", ex.Cause)
	// /snippet

	// Output:
	// FAILED {Total:5 Succeeded:4 Failed:1 Cancelled:0 Running:0}
	// 0 COMPLETED "thumbs/a.png"
	// 1 COMPLETED "thumbs/b.png"
	// failed: 2 cannot decode broken.png
	// execution: FAILED TaskFailed - 1 of 5 sub-tasks failed (see the failures)
}

// Example_taskGenerate shows a fan-out too large for memory: the inputs
// come from a generator, and beyond Settings.InlineMax sub-tasks the
// distributed Map reads the manifest from the object store.
func Example_taskGenerate() {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, Tasks: &local.TaskOptions{Registry: registry()}})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	tasks := rt.Tasks()
	// snippet: tasks-generate
	parent, err := tasks.CreateFanOut(ctx, task.FanOutInput{
		TenantCode: "acme", Type: "resize", ID: "import-2026-01", // an ID makes a retried creation a no-op
		Generate: func(yield func(any, error) bool) {
			for i := range 2500 {
				if !yield(fmt.Sprintf("img-%04d.png", i), nil) {
					return
				}
			}
		},
	})
	// /snippet
	if err != nil {
		panic(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}
	d, err := tasks.Get(ctx, parent.Key(), task.PageRequest{Limit: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Task.Status, d.Task.Counts.Succeeded, d.Task.Manifest)

	// Output:
	// COMPLETED 2500 stepcqrs/tasks/acme/resize/import-2026-01/manifest.jsonl
}

// snippet: tasks-fx
// tasksApp is the task side of a service for fx: core.Module and
// awsadapter.Module (production) or local.New (the embedded runtime)
// supply the configuration and the ports; eventfactory.Module builds the
// dispatcher from the routes task.Module contributes.
func tasksApp() fx.Option {
	return fx.Options(
		task.Module,
		fx.Supply(registry()),
		fx.Invoke(func(tasks *task.Service, log *slog.Logger) {
			log.Info("task types", "types", tasks.Registry().Types())
		}),
	)
}

// /snippet

// snippet: tasks-plain
// newTasks wires the task capability without fx, on any ports.
func newTasks(cfg core.Config, store core.ItemStore, queue core.Queue, wf core.Workflows,
	objects core.ObjectStore, topic core.Topic) (*task.Service, eventfactory.Registration, error) {
	svc, err := task.New(task.Options{Config: cfg, Store: store, Registry: registry(), Queue: queue,
		Workflows: wf, Objects: objects, Topic: topic})
	if err != nil {
		return nil, nil, err
	}
	routes, err := svc.Routes()
	return svc, routes, err
}

// /snippet

var (
	_ = tasksApp
	_ = newTasks
)
