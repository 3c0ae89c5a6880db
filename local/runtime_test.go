package local_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

func TestDefaultPathCounters(t *testing.T) {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	k, _ := core.NewKey("ORDER", "acme", "o1")
	before := rt.Stats()
	res, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "first", Attributes: core.Attributes{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	d, err := svc.GetData(ctx, k, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 || d.Name != "first" {
		t.Fatalf("data %+v", d)
	}
	s := rt.Stats().Sub(before)
	t.Logf("stats %+v", s)
	if s.Transitions != 3 || s.StepInvocations != 1 || s.ExecutionsSucceeded != 1 || s.ExecutionsStarted != 1 ||
		s.StreamInvocations != 1 || s.StreamRecords != 1 || s.LambdaInvocations != 2 || s.StoreCalls == 0 ||
		s.StreamDuplicates+s.StreamReordered+s.StreamRetries+s.StreamDropped+s.InjectedFailures+s.ExecutionsFailed != 0 {
		t.Errorf("default path: %+v", s)
	}
	execs := rt.Workflows.Executions("")
	if len(execs) != 1 {
		t.Fatalf("executions %d", len(execs))
	}
	states, err := rt.Workflows.StatesEntered(execs[0].ARN)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(states) != "[Apply Route Done]" {
		t.Errorf("states %v, want [Apply Route Done]", states)
	}
	if want := command.ExecutionName("order", res.Command.PK, res.Command.SK); execs[0].Name != want {
		t.Errorf("execution name %q, want %q", execs[0].Name, want)
	}
	c, err := svc.GetCommand(ctx, k, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != core.StatusFinished {
		t.Errorf("status %s", c.Status)
	}
}

func TestAppFromFxModules(t *testing.T) {
	ctx := context.Background()
	app := fx.Options(
		fx.Provide(
			func(cfg core.Config, st core.ItemStore, obj core.ObjectStore, tp core.Topic) (map[string]*command.Service, error) {
				return command.NewServices(command.Options{Config: cfg, Store: st, Objects: obj, Topic: tp}, nil, "order")
			},
			eventfactory.AsRegistration(func(s map[string]*command.Service, wf core.Workflows, cfg core.Config) (eventfactory.Registration, error) {
				return command.Steps(command.StepsOptions{Services: s, Workflows: wf, StateMachineARN: cfg.CommandStateMachineARN})
			}),
		),
	)
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, App: app})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	if svc == nil {
		t.Fatal("no service from the fx graph")
	}
	k, _ := core.NewKey("ORDER", "acme", "fx")
	if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	if d, err := svc.GetData(ctx, k, true); err != nil || d.Version != 1 {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestInjectedFailuresAreRetried(t *testing.T) {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, Seed: 3,
		Faults: local.Faults{LambdaFailureRate: 0.3, DuplicateRate: 0.2, ReorderRate: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	for i := range 20 {
		k, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("f%d", i))
		for v := int64(0); v < 3; v++ {
			if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: v, Name: fmt.Sprint(v)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	s := rt.Stats()
	if s.InjectedFailures == 0 || s.StreamDuplicates == 0 || s.StreamReordered == 0 || s.ExecutionsSucceeded != 60 || s.ExecutionsFailed != 0 {
		t.Fatalf("stats %+v", s)
	}
	for i := range 20 {
		k, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("f%d", i))
		if d, err := svc.GetData(ctx, k, true); err != nil || d.Version != 3 {
			t.Fatalf("entity %d: %+v %v", i, d, err)
		}
	}
	// Every execution has a history.
	for _, e := range rt.Workflows.Executions("") {
		h, err := rt.Workflows.History(e.ARN)
		if err != nil || len(h) == 0 {
			t.Fatalf("history of %s: %v", e.Name, err)
		}
	}
}
