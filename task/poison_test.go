package task_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// sqsBatch is one task queue invocation as the wrapper saw it.
type sqsBatch struct {
	bodies []string // "sk@receiveCount"
	failed []string // the sks of batchItemFailures
}

// sqsRecorder records the SQS invocations of the service's Lambda.
type sqsRecorder struct {
	mu      sync.Mutex
	batches []sqsBatch
}

func (r *sqsRecorder) wrap(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		var ev events.SQSEvent
		if json.Unmarshal(payload, &ev) != nil || len(ev.Records) == 0 || ev.Records[0].EventSource != "aws:sqs" {
			return next(ctx, payload)
		}
		out, err := next(ctx, payload)
		b := sqsBatch{}
		sks := map[string]string{}
		for _, m := range ev.Records {
			var qm task.QueueMessage
			_ = json.Unmarshal([]byte(m.Body), &qm)
			sks[m.MessageId] = qm.SK
			b.bodies = append(b.bodies, qm.SK+"@"+m.Attributes["ApproximateReceiveCount"])
		}
		raw, _ := json.Marshal(out)
		var resp events.SQSEventResponse
		_ = json.Unmarshal(raw, &resp)
		for _, f := range resp.BatchItemFailures {
			b.failed = append(b.failed, sks[f.ItemIdentifier])
		}
		sort.Strings(b.bodies)
		r.mu.Lock()
		r.batches = append(r.batches, b)
		r.mu.Unlock()
		return out, err
	}
}

func TestTaskPoisonToDLQ(t *testing.T) {
	const maxReceive = 3
	var mu sync.Mutex
	runs := map[int]int{}
	reg := task.NewRegistry()
	// "flaky" fails its first attempt and succeeds on the second; "poison"
	// always fails.
	task.Register(reg, "flaky", func(_ context.Context, j task.Job[echo]) (echo, error) {
		mu.Lock()
		runs[j.Input.N]++
		n := runs[j.Input.N]
		mu.Unlock()
		if n == 1 {
			return echo{}, fmt.Errorf("flaky %d: first attempt", j.Input.N)
		}
		return echo{N: j.Input.N, Text: "ok"}, nil
	})
	task.Register(reg, "poison", func(_ context.Context, j task.Job[echo]) (echo, error) {
		return echo{}, errors.New("poison: cannot process")
	})
	rec := &sqsRecorder{}
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.Tasks.Settings.MaxReceiveCount = maxReceive
		o.WrapHandler = rec.wrap
	})
	svc := rt.Tasks()
	lease := svc.Settings().Lease
	poison, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "poison", Input: echo{N: -1}})
	if err != nil {
		t.Fatal(err)
	}
	var good []*task.Task
	for i := range 5 {
		g, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "flaky", Input: echo{N: i}})
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, g)
	}
	waitIdle(t, rt)
	// Every task failed its first attempt: QUEUED again, with the cause.
	for _, k := range append([]*task.Task{poison}, good...) {
		got := get(t, svc, k.Key()).Task
		if got.Status != task.StatusQueued || got.Attempts != 1 || got.Error == "" {
			t.Fatalf("after attempt 1: %s %s attempts %d error %q", got.Type, got.Status, got.Attempts, got.Error)
		}
	}
	// Their messages become visible together: one batch, where the good
	// tasks succeed and only the poison fails.
	rec.mu.Lock()
	rec.batches = nil
	rec.mu.Unlock()
	if err := rt.AdvanceClock(lease); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	rec.mu.Lock()
	batches := append([]sqsBatch(nil), rec.batches...)
	rec.mu.Unlock()
	if len(batches) != 1 || len(batches[0].bodies) != 6 || len(batches[0].failed) != 1 || batches[0].failed[0] != poison.SK {
		t.Fatalf("second round batches %+v, want one of 6 messages with only %s failed", batches, poison.SK)
	}
	for _, g := range good {
		got := get(t, svc, g.Key()).Task
		if got.Status != task.StatusCompleted || got.Attempts != 2 || got.Error != "" ||
			string(got.Result) != mustJSON(echo{N: mustInput(t, got).N, Text: "ok"}) {
			t.Fatalf("good task %+v result %s", got, got.Result)
		}
	}
	// The poison's last attempt fails it; the next receive moves its
	// message to the dead-letter queue.
	for range 2 {
		if err := rt.AdvanceClock(lease); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, rt)
	}
	got := get(t, svc, poison.Key()).Task
	if got.Status != task.StatusFailed || got.Attempts != maxReceive || got.Error != "poison: cannot process" ||
		got.ErrorName != eventfactory.ErrorNameHandler {
		t.Fatalf("poison %s attempts %d error %q (%s)", got.Status, got.Attempts, got.Error, got.ErrorName)
	}
	dlq, err := rt.Queues.Receive(bg, rt.Config.TaskDLQ(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dlq) != 1 || dlq[0].Body != mustJSON(task.QueueMessage{PK: poison.PK, SK: poison.SK}) {
		t.Fatalf("dead-letter queue holds %+v", dlq)
	}
	if v, h, _ := rt.Queues.QueueDepth(rt.Config.TaskQueue()); v+h != 0 {
		t.Fatalf("task queue still holds %d messages", v+h)
	}
	t.Logf("poison: status=%s attempts=%d cause=%q dlq=%d; its batch: %d messages, batchItemFailures=%d, good completed=%d",
		got.Status, got.Attempts, got.Error, len(dlq), len(batches[0].bodies), len(batches[0].failed), len(good))
	mu.Lock()
	defer mu.Unlock()
	for i := range 5 {
		if runs[i] != 2 {
			t.Errorf("flaky task %d ran %d times", i, runs[i])
		}
	}
}

func mustInput(t testing.TB, tk *task.Task) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(tk.Input, &e); err != nil {
		t.Fatal(err)
	}
	return e
}
