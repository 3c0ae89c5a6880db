package asl

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// State type names, the values of State.Type.
const (
	TypeTask     = "Task"
	TypePass     = "Pass"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// Query languages, the values of StateMachine.QueryLanguage and State.QueryLanguage.
const (
	QueryLanguageJSONPath = "JSONPath"
	QueryLanguageJSONata  = "JSONata"
)

// Values of ProcessorConfig.Mode and ProcessorConfig.ExecutionType.
const (
	ModeInline        = "INLINE"
	ModeDistributed   = "DISTRIBUTED"
	ExecutionStandard = "STANDARD"
	ExecutionExpress  = "EXPRESS"
)

// Values of ReaderConfig.InputType and ReaderConfig.CSVHeaderLocation.
const (
	InputTypeCSV      = "CSV"
	InputTypeJSON     = "JSON"
	InputTypeJSONL    = "JSONL"
	InputTypeManifest = "MANIFEST"
	CSVHeaderFirstRow = "FIRST_ROW"
	CSVHeaderGiven    = "GIVEN"
)

// Values of Retrier.JitterStrategy.
const (
	JitterStrategyFull = "FULL"
	JitterStrategyNone = "NONE"
)

// Predefined error names of Step Functions, for ErrorEquals.
const (
	ErrorAll                             = "States.ALL"
	ErrorTaskFailed                      = "States.TaskFailed"
	ErrorTimeout                         = "States.Timeout"
	ErrorHeartbeatTimeout                = "States.HeartbeatTimeout"
	ErrorRuntime                         = "States.Runtime"
	ErrorDataLimitExceeded               = "States.DataLimitExceeded"
	ErrorIntrinsicFailure                = "States.IntrinsicFailure"
	ErrorBranchFailed                    = "States.BranchFailed"
	ErrorNoChoiceMatched                 = "States.NoChoiceMatched"
	ErrorParameterPathFailure            = "States.ParameterPathFailure"
	ErrorResultPathMatchFailure          = "States.ResultPathMatchFailure"
	ErrorItemReaderFailed                = "States.ItemReaderFailed"
	ErrorResultWriterFailed              = "States.ResultWriterFailed"
	ErrorExceedToleratedFailureThreshold = "States.ExceedToleratedFailureThreshold"
	ErrorPermissions                     = "States.Permissions"
	ErrorQueryEvaluationError            = "States.QueryEvaluationError"
)

// LambdaServiceErrors are the errors of the Lambda service itself (not of
// the function) that a lambda:invoke Task should always retry: the list
// AWS recommends for Retry.
var LambdaServiceErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
	"Lambda.TooManyRequestsException",
	"Lambda.Unknown",
}

// meta records what the JSON codec needs for a lossless round trip: the
// original key order and which fields were present with a zero value
// (for example "End": false or "Next": "").
type meta struct {
	order []string
	zero  map[string]bool
}

func (m *meta) getMeta() *meta { return m }

// StateMachine is a state machine definition. The same type represents the
// nested machines of a Parallel state (Branches) and of a Map state
// (ItemProcessor, or the legacy Iterator); fields that are not allowed in a
// given position are reported by Validate.
type StateMachine struct {
	// Comment is a human-readable description.
	Comment string `json:"Comment"`
	// StartAt names the first state to run.
	StartAt string `json:"StartAt"`
	// States holds the states by name. StateNames gives them in definition order.
	States map[string]*State `json:"States"`
	// TimeoutSeconds bounds a whole execution (top level only).
	TimeoutSeconds *int `json:"TimeoutSeconds"`
	// Version is the ASL version, "1.0" (top level only).
	Version string `json:"Version"`
	// QueryLanguage is "JSONPath" (default) or "JSONata" (top level only).
	QueryLanguage string `json:"QueryLanguage"`
	// ProcessorConfig configures a Map ItemProcessor (Map ItemProcessor only).
	ProcessorConfig *ProcessorConfig `json:"ProcessorConfig"`
	// Extra holds fields this model does not know, and known fields whose
	// JSON type is wrong, verbatim; Validate reports them.
	Extra map[string]json.RawMessage `json:"-"`

	meta
	stateOrder []string
}

// StateNames returns the names of the states in definition order (the order
// of the JSON document, or of insertion by the Builder); states added to the
// map by other means follow, sorted.
func (sm *StateMachine) StateNames() []string {
	if sm == nil {
		return nil
	}
	names := make([]string, 0, len(sm.States))
	seen := make(map[string]bool, len(sm.States))
	for _, n := range sm.stateOrder {
		if _, ok := sm.States[n]; ok && !seen[n] {
			names = append(names, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range sm.States {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// ProcessorConfig is the ProcessorConfig of a Map ItemProcessor.
type ProcessorConfig struct {
	// Mode is INLINE (default) or DISTRIBUTED.
	Mode string `json:"Mode"`
	// ExecutionType is STANDARD or EXPRESS, for DISTRIBUTED mode.
	ExecutionType string `json:"ExecutionType"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// State is one state of any type. Which fields are allowed depends on Type;
// Validate reports the others.
type State struct {
	// Type is one of the Type* constants.
	Type string `json:"Type"`
	// Comment is a human-readable description.
	Comment string `json:"Comment"`
	// QueryLanguage overrides the machine's query language for this state.
	QueryLanguage string `json:"QueryLanguage"`

	// Resource is the ARN of a Task's resource.
	Resource string `json:"Resource"`

	// InputPath selects the effective input; nil means absent ("$"), a null
	// Path means JSON null (the input becomes {}).
	InputPath *Path `json:"InputPath"`
	// OutputPath selects the effective output; nil means absent ("$"), a null
	// Path means JSON null (the output becomes {}).
	OutputPath *Path `json:"OutputPath"`
	// Parameters is the payload template applied to the input (JSONPath).
	Parameters json.RawMessage `json:"Parameters"`
	// ResultSelector is the payload template applied to a task result.
	ResultSelector json.RawMessage `json:"ResultSelector"`
	// ResultPath places the result in the input; nil means absent ("$"), a
	// null Path means the result is discarded.
	ResultPath *Path `json:"ResultPath"`
	// Result is the fixed output of a Pass state.
	Result json.RawMessage `json:"Result"`
	// Retry lists the retriers of a Task, Parallel or Map state.
	Retry []*Retrier `json:"Retry"`
	// Catch lists the catchers of a Task, Parallel or Map state.
	Catch []*Catcher `json:"Catch"`

	// TimeoutSeconds bounds a Task (a JSONata expression is allowed).
	TimeoutSeconds *Number `json:"TimeoutSeconds"`
	// TimeoutSecondsPath is a reference path to the timeout.
	TimeoutSecondsPath string `json:"TimeoutSecondsPath"`
	// HeartbeatSeconds bounds the time between task heartbeats.
	HeartbeatSeconds *Number `json:"HeartbeatSeconds"`
	// HeartbeatSecondsPath is a reference path to the heartbeat interval.
	HeartbeatSecondsPath string `json:"HeartbeatSecondsPath"`
	// Credentials names a role to assume for the task.
	Credentials *Credentials `json:"Credentials"`

	// Arguments is the JSONata counterpart of Parameters.
	Arguments json.RawMessage `json:"Arguments"`
	// Output is the JSONata counterpart of ResultSelector/OutputPath.
	Output json.RawMessage `json:"Output"`
	// Assign sets workflow variables.
	Assign json.RawMessage `json:"Assign"`

	// Choices lists the rules of a Choice state.
	Choices []*ChoiceRule `json:"Choices"`
	// Default is the state a Choice goes to when no rule matches.
	Default string `json:"Default"`

	// Seconds is the fixed wait of a Wait state.
	Seconds *Number `json:"Seconds"`
	// Timestamp is the fixed RFC 3339 time a Wait state waits until.
	Timestamp string `json:"Timestamp"`
	// SecondsPath is a reference path to the number of seconds to wait.
	SecondsPath string `json:"SecondsPath"`
	// TimestampPath is a reference path to the time to wait until.
	TimestampPath string `json:"TimestampPath"`

	// Error is the error name of a Fail state.
	Error string `json:"Error"`
	// Cause is the cause of a Fail state.
	Cause string `json:"Cause"`
	// ErrorPath is a reference path (or intrinsic) to the error name.
	ErrorPath string `json:"ErrorPath"`
	// CausePath is a reference path (or intrinsic) to the cause.
	CausePath string `json:"CausePath"`

	// Branches are the machines a Parallel state runs.
	Branches []*StateMachine `json:"Branches"`

	// ItemsPath selects the array a Map iterates over.
	ItemsPath *Path `json:"ItemsPath"`
	// Items is the JSONata counterpart of ItemsPath (array or expression).
	Items json.RawMessage `json:"Items"`
	// ItemSelector is the payload template applied to each item.
	ItemSelector json.RawMessage `json:"ItemSelector"`
	// Iterator is the legacy form of ItemProcessor.
	Iterator *StateMachine `json:"Iterator"`
	// ItemProcessor is the machine run for each item.
	ItemProcessor *StateMachine `json:"ItemProcessor"`
	// MaxConcurrency bounds parallel iterations (0 means no bound).
	MaxConcurrency *Number `json:"MaxConcurrency"`
	// MaxConcurrencyPath is a reference path to MaxConcurrency.
	MaxConcurrencyPath string `json:"MaxConcurrencyPath"`
	// ToleratedFailureCount is the number of failed items tolerated.
	ToleratedFailureCount *Number `json:"ToleratedFailureCount"`
	// ToleratedFailureCountPath is a reference path to ToleratedFailureCount.
	ToleratedFailureCountPath string `json:"ToleratedFailureCountPath"`
	// ToleratedFailurePercentage is the percentage of failed items tolerated.
	ToleratedFailurePercentage *Number `json:"ToleratedFailurePercentage"`
	// ToleratedFailurePercentagePath is a reference path to ToleratedFailurePercentage.
	ToleratedFailurePercentagePath string `json:"ToleratedFailurePercentagePath"`
	// ItemReader reads the items of a distributed Map from a resource.
	ItemReader *ItemReader `json:"ItemReader"`
	// ItemBatcher groups items into batches.
	ItemBatcher *ItemBatcher `json:"ItemBatcher"`
	// ResultWriter writes the results of a distributed Map to a resource.
	ResultWriter *ResultWriter `json:"ResultWriter"`
	// Label names the Map Run of a distributed Map.
	Label string `json:"Label"`

	// Next names the following state.
	Next string `json:"Next"`
	// End marks a terminal state.
	End bool `json:"End"`

	// Extra holds fields this model does not know, and known fields whose
	// JSON type is wrong, verbatim; Validate reports them.
	Extra map[string]json.RawMessage `json:"-"`

	meta
}

// EffectiveQueryLanguage returns the query language the state uses inside a
// machine (or enclosing state) whose query language is outer: the state's
// own QueryLanguage, else outer, else JSONPath.
func (s *State) EffectiveQueryLanguage(outer string) string {
	switch {
	case s.QueryLanguage != "":
		return s.QueryLanguage
	case outer != "":
		return outer
	}
	return QueryLanguageJSONPath
}

// Processor returns the machine a Map state runs per item: ItemProcessor, or
// the legacy Iterator.
func (s *State) Processor() *StateMachine {
	if s.ItemProcessor != nil {
		return s.ItemProcessor
	}
	return s.Iterator
}

// Retrier is one element of a Retry list.
type Retrier struct {
	// ErrorEquals lists the error names this retrier matches.
	ErrorEquals []string `json:"ErrorEquals"`
	// IntervalSeconds is the delay before the first retry (default 1).
	IntervalSeconds *int `json:"IntervalSeconds"`
	// MaxAttempts is the maximum number of retries (default 3; 0 means never).
	MaxAttempts *int `json:"MaxAttempts"`
	// BackoffRate multiplies the interval after each attempt (default 2.0).
	BackoffRate *float64 `json:"BackoffRate"`
	// MaxDelaySeconds caps the interval.
	MaxDelaySeconds *int `json:"MaxDelaySeconds"`
	// JitterStrategy is FULL or NONE (default).
	JitterStrategy string `json:"JitterStrategy"`
	// Comment is a human-readable description.
	Comment string `json:"Comment"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// Catcher is one element of a Catch list.
type Catcher struct {
	// ErrorEquals lists the error names this catcher matches.
	ErrorEquals []string `json:"ErrorEquals"`
	// Next names the state to go to.
	Next string `json:"Next"`
	// ResultPath places the error output in the input; nil means absent
	// ("$"), a null Path means the error output is discarded.
	ResultPath *Path `json:"ResultPath"`
	// Comment is a human-readable description.
	Comment string `json:"Comment"`
	// Assign sets workflow variables (JSONata era).
	Assign json.RawMessage `json:"Assign"`
	// Output is the JSONata output of the catcher.
	Output json.RawMessage `json:"Output"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// Credentials is the Credentials field of a Task state.
type Credentials struct {
	// RoleArn is the role to assume (a JSONata expression is allowed).
	RoleArn string `json:"RoleArn"`
	// RoleArnPath is the "RoleArn.$" form: a reference path to the role.
	RoleArnPath string `json:"RoleArn.$"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// ItemReader is the ItemReader of a distributed Map state.
type ItemReader struct {
	// Resource is the integration ARN, e.g. arn:aws:states:::s3:getObject.
	Resource string `json:"Resource"`
	// ReaderConfig describes the items.
	ReaderConfig *ReaderConfig `json:"ReaderConfig"`
	// Parameters is the payload template of the read request (JSONPath).
	Parameters json.RawMessage `json:"Parameters"`
	// Arguments is the JSONata counterpart of Parameters.
	Arguments json.RawMessage `json:"Arguments"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// ReaderConfig is the ReaderConfig of an ItemReader.
type ReaderConfig struct {
	// InputType is CSV, JSON, JSONL or MANIFEST.
	InputType string `json:"InputType"`
	// CSVHeaderLocation is FIRST_ROW or GIVEN.
	CSVHeaderLocation string `json:"CSVHeaderLocation"`
	// CSVHeaders lists the column names when CSVHeaderLocation is GIVEN.
	CSVHeaders []string `json:"CSVHeaders"`
	// CSVDelimiter is COMMA (default), PIPE, SEMICOLON, SPACE or TAB.
	CSVDelimiter string `json:"CSVDelimiter"`
	// ManifestType qualifies a MANIFEST input.
	ManifestType string `json:"ManifestType"`
	// MaxItems limits the number of items read.
	MaxItems *Number `json:"MaxItems"`
	// MaxItemsPath is a reference path to MaxItems.
	MaxItemsPath string `json:"MaxItemsPath"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// ItemBatcher is the ItemBatcher of a Map state.
type ItemBatcher struct {
	// MaxItemsPerBatch bounds the items in a batch.
	MaxItemsPerBatch *Number `json:"MaxItemsPerBatch"`
	// MaxItemsPerBatchPath is a reference path to MaxItemsPerBatch.
	MaxItemsPerBatchPath string `json:"MaxItemsPerBatchPath"`
	// MaxInputBytesPerBatch bounds the size of a batch.
	MaxInputBytesPerBatch *Number `json:"MaxInputBytesPerBatch"`
	// MaxInputBytesPerBatchPath is a reference path to MaxInputBytesPerBatch.
	MaxInputBytesPerBatchPath string `json:"MaxInputBytesPerBatchPath"`
	// BatchInput is a template added to every batch as BatchInput.
	BatchInput json.RawMessage `json:"BatchInput"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// ResultWriter is the ResultWriter of a distributed Map state.
type ResultWriter struct {
	// Resource is the integration ARN, e.g. arn:aws:states:::s3:putObject.
	Resource string `json:"Resource"`
	// Parameters is the payload template of the write request (JSONPath).
	Parameters json.RawMessage `json:"Parameters"`
	// Arguments is the JSONata counterpart of Parameters.
	Arguments json.RawMessage `json:"Arguments"`
	// WriterConfig selects what is written.
	WriterConfig *WriterConfig `json:"WriterConfig"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// WriterConfig is the WriterConfig of a ResultWriter.
type WriterConfig struct {
	// OutputType is JSON or JSONL.
	OutputType string `json:"OutputType"`
	// Transformation is NONE, COMPACT or FLATTEN.
	Transformation string `json:"Transformation"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// ChoiceRule is a rule of a Choice state, or a nested rule of And, Or and Not.
// A comparison has a Variable, exactly one operator (Operator, e.g.
// "StringEquals" or "NumericLessThanPath") and its operand (Value). A JSONata
// rule has a Condition instead. Further operators found in the JSON are kept
// in Extra, where Validate reports them.
type ChoiceRule struct {
	// Variable is the path to the compared value.
	Variable string `json:"Variable"`
	// Operator is the comparison operator name, "" when absent.
	Operator string `json:"-"`
	// Value is the operand of Operator, verbatim.
	Value json.RawMessage `json:"-"`
	// And lists rules that must all match.
	And []*ChoiceRule `json:"And"`
	// Or lists rules of which one must match.
	Or []*ChoiceRule `json:"Or"`
	// Not is a rule that must not match.
	Not *ChoiceRule `json:"Not"`
	// Condition is the JSONata condition (a boolean or a "{% %}" string).
	Condition json.RawMessage `json:"Condition"`
	// Next names the state to go to (top-level rules only).
	Next string `json:"Next"`
	// Comment is a human-readable description.
	Comment string `json:"Comment"`
	// Assign sets workflow variables when the rule matches.
	Assign json.RawMessage `json:"Assign"`
	// Output is the JSONata output when the rule matches.
	Output json.RawMessage `json:"Output"`
	// Extra holds unknown or wrongly typed fields verbatim.
	Extra map[string]json.RawMessage `json:"-"`
	meta
}

// comparisonOperators maps every Choice comparison operator to the JSON type
// of its operand: "string", "number", "boolean", "timestamp" or "path".
var comparisonOperators = func() map[string]string {
	m := map[string]string{
		"BooleanEquals":     "boolean",
		"BooleanEqualsPath": "path",
		"StringMatches":     "string",
		"IsNull":            "boolean",
		"IsPresent":         "boolean",
		"IsNumeric":         "boolean",
		"IsString":          "boolean",
		"IsBoolean":         "boolean",
		"IsTimestamp":       "boolean",
	}
	for _, cmp := range []string{"Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"} {
		m["String"+cmp] = "string"
		m["Numeric"+cmp] = "number"
		m["Timestamp"+cmp] = "timestamp"
		m["String"+cmp+"Path"] = "path"
		m["Numeric"+cmp+"Path"] = "path"
		m["Timestamp"+cmp+"Path"] = "path"
	}
	return m
}()

// IsComparisonOperator reports whether name is a Choice comparison operator.
func IsComparisonOperator(name string) bool {
	_, ok := comparisonOperators[name]
	return ok
}

// ComparisonOperators returns the names of all Choice comparison operators, sorted.
func ComparisonOperators() []string {
	out := make([]string, 0, len(comparisonOperators))
	for k := range comparisonOperators {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IsPathOperator reports whether the rule's operator compares against a
// reference path ("...Path" variants).
func (r *ChoiceRule) IsPathOperator() bool {
	return comparisonOperators[r.Operator] == "path"
}

// BaseOperator returns the operator without its "Path" suffix, e.g.
// "NumericLessThan" for "NumericLessThanPath".
func (r *ChoiceRule) BaseOperator() string {
	if r.IsPathOperator() {
		return strings.TrimSuffix(r.Operator, "Path")
	}
	return r.Operator
}

// StringValue returns the operand as a string (for string, timestamp and
// path operators).
func (r *ChoiceRule) StringValue() (string, bool) {
	var s string
	if err := json.Unmarshal(r.Value, &s); err != nil || len(r.Value) == 0 || r.Value[0] != '"' {
		return "", false
	}
	return s, true
}

// NumberValue returns the operand as a float64 (for numeric operators).
func (r *ChoiceRule) NumberValue() (float64, bool) {
	var n json.Number
	if len(r.Value) == 0 || r.Value[0] == '"' || json.Unmarshal(r.Value, &n) != nil {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// BoolValue returns the operand as a bool (BooleanEquals and the Is* tests).
func (r *ChoiceRule) BoolValue() (value, ok bool) {
	if err := json.Unmarshal(r.Value, &value); err != nil || len(r.Value) == 0 || (r.Value[0] != 't' && r.Value[0] != 'f') {
		return false, false
	}
	return value, true
}

// Path is the value of an optional path field (InputPath, OutputPath,
// ResultPath, ItemsPath): a nil *Path means the field is absent; a Path with
// Null set means the field was JSON null.
type Path struct {
	// Null reports that the field was JSON null.
	Null bool
	// Value is the path when Null is false.
	Value string
}

// NewPath returns a present, non-null Path.
func NewPath(p string) *Path { return &Path{Value: p} }

// NullPath returns a Path that is JSON null.
func NullPath() *Path { return &Path{Null: true} }

// IsNull reports whether p is present and JSON null.
func (p *Path) IsNull() bool { return p != nil && p.Null }

// IsSet reports whether p is present (null or not).
func (p *Path) IsSet() bool { return p != nil }

// Or returns the path, or def when p is absent. It returns "" for null.
func (p *Path) Or(def string) string {
	if p == nil {
		return def
	}
	if p.Null {
		return ""
	}
	return p.Value
}

// MarshalJSON implements json.Marshaler.
func (p Path) MarshalJSON() ([]byte, error) {
	if p.Null {
		return []byte("null"), nil
	}
	return marshalNoEscape(p.Value)
}

// UnmarshalJSON implements json.Unmarshaler; it accepts a string or null.
func (p *Path) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = Path{Null: true}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = Path{Value: s}
	return nil
}

// Number is a numeric field that may instead hold a JSONata expression
// string ("{% ... %}"). Exactly one of Lit and Expr is set.
type Number struct {
	// Lit is the number as written in JSON.
	Lit json.Number
	// Expr is the string form (a JSONata expression), when the JSON value is a string.
	Expr string
}

// Int returns a Number holding n.
func Int(n int) *Number { return &Number{Lit: json.Number(strconv.Itoa(n))} }

// Float returns a Number holding f.
func Float(f float64) *Number {
	return &Number{Lit: json.Number(strconv.FormatFloat(f, 'g', -1, 64))}
}

// Expr returns a Number holding a JSONata expression.
func Expr(expr string) *Number { return &Number{Expr: expr} }

// IsExpr reports whether n holds a string rather than a number.
func (n *Number) IsExpr() bool { return n != nil && n.Lit == "" }

// Int64 returns the number as an int64; ok is false for expressions and for
// numbers with a fractional part.
func (n *Number) Int64() (v int64, ok bool) {
	if n == nil || n.Lit == "" {
		return 0, false
	}
	if i, err := n.Lit.Int64(); err == nil {
		return i, true
	}
	f, err := n.Lit.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// Float64 returns the number as a float64; ok is false for expressions.
func (n *Number) Float64() (v float64, ok bool) {
	if n == nil || n.Lit == "" {
		return 0, false
	}
	f, err := n.Lit.Float64()
	return f, err == nil
}

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) {
	if n.Lit == "" {
		return marshalNoEscape(n.Expr)
	}
	return []byte(n.Lit), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts a number or a string.
func (n *Number) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = Number{Expr: s}
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	num, ok := v.(json.Number)
	if !ok {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[Number]()}
	}
	*n = Number{Lit: num}
	return nil
}
