package main

import (
	"context"
	"log/slog"
	"os"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// orderModule is the CQRS module of the service.
const orderModule = "order"

// newReadModel opens the read model: PostgreSQL when DATABASE_URL is set,
// in memory otherwise.
func newReadModel(ctx context.Context) (ReadModel, error) {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		return newPGReadModel(ctx, url, "orders_read")
	}
	return newMemoryReadModel(), nil
}

// newRegistry registers the order module's data-sync handlers.
func newRegistry(rm ReadModel) *command.Registry {
	return command.NewRegistry().Register(orderModule, projection{rm: rm})
}

// serviceParams are the ports the command services need.
type serviceParams struct {
	fx.In
	Config   core.Config
	Store    core.ItemStore
	Objects  core.ObjectStore
	Topic    core.Topic
	Registry *command.Registry
	Logger   *slog.Logger `optional:"true"`
}

// newServices builds the command services of the service's modules.
func newServices(p serviceParams) (map[string]*command.Service, error) {
	return command.NewServices(command.Options{Config: p.Config, Store: p.Store, Objects: p.Objects,
		Topic: p.Topic, Source: "orders", Logger: p.Logger}, p.Registry, orderModule)
}

// newSteps registers the command flow's routes (stream → executions, the
// state machine's steps) with the event factory.
func newSteps(svcs map[string]*command.Service, wf core.Workflows, cfg core.Config) (eventfactory.Registration, error) {
	return command.Steps(command.StepsOptions{Services: svcs, Workflows: wf, StateMachineARN: cfg.CommandStateMachineARN})
}

// serviceModule is the orders service as production assembles it: with
// core.Module (configuration from the environment), awsadapter.Module (the
// AWS ports) and eventfactory.Module (the dispatcher).
var serviceModule = fx.Module("orders",
	fx.Provide(
		func(lc fx.Lifecycle) (ReadModel, error) {
			rm, err := newReadModel(context.Background())
			if err == nil {
				lc.Append(fx.StopHook(rm.Close))
			}
			return rm, err
		},
		newRegistry,
		newServices,
		eventfactory.AsRegistration(newSteps),
	),
)
