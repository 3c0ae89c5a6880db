// Package eventfactory is the Lambda ingress of stepcqrs: it takes the raw
// JSON payload of an invocation, detects which AWS source sent it by its
// shape, decodes it into typed events and calls the handlers registered for
// them.
//
// One Lambda binary serves every source:
//
//   - Step Functions tasks, whose state machines pass
//     {"input.$": "$", "context.$": "$$"} (plus "taskToken.$" for
//     .waitForTaskToken), routed by state machine name and state name. The
//     handler's return value is the task result as is.
//   - DynamoDB streams, routed by table name (from the stream ARN) and event
//     name (INSERT, MODIFY, REMOVE), with the images decoded into Go structs.
//   - SQS, routed by queue name; SNS, by topic name; S3, by bucket and event
//     name prefix; EventBridge, by source and detail-type.
//
// Handlers are registered with generic functions (OnDynamoDB, OnSQS, OnSNS,
// OnS3, OnEventBridge, OnStepFunctions) on a Router. Registration problems
// are collected and reported together by Router.Validate and Router.Build,
// so a mis-wired service fails at start-up, not at its first event.
//
// Build returns a Dispatcher; its Handler is the function main hands to
// lambda.Start, and its Dispatch is the same without the conversion of
// errors for the runtime (tests and the embedded runtime call it directly).
// With fx, Module builds the Dispatcher from the Registration values of the
// "stepcqrs.routes" value group (see AsRegistration), and registration
// problems fail the application's start.
//
// Events without a handler follow Config.Unrouted: UnroutedFail (the
// default) fails them, UnroutedSkip logs and drops them; neither is silent.
//
// # Batches and partial failures
//
// SQS and DynamoDB stream batches answer with a partial batch response
// (events.SQSEventResponse, events.DynamoDBEventResponse): only the records
// that failed are retried. The event source mapping must enable
// ReportBatchItemFailures, otherwise Lambda ignores the response.
//
// DynamoDB stream records are processed in order and processing stops at the
// first record that fails; that record alone is reported. Lambda resumes the
// shard at the lowest reported sequence number and redelivers every record
// after it, so later records would run again anyway, and running them now
// could apply a later change of an item before an earlier one.
//
// Standard SQS queues process every message and report each failing one. On
// FIFO queues (ARN ending in ".fifo"), once a message fails, the later
// messages of the same message group are not processed and are reported as
// failed too, so the group is redelivered in order; other groups go on.
//
// When several handlers match an event, all run in registration order and
// the event fails if any fails; a retry runs them all again, so handlers
// must be idempotent (they must be anyway: every source delivers at least
// once).
//
// A record that cannot be decoded fails alone. Handler panics are recovered
// into *PanicError. A record without a usable identifier (messageId,
// SequenceNumber) cannot be reported alone, so the whole invocation fails.
//
// # Decoding
//
// Stream images are parsed by the package's own DynamoDB JSON parser
// straight into SDK attribute values (see DecodeStreamRecord), then
// decoded into the handler's type with attributevalue.UnmarshalMap
// (dynamodbav struct tags). aws-lambda-go's attribute decoder is not used:
// it panics on some malformed sets and accepts {"NULL": false}. SQS bodies
// and SNS messages are passed as is to string and []byte handlers and
// decoded as JSON otherwise; Step Functions input and EventBridge detail are
// decoded as JSON (json.RawMessage keeps them undecoded).
//
// # Errors that reach Step Functions
//
// The Lambda Go runtime (aws-lambda-go lambda/errors.go) reports as
// errorType the reflect type name of the returned error, pointer stripped,
// without unwrapping: fmt.Errorf("...: %w", err) is reported as "wrapError".
// It makes one exception: a returned value of type
// messages.InvokeResponse_Error is sent as is, Type included. Dispatcher's
// Handler uses that exception: every error leaves as an
// InvokeResponse_Error whose Type is ErrorName(err), which unwraps to find
// a meaningful name (see ErrorName), so Retry and Catch can match on
// "VersionConflictError", "ConditionFailedError" and so on.
package eventfactory
