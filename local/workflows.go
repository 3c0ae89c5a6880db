package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
)

// Workflows is the runtime's core.Workflows: the in-memory registry of
// core/memory (names, idempotent starts, descriptions) whose executions run
// on the asl/interp interpreter, one Engine per state machine. Task tokens
// are the interpreter's; SendTask* reach the execution waiting on them.
type Workflows struct {
	*memory.Workflows
	rt   *Runtime
	seed uint64

	mu      sync.Mutex
	engines map[string]*interp.Engine    // by state machine ARN
	execs   map[string]*interp.Execution // by execution ARN
	// ended and failed hold the ARNs of ended executions whose histories
	// execs still holds, oldest first: succeeded ones, and failed ones.
	ended, failed []string
}

var _ core.Workflows = (*Workflows)(nil)

func newWorkflows(rt *Runtime, seed uint64) *Workflows {
	w := &Workflows{rt: rt, seed: seed, engines: map[string]*interp.Engine{}, execs: map[string]*interp.Execution{}}
	w.Workflows = memory.NewWorkflows(memory.RunnerFunc(w.run), memory.WithWorkflowsClock(rt.Clock.Now),
		memory.KeepExecutionDetails(keepHistories(rt.opts.MaxHistories)))
	return w
}

// CreateStateMachine validates definition, registers it under name and
// prepares its interpreter; it returns the state machine's ARN.
func (w *Workflows) CreateStateMachine(name, definition string) (string, error) {
	sm, err := asl.ParseAndValidate([]byte(definition))
	if err != nil {
		return "", err
	}
	eng, err := interp.New(sm, interp.Options{
		Clock:            w.rt.Clock,
		Lambda:           interp.LambdaInvokerFunc(w.rt.invoke),
		Objects:          w.rt.Objects,
		Resources:        w.rt.integrations(),
		Region:           memory.Region,
		AccountID:        memory.Account,
		StateMachineName: name,
		Seed:             w.seed,
	})
	if err != nil {
		return "", err
	}
	arn, err := w.Workflows.CreateStateMachine(name, definition)
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	w.engines[arn] = eng
	w.mu.Unlock()
	return arn, nil
}

// run starts an execution registered by memory.Workflows on its engine.
func (w *Workflows) run(ctx context.Context, run *memory.Run) {
	e := run.Execution()
	w.mu.Lock()
	eng := w.engines[e.StateMachineARN]
	w.mu.Unlock()
	if eng == nil {
		run.Fail(asl.ErrorRuntime, "local: state machine "+e.StateMachineARN+" has no interpreter (create it with Workflows.CreateStateMachine)")
		return
	}
	c := &w.rt.c
	c.active.Add(1)
	c.execStarted.Add(1)
	// The end is recorded on the execution's goroutine before it stops
	// counting on the virtual clock: the clock moves only once the record
	// says how the execution ended.
	started := make(chan struct{})
	x, err := eng.Start(ctx, e.Input, interp.WithName(e.Name), interp.WithOnEnd(func(x *interp.Execution) {
		<-started
		w.record(run, x)
	}))
	if err != nil {
		run.Fail(asl.ErrorRuntime, err.Error())
		c.execFailed.Add(1)
		c.active.Add(-1)
		return
	}
	w.mu.Lock()
	w.execs[e.ARN] = x
	w.mu.Unlock()
	close(started)
	go func() {
		select {
		case <-x.Done():
		case <-run.Done():
			ex := run.Execution()
			_ = x.Stop(ex.Error, ex.Cause)
		}
	}()
}

// record records the end of x in run.
func (w *Workflows) record(run *memory.Run, x *interp.Execution) {
	c := &w.rt.c
	defer c.active.Add(-1)
	res := x.Status()
	// Transitions are StateEntered events; StatesEntered counts them
	// without encoding the history.
	c.transitions.Add(int64(len(x.StatesEntered())))
	defer w.forgetOld(run.Execution().ARN, res.Status != interp.StatusSucceeded)
	switch res.Status {
	case interp.StatusSucceeded:
		c.execSucceeded.Add(1)
		if _, err := run.Succeed(res.Output); err != nil {
			run.Fail(asl.ErrorDataLimitExceeded, err.Error())
		}
	case interp.StatusTimedOut:
		c.execFailed.Add(1)
		run.TimeOut(res.Error, res.Cause)
	default:
		c.execFailed.Add(1)
		run.Fail(res.Error, res.Cause)
	}
}

func (w *Workflows) engineList() []*interp.Engine {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*interp.Engine, 0, len(w.engines))
	for _, e := range w.engines {
		out = append(out, e)
	}
	return out
}

// SendTaskSuccess implements core.Workflows.
func (w *Workflows) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(output) == 0 {
		output = json.RawMessage(`{}`)
	}
	for _, eng := range w.engineList() {
		err := eng.SendTaskSuccess(token, output)
		if err == nil || !errors.Is(err, interp.ErrUnknownToken) {
			return err
		}
	}
	return w.Workflows.SendTaskSuccess(ctx, token, output)
}

// SendTaskFailure implements core.Workflows.
func (w *Workflows) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, eng := range w.engineList() {
		err := eng.SendTaskFailure(token, errName, cause)
		if err == nil || !errors.Is(err, interp.ErrUnknownToken) {
			return err
		}
	}
	return w.Workflows.SendTaskFailure(ctx, token, errName, cause)
}

// SendTaskHeartbeat implements core.Workflows.
func (w *Workflows) SendTaskHeartbeat(ctx context.Context, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, eng := range w.engineList() {
		err := eng.SendTaskHeartbeat(token)
		if err == nil || !errors.Is(err, interp.ErrUnknownToken) {
			return err
		}
	}
	return w.Workflows.SendTaskHeartbeat(ctx, token)
}

// forgetOld records that the execution arn ended (failed or not) and drops
// the histories of the oldest ended executions beyond Options.MaxHistories
// and Options.MaxFailedHistories.
func (w *Workflows) forgetOld(arn string, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if failed {
		w.failed = w.forget(append(w.failed, arn), w.rt.opts.MaxFailedHistories)
	} else {
		w.ended = w.forget(append(w.ended, arn), w.rt.opts.MaxHistories)
	}
}

// keepHistories resolves Options.MaxHistories (and MaxFailedHistories):
// how many to keep, 0 for all.
func keepHistories(n int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return DefaultMaxHistories
	}
	return n
}

// forget drops the histories of the oldest executions of arns beyond max
// (as Options.MaxHistories) and returns the rest. Callers hold w.mu.
func (w *Workflows) forget(arns []string, max int) []string {
	if max = keepHistories(max); max == 0 {
		return arns
	}
	for len(arns) > max {
		delete(w.execs, arns[0])
		arns[0] = ""
		arns = arns[1:]
	}
	return arns
}

// History returns the history events of an execution. The history of an
// execution that ended before the last Options.MaxHistories (or, failed,
// the last Options.MaxFailedHistories) is gone: a *core.NotFoundError.
func (w *Workflows) History(executionARN string) ([]interp.Event, error) {
	w.mu.Lock()
	x := w.execs[executionARN]
	w.mu.Unlock()
	if x == nil {
		return nil, &core.NotFoundError{Kind: "execution", Name: executionARN}
	}
	return x.History(), nil
}

// StatesEntered returns the states an execution entered, in order.
func (w *Workflows) StatesEntered(executionARN string) ([]string, error) {
	w.mu.Lock()
	x := w.execs[executionARN]
	w.mu.Unlock()
	if x == nil {
		return nil, &core.NotFoundError{Kind: "execution", Name: executionARN}
	}
	return x.StatesEntered(), nil
}

// stopAll aborts the running executions.
func (w *Workflows) stopAll() {
	w.mu.Lock()
	xs := make([]*interp.Execution, 0, len(w.execs))
	for _, x := range w.execs {
		xs = append(xs, x)
	}
	w.mu.Unlock()
	for _, x := range xs {
		_ = x.Stop("Runtime.Closed", "the embedded runtime was closed")
	}
}

var requestSeq atomic.Int64

// invocationContext keeps the cancellation of its parent but none of its
// values: every Lambda invocation starts with a clean context, as on AWS
// (no core.Invoke or Lambda context leaks from the caller, e.g. from the
// stream invocation that started an execution). It carries the
// invocation's budget of injected transient store failures, if any.
type invocationContext struct {
	context.Context
	budget *atomic.Int64
}

// transientBudgetKey is the context key of the *atomic.Int64 budget of
// Faults.TransientStoreCalls that the counting store draws from.
type transientBudgetKey struct{}

// Value implements context.Context.
func (c invocationContext) Value(key any) any {
	if _, ok := key.(transientBudgetKey); ok && c.budget != nil {
		return c.budget
	}
	return nil
}

// transientBudget returns the budget of injected transient store failures
// shared by the invocations of one unit of work (a step across its
// retries, a stream batch across its redeliveries), nil when
// Faults.TransientStoreCalls is off.
func (rt *Runtime) transientBudget(unit string) *atomic.Int64 {
	n := rt.opts.Faults.TransientStoreCalls
	if n <= 0 || unit == "" {
		return nil
	}
	b := new(atomic.Int64)
	b.Store(int64(n))
	got, _ := rt.budgets.LoadOrStore(unit, b)
	return got.(*atomic.Int64)
}

// stepUnit names the step a Step Functions payload belongs to: execution,
// state and the time the state was entered, which its retries share.
func stepUnit(payload []byte) string {
	var p struct {
		Context struct {
			Execution struct {
				ID string `json:"Id"`
			}
			State struct {
				Name        string
				EnteredTime string
			}
		} `json:"context"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Context.Execution.ID == "" {
		return ""
	}
	c := p.Context
	return c.Execution.ID + "\x00" + c.State.Name + "\x00" + c.State.EnteredTime
}

// callHandler invokes the service's Lambda handler in-process, with a
// Lambda context as the runtime would give it; budget (nil: none) is the
// invocation's share of Faults.TransientStoreCalls.
func (rt *Runtime) callHandler(ctx context.Context, payload []byte, budget *atomic.Int64) (any, error) {
	lc := &lambdacontext.LambdaContext{
		AwsRequestID:       fmt.Sprintf("local-%012d", requestSeq.Add(1)),
		InvokedFunctionArn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", memory.Region, memory.Account, rt.opts.FunctionName),
	}
	return rt.handler(lambdacontext.NewContext(invocationContext{Context: ctx, budget: budget}, lc), payload)
}

// invoke is the interpreter's LambdaInvoker: it runs the service's handler
// with the payload Step Functions built, with fault injection.
func (rt *Runtime) invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	name := function
	if i := strings.Index(function, ":function:"); i >= 0 {
		name = function[i+len(":function:"):]
		if j := strings.IndexByte(name, ':'); j >= 0 {
			name = name[:j]
		}
	}
	if name != rt.opts.FunctionName {
		return nil, &interp.LambdaServiceError{Code: "ResourceNotFoundException", StatusCode: 404,
			Message: "Function not found: " + function}
	}
	rt.c.stepInv.Add(1)
	rt.c.stepInflight.Add(1)
	defer rt.c.stepInflight.Add(-1)
	fault := rt.chance(rt.opts.Faults.LambdaFailureRate)
	if fault {
		rt.c.injected.Add(1)
		if rt.chance(0.5) {
			return nil, &interp.LambdaServiceError{Code: "ServiceException", StatusCode: 500,
				Message: "local: injected Lambda service error"}
		}
	}
	var budget *atomic.Int64
	if rt.opts.Faults.TransientStoreCalls > 0 {
		budget = rt.transientBudget(stepUnit(payload))
	}
	out, err := rt.callHandler(ctx, payload, budget)
	if fault {
		return nil, &interp.LambdaFunctionError{ErrorType: "Sandbox.Timedout",
			ErrorMessage: "local: injected failure: the function ran but its result was lost"}
	}
	if err != nil {
		var ive messages.InvokeResponse_Error
		if errors.As(err, &ive) {
			return nil, &interp.LambdaFunctionError{ErrorType: ive.Type, ErrorMessage: ive.Message}
		}
		return nil, &interp.LambdaFunctionError{ErrorType: "Runtime.Error", ErrorMessage: err.Error()}
	}
	return json.Marshal(out)
}
