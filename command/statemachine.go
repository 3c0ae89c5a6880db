package command

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// The command state machine (docs/command-flow.md):
//
//	Apply ──▶ Route ──"done"───▶ Done (Succeed)
//	  ▲         ├──"sync"───▶ Sync (Map over handlers) ──▶ Finish ──▶ End
//	  │         ├──"wait"───▶ Wait (.waitForTaskToken, timeout) ──┐
//	  │         └──"failed"─▶ Failed (Fail)                        │
//	  └────────────────────────────────────────────────────────────┘
//
// Every Task invokes the service's Lambda through
// arn:aws:states:::lambda:invoke with the payload
// {"input.$": "$", "context.$": "$$"}, so the event factory routes it by
// state machine name and state name. The execution input is the command's
// keys only: {"module", "pk", "sk"}. A task that still fails after its
// retries goes to MarkFailed, which marks the command failed and resumes
// its successors, so a failed command never blocks its chain.
//
// Both ends of a Wait write $.wake: the SendTaskSuccess output
// ({"resumedBy": ...}) or the timeout Catch's error output. The next Apply
// reads it with $.step (its own previous result: waitFor, timeouts): after
// a timeout it re-starts the predecessors' executions, and after more than
// StepsOptions.MaxWaitTimeouts consecutive timeouts it fails the command
// loudly instead of waiting for ever.

// State names of the command state machine. The step handlers are routed
// by them (see Steps).
const (
	StateApply       = "Apply"
	StateRoute       = "Route"
	StateDone        = "Done"
	StateWait        = "Wait"
	StateSync        = "Sync"
	StateSyncHandler = "SyncHandler"
	StateFinish      = "Finish"
	StateMarkFailed  = "MarkFailed"
	StateFailed      = "Failed"
)

// Values of the "next" field the Apply step returns; Route branches on
// them.
const (
	NextDone   = "done"
	NextSync   = "sync"
	NextWait   = "wait"
	NextFailed = "failed"
)

// ErrorNameCommandFailed is the error of a command execution that ended in
// the Failed state.
const ErrorNameCommandFailed = "CommandFailed"

// RetryableErrors are the framework's named errors (see
// eventfactory.ErrorName) that a step may return for a passing reason: a
// conditional write that lost a race, a task token that could not be
// delivered. Retrying the step is safe because every step is idempotent.
// TransientError (eventfactory.ErrorNameTransient) has a Retry rule of its
// own, with longer backoff (StateMachineOptions.TransientMaxAttempts).
var RetryableErrors = []string{
	eventfactory.ErrorNameConditionFailed,
	eventfactory.ErrorNameTaskTokenInvalid,
	"TransactionCanceledError",
	"Sandbox.Timedout",
}

// StateMachineOptions configure the command state machine definition.
type StateMachineOptions struct {
	// FunctionARN is the Lambda function (name or ARN) every task invokes:
	// the service's own Lambda. Required.
	FunctionARN string
	// WaitTimeoutSeconds bounds one wait for a predecessor; when it passes
	// the execution goes back to Apply, which re-checks and re-starts the
	// predecessors' executions (see StepsOptions.MaxWaitTimeouts). Default
	// 300.
	WaitTimeoutSeconds int
	// RetryMaxAttempts is the number of retries of a failed step (Lambda
	// service errors and RetryableErrors). Default 6.
	RetryMaxAttempts int
	// RetryIntervalSeconds is the delay before the first retry. Default 1.
	RetryIntervalSeconds int
	// RetryMaxDelaySeconds caps the retry delay. Default 30.
	RetryMaxDelaySeconds int
	// HandlerMaxAttempts is the number of retries of a data-sync handler
	// failing with any other error. Default 3.
	HandlerMaxAttempts int
	// TransientMaxAttempts is the number of retries of a step failing with
	// a TransientError (throttling, an internal error of a service, a
	// broken connection, after the AWS SDK's own retries), every step
	// included. Default 10.
	TransientMaxAttempts int
	// TransientIntervalSeconds is the delay before the first retry of a
	// TransientError; it doubles up to TransientMaxDelaySeconds, with full
	// jitter. Defaults 2 and 60: ten retries then span up to about six
	// minutes of outage (half that on average, by the jitter) before the
	// command fails.
	TransientIntervalSeconds int
	TransientMaxDelaySeconds int
	// SyncMaxConcurrency bounds the sync handlers run at once (0: no
	// bound).
	SyncMaxConcurrency int
	// Comment is the definition's comment; a default describes the flow.
	Comment string
}

func (o StateMachineOptions) withDefaults() (StateMachineOptions, error) {
	if strings.TrimSpace(o.FunctionARN) == "" {
		return o, errors.New("command: state machine: FunctionARN is required")
	}
	if o.WaitTimeoutSeconds <= 0 {
		o.WaitTimeoutSeconds = 300
	}
	if o.RetryMaxAttempts <= 0 {
		o.RetryMaxAttempts = 6
	}
	if o.RetryIntervalSeconds <= 0 {
		o.RetryIntervalSeconds = 1
	}
	if o.RetryMaxDelaySeconds <= 0 {
		o.RetryMaxDelaySeconds = 30
	}
	if o.HandlerMaxAttempts <= 0 {
		o.HandlerMaxAttempts = 3
	}
	if o.TransientMaxAttempts <= 0 {
		o.TransientMaxAttempts = 10
	}
	if o.TransientIntervalSeconds <= 0 {
		o.TransientIntervalSeconds = 2
	}
	if o.TransientMaxDelaySeconds <= 0 {
		o.TransientMaxDelaySeconds = 60
	}
	if o.Comment == "" {
		o.Comment = "stepcqrs command flow: apply a versioned command, wait for its predecessor, run the data-sync handlers, finish"
	}
	return o, nil
}

// stepPayload is the Lambda payload of every step.
func stepPayload() asl.JSON { return asl.JSON{"input.$": "$", "context.$": "$$"} }

// StateMachine returns the command state machine definition, validated.
func StateMachine(opts StateMachineOptions) (*asl.StateMachine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// transient comes first in every state's Retry: Step Functions uses
	// the first rule whose ErrorEquals matches.
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
	toFailed := func() *asl.CatchBuilder {
		return asl.Catch(StateMarkFailed, asl.ErrorAll).ResultPath("$.error")
	}
	sync := asl.Map(asl.Branch(StateSyncHandler).
		Add(StateSyncHandler, asl.LambdaInvoke(o.FunctionARN).
			Payload(stepPayload()).
			DiscardResult().
			Retry(append(retry(),
				// Data-sync handlers are idempotent by contract; any
				// error of theirs is retried a few times before the
				// command fails.
				asl.Retry(asl.ErrorAll).IntervalSeconds(o.RetryIntervalSeconds).
					MaxAttempts(o.HandlerMaxAttempts).BackoffRate(2).MaxDelaySeconds(o.RetryMaxDelaySeconds))...).
			End())).
		ItemsPath("$.step.handlers").
		ItemSelector(asl.JSON{
			"module.$":  "$.module",
			"pk.$":      "$.pk",
			"sk.$":      "$.sk",
			"handler.$": "$$.Map.Item.Value",
		}).
		DiscardResult().
		Catch(toFailed()).
		Next(StateFinish)
	if o.SyncMaxConcurrency > 0 {
		sync = sync.MaxConcurrency(o.SyncMaxConcurrency)
	}
	waitPayload := stepPayload()
	waitPayload["taskToken.$"] = "$$.Task.Token"
	return asl.NewMachine(StateApply).
		Comment(o.Comment).
		Add(StateApply, asl.LambdaInvoke(o.FunctionARN).
			Comment("Apply the command if its predecessor is applied; finish it too when the module has no sync handler.").
			Payload(stepPayload()).
			ResultSelector(asl.JSON{
				"next.$": "$.Payload.next", "handlers.$": "$.Payload.handlers",
				"waitFor.$": "$.Payload.waitFor", "timeouts.$": "$.Payload.timeouts",
			}).
			ResultPath("$.step").
			Retry(retry()...).
			Catch(toFailed()).
			Next(StateRoute)).
		Add(StateRoute, asl.Choice().
			When(asl.StringEquals("$.step.next", NextDone), StateDone).
			When(asl.StringEquals("$.step.next", NextSync), StateSync).
			When(asl.StringEquals("$.step.next", NextWait), StateWait).
			Otherwise(StateFailed)).
		Add(StateDone, asl.Succeed()).
		Add(StateWait, asl.Task("arn:aws:states:::lambda:invoke.waitForTaskToken").
			Comment("Store the task token on the command row; the predecessor's finish (or this step, if the predecessor settled meanwhile) resumes it.").
			Parameters(asl.JSON{"FunctionName": o.FunctionARN, "Payload": waitPayload}).
			TimeoutSeconds(o.WaitTimeoutSeconds).
			ResultPath("$.wake").
			Retry(retry()...).
			Catch(
				asl.Catch(StateApply, asl.ErrorTimeout).ResultPath("$.wake"),
				toFailed(),
			).
			Next(StateApply)).
		Add(StateSync, sync).
		Add(StateFinish, asl.LambdaInvoke(o.FunctionARN).
			Comment("Record the final status, resume the successor, notify.").
			Payload(stepPayload()).
			DiscardResult().
			Retry(retry()...).
			Catch(toFailed()).
			End()).
		Add(StateMarkFailed, asl.LambdaInvoke(o.FunctionARN).
			Comment("Mark the command failed and resume its successors, so a failure never blocks the chain.").
			Payload(stepPayload()).
			DiscardResult().
			Retry(transient(), asl.Retry(asl.ErrorAll).IntervalSeconds(o.RetryIntervalSeconds).
				MaxAttempts(o.RetryMaxAttempts*2).BackoffRate(2).MaxDelaySeconds(o.RetryMaxDelaySeconds).FullJitter()).
			Next(StateFailed)).
		Add(StateFailed, asl.Fail(ErrorNameCommandFailed, "the command failed; its row holds the error")).
		Build()
}

// StateMachineJSON returns the command state machine definition as the
// JSON Step Functions runs (indented), e.g. for CreateStateMachine or
// `stepcqrs asl export command`.
func StateMachineJSON(opts StateMachineOptions) ([]byte, error) {
	sm, err := StateMachine(opts)
	if err != nil {
		return nil, err
	}
	b, err := sm.JSON("  ")
	if err != nil {
		return nil, fmt.Errorf("command: state machine: %w", err)
	}
	return b, nil
}
