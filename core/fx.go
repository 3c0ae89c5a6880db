package core

import (
	"os"

	"go.uber.org/fx"
)

// Getenv reads an environment variable. Module reads the process
// environment (os.Getenv) unless the application supplies its own, e.g. in
// tests:
//
//	fx.Supply(core.Getenv(func(k string) string { return env[k] }))
type Getenv func(key string) string

// configParams are the inputs of the Config provider.
type configParams struct {
	fx.In
	Getenv Getenv `optional:"true"`
}

// provideConfig builds the Config from the environment with ConfigFromEnv.
func provideConfig(p configParams) (Config, error) {
	getenv := p.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return ConfigFromEnv(getenv)
}

// Module is the fx module "stepcqrs.core". It provides the Config, read from
// the environment with ConfigFromEnv (see there for the variables) and
// validated, and the InvokeResolver it configures. A configuration problem
// fails the application's start with the *ValidationError listing every
// problem, whether or not anything else needs the Config yet.
var Module = fx.Module("stepcqrs.core",
	fx.Provide(provideConfig, Config.InvokeResolver),
	// Build the Config eagerly, so that a bad environment fails start-up
	// rather than the first component that asks for it.
	fx.Invoke(func(Config) {}),
)
