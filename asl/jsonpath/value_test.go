package jsonpath

import (
	"encoding/json"
	"testing"
)

func TestDecodeEncode(t *testing.T) {
	tests := []struct {
		in, out string
		err     bool
	}{
		{in: `{"b":1.0,"a":[1e3,-0,"<&>"]}`, out: `{"a":[1e3,-0,"<&>"],"b":1.0}`},
		{in: ` null `, out: `null`},
		{in: `"\u00e9\n"`, out: `"é\n"`},
		{in: `12345678901234567890123`, out: `12345678901234567890123`},
		{in: `{} {}`, err: true},
		{in: `{"a":1} x`, err: true},
		{in: ``, err: true},
		{in: `{"a":}`, err: true},
	}
	for _, tt := range tests {
		v, err := DecodeString(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Decode(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if tt.err {
			continue
		}
		got, err := EncodeString(v)
		if err != nil || got != tt.out {
			t.Errorf("Encode(Decode(%q)) = %s, %v; want %s", tt.in, got, err, tt.out)
		}
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b any
		want bool
	}{
		{json.Number("1"), json.Number("1.0"), true},
		{json.Number("1"), 1, true},
		{json.Number("100"), json.Number("1e2"), true},
		{json.Number("0.1"), 0.1, false}, // 0.1 as float64 is not exactly 0.1
		{json.Number("0.5"), 0.5, true},
		{json.Number("-0"), json.Number("0"), true},
		{json.Number("1"), "1", false},
		{nil, nil, true},
		{nil, false, false},
		{true, true, true},
		{"a", "a", true},
		{[]any{json.Number("1"), "x"}, []any{1.0, "x"}, true},
		{[]any{1}, []any{1, 2}, false},
		{map[string]any{"a": json.Number("2")}, map[string]any{"a": 2}, true},
		{map[string]any{"a": nil}, map[string]any{"b": nil}, false},
		{map[string]any{}, []any{}, false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := Key(tt.a) == Key(tt.b); got != tt.want {
			t.Errorf("Key(%#v) == Key(%#v) is %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		v      any
		isNum  bool
		i      int64
		isInt  bool
		f      float64
		number json.Number
	}{
		{json.Number("3"), true, 3, true, 3, "3"},
		{json.Number("3.0"), true, 3, true, 3, "3.0"},
		{json.Number("3.5"), true, 0, false, 3.5, "3.5"},
		{json.Number("1e400"), true, 0, false, 0, "1e400"},
		{json.Number("abc"), false, 0, false, 0, ""},
		{7, true, 7, true, 7, "7"},
		{uint8(7), true, 7, true, 7, "7"},
		{2.5, true, 0, false, 2.5, "2.5"},
		{"3", false, 0, false, 0, ""},
		{nil, false, 0, false, 0, ""},
	}
	for _, tt := range tests {
		if got := IsNumber(tt.v); got != tt.isNum {
			t.Errorf("IsNumber(%#v) = %v", tt.v, got)
		}
		i, ok := Int(tt.v)
		if ok != tt.isInt || i != tt.i {
			t.Errorf("Int(%#v) = %d, %v", tt.v, i, ok)
		}
		if f, ok := Float(tt.v); tt.isNum && tt.f != 0 && (!ok || f != tt.f) {
			t.Errorf("Float(%#v) = %v, %v", tt.v, f, ok)
		}
		if n, _ := Number(tt.v); n != tt.number {
			t.Errorf("Number(%#v) = %q, want %q", tt.v, n, tt.number)
		}
	}
	if c, ok := CompareNumbers(json.Number("10"), json.Number("9.99")); !ok || c != 1 {
		t.Errorf("CompareNumbers(10, 9.99) = %d, %v", c, ok)
	}
	if _, ok := CompareNumbers("1", 1); ok {
		t.Error("CompareNumbers accepted a string")
	}
}

func TestCloneAndTypeName(t *testing.T) {
	orig := map[string]any{"a": []any{1, map[string]any{"b": "c"}}}
	c := Clone(orig).(map[string]any)
	c["a"].([]any)[1].(map[string]any)["b"] = "changed"
	if orig["a"].([]any)[1].(map[string]any)["b"] != "c" {
		t.Error("Clone shares structure")
	}
	if c["a"].([]any)[0] != json.Number("1") {
		t.Errorf("Clone kept a Go int: %#v", c["a"].([]any)[0])
	}
	names := map[string]any{"null": nil, "boolean": true, "string": "", "number": json.Number("1"), "array": []any{}, "object": map[string]any{}}
	for want, v := range names {
		if got := TypeName(v); got != want {
			t.Errorf("TypeName(%#v) = %s, want %s", v, got, want)
		}
	}
}

func TestEncodeStrings(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"a\"b\\c", `"a\"b\\c"`},
		{"\n\r\t\b\f\x01\x1f", `"\n\r\t\b\f\u0001\u001F"`},
		{"<&>\u2028é😀", "\"<&>\u2028é😀\""},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{map[string]any{"k\"": []any{json.Number("1.50"), 2, 2.5, true, nil}}, `{"k\"":[1.50,2,2.5,true,null]}`},
		{struct {
			A string `json:"a"`
		}{"<"}, `{"a":"<"}`},
	}
	for _, tt := range tests {
		got, err := EncodeString(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Encode(%#v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := Encode(json.Number("1x")); err == nil {
		t.Error("Encode accepted an invalid json.Number")
	}
}

func TestCompareNumbersTable(t *testing.T) {
	tests := []struct {
		a, b any
		want int
	}{
		{json.Number("1"), json.Number("1.0"), 0},
		{json.Number("0.1"), json.Number("0.10"), 0},
		{json.Number("-0"), json.Number("0"), 0},
		{json.Number("123456789012345"), json.Number("123456789012346"), -1},
		{json.Number("12345678901234567"), json.Number("12345678901234568"), -1}, // beyond float64
		{json.Number("1e2"), json.Number("99.5"), 1},
		{json.Number("-2.5"), json.Number("-2.25"), -1},
		{json.Number("0.3"), 0.3, 1}, // 0.3 as float64 is below 3/10
		{json.Number("7"), 7, 0},
	}
	for _, tt := range tests {
		if c, ok := CompareNumbers(tt.a, tt.b); !ok || c != tt.want {
			t.Errorf("CompareNumbers(%v, %v) = %d, %v; want %d", tt.a, tt.b, c, ok, tt.want)
		}
		if c, _ := CompareNumbers(tt.b, tt.a); c != -tt.want {
			t.Errorf("CompareNumbers(%v, %v) = %d; want %d", tt.b, tt.a, c, -tt.want)
		}
	}
}
