package jsonpath

import (
	"encoding/json"
	"fmt"
	"sort"
)

func jsonNumber(s string) json.Number { return json.Number(s) }

// Get evaluates path against doc. It is Compile followed by Path.Get.
func Get(path string, doc any) (any, error) {
	p, err := Compile(path)
	if err != nil {
		return nil, err
	}
	return p.Get(doc)
}

// Get evaluates the path against doc, whatever its root: the caller passes
// the input, the context object or a variable's value as doc.
//
// A definite path (see IsDefinite) returns the value it names, or a
// *NotFoundError when a field is missing, an index is out of range or a step
// meets a value of the wrong type. An indefinite path returns a []any of its
// matches (possibly empty) and never fails. The result shares structure with
// doc; Clone it before mutating.
func (p *Path) Get(doc any) (any, error) {
	if definite(p.segs) {
		return getDefinite(p.segs, doc, p.text)
	}
	return collect(p.segs, doc, doc), nil
}

// getDefinite walks a definite path.
func getDefinite(segs []segment, doc any, text string) (any, error) {
	cur := doc
	for i, s := range segs {
		switch s.kind {
		case segNames:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, &NotFoundError{Path: text, Reason: fmt.Sprintf("expected an object for field %q, found %s", s.names[0], TypeName(cur))}
			}
			if len(s.names) > 1 { // ['a','b'] as last step merges fields
				out := make(map[string]any, len(s.names))
				for _, n := range s.names {
					if v, ok := m[n]; ok {
						out[n] = v
					}
				}
				return out, nil
			}
			v, ok := m[s.names[0]]
			if !ok {
				return nil, &NotFoundError{Path: text, Reason: fmt.Sprintf("missing field %q", s.names[0])}
			}
			cur = v
		case segIndexes:
			a, ok := cur.([]any)
			if !ok {
				return nil, &NotFoundError{Path: text, Reason: fmt.Sprintf("expected an array for index %d, found %s", s.indexes[0], TypeName(cur))}
			}
			idx := s.indexes[0]
			if idx < 0 {
				idx += len(a)
			}
			if idx < 0 || idx >= len(a) {
				return nil, &NotFoundError{Path: text, Reason: fmt.Sprintf("index %d out of range (length %d)", s.indexes[0], len(a))}
			}
			cur = a[idx]
		default:
			return nil, &NotFoundError{Path: text, Reason: fmt.Sprintf("step %d is not definite", i)}
		}
	}
	return cur, nil
}

// collect evaluates an indefinite path and returns every match.
func collect(segs []segment, doc, root any) []any {
	cur := []any{doc}
	for _, s := range segs {
		var next []any
		for _, v := range cur {
			if s.deep {
				for _, n := range descendants(v, nil) {
					next = apply(s, n, root, next, true)
				}
			} else {
				next = apply(s, v, root, next, false)
			}
		}
		cur = next
	}
	if cur == nil {
		cur = []any{}
	}
	return cur
}

// descendants appends v and all values below it, in document order (object
// fields by sorted key).
func descendants(v any, out []any) []any {
	out = append(out, v)
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = descendants(e, out)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = descendants(x[k], out)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apply applies one step to v and appends the matches to out. deep is set
// under recursive descent, where a filter tests each node itself.
func apply(s segment, v, root any, out []any, deep bool) []any {
	switch s.kind {
	case segNames:
		if m, ok := v.(map[string]any); ok {
			for _, n := range s.names {
				if e, ok := m[n]; ok {
					out = append(out, e)
				}
			}
		}
	case segIndexes:
		if a, ok := v.([]any); ok {
			for _, i := range s.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segWildcard:
		switch x := v.(type) {
		case []any:
			out = append(out, x...)
		case map[string]any:
			for _, k := range sortedKeys(x) {
				out = append(out, x[k])
			}
		}
	case segSlice:
		if a, ok := v.([]any); ok {
			from, to := 0, len(a)
			if s.hasFrom {
				from = clampIndex(s.from, len(a))
			}
			if s.hasTo {
				to = clampIndex(s.to, len(a))
			}
			if from < to {
				out = append(out, a[from:to]...)
			}
		}
	case segFilter:
		switch x := v.(type) {
		case []any:
			if deep {
				break
			}
			for _, e := range x {
				if s.filter.test(e, root) {
					out = append(out, e)
				}
			}
		case map[string]any:
			if s.filter.test(x, root) {
				out = append(out, x)
			}
		}
	}
	return out
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
		if i < 0 {
			i = 0
		}
	}
	if i > n {
		i = n
	}
	return i
}

// Set returns doc with value placed at the reference path refPath, with the
// semantics of ResultPath: "$" returns value itself; "$.a.b" copies doc
// along the path, creating missing objects, and sets b. Array indexes must
// name an existing element. doc itself is not modified; untouched parts of
// it are shared with the result. An intermediate value that is not an object
// (or array, for an index) is a *SetError.
func Set(doc any, refPath string, value any) (any, error) {
	p, err := Compile(refPath)
	if err != nil {
		return nil, err
	}
	return p.Set(doc, value)
}

// Set is the method form of the package function Set.
func (p *Path) Set(doc any, value any) (any, error) {
	if !p.IsReference() {
		return nil, &SetError{Path: p.text, Reason: "not a reference path"}
	}
	return setAt(p.segs, doc, value, p.text)
}

func setAt(segs []segment, cur, value any, text string) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	s := segs[0]
	if s.kind == segNames {
		name := s.names[0]
		var m map[string]any
		switch x := cur.(type) {
		case map[string]any:
			m = make(map[string]any, len(x)+1)
			for k, v := range x {
				m[k] = v
			}
		case nil:
			m = map[string]any{}
		default:
			return nil, &SetError{Path: text, Reason: fmt.Sprintf("cannot set field %q in %s", name, TypeName(cur))}
		}
		v, err := setAt(segs[1:], m[name], value, text)
		if err != nil {
			return nil, err
		}
		m[name] = v
		return m, nil
	}
	idx := s.indexes[0]
	a, ok := cur.([]any)
	if !ok {
		return nil, &SetError{Path: text, Reason: fmt.Sprintf("cannot set index %d in %s", idx, TypeName(cur))}
	}
	if idx >= len(a) {
		return nil, &SetError{Path: text, Reason: fmt.Sprintf("index %d out of range (length %d)", idx, len(a))}
	}
	out := make([]any, len(a))
	copy(out, a)
	v, err := setAt(segs[1:], out[idx], value, text)
	if err != nil {
		return nil, err
	}
	out[idx] = v
	return out, nil
}
