package task

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// Module wires the task capability for fx. It is thin wiring over New and
// Service.Routes, which work without fx as well.
//
// It takes from the graph core.Config, core.ItemStore, core.Queue,
// core.Workflows and a *Registry of handlers, and, when present,
// core.ObjectStore (manifests of large fan-outs), core.Topic
// (notifications), Settings and *slog.Logger. It provides the *Service and
// adds the task routes (the tasks table's stream, the task queue, the task
// state machine's steps, the sweep event) to eventfactory.Module's route
// group.
//
// In production, core.Module and awsadapter.Module supply the
// configuration and the ports; on the embedded runtime, local.New does
// (with local.Options.Tasks, which also supplies the Settings).
var Module = fx.Module("stepcqrs.task",
	fx.Provide(
		newModuleService,
		eventfactory.AsRegistration((*Service).Routes),
	),
)

// moduleParams are what Module takes from the graph.
type moduleParams struct {
	fx.In
	Config    core.Config
	Store     core.ItemStore
	Queue     core.Queue
	Workflows core.Workflows
	Registry  *Registry
	Objects   core.ObjectStore `optional:"true"`
	Topic     core.Topic       `optional:"true"`
	Settings  Settings         `optional:"true"`
	Logger    *slog.Logger     `optional:"true"`
}

func newModuleService(p moduleParams) (*Service, error) {
	return New(Options{Config: p.Config, Store: p.Store, Registry: p.Registry, Queue: p.Queue, Workflows: p.Workflows,
		Objects: p.Objects, Topic: p.Topic, Settings: p.Settings, Logger: p.Logger})
}
