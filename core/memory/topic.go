package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// Published is a message published to a topic.
type Published struct {
	ID, Topic, Message string
	Attributes         map[string]string
	At                 time.Time
}

// TopicSubscriber receives the messages of a topic. It runs on the
// publisher's goroutine, outside the Topics' locks, and must not modify
// the message.
type TopicSubscriber func(ctx context.Context, msg Published)

// Topics is an in-memory core.Topic. Every published message is recorded
// (see Published) and delivered synchronously, in subscription order, to
// the topic's subscribers: functions, and queues that receive the raw
// message with its attributes.
type Topics struct {
	mu     sync.Mutex
	topics map[string]*topic
	seq    uint64
	now    func() time.Time
	keep   int // messages recorded per topic; 0: all
}

type topic struct {
	subs      []*topicSub
	published []Published
}

type topicSub struct{ fn TopicSubscriber }

var _ core.Topic = (*Topics)(nil)

// TopicsOption configures Topics.
type TopicsOption func(*Topics)

// KeepPublished makes Topics record only the last n messages of each topic
// (see Published), so that a long run stays bounded; n <= 0 records every
// message, the default.
func KeepPublished(n int) TopicsOption { return func(ts *Topics) { ts.keep = max(n, 0) } }

// NewTopics returns a notification service without topics.
func NewTopics(opts ...TopicsOption) *Topics {
	ts := &Topics{topics: map[string]*topic{}, now: time.Now}
	for _, o := range opts {
		o(ts)
	}
	return ts
}

// CreateTopic creates a topic; creating an existing one succeeds.
func (ts *Topics) CreateTopic(name string) error {
	if err := validateName("topic", name); err != nil {
		return err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.topics[name] == nil {
		ts.topics[name] = &topic{}
	}
	return nil
}

// Subscribe registers fn for the messages of topic and returns a function
// that unregisters it.
func (ts *Topics) Subscribe(name string, fn TopicSubscriber) (unsubscribe func(), err error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tp := ts.topics[name]
	if tp == nil {
		return nil, &core.NotFoundError{Kind: "topic", Name: name}
	}
	sub := &topicSub{fn: fn}
	tp.subs = append(tp.subs, sub)
	return func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		tp.subs = slices.DeleteFunc(slices.Clone(tp.subs), func(x *topicSub) bool { return x == sub })
	}, nil
}

// SubscribeQueue delivers the messages of topic to queue of qs (raw message
// delivery: the body is the message, the attributes are kept). A failed
// delivery (for example a deleted queue) is dropped, as SNS drops it
// without a redrive policy.
func (ts *Topics) SubscribeQueue(name string, qs *Queues, queue string) (unsubscribe func(), err error) {
	return ts.Subscribe(name, func(ctx context.Context, m Published) {
		_, _ = qs.Send(context.WithoutCancel(ctx), queue, core.OutgoingMessage{Body: m.Message, Attributes: m.Attributes})
	})
}

// Publish implements core.Topic.
func (ts *Topics) Publish(ctx context.Context, name, message string, attributes map[string]string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if message == "" || len(message) > MaxMessageBytes {
		return "", validation(fmt.Sprintf("message must have 1 to %d bytes", MaxMessageBytes))
	}
	ts.mu.Lock()
	tp := ts.topics[name]
	if tp == nil {
		ts.mu.Unlock()
		return "", &core.NotFoundError{Kind: "topic", Name: name}
	}
	ts.seq++
	m := Published{
		ID: fmt.Sprintf("%08x-%s", ts.seq, randomHex(8)), Topic: name, Message: message,
		Attributes: maps.Clone(attributes), At: ts.now(),
	}
	tp.published = append(tp.published, m)
	if ts.keep > 0 && len(tp.published) > 2*ts.keep {
		// Drop the oldest in one go, amortized: at most 2×keep are held.
		tp.published = slices.Clone(tp.published[len(tp.published)-ts.keep:])
	}
	subs := tp.subs
	ts.mu.Unlock()
	for _, s := range subs {
		s.fn(ctx, m)
	}
	return m.ID, nil
}

// Published returns the messages published to topic so far, oldest first
// (with KeepPublished, the last n of them).
func (ts *Topics) Published(name string) []Published {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tp := ts.topics[name]
	if tp == nil {
		return nil
	}
	msgs := tp.published
	if ts.keep > 0 && len(msgs) > ts.keep {
		msgs = msgs[len(msgs)-ts.keep:]
	}
	out := slices.Clone(msgs)
	for i := range out {
		out[i].Attributes = maps.Clone(out[i].Attributes)
	}
	return out
}
