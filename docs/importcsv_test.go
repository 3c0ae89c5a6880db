package docs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// The snippets of importcsv.md: CSV imports.

func init() {
	generators["import-mermaid"] = func() (string, string, error) {
		sm, err := importcsv.StateMachine(importcsv.StateMachineOptions{FunctionARN: "dev-shop"})
		if err != nil {
			return "", "", err
		}
		return "mermaid", asl.Mermaid(sm), nil
	}
}

// snippet: import-strategy
// Product is a row of a product file, mapped by header: the struct's
// fields become the entity's attributes (by their JSON names), "code" its
// key.
type Product struct {
	Code  string  `csv:"code" json:"code"`
	Name  string  `csv:"name" json:"name"`
	Price float64 `csv:"price" json:"price"`
	Stock int     `csv:"stock,optional" json:"stock"`
}

// importRegistry registers one strategy per target module.
func importRegistry() *importcsv.Registry {
	reg := importcsv.NewRegistry()
	// The defaults: every column a string attribute, "code" the key's
	// code, "name" the name; compare by attributes; a full command.
	importcsv.Register(reg, "order", importcsv.Strategy[core.Attributes]{Type: "ORDER"})
	// A typed strategy: rows become Products; a negative price fails the
	// row; a changed product is a partial update (attributes not in the
	// file are kept).
	importcsv.Register(reg, "product", importcsv.Strategy[Product]{
		Type: "PRODUCT",
		Validate: func(_ context.Context, p Product) error {
			if p.Price < 0 {
				return errors.New("price is negative")
			}
			return nil
		},
		Map: importcsv.MapPartial[Product],
	})
	return reg
}

// /snippet

func Example_importDirect() {
	ctx := context.Background()
	// snippet: import-direct
	rt, err := local.New(ctx, local.Options{
		Modules: []string{"order", "product"},
		Imports: &local.ImportOptions{Registry: importRegistry()},
	})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	imports := rt.Imports()

	file := "code,name,price,stock\n" +
		"p-1,pen,1.5,100\n" +
		"p-2,ink,-2,5\n" + // invalid: fails its row
		"p-3,pad,4\n" + // ragged: fails its row
		"p-4,nib,0.2,7\n"
	job, err := imports.Import(ctx, importcsv.JobInput{
		TenantCode: "acme", Module: "product", Mode: importcsv.ModeDirect,
		Name: "products.csv", Reader: strings.NewReader(file),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(job.Status, "-", job.Reason)
	failures, err := imports.Failures(ctx, job.Key(), importcsv.OutcomeQuery{})
	if err != nil {
		panic(err)
	}
	for _, f := range failures.Rows {
		fmt.Printf("row %d: %s\n", f.Row, f.Reason)
	}

	// The same file again changes nothing.
	again, err := imports.Import(ctx, importcsv.JobInput{TenantCode: "acme", Module: "product",
		Reader: strings.NewReader(file)})
	if err != nil {
		panic(err)
	}
	fmt.Printf("again: %+v\n", again.Counts)
	// /snippet

	// Output:
	// COMPLETED_WITH_FAILURES - 4 rows: 2 created, 0 updated, 0 unchanged, 2 failed
	// row 2: invalid: price is negative
	// row 3: the row has 3 fields, the header has 4
	// again: {Total:4 Created:0 Updated:0 Unchanged:2 Failed:2}
}

func Example_importStepFunction() {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order", "product"},
		Imports: &local.ImportOptions{Registry: importRegistry()}})
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	imports := rt.Imports()
	var b strings.Builder
	b.WriteString("code,name,customer\n")
	for i := 1; i <= 250; i++ {
		fmt.Fprintf(&b, "o-%03d,order %d,c-%d\n", i, i, i%7)
	}
	// snippet: import-step
	// The file is in the object store (S3 when deployed).
	bucket := rt.Config.Bucket()
	if err := rt.Objects.Put(ctx, bucket, "uploads/orders.csv", []byte(b.String()), "text/csv"); err != nil {
		panic(err)
	}
	job, err := imports.Import(ctx, importcsv.JobInput{
		TenantCode: "acme", Module: "order", Mode: importcsv.ModeStepFunction,
		Object: &importcsv.Source{Bucket: bucket, Key: "uploads/orders.csv"},
	})
	if err != nil {
		panic(err)
	}
	// The import state machine runs it: a Distributed Map over the CSV,
	// 100 rows to a batch.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		panic(err)
	}
	d, err := imports.Get(ctx, job.Key())
	if err != nil {
		panic(err)
	}
	f := d.Files[0]
	fmt.Println(d.Job.Status, f.Name, "batches:", f.Batches)
	fmt.Printf("%+v\n", d.Job.Counts)
	page, err := imports.Outcomes(ctx, job.Key(), importcsv.OutcomeQuery{Limit: 2})
	if err != nil {
		panic(err)
	}
	for _, o := range page.Rows {
		fmt.Println(o.Row, o.Outcome, o.SK, "v", o.Version)
	}
	// /snippet

	// Output:
	// COMPLETED orders.csv batches: 3
	// {Total:250 Created:250 Updated:0 Unchanged:0 Failed:0}
	// 1 created ORDER#o-001 v 1
	// 2 created ORDER#o-002 v 1
}
