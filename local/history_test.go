package local_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestMaxHistories keeps the histories of the last two ended executions
// only; the execution records (and so name idempotency) stay.
func TestMaxHistories(t *testing.T) {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, MaxHistories: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	for i := range 6 {
		k, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("h%d", i))
		if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "x"}); err != nil {
			t.Fatal(err)
		}
		idle(t, rt)
	}
	execs := rt.Workflows.Executions("")
	if len(execs) != 6 {
		t.Fatalf("%d executions, want 6", len(execs))
	}
	kept := 0
	for _, e := range execs {
		states, err := rt.Workflows.StatesEntered(e.ARN)
		switch {
		case err == nil:
			kept++
			if fmt.Sprint(states) != "[Apply Route Done]" {
				t.Errorf("%s: states %v", e.Name, states)
			}
		case !errors.Is(err, core.ErrNotFound):
			t.Fatal(err)
		}
	}
	if kept != 2 {
		t.Fatalf("%d histories kept, want 2", kept)
	}
	// The last two are the ones kept.
	for _, e := range execs[4:] {
		if _, err := rt.Workflows.History(e.ARN); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
	}
}

// TestFailedHistoriesKeptApart: by default the runtime keeps the histories
// of the last DefaultMaxHistories executions; the history of a failed one
// is kept apart, so successes that follow do not push it out.
func TestFailedHistoriesKeptApart(t *testing.T) {
	ctx := context.Background()
	h := &failing{fail: "f0"}
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, MaxHistories: 3,
		Registry: command.NewRegistry().Register("order", h)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	svc := rt.Service("order")
	for i := range 8 {
		k, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("f%d", i))
		if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "x"}); err != nil {
			t.Fatal(err)
		}
		idle(t, rt)
	}
	var kept []string
	for _, e := range rt.Workflows.Executions("") {
		if _, err := rt.Workflows.History(e.ARN); err == nil {
			kept = append(kept, fmt.Sprintf("%s:%s", e.Name[len("order-"):len("order-f0")], e.Status))
		} else if !errors.Is(err, core.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(kept); got != "[f0:FAILED f5:SUCCEEDED f6:SUCCEEDED f7:SUCCEEDED]" {
		t.Fatalf("histories kept: %s", got)
	}
}

// failing is a data-sync handler that fails for one entity code.
type failing struct{ fail string }

func (f *failing) Name() string { return "failing" }

func (f *failing) Up(_ context.Context, c *core.Command) error {
	if c.Code == f.fail {
		return errors.New("refused")
	}
	return nil
}

func (f *failing) Down(context.Context, *core.Command) error { return nil }
