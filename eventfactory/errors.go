package eventfactory

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/core"
)

// Sentinel errors of the event factory. The typed errors below match them
// with errors.Is.
var (
	// ErrUnknownSource: the payload's shape matches no supported source.
	ErrUnknownSource = errors.New("eventfactory: unknown event source")
	// ErrMixedSources: a Records batch holds records of several sources.
	ErrMixedSources = errors.New("eventfactory: mixed event sources in one batch")
	// ErrEmptyBatch: a Records batch holds no record.
	ErrEmptyBatch = errors.New("eventfactory: empty Records batch")
	// ErrMalformed: a payload or record does not decode into its source's
	// shape. *MalformedError matches it and core.ErrValidation.
	ErrMalformed = errors.New("eventfactory: malformed event")
	// ErrUnrouted: no handler is registered for an event.
	ErrUnrouted = errors.New("eventfactory: no handler for event")
	// ErrHandlerPanic: a handler panicked; the panic was recovered.
	ErrHandlerPanic = errors.New("eventfactory: handler panicked")
)

// SourceError says why a payload's source could not be decided. Err is
// ErrUnknownSource, ErrMixedSources or ErrEmptyBatch.
type SourceError struct {
	Err     error
	Detail  string   // what was seen, for logs
	Sources []Source // the sources seen, for ErrMixedSources
}

// Error implements error.
func (e *SourceError) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

// Unwrap returns Err.
func (e *SourceError) Unwrap() error { return e.Err }

// MalformedError says which payload or record of a source could not be
// decoded. It matches ErrMalformed and core.ErrValidation, and unwraps to
// the decoding error.
type MalformedError struct {
	Source Source
	// Record is the index of the record in its batch, or -1 for the payload
	// as a whole.
	Record int
	// What names the part that failed: "payload", "record", "NewImage",
	// "body", "input", …
	What string
	Err  error
}

// Error implements error.
func (e *MalformedError) Error() string {
	var b strings.Builder
	b.WriteString("eventfactory: malformed ")
	b.WriteString(e.Source.String())
	if e.Record >= 0 {
		fmt.Fprintf(&b, " record %d", e.Record)
	}
	if e.What != "" && !(e.What == "record" && e.Record >= 0) {
		b.WriteString(" ")
		b.WriteString(e.What)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrMalformed, core.ErrValidation and the cause.
func (e *MalformedError) Unwrap() []error {
	errs := []error{ErrMalformed, core.ErrValidation}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// UnroutedError says which event found no handler. It matches ErrUnrouted.
type UnroutedError struct {
	Source Source
	Route  string // e.g. "table orders-command INSERT", "queue tasks"
}

// Error implements error.
func (e *UnroutedError) Error() string {
	return fmt.Sprintf("eventfactory: no %s handler for %s", e.Source, e.Route)
}

// Unwrap returns ErrUnrouted.
func (e *UnroutedError) Unwrap() error { return ErrUnrouted }

// PanicError is a recovered handler panic. It matches ErrHandlerPanic, and
// unwraps to the panic value when that is an error.
type PanicError struct {
	Value any
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string {
	return fmt.Sprintf("eventfactory: handler panicked: %v", e.Value)
}

// Unwrap returns ErrHandlerPanic and, when the panic value is an error, it.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrHandlerPanic, err}
	}
	return []error{ErrHandlerPanic}
}

// RegistrationError is one problem found while registering a handler. Router
// collects them; Validate and Build return them joined. It matches
// core.ErrValidation.
type RegistrationError struct {
	Source Source
	Route  string // the route as given, e.g. `table "orders" [INSERT]`
	Reason string
}

// Error implements error.
func (e *RegistrationError) Error() string {
	return fmt.Sprintf("eventfactory: %s route %s: %s", e.Source, e.Route, e.Reason)
}

// Unwrap returns core.ErrValidation.
func (e *RegistrationError) Unwrap() error { return core.ErrValidation }

// ARNError: an ARN does not have the expected form. It matches
// core.ErrValidation.
type ARNError struct {
	ARN  string
	Want string // the expected form
}

// Error implements error.
func (e *ARNError) Error() string {
	return fmt.Sprintf("eventfactory: ARN %q is not of the form %s", e.ARN, e.Want)
}

// Unwrap returns core.ErrValidation.
func (e *ARNError) Unwrap() error { return core.ErrValidation }
