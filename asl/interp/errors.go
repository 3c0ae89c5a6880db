package interp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
)

// StatesError is a failure as Step Functions reports it: an error name, which
// Retry and Catch match on, and a cause.
type StatesError struct {
	Name  string
	Cause string
	// HasCause is false when the failure carries no cause at all (a Fail
	// state without Cause), which differs from an empty cause in the history.
	HasCause bool
	// HasName is false when the failure carries no error name at all.
	HasName bool
}

// Error implements error.
func (e *StatesError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// newError returns a StatesError with both a name and a cause.
func newError(name, cause string) *StatesError {
	return &StatesError{Name: name, Cause: cause, HasName: true, HasCause: true}
}

// runtimeError returns a States.Runtime failure whose cause is prefixed the
// way AWS prefixes it, naming the state and the event that entered it.
func runtimeError(state string, enteredEvent int64, format string, args ...any) *StatesError {
	return newError(asl.ErrorRuntime, fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). ", state, enteredEvent)+fmt.Sprintf(format, args...))
}

// asStatesError converts any error to a StatesError: a StatesError is kept,
// a function error of a Lambda becomes its errorType, and anything else is a
// States.TaskFailed-class failure named after the error.
func asStatesError(err error) *StatesError {
	var se *StatesError
	if errors.As(err, &se) {
		return se
	}
	return newError(asl.ErrorTaskFailed, err.Error())
}

// ErrJSONataNotSupported matches the errors of JSONata expressions outside
// the subset this interpreter implements.
var ErrJSONataNotSupported = errors.New("interp: QueryLanguage JSONata is not supported")

// ErrUnknownToken is returned by SendTaskSuccess, SendTaskFailure and
// SendTaskHeartbeat for a token that no running task waits on.
var ErrUnknownToken = errors.New("interp: task token is invalid or no longer waited on")

// ErrNotRunning is returned when an operation needs a running execution.
var ErrNotRunning = errors.New("interp: execution is not running")

// UnsupportedError reports a feature of a definition that the interpreter
// does not implement.
type UnsupportedError struct {
	Feature string
}

// Error implements error.
func (e *UnsupportedError) Error() string { return "interp: unsupported: " + e.Feature }

// Is makes errors.Is(err, ErrJSONataNotSupported) true for JSONata.
func (e *UnsupportedError) Is(target error) bool {
	return target == ErrJSONataNotSupported && strings.Contains(e.Feature, "JSONata")
}

// errorMatches reports whether a Retry or Catch ErrorEquals list matches the
// error name, following AWS rules: States.Runtime is never matched (it
// always fails the execution); States.ALL matches every other error;
// States.TaskFailed every other error except States.Timeout; any other name
// must be equal. (AWS's guide says States.ALL does not catch
// States.DataLimitExceeded either, but AWS's recorded runs show a
// States.ALL Catch catching it — test_*_catch_state_all_data_limit_exceeded
// in the conformance corpus — and the recordings win.)
func errorMatches(equals []string, name string) bool {
	if name == asl.ErrorRuntime {
		return false
	}
	for _, e := range equals {
		switch {
		case e == name:
			return true
		case e == asl.ErrorAll:
			return true
		case e == asl.ErrorTaskFailed && name != asl.ErrorTimeout:
			return true
		}
	}
	return false
}
