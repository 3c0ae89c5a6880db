// Package integrations gives the asl/interp interpreter the Step Functions
// service integrations, backed by the ports of package core: in memory
// (core/memory) or on any AWS-compatible endpoint (core/awsadapter).
//
// Resources returns the task resources to put in interp.Options.Resources:
//
//   - arn:aws:states:::dynamodb:getItem, putItem, updateItem, deleteItem
//     (and query, and the same through arn:aws:states:::aws-sdk:dynamodb:)
//     on Backends.Items;
//   - arn:aws:states:::sqs:sendMessage on Backends.Queues;
//   - arn:aws:states:::sns:publish on Backends.Topics;
//   - arn:aws:states:::aws-sdk:s3:getObject and putObject on Backends.Objects;
//   - arn:aws:states:::states:startExecution, .sync and .sync:2 on
//     Backends.Workflows;
//   - arn:aws:states:::events:putEvents on Backends.Events.
//
// Each resource answers with the fields AWS answers with (Item, Attributes,
// MessageId, MD5OfMessageBody, ExecutionArn, Output, Entries, ...) and the
// SdkHttpMetadata of the optimized integrations, and fails with AWS's error
// names (DynamoDB.ConditionalCheckFailedException,
// StepFunctions.StateMachineDoesNotExistException, SNS.NotFoundException,
// EventBridge.FailedEntry, ...). ".waitForTaskToken" works with every one
// of them: the interpreter issues the token and waits for it.
//
// The ports speak the framework's language, not DynamoDB's expressions, so
// the DynamoDB resources serve tables keyed by the strings pk and sk and
// translate the expressions the ports can carry: "SET a = :v", "SET n = n
// + :k", "REMOVE a", "ADD n :k" (integers), conditions
// attribute_not_exists(pk), attribute_exists(pk) and "a = :v", and key
// conditions on pk and sk. Anything else fails the task with
// DynamoDB.AmazonDynamoDBException and a cause that says what is not
// supported.
package integrations

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
)

// Backends are the ports the integrations call. A nil port leaves its
// integrations out (the interpreter then rejects their resources).
type Backends struct {
	Items     core.ItemStore
	Queues    core.Queue
	Topics    core.Topic
	Objects   core.ObjectStore
	Workflows core.Workflows
	Events    EventBus
	// Region and AccountID fill ARNs and headers; default us-east-1 and
	// 123456789012.
	Region, AccountID string
	// Now is the clock of dates; default time.Now.
	Now func() time.Time
	// PollInterval is how often a .sync integration polls a Workflows
	// that cannot wait for an execution (see ExecutionWaiter); default 1s.
	PollInterval time.Duration
}

// ExecutionWaiter is implemented by Workflows that can wait for an
// execution to end (the server's and the embedded runtime's do); .sync
// integrations poll DescribeExecution on the others.
type ExecutionWaiter interface {
	Wait(ctx context.Context, executionARN string) (core.Execution, error)
}

// Integration ARNs.
const (
	arnPrefix       = "arn:aws:states:::"
	sdkPrefix       = "arn:aws:states:::aws-sdk:"
	startExecution  = arnPrefix + "states:startExecution"
	startSync       = startExecution + ".sync"
	startSync2      = startExecution + ".sync:2"
	putEventsARN    = arnPrefix + "events:putEvents"
	sendMessageARN  = arnPrefix + "sqs:sendMessage"
	publishARN      = arnPrefix + "sns:publish"
	s3GetObjectARN  = sdkPrefix + "s3:getObject"
	s3PutObjectARN  = sdkPrefix + "s3:putObject"
	dynamoOptimized = arnPrefix + "dynamodb:"
	dynamoSDK       = sdkPrefix + "dynamodb:"
)

// Resources returns the integrations b can back, by resource ARN.
func Resources(b Backends) map[string]interp.Resource {
	if b.Region == "" {
		b.Region = "us-east-1"
	}
	if b.AccountID == "" {
		b.AccountID = "123456789012"
	}
	if b.Now == nil {
		b.Now = time.Now
	}
	if b.PollInterval <= 0 {
		b.PollInterval = time.Second
	}
	out := map[string]interp.Resource{}
	if b.Items != nil {
		d := &dynamo{b: b}
		for _, op := range []string{"getItem", "putItem", "updateItem", "deleteItem", "query"} {
			out[dynamoOptimized+op] = d.resource(op, true)
			out[dynamoSDK+op] = d.resource(op, false)
		}
	}
	if b.Queues != nil {
		out[sendMessageARN] = interp.ResourceFunc((&sqsIntegration{b: b}).sendMessage)
	}
	if b.Topics != nil {
		out[publishARN] = interp.ResourceFunc((&snsIntegration{b: b}).publish)
	}
	if b.Objects != nil {
		s := &s3Integration{b: b}
		out[s3GetObjectARN] = interp.ResourceFunc(s.getObject)
		out[s3PutObjectARN] = interp.ResourceFunc(s.putObject)
	}
	if b.Workflows != nil {
		st := &statesIntegration{b: b}
		out[startExecution] = interp.ResourceFunc(st.start)
		out[startSync] = interp.ResourceFunc(st.start)
		out[startSync2] = interp.ResourceFunc(st.start)
	}
	if b.Events != nil {
		out[putEventsARN] = interp.ResourceFunc((&eventsIntegration{b: b}).putEvents)
	}
	return out
}

// params returns the task parameters as an object.
func params(req *interp.TaskRequest) (map[string]any, error) {
	if req.Parameters == nil {
		return map[string]any{}, nil
	}
	m, ok := req.Parameters.(map[string]any)
	if !ok {
		return nil, &interp.StatesError{Name: "States.Runtime", Cause: "the parameters of " + req.Resource + " must be a JSON object", HasName: true, HasCause: true}
	}
	return m, nil
}

// str reads an optional string parameter.
func str(p map[string]any, name string) string {
	s, _ := p[name].(string)
	return s
}

// service describes an AWS service as the Java SDK that Step Functions
// uses names it in error causes.
type service struct {
	prefix  string // error name prefix, e.g. "DynamoDB"
	java    string // "AmazonDynamoDBv2"
	generic string // the exception of errors without a name of their own
	// sdk selects the cause layout of the AWS SDK integrations (Java SDK
	// 2) over the optimized ones' (Java SDK 1).
	sdk bool
}

var (
	svcDynamo    = service{"DynamoDB", "AmazonDynamoDBv2", "AmazonDynamoDBException", false}
	svcDynamoSDK = service{"DynamoDb", "DynamoDb", "DynamoDbException", true}
	svcSQS       = service{"SQS", "AmazonSQS", "AmazonSQSException", false}
	svcSNS       = service{"SNS", "AmazonSNS", "AmazonSNSException", false}
	svcS3        = service{"S3", "S3", "S3Exception", true}
	svcSFN       = service{"StepFunctions", "AWSStepFunctions", "AWSStepFunctionsException", false}
)

// fail returns the task failure AWS reports for an error of the service:
// "<Prefix>.<Exception>" and the Java SDK's cause layout.
func (s service) fail(exception, code string, status int, msg string) error {
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if exception == "" {
		exception = s.generic
	}
	cause := fmt.Sprintf("%s (Service: %s; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)", msg, s.java, status, code, newUUID())
	if s.sdk {
		cause = fmt.Sprintf("%s (Service: %s, Status Code: %d, Request ID: %s)", msg, s.java, status, newUUID())
	}
	return &interp.StatesError{Name: s.prefix + "." + exception, Cause: cause, HasName: true, HasCause: true}
}

// portError converts an error of a port into the service's failure:
// not-found, condition and validation errors get AWS's names; a context
// error is returned as is (the interpreter handles timeouts); anything
// else is the service's generic exception.
func (s service) portError(err error, notFound, notFoundCode string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch {
	case errors.Is(err, core.ErrConditionFailed):
		return s.fail("ConditionalCheckFailedException", "ConditionalCheckFailedException", 400, "The conditional request failed")
	case errors.Is(err, core.ErrNotFound) && notFound != "":
		return s.fail(notFound, notFoundCode, 400, err.Error())
	case errors.Is(err, core.ErrValidation), errors.Is(err, core.ErrItemTooLarge):
		return s.fail("", "ValidationException", 400, err.Error())
	}
	return s.fail("", "InternalServerError", 500, err.Error())
}

// sdkMetadata returns the SdkHttpMetadata and SdkResponseMetadata of an
// optimized integration's result, as the Java SDK reports them.
func sdkMetadata(out map[string]any, contentType string, length int, now time.Time) map[string]any {
	id := newUUID()
	date := now.UTC().Format(time.RFC1123)
	date = strings.Replace(date, "UTC", "GMT", 1)
	headers := map[string]any{
		"Content-Length":   strconv.Itoa(length),
		"Content-Type":     contentType,
		"Date":             date,
		"x-amzn-RequestId": id,
		"connection":       "keep-alive",
	}
	all := map[string]any{}
	for k, v := range headers {
		all[k] = []any{v}
	}
	out["SdkHttpMetadata"] = map[string]any{"AllHttpHeaders": all, "HttpHeaders": headers, "HttpStatusCode": 200}
	out["SdkResponseMetadata"] = map[string]any{"RequestId": id}
	return out
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
