package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Encode writes v as compact JSON the way AWS (Jackson) does: <, > and &
// and U+2028/U+2029 are written as they are, control characters as \n, \t,
// ... or \u00XX, and a json.Number with its text unchanged. Object keys are
// written in sorted order. Values outside the convention are encoded with
// encoding/json.
func Encode(v any) ([]byte, error) {
	var out []byte
	err := withBuffer(v, func(b []byte) { out = bytes.Clone(b) })
	return out, err
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
		var buf [16]string
		keys := appendSortedKeys(buf[:0], x)
		b = append(b, '{')
		for i, k := range keys {
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

// appendSortedKeys appends the keys of m to keys, sorted.
func appendSortedKeys(keys []string, m map[string]any) []string {
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		slices.Sort(keys)
	}
	return keys
}

const hexDigits = "0123456789ABCDEF"

// plainASCII marks the bytes below utf8.RuneSelf that a string holds as
// they are: everything but control characters, '"' and '\\'.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; i < len(s); {
		if i+8 <= len(s) && !special(word(s, i)) {
			i += 8 // eight bytes written as they are
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
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
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// stringLen is len(appendString(nil, s)).
func stringLen(s string) int {
	n := 2 + len(s)
	for i := 0; i < len(s); {
		if i+8 <= len(s) && !special(word(s, i)) {
			i += 8 // eight bytes that stand for themselves
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if !plainASCII[c] {
				switch c {
				case '"', '\\', '\n', '\r', '\t', '\b', '\f':
					n++
				default:
					n += 5
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 5
		}
		i += size
	}
	return n
}

// EncodedLen returns len(Encode(v)) when it is at most limit, and some
// number above limit otherwise, without building the encoding (it stops
// counting once past limit). It fails where Encode fails, unless it
// stopped counting before reaching the value Encode fails on.
func EncodedLen(v any, limit int) (int, error) {
	return encodedLen(v, 0, limit)
}

// encodedLen adds the length of v's encoding to n, stopping above limit.
func encodedLen(v any, n, limit int) (int, error) {
	if n > limit {
		return n, nil
	}
	switch x := v.(type) {
	case nil:
		return n + 4, nil
	case bool:
		if x {
			return n + 4, nil
		}
		return n + 5, nil
	case string:
		if n+len(x)+2 > limit {
			return n + len(x) + 2, nil // no escape makes it shorter
		}
		return n + stringLen(x), nil
	case json.Number:
		if !validNumber(string(x)) {
			return 0, fmt.Errorf("jsonpath: invalid number literal %q", string(x))
		}
		return n + len(x), nil
	case []any:
		n += 2 + max(len(x)-1, 0)
		for _, e := range x {
			var err error
			if n, err = encodedLen(e, n, limit); err != nil || n > limit {
				return n, err
			}
		}
		return n, nil
	case map[string]any:
		n += 2 + max(len(x)-1, 0)
		for k, e := range x {
			n += stringLen(k) + 1
			var err error
			if n, err = encodedLen(e, n, limit); err != nil || n > limit {
				return n, err
			}
		}
		return n, nil
	}
	b, err := appendJSON(nil, v)
	return n + len(b), err
}

// EncodeString is Encode returning a string; it panics on nothing and
// returns an error for values Encode rejects.
func EncodeString(v any) (string, error) {
	var out string
	err := withBuffer(v, func(b []byte) { out = string(b) })
	return out, err
}

// withBuffer encodes v into a recycled buffer and passes the encoding to
// use, which must copy what it keeps.
func withBuffer(v any, use func([]byte)) error {
	bp := encodeBuffers.Get().(*[]byte)
	b, err := appendJSON((*bp)[:0], v)
	if err != nil {
		encodeBuffers.Put(bp)
		return err
	}
	use(b)
	if cap(b) <= maxPooledBuffer {
		*bp = b[:0]
		encodeBuffers.Put(bp)
	}
	return nil
}

// encodeBuffers recycles the buffers of Encode and EncodeString; those
// grown beyond maxPooledBuffer are left to the collector.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledBuffer = 64 << 10

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
