package interp

import (
	"regexp"
	"slices"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/intrinsic"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// program is what New prepares once per definition so that executions
// neither parse nor decode the definition again: its paths, payload
// templates, literal JSON fields and Choice rules. It is read-only after
// New. Lookups of anything the walk did not see (a definition changed
// after New) compile it on the spot.
type program struct {
	paths     map[string]compiledPath
	templates map[rawKey]*tmpl
	values    map[rawKey]decodedValue
	rules     map[*asl.ChoiceRule]*crule
}

// rawKey identifies a JSON field of the definition by its memory: fields
// are not copied once parsed.
type rawKey struct {
	p *byte
	n int
}

func keyOf(raw []byte) rawKey { return rawKey{&raw[0], len(raw)} }

type compiledPath struct {
	p   *jsonpath.Path
	err error
}

type decodedValue struct {
	v   any
	err error
}

// compileProgram walks a definition, nested machines included.
func compileProgram(def *asl.StateMachine) *program {
	pg := &program{
		paths:     map[string]compiledPath{},
		templates: map[rawKey]*tmpl{},
		values:    map[rawKey]decodedValue{},
		rules:     map[*asl.ChoiceRule]*crule{},
	}
	pg.machine(def, asl.QueryLanguageJSONPath)
	return pg
}

// machine walks a machine whose states default to query language ql.
func (pg *program) machine(sm *asl.StateMachine, ql string) {
	if sm == nil {
		return
	}
	if sm.QueryLanguage != "" {
		ql = sm.QueryLanguage
	}
	for _, st := range sm.States {
		pg.state(st, ql)
	}
}

func (pg *program) state(st *asl.State, ql string) {
	if st.QueryLanguage != "" {
		ql = st.QueryLanguage
	}
	jsonata := ql == asl.QueryLanguageJSONata
	// value keeps the decoded JSON of a field that a JSONata state reads
	// as a template of expressions.
	value := func(raw []byte) {
		if jsonata {
			pg.addValue(raw)
		}
	}
	for _, p := range []*asl.Path{st.InputPath, st.OutputPath, st.ResultPath, st.ItemsPath} {
		if p != nil && !p.Null {
			pg.addPath(p.Value)
		}
	}
	for _, p := range []string{st.SecondsPath, st.TimestampPath, st.ErrorPath, st.CausePath, st.TimeoutSecondsPath,
		st.HeartbeatSecondsPath, st.MaxConcurrencyPath, st.ToleratedFailureCountPath, st.ToleratedFailurePercentagePath} {
		if p != "" && !intrinsic.IsIntrinsic(p) {
			pg.addPath(p)
		}
	}
	for _, raw := range [][]byte{st.Parameters, st.ResultSelector, st.ItemSelector, st.Assign} {
		pg.addTemplate(raw)
	}
	pg.addValue(st.Result)
	for _, raw := range [][]byte{st.Arguments, st.Output, st.Items, st.Assign, st.ItemSelector, st.Parameters} {
		value(raw)
	}
	for _, c := range st.Catch {
		if c.ResultPath != nil && !c.ResultPath.Null {
			pg.addPath(c.ResultPath.Value)
		}
		pg.addTemplate(c.Assign)
		value(c.Assign)
		value(c.Output)
	}
	for _, r := range st.Choices {
		pg.rule(r)
		pg.addTemplate(r.Assign)
		value(r.Assign)
		value(r.Output)
	}
	if r := st.ItemReader; r != nil {
		pg.addTemplate(r.Parameters)
		value(r.Arguments)
		if c := r.ReaderConfig; c != nil && c.MaxItemsPath != "" {
			pg.addPath(c.MaxItemsPath)
		}
	}
	if w := st.ResultWriter; w != nil {
		pg.addTemplate(w.Parameters)
		value(w.Arguments)
	}
	if b := st.ItemBatcher; b != nil {
		pg.addTemplate(b.BatchInput)
		value(b.BatchInput)
		for _, p := range []string{b.MaxItemsPerBatchPath, b.MaxInputBytesPerBatchPath} {
			if p != "" {
				pg.addPath(p)
			}
		}
	}
	for _, b := range st.Branches {
		pg.machine(b, ql)
	}
	pg.machine(st.Processor(), ql)
}

func (pg *program) addPath(text string) {
	if _, ok := pg.paths[text]; !ok {
		p, err := jsonpath.Compile(text)
		pg.paths[text] = compiledPath{p, err}
	}
}

func (pg *program) addTemplate(raw []byte) {
	if len(raw) == 0 {
		return
	}
	if _, ok := pg.templates[keyOf(raw)]; !ok {
		pg.templates[keyOf(raw)] = compileTemplate(raw, pg)
	}
}

func (pg *program) addValue(raw []byte) {
	if len(raw) == 0 {
		return
	}
	if _, ok := pg.values[keyOf(raw)]; !ok {
		v, err := jsonpath.Decode(raw)
		pg.values[keyOf(raw)] = decodedValue{v, err}
	}
}

// path returns the compiled path.
func (pg *program) path(text string) (*jsonpath.Path, error) {
	if c, ok := pg.paths[text]; ok {
		return c.p, c.err
	}
	return compilePath(text)
}

// template returns the compiled template of a raw field.
func (pg *program) template(raw []byte) *tmpl {
	if len(raw) > 0 {
		if t, ok := pg.templates[keyOf(raw)]; ok {
			return t
		}
	}
	return compileTemplate(raw, nil)
}

// value returns the decoded value of a raw field. The value is shared: it
// must not be modified.
func (pg *program) value(raw []byte) (any, error) {
	if len(raw) > 0 {
		if d, ok := pg.values[keyOf(raw)]; ok {
			return d.v, d.err
		}
	}
	return jsonpath.Decode(raw)
}

// tmpl is a compiled payload template (Parameters, ResultSelector,
// ItemSelector, Assign...): JSON whose fields ending in ".$" are evaluated.
type tmpl struct {
	err error // the template is not JSON
	// static is the value of a template without any ".$" field, shared by
	// every evaluation.
	static   any
	isStatic bool
	fields   []tfield // an object with ".$" fields somewhere below
	elems    []*tmpl  // an array with ".$" fields somewhere below
	isArray  bool
}

// tfield is a field of a template object.
type tfield struct {
	key    string // the output key
	srcKey string // the key as written, e.g. "a.$"
	sub    *tmpl  // a field without ".$"
	dyn    *dynExpr
	// notString marks a ".$" field whose value is not a string.
	notString bool
}

// dynExpr is the value of a ".$" field: a path or an intrinsic call.
type dynExpr struct {
	text    string
	isCall  bool
	call    *intrinsic.Call
	path    *jsonpath.Path
	err     error // the call or path does not parse
	usesCtx bool  // it reads the context object
}

// compileTemplate compiles a template; pg, when not nil, supplies
// compiled paths.
func compileTemplate(raw []byte, pg *program) *tmpl {
	v, err := jsonpath.Decode(raw)
	if err != nil {
		return &tmpl{err: err}
	}
	return buildTemplate(v, pg)
}

func buildTemplate(v any, pg *program) *tmpl {
	switch x := v.(type) {
	case map[string]any:
		t := &tmpl{}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dynamic := false
		for _, k := range keys {
			f := tfield{key: k, srcKey: k}
			if strings.HasSuffix(k, ".$") {
				f.key = strings.TrimSuffix(k, ".$")
				dynamic = true
				if s, ok := x[k].(string); ok {
					f.dyn = compileDyn(s, pg)
				} else {
					f.notString = true
				}
			} else {
				f.sub = buildTemplate(x[k], pg)
				dynamic = dynamic || !f.sub.isStatic
			}
			t.fields = append(t.fields, f)
		}
		if !dynamic {
			return &tmpl{static: v, isStatic: true}
		}
		return t
	case []any:
		t := &tmpl{isArray: true, elems: make([]*tmpl, len(x))}
		dynamic := false
		for i, e := range x {
			t.elems[i] = buildTemplate(e, pg)
			dynamic = dynamic || !t.elems[i].isStatic
		}
		if !dynamic {
			return &tmpl{static: v, isStatic: true}
		}
		return t
	}
	return &tmpl{static: v, isStatic: true}
}

// compileDyn compiles the value of a ".$" field.
func compileDyn(s string, pg *program) *dynExpr {
	d := &dynExpr{text: s}
	if intrinsic.IsIntrinsic(s) {
		d.isCall = true
		d.call, d.err = intrinsic.Parse(s)
		if d.err == nil {
			d.usesCtx = callUsesContext(d.call)
		}
		return d
	}
	if pg != nil {
		pg.addPath(s)
		d.path, d.err = pg.path(s)
	} else {
		d.path, d.err = compilePath(s)
	}
	if d.err == nil {
		d.usesCtx = d.path.Root() == jsonpath.RootContext
	}
	return d
}

// callUsesContext reports whether an intrinsic call reads $$.
func callUsesContext(c *intrinsic.Call) bool {
	for _, a := range c.Args {
		switch a.Kind {
		case intrinsic.ArgPath:
			if a.Path.Root() == jsonpath.RootContext {
				return true
			}
		case intrinsic.ArgCall:
			if callUsesContext(a.Call) {
				return true
			}
		}
	}
	return false
}

// crule is a compiled Choice rule.
type crule struct {
	r        *asl.ChoiceRule
	and, or  []*crule
	not      *crule
	variable *jsonpath.Path
	varErr   error
	op       string // the operator without its "Path" suffix
	isPath   bool
	numeric  bool
	// operandPath is the path of a "...Path" operator.
	operandPath *jsonpath.Path
	operandText string
	operandErr  error
	// operand is the literal operand; operandBad marks one that is not
	// JSON.
	operand    any
	operandBad bool
	// match is the compiled pattern of a literal StringMatches.
	match *regexp.Regexp
}

// rule returns the compiled rule, compiling it on the first call.
func (pg *program) rule(r *asl.ChoiceRule) *crule {
	if c, ok := pg.rules[r]; ok {
		return c
	}
	c := compileRule(r, pg)
	pg.rules[r] = c
	return c
}

// lookupRule returns the compiled rule without caching new ones (for use
// after New, when the program is shared).
func (pg *program) lookupRule(r *asl.ChoiceRule) *crule {
	if c, ok := pg.rules[r]; ok {
		return c
	}
	return compileRule(r, nil)
}

func compileRule(r *asl.ChoiceRule, pg *program) *crule {
	c := &crule{r: r}
	sub := func(r *asl.ChoiceRule) *crule {
		if pg != nil {
			return pg.rule(r)
		}
		return compileRule(r, nil)
	}
	for _, s := range r.And {
		c.and = append(c.and, sub(s))
	}
	for _, s := range r.Or {
		c.or = append(c.or, sub(s))
	}
	if r.Not != nil {
		c.not = sub(r.Not)
	}
	if len(r.And) > 0 || len(r.Or) > 0 || r.Not != nil || len(r.Condition) > 0 {
		return c
	}
	compile := func(text string) (*jsonpath.Path, error) {
		if pg != nil {
			pg.addPath(text)
			return pg.path(text)
		}
		return compilePath(text)
	}
	c.variable, c.varErr = compile(r.Variable)
	c.op = r.BaseOperator()
	c.isPath = r.IsPathOperator()
	c.numeric = strings.HasPrefix(c.op, "Numeric")
	if c.isPath {
		c.operandText, _ = r.StringValue()
		c.operandPath, c.operandErr = compile(c.operandText)
		return c
	}
	o, err := jsonpath.Decode(r.Value)
	if err != nil {
		c.operandBad = true
		return c
	}
	c.operand = o
	if s, ok := o.(string); ok && c.op == "StringMatches" {
		c.match, _ = stringMatchRE(s)
	}
	return c
}
