package eventfactory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// HandlerFunc is the Lambda handler of a service: it takes the raw payload
// of any supported source. Hand it to lambda.Start.
type HandlerFunc func(ctx context.Context, payload json.RawMessage) (any, error)

// Dispatcher routes payloads to the handlers of a built Router. It is safe
// for concurrent use.
type Dispatcher struct {
	cfg    Config
	log    *slog.Logger
	routes routes
}

func newDispatcher(cfg Config, rt routes) *Dispatcher {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{cfg: cfg, log: log, routes: rt}
}

// Handler returns the Lambda handler: Dispatch, with every error converted
// by LambdaError so that the runtime reports ErrorName(err) as errorType.
func (d *Dispatcher) Handler() HandlerFunc {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		out, err := d.Dispatch(ctx, payload)
		if err != nil {
			return nil, LambdaError(err)
		}
		return out, nil
	}
}

// Dispatch detects payload's source, decodes it and runs the matching
// handlers. Results by source:
//
//   - Step Functions: the handler's result, as is.
//   - DynamoDB stream: an events.DynamoDBEventResponse naming the first
//     failing record (by SequenceNumber); records after it are not
//     processed (see the package documentation).
//   - SQS: an events.SQSEventResponse naming every failing message (by
//     messageId).
//   - SNS, S3, EventBridge: nil, or the handlers' errors joined.
//   - HTTP requests: the response of OnHTTP's handler as the source
//     expects it (events.APIGatewayProxyResponse for payload format 1.0,
//     events.APIGatewayV2HTTPResponse for HTTP APIs,
//     events.LambdaFunctionURLResponse for function URLs); a handler panic
//     is logged and answered 500. A request that does not decode fails
//     with a *MalformedError, one without a handler with an
//     *UnroutedError.
//
// Errors are Go errors (typed, matching errors.Is/As), not yet converted for
// the Lambda runtime: use Handler for that. The context passed to handlers
// carries a core.Invoke (core.InvokeFromLambda) unless ctx already has one;
// for HTTP requests, the Invoke built from the request by Config.Invoke
// (which keeps the Lambda request id) replaces it.
func (d *Dispatcher) Dispatch(ctx context.Context, payload json.RawMessage) (any, error) {
	if _, ok := core.FromContext(ctx); !ok {
		ctx = core.NewContext(ctx, core.InvokeFromLambda(ctx))
	}
	log := d.log
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc != nil {
		log = log.With(slog.String("requestId", lc.AwsRequestID))
	}
	det, err := detect(payload)
	if err != nil {
		if errors.Is(err, ErrUnknownSource) && d.cfg.Unrouted == UnroutedSkip {
			log.WarnContext(ctx, "eventfactory: unknown payload skipped", slog.Any("error", err))
			return nil, nil
		}
		log.ErrorContext(ctx, "eventfactory: payload rejected", slog.Any("error", err))
		return nil, err
	}
	log = log.With(slog.String("source", det.source.String()))
	switch det.source {
	case SourceDynamoDB:
		return d.dynamoDB(ctx, log, det.records)
	case SourceSQS:
		return d.sqs(ctx, log, det.records)
	case SourceSNS:
		return nil, d.sns(ctx, log, det.records)
	case SourceS3:
		return nil, d.s3(ctx, log, det.records)
	case SourceEventBridge:
		return nil, d.eventBridge(ctx, log, payload)
	case SourceStepFunctions:
		return d.stepFunctions(ctx, log, payload)
	case SourceAPIGatewayV1, SourceAPIGatewayV2, SourceFunctionURL:
		return d.serveHTTP(ctx, log, det.source, payload)
	}
	return nil, &SourceError{Err: ErrUnknownSource}
}

// unmarshal is json.Unmarshal, with a panic of a custom UnmarshalJSON (the
// aws-lambda-go event types have several) turned into an error.
func unmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panicked: %v", r)
		}
	}()
	return json.Unmarshal(data, v)
}

// call runs a handler, turning a panic into *PanicError.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

// runAll runs every handler, in order, and joins their errors (a single
// error is returned as is).
func runAll[H any](hs []H, run func(H) error) error {
	var errs []error
	for _, h := range hs {
		if err := call(func() error { return run(h) }); err != nil {
			errs = append(errs, err)
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// unrouted applies the unrouted policy: nil when skipping.
func (d *Dispatcher) unrouted(ctx context.Context, log *slog.Logger, src Source, route string, attrs ...any) error {
	if d.cfg.Unrouted == UnroutedSkip {
		log.WarnContext(ctx, "eventfactory: unrouted event skipped", append(attrs, slog.String("route", route))...)
		return nil
	}
	return &UnroutedError{Source: src, Route: route}
}

// withIndex sets the record index of a *MalformedError in err's chain.
func withIndex(err error, i int) error {
	var me *MalformedError
	if errors.As(err, &me) && me.Record < 0 {
		me.Record = i
	}
	return err
}

// lenient reads string fields of a record that failed to decode, for
// reporting it. path is a list of keys.
func lenient(raw json.RawMessage, path ...string) string {
	for _, key := range path {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return ""
		}
		raw = m[key]
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// streamRecord is a decoded stream record, shared by its handlers.
type streamRecord struct {
	index                  int
	table                  string
	rec                    events.DynamoDBEventRecord
	keys, newItem, oldItem map[string]types.AttributeValue
	newM, oldM             *types.AttributeValueMemberM // the items wrapped for attributevalue
	lazyImages             bool                         // rec has no images
}

func (d *Dispatcher) dynamoDB(ctx context.Context, log *slog.Logger, recs []json.RawMessage) (any, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	var lastARN, lastTable string
	lastErr := error(&ARNError{Want: "a stream ARN"}) // until one is parsed
	parser := new(imageParser)
	for i, raw := range recs {
		ds, err := decodeStreamJSON(raw, true, !d.cfg.LazyStreamImages, parser) // detect validated the payload
		sr := streamRecord{index: i, rec: ds.rec, keys: ds.keys, newItem: ds.newItem, oldItem: ds.oldItem,
			newM: ds.newM, oldM: ds.oldM, lazyImages: d.cfg.LazyStreamImages}
		seq := sr.rec.Change.SequenceNumber
		if err != nil {
			seq = lenient(raw, "dynamodb", "SequenceNumber")
		} else if sr.rec.EventSource != "aws:dynamodb" {
			err = &MalformedError{Source: SourceDynamoDB, Record: -1, What: "eventSource",
				Err: fmt.Errorf("%q in a DynamoDB batch", clip(sr.rec.EventSource))}
		}
		if err == nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				err = fmt.Errorf("eventfactory: not processed: %w", ctxErr)
			}
		}
		if err == nil {
			if sr.rec.EventSourceArn != lastARN || lastTable == "" {
				lastARN = sr.rec.EventSourceArn
				lastTable, lastErr = TableFromStreamARN(lastARN)
			}
			sr.table = lastTable
			if lastErr != nil {
				err = &MalformedError{Source: SourceDynamoDB, Record: -1, What: "eventSourceARN", Err: lastErr}
			}
		}
		if err == nil {
			err = d.streamRecord(ctx, log, &sr)
		}
		if err == nil {
			continue
		}
		err = withIndex(err, i)
		if seq == "" {
			log.ErrorContext(ctx, "eventfactory: failed record has no SequenceNumber; failing the batch",
				slog.Int("record", i), slog.Any("error", err))
			return nil, fmt.Errorf("eventfactory: dynamodb record %d failed and has no SequenceNumber to report: %w", i, err)
		}
		log.ErrorContext(ctx, "eventfactory: stream record failed; stopping the batch here",
			slog.Int("record", i), slog.String("sequenceNumber", seq),
			slog.String("eventID", sr.rec.EventID), slog.Int("notProcessed", len(recs)-i-1), slog.Any("error", err))
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
		break
	}
	return resp, nil
}

func (d *Dispatcher) streamRecord(ctx context.Context, log *slog.Logger, sr *streamRecord) error {
	hs := d.routes.dynamo[sr.table][sr.rec.EventName]
	if len(hs) == 0 {
		return d.unrouted(ctx, log, SourceDynamoDB, "table "+sr.table+" "+sr.rec.EventName,
			slog.Int("record", sr.index), slog.String("eventID", sr.rec.EventID))
	}
	return runAll(hs, func(h dynamoHandler) error { return h(ctx, sr) })
}

func (d *Dispatcher) sqs(ctx context.Context, log *slog.Logger, recs []json.RawMessage) (any, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	// FIFO: groups with a failed message; "" with stopAll for a message
	// whose group is unknown.
	var failedGroups map[string]bool
	stopAll := false
	for i, raw := range recs {
		var m events.SQSMessage
		err := unmarshal(raw, &m)
		id, arn, group := m.MessageId, m.EventSourceARN, m.Attributes["MessageGroupId"]
		if err != nil {
			err = &MalformedError{Source: SourceSQS, Record: i, What: "record", Err: err}
			id = lenient(raw, "messageId")
			arn = lenient(raw, "eventSourceARN")
			group = lenient(raw, "attributes", "MessageGroupId")
		} else if m.EventSource != "aws:sqs" {
			err = &MalformedError{Source: SourceSQS, Record: i, What: "eventSource",
				Err: fmt.Errorf("%q in an SQS batch", clip(m.EventSource))}
		}
		queue, arnErr := QueueFromARN(arn)
		fifo := strings.HasSuffix(arn, ".fifo")
		if arnErr != nil {
			fifo = batchIsFIFO(recs)
		}
		switch {
		case err != nil:
		case stopAll || failedGroups[group]:
			err = fmt.Errorf("eventfactory: not processed: an earlier message of FIFO group %q failed", group)
		case ctx.Err() != nil:
			err = fmt.Errorf("eventfactory: not processed: %w", ctx.Err())
		case arnErr != nil:
			err = &MalformedError{Source: SourceSQS, Record: i, What: "eventSourceARN", Err: arnErr}
		default:
			err = d.sqsMessage(ctx, log, i, queue, &m)
		}
		if err == nil {
			continue
		}
		err = withIndex(err, i)
		if id == "" {
			log.ErrorContext(ctx, "eventfactory: failed message has no messageId; failing the batch",
				slog.Int("record", i), slog.Any("error", err))
			return nil, fmt.Errorf("eventfactory: sqs record %d failed and has no messageId to report: %w", i, err)
		}
		log.ErrorContext(ctx, "eventfactory: message failed", slog.Int("record", i),
			slog.String("messageId", id), slog.String("queue", queue), slog.Any("error", err))
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		if fifo {
			if group == "" {
				stopAll = true
			}
			if failedGroups == nil {
				failedGroups = map[string]bool{}
			}
			failedGroups[group] = true
		}
	}
	return resp, nil
}

// batchIsFIFO tells whether any record of a batch comes from a FIFO queue.
// A batch comes from one queue; this is for records whose own ARN is
// unreadable.
func batchIsFIFO(recs []json.RawMessage) bool {
	for _, raw := range recs {
		if strings.HasSuffix(lenient(raw, "eventSourceARN"), ".fifo") {
			return true
		}
	}
	return false
}

func (d *Dispatcher) sqsMessage(ctx context.Context, log *slog.Logger, i int, queue string, m *events.SQSMessage) error {
	hs := d.routes.sqs[queue]
	if len(hs) == 0 {
		return d.unrouted(ctx, log, SourceSQS, "queue "+queue, slog.Int("record", i), slog.String("messageId", m.MessageId))
	}
	return runAll(hs, func(h sqsHandler) error { return h(ctx, queue, m) })
}

func (d *Dispatcher) sns(ctx context.Context, log *slog.Logger, recs []json.RawMessage) error {
	var errs []error
	for i, raw := range recs {
		var rec events.SNSEventRecord
		if err := unmarshal(raw, &rec); err != nil {
			errs = append(errs, &MalformedError{Source: SourceSNS, Record: i, What: "record", Err: err})
			continue
		}
		if rec.EventSource != "aws:sns" {
			errs = append(errs, &MalformedError{Source: SourceSNS, Record: i, What: "EventSource",
				Err: fmt.Errorf("%q in an SNS batch", clip(rec.EventSource))})
			continue
		}
		topic, err := TopicFromARN(rec.SNS.TopicArn)
		if err != nil {
			errs = append(errs, &MalformedError{Source: SourceSNS, Record: i, What: "TopicArn", Err: err})
			continue
		}
		hs := d.routes.sns[topic]
		if len(hs) == 0 {
			err = d.unrouted(ctx, log, SourceSNS, "topic "+topic, slog.Int("record", i), slog.String("messageId", rec.SNS.MessageID))
		} else {
			err = runAll(hs, func(h snsHandler) error { return h(ctx, topic, &rec) })
		}
		if err != nil {
			errs = append(errs, withIndex(err, i))
		}
	}
	return d.joined(ctx, log, errs)
}

func (d *Dispatcher) s3(ctx context.Context, log *slog.Logger, recs []json.RawMessage) error {
	var errs []error
	for i, raw := range recs {
		var rec events.S3EventRecord
		if err := unmarshal(raw, &rec); err != nil {
			errs = append(errs, &MalformedError{Source: SourceS3, Record: i, What: "record", Err: err})
			continue
		}
		if rec.EventSource != "aws:s3" {
			errs = append(errs, &MalformedError{Source: SourceS3, Record: i, What: "eventSource",
				Err: fmt.Errorf("%q in an S3 batch", clip(rec.EventSource))})
			continue
		}
		obj := S3Object{
			Bucket:    rec.S3.Bucket.Name,
			Key:       rec.S3.Object.URLDecodedKey,
			EventName: strings.TrimPrefix(rec.EventName, "s3:"),
			Record:    rec,
		}
		var hs []s3Route
		for _, r := range d.routes.s3[obj.Bucket] {
			if strings.HasPrefix(obj.EventName, r.prefix) {
				hs = append(hs, r)
			}
		}
		var err error
		if len(hs) == 0 {
			err = d.unrouted(ctx, log, SourceS3, "bucket "+obj.Bucket+" "+obj.EventName, slog.Int("record", i), slog.String("key", obj.Key))
		} else {
			err = runAll(hs, func(r s3Route) error { return r.h(ctx, obj) })
		}
		if err != nil {
			errs = append(errs, withIndex(err, i))
		}
	}
	return d.joined(ctx, log, errs)
}

func (d *Dispatcher) eventBridge(ctx context.Context, log *slog.Logger, payload json.RawMessage) error {
	var ev events.EventBridgeEvent
	if err := unmarshal(payload, &ev); err != nil {
		return d.joined(ctx, log, []error{&MalformedError{Source: SourceEventBridge, Record: -1, What: "event", Err: err}})
	}
	hs := d.routes.eb[ebKey{ev.Source, ev.DetailType}]
	var err error
	if len(hs) == 0 {
		err = d.unrouted(ctx, log, SourceEventBridge, "source "+ev.Source+" detail-type "+ev.DetailType, slog.String("id", ev.ID))
	} else {
		err = runAll(hs, func(h ebHandler) error { return h(ctx, &ev) })
	}
	if err != nil {
		return d.joined(ctx, log, []error{err})
	}
	return nil
}

// joined logs and joins the errors of an all-or-nothing invocation.
func (d *Dispatcher) joined(ctx context.Context, log *slog.Logger, errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		log.ErrorContext(ctx, "eventfactory: invocation failed", slog.Any("error", errs[0]))
		return errs[0]
	}
	err := errors.Join(errs...)
	log.ErrorContext(ctx, "eventfactory: invocation failed", slog.Int("failures", len(errs)), slog.Any("error", err))
	return err
}

func (d *Dispatcher) stepFunctions(ctx context.Context, log *slog.Logger, payload json.RawMessage) (any, error) {
	var p SFNPayload
	err := unmarshal(payload, &p)
	switch {
	case err != nil:
		err = &MalformedError{Source: SourceStepFunctions, Record: -1, What: "payload", Err: err}
	case p.Context == nil:
		err = &MalformedError{Source: SourceStepFunctions, Record: -1, What: "payload", Err: errors.New(`"context" is null`)}
	case p.Context.MachineName() == "" || p.Context.State.Name == "":
		err = &MalformedError{Source: SourceStepFunctions, Record: -1, What: "context",
			Err: errors.New("no StateMachine.Name/Id or State.Name: pass the whole context object, \"context.$\": \"$$\"")}
	}
	if err != nil {
		log.ErrorContext(ctx, "eventfactory: task payload rejected", slog.Any("error", err))
		return nil, err
	}
	machine, state := p.Context.MachineName(), p.Context.State.Name
	log = log.With(slog.String("executionId", p.Context.Execution.ID), slog.String("state", state))
	h, ok := d.routes.sfn[sfnKey{machine, state}]
	if !ok {
		err := &UnroutedError{Source: SourceStepFunctions, Route: "state machine " + machine + " state " + state}
		log.ErrorContext(ctx, "eventfactory: task failed", slog.Any("error", err))
		return nil, err
	}
	var out any
	err = call(func() error {
		var err error
		out, err = h(ctx, &p)
		return err
	})
	if err != nil {
		log.ErrorContext(ctx, "eventfactory: task failed", slog.String("errorName", ErrorName(err)), slog.Any("error", err))
		return nil, err
	}
	return out, nil
}
