package core_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/core"
)

func sampleCommand() core.Command {
	at := time.Date(2026, 11, 21, 5, 0, 0, 120000000, time.FixedZone("JST", 9*3600))
	return core.Command{
		PK: "ORDER#acme", SK: "ORDER#1@0000000003", ID: "ORDER#acme#ORDER#1", Code: "1",
		Name: "first order", Version: 3, TenantCode: "acme", Type: "ORDER",
		Seq: 42, TTL: 1_900_000_000,
		Attributes: core.Attributes{
			"qty":    json.Number("3"),
			"big":    json.Number("9007199254740993"),
			"price":  json.Number("12.5"),
			"tags":   []any{"a", "b"},
			"empty":  map[string]any{},
			"none":   nil,
			"ok":     true,
			"nested": map[string]any{"deep": map[string]any{"list": []any{json.Number("1"), map[string]any{"x": "y"}}}},
		},
		RequestID: "req-1", Source: "api", Status: core.StatusStarted, TaskToken: "tok",
		CreatedAt: at, CreatedBy: "u1", CreatedIP: "10.0.0.1",
		UpdatedAt: at.Add(time.Second), UpdatedBy: "u2", UpdatedIP: "10.0.0.2",
	}
}

func TestCommandRoundTrip(t *testing.T) {
	in := sampleCommand()
	item, err := core.MarshalItem(&in)
	if err != nil {
		t.Fatal(err)
	}
	if s := item["createdAt"].(*types.AttributeValueMemberS).Value; s != "2026-11-20T20:00:00.120000000Z" {
		t.Errorf("createdAt stored as %q", s)
	}
	if n := item["version"].(*types.AttributeValueMemberN).Value; n != "3" {
		t.Errorf("version stored as %q", n)
	}
	var out core.Command
	if err := core.UnmarshalItem(item, &out); err != nil {
		t.Fatal(err)
	}
	if !out.CreatedAt.Equal(in.CreatedAt) || out.CreatedAt.Location() != time.UTC {
		t.Errorf("createdAt = %v", out.CreatedAt)
	}
	in.CreatedAt, in.UpdatedAt = in.CreatedAt.UTC(), in.UpdatedAt.UTC()
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %#v\nwant %#v", out, in)
	}
	b, _ := json.Marshal(out.Attributes["big"])
	if string(b) != "9007199254740993" {
		t.Errorf("big number JSON = %s", b)
	}
}

func TestDataRoundTripAndOmissions(t *testing.T) {
	in := core.Data{PK: "ORDER#acme", SK: "ORDER#1", ID: "ORDER#acme#ORDER#1", Version: 1,
		CPK: "ORDER#acme", CSK: "ORDER#1@0000000001"}
	item, err := core.MarshalItem(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"createdAt", "updatedAt", "ttl", "seq", "requestId"} {
		if _, ok := item[absent]; ok {
			t.Errorf("%s stored for a zero value", absent)
		}
	}
	if _, ok := item["attributes"].(*types.AttributeValueMemberNULL); !ok {
		t.Errorf("nil attributes stored as %#v", item["attributes"])
	}
	var out core.Data
	if err := core.UnmarshalItem(item, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("got %#v want %#v", out, in)
	}
}

func TestAttributesGoNumbers(t *testing.T) {
	in := core.Attributes{"i": 7, "i8": int8(-3), "u": uint64(1 << 63), "f": 0.25, "f32": float32(1.5),
		"strs": []string{"x"}, "m": map[string]int{"a": 1}, "bytes": []byte("hi"), "t": time.Unix(0, 0)}
	av, err := in.MarshalDynamoDBAttributeValue()
	if err != nil {
		t.Fatal(err)
	}
	var out core.Attributes
	if err := out.UnmarshalDynamoDBAttributeValue(av); err != nil {
		t.Fatal(err)
	}
	want := core.Attributes{"i": json.Number("7"), "i8": json.Number("-3"), "u": json.Number("9223372036854775808"),
		"f": json.Number("0.25"), "f32": json.Number("1.5"), "strs": []any{"x"}, "m": map[string]any{"a": json.Number("1")},
		"bytes": []byte("hi"), "t": "1970-01-01T00:00:00.000000000Z"}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %#v\nwant %#v", out, want)
	}
	for _, good := range []any{json.Number("0"), json.Number("-0.0"), json.Number("12345678901234567890123456789012345678"),
		json.Number("1e125"), json.Number("1e-130"), json.Number("1.5E+3"), 1e125, uint64(math.MaxUint64)} {
		if _, err := core.ToAttributeValue(good); err != nil {
			t.Errorf("%v rejected: %v", good, err)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), json.Number("1x"), json.Number(""), json.Number("+1"),
		json.Number("123456789012345678901234567890123456789"), json.Number("1e126"), json.Number("1e-131"), 1e300} {
		if _, err := core.ToAttributeValue(bad); !errors.Is(err, core.ErrValidation) {
			t.Errorf("%v accepted: %v", bad, err)
		}
	}
}

func TestAttributeValuesEqual(t *testing.T) {
	av := func(v any) types.AttributeValue {
		x, err := core.ToAttributeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		a, b any
		want bool
	}{
		{1, 1.0, true},
		{json.Number("1.50"), 1.5, true},
		{1, "1", false},
		{map[string]any{"a": []any{1, "x"}}, map[string]any{"a": []any{json.Number("1"), "x"}}, true},
		{map[string]any{"a": 1}, map[string]any{"a": 1, "b": nil}, false},
		{[]any{1, 2}, []any{2, 1}, false},
		{nil, nil, true},
		{map[string]any{}, map[string]any{}, true},
		{[]byte("a"), []byte("a"), true},
	}
	for _, tt := range tests {
		if got := core.AttributeValuesEqual(av(tt.a), av(tt.b)); got != tt.want {
			t.Errorf("equal(%v, %v) = %v", tt.a, tt.b, got)
		}
	}
}

func TestAttributeValuesEqualSets(t *testing.T) {
	ss := func(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
	ns := func(v ...string) types.AttributeValue { return &types.AttributeValueMemberNS{Value: v} }
	bs := func(v ...string) types.AttributeValue {
		b := make([][]byte, len(v))
		for i, s := range v {
			b[i] = []byte(s)
		}
		return &types.AttributeValueMemberBS{Value: b}
	}
	tests := []struct {
		name string
		a, b types.AttributeValue
		want bool
	}{
		{"SS any order", ss("a", "b", "c"), ss("c", "a", "b"), true},
		{"SS other member", ss("a", "b"), ss("a", "c"), false},
		{"SS other size", ss("a"), ss("a", "b"), false},
		{"NS by value", ns("1.0", "2"), ns("2", "1"), true},
		{"NS other value", ns("1", "2"), ns("1", "3"), false},
		{"BS any order", bs("x", "y"), bs("y", "x"), true},
		{"SS vs NS", ss("1"), ns("1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.AttributeValuesEqual(tt.a, tt.b); got != tt.want {
				t.Fatalf("AttributeValuesEqual = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimeFormatSorts(t *testing.T) {
	a := core.FormatTime(time.Date(2026, 1, 1, 0, 0, 5, 0, time.UTC))
	b := core.FormatTime(time.Date(2026, 1, 1, 0, 0, 5, 100, time.UTC))
	if !(a < b) {
		t.Errorf("%q !< %q", a, b)
	}
	if p, err := core.ParseTime(b); err != nil || p.Nanosecond() != 100 {
		t.Errorf("ParseTime = %v, %v", p, err)
	}
}

func FuzzAttributesJSONRoundTrip(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1,"x",{"c":null}],"d":{"e":true}}`, `{"n":-0.000001e-5}`, `{"big":123456789012345678901234567890}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		dec := json.NewDecoder(strings.NewReader(js))
		dec.UseNumber()
		var in core.Attributes
		if err := dec.Decode(&in); err != nil || in == nil {
			return
		}
		av, err := in.MarshalDynamoDBAttributeValue()
		if err != nil {
			return // e.g. numbers DynamoDB-style parsing rejects
		}
		var out core.Attributes
		if err := out.UnmarshalDynamoDBAttributeValue(av); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		av2, err := out.MarshalDynamoDBAttributeValue()
		if err != nil || !core.AttributeValuesEqual(av, av2) {
			t.Fatalf("%s: round trip differs: %v", js, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("%s: %#v != %#v", js, in, out)
		}
	})
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, nil},
		{"validation error", &core.ValidationError{Problems: []string{"a", "b"}}, []string{"a", "b"}},
		{"wrapped validation error", fmt.Errorf("module x: %w", &core.ValidationError{Problems: []string{"c"}}), []string{"c"}},
		{"other error", errors.New("boom"), []string{"boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.Problems(tt.err); !slices.Equal(got, tt.want) {
				t.Errorf("Problems = %q, want %q", got, tt.want)
			}
		})
	}
}
