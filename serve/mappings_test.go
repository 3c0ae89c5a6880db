package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/serve"
)

// recorder is an in-process function that records what it is given.
type recorder struct {
	mu      sync.Mutex
	batches [][]string     // record ids of every invocation
	ok      map[string]int // successful deliveries by record id
	changed chan struct{}  // closed and replaced on every invocation
	decide  func([]string) (failed []int, fail bool)
	// stream stops processing a batch at its first failed record: a
	// stream is retried from there on.
	stream bool
	ids    func(json.RawMessage) ([]string, []string) // record ids, item identifiers
}

func newRecorder() *recorder { return &recorder{ok: map[string]int{}, changed: make(chan struct{})} }

func (r *recorder) handle(_ context.Context, payload json.RawMessage) (any, error) {
	names, idents := r.ids(payload)
	failed, fail := r.decide(names)
	r.mu.Lock()
	defer func() {
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}()
	r.batches = append(r.batches, names)
	if fail {
		return nil, fmt.Errorf("poison in %v", names)
	}
	resp := map[string]any{"batchItemFailures": []any{}}
	for i, n := range names {
		if slices.Contains(failed, i) {
			resp["batchItemFailures"] = append(resp["batchItemFailures"].([]any), map[string]string{"itemIdentifier": idents[i]})
			if r.stream {
				break
			}
			continue
		}
		r.ok[n]++
	}
	return resp, nil
}

// waitFor waits until cond holds (checked after every invocation).
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		done, ch := cond(), r.changed
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; batches %v", what, r.batches)
		}
	}
}

// streamIDs reads the "id" attribute of a DynamoDB stream event's records.
func streamIDs(payload json.RawMessage) ([]string, []string) {
	var ev events.DynamoDBEvent
	_ = json.Unmarshal(payload, &ev)
	var ids, seqs []string
	for _, r := range ev.Records {
		ids = append(ids, r.Change.NewImage["id"].String())
		seqs = append(seqs, r.Change.SequenceNumber)
	}
	return ids, seqs
}

func put(t *testing.T, store *memory.Store, id, kind string) {
	t.Helper()
	it := core.Item{"pk": &types.AttributeValueMemberS{Value: "P"}, "sk": &types.AttributeValueMemberS{Value: id},
		"id": &types.AttributeValueMemberS{Value: id}, "kind": &types.AttributeValueMemberS{Value: kind}}
	if err := store.Put(context.Background(), "t", it, core.Condition{}); err != nil {
		t.Fatal(err)
	}
}

// startStream starts one mapping on the stream of the in-memory table "t".
func startStream(t *testing.T, streams *serve.MemoryStreams, rec *recorder, m serve.Mapping) *serve.Mappings {
	t.Helper()
	m.FunctionName, m.EventSourceArn = "fn", "arn:aws:dynamodb:us-east-1:123456789012:table/t"
	fns := serve.NewFunctions("", "")
	fns.Add("fn", serve.HandlerFunction{Name: "fn", Handler: rec.handle}, 0)
	ms, err := serve.StartMappings(context.Background(), serve.MappingOptions{Lambda: fns, Streams: streams, PollInterval: time.Millisecond}, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	return ms
}

// TestStreamMappingPartialFailures: batches of BatchSize in stream order,
// a filter that drops records, and a partial batch failure retried from
// the failed record on (the records before it are not delivered again).
func TestStreamMappingPartialFailures(t *testing.T) {
	store := memory.NewStore()
	if err := store.CreateTable("t", memory.WithStream(memory.StreamNewImage)); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.ids, rec.stream = streamIDs, true
	failedOnce := false
	rec.decide = func(ids []string) ([]int, bool) {
		if i := slices.Index(ids, "r4"); i >= 0 && !failedOnce {
			failedOnce = true
			return []int{i}, false
		}
		return nil, false
	}
	streams := serve.NewMemoryStreams(store)
	if _, err := streams.StreamARN(context.Background(), "arn:aws:dynamodb:us-east-1:123456789012:table/t"); err != nil {
		t.Fatal(err)
	}
	// Written before the mapping starts: batches of three from the start.
	for i := 1; i <= 7; i++ {
		kind := "keep"
		if i == 2 {
			kind = "skip"
		}
		put(t, store, fmt.Sprintf("r%d", i), kind)
	}
	ms := startStream(t, streams, rec, serve.Mapping{BatchSize: 3, FunctionResponseTypes: []string{"ReportBatchItemFailures"},
		FilterCriteria: &serve.FilterCriteria{Filters: []serve.Filter{{Pattern: `{"dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}}`}}}})
	want := []string{"r1", "r3", "r4", "r5", "r6", "r7"}
	rec.waitFor(t, "every kept record delivered", func() bool {
		for _, id := range want {
			if rec.ok[id] == 0 {
				return false
			}
		}
		return true
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var seen []string
	for _, b := range rec.batches {
		if len(b) > 3 {
			t.Errorf("batch %v exceeds BatchSize 3", b)
		}
		seen = append(seen, b...)
	}
	// r4 failed in its batch [r1 r3 r4] and only r4 on was delivered
	// again; no record succeeded twice.
	for id, n := range rec.ok {
		if n != 1 {
			t.Errorf("%s succeeded %d times", id, n)
		}
	}
	if slices.Contains(seen, "r2") {
		t.Errorf("the filtered record r2 was delivered: %v", rec.batches)
	}
	if !slices.Equal(rec.batches[0], []string{"r1", "r3", "r4"}) || rec.batches[1][0] != "r4" {
		t.Errorf("batches %v: want [r1 r3 r4] then a retry from r4", rec.batches)
	}
	st := ms.Stats()[0]
	if st.Filtered != 1 || st.Retries != 1 || st.Failures != 1 || st.Discarded != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestStreamMappingBisectRetryDLQ: a function error splits the batch;
// the poison record alone is retried MaximumRetryAttempts times, then
// described on the OnFailure queue; the others are delivered.
func TestStreamMappingBisectRetryDLQ(t *testing.T) {
	store := memory.NewStore()
	if err := store.CreateTable("t", memory.WithStream(memory.StreamNewImage)); err != nil {
		t.Fatal(err)
	}
	queues := memory.NewQueues()
	if err := queues.CreateQueue("dlq", memory.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.ids, rec.stream = streamIDs, true
	rec.decide = func(ids []string) ([]int, bool) { return nil, slices.Contains(ids, "poison") }
	retries := 2
	// Written before the mapping starts: one batch of four.
	streams := serve.NewMemoryStreams(store)
	if _, err := streams.StreamARN(context.Background(), "arn:aws:dynamodb:us-east-1:123456789012:table/t"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "poison", "b", "c"} {
		put(t, store, id, "k")
	}
	fns := serve.NewFunctions("", "")
	fns.Add("fn", serve.HandlerFunction{Name: "fn", Handler: rec.handle}, 0)
	ms, err := serve.StartMappings(context.Background(), serve.MappingOptions{Lambda: fns, Streams: streams, Queues: queues, PollInterval: time.Millisecond}, serve.Mapping{
		FunctionName: "fn", EventSourceArn: "arn:aws:dynamodb:us-east-1:123456789012:table/t", BatchSize: 4,
		BisectBatchOnFunctionError: true, MaximumRetryAttempts: &retries,
		DestinationConfig: &serve.DestinationConfig{OnFailure: &serve.OnFailure{Destination: "arn:aws:sqs:us-east-1:123456789012:dlq"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	msgs, err := queues.Receive(context.Background(), "dlq", 1, 10*time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("OnFailure queue: %v, %v", msgs, err)
	}
	var info struct {
		RequestContext     struct{ Condition string }
		DDBStreamBatchInfo struct {
			BatchSize                                         int
			StartSequenceNumber, EndSequenceNumber, StreamArn string
		}
	}
	if err := json.Unmarshal([]byte(msgs[0].Body), &info); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "a, b and c delivered", func() bool { return rec.ok["a"] == 1 && rec.ok["b"] == 1 && rec.ok["c"] == 1 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := [][]string{{"a", "poison", "b", "c"}, {"a", "poison"}, {"a"}, {"poison"}, {"b", "c"}}
	if !slices.EqualFunc(rec.batches, want, slices.Equal[[]string]) {
		t.Errorf("batches %v, want %v", rec.batches, want)
	}
	if info.RequestContext.Condition != "RetryAttemptsExhausted" || info.DDBStreamBatchInfo.BatchSize != 1 ||
		info.DDBStreamBatchInfo.StartSequenceNumber != info.DDBStreamBatchInfo.EndSequenceNumber || !strings.Contains(info.DDBStreamBatchInfo.StreamArn, "table/t/stream/") {
		t.Errorf("OnFailure record %s", msgs[0].Body)
	}
	if st := ms.Stats()[0]; st.Discarded != 1 || st.Retries != 2 {
		t.Errorf("stats %+v", st)
	}
}

// sqsIDs reads the bodies and message ids of an SQS event.
func sqsIDs(payload json.RawMessage) ([]string, []string) {
	var ev events.SQSEvent
	_ = json.Unmarshal(payload, &ev)
	var bodies, ids []string
	for _, m := range ev.Records {
		bodies = append(bodies, m.Body)
		ids = append(ids, m.MessageId)
	}
	return bodies, ids
}

// TestQueueMappingPartialFailures: the failed message of a batch stays in
// the queue and reaches the dead-letter queue after its receives; the
// others are deleted; a message no filter matches is deleted unseen.
func TestQueueMappingPartialFailures(t *testing.T) {
	queues := memory.NewQueues()
	if err := queues.CreateQueue("dlq", memory.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := queues.CreateQueue("in", memory.QueueConfig{VisibilityTimeout: 20 * time.Millisecond, DeadLetterQueue: "dlq", MaxReceiveCount: 2}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	rec.ids = sqsIDs
	rec.decide = func(bodies []string) ([]int, bool) {
		var failed []int
		for i, b := range bodies {
			if strings.Contains(b, "bad") {
				failed = append(failed, i)
			}
		}
		return failed, false
	}
	fns := serve.NewFunctions("", "")
	fns.Add("fn", serve.HandlerFunction{Name: "fn", Handler: rec.handle}, 0)
	var bodies []core.OutgoingMessage
	for _, b := range []string{`{"type":"order","n":1}`, `{"type":"order","n":"bad"}`, `{"type":"note"}`, `{"type":"order","n":2}`} {
		bodies = append(bodies, core.OutgoingMessage{Body: b})
	}
	if _, err := queues.Send(context.Background(), "in", bodies...); err != nil {
		t.Fatal(err)
	}
	ms, err := serve.StartMappings(context.Background(), serve.MappingOptions{Lambda: fns, Queues: queues, QueueWait: 10 * time.Millisecond}, serve.Mapping{
		FunctionName: "fn", EventSourceArn: "arn:aws:sqs:us-east-1:123456789012:in", BatchSize: 10,
		FunctionResponseTypes: []string{"ReportBatchItemFailures"},
		FilterCriteria:        &serve.FilterCriteria{Filters: []serve.Filter{{Pattern: `{"body": {"type": ["order"]}}`}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	dead, err := queues.Receive(context.Background(), "dlq", 1, 10*time.Second)
	if err != nil || len(dead) != 1 || dead[0].Body != `{"type":"order","n":"bad"}` {
		t.Fatalf("dead-letter queue: %v, %v", dead, err)
	}
	_ = ms.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.ok[`{"type":"order","n":1}`] != 1 || rec.ok[`{"type":"order","n":2}`] != 1 || rec.ok[`{"type":"note"}`] != 0 {
		t.Errorf("successes %v (batches %v)", rec.ok, rec.batches)
	}
	if visible, hidden, err := queues.QueueDepth("in"); err != nil || visible+hidden != 0 {
		t.Errorf("the source queue still holds %d+%d messages (%v)", visible, hidden, err)
	}
	if st := ms.Stats()[0]; st.Filtered != 1 || st.Failures < 2 {
		t.Errorf("stats %+v", st)
	}
}
