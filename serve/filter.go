package serve

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// FilterCriteria are the filters of an event source mapping: a record is
// delivered when it matches at least one filter's pattern.
type FilterCriteria struct {
	Filters []Filter `json:"Filters"`
}

// Filter is one filter: an EventBridge event pattern, as JSON text.
type Filter struct {
	Pattern string `json:"Pattern"`
}

// filters is a compiled FilterCriteria.
type filters []map[string]any

// compileFilters parses the patterns of fc; nil or empty criteria match
// everything.
func compileFilters(fc *FilterCriteria) (filters, error) {
	if fc == nil {
		return nil, nil
	}
	out := make(filters, 0, len(fc.Filters))
	for i, f := range fc.Filters {
		var p map[string]any
		dec := json.NewDecoder(strings.NewReader(f.Pattern))
		dec.UseNumber()
		if err := dec.Decode(&p); err != nil || p == nil {
			return nil, fmt.Errorf("serve: filter %d: the pattern is not a JSON object: %q", i, f.Pattern)
		}
		if err := checkPattern(p); err != nil {
			return nil, fmt.Errorf("serve: filter %d: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPattern validates a pattern: objects of objects whose leaves are
// arrays of values or of the supported matchers.
func checkPattern(p map[string]any) error {
	for k, v := range p {
		switch v := v.(type) {
		case map[string]any:
			if err := checkPattern(v); err != nil {
				return err
			}
		case []any:
			for _, e := range v {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				for op := range m {
					switch op {
					case "prefix", "suffix", "anything-but", "exists", "numeric", "equals-ignore-case":
					default:
						return fmt.Errorf("pattern %q: the matcher %q is not supported", k, op)
					}
				}
			}
		default:
			return fmt.Errorf("pattern %q: a value must be an array or an object", k)
		}
	}
	return nil
}

// match reports whether event matches any filter (true without filters).
func (fs filters) match(event map[string]any) bool {
	if len(fs) == 0 {
		return true
	}
	for _, p := range fs {
		if matchObject(p, event) {
			return true
		}
	}
	return false
}

// matchObject matches a pattern object against an event object.
func matchObject(p map[string]any, ev map[string]any) bool {
	for k, pv := range p {
		v, present := ev[k]
		switch pv := pv.(type) {
		case map[string]any:
			sub, _ := v.(map[string]any)
			if sub == nil {
				sub = map[string]any{}
			}
			if !matchObject(pv, sub) {
				return false
			}
		case []any:
			if !matchValues(pv, v, present) {
				return false
			}
		}
	}
	return true
}

// matchValues reports whether any element of a pattern array matches the
// event value (any element of it, when it is an array).
func matchValues(list []any, v any, present bool) bool {
	for _, pe := range list {
		if m, ok := pe.(map[string]any); ok {
			if matchOperator(m, v, present) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				if equalScalar(pe, e) {
					return true
				}
			}
			continue
		}
		if equalScalar(pe, v) {
			return true
		}
	}
	return false
}

// matchOperator applies one matcher object.
func matchOperator(m map[string]any, v any, present bool) bool {
	if e, ok := m["exists"]; ok {
		want, _ := e.(bool)
		return present == want
	}
	if !present {
		return false
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if matchOperator(m, e, true) {
				return true
			}
		}
		return false
	}
	s, isString := v.(string)
	switch {
	case m["prefix"] != nil:
		p, _ := m["prefix"].(string)
		return isString && strings.HasPrefix(s, p)
	case m["suffix"] != nil:
		p, _ := m["suffix"].(string)
		return isString && strings.HasSuffix(s, p)
	case m["equals-ignore-case"] != nil:
		p, _ := m["equals-ignore-case"].(string)
		return isString && strings.EqualFold(s, p)
	case m["anything-but"] != nil:
		switch ab := m["anything-but"].(type) {
		case []any:
			for _, e := range ab {
				if equalScalar(e, v) {
					return false
				}
			}
			return true
		case map[string]any:
			if p, ok := ab["prefix"].(string); ok {
				return !isString || !strings.HasPrefix(s, p)
			}
			return false
		default:
			return !equalScalar(ab, v)
		}
	case m["numeric"] != nil:
		ops, _ := m["numeric"].([]any)
		x, ok := number(v)
		if !ok || len(ops)%2 != 0 {
			return false
		}
		for i := 0; i < len(ops); i += 2 {
			op, _ := ops[i].(string)
			y, ok := number(ops[i+1])
			if !ok {
				return false
			}
			var holds bool
			switch op {
			case "=":
				holds = x == y
			case "<":
				holds = x < y
			case "<=":
				holds = x <= y
			case ">":
				holds = x > y
			case ">=":
				holds = x >= y
			}
			if !holds {
				return false
			}
		}
		return true
	}
	return false
}

// number reads a JSON number, or a string holding one (DynamoDB's N).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// equalScalar compares a pattern value with an event value: strings and
// booleans exactly, numbers numerically, null with null.
func equalScalar(p, v any) bool {
	switch p := p.(type) {
	case nil:
		return v == nil
	case string:
		s, ok := v.(string)
		return ok && s == p
	case bool:
		b, ok := v.(bool)
		return ok && b == p
	case json.Number:
		if _, isString := v.(string); isString {
			return false
		}
		x, ok1 := number(p)
		y, ok2 := number(v)
		return ok1 && ok2 && x == y
	}
	return false
}
