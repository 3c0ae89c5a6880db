package command_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func ExampleService_PublishAsync() {
	ctx := context.Background()
	cfg := core.Config{Env: "dev", AppName: "shop"}
	store := memory.NewStore()
	for _, table := range []string{cfg.CommandTable("order"), cfg.DataTable("order"), cfg.HistoryTable("order")} {
		_ = store.CreateTable(table)
	}
	svc, err := command.New(command.Options{Module: "order", Config: cfg, Store: store,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	k, _ := core.NewKey("ORDER", "acme", "0001")

	// Create: version 0 means "new"; the command gets version 1.
	res, _ := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "first order",
		Attributes: core.Attributes{"qty": 2}})
	fmt.Println(res.Command.SK, res.Command.Status)

	// The state machine's steps apply it (here called directly).
	adv, _ := svc.Advance(ctx, res.Command.Key())
	fmt.Println(adv.Apply.Outcome, adv.Finished)

	// Update on top of version 1; a second writer of version 1 loses.
	res, _ = svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "first order",
		Attributes: core.Attributes{"qty": 3}})
	fmt.Println(res.Command.Version)
	_, err = svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "stale"})
	fmt.Println(errors.Is(err, core.ErrVersionConflict), err)

	// The same content again writes nothing.
	res, _ = svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest,
		Name: "first order", Attributes: core.Attributes{"qty": 3}})
	fmt.Println(res.Unchanged, res.Command.Version)
	// Output:
	// ORDER#0001@0000000001 started
	// applied true
	// 2
	// true stepcqrs: version conflict on ORDER#acme#ORDER#0001: input version 1, latest version 2
	// true 2
}
