package command

import (
	"log/slog"
	"sort"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// Module wires the command side of an application for fx. It is thin
// wiring over NewServices and Steps, which work without fx as well.
//
// It takes from the graph core.Config, core.ItemStore, core.Workflows and
// a *Registry naming the application's CQRS modules (Register(module) with
// no handler declares a module that has only the built-in projection), and,
// when present, core.ObjectStore (offloading of large attributes),
// core.Topic (notifications), a core.Clock, a RejectedRecordHook and
// *slog.Logger. It provides the Services, map[string]*Service with one
// Service per module, and adds the command flow's routes (the command
// tables' streams, the state machine's steps and the sweep event) to
// eventfactory.Module's route group. Commands published without a source
// record Config.AppName.
//
// In production, core.Module and awsadapter.Module supply the
// configuration and the ports; on the embedded runtime, local.New does.
var Module = fx.Module("stepcqrs.command",
	fx.Provide(
		newModuleServices,
		eventfactory.AsRegistration(newModuleSteps),
	),
)

// moduleParams are what Module takes from the graph.
type moduleParams struct {
	fx.In
	Config   core.Config
	Store    core.ItemStore
	Objects  core.ObjectStore `optional:"true"`
	Topic    core.Topic       `optional:"true"`
	Registry *Registry
	Clock    core.Clock   `optional:"true"`
	Logger   *slog.Logger `optional:"true"`
}

func newModuleServices(p moduleParams) (map[string]*Service, error) {
	return NewServices(Options{
		Config: p.Config, Store: p.Store, Objects: p.Objects, Topic: p.Topic,
		Source: p.Config.AppName, Clock: p.Clock, Logger: p.Logger,
	}, p.Registry, p.Registry.Modules()...)
}

// stepsParams are what the command flow's routes take from the graph.
type stepsParams struct {
	fx.In
	Services   map[string]*Service
	Workflows  core.Workflows
	Config     core.Config
	OnRejected RejectedRecordHook `optional:"true"`
	Logger     *slog.Logger       `optional:"true"`
}

func newModuleSteps(p stepsParams) (eventfactory.Registration, error) {
	return Steps(StepsOptions{Services: p.Services, Workflows: p.Workflows,
		StateMachineARN: p.Config.CommandStateMachineARN, OnRejected: p.OnRejected, Logger: p.Logger})
}

// Modules returns the names of the modules registered so far, sorted,
// including those registered without handlers.
func (r *Registry) Modules() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.handlers))
	for m := range r.handlers {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
