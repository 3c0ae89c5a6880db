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
	vars   map[string]any // nil until a variable is set
}

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
	if len(vals) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vars == nil {
		s.vars = make(map[string]any, len(vals))
	}
	for k, v := range vals {
		s.vars[k] = v
	}
}

// thread runs one state machine (the top level, a Parallel branch or a Map
// iteration) and records its events. One goroutine runs a thread.
type thread struct {
	x    *Execution
	hist *history
	prev int64
	vars *scope
	ql   string // the query language states default to
	// ownVars is the scope of the variables this thread assigns (vars).
	ownVars scope
	// env is the environment of intrinsic functions, set up on first use.
	env      intrinsic.Env
	envReady bool
	// cur is the state being run: a thread runs one state at a time, and
	// nothing keeps a stateRun after its state has ended.
	cur stateRun
	// inputSized reports that the input of the state being run is the
	// output of the previous one, whose size was checked.
	inputSized bool
}

// event records an event of this thread.
func (th *thread) event(ev Event) int64 {
	id := th.hist.add(th.prev, ev)
	th.prev = id
	return id
}

// eventIO records an event of type typ for state name, with the fields of
// more (nil for none, shared), whose Input (lazy is lazyInput) or Output
// (lazyOutput) is the JSON text of val, encoded when the history is read.
// val must not change afterwards (values are never modified in place, see
// package jsonpath). It returns the event's id and time.
func (th *thread) eventIO(typ EventType, name string, more *Event, val any, lazy uint8) (int64, time.Time) {
	id, at := th.hist.record(th.prev, typ, name, more, val, lazy)
	th.prev = id
	return id, at
}

// newThread returns a thread recording in hist after event prev, whose
// variables see those of parent (nil for none).
func newThread(x *Execution, hist *history, prev int64, parent *scope, ql string) *thread {
	th := new(thread)
	th.init(x, hist, prev, parent, ql)
	return th
}

// init makes th a thread as newThread does.
func (th *thread) init(x *Execution, hist *history, prev int64, parent *scope, ql string) {
	*th = thread{x: x, hist: hist, prev: prev, ql: ql}
	th.ownVars.parent = parent
	th.vars = &th.ownVars
}

// child returns a thread for a nested machine; a nil hist shares this one's.
func (th *thread) child(hist *history) *thread {
	if hist == nil {
		hist = th.hist
	}
	return newThread(th.x, hist, th.prev, th.vars, th.ql)
}

// canceledError marks a state interrupted because its context ended.
var canceledError = &StatesError{Name: "interp.Canceled", HasName: true}

// runMachine runs sm from StartAt with input until a terminal state.
func (th *thread) runMachine(ctx context.Context, sm *asl.StateMachine, input any) (any, *StatesError) {
	name := sm.StartAt
	cur := input
	th.inputSized = false
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
	taskToken   string
	mapItem     map[string]any
	jsonata     bool
	// resultSized reports that the task result was found within the size
	// limit.
	resultSized bool
}

// contextObject builds $$ for the state. The Execution and StateMachine
// parts are built once and shared.
func (sr *stateRun) contextObject() map[string]any {
	co := make(map[string]any, 5)
	for _, name := range [...]string{"Execution", "State", "StateMachine", "Task", "Map"} {
		if v, ok := sr.contextField(name); ok {
			co[name] = v
		}
	}
	return co
}

// contextField returns the field name of $$ as contextObject has it.
func (sr *stateRun) contextField(name string) (any, bool) {
	switch name {
	case "Execution":
		return sr.th.x.contextExecution(), true
	case "StateMachine":
		return sr.th.x.eng.ctxStateMachine, true
	case "State":
		state := make(map[string]any, 3)
		state["EnteredTime"] = formatTime(sr.enteredTime)
		state["Name"] = sr.name
		switch sr.st.Type {
		case asl.TypeTask, asl.TypeMap, asl.TypeParallel:
			state["RetryCount"] = jsonInt(sr.retryCount)
		}
		return state, true
	case "Task":
		if sr.taskToken != "" {
			return map[string]any{"Token": sr.taskToken}, true
		}
	case "Map":
		if sr.mapItem != nil {
			return map[string]any{"Item": sr.mapItem}, true
		}
	}
	return nil, false
}

// lazyCtx is the context object of one evaluation, built on first use.
type lazyCtx struct {
	sr *stateRun
	v  map[string]any
}

func (c *lazyCtx) get() any {
	if c.v == nil {
		c.v = c.sr.contextObject()
	}
	return c.v
}

// pathDoc returns what path p (rooted at $$) is evaluated on: when its
// first step names a field, and the whole object has not been built, a
// part of $$ holding that field alone, which Get cannot tell from $$.
func (c *lazyCtx) pathDoc(p *jsonpath.Path) any {
	if c.v == nil {
		if name, ok := p.FirstField(); ok {
			if v, ok := c.sr.contextField(name); ok {
				return map[string]any{name: v}
			}
			return map[string]any{}
		}
	}
	return c.get()
}

// formatTime renders a time as Step Functions does in $$.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// rtErr builds a States.Runtime failure of this state.
func (sr *stateRun) rtErr(format string, args ...any) *StatesError {
	return runtimeError(sr.name, sr.entered, format, args...)
}

// resolve evaluates a compiled path against the input, the context object
// or a variable, by its root.
func (sr *stateRun) resolve(p *jsonpath.Path, input any, co *lazyCtx) (any, error) {
	switch p.Root() {
	case jsonpath.RootInput:
		return p.Get(input)
	case jsonpath.RootContext:
		return p.Get(co.pathDoc(p))
	}
	name, _ := p.Variable()
	v, ok := sr.th.vars.get(name)
	if !ok {
		return nil, &jsonpath.NotFoundError{Path: p.String(), Reason: "undefined variable " + name}
	}
	return p.Get(v)
}

// resolveText is resolve for a path given as text.
func (sr *stateRun) resolveText(path string, input any, co *lazyCtx) (*jsonpath.Path, any, error) {
	p, err := sr.th.x.eng.prog.path(path)
	if err != nil {
		return nil, nil, err
	}
	v, err := sr.resolve(p, input, co)
	return p, v, err
}

// pathCache holds compiled paths by their text, for paths that are not
// part of a definition's program; definitions are finite, so it stays
// small.
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
	co := lazyCtx{sr: sr}
	p, v, err := sr.resolveText(path, doc, &co)
	if err != nil {
		if isNotFound(err) {
			src := doc
			if strings.HasPrefix(path, "$$") {
				src = co.get()
			} else if name, ok := p.Variable(); ok {
				src, _ = sr.th.vars.get(name)
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
	co := lazyCtx{sr: sr}
	_, v, err := sr.resolveText(path, doc, &co)
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

// resultPath places result into input according to a ResultPath. input is
// not modified: Set copies the objects and arrays along the path.
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
	jp, err := sr.th.x.eng.prog.path(p.Value)
	var out any
	if err == nil {
		out, err = jp.Set(input, result)
	}
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
// The environment is the thread's own, reused by every call.
func (sr *stateRun) intrinsicEnv(input any, ctxObj any) *intrinsic.Env {
	th := sr.th
	if !th.envReady {
		e := th.x.eng
		th.env = intrinsic.Env{Variable: th.vars.get, RandomInt: e.randIntFn, UUID: e.newIDFn}
		th.envReady = true
	}
	th.env.Input, th.env.Context = input, ctxObj
	return &th.env
}

// evalDyn evaluates the value of a ".$" field: a path or an intrinsic
// function call. field names the field for error messages.
func (sr *stateRun) evalDyn(d *dynExpr, field string, input any, co *lazyCtx) (any, *StatesError) {
	if d.isCall {
		err := d.err
		var v any
		if err == nil {
			var ctxObj any
			if d.usesCtx {
				ctxObj = co.get()
			}
			v, err = d.call.Eval(sr.intrinsicEnv(input, ctxObj))
		}
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
	if d.err != nil {
		return nil, sr.rtErr("%s", d.err.Error())
	}
	v, err := sr.resolve(d.path, input, co)
	if err != nil {
		if isNotFound(err) {
			return nil, sr.rtErr("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", d.text, field, encodeJSON(input))
		}
		return nil, sr.rtErr("%s", err.Error())
	}
	return v, nil
}

// template evaluates a payload template (Parameters, ResultSelector,
// ItemSelector, Assign): fields ending in ".$" are evaluated. The result
// shares the template's constant parts and the values the paths select.
func (sr *stateRun) template(raw []byte, input any) (any, *StatesError) {
	t := sr.th.x.eng.prog.template(raw)
	if t.err != nil {
		return nil, sr.rtErr("invalid payload template: %v", t.err)
	}
	co := lazyCtx{sr: sr}
	return sr.applyTemplate(t, input, &co)
}

func (sr *stateRun) applyTemplate(t *tmpl, input any, co *lazyCtx) (any, *StatesError) {
	if t.isStatic {
		return t.static, nil
	}
	if t.isArray {
		out := make([]any, len(t.elems))
		for i, e := range t.elems {
			val, serr := sr.applyTemplate(e, input, co)
			if serr != nil {
				return nil, serr
			}
			out[i] = val
		}
		return out, nil
	}
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		var val any
		var serr *StatesError
		switch {
		case f.notString:
			return nil, sr.rtErr("The value of the field '%s' must be a string", f.srcKey)
		case f.dyn != nil:
			val, serr = sr.evalDyn(f.dyn, f.srcKey, input, co)
		default:
			val, serr = sr.applyTemplate(f.sub, input, co)
		}
		if serr != nil {
			return nil, serr
		}
		out[f.key] = val
	}
	return out, nil
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

// payloadSize returns the length of v's JSON text when it is at most
// limit, and a number above limit otherwise.
func payloadSize(v any, limit int) int {
	n, err := jsonpath.EncodedLen(v, limit)
	if err != nil {
		return len("null") // what encodeJSON writes for it
	}
	return n
}

// checkSize fails with States.DataLimitExceeded when v is too large.
func (sr *stateRun) checkSize(v any, what string) *StatesError {
	limit := sr.th.x.eng.opts.MaxPayloadBytes
	if payloadSize(v, limit) > limit {
		return newError(asl.ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", what))
	}
	return nil
}

// runState runs one state and returns its output and the next state ("" at
// the end).
func (th *thread) runState(ctx context.Context, name string, st *asl.State, input any) (any, string, *StatesError) {
	th.cur = stateRun{th: th, name: name, st: st}
	sr := &th.cur
	ql := st.QueryLanguage
	if ql == "" {
		ql = th.ql
	}
	sr.jsonata = ql == asl.QueryLanguageJSONata
	sr.entered, sr.enteredTime = th.eventIO(stateEventType(st.Type, true), name, nil, input, lazyInput)
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
	if !(!sr.jsonata && (th.inputSized && passesInput(st) || sr.resultSized && passesResult(st))) {
		if limit := th.x.eng.opts.MaxPayloadBytes; payloadSize(out, limit) > limit {
			return nil, "", newError(asl.ErrorDataLimitExceeded, fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", name))
		}
	}
	th.inputSized = true
	th.eventIO(stateEventType(st.Type, false), name, nil, out, lazyOutput)
	return out, next, nil
}

// passesInput reports whether a JSONPath state's output is always its
// input: a Choice, Succeed or Wait state without InputPath and OutputPath,
// or a Pass state that does not change its input either.
func passesInput(st *asl.State) bool {
	if st.InputPath != nil || st.OutputPath != nil {
		return false
	}
	switch st.Type {
	case asl.TypeChoice, asl.TypeSucceed, asl.TypeWait:
		return true
	case asl.TypePass:
		return len(st.Parameters) == 0 && len(st.Result) == 0 && (st.ResultPath == nil || !st.ResultPath.Null && st.ResultPath.Value == "$")
	}
	return false
}

// passesResult reports whether a JSONPath Task state's output is always its
// result: it has neither ResultSelector nor OutputPath, and its ResultPath
// is absent or "$".
func passesResult(st *asl.State) bool {
	return st.Type == asl.TypeTask && len(st.ResultSelector) == 0 && st.OutputPath == nil &&
		(st.ResultPath == nil || !st.ResultPath.Null && st.ResultPath.Value == "$")
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
		r, err := sr.th.x.eng.prog.value(sr.st.Result)
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
		co := lazyCtx{sr: sr}
		var v any
		if intrinsic.IsIntrinsic(expr) {
			var serr *StatesError
			if v, serr = sr.evalDyn(compileDyn(expr, nil), field, input, &co); serr != nil {
				return "", serr
			}
		} else {
			var err error
			if _, v, err = sr.resolveText(expr, input, &co); err != nil {
				return "", sr.rtErr("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", expr, field, encodeJSON(input))
			}
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
	env := choiceEnv{sr: sr, input: eff, co: lazyCtx{sr: sr}}
	prog := sr.th.x.eng.prog
	next := ""
	var ruleAssign []byte
	for _, r := range sr.st.Choices {
		ok, err := env.evalRule(prog.lookupRule(r))
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
