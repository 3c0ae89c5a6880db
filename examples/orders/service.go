package main

import (
	"context"
	"os"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/task"
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

// newRegistry declares the order module and its data-sync handlers.
func newRegistry(rm ReadModel) *command.Registry {
	return command.NewRegistry().Register(orderModule, projection{rm: rm})
}

// serviceModule is the orders service as production assembles it: with
// core.Module (configuration from the environment), awsadapter.Module (the
// AWS ports) and eventfactory.Module (the dispatcher). command.Module turns
// the registry into the command services and the command flow's routes;
// task.Module runs the task handlers of tasks.go; httpRoutes adds the REST
// API (api.go) on the dispatcher's HTTP ingress.
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
		newTaskRegistry,
		eventfactory.AsRegistration(httpRoutes),
	),
	command.Module,
	task.Module,
)
