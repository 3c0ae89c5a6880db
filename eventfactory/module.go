package eventfactory

import (
	"log/slog"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
)

// RoutesGroup is the fx value group of Registration values that Module
// applies to its Router.
const RoutesGroup = "stepcqrs.routes"

// Registration registers handlers on a Router. Contribute registrations to
// Module through the RoutesGroup value group, e.g. with AsRegistration.
type Registration func(r *Router)

// AsRegistration annotates constructor, a function returning a
// Registration (with any dependencies as parameters), so that its result
// joins the RoutesGroup value group. Use it in fx.Provide.
func AsRegistration(constructor any) any {
	return fx.Annotate(constructor, fx.ResultTags(`group:"`+RoutesGroup+`"`))
}

// Params are Module's dependencies: an optional Config, an optional
// *slog.Logger (used when Config.Logger is nil), an optional core.Config
// (its InvokeResolver is used when Config.Invoke is zero) and the
// registrations of the RoutesGroup group.
type Params struct {
	fx.In

	Config        Config         `optional:"true"`
	Logger        *slog.Logger   `optional:"true"`
	CoreConfig    core.Config    `optional:"true"`
	Registrations []Registration `group:"stepcqrs.routes"`
}

// New applies every registration to a new Router and builds it. The
// Router's problems, joined, fail the application's start.
func New(p Params) (*Dispatcher, error) {
	cfg := p.Config
	if cfg.Logger == nil {
		cfg.Logger = p.Logger
	}
	if cfg.Invoke == (core.InvokeResolver{}) {
		cfg.Invoke = p.CoreConfig.InvokeResolver()
	}
	r := NewRouter(cfg)
	for _, reg := range p.Registrations {
		if reg == nil {
			r.problems = append(r.problems, &RegistrationError{Source: SourceUnknown, Route: "fx group " + RoutesGroup, Reason: "nil Registration"})
			continue
		}
		reg(r)
	}
	return r.Build()
}

// Module provides the *Dispatcher built from the registrations contributed
// to the RoutesGroup value group, and its HandlerFunc.
var Module = fx.Module("eventfactory",
	fx.Provide(
		New,
		func(d *Dispatcher) HandlerFunc { return d.Handler() },
	),
)
