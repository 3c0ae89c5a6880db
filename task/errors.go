package task

import (
	"errors"
	"fmt"

	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// Error names at the Lambda boundary (eventfactory.ErrorName reports them;
// the task state machine's Retry and Catch match them).
const (
	// ErrorNameUnknownType is the name of *UnknownTypeError.
	ErrorNameUnknownType = "UnknownTaskTypeError"
	// ErrorNameInput is the name of *InputError.
	ErrorNameInput = "TaskInputError"
	// ErrorNameBusy is the name of *BusyError, which the state machine
	// retries.
	ErrorNameBusy = "TaskBusyError"
	// ErrorNameSubTasksFailed names the cause recorded on a parent that
	// ended FAILED because sub-tasks failed.
	ErrorNameSubTasksFailed = "SubTasksFailed"
	// ErrorNameTaskFailed is the error of a task execution whose parent
	// ended FAILED.
	ErrorNameTaskFailed = "TaskFailed"
	// ErrorNameTaskCancelled is the error of a task execution whose parent
	// ended CANCELLED.
	ErrorNameTaskCancelled = "TaskCancelled"
)

// Sentinel errors; the typed errors below match them with errors.Is.
var (
	// ErrUnknownType: no handler is registered for a task's type.
	ErrUnknownType = errors.New("task: no handler for the task type")
	// ErrInput: a task's stored input does not decode into its handler's
	// input type.
	ErrInput = errors.New("task: input does not fit the handler")
	// ErrBusy: another attempt holds the task or sub-task and its lease
	// has not run out.
	ErrBusy = errors.New("task: held by another attempt")
	// ErrNotCancellable: the task cannot be cancelled in its status.
	ErrNotCancellable = errors.New("task: not cancellable")
	// ErrPermanent marks a handler error that no retry can fix: a single
	// task fails at once instead of being retried (see Permanent).
	ErrPermanent = errors.New("task: permanent failure")
)

// UnknownTypeError: a task or sub-task of a type no handler is registered
// for reached the consumer. The task fails with it at once (no retry, no
// panic). It matches ErrUnknownType.
type UnknownTypeError struct {
	Type string
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("task: no handler registered for task type %q", e.Type)
}

// Unwrap returns ErrUnknownType.
func (e *UnknownTypeError) Unwrap() error { return ErrUnknownType }

// ErrorName returns ErrorNameUnknownType.
func (e *UnknownTypeError) ErrorName() string { return ErrorNameUnknownType }

// InputError: the stored input of a task does not decode into the input
// type of its handler. The task fails with it at once. It matches
// ErrInput and unwraps to the decoding error.
type InputError struct {
	Type string
	Err  error
}

func (e *InputError) Error() string {
	return fmt.Sprintf("task: input of task type %q: %v", e.Type, e.Err)
}

// Unwrap returns ErrInput and the decoding error.
func (e *InputError) Unwrap() []error { return []error{ErrInput, e.Err} }

// ErrorName returns ErrorNameInput.
func (e *InputError) ErrorName() string { return ErrorNameInput }

// BusyError: another attempt holds the row (a duplicate delivery running
// at the same time) and its lease runs until LeaseUntil. The delivery is
// retried later (an SQS message returns to its queue, a Step Functions
// step is retried), when the other attempt has finished or its lease has
// run out. It matches ErrBusy.
type BusyError struct {
	SK         string
	HeldBy     string
	LeaseUntil string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("task: %s is held by attempt %s until %s", e.SK, e.HeldBy, e.LeaseUntil)
}

// Unwrap returns ErrBusy.
func (e *BusyError) Unwrap() error { return ErrBusy }

// ErrorName returns ErrorNameBusy.
func (e *BusyError) ErrorName() string { return ErrorNameBusy }

// StatusError: an operation does not apply to a task in its status (a
// cancel of a COMPLETED task, say). It matches the sentinel it carries.
type StatusError struct {
	SK     string
	Status Status
	Op     string
	Err    error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("task: cannot %s %s: it is %s", e.Op, e.SK, e.Status)
}

// Unwrap returns the sentinel.
func (e *StatusError) Unwrap() error { return e.Err }

// permanentError is an error wrapped by Permanent.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

func (e *permanentError) Unwrap() []error { return []error{ErrPermanent, e.err} }

// ErrorName is the name of the wrapped error: Permanent changes the
// retry, not the name.
func (e *permanentError) ErrorName() string { return eventfactory.ErrorName(e.err) }

// Permanent marks err as an error no retry can fix: a single task whose
// handler returns it fails at once, rather than being retried until the
// queue's receive limit. errors.Is and errors.As see err through it. A nil
// err gives nil. (Sub-tasks are never retried for handler errors: any
// handler error fails the sub-task, except a *core.TransientError.)
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}
