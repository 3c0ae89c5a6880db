package coretest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// QueueHarness adapts a Queue implementation to TestQueue.
type QueueHarness struct {
	// New returns the queue service under test. Required.
	New func(t *testing.T) core.Queue
	// CreateQueue provisions an empty standard queue named name whose
	// visibility timeout is VisibilityTimeout. Required.
	CreateQueue func(t *testing.T, q core.Queue, name string)
	// VisibilityTimeout is the visibility timeout CreateQueue gives its
	// queues; the suite waits up to about three times this long for a
	// message to reappear. Zero means one second (SQS's smallest non-zero).
	VisibilityTimeout time.Duration
}

// TestQueue runs the Queue conformance suite against h.
func TestQueue(t *testing.T, h QueueHarness) {
	t.Helper()
	if h.New == nil || h.CreateQueue == nil {
		t.Fatal("coretest: QueueHarness needs New and CreateQueue")
	}
	vis := h.VisibilityTimeout
	if vis <= 0 {
		vis = time.Second
	}
	ctx := context.Background()
	q := h.New(t)
	fresh := func(t *testing.T) string {
		t.Helper()
		name := uniqueName("ct-queue")
		h.CreateQueue(t, q, name)
		return name
	}
	send := func(t *testing.T, name string, msgs ...core.OutgoingMessage) []string {
		t.Helper()
		ids, err := q.Send(ctx, name, msgs...)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if len(ids) != len(msgs) {
			t.Fatalf("Send returned %d ids for %d messages", len(ids), len(msgs))
		}
		return ids
	}
	// receiveN receives until n messages arrived or the deadline passes.
	receiveN := func(t *testing.T, name string, n int, within time.Duration) []core.Message {
		t.Helper()
		var out []core.Message
		deadline := time.Now().Add(within)
		for len(out) < n && time.Now().Before(deadline) {
			wait := min(time.Until(deadline), time.Second)
			msgs, err := q.Receive(ctx, name, min(10, n-len(out)), max(wait, 0))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			out = append(out, msgs...)
		}
		if len(out) != n {
			t.Fatalf("received %d messages within %v, want %d", len(out), within, n)
		}
		return out
	}

	t.Run("send receive delete with attributes", func(t *testing.T) {
		name := fresh(t)
		attrs := map[string]string{"type": "task", "tenant": "T1"}
		ids := send(t, name, core.OutgoingMessage{Body: `{"hello":"wörld"}`, Attributes: attrs})
		msgs := receiveN(t, name, 1, 5*time.Second)
		m := msgs[0]
		if m.ID != ids[0] || m.Body != `{"hello":"wörld"}` || m.ReceiptHandle == "" || m.ReceiveCount != 1 {
			t.Fatalf("received %+v; want id %s, the body, a receipt handle, receive count 1", m, ids[0])
		}
		if !maps.Equal(m.Attributes, attrs) {
			t.Fatalf("attributes %v, want %v", m.Attributes, attrs)
		}
		if err := q.Delete(ctx, name, m.ReceiptHandle); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		time.Sleep(vis + vis/2)
		again, err := q.Receive(ctx, name, 10, 0)
		if err != nil || len(again) != 0 {
			t.Fatalf("after Delete and the visibility timeout: %d messages, %v; want none", len(again), err)
		}
	})
	t.Run("ten messages in one send, each received once", func(t *testing.T) {
		name := fresh(t)
		var out []core.OutgoingMessage
		for i := range 10 {
			out = append(out, core.OutgoingMessage{Body: fmt.Sprintf("m%d", i)})
		}
		ids := send(t, name, out...)
		msgs := receiveN(t, name, 10, 10*time.Second)
		var bodies, gotIDs []string
		for _, m := range msgs {
			bodies = append(bodies, m.Body)
			gotIDs = append(gotIDs, m.ID)
		}
		slices.Sort(bodies)
		slices.Sort(gotIDs)
		slices.Sort(ids)
		want := []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}
		if !slices.Equal(bodies, want) || !slices.Equal(gotIDs, ids) {
			t.Fatalf("bodies %q ids %q; want %q and the sent ids %q", bodies, gotIDs, want, ids)
		}
	})
	t.Run("more than ten messages in one send is ErrValidation", func(t *testing.T) {
		name := fresh(t)
		msgs := make([]core.OutgoingMessage, 11)
		for i := range msgs {
			msgs[i].Body = "x"
		}
		_, err := q.Send(ctx, name, msgs...)
		wantErrIs(t, err, core.ErrValidation, "Send of 11")
	})
	t.Run("received message stays invisible until the timeout, then returns with a higher count", func(t *testing.T) {
		name := fresh(t)
		send(t, name, core.OutgoingMessage{Body: "vis"})
		first := receiveN(t, name, 1, 5*time.Second)[0]
		hidden, err := q.Receive(ctx, name, 10, 0)
		if err != nil || len(hidden) != 0 {
			t.Fatalf("right after receiving: %d messages, %v; want none", len(hidden), err)
		}
		again := receiveN(t, name, 1, 3*vis+2*time.Second)[0]
		if again.ID != first.ID || again.ReceiveCount != 2 {
			t.Fatalf("redelivered %+v; want id %s with receive count 2", again, first.ID)
		}
		if err := q.Delete(ctx, name, again.ReceiptHandle); err != nil {
			t.Fatalf("Delete with the new receipt handle: %v", err)
		}
	})
	t.Run("receive waits for a message sent meanwhile", func(t *testing.T) {
		name := fresh(t)
		go func() {
			time.Sleep(200 * time.Millisecond)
			_, _ = q.Send(ctx, name, core.OutgoingMessage{Body: "late"})
		}()
		begin := time.Now()
		msgs, err := q.Receive(ctx, name, 1, 5*time.Second)
		if err != nil || len(msgs) != 1 || msgs[0].Body != "late" {
			t.Fatalf("long poll: %v, %v", msgs, err)
		}
		if time.Since(begin) > 4*time.Second {
			t.Fatalf("long poll returned after %v, want soon after the send", time.Since(begin))
		}
	})
	t.Run("receive on an empty queue without wait returns nothing at once", func(t *testing.T) {
		name := fresh(t)
		begin := time.Now()
		msgs, err := q.Receive(ctx, name, 10, 0)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("got %d messages, %v", len(msgs), err)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("unknown queue is ErrNotFound", func(t *testing.T) {
		missing := uniqueName("ct-noqueue")
		_, err := q.Send(ctx, missing, core.OutgoingMessage{Body: "x"})
		mustNotFound(t, err, "Send")
		_, err = q.Receive(ctx, missing, 1, 0)
		mustNotFound(t, err, "Receive")
	})
	t.Run("canceled context fails with context.Canceled", func(t *testing.T) {
		name := fresh(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := q.Send(cctx, name, core.OutgoingMessage{Body: "x"})
		wantErrIs(t, err, context.Canceled, "Send")
		_, err = q.Receive(cctx, name, 1, 0)
		wantErrIs(t, err, context.Canceled, "Receive")
	})
	t.Run("cancel during a long poll returns promptly", func(t *testing.T) {
		name := fresh(t)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		begin := time.Now()
		msgs, err := q.Receive(cctx, name, 1, 10*time.Second)
		if err == nil && len(msgs) != 0 {
			t.Fatalf("received %d messages from an empty queue", len(msgs))
		}
		if d := time.Since(begin); d > 3*time.Second {
			t.Fatalf("Receive returned %v after its context ended", d)
		}
	})
}

// TopicHarness adapts a Topic implementation to TestTopic.
type TopicHarness struct {
	// New returns the topic service under test. Required.
	New func(t *testing.T) core.Topic
	// CreateTopic provisions a topic named name. Required.
	CreateTopic func(t *testing.T, tp core.Topic, name string)
	// Subscribe, when set, subscribes an observer (for example an SQS queue
	// with raw delivery) to topic and returns a function that waits up to
	// within for n deliveries and returns their message bodies. Nil skips
	// the delivery test.
	Subscribe func(t *testing.T, tp core.Topic, topic string) (await func(t *testing.T, n int, within time.Duration) []string)
}

// TestTopic runs the Topic conformance suite against h.
func TestTopic(t *testing.T, h TopicHarness) {
	t.Helper()
	if h.New == nil || h.CreateTopic == nil {
		t.Fatal("coretest: TopicHarness needs New and CreateTopic")
	}
	ctx := context.Background()
	tp := h.New(t)
	topic := uniqueName("ct-topic")
	h.CreateTopic(t, tp, topic)

	t.Run("publish to an existing topic returns an id", func(t *testing.T) {
		id, err := tp.Publish(ctx, topic, `{"event":"x"}`, map[string]string{"type": "finished"})
		if err != nil || id == "" {
			t.Fatalf("Publish: id %q, %v", id, err)
		}
		id2, err := tp.Publish(ctx, topic, "second", nil)
		if err != nil || id2 == "" || id2 == id {
			t.Fatalf("second Publish: id %q (first %q), %v", id2, id, err)
		}
	})
	t.Run("unknown topic is ErrNotFound", func(t *testing.T) {
		_, err := tp.Publish(ctx, uniqueName("ct-notopic"), "x", nil)
		mustNotFound(t, err, "Publish")
	})
	t.Run("subscribers receive every message", func(t *testing.T) {
		if h.Subscribe == nil {
			t.Skip("coretest: harness has no Subscribe; delivery not observed")
		}
		topic := uniqueName("ct-topic")
		h.CreateTopic(t, tp, topic)
		await := h.Subscribe(t, tp, topic)
		want := []string{"one", "two", `{"three":3}`}
		for _, m := range want {
			if _, err := tp.Publish(ctx, topic, m, map[string]string{"k": "v"}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		got := await(t, len(want), 10*time.Second)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("delivered %q, want %q", got, want)
		}
	})
	t.Run("canceled context fails with context.Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := tp.Publish(cctx, topic, "x", nil)
		wantErrIs(t, err, context.Canceled, "Publish")
	})
}
