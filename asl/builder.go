package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// JSON is a convenient literal type for payload templates:
// asl.JSON{"order.$": "$.order", "source": "api"}.
type JSON = map[string]any

// BuildError lists the mistakes a MachineBuilder saw while the machine was
// being described (duplicate state names, templates that do not marshal).
// Problems of the finished definition are reported by Validate instead.
type BuildError struct {
	// Errs holds the mistakes in the order they were made.
	Errs []error
}

// Error implements error.
func (e *BuildError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "asl: build: " + strings.Join(msgs, "; ")
}

// Unwrap returns the individual mistakes.
func (e *BuildError) Unwrap() []error { return e.Errs }

// MachineBuilder describes a state machine, or a Parallel branch or Map
// item processor, state by state:
//
//	sm, err := asl.NewMachine("Charge").
//		Add("Charge", asl.LambdaInvoke("charge").Next("Done")).
//		Add("Done", asl.Succeed()).
//		Build()
type MachineBuilder struct {
	sm   *StateMachine
	errs []error
}

// NewMachine starts a machine whose first state is startAt.
func NewMachine(startAt string) *MachineBuilder {
	return &MachineBuilder{sm: &StateMachine{StartAt: startAt, States: map[string]*State{}}}
}

// Branch starts a Parallel branch or a Map item processor; it is NewMachine
// under a name that reads better in those places.
func Branch(startAt string) *MachineBuilder { return NewMachine(startAt) }

// Comment sets the machine's comment.
func (b *MachineBuilder) Comment(c string) *MachineBuilder { b.sm.Comment = c; return b }

// TimeoutSeconds bounds the execution.
func (b *MachineBuilder) TimeoutSeconds(n int) *MachineBuilder { b.sm.TimeoutSeconds = &n; return b }

// Version sets the ASL version ("1.0").
func (b *MachineBuilder) Version(v string) *MachineBuilder { b.sm.Version = v; return b }

// QueryLanguage sets the machine's query language (JSONPath or JSONata).
func (b *MachineBuilder) QueryLanguage(ql string) *MachineBuilder { b.sm.QueryLanguage = ql; return b }

// Add adds the state described by s under name. States keep the order in
// which they are added.
func (b *MachineBuilder) Add(name string, s *StateBuilder) *MachineBuilder {
	if _, dup := b.sm.States[name]; dup {
		b.errs = append(b.errs, fmt.Errorf("state %q added twice", name))
		return b
	}
	st, errs := s.build()
	for _, err := range errs {
		b.errs = append(b.errs, fmt.Errorf("state %q: %w", name, err))
	}
	b.sm.States[name] = st
	b.sm.stateOrder = append(b.sm.stateOrder, name)
	return b
}

// machine returns the machine as described, with the mistakes of nested builders.
func (b *MachineBuilder) machine() (*StateMachine, []error) { return b.sm, b.errs }

// Build returns the machine after validating it: a *BuildError for mistakes
// made while describing it, else Validate's *ValidationError, else nil.
func (b *MachineBuilder) Build(opts ...ValidateOption) (*StateMachine, error) {
	if len(b.errs) > 0 {
		return nil, &BuildError{Errs: b.errs}
	}
	if err := Validate(b.sm, opts...); err != nil {
		return nil, err
	}
	return b.sm, nil
}

// MustBuild is Build for definitions known to be valid; it panics on error.
func (b *MachineBuilder) MustBuild(opts ...ValidateOption) *StateMachine {
	sm, err := b.Build(opts...)
	if err != nil {
		panic(err)
	}
	return sm
}

// StateBuilder describes one state. The constructors (Task, LambdaInvoke,
// Pass, Choice, Wait..., Succeed, Fail, Parallel, Map) set its type; methods
// that do not apply to that type produce a definition that Build rejects.
type StateBuilder struct {
	st       *State
	errs     []error
	lambda   bool
	function string
	payload  any
	hasPay   bool
	branches []*MachineBuilder
	proc     *MachineBuilder
}

func newState(typ string) *StateBuilder { return &StateBuilder{st: &State{Type: typ}} }

// Task is a Task state calling resource (an ARN).
func Task(resource string) *StateBuilder {
	s := newState(TypeTask)
	s.st.Resource = resource
	return s
}

// LambdaInvoke is a Task state that invokes a Lambda function (name or ARN)
// through the arn:aws:states:::lambda:invoke integration, with the state
// input as payload unless Payload says otherwise.
func LambdaInvoke(function string) *StateBuilder {
	s := Task("arn:aws:states:::lambda:invoke")
	s.lambda, s.function = true, function
	return s
}

// Pass is a Pass state.
func Pass() *StateBuilder { return newState(TypePass) }

// Succeed is a Succeed state.
func Succeed() *StateBuilder { return newState(TypeSucceed) }

// Fail is a Fail state with the given error name and cause (either may be "").
func Fail(errorName, cause string) *StateBuilder {
	s := newState(TypeFail)
	s.st.Error, s.st.Cause = errorName, cause
	return s
}

// WaitSeconds is a Wait state waiting n seconds.
func WaitSeconds(n int) *StateBuilder {
	s := newState(TypeWait)
	s.st.Seconds = Int(n)
	return s
}

// WaitUntil is a Wait state waiting until an RFC 3339 timestamp.
func WaitUntil(timestamp string) *StateBuilder {
	s := newState(TypeWait)
	s.st.Timestamp = timestamp
	return s
}

// WaitSecondsPath is a Wait state waiting the number of seconds at a reference path.
func WaitSecondsPath(path string) *StateBuilder {
	s := newState(TypeWait)
	s.st.SecondsPath = path
	return s
}

// WaitUntilPath is a Wait state waiting until the timestamp at a reference path.
func WaitUntilPath(path string) *StateBuilder {
	s := newState(TypeWait)
	s.st.TimestampPath = path
	return s
}

// Choice is a Choice state; add rules with When and the default with Otherwise.
func Choice() *StateBuilder { return newState(TypeChoice) }

// Parallel is a Parallel state running the given branches.
func Parallel(branches ...*MachineBuilder) *StateBuilder {
	s := newState(TypeParallel)
	s.branches = branches
	return s
}

// Map is a Map state running processor for each item.
func Map(processor *MachineBuilder) *StateBuilder {
	s := newState(TypeMap)
	s.proc = processor
	return s
}

func (s *StateBuilder) template(v any, what string) json.RawMessage {
	raw, err := toRaw(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s: %w", what, err))
	}
	return raw
}

// toRaw marshals a template: json.RawMessage and []byte are taken as JSON text.
func toRaw(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, errors.New("invalid JSON")
		}
		return x, nil
	case []byte:
		if !json.Valid(x) {
			return nil, errors.New("invalid JSON")
		}
		return json.RawMessage(x), nil
	}
	return marshalNoEscape(v)
}

// Comment sets the state's comment.
func (s *StateBuilder) Comment(c string) *StateBuilder { s.st.Comment = c; return s }

// Next sets the state that follows.
func (s *StateBuilder) Next(state string) *StateBuilder { s.st.Next = state; return s }

// End makes the state terminal.
func (s *StateBuilder) End() *StateBuilder { s.st.End = true; return s }

// QueryLanguage sets the state's query language.
func (s *StateBuilder) QueryLanguage(ql string) *StateBuilder { s.st.QueryLanguage = ql; return s }

// InputPath selects the state's effective input.
func (s *StateBuilder) InputPath(p string) *StateBuilder { s.st.InputPath = NewPath(p); return s }

// OutputPath selects the state's effective output.
func (s *StateBuilder) OutputPath(p string) *StateBuilder { s.st.OutputPath = NewPath(p); return s }

// ResultPath places the result in the input.
func (s *StateBuilder) ResultPath(p string) *StateBuilder { s.st.ResultPath = NewPath(p); return s }

// DiscardResult sets ResultPath to null: the output is the input.
func (s *StateBuilder) DiscardResult() *StateBuilder { s.st.ResultPath = NullPath(); return s }

// Parameters sets the payload template (a JSON value, json.RawMessage or []byte).
func (s *StateBuilder) Parameters(v any) *StateBuilder {
	s.st.Parameters = s.template(v, "Parameters")
	return s
}

// ResultSelector sets the template applied to the task result.
func (s *StateBuilder) ResultSelector(v any) *StateBuilder {
	s.st.ResultSelector = s.template(v, "ResultSelector")
	return s
}

// Result sets the fixed result of a Pass state.
func (s *StateBuilder) Result(v any) *StateBuilder { s.st.Result = s.template(v, "Result"); return s }

// Assign sets workflow variables.
func (s *StateBuilder) Assign(v any) *StateBuilder { s.st.Assign = s.template(v, "Assign"); return s }

// Arguments sets the JSONata arguments.
func (s *StateBuilder) Arguments(v any) *StateBuilder {
	s.st.Arguments = s.template(v, "Arguments")
	return s
}

// Output sets the JSONata output.
func (s *StateBuilder) Output(v any) *StateBuilder { s.st.Output = s.template(v, "Output"); return s }

// Payload sets the payload of a LambdaInvoke state.
func (s *StateBuilder) Payload(v any) *StateBuilder {
	if !s.lambda {
		s.errs = append(s.errs, errors.New("option Payload applies to LambdaInvoke states only"))
	}
	s.payload, s.hasPay = v, true
	return s
}

// TimeoutSeconds bounds a Task.
func (s *StateBuilder) TimeoutSeconds(n int) *StateBuilder { s.st.TimeoutSeconds = Int(n); return s }

// HeartbeatSeconds bounds the time between a Task's heartbeats.
func (s *StateBuilder) HeartbeatSeconds(n int) *StateBuilder {
	s.st.HeartbeatSeconds = Int(n)
	return s
}

// Retry adds retriers, tried in order.
func (s *StateBuilder) Retry(r ...*RetryBuilder) *StateBuilder {
	for _, x := range r {
		s.st.Retry = append(s.st.Retry, x.r)
	}
	return s
}

// Catch adds catchers, tried in order.
func (s *StateBuilder) Catch(c ...*CatchBuilder) *StateBuilder {
	for _, x := range c {
		s.st.Catch = append(s.st.Catch, x.c)
	}
	return s
}

// When adds a rule to a Choice state: go to next when cond holds.
func (s *StateBuilder) When(cond *Condition, next string) *StateBuilder {
	r := cond.rule
	r.Next = next
	s.st.Choices = append(s.st.Choices, &r)
	return s
}

// Otherwise sets the Default of a Choice state.
func (s *StateBuilder) Otherwise(next string) *StateBuilder { s.st.Default = next; return s }

// Error sets the error name of a Fail state.
func (s *StateBuilder) Error(name string) *StateBuilder { s.st.Error = name; return s }

// Cause sets the cause of a Fail state.
func (s *StateBuilder) Cause(cause string) *StateBuilder { s.st.Cause = cause; return s }

// ErrorPath sets the error of a Fail state from a reference path (or
// intrinsic) into its input.
func (s *StateBuilder) ErrorPath(p string) *StateBuilder { s.st.ErrorPath = p; return s }

// CausePath sets the cause of a Fail state from a reference path (or
// intrinsic) into its input.
func (s *StateBuilder) CausePath(p string) *StateBuilder { s.st.CausePath = p; return s }

// ItemsPath selects the array a Map state iterates over.
func (s *StateBuilder) ItemsPath(p string) *StateBuilder { s.st.ItemsPath = NewPath(p); return s }

// ItemSelector sets the template applied to each Map item.
func (s *StateBuilder) ItemSelector(v any) *StateBuilder {
	s.st.ItemSelector = s.template(v, "ItemSelector")
	return s
}

// MaxConcurrency bounds a Map state's parallel iterations.
func (s *StateBuilder) MaxConcurrency(n int) *StateBuilder { s.st.MaxConcurrency = Int(n); return s }

// MaxConcurrencyPath bounds a Map state's parallel iterations by a number
// read from its input by a reference path, e.g. "$.maxConcurrency".
func (s *StateBuilder) MaxConcurrencyPath(p string) *StateBuilder {
	s.st.MaxConcurrencyPath = p
	return s
}

// ToleratedFailurePercentage sets the percentage of failed items a Map state tolerates.
func (s *StateBuilder) ToleratedFailurePercentage(p float64) *StateBuilder {
	s.st.ToleratedFailurePercentage = Float(p)
	return s
}

// ToleratedFailureCount sets the number of failed items a Map state tolerates.
func (s *StateBuilder) ToleratedFailureCount(n int) *StateBuilder {
	s.st.ToleratedFailureCount = Int(n)
	return s
}

// Distributed runs a Map state's items as child executions of the given
// type (ExecutionStandard or ExecutionExpress).
func (s *StateBuilder) Distributed(executionType string) *StateBuilder {
	if s.proc == nil {
		s.errs = append(s.errs, errors.New("option Distributed applies to Map states only"))
		return s
	}
	s.proc.sm.ProcessorConfig = &ProcessorConfig{Mode: ModeDistributed, ExecutionType: executionType}
	return s
}

// Label names the Map Run of a distributed Map state.
func (s *StateBuilder) Label(l string) *StateBuilder { s.st.Label = l; return s }

// ItemReader sets how a distributed Map state reads its items.
func (s *StateBuilder) ItemReader(r *ItemReader) *StateBuilder { s.st.ItemReader = r; return s }

// ItemBatcher sets how a Map state batches its items.
func (s *StateBuilder) ItemBatcher(b *ItemBatcher) *StateBuilder { s.st.ItemBatcher = b; return s }

// ResultWriter sets where a distributed Map state writes its results.
func (s *StateBuilder) ResultWriter(w *ResultWriter) *StateBuilder { s.st.ResultWriter = w; return s }

func (s *StateBuilder) build() (*State, []error) {
	errs := append([]error(nil), s.errs...)
	if s.lambda {
		params := JSON{"FunctionName": s.function, "Payload.$": "$"}
		if s.hasPay {
			delete(params, "Payload.$")
			params["Payload"] = s.payload
		}
		raw, err := toRaw(params)
		if err != nil {
			errs = append(errs, fmt.Errorf("payload: %w", err))
		}
		s.st.Parameters = raw
	}
	if s.branches != nil {
		s.st.Branches = nil
		for _, b := range s.branches {
			sm, berrs := b.machine()
			errs = append(errs, berrs...)
			s.st.Branches = append(s.st.Branches, sm)
		}
	}
	if s.proc != nil {
		sm, perrs := s.proc.machine()
		errs = append(errs, perrs...)
		s.st.ItemProcessor = sm
	}
	return s.st, errs
}

// RetryBuilder describes a retrier; start one with Retry.
type RetryBuilder struct{ r *Retrier }

// Retry starts a retrier for the given error names (States.ALL if none).
func Retry(errorNames ...string) *RetryBuilder {
	if len(errorNames) == 0 {
		errorNames = []string{ErrorAll}
	}
	return &RetryBuilder{r: &Retrier{ErrorEquals: errorNames}}
}

// IntervalSeconds sets the delay before the first retry.
func (b *RetryBuilder) IntervalSeconds(n int) *RetryBuilder { b.r.IntervalSeconds = &n; return b }

// MaxAttempts sets the maximum number of retries.
func (b *RetryBuilder) MaxAttempts(n int) *RetryBuilder { b.r.MaxAttempts = &n; return b }

// BackoffRate sets the multiplier applied to the interval after each attempt.
func (b *RetryBuilder) BackoffRate(f float64) *RetryBuilder { b.r.BackoffRate = &f; return b }

// MaxDelaySeconds caps the interval.
func (b *RetryBuilder) MaxDelaySeconds(n int) *RetryBuilder { b.r.MaxDelaySeconds = &n; return b }

// FullJitter randomizes the intervals (JitterStrategy FULL).
func (b *RetryBuilder) FullJitter() *RetryBuilder { b.r.JitterStrategy = JitterStrategyFull; return b }

// CatchBuilder describes a catcher; start one with Catch.
type CatchBuilder struct{ c *Catcher }

// Catch starts a catcher going to next for the given error names
// (States.ALL if none).
func Catch(next string, errorNames ...string) *CatchBuilder {
	if len(errorNames) == 0 {
		errorNames = []string{ErrorAll}
	}
	return &CatchBuilder{c: &Catcher{ErrorEquals: errorNames, Next: next}}
}

// ResultPath places the error output in the input.
func (b *CatchBuilder) ResultPath(p string) *CatchBuilder { b.c.ResultPath = NewPath(p); return b }

// Condition is a Choice rule without its Next; build one with the
// comparison functions (StringEquals, NumericGreaterThan, IsPresent, ...)
// and combine with And, Or and Not.
type Condition struct{ rule ChoiceRule }

// Compare is the general form of the comparison functions: variable,
// operator name (e.g. "StringEqualsPath") and operand.
func Compare(variable, operator string, operand any) *Condition {
	raw, err := marshalNoEscape(operand)
	if err != nil {
		raw = []byte("null")
	}
	return &Condition{rule: ChoiceRule{Variable: variable, Operator: operator, Value: raw}}
}

// StringEquals holds when the string at variable equals value.
func StringEquals(variable, value string) *Condition {
	return Compare(variable, "StringEquals", value)
}

// StringMatches holds when the string at variable matches pattern (* wildcards).
func StringMatches(variable, pattern string) *Condition {
	return Compare(variable, "StringMatches", pattern)
}

// NumericEquals holds when the number at variable equals value.
func NumericEquals(variable string, value float64) *Condition {
	return Compare(variable, "NumericEquals", value)
}

// NumericLessThan holds when the number at variable is less than value.
func NumericLessThan(variable string, value float64) *Condition {
	return Compare(variable, "NumericLessThan", value)
}

// NumericGreaterThan holds when the number at variable is greater than value.
func NumericGreaterThan(variable string, value float64) *Condition {
	return Compare(variable, "NumericGreaterThan", value)
}

// NumericLessThanEquals holds when the number at variable is at most value.
func NumericLessThanEquals(variable string, value float64) *Condition {
	return Compare(variable, "NumericLessThanEquals", value)
}

// NumericGreaterThanEquals holds when the number at variable is at least value.
func NumericGreaterThanEquals(variable string, value float64) *Condition {
	return Compare(variable, "NumericGreaterThanEquals", value)
}

// BooleanEquals holds when the boolean at variable equals value.
func BooleanEquals(variable string, value bool) *Condition {
	return Compare(variable, "BooleanEquals", value)
}

// TimestampLessThan holds when the timestamp at variable is before value.
func TimestampLessThan(variable, value string) *Condition {
	return Compare(variable, "TimestampLessThan", value)
}

// TimestampGreaterThan holds when the timestamp at variable is after value.
func TimestampGreaterThan(variable, value string) *Condition {
	return Compare(variable, "TimestampGreaterThan", value)
}

// IsPresent holds when variable selects a value.
func IsPresent(variable string) *Condition { return Compare(variable, "IsPresent", true) }

// IsNull holds when the value at variable is null.
func IsNull(variable string) *Condition { return Compare(variable, "IsNull", true) }

// IsString holds when the value at variable is a string.
func IsString(variable string) *Condition { return Compare(variable, "IsString", true) }

// IsNumeric holds when the value at variable is a number.
func IsNumeric(variable string) *Condition { return Compare(variable, "IsNumeric", true) }

// IsBoolean holds when the value at variable is a boolean.
func IsBoolean(variable string) *Condition { return Compare(variable, "IsBoolean", true) }

// IsTimestamp holds when the value at variable is a timestamp string.
func IsTimestamp(variable string) *Condition { return Compare(variable, "IsTimestamp", true) }

// JSONataCondition is the rule of a JSONata Choice state: a "{% ... %}" expression.
func JSONataCondition(expr string) *Condition {
	raw, _ := marshalNoEscape(expr)
	return &Condition{rule: ChoiceRule{Condition: raw}}
}

// And holds when every condition holds.
func And(conds ...*Condition) *Condition {
	r := ChoiceRule{And: []*ChoiceRule{}}
	for _, c := range conds {
		rc := c.rule
		r.And = append(r.And, &rc)
	}
	return &Condition{rule: r}
}

// Or holds when one condition holds.
func Or(conds ...*Condition) *Condition {
	r := ChoiceRule{Or: []*ChoiceRule{}}
	for _, c := range conds {
		rc := c.rule
		r.Or = append(r.Or, &rc)
	}
	return &Condition{rule: r}
}

// Not holds when cond does not.
func Not(cond *Condition) *Condition {
	rc := cond.rule
	return &Condition{rule: ChoiceRule{Not: &rc}}
}
