package conformance

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
)

// matcher compares an actual JSON value against an expected one, honouring
// placeholders (tokens standing for volatile values) and, when shapeOnly is
// set, comparing only the structure and the kinds of leaves.
type matcher struct {
	placeholders []string
	shapeOnly    bool
}

// placeholderRE matches angle-bracket placeholder tokens such as <uuid:1>.
var placeholderRE = regexp.MustCompile(`<[A-Za-z0-9_:\-]+>`)

// isWholePlaceholder reports whether s is exactly one placeholder token.
func (m matcher) isWholePlaceholder(s string) bool {
	for _, p := range m.placeholders {
		if s == p {
			return true
		}
	}
	return false
}

// hasPlaceholder reports whether s holds any placeholder token.
func (m matcher) hasPlaceholder(s string) bool {
	if m.isWholePlaceholder(s) {
		return true
	}
	for _, p := range m.placeholders {
		if strings.HasPrefix(p, "<") && strings.Contains(s, p) {
			return true
		}
	}
	return placeholderRE.MatchString(s) && m.listedIn(s)
}

func (m matcher) listedIn(s string) bool {
	for _, tok := range placeholderRE.FindAllString(s, -1) {
		for _, p := range m.placeholders {
			if tok == p {
				return true
			}
		}
	}
	return false
}

// stringMatches compares a string holding placeholders against actual text.
func (m matcher) stringMatches(expected, actual string) bool {
	if m.isWholePlaceholder(expected) {
		return true
	}
	var b strings.Builder
	b.WriteString(`(?s)^`)
	last := 0
	for _, loc := range placeholderRE.FindAllStringIndex(expected, -1) {
		tok := expected[loc[0]:loc[1]]
		listed := false
		for _, p := range m.placeholders {
			if p == tok {
				listed = true
			}
		}
		if !listed {
			continue
		}
		b.WriteString(regexp.QuoteMeta(expected[last:loc[0]]))
		b.WriteString(`.*?`)
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(expected[last:]))
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return expected == actual
	}
	return re.MatchString(actual)
}

// match returns "" when actual matches expected, else a short description
// of the first difference found, prefixed with its path.
func (m matcher) match(path string, expected, actual any) string {
	if s, ok := expected.(string); ok && m.isWholePlaceholder(s) {
		return ""
	}
	if m.shapeOnly && isScalar(expected) && isScalar(actual) {
		return ""
	}
	switch e := expected.(type) {
	case nil:
		if actual != nil {
			return fmt.Sprintf("%s: want null, got %s", path, short(actual))
		}
	case bool:
		a, ok := actual.(bool)
		if !ok || (!m.shapeOnly && a != e) {
			return fmt.Sprintf("%s: want %v, got %s", path, e, short(actual))
		}
	case json.Number:
		a, ok := actual.(json.Number)
		if !ok {
			return fmt.Sprintf("%s: want %s, got %s", path, e, short(actual))
		}
		if !m.shapeOnly && !numbersEqual(e, a) {
			return fmt.Sprintf("%s: want %s, got %s", path, e, a)
		}
	case string:
		a, ok := actual.(string)
		if !ok {
			return fmt.Sprintf("%s: want %q, got %s", path, e, short(actual))
		}
		if m.shapeOnly {
			return ""
		}
		if m.hasPlaceholder(e) {
			if !m.stringMatches(e, a) {
				return fmt.Sprintf("%s: want %q, got %q", path, e, a)
			}
			return ""
		}
		if a != e {
			return fmt.Sprintf("%s: want %q, got %q", path, e, a)
		}
	case []any:
		a, ok := actual.([]any)
		if !ok {
			return fmt.Sprintf("%s: want array, got %s", path, short(actual))
		}
		if len(a) != len(e) {
			return fmt.Sprintf("%s: want %d elements, got %d: %s", path, len(e), len(a), short(actual))
		}
		for i := range e {
			if d := m.match(fmt.Sprintf("%s[%d]", path, i), e[i], a[i]); d != "" {
				return d
			}
		}
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want object, got %s", path, short(actual))
		}
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, present := a[k]
			if !present {
				return fmt.Sprintf("%s: missing key %q", path, k)
			}
			if d := m.match(path+"."+k, e[k], av); d != "" {
				return d
			}
		}
		for k := range a {
			if _, present := e[k]; !present {
				return fmt.Sprintf("%s: unexpected key %q", path, k)
			}
		}
	default:
		return fmt.Sprintf("%s: unsupported expected value %T", path, expected)
	}
	return ""
}

// numbersEqual compares two JSON numbers by value.
func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	if !ok1 || !ok2 {
		return false
	}
	return x.Cmp(y) == 0
}

// short renders a value as compact JSON, cut to a readable length.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(b)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// isScalar reports whether v is neither an array nor an object.
func isScalar(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return false
	}
	return true
}
