package jsonpath

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// DecodeError is a JSON text that Decode cannot read. Offset is the byte
// offset of the problem in the input.
type DecodeError struct {
	Offset int
	Msg    string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("jsonpath: %s (offset %d)", e.Msg, e.Offset)
}

// Decode parses one JSON value from data into the value convention of this
// package: objects are map[string]any, arrays []any, numbers json.Number
// holding their text, and strings, booleans and null as themselves. It
// reads exactly what encoding/json reads (with UseNumber): invalid UTF-8
// and unpaired surrogates in strings become U+FFFD, a key given twice keeps
// its last value, and nesting is bounded. Anything after the value other
// than white space is an error.
func Decode(data []byte) (any, error) { return DecodeString(string(data)) }

// DecodeString is Decode for a string. Strings in the result may share the
// memory of s.
func DecodeString(s string) (any, error) {
	d := decoder{s: s}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i < len(d.s) {
		return nil, d.errf("invalid character %s after top-level value", quoteChar(d.s[d.i]))
	}
	return v, nil
}

// decoder reads JSON from a string.
type decoder struct {
	s     string
	i     int
	depth int
	// elems holds the elements of the arrays being read, so that each
	// array is allocated once at its final length.
	elems []any
}

func (d *decoder) errf(format string, args ...any) error {
	return &DecodeError{Offset: d.i, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) eof() error {
	return &DecodeError{Offset: len(d.s), Msg: "unexpected end of JSON input"}
}

// quoteChar renders a byte for an error message as encoding/json does.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= utf8.RuneSelf:
		return fmt.Sprintf("%q", string(rune(c)))
	}
	return "'" + string(c) + "'"
}

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads one value after optional white space.
func (d *decoder) value() (any, error) {
	d.skipSpace()
	if d.i >= len(d.s) {
		return nil, d.eof()
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		return nil, d.errf("invalid character %s looking for beginning of value", quoteChar(c))
	}
}

func (d *decoder) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if d.i >= len(d.s) {
			return d.eof()
		}
		if d.s[d.i] != word[k] {
			return d.errf("invalid character %s in literal %s (expecting '%c')", quoteChar(d.s[d.i]), word, word[k])
		}
		d.i++
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads a number literal and returns its text as a json.Number.
func (d *decoder) number() (any, error) {
	s, start := d.s, d.i
	i := start
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		d.i = i
		return nil, d.eof()
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i++; i < len(s) && isDigit(s[i]); i++ {
		}
	default:
		d.i = i
		return nil, d.errf("invalid character %s in numeric literal", quoteChar(s[i]))
	}
	var err error
	if i < len(s) && s[i] == '.' {
		if i, err = d.digits(i+1, "after decimal point in numeric literal"); err != nil {
			return nil, err
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i, err = d.digits(i, "in exponent of numeric literal"); err != nil {
			return nil, err
		}
	}
	d.i = i
	return json.Number(s[start:i]), nil
}

// digits reads the one or more digits of a number that must be at i (where
// names the place in errors) and returns where they end.
func (d *decoder) digits(i int, where string) (int, error) {
	s := d.s
	if i >= len(s) {
		d.i = i
		return 0, d.eof()
	}
	if !isDigit(s[i]) {
		d.i = i
		return 0, d.errf("invalid character %s %s", quoteChar(s[i]), where)
	}
	for i++; i < len(s) && isDigit(s[i]); i++ {
	}
	return i, nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errf("exceeded max depth")
	}
	return nil
}

// object reads an object; d.s[d.i] is '{'.
func (d *decoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++
	m := map[string]any{}
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return m, nil
	}
	for {
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, d.eof()
		}
		if d.s[d.i] != '"' {
			return nil, d.errf("invalid character %s looking for beginning of object key string", quoteChar(d.s[d.i]))
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, d.eof()
		}
		if d.s[d.i] != ':' {
			return nil, d.errf("invalid character %s after object key", quoteChar(d.s[d.i]))
		}
		d.i++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		end, err := d.separator('}', "after object key:value pair")
		if err != nil {
			return nil, err
		}
		if end {
			return m, nil
		}
	}
}

// separator reads what follows an element of an array or object: a comma,
// or close, which ends it (end is then true). what names the place in
// errors.
func (d *decoder) separator(close byte, what string) (end bool, err error) {
	d.skipSpace()
	if d.i >= len(d.s) {
		return false, d.eof()
	}
	switch d.s[d.i] {
	case ',':
		d.i++
		return false, nil
	case close:
		d.i++
		d.depth--
		return true, nil
	}
	return false, d.errf("invalid character %s %s", quoteChar(d.s[d.i]), what)
}

// array reads an array; d.s[d.i] is '['.
func (d *decoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return []any{}, nil
	}
	base := len(d.elems)
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, v)
		end, err := d.separator(']', "after array element")
		if err != nil {
			return nil, err
		}
		if end {
			out := make([]any, len(d.elems)-base)
			copy(out, d.elems[base:])
			clear(d.elems[base:])
			d.elems = d.elems[:base]
			return out, nil
		}
	}
}

// str reads a string literal; d.s[d.i] is '"'. A literal without escapes
// or invalid UTF-8 is returned as a part of d.s.
func (d *decoder) str() (string, error) {
	s := d.s
	start := d.i + 1
	j := start
	// Eight bytes at a time while none of them needs a look.
	for j+8 <= len(s) && !special(word(s, j)) {
		j += 8
	}
	for ; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '"':
			d.i = j + 1
			return s[start:j], nil
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return d.strSlow(start, j)
		}
	}
	d.i = len(s)
	return "", d.eof()
}

// word returns the eight bytes of s at i as a little-endian number.
func word(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special reports whether one of the eight bytes of w is a quote, a
// backslash, a control character or not ASCII (it may report a word that
// has none, never miss one).
func special(w uint64) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	control := (w - 0x20*ones) & ^w & highs // a byte below 0x20
	return (control | hasZero(w^('"'*ones)) | hasZero(w^('\\'*ones)) | w&highs) != 0
}

// strSlow reads the rest of a string literal that started at start, from
// j, the first byte that needs care.
func (d *decoder) strSlow(start, j int) (string, error) {
	s := d.s
	var b []byte // nil while s[start:j] can be returned as is
	lit := start // start of the bytes not yet copied to b
	flush := func(end int) {
		if b == nil {
			b = make([]byte, 0, end-start+16)
		}
		b = append(b, s[lit:end]...)
	}
	for j < len(s) {
		if j+8 <= len(s) && !special(word(s, j)) {
			j += 8
			continue
		}
		c := s[j]
		switch {
		case c == '"':
			d.i = j + 1
			if b == nil {
				return s[start:j], nil
			}
			b = append(b, s[lit:j]...)
			return string(b), nil
		case c == '\\':
			flush(j)
			if j+1 >= len(s) {
				d.i = len(s)
				return "", d.eof()
			}
			e := s[j+1]
			if c := unescaped[e]; c != 0 {
				b = append(b, c)
				j += 2
				lit = j
				continue
			}
			if e != 'u' {
				d.i = j + 1
				return "", d.errf("invalid character %s in string escape code", quoteChar(e))
			}
			r, next, err := d.unicodeEscape(j)
			if err != nil {
				return "", err
			}
			b = utf8.AppendRune(b, r)
			j = next
			lit = j
		case c < 0x20:
			d.i = j
			return "", d.errf("invalid character %s in string literal", quoteChar(c))
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 {
				flush(j)
				b = append(b, "\uFFFD"...)
				j++
				lit = j
				continue
			}
			j += size
		}
	}
	d.i = len(s)
	return "", d.eof()
}

// unescaped maps the letter of a one-character escape to the character.
var unescaped = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// unicodeEscape reads the \u escape at j, with the one after it when the
// two are a surrogate pair, and returns the character (U+FFFD for a lone
// surrogate, as encoding/json has it) and where the text goes on.
func (d *decoder) unicodeEscape(j int) (rune, int, error) {
	s := d.s
	r, err := d.hex4(j + 2)
	if err != nil {
		return 0, 0, err
	}
	j += 6
	if !utf16.IsSurrogate(r) {
		return r, j, nil
	}
	r2 := rune(-1)
	if j+1 < len(s) && s[j] == '\\' && s[j+1] == 'u' {
		if v, ok := parseHex4(s, j+2); ok {
			r2 = v
		}
	}
	if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
		return dec, j + 6, nil
	}
	return utf8.RuneError, j, nil
}

// hex4 reads the four hex digits of a \u escape at i.
func (d *decoder) hex4(i int) (rune, error) {
	if i+4 > len(d.s) {
		for k := i; k < len(d.s); k++ {
			if _, ok := hexVal(d.s[k]); !ok {
				d.i = k
				return 0, d.errf("invalid character %s in \\u hexadecimal character escape", quoteChar(d.s[k]))
			}
		}
		d.i = len(d.s)
		return 0, d.eof()
	}
	r, ok := parseHex4(d.s, i)
	if !ok {
		for k := i; k < i+4; k++ {
			if _, ok := hexVal(d.s[k]); !ok {
				d.i = k
				break
			}
		}
		return 0, d.errf("invalid character %s in \\u hexadecimal character escape", quoteChar(d.s[d.i]))
	}
	return r, nil
}

// parseHex4 reads four hex digits at s[i:].
func parseHex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for k := i; k < i+4; k++ {
		v, ok := hexVal(s[k])
		if !ok {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}
