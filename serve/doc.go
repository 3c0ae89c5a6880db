// Package serve runs state machines on the asl/interp interpreter behind
// the Step Functions API (AWS JSON 1.0, X-Amz-Target
// AWSStepFunctions.<Operation>), so that unmodified AWS SDKs and the AWS
// CLI drive them through --endpoint-url or AWS_ENDPOINT_URL_SFN; SigV4
// signatures are accepted, not verified. It is what `stepcqrs serve` runs.
//
// A Server holds state machines and their executions and serves
// CreateStateMachine, UpdateStateMachine, DescribeStateMachine,
// ListStateMachines, DeleteStateMachine, ValidateStateMachineDefinition,
// StartExecution (idempotent by name as on AWS), StartSyncExecution
// (EXPRESS), DescribeExecution, ListExecutions, GetExecutionHistory,
// StopExecution, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat and
// TestState, with AWS's error codes. It also implements core.Workflows
// for functions in the same process.
//
// Lambda tasks invoke Functions: HTTPFunction calls a Lambda Invoke
// endpoint (the Runtime Interface Emulator, LocalStack, AWS),
// HandlerFunction a Go handler in-process. The service integrations of
// package serve/integrations (DynamoDB, SQS, SNS, S3, nested executions,
// EventBridge) run on the ports of Options.Backends. Mappings are Lambda
// event source mappings: a DynamoDB stream (StreamReader: the
// dynamodbstreams API of an endpoint, or a core/memory store) or an SQS
// queue, delivered in batches with filters, partial batch failures,
// bisection, retries and an OnFailure destination. Config and Start wire
// all of it from a JSON file; ExampleConfig is the orders example's.
package serve
