package task

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// The task state machine runs the sub-tasks of one fan-out parent
// (docs/tasks.md):
//
//	Route ─manifest─▶ RunDistributed (distributed Map, ItemReader over the manifest) ─┐
//	  └─otherwise──▶ Range (Pass) ──▶ Run (inline Map over 0..total-1) ────────────────┤
//	                                                                                   ▼
//	  Outcome (Choice) ◀── Finalize ◀──────────────────────────────────────────────────┘
//	    ├─COMPLETED─▶ Completed (Succeed)
//	    ├─CANCELLED─▶ Cancelled (Fail TaskCancelled)
//	    └─otherwise─▶ Failed (Fail TaskFailed)
//	a Map or Finalize failing after its retries ──▶ Abort ──▶ Failed
//
// The execution input is the parent's keys and sizes only,
// {"pk", "sk", "total", "maxConcurrency"[, "manifest"]} (ExecutionInput);
// every Map item is a sub-task index, and each iteration is one Lambda
// step (SubTask) that runs the type's handler for the sub-task
// {"pk", "sk", "index"}. MaxConcurrencyPath reads the bound from the
// input, so one definition serves every task type. Each iteration ends
// only when its sub-task is COMPLETED, FAILED or CANCELLED: a step still
// failing after its retries goes to SubTaskFailed, which records the
// failure, so one sub-task never fails the Map.

// State names of the task state machine; Routes registers the step
// handlers by them.
const (
	StateRoute                = "Route"
	StateRange                = "Range"
	StateRun                  = "Run"
	StateRunDistributed       = "RunDistributed"
	StateSubTask              = "SubTask"
	StateSubTaskFailed        = "SubTaskFailed"
	StateSubTaskDistributed   = "SubTaskD"
	StateSubTaskFailedDistrib = "SubTaskFailedD"
	StateFinalize             = "Finalize"
	StateOutcome              = "Outcome"
	StateCompleted            = "Completed"
	StateCancelled            = "Cancelled"
	StateFailed               = "Failed"
	StateAbort                = "Abort"
)

// RetryableErrors are the errors a step may fail with for a passing
// reason: a conditional write or transaction that lost a race, another
// attempt holding the sub-task, a Lambda invocation that timed out. Every
// step is idempotent, so retrying it is safe. TransientError has a Retry
// rule of its own, first; asl.LambdaServiceErrors are retried with these.
var RetryableErrors = []string{
	eventfactory.ErrorNameConditionFailed,
	"TransactionCanceledError",
	ErrorNameBusy,
	"Sandbox.Timedout",
}

// StateMachineOptions configure the task state machine definition.
type StateMachineOptions struct {
	// FunctionARN is the Lambda function (name or ARN) every task
	// invokes: the service's own Lambda. Required.
	FunctionARN string
	// DistributedExecutionType is the type of the child executions of the
	// distributed Map: asl.ExecutionStandard (default) or
	// asl.ExecutionExpress (cheaper for very large fan-outs; its at-least-
	// once runs are absorbed by the sub-task step's idempotency).
	DistributedExecutionType string
	// RetryMaxAttempts is the number of retries of a failed step (Lambda
	// service errors and RetryableErrors). Default 6.
	RetryMaxAttempts int
	// RetryIntervalSeconds is the delay before the first retry. Default 1.
	RetryIntervalSeconds int
	// RetryMaxDelaySeconds caps the retry delay. Default 30.
	RetryMaxDelaySeconds int
	// TransientMaxAttempts, TransientIntervalSeconds and
	// TransientMaxDelaySeconds shape the retries of a TransientError
	// (throttling, an internal error of a service), of the framework or of
	// a handler. Defaults 10, 2 and 60.
	TransientMaxAttempts     int
	TransientIntervalSeconds int
	TransientMaxDelaySeconds int
	// TimeoutSeconds bounds a whole execution (0: no bound).
	TimeoutSeconds int
	// Comment is the definition's comment; a default describes the flow.
	Comment string
}

func (o StateMachineOptions) withDefaults() (StateMachineOptions, error) {
	if strings.TrimSpace(o.FunctionARN) == "" {
		return o, errors.New("task: state machine: FunctionARN is required")
	}
	switch o.DistributedExecutionType {
	case "":
		o.DistributedExecutionType = asl.ExecutionStandard
	case asl.ExecutionStandard, asl.ExecutionExpress:
	default:
		return o, fmt.Errorf("task: state machine: DistributedExecutionType %q is neither %s nor %s",
			o.DistributedExecutionType, asl.ExecutionStandard, asl.ExecutionExpress)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.RetryMaxAttempts, 6)
	def(&o.RetryIntervalSeconds, 1)
	def(&o.RetryMaxDelaySeconds, 30)
	def(&o.TransientMaxAttempts, 10)
	def(&o.TransientIntervalSeconds, 2)
	def(&o.TransientMaxDelaySeconds, 60)
	if o.Comment == "" {
		o.Comment = "stepcqrs task fan-out: run the sub-tasks of a parent with bounded concurrency, then finalize the parent"
	}
	return o, nil
}

// stepPayload is the Lambda payload of every step.
func stepPayload() asl.JSON { return asl.JSON{"input.$": "$", "context.$": "$$"} }

// StateMachine returns the task state machine definition, validated.
func StateMachine(opts StateMachineOptions) (*asl.StateMachine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	transient := func() *asl.RetryBuilder {
		return asl.Retry(eventfactory.ErrorNameTransient).
			IntervalSeconds(o.TransientIntervalSeconds).MaxAttempts(o.TransientMaxAttempts).
			BackoffRate(2).MaxDelaySeconds(o.TransientMaxDelaySeconds).FullJitter()
	}
	retry := func() []*asl.RetryBuilder {
		return []*asl.RetryBuilder{
			transient(),
			asl.Retry(append(append([]string{}, asl.LambdaServiceErrors...), RetryableErrors...)...).
				IntervalSeconds(o.RetryIntervalSeconds).MaxAttempts(o.RetryMaxAttempts).
				BackoffRate(2).MaxDelaySeconds(o.RetryMaxDelaySeconds).FullJitter(),
		}
	}
	// lastResort retries any error of the steps that record a failure:
	// they are the path out of every other failure.
	lastResort := func() []*asl.RetryBuilder {
		return []*asl.RetryBuilder{transient(), asl.Retry(asl.ErrorAll).IntervalSeconds(o.RetryIntervalSeconds).
			MaxAttempts(o.RetryMaxAttempts * 2).BackoffRate(2).MaxDelaySeconds(o.RetryMaxDelaySeconds).FullJitter()}
	}
	iteration := func(step, failed string) *asl.MachineBuilder {
		return asl.Branch(step).
			Add(step, asl.LambdaInvoke(o.FunctionARN).
				Comment("Run the type's handler for one sub-task and record COMPLETED or FAILED with the parent's counters.").
				Payload(stepPayload()).
				OutputPath("$.Payload.status").
				Retry(retry()...).
				Catch(asl.Catch(failed, asl.ErrorAll).ResultPath("$.error")).
				End()).
			Add(failed, asl.LambdaInvoke(o.FunctionARN).
				Comment("Record the sub-task FAILED with the error that ended its step.").
				Payload(stepPayload()).
				OutputPath("$.Payload.status").
				Retry(lastResort()...).
				End())
	}
	toAbort := func() *asl.CatchBuilder { return asl.Catch(StateAbort, asl.ErrorAll).ResultPath("$.error") }
	inline := asl.Map(iteration(StateSubTask, StateSubTaskFailed)).
		Comment("One iteration per sub-task index, at most maxConcurrency at once.").
		ItemsPath("$.range.items").
		ItemSelector(asl.JSON{"pk.$": "$.pk", "sk.$": "$.sk", "index.$": "$$.Map.Item.Value"}).
		MaxConcurrencyPath("$.maxConcurrency").
		DiscardResult().
		Catch(toAbort()).
		Next(StateFinalize)
	distributed := asl.Map(iteration(StateSubTaskDistributed, StateSubTaskFailedDistrib)).
		Comment("One child execution per line of the manifest ({\"i\": index}), at most maxConcurrency at once.").
		Distributed(o.DistributedExecutionType).
		MaxConcurrencyPath("$.maxConcurrency").
		ItemReader(&asl.ItemReader{
			Resource:     "arn:aws:states:::s3:getObject",
			ReaderConfig: &asl.ReaderConfig{InputType: asl.InputTypeJSONL},
			Parameters:   []byte(`{"Bucket.$":"$.manifest.bucket","Key.$":"$.manifest.key"}`),
		}).
		ItemSelector(asl.JSON{"pk.$": "$.pk", "sk.$": "$.sk", "index.$": "$$.Map.Item.Value.i"}).
		ResultWriter(&asl.ResultWriter{
			Resource:   "arn:aws:states:::s3:putObject",
			Parameters: []byte(`{"Bucket.$":"$.manifest.bucket","Prefix.$":"$.manifest.results"}`),
		}).
		DiscardResult().
		Catch(toAbort()).
		Next(StateFinalize)
	b := asl.NewMachine(StateRoute).
		Comment(o.Comment).
		Add(StateRoute, asl.Choice().
			When(asl.IsPresent("$.manifest"), StateRunDistributed).
			Otherwise(StateRange)).
		Add(StateRange, asl.Pass().
			Comment("The sub-task indexes 0..total-1 (at most 1000: beyond, the manifest and the distributed Map serve).").
			Parameters(asl.JSON{"items.$": "States.ArrayRange(0, States.MathAdd($.total, -1), 1)"}).
			ResultPath("$.range").
			Next(StateRun)).
		Add(StateRun, inline).
		Add(StateRunDistributed, distributed).
		Add(StateFinalize, asl.LambdaInvoke(o.FunctionARN).
			Comment("Set the parent's final status from its counters; its result is the execution's.").
			Payload(stepPayload()).
			OutputPath("$.Payload").
			Retry(retry()...).
			Catch(toAbort()).
			Next(StateOutcome)).
		Add(StateOutcome, asl.Choice().
			When(asl.StringEquals("$.status", string(StatusCompleted)), StateCompleted).
			When(asl.StringEquals("$.status", string(StatusCancelled)), StateCancelled).
			Otherwise(StateFailed)).
		Add(StateCompleted, asl.Succeed()).
		Add(StateCancelled, asl.Fail(ErrorNameTaskCancelled, "").CausePath("$.error")).
		Add(StateFailed, asl.Fail(ErrorNameTaskFailed, "").CausePath("$.error")).
		Add(StateAbort, asl.LambdaInvoke(o.FunctionARN).
			Comment("The run failed: record the parent FAILED with the error, and every unfinished sub-task with it.").
			Payload(stepPayload()).
			OutputPath("$.Payload").
			Retry(lastResort()...).
			Next(StateFailed))
	if o.TimeoutSeconds > 0 {
		b = b.TimeoutSeconds(o.TimeoutSeconds)
	}
	sm, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("task: state machine: %w", err)
	}
	return sm, nil
}

// StateMachineJSON returns the task state machine definition as the JSON
// Step Functions runs (indented), e.g. for CreateStateMachine or
// `stepcqrs asl export task`.
func StateMachineJSON(opts StateMachineOptions) ([]byte, error) {
	sm, err := StateMachine(opts)
	if err != nil {
		return nil, err
	}
	b, err := sm.JSON("  ")
	if err != nil {
		return nil, fmt.Errorf("task: state machine: %w", err)
	}
	return b, nil
}
