// Package interp is an interpreter of Amazon States Language state machines
// with the semantics of AWS Step Functions (JSONPath query language).
//
// An Engine runs executions of one definition:
//
//	sm, _ := asl.Parse(definitionJSON)
//	eng, err := interp.New(sm, interp.Options{
//		Clock:  interp.NewVirtualClock(time.Now()), // Wait/Retry/timeouts cost no real time
//		Lambda: myInvoker,                          // Lambda task resources
//	})
//	res, err := eng.Run(ctx, json.RawMessage(`{"orderId":"o-1"}`))
//
// Start runs an execution on a goroutine of its own; Execute runs one on
// the caller's goroutine, which suits short executions best.
//
// New compiles a definition once: its paths, payload templates, literal
// fields and Choice rules. Executions share JSON values rather than copy
// them: a value, once made, is never modified (ResultPath copies the
// objects along its path), and the history keeps the values of inputs and
// outputs, encoding them when History is called. Resources registered in
// Options.Resources get a copy of their parameters, and their results are
// copied (Go numbers becoming json.Number).
//
// Supported: every state type; InputPath → Parameters → task → ResultSelector
// → ResultPath → OutputPath; the context object $$; intrinsic functions
// (package asl/intrinsic); workflow variables (Assign) in JSONPath states;
// all Choice operators; Retry (IntervalSeconds, BackoffRate, MaxAttempts,
// MaxDelaySeconds, JitterStrategy) and Catch; Map (inline and distributed,
// MaxConcurrency bounding the running iterations, ToleratedFailureCount and
// Percentage, ItemReader over an ObjectStore with CSV/JSON/JSONL, ItemBatcher,
// ResultWriter); Parallel; Wait; TimeoutSeconds and HeartbeatSeconds;
// .waitForTaskToken with SendTaskSuccess/Failure/Heartbeat; StopExecution
// (Execution.Stop); the 256 KiB payload limit; execution histories with the
// event types of Step Functions, and their quota of 25,000 events
// (Options.MaxHistoryEvents).
//
// On a VirtualClock the threads of executions (the root, Parallel branches,
// Map iterations) are the clock's participants, and the clock moves at
// quiescence only: a Wait or a retry interval in one branch never fires a
// timeout of another branch that is still working. Code a task calls that
// blocks on something other than the clock says so with Idle.
//
// Task resources: a bare Lambda function ARN (the result is the function's
// payload) and arn:aws:states:::lambda:invoke (the result is the Invoke
// response) go to Options.Lambda; anything else to a Resource registered in
// Options.Resources. Errors of a Lambda function (*LambdaFunctionError)
// surface with the function's errorType as error name.
//
// The JSONata query language is supported for the subset of JSONata that
// package asl/jsonata evaluates (paths over $states and variables, literals
// and constructors, operators, conditionals, blocks, bindings and lambdas,
// regular expressions and the usual functions plus the AWS additions); New
// rejects a definition with any other construct, or an expression that
// does not parse, with an error matching ErrJSONataNotSupported. Not supported either: .sync integrations unless
// registered as resources, and S3 listObjectsV2 or manifest item readers.
package interp
