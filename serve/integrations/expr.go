package integrations

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// errUnsupported marks an expression the ItemStore port cannot carry out.
var errUnsupported = errors.New("not supported by the ItemStore port")

// exprContext resolves the placeholders of an expression:
// ExpressionAttributeNames (#n) and ExpressionAttributeValues (:v).
type exprContext struct {
	names  map[string]string
	values map[string]core.AttributeValue
}

// newExprContext reads ExpressionAttributeNames and
// ExpressionAttributeValues from the task parameters.
func newExprContext(p map[string]any) (*exprContext, error) {
	c := &exprContext{names: map[string]string{}, values: map[string]core.AttributeValue{}}
	if n, ok := p["ExpressionAttributeNames"].(map[string]any); ok {
		for k, v := range n {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("ExpressionAttributeNames[%s] must be a string", k)
			}
			c.names[k] = s
		}
	}
	if v, ok := p["ExpressionAttributeValues"]; ok && v != nil {
		item, err := itemFromJSON(v)
		if err != nil {
			return nil, fmt.Errorf("ExpressionAttributeValues: %w", err)
		}
		c.values = item
	}
	return c, nil
}

// tokens splits an expression into names, placeholders, numbers and
// operators.
func tokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.ContainsRune("=,()+-[]", rune(c)):
			out = append(out, string(c))
			i++
		case c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				out = append(out, s[i:i+2])
				i += 2
			} else {
				out = append(out, string(c))
				i++
			}
		case c == '#' || c == ':' || c == '_' || c == '.' || isAlnum(c):
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == '.' || s[j] == '-' && c != ':' && c != '#') {
				j++
			}
			out = append(out, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q in expression %q", c, s)
		}
	}
	return out, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// name resolves an attribute name token: #placeholders through
// ExpressionAttributeNames; nested paths are not supported.
func (c *exprContext) name(tok string) (string, error) {
	if strings.HasPrefix(tok, "#") {
		n, ok := c.names[tok]
		if !ok {
			return "", fmt.Errorf("an expression attribute name used in the document path is not defined; attribute name: %s", tok)
		}
		return n, nil
	}
	if tok == "" || strings.HasPrefix(tok, ":") || strings.ContainsAny(tok, ".[]") || !(isAlnum(tok[0]) || tok[0] == '_') {
		return "", fmt.Errorf("document path %q: nested or malformed paths are %w", tok, errUnsupported)
	}
	return tok, nil
}

// value resolves a :placeholder.
func (c *exprContext) value(tok string) (core.AttributeValue, error) {
	if !strings.HasPrefix(tok, ":") {
		return nil, fmt.Errorf("operand %q: only :placeholders are %w as values", tok, errUnsupported)
	}
	v, ok := c.values[tok]
	if !ok {
		return nil, fmt.Errorf("an expression attribute value used in expression is not defined; attribute value: %s", tok)
	}
	return v, nil
}

// integer reads an N attribute value as an int64.
func integer(v core.AttributeValue) (int64, error) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("an operand in the update expression has an incorrect data type")
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("adding the non-integer %s is %w", n.Value, errUnsupported)
	}
	return i, nil
}

// parseUpdate translates an UpdateExpression into a core.Update:
// "SET a = :v", "SET n = n + :k" (or - :k), "REMOVE a, b" and "ADD n :k"
// with integer increments.
func (c *exprContext) parseUpdate(expr string) (core.Update, error) {
	toks, err := tokens(expr)
	if err != nil {
		return core.Update{}, err
	}
	upd := core.Update{Set: map[string]core.AttributeValue{}, Add: map[string]int64{}}
	clause := ""
	for i := 0; i < len(toks); {
		switch kw := strings.ToUpper(toks[i]); kw {
		case "SET", "REMOVE", "ADD", "DELETE":
			if kw == "DELETE" {
				return core.Update{}, fmt.Errorf("DELETE (from a set) is %w", errUnsupported)
			}
			clause = kw
			i++
			continue
		}
		if clause == "" {
			return core.Update{}, fmt.Errorf("syntax error; token: %q, near: %q", toks[i], expr)
		}
		// One action up to the next comma at depth 0 or the next clause.
		j := i
		for j < len(toks) && toks[j] != "," && !isClause(toks[j]) {
			j++
		}
		if err := c.action(&upd, clause, toks[i:j]); err != nil {
			return core.Update{}, err
		}
		i = j
		if i < len(toks) && toks[i] == "," {
			i++
		}
	}
	if len(upd.Set) == 0 {
		upd.Set = nil
	}
	if len(upd.Add) == 0 {
		upd.Add = nil
	}
	return upd, nil
}

func isClause(tok string) bool {
	switch strings.ToUpper(tok) {
	case "SET", "REMOVE", "ADD", "DELETE":
		return true
	}
	return false
}

// action applies one action of an update clause.
func (c *exprContext) action(upd *core.Update, clause string, t []string) error {
	if len(t) == 0 {
		return fmt.Errorf("syntax error in the %s clause", clause)
	}
	target, err := c.name(t[0])
	if err != nil {
		return err
	}
	switch clause {
	case "REMOVE":
		if len(t) != 1 {
			return fmt.Errorf("REMOVE %v: %w", t, errUnsupported)
		}
		upd.Remove = append(upd.Remove, target)
		return nil
	case "ADD":
		if len(t) != 2 {
			return fmt.Errorf("ADD %v: %w", t, errUnsupported)
		}
		v, err := c.value(t[1])
		if err != nil {
			return err
		}
		n, err := integer(v)
		if err != nil {
			return err
		}
		upd.Add[target] += n
		return nil
	}
	// SET target = ...
	if len(t) < 3 || t[1] != "=" {
		return fmt.Errorf("syntax error in SET %v", t)
	}
	rhs := t[2:]
	switch {
	case len(rhs) == 1:
		v, err := c.value(rhs[0])
		if err != nil {
			return err
		}
		upd.Set[target] = v
		return nil
	case len(rhs) == 3 && (rhs[1] == "+" || rhs[1] == "-"):
		// n = n + :k, n = :k + n, n = n - :k: an atomic counter.
		self, operand := rhs[0], rhs[2]
		if rhs[1] == "+" && strings.HasPrefix(self, ":") {
			self, operand = operand, self
		}
		if n, err := c.name(self); err != nil || n != target {
			return fmt.Errorf("SET %s = %s: arithmetic on another attribute is %w", target, strings.Join(rhs, " "), errUnsupported)
		}
		v, err := c.value(operand)
		if err != nil {
			return err
		}
		n, err := integer(v)
		if err != nil {
			return err
		}
		if rhs[1] == "-" {
			n = -n
		}
		upd.Add[target] += n
		return nil
	}
	return fmt.Errorf("SET %s = %s: functions and nested operands are %w", target, strings.Join(rhs, " "), errUnsupported)
}

// parseCondition translates a ConditionExpression into a core.Condition:
// attribute_not_exists and attribute_exists of a key attribute, and
// "attr = :v".
func (c *exprContext) parseCondition(expr string) (core.Condition, error) {
	if strings.TrimSpace(expr) == "" {
		return core.Condition{}, nil
	}
	t, err := tokens(expr)
	if err != nil {
		return core.Condition{}, err
	}
	if len(t) == 4 && t[1] == "(" && t[3] == ")" {
		n, err := c.name(t[2])
		if err != nil {
			return core.Condition{}, err
		}
		if n != "pk" && n != "sk" {
			return core.Condition{}, fmt.Errorf("%s(%s): only the key attributes pk and sk are %w", t[0], n, errUnsupported)
		}
		switch t[0] {
		case "attribute_not_exists":
			return core.IfAbsent(), nil
		case "attribute_exists":
			return core.IfExists(), nil
		}
	}
	if len(t) == 3 && t[1] == "=" {
		n, err := c.name(t[0])
		if err != nil {
			return core.Condition{}, err
		}
		v, err := c.value(t[2])
		if err != nil {
			return core.Condition{}, err
		}
		return core.IfAttrEquals(n, v), nil
	}
	return core.Condition{}, fmt.Errorf("condition %q: only attribute_not_exists(pk), attribute_exists(pk) and attr = :v are %w", expr, errUnsupported)
}

// parseKeyCondition translates a KeyConditionExpression into a core.Query:
// "pk = :p" and optionally a condition on sk (=, <, <=, >, >=,
// begins_with, BETWEEN).
func (c *exprContext) parseKeyCondition(expr string) (core.Query, error) {
	t, err := tokens(expr)
	if err != nil {
		return core.Query{}, err
	}
	// Split on AND at depth 0, except the AND of BETWEEN.
	var parts [][]string
	start := 0
	for i := 0; i < len(t); i++ {
		if strings.EqualFold(t[i], "AND") && !(i >= 2 && strings.EqualFold(t[i-2], "BETWEEN")) {
			parts = append(parts, t[start:i])
			start = i + 1
		}
	}
	parts = append(parts, t[start:])
	var q core.Query
	hasPK := false
	for _, p := range parts {
		switch {
		case len(p) == 3 && isCompare(p[1]):
			n, err := c.name(p[0])
			if err != nil {
				return core.Query{}, err
			}
			s, err := c.stringValue(p[2])
			if err != nil {
				return core.Query{}, err
			}
			if n == "pk" {
				if p[1] != "=" {
					return core.Query{}, fmt.Errorf("query key condition not supported")
				}
				q.PK, hasPK = s, true
				continue
			}
			if n != "sk" {
				return core.Query{}, fmt.Errorf("query condition on %q: only pk and sk are %w", n, errUnsupported)
			}
			q.SK = s
			q.Op = map[string]core.SKOp{"=": core.SKEqual, "<": core.SKLess, "<=": core.SKLessEq, ">": core.SKGreater, ">=": core.SKGreaterEq}[p[1]]
		case len(p) == 6 && p[0] == "begins_with" && p[1] == "(" && p[3] == "," && p[5] == ")":
			if n, err := c.name(p[2]); err != nil || n != "sk" {
				return core.Query{}, fmt.Errorf("begins_with on %q: only sk is %w", p[2], errUnsupported)
			}
			s, err := c.stringValue(p[4])
			if err != nil {
				return core.Query{}, err
			}
			q.Op, q.SK = core.SKBeginsWith, s
		case len(p) == 5 && strings.EqualFold(p[1], "BETWEEN") && strings.EqualFold(p[3], "AND"):
			if n, err := c.name(p[0]); err != nil || n != "sk" {
				return core.Query{}, fmt.Errorf("BETWEEN on %q: only sk is %w", p[0], errUnsupported)
			}
			lo, err := c.stringValue(p[2])
			if err != nil {
				return core.Query{}, err
			}
			hi, err := c.stringValue(p[4])
			if err != nil {
				return core.Query{}, err
			}
			q.Op, q.SK, q.SK2 = core.SKBetween, lo, hi
		default:
			return core.Query{}, fmt.Errorf("key condition %q is %w", strings.Join(p, " "), errUnsupported)
		}
	}
	if !hasPK {
		return core.Query{}, fmt.Errorf("query condition missed key schema element: pk")
	}
	return q, nil
}

func isCompare(op string) bool {
	switch op {
	case "=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// stringValue resolves a :placeholder holding a string.
func (c *exprContext) stringValue(tok string) (string, error) {
	v, err := c.value(tok)
	if err != nil {
		return "", err
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("one or more parameter values were invalid: condition parameter type does not match schema type")
	}
	return s.Value, nil
}

// projection parses a ProjectionExpression of top-level attribute names.
func (c *exprContext) projection(expr string) ([]string, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	t, err := tokens(expr)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, tok := range t {
		if i%2 == 1 {
			if tok != "," {
				return nil, fmt.Errorf("projection %q: %w", expr, errUnsupported)
			}
			continue
		}
		n, err := c.name(tok)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
