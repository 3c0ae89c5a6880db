package importcsv

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// Module wires the import capability for fx. It is thin wiring over New
// and Service.Routes, which work without fx as well.
//
// It takes from the graph core.Config, core.ItemStore, the command
// services (map[string]*command.Service, which command.Module provides)
// and a *Registry of strategies, and, when present, core.ObjectStore,
// core.Workflows (step-function mode), core.Topic (notifications),
// Settings and *slog.Logger. It provides the *Service, checks that every
// registered module has a command service, and adds the import routes
// (the import state machine's steps, the sweep event) to
// eventfactory.Module's route group.
var Module = fx.Module("stepcqrs.importcsv",
	fx.Provide(
		newModuleService,
		eventfactory.AsRegistration((*Service).Routes),
	),
)

type moduleParams struct {
	fx.In
	Config    core.Config
	Store     core.ItemStore
	Services  map[string]*command.Service
	Registry  *Registry
	Objects   core.ObjectStore `optional:"true"`
	Workflows core.Workflows   `optional:"true"`
	Topic     core.Topic       `optional:"true"`
	Settings  Settings         `optional:"true"`
	Logger    *slog.Logger     `optional:"true"`
}

func newModuleService(p moduleParams) (*Service, error) {
	s, err := New(Options{Config: p.Config, Store: p.Store, Commands: CommandsOf(p.Services), Registry: p.Registry,
		Objects: p.Objects, Workflows: p.Workflows, Topic: p.Topic, Settings: p.Settings, Logger: p.Logger})
	if err != nil {
		return nil, err
	}
	return s, s.CheckModules()
}
