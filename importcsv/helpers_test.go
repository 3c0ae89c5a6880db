package importcsv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

var bg = context.Background()

// registry registers the default strategy for the "order" module: every
// column a string attribute, "code" the key, "name" the name.
func registry() *importcsv.Registry {
	reg := importcsv.NewRegistry()
	importcsv.Register(reg, "order", importcsv.Strategy[core.Attributes]{Type: "ORDER"})
	return reg
}

// newRuntime starts an embedded runtime with the import capability.
func newRuntime(t testing.TB, reg *importcsv.Registry, tweak func(*local.Options)) *local.Runtime {
	t.Helper()
	if reg == nil {
		reg = registry()
	}
	o := local.Options{Modules: []string{"order"}, Imports: &local.ImportOptions{Registry: reg}, Seed: 7}
	if tweak != nil {
		tweak(&o)
	}
	rt, err := local.New(bg, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

func waitIdle(t testing.TB, rt *local.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 5*time.Minute)
	defer cancel()
	if err := rt.WaitIdle(ctx); err != nil {
		t.Fatalf("%v; running: %v", err, rt.Running())
	}
}

// importFile imports body in mode and returns the finished job's detail.
func importFile(t testing.TB, rt *local.Runtime, mode importcsv.Mode, name, body string) *importcsv.Detail {
	t.Helper()
	svc := rt.Imports()
	in := importcsv.JobInput{TenantCode: "acme", Module: "order", Mode: mode, Name: name}
	if mode == importcsv.ModeStepFunction {
		key := "uploads/" + name
		if err := rt.Objects.Put(bg, rt.Config.Bucket(), key, []byte(body), "text/csv"); err != nil {
			t.Fatal(err)
		}
		in.Object = &importcsv.Source{Bucket: rt.Config.Bucket(), Key: key}
	} else {
		in.Reader = strings.NewReader(body)
	}
	job, err := svc.Import(bg, in)
	if err != nil {
		t.Fatalf("Import %s: %v", name, err)
	}
	waitIdle(t, rt)
	d, err := svc.Get(bg, job.Key())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// allOutcomes reads every outcome of file of the job at key, in pages of 7.
func allOutcomes(t testing.TB, svc *importcsv.Service, key core.Key, file int) []importcsv.RowOutcome {
	t.Helper()
	return allPages(t, svc.Outcomes, key, importcsv.OutcomeQuery{File: file, Limit: 7})
}

// allFailures reads every failure of file of the job at key, in pages of 3.
func allFailures(t testing.TB, svc *importcsv.Service, key core.Key, file int) []importcsv.RowOutcome {
	t.Helper()
	return allPages(t, svc.Failures, key, importcsv.OutcomeQuery{File: file, Limit: 3})
}

func allPages(t testing.TB, read func(context.Context, core.Key, importcsv.OutcomeQuery) (importcsv.OutcomePage, error),
	key core.Key, q importcsv.OutcomeQuery) []importcsv.RowOutcome {
	t.Helper()
	var out []importcsv.RowOutcome
	for {
		p, err := read(bg, key, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Rows...)
		if p.Next == 0 {
			return out
		}
		q.After = p.Next
	}
}
