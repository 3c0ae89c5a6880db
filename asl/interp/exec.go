package interp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/intrinsic"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// scope holds workflow variables; inner scopes (Map iterations, Parallel
// branches) read the outer ones and write their own.
type scope struct {
	mu     sync.Mutex
	parent *scope
	vars   map[string]any
}

func newScope(parent *scope) *scope { return &scope{parent: parent, vars: map[string]any{}} }

// get returns the value of a variable.
func (s *scope) get(name string) (any, bool) {
	for c := s; c != nil; c = c.parent {
		c.mu.Lock()
		v, ok := c.vars[name]
		c.mu.Unlock()
		if ok {
			return v, true
		}
	}
	return nil, false
}

// setAll assigns variables at once.
func (s *scope) setAll(vals map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range vals {
		s.vars[k] = v
	}
}

// thread runs one state machine (the top level, a Parallel branch or a Map
// iteration) and records its events.
type thread struct {
	x    *Execution
	hist *history
	prev int64
	vars *scope
	ql   string // the query language states default to
}

// event records an event of this thread.
func (th *thread) event(ev Event) int64 {
	id := th.hist.add(th.prev, ev)
	th.prev = id
	return id
}

// child returns a thread for a nested machine; a nil hist shares this one's.
func (th *thread) child(hist *history) *thread {
	if hist == nil {
		hist = th.hist
	}
	return &thread{x: th.x, hist: hist, prev: th.prev, vars: newScope(th.vars), ql: th.ql}
}

// canceledError marks a state interrupted because its context ended.
var canceledError = &StatesError{Name: "interp.Canceled", HasName: true}

// runMachine runs sm from StartAt with input until a terminal state.
func (th *thread) runMachine(ctx context.Context, sm *asl.StateMachine, input any) (any, *StatesError) {
	name := sm.StartAt
	cur := input
	for {
		st, ok := sm.States[name]
		if !ok {
			return nil, newError(asl.ErrorRuntime, fmt.Sprintf("state '%s' does not exist", name))
		}
		if ctx.Err() != nil {
			return nil, ctxError(ctx)
		}
		out, next, err := th.runState(ctx, name, st, cur)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, cur = next, out
	}
}

// safeRunMachine is runMachine for a goroutine of its own: a panic fails
// the machine with States.Runtime instead of crashing the process.
func (th *thread) safeRunMachine(ctx context.Context, sm *asl.StateMachine, input any) (out any, serr *StatesError) {
	defer func() {
		if p := recover(); p != nil {
			out, serr = nil, newError(asl.ErrorRuntime, fmt.Sprintf("internal interpreter error: %v", p))
		}
	}()
	return th.runMachine(ctx, sm, input)
}

// ctxError converts the end of a context to a StatesError.
func ctxError(ctx context.Context) *StatesError {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return &StatesError{Name: asl.ErrorTimeout, HasName: true}
	}
	return canceledError
}

// stateRun is the state being executed.
type stateRun struct {
	th          *thread
	name        string
	st          *asl.State
	entered     int64
	enteredTime time.Time
	retryCount  int
	rawInput    any
	taskToken   string
	mapItem     map[string]any
	jsonata     bool
}

// contextObject builds $$ for the state.
func (sr *stateRun) contextObject() map[string]any {
	x := sr.th.x
	e := x.eng
	state := map[string]any{"EnteredTime": formatTime(sr.enteredTime), "Name": sr.name}
	switch sr.st.Type {
	case asl.TypeTask, asl.TypeMap, asl.TypeParallel:
		state["RetryCount"] = jsonInt(sr.retryCount)
	}
	co := map[string]any{
		"Execution": map[string]any{
			"Id":           x.arn,
			"Input":        x.input,
			"Name":         x.name,
			"RoleArn":      e.opts.RoleArn,
			"StartTime":    formatTime(x.start),
			"RedriveCount": jsonInt(0),
		},
		"State": state,
		"StateMachine": map[string]any{
			"Id":   e.StateMachineARN(),
			"Name": e.opts.StateMachineName,
		},
	}
	if e.opts.Express {
		delete(co["Execution"].(map[string]any), "RedriveCount")
	}
	if sr.taskToken != "" {
		co["Task"] = map[string]any{"Token": sr.taskToken}
	}
	if sr.mapItem != nil {
		co["Map"] = map[string]any{"Item": sr.mapItem}
	}
	return co
}

// formatTime renders a time as Step Functions does in $$.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// rtErr builds a States.Runtime failure of this state.
func (sr *stateRun) rtErr(format string, args ...any) *StatesError {
	return runtimeError(sr.name, sr.entered, format, args...)
}

// resolvePath evaluates a path against the input, the context object or a
// variable, by its root.
func resolvePath(path string, input, ctxObj any, vars map[string]any) (any, error) {
	p, err := compilePath(path)
	if err != nil {
		return nil, err
	}
	switch p.Root() {
	case jsonpath.RootInput:
		return p.Get(input)
	case jsonpath.RootContext:
		return p.Get(ctxObj)
	}
	name, _ := p.Variable()
	v, ok := vars[name]
	if !ok {
		return nil, &jsonpath.NotFoundError{Path: path, Reason: "undefined variable " + name}
	}
	return p.Get(v)
}

// pathCache holds compiled paths by their text; definitions are finite, so
// it stays small.
var pathCache sync.Map

// compilePath compiles a path once.
func compilePath(path string) (*jsonpath.Path, error) {
	if p, ok := pathCache.Load(path); ok {
		return p.(*jsonpath.Path), nil
	}
	p, err := jsonpath.Compile(path)
	if err != nil {
		return nil, err
	}
	pathCache.Store(path, p)
	return p, nil
}

// varsView returns a flat view of the visible variables.
func (th *thread) varsView() map[string]any {
	out := map[string]any{}
	var chain []*scope
	for c := th.vars; c != nil; c = c.parent {
		chain = append(chain, c)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		chain[i].mu.Lock()
		for k, v := range chain[i].vars {
			out[k] = v
		}
		chain[i].mu.Unlock()
	}
	return out
}

// getPath evaluates a path field (InputPath, OutputPath, ItemsPath...) and
// reports a miss the way AWS does: "Invalid path '<p>' : <reason>".
func (sr *stateRun) getPath(path string, doc any) (any, *StatesError) {
	ctxObj := sr.contextObject()
	vars := sr.th.varsView()
	v, err := resolvePath(path, doc, ctxObj, vars)
	if err != nil {
		if isNotFound(err) {
			src := doc
			if strings.HasPrefix(path, "$$") {
				src = ctxObj
			} else if p, e := jsonpath.Compile(path); e == nil {
				if name, ok := p.Variable(); ok {
					src = vars[name]
				}
			}
			return nil, sr.rtErr("Invalid path '%s' : %s", path, notFoundReason(path, src))
		}
		return nil, sr.rtErr("Invalid path '%s' : %s", path, err.Error())
	}
	return v, nil
}

// getFieldPath evaluates the path of a newer "...Path" field (those of the
// distributed Map era) and reports a miss in the words AWS uses for them.
func (sr *stateRun) getFieldPath(path, field string, doc any) (any, *StatesError) {
	v, err := resolvePath(path, doc, sr.contextObject(), sr.th.varsView())
	if err != nil {
		if isNotFound(err) {
			return nil, sr.rtErr("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", path, field, encodeJSON(doc))
		}
		return nil, sr.rtErr("Invalid path '%s' : %s", path, err.Error())
	}
	return v, nil
}

// inputPath applies InputPath.
func (sr *stateRun) inputPath(input any) (any, *StatesError) {
	p := sr.st.InputPath
	if p == nil {
		return input, nil
	}
	if p.IsNull() {
		return map[string]any{}, nil
	}
	return sr.getPath(p.Value, input)
}

// outputPath applies OutputPath.
func (sr *stateRun) outputPath(output any) (any, *StatesError) {
	p := sr.st.OutputPath
	if p == nil {
		return output, nil
	}
	if p.IsNull() {
		return map[string]any{}, nil
	}
	return sr.getPath(p.Value, output)
}

// resultPath places result into input according to a ResultPath.
func (sr *stateRun) resultPath(p *asl.Path, input, result any) (any, *StatesError) {
	if p == nil {
		return result, nil
	}
	if p.IsNull() {
		return input, nil
	}
	if p.Value == "$" {
		return result, nil
	}
	out, err := jsonpath.Set(jsonpath.Clone(input), p.Value, result)
	if err != nil {
		var se *jsonpath.SetError
		if errors.As(err, &se) {
			return nil, sr.rtErr("Unable to apply ResultPath '%s' to input '%s': %s", p.Value, encodeJSON(input), se.Reason)
		}
		return nil, sr.rtErr("Invalid path '%s' : %s", p.Value, err.Error())
	}
	return out, nil
}

// intrinsicEnv returns the environment of intrinsic functions.
func (sr *stateRun) intrinsicEnv(input any, ctxObj any) *intrinsic.Env {
	e := sr.th.x.eng
	return &intrinsic.Env{
		Input:   input,
		Context: ctxObj,
		Variable: func(name string) (any, bool) {
			return sr.th.vars.get(name)
		},
		RandomInt: e.randInt,
		UUID:      e.newID,
	}
}

// evalDynamic evaluates the value of a ".$" field: a path or an intrinsic
// function call. field names the field for error messages.
func (sr *stateRun) evalDynamic(expr string, field string, input, ctxObj any) (any, *StatesError) {
	if intrinsic.IsIntrinsic(expr) {
		v, err := intrinsic.Eval(expr, sr.intrinsicEnv(input, ctxObj))
		if err != nil {
			var ie *intrinsic.Error
			if errors.As(err, &ie) {
				if isNotFound(err) {
					var nf *jsonpath.NotFoundError
					errors.As(err, &nf)
					return nil, sr.rtErr("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", nf.Path, field, encodeJSON(input))
				}
				return nil, &StatesError{Name: ie.Name, Cause: runtimeError(sr.name, sr.entered, "%s", ie.Cause).Cause, HasName: true, HasCause: true}
			}
			return nil, newError(asl.ErrorIntrinsicFailure, runtimeError(sr.name, sr.entered, "%s", err.Error()).Cause)
		}
		return v, nil
	}
	v, err := resolvePath(expr, input, ctxObj, sr.th.varsView())
	if err != nil {
		if isNotFound(err) {
			return nil, sr.rtErr("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", expr, field, encodeJSON(input))
		}
		return nil, sr.rtErr("%s", err.Error())
	}
	return v, nil
}

// template evaluates a payload template (Parameters, ResultSelector,
// ItemSelector, Assign): fields ending in ".$" are evaluated.
func (sr *stateRun) template(raw []byte, input any) (any, *StatesError) {
	tpl, err := jsonpath.Decode(raw)
	if err != nil {
		return nil, sr.rtErr("invalid payload template: %v", err)
	}
	return sr.applyTemplate(tpl, input, sr.contextObject())
}

func (sr *stateRun) applyTemplate(tpl any, input, ctxObj any) (any, *StatesError) {
	switch t := tpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			if strings.HasSuffix(k, ".$") {
				s, ok := v.(string)
				if !ok {
					return nil, sr.rtErr("The value of the field '%s' must be a string", k)
				}
				val, serr := sr.evalDynamic(s, k, input, ctxObj)
				if serr != nil {
					return nil, serr
				}
				out[strings.TrimSuffix(k, ".$")] = jsonpath.Clone(val)
				continue
			}
			val, serr := sr.applyTemplate(v, input, ctxObj)
			if serr != nil {
				return nil, serr
			}
			out[k] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			val, serr := sr.applyTemplate(v, input, ctxObj)
			if serr != nil {
				return nil, serr
			}
			out[i] = val
		}
		return out, nil
	}
	return tpl, nil
}

// assign evaluates the state's Assign (or a rule's) against value and sets
// the variables.
func (sr *stateRun) assign(raw []byte, value any) *StatesError {
	if len(raw) == 0 {
		return nil
	}
	v, serr := sr.template(raw, value)
	if serr != nil {
		return serr
	}
	if m, ok := v.(map[string]any); ok {
		sr.th.vars.setAll(m)
	}
	return nil
}

// checkSize fails with States.DataLimitExceeded when v is too large.
func (sr *stateRun) checkSize(v any, what string) *StatesError {
	if len(encodeJSON(v)) > sr.th.x.eng.opts.MaxPayloadBytes {
		return newError(asl.ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", what))
	}
	return nil
}

// runState runs one state and returns its output and the next state ("" at
// the end).
func (th *thread) runState(ctx context.Context, name string, st *asl.State, input any) (any, string, *StatesError) {
	sr := &stateRun{th: th, name: name, st: st, rawInput: input}
	ql := st.QueryLanguage
	if ql == "" {
		ql = th.ql
	}
	sr.jsonata = ql == asl.QueryLanguageJSONata
	sr.entered = th.event(Event{Type: stateEventType(st.Type, true), StateName: name, Input: encodeJSON(input)})
	sr.enteredTime = th.x.eng.opts.Clock.Now()
	var (
		out  any
		next string
		serr *StatesError
	)
	switch st.Type {
	case asl.TypePass:
		out, serr = sr.runPass(input)
		next = st.Next
	case asl.TypeSucceed:
		out, serr = sr.runSucceed(input)
	case asl.TypeFail:
		serr = sr.runFail(input)
	case asl.TypeChoice:
		out, next, serr = sr.runChoice(input)
	case asl.TypeWait:
		out, serr = sr.runWait(ctx, input)
		next = st.Next
	case asl.TypeTask, asl.TypeParallel, asl.TypeMap:
		out, next, serr = sr.runWithErrorHandling(ctx, input)
	default:
		serr = newError(asl.ErrorRuntime, fmt.Sprintf("unknown state type %q", st.Type))
	}
	if serr != nil {
		return nil, "", serr
	}
	if st.Type == asl.TypeSucceed {
		next = ""
	}
	outJSON := encodeJSON(out)
	if len(outJSON) > th.x.eng.opts.MaxPayloadBytes {
		return nil, "", newError(asl.ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", name))
	}
	th.event(Event{Type: stateEventType(st.Type, false), StateName: name, Output: outJSON})
	return out, next, nil
}

// runPass runs a Pass state.
func (sr *stateRun) runPass(input any) (any, *StatesError) {
	if sr.jsonata {
		return sr.jsonataFinish(sr.st.Assign, sr.st.Output, input, sr.statesVar(input, nil))
	}
	eff, serr := sr.inputPath(input)
	if serr != nil {
		return nil, serr
	}
	result := eff
	if len(sr.st.Parameters) > 0 {
		if result, serr = sr.template(sr.st.Parameters, eff); serr != nil {
			return nil, serr
		}
	}
	if len(sr.st.Result) > 0 {
		r, err := jsonpath.Decode(sr.st.Result)
		if err != nil {
			return nil, sr.rtErr("invalid Result: %v", err)
		}
		result = r
	}
	if serr := sr.assign(sr.st.Assign, result); serr != nil {
		return nil, serr
	}
	out, serr := sr.resultPath(sr.st.ResultPath, input, result)
	if serr != nil {
		return nil, serr
	}
	return sr.outputPath(out)
}

// runSucceed runs a Succeed state.
func (sr *stateRun) runSucceed(input any) (any, *StatesError) {
	if sr.jsonata {
		return sr.jsonataFinish(sr.st.Assign, sr.st.Output, input, sr.statesVar(input, nil))
	}
	eff, serr := sr.inputPath(input)
	if serr != nil {
		return nil, serr
	}
	if serr := sr.assign(sr.st.Assign, eff); serr != nil {
		return nil, serr
	}
	return sr.outputPath(eff)
}

// runFail runs a Fail state and returns its failure.
func (sr *stateRun) runFail(input any) *StatesError {
	st := sr.st
	res := &StatesError{}
	if st.Error != "" {
		res.Name, res.HasName = st.Error, true
	}
	if st.Cause != "" {
		res.Cause, res.HasCause = st.Cause, true
	}
	if sr.jsonata {
		states := sr.statesVar(input, nil)
		for _, f := range []struct {
			text, field string
			dst         *string
			has         *bool
		}{{st.Error, "Error", &res.Name, &res.HasName}, {st.Cause, "Cause", &res.Cause, &res.HasCause}} {
			if _, ok := jsonataExpr(f.text); !ok {
				continue
			}
			v, serr := sr.evalTemplate(f.text, f.field, states)
			if serr != nil {
				return serr
			}
			*f.dst, *f.has = plainText(v), true
		}
		return res
	}
	dyn := func(expr, field string) (string, *StatesError) {
		ctxObj := sr.contextObject()
		var v any
		var serr *StatesError
		if intrinsic.IsIntrinsic(expr) {
			v, serr = sr.evalDynamic(expr, field, input, ctxObj)
		} else {
			var err error
			v, err = resolvePath(expr, input, ctxObj, sr.th.varsView())
			if err != nil {
				return "", sr.rtErr("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", expr, field, encodeJSON(input))
			}
		}
		if serr != nil {
			return "", serr
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
		return encodeJSON(v), nil
	}
	if st.ErrorPath != "" {
		s, serr := dyn(st.ErrorPath, "ErrorPath")
		if serr != nil {
			return serr
		}
		res.Name, res.HasName = s, true
	}
	if st.CausePath != "" {
		s, serr := dyn(st.CausePath, "CausePath")
		if serr != nil {
			return serr
		}
		res.Cause, res.HasCause = s, true
	}
	return res
}

// noNextState is the failure of a Choice state none of whose rules matched
// and that has no Default: AWS fails the execution with States.Runtime,
// "Failed to transition out of the state. The state does not point to a
// next state." (not States.NoChoiceMatched). Evidence: two public projects
// that record AWS behaviour, found by code search: a Java emulator
// ("AWS wording, verified against us-east-1") and a TypeScript suite of
// Choice cases executed against AWS (expects States.Runtime and that text).
func (sr *stateRun) noNextState() *StatesError {
	return sr.rtErr("Failed to transition out of the state. The state does not point to a next state.")
}

// runChoice runs a Choice state.
func (sr *stateRun) runChoice(input any) (any, string, *StatesError) {
	if sr.jsonata {
		return sr.runChoiceJSONata(input)
	}
	eff, serr := sr.inputPath(input)
	if serr != nil {
		return nil, "", serr
	}
	env := &choiceEnv{input: eff, ctxObj: sr.contextObject(), vars: sr.th.varsView(), state: sr.name, entry: sr.entered}
	next := ""
	var ruleAssign []byte
	for _, r := range sr.st.Choices {
		ok, err := env.evalRule(r)
		if err != nil {
			var se *StatesError
			if errors.As(err, &se) {
				return nil, "", se
			}
			return nil, "", sr.rtErr("%s", err.Error())
		}
		if ok {
			next = r.Next
			ruleAssign = r.Assign
			break
		}
	}
	if next == "" {
		if sr.st.Default == "" {
			return nil, "", sr.noNextState()
		}
		next = sr.st.Default
	}
	if serr := sr.assign(sr.st.Assign, eff); serr != nil {
		return nil, "", serr
	}
	if serr := sr.assign(ruleAssign, eff); serr != nil {
		return nil, "", serr
	}
	out, serr := sr.outputPath(eff)
	return out, next, serr
}

// runWait runs a Wait state.
func (sr *stateRun) runWait(ctx context.Context, input any) (any, *StatesError) {
	st := sr.st
	eff := input
	var serr *StatesError
	if !sr.jsonata {
		if eff, serr = sr.inputPath(input); serr != nil {
			return nil, serr
		}
	}
	clock := sr.th.x.eng.opts.Clock
	var d time.Duration
	switch {
	case sr.jsonata && st.Seconds != nil:
		f, _, serr := sr.jsonataNumber(st.Seconds, "Seconds", sr.statesVar(input, nil))
		if serr != nil {
			return nil, serr
		}
		if f < 0 || f != float64(int64(f)) {
			return nil, sr.qeErr("The Seconds field must be a non-negative integer, but was: %v", f)
		}
		d = time.Duration(f) * time.Second
	case sr.jsonata && st.Timestamp != "":
		v, serr := sr.evalTemplate(st.Timestamp, "Timestamp", sr.statesVar(input, nil))
		if serr != nil {
			return nil, serr
		}
		s, _ := v.(string)
		t, ok := jsonpath.ParseTimestamp(s)
		if !ok {
			return nil, sr.qeErr("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", plainText(v))
		}
		d = t.Sub(clock.Now())
	case st.Seconds != nil:
		n, ok := st.Seconds.Int64()
		if !ok || n < 0 {
			return nil, sr.rtErr("The Seconds field must be a non-negative integer")
		}
		d = time.Duration(n) * time.Second
	case st.Timestamp != "":
		t, ok := jsonpath.ParseTimestamp(st.Timestamp)
		if !ok {
			return nil, sr.rtErr("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", st.Timestamp)
		}
		d = t.Sub(clock.Now())
	case st.SecondsPath != "":
		v, serr := sr.getPath(st.SecondsPath, eff)
		if serr != nil {
			return nil, serr
		}
		n, ok := jsonpath.Int(v)
		if _, isNum := v.(json.Number); !isNum {
			ok = false
		}
		if str, isStr := v.(string); isStr {
			// AWS parses the value's text as a long, so a numeric string
			// such as "3" waits 3 seconds (a public suite of cases run
			// against AWS, Feature.WaitValidation, notes "AWS coercion of
			// numeric-looking strings").
			i, err := strconv.ParseInt(str, 10, 64)
			n, ok = i, err == nil
		}
		if !ok {
			return nil, sr.rtErr("The SecondsPath parameter cannot be parsed as a long value: %s == %s", st.SecondsPath, plainText(v))
		}
		if n < 0 {
			return nil, sr.rtErr("The SecondsPath parameter references a negative value: %s == %s", st.SecondsPath, plainText(v))
		}
		d = time.Duration(n) * time.Second
	case st.TimestampPath != "":
		v, serr := sr.getPath(st.TimestampPath, eff)
		if serr != nil {
			return nil, serr
		}
		s, isStr := v.(string)
		t, ok := jsonpath.ParseTimestamp(s)
		if !isStr || !ok {
			return nil, sr.rtErr("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", st.TimestampPath, plainText(v))
		}
		d = t.Sub(clock.Now())
	}
	if d > 0 {
		if err := clock.Sleep(ctx, d); err != nil {
			return nil, ctxError(ctx)
		}
	}
	if sr.jsonata {
		return sr.jsonataFinish(st.Assign, st.Output, input, sr.statesVar(input, nil))
	}
	if serr := sr.assign(st.Assign, eff); serr != nil {
		return nil, serr
	}
	return sr.outputPath(eff)
}

// runChoiceJSONata runs a Choice state whose rules are JSONata Conditions.
func (sr *stateRun) runChoiceJSONata(input any) (any, string, *StatesError) {
	states := sr.statesVar(input, nil)
	for _, r := range sr.st.Choices {
		var cond any
		if err := json.Unmarshal(r.Condition, &cond); err != nil || len(r.Condition) == 0 {
			return nil, "", sr.qeErr("A Choice rule has no valid Condition")
		}
		v, serr := sr.evalTemplate(cond, "Condition", states)
		if serr != nil {
			return nil, "", serr
		}
		b, ok := v.(bool)
		if !ok {
			return nil, "", sr.qeErr("The JSONata expression specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '%s' for value: %s", jsonpath.TypeName(v), encodeJSON(v))
		}
		if b {
			vals, serr := sr.jsonataAssign(sr.st.Assign, states)
			if serr != nil {
				return nil, "", serr
			}
			ruleVals, serr := sr.jsonataAssign(r.Assign, states)
			if serr != nil {
				return nil, "", serr
			}
			out, serr := sr.jsonataOutput(r.Output, input, states)
			if serr != nil {
				return nil, "", serr
			}
			if len(r.Output) == 0 {
				if out, serr = sr.jsonataOutput(sr.st.Output, input, states); serr != nil {
					return nil, "", serr
				}
			}
			sr.th.vars.setAll(vals)
			sr.th.vars.setAll(ruleVals)
			return out, r.Next, nil
		}
	}
	if sr.st.Default == "" {
		return nil, "", sr.noNextState()
	}
	out, serr := sr.jsonataFinish(sr.st.Assign, sr.st.Output, input, states)
	return out, sr.st.Default, serr
}

// plainText renders a value for a message: strings as is, others as JSON.
func plainText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return encodeJSON(v)
}
