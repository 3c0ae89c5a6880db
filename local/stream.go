package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// MaxStreamRetries is how often a failing stream batch is redelivered
// before its records are given up on (counted in Stats.StreamDropped).
const MaxStreamRetries = 50

// shard delivers the stream records of one table to the service's Lambda,
// in batches, one batch at a time, as an event source mapping does for a
// shard: a failing record (batchItemFailures) or a failing invocation makes
// the batch redeliver from that record on.
type shard struct {
	rt     *Runtime
	table  string
	filter func(events.DynamoDBEventRecord) bool

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []events.DynamoDBEventRecord
	held       []events.DynamoDBEventRecord // reordered: delivered after later records
	delivering bool
	paused     bool
	// vc is the runtime's virtual clock (nil on the real clock), held
	// (release non-nil) while records are pending and the shard is not
	// paused: the clock moves only when what the records start has
	// started.
	vc      *interp.VirtualClock
	release func()
}

func newShard(rt *Runtime, table string, filter func(events.DynamoDBEventRecord) bool) *shard {
	sh := &shard{rt: rt, table: table, filter: filter}
	sh.vc, _ = rt.Clock.(*interp.VirtualClock)
	sh.cond = sync.NewCond(&sh.mu)
	return sh
}

// holdClock holds the runtime's virtual clock (see
// interp.VirtualClock.Hold) until release is called; on the real clock it
// does nothing. The runtime holds it while work it has taken on is not
// done: stream records, a received queue batch, an SNS delivery.
func (rt *Runtime) holdClock() (release func()) {
	if vc, ok := rt.Clock.(*interp.VirtualClock); ok {
		return vc.Hold()
	}
	return func() {}
}

// holdLocked holds the clock if records are pending; sh.mu is held.
func (sh *shard) holdLocked() {
	if sh.vc != nil && sh.release == nil && !sh.paused && (sh.delivering || len(sh.queue) > 0 || len(sh.held) > 0) {
		sh.release = sh.vc.Hold()
	}
}

// unholdLocked returns the clock's hold to release, outside sh.mu, when
// nothing is pending or the shard is paused; sh.mu is held.
func (sh *shard) unholdLocked(force bool) func() {
	r := sh.release
	if r == nil || !force && !sh.paused && (sh.delivering || len(sh.queue) > 0 || len(sh.held) > 0) {
		return func() {}
	}
	sh.release = nil
	return r
}

// add queues a record; it runs on the writer's goroutine.
func (sh *shard) add(rec events.DynamoDBEventRecord) {
	if sh.filter != nil && !sh.filter(rec) {
		return
	}
	sh.mu.Lock()
	sh.queue = append(sh.queue, rec)
	sh.holdLocked()
	sh.mu.Unlock()
	sh.cond.Signal()
}

func (sh *shard) pause(p bool) {
	sh.mu.Lock()
	sh.paused = p
	sh.holdLocked()
	release := sh.unholdLocked(false)
	sh.cond.Broadcast()
	sh.mu.Unlock()
	release()
}

func (sh *shard) wake() {
	sh.mu.Lock()
	sh.cond.Broadcast()
	sh.mu.Unlock()
}

// busy reports whether records are pending or being delivered.
func (sh *shard) busy() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.delivering || len(sh.queue) > 0 || len(sh.held) > 0
}

func (sh *shard) run(ctx context.Context) {
	rt := sh.rt
	f := rt.opts.Faults
	defer func() {
		sh.mu.Lock()
		release := sh.unholdLocked(true)
		sh.mu.Unlock()
		release()
	}()
	for {
		sh.mu.Lock()
		for (sh.paused || len(sh.queue) == 0 && len(sh.held) == 0) && ctx.Err() == nil {
			sh.cond.Wait()
		}
		if ctx.Err() != nil {
			sh.mu.Unlock()
			return
		}
		n := min(rt.opts.StreamBatchSize, len(sh.queue))
		batch := append([]events.DynamoDBEventRecord(nil), sh.queue[:n]...)
		sh.queue = sh.queue[n:]
		prevHeld := sh.held
		sh.held = nil
		out := make([]events.DynamoDBEventRecord, 0, len(batch)+len(prevHeld))
		for _, r := range batch {
			if rt.chance(f.DropRate) || f.Drop != nil && f.Drop(sh.table, r) {
				rt.c.streamDropped.Add(1)
				rt.log.Warn("local: stream record dropped by fault injection", slog.String("table", sh.table),
					slog.String("sequenceNumber", r.Change.SequenceNumber))
				continue
			}
			if rt.chance(f.ReorderRate) {
				sh.held = append(sh.held, r)
				rt.c.streamReordered.Add(1)
				continue
			}
			out = append(out, r)
			if rt.chance(f.DuplicateRate) {
				sh.queue = append(sh.queue, r)
				rt.c.streamDup.Add(1)
			}
		}
		out = append(out, prevHeld...)
		// Never leave the batch limit behind: what does not fit waits.
		if len(out) > rt.opts.StreamBatchSize {
			sh.held = append(out[rt.opts.StreamBatchSize:], sh.held...)
			out = out[:rt.opts.StreamBatchSize]
		}
		sh.delivering = true
		sh.mu.Unlock()
		if len(out) > 0 {
			sh.deliver(ctx, out)
		}
		sh.mu.Lock()
		sh.delivering = false
		release := sh.unholdLocked(false)
		sh.mu.Unlock()
		release()
	}
}

// deliver invokes the Lambda with recs, redelivering from the first failed
// record until everything succeeded or MaxStreamRetries is reached.
func (sh *shard) deliver(ctx context.Context, recs []events.DynamoDBEventRecord) {
	rt := sh.rt
	for attempt := 0; len(recs) > 0; attempt++ {
		if ctx.Err() != nil {
			return
		}
		from, err := sh.invoke(ctx, recs)
		if err == nil && from < 0 {
			return
		}
		if attempt >= MaxStreamRetries {
			rt.c.streamDropped.Add(int64(len(recs)))
			rt.log.ErrorContext(ctx, "local: stream records given up on", slog.String("table", sh.table),
				slog.Int("records", len(recs)), slog.Any("error", err))
			return
		}
		rt.c.streamRetries.Add(1)
		if from > 0 {
			recs = recs[from:]
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Microsecond)
	}
}

// invoke runs one stream invocation. It returns the index of the first
// record reported in batchItemFailures (-1: none), or an error when the
// invocation failed as a whole.
func (sh *shard) invoke(ctx context.Context, recs []events.DynamoDBEventRecord) (int, error) {
	rt := sh.rt
	rt.c.streamInv.Add(1)
	rt.c.streamRecords.Add(int64(len(recs)))
	payload, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		return -1, err
	}
	fault := rt.chance(rt.opts.Faults.LambdaFailureRate)
	if fault {
		rt.c.injected.Add(1)
		if rt.chance(0.5) {
			return -1, fmt.Errorf("local: injected Lambda service error before the stream batch ran")
		}
	}
	var budget *atomic.Int64
	if len(recs) > 0 {
		budget = rt.transientBudget(sh.table + "\x00" + recs[0].Change.SequenceNumber)
	}
	out, err := rt.callHandler(ctx, payload, budget)
	if fault {
		return -1, fmt.Errorf("local: injected failure after the stream batch ran")
	}
	if err != nil {
		return -1, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return -1, err
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return -1, fmt.Errorf("local: stream response: %w", err)
	}
	if len(resp.BatchItemFailures) == 0 {
		return -1, nil
	}
	first := len(recs)
	for _, f := range resp.BatchItemFailures {
		for i, r := range recs {
			if r.Change.SequenceNumber == f.ItemIdentifier && i < first {
				first = i
			}
		}
	}
	if first == len(recs) {
		// An identifier that names no record: Lambda retries the batch.
		return 0, nil
	}
	return first, nil
}
