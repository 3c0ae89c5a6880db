package interp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// pathStep is one step of a definite path, used to explain a lookup that
// failed in the words AWS uses (those of the Jayway JsonPath library).
type pathStep struct {
	name    string
	index   int
	isIndex bool
}

// splitDefinite splits a definite path ("$.a['b'][0]") into its root and
// steps. ok is false for paths it does not understand.
func splitDefinite(p string) (root string, steps []pathStep, ok bool) {
	i := 0
	if !strings.HasPrefix(p, "$") {
		return "", nil, false
	}
	i = 1
	if strings.HasPrefix(p, "$$") {
		i = 2
	} else {
		for i < len(p) && p[i] != '.' && p[i] != '[' {
			i++
		}
	}
	root = p[:i]
	for i < len(p) {
		switch p[i] {
		case '.':
			j := i + 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			if j == i+1 {
				return "", nil, false
			}
			steps = append(steps, pathStep{name: p[i+1 : j]})
			i = j
		case '[':
			if i+1 < len(p) && (p[i+1] == '\'' || p[i+1] == '"') {
				q := p[i+1]
				j := i + 2
				var b strings.Builder
				for j < len(p) && p[j] != q {
					if p[j] == '\\' && j+1 < len(p) {
						j++
					}
					b.WriteByte(p[j])
					j++
				}
				if j+1 >= len(p) || p[j+1] != ']' {
					return "", nil, false
				}
				steps = append(steps, pathStep{name: b.String()})
				i = j + 2
				continue
			}
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return "", nil, false
			}
			n, err := strconv.Atoi(strings.TrimSpace(p[i+1 : i+j]))
			if err != nil {
				return "", nil, false
			}
			steps = append(steps, pathStep{index: n, isIndex: true})
			i += j + 1
		default:
			return "", nil, false
		}
	}
	return root, steps, true
}

// normalized renders steps the way Jayway prints paths: $['a'][0].
func normalized(steps []pathStep) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range steps {
		if s.isIndex {
			fmt.Fprintf(&b, "[%d]", s.index)
		} else {
			fmt.Fprintf(&b, "['%s']", s.name)
		}
	}
	return b.String()
}

// javaClass names the Java class Jackson would use for a JSON value.
func javaClass(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case bool:
		return "java.lang.Boolean"
	case []any:
		return "java.util.ArrayList"
	case map[string]any:
		return "java.util.LinkedHashMap"
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 32); err == nil {
			return "java.lang.Integer"
		}
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "java.lang.Long"
		}
		return "java.lang.Double"
	}
	return "java.lang.Object"
}

// notFoundReason explains why path selects nothing in doc, in Jayway's words.
func notFoundReason(path string, doc any) string {
	_, steps, ok := splitDefinite(path)
	if !ok {
		return "No results for path: " + path
	}
	cur := doc
	for i, s := range steps {
		last := i == len(steps)-1
		if s.isIndex {
			a, isArr := cur.([]any)
			if !isArr {
				enc, _ := jsonpath.EncodeString(cur)
				return fmt.Sprintf("Filter: [%d] can only be applied to arrays. Current context is: %s", s.index, enc)
			}
			idx := s.index
			if idx < 0 {
				idx += len(a)
			}
			if idx < 0 || idx >= len(a) {
				return "No results for path: " + normalized(steps)
			}
			cur = a[idx]
			continue
		}
		m, isObj := cur.(map[string]any)
		if !isObj {
			return fmt.Sprintf("Expected to find an object with property ['%s'] in path %s but found '%s'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.", s.name, normalized(steps[:i]), javaClass(cur))
		}
		v, present := m[s.name]
		if !present {
			if last {
				return "No results for path: " + normalized(steps)
			}
			return "Missing property in path " + normalized(steps[:i+1])
		}
		cur = v
	}
	return "No results for path: " + normalized(steps)
}

// isNotFound reports whether err is a path lookup that found nothing.
func isNotFound(err error) bool {
	var nf *jsonpath.NotFoundError
	return errors.As(err, &nf)
}
