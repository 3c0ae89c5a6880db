package local_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// recorder collects what handlers saw.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.got)
	sort.Strings(out)
	return out
}

func idle(t *testing.T, rt *local.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

type job struct {
	N string `json:"n"`
}

// TestQueueSource delivers SQS batches to an OnSQS route: good messages
// are deleted, a failing one (batchItemFailures) becomes visible again
// after the visibility timeout and goes to the dead-letter queue after
// maxReceiveCount receives.
func TestQueueSource(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	routes := func(r *eventfactory.Router) {
		eventfactory.OnSQS(r, "jobs", func(_ context.Context, m eventfactory.SQSMessage[job]) error {
			rec.add(fmt.Sprintf("%s#%s@%s", m.Body.N, m.Message.Attributes["ApproximateReceiveCount"], m.Queue))
			if m.Body.N == "bad" {
				return errors.New("bad job")
			}
			if m.Message.MessageAttributes["kind"].StringValue == nil {
				return errors.New("message attribute missing")
			}
			return nil
		})
	}
	rt, err := local.New(ctx, local.Options{
		Modules: []string{"order"}, Routes: []eventfactory.Registration{routes},
		QueueSources: []local.QueueSource{{Queue: "jobs", Config: memory.QueueConfig{
			VisibilityTimeout: 30 * time.Second, DeadLetterQueue: "jobs-dlq", MaxReceiveCount: 2,
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var msgs []core.OutgoingMessage
	for _, n := range []string{"a", "bad", "b"} {
		msgs = append(msgs, core.OutgoingMessage{Body: fmt.Sprintf(`{"n":%q}`, n), Attributes: map[string]string{"kind": "job"}})
	}
	if _, err := rt.Queues.Send(ctx, "jobs", msgs...); err != nil {
		t.Fatal(err)
	}
	idle(t, rt)
	if got := fmt.Sprint(rec.list()); got != "[a#1@jobs b#1@jobs bad#1@jobs]" {
		t.Fatalf("first delivery %s", got)
	}
	if v, h, _ := rt.Queues.QueueDepth("jobs"); v != 0 || h != 1 {
		t.Fatalf("jobs visible %d hidden %d, want 0 and 1 (the failed message)", v, h)
	}
	for range 2 {
		if err := rt.AdvanceClock(31 * time.Second); err != nil {
			t.Fatal(err)
		}
		idle(t, rt)
	}
	if got := fmt.Sprint(rec.list()); got != "[a#1@jobs b#1@jobs bad#1@jobs bad#2@jobs]" {
		t.Fatalf("deliveries %s", got)
	}
	if v, h, _ := rt.Queues.QueueDepth("jobs"); v+h != 0 {
		t.Fatalf("jobs still holds %d+%d messages", v, h)
	}
	if v, _, _ := rt.Queues.QueueDepth("jobs-dlq"); v != 1 {
		t.Fatalf("dead-letter queue holds %d messages, want 1", v)
	}
	s := rt.Stats()
	if s.QueueInvocations != 2 || s.QueueMessages != 4 || s.QueueFailures != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestTopicSubscription delivers SNS notifications to OnSNS routes,
// asynchronously, one SNSEvent per message: the command notifications of
// the runtime's own topic and an application topic; a failing handler is
// retried twice and then given up on.
func TestTopicSubscription(t *testing.T) {
	ctx := context.Background()
	var rec recorder
	var notes recorder
	cfg := core.DefaultConfig()
	routes := func(r *eventfactory.Router) {
		eventfactory.OnSNS(r, "alerts", func(_ context.Context, m eventfactory.SNSMessage[string]) error {
			attr, _ := m.Record.SNS.MessageAttributes["level"].(map[string]any)
			rec.add(fmt.Sprintf("%s:%v", m.Message, attr["Value"]))
			if m.Message == "boom" {
				return errors.New("cannot handle boom")
			}
			return nil
		})
		eventfactory.OnSNS(r, cfg.NotificationTopic(), func(_ context.Context, m eventfactory.SNSMessage[command.Notification]) error {
			notes.add(fmt.Sprintf("%s v%d %s", m.Message.ID, m.Message.Version, m.Message.Status))
			return nil
		})
	}
	rt, err := local.New(ctx, local.Options{
		Config: cfg, Modules: []string{"order"}, Routes: []eventfactory.Registration{routes},
		TopicSubscriptions: []string{"alerts", cfg.NotificationTopic()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, m := range []string{"hello", "boom"} {
		if _, err := rt.Topics.Publish(ctx, "alerts", m, map[string]string{"level": "high"}); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := core.NewKey("ORDER", "acme", "n1")
	if _, err := rt.Service("order").PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	idle(t, rt)
	if got := fmt.Sprint(rec.list()); got != "[boom:high boom:high boom:high hello:high]" {
		t.Fatalf("alerts %s", got)
	}
	if got := fmt.Sprint(notes.list()); got != "[ORDER#acme#ORDER#n1 v1 finished]" {
		t.Fatalf("notifications %s", got)
	}
	if s := rt.Stats(); s.TopicInvocations != 5 || s.TopicFailures != 1 {
		t.Fatalf("stats %+v", s)
	}
}
