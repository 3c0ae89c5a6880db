package local

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/importcsv"
)

// ImportOptions turn on the CSV import capability (package importcsv) in
// the runtime: the import table {prefix}import with the sparse
// importcsv.UnsettledIndex; the import state machine
// (importcsv.StateMachineJSON) on the interpreter, whose Distributed Map
// reads the CSV through the runtime's object store; the import service
// with its routes, on the runtime's command services; and the periodic
// import sweep (Options.SweepInterval).
type ImportOptions struct {
	// Registry holds the strategies by module. With Options.App it is
	// ignored: the application includes importcsv.Module and provides its
	// *importcsv.Registry (the runtime supplies the importcsv.Settings).
	Registry *importcsv.Registry
	// Settings tune the import; the runtime sets Clock to its own clock.
	Settings importcsv.Settings
	// StateMachine tunes the import state machine's definition (its
	// FunctionARN is the runtime's function).
	StateMachine importcsv.StateMachineOptions
}

// importRuntime is the import capability of a Runtime.
type importRuntime struct {
	service *importcsv.Service
	machine []byte
}

// importMachineName is the name of the runtime's import state machine.
func importMachineName(cfg core.Config) string { return cfg.Prefix() + "import" }

// withImportMachine sets cfg.ImportStateMachineARN to the runtime's import
// state machine when imports are on and it is empty.
func withImportMachine(cfg core.Config, opts Options) core.Config {
	if opts.Imports != nil && cfg.ImportStateMachineARN == "" {
		cfg.ImportStateMachineARN = memory.StateMachineARN(importMachineName(cfg))
	}
	return cfg
}

// setupImports creates the import resources and wires the import service:
// without fx, its routes join rt.opts.Routes; with Options.App, the
// runtime supplies the importcsv.Settings and populates the service from
// the application's graph. It runs after the workflows exist and before
// the dispatcher is built; the service finds the command services when it
// imports (Runtime.Service).
func (rt *Runtime) setupImports(opts *Options) error {
	if opts.Imports == nil {
		return nil
	}
	cfg := rt.Config
	ip := opts.Imports
	set := ip.Settings
	set.Clock = rt.Clock.Now
	ir := &importRuntime{}
	rt.imports = ir
	if err := rt.Store.CreateTable(cfg.ImportTable(), memory.WithIndex(importcsv.UnsettledIndex)); err != nil {
		return fmt.Errorf("local: import table: %w", err)
	}
	smo := ip.StateMachine
	smo.FunctionARN = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", memory.Region, memory.Account, opts.FunctionName)
	var err error
	if ir.machine, err = importcsv.StateMachineJSON(smo); err != nil {
		return err
	}
	name := cfg.ImportStateMachineARN[strings.LastIndexByte(cfg.ImportStateMachineARN, ':')+1:]
	if _, err := rt.Workflows.CreateStateMachine(name, string(ir.machine)); err != nil {
		return fmt.Errorf("local: import state machine: %w", err)
	}
	if opts.App != nil {
		rt.opts.App = fx.Options(fx.Supply(set), rt.opts.App, fx.Populate(&ir.service))
		return nil
	}
	for _, m := range ip.Registry.Modules() {
		found := false
		for _, known := range opts.Modules {
			found = found || known == m
		}
		if !found {
			return fmt.Errorf("local: importcsv: a strategy is registered for module %q, which is not in Options.Modules", m)
		}
	}
	ir.service, err = importcsv.New(importcsv.Options{
		Config: cfg, Store: rt.Items, Commands: rt.Service, Registry: ip.Registry, Objects: rt.Objects,
		Workflows: rt.Workflows, Topic: rt.Topics, Settings: set, Logger: rt.log,
	})
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	routes, err := ir.service.Routes()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	rt.opts.Routes = append(append([]eventfactory.Registration(nil), rt.opts.Routes...), routes)
	return nil
}

// startImports starts the periodic import sweep.
func (rt *Runtime) startImports(ctx context.Context) {
	if rt.imports == nil {
		return
	}
	if every := rt.sweepInterval(); every > 0 {
		rt.every(ctx, every, func(ctx context.Context) {
			if _, err := rt.SweepImports(ctx); err != nil && ctx.Err() == nil {
				rt.log.ErrorContext(ctx, "local: import sweep failed", "err", err)
			}
		})
	}
}

// Imports returns the import service (nil unless Options.Imports is set).
func (rt *Runtime) Imports() *importcsv.Service {
	if rt.imports == nil {
		return nil
	}
	return rt.imports.service
}

// ImportStateMachine returns the definition the import executions run
// (nil unless Options.Imports is set).
func (rt *Runtime) ImportStateMachine() []byte {
	if rt.imports == nil {
		return nil
	}
	return rt.imports.machine
}

// SweepImports runs importcsv.Service.Sweep now.
func (rt *Runtime) SweepImports(ctx context.Context) (importcsv.SweepResult, error) {
	s := rt.Imports()
	if s == nil {
		return importcsv.SweepResult{}, fmt.Errorf("local: imports are off (Options.Imports is nil): %w", core.ErrNotFound)
	}
	return s.Sweep(ctx, 0)
}
