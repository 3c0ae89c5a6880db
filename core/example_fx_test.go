package core_test

import (
	"context"
	"fmt"

	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
)

// An application includes core.Module and receives the validated Config.
// Outside tests, leave out the Getenv supply: the module then reads the
// process environment.
func Example_module() {
	env := map[string]string{"STEPCQRS_ENV": "dev", "STEPCQRS_APP_NAME": "shop"}
	app := fx.New(
		core.Module,
		fx.NopLogger,
		fx.Supply(core.Getenv(func(k string) string { return env[k] })),
		fx.Invoke(func(cfg core.Config) { fmt.Println(cfg.CommandTable("order")) }),
	)
	if err := app.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	_ = app.Stop(context.Background())
	// Output: dev-shop-order-command
}
