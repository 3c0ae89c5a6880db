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
