package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// SQS and SNS delivery to the service's Lambda, as AWS does it: an SQS
// event source mapping polls a queue and invokes the function with
// events.SQSEvent batches, deleting the messages that succeeded (partial
// batch failures: the messages named in batchItemFailures, or all of them
// when the invocation failed, become visible again after the visibility
// timeout and move to the dead-letter queue after maxReceiveCount
// receives); an SNS subscription invokes the function asynchronously with
// one events.SNSEvent per message, retrying a failed invocation twice.

// QueueSource is an SQS event source mapping of the runtime: the queue's
// messages are delivered to the service's Lambda (its OnSQS routes).
type QueueSource struct {
	// Queue is the queue's name. It is created (or its configuration
	// replaced) with Config.
	Queue string
	// Config is the queue's configuration. Its dead-letter queue is
	// created when missing (and is not polled). A zero visibility timeout
	// means memory.DefaultVisibilityTimeout; it runs on the runtime's
	// clock, so with the virtual clock a failed message becomes visible
	// again only when the clock passes it (see Runtime.AdvanceClock).
	Config memory.QueueConfig
	// BatchSize is the most messages of one invocation, 1 to 10 (default
	// 10).
	BatchSize int
}

// SQSMessageSender is the SenderId of the messages the runtime delivers.
const SQSMessageSender = "AIDALOCALSTEPCQRS"

// QueueARN returns the ARN of the runtime's queue name.
func QueueARN(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", memory.Region, memory.Account, name)
}

// TopicARN returns the ARN of the runtime's topic name.
func TopicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", memory.Region, memory.Account, name)
}

// snsAsyncAttempts is how often an asynchronous invocation for an SNS
// message is tried: once and two retries, as Lambda does.
const snsAsyncAttempts = 3

// poller is the event source mapping of one queue.
type poller struct {
	rt  *Runtime
	src QueueSource

	mu         sync.Mutex
	delivering bool
}

// AddQueueSource creates src's queue and starts delivering its messages
// to the service's Lambda.
func (rt *Runtime) AddQueueSource(src QueueSource) error {
	if rt.closed.Load() {
		return errors.New("local: runtime closed")
	}
	if src.BatchSize == 0 {
		src.BatchSize = 10
	}
	if src.BatchSize < 1 || src.BatchSize > 10 {
		return &core.ValidationError{Problems: []string{fmt.Sprintf("local: queue %s: BatchSize %d is not in 1..10", src.Queue, src.BatchSize)}}
	}
	if dlq := src.Config.DeadLetterQueue; dlq != "" {
		if _, _, err := rt.Queues.QueueDepth(dlq); errors.Is(err, core.ErrNotFound) {
			if err := rt.Queues.CreateQueue(dlq, memory.QueueConfig{}); err != nil {
				return fmt.Errorf("local: dead-letter queue %s: %w", dlq, err)
			}
		}
	}
	if err := rt.Queues.CreateQueue(src.Queue, src.Config); err != nil {
		return fmt.Errorf("local: queue %s: %w", src.Queue, err)
	}
	p := &poller{rt: rt, src: src}
	rt.msgMu.Lock()
	defer rt.msgMu.Unlock()
	if rt.closed.Load() {
		return errors.New("local: runtime closed")
	}
	rt.pollers = append(rt.pollers, p)
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		p.run(rt.runCtx)
	}()
	return nil
}

// SubscribeTopic creates topic when missing and subscribes the service's
// Lambda to it (its OnSNS routes): every message published from then on
// is delivered asynchronously as an events.SNSEvent.
func (rt *Runtime) SubscribeTopic(topic string) error {
	if rt.closed.Load() {
		return errors.New("local: runtime closed")
	}
	if err := rt.Topics.CreateTopic(topic); err != nil {
		return fmt.Errorf("local: topic %s: %w", topic, err)
	}
	unsub, err := rt.Topics.Subscribe(topic, rt.onTopicMessage)
	if err != nil {
		return fmt.Errorf("local: topic %s: %w", topic, err)
	}
	rt.msgMu.Lock()
	rt.topicUnsubs = append(rt.topicUnsubs, unsub)
	rt.msgMu.Unlock()
	return nil
}

// busy reports whether the poller is delivering a batch or its queue has
// visible messages. Invisible messages (in flight, or failed and waiting
// for their visibility timeout) do not count.
func (p *poller) busy() bool {
	p.mu.Lock()
	d := p.delivering
	p.mu.Unlock()
	if d {
		return true
	}
	visible, _, err := p.rt.Queues.QueueDepth(p.src.Queue)
	return err == nil && visible > 0
}

func (p *poller) setDelivering(d bool) {
	p.mu.Lock()
	p.delivering = d
	p.mu.Unlock()
}

func (p *poller) run(ctx context.Context) {
	rt := p.rt
	for ctx.Err() == nil {
		// Mark delivering before receiving, so Idle never sees a
		// received batch as neither queued nor in delivery.
		p.setDelivering(true)
		msgs, err := rt.Queues.Receive(ctx, p.src.Queue, p.src.BatchSize, 0)
		if err != nil || len(msgs) == 0 {
			p.setDelivering(false)
			if err != nil && ctx.Err() == nil {
				rt.log.Error("local: receive failed", slog.String("queue", p.src.Queue), slog.Any("error", err))
			}
			// Long polling: wait for a visible message.
			p.waitForMessages(ctx)
			continue
		}
		release := rt.holdClock() // the clock waits for the batch's handler
		p.deliver(ctx, msgs)
		release()
		p.setDelivering(false)
	}
}

// waitForMessages blocks until the queue has a visible message, or briefly
// (messages may become visible as the clock moves), or ctx ends.
func (p *poller) waitForMessages(ctx context.Context) {
	delay := 200 * time.Microsecond
	for ctx.Err() == nil {
		visible, _, err := p.rt.Queues.QueueDepth(p.src.Queue)
		if err != nil || visible > 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if delay < 10*time.Millisecond {
			delay *= 2
		}
	}
}

// deliver invokes the Lambda with one batch and deletes the messages that
// succeeded.
func (p *poller) deliver(ctx context.Context, msgs []core.Message) {
	rt := p.rt
	arn := QueueARN(p.src.Queue)
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	now := strconv.FormatInt(rt.Clock.Now().UnixMilli(), 10)
	for i, m := range msgs {
		sum := md5.Sum([]byte(m.Body))
		rec := events.SQSMessage{
			MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Md5OfBody: hex.EncodeToString(sum[:]),
			Attributes: map[string]string{
				"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
				"SentTimestamp":                    now,
				"SenderId":                         SQSMessageSender,
				"ApproximateFirstReceiveTimestamp": now,
			},
			MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSourceARN:    arn, EventSource: "aws:sqs", AWSRegion: memory.Region,
		}
		for k, v := range m.Attributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
		}
		ev.Records[i] = rec
	}
	rt.c.queueInv.Add(1)
	rt.c.queueMessages.Add(int64(len(msgs)))
	failed, err := p.invoke(ctx, ev)
	if err != nil {
		rt.c.queueFailures.Add(int64(len(msgs)))
		rt.log.Warn("local: SQS batch failed; its messages return to the queue", slog.String("queue", p.src.Queue),
			slog.Int("messages", len(msgs)), slog.Any("error", err))
		return
	}
	for _, m := range msgs {
		if failed[m.ID] {
			rt.c.queueFailures.Add(1)
			continue
		}
		if err := rt.Queues.Delete(context.WithoutCancel(ctx), p.src.Queue, m.ReceiptHandle); err != nil {
			rt.log.Error("local: delete message", slog.String("queue", p.src.Queue), slog.Any("error", err))
		}
	}
}

// invoke runs one SQS invocation and returns the ids of the messages
// reported in batchItemFailures, or an error when the invocation failed
// as a whole (an identifier naming no message of the batch fails it too,
// as Lambda does).
func (p *poller) invoke(ctx context.Context, ev events.SQSEvent) (map[string]bool, error) {
	rt := p.rt
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	out, err := rt.callWithFaults(ctx, payload)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("local: SQS response: %w", err)
	}
	ids := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		ids[r.MessageId] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !ids[f.ItemIdentifier] {
			return nil, fmt.Errorf("local: batchItemFailures names %q, no message of the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// callWithFaults invokes the handler with Faults.LambdaFailureRate applied
// (half of the failures before the function runs, half after).
func (rt *Runtime) callWithFaults(ctx context.Context, payload []byte) (any, error) {
	fault := rt.chance(rt.opts.Faults.LambdaFailureRate)
	if fault {
		rt.c.injected.Add(1)
		if rt.chance(0.5) {
			return nil, errors.New("local: injected Lambda service error before the function ran")
		}
	}
	out, err := rt.callHandler(ctx, payload, nil)
	if fault {
		return nil, errors.New("local: injected failure after the function ran")
	}
	return out, err
}

// onTopicMessage is the Lambda subscription of a topic: it hands the
// message to an asynchronous invocation and returns at once, as SNS does.
func (rt *Runtime) onTopicMessage(_ context.Context, m memory.Published) {
	// Under msgMu: Close takes it after marking the runtime closed and
	// before waiting for the invocations, so none starts after that wait.
	rt.msgMu.Lock()
	defer rt.msgMu.Unlock()
	if rt.closed.Load() {
		return
	}
	rt.c.topicInflight.Add(1)
	rt.asyncWG.Add(1)
	release := rt.holdClock() // taken by the publisher: the clock waits for the delivery
	go func() {
		defer rt.asyncWG.Done()
		defer release()
		defer rt.c.topicInflight.Add(-1)
		rt.deliverNotification(rt.runCtx, m)
	}()
}

// deliverNotification invokes the Lambda with one SNS message, retrying a
// failed invocation twice; after that the message is given up on
// (Stats.TopicFailures).
func (rt *Runtime) deliverNotification(ctx context.Context, m memory.Published) {
	topicARN := TopicARN(m.Topic)
	attrs := make(map[string]any, len(m.Attributes))
	for k, v := range m.Attributes {
		attrs[k] = map[string]any{"Type": "String", "Value": v}
	}
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{
		EventVersion: "1.0", EventSource: "aws:sns",
		EventSubscriptionArn: topicARN + ":" + DefaultFunctionName + "-subscription",
		SNS: events.SNSEntity{
			Type: "Notification", MessageID: m.ID, TopicArn: topicARN, Message: m.Message,
			MessageAttributes: attrs, Timestamp: m.At.UTC(), SignatureVersion: "1", Signature: "local",
			SigningCertURL: "https://sns." + memory.Region + ".amazonaws.com/local.pem",
			UnsubscribeURL: "https://sns." + memory.Region + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicARN,
		},
	}}}
	payload, err := json.Marshal(ev)
	if err != nil {
		rt.log.Error("local: SNS event", slog.Any("error", err))
		return
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return
		}
		rt.c.topicInv.Add(1)
		_, err := rt.callWithFaults(ctx, payload)
		if err == nil {
			return
		}
		if attempt >= snsAsyncAttempts {
			rt.c.topicFailures.Add(1)
			rt.log.Error("local: SNS message given up on after the asynchronous invocation retries",
				slog.String("topic", m.Topic), slog.String("messageId", m.ID), slog.Any("error", err))
			return
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Microsecond)
	}
}
