package memory_test

import (
	"context"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func TestModule(t *testing.T) {
	var (
		store core.ItemStore
		ms    *memory.Store
		wf    core.Workflows
		objs  core.ObjectStore
		q     core.Queue
		tp    core.Topic
	)
	app := fxtest.New(t, memory.Module, fx.Populate(&store, &ms, &wf, &objs, &q, &tp))
	app.RequireStart()
	defer app.RequireStop()
	if store != core.ItemStore(ms) {
		t.Fatal("core.ItemStore is not the provided *memory.Store")
	}
	if store == nil || wf == nil || objs == nil || q == nil || tp == nil {
		t.Fatal("a port is missing")
	}
	if err := store.Put(context.Background(), "t", it("p", "s"), core.Condition{}); err != nil {
		t.Fatal(err)
	}
}

func TestModuleUsesRunner(t *testing.T) {
	ran := make(chan string, 1)
	var w *memory.Workflows
	app := fxtest.New(t, memory.Module,
		fx.Provide(func() memory.Runner {
			return memory.RunnerFunc(func(_ context.Context, run *memory.Run) { ran <- run.Execution().Name })
		}),
		fx.Populate(&w))
	app.RequireStart()
	defer app.RequireStop()
	sm, err := w.CreateStateMachine("sm", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.StartExecution(context.Background(), sm, "x", nil); err != nil {
		t.Fatal(err)
	}
	if got := <-ran; got != "x" {
		t.Fatalf("runner ran %q", got)
	}
}
