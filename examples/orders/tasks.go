package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/task"
)

// repriceTask is the task type that reprices orders: a fan-out with one
// sub-task per order, at most three at a time.
const repriceTask = "reprice"

// RepriceInput is the input of one reprice sub-task: the order and the
// change of its total, in percent.
type RepriceInput struct {
	Code    string  `json:"code"`
	Percent float64 `json:"percent"`
}

// RepriceResult is what a reprice sub-task did.
type RepriceResult struct {
	Code    string  `json:"code"`
	Total   float64 `json:"total"`
	Version int64   `json:"version"`
}

// newTaskRegistry declares the service's task handlers.
func newTaskRegistry(services map[string]*command.Service) *task.Registry {
	reg := task.NewRegistry()
	task.Register(reg, repriceTask, func(ctx context.Context, j task.Job[RepriceInput]) (RepriceResult, error) {
		return reprice(ctx, services[orderModule], j)
	}, task.MaxConcurrency(3))
	return reg
}

// reprice changes one order's total through the command module: a
// synchronous command with the order's current data (its data row) and the
// new total, on top of the latest command version — which may be a later,
// failed version than the data row's. It is idempotent: the order records
// the fan-out that repriced it, and a rerun of the same sub-task changes
// nothing. A deleted order cannot be repriced, and retrying will not
// change that: the sub-task fails.
func reprice(ctx context.Context, svc *command.Service, j task.Job[RepriceInput]) (RepriceResult, error) {
	key, err := core.NewKey("ORDER", j.TenantCode, j.Input.Code)
	if err != nil {
		return RepriceResult{}, task.Permanent(err)
	}
	d, err := svc.GetData(ctx, key, true)
	if err != nil {
		return RepriceResult{}, err
	}
	by := core.EntityID(j.Parent.PK, j.Parent.SK)
	n, ok := d.Attributes["total"].(json.Number) // numbers read back as json.Number
	total, err := n.Float64()
	switch {
	case !ok || err != nil:
		return RepriceResult{}, task.Permanent(fmt.Errorf("order %s has no numeric total (%v)", j.Input.Code, d.Attributes["total"]))
	case d.Attributes["repricedBy"] == by:
		return RepriceResult{Code: j.Input.Code, Total: total, Version: d.Version}, nil
	case d.IsDeleted:
		return RepriceResult{}, task.Permanent(fmt.Errorf("order %s is deleted", j.Input.Code))
	}
	total = math.Round(total*(100+j.Input.Percent)) / 100
	latest, err := svc.GetCommand(ctx, key, core.VersionLatest)
	if err != nil {
		return RepriceResult{}, err
	}
	res, err := svc.PublishSync(ctx, command.Input{PK: key.PK, SK: key.SK, Version: latest.Version, Name: d.Name,
		Seq: d.Seq, TTL: d.TTL, Attributes: command.MergeAttributes(d.Attributes, map[string]any{"total": total, "repricedBy": by})})
	if err != nil {
		return RepriceResult{}, err
	}
	return RepriceResult{Code: j.Input.Code, Total: total, Version: res.Command.Version}, nil
}
