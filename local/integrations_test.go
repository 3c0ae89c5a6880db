package local_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// TestServiceIntegrations: the runtime's state machines have the service
// integrations on its own ports: a DynamoDB write lands in its store, an
// SQS message in its queue, an event on Options.Events, and a nested
// execution (.sync:2) runs on its Workflows.
func TestServiceIntegrations(t *testing.T) {
	ctx := context.Background()
	events := &integrations.EventRecorder{}
	rt, err := local.New(ctx, local.Options{Modules: []string{"order"}, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Queues.CreateQueue("out", memory.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	child, err := rt.Workflows.CreateStateMachine("child", `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)"},"End":true}}}`)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := rt.Workflows.CreateStateMachine("parent", `{"StartAt":"Put","States":{
	  "Put":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"TableName":"things","Item":{"pk":{"S":"T#1"},"sk":{"S":"T#1"},"n":{"N.$":"States.Format('{}', $.n)"}}},"ResultPath":null,"Next":"Send"},
	  "Send":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"out","MessageBody.$":"$"},"ResultSelector":{"id.$":"$.MessageId"},"ResultPath":"$.sent","Next":"Event"},
	  "Event":{"Type":"Task","Resource":"arn:aws:states:::events:putEvents","Parameters":{"Entries":[{"Source":"shop","DetailType":"thing","Detail":{"n.$":"$.n"}}]},"ResultPath":null,"Next":"Child"},
	  "Child":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":"`+child+`","Input":{"n.$":"$.n"}},"ResultSelector":{"out.$":"$.Output"},"End":true}}}`)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := rt.Workflows.StartExecution(ctx, parent, "p1", json.RawMessage(`{"n":21}`))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ex, err := rt.Workflows.Wait(wctx, arn)
	if err != nil || ex.Status != core.ExecutionSucceeded || string(ex.Output) != `{"out":{"doubled":42}}` {
		t.Fatalf("parent: %+v, %v", ex, err)
	}
	it, err := rt.Store.Get(ctx, "things", core.Key{PK: "T#1", SK: "T#1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var row struct{ N int }
	if err := core.UnmarshalItem(it, &row); err != nil || row.N != 21 {
		t.Errorf("stored item %+v (%v)", row, err)
	}
	msgs, err := rt.Queues.Receive(ctx, "out", 10, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != `{"n":21}` {
		t.Errorf("queue: %+v, %v", msgs, err)
	}
	if evs := events.Events(); len(evs) != 1 || evs[0].Source != "shop" || string(evs[0].Detail) != `{"n":21}` {
		t.Errorf("events: %+v", evs)
	}
}
