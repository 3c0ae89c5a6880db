package command_test

import (
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// TestRunHandlerRecordsSynced runs the Sync Map's iterations by hand: the
// status becomes "synced" once every handler ran (whatever the order, a
// retried iteration included), then Finish makes it "finished".
func TestRunHandlerRecordsSynced(t *testing.T) {
	status := func(t *testing.T, e *env, k core.Key) core.CommandStatus {
		t.Helper()
		c, err := e.svc.GetCommand(ctx, k, 1)
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}
	t.Run("one handler", func(t *testing.T) {
		e := newEnv(t, withHandlers(&handler{name: "a"}))
		k := key("s1")
		e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "x"})
		sk, _ := core.VersionedSK(k.SK, 1)
		ck := core.Key{PK: k.PK, SK: sk}
		e.apply(t, ck)
		if err := e.svc.RunHandler(ctx, ck, "a"); err != nil {
			t.Fatal(err)
		}
		if st := status(t, e, k); st != core.StatusSynced {
			t.Fatalf("status %s, want synced", st)
		}
		if _, err := e.svc.Finish(ctx, ck); err != nil {
			t.Fatal(err)
		}
		if st := status(t, e, k); st != core.StatusFinished {
			t.Fatalf("status %s, want finished", st)
		}
		// A late retry of the iteration leaves the final status alone.
		if err := e.svc.RunHandler(ctx, ck, "a"); err != nil {
			t.Fatal(err)
		}
		if st := status(t, e, k); st != core.StatusFinished {
			t.Fatalf("status %s after a retried iteration", st)
		}
	})
	t.Run("three handlers", func(t *testing.T) {
		e := newEnv(t, withHandlers(&handler{name: "a"}, &handler{name: "b"}, &handler{name: "c"}))
		k := key("s3")
		e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "x"})
		sk, _ := core.VersionedSK(k.SK, 1)
		ck := core.Key{PK: k.PK, SK: sk}
		e.apply(t, ck)
		for i, name := range []string{"c", "a", "a", "b"} {
			if st := status(t, e, k); st != core.StatusApplied {
				t.Fatalf("before iteration %d: status %s, want applied", i, st)
			}
			if err := e.svc.RunHandler(ctx, ck, name); err != nil {
				t.Fatal(err)
			}
		}
		if st := status(t, e, k); st != core.StatusSynced {
			t.Fatalf("status %s, want synced", st)
		}
		if _, err := e.svc.Finish(ctx, ck); err != nil {
			t.Fatal(err)
		}
		if st := status(t, e, k); st != core.StatusFinished {
			t.Fatalf("status %s, want finished", st)
		}
	})
}
