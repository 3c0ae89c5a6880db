package command

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// BuiltinProjection is the name of the built-in data-sync step: the write of
// the data (and history) row, done by Apply. No SyncHandler may use it.
const BuiltinProjection = "data"

// SyncHandler projects applied commands into a read model other than the
// data table (a search index, an RDS table, …).
//
// Up is called after a command is applied, at least once per command (a
// retried step calls it again), so it must be idempotent; cmd carries its
// attributes resolved (never an S3 reference). Down reverses Up, for
// rebuilding or rolling back a read model; the framework calls it only
// through Service.RunDown.
type SyncHandler interface {
	// Name identifies the handler within its module; it names the Map
	// iteration of the sync step and appears in logs.
	Name() string
	// Up projects cmd.
	Up(ctx context.Context, cmd *core.Command) error
	// Down removes cmd's projection.
	Down(ctx context.Context, cmd *core.Command) error
}

// Registry collects the data-sync handlers of every module. Problems found
// while registering (nil handlers, empty or duplicate names, the reserved
// name) are kept and reported, together with handlers of modules that do
// not exist, by NewServices: registration mistakes fail at start-up, never
// at the first event.
type Registry struct {
	handlers map[string][]SyncHandler
	problems []string
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{handlers: map[string][]SyncHandler{}} }

// Register adds handlers to module, in order. It returns the registry so
// registrations chain.
func (r *Registry) Register(module string, handlers ...SyncHandler) *Registry {
	if module == "" {
		r.problems = append(r.problems, "sync handlers registered for an empty module name")
	}
	for i, h := range handlers {
		if h == nil {
			r.problems = append(r.problems, fmt.Sprintf("module %q: sync handler #%d is nil", module, i))
			continue
		}
		r.handlers[module] = append(r.handlers[module], h)
	}
	if len(handlers) == 0 {
		if _, ok := r.handlers[module]; !ok {
			r.handlers[module] = nil
		}
	}
	return r
}

// checkHandlers reports nil handlers, empty, duplicate and reserved names.
func checkHandlers(module string, hs []SyncHandler) []string {
	var p []string
	seen := map[string]bool{}
	for i, h := range hs {
		if h == nil {
			p = append(p, fmt.Sprintf("module %q: sync handler #%d is nil", module, i))
			continue
		}
		name := h.Name()
		switch {
		case name == "":
			p = append(p, fmt.Sprintf("module %q: sync handler #%d (%T) has an empty name", module, i, h))
		case name == BuiltinProjection:
			p = append(p, fmt.Sprintf("module %q: sync handler name %q is reserved for the built-in projection", module, name))
		case seen[name]:
			p = append(p, fmt.Sprintf("module %q: duplicate sync handler name %q", module, name))
		}
		seen[name] = true
	}
	return p
}

// Options configure the Service of one CQRS module.
type Options struct {
	// Module is the CQRS module name, e.g. "order"; it names the tables
	// {prefix}{module}-command, -data and -history.
	Module string
	// Config gives table names, the offload bucket and threshold, the
	// notification topic and the TTLs. Required: it must pass Validate.
	Config core.Config
	// Store holds the module's tables. Required.
	Store core.ItemStore
	// Objects stores attributes whose JSON is larger than
	// Config.OffloadThreshold(), in Config.Bucket(). Offloaded attributes
	// are read back as JSON values (a []byte value comes back as its
	// base64 string). Nil disables offloading: such attributes then go into
	// the row, and a row over the item limit fails with an error matching
	// core.ErrItemTooLarge.
	Objects core.ObjectStore
	// Topic receives a "command-status" notification when a command
	// finishes or fails. Nil sends none.
	Topic core.Topic
	// Handlers are the module's data-sync handlers, run by RunSync after
	// the built-in projection.
	Handlers []SyncHandler
	// Source is recorded as the source of published commands when the
	// input names none.
	Source string
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports every problem of o at once, as one *core.ValidationError.
func (o Options) Validate() error {
	var p []string
	if err := o.Config.Validate(); err != nil {
		p = append(p, core.Problems(err)...)
	}
	if o.Module == "" {
		p = append(p, "Module is empty")
	} else if err := o.Config.ValidateModule(o.Module); err != nil {
		p = append(p, core.Problems(err)...)
	}
	if o.Store == nil {
		p = append(p, "Store is nil")
	}
	p = append(p, checkHandlers(o.Module, o.Handlers)...)
	if len(p) > 0 {
		return &core.ValidationError{Problems: p}
	}
	return nil
}

// NewServices builds one Service per module, each with the handlers
// registered for it in reg (reg may be nil). base supplies every other
// option; its Module and Handlers are ignored. Every problem is reported at
// once: invalid options, handler problems, and handlers registered for a
// module not in modules.
func NewServices(base Options, reg *Registry, modules ...string) (map[string]*Service, error) {
	var p []string
	if reg == nil {
		reg = NewRegistry()
	}
	p = append(p, reg.problems...)
	known := map[string]bool{}
	for _, m := range modules {
		if known[m] {
			p = append(p, fmt.Sprintf("module %q listed twice", m))
		}
		known[m] = true
	}
	var unknown []string
	for m := range reg.handlers {
		if !known[m] {
			unknown = append(unknown, m)
		}
	}
	sort.Strings(unknown)
	for _, m := range unknown {
		p = append(p, fmt.Sprintf("sync handlers registered for unknown module %q", m))
	}
	out := make(map[string]*Service, len(modules))
	for _, m := range modules {
		o := base
		o.Module = m
		o.Handlers = reg.handlers[m]
		s, err := New(o)
		if err != nil {
			p = append(p, core.Problems(err)...)
			continue
		}
		out[m] = s
	}
	if len(p) > 0 {
		return nil, &core.ValidationError{Problems: dedupe(p)}
	}
	return out, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
