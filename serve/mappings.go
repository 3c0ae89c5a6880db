package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// Mapping is an event source mapping, with the fields (and JSON names)
// of Lambda's CreateEventSourceMapping: it polls a DynamoDB stream or an
// SQS queue and invokes a function with batches of records.
type Mapping struct {
	// FunctionName is the function to invoke (name or ARN).
	FunctionName string `json:"FunctionName"`
	// EventSourceArn is a DynamoDB stream ARN, a table ARN (its latest
	// stream is read) or an SQS queue ARN.
	EventSourceArn string `json:"EventSourceArn"`
	// BatchSize is the most records of one invocation: default 100 for
	// streams, 10 for queues.
	BatchSize int `json:"BatchSize,omitempty"`
	// MaximumBatchingWindowInSeconds is how long to gather records for a
	// batch that is not full (default 0: deliver what one poll gives).
	MaximumBatchingWindowInSeconds int `json:"MaximumBatchingWindowInSeconds,omitempty"`
	// StartingPosition of a stream: TRIM_HORIZON (default here) or LATEST.
	StartingPosition string `json:"StartingPosition,omitempty"`
	// FilterCriteria drop the records no filter matches (SQS messages that
	// match none are deleted, as Lambda does).
	FilterCriteria *FilterCriteria `json:"FilterCriteria,omitempty"`
	// FunctionResponseTypes may hold "ReportBatchItemFailures": the
	// function answers {"batchItemFailures":[{"itemIdentifier":...}]} and
	// only those records are retried (a stream from the first of them on).
	FunctionResponseTypes []string `json:"FunctionResponseTypes,omitempty"`
	// BisectBatchOnFunctionError splits a failed stream batch in two and
	// retries the halves.
	BisectBatchOnFunctionError bool `json:"BisectBatchOnFunctionError,omitempty"`
	// MaximumRetryAttempts bounds the retries of a failed stream batch;
	// nil or -1 retries until it succeeds, as Lambda does until the
	// records expire.
	MaximumRetryAttempts *int `json:"MaximumRetryAttempts,omitempty"`
	// DestinationConfig.OnFailure.Destination is an SQS queue ARN that
	// receives a record of every stream batch given up on.
	DestinationConfig *DestinationConfig `json:"DestinationConfig,omitempty"`
	// ScalingConfig.MaximumConcurrency is the number of pollers of an SQS
	// queue (default 1).
	ScalingConfig *ScalingConfig `json:"ScalingConfig,omitempty"`
}

// DestinationConfig names where records of failed batches go.
type DestinationConfig struct {
	OnFailure *OnFailure `json:"OnFailure,omitempty"`
}

// OnFailure is the destination of failed stream batches.
type OnFailure struct {
	Destination string `json:"Destination"`
}

// ScalingConfig bounds the concurrency of an SQS mapping.
type ScalingConfig struct {
	MaximumConcurrency int `json:"MaximumConcurrency,omitempty"`
}

const reportBatchItemFailures = "ReportBatchItemFailures"

// isQueue reports whether the mapping reads an SQS queue.
func (m Mapping) isQueue() bool { return strings.HasPrefix(m.EventSourceArn, "arn:aws:sqs:") }

// reportsItems reports whether the function answers partial batch
// failures.
func (m Mapping) reportsItems() bool {
	for _, t := range m.FunctionResponseTypes {
		if t == reportBatchItemFailures {
			return true
		}
	}
	return false
}

// MappingStats count what a mapping did.
type MappingStats struct {
	// Invocations counts invocations of the function, retries included;
	// Records the records they carried.
	Invocations, Records int64
	// Failures counts failed invocations (function or service errors, or
	// a partial batch failure); Retries the batches tried again.
	Failures, Retries int64
	// Filtered counts records no filter matched; Discarded the records of
	// batches given up on after MaximumRetryAttempts (each batch is
	// reported to the OnFailure destination when there is one).
	Filtered, Discarded int64
}

type mappingCounters struct {
	invocations, records, failures, retries, filtered, discarded atomic.Int64
}

func (c *mappingCounters) stats() MappingStats {
	return MappingStats{
		Invocations: c.invocations.Load(), Records: c.records.Load(), Failures: c.failures.Load(),
		Retries: c.retries.Load(), Filtered: c.filtered.Load(), Discarded: c.discarded.Load(),
	}
}

// MappingOptions are what event source mappings run on.
type MappingOptions struct {
	// Lambda invokes the functions (typically the server's *Functions).
	Lambda interp.LambdaInvoker
	// Streams reads DynamoDB streams (NewStreamReader for an endpoint's
	// dynamodbstreams API, MemoryStreams for core/memory). Required for
	// stream mappings.
	Streams StreamReader
	// Queues receives from SQS queues and takes the OnFailure records of
	// stream mappings. Required for queue mappings and destinations.
	Queues core.Queue
	// Region fills the records' awsRegion; default us-east-1.
	Region string
	// PollInterval is the pause after an empty poll of a stream and the
	// base of retry back-off; default 100ms.
	PollInterval time.Duration
	// QueueWait is the long-poll wait of one SQS receive; default 1s.
	QueueWait time.Duration
	// Logger receives the mappings' logs; nil discards them.
	Logger *slog.Logger
}

// Mappings runs event source mappings until Close.
type Mappings struct {
	opts     MappingOptions
	log      *slog.Logger
	mappings []Mapping
	counters []*mappingCounters
	filters  []filters
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// StartMappings validates the mappings and starts polling their sources.
func StartMappings(ctx context.Context, opts MappingOptions, mappings ...Mapping) (*Mappings, error) {
	if opts.Lambda == nil {
		return nil, errors.New("serve: mappings need MappingOptions.Lambda")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ms := &Mappings{opts: opts, log: log}
	for i, m := range mappings {
		if m.FunctionName == "" || m.EventSourceArn == "" {
			return nil, fmt.Errorf("serve: mapping %d: FunctionName and EventSourceArn are required", i)
		}
		f, err := compileFilters(m.FilterCriteria)
		if err != nil {
			return nil, err
		}
		switch {
		case m.isQueue():
			if opts.Queues == nil {
				return nil, fmt.Errorf("serve: mapping %d reads the queue %s but MappingOptions.Queues is nil", i, m.EventSourceArn)
			}
			if m.BatchSize <= 0 {
				m.BatchSize = 10
			}
		case strings.HasPrefix(m.EventSourceArn, "arn:aws:dynamodb:"):
			if opts.Streams == nil {
				return nil, fmt.Errorf("serve: mapping %d reads the stream of %s but MappingOptions.Streams is nil", i, m.EventSourceArn)
			}
			if m.BatchSize <= 0 {
				m.BatchSize = 100
			}
			if m.StartingPosition == "" {
				m.StartingPosition = "TRIM_HORIZON"
			}
			if m.StartingPosition != "TRIM_HORIZON" && m.StartingPosition != "LATEST" {
				return nil, fmt.Errorf("serve: mapping %d: StartingPosition %q is not TRIM_HORIZON or LATEST", i, m.StartingPosition)
			}
		default:
			return nil, fmt.Errorf("serve: mapping %d: EventSourceArn %q is neither a DynamoDB stream or table nor an SQS queue", i, m.EventSourceArn)
		}
		if m.DestinationConfig != nil && m.DestinationConfig.OnFailure != nil && opts.Queues == nil {
			return nil, fmt.Errorf("serve: mapping %d has an OnFailure destination but MappingOptions.Queues is nil", i)
		}
		ms.mappings = append(ms.mappings, m)
		ms.counters = append(ms.counters, &mappingCounters{})
		ms.filters = append(ms.filters, f)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ms.cancel = cancel
	for i := range ms.mappings {
		r := &mappingRun{ms: ms, m: ms.mappings[i], c: ms.counters[i], f: ms.filters[i]}
		if r.m.isQueue() {
			n := 1
			if sc := r.m.ScalingConfig; sc != nil && sc.MaximumConcurrency > 1 {
				n = sc.MaximumConcurrency
			}
			for range n {
				ms.wg.Add(1)
				go func() { defer ms.wg.Done(); r.pollQueue(runCtx) }()
			}
			continue
		}
		ms.wg.Add(1)
		go func() { defer ms.wg.Done(); r.pollStream(runCtx) }()
	}
	return ms, nil
}

// Stats returns the counters of every mapping, in the order given.
func (ms *Mappings) Stats() []MappingStats {
	out := make([]MappingStats, len(ms.counters))
	for i, c := range ms.counters {
		out[i] = c.stats()
	}
	return out
}

// Close stops polling and waits for the deliveries in progress.
func (ms *Mappings) Close() error {
	ms.cancel()
	ms.wg.Wait()
	return nil
}

// mappingRun is one running mapping.
type mappingRun struct {
	ms *Mappings
	m  Mapping
	c  *mappingCounters
	f  filters
}

// invoke sends one batch event and returns the function's response.
func (r *mappingRun) invoke(ctx context.Context, event any, n int) ([]byte, error) {
	payload, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	r.c.invocations.Add(1)
	r.c.records.Add(int64(n))
	out, err := r.ms.opts.Lambda.Invoke(ctx, r.m.FunctionName, payload)
	if err != nil {
		r.c.failures.Add(1)
	}
	return out, err
}

// batchItemFailures parses a partial batch response: the identifiers of
// the failed records, and false when the response is malformed (the
// whole batch then failed, as Lambda treats it).
func batchItemFailures(out []byte) ([]string, bool) {
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if len(out) == 0 || string(out) == "null" {
		return nil, true
	}
	if json.Unmarshal(out, &resp) != nil {
		return nil, true // not a partial response: success
	}
	ids := make([]string, 0, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return nil, false
		}
		ids = append(ids, *f.ItemIdentifier)
	}
	return ids, true
}

// asMap renders a record as a JSON object for filtering.
func asMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	_ = dec.Decode(&m)
	return m
}

// backoff waits before a retry, or until ctx ends.
func (r *mappingRun) backoff(ctx context.Context, attempt int) bool {
	d := r.ms.opts.PollInterval * time.Duration(min(attempt, 50))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pollQueue receives batches from the queue and delivers them.
func (r *mappingRun) pollQueue(ctx context.Context) {
	q := r.ms.opts.Queues
	name := integrations.QueueName(r.m.EventSourceArn)
	window := time.Duration(r.m.MaximumBatchingWindowInSeconds) * time.Second
	for ctx.Err() == nil {
		var batch []core.Message
		deadline := time.Now().Add(window)
		for len(batch) < r.m.BatchSize {
			wait := r.ms.opts.QueueWait
			if len(batch) > 0 {
				if window <= 0 || !time.Now().Before(deadline) {
					break
				}
				wait = min(wait, time.Until(deadline))
			}
			msgs, err := q.Receive(ctx, name, min(r.m.BatchSize-len(batch), 10), wait)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				r.ms.log.Error("serve: receiving from the queue of a mapping", "queue", name, "err", err)
				r.backoff(ctx, 10)
				break
			}
			batch = append(batch, msgs...)
			if len(msgs) == 0 && len(batch) == 0 {
				continue
			}
			if len(msgs) == 0 {
				break
			}
		}
		if len(batch) > 0 {
			r.deliverMessages(ctx, name, batch)
		}
	}
}

// sqsMessage renders a received message as Lambda's SQS event record.
func (r *mappingRun) sqsMessage(m core.Message) events.SQSMessage {
	attrs := map[string]events.SQSMessageAttribute{}
	for k, v := range m.Attributes {
		v := v
		attrs[k] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
	}
	return events.SQSMessage{
		MessageId:     m.ID,
		ReceiptHandle: m.ReceiptHandle,
		Body:          m.Body,
		Md5OfBody:     md5Hex(m.Body),
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(max(m.ReceiveCount, 1)),
			"SentTimestamp":                    strconv.FormatInt(time.Now().UnixMilli(), 10),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
			"SenderId":                         "AIDAIENQZJOLO23YVJ4VO",
		},
		MessageAttributes: attrs,
		EventSourceARN:    r.m.EventSourceArn,
		EventSource:       "aws:sqs",
		AWSRegion:         r.ms.opts.Region,
	}
}

// deliverMessages invokes the function with one SQS batch and deletes the
// messages that succeeded (and those no filter matched). Failed messages
// stay in the queue: they come back after its visibility timeout, and its
// redrive policy moves them to its dead-letter queue.
func (r *mappingRun) deliverMessages(ctx context.Context, queue string, batch []core.Message) {
	q := r.ms.opts.Queues
	del := func(m core.Message) {
		if err := q.Delete(context.WithoutCancel(ctx), queue, m.ReceiptHandle); err != nil {
			r.ms.log.Error("serve: deleting a delivered message", "queue", queue, "err", err)
		}
	}
	recs := make([]events.SQSMessage, 0, len(batch))
	kept := make([]core.Message, 0, len(batch))
	for _, m := range batch {
		rec := r.sqsMessage(m)
		if len(r.f) > 0 {
			ev := asMap(rec)
			var body any
			dec := json.NewDecoder(strings.NewReader(m.Body))
			dec.UseNumber()
			if dec.Decode(&body) == nil {
				ev["body"] = body
			}
			if !r.f.match(ev) {
				r.c.filtered.Add(1)
				del(m)
				continue
			}
		}
		recs = append(recs, rec)
		kept = append(kept, m)
	}
	if len(recs) == 0 {
		return
	}
	out, err := r.invoke(ctx, events.SQSEvent{Records: recs}, len(recs))
	if err != nil {
		if ctx.Err() == nil {
			r.ms.log.Warn("serve: a queue batch failed; its messages return after the visibility timeout", "queue", queue, "err", err)
		}
		return
	}
	failed := map[string]bool{}
	if r.m.reportsItems() {
		ids, ok := batchItemFailures(out)
		if !ok {
			r.c.failures.Add(1)
			return
		}
		for _, id := range ids {
			failed[id] = true
		}
		if len(ids) > 0 {
			r.c.failures.Add(1)
		}
	}
	for _, m := range kept {
		if !failed[m.ID] {
			del(m)
		}
	}
}
