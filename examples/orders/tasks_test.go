package main

import (
	"context"
	"errors"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/task"
)

// TestRepriceOnTopOfAFailedVersion: when the latest command of an order
// failed (data v1, command v2 failed), reprice starts from the data row and
// writes v3 on top of the failed v2; run again, it changes nothing.
func TestRepriceOnTopOfAFailedVersion(t *testing.T) {
	ctx := context.Background()
	cfg := core.Config{Env: "test", AppName: "orders"}
	st := memory.NewStore()
	for _, tb := range []string{cfg.CommandTable(orderModule), cfg.DataTable(orderModule), cfg.HistoryTable(orderModule)} {
		if err := st.CreateTable(tb); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := command.New(command.Options{Module: orderModule, Config: cfg, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := core.NewKey("ORDER", "acme", "o-9")
	if _, err := svc.PublishSync(ctx, command.Input{PK: key.PK, SK: key.SK, Name: "order o-9",
		Attributes: core.Attributes{"total": 10.0, "customer": "Ada"}}); err != nil {
		t.Fatal(err)
	}
	v2, err := svc.PublishAsync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: 1, Name: "order o-9",
		Attributes: core.Attributes{"total": 999.0, "customer": "Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Fail(ctx, v2.Command.Key(), errors.New("rejected")); err != nil {
		t.Fatal(err)
	}
	job := task.Job[RepriceInput]{Parent: core.Key{PK: "TASK#acme", SK: "reprice#1"}, TenantCode: "acme",
		Input: RepriceInput{Code: "o-9", Percent: 10}}
	for range 2 {
		res, err := reprice(ctx, svc, job)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 11 || res.Version != 3 {
			t.Fatalf("reprice: %+v, want total 11 at version 3", res)
		}
	}
	d, err := svc.GetData(ctx, key, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 || d.Attributes["customer"] != "Ada" || d.Attributes["total"].(interface{ String() string }).String() != "11" {
		t.Fatalf("data %+v", d)
	}
}
