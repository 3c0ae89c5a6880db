package importcsv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// Comparison is what Compare found: the row against the entity's data.
type Comparison string

// Comparisons.
const (
	// CompareEqual: the data already holds what the row says; nothing is written
	// and the row is unchanged.
	CompareEqual Comparison = "EQUAL"
	// CompareNew: the entity does not exist; Map's command creates it.
	CompareNew Comparison = "NEW"
	// CompareChanged: the entity exists and differs; Map's command updates it.
	CompareChanged Comparison = "CHANGED"
)

// Entity is what a row says about its entity, in the command module's
// terms: the code of its key (sk TYPE#code), a display name and the
// attributes. The default Compare and Map work on it.
type Entity struct {
	Code       string
	Name       string
	Attributes core.Attributes
}

// Record is one row on its way to a command: what Compare and Map see.
type Record[T any] struct {
	// Row is the CSV row.
	Row Row
	// Value is Transform's result.
	Value T
	// Entity is the strategy's Entity of Value; Key the entity's key
	// (pk TYPE#tenant, sk TYPE#code).
	Entity Entity
	Key    core.Key
	// Existing is the entity's data row (offloaded attributes resolved),
	// nil when it has none.
	Existing *core.Data
	// TenantCode is the job's tenant.
	TenantCode string
}

// Command is what Map returns: a full command input or a partial one. The
// import publishes it synchronously (command.Service.PublishSync or
// PublishPartialUpdateSync) and sets its Source to the row's source
// (RowSource).
type Command struct {
	Full    *command.Input
	Partial *command.PartialInput
}

// Strategy says how the rows of a file become commands of one CQRS module.
// T is what a row is transformed into: core.Attributes (the default: one
// string attribute per column), or a struct of yours (mapped by header, see
// TransformStruct). Every function is optional except as noted; each runs
// once per row, concurrently with other rows, so it must be safe for
// concurrent use.
type Strategy[T any] struct {
	// Type is the entity type of the module's keys: pk TYPE#tenant, sk
	// TYPE#code. Required.
	Type string
	// Transform turns a row into T. Default: TransformAttributes for
	// core.Attributes (and map[string]any), TransformStruct for a struct.
	Transform func(ctx context.Context, row Row) (T, error)
	// Validate checks T; an error fails the row with its message. Default:
	// none.
	Validate func(ctx context.Context, v T) error
	// Entity gives the code, name and attributes of T. Default: the
	// attributes of T (a struct's by its JSON encoding), of which
	// CodeField is the code and NameField the name, both left out of the
	// attributes.
	Entity func(v T) (Entity, error)
	// CodeField and NameField name the fields the default Entity takes the
	// code and the name from. Defaults "code" and "name"; a row without a
	// code fails, one without a name gets the code.
	CodeField, NameField string
	// Compare compares the row with the data. Default CompareEntity: by
	// name and attributes (numbers by value).
	Compare func(ctx context.Context, r *Record[T]) (Comparison, error)
	// Map builds the command of a CompareNew or CompareChanged row. Default MapFull: the
	// whole entity, at the version Compare read (a concurrent writer makes
	// it a version conflict, which the import retries on fresh data).
	Map func(ctx context.Context, r *Record[T], c Comparison) (Command, error)
}

// TransformAttributes is the default Transform of core.Attributes: every
// column becomes a string attribute of the same name.
func TransformAttributes(_ context.Context, row Row) (core.Attributes, error) {
	a := make(core.Attributes, len(row.Header))
	for i, h := range row.Header {
		if i < len(row.Fields) {
			a[h] = row.Fields[i]
		}
	}
	return a, nil
}

// TransformStruct returns the Transform of a struct type T: each exported
// field takes the column named by its `csv` tag (else its `json` tag, else
// its name, compared case-insensitively), converted to the field's type:
// string, bool (strconv.ParseBool), integers and floats (strconv), a
// json.Number, a time.Time (RFC 3339), or a pointer to one of these (nil
// for an empty value). An empty value leaves a non-pointer field zero. A
// field whose column is missing from the header fails the row, unless its
// tag says `csv:"name,optional"`; `csv:"-"` skips the field. A value that
// does not convert fails the row naming the column.
func TransformStruct[T any]() func(ctx context.Context, row Row) (T, error) {
	typ := reflect.TypeFor[T]()
	fields, err := structFields(typ)
	return func(_ context.Context, row Row) (T, error) {
		var v T
		if err != nil {
			return v, err
		}
		rv := reflect.ValueOf(&v).Elem()
		var problems []string
		for _, f := range fields {
			idx := -1
			for i, h := range row.Header {
				if strings.EqualFold(h, f.column) {
					idx = i
					break
				}
			}
			if idx < 0 || idx >= len(row.Fields) {
				if !f.optional {
					problems = append(problems, fmt.Sprintf("column %q is missing", f.column))
				}
				continue
			}
			if err := setField(rv.FieldByIndex(f.index), row.Fields[idx]); err != nil {
				problems = append(problems, fmt.Sprintf("column %q: %v", f.column, err))
			}
		}
		if len(problems) > 0 {
			return v, &core.ValidationError{Problems: problems}
		}
		return v, nil
	}
}

type structField struct {
	column   string
	index    []int
	optional bool
}

func structFields(t reflect.Type) ([]structField, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("importcsv: TransformStruct needs a struct type, not %s", t)
	}
	var out []structField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, opts := f.Name, ""
		if tag, ok := f.Tag.Lookup("csv"); ok {
			name, opts, _ = strings.Cut(tag, ",")
		} else if tag, ok := f.Tag.Lookup("json"); ok {
			name, _, _ = strings.Cut(tag, ",")
		}
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, structField{column: name, index: f.Index, optional: strings.Contains(opts, "optional")})
	}
	return out, nil
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	numberType = reflect.TypeFor[json.Number]()
)

func setField(f reflect.Value, s string) error {
	if f.Kind() == reflect.Pointer {
		if s == "" {
			return nil
		}
		p := reflect.New(f.Type().Elem())
		if err := setField(p.Elem(), s); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	if s == "" && f.Kind() != reflect.String {
		return nil
	}
	switch {
	case f.Type() == timeType:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time", s)
		}
		f.Set(reflect.ValueOf(t))
		return nil
	case f.Type() == numberType:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		f.SetString(s)
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", s)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer of %d bits", s, f.Type().Bits())
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an unsigned integer of %d bits", s, f.Type().Bits())
		}
		f.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		f.SetFloat(n)
	default:
		return fmt.Errorf("fields of type %s cannot be read from CSV", f.Type())
	}
	return nil
}

// AttributesOf returns the attributes of v: v itself for core.Attributes
// and map[string]any, else the JSON object v encodes to (numbers as
// json.Number).
func AttributesOf(v any) (core.Attributes, error) {
	switch x := v.(type) {
	case core.Attributes:
		return x, nil
	case map[string]any:
		return x, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("importcsv: %T does not encode to a JSON object", v)
	}
	return m, nil
}

// CompareEntity is the default Compare: CompareNew without data,
// CompareEqual when the data is not soft-deleted and its name and
// attributes equal the entity's (numbers by value, maps regardless of
// order), CompareChanged otherwise.
func CompareEntity[T any](_ context.Context, r *Record[T]) (Comparison, error) {
	d := r.Existing
	if d == nil {
		return CompareNew, nil
	}
	if d.IsDeleted || d.Name != r.Entity.Name {
		return CompareChanged, nil
	}
	if AttributesEqual(d.Attributes, r.Entity.Attributes) {
		return CompareEqual, nil
	}
	return CompareChanged, nil
}

// AttributesEqual reports whether two attribute maps hold the same values
// as stored: numbers by value ("1.0" equals 1), maps regardless of key
// order, nil equal to empty.
func AttributesEqual(a, b core.Attributes) bool {
	if a == nil {
		a = core.Attributes{}
	}
	if b == nil {
		b = core.Attributes{}
	}
	x, err1 := a.MarshalDynamoDBAttributeValue()
	y, err2 := b.MarshalDynamoDBAttributeValue()
	return err1 == nil && err2 == nil && core.AttributeValuesEqual(x, y)
}

// MapFull is the default Map: a full command of the entity, version
// core.VersionNew for a CompareNew row, the data's version for a
// CompareChanged one.
func MapFull[T any](_ context.Context, r *Record[T], c Comparison) (Command, error) {
	in := command.Input{PK: r.Key.PK, SK: r.Key.SK, Version: core.VersionNew, Name: r.Entity.Name,
		Attributes: r.Entity.Attributes}
	if c == CompareChanged && r.Existing != nil {
		in.Version = r.Existing.Version
	}
	return Command{Full: &in}, nil
}

// MapPartial is a Map that publishes a CompareChanged row as a partial
// update: its attributes are merged into the latest version
// (command.MergeAttributes) and its name set; a CompareNew row is created
// as MapFull does.
func MapPartial[T any](ctx context.Context, r *Record[T], c Comparison) (Command, error) {
	if c != CompareChanged || r.Existing == nil {
		return MapFull(ctx, r, c)
	}
	name := r.Entity.Name
	return Command{Partial: &command.PartialInput{PK: r.Key.PK, SK: r.Key.SK, Version: r.Existing.Version,
		Name: &name, Attributes: r.Entity.Attributes}}, nil
}

// runner is a registered strategy on untyped values.
type runner interface {
	// prepare transforms, validates and keys one row.
	prepare(ctx context.Context, tenant string, row Row) (prepared, error)
}

// prepared is a row ready for compare and map.
type prepared interface {
	key() core.Key
	entity() Entity
	compare(ctx context.Context, existing *core.Data) (Comparison, error)
	mapCommand(ctx context.Context, c Comparison) (Command, error)
}

type typedRunner[T any] struct {
	s Strategy[T]
}

type typedRecord[T any] struct {
	s *Strategy[T]
	r Record[T]
}

func (p *typedRecord[T]) key() core.Key  { return p.r.Key }
func (p *typedRecord[T]) entity() Entity { return p.r.Entity }
func (p *typedRecord[T]) compare(ctx context.Context, existing *core.Data) (Comparison, error) {
	p.r.Existing = existing
	return p.s.Compare(ctx, &p.r)
}
func (p *typedRecord[T]) mapCommand(ctx context.Context, c Comparison) (Command, error) {
	return p.s.Map(ctx, &p.r, c)
}

func (t *typedRunner[T]) prepare(ctx context.Context, tenant string, row Row) (prepared, error) {
	v, err := t.s.Transform(ctx, row)
	if err != nil {
		return nil, rowErr(row, "transform", err)
	}
	if t.s.Validate != nil {
		if err := t.s.Validate(ctx, v); err != nil {
			return nil, rowErr(row, "invalid", err)
		}
	}
	e, err := t.s.Entity(v)
	if err != nil {
		return nil, rowErr(row, "entity", err)
	}
	k, err := core.NewKey(t.s.Type, tenant, e.Code)
	if err != nil {
		return nil, rowErr(row, "key", err)
	}
	return &typedRecord[T]{s: &t.s, r: Record[T]{Row: row, Value: v, Entity: e, Key: k, TenantCode: tenant}}, nil
}

// rowErr wraps err as the *RowError of row.
func rowErr(row Row, what string, err error) error {
	var re *RowError
	if errors.As(err, &re) {
		return err
	}
	msg := err.Error()
	var ve *core.ValidationError
	if errors.As(err, &ve) {
		msg = strings.Join(ve.Problems, "; ")
	}
	var ke *core.KeyError
	if errors.As(err, &ke) {
		msg = fmt.Sprintf("%s %q: %s", ke.Part, ke.Value, ke.Reason)
	}
	return &RowError{Row: row.Number, Line: row.Line, Reason: what + ": " + msg, Err: err}
}

// Registry holds the strategies by target module. Register adds them;
// mistakes are kept and reported by New, so that they fail at start-up.
// Register everything before New; a Registry is not safe for concurrent
// registration.
type Registry struct {
	modules  map[string]runner
	problems []string
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{modules: map[string]runner{}} }

// Register registers s for importing rows into module. Defaults fill the
// functions s leaves nil; a T that has no default Transform (neither
// core.Attributes, map[string]any nor a struct) must bring its own.
func Register[T any](r *Registry, module string, s Strategy[T]) {
	switch {
	case module == "":
		r.problems = append(r.problems, "a strategy is registered for an empty module name")
		return
	case r.modules[module] != nil:
		r.problems = append(r.problems, fmt.Sprintf("module %q: strategy registered twice", module))
		return
	}
	if err := core.ValidateKeyPart("type", s.Type); err != nil {
		r.problems = append(r.problems, fmt.Sprintf("module %q: Strategy.Type: %v", module, err))
		return
	}
	if s.CodeField == "" {
		s.CodeField = "code"
	}
	if s.NameField == "" {
		s.NameField = "name"
	}
	if s.Transform == nil {
		var zero T
		switch any(zero).(type) {
		case core.Attributes:
			s.Transform = func(ctx context.Context, row Row) (T, error) {
				a, err := TransformAttributes(ctx, row)
				return any(a).(T), err
			}
		case map[string]any:
			s.Transform = func(ctx context.Context, row Row) (T, error) {
				a, err := TransformAttributes(ctx, row)
				return any(map[string]any(a)).(T), err
			}
		default:
			if reflect.TypeFor[T]().Kind() != reflect.Struct {
				r.problems = append(r.problems, fmt.Sprintf("module %q: %s has no default Transform: set Strategy.Transform", module, reflect.TypeFor[T]()))
				return
			}
			s.Transform = TransformStruct[T]()
		}
	}
	if s.Entity == nil {
		code, name := s.CodeField, s.NameField
		s.Entity = func(v T) (Entity, error) { return entityOf(v, code, name) }
	}
	if s.Compare == nil {
		s.Compare = CompareEntity[T]
	}
	if s.Map == nil {
		s.Map = MapFull[T]
	}
	r.modules[module] = &typedRunner[T]{s: s}
}

// entityOf is the default Entity.
func entityOf(v any, codeField, nameField string) (Entity, error) {
	attrs, err := AttributesOf(v)
	if err != nil {
		return Entity{}, err
	}
	var e Entity
	rest := make(core.Attributes, len(attrs))
	for k, x := range attrs {
		switch k {
		case codeField:
			e.Code = strings.TrimSpace(fmt.Sprint(x))
		case nameField:
			if x != nil {
				e.Name = fmt.Sprint(x)
			}
		default:
			rest[k] = x
		}
	}
	if e.Code == "" || e.Code == "<nil>" {
		return Entity{}, &core.ValidationError{Problems: []string{fmt.Sprintf("no %q: the code of the entity's key", codeField)}}
	}
	if e.Name == "" {
		e.Name = e.Code
	}
	e.Attributes = rest
	return e, nil
}

// Modules returns the modules with a strategy, sorted.
func (r *Registry) Modules() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.modules))
	for m := range r.modules {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Validate returns the registration problems as a *core.ValidationError,
// nil when there is none.
func (r *Registry) Validate() error {
	if r == nil || len(r.problems) == 0 {
		return nil
	}
	return &core.ValidationError{Problems: append([]string(nil), r.problems...)}
}

func (r *Registry) lookup(module string) runner {
	if r == nil {
		return nil
	}
	return r.modules[module]
}
