package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

func TestQueueRedriveToDeadLetterQueue(t *testing.T) {
	ctx := context.Background()
	qs := memory.NewQueues()
	if err := qs.CreateQueue("dlq", memory.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := qs.CreateQueue("q", memory.QueueConfig{VisibilityTimeout: 10 * time.Millisecond, DeadLetterQueue: "dlq", MaxReceiveCount: 2}); err != nil {
		t.Fatal(err)
	}
	ids, err := qs.Send(ctx, "q", core.OutgoingMessage{Body: "poison", Attributes: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 2; want++ {
		msgs, err := qs.Receive(ctx, "q", 1, time.Second)
		if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != want {
			t.Fatalf("receive %d: %+v, %v", want, msgs, err)
		}
	}
	msgs, err := qs.Receive(ctx, "q", 1, 100*time.Millisecond)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("third receive: %+v, %v; want the message redriven", msgs, err)
	}
	dead, err := qs.Receive(ctx, "dlq", 1, 0)
	if err != nil || len(dead) != 1 || dead[0].ID != ids[0] || dead[0].Body != "poison" || dead[0].Attributes["a"] != "b" {
		t.Fatalf("dead-letter queue: %+v, %v", dead, err)
	}
}

func TestQueueDelayAndDepth(t *testing.T) {
	ctx := context.Background()
	qs := memory.NewQueues()
	if err := qs.CreateQueue("q", memory.QueueConfig{VisibilityTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := qs.Send(ctx, "q", core.OutgoingMessage{Body: "later", Delay: 50 * time.Millisecond}, core.OutgoingMessage{Body: "now"}); err != nil {
		t.Fatal(err)
	}
	if v, h, _ := qs.QueueDepth("q"); v != 1 || h != 1 {
		t.Fatalf("depth visible %d hidden %d, want 1 1", v, h)
	}
	msgs, err := qs.Receive(ctx, "q", 10, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "now" {
		t.Fatalf("first receive %+v, %v", msgs, err)
	}
	msgs, err = qs.Receive(ctx, "q", 10, time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "later" {
		t.Fatalf("delayed receive %+v, %v", msgs, err)
	}
	if err := qs.Delete(ctx, "q", "bogus"); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("bogus receipt: %v", err)
	}
	if err := qs.Delete(ctx, "q", msgs[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if err := qs.Delete(ctx, "q", msgs[0].ReceiptHandle); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if v, h, _ := qs.QueueDepth("q"); v != 0 || h != 1 {
		t.Fatalf("depth visible %d hidden %d, want 0 1", v, h)
	}
}

func TestQueueConfigValidation(t *testing.T) {
	qs := memory.NewQueues()
	for name, cfg := range map[string]memory.QueueConfig{
		"dlq without count":   {DeadLetterQueue: "x"},
		"count without dlq":   {MaxReceiveCount: 3},
		"negative visibility": {VisibilityTimeout: -1},
	} {
		if err := qs.CreateQueue("q", cfg); !errors.Is(err, core.ErrValidation) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := qs.CreateQueue("q", memory.QueueConfig{DeadLetterQueue: "missing", MaxReceiveCount: 1}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("missing dlq: %v", err)
	}
}

func TestTopicsRecordAndUnsubscribe(t *testing.T) {
	ctx := context.Background()
	ts := memory.NewTopics()
	if err := ts.CreateTopic("t"); err != nil {
		t.Fatal(err)
	}
	n := 0
	unsubscribe, err := ts.Subscribe("t", func(context.Context, memory.Published) { n++ })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Publish(ctx, "t", "a", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	unsubscribe()
	if _, err := ts.Publish(ctx, "t", "b", nil); err != nil {
		t.Fatal(err)
	}
	pub := ts.Published("t")
	if n != 1 || len(pub) != 2 || pub[0].Message != "a" || pub[0].Attributes["k"] != "v" || pub[1].Message != "b" {
		t.Fatalf("delivered %d, published %+v", n, pub)
	}
	if _, err := ts.Subscribe("missing", nil); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("subscribe to a missing topic: %v", err)
	}
}

func TestQueueVirtualClock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	qs := memory.NewQueues(memory.WithQueuesClock(func() time.Time { return now }))
	if err := qs.CreateQueue("q", memory.QueueConfig{VisibilityTimeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := qs.Send(ctx, "q", core.OutgoingMessage{Body: "x", Delay: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	receive := func() int {
		msgs, err := qs.Receive(ctx, "q", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	steps := []struct {
		advance time.Duration
		want    int
	}{{0, 0}, {10 * time.Minute, 1}, {59 * time.Minute, 0}, {time.Minute, 1}}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := receive(); got != s.want {
			t.Fatalf("step %d: received %d, want %d", i, got, s.want)
		}
	}
}
