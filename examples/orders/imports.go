package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// ordersCSV is the demo's file of orders: one row has no total column.
const ordersCSV = `code,name,customer,total,status
o-2001,order o-2001,Barbara,18.5,new
o-2002,order o-2002,Edsger,99,new
o-2003,order o-2003,Frances
o-2004,order o-2004,John,12.75,paid
`

// newImportRegistry maps the rows of an order file to the order module:
// the columns are the order's attributes, "code" its key and "name" its
// name, with the total read as a number.
func newImportRegistry() *importcsv.Registry {
	reg := importcsv.NewRegistry()
	importcsv.Register(reg, orderModule, importcsv.Strategy[core.Attributes]{
		Type: "ORDER",
		Transform: func(ctx context.Context, row importcsv.Row) (core.Attributes, error) {
			a, err := importcsv.TransformAttributes(ctx, row)
			if err == nil && a["total"] != nil {
				a["total"], err = numberOf(a["total"].(string))
			}
			return a, err
		},
	})
	return reg
}

// importOrders imports ordersCSV into the order module directly (in this
// process: a small file), prints the job's summary and its failed row,
// then imports the file again, which changes nothing.
func importOrders(ctx context.Context, w io.Writer, rt *local.Runtime, logger *slog.Logger) error {
	fmt.Fprintln(w, "\nimport: orders.csv into the order module (direct mode):")
	// The demo's runtime is built from its fx modules; the import service
	// is assembled here from the runtime's ports (importcsv.Module does it
	// in an fx application).
	if err := rt.Store.CreateTable(rt.Config.ImportTable()); err != nil {
		return err
	}
	imports, err := importcsv.New(importcsv.Options{Config: rt.Config, Store: rt.Items, Commands: rt.Service,
		Registry: newImportRegistry(), Objects: rt.Objects, Topic: rt.Topics, Logger: logger})
	if err != nil {
		return err
	}
	// The second run finds every imported row unchanged: nothing is written.
	want := map[string]importcsv.Counts{"first": {Total: 4, Created: 3, Failed: 1}, "again": {Total: 4, Unchanged: 3, Failed: 1}}
	for _, run := range []string{"first", "again"} {
		job, err := imports.Import(ctx, importcsv.JobInput{TenantCode: "acme", Module: orderModule, Name: "orders.csv",
			Reader: strings.NewReader(ordersCSV)})
		if err != nil {
			return err
		}
		c := job.Counts
		fmt.Fprintf(w, "  %-5s %s: %d rows: %d created, %d updated, %d unchanged, %d failed\n", run, job.Status,
			c.Total, c.Created, c.Updated, c.Unchanged, c.Failed)
		failures, err := imports.Failures(ctx, job.Key(), importcsv.OutcomeQuery{})
		if err != nil {
			return err
		}
		for _, f := range failures.Rows {
			fmt.Fprintf(w, "        row %d failed: %s\n", f.Row, f.Reason)
		}
		if c != want[run] || len(failures.Rows) != 1 {
			return fmt.Errorf("import %s (%s): counters %+v, want %+v", job.ID, run, c, want[run])
		}
	}
	k, err := core.NewKey("ORDER", "acme", "o-2002")
	if err != nil {
		return err
	}
	d, err := rt.Service(orderModule).GetData(ctx, k, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %s v%d: %s\n", d.ID, d.Version, attrs(d.Attributes))
	return nil
}

// numberOf reads a decimal number as the command module stores numbers.
func numberOf(s string) (any, error) {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return nil, fmt.Errorf("total %q is not a number", s)
	}
	return json.Number(s), nil
}
