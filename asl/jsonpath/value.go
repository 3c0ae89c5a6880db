package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Decode parses one JSON value from data into the value convention of this
// package (numbers become json.Number). Anything after the value other than
// white space is an error.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, errors.New("jsonpath: invalid character after top-level value")
		}
		return nil, err
	}
	return v, nil
}

// DecodeString is Decode for a string.
func DecodeString(s string) (any, error) { return Decode([]byte(s)) }

// Encode writes v as compact JSON the way AWS (Jackson) does: <, > and &
// and U+2028/U+2029 are written as they are, control characters as \n, \t,
// ... or \u00XX, and a json.Number with its text unchanged. Object keys are
// written in sorted order. Values outside the convention are encoded with
// encoding/json.
func Encode(v any) ([]byte, error) {
	b, err := appendJSON(nil, v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x), nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, fmt.Errorf("jsonpath: invalid number literal %q", string(x))
		}
		return append(b, x...), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	if n, ok := Number(v); ok {
		return append(b, n...), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

const hexDigits = "0123456789ABCDEF"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// EncodeString is Encode returning a string; it panics on nothing and
// returns an error for values Encode rejects.
func EncodeString(v any) (string, error) {
	b, err := Encode(v)
	return string(b), err
}

// IsNumber reports whether v is a JSON number: a json.Number, a float or a
// Go integer.
func IsNumber(v any) bool {
	_, ok := toBig(v)
	return ok
}

// Float returns v as a float64 when v is a number.
func Float(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return f, true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	}
	return 0, false
}

// Number returns v as a json.Number when v is a number.
func Number(v any) (json.Number, bool) {
	switch n := v.(type) {
	case json.Number:
		if _, ok := toBig(n); !ok {
			return "", false
		}
		return n, true
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return "", false
		}
		return json.Number(strconv.FormatFloat(n, 'g', -1, 64)), true
	case float32:
		return Number(float64(n))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(rv.Uint(), 10)), true
	}
	return "", false
}

// Int returns v as an int64 when v is a number with an integral value
// (1.0 counts) that fits in an int64.
func Int(v any) (int64, bool) {
	b, ok := toBig(v)
	if !ok || !b.IsInt() {
		return 0, false
	}
	i, acc := b.Int64()
	if acc != big.Exact {
		return 0, false
	}
	return i, true
}

// toBig converts a number to a big.Float (precision 256), so that numbers
// compare by value without float64 rounding.
func toBig(v any) (*big.Float, bool) {
	switch n := v.(type) {
	case json.Number:
		if !validNumber(string(n)) {
			return nil, false
		}
		f, _, err := big.ParseFloat(string(n), 10, 256, big.ToNearestEven)
		if err != nil {
			return nil, false
		}
		return f, true
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, false
		}
		return new(big.Float).SetPrec(256).SetFloat64(n), true
	case float32:
		return toBig(float64(n))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return new(big.Float).SetPrec(256).SetInt64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return new(big.Float).SetPrec(256).SetUint64(rv.Uint()), true
	}
	return nil, false
}

// shortNumber returns a json.Number as a float64 when that is exact enough
// to compare by: plain decimals (no exponent) of at most 15 digits, which
// float64 tells apart and orders correctly.
func shortNumber(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok || len(n) > 17 {
		return 0, false
	}
	digits := 0
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || (c == '-' && i == 0):
		default:
			return 0, false
		}
	}
	if digits > 15 || !validNumber(string(n)) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

// CompareNumbers compares two numbers by value and returns -1, 0 or +1. ok
// is false when either is not a number.
func CompareNumbers(a, b any) (c int, ok bool) {
	if x, ok := shortNumber(a); ok {
		if y, ok := shortNumber(b); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	}
	x, ok1 := toBig(a)
	y, ok2 := toBig(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return x.Cmp(y), true
}

// Equal reports whether a and b are the same JSON value. Numbers compare by
// value, so 1 equals 1.0; arrays compare element by element and objects key
// by key.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	}
	if xn, ok := a.(json.Number); ok {
		if yn, ok := b.(json.Number); ok && xn == yn {
			return true
		}
	}
	c, ok := CompareNumbers(a, b)
	return ok && c == 0
}

// Clone returns a deep copy of v. Numbers of Go numeric types become
// json.Number; values outside the convention are returned unchanged.
func Clone(v any) any {
	return MapLeaves(v, func(leaf any) any {
		switch leaf.(type) {
		case nil, bool, string, json.Number:
			return leaf
		}
		if n, ok := Number(leaf); ok {
			return n
		}
		return leaf
	})
}

// MapLeaves returns a deep copy of v's arrays ([]any) and objects
// (map[string]any) with every other value replaced by f(value).
func MapLeaves(v any, f func(leaf any) any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = MapLeaves(e, f)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = MapLeaves(e, f)
		}
		return out
	}
	return f(v)
}

// TypeName returns the JSON type of v: "null", "boolean", "string",
// "number", "array", "object", or a Go type description for other values.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if IsNumber(v) {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// Key returns a canonical text for v such that Key(a) == Key(b) exactly when
// Equal(a, b). It is meant for hashing values, e.g. to remove duplicates.
func Key(v any) string {
	var b bytes.Buffer
	writeKey(&b, v)
	return b.String()
}

func writeKey(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("n")
	case bool:
		if x {
			b.WriteString("t")
		} else {
			b.WriteString("f")
		}
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeKey(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeKey(b, x[k])
		}
		b.WriteByte('}')
	default:
		if f, ok := toBig(v); ok {
			b.WriteString("#")
			if f.Sign() == 0 {
				b.WriteString("0") // -0 equals 0
				return
			}
			b.WriteString(f.Text('g', -1))
			return
		}
		fmt.Fprintf(b, "?%T:%v", v, v)
	}
}
