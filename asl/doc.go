// Package asl is the Amazon States Language toolkit of stepcqrs: a typed
// model of state machine definitions, a builder for writing them in Go,
// lossless JSON, validation with messages like those of AWS, and Mermaid
// diagrams.
//
// # Model
//
// A definition is a *StateMachine; the same type holds the branches of a
// Parallel state and the item processor of a Map state. Every state, of any
// type, is a *State. Optional paths are *Path: nil when absent, IsNull when
// JSON null (InputPath/OutputPath null give {}, ResultPath null discards the
// result). Payload templates (Parameters, ResultSelector, ItemSelector,
// Result, Arguments, Output, Assign) stay json.RawMessage. Numbers that a
// JSONata state may give as "{% ... %}" are *Number. Choice rules keep their
// single comparison operator in Operator and its operand in Value.
//
// # Lossless JSON
//
// Parse fails only on bad JSON or a non-object. Unknown fields, and known
// fields with a JSON type the model cannot hold, are kept verbatim in the
// Extra map of the object they belong to; fields present with a zero value
// ("End": false) and the order of keys and states are remembered, so
// json.Marshal (or StateMachine.JSON) gives back the definition.
//
// # Validation
//
// Validate (and ParseAndValidate) collect every problem into a
// *ValidationError that unwraps to ErrInvalidDefinition. Each Problem has an
// AWS code (SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET, ...), a
// JSON pointer location and a message; Error() reads like AWS's
// "Invalid State Machine Definition: 'CODE: message at /States/X/Next'".
// Problem.Path gives the location as a JSONPath ("$.States.X.Next").
// WithWorkflowType(WorkflowExpress) rejects .sync and .waitForTaskToken.
// Paths, intrinsic functions and JSONata expressions are checked with the
// parsers of asl/jsonpath, asl/intrinsic and asl/jsonata, which the
// interpreter evaluates with; a JSONata construct asl/jsonata does not
// evaluate is not a validation error.
// RunInvalidCorpus and RunValidCorpus run conformance files.
//
// # Builder
//
// NewMachine, Add and the state constructors (Task, LambdaInvoke, Pass,
// Choice, WaitSeconds, Succeed, Fail, Parallel, Map) describe a machine in
// Go; Build validates it. See the examples.
//
// # Diagrams
//
// Mermaid renders a machine as a flowchart (stepcqrs asl graph FILE).
//
// The interpreter that runs definitions lives in asl/interp; JSONPath and
// JSON values in asl/jsonpath; intrinsic functions in asl/intrinsic.
package asl
