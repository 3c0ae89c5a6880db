package local_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestClockWaitsForPendingStreamRecords: the virtual clock moves only when
// the whole runtime is quiescent. A command published asynchronously is a
// stream record, then an execution: a sleep on the clock (here the test's
// own) returns only after the command is applied, and the execution ran at
// the time of publication, not an hour later.
func TestClockWaitsForPendingStreamRecords(t *testing.T) {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	vc := rt.Clock.(*interp.VirtualClock)
	svc := rt.Service("order")
	start := vc.Now()
	for i := range 5 {
		k, _ := core.NewKey("ORDER", "acme", "o"+string(rune('a'+i)))
		if _, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "first", Attributes: core.Attributes{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := vc.Sleep(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := vc.Now().Sub(start); got != time.Hour {
		t.Errorf("clock moved %v, want 1h", got)
	}
	execs := rt.Workflows.Executions("")
	if len(execs) != 5 {
		t.Fatalf("%d executions, want 5", len(execs))
	}
	for _, x := range execs {
		if x.Status != core.ExecutionSucceeded || !x.StopDate.Equal(start) {
			t.Errorf("execution %s: %s, stopped %v after the publication, want SUCCEEDED at once", x.Name, x.Status, x.StopDate.Sub(start))
		}
	}
	for i := range 5 {
		k, _ := core.NewKey("ORDER", "acme", "o"+string(rune('a'+i)))
		d, err := svc.GetData(ctx, k, true)
		if err != nil || d.Version != 1 || fmt.Sprint(d.Attributes["n"]) != fmt.Sprint(i) {
			t.Errorf("data %d: %+v, %v", i, d, err)
		}
	}
}
