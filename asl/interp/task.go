package interp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// jsonInt returns n as a JSON number.
func jsonInt(n int) json.Number { return json.Number(strconv.Itoa(n)) }

// TaskRequest is what a task resource receives.
type TaskRequest struct {
	// Resource is the resource ARN without a ".waitForTaskToken" suffix.
	Resource string
	// Parameters is the effective input of the task (after InputPath and
	// Parameters), a JSON value (see package jsonpath).
	Parameters any
	// StateName names the Task state.
	StateName string
	// TaskToken is set for ".waitForTaskToken" integrations: the task ends
	// when SendTaskSuccess or SendTaskFailure is called with it.
	TaskToken string
	// ExecutionARN names the execution.
	ExecutionARN string
}

// Resource runs Task states whose Resource it is registered for. It returns
// the task result as a JSON value. An error that is a *StatesError fails the
// task with that error name and cause; any other error fails it with
// States.TaskFailed.
type Resource interface {
	Invoke(ctx context.Context, req *TaskRequest) (any, error)
}

// ResourceFunc adapts a function to Resource.
type ResourceFunc func(ctx context.Context, req *TaskRequest) (any, error)

// Invoke implements Resource.
func (f ResourceFunc) Invoke(ctx context.Context, req *TaskRequest) (any, error) { return f(ctx, req) }

// Suffixes of integration patterns.
const (
	suffixWaitForTaskToken = ".waitForTaskToken"
	suffixSync             = ".sync"
	lambdaInvokeARN        = "arn:aws:states:::lambda:invoke"
)

// tokenWaiter is a task waiting for SendTask* calls.
type tokenWaiter struct {
	result    chan tokenResult
	heartbeat chan struct{}

	// On a virtual clock the waiting task is idle; a SendTask* call wakes
	// it (hands it a turn) before it signals it.
	mu     sync.Mutex
	vc     *VirtualClock
	idleOf *idleWait
}

// idle marks the waiting task idle unless a call is already pending, and
// lets the clock move.
func (w *tokenWaiter) idle(ctx context.Context) {
	w.mu.Lock()
	if len(w.result) == 0 && len(w.heartbeat) == 0 {
		w.idleOf = w.vc.goIdle(ctx)
	}
	w.mu.Unlock()
	w.vc.moveIfQuiescent()
}

// wake ends the task's idle wait, if any.
func (w *tokenWaiter) wake() {
	if w.vc == nil {
		return
	}
	w.mu.Lock()
	if w.idleOf != nil {
		w.vc.wake(w.idleOf)
		w.idleOf = nil
	}
	w.mu.Unlock()
}

type tokenResult struct {
	output any
	err    *StatesError
}

// TaskTokens routes SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat
// to the task waiting on a token. Engines share one when Options.Tokens is
// set, so that a single callback API serves several state machines. The
// zero value is not usable; call NewTaskTokens.
type TaskTokens struct {
	mu sync.Mutex
	m  map[string]*tokenWaiter
}

// NewTaskTokens returns an empty token registry.
func NewTaskTokens() *TaskTokens { return &TaskTokens{m: map[string]*tokenWaiter{}} }

func (t *TaskTokens) register(token string, w *tokenWaiter) {
	t.mu.Lock()
	t.m[token] = w
	t.mu.Unlock()
}

func (t *TaskTokens) forget(token string) {
	t.mu.Lock()
	delete(t.m, token)
	t.mu.Unlock()
}

// SendTaskSuccess completes the task waiting on token with output. An
// unknown or completed token gives ErrUnknownToken.
func (t *TaskTokens) SendTaskSuccess(token string, output json.RawMessage) error {
	v, err := jsonpath.Decode(output)
	if err != nil {
		return fmt.Errorf("interp: task output is not JSON: %w", err)
	}
	return t.complete(token, tokenResult{output: v})
}

// SendTaskFailure fails the task waiting on token with errName and cause.
func (t *TaskTokens) SendTaskFailure(token, errName, cause string) error {
	return t.complete(token, tokenResult{err: &StatesError{Name: errName, Cause: cause, HasName: errName != "", HasCause: cause != ""}})
}

// SendTaskHeartbeat reports that the task waiting on token is alive.
func (t *TaskTokens) SendTaskHeartbeat(token string) error {
	t.mu.Lock()
	w, ok := t.m[token]
	t.mu.Unlock()
	if !ok {
		return ErrUnknownToken
	}
	w.wake()
	select {
	case w.heartbeat <- struct{}{}:
	default:
	}
	return nil
}

func (t *TaskTokens) complete(token string, r tokenResult) error {
	t.mu.Lock()
	w, ok := t.m[token]
	if ok {
		delete(t.m, token)
	}
	t.mu.Unlock()
	if !ok {
		return ErrUnknownToken
	}
	w.wake()
	w.result <- r
	return nil
}

// SendTaskSuccess completes the task waiting on token with output.
func (e *Engine) SendTaskSuccess(token string, output json.RawMessage) error {
	return e.tokens.SendTaskSuccess(token, output)
}

// SendTaskFailure fails the task waiting on token.
func (e *Engine) SendTaskFailure(token, errName, cause string) error {
	return e.tokens.SendTaskFailure(token, errName, cause)
}

// SendTaskHeartbeat reports that the task waiting on token is alive.
func (e *Engine) SendTaskHeartbeat(token string) error { return e.tokens.SendTaskHeartbeat(token) }

// resolveResource finds the user resource registered for arn.
func (e *Engine) resolveResource(arn string) Resource {
	if r, ok := e.opts.Resources[arn]; ok {
		return r
	}
	var best Resource
	bestLen := -1
	for k, r := range e.opts.Resources {
		if strings.HasSuffix(k, "*") {
			p := strings.TrimSuffix(k, "*")
			if strings.HasPrefix(arn, p) && len(p) > bestLen {
				best, bestLen = r, len(p)
			}
		}
	}
	return best
}

// runWithErrorHandling runs a Task, Parallel or Map state with its Retry and
// Catch.
func (sr *stateRun) runWithErrorHandling(ctx context.Context, input any) (any, string, *StatesError) {
	st := sr.st
	eff := input
	if !sr.jsonata {
		var serr *StatesError
		if eff, serr = sr.inputPath(input); serr != nil {
			return nil, "", serr
		}
	}
	retries := make([]int, len(st.Retry))
	for {
		result, serr := sr.attempt(ctx, eff)
		if serr == nil {
			return sr.finish(input, result)
		}
		// States.Runtime is final; so is any failure once the execution
		// is stopped or timed out.
		if serr == canceledError || serr.Name == asl.ErrorRuntime || ctx.Err() != nil {
			return nil, "", serr
		}
		if delay, ok := sr.retryDelay(serr.Name, retries); ok {
			if delay > 0 {
				if err := sr.th.x.eng.opts.Clock.Sleep(ctx, delay); err != nil {
					return nil, "", ctxError(ctx)
				}
			}
			sr.retryCount++
			continue
		}
		for _, c := range st.Catch {
			if !errorMatches(c.ErrorEquals, serr.Name) {
				continue
			}
			errOut := map[string]any{}
			if serr.HasName || serr.Name != "" {
				errOut["Error"] = serr.Name
			}
			if serr.HasCause || serr.Cause != "" {
				errOut["Cause"] = serr.Cause
			}
			if sr.jsonata {
				states := sr.statesVar(input, map[string]any{"errorOutput": errOut})
				out, serr := sr.jsonataFinish(c.Assign, c.Output, errOut, states)
				if serr != nil {
					return nil, "", serr
				}
				return out, c.Next, nil
			}
			if c.Assign != nil {
				if aerr := sr.assign(c.Assign, errOut); aerr != nil {
					return nil, "", aerr
				}
			}
			out, perr := sr.resultPath(c.ResultPath, input, errOut)
			if perr != nil {
				return nil, "", perr
			}
			return out, c.Next, nil
		}
		return nil, "", serr
	}
}

// retryDelay picks the retrier for an error and returns the delay before
// the next attempt; ok is false when no retry is left.
func (sr *stateRun) retryDelay(name string, counts []int) (time.Duration, bool) {
	for i, r := range sr.st.Retry {
		if !errorMatches(r.ErrorEquals, name) {
			continue
		}
		maxAttempts := 3
		if r.MaxAttempts != nil {
			maxAttempts = *r.MaxAttempts
		}
		if counts[i] >= maxAttempts {
			return 0, false
		}
		interval := 1.0
		if r.IntervalSeconds != nil {
			interval = float64(*r.IntervalSeconds)
		}
		backoff := 2.0
		if r.BackoffRate != nil {
			backoff = *r.BackoffRate
		}
		delay := interval * math.Pow(backoff, float64(counts[i]))
		if r.MaxDelaySeconds != nil && delay > float64(*r.MaxDelaySeconds) {
			delay = float64(*r.MaxDelaySeconds)
		}
		if r.JitterStrategy == asl.JitterStrategyFull {
			delay *= sr.th.x.eng.randFloat()
		}
		counts[i]++
		return time.Duration(delay * float64(time.Second)), true
	}
	return 0, false
}

// attempt runs the body of a Task, Parallel or Map state once and returns
// its raw result.
func (sr *stateRun) attempt(ctx context.Context, eff any) (any, *StatesError) {
	switch sr.st.Type {
	case asl.TypeTask:
		return sr.runTask(ctx, eff)
	case asl.TypeParallel:
		return sr.runParallel(ctx, eff)
	default:
		return sr.runMap(ctx, eff)
	}
}

// finish applies ResultSelector, ResultPath, Assign and OutputPath.
func (sr *stateRun) finish(input, result any) (any, string, *StatesError) {
	st := sr.st
	if sr.jsonata {
		states := sr.statesVar(input, map[string]any{"result": result})
		out, serr := sr.jsonataFinish(st.Assign, st.Output, result, states)
		return out, st.Next, serr
	}
	if len(st.ResultSelector) > 0 {
		r, serr := sr.template(st.ResultSelector, result)
		if serr != nil {
			return nil, "", serr
		}
		result = r
	}
	if serr := sr.assign(st.Assign, result); serr != nil {
		return nil, "", serr
	}
	out, serr := sr.resultPath(st.ResultPath, input, result)
	if serr != nil {
		return nil, "", serr
	}
	out, serr = sr.outputPath(out)
	return out, st.Next, serr
}

// secondsField resolves TimeoutSeconds/HeartbeatSeconds and their Path
// forms; 0 means unset.
func (sr *stateRun) secondsField(n *asl.Number, path, field string, eff any) (time.Duration, *StatesError) {
	if n != nil && n.IsExpr() {
		f, _, serr := sr.jsonataNumber(n, field, sr.statesVar(eff, nil))
		if serr != nil {
			return 0, serr
		}
		if f <= 0 || f != float64(int64(f)) {
			return 0, sr.qeErr("The %s field must be a positive integer, but was: %v", field, f)
		}
		return time.Duration(f) * time.Second, nil
	}
	if n != nil {
		v, ok := n.Int64()
		if !ok || v <= 0 {
			return 0, sr.rtErr("The %s field must be a positive integer", field)
		}
		return time.Duration(v) * time.Second, nil
	}
	if path == "" {
		return 0, nil
	}
	v, serr := sr.getPath(path, eff)
	if serr != nil {
		return 0, serr
	}
	i, ok := jsonpath.Int(v)
	if !ok || i <= 0 {
		return 0, sr.rtErr("The %sPath field refers to value \"%s\" which is not a valid positive integer: %s", field, plainText(v), path)
	}
	return time.Duration(i) * time.Second, nil
}

// runTask runs a Task state once.
func (sr *stateRun) runTask(ctx context.Context, eff any) (any, *StatesError) {
	sr.resultSized = false
	st := sr.st
	x := sr.th.x
	e := x.eng
	resource := st.Resource
	wait := strings.HasSuffix(resource, suffixWaitForTaskToken)
	base := strings.TrimSuffix(resource, suffixWaitForTaskToken)
	if wait {
		sr.taskToken = e.newID()
	}
	params, serr := sr.taskArguments(eff)
	if serr != nil {
		return nil, serr
	}
	timeout, serr := sr.secondsField(st.TimeoutSeconds, st.TimeoutSecondsPath, "TimeoutSeconds", eff)
	if serr != nil {
		return nil, serr
	}
	heartbeat, serr := sr.secondsField(st.HeartbeatSeconds, st.HeartbeatSecondsPath, "HeartbeatSeconds", eff)
	if serr != nil {
		return nil, serr
	}
	isLegacyLambda := strings.HasPrefix(base, "arn:aws:lambda:") || strings.Contains(base, ":lambda:") && strings.Contains(base, ":function:")
	user := e.resolveResource(base)
	if user != nil {
		isLegacyLambda = false
	}
	evScheduled, evStarted, evSucceeded, evFailed, evTimedOut := EventTaskScheduled, EventTaskStarted, EventTaskSucceeded, EventTaskFailed, EventTaskTimedOut
	if isLegacyLambda {
		evScheduled, evStarted, evSucceeded, evFailed, evTimedOut = EventLambdaScheduled, EventLambdaStarted, EventLambdaSucceeded, EventLambdaFailed, EventLambdaTimedOut
	}
	evResource, evResourceType := resourceParts(resource, isLegacyLambda)
	ev := func(ev Event) {
		ev.Resource, ev.ResourceType = evResource, evResourceType
		sr.th.event(ev)
	}
	res := &Event{Resource: evResource, ResourceType: evResourceType} // shared by the events below
	evIO := func(typ EventType, val any, lazy uint8) { sr.th.eventIO(typ, "", res, val, lazy) }
	evIO(evScheduled, params, lazyInput)
	evIO(evStarted, nil, 0)

	// A request-response task cannot send heartbeats: a heartbeat interval
	// shorter than the timeout bounds it and fails it with
	// States.HeartbeatTimeout.
	timeoutName := asl.ErrorTimeout
	if !wait && heartbeat > 0 && (timeout == 0 || heartbeat < timeout) {
		timeout, timeoutName = heartbeat, asl.ErrorHeartbeatTimeout
	}
	tctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = e.opts.Clock.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var w *tokenWaiter
	if wait {
		w = &tokenWaiter{result: make(chan tokenResult, 1), heartbeat: make(chan struct{}, 1), vc: e.vc}
		e.tokens.register(sr.taskToken, w)
		defer e.tokens.forget(sr.taskToken)
	}
	req := &TaskRequest{Resource: base, Parameters: params, StateName: sr.name, TaskToken: sr.taskToken, ExecutionARN: x.ARN()}
	var result any
	var err error
	switch {
	case user != nil:
		// The resource gets a copy of its parameters and its result is
		// copied: values are shared inside the interpreter and never
		// modified, which code outside it does not promise. The copy of
		// the result also turns Go numbers into json.Number.
		req.Parameters = jsonpath.Clone(params)
		result, err = user.Invoke(tctx, req)
		if err != nil {
			var se *StatesError
			if !errors.As(err, &se) {
				err = newError(asl.ErrorTaskFailed, err.Error())
			}
		} else {
			result = jsonpath.Clone(result)
		}
	case base == lambdaInvokeARN:
		result, err = sr.invokeLambdaService(tctx, params)
	case isLegacyLambda:
		result, err = sr.invokeLambdaARN(tctx, base, params)
	default:
		err = newError(asl.ErrorRuntime, runtimeError(sr.name, sr.entered, "The resource '%s' is not supported by this interpreter; register it in Options.Resources", resource).Cause)
	}
	if err == nil && wait {
		evIO(EventTaskSubmitted, result, lazyOutput)
		result, err = sr.awaitToken(tctx, w, heartbeat)
	}
	if err != nil {
		if tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			ev(Event{Type: evTimedOut, Error: timeoutName})
			return nil, &StatesError{Name: timeoutName, HasName: true}
		}
		if ctx.Err() != nil {
			return nil, ctxError(ctx)
		}
		se := asStatesError(err)
		if se.Name == asl.ErrorHeartbeatTimeout || se.Name == asl.ErrorTimeout {
			ev(Event{Type: evTimedOut, Error: se.Name, Cause: se.Cause})
		} else {
			ev(Event{Type: evFailed, Error: se.Name, Cause: se.Cause})
		}
		return nil, se
	}
	label := base
	if base == lambdaInvokeARN {
		label = "lambda"
	}
	if serr := sr.checkSize(result, label); serr != nil {
		ev(Event{Type: evFailed, Error: serr.Name, Cause: serr.Cause})
		return nil, serr
	}
	sr.resultSized = true
	evIO(evSucceeded, result, lazyOutput)
	return result, nil
}

// resourceParts splits a resource ARN as task events report it: a service
// integration "arn:aws:states:::lambda:invoke.waitForTaskToken" has
// resource type "lambda" and resource "invoke.waitForTaskToken"; a Lambda
// function ARN is reported whole.
func resourceParts(resource string, legacyLambda bool) (res, typ string) {
	if legacyLambda {
		return resource, ""
	}
	if rest, ok := strings.CutPrefix(resource, "arn:aws:states:::"); ok {
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			return rest[i+1:], rest[:i]
		}
	}
	return resource, ""
}

// taskArguments computes the effective parameters of a Task or Parallel
// state: Parameters (JSONPath) or Arguments (JSONata); the input when absent.
func (sr *stateRun) taskArguments(eff any) (any, *StatesError) {
	st := sr.st
	if sr.jsonata {
		if len(st.Arguments) == 0 {
			return eff, nil
		}
		return sr.evalRaw(st.Arguments, "Arguments", sr.statesVar(eff, nil))
	}
	if len(st.Parameters) > 0 {
		return sr.template(st.Parameters, eff)
	}
	return eff, nil
}

// awaitToken waits for SendTaskSuccess/Failure, honouring the heartbeat.
func (sr *stateRun) awaitToken(ctx context.Context, w *tokenWaiter, heartbeat time.Duration) (any, error) {
	clock := sr.th.x.eng.opts.Clock
	for {
		hctx, cancel := ctx, context.CancelFunc(func() {})
		if heartbeat > 0 {
			hctx, cancel = clock.WithTimeout(ctx, heartbeat)
		}
		if w.vc != nil {
			w.idle(hctx)
		}
		var r tokenResult
		got, beat := false, false
		select {
		case r = <-w.result:
			got = true
		case <-w.heartbeat:
			beat = true
		case <-hctx.Done():
		}
		w.wake()
		cancel()
		switch {
		case beat:
			continue
		case !got && ctx.Err() != nil:
			return nil, ctx.Err()
		case !got:
			return nil, &StatesError{Name: asl.ErrorHeartbeatTimeout, HasName: true}
		case r.err != nil:
			return nil, r.err
		}
		return r.output, nil
	}
}

// invokeLambdaARN runs the legacy integration: Resource is the function ARN
// and the result is the function's payload.
func (sr *stateRun) invokeLambdaARN(ctx context.Context, arn string, params any) (any, error) {
	inv := sr.th.x.eng.opts.Lambda
	if inv == nil {
		return nil, newError("Lambda.ServiceException", "no LambdaInvoker configured")
	}
	payload, err := jsonpath.Encode(params)
	if err != nil {
		return nil, newError(asl.ErrorRuntime, err.Error())
	}
	out, err := inv.Invoke(ctx, arn, payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, lambdaError(err, true)
	}
	return decodePayload(out)
}

// decodePayload decodes a Lambda response payload.
func decodePayload(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	v, err := jsonpath.Decode(b)
	if err != nil {
		return nil, newError("Lambda.Unknown", "The Lambda function returned a payload that is not JSON")
	}
	return v, nil
}

// traceID returns an X-Amzn-Trace-Id value, "Root=1-" and 8 and 24 hex
// digits: those of UUIDs a and b without their dashes.
func traceID(a, b [16]byte) string {
	var out [7 + 8 + 1 + 24]byte
	copy(out[:], "Root=1-")
	hex.Encode(out[7:15], a[:4])
	out[15] = '-'
	hex.Encode(out[16:], b[:12])
	return string(out[:])
}

// invokeLambdaService runs arn:aws:states:::lambda:invoke: Parameters hold
// FunctionName and Payload; the result is the Invoke API response.
func (sr *stateRun) invokeLambdaService(ctx context.Context, params any) (any, error) {
	e := sr.th.x.eng
	inv := e.opts.Lambda
	if inv == nil {
		return nil, newError("Lambda.ServiceException", "no LambdaInvoker configured")
	}
	m, _ := params.(map[string]any)
	fn, _ := m["FunctionName"].(string)
	if fn == "" {
		return nil, newError(asl.ErrorRuntime, runtimeError(sr.name, sr.entered, "The field 'FunctionName' is required").Cause)
	}
	// A string Payload is sent as is (it is the JSON text of the event);
	// a missing or null Payload sends an empty object.
	payload := []byte("{}")
	switch p := m["Payload"].(type) {
	case nil:
	case string:
		payload = []byte(p)
	default:
		b, err := jsonpath.Encode(p)
		if err != nil {
			return nil, newError(asl.ErrorRuntime, err.Error())
		}
		payload = b
	}
	async := false
	if it, _ := m["InvocationType"].(string); it == "Event" {
		async = true
	}
	out, err := inv.Invoke(ctx, fn, payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, lambdaError(err, false)
	}
	if async {
		// An asynchronous invocation returns no payload and status 202.
		out = nil
	}
	body, err := decodePayload(out)
	if err != nil {
		return nil, err
	}
	reqID := e.newID()
	date := e.opts.Clock.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
	trace := traceID(e.newUUID(), e.newUUID())
	headers := [...]struct{ k, v string }{
		{"Connection", "keep-alive"},
		{"Content-Length", strconv.Itoa(len(out))},
		{"Content-Type", "application/json"},
		{"Date", date},
		{"X-Amz-Executed-Version", "$LATEST"},
		{"X-Amzn-Trace-Id", trace},
		{"x-amzn-Remapped-Content-Length", "0"},
		{"x-amzn-RequestId", reqID},
	}
	all := make(map[string]any, len(headers))
	flat := make(map[string]any, len(headers))
	lists := make([]any, len(headers)) // the one-value lists of all, side by side
	for i, h := range headers {
		v := any(h.v)
		lists[i] = v
		all[h.k] = lists[i : i+1 : i+1]
		flat[h.k] = v
	}
	res := map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         body,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": all,
			"HttpHeaders":    flat,
			"HttpStatusCode": jsonInt(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": reqID},
		"StatusCode":          jsonInt(200),
	}
	if async {
		res["Payload"] = ""
		res["StatusCode"] = jsonInt(202)
		res["SdkHttpMetadata"].(map[string]any)["HttpStatusCode"] = jsonInt(202)
	}
	if lt, _ := m["LogType"].(string); lt == "Tail" {
		log := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("START RequestId: %s Version: $LATEST\nEND RequestId: %s\nREPORT RequestId: %s\n", reqID, reqID, reqID)))
		res["LogResult"] = log
		all["X-Amz-Log-Result"] = []any{log}
		flat["X-Amz-Log-Result"] = log
	}
	return res, nil
}
