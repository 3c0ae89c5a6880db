package command_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestTransientStoreErrorsRetried: the first K store calls of every step
// (and of every stream batch) fail with a *core.TransientError, as a
// DynamoDB throttling that outlived the SDK's retries. Every step fails K
// times with the error named TransientError and is retried by the state
// machine; no command fails, and the data, history and read model are
// exactly those of a run without faults.
func TestTransientStoreErrorsRetried(t *testing.T) {
	for _, k := range []int{1, 3, 6} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			sql := &handler{name: "sql"}
			rt := newRuntime(t, local.Options{
				Registry: command.NewRegistry().Register("order", sql),
				Faults:   local.Faults{TransientStoreCalls: k},
				Seed:     uint64(k),
			})
			svc := rt.Service("order")
			const entities, versions = 8, 3
			for e := range entities {
				key := orderKey(fmt.Sprintf("t%d", e))
				for v := range versions {
					mustPublish(t, svc, command.Input{PK: key.PK, SK: key.SK, Version: int64(v), Name: fmt.Sprintf("e%d v%d", e, v+1),
						Attributes: core.Attributes{"v": v + 1, "entity": e}})
				}
			}
			waitIdle(t, rt, 30*time.Second)
			s := rt.Stats()
			t.Logf("K=%d: commands=%d executions=%d failed=%d transientStoreErrors=%d stepInvocations=%d",
				k, entities*versions, s.ExecutionsStarted, s.ExecutionsFailed, s.TransientStoreErrors, s.StepInvocations)
			if s.ExecutionsFailed != 0 || s.ExecutionsSucceeded != entities*versions {
				t.Fatalf("%d executions failed, %d succeeded; want 0 and %d", s.ExecutionsFailed, s.ExecutionsSucceeded, entities*versions)
			}
			// Every step of every execution drew its K failures: at least
			// Apply, SyncHandler and Finish of each command.
			if min := int64(k * 3 * entities * versions); s.TransientStoreErrors < min {
				t.Fatalf("%d transient store errors injected, want at least %d", s.TransientStoreErrors, min)
			}
			for e := range entities {
				key := orderKey(fmt.Sprintf("t%d", e))
				d, err := svc.GetData(ctx, key, true)
				if err != nil {
					t.Fatal(err)
				}
				if d.Version != versions || d.Name != fmt.Sprintf("e%d v%d", e, versions) || fmt.Sprint(d.Attributes["v"]) != fmt.Sprint(versions) {
					t.Fatalf("entity %d: data %+v", e, d)
				}
				hist, err := svc.History(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				for i, h := range hist {
					if h.Version != int64(i+1) || h.Name != fmt.Sprintf("e%d v%d", e, i+1) || fmt.Sprint(h.Attributes["v"]) != fmt.Sprint(i+1) {
						t.Fatalf("entity %d: history row %d is %+v", e, i, h)
					}
				}
				if len(hist) != versions-1 {
					t.Fatalf("entity %d: %d history rows", e, len(hist))
				}
				cmds, err := svc.ListVersions(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cmds {
					if c.Status != core.StatusFinished || c.Error != "" {
						t.Fatalf("entity %d: v%d status %s error %q", e, c.Version, c.Status, c.Error)
					}
				}
			}
			sql.mu.Lock()
			ups := len(sql.ups)
			sql.mu.Unlock()
			if ups < entities*versions {
				t.Fatalf("read model saw %d commands, want %d", ups, entities*versions)
			}
		})
	}
}

// TestPermanentErrorFailsFast: an error that is not transient (here a data
// row the command cannot be applied on) is not retried: the command goes
// to MarkFailed after one Apply, its successors are not held up, and the
// stored error is readable text with the error's name.
func TestPermanentErrorFailsFast(t *testing.T) {
	rt := newRuntime(t, local.Options{Faults: local.Faults{TransientStoreCalls: 0}})
	svc := rt.Service("order")
	key := orderKey("corrupt")
	_, dataTable, _ := svc.Tables()
	// A data row whose version is a string: unreadable, for ever.
	if err := rt.Store.Put(ctx, dataTable, core.Item{
		"pk": &types.AttributeValueMemberS{Value: key.PK}, "sk": &types.AttributeValueMemberS{Value: key.SK},
		"version": &types.AttributeValueMemberS{Value: "one"},
	}, core.Condition{}); err != nil {
		t.Fatal(err)
	}
	before := rt.Stats()
	c := mustPublish(t, svc, command.Input{PK: key.PK, SK: key.SK, Name: "v1"})
	waitIdle(t, rt, 10*time.Second)
	s := rt.Stats().Sub(before)
	if s.ExecutionsFailed != 1 || s.StepInvocations != 2 {
		t.Fatalf("%d failed executions, %d step invocations; want 1 and 2 (Apply, MarkFailed)", s.ExecutionsFailed, s.StepInvocations)
	}
	got, err := svc.GetCommand(ctx, key, c.Version)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.StatusFailed || strings.Contains(got.Error, "{") || !strings.HasPrefix(got.Error, "UnmarshalTypeError: ") {
		t.Fatalf("v1 status %s, error %q; want failed with a readable cause", got.Status, got.Error)
	}
}

// TestStoredCauseIsReadable: a data-sync handler failing with a plain
// errors.New reaches Step Functions under the framework's name
// HandlerError, and the command keeps "HandlerError: message" — no JSON,
// no Go runtime type name. A handler's own named error keeps its name.
func TestStoredCauseIsReadable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"plain", fmt.Errorf("search index down"), `HandlerError: sync handler "flaky": search index down`},
		{"named", eventfactory.Named("IndexRejected", fmt.Errorf("bad document")), `IndexRejected: sync handler "flaky": bad document`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &handler{name: "flaky", err: tt.err}
			rt := newRuntime(t, local.Options{Registry: command.NewRegistry().Register("order", h)})
			svc := rt.Service("order")
			key := orderKey("cause")
			c := mustPublish(t, svc, command.Input{PK: key.PK, SK: key.SK, Name: "v1"})
			waitIdle(t, rt, 10*time.Second)
			got, err := svc.GetCommand(context.Background(), key, c.Version)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != core.StatusFailed || got.Error != tt.want {
				t.Fatalf("status %s, error %q; want failed with %q", got.Status, got.Error, tt.want)
			}
		})
	}
}
