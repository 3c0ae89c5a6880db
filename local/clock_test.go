package local_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
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

// TestClockWaitsForQueueAndTopicDeliveries: a received SQS batch and an SNS
// delivery each hold the clock until their handler has returned, so a
// sleep beside them (the test's own) cannot move the clock under a handler
// at work.
func TestClockWaitsForQueueAndTopicDeliveries(t *testing.T) {
	for _, source := range []string{"queue", "topic"} {
		t.Run(source, func(t *testing.T) {
			ctx := context.Background()
			var vc *interp.VirtualClock
			var start time.Time
			sleeping := make(chan struct{})
			seen := make(chan time.Duration, 1)
			// handle waits until the test's sleep is registered on the
			// clock (or 2 s), works a while, then reports how far the
			// clock has moved.
			handle := func() {
				<-sleeping
				for end := time.Now().Add(2 * time.Second); vc.Pending() < 2 && time.Now().Before(end); {
					time.Sleep(100 * time.Microsecond) // the periodic sweep's timer and the sleep
				}
				time.Sleep(20 * time.Millisecond) // held, the clock cannot move meanwhile
				seen <- vc.Now().Sub(start)
			}
			opts := local.Options{Modules: []string{"order"}}
			if source == "queue" {
				opts.QueueSources = []local.QueueSource{{Queue: "jobs", Config: memory.QueueConfig{VisibilityTimeout: 30 * time.Second}}}
				opts.Routes = []eventfactory.Registration{func(r *eventfactory.Router) {
					eventfactory.OnSQS(r, "jobs", func(context.Context, eventfactory.SQSMessage[string]) error {
						handle()
						return nil
					})
				}}
			} else {
				opts.TopicSubscriptions = []string{"alerts"}
				opts.Routes = []eventfactory.Registration{func(r *eventfactory.Router) {
					eventfactory.OnSNS(r, "alerts", func(context.Context, eventfactory.SNSMessage[string]) error {
						handle()
						return nil
					})
				}}
			}
			rt, err := local.New(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			vc = rt.Clock.(*interp.VirtualClock)
			start = vc.Now()
			if source == "queue" {
				if _, err := rt.Queues.Send(ctx, "jobs", core.OutgoingMessage{Body: "job"}); err != nil {
					t.Fatal(err)
				}
				// The batch must be received (and so held) before the
				// sleep: a message not received yet holds nothing.
				for end := time.Now().Add(5 * time.Second); ; {
					if _, inflight, _ := rt.Queues.QueueDepth("jobs"); inflight > 0 || time.Now().After(end) {
						break
					}
					time.Sleep(100 * time.Microsecond)
				}
			} else if _, err := rt.Topics.Publish(ctx, "alerts", "hello", nil); err != nil {
				t.Fatal(err)
			}
			close(sleeping)
			if err := vc.Sleep(ctx, time.Hour); err != nil {
				t.Fatal(err)
			}
			if d := <-seen; d != 0 {
				t.Errorf("the handler saw the clock at +%v, want +0s", d)
			}
			if d := vc.Now().Sub(start); d != time.Hour {
				t.Errorf("clock moved %v, want 1h", d)
			}
		})
	}
}
