package eventfactory

import (
	"errors"
	"reflect"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/stepcqrs/stepcqrs/core"
)

// Error names reported to Step Functions (the "errorType" of the Lambda
// error, matched by Retry and Catch ErrorEquals) for the framework's errors.
// They are the names of the core typed errors, so a handler returning
// *core.VersionConflictError, core.ErrVersionConflict, or either wrapped
// with %w, reports the same name.
const (
	ErrorNameVersionConflict  = "VersionConflictError"
	ErrorNameConditionFailed  = "ConditionFailedError"
	ErrorNameNotFound         = "NotFoundError"
	ErrorNameValidation       = "ValidationError"
	ErrorNameInvalidKey       = "KeyError"
	ErrorNameItemTooLarge     = "ItemTooLargeError"
	ErrorNameExecutionExists  = "ExecutionExistsError"
	ErrorNameTaskTokenInvalid = "TaskTokenInvalidError"
	ErrorNameNotImplemented   = "NotImplementedError"
	ErrorNameTenant           = "TenantError"
	// ErrorNameTransient is the name of a *core.TransientError (throttling,
	// an internal error of a service, a broken connection): the state
	// machines retry it with backoff and jitter.
	ErrorNameTransient = "TransientError"
	// ErrorNameHandler is the name of an error that has no name of its
	// own: errors.New, fmt.Errorf and errors.Join values, unnamed types.
	// Step Functions then sees this stable name rather than the Go
	// runtime's "errorString" or "wrapError".
	ErrorNameHandler      = "HandlerError"
	ErrorNameHandlerPanic = "HandlerPanicError"
	ErrorNameUnrouted     = "UnroutedError"
)

// Namer is implemented by errors that choose the name Step Functions sees.
// ErrorName finds it anywhere in an error's chain.
type Namer interface {
	ErrorName() string
}

// NamedError gives an error the name Step Functions sees, for Retry and
// Catch rules of the application's own (e.g. "PaymentDeclined"). Build one
// with Named.
type NamedError struct {
	Name string
	Err  error
}

// Named returns err under name: ErrorName reports name, errors.Is and
// errors.As see err. A nil err gives nil.
func Named(name string, err error) error {
	if err == nil {
		return nil
	}
	return &NamedError{Name: name, Err: err}
}

// Error implements error.
func (e *NamedError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *NamedError) Unwrap() error { return e.Err }

// ErrorName returns Name.
func (e *NamedError) ErrorName() string { return e.Name }

// sentinelNames maps core sentinels to names, first match wins. Panics and
// unrouted events come before the core sentinels they may wrap.
var sentinelNames = []struct {
	err  error
	name string
}{
	{ErrHandlerPanic, ErrorNameHandlerPanic},
	{ErrUnrouted, ErrorNameUnrouted},
	{core.ErrTransient, ErrorNameTransient},
	{core.ErrVersionConflict, ErrorNameVersionConflict},
	{core.ErrConditionFailed, ErrorNameConditionFailed},
	{core.ErrNotFound, ErrorNameNotFound},
	{core.ErrInvalidKey, ErrorNameInvalidKey},
	{core.ErrValidation, ErrorNameValidation},
	{core.ErrItemTooLarge, ErrorNameItemTooLarge},
	{core.ErrExecutionExists, ErrorNameExecutionExists},
	{core.ErrTaskTokenInvalid, ErrorNameTaskTokenInvalid},
	{core.ErrNotImplemented, ErrorNameNotImplemented},
	{core.ErrTenantNotAllowed, ErrorNameTenant},
}

// anonymous are unnamed error carriers: their type names say nothing about
// the error.
var anonymous = map[string]bool{
	"errorString": true, // errors.New
	"wrapError":   true, // fmt.Errorf with one %w
	"wrapErrors":  true, // fmt.Errorf with several %w
	"joinError":   true, // errors.Join
	"":            true, // unnamed types
	// The AWS SDK's carriers of the service's error (smithy.OperationError,
	// smithy-go/transport/http and aws/transport/http ResponseError).
	"OperationError": true,
	"ResponseError":  true,
}

// ErrorName returns the name Step Functions should see for err (nil: ""):
//
//  1. a messages.InvokeResponse_Error value: its Type, as the runtime does;
//  2. the first Namer in err's chain (e.g. *NamedError): its ErrorName();
//  3. the first of ErrHandlerPanic, ErrUnrouted and the core sentinels that
//     err matches (errors.Is): the ErrorName* constant;
//  4. the first error in the chain, depth-first, that has a name: an AWS
//     service error's code (ErrorCode(), e.g. "AccessDeniedException"), or
//     the reflect type name, pointer stripped, of an error type that is not
//     an anonymous carrier (errorString, wrapError, wrapErrors, joinError,
//     the AWS SDK's OperationError and ResponseError) — a handler's own
//     error type keeps its name;
//  5. ErrorNameHandler ("HandlerError"): the error has no name of its own.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive.Type
	}
	var n Namer
	if errors.As(err, &n) {
		if name := n.ErrorName(); name != "" {
			return name
		}
	}
	for _, s := range sentinelNames {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	if name := firstNamed(err); name != "" {
		return name
	}
	return ErrorNameHandler
}

// firstNamed walks err's tree depth-first for a non-anonymous type name.
func firstNamed(err error) string {
	if err == nil {
		return ""
	}
	if c, ok := err.(interface{ ErrorCode() string }); ok && c.ErrorCode() != "" {
		return c.ErrorCode()
	}
	if name := typeName(err); !anonymous[name] {
		return name
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return firstNamed(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if name := firstNamed(e); name != "" {
				return name
			}
		}
	}
	return ""
}

// typeName is the runtime's rule (aws-lambda-go lambda/errors.go).
func typeName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Ptr {
		return t.Elem().Name()
	}
	return t.Name()
}

// LambdaError converts err for the Lambda runtime: a
// messages.InvokeResponse_Error value with Type ErrorName(err) and Message
// err.Error(), which the runtime reports unchanged as errorType and
// errorMessage. A nil err gives nil.
func LambdaError(err error) error {
	if err == nil {
		return nil
	}
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive
	}
	return messages.InvokeResponse_Error{Type: ErrorName(err), Message: err.Error()}
}
