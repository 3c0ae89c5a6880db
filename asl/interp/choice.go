package interp

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// stringMatches implements StringMatches: '*' matches any run of
// characters; "\\*" is a literal star and "\\\\" a literal backslash.
func stringMatches(s, pattern string) bool {
	re, err := stringMatchRE(pattern)
	return err == nil && re.MatchString(s)
}

// stringMatchRE compiles a StringMatches pattern to a regular expression.
func stringMatchRE(pattern string) (*regexp.Regexp, error) {
	var re, lit strings.Builder
	re.WriteString(`(?s)^`)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			lit.WriteByte(pattern[i])
		case c == '*':
			re.WriteString(regexp.QuoteMeta(lit.String()))
			lit.Reset()
			re.WriteString(`.*`)
		default:
			lit.WriteByte(c)
		}
	}
	re.WriteString(regexp.QuoteMeta(lit.String()))
	re.WriteString(`$`)
	return regexp.Compile(re.String())
}

// choiceEnv is what a Choice rule reads: the effective input, the context
// object (built on first use) and the variables.
type choiceEnv struct {
	sr    *stateRun
	input any
	co    lazyCtx
}

// lookup resolves a Choice path. present is false when the path selects
// nothing.
func (env *choiceEnv) lookup(p *jsonpath.Path, perr error) (v any, present bool, err error) {
	if perr != nil {
		return nil, false, perr
	}
	v, err = env.sr.resolve(p, env.input, &env.co)
	if err != nil {
		if isNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return v, true, nil
}

// evalRule evaluates a Choice rule.
func (env *choiceEnv) evalRule(c *crule) (bool, error) {
	r := c.r
	switch {
	case len(c.and) > 0:
		for _, sub := range c.and {
			ok, err := env.evalRule(sub)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case len(c.or) > 0:
		for _, sub := range c.or {
			ok, err := env.evalRule(sub)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case c.not != nil:
		ok, err := env.evalRule(c.not)
		return !ok, err
	}
	if len(r.Condition) > 0 {
		return false, &UnsupportedError{Feature: "QueryLanguage JSONata"}
	}
	v, present, err := env.lookup(c.variable, c.varErr)
	if err != nil {
		return false, err
	}
	if r.Operator == "IsPresent" {
		want, _ := c.operand.(bool)
		return present == want, nil
	}
	if !present {
		return false, runtimeError(env.sr.name, env.sr.entered, "Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable)
	}
	var operand any
	if c.isPath {
		o, ok, err := env.lookup(c.operandPath, c.operandErr)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, runtimeError(env.sr.name, env.sr.entered, "Invalid path '%s': The choice state's condition path references an invalid value.", c.operandText)
		}
		operand = o
		if c.numeric {
			operand = asDouble(operand)
		}
	} else {
		if c.operandBad {
			return false, newError(asl.ErrorRuntime, "invalid operand of "+r.Operator)
		}
		operand = c.operand
		if c.match != nil {
			a, ok := v.(string)
			return ok && c.match.MatchString(a), nil
		}
	}
	return compareChoice(c.op, v, operand), nil
}

// asDouble reads the value a Numeric*Path operator's path selects the way
// Jackson's JsonNode.asDouble does: a number as itself, a numeric string
// as its number, true as 1, and anything else as 0. Evidence: a public
// suite of Choice cases executed against AWS
// (Choice.NumericGreaterThanPath / NumericGreaterThanEqualsPath, found by
// code search) records that 7 > [6] and 8 >= false both match.
func asDouble(v any) any {
	switch x := v.(type) {
	case json.Number:
		return x
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case bool:
		if x {
			return json.Number("1")
		}
	}
	return json.Number("0")
}

// compareChoice applies a comparison operator; a value of the wrong type
// never matches.
func compareChoice(op string, v, operand any) bool {
	switch op {
	case "IsNull":
		want, _ := operand.(bool)
		return (v == nil) == want
	case "IsNumeric":
		want, _ := operand.(bool)
		_, isNum := v.(json.Number)
		return isNum == want
	case "IsString":
		want, _ := operand.(bool)
		_, isStr := v.(string)
		return isStr == want
	case "IsBoolean":
		want, _ := operand.(bool)
		_, isBool := v.(bool)
		return isBool == want
	case "IsTimestamp":
		want, _ := operand.(bool)
		s, isStr := v.(string)
		isTS := false
		if isStr {
			_, isTS = jsonpath.ParseTimestamp(s)
		}
		return isTS == want
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b
	case "StringMatches":
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		return ok1 && ok2 && stringMatches(a, b)
	}
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		return cmpResult(strings.TrimPrefix(op, "String"), strings.Compare(a, b))
	case strings.HasPrefix(op, "Numeric"):
		_, ok1 := v.(json.Number)
		_, ok2 := operand.(json.Number)
		if !ok1 || !ok2 {
			return false
		}
		c, ok := jsonpath.CompareNumbers(v, operand)
		return ok && cmpResult(strings.TrimPrefix(op, "Numeric"), c)
	case strings.HasPrefix(op, "Timestamp"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		ta, ok1 := jsonpath.ParseTimestamp(a)
		tb, ok2 := jsonpath.ParseTimestamp(b)
		if !ok1 || !ok2 {
			return false
		}
		return cmpResult(strings.TrimPrefix(op, "Timestamp"), ta.Compare(tb))
	}
	return false
}

func cmpResult(kind string, c int) bool {
	switch kind {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}
