package awsadapter

import (
	"errors"
	"fmt"
	"strings"

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
