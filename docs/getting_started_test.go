package docs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// snippet: gs-service
// newOrderService returns the Service of the CQRS module "order", on the
// in-memory store. In a Lambda, Store is the DynamoDB adapter instead.
func newOrderService() (*command.Service, error) {
	cfg := core.Config{Env: "dev", AppName: "shop"} // tables dev-shop-order-command, -data, -history
	store := memory.NewStore()
	for _, kind := range []core.TableKind{core.CommandTableKind, core.DataTableKind, core.HistoryTableKind} {
		if err := store.CreateTable(cfg.Table("order", kind)); err != nil {
			return nil, err
		}
	}
	return command.New(command.Options{
		Module: "order",
		Config: cfg,
		Store:  store,
		Clock:  func() time.Time { return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) },
		Logger: slog.New(slog.DiscardHandler),
	})
}

// /snippet

// snippet: gs-publish
func Example_gettingStartedPublish() {
	svc, err := newOrderService()
	if err != nil {
		panic(err)
	}
	// Who acts: API handlers fill this from the request (core.InvokeResolver).
	ctx := core.NewContext(context.Background(), core.Invoke{UserID: "u-42", TenantCode: "acme"})

	key, err := core.NewKey("ORDER", "acme", "0001") // pk ORDER#acme, sk ORDER#0001
	if err != nil {
		panic(err)
	}
	res, err := svc.PublishAsync(ctx, command.Input{
		PK: key.PK, SK: key.SK,
		Version:    core.VersionNew, // 0: create; the command gets version 1
		Name:       "first order",
		Attributes: core.Attributes{"qty": 2, "lines": []any{"apple", "pear"}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Command.SK, res.Command.Status, res.Command.CreatedBy)

	// Deployed, the command table's stream starts the command state machine.
	// Here we run its default path ourselves: apply, then finish.
	adv, err := svc.Advance(ctx, res.Command.Key())
	if err != nil {
		panic(err)
	}
	fmt.Println(adv.Apply.Outcome, adv.Finished)

	data, err := svc.GetData(ctx, key, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(data.SK, data.Version, data.Attributes["qty"], data.CSK)
	// Output:
	// ORDER#0001@0000000001 started u-42
	// applied true
	// ORDER#0001 1 2 ORDER#0001@0000000001
}

// /snippet

func Example_gettingStartedRead() {
	ctx := context.Background()
	svc, err := newOrderService()
	if err != nil {
		panic(err)
	}
	key, _ := core.NewKey("ORDER", "acme", "0001")
	for v, qty := range []int{1, 2, 5} {
		res, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: int64(v),
			Name: "first order", Attributes: core.Attributes{"qty": qty}})
		if err != nil {
			panic(err)
		}
		if _, err := svc.Advance(ctx, res.Command.Key()); err != nil {
			panic(err)
		}
	}
	other, _ := core.NewKey("ORDER", "acme", "0002")
	res, _ := svc.PublishSync(ctx, command.Input{PK: other.PK, SK: other.SK, Name: "second order"})
	fmt.Println("sync:", res.Command.Version, res.Command.Status)

	// snippet: gs-read
	// The current state: one data row per entity.
	data, err := svc.GetData(ctx, key, false)
	if err != nil {
		panic(err)
	}
	fmt.Println("data:", data.Version, data.Attributes["qty"])

	// The data versions it replaced, oldest first.
	history, err := svc.History(ctx, key)
	if err != nil {
		panic(err)
	}
	for _, h := range history {
		fmt.Println("history:", h.SK, h.Attributes["qty"])
	}

	// Every command ever published for the entity, oldest first.
	versions, err := svc.ListVersions(ctx, key)
	if err != nil {
		panic(err)
	}
	for _, c := range versions {
		fmt.Println("command:", c.Version, c.Status)
	}

	// One version, or the latest with core.VersionLatest.
	latest, err := svc.GetCommand(ctx, key, core.VersionLatest)
	if err != nil {
		panic(err)
	}
	fmt.Println("latest:", latest.Version)

	// Every order of the tenant, page by page.
	for in := (command.ListInput{PK: key.PK, Limit: 100}); ; {
		page, err := svc.ListData(ctx, in)
		if err != nil {
			panic(err)
		}
		for _, d := range page.Items {
			fmt.Println("list:", d.Code, d.Name)
		}
		if page.Cursor == "" {
			break
		}
		in.Cursor = page.Cursor
	}

	_, err = svc.GetData(ctx, core.Key{PK: key.PK, SK: "ORDER#9999"}, false)
	fmt.Println(errors.Is(err, core.ErrNotFound))
	// /snippet

	// Output:
	// sync: 1 finished
	// data: 3 5
	// history: ORDER#0001@0000000001 1
	// history: ORDER#0001@0000000002 2
	// command: 1 finished
	// command: 2 finished
	// command: 3 finished
	// latest: 3
	// list: 0001 first order
	// list: 0002 second order
	// true
}

// snippet: gs-versions
func Example_gettingStartedVersions() {
	ctx := context.Background()
	svc, err := newOrderService()
	if err != nil {
		panic(err)
	}
	key, _ := core.NewKey("ORDER", "acme", "0001")
	in := command.Input{PK: key.PK, SK: key.SK, Name: "first order", Attributes: core.Attributes{"qty": 1}}

	in.Version = core.VersionNew // create
	res, _ := svc.PublishAsync(ctx, in)
	fmt.Println("created:", res.Command.Version)

	_, err = svc.PublishAsync(ctx, in) // create again: the entity exists
	fmt.Println("again:", errors.Is(err, core.ErrVersionConflict))

	in.Version = 1 // on top of version 1, which is the latest: accepted
	in.Attributes = core.Attributes{"qty": 2}
	res, _ = svc.PublishAsync(ctx, in)
	fmt.Println("updated:", res.Command.Version)

	in.Version = 1 // on top of version 1 again: a concurrent writer got there first
	in.Attributes = core.Attributes{"qty": 3}
	_, err = svc.PublishAsync(ctx, in)
	var conflict *core.VersionConflictError
	if errors.As(err, &conflict) {
		fmt.Println("conflict: sent", conflict.Input, "latest", conflict.Latest)
	}

	in.Version = core.VersionLatest // -1: on top of whatever is latest
	res, _ = svc.PublishAsync(ctx, in)
	fmt.Println("latest:", res.Command.Version)

	res, _ = svc.PublishAsync(ctx, in) // the same input again: nothing is written
	fmt.Println("unchanged:", res.Unchanged, res.Command.Version)
	// Output:
	// created: 1
	// again: true
	// updated: 2
	// conflict: sent 1 latest 2
	// latest: 3
	// unchanged: true 3
}

// /snippet

func Example_gettingStartedPartial() {
	ctx := context.Background()
	svc, err := newOrderService()
	if err != nil {
		panic(err)
	}
	key, _ := core.NewKey("ORDER", "acme", "0001")
	if _, err := svc.PublishSync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "first order",
		Attributes: core.Attributes{"qty": 1, "address": map[string]any{"city": "Oslo", "zip": "0150"}, "tags": []any{"a", "b"}}}); err != nil {
		panic(err)
	}
	// snippet: gs-partial
	// Change some fields of the latest version: maps merge, arrays and
	// other values replace, nil removes.
	res, err := svc.PublishPartialUpdateSync(ctx, command.PartialInput{
		PK: key.PK, SK: key.SK, Version: core.VersionLatest,
		Attributes: map[string]any{"address": map[string]any{"zip": "0151"}, "tags": []any{"c"}, "qty": nil},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Command.Version, res.Command.Attributes)

	// Soft delete: a new version with IsDeleted set.
	deleted := true
	res, err = svc.PublishPartialUpdateSync(ctx, command.PartialInput{PK: key.PK, SK: key.SK, Version: 2, IsDeleted: &deleted})
	if err != nil {
		panic(err)
	}
	data, _ := svc.GetData(ctx, key, true)
	fmt.Println(res.Command.Version, data.IsDeleted)
	// /snippet

	// Output:
	// 2 map[address:map[city:Oslo zip:0151] tags:[c]]
	// 3 true
}

// snippet: gs-handler
// nameIndex is a read model beside the data table: order names by entity
// id. Up may run more than once per command, and a retried Up of an older
// version may come after a newer one, so it sets, never adds, and keeps
// the version it holds: an older version changes nothing.
type nameIndex struct {
	mu       sync.Mutex
	names    map[string]string
	versions map[string]int64 // deleted entities keep their version
}

func (x *nameIndex) Name() string { return "name-index" }

func (x *nameIndex) Up(ctx context.Context, cmd *core.Command) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if cmd.Version < x.versions[cmd.ID] {
		return nil
	}
	x.versions[cmd.ID] = cmd.Version
	if cmd.IsDeleted {
		delete(x.names, cmd.ID)
	} else {
		x.names[cmd.ID] = cmd.Name
	}
	return nil
}

func (x *nameIndex) Down(ctx context.Context, cmd *core.Command) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if cmd.Version == x.versions[cmd.ID] {
		delete(x.names, cmd.ID)
	}
	return nil
}

// /snippet

func Example_gettingStartedHandler() {
	ctx := context.Background()
	cfg := core.Config{Env: "dev", AppName: "shop"}
	store := memory.NewStore()
	// snippet: gs-registry
	index := &nameIndex{names: map[string]string{}, versions: map[string]int64{}}
	reg := command.NewRegistry().Register("order", index)
	services, err := command.NewServices(command.Options{Config: cfg, Store: store, Logger: slog.New(slog.DiscardHandler)},
		reg, "order")
	if err != nil {
		panic(err) // duplicate names, unknown modules, ...: all reported here, at start-up
	}
	svc := services["order"]
	fmt.Println(svc.SyncHandlers())

	key, _ := core.NewKey("ORDER", "acme", "0001")
	res, _ := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "first order"})
	// With a handler, the state machine goes Apply → Sync → Finish.
	adv, _ := svc.Advance(ctx, res.Command.Key())
	fmt.Println(adv.Apply.Outcome, adv.Finished)
	_ = svc.RunSync(ctx, res.Command.Key()) // the Sync state: one Map iteration per handler
	_, _ = svc.Finish(ctx, res.Command.Key())
	fmt.Println(index.names)
	// /snippet

	// Output:
	// [name-index]
	// applied false
	// map[ORDER#acme#ORDER#0001:first order]
}
