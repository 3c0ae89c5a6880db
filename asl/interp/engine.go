package interp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// DefaultMaxPayloadBytes is the Step Functions limit on the size of a state's
// input or output and of a task result: 256 KiB.
const DefaultMaxPayloadBytes = 256 * 1024

// Status is the status of an execution, as Step Functions names it.
type Status string

// Execution statuses.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Options configures an Engine. The zero value runs on the wall clock with
// no Lambda invoker and no object store.
type Options struct {
	// Clock is the time source; nil means RealClock.
	Clock Clock
	// Lambda invokes Lambda functions for Lambda task resources.
	Lambda LambdaInvoker
	// Resources maps task resource ARNs to user resources. A key ending in
	// "*" matches every resource that starts with the text before it; the
	// longest match wins. User resources take precedence over the built-in
	// Lambda integrations.
	Resources map[string]Resource
	// Objects is the object store that ItemReader and ResultWriter use.
	Objects ObjectStore
	// Region and AccountID build ARNs; they default to us-east-1 and
	// 123456789012.
	Region, AccountID string
	// StateMachineName names the state machine in ARNs and in $$; default
	// "StateMachine".
	StateMachineName string
	// RoleArn is the execution role reported in $$.Execution.RoleArn.
	RoleArn string
	// MaxPayloadBytes overrides DefaultMaxPayloadBytes.
	MaxPayloadBytes int
	// Express runs executions as an EXPRESS workflow: the context object
	// has no Execution.RedriveCount (express executions cannot be
	// redriven).
	Express bool
	// Tokens, when set, is the task token registry shared with other
	// engines; by default each Engine has its own.
	Tokens *TaskTokens
	// Seed, when non-zero, makes UUIDs, request ids, task tokens and
	// jitter deterministic (per state machine name).
	Seed uint64
	// MaxHistoryEvents bounds an execution's history as AWS does for
	// STANDARD workflows: once it holds MaxHistoryEvents-1 events, only
	// the execution's end may follow; any other event fails the execution
	// instead, its ExecutionFailed (error States.Runtime) being the last
	// event. Zero means DefaultMaxHistoryEvents, or no bound with Express;
	// negative means no bound. Run counts the events it does not keep.
	MaxHistoryEvents int
}

// DefaultMaxHistoryEvents is the history quota of a STANDARD execution.
const DefaultMaxHistoryEvents = 25000

// errHistoryFull ends an execution whose history reached its bound.
var errHistoryFull = errors.New("interp: the execution history is full")

// Engine runs executions of one state machine definition. It is safe for
// concurrent use; SendTask* calls reach the executions it started.
type Engine struct {
	def  *asl.StateMachine
	opts Options

	mu     sync.Mutex
	tokens *TaskTokens
	rnd    *mrand.Rand

	jsonata jsonataCache
	prog    *program

	// Made once for every execution: the state machine's ARN, $$.StateMachine,
	// and the functions intrinsic calls use.
	arn             string
	execARNPrefix   string // an execution's ARN less its name
	ctxStateMachine map[string]any
	randIntFn       func(int64) int64
	newIDFn         func() string
	// histSize is the length of the last history, the first guess for the
	// next one.
	histSize atomic.Int64
	// maxEvents bounds a history; 0 for none.
	maxEvents int
	// vc is opts.Clock when it is a *VirtualClock (or a type that embeds
	// one), whose participants the execution threads are; nil otherwise.
	vc *VirtualClock
}

// New returns an Engine for def. It fails for definitions the interpreter
// cannot run: JSONata expressions outside the supported subset (the error
// matches ErrJSONataNotSupported).
func New(def *asl.StateMachine, opts Options) (*Engine, error) {
	if def == nil {
		return nil, errors.New("interp: nil state machine")
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.StateMachineName == "" {
		opts.StateMachineName = "StateMachine"
	}
	if opts.RoleArn == "" {
		opts.RoleArn = fmt.Sprintf("arn:aws:iam::%s:role/StepFunctionsRole", opts.AccountID)
	}
	if opts.MaxPayloadBytes <= 0 {
		opts.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	e := &Engine{def: def, opts: opts, tokens: opts.Tokens, prog: compileProgram(def)}
	if v, ok := opts.Clock.(interface{ virtual() *VirtualClock }); ok {
		e.vc = v.virtual()
	}
	switch {
	case opts.MaxHistoryEvents > 0:
		e.maxEvents = opts.MaxHistoryEvents
	case opts.MaxHistoryEvents == 0 && !opts.Express:
		e.maxEvents = DefaultMaxHistoryEvents
	}
	e.arn = "arn:aws:states:" + opts.Region + ":" + opts.AccountID + ":stateMachine:" + opts.StateMachineName
	e.ctxStateMachine = map[string]any{"Id": e.arn, "Name": opts.StateMachineName}
	e.execARNPrefix = "arn:aws:states:" + opts.Region + ":" + opts.AccountID + ":execution:" + opts.StateMachineName + ":"
	e.randIntFn, e.newIDFn = e.randInt, e.newID
	if usesJSONata(def) {
		if err := e.precompileJSONata(def); err != nil {
			return nil, err
		}
	}
	if e.tokens == nil {
		e.tokens = NewTaskTokens()
	}
	if opts.Seed != 0 {
		// The state machine's identity is mixed in so that engines sharing
		// a seed do not hand out the same task tokens or names.
		h := fnv.New64a()
		_, _ = h.Write([]byte(opts.Region + "/" + opts.AccountID + "/" + opts.StateMachineName))
		seed := opts.Seed ^ h.Sum64()
		e.rnd = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	return e, nil
}

// usesJSONata reports whether any state of sm (nested ones too) uses
// JSONata.
func usesJSONata(sm *asl.StateMachine) bool {
	if sm == nil {
		return false
	}
	if sm.QueryLanguage == asl.QueryLanguageJSONata {
		return true
	}
	for _, st := range sm.States {
		if st.QueryLanguage == asl.QueryLanguageJSONata {
			return true
		}
		for _, b := range st.Branches {
			if usesJSONata(b) {
				return true
			}
		}
		if usesJSONata(st.Processor()) {
			return true
		}
	}
	return false
}

// StateMachineARN returns the ARN of the state machine.
func (e *Engine) StateMachineARN() string { return e.arn }

// newID returns a version 4 UUID, deterministic when Options.Seed is set.
func (e *Engine) newID() string {
	b := e.newUUID()
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// newUUID returns the bytes of a version 4 UUID, deterministic when
// Options.Seed is set.
func (e *Engine) newUUID() [16]byte {
	var b [16]byte
	if e.rnd != nil {
		e.mu.Lock()
		for i := range b {
			b[i] = byte(e.rnd.UintN(256))
		}
		e.mu.Unlock()
	} else {
		_, _ = rand.Read(b[:])
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// randFloat returns a uniform float in [0,1).
func (e *Engine) randFloat() float64 {
	if e.rnd != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.rnd.Float64()
	}
	return mrand.Float64()
}

// randInt returns a uniform integer in [0,n).
func (e *Engine) randInt(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if e.rnd != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.rnd.Int64N(n)
	}
	return mrand.Int64N(n)
}

// StartOption configures one execution.
type StartOption func(*startConfig)

type startConfig struct {
	name  string
	onEnd func(*Execution)
}

// startOptions applies opts.
func startOptions(opts []StartOption) startConfig {
	var cfg startConfig
	if len(opts) > 0 {
		c := new(startConfig)
		for _, o := range opts {
			o(c)
		}
		cfg = *c
	}
	return cfg
}

// WithName sets the execution name (default: a UUID).
func WithName(name string) StartOption { return func(c *startConfig) { c.name = name } }

// WithOnEnd calls f on the execution's goroutine once it has ended (Done
// is closed, Wait returns at once), before the execution stops counting as
// a participant of a virtual clock: what f records about the end happens
// before the clock can move.
func WithOnEnd(f func(*Execution)) StartOption { return func(c *startConfig) { c.onEnd = f } }

// Result is the outcome of an execution.
type Result struct {
	Status Status
	// Output is the final output when Status is SUCCEEDED.
	Output json.RawMessage
	// Error and Cause describe a FAILED, TIMED_OUT or ABORTED execution;
	// either may be empty.
	Error, Cause string
}

// Execution is one run of the state machine.
type Execution struct {
	eng   *Engine
	name  string
	input any
	start time.Time
	hist  *history
	// ownHist is hist's storage and root the top-level thread, saving
	// two allocations per execution.
	ownHist history
	root    thread

	// ctxExec is $$.Execution, made on first use.
	ctxOnce sync.Once
	ctxExec map[string]any

	cancel context.CancelCauseFunc
	done   chan struct{}
	result Result
	// participant: the root thread counts as a participant of the engine's
	// virtual clock, until the execution has ended.
	participant bool
	onEnd       func(*Execution)
}

// abortError is the cancellation cause of a stopped execution.
type abortError struct{ errName, cause string }

// Error implements error.
func (a *abortError) Error() string { return "execution aborted" }

// asAbort returns the *abortError in err's chain, nil when there is none.
func asAbort(err error) *abortError {
	if ab, ok := err.(*abortError); ok || err == nil {
		return ab
	}
	var ab *abortError
	errors.As(err, &ab)
	return ab
}

// Start starts an execution with the given JSON input (empty means {}) and
// returns at once; Wait gives the result.
func (e *Engine) Start(ctx context.Context, input json.RawMessage, opts ...StartOption) (*Execution, error) {
	x, runCtx, err := e.prepare(ctx, input, opts, true, false)
	if err != nil {
		return nil, err
	}
	go x.run(runCtx)
	return x, nil
}

// prepare makes an execution ready to run.
//
// On a virtual clock the execution's root thread is a participant of the
// clock from here until it ends. An execution run inline (on the calling
// goroutine) by a participant of the same clock takes that participant's
// turn instead: the caller cannot run while it does.
func (e *Engine) prepare(ctx context.Context, input json.RawMessage, opts []StartOption, keepHistory, inline bool) (*Execution, context.Context, error) {
	cfg := startOptions(opts)
	if cfg.name == "" {
		cfg.name = e.newID()
	}
	var in any
	if len(bytes.TrimSpace(input)) > 0 {
		v, err := jsonpath.Decode(input)
		if err != nil {
			return nil, nil, fmt.Errorf("interp: execution input is not JSON: %w", err)
		}
		in = v
	} else {
		in = map[string]any{}
	}
	if len(input) > e.opts.MaxPayloadBytes {
		return nil, nil, fmt.Errorf("interp: execution input exceeds %d bytes", e.opts.MaxPayloadBytes)
	}
	x := &Execution{
		eng:   e,
		onEnd: cfg.onEnd,
		name:  cfg.name,
		input: in,
		start: e.opts.Clock.Now(),
		done:  make(chan struct{}),
	}
	if keepHistory {
		x.ownHist.init(e.opts.Clock, int(e.histSize.Load()))
	} else {
		x.ownHist = history{clock: e.opts.Clock, discard: true}
	}
	x.hist = &x.ownHist
	x.ownHist.limit = e.maxEvents
	if ctx.Done() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	x.cancel = cancel
	if x.ownHist.limit > 0 {
		x.ownHist.onFull = func() { cancel(errHistoryFull) }
	}
	if e.vc != nil {
		if !inline || participantClock(ctx) != e.vc {
			e.vc.enter()
			x.participant = true
		}
		runCtx = context.WithValue(runCtx, participantKey{}, e.vc)
	}
	return x, runCtx, nil
}

// Run starts an execution and waits for its result. When ctx can end the
// wait (it has a Done channel), the execution runs on a goroutine of its
// own and goes on after the wait ends; otherwise it runs on the caller's.
// Run keeps no history, which no one could read: use Start or Execute for
// one.
func (e *Engine) Run(ctx context.Context, input json.RawMessage, opts ...StartOption) (Result, error) {
	inline := ctx.Done() == nil
	x, runCtx, err := e.prepare(ctx, input, opts, false, inline)
	if err != nil {
		return Result{}, err
	}
	if inline {
		x.run(runCtx)
		return x.result, nil
	}
	go x.run(runCtx)
	return x.Wait(ctx)
}

// Execute runs an execution on the calling goroutine until it ends and
// returns it, for its result, history and states. When ctx ends first, the
// execution is stopped: it ends ABORTED with the context's error as cause,
// and Execute returns it with that error. Execute saves the goroutine
// handoffs of Start and Wait, which matter for short executions.
func (e *Engine) Execute(ctx context.Context, input json.RawMessage, opts ...StartOption) (*Execution, error) {
	x, runCtx, err := e.prepare(ctx, input, opts, true, true)
	if err != nil {
		return nil, err
	}
	var stopped atomic.Bool
	if ctx.Done() != nil {
		release := context.AfterFunc(ctx, func() {
			stopped.Store(true)
			x.cancel(&abortError{cause: context.Cause(ctx).Error()})
		})
		defer release()
	}
	x.run(runCtx)
	if stopped.Load() && x.result.Status == StatusAborted {
		return x, context.Cause(ctx)
	}
	return x, nil
}

// contextExecution returns $$.Execution, made once per execution.
func (x *Execution) contextExecution() map[string]any {
	x.ctxOnce.Do(func() {
		m := map[string]any{
			"Id":        x.ARN(),
			"Input":     x.input,
			"Name":      x.name,
			"RoleArn":   x.eng.opts.RoleArn,
			"StartTime": formatTime(x.start),
		}
		if !x.eng.opts.Express {
			m["RedriveCount"] = jsonInt(0)
		}
		x.ctxExec = m
	})
	return x.ctxExec
}

// ARN returns the execution ARN.
func (x *Execution) ARN() string { return x.eng.execARNPrefix + x.name }

// Name returns the execution name.
func (x *Execution) Name() string { return x.name }

// Wait blocks until the execution ends or ctx is done. A participant of
// the engine's virtual clock (code an execution calls) waits idle: see
// Idle.
func (x *Execution) Wait(ctx context.Context) (Result, error) {
	select {
	case <-x.done:
		return x.result, nil
	default:
	}
	resume := Idle(ctx)
	defer resume()
	select {
	case <-x.done:
		return x.result, nil
	case <-ctx.Done():
		return Result{Status: StatusRunning}, ctx.Err()
	}
}

// Status returns the execution's result so far: Status is RUNNING until it
// has ended.
func (x *Execution) Status() Result {
	select {
	case <-x.done:
		return x.result
	default:
		return Result{Status: StatusRunning}
	}
}

// Input returns the execution input.
func (x *Execution) Input() json.RawMessage { return json.RawMessage(encodeJSON(x.input)) }

// StartTime returns when the execution started, on the engine's clock.
func (x *Execution) StartTime() time.Time { return x.start }

// Done returns a channel closed when the execution has ended.
func (x *Execution) Done() <-chan struct{} { return x.done }

// Stop aborts a running execution (StopExecution): it ends ABORTED with the
// given error and cause.
func (x *Execution) Stop(errName, cause string) error {
	select {
	case <-x.done:
		return ErrNotRunning
	default:
	}
	x.cancel(&abortError{errName: errName, cause: cause})
	<-x.done
	return nil
}

// History returns the events recorded so far.
func (x *Execution) History() []Event { return x.hist.snapshot() }

// StatesEntered returns the names of the states entered so far, in the
// order of their StateEntered events (nested states included; the states of
// distributed Map child executions are not part of this history).
func (x *Execution) StatesEntered() []string { return x.hist.statesEntered() }

// run executes the state machine and records the result.
func (x *Execution) run(ctx context.Context) {
	if x.participant {
		defer x.eng.vc.exit() // after done is closed: a waiter resumes first
	}
	if x.onEnd != nil {
		defer x.onEnd(x)
	}
	defer close(x.done)
	defer func() {
		// An interpreter bug must not take the host process down: the
		// execution fails instead.
		if p := recover(); p != nil {
			x.result = Result{Status: StatusFailed, Error: asl.ErrorRuntime, Cause: fmt.Sprintf("internal interpreter error: %v", p)}
			x.hist.add(0, Event{Type: EventExecutionFailed, Error: x.result.Error, Cause: x.result.Cause})
		}
	}()
	e := x.eng
	defer func() { e.histSize.Store(int64(x.hist.len())) }()
	startID, _ := x.hist.record(0, EventExecutionStarted, "", nil, x.input, lazyInput)
	if e.def.TimeoutSeconds != nil && *e.def.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = e.opts.Clock.WithTimeout(ctx, time.Duration(*e.def.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	ql := e.def.QueryLanguage
	if ql == "" {
		ql = asl.QueryLanguageJSONPath
	}
	th := &x.root
	th.init(x, x.hist, startID, nil, ql)
	out, serr := th.runMachine(ctx, e.def, x.input)
	ab := asAbort(context.Cause(ctx))
	switch {
	case context.Cause(ctx) == errHistoryFull:
		x.result = Result{Status: StatusFailed, Error: asl.ErrorRuntime,
			Cause: fmt.Sprintf("The execution reached the maximum number of history events (%d).", e.maxEvents)}
		x.hist.add(th.prev, Event{Type: EventExecutionFailed, Error: x.result.Error, Cause: x.result.Cause})
	case ab != nil:
		x.result = Result{Status: StatusAborted, Error: ab.errName, Cause: ab.cause}
		x.hist.add(th.prev, Event{Type: EventExecutionAborted, Error: ab.errName, Cause: ab.cause})
	case ctx.Err() == context.DeadlineExceeded && (serr == nil || serr.Name == asl.ErrorTimeout || serr.Name == "interp.Canceled"):
		x.result = Result{Status: StatusTimedOut, Error: asl.ErrorTimeout}
		x.hist.add(th.prev, Event{Type: EventExecutionTimedOut, Error: asl.ErrorTimeout})
	case serr != nil:
		x.result = Result{Status: StatusFailed, Error: serr.Name, Cause: serr.Cause}
		x.hist.add(th.prev, Event{Type: EventExecutionFailed, Error: serr.Name, Cause: serr.Cause})
	default:
		x.result = Result{Status: StatusSucceeded, Output: encodeRaw(out)}
		x.hist.record(th.prev, EventExecutionSucceeded, "", nil, out, lazyOutput)
	}
}

// encodeRaw renders a value as compact JSON text, "null" for one that
// does not encode.
func encodeRaw(v any) json.RawMessage {
	b, err := jsonpath.Encode(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// encodeJSON renders a value as compact JSON text.
func encodeJSON(v any) string {
	s, err := jsonpath.EncodeString(v)
	if err != nil {
		return "null"
	}
	return s
}
