package command_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// gateStore holds Transact calls at a gate: the first n callers wait until
// all n arrived, so they all read before any of them writes.
type gateStore struct {
	core.ItemStore
	mu      sync.Mutex
	n       int
	arrived int
	release chan struct{}
}

func (g *gateStore) Transact(ctx context.Context, ops []core.TxOp) error {
	g.mu.Lock()
	var wait chan struct{}
	if g.arrived < g.n {
		g.arrived++
		wait = g.release
		if g.arrived == g.n {
			close(g.release)
		}
	}
	g.mu.Unlock()
	if wait != nil {
		<-wait
	}
	return g.ItemStore.Transact(ctx, ops)
}

// TestConcurrentApplyOneWins forces the race of TestAWSConcurrentApplyOneWins
// on the in-memory store, whose transactions are serializable as
// DynamoDB's: several applies of one version all read the same data row
// before any writes. Exactly one applies; the others find their
// transaction cancelled, re-read, and report already_applied; the rows are
// those of one apply.
func TestConcurrentApplyOneWins(t *testing.T) {
	for _, applies := range []int{2, 3, 5} {
		t.Run(fmt.Sprint(applies), func(t *testing.T) {
			e := newEnv(t)
			k := key("gate")
			c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1", Attributes: core.Attributes{"n": 1}})
			e.run(t, c1.Key())
			c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2", Attributes: core.Attributes{"n": 2}})
			gate := &gateStore{ItemStore: e.store, n: applies, release: make(chan struct{})}
			svc, err := command.New(command.Options{Module: "order", Config: e.cfg, Store: gate, Objects: e.objects,
				Clock: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			outcomes := make([]command.Outcome, applies)
			errs := make([]error, applies)
			var wg sync.WaitGroup
			for i := range applies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := svc.Apply(ctx, c2.Key())
					outcomes[i], errs[i] = r.Outcome, err
				}()
			}
			wg.Wait()
			won := 0
			for i, o := range outcomes {
				if errs[i] != nil {
					t.Fatalf("apply %d: %v", i, errs[i])
				}
				switch o {
				case command.OutcomeApplied:
					won++
				case command.OutcomeAlreadyApplied:
				default:
					t.Fatalf("apply %d: outcome %s", i, o)
				}
			}
			if won != 1 {
				t.Fatalf("outcomes %v: %d applied, want exactly 1", outcomes, won)
			}
			d := e.data(t, "gate")
			if d.Version != 2 || d.Name != "v2" || d.CSK != c2.SK || fmt.Sprint(d.Attributes["n"]) != "2" {
				t.Fatalf("data row %+v", d)
			}
			hist, err := e.svc.History(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 1 || hist[0].Version != 1 || hist[0].Name != "v1" || fmt.Sprint(hist[0].Attributes["n"]) != "1" {
				t.Fatalf("history %+v, want the one v1 row", hist)
			}
			row, err := e.svc.GetCommand(ctx, k, 2)
			if err != nil || row.Status != core.StatusApplied {
				t.Fatalf("v2: %+v, %v", row, err)
			}
		})
	}
}
