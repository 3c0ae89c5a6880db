package serve

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the Step Functions API that the server answers with, as
// AWS names them (the SDKs match on these names).
const (
	CodeExecutionAlreadyExists     = "ExecutionAlreadyExists"
	CodeExecutionDoesNotExist      = "ExecutionDoesNotExist"
	CodeExecutionNotRedrivable     = "ExecutionNotRedrivable"
	CodeInvalidArn                 = "InvalidArn"
	CodeInvalidDefinition          = "InvalidDefinition"
	CodeInvalidExecutionInput      = "InvalidExecutionInput"
	CodeInvalidName                = "InvalidName"
	CodeInvalidOutput              = "InvalidOutput"
	CodeInvalidToken               = "InvalidToken"
	CodeStateMachineAlreadyExists  = "StateMachineAlreadyExists"
	CodeStateMachineDoesNotExist   = "StateMachineDoesNotExist"
	CodeStateMachineTypeNotSupport = "StateMachineTypeNotSupported"
	CodeTaskDoesNotExist           = "TaskDoesNotExist"
	CodeTaskTimedOut               = "TaskTimedOut"
	CodeValidation                 = "ValidationException"
	CodeUnknownOperation           = "UnknownOperationException"
	CodeSerialization              = "SerializationException"
	CodeInternalFailure            = "InternalFailure"
)

// ErrAPI is the sentinel every *APIError unwraps to.
var ErrAPI = errors.New("serve: step functions API error")

// APIError is an error of the Step Functions API: its code (one of the
// Code* constants), its message and the HTTP status it is sent with.
type APIError struct {
	Code    string
	Message string
	Status  int
}

// Error implements error.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns ErrAPI.
func (e *APIError) Unwrap() error { return ErrAPI }

// apiErr returns a client error (HTTP 400) with a formatted message.
func apiErr(code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// errorType is the __type of an error body: the code in AWS's namespace,
// which the SDKs strip before matching.
func errorType(code string) string {
	return "com.amazonaws.swf.service.v2.model#" + code
}
