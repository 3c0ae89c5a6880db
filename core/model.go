package core

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CommandStatus is where a command is in the command flow. It is stored in
// the command row's "status" attribute.
type CommandStatus string

// Command statuses, in flow order. Only Finished and Failed are final.
const (
	// StatusStarted: the command is written and waits to be applied.
	StatusStarted CommandStatus = "started"
	// StatusWaiting: the command waits (with a task token) for its
	// predecessor to be applied.
	StatusWaiting CommandStatus = "waiting"
	// StatusApplied: the command is projected into the data table.
	StatusApplied CommandStatus = "applied"
	// StatusSynced: every data-sync handler ran.
	StatusSynced CommandStatus = "synced"
	// StatusFinished: the flow ended successfully.
	StatusFinished CommandStatus = "finished"
	// StatusFailed: the flow failed; see Command.Error.
	StatusFailed CommandStatus = "failed"
)

// SyncModeSync marks a command row written by a synchronous publish, which
// is applied by the publishing call itself: the stream handler must not
// start a state machine for it (see Command.SyncMode).
const SyncModeSync = "SYNC"

// TimeFormat is how times are stored: RFC 3339 in UTC with exactly nine
// fractional digits, e.g. "2026-11-21T05:00:00.000000000Z". It parses as
// RFC3339Nano, and, unlike RFC3339Nano (which trims trailing zeros), its
// string order is time order, so stored times can be compared and sorted as
// strings in key conditions and filters.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// Command is one immutable version of an entity, a row of the
// {module}-command table with sk = {entity sk}@{version}.
//
// Times are stored as TimeFormat strings; zero times are left out.
type Command struct {
	// PK is TYPE#tenantCode; SK is {entity sk}@{zero-padded version}.
	PK string `dynamodbav:"pk" json:"pk"`
	SK string `dynamodbav:"sk" json:"sk"`
	// ID is the entity id: pk#sk without version (core.EntityID).
	ID string `dynamodbav:"id" json:"id"`
	// Code is the code part of the entity sk; Name a display name.
	Code string `dynamodbav:"code" json:"code"`
	Name string `dynamodbav:"name" json:"name"`
	// Version is the command's version, 1 for the first.
	Version int64 `dynamodbav:"version" json:"version"`
	// TenantCode is the tenant part of PK; Type the entity type.
	TenantCode string `dynamodbav:"tenantCode" json:"tenantCode"`
	Type       string `dynamodbav:"type" json:"type"`
	// IsDeleted marks a soft delete.
	IsDeleted bool `dynamodbav:"isDeleted" json:"isDeleted"`
	// Seq is an optional application sequence number.
	Seq int64 `dynamodbav:"seq,omitempty" json:"seq,omitempty"`
	// TTL is the DynamoDB expiry (epoch seconds); 0 = none.
	TTL int64 `dynamodbav:"ttl,omitempty" json:"ttl,omitempty"`
	// Attributes are the entity's free-form attributes.
	Attributes Attributes `dynamodbav:"attributes" json:"attributes"`
	// AttributesRef is set instead of Attributes when the attributes were
	// too large for the row: an s3://bucket/key reference to their JSON.
	// The command services resolve it on every read path.
	AttributesRef string `dynamodbav:"attributesRef,omitempty" json:"attributesRef,omitempty"`
	// RequestID is the request that wrote the command; Source where it
	// came from.
	RequestID string `dynamodbav:"requestId,omitempty" json:"requestId,omitempty"`
	Source    string `dynamodbav:"source,omitempty" json:"source,omitempty"`
	// Status is where the command is in the command flow.
	Status CommandStatus `dynamodbav:"status,omitempty" json:"status,omitempty"`
	// SyncMode is SyncModeSync on rows written by a synchronous publish.
	SyncMode string `dynamodbav:"syncMode,omitempty" json:"syncMode,omitempty"`
	// TaskToken is the Step Functions task token of a command that waits
	// for its predecessor.
	TaskToken string `dynamodbav:"taskToken,omitempty" json:"taskToken,omitempty"`
	// Error says why the command failed (Status StatusFailed).
	Error string `dynamodbav:"error,omitempty" json:"error,omitempty"`
	// Unsettled and UnsettledAt list a command the command flow has yet
	// to finish in its table's sparse unsettled index (command.Sweep): the
	// index partition, and when the sweep is to look at the command. The
	// step that finishes or fails the command removes both.
	Unsettled   string `dynamodbav:"unsettled,omitempty" json:"-"`
	UnsettledAt string `dynamodbav:"unsettledAt,omitempty" json:"-"`
	// Audit fields: when, by whom (user id) and from where (IP).
	CreatedAt time.Time `dynamodbav:"createdAt,omitempty" json:"createdAt"`
	CreatedBy string    `dynamodbav:"createdBy,omitempty" json:"createdBy,omitempty"`
	CreatedIP string    `dynamodbav:"createdIp,omitempty" json:"createdIp,omitempty"`
	UpdatedAt time.Time `dynamodbav:"updatedAt,omitempty" json:"updatedAt"`
	UpdatedBy string    `dynamodbav:"updatedBy,omitempty" json:"updatedBy,omitempty"`
	UpdatedIP string    `dynamodbav:"updatedIp,omitempty" json:"updatedIp,omitempty"`
}

// Key returns the command row's key.
func (c *Command) Key() Key { return Key{PK: c.PK, SK: c.SK} }

// Data is the current state of an entity, a row of the {module}-data table
// (sk without version), and, with sk = {sk}@{version}, a row of the
// {module}-history table. CPK and CSK name the command row it came from.
type Data struct {
	// PK is TYPE#tenantCode; SK is TYPE#code (history: TYPE#code@version).
	PK string `dynamodbav:"pk" json:"pk"`
	SK string `dynamodbav:"sk" json:"sk"`
	// ID, Code, Name, Version, TenantCode, Type, IsDeleted, Seq, TTL,
	// Attributes, AttributesRef, RequestID and Source are those of the
	// command the row came from, except TTL, which may come from the data
	// TTL configuration (history rows: the history TTL).
	ID            string     `dynamodbav:"id" json:"id"`
	Code          string     `dynamodbav:"code" json:"code"`
	Name          string     `dynamodbav:"name" json:"name"`
	Version       int64      `dynamodbav:"version" json:"version"`
	TenantCode    string     `dynamodbav:"tenantCode" json:"tenantCode"`
	Type          string     `dynamodbav:"type" json:"type"`
	IsDeleted     bool       `dynamodbav:"isDeleted" json:"isDeleted"`
	Seq           int64      `dynamodbav:"seq,omitempty" json:"seq,omitempty"`
	TTL           int64      `dynamodbav:"ttl,omitempty" json:"ttl,omitempty"`
	Attributes    Attributes `dynamodbav:"attributes" json:"attributes"`
	AttributesRef string     `dynamodbav:"attributesRef,omitempty" json:"attributesRef,omitempty"`
	RequestID     string     `dynamodbav:"requestId,omitempty" json:"requestId,omitempty"`
	Source        string     `dynamodbav:"source,omitempty" json:"source,omitempty"`
	// CPK and CSK are the key of that command row.
	CPK string `dynamodbav:"cpk" json:"cpk"`
	CSK string `dynamodbav:"csk" json:"csk"`
	// Audit fields: Created* of the entity's first applied version,
	// Updated* of the latest.
	CreatedAt time.Time `dynamodbav:"createdAt,omitempty" json:"createdAt"`
	CreatedBy string    `dynamodbav:"createdBy,omitempty" json:"createdBy,omitempty"`
	CreatedIP string    `dynamodbav:"createdIp,omitempty" json:"createdIp,omitempty"`
	UpdatedAt time.Time `dynamodbav:"updatedAt,omitempty" json:"updatedAt"`
	UpdatedBy string    `dynamodbav:"updatedBy,omitempty" json:"updatedBy,omitempty"`
	UpdatedIP string    `dynamodbav:"updatedIp,omitempty" json:"updatedIp,omitempty"`
}

// Key returns the data row's key.
func (d *Data) Key() Key { return Key{PK: d.PK, SK: d.SK} }

// Attributes are the free-form attributes of a command or data row, stored
// as one DynamoDB map ("M").
//
// Values may be nil, strings, booleans, any Go number type, json.Number,
// []byte, maps with string keys and slices of these; other values (structs,
// time.Time, …) are marshalled by attributevalue. Read back, maps are
// map[string]any, lists []any, and numbers json.Number: exact whatever
// their size (use its Int64 or Float64 methods), and encoded by
// encoding/json as a plain JSON number. A nil Attributes is stored as NULL
// and read back as nil; an empty map stays an empty map.
type Attributes map[string]any

// MarshalDynamoDBAttributeValue implements attributevalue.Marshaler.
func (a Attributes) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	m := make(map[string]types.AttributeValue, len(a))
	for k, v := range a {
		av, err := ToAttributeValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		m[k] = av
	}
	return &types.AttributeValueMemberM{Value: m}, nil
}

// UnmarshalDynamoDBAttributeValue implements attributevalue.Unmarshaler.
// It accepts a map or NULL (nil Attributes).
func (a *Attributes) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	switch t := av.(type) {
	case *types.AttributeValueMemberNULL:
		*a = nil
		return nil
	case *types.AttributeValueMemberM:
		out := make(Attributes, len(t.Value))
		for k, v := range t.Value {
			x, err := FromAttributeValue(v)
			if err != nil {
				return fmt.Errorf("attribute %q: %w", k, err)
			}
			out[k] = x
		}
		*a = out
		return nil
	default:
		return &ValidationError{Problems: []string{fmt.Sprintf("attributes: want a map, got %T", av)}}
	}
}

// ToAttributeValue converts a Go value the way Attributes stores it.
func ToAttributeValue(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case json.Number:
		if err := checkNumber(string(x)); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: string(x)}, nil
	case attributevalue.Number:
		return ToAttributeValue(json.Number(x))
	case []byte:
		return &types.AttributeValueMemberB{Value: append([]byte(nil), x...)}, nil
	case time.Time:
		return &types.AttributeValueMemberS{Value: x.UTC().Format(TimeFormat)}, nil
	case types.AttributeValue:
		return x, nil
	case map[string]any:
		return Attributes(x).MarshalDynamoDBAttributeValue()
	case Attributes:
		return x.MarshalDynamoDBAttributeValue()
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			av, err := ToAttributeValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(rv.Int(), 10)}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &types.AttributeValueMemberN{Value: strconv.FormatUint(rv.Uint(), 10)}, nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &ValidationError{Problems: []string{fmt.Sprintf("number %v cannot be stored", f)}}
		}
		bits := 64
		if rv.Kind() == reflect.Float32 {
			bits = 32
		}
		n := strconv.FormatFloat(f, 'f', -1, bits)
		if err := checkNumber(n); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			if rv.IsNil() {
				return &types.AttributeValueMemberNULL{Value: true}, nil
			}
			m := make(map[string]types.AttributeValue, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				av, err := ToAttributeValue(it.Value().Interface())
				if err != nil {
					return nil, fmt.Errorf("%q: %w", it.Key().String(), err)
				}
				m[it.Key().String()] = av
			}
			return &types.AttributeValueMemberM{Value: m}, nil
		}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return &types.AttributeValueMemberNULL{Value: true}, nil
		}
		l := make([]types.AttributeValue, rv.Len())
		for i := range l {
			av, err := ToAttributeValue(rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return &types.AttributeValueMemberNULL{Value: true}, nil
		}
		return ToAttributeValue(rv.Elem().Interface())
	}
	return attributevalue.MarshalWithOptions(v, encoderOptions)
}

// FromAttributeValue converts a stored value back the way Attributes reads
// it: S string, N json.Number, BOOL bool, NULL nil, B []byte, M
// map[string]any, L []any, SS []string, NS []json.Number, BS [][]byte.
func FromAttributeValue(av types.AttributeValue) (any, error) {
	switch t := av.(type) {
	case *types.AttributeValueMemberS:
		return t.Value, nil
	case *types.AttributeValueMemberN:
		return json.Number(t.Value), nil
	case *types.AttributeValueMemberBOOL:
		return t.Value, nil
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberB:
		return t.Value, nil
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(t.Value))
		for k, v := range t.Value {
			x, err := FromAttributeValue(v)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(t.Value))
		for i, v := range t.Value {
			x, err := FromAttributeValue(v)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	case *types.AttributeValueMemberSS:
		return append([]string(nil), t.Value...), nil
	case *types.AttributeValueMemberNS:
		l := make([]json.Number, len(t.Value))
		for i, n := range t.Value {
			l[i] = json.Number(n)
		}
		return l, nil
	case *types.AttributeValueMemberBS:
		return t.Value, nil
	}
	return nil, &ValidationError{Problems: []string{fmt.Sprintf("unsupported attribute value %T", av)}}
}

// AttributeValuesEqual reports whether two stored values are equal, as
// DynamoDB's "=" sees them: numbers by value ("1.0" equals "1"), maps
// regardless of key order, sets (SS, NS, BS) regardless of member order.
func AttributeValuesEqual(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && numbersEqual(x.Value, y.Value)
	case *types.AttributeValueMemberBOOL:
		y, ok := b.(*types.AttributeValueMemberBOOL)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberNULL:
		_, ok := b.(*types.AttributeValueMemberNULL)
		return ok
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && string(x.Value) == string(y.Value)
	case *types.AttributeValueMemberM:
		y, ok := b.(*types.AttributeValueMemberM)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for k, v := range x.Value {
			w, ok := y.Value[k]
			if !ok || !AttributeValuesEqual(v, w) {
				return false
			}
		}
		return true
	case *types.AttributeValueMemberL:
		y, ok := b.(*types.AttributeValueMemberL)
		if !ok || len(x.Value) != len(y.Value) {
			return false
		}
		for i := range x.Value {
			if !AttributeValuesEqual(x.Value[i], y.Value[i]) {
				return false
			}
		}
		return true
	case *types.AttributeValueMemberSS:
		y, ok := b.(*types.AttributeValueMemberSS)
		return ok && sameMembers(x.Value, y.Value, func(p, q string) bool { return p == q })
	case *types.AttributeValueMemberNS:
		y, ok := b.(*types.AttributeValueMemberNS)
		return ok && sameMembers(x.Value, y.Value, numbersEqual)
	case *types.AttributeValueMemberBS:
		y, ok := b.(*types.AttributeValueMemberBS)
		return ok && sameMembers(x.Value, y.Value, func(p, q []byte) bool { return string(p) == string(q) })
	}
	return reflect.DeepEqual(a, b)
}

// sameMembers reports whether two sets hold the same members, in any order.
// Sets are small in practice (an item is at most 400 KB), and members of a
// stored set are distinct, so the quadratic match is exact and cheap enough.
func sameMembers[T any](a, b []T, eq func(T, T) bool) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && eq(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

var numberRE = regexp.MustCompile(`^-?([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]{1,4}))?$`)

// checkNumber accepts the decimal numbers DynamoDB stores: at most 38
// significant digits, magnitude between 1e-130 and 9.99…e125 (or zero).
func checkNumber(s string) error {
	m := numberRE.FindStringSubmatch(s)
	if m == nil {
		return &ValidationError{Problems: []string{fmt.Sprintf("invalid number %q", s)}}
	}
	digits := m[1] + m[2]
	first := strings.IndexFunc(digits, func(r rune) bool { return r != '0' })
	if first < 0 {
		return nil // zero
	}
	sig := strings.TrimRight(digits[first:], "0")
	exp := 0
	if m[3] != "" {
		exp, _ = strconv.Atoi(m[3])
	}
	mag := len(m[1]) - first - 1 + exp
	switch {
	case len(sig) > 38:
		return &ValidationError{Problems: []string{fmt.Sprintf("number %q has more than 38 significant digits", s)}}
	case mag > 125 || mag < -130:
		return &ValidationError{Problems: []string{fmt.Sprintf("number %q is outside DynamoDB's range (1e-130 to 1e126)", s)}}
	}
	return nil
}

func numbersEqual(a, b string) bool {
	if a == b {
		return true
	}
	if checkNumber(a) != nil || checkNumber(b) != nil {
		return false // not numbers DynamoDB stores: no costly parsing
	}
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

var encoderOptions = func(o *attributevalue.EncoderOptions) {
	o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(TimeFormat)}, nil
	}
	o.OmitEmptyTime = true
}

// MarshalItem converts a struct (such as Command or Data) or map into an
// Item, with times in TimeFormat and zero times tagged omitempty left out.
func MarshalItem(v any) (Item, error) {
	item, err := attributevalue.MarshalMapWithOptions(v, encoderOptions)
	if err != nil {
		return nil, fmt.Errorf("stepcqrs: marshal item: %w", err)
	}
	return item, nil
}

// UnmarshalItem converts an Item into out (a pointer to a struct or map).
// Times are parsed as RFC 3339 with optional fractional seconds.
func UnmarshalItem(item Item, out any) error {
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return fmt.Errorf("stepcqrs: unmarshal item: %w", err)
	}
	return nil
}

// ParseTime parses a stored time (TimeFormat or any RFC 3339 time).
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// FormatTime formats t as stored: TimeFormat in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
