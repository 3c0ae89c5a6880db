package memory

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// MaxMessageBytes is the largest message body SQS accepts (256 KB).
const MaxMessageBytes = 256 * 1024

// DefaultVisibilityTimeout is the visibility timeout of a queue created
// without one, as SQS's default.
const DefaultVisibilityTimeout = 30 * time.Second

// QueueConfig configures a queue made by Queues.CreateQueue.
type QueueConfig struct {
	// VisibilityTimeout hides a received message for this long unless it is
	// deleted (0: DefaultVisibilityTimeout).
	VisibilityTimeout time.Duration
	// DeadLetterQueue and MaxReceiveCount form the redrive policy: a message
	// received MaxReceiveCount times and not deleted moves to the dead-letter
	// queue instead of being received again. Both or neither are set; the
	// dead-letter queue must exist.
	DeadLetterQueue string
	MaxReceiveCount int
}

// Queues is an in-memory core.Queue with SQS semantics for standard
// queues: visibility timeouts, receive counts, delays, long polling, and
// redrive to a dead-letter queue. Messages are received oldest first.
type Queues struct {
	now    func() time.Time
	mu     sync.Mutex
	queues map[string]*queue
	seq    uint64
}

type queue struct {
	name   string
	cfg    QueueConfig
	msgs   []*message // in send order
	byID   map[string]*message
	notify chan struct{} // closed and replaced when a message is added
}

type message struct {
	id, body     string
	attrs        map[string]string
	visibleAt    time.Time
	receiveCount int
	receipt      string
}

var _ core.Queue = (*Queues)(nil)

// QueuesOption configures a Queues.
type QueuesOption func(*Queues)

// WithQueuesClock sets the clock that visibility timeouts and delays are
// measured on (default time.Now). Long polls still wait in real time, so
// with a virtual clock receive with wait 0 after advancing it.
func WithQueuesClock(now func() time.Time) QueuesOption {
	return func(qs *Queues) { qs.now = now }
}

// NewQueues returns a queue service without queues.
func NewQueues(opts ...QueuesOption) *Queues {
	qs := &Queues{queues: map[string]*queue{}, now: time.Now}
	for _, o := range opts {
		o(qs)
	}
	return qs
}

// CreateQueue creates a queue; creating an existing one replaces its
// configuration and keeps its messages.
func (qs *Queues) CreateQueue(name string, cfg QueueConfig) error {
	if err := validateName("queue", name); err != nil {
		return err
	}
	if cfg.VisibilityTimeout < 0 || cfg.MaxReceiveCount < 0 {
		return validation("negative visibility timeout or receive count")
	}
	if cfg.VisibilityTimeout == 0 {
		cfg.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if (cfg.DeadLetterQueue == "") != (cfg.MaxReceiveCount == 0) {
		return validation("DeadLetterQueue and MaxReceiveCount go together")
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	if cfg.DeadLetterQueue != "" && qs.queues[cfg.DeadLetterQueue] == nil {
		return &core.NotFoundError{Kind: "queue", Name: cfg.DeadLetterQueue}
	}
	if q := qs.queues[name]; q != nil {
		q.cfg = cfg
		return nil
	}
	qs.queues[name] = &queue{name: name, cfg: cfg, byID: map[string]*message{}, notify: make(chan struct{})}
	return nil
}

func (qs *Queues) queueLocked(name string) (*queue, error) {
	q := qs.queues[name]
	if q == nil {
		return nil, &core.NotFoundError{Kind: "queue", Name: name}
	}
	return q, nil
}

// addLocked appends m to q and wakes its pollers.
func (q *queue) addLocked(m *message) {
	q.msgs = append(q.msgs, m)
	q.byID[m.id] = m
	close(q.notify)
	q.notify = make(chan struct{})
}

func (q *queue) removeLocked(m *message) {
	delete(q.byID, m.id)
	for i, x := range q.msgs {
		if x == m {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			return
		}
	}
}

// Send implements core.Queue.
func (qs *Queues) Send(ctx context.Context, name string, msgs ...core.OutgoingMessage) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(msgs) == 0 || len(msgs) > 10 {
		return nil, validation(fmt.Sprintf("send takes 1 to 10 messages, got %d", len(msgs)))
	}
	for i, m := range msgs {
		if m.Body == "" || len(m.Body) > MaxMessageBytes {
			return nil, validation(fmt.Sprintf("message %d: body must have 1 to %d bytes", i, MaxMessageBytes))
		}
		if m.Delay < 0 || m.Delay > 15*time.Minute {
			return nil, validation(fmt.Sprintf("message %d: delay must be 0 to 15 minutes", i))
		}
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.queueLocked(name)
	if err != nil {
		return nil, err
	}
	now := qs.now()
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		qs.seq++
		id := fmt.Sprintf("%08x-%s", qs.seq, randomHex(8))
		ids[i] = id
		q.addLocked(&message{id: id, body: m.Body, attrs: maps.Clone(m.Attributes), visibleAt: now.Add(m.Delay)})
	}
	return ids, nil
}

// Receive implements core.Queue.
func (qs *Queues) Receive(ctx context.Context, name string, max int, wait time.Duration) ([]core.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if max < 1 || max > 10 {
		return nil, validation(fmt.Sprintf("receive takes 1 to 10 messages, got %d", max))
	}
	deadline := time.Now().Add(wait)
	for {
		qs.mu.Lock()
		q, err := qs.queueLocked(name)
		if err != nil {
			qs.mu.Unlock()
			return nil, err
		}
		now := qs.now()
		out, next := qs.takeLocked(q, max, now)
		notify := q.notify
		qs.mu.Unlock()
		realNow := time.Now()
		if len(out) > 0 || !realNow.Before(deadline) {
			return out, nil
		}
		sleep := deadline.Sub(realNow)
		if !next.IsZero() && next.Sub(now) < sleep {
			sleep = next.Sub(now)
		}
		timer := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-notify:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// takeLocked receives up to max visible messages of q, redriving those past
// their receive count. It also returns when the next hidden message becomes
// visible (zero: none hidden).
func (qs *Queues) takeLocked(q *queue, max int, now time.Time) ([]core.Message, time.Time) {
	var out []core.Message
	var next time.Time
	for i := 0; i < len(q.msgs) && len(out) < max; i++ {
		m := q.msgs[i]
		if m.visibleAt.After(now) {
			if next.IsZero() || m.visibleAt.Before(next) {
				next = m.visibleAt
			}
			continue
		}
		if q.cfg.MaxReceiveCount > 0 && m.receiveCount >= q.cfg.MaxReceiveCount {
			if dlq := qs.queues[q.cfg.DeadLetterQueue]; dlq != nil {
				q.removeLocked(m)
				i--
				m.visibleAt, m.receipt = now, ""
				dlq.addLocked(m)
				continue
			}
		}
		m.receiveCount++
		m.visibleAt = now.Add(q.cfg.VisibilityTimeout)
		m.receipt = q.name + "/" + m.id + "/" + strconv.Itoa(m.receiveCount)
		out = append(out, core.Message{
			ID: m.id, Body: m.body, Attributes: maps.Clone(m.attrs),
			ReceiptHandle: m.receipt, ReceiveCount: m.receiveCount,
		})
	}
	return out, next
}

// Delete implements core.Queue. Deleting with the receipt handle of a
// message that is gone succeeds, as in SQS. As in SQS, a handle superseded
// by a later receive of the message succeeds without deleting it. A handle
// this queue never issued is ErrValidation.
func (qs *Queues) Delete(ctx context.Context, name, receiptHandle string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.queueLocked(name)
	if err != nil {
		return err
	}
	id, ok := receiptID(name, receiptHandle)
	if !ok {
		return validation("invalid receipt handle " + strconv.Quote(receiptHandle))
	}
	m := q.byID[id]
	if m == nil {
		return nil
	}
	if m.receipt == receiptHandle {
		q.removeLocked(m)
	}
	return nil
}

func receiptID(queue, handle string) (string, bool) {
	prefix := queue + "/"
	if len(handle) <= len(prefix) || handle[:len(prefix)] != prefix {
		return "", false
	}
	rest := handle[len(prefix):]
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == '/' {
			return rest[:i], i > 0
		}
	}
	return "", false
}

// QueueDepth counts a queue's messages: visible now, and hidden (received
// and not yet deleted, or delayed).
func (qs *Queues) QueueDepth(name string) (visible, hidden int, err error) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	q, err := qs.queueLocked(name)
	if err != nil {
		return 0, 0, err
	}
	now := qs.now()
	for _, m := range q.msgs {
		if m.visibleAt.After(now) {
			hidden++
		} else {
			visible++
		}
	}
	return visible, hidden, nil
}
