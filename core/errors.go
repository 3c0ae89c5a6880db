package core

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Typed errors below unwrap to them, so callers test with
// errors.Is and inspect details with errors.As.
var (
	// ErrNotFound: the item, object, execution, queue or topic does not exist.
	ErrNotFound = errors.New("stepcqrs: not found")
	// ErrConditionFailed: a conditional write's condition did not hold.
	ErrConditionFailed = errors.New("stepcqrs: condition failed")
	// ErrItemTooLarge: an item exceeds MaxItemBytes.
	ErrItemTooLarge = errors.New("stepcqrs: item too large")
	// ErrVersionConflict: the input version is not the latest version.
	ErrVersionConflict = errors.New("stepcqrs: version conflict")
	// ErrValidation: input is malformed or violates a rule.
	ErrValidation = errors.New("stepcqrs: invalid input")
	// ErrInvalidKey: a key or key part would corrupt the key scheme.
	ErrInvalidKey = errors.New("stepcqrs: invalid key")
	// ErrExecutionExists: an execution name is taken with another input.
	ErrExecutionExists = errors.New("stepcqrs: execution already exists")
	// ErrTaskTokenInvalid: a task token is unknown, used or timed out.
	ErrTaskTokenInvalid = errors.New("stepcqrs: invalid task token")
	// ErrTransient: a call failed for a reason that passes — throttling,
	// an internal error of the service, a broken connection — so the same
	// call may succeed later. Adapters classify their backend's errors
	// into a *TransientError; the state machines retry it with backoff and
	// jitter.
	ErrTransient = errors.New("stepcqrs: transient failure")
	// ErrNotImplemented: a capability that is not built yet. It is returned
	// instead of a silent stub.
	ErrNotImplemented = errors.New("stepcqrs: not implemented")
)

// TransientError is a call that failed for a passing reason (see
// ErrTransient). It matches ErrTransient and unwraps to the backend's
// error.
type TransientError struct {
	// Service names the backend: "dynamodb", "s3", "sqs", "sns", "sfn", …
	Service string
	Err     error
}

func (e *TransientError) Error() string {
	return fmt.Sprintf("stepcqrs: transient %s failure: %v", e.Service, e.Err)
}

// Unwrap returns ErrTransient and the backend's error.
func (e *TransientError) Unwrap() []error { return []error{ErrTransient, e.Err} }

// NotFoundError says which thing was not found. It matches ErrNotFound.
type NotFoundError struct {
	Kind string // "item", "object", "execution", "queue", "topic", …
	Name string // table/key, bucket/key, ARN, …
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("stepcqrs: %s %s not found", e.Kind, e.Name)
}

// Unwrap returns ErrNotFound.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ConditionFailedError says which write's condition failed. It matches
// ErrConditionFailed.
type ConditionFailedError struct {
	Table string
	Key   Key
	// Item is the stored item when the store returned it, else nil.
	Item Item
}

func (e *ConditionFailedError) Error() string {
	return fmt.Sprintf("stepcqrs: condition failed on %s %s/%s", e.Table, e.Key.PK, e.Key.SK)
}

// Unwrap returns ErrConditionFailed.
func (e *ConditionFailedError) Unwrap() error { return ErrConditionFailed }

// TransactionCanceledError reports a Transact call that wrote nothing.
// Reasons has one entry per op: nil for an op that was fine, else why it
// failed (a *ConditionFailedError for a failed condition). It matches
// ErrConditionFailed when any reason does.
type TransactionCanceledError struct {
	Reasons []error
}

func (e *TransactionCanceledError) Error() string {
	var parts []string
	for i, r := range e.Reasons {
		if r != nil {
			parts = append(parts, fmt.Sprintf("op %d: %v", i, r))
		}
	}
	return "stepcqrs: transaction canceled: " + strings.Join(parts, "; ")
}

// Unwrap returns the non-nil reasons.
func (e *TransactionCanceledError) Unwrap() []error {
	var out []error
	for _, r := range e.Reasons {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// VersionConflictError: a command's input version is not the latest stored
// version of its entity. It matches ErrVersionConflict.
type VersionConflictError struct {
	ID     string // entity id (pk#sk without version)
	Input  int64  // the version the caller sent
	Latest int64  // the latest stored version (0: none)
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("stepcqrs: version conflict on %s: input version %d, latest version %d", e.ID, e.Input, e.Latest)
}

// Unwrap returns ErrVersionConflict.
func (e *VersionConflictError) Unwrap() error { return ErrVersionConflict }

// ValidationError lists every problem found in one input. It matches
// ErrValidation.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "stepcqrs: invalid input: " + strings.Join(e.Problems, "; ")
}

// Unwrap returns ErrValidation.
func (e *ValidationError) Unwrap() error { return ErrValidation }

// Problems returns the problems err reports, for a Validate that gathers
// those of its parts: a *ValidationError's own, or err's text for any
// other error; none for nil.
func Problems(err error) []string {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Problems
	}
	return []string{err.Error()}
}

// KeyError: a key part is unusable. It matches ErrInvalidKey.
type KeyError struct {
	Part   string // which part: "pk", "sk", "type", "tenantCode", "code", …
	Value  string
	Reason string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("stepcqrs: invalid key %s %q: %s", e.Part, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidKey.
func (e *KeyError) Unwrap() error { return ErrInvalidKey }
