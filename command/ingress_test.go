package command_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestMalformedCommandRecordsStartNothing: command-table INSERT records
// whose keys are not those of a framework command — written around the
// command service — reach the service's Lambda in one batch with a valid
// command behind them. None of them starts an execution; each is counted
// as rejected; the batch reports no failure, so the shard moves on, and
// the valid command behind them starts and applies.
func TestMalformedCommandRecordsStartNothing(t *testing.T) {
	rt := newRuntime(t, local.Options{})
	table, _, _ := rt.Service("order").Tables()
	s := func(v string) events.DynamoDBAttributeValue { return events.NewStringAttribute(v) }
	n := func(v string) events.DynamoDBAttributeValue { return events.NewNumberAttribute(v) }
	bad := []struct {
		name string
		keys map[string]events.DynamoDBAttributeValue
	}{
		{"missing sk", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#acme")}},
		{"missing pk", map[string]events.DynamoDBAttributeValue{"sk": s("ORDER#1@0000000001")}},
		{"pk as a number", map[string]events.DynamoDBAttributeValue{"pk": n("7"), "sk": s("ORDER#1@0000000001")}},
		{"sk as a number", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#acme"), "sk": n("1")}},
		{"tenant with '#'", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#ac#me"), "sk": s("ORDER#1@0000000001")}},
		{"upper-case tenant", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#ACME"), "sk": s("ORDER#1@0000000001")}},
		{"sk without version", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#acme"), "sk": s("ORDER#1")}},
		{"version zero", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#acme"), "sk": s("ORDER#1@0")}},
		{"version not a number", map[string]events.DynamoDBAttributeValue{"pk": s("ORDER#acme"), "sk": s("ORDER#1@v2")}},
		{"empty pk", map[string]events.DynamoDBAttributeValue{"pk": s(""), "sk": s("ORDER#1@0000000001")}},
	}
	var recs []events.DynamoDBEventRecord
	for i, b := range bad {
		img := map[string]events.DynamoDBAttributeValue{"status": s("started"), "name": s(b.name)}
		for k, v := range b.keys {
			img[k] = v
		}
		recs = append(recs, events.DynamoDBEventRecord{
			EventID: fmt.Sprintf("bad-%d", i), EventName: "INSERT", EventSource: "aws:dynamodb", AWSRegion: memory.Region,
			EventSourceArn: memory.StreamARN(table),
			Change: events.DynamoDBStreamRecord{Keys: b.keys, NewImage: img, SequenceNumber: fmt.Sprintf("%021d", i+1),
				StreamViewType: "NEW_IMAGE", SizeBytes: 100},
		})
	}
	// A real command, written by the service with its stream paused, is
	// delivered in the same batch, after the bad ones.
	rt.PauseStreams()
	k := orderKey("after-bad")
	c := mustPublish(t, rt.Service("order"), command.Input{PK: k.PK, SK: k.SK, Name: "good"})
	goodImg := map[string]events.DynamoDBAttributeValue{"pk": s(c.PK), "sk": s(c.SK), "status": s("started")}
	recs = append(recs, events.DynamoDBEventRecord{
		EventID: "good", EventName: "INSERT", EventSource: "aws:dynamodb", AWSRegion: memory.Region,
		EventSourceArn: memory.StreamARN(table),
		Change: events.DynamoDBStreamRecord{Keys: map[string]events.DynamoDBAttributeValue{"pk": s(c.PK), "sk": s(c.SK)},
			NewImage: goodImg, SequenceNumber: fmt.Sprintf("%021d", len(bad)+1), StreamViewType: "NEW_IMAGE", SizeBytes: 100},
	})
	payload, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	before := rt.Stats()
	out, err := rt.Handler()(context.Background(), payload)
	if err != nil {
		t.Fatalf("the batch failed as a whole: %v", err)
	}
	b, _ := json.Marshal(out)
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batchItemFailures %+v: a rejected record holds up the shard", resp.BatchItemFailures)
	}
	rt.ResumeStreams()
	waitIdle(t, rt, 10*time.Second)
	s2 := rt.Stats().Sub(before)
	execs := rt.Workflows.Executions("")
	started := 0
	for _, x := range execs {
		if x.Name != command.ExecutionName("order", c.PK, c.SK) {
			started++
		}
	}
	t.Logf("malformed records=%d rejected=%d executions started for them=%d; the valid command behind them: %d execution",
		len(bad), s2.StreamRejected, started, len(execs)-started)
	if s2.StreamRejected != int64(len(bad)) {
		t.Fatalf("%d records rejected, want %d", s2.StreamRejected, len(bad))
	}
	if len(execs) != 1 || execs[0].Name != command.ExecutionName("order", c.PK, c.SK) {
		t.Fatalf("executions %+v, want only the good command's", execs)
	}
	if d, err := rt.Service("order").GetData(context.Background(), k, true); err != nil || d.Name != "good" {
		t.Fatalf("good command: %+v, %v", d, err)
	}
}
