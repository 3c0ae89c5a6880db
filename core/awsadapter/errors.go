package awsadapter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/stepcqrs/stepcqrs/core"
)

// apiCode returns the AWS error code of err, or "" when err carries none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// apiMessage returns the AWS error message of err, or "".
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// transientCodes are AWS error codes of passing failures that the SDK's own
// retry classification (retry.DefaultRetryables) does not know by code:
// internal errors that may come without a 5xx status.
var transientCodes = map[string]bool{
	"InternalServerError":         true,
	"InternalFailure":             true,
	"InternalError":               true,
	"ServiceUnavailable":          true,
	"ServiceUnavailableException": true,
}

// transient is the one place where errors of AWS calls are classified as
// passing: it returns err wrapped in a *core.TransientError when the SDK
// would retry it (throttling codes such as ProvisionedThroughputExceeded,
// RequestLimitExceeded and ThrottlingException; HTTP 500, 502, 503, 504;
// connection errors) or when its code is an internal error, and err
// unchanged otherwise. An error that reaches the adapter has outlived the
// SDK's own retries; the state machines retry its name (TransientError)
// further. A call cut short by its context is not transient: the
// invocation ran out of time, which Step Functions sees by itself.
func transient(service string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var te *core.TransientError
	if errors.As(err, &te) {
		return err
	}
	if transientCodes[apiCode(err)] || retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return &core.TransientError{Service: service, Err: err}
	}
	return err
}

// notFound wraps cause in a *core.NotFoundError of kind and name.
func notFound(kind, name string, cause error) error {
	return &wrapped{typed: &core.NotFoundError{Kind: kind, Name: name}, cause: cause}
}

// sentinel wraps cause so that it also matches the sentinel target.
func sentinel(target error, op string, cause error) error {
	return &wrapped{typed: fmt.Errorf("%w (%s)", target, op), cause: cause}
}

// wrapped pairs a typed stepcqrs error with the SDK error that caused it;
// errors.Is and errors.As see both.
type wrapped struct {
	typed error
	cause error
}

// Error returns the typed error's message followed by the SDK error's.
func (e *wrapped) Error() string {
	if e.cause == nil {
		return e.typed.Error()
	}
	return e.typed.Error() + ": " + e.cause.Error()
}

// Unwrap returns the typed error and the SDK error.
func (e *wrapped) Unwrap() []error {
	if e.cause == nil {
		return []error{e.typed}
	}
	return []error{e.typed, e.cause}
}

// isItemTooLarge reports whether err is DynamoDB's rejection of an item that
// exceeds the item size limit.
func isItemTooLarge(err error) bool {
	if apiCode(err) != "ValidationException" {
		return false
	}
	msg := apiMessage(err)
	return strings.Contains(msg, "Item size has exceeded") ||
		strings.Contains(msg, "Item size to update has exceeded")
}
