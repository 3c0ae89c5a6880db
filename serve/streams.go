package serve

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	smithy "github.com/aws/smithy-go"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// StreamReader reads DynamoDB streams shard by shard, as Lambda's stream
// pollers do.
type StreamReader interface {
	// StreamARN resolves a stream ARN, or a table ARN to its latest
	// stream's ARN.
	StreamARN(ctx context.Context, arn string) (string, error)
	// Shards lists the shards of a stream.
	Shards(ctx context.Context, streamARN string) ([]Shard, error)
	// Iterator returns a shard iterator at position (TRIM_HORIZON or
	// LATEST), or just after afterSeq when it is not empty.
	Iterator(ctx context.Context, streamARN, shardID, position, afterSeq string) (string, error)
	// Records reads the records at an iterator and returns the next
	// iterator, "" once a closed shard has been read to its end.
	Records(ctx context.Context, iterator string) (recs []events.DynamoDBEventRecord, next string, err error)
}

// Shard is one shard of a stream.
type Shard struct {
	ID, ParentID string
}

// errExpiredIterator is a shard iterator that is no longer valid.
var errExpiredIterator = errors.New("serve: expired shard iterator")

// apiStreams is a StreamReader on the DynamoDB Streams API of an endpoint.
type apiStreams struct {
	db      *dynamodb.Client
	streams *dynamodbstreams.Client
	region  string
	// arns remembers the stream ARN of each iterator's shard, for the
	// records' eventSourceARN.
	mu   sync.Mutex
	arns map[string]string
}

// NewStreamReader returns a StreamReader on the dynamodbstreams API of
// cfg's endpoint (moto, LocalStack or AWS).
func NewStreamReader(cfg aws.Config) StreamReader {
	return &apiStreams{db: dynamodb.NewFromConfig(cfg), streams: dynamodbstreams.NewFromConfig(cfg), region: cfg.Region, arns: map[string]string{}}
}

// StreamARN implements StreamReader.
func (a *apiStreams) StreamARN(ctx context.Context, arn string) (string, error) {
	if strings.Contains(arn, "/stream/") {
		return arn, nil
	}
	i := strings.Index(arn, ":table/")
	if i < 0 {
		return "", fmt.Errorf("serve: %q is not a DynamoDB table or stream ARN", arn)
	}
	table := arn[i+len(":table/"):]
	out, err := a.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("serve: describing table %s: %w", table, err)
	}
	s := aws.ToString(out.Table.LatestStreamArn)
	if s == "" {
		return "", fmt.Errorf("serve: table %s has no stream", table)
	}
	return s, nil
}

// Shards implements StreamReader.
func (a *apiStreams) Shards(ctx context.Context, streamARN string) ([]Shard, error) {
	var out []Shard
	var start *string
	for {
		d, err := a.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(streamARN), ExclusiveStartShardId: start})
		if err != nil {
			return nil, err
		}
		for _, sh := range d.StreamDescription.Shards {
			out = append(out, Shard{ID: aws.ToString(sh.ShardId), ParentID: aws.ToString(sh.ParentShardId)})
		}
		start = d.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return out, nil
		}
	}
}

// Iterator implements StreamReader.
func (a *apiStreams) Iterator(ctx context.Context, streamARN, shardID, position, afterSeq string) (string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(streamARN), ShardId: aws.String(shardID), ShardIteratorType: types.ShardIteratorType(position)}
	if afterSeq != "" {
		in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(afterSeq)
	}
	out, err := a.streams.GetShardIterator(ctx, in)
	if err != nil {
		return "", err
	}
	it := aws.ToString(out.ShardIterator)
	a.mu.Lock()
	a.arns[it] = streamARN
	a.mu.Unlock()
	return it, nil
}

// Records implements StreamReader.
func (a *apiStreams) Records(ctx context.Context, iterator string) ([]events.DynamoDBEventRecord, string, error) {
	a.mu.Lock()
	arn := a.arns[iterator]
	delete(a.arns, iterator)
	a.mu.Unlock()
	out, err := a.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(iterator), Limit: aws.Int32(1000)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "ExpiredIteratorException" || ae.ErrorCode() == "TrimmedDataAccessException") {
			return nil, "", fmt.Errorf("%w: %v", errExpiredIterator, err)
		}
		a.mu.Lock()
		a.arns[iterator] = arn
		a.mu.Unlock()
		return nil, iterator, err
	}
	recs := make([]events.DynamoDBEventRecord, len(out.Records))
	for i, r := range out.Records {
		recs[i] = localstack.EventRecord(r, arn, a.region)
	}
	next := aws.ToString(out.NextShardIterator)
	if next != "" {
		a.mu.Lock()
		a.arns[next] = arn
		a.mu.Unlock()
	}
	return recs, next, nil
}

// MemoryStreams is a StreamReader on the table streams of a core/memory
// store: one shard per table, holding every record since the table was
// first read (kept in memory for the life of the reader).
type MemoryStreams struct {
	store *memory.Store

	mu   sync.Mutex
	logs map[string]*memoryLog // by stream ARN
}

type memoryLog struct {
	mu   sync.Mutex
	recs []events.DynamoDBEventRecord
}

// NewMemoryStreams returns a StreamReader on store's streams.
func NewMemoryStreams(store *memory.Store) *MemoryStreams {
	return &MemoryStreams{store: store, logs: map[string]*memoryLog{}}
}

// StreamARN implements StreamReader; it starts recording the table's
// stream.
func (m *MemoryStreams) StreamARN(_ context.Context, arn string) (string, error) {
	i := strings.Index(arn, ":table/")
	if i < 0 {
		return "", fmt.Errorf("serve: %q is not a DynamoDB table or stream ARN", arn)
	}
	table, _, _ := strings.Cut(arn[i+len(":table/"):], "/")
	s := memory.StreamARN(table)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.logs[s] == nil {
		l := &memoryLog{}
		m.logs[s] = l
		m.store.Subscribe(table, func(r events.DynamoDBEventRecord) {
			l.mu.Lock()
			l.recs = append(l.recs, r)
			l.mu.Unlock()
		})
	}
	return s, nil
}

func (m *MemoryStreams) log(streamARN string) (*memoryLog, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.logs[streamARN]
	if l == nil {
		return nil, &core.NotFoundError{Kind: "stream", Name: streamARN}
	}
	return l, nil
}

// Shards implements StreamReader: one shard.
func (m *MemoryStreams) Shards(_ context.Context, streamARN string) ([]Shard, error) {
	if _, err := m.log(streamARN); err != nil {
		return nil, err
	}
	return []Shard{{ID: "shard-0"}}, nil
}

// Iterator implements StreamReader: an iterator is the stream ARN and a
// position in its record log.
func (m *MemoryStreams) Iterator(_ context.Context, streamARN, _, position, afterSeq string) (string, error) {
	l, err := m.log(streamARN)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	pos := 0
	switch {
	case afterSeq != "":
		pos = len(l.recs)
		for i, r := range l.recs {
			if r.Change.SequenceNumber == afterSeq {
				pos = i + 1
				break
			}
		}
	case position == "LATEST":
		pos = len(l.recs)
	}
	return streamARN + "|" + strconv.Itoa(pos), nil
}

// Records implements StreamReader.
func (m *MemoryStreams) Records(_ context.Context, iterator string) ([]events.DynamoDBEventRecord, string, error) {
	arn, p, ok := strings.Cut(iterator, "|")
	pos, err := strconv.Atoi(p)
	if !ok || err != nil {
		return nil, "", fmt.Errorf("%w: %q", errExpiredIterator, iterator)
	}
	l, err := m.log(arn)
	if err != nil {
		return nil, "", err
	}
	l.mu.Lock()
	end := min(len(l.recs), pos+1000)
	recs := append([]events.DynamoDBEventRecord(nil), l.recs[pos:end]...)
	l.mu.Unlock()
	return recs, arn + "|" + strconv.Itoa(end), nil
}

// md5Hex returns the hex MD5 of s.
func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// pollStream discovers the shards of the mapping's stream and reads each,
// a child shard once its parent has been read to its end.
func (r *mappingRun) pollStream(ctx context.Context) {
	sr := r.ms.opts.Streams
	var arn string
	for attempt := 1; ctx.Err() == nil; attempt++ {
		s, err := sr.StreamARN(ctx, r.m.EventSourceArn)
		if err == nil {
			arn = s
			break
		}
		r.ms.log.Warn("serve: resolving the stream of a mapping", "source", r.m.EventSourceArn, "err", err)
		r.backoff(ctx, 10)
	}
	var mu sync.Mutex
	done := map[string]bool{}
	started := map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	first := true
	for ctx.Err() == nil {
		shards, err := sr.Shards(ctx, arn)
		if err != nil && ctx.Err() == nil {
			r.ms.log.Warn("serve: listing the shards of a stream", "stream", arn, "err", err)
		}
		known := map[string]bool{}
		for _, sh := range shards {
			known[sh.ID] = true
		}
		for _, sh := range shards {
			mu.Lock()
			ready := !started[sh.ID] && (sh.ParentID == "" || done[sh.ParentID] || !known[sh.ParentID])
			if ready {
				started[sh.ID] = true
			}
			mu.Unlock()
			if !ready {
				continue
			}
			// LATEST applies to the shards open when the mapping starts;
			// shards that appear later are read from their start.
			pos := r.m.StartingPosition
			if !first {
				pos = "TRIM_HORIZON"
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.readShard(ctx, arn, sh.ID, pos)
				mu.Lock()
				done[sh.ID] = true
				mu.Unlock()
			}()
		}
		first = false
		t := time.NewTimer(max(10*r.ms.opts.PollInterval, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// readShard reads one shard to its end (or until ctx ends) and delivers
// its records in batches, in order.
func (r *mappingRun) readShard(ctx context.Context, arn, shardID, position string) {
	sr := r.ms.opts.Streams
	lastSeq := ""
	iter := ""
	window := time.Duration(r.m.MaximumBatchingWindowInSeconds) * time.Second
	var buf []events.DynamoDBEventRecord
	var bufSince time.Time
	for attempt := 0; ctx.Err() == nil; {
		if iter == "" {
			it, err := sr.Iterator(ctx, arn, shardID, position, lastSeq)
			if err != nil {
				if ctx.Err() == nil {
					r.ms.log.Warn("serve: shard iterator", "stream", arn, "shard", shardID, "err", err)
				}
				attempt++
				r.backoff(ctx, attempt)
				continue
			}
			iter = it
		}
		recs, next, err := sr.Records(ctx, iter)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errExpiredIterator) {
				iter = ""
				if lastSeq == "" {
					position = "TRIM_HORIZON"
				}
				continue
			}
			r.ms.log.Warn("serve: reading a shard", "stream", arn, "shard", shardID, "err", err)
			attempt++
			r.backoff(ctx, attempt)
			continue
		}
		attempt = 0
		for _, rec := range recs {
			lastSeq = rec.Change.SequenceNumber
			if len(r.f) > 0 && !r.f.match(asMap(rec)) {
				r.c.filtered.Add(1)
				continue
			}
			if len(buf) == 0 {
				bufSince = time.Now()
			}
			buf = append(buf, rec)
		}
		closed := next == ""
		for len(buf) >= r.m.BatchSize || (len(buf) > 0 && (closed || window <= 0 || time.Since(bufSince) >= window)) {
			n := min(len(buf), r.m.BatchSize)
			if !r.deliverRecords(ctx, arn, shardID, buf[:n]) {
				return
			}
			buf = buf[n:]
			bufSince = time.Now()
		}
		if closed {
			return
		}
		iter = next
		if len(recs) == 0 {
			t := time.NewTimer(r.ms.opts.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// deliverRecords invokes the function with one stream batch until it
// succeeds, retrying as Lambda does: from the first failed record when the
// function reports batch item failures, in halves with
// BisectBatchOnFunctionError, and up to MaximumRetryAttempts; a batch
// given up on is reported to the OnFailure destination. It returns false
// when ctx ended.
func (r *mappingRun) deliverRecords(ctx context.Context, arn, shardID string, batch []events.DynamoDBEventRecord) bool {
	type part struct {
		recs     []events.DynamoDBEventRecord
		attempts int
	}
	maxRetries := -1
	if r.m.MaximumRetryAttempts != nil {
		maxRetries = *r.m.MaximumRetryAttempts
	}
	queue := []part{{recs: batch}}
	for len(queue) > 0 {
		p := queue[0]
		out, err := r.invoke(ctx, events.DynamoDBEvent{Records: p.recs}, len(p.recs))
		if ctx.Err() != nil {
			return false
		}
		from := -1
		switch {
		case err != nil:
			from = 0
		case r.m.reportsItems():
			ids, ok := batchItemFailures(out)
			if !ok {
				from = 0
				break
			}
			for _, id := range ids {
				idx := -1
				for i, rec := range p.recs {
					if rec.Change.SequenceNumber == id {
						idx = i
						break
					}
				}
				if idx < 0 {
					from = 0 // an identifier not in the batch fails it whole
					break
				}
				if from < 0 || idx < from {
					from = idx
				}
			}
			if from >= 0 {
				r.c.failures.Add(1)
			}
		}
		if from < 0 {
			queue = queue[1:]
			continue
		}
		rest := p.recs[from:]
		p.attempts++
		if maxRetries >= 0 && p.attempts > maxRetries {
			r.discard(ctx, arn, shardID, rest, p.attempts)
			queue = queue[1:]
			continue
		}
		r.c.retries.Add(1)
		if err != nil && r.m.BisectBatchOnFunctionError && len(rest) > 1 {
			half := len(rest) / 2
			queue = append([]part{{rest[:half], p.attempts}, {rest[half:], p.attempts}}, queue[1:]...)
		} else {
			queue[0] = part{rest, p.attempts}
		}
		if !r.backoff(ctx, p.attempts) {
			return false
		}
	}
	return true
}

// discard gives up on records: they are counted and, with an OnFailure
// destination, described there as Lambda describes them.
func (r *mappingRun) discard(ctx context.Context, arn, shardID string, recs []events.DynamoDBEventRecord, attempts int) {
	r.c.discarded.Add(int64(len(recs)))
	r.ms.log.Error("serve: a stream batch was given up on after its retries", "stream", arn, "records", len(recs))
	dc := r.m.DestinationConfig
	if dc == nil || dc.OnFailure == nil || len(recs) == 0 {
		return
	}
	first, last := recs[0], recs[len(recs)-1]
	doc := map[string]any{
		"requestContext": map[string]any{
			"requestId": newUUID(), "functionArn": r.m.FunctionName,
			"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts,
		},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"version":         "1.0",
		"timestamp":       time.Now().UTC().Format(time.RFC3339Nano),
		"DDBStreamBatchInfo": map[string]any{
			"shardId":                         shardID,
			"startSequenceNumber":             first.Change.SequenceNumber,
			"endSequenceNumber":               last.Change.SequenceNumber,
			"approximateArrivalOfFirstRecord": first.Change.ApproximateCreationDateTime.UTC().Format(time.RFC3339),
			"approximateArrivalOfLastRecord":  last.Change.ApproximateCreationDateTime.UTC().Format(time.RFC3339),
			"batchSize":                       len(recs),
			"streamArn":                       arn,
		},
	}
	body, _ := json.Marshal(doc)
	queue := integrations.QueueName(dc.OnFailure.Destination)
	if _, err := r.ms.opts.Queues.Send(context.WithoutCancel(ctx), queue, core.OutgoingMessage{Body: string(body)}); err != nil {
		r.ms.log.Error("serve: sending a failed batch to its OnFailure destination", "queue", queue, "err", err)
	}
}
