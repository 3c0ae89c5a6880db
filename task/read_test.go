package task_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/task"
)

// newStoreService is a task service on an in-memory store, with no
// runtime: for the write and read paths that need no delivery.
func newStoreService(t testing.TB, tweak func(*task.Options)) *task.Service {
	t.Helper()
	store := memory.NewStore()
	cfg := core.DefaultConfig()
	cfg.TaskStateMachineARN = memory.StateMachineARN("local-app-task")
	if err := store.CreateTable(cfg.TasksTable()); err != nil {
		t.Fatal(err)
	}
	objects := memory.NewObjects()
	if err := objects.CreateBucket(cfg.Bucket()); err != nil {
		t.Fatal(err)
	}
	o := task.Options{Config: cfg, Store: store, Objects: objects}
	if tweak != nil {
		tweak(&o)
	}
	svc, err := task.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// The tenant rule applies to every read and write: a caller acting for
// another tenant, or an outside caller without a tenant, is refused.
func TestTenantRule(t *testing.T) {
	svc := newStoreService(t, nil)
	acme := core.NewContext(bg, core.Invoke{TenantCode: "acme", External: true})
	mine, err := svc.Create(acme, task.Input{TenantCode: "ACME", Type: "t"})
	if err != nil || mine.TenantCode != "acme" || mine.PK != "TASK#acme" {
		t.Fatalf("Create for the caller's tenant: %+v %v", mine, err)
	}
	parent, err := svc.CreateFanOut(acme, task.FanOutInput{TenantCode: "acme", Type: "t", SubTasks: []any{1}})
	if err != nil {
		t.Fatal(err)
	}
	for name, ctx := range map[string]context.Context{
		"other tenant":         core.NewContext(bg, core.Invoke{TenantCode: "globex", External: true}),
		"no tenant, external":  core.NewContext(bg, core.Invoke{External: true}),
		"other tenant, lambda": core.NewContext(bg, core.Invoke{TenantCode: "globex"}),
	} {
		ops := map[string]error{}
		_, ops["Create"] = svc.Create(ctx, task.Input{TenantCode: "acme", Type: "t"})
		_, ops["CreateFanOut"] = svc.CreateFanOut(ctx, task.FanOutInput{TenantCode: "acme", Type: "t", SubTasks: []any{1}})
		_, ops["Get"] = svc.Get(ctx, mine.Key(), task.PageRequest{})
		_, ops["List"] = svc.List(ctx, task.ListInput{TenantCode: "acme"})
		_, ops["Cancel"] = svc.Cancel(ctx, mine.Key())
		_, ops["SubTasks"] = svc.SubTasks(ctx, parent.Key(), task.PageRequest{})
		_, ops["Failures"] = svc.Failures(ctx, parent.Key(), task.PageRequest{})
		for op, err := range ops {
			var te *core.TenantError
			if !errors.As(err, &te) || te.Requested != "acme" {
				t.Errorf("%s: %s: %v, want a *core.TenantError for acme", name, op, err)
			}
		}
	}
	// The service acting for itself (no Invoke, or one without tenant
	// from a stream or queue) reads any tenant, unless RequireInvoke.
	if _, err := svc.Get(core.NewContext(bg, core.Invoke{RequestID: "r"}), mine.Key(), task.PageRequest{}); err != nil {
		t.Errorf("Get by the service: %v", err)
	}
	strict := newStoreService(t, func(o *task.Options) { o.Config.RequireInvoke = true })
	if _, err := strict.List(bg, task.ListInput{TenantCode: "acme"}); !errors.Is(err, core.ErrTenantNotAllowed) {
		t.Errorf("List without Invoke under RequireInvoke: %v", err)
	}
	// Keys that are no task keys are refused before any read.
	for _, k := range []core.Key{{PK: "ORDER#acme", SK: "t#1"}, {PK: "TASK#ACME", SK: "t#1"}, {PK: "TASK#acme", SK: "t#1#2"}} {
		if _, err := svc.Get(bg, k, task.PageRequest{}); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("Get(%v): %v", k, err)
		}
	}
}

func TestListPages(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := newStoreService(t, func(o *task.Options) {
		o.Settings.Clock = func() time.Time { now = now.Add(time.Millisecond); return now }
	})
	var want []string
	for i := range 7 {
		tk, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "report", Input: i})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tk.SK)
		if _, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "export"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(bg, task.Input{TenantCode: "globex", Type: "report"}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(oldest bool) []string {
		var got []string
		in := task.ListInput{TenantCode: "acme", Type: "report", Limit: 3, Oldest: oldest}
		for pages := 0; ; pages++ {
			p, err := svc.List(bg, in)
			if err != nil || pages > 3 {
				t.Fatalf("List page %d: %v", pages, err)
			}
			for _, tk := range p.Tasks {
				got = append(got, tk.SK)
			}
			if p.Next == nil {
				return got
			}
			in.After = p.Next
		}
	}
	if got := list(true); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("oldest first: %v, want %v", got, want)
	}
	newest := list(false)
	for i := range want {
		if newest[i] != want[len(want)-1-i] {
			t.Fatalf("newest first: %v", newest)
		}
	}
	all, err := svc.List(bg, task.ListInput{TenantCode: "acme", Limit: 100})
	if err != nil || len(all.Tasks) != 14 || all.Next != nil {
		t.Fatalf("all types: %d tasks, next %v, %v", len(all.Tasks), all.Next, err)
	}
	// A page key of another tenant or type cannot continue this list.
	other := core.Key{PK: "TASK#globex", SK: want[0]}
	if _, err := svc.List(bg, task.ListInput{TenantCode: "acme", Type: "report", After: &other}); !errors.Is(err, core.ErrValidation) {
		t.Errorf("foreign page key: %v", err)
	}
}

func TestCreateIdempotentWithID(t *testing.T) {
	svc := newStoreService(t, nil)
	a, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "t", ID: "req-1", Input: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "t", ID: "req-1", Input: 2})
	if err != nil || b.SK != "t#req-1" || string(b.Input) != "1" || !b.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("second Create: %+v %v", b, err)
	}
	// The same ID as a fan-out is another kind: refused, not overwritten.
	if _, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t", ID: "req-1", SubTasks: []any{1}}); !errors.Is(err, core.ErrConditionFailed) {
		t.Fatalf("fan-out over a task: %v", err)
	}
	if _, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "t", ID: "a#b"}); !errors.Is(err, core.ErrInvalidKey) {
		t.Fatalf("ID with a separator: %v", err)
	}
}

func TestCreateFanOutInputs(t *testing.T) {
	svc := newStoreService(t, func(o *task.Options) { o.Settings.InlineMax = 4 })
	// No sub-task: COMPLETED at once, nothing to run.
	empty, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t"})
	if err != nil || empty.Status != task.StatusCompleted || empty.Counts.Total != 0 {
		t.Fatalf("empty fan-out: %+v %v", empty, err)
	}
	// A generator's error aborts the creation: no parent, so nothing runs.
	boom := errors.New("source down")
	_, err = svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t", ID: "g", Generate: func(yield func(any, error) bool) {
		for i := range 3 {
			if !yield(i, nil) {
				return
			}
		}
		yield(nil, boom)
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("generator error: %v", err)
	}
	if _, err := svc.Get(bg, core.Key{PK: "TASK#acme", SK: "t#g"}, task.PageRequest{}); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("parent after a failed generator: %v", err)
	}
	// Beyond InlineMax: a manifest of the indexes.
	big, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t", SubTasks: []any{"a", "b", "c", "d", "e"}})
	if err != nil || big.Manifest == "" {
		t.Fatalf("large fan-out: %+v %v", big, err)
	}
	if _, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t", SubTasks: []any{1}, Generate: func(func(any, error) bool) {}}); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("both SubTasks and Generate: %v", err)
	}
	noObjects := newStoreService(t, func(o *task.Options) { o.Settings.InlineMax = 1; o.Objects = nil })
	if _, err := noObjects.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t", SubTasks: []any{1, 2}}); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("large fan-out without an object store: %v", err)
	}
	noMachine := newStoreService(t, func(o *task.Options) { o.Config.TaskStateMachineARN = "" })
	if _, err := noMachine.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "t", SubTasks: []any{1}}); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("fan-out without the state machine: %v", err)
	}
}
