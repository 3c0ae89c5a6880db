package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// TestModule wires command.Module over in-memory ports and checks that the
// command flow's routes reach the dispatcher: a published command's stream
// record starts one execution of the command state machine.
func TestModule(t *testing.T) {
	ctx := context.Background()
	store, wf := memory.NewStore(), memory.NewWorkflows(nil)
	smARN, err := wf.CreateStateMachine("command", "{}")
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	cfg.CommandStateMachineARN = smARN
	if err := store.CreateTable(cfg.CommandTable("order"), memory.WithStream(memory.StreamNewImage)); err != nil {
		t.Fatal(err)
	}
	var records []events.DynamoDBEventRecord
	store.Subscribe(cfg.CommandTable("order"), func(r events.DynamoDBEventRecord) { records = append(records, r) })

	var (
		services   map[string]*command.Service
		dispatcher *eventfactory.Dispatcher
	)
	app := fxtest.New(t,
		fx.Supply(cfg, command.NewRegistry().Register("order").Register("shipment", &handler{name: "search"})),
		fx.Provide(
			func() core.ItemStore { return store },
			func() core.Workflows { return wf },
		),
		eventfactory.Module,
		command.Module,
		fx.Populate(&services, &dispatcher),
	)
	app.RequireStart()
	defer app.RequireStop()

	if got := slices.Sorted(maps.Keys(services)); !slices.Equal(got, []string{"order", "shipment"}) {
		t.Fatalf("services for %v, want [order shipment]", got)
	}
	res, err := services["order"].PublishAsync(ctx, command.Input{PK: "ORDER#acme", SK: "ORDER#1", Name: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 {
		t.Fatalf("%d stream records, want 1", len(records))
	}
	payload, err := json.Marshal(events.DynamoDBEvent{Records: records})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dispatcher.Dispatch(ctx, payload); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	execs := wf.Executions(smARN)
	if len(execs) != 1 {
		t.Fatalf("%d executions, want 1 for command %s", len(execs), res.Command.SK)
	}
	var in map[string]string
	if err := json.Unmarshal(execs[0].Input, &in); err != nil || in["sk"] != res.Command.SK || in["module"] != "order" {
		t.Fatalf("execution input %s (%v), want the keys of %s", execs[0].Input, err, res.Command.SK)
	}
}

// Registration mistakes fail the application's start, not the first event.
func TestModuleRejectsBadRegistrations(t *testing.T) {
	app := fx.New(fx.NopLogger,
		fx.Supply(core.DefaultConfig(), command.NewRegistry().Register("order", &handler{name: "a"}, &handler{name: "a"})),
		fx.Provide(
			func() core.ItemStore { return memory.NewStore() },
			func() core.Workflows { return memory.NewWorkflows(nil) },
		),
		eventfactory.Module,
		command.Module,
		fx.Invoke(func(map[string]*command.Service) {}),
	)
	var ve *core.ValidationError
	if err := app.Err(); err == nil || !errors.As(err, &ve) {
		t.Fatalf("app error %v, want a *core.ValidationError for the duplicate handler", err)
	}
}

func TestRegistryModules(t *testing.T) {
	var nilRegistry *command.Registry
	if got := nilRegistry.Modules(); got != nil {
		t.Errorf("nil registry: %v", got)
	}
	got := command.NewRegistry().Register("b").Register("a", &handler{name: "h"}).Register("b").Modules()
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Modules() = %v, want [a b]", got)
	}
}
