package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stepcqrs/stepcqrs/asl/intrinsic"
	"github.com/stepcqrs/stepcqrs/asl/jsonata"
)

// Workflow types, for WithWorkflowType.
const (
	WorkflowStandard = "STANDARD"
	WorkflowExpress  = "EXPRESS"
)

// ValidateOption configures Validate.
type ValidateOption func(*validateOptions)

type validateOptions struct {
	workflowType string
}

// WithWorkflowType validates for a STANDARD (default) or EXPRESS state
// machine; EXPRESS rejects .sync and .waitForTaskToken integrations.
func WithWorkflowType(t string) ValidateOption {
	return func(o *validateOptions) { o.workflowType = strings.ToUpper(t) }
}

// Validate checks a definition and returns a *ValidationError listing every
// problem found, or nil.
func Validate(sm *StateMachine, opts ...ValidateOption) error {
	o := validateOptions{workflowType: WorkflowStandard}
	for _, opt := range opts {
		opt(&o)
	}
	v := &validator{opts: o}
	if sm != nil {
		v.topJSONata = sm.QueryLanguage == QueryLanguageJSONata
	}
	if sm == nil {
		v.add(CodeSchema, "/", "The state machine definition is null")
		return v.err()
	}
	ql := sm.QueryLanguage
	if ql == "" {
		ql = QueryLanguageJSONPath
	}
	v.machine(sm, "", machineTop, ql)
	return v.err()
}

// ParseAndValidate parses a definition and validates it.
func ParseAndValidate(data []byte, opts ...ValidateOption) (*StateMachine, error) {
	sm, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if err := Validate(sm, opts...); err != nil {
		return sm, err
	}
	return sm, nil
}

type machineKind int

const (
	machineTop machineKind = iota
	machineBranch
	machineProcessor
	machineIterator
)

type validator struct {
	opts     validateOptions
	problems []Problem
	// topJSONata is set when the top-level QueryLanguage is JSONata; no
	// state may then set QueryLanguage back to JSONPath.
	topJSONata bool
}

func (v *validator) add(code, loc, format string, args ...any) {
	if loc == "" {
		loc = "/"
	}
	v.problems = append(v.problems, Problem{Code: code, Location: loc, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// present returns the JSON names of the fields of the struct pointed to by
// x that are set (non-zero, or present in the parsed JSON with a zero value).
func present(x any) []string {
	rv := reflect.ValueOf(x).Elem()
	ti := infoOf(rv.Type())
	m := x.(metaHolder).getMeta()
	var out []string
	for _, f := range ti.fields {
		if !rv.Field(f.index).IsZero() || m.zero[f.name] {
			out = append(out, f.name)
		}
	}
	return out
}

func (v *validator) extra(loc string, extra map[string]json.RawMessage, own map[string]int) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, mine := own[k]; mine {
			v.add(CodeSchema, loc+"/"+escape(k), "The value for the field '%s' has an unexpected type: %s", k, describe(extra[k]))
			continue
		}
		v.add(CodeSchema, loc, "The field '%s' is not supported by Step Functions", k)
	}
}

// escape escapes a JSON pointer token.
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (v *validator) machine(sm *StateMachine, loc string, kind machineKind, ql string) {
	v.extra(loc, sm.Extra, infoOf(reflect.TypeFor[StateMachine]()).byName)
	// AWS lists States before StartAt when both are missing (recorded by
	// ValidateStateMachineDefinition for "{}").
	var missing []string
	if sm.States == nil {
		missing = append(missing, "States")
	}
	if sm.StartAt == "" {
		missing = append(missing, "StartAt")
	}
	if len(missing) > 0 {
		v.add(CodeSchema, loc, "These fields are required: [%s]", strings.Join(missing, ", "))
	}
	if kind != machineTop {
		for _, f := range []string{"TimeoutSeconds", "Version", "QueryLanguage"} {
			if contains(present(sm), f) {
				v.add(CodeSchema, loc, "The field '%s' is not supported by Step Functions", f)
			}
		}
	} else {
		if sm.Version != "" && sm.Version != "1.0" {
			v.add(CodeSchema, loc+"/Version", "The value for the field 'Version' must be '1.0'")
		}
		if sm.TimeoutSeconds != nil && (*sm.TimeoutSeconds < 1 || *sm.TimeoutSeconds > 99999999) {
			v.add(CodeSchema, loc+"/TimeoutSeconds", "The value for the field 'TimeoutSeconds' must be between 1 and 99999999")
		}
		v.queryLanguage(sm.QueryLanguage, loc+"/QueryLanguage")
	}
	if kind == machineProcessor || kind == machineIterator {
		if pc := sm.ProcessorConfig; pc != nil {
			v.processorConfig(pc, loc+"/ProcessorConfig")
		}
	} else if sm.ProcessorConfig != nil {
		v.add(CodeSchema, loc, "The field 'ProcessorConfig' is not supported by Step Functions")
	}
	if sm.States == nil {
		return
	}
	if sm.StartAt != "" {
		if _, ok := sm.States[sm.StartAt]; !ok {
			v.add(CodeMissingTarget, loc+"/StartAt", "Missing 'Next' target: %s", sm.StartAt)
		}
	}
	terminal := false
	for _, name := range sm.StateNames() {
		st := sm.States[name]
		sloc := loc + "/States/" + escape(name)
		if st == nil {
			v.add(CodeSchema, sloc, "The state is null")
			continue
		}
		if utf8.RuneCountInString(name) > 80 {
			v.add(CodeSchema, sloc, "State names must be no longer than 80 characters")
		}
		if name == "" {
			v.add(CodeSchema, sloc, "State names must not be empty")
		}
		v.state(sm, name, st, sloc, ql)
		if st.End || st.Type == TypeSucceed || st.Type == TypeFail {
			terminal = true
		}
	}
	if !terminal && len(sm.States) > 0 {
		v.add(CodeNoTerminal, loc+"/States", "No terminal state: no state has 'End': true and there is no Succeed or Fail state")
	}
	v.reachability(sm, loc)
}

func (v *validator) reachability(sm *StateMachine, loc string) {
	if _, ok := sm.States[sm.StartAt]; !ok {
		return
	}
	seen := map[string]bool{sm.StartAt: true}
	queue := []string{sm.StartAt}
	for len(queue) > 0 {
		st := sm.States[queue[0]]
		queue = queue[1:]
		if st == nil {
			continue
		}
		for _, next := range transitions(st) {
			if _, ok := sm.States[next]; ok && !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	for _, name := range sm.StateNames() {
		if !seen[name] {
			v.add(CodeUnreachable, loc+"/States/"+escape(name), "State '%s' is not reachable", name)
		}
	}
}

// transitions returns the names of the states st can go to.
func transitions(st *State) []string {
	var out []string
	if st.Next != "" {
		out = append(out, st.Next)
	}
	if st.Default != "" {
		out = append(out, st.Default)
	}
	for _, r := range st.Choices {
		if r != nil && r.Next != "" {
			out = append(out, r.Next)
		}
	}
	for _, c := range st.Catch {
		if c != nil && c.Next != "" {
			out = append(out, c.Next)
		}
	}
	return out
}

func (v *validator) queryLanguage(ql, loc string) {
	if ql != "" && ql != QueryLanguageJSONPath && ql != QueryLanguageJSONata {
		v.add(CodeSchema, loc, "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]")
	}
}

// allowedFields lists, per state type, the fields the state may have (in
// either query language).
var allowedFields = func() map[string]map[string]bool {
	common := []string{"Type", "Comment", "QueryLanguage"}
	io := []string{"InputPath", "OutputPath", "Output", "Assign"}
	flow := []string{"Next", "End"}
	result := []string{"Parameters", "Arguments", "ResultSelector", "ResultPath", "Retry", "Catch"}
	set := func(groups ...[]string) map[string]bool {
		m := map[string]bool{}
		for _, g := range groups {
			for _, f := range g {
				m[f] = true
			}
		}
		return m
	}
	return map[string]map[string]bool{
		TypePass:     set(common, io, flow, []string{"Parameters", "ResultPath", "Result"}),
		TypeTask:     set(common, io, flow, result, []string{"Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"}),
		TypeChoice:   set(common, io, []string{"Choices", "Default"}),
		TypeWait:     set(common, io, flow, []string{"Seconds", "Timestamp", "SecondsPath", "TimestampPath"}),
		TypeSucceed:  set(common, []string{"InputPath", "OutputPath", "Output"}),
		TypeFail:     set(common, []string{"Error", "Cause", "ErrorPath", "CausePath"}),
		TypeParallel: set(common, io, flow, result, []string{"Branches"}),
		TypeMap: set(common, io, flow, result, []string{"ItemsPath", "Items", "ItemSelector", "Iterator", "ItemProcessor",
			"MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount", "ToleratedFailureCountPath",
			"ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ItemReader", "ItemBatcher", "ResultWriter", "Label"}),
	}
}()

// jsonPathOnly are the fields JSONata states may not use; jsonataOnly the
// fields JSONPath states may not use.
var (
	jsonPathOnly = []string{"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "ItemsPath",
		"TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath",
		"MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath", "Iterator"}
	jsonataOnly = []string{"Arguments", "Output", "Items"}
)

var stateTypes = "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]"

func (v *validator) state(sm *StateMachine, name string, st *State, loc, parentQL string) {
	v.extra(loc, st.Extra, infoOf(reflect.TypeFor[State]()).byName)
	v.queryLanguage(st.QueryLanguage, loc+"/QueryLanguage")
	if v.topJSONata && st.QueryLanguage == QueryLanguageJSONPath {
		v.add(CodeSchema, loc, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")
	}
	ql := parentQL
	if st.QueryLanguage != "" {
		ql = st.QueryLanguage
	}
	fields := present(st)
	allowed, known := allowedFields[st.Type]
	switch {
	case st.Type == "":
		v.add(CodeSchema, loc, "These fields are required: [Type]")
		return
	case !known:
		v.add(CodeSchema, loc+"/Type", "The field 'Type' should have one of these values: %s", stateTypes)
		return
	}
	for _, f := range fields {
		if !allowed[f] {
			v.add(CodeSchema, loc, "The field '%s' is not supported by Step Functions for state type %s", f, st.Type)
		}
	}
	if ql == QueryLanguageJSONata {
		for _, f := range jsonPathOnly {
			if allowed[f] && contains(fields, f) {
				v.add(CodeSchema, loc, "The field '%s' is not supported by Step Functions in JSONata states", f)
			}
		}
	} else {
		for _, f := range jsonataOnly {
			if allowed[f] && contains(fields, f) {
				v.add(CodeSchema, loc, "The field '%s' is only supported by Step Functions in JSONata states", f)
			}
		}
	}

	// Transitions.
	switch st.Type {
	case TypeTask, TypePass, TypeWait, TypeParallel, TypeMap:
		switch {
		case st.Next != "" && st.End:
			v.add(CodeSchema, loc, "The fields 'Next' and 'End' are mutually exclusive")
		case st.Next == "" && !st.End:
			v.add(CodeSchema, loc, "The state must have either a 'Next' field or 'End': true")
		}
		v.target(sm, st.Next, loc+"/Next")
	}

	// Paths and templates.
	if ql != QueryLanguageJSONata {
		v.path(st.InputPath, loc+"/InputPath", false)
		v.path(st.OutputPath, loc+"/OutputPath", false)
		v.path(st.ResultPath, loc+"/ResultPath", true)
		v.path(st.ItemsPath, loc+"/ItemsPath", false)
		v.template(st.Parameters, loc+"/Parameters")
		v.template(st.ResultSelector, loc+"/ResultSelector")
		v.template(st.ItemSelector, loc+"/ItemSelector")
		for _, f := range []struct{ name, val string }{
			{"TimeoutSecondsPath", st.TimeoutSecondsPath}, {"HeartbeatSecondsPath", st.HeartbeatSecondsPath},
			{"SecondsPath", st.SecondsPath}, {"TimestampPath", st.TimestampPath},
			{"MaxConcurrencyPath", st.MaxConcurrencyPath}, {"ToleratedFailureCountPath", st.ToleratedFailureCountPath},
			{"ToleratedFailurePercentagePath", st.ToleratedFailurePercentagePath},
		} {
			if f.val != "" || contains(fields, f.name) {
				v.refPath(f.val, loc+"/"+f.name, f.name)
			}
		}
	}
	v.assign(st.Assign, loc+"/Assign", ql)
	if ql == QueryLanguageJSONata {
		v.jsonataExprs(st, loc)
	}

	switch st.Type {
	case TypeTask:
		v.task(st, loc, ql)
	case TypeChoice:
		v.choice(sm, st, loc, ql)
	case TypeWait:
		v.wait(st, fields, loc, ql)
	case TypeFail:
		v.fail(st, loc, ql)
	case TypeParallel:
		if len(st.Branches) == 0 {
			v.add(CodeSchema, loc, "These fields are required: [Branches]")
		}
		for i, b := range st.Branches {
			v.machine(b, fmt.Sprintf("%s/Branches/%d", loc, i), machineBranch, ql)
		}
	case TypeMap:
		v.mapState(st, fields, loc, ql)
	}
	if st.Type == TypeTask || st.Type == TypeParallel || st.Type == TypeMap {
		v.retry(st.Retry, loc+"/Retry")
		v.catch(sm, st.Catch, loc+"/Catch", ql)
	}
}

func (v *validator) target(sm *StateMachine, next, loc string) {
	if next == "" {
		return
	}
	if _, ok := sm.States[next]; !ok {
		v.add(CodeMissingTarget, loc, "Missing 'Next' target: %s", next)
	}
}

// path checks an optional JSONPath field.
func (v *validator) path(p *Path, loc string, reference bool) {
	if p == nil || p.Null {
		return
	}
	var err error
	if reference {
		err = CheckResultPath(p.Value)
	} else {
		err = CheckPath(p.Value)
	}
	if err != nil {
		field := loc[strings.LastIndexByte(loc, '/')+1:]
		v.add(CodeInvalidPath, loc, "The value for the field '%s' must be a valid JSONPath: %v", field, err)
	}
}

func (v *validator) refPath(p, loc, field string) {
	if err := CheckReferencePath(p); err != nil {
		v.add(CodeInvalidPath, loc, "The value for the field '%s' must be a valid ReferencePath: %v", field, err)
	}
}

// pathOrIntrinsic checks the value of a ".$" field.
func (v *validator) pathOrIntrinsic(val, loc, field string) {
	var err error
	if isStatesCall(val) {
		if c, perr := intrinsic.Parse(val); perr == nil && !legalEscapes(c) {
			// AWS reports this at the object holding the field, as a schema error.
			v.add(CodeSchema, loc[:strings.LastIndexByte(loc, '/')],
				"The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call", field)
			return
		}
		if err = CheckIntrinsic(val); err != nil {
			v.add(CodeInvalidIntrinsic, loc, "The value for the field '%s' must be a valid intrinsic function call: %v", field, err)
		}
		return
	}
	if err = CheckPath(val); err != nil {
		v.add(CodeInvalidPath, loc, "The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call: %v", field, err)
	}
}

// legalEscapes reports whether the string literals of c (and of its nested
// calls) are free of the escape sequence AWS was recorded rejecting at
// CreateStateMachine, \" . The documentation lists only \' \{ \} and \\,
// but rejecting the other undocumented escapes (\n, say) without a record of
// AWS doing so would risk refusing a definition AWS deploys; a miss costs
// less than a false rejection.
func legalEscapes(c *intrinsic.Call) bool {
	for _, a := range c.Args {
		switch a.Kind {
		case intrinsic.ArgCall:
			if !legalEscapes(a.Call) {
				return false
			}
		case intrinsic.ArgLiteral:
			for i := 0; i < len(a.Raw); i++ {
				if a.Raw[i] != '\\' {
					continue
				}
				if i+1 < len(a.Raw) && a.Raw[i+1] == '"' {
					return false
				}
				i++
			}
		}
	}
	return true
}

// template checks the ".$" fields of a JSONPath payload template.
func (v *validator) template(raw json.RawMessage, loc string) {
	if len(raw) == 0 {
		return
	}
	var val any
	if err := json.Unmarshal(raw, &val); err != nil {
		v.add(CodeSchema, loc, "Invalid JSON: %v", err)
		return
	}
	if _, ok := val.(map[string]any); !ok {
		field := loc[strings.LastIndexByte(loc, '/')+1:]
		v.add(CodeSchema, loc, "The value for the field '%s' must be an OBJECT", field)
		return
	}
	v.templateValue(val, loc)
}

func (v *validator) templateValue(val any, loc string) {
	switch x := val.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kloc := loc + "/" + escape(k)
			if strings.HasSuffix(k, ".$") {
				s, ok := x[k].(string)
				if !ok {
					v.add(CodeSchema, kloc, "The value for the field '%s' must be a STRING that contains a JSONPath", k)
					continue
				}
				v.pathOrIntrinsic(s, kloc, k)
				continue
			}
			v.templateValue(x[k], kloc)
		}
	case []any:
		for i, e := range x {
			v.templateValue(e, fmt.Sprintf("%s/%d", loc, i))
		}
	}
}

// assign checks an Assign object: variable names, and in JSONPath states
// the ".$" values.
func (v *validator) assign(raw json.RawMessage, loc, ql string) {
	if len(raw) == 0 {
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		v.add(CodeSchema, loc, "The value for the field 'Assign' must be an OBJECT")
		return
	}
	for _, k := range sortedKeys(m) {
		name := k
		if ql != QueryLanguageJSONata {
			name = strings.TrimSuffix(k, ".$")
		}
		if !isVariableName(name) {
			v.add(CodeSchema, loc+"/"+escape(k), "The variable name '%s' is not valid: it must start with a letter or '_' and contain only letters, digits and '_'", name)
		}
	}
	if ql != QueryLanguageJSONata {
		v.templateValue(decodeLoose(raw), loc)
	}
}

func decodeLoose(raw json.RawMessage) any {
	var val any
	_ = json.Unmarshal(raw, &val)
	return val
}

func isVariableName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

var (
	serviceARN  = regexp.MustCompile(`^arn:aws[a-z-]*:states:::([a-zA-Z0-9-]+):([a-zA-Z0-9-]+(?::[a-zA-Z0-9-]+)?)(\.sync(?::2)?|\.waitForTaskToken)?$`)
	lambdaARN   = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+(:[a-zA-Z0-9_$-]+)?$`)
	activityARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[a-zA-Z0-9_.-]+$`)
	// optimizedActions lists the actions of the optimized integrations this
	// package knows; other services are accepted as they are.
	optimizedActions = map[string][]string{
		"lambda":   {"invoke"},
		"dynamodb": {"getItem", "putItem", "deleteItem", "updateItem"},
		"sns":      {"publish"},
		"sqs":      {"sendMessage"},
		"states":   {"startExecution"},
		"events":   {"putEvents"},
		"http":     {"invoke"},
		"s3":       {"getObject", "putObject", "listObjectsV2"},
	}
)

// CheckResource checks the syntax of a Task Resource ARN.
func CheckResource(res string) error {
	switch {
	case lambdaARN.MatchString(res), activityARN.MatchString(res):
		return nil
	case strings.Contains(res, "{%") && strings.Contains(res, "%}"):
		return nil
	}
	m := serviceARN.FindStringSubmatch(res)
	if m == nil {
		return fmt.Errorf("the resource provided %s is not recognized. The value is not a valid resource ARN, or the resource is not available in this region", res)
	}
	if m[1] == "aws-sdk" {
		return nil
	}
	actions, known := optimizedActions[m[1]]
	if known && !contains(actions, m[2]) {
		return fmt.Errorf("the resource provided %s is not recognized. The value is not a valid resource ARN, or the resource is not available in this region", res)
	}
	return nil
}

func (v *validator) task(st *State, loc, ql string) {
	if st.Resource == "" {
		v.add(CodeSchema, loc, "These fields are required: [Resource]")
	} else if err := CheckResource(st.Resource); err != nil {
		v.add(CodeSchema, loc+"/Resource", "The %v", err)
	} else if v.opts.workflowType == WorkflowExpress {
		switch {
		case strings.HasSuffix(st.Resource, ".waitForTaskToken"):
			v.add(CodeSchema, loc+"/Resource", "Express state machine does not support '.waitForTaskToken' service integration ")
		case strings.Contains(st.Resource, ".sync"):
			v.add(CodeSchema, loc+"/Resource", "Express state machine does not support '.sync' service integration")
		}
	}
	v.number(st.TimeoutSeconds, loc+"/TimeoutSeconds", "TimeoutSeconds", 1, 99999999, ql)
	v.number(st.HeartbeatSeconds, loc+"/HeartbeatSeconds", "HeartbeatSeconds", 1, 99999999, ql)
	if st.TimeoutSeconds != nil && st.TimeoutSecondsPath != "" {
		v.add(CodeSchema, loc, "The fields 'TimeoutSeconds' and 'TimeoutSecondsPath' are mutually exclusive")
	}
	if st.HeartbeatSeconds != nil && st.HeartbeatSecondsPath != "" {
		v.add(CodeSchema, loc, "The fields 'HeartbeatSeconds' and 'HeartbeatSecondsPath' are mutually exclusive")
	}
	if t, ok := st.TimeoutSeconds.Int64(); ok {
		if h, ok := st.HeartbeatSeconds.Int64(); ok && h >= t {
			v.add(CodeSchema, loc+"/HeartbeatSeconds", "The value for the field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'")
		}
	}
	if c := st.Credentials; c != nil {
		cloc := loc + "/Credentials"
		v.extra(cloc, c.Extra, infoOf(reflect.TypeFor[Credentials]()).byName)
		if c.RoleArn == "" && c.RoleArnPath == "" {
			v.add(CodeSchema, cloc, "The field 'RoleArn' is required but was missing")
		}
		if c.RoleArnPath != "" {
			v.pathOrIntrinsic(c.RoleArnPath, cloc+"/RoleArn.$", "RoleArn.$")
		}
	}
}

// number checks an integer field that JSONata states may give as an expression.
func (v *validator) number(n *Number, loc, field string, lo, hi int64, ql string) {
	if n == nil {
		return
	}
	if n.IsExpr() {
		if ql != QueryLanguageJSONata || !isJSONata(n.Expr) {
			v.add(CodeSchema, loc, "The value for the field '%s' must be an INTEGER", field)
		}
		return
	}
	i, ok := n.Int64()
	if !ok {
		v.add(CodeSchema, loc, "The value for the field '%s' must be an INTEGER", field)
		return
	}
	if i < lo || i > hi {
		v.add(CodeSchema, loc, "The value for the field '%s' must be between %d and %d", field, lo, hi)
	}
}

func isJSONata(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}")
}

func (v *validator) retry(rs []*Retrier, loc string) {
	for i, r := range rs {
		rloc := fmt.Sprintf("%s/%d", loc, i)
		v.extra(rloc, r.Extra, infoOf(reflect.TypeFor[Retrier]()).byName)
		v.errorEquals(r.ErrorEquals, rloc, i == len(rs)-1)
		if r.IntervalSeconds != nil && (*r.IntervalSeconds < 1 || *r.IntervalSeconds > 99999999) {
			v.add(CodeSchema, rloc+"/IntervalSeconds", "The value for the field 'IntervalSeconds' must be between 1 and 99999999")
		}
		if r.MaxAttempts != nil && (*r.MaxAttempts < 0 || *r.MaxAttempts > 99999999) {
			v.add(CodeSchema, rloc+"/MaxAttempts", "The value for the field 'MaxAttempts' must be between 0 and 99999999")
		}
		if r.BackoffRate != nil && *r.BackoffRate < 1 {
			v.add(CodeSchema, rloc+"/BackoffRate", "The value for the field 'BackoffRate' must be at least 1.0")
		}
		if r.MaxDelaySeconds != nil && (*r.MaxDelaySeconds < 1 || *r.MaxDelaySeconds > 31622400) {
			v.add(CodeSchema, rloc+"/MaxDelaySeconds", "The value for the field 'MaxDelaySeconds' must be between 1 and 31622400")
		}
		if r.JitterStrategy != "" && r.JitterStrategy != JitterStrategyFull && r.JitterStrategy != JitterStrategyNone {
			v.add(CodeSchema, rloc+"/JitterStrategy", "The field 'JitterStrategy' should have one of these values: [FULL, NONE]")
		}
	}
}

func (v *validator) errorEquals(errs []string, loc string, last bool) {
	if len(errs) == 0 {
		v.add(CodeSchema, loc, "These fields are required: [ErrorEquals]")
		return
	}
	if contains(errs, ErrorAll) {
		if len(errs) > 1 {
			v.add(CodeSchema, loc+"/ErrorEquals", "States.ALL must appear alone in ErrorEquals")
		}
		if !last {
			v.add(CodeSchema, loc+"/ErrorEquals", "States.ALL must appear in the last retrier or catcher")
		}
	}
}

func (v *validator) catch(sm *StateMachine, cs []*Catcher, loc, ql string) {
	for i, c := range cs {
		cloc := fmt.Sprintf("%s/%d", loc, i)
		v.extra(cloc, c.Extra, infoOf(reflect.TypeFor[Catcher]()).byName)
		v.errorEquals(c.ErrorEquals, cloc, i == len(cs)-1)
		if c.Next == "" {
			v.add(CodeSchema, cloc, "These fields are required: [Next]")
		}
		v.target(sm, c.Next, cloc+"/Next")
		if ql == QueryLanguageJSONata {
			if c.ResultPath != nil {
				v.add(CodeSchema, cloc, "The field 'ResultPath' is not supported by Step Functions in JSONata states")
			}
		} else {
			if len(c.Output) > 0 {
				v.add(CodeSchema, cloc, "The field 'Output' is only supported by Step Functions in JSONata states")
			}
			v.path(c.ResultPath, cloc+"/ResultPath", true)
		}
		v.assign(c.Assign, cloc+"/Assign", ql)
	}
}

func (v *validator) choice(sm *StateMachine, st *State, loc, ql string) {
	if len(st.Choices) == 0 {
		v.add(CodeSchema, loc, "These fields are required: [Choices]")
	}
	for i, r := range st.Choices {
		rloc := fmt.Sprintf("%s/Choices/%d", loc, i)
		if r.Next == "" {
			v.add(CodeSchema, rloc, "These fields are required: [Next]")
		}
		v.target(sm, r.Next, rloc+"/Next")
		v.rule(r, rloc, ql, true)
	}
	v.target(sm, st.Default, loc+"/Default")
}

func (v *validator) rule(r *ChoiceRule, loc, ql string, top bool) {
	own := infoOf(reflect.TypeFor[ChoiceRule]()).byName
	for _, k := range sortedKeys(r.Extra) {
		if IsComparisonOperator(k) {
			v.add(CodeSchema, loc, "A choice rule must have exactly one comparison operator, found '%s' and '%s'", r.Operator, k)
			continue
		}
		v.extra(loc, map[string]json.RawMessage{k: r.Extra[k]}, own)
	}
	if !top {
		if r.Next != "" {
			v.add(CodeSchema, loc, "The field 'Next' is not supported in a nested choice rule")
		}
		for _, f := range []string{"Assign", "Output"} {
			if contains(present(r), f) {
				v.add(CodeSchema, loc, "The field '%s' is not supported in a nested choice rule", f)
			}
		}
	}
	kinds := 0
	if r.Operator != "" {
		kinds++
	}
	if r.And != nil {
		kinds++
	}
	if r.Or != nil {
		kinds++
	}
	if r.Not != nil {
		kinds++
	}
	if len(r.Condition) > 0 {
		kinds++
	}
	switch {
	case kinds == 0:
		v.add(CodeSchema, loc, "A choice rule must have a comparison operator, And, Or, Not or Condition")
	case kinds > 1:
		v.add(CodeSchema, loc, "A choice rule must have exactly one of a comparison operator, And, Or, Not or Condition")
	}
	if ql == QueryLanguageJSONata {
		if r.Operator != "" || r.Variable != "" || r.And != nil || r.Or != nil || r.Not != nil {
			v.add(CodeSchema, loc, "JSONata choice rules must use 'Condition' instead of 'Variable', comparison operators, And, Or and Not")
		}
		if len(r.Condition) > 0 {
			var b bool
			var s string
			if json.Unmarshal(r.Condition, &b) != nil && (json.Unmarshal(r.Condition, &s) != nil || !isJSONata(s)) {
				v.add(CodeSchema, loc+"/Condition", "The value for the field 'Condition' must be a boolean or a JSONata expression")
			}
		}
		return
	}
	if len(r.Condition) > 0 {
		v.add(CodeSchema, loc, "The field 'Condition' is only supported by Step Functions in JSONata states")
	}
	if len(r.Output) > 0 {
		v.add(CodeSchema, loc, "The field 'Output' is only supported by Step Functions in JSONata states")
	}
	v.assign(r.Assign, loc+"/Assign", ql)
	if r.Operator != "" {
		if r.Variable == "" {
			v.add(CodeSchema, loc, "These fields are required: [Variable]")
		} else if err := CheckPath(r.Variable); err != nil {
			v.add(CodeInvalidPath, loc+"/Variable", "The value for the field 'Variable' must be a valid JSONPath: %v", err)
		}
		v.operand(r, loc+"/"+r.Operator)
	} else if r.Variable != "" {
		v.add(CodeSchema, loc, "The field 'Variable' requires a comparison operator")
	}
	for i, sub := range r.And {
		v.rule(sub, fmt.Sprintf("%s/And/%d", loc, i), ql, false)
	}
	for i, sub := range r.Or {
		v.rule(sub, fmt.Sprintf("%s/Or/%d", loc, i), ql, false)
	}
	if r.And != nil && len(r.And) == 0 {
		v.add(CodeSchema, loc+"/And", "The field 'And' must not be empty")
	}
	if r.Or != nil && len(r.Or) == 0 {
		v.add(CodeSchema, loc+"/Or", "The field 'Or' must not be empty")
	}
	if r.Not != nil {
		v.rule(r.Not, loc+"/Not", ql, false)
	}
}

func (v *validator) operand(r *ChoiceRule, loc string) {
	want := comparisonOperators[r.Operator]
	ok := false
	switch want {
	case "string":
		_, ok = r.StringValue()
	case "timestamp":
		var s string
		if s, ok = r.StringValue(); ok && !isTimestamp(s) {
			v.add(CodeSchema, loc, "The value for the field '%s' must be a valid timestamp", r.Operator)
			return
		}
	case "number":
		_, ok = r.NumberValue()
	case "boolean":
		_, ok = r.BoolValue()
	case "path":
		var s string
		if s, ok = r.StringValue(); ok {
			if err := CheckPath(s); err != nil {
				v.add(CodeInvalidPath, loc, "The value for the field '%s' must be a valid JSONPath: %v", r.Operator, err)
			}
			return
		}
		want = "string"
	}
	if !ok {
		v.add(CodeSchema, loc, "The value for the field '%s' must be a %s", r.Operator, strings.ToUpper(want))
	}
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

func isTimestamp(s string) bool {
	if !timestampRE.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func (v *validator) wait(st *State, fields []string, loc, ql string) {
	n := 0
	for _, f := range []string{"Seconds", "Timestamp", "SecondsPath", "TimestampPath"} {
		if contains(fields, f) {
			n++
		}
	}
	if n != 1 {
		v.add(CodeSchema, loc, "A Wait state must have exactly one of 'Seconds', 'Timestamp', 'SecondsPath' or 'TimestampPath'")
	}
	v.number(st.Seconds, loc+"/Seconds", "Seconds", 0, 99999999, ql)
	if contains(fields, "Timestamp") {
		if !(ql == QueryLanguageJSONata && isJSONata(st.Timestamp)) && !isTimestamp(st.Timestamp) {
			v.add(CodeSchema, loc+"/Timestamp", "The value for the field 'Timestamp' must be a valid RFC3339 timestamp")
		}
	}
}

func (v *validator) fail(st *State, loc, ql string) {
	if st.Error != "" && st.ErrorPath != "" {
		v.add(CodeSchema, loc, "The fields 'Error' and 'ErrorPath' are mutually exclusive")
	}
	if st.Cause != "" && st.CausePath != "" {
		v.add(CodeSchema, loc, "The fields 'Cause' and 'CausePath' are mutually exclusive")
	}
	if ql == QueryLanguageJSONata {
		return
	}
	if st.ErrorPath != "" {
		v.pathOrIntrinsic(st.ErrorPath, loc+"/ErrorPath", "ErrorPath")
	}
	if st.CausePath != "" {
		v.pathOrIntrinsic(st.CausePath, loc+"/CausePath", "CausePath")
	}
}

func (v *validator) processorConfig(pc *ProcessorConfig, loc string) {
	v.extra(loc, pc.Extra, infoOf(reflect.TypeFor[ProcessorConfig]()).byName)
	switch pc.Mode {
	case "", ModeInline:
		if pc.ExecutionType != "" {
			v.add(CodeSchema, loc, "The field 'ExecutionType' is only supported in DISTRIBUTED mode")
		}
	case ModeDistributed:
		if pc.ExecutionType != ExecutionStandard && pc.ExecutionType != ExecutionExpress {
			v.add(CodeSchema, loc+"/ExecutionType", "The field 'ExecutionType' should have one of these values: [STANDARD, EXPRESS]")
		}
	default:
		v.add(CodeSchema, loc+"/Mode", "The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED]")
	}
}

// labelForbidden reports whether r may not appear in a Map Label.
func labelForbidden(r rune) bool {
	return r <= 0x20 || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) ||
		r == 0x85 || r == 0xa0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 ||
		r == 0x202f || r == 0x205f || r == 0x3000
}

func (v *validator) mapState(st *State, fields []string, loc, ql string) {
	proc := st.Processor()
	switch {
	case st.ItemProcessor != nil && st.Iterator != nil:
		v.add(CodeSchema, loc, "The fields 'ItemProcessor' and 'Iterator' are mutually exclusive")
	case proc == nil:
		v.add(CodeSchema, loc, "These fields are required: [ItemProcessor]")
	}
	if st.ItemProcessor != nil {
		v.machine(st.ItemProcessor, loc+"/ItemProcessor", machineProcessor, ql)
	}
	if st.Iterator != nil {
		v.machine(st.Iterator, loc+"/Iterator", machineIterator, ql)
	}
	distributed := proc != nil && proc.ProcessorConfig != nil && proc.ProcessorConfig.Mode == ModeDistributed
	if !distributed {
		for _, f := range []string{"ItemReader", "ResultWriter", "Label"} {
			if contains(fields, f) {
				v.add(CodeSchema, loc, "The field '%s' is only supported by Step Functions for Map states in DISTRIBUTED mode", f)
			}
		}
	}
	if contains(fields, "Label") {
		switch {
		case st.Label == "":
			v.add(CodeInvalidLabel, loc+"/Label", "Label cannot be empty")
		case utf8.RuneCountInString(st.Label) > 40:
			v.add(CodeInvalidLabel, loc+"/Label", "Label must be at most 40 characters")
		default:
			for _, r := range st.Label {
				if labelForbidden(r) {
					v.add(CodeInvalidLabel, loc+"/Label", "Label contains invalid character: %q", r)
					break
				}
			}
		}
	}
	v.number(st.MaxConcurrency, loc+"/MaxConcurrency", "MaxConcurrency", 0, 1<<31-1, ql)
	v.number(st.ToleratedFailureCount, loc+"/ToleratedFailureCount", "ToleratedFailureCount", 0, 1<<31-1, ql)
	if n := st.ToleratedFailurePercentage; n != nil {
		if f, ok := n.Float64(); ok {
			if f < 0 || f > 100 {
				v.add(CodeSchema, loc+"/ToleratedFailurePercentage", "The value for the field 'ToleratedFailurePercentage' must be between 0 and 100")
			}
		} else if ql != QueryLanguageJSONata || !isJSONata(n.Expr) {
			v.add(CodeSchema, loc+"/ToleratedFailurePercentage", "The value for the field 'ToleratedFailurePercentage' must be a NUMBER")
		}
	}
	for _, pair := range [][2]string{{"MaxConcurrency", "MaxConcurrencyPath"}, {"ToleratedFailureCount", "ToleratedFailureCountPath"},
		{"ToleratedFailurePercentage", "ToleratedFailurePercentagePath"}, {"ItemsPath", "Items"}} {
		if contains(fields, pair[0]) && contains(fields, pair[1]) {
			v.add(CodeSchema, loc, "The fields '%s' and '%s' are mutually exclusive", pair[0], pair[1])
		}
	}
	if contains(fields, "Parameters") && contains(fields, "ItemSelector") {
		v.add(CodeSchema, loc, "The fields 'Parameters' and 'ItemSelector' are mutually exclusive")
	}
	if r := st.ItemReader; r != nil {
		rloc := loc + "/ItemReader"
		v.extra(rloc, r.Extra, infoOf(reflect.TypeFor[ItemReader]()).byName)
		if r.Resource == "" {
			v.add(CodeSchema, rloc, "These fields are required: [Resource]")
		} else if err := CheckResource(r.Resource); err != nil {
			v.add(CodeSchema, rloc+"/Resource", "The %v", err)
		}
		if ql != QueryLanguageJSONata {
			v.template(r.Parameters, rloc+"/Parameters")
		}
		if c := r.ReaderConfig; c != nil {
			v.readerConfig(c, rloc+"/ReaderConfig", ql)
		}
	}
	if b := st.ItemBatcher; b != nil {
		bloc := loc + "/ItemBatcher"
		v.extra(bloc, b.Extra, infoOf(reflect.TypeFor[ItemBatcher]()).byName)
		v.number(b.MaxItemsPerBatch, bloc+"/MaxItemsPerBatch", "MaxItemsPerBatch", 1, 1<<31-1, ql)
		v.number(b.MaxInputBytesPerBatch, bloc+"/MaxInputBytesPerBatch", "MaxInputBytesPerBatch", 1, 262144, ql)
		if b.MaxItemsPerBatchPath != "" {
			v.refPath(b.MaxItemsPerBatchPath, bloc+"/MaxItemsPerBatchPath", "MaxItemsPerBatchPath")
		}
		if b.MaxInputBytesPerBatchPath != "" {
			v.refPath(b.MaxInputBytesPerBatchPath, bloc+"/MaxInputBytesPerBatchPath", "MaxInputBytesPerBatchPath")
		}
		if ql != QueryLanguageJSONata {
			v.template(b.BatchInput, bloc+"/BatchInput")
		}
	}
	if w := st.ResultWriter; w != nil {
		wloc := loc + "/ResultWriter"
		v.extra(wloc, w.Extra, infoOf(reflect.TypeFor[ResultWriter]()).byName)
		if w.Resource != "" {
			if err := CheckResource(w.Resource); err != nil {
				v.add(CodeSchema, wloc+"/Resource", "The %v", err)
			}
		}
		if ql != QueryLanguageJSONata {
			v.template(w.Parameters, wloc+"/Parameters")
		}
		if c := w.WriterConfig; c != nil {
			v.extra(wloc+"/WriterConfig", c.Extra, infoOf(reflect.TypeFor[WriterConfig]()).byName)
		}
	}
}

func (v *validator) readerConfig(c *ReaderConfig, loc, ql string) {
	v.extra(loc, c.Extra, infoOf(reflect.TypeFor[ReaderConfig]()).byName)
	switch c.InputType {
	case "", InputTypeJSON, InputTypeJSONL, InputTypeManifest:
		if c.CSVHeaderLocation != "" || len(c.CSVHeaders) > 0 {
			v.add(CodeSchema, loc, "The fields 'CSVHeaderLocation' and 'CSVHeaders' are only supported for InputType CSV")
		}
	case InputTypeCSV:
		switch c.CSVHeaderLocation {
		case CSVHeaderFirstRow, "":
			if len(c.CSVHeaders) > 0 {
				v.add(CodeSchema, loc, "The field 'CSVHeaders' requires CSVHeaderLocation GIVEN")
			}
		case CSVHeaderGiven:
			if len(c.CSVHeaders) == 0 {
				v.add(CodeSchema, loc, "These fields are required: [CSVHeaders]")
			}
		default:
			v.add(CodeSchema, loc+"/CSVHeaderLocation", "The field 'CSVHeaderLocation' should have one of these values: [FIRST_ROW, GIVEN]")
		}
	default:
		v.add(CodeSchema, loc+"/InputType", "The field 'InputType' should have one of these values: [CSV, JSON, JSONL, MANIFEST]")
	}
	v.number(c.MaxItems, loc+"/MaxItems", "MaxItems", 0, 100000000, ql)
	if c.MaxItemsPath != "" {
		v.refPath(c.MaxItemsPath, loc+"/MaxItemsPath", "MaxItemsPath")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// jsonataExprs checks that every JSONata expression ("{% ... %}" string)
// of a JSONata state parses; nested machines are checked state by state.
// Constructs package jsonata does not implement pass: Step Functions runs
// them.
func (v *validator) jsonataExprs(st *State, loc string) {
	raw, err := st.MarshalJSON()
	if err != nil {
		return
	}
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if k == "Branches" || k == "ItemProcessor" || k == "Iterator" {
			continue
		}
		v.jsonataValue(doc[k], loc+"/"+escape(k))
	}
}

func (v *validator) jsonataValue(val any, loc string) {
	switch x := val.(type) {
	case string:
		expr, ok := jsonata.Expression(x)
		if !ok {
			return
		}
		var se *jsonata.SyntaxError
		if _, err := jsonata.Compile(expr); errors.As(err, &se) {
			v.add(CodeInvalidJSONata, loc, "%s", se.Msg)
		}
	case []any:
		for i, e := range x {
			v.jsonataValue(e, fmt.Sprintf("%s/%d", loc, i))
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			v.jsonataValue(x[k], loc+"/"+escape(k))
		}
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
