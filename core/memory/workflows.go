package memory

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// MaxPayloadBytes is the largest execution input, output or task result
// Step Functions accepts (256 KB).
const MaxPayloadBytes = 256 * 1024

// Runner executes the executions a Workflows starts; the embedded runtime
// plugs its state machine interpreter in here.
type Runner interface {
	// Run is called once for every new execution, on the goroutine of
	// StartExecution, after the execution is registered as RUNNING and
	// outside the Workflows' locks. It must not block for long: a runner
	// that takes time runs the execution on its own goroutine and ends it
	// with run.Succeed, run.Fail or run.TimeOut. ctx carries the values of
	// the StartExecution call but is never canceled.
	Run(ctx context.Context, run *Run)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, run *Run)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, run *Run) { f(ctx, run) }

// StateMachine is a state machine registered with CreateStateMachine.
type StateMachine struct {
	ARN, Name, Definition string
}

// WorkflowsOption configures a Workflows.
type WorkflowsOption func(*Workflows)

// KeepExecutionDetails keeps the input and output of only the last n
// executions that ended; older ended executions keep their name, status,
// error, cause and dates (enough for DescribeExecution's status and for
// StartExecution's idempotency, which refuses any ended name), so that a
// long run stays bounded. n <= 0 keeps every detail, the default.
func KeepExecutionDetails(n int) WorkflowsOption {
	return func(w *Workflows) { w.keepDetails = max(n, 0) }
}

// WithWorkflowsClock sets the clock of start and stop dates (default
// time.Now).
func WithWorkflowsClock(now func() time.Time) WorkflowsOption {
	return func(w *Workflows) { w.now = now }
}

// Workflows is an in-memory core.Workflows: a registry of state machines,
// executions and task tokens. StartExecution is idempotent by name as in
// Step Functions; what an execution does is up to the Runner. Without a
// Runner executions stay RUNNING until ended through their Run (see Lookup)
// or StopExecution, and tests issue task tokens with IssueTaskToken.
type Workflows struct {
	runner Runner
	now    func() time.Time

	mu       sync.Mutex
	machines map[string]*StateMachine // by ARN
	execs    map[string]*Run          // by ARN
	order    []string                 // execution ARNs in start order
	tokens   map[string]*TaskToken

	keepDetails int    // see KeepExecutionDetails
	ended       []*Run // ended executions that keep their details, oldest first
}

var _ core.Workflows = (*Workflows)(nil)

// NewWorkflows returns an empty registry whose executions runner runs
// (nil: none runs).
func NewWorkflows(runner Runner, opts ...WorkflowsOption) *Workflows {
	w := &Workflows{
		runner:   runner,
		now:      time.Now,
		machines: map[string]*StateMachine{},
		execs:    map[string]*Run{},
		tokens:   map[string]*TaskToken{},
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// StateMachineARN returns the ARN the registry gives a state machine named
// name.
func StateMachineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", Region, Account, name)
}

// CreateStateMachine registers a state machine, or replaces the definition
// of one with that name, and returns its ARN.
func (w *Workflows) CreateStateMachine(name, definition string) (string, error) {
	if err := validateName("state machine", name); err != nil {
		return "", err
	}
	arn := StateMachineARN(name)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.machines[arn] = &StateMachine{ARN: arn, Name: name, Definition: definition}
	return arn, nil
}

// StateMachine returns the registered state machine with the given ARN.
func (w *Workflows) StateMachine(arn string) (StateMachine, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	sm := w.machines[arn]
	if sm == nil {
		return StateMachine{}, &core.NotFoundError{Kind: "state machine", Name: arn}
	}
	return *sm, nil
}

func validateName(kind, name string) error {
	if name == "" || len(name) > 80 {
		return validation(fmt.Sprintf("%s name %q must have 1 to 80 characters", kind, name))
	}
	if i := strings.IndexAny(name, " \t\n<>{}[]?*\"#%\\^|~`$&,;:/"); i >= 0 {
		return validation(fmt.Sprintf("%s name %q has the forbidden character %q", kind, name, name[i]))
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return validation(fmt.Sprintf("%s name %q has a control character", kind, name))
		}
	}
	return nil
}

// compactJSON validates a payload and returns it compacted; empty means {}.
func compactJSON(what string, p json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if len(p) > MaxPayloadBytes {
		return nil, validation(fmt.Sprintf("%s of %d bytes exceeds %d", what, len(p), MaxPayloadBytes))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, p); err != nil {
		return nil, validation(fmt.Sprintf("%s is not JSON: %v", what, err))
	}
	return b.Bytes(), nil
}

// StartExecution implements core.Workflows. An empty name gets a random
// one. As Step Functions, a name whose execution already ended gives
// ErrExecutionExists even with the same input.
func (w *Workflows) StartExecution(ctx context.Context, smARN, name string, input json.RawMessage) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if name == "" {
		name = randomHex(16)
	}
	if err := validateName("execution", name); err != nil {
		return "", err
	}
	in, err := compactJSON("execution input", input)
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	sm := w.machines[smARN]
	if sm == nil {
		w.mu.Unlock()
		return "", &core.NotFoundError{Kind: "state machine", Name: smARN}
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", Region, Account, sm.Name, name)
	if old := w.execs[arn]; old != nil {
		same := bytes.Equal(old.exec.Input, in) && old.exec.Status == core.ExecutionRunning
		w.mu.Unlock()
		if same {
			return arn, nil
		}
		return "", fmt.Errorf("%w: %s", core.ErrExecutionExists, arn)
	}
	run := &Run{
		w:          w,
		Definition: sm.Definition,
		done:       make(chan struct{}),
		exec: core.Execution{
			ARN: arn, StateMachineARN: smARN, Name: name,
			Status: core.ExecutionRunning, Input: in, StartDate: w.now(),
		},
	}
	w.execs[arn] = run
	w.order = append(w.order, arn)
	w.mu.Unlock()
	if w.runner != nil {
		w.runner.Run(context.WithoutCancel(ctx), run)
	}
	return arn, nil
}

// DescribeExecution implements core.Workflows.
func (w *Workflows) DescribeExecution(ctx context.Context, arn string) (core.Execution, error) {
	if err := ctx.Err(); err != nil {
		return core.Execution{}, err
	}
	run, err := w.Lookup(arn)
	if err != nil {
		return core.Execution{}, err
	}
	return run.Execution(), nil
}

// Lookup returns the Run of an execution, to end it or issue task tokens.
func (w *Workflows) Lookup(executionARN string) (*Run, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	run := w.execs[executionARN]
	if run == nil {
		return nil, &core.NotFoundError{Kind: "execution", Name: executionARN}
	}
	return run, nil
}

// Executions returns every execution of a state machine (all when smARN is
// empty), in start order.
func (w *Workflows) Executions(smARN string) []core.Execution {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []core.Execution
	for _, arn := range w.order {
		run := w.execs[arn]
		if smARN == "" || run.exec.StateMachineARN == smARN {
			out = append(out, cloneExecution(run.exec))
		}
	}
	return out
}

// Wait blocks until the execution ends or ctx does, and returns it.
func (w *Workflows) Wait(ctx context.Context, executionARN string) (core.Execution, error) {
	run, err := w.Lookup(executionARN)
	if err != nil {
		return core.Execution{}, err
	}
	select {
	case <-run.Done():
		return run.Execution(), nil
	case <-ctx.Done():
		return core.Execution{}, ctx.Err()
	}
}

// StopExecution aborts a running execution, as Step Functions'
// StopExecution. Stopping an ended execution changes nothing.
func (w *Workflows) StopExecution(ctx context.Context, executionARN, errName, cause string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	run, err := w.Lookup(executionARN)
	if err != nil {
		return err
	}
	run.finish(core.ExecutionAborted, nil, errName, cause)
	return nil
}

// IssueTaskToken makes a running execution wait on a new task token, as a
// .waitForTaskToken task does.
func (w *Workflows) IssueTaskToken(executionARN string) (*TaskToken, error) {
	run, err := w.Lookup(executionARN)
	if err != nil {
		return nil, err
	}
	return run.IssueTaskToken()
}

// takeToken resolves token for a Send* call.
func (w *Workflows) takeToken(ctx context.Context, token string) (*TaskToken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	tt := w.tokens[token]
	if tt == nil {
		return nil, fmt.Errorf("%w: unknown task token", core.ErrTaskTokenInvalid)
	}
	return tt, nil
}

// SendTaskSuccess implements core.Workflows.
func (w *Workflows) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	tt, err := w.takeToken(ctx, token)
	if err != nil {
		return err
	}
	out, err := compactJSON("task output", output)
	if err != nil {
		return err
	}
	return tt.complete(TaskOutcome{Status: TaskSucceeded, Output: out})
}

// SendTaskFailure implements core.Workflows.
func (w *Workflows) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	tt, err := w.takeToken(ctx, token)
	if err != nil {
		return err
	}
	return tt.complete(TaskOutcome{Status: TaskFailed, Error: errName, Cause: cause})
}

// SendTaskHeartbeat implements core.Workflows.
func (w *Workflows) SendTaskHeartbeat(ctx context.Context, token string) error {
	tt, err := w.takeToken(ctx, token)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if tt.outcome.Status != "" {
		return fmt.Errorf("%w: task already %s", core.ErrTaskTokenInvalid, tt.outcome.Status)
	}
	tt.lastBeat = w.now()
	select {
	case tt.beats <- struct{}{}:
	default:
	}
	return nil
}

// Run is one execution as its runner sees it.
type Run struct {
	w *Workflows
	// Definition is the state machine's definition when the execution
	// started.
	Definition string

	exec   core.Execution // guarded by w.mu
	done   chan struct{}
	tokens []*TaskToken // open tokens, guarded by w.mu
}

// Execution returns the execution as it is now.
func (r *Run) Execution() core.Execution {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return cloneExecution(r.exec)
}

func cloneExecution(e core.Execution) core.Execution {
	e.Input = slices.Clone(e.Input)
	e.Output = slices.Clone(e.Output)
	return e
}

// Done is closed when the execution ends, whoever ends it (for example
// StopExecution); a runner watches it to stop work.
func (r *Run) Done() <-chan struct{} {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.done
}

// closedDone is the Done channel of ended executions whose details were
// dropped (KeepExecutionDetails).
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Succeed ends the execution SUCCEEDED with output. It reports false when
// the execution had already ended.
func (r *Run) Succeed(output json.RawMessage) (bool, error) {
	out, err := compactJSON("execution output", output)
	if err != nil {
		return false, err
	}
	return r.finish(core.ExecutionSucceeded, out, "", ""), nil
}

// Fail ends the execution FAILED. It reports false when the execution had
// already ended.
func (r *Run) Fail(errName, cause string) bool {
	return r.finish(core.ExecutionFailed, nil, errName, cause)
}

// TimeOut ends the execution TIMED_OUT. It reports false when the
// execution had already ended.
func (r *Run) TimeOut(errName, cause string) bool {
	return r.finish(core.ExecutionTimedOut, nil, errName, cause)
}

func (r *Run) finish(status core.ExecutionStatus, output json.RawMessage, errName, cause string) bool {
	w := r.w
	w.mu.Lock()
	if r.exec.Status != core.ExecutionRunning {
		w.mu.Unlock()
		return false
	}
	r.exec.Status = status
	r.exec.Output = output
	r.exec.Error, r.exec.Cause = errName, cause
	r.exec.StopDate = w.now()
	open := r.tokens
	r.tokens = nil
	for _, tt := range open {
		tt.closeLocked(TaskOutcome{Status: TaskCanceled})
	}
	close(r.done) // under w.mu: the eviction below may replace an ended run's channel
	if w.keepDetails > 0 {
		w.ended = append(w.ended, r)
		for len(w.ended) > w.keepDetails {
			old := w.ended[0]
			old.exec.Input, old.exec.Output = nil, nil
			old.Definition = ""
			old.done = closedDone // its own channel was closed when it ended
			w.ended[0] = nil
			w.ended = w.ended[1:]
		}
	}
	w.mu.Unlock()
	return true
}

// IssueTaskToken returns a new task token on which the execution waits.
func (r *Run) IssueTaskToken() (*TaskToken, error) {
	w := r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.exec.Status != core.ExecutionRunning {
		return nil, fmt.Errorf("%w: execution %s is %s", core.ErrValidation, r.exec.ARN, r.exec.Status)
	}
	tt := &TaskToken{
		Token: randomHex(32),
		w:     w,
		run:   r,
		done:  make(chan struct{}),
		beats: make(chan struct{}, 1),
	}
	w.tokens[tt.Token] = tt
	r.tokens = append(r.tokens, tt)
	return tt, nil
}

// TaskStatus is how a task token ended.
type TaskStatus string

// Task token endings.
const (
	TaskSucceeded TaskStatus = "SUCCEEDED" // SendTaskSuccess
	TaskFailed    TaskStatus = "FAILED"    // SendTaskFailure
	TaskTimedOut  TaskStatus = "TIMED_OUT" // TaskToken.Expire
	TaskCanceled  TaskStatus = "CANCELED"  // the execution ended
)

// TaskOutcome is the result delivered to a task token.
type TaskOutcome struct {
	Status       TaskStatus
	Output       json.RawMessage // TaskSucceeded
	Error, Cause string          // TaskFailed
}

// TaskToken is a token an execution waits on.
type TaskToken struct {
	// Token is the opaque token string callers pass to SendTask*.
	Token string

	w        *Workflows
	run      *Run
	done     chan struct{}
	beats    chan struct{}
	outcome  TaskOutcome // guarded by w.mu
	lastBeat time.Time   // guarded by w.mu
}

// Done is closed when the token gets its outcome.
func (t *TaskToken) Done() <-chan struct{} { return t.done }

// Heartbeats receives a value after SendTaskHeartbeat (coalesced: at most
// one is buffered).
func (t *TaskToken) Heartbeats() <-chan struct{} { return t.beats }

// Outcome returns the outcome; its Status is empty while the task waits.
func (t *TaskToken) Outcome() TaskOutcome {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	return t.outcome
}

// LastHeartbeat returns the time of the last SendTaskHeartbeat (zero: none).
func (t *TaskToken) LastHeartbeat() time.Time {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	return t.lastBeat
}

// Expire times the task out: later SendTask* calls with the token fail with
// ErrTaskTokenInvalid. It reports false when the token had already ended.
func (t *TaskToken) Expire() bool {
	return t.complete(TaskOutcome{Status: TaskTimedOut}) == nil
}

func (t *TaskToken) complete(o TaskOutcome) error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	if t.outcome.Status != "" {
		return fmt.Errorf("%w: task already %s", core.ErrTaskTokenInvalid, t.outcome.Status)
	}
	t.closeLocked(o)
	t.run.tokens = slices.DeleteFunc(t.run.tokens, func(x *TaskToken) bool { return x == t })
	return nil
}

// closeLocked records the outcome; the caller holds w.mu. The token stays
// known so that reuse reports "already ended" rather than "unknown".
func (t *TaskToken) closeLocked(o TaskOutcome) {
	t.outcome = o
	close(t.done)
}

func randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b)
}
