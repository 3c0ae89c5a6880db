package command_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// outage fails every attempt of the DynamoDB client's calls with a
// throttling error while it is on. It sits after the SDK's retry
// middleware, so the SDK's own retries run into it too.
type outage struct {
	mu    sync.Mutex
	on    bool
	calls int
}

func (o *outage) set(on bool) {
	o.mu.Lock()
	o.on = on
	o.mu.Unlock()
}

func (o *outage) option(opts *dynamodb.Options) {
	opts.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxBackoff = time.Millisecond
		so.RateLimiter = ratelimit.None
	})
	opts.APIOptions = append(opts.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("outage",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				o.mu.Lock()
				on := o.on
				if on {
					o.calls++
				}
				o.mu.Unlock()
				if on {
					return middleware.FinalizeOutput{}, middleware.Metadata{},
						&smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "injected outage"}
				}
				return next.HandleFinalize(ctx, in)
			}), "Retry", middleware.After)
	})
}

// TestAWSTransientStepErrors: on the AWS adapter against the endpoint, a
// DynamoDB outage longer than the SDK's retries makes the Apply step fail
// with the error named TransientError — which the command state machine
// retries — and change nothing; the same step after the outage applies the
// command exactly.
func TestAWSTransientStepErrors(t *testing.T) {
	o := &outage{}
	e := newAWSEnv(t, nil, o.option)
	k := awsKey(t, "outage")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1", Attributes: core.Attributes{"n": 1}})
	e.deliverNew(t)
	in := execInput(t, e.wf, command.ExecutionName(awsModule, c1.PK, c1.SK))

	o.set(true)
	for range 3 { // Step Functions' retries during the outage
		_, err := e.step(t, command.StateApply, command.StepInput{ExecutionInput: in}, "")
		if !errors.Is(err, core.ErrTransient) || eventfactory.ErrorName(err) != eventfactory.ErrorNameTransient {
			t.Fatalf("Apply during the outage: %v (name %q), want TransientError", err, eventfactory.ErrorName(err))
		}
	}
	o.set(false)
	if o.calls < 3*3 {
		t.Fatalf("%d attempts failed, want the SDK's 3 per step at least", o.calls)
	}
	if row := e.commandRow(t, c1.Key()); row.Status != core.StatusStarted {
		t.Fatalf("status %q after failed steps", row.Status)
	}
	_, dataTable, _ := e.svc.Tables()
	if n := e.count(t, dataTable, k.PK); n != 0 {
		t.Fatalf("%d data rows written during the outage", n)
	}
	r := e.applyStep(t, c1.Key())
	if r.Outcome != command.OutcomeApplied || r.Next != command.NextDone {
		t.Fatalf("Apply after the outage: %+v", r)
	}
	if d := e.dataRow(t, dataTable, k); d.Version != 1 || d.Name != "v1" || d.CSK != c1.SK {
		t.Fatalf("data row %+v", d)
	}
	if row := e.commandRow(t, c1.Key()); row.Status != core.StatusFinished {
		t.Fatalf("status %q", row.Status)
	}
}

// TestAWSSweep: on the endpoint, a published command is in the command
// table's unsettled index (a GSI); a sweep of a command whose stream
// record never arrived starts its execution; once the flow finished it,
// the index no longer holds it and a sweep finds nothing.
func TestAWSSweep(t *testing.T) {
	e := newAWSEnv(t, nil)
	k := awsKey(t, "swept")
	c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
	shard := e.commandRow(t, c1.Key()).Unsettled
	if shard == "" {
		t.Fatal("a published command carries no unsettled index attributes")
	}
	table, _, _ := e.svc.Tables()
	opts := command.StepsOptions{Services: map[string]*command.Service{awsModule: e.svc}, Workflows: e.wf, StateMachineARN: e.machine}
	later := func() time.Time { return time.Now().Add(time.Hour) }
	// The index is eventually consistent: poll.
	var res command.SweepResult
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		res, err = command.Sweep(awsCtx, opts, command.SweepOptions{OlderThan: time.Minute, Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if res.Found > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res != (command.SweepResult{Found: 1, Started: 1}) {
		t.Fatalf("sweep %+v, want the command found and its execution started", res)
	}
	in := execInput(t, e.wf, command.ExecutionName(awsModule, c1.PK, c1.SK))
	if in.Key() != c1.Key() {
		t.Fatalf("started execution input %+v", in)
	}
	if r := e.applyStep(t, c1.Key()); r.Outcome != command.OutcomeApplied {
		t.Fatalf("apply: %+v", r)
	}
	if row := e.commandRow(t, c1.Key()); row.Status != core.StatusFinished || row.Unsettled != "" || row.UnsettledAt != "" {
		t.Fatalf("finished command row %+v still carries the index attributes", row)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		page, err := e.raw.QueryIndex(awsCtx, table, core.IndexQuery{Index: command.UnsettledIndex, PK: shard})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index still holds %v", page.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, err := command.Sweep(awsCtx, opts, command.SweepOptions{OlderThan: time.Minute, Now: later}); err != nil || res.Found != 0 {
		t.Fatalf("sweep after the flow: %+v, %v", res, err)
	}
}
