package core_test

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/stepcqrs/stepcqrs/core"
)

func coreModuleEnv(m map[string]string) core.Getenv {
	return func(k string) string { return m[k] }
}

func TestModuleProvidesConfig(t *testing.T) {
	var (
		got      core.Config
		resolver core.InvokeResolver
	)
	app := fxtest.New(t,
		core.Module,
		fx.NopLogger,
		fx.Supply(coreModuleEnv(map[string]string{
			core.EnvEnv:              "dev",
			core.EnvAppName:          "shop",
			core.EnvHistoryTTLDays:   "30",
			core.EnvTenantHeaderMode: "fallback",
		})),
		fx.Populate(&got, &resolver),
	)
	app.RequireStart().RequireStop()
	if got.CommandTable("order") != "dev-shop-order-command" || got.TTL.History != 30 {
		t.Errorf("Config = %+v", got)
	}
	if resolver.HeaderMode != core.TenantHeaderFallback {
		t.Errorf("InvokeResolver = %+v", resolver)
	}
}

func TestModuleReadsProcessEnvironment(t *testing.T) {
	t.Setenv(core.EnvEnv, "stg")
	t.Setenv(core.EnvAppName, "shop")
	var got core.Config
	fxtest.New(t, core.Module, fx.NopLogger, fx.Invoke(func(c core.Config) { got = c })).RequireStart().RequireStop()
	if got.Prefix() != "stg-shop-" {
		t.Errorf("Prefix() = %q, want stg-shop-", got.Prefix())
	}
}

func TestModuleInvalidEnvFailsStart(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"empty environment", map[string]string{}, []string{"Env is empty", "AppName is empty"}},
		{"bad values", map[string]string{
			core.EnvEnv: "dev", core.EnvAppName: "shop",
			core.EnvCommandTTLDays:        "-3",
			core.EnvTaskStateMachineARN:   "not-an-arn",
			core.EnvAttributeOffloadBytes: "1e5",
		}, []string{"command TTL -3", "TaskStateMachineARN", "STEPCQRS_ATTRIBUTE_OFFLOAD_BYTES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Nothing asks for the Config: the module itself must fail.
			app := fx.New(core.Module, fx.NopLogger, fx.Supply(coreModuleEnv(tt.env)))
			err := app.Err()
			if err == nil {
				t.Fatal("fx.New succeeded with an invalid environment")
			}
			var ve *core.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, core.ErrValidation) {
				t.Fatalf("err = %v, want it to wrap a *core.ValidationError", err)
			}
			if len(ve.Problems) != len(tt.want) {
				t.Errorf("problems = %q, want %d", ve.Problems, len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
		})
	}
}
