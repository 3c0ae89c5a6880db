package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestClosedRuntimeRefusesWrites: a write on a closed runtime fails with
// ErrClosed and stores nothing (it would never be processed); reads still
// work.
func TestClosedRuntimeRefusesWrites(t *testing.T) {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}})
	if err != nil {
		t.Fatal(err)
	}
	svc := rt.Service("order")
	k, _ := core.NewKey("ORDER", "acme", "closed")
	if _, err := svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "before"}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := svc.PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "after"})
	if !errors.Is(err, local.ErrClosed) {
		t.Fatalf("PublishAsync on a closed runtime: %+v, %v; want ErrClosed", res, err)
	}
	if _, err := svc.PublishSync(ctx, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "after"}); !errors.Is(err, local.ErrClosed) {
		t.Fatalf("PublishSync on a closed runtime: %v", err)
	}
	versions, err := svc.ListVersions(ctx, k)
	if err != nil {
		t.Fatalf("reads after Close: %v", err)
	}
	if len(versions) != 1 || versions[0].Name != "before" {
		t.Fatalf("versions %+v: a refused write was stored", versions)
	}
}

// TestFxAppCountsRejectedRecords: with the service built from fx modules
// (command.Module), the runtime still counts the command stream records
// the stream route rejects.
func TestFxAppCountsRejectedRecords(t *testing.T) {
	ctx := context.Background()
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"},
		App: fx.Options(fx.Supply(command.NewRegistry().Register("order")), command.Module)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	table, _, _ := rt.Service("order").Tables()
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ORDER#acme"), "sk": events.NewStringAttribute("ORDER#1")}
	payload, _ := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventID: "e1", EventName: "INSERT", EventSource: "aws:dynamodb", AWSRegion: memory.Region, EventSourceArn: memory.StreamARN(table),
		Change: events.DynamoDBStreamRecord{Keys: keys, NewImage: keys, SequenceNumber: "100", StreamViewType: "NEW_IMAGE"},
	}}})
	if _, err := rt.Handler()(ctx, payload); err != nil {
		t.Fatal(err)
	}
	if s := rt.Stats(); s.StreamRejected != 1 || s.ExecutionsStarted != 0 {
		t.Fatalf("stats %+v: want 1 rejected record and no execution", s)
	}
}
