package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// This file holds the reflective JSON codec shared by the model types. It
// keeps key order, zero-valued fields that were present, and unknown or
// wrongly typed fields (in Extra), so that Parse followed by json.Marshal
// reproduces the input up to whitespace.

type metaHolder interface{ getMeta() *meta }

// keyDecoder lets a type take over the decoding of some keys.
type keyDecoder interface {
	decodeKey(key string, raw json.RawMessage) bool
}

// fieldEncoder lets a type take over the encoding of some fields.
type fieldEncoder interface {
	encodeField(name string) (raw []byte, handled bool, err error)
}

// keyEncoder lets a type add entries that are not struct fields; they are
// placed before the field named by before, or at the end.
type keyEncoder interface {
	encodeKeys() (entries []kv, before string, err error)
}

type kv struct {
	key string
	raw []byte
}

type fieldInfo struct {
	name  string
	index int
}

type typeInfo struct {
	fields []fieldInfo
	byName map[string]int
	extra  int
}

var typeInfos sync.Map // reflect.Type -> *typeInfo

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{byName: map[string]int{}, extra: -1}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Name == "Extra" {
			ti.extra = i
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "" || tag == "-" {
			continue
		}
		ti.byName[tag] = len(ti.fields)
		ti.fields = append(ti.fields, fieldInfo{name: tag, index: i})
	}
	typeInfos.Store(t, ti)
	return ti
}

var (
	pathPtrType = reflect.TypeFor[*Path]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	stringsType = reflect.TypeFor[[]string]()
	errNull     = errors.New("null is not allowed here")
	errNilElem  = errors.New("null element is not allowed here")
)

// decodeObject decodes the JSON object data into the struct pointed to by v.
func decodeObject(data []byte, v any) error {
	rv := reflect.ValueOf(v).Elem()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &json.UnmarshalTypeError{Value: describe(data), Type: rv.Type()}
	}
	rv.Set(reflect.Zero(rv.Type()))
	ti := infoOf(rv.Type())
	m := v.(metaHolder).getMeta()
	kd, _ := v.(keyDecoder)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if !seen[key] {
			seen[key] = true
			m.order = append(m.order, key)
		}
		if kd != nil && kd.decodeKey(key, raw) {
			continue
		}
		idx, known := ti.byName[key]
		if known {
			fv := rv.Field(ti.fields[idx].index)
			zero, err := setField(fv, raw)
			if err == nil {
				if ti.extra >= 0 {
					rv.Field(ti.extra).SetMapIndex(reflect.ValueOf(key), reflect.Value{})
				}
				if zero {
					if m.zero == nil {
						m.zero = map[string]bool{}
					}
					m.zero[key] = true
				}
				continue
			}
			fv.Set(reflect.Zero(fv.Type()))
		}
		if ti.extra < 0 {
			return fmt.Errorf("asl: unknown field %q", key)
		}
		ev := rv.Field(ti.extra)
		if ev.IsNil() {
			ev.Set(reflect.MakeMap(ev.Type()))
		}
		ev.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(json.RawMessage(raw)))
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	return nil
}

// setField decodes raw into fv and reports whether the result is a zero value.
func setField(fv reflect.Value, raw json.RawMessage) (zero bool, err error) {
	t := fv.Type()
	if string(raw) == "null" {
		switch t {
		case pathPtrType:
			fv.Set(reflect.ValueOf(NullPath()))
			return false, nil
		case rawType:
			fv.Set(reflect.ValueOf(json.RawMessage("null")))
			return false, nil
		}
		return false, errNull
	}
	if t == stringsType {
		var ptrs []*string
		if err := json.Unmarshal(raw, &ptrs); err != nil {
			return false, err
		}
		out := make([]string, len(ptrs))
		for i, p := range ptrs {
			if p == nil {
				return false, errNilElem
			}
			out[i] = *p
		}
		fv.Set(reflect.ValueOf(out))
		return false, nil
	}
	nv := reflect.New(t)
	if err := json.Unmarshal(raw, nv.Interface()); err != nil {
		return false, err
	}
	if hasNilElem(nv.Elem()) {
		return false, errNilElem
	}
	fv.Set(nv.Elem())
	return nv.Elem().IsZero(), nil
}

func hasNilElem(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Pointer {
			return false
		}
		for i := 0; i < v.Len(); i++ {
			if v.Index(i).IsNil() {
				return true
			}
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.Pointer {
			return false
		}
		it := v.MapRange()
		for it.Next() {
			if it.Value().IsNil() {
				return true
			}
		}
	}
	return false
}

// encodeObject encodes the struct pointed to by v as a JSON object.
func encodeObject(v any) ([]byte, error) {
	rv := reflect.ValueOf(v).Elem()
	ti := infoOf(rv.Type())
	m := v.(metaHolder).getMeta()
	fe, _ := v.(fieldEncoder)
	entries := map[string][]byte{}
	var order []string
	add := func(k string, raw []byte) {
		if _, dup := entries[k]; !dup {
			order = append(order, k)
		}
		entries[k] = raw
	}
	ke, _ := v.(keyEncoder)
	var keyed []kv
	var before string
	if ke != nil {
		var err error
		if keyed, before, err = ke.encodeKeys(); err != nil {
			return nil, err
		}
	}
	for _, f := range ti.fields {
		if f.name == before {
			for _, e := range keyed {
				add(e.key, e.raw)
			}
		}
		fv := rv.Field(f.index)
		if fv.IsZero() && !m.zero[f.name] {
			continue
		}
		if fe != nil {
			raw, handled, err := fe.encodeField(f.name)
			if err != nil {
				return nil, err
			}
			if handled {
				add(f.name, raw)
				continue
			}
		}
		raw, err := marshalNoEscape(fv.Interface())
		if err != nil {
			return nil, fmt.Errorf("asl: field %s: %w", f.name, err)
		}
		add(f.name, raw)
	}
	for _, e := range keyed {
		add(e.key, e.raw)
	}
	if ti.extra >= 0 {
		ev := rv.Field(ti.extra)
		keys := make([]string, 0, ev.Len())
		for _, k := range ev.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			raw := ev.MapIndex(reflect.ValueOf(k)).Bytes()
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, fmt.Errorf("asl: field %s: %w", k, err)
			}
			add(k, buf.Bytes())
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	write := func(k string) {
		raw, ok := entries[k]
		if !ok {
			return
		}
		delete(entries, k)
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kb, _ := marshalNoEscape(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(raw)
	}
	for _, k := range m.order {
		write(k)
	}
	for _, k := range order {
		write(k)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalNoEscape marshals v without HTML escaping and without a trailing newline.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func describe(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return "empty"
	}
	switch data[0] {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeStates decodes a States object keeping the order of its keys.
func decodeStates(raw json.RawMessage) (map[string]*State, []string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, false
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, false
	}
	states := map[string]*State{}
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		name, _ := tok.(string)
		var sraw json.RawMessage
		if err := dec.Decode(&sraw); err != nil {
			return nil, nil, false
		}
		st := new(State)
		if err := st.UnmarshalJSON(sraw); err != nil {
			return nil, nil, false
		}
		if _, dup := states[name]; !dup {
			order = append(order, name)
		}
		states[name] = st
	}
	return states, order, true
}

func (sm *StateMachine) decodeKey(key string, raw json.RawMessage) bool {
	if key != "States" {
		return false
	}
	states, order, ok := decodeStates(raw)
	if !ok {
		// Keep the value verbatim rather than decoding it a second time
		// through the generic path: with nested machines that would cost
		// twice per nesting level.
		if sm.Extra == nil {
			sm.Extra = map[string]json.RawMessage{}
		}
		sm.Extra[key] = append(json.RawMessage(nil), raw...)
		sm.States, sm.stateOrder = nil, nil
		return true
	}
	delete(sm.Extra, key)
	sm.States, sm.stateOrder = states, order
	return true
}

func (sm *StateMachine) encodeField(name string) ([]byte, bool, error) {
	if name != "States" || sm.States == nil {
		return nil, false, nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, n := range sm.StateNames() {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := marshalNoEscape(n)
		buf.Write(kb)
		buf.WriteByte(':')
		st := sm.States[n]
		if st == nil {
			buf.WriteString("null")
			continue
		}
		sb, err := st.MarshalJSON()
		if err != nil {
			return nil, true, fmt.Errorf("asl: state %q: %w", n, err)
		}
		buf.Write(sb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), true, nil
}

func (r *ChoiceRule) decodeKey(key string, raw json.RawMessage) bool {
	if !IsComparisonOperator(key) || (r.Operator != "" && r.Operator != key) {
		return false
	}
	r.Operator, r.Value = key, append(json.RawMessage(nil), raw...)
	return true
}

func (r *ChoiceRule) encodeKeys() ([]kv, string, error) {
	if r.Operator == "" {
		return nil, "", nil
	}
	val := r.Value
	if len(val) == 0 {
		val = json.RawMessage("null")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, val); err != nil {
		return nil, "", fmt.Errorf("asl: choice operator %s: %w", r.Operator, err)
	}
	return []kv{{key: r.Operator, raw: buf.Bytes()}}, "And", nil
}

// Parse decodes a state machine definition. It fails only when data is not
// JSON or not a JSON object; every other problem (unknown fields, fields of
// the wrong type, bad transitions) is kept in the model and reported by
// Validate. Parse followed by json.Marshal reproduces the definition.
func Parse(data []byte) (*StateMachine, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		// AWS answers a blank definition with a location-less schema error.
		return nil, &ValidationError{
			Problems: []Problem{{Code: CodeSchema, Message: "Definition must be a valid JSON object"}},
		}
	}
	sm := new(StateMachine)
	if err := json.Unmarshal(data, sm); err != nil {
		return nil, &ValidationError{
			Problems: []Problem{{Code: CodeInvalidJSON, Location: "/", Message: decodeMessage(data, err)}},
			cause:    err,
		}
	}
	return sm, nil
}

// decodeMessage describes why data does not decode as a definition, in
// terms of the JSON text (line and column), not of Go types.
func decodeMessage(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		msg := strings.TrimPrefix(syn.Error(), "json: ")
		if msg == "unexpected end of JSON input" {
			line, col := lineCol(data, syn.Offset)
			return "The definition is not valid JSON: it ends early, at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
		}
		// Offset is just past the offending character.
		line, col := lineCol(data, syn.Offset-1)
		return fmt.Sprintf("The definition is not valid JSON: %s at line %d, column %d", msg, line, col)
	case errors.As(err, &typ):
		return "The definition must be a JSON object, not " + article(describe(data))
	}
	return "The definition is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// lineCol converts a byte offset of data to a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = max(0, min(off, int64(len(data))))
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func article(what string) string {
	switch what {
	case "array":
		return "an array"
	case "empty", "null":
		return what
	case "bool":
		return "a boolean"
	}
	return "a " + what
}

// MarshalJSON implements json.Marshaler.
func (sm StateMachine) MarshalJSON() ([]byte, error) { return encodeObject(&sm) }

// UnmarshalJSON implements json.Unmarshaler.
func (sm *StateMachine) UnmarshalJSON(b []byte) error { return decodeObject(b, sm) }

// MarshalJSON implements json.Marshaler.
func (s State) MarshalJSON() ([]byte, error) { return encodeObject(&s) }

// UnmarshalJSON implements json.Unmarshaler.
func (s *State) UnmarshalJSON(b []byte) error { return decodeObject(b, s) }

// MarshalJSON implements json.Marshaler.
func (c ProcessorConfig) MarshalJSON() ([]byte, error) { return encodeObject(&c) }

// UnmarshalJSON implements json.Unmarshaler.
func (c *ProcessorConfig) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

// MarshalJSON implements json.Marshaler.
func (r Retrier) MarshalJSON() ([]byte, error) { return encodeObject(&r) }

// UnmarshalJSON implements json.Unmarshaler.
func (r *Retrier) UnmarshalJSON(b []byte) error { return decodeObject(b, r) }

// MarshalJSON implements json.Marshaler.
func (c Catcher) MarshalJSON() ([]byte, error) { return encodeObject(&c) }

// UnmarshalJSON implements json.Unmarshaler.
func (c *Catcher) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

// MarshalJSON implements json.Marshaler.
func (c Credentials) MarshalJSON() ([]byte, error) { return encodeObject(&c) }

// UnmarshalJSON implements json.Unmarshaler.
func (c *Credentials) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

// MarshalJSON implements json.Marshaler.
func (r ItemReader) MarshalJSON() ([]byte, error) { return encodeObject(&r) }

// UnmarshalJSON implements json.Unmarshaler.
func (r *ItemReader) UnmarshalJSON(b []byte) error { return decodeObject(b, r) }

// MarshalJSON implements json.Marshaler.
func (c ReaderConfig) MarshalJSON() ([]byte, error) { return encodeObject(&c) }

// UnmarshalJSON implements json.Unmarshaler.
func (c *ReaderConfig) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

// MarshalJSON implements json.Marshaler.
func (b ItemBatcher) MarshalJSON() ([]byte, error) { return encodeObject(&b) }

// UnmarshalJSON implements json.Unmarshaler.
func (b *ItemBatcher) UnmarshalJSON(data []byte) error { return decodeObject(data, b) }

// MarshalJSON implements json.Marshaler.
func (w ResultWriter) MarshalJSON() ([]byte, error) { return encodeObject(&w) }

// UnmarshalJSON implements json.Unmarshaler.
func (w *ResultWriter) UnmarshalJSON(b []byte) error { return decodeObject(b, w) }

// MarshalJSON implements json.Marshaler.
func (c WriterConfig) MarshalJSON() ([]byte, error) { return encodeObject(&c) }

// UnmarshalJSON implements json.Unmarshaler.
func (c *WriterConfig) UnmarshalJSON(b []byte) error { return decodeObject(b, c) }

// MarshalJSON implements json.Marshaler.
func (r ChoiceRule) MarshalJSON() ([]byte, error) { return encodeObject(&r) }

// UnmarshalJSON implements json.Unmarshaler.
func (r *ChoiceRule) UnmarshalJSON(b []byte) error { return decodeObject(b, r) }

// JSON encodes the machine without HTML escaping, indented by indent per
// level when indent is not empty.
func (sm *StateMachine) JSON(indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(sm); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
