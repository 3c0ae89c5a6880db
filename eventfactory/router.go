package eventfactory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// UnroutedPolicy says what happens to an event no handler is registered
// for.
type UnroutedPolicy int

const (
	// UnroutedFail (the default) treats an unrouted event as failed: an
	// unrouted SQS message or stream record is reported in
	// batchItemFailures, an unknown or unrouted payload fails the
	// invocation. Nothing is dropped silently, but an event source that
	// sends what nobody handles (e.g. MODIFY records of a table whose INSERTs
	// alone are handled) retries until it gives up: filter such events in
	// the event source mapping, or choose UnroutedSkip.
	UnroutedFail UnroutedPolicy = iota
	// UnroutedSkip logs an unrouted event at warning level and treats it as
	// handled. Step Functions tasks are never skipped: a task needs a result,
	// so an unrouted task always fails with *UnroutedError.
	UnroutedSkip
)

// String returns "fail" or "skip".
func (p UnroutedPolicy) String() string {
	switch p {
	case UnroutedFail:
		return "fail"
	case UnroutedSkip:
		return "skip"
	}
	return fmt.Sprintf("UnroutedPolicy(%d)", int(p))
}

// Config configures a Router. The zero value is ready to use.
type Config struct {
	// Unrouted is the policy for events without a handler. Default
	// UnroutedFail.
	Unrouted UnroutedPolicy
	// Logger receives one record per failed or skipped event, with the
	// Lambda request id and, for Step Functions, the execution id. Default
	// slog.Default().
	Logger *slog.Logger
	// Invoke builds the core.Invoke of HTTP requests (OnHTTP): which claim
	// holds the tenant, and whether a header may choose it. The zero value
	// reads the "custom:tenant" claim and ignores the header. Module uses
	// the core.Config of the application's graph when this is zero.
	Invoke core.InvokeResolver
	// LazyStreamImages leaves the images out of DynamoDBRecord.Record: its
	// Change.Keys, Change.NewImage and Change.OldImage are nil, and
	// DynamoDBRecord.LambdaRecord builds the whole record when a handler
	// needs it. Keys, NewImage and OldImage of DynamoDBRecord itself are
	// unaffected. It saves converting every image to aws-lambda-go's
	// attribute values, about a third of the allocations of a stream
	// batch; the default keeps Record whole.
	LazyStreamImages bool
}

// Validate reports every problem of the configuration, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Unrouted != UnroutedFail && c.Unrouted != UnroutedSkip {
		errs = append(errs, fmt.Errorf("eventfactory: config: Unrouted %v is neither UnroutedFail nor UnroutedSkip: %w", c.Unrouted, core.ErrValidation))
	}
	if err := c.Invoke.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("eventfactory: config: Invoke: %w", err))
	}
	return errors.Join(errs...)
}

// Router collects handler registrations. Register with the On* functions,
// then call Build once, at start-up. A Router is not safe for concurrent
// registration; the Dispatcher that Build returns is safe for concurrent
// use.
type Router struct {
	cfg      Config
	problems []error
	routes   routes
}

type routes struct {
	dynamo map[string]map[string][]dynamoHandler // table → event name → handlers
	sqs    map[string][]sqsHandler               // queue
	sns    map[string][]snsHandler               // topic
	s3     map[string][]s3Route                  // bucket
	eb     map[ebKey][]ebHandler
	sfn    map[sfnKey]sfnHandler
	http   http.Handler // OnHTTP's, nil without one
}

type ebKey struct{ source, detailType string }
type sfnKey struct{ machine, state string }

type dynamoHandler func(ctx context.Context, r *streamRecord) error
type sqsHandler func(ctx context.Context, queue string, m *events.SQSMessage) error
type snsHandler func(ctx context.Context, topic string, r *events.SNSEventRecord) error
type ebHandler func(ctx context.Context, e *events.EventBridgeEvent) error
type sfnHandler func(ctx context.Context, p *SFNPayload) (any, error)

type s3Route struct {
	prefix string // event name prefix without "s3:", "" for all
	h      func(ctx context.Context, o S3Object) error
}

// NewRouter returns an empty Router. Configuration problems are reported by
// Validate and Build with the registration problems.
func NewRouter(cfg Config) *Router {
	r := &Router{cfg: cfg}
	if err := cfg.Validate(); err != nil {
		r.problems = append(r.problems, err)
	}
	r.routes = routes{
		dynamo: map[string]map[string][]dynamoHandler{},
		sqs:    map[string][]sqsHandler{},
		sns:    map[string][]snsHandler{},
		s3:     map[string][]s3Route{},
		eb:     map[ebKey][]ebHandler{},
		sfn:    map[sfnKey]sfnHandler{},
	}
	return r
}

// Validate returns every registration and configuration problem found so
// far, joined with errors.Join; nil when there is none. Each problem is a
// *RegistrationError (or a configuration error), matching
// core.ErrValidation.
func (r *Router) Validate() error { return errors.Join(r.problems...) }

// Build validates the router and returns a Dispatcher holding a snapshot of
// its routes. Later registrations do not affect the Dispatcher.
func (r *Router) Build() (*Dispatcher, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return newDispatcher(r.cfg, r.routes.clone()), nil
}

func (rt routes) clone() routes {
	c := routes{
		dynamo: make(map[string]map[string][]dynamoHandler, len(rt.dynamo)),
		sqs:    make(map[string][]sqsHandler, len(rt.sqs)),
		sns:    make(map[string][]snsHandler, len(rt.sns)),
		s3:     make(map[string][]s3Route, len(rt.s3)),
		eb:     make(map[ebKey][]ebHandler, len(rt.eb)),
		sfn:    make(map[sfnKey]sfnHandler, len(rt.sfn)),
		http:   rt.http,
	}
	for t, byEvent := range rt.dynamo {
		m := make(map[string][]dynamoHandler, len(byEvent))
		for e, hs := range byEvent {
			m[e] = append([]dynamoHandler(nil), hs...)
		}
		c.dynamo[t] = m
	}
	for k, v := range rt.sqs {
		c.sqs[k] = append([]sqsHandler(nil), v...)
	}
	for k, v := range rt.sns {
		c.sns[k] = append([]snsHandler(nil), v...)
	}
	for k, v := range rt.s3 {
		c.s3[k] = append([]s3Route(nil), v...)
	}
	for k, v := range rt.eb {
		c.eb[k] = append([]ebHandler(nil), v...)
	}
	for k, v := range rt.sfn {
		c.sfn[k] = v
	}
	return c
}

func (r *Router) problem(src Source, route, reason string, args ...any) {
	r.problems = append(r.problems, &RegistrationError{Source: src, Route: route, Reason: fmt.Sprintf(reason, args...)})
}

var (
	tableName   = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	queueName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$|^[A-Za-z0-9_-]{1,75}\.fifo$`)
	topicName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$|^[A-Za-z0-9_-]{1,251}\.fifo$`)
	bucketName  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	machineName = regexp.MustCompile("^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/]{1,80}$")
)

// s3EventTypes are the first parts of S3 notification event names.
var s3EventTypes = map[string]bool{
	"ObjectCreated": true, "ObjectRemoved": true, "ObjectRestore": true,
	"ReducedRedundancyLostObject": true, "Replication": true,
	"LifecycleExpiration": true, "LifecycleTransition": true,
	"IntelligentTiering": true, "ObjectTagging": true, "ObjectAcl": true,
}

// DynamoDBRecord is a DynamoDB stream record with its images decoded as T
// (with attributevalue.UnmarshalMap, so T's fields use dynamodbav tags; T
// may also be map[string]types.AttributeValue).
type DynamoDBRecord[T any] struct {
	Table     string // from the stream ARN
	EventName string // INSERT, MODIFY or REMOVE
	Keys      map[string]types.AttributeValue
	// NewImage is nil when the record has none (REMOVE, or a stream view
	// type without new images).
	NewImage *T
	// OldImage is nil when the record has none (INSERT, or a stream view
	// type without old images).
	OldImage *T
	// Record is the record as aws-lambda-go decodes it; without its
	// images when the Router's Config.LazyStreamImages is set (see
	// LambdaRecord).
	Record events.DynamoDBEventRecord

	// The images as SDK items, for LambdaRecord.
	newItem, oldItem map[string]types.AttributeValue
	lazyImages       bool
}

// LambdaRecord returns the record as aws-lambda-go decodes it, images
// included: Record itself, or, when Config.LazyStreamImages left the images
// out of Record, Record with images built from the SDK items (on each
// call; they share no slices with Keys or the decoded images).
func (r DynamoDBRecord[T]) LambdaRecord() events.DynamoDBEventRecord {
	if !r.lazyImages {
		return r.Record
	}
	return withLambdaImages(r.Record, r.Keys, r.newItem, r.oldItem)
}

// SQSMessage is an SQS message with its body decoded as T: as is when T is
// string or []byte, else as JSON.
type SQSMessage[T any] struct {
	Queue   string // from eventSourceARN
	Body    T
	Message events.SQSMessage
}

// SNSMessage is an SNS notification with its message decoded as T: as is
// when T is string or []byte, else as JSON.
type SNSMessage[T any] struct {
	Topic   string // from TopicArn
	Message T
	Record  events.SNSEventRecord
}

// S3Object is an S3 event notification record.
type S3Object struct {
	Bucket    string
	Key       string // URL-decoded
	EventName string // e.g. "ObjectCreated:Put"
	Record    events.S3EventRecord
}

// EventBridgeEvent is an EventBridge event with its detail decoded as T.
type EventBridgeEvent[T any] struct {
	Source     string
	DetailType string
	Detail     T
	Event      events.EventBridgeEvent
}

// OnDynamoDB registers h for the stream records of table whose eventName is
// in eventNames (INSERT, MODIFY, REMOVE; see AllStreamEvents). Several
// handlers may share a table and event name: all run, in registration
// order, and the record fails if any fails.
func OnDynamoDB[T any](r *Router, table string, eventNames []string, h func(ctx context.Context, rec DynamoDBRecord[T]) error) {
	route := fmt.Sprintf("table %q %v", table, eventNames)
	ok := true
	if !tableName.MatchString(table) {
		r.problem(SourceDynamoDB, route, "table name must be 3-255 characters of A-Z a-z 0-9 _ . -")
		ok = false
	}
	if len(eventNames) == 0 {
		r.problem(SourceDynamoDB, route, "no event names (use AllStreamEvents() for all)")
		ok = false
	}
	seen := map[string]bool{}
	for _, e := range eventNames {
		switch {
		case e != StreamInsert && e != StreamModify && e != StreamRemove:
			r.problem(SourceDynamoDB, route, "event name %q is not INSERT, MODIFY or REMOVE", e)
			ok = false
		case seen[e]:
			r.problem(SourceDynamoDB, route, "event name %q listed twice", e)
			ok = false
		}
		seen[e] = true
	}
	if h == nil {
		r.problem(SourceDynamoDB, route, "nil handler")
		ok = false
	}
	if !ok {
		return
	}
	dh := func(ctx context.Context, sr *streamRecord) error {
		rec := DynamoDBRecord[T]{Table: sr.table, EventName: sr.rec.EventName, Keys: sr.keys, Record: sr.rec,
			newItem: sr.newItem, oldItem: sr.oldItem, lazyImages: sr.lazyImages}
		var err error
		if rec.NewImage, err = decodeImage[T](sr.newItem, sr.newM); err != nil {
			return &MalformedError{Source: SourceDynamoDB, Record: sr.index, What: "NewImage", Err: err}
		}
		if rec.OldImage, err = decodeImage[T](sr.oldItem, sr.oldM); err != nil {
			return &MalformedError{Source: SourceDynamoDB, Record: sr.index, What: "OldImage", Err: err}
		}
		return h(ctx, rec)
	}
	byEvent := r.routes.dynamo[table]
	if byEvent == nil {
		byEvent = map[string][]dynamoHandler{}
		r.routes.dynamo[table] = byEvent
	}
	for _, e := range eventNames {
		byEvent[e] = append(byEvent[e], dh)
	}
}

// OnSQS registers h for the messages of queue (its name, not its URL or
// ARN). Several handlers may share a queue: all run, in registration order,
// and the message fails if any fails.
func OnSQS[T any](r *Router, queue string, h func(ctx context.Context, msg SQSMessage[T]) error) {
	route := fmt.Sprintf("queue %q", queue)
	ok := true
	if !queueName.MatchString(queue) {
		r.problem(SourceSQS, route, "queue name must be 1-80 characters of A-Z a-z 0-9 _ - (FIFO: ending in .fifo)")
		ok = false
	}
	if h == nil {
		r.problem(SourceSQS, route, "nil handler")
		ok = false
	}
	if !ok {
		return
	}
	r.routes.sqs[queue] = append(r.routes.sqs[queue], func(ctx context.Context, q string, m *events.SQSMessage) error {
		body, err := decodeText[T](m.Body)
		if err != nil {
			return &MalformedError{Source: SourceSQS, Record: -1, What: "body", Err: err}
		}
		return h(ctx, SQSMessage[T]{Queue: q, Body: body, Message: *m})
	})
}

// OnSNS registers h for the notifications of topic (its name, not its ARN).
// Several handlers may share a topic: all run, in registration order.
func OnSNS[T any](r *Router, topic string, h func(ctx context.Context, msg SNSMessage[T]) error) {
	route := fmt.Sprintf("topic %q", topic)
	ok := true
	if !topicName.MatchString(topic) {
		r.problem(SourceSNS, route, "topic name must be 1-256 characters of A-Z a-z 0-9 _ - (FIFO: ending in .fifo)")
		ok = false
	}
	if h == nil {
		r.problem(SourceSNS, route, "nil handler")
		ok = false
	}
	if !ok {
		return
	}
	r.routes.sns[topic] = append(r.routes.sns[topic], func(ctx context.Context, t string, rec *events.SNSEventRecord) error {
		msg, err := decodeText[T](rec.SNS.Message)
		if err != nil {
			return &MalformedError{Source: SourceSNS, Record: -1, What: "Message", Err: err}
		}
		return h(ctx, SNSMessage[T]{Topic: t, Message: msg, Record: *rec})
	})
}

// OnS3 registers h for the event notifications of bucket whose event name
// starts with eventPrefix ("" for all; "ObjectCreated:" for every creation;
// a leading "s3:" and a trailing "*" are ignored, so the notification
// configuration's "s3:ObjectCreated:*" works too). Several handlers may
// match a record: all run.
func OnS3(r *Router, bucket, eventPrefix string, h func(ctx context.Context, obj S3Object) error) {
	route := fmt.Sprintf("bucket %q events %q", bucket, eventPrefix)
	ok := true
	if !bucketName.MatchString(bucket) {
		r.problem(SourceS3, route, "bucket name must be 3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit")
		ok = false
	}
	prefix := strings.TrimSuffix(strings.TrimPrefix(eventPrefix, "s3:"), "*")
	if prefix != "" {
		kind, _, _ := strings.Cut(prefix, ":")
		if !s3EventTypes[kind] {
			r.problem(SourceS3, route, "%q is not an S3 event type (ObjectCreated, ObjectRemoved, …)", kind)
			ok = false
		}
	}
	if h == nil {
		r.problem(SourceS3, route, "nil handler")
		ok = false
	}
	if !ok {
		return
	}
	r.routes.s3[bucket] = append(r.routes.s3[bucket], s3Route{prefix: prefix, h: h})
}

// OnEventBridge registers h for the events with this source and
// detail-type, with the detail decoded as T (JSON). Several handlers may
// share a route: all run.
func OnEventBridge[T any](r *Router, source, detailType string, h func(ctx context.Context, ev EventBridgeEvent[T]) error) {
	route := fmt.Sprintf("source %q detail-type %q", source, detailType)
	ok := true
	if source == "" || len(source) > 256 {
		r.problem(SourceEventBridge, route, "source must be 1-256 characters")
		ok = false
	}
	if detailType == "" || len(detailType) > 128 {
		r.problem(SourceEventBridge, route, "detail-type must be 1-128 characters")
		ok = false
	}
	if h == nil {
		r.problem(SourceEventBridge, route, "nil handler")
		ok = false
	}
	if !ok {
		return
	}
	k := ebKey{source, detailType}
	r.routes.eb[k] = append(r.routes.eb[k], func(ctx context.Context, e *events.EventBridgeEvent) error {
		detail, err := decodeRaw[T](e.Detail)
		if err != nil {
			return &MalformedError{Source: SourceEventBridge, Record: -1, What: "detail", Err: err}
		}
		return h(ctx, EventBridgeEvent[T]{Source: e.Source, DetailType: e.DetailType, Detail: detail, Event: *e})
	})
}

// OnStepFunctions registers h for the tasks of state state of state machine
// machine (names, not ARNs). The task input is decoded as In (JSON; In may
// be json.RawMessage); h's result is the task result, JSON-encoded by the
// Lambda runtime. Exactly one handler per machine and state: a second
// registration is a problem.
func OnStepFunctions[In, Out any](r *Router, machine, state string, h func(ctx context.Context, task SFNTask[In]) (Out, error)) {
	route := fmt.Sprintf("state machine %q state %q", machine, state)
	ok := true
	if !machineName.MatchString(machine) {
		r.problem(SourceStepFunctions, route, "state machine name must be 1-80 characters without spaces or <>{}[]?*\"#%%\\^|~`$&,;:/")
		ok = false
	}
	if state == "" || len(state) > 80 {
		r.problem(SourceStepFunctions, route, "state name must be 1-80 characters")
		ok = false
	}
	if h == nil {
		r.problem(SourceStepFunctions, route, "nil handler")
		ok = false
	}
	k := sfnKey{machine, state}
	if _, dup := r.routes.sfn[k]; dup && ok {
		r.problem(SourceStepFunctions, route, "registered twice: a task has exactly one handler, its result is the task result")
		ok = false
	}
	if !ok {
		return
	}
	r.routes.sfn[k] = func(ctx context.Context, p *SFNPayload) (any, error) {
		in, err := decodeRaw[In](p.Input)
		if err != nil {
			return nil, &MalformedError{Source: SourceStepFunctions, Record: -1, What: "input", Err: err}
		}
		return h(ctx, SFNTask[In]{Input: in, Context: *p.Context, TaskToken: p.Token(), Payload: *p})
	}
}
