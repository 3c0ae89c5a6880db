package jsonpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
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

// stdDecode is Decode as encoding/json reads it: one value, numbers as
// json.Number, nothing but white space after it.
func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("after the value: %v", err)
	}
	return v, nil
}

func TestDecodeLikeEncodingJSON(t *testing.T) {
	inputs := []string{
		`{"a":[1,-0,1.5e+3,1E-2,0.0],"b":{"c":null,"d":true,"e":false},"f":""}`,
		`"\u00e9\ud83d\ude00\ud800\udc00x\ud800\u0041\udc00\\\/\"\b\f\n\r\t"`,
		"\"bad \xff utf8 \xed\xa0\x80 \xe2\x82\"",
		`"lone \ud800"`, `"\ud800\ud800"`, `"\u00"`, `"\uZZZZ"`, `"\q"`, "\"ctl \x01\"",
		`{"k":1,"k":2}`, `[]`, `{}`, `[[],[{}]]`, ` [ 1 , 2 ] `, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`,
		`01`, `-`, `-a`, `1.`, `1.e3`, `1e`, `1e+`, `.5`, `+1`, `1x`, `tru`, `truex`, `nul`, `nulll`,
		`"abc`, `{"a"`, `{"a":`, `{"a" 1}`, `[1 2]`, `"a" "b"`, "\ufeff1", "", " ", `{"\u0000":"\u0000"}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	}
	for _, in := range inputs {
		want, werr := stdDecode([]byte(in))
		got, gerr := Decode([]byte(in))
		if (werr != nil) != (gerr != nil) {
			t.Errorf("Decode(%.40q): error %v, encoding/json: %v", in, gerr, werr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("Decode(%.40q) = %#v, encoding/json: %#v", in, got, want)
		}
	}
}

// FuzzDecode checks that Decode reads exactly what encoding/json reads.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e3,"x\u00e9\ud83d\ude00"],"b":{"c":null}}`, `"\ud800\u0041"`, "\"\xff\"", `[1,2`, `{"a":1,"a":2}`, ` true `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := stdDecode(data)
		got, gerr := Decode(data)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("Decode(%q): error %v, encoding/json: %v", data, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%q) = %#v, encoding/json: %#v", data, got, want)
		}
		if werr == nil {
			checkEncodedLen(t, got)
		}
	})
}

// checkEncodedLen checks EncodedLen against the length of Encode, with
// limits at, just below and far below it.
func checkEncodedLen(t *testing.T, v any) {
	t.Helper()
	enc, err := Encode(v)
	if err != nil {
		t.Fatalf("Encode(%#v): %v", v, err)
	}
	if n, err := EncodedLen(v, 1<<30); err != nil || n != len(enc) {
		t.Fatalf("EncodedLen(%s, large) = %d, %v; want %d", enc, n, err, len(enc))
	}
	if n, err := EncodedLen(v, len(enc)); err != nil || n != len(enc) {
		t.Fatalf("EncodedLen(%s, %d) = %d, %v; want %d", enc, len(enc), n, err, len(enc))
	}
	for _, limit := range []int{len(enc) - 1, len(enc) / 2, 0} {
		if n, err := EncodedLen(v, limit); err != nil || n <= limit {
			t.Fatalf("EncodedLen(%s, %d) = %d, %v; want more than the limit", enc, limit, n, err)
		}
	}
}

func TestEncodedLen(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "plain", "quote\" back\\slash \n\r\t\b\f \x01\x1f", "é 😀 \u2028", "bad \xff\xfe utf8",
		json.Number("-1.5e3"), []any{}, map[string]any{},
		map[string]any{"b": []any{json.Number("1"), "x", nil}, "a": map[string]any{"k\n": false}, "é": "\xff"},
		[]any{[]any{[]any{}}, map[string]any{"": ""}},
		map[string]any{"n": 3, "f": 1.5, "s": struct{ A int }{1}},
	} {
		checkEncodedLen(t, v)
	}
	if _, err := EncodedLen(json.Number("1x"), 100); err == nil {
		t.Error("EncodedLen accepted an invalid number")
	}
	if n, err := EncodedLen(strings.Repeat("a", 300), 100); err != nil || n <= 100 {
		t.Errorf("EncodedLen of a long string = %d, %v; want above 100", n, err)
	}
}

// referenceString is the string encoding Encode promises, written rune by
// rune: the oracle of FuzzEncodeString.
func referenceString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+size])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzEncodeString checks the string encoding against referenceString and
// EncodedLen against it.
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"plain", "q\"b\\n\n\x01\x7f", "é😀\u2028", "\xff\xed\xa0\x80", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := EncodeString(s)
		if want := referenceString(s); err != nil || got != want {
			t.Fatalf("EncodeString(%q) = %s, %v; want %s", s, got, err, want)
		}
		checkEncodedLen(t, map[string]any{s: []any{s}})
	})
}

// TestSpecial checks the word scan of string literals: every byte that
// needs a look is found wherever it stands among plain bytes.
func TestSpecial(t *testing.T) {
	for b := 0; b < 256; b++ {
		needsLook := b == '"' || b == '\\' || b < 0x20 || b >= 0x80
		for pos := 0; pos < 8; pos++ {
			w := uint64(0x6161616161616161) // "aaaaaaaa"
			w = w&^(0xff<<(8*pos)) | uint64(b)<<(8*pos)
			if got := special(w); needsLook && !got {
				t.Errorf("special misses byte %#x at %d", b, pos)
			} else if !needsLook && got {
				t.Errorf("special reports plain byte %#x at %d", b, pos)
			}
		}
	}
}
