package intrinsic

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// Limits AWS applies to intrinsic function arguments.
const (
	MaxArrayRangeItems = 1000  // States.ArrayRange result length
	MaxBase64Input     = 10000 // characters accepted by Base64Encode/Decode
	MaxHashInput       = 10000 // characters accepted by States.Hash
)

var functions map[string]function

func init() {
	functions = map[string]function{
		"States.Format":         {arity{1, -1}, fnFormat},
		"States.StringToJson":   {arity{1, 1}, fnStringToJSON},
		"States.JsonToString":   {arity{1, 1}, fnJSONToString},
		"States.Array":          {arity{0, -1}, fnArray},
		"States.ArrayPartition": {arity{2, 2}, fnArrayPartition},
		"States.ArrayContains":  {arity{2, 2}, fnArrayContains},
		"States.ArrayRange":     {arity{3, 3}, fnArrayRange},
		"States.ArrayGetItem":   {arity{2, 2}, fnArrayGetItem},
		"States.ArrayLength":    {arity{1, 1}, fnArrayLength},
		"States.ArrayUnique":    {arity{1, 1}, fnArrayUnique},
		"States.Base64Encode":   {arity{1, 1}, fnBase64Encode},
		"States.Base64Decode":   {arity{1, 1}, fnBase64Decode},
		"States.Hash":           {arity{2, 2}, fnHash},
		"States.JsonMerge":      {arity{3, 3}, fnJSONMerge},
		"States.MathRandom":     {arity{2, 3}, fnMathRandom},
		"States.MathAdd":        {arity{2, 2}, fnMathAdd},
		"States.StringSplit":    {arity{2, 2}, fnStringSplit},
		"States.UUID":           {arity{0, 0}, fnUUID},
	}
}

// argError reports an argument of the wrong type or value. AWS fails such a
// call with States.Runtime and the cause "Invalid arguments in States.X"
// (nothing more); the detail is kept for Go callers in Err.
//
// Evidence: real AWS executions report error States.Runtime with
// "Invalid arguments in States.MathAdd" / "... in States.StringToJson" in
// the cause (public test suites and write-ups found by code search).
func argError(c *Call, format string, a ...any) *Error {
	return &Error{Name: ErrRuntime, Cause: "Invalid arguments in " + c.Name,
		Err: errors.New(c.Name + ": " + fmt.Sprintf(format, a...))}
}

func wantString(c *Call, args []any, i int) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", argError(c, "argument %d must be a string, found %s", i+1, jsonpath.TypeName(args[i]))
	}
	return s, nil
}

func wantArray(c *Call, args []any, i int) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, argError(c, "argument %d must be an array, found %s", i+1, jsonpath.TypeName(args[i]))
	}
	return a, nil
}

func wantObject(c *Call, args []any, i int) (map[string]any, error) {
	m, ok := args[i].(map[string]any)
	if !ok {
		return nil, argError(c, "argument %d must be a JSON object, found %s", i+1, jsonpath.TypeName(args[i]))
	}
	return m, nil
}

// wantRounded accepts any number and rounds it half up (towards positive
// infinity), as AWS does for States.MathAdd and States.MathRandom.
func wantRounded(c *Call, args []any, i int) (int64, error) {
	f, ok := jsonpath.Float(args[i])
	if !ok {
		return 0, argError(c, "argument %d must be a number, found %s", i+1, jsonpath.TypeName(args[i]))
	}
	r := math.Floor(f + 0.5)
	if r > math.MaxInt64/2 || r < math.MinInt64/2 || math.IsNaN(r) {
		return 0, argError(c, "argument %d is out of range", i+1)
	}
	return int64(r), nil
}

// wantTrunc accepts any number and truncates it towards zero, as AWS's
// Java runtime does when it reads an int argument of States.ArrayRange,
// States.ArrayPartition, States.ArrayGetItem and States.MathRandom: e.g.
// States.ArrayPartition($.a, 2.6) partitions by 2 and
// States.ArrayGetItem($.a, 1.2) returns item 1.
func wantTrunc(c *Call, args []any, i int) (int64, error) {
	f, ok := jsonpath.Float(args[i])
	if !ok {
		return 0, argError(c, "argument %d must be a number, found %s", i+1, jsonpath.TypeName(args[i]))
	}
	t := math.Trunc(f)
	if t > math.MaxInt32 || t < math.MinInt32 || math.IsNaN(t) {
		return 0, argError(c, "argument %d is out of range", i+1)
	}
	return int64(t), nil
}

func intNumber(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// fnFormat implements States.Format: each {} in the template takes the next
// argument; \{ \} \\ and \' in a literal template stand for the character.
func fnFormat(c *Call, args []any, _ *Env) (any, error) {
	var tmpl string
	escapes := false
	if c.Args[0].Kind == ArgLiteral {
		if _, ok := c.Args[0].Value.(string); ok {
			tmpl, escapes = c.Args[0].Raw, true
		}
	}
	if !escapes {
		s, err := wantString(c, args, 0)
		if err != nil {
			return nil, err
		}
		tmpl = s
	}
	values := args[1:]
	var b strings.Builder
	next := 0
	for i := 0; i < len(tmpl); i++ {
		ch := tmpl[i]
		if escapes && ch == '\\' && i+1 < len(tmpl) {
			i++
			b.WriteByte(tmpl[i])
			continue
		}
		if ch == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}' {
			if next >= len(values) {
				return nil, argError(c, "the number of arguments does not match the number of placeholders")
			}
			formatValue(&b, values[next])
			next++
			i++
			continue
		}
		b.WriteByte(ch)
	}
	if next != len(values) {
		return nil, argError(c, "the number of arguments does not match the number of placeholders")
	}
	return b.String(), nil
}

// formatValue writes v the way AWS renders a value in States.Format: strings
// bare, objects as {k=v, k2=v2} and arrays as [a, b].
func formatValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			formatValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			formatValue(b, x[k])
		}
		b.WriteByte('}')
	default:
		if n, ok := jsonpath.Number(v); ok {
			b.WriteString(javaNumber(n))
			return
		}
		fmt.Fprint(b, v)
	}
}

// fnStringToJSON implements States.StringToJson: it parses its string
// argument as JSON; a blank string gives null.
func fnStringToJSON(c *Call, args []any, _ *Env) (any, error) {
	s, err := wantString(c, args, 0)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		// Jackson reads empty content as a missing node, which AWS returns
		// as null rather than failing.
		return nil, nil
	}
	v, err := jsonpath.DecodeString(s)
	if err != nil {
		return nil, argError(c, "the string is not valid JSON: %v", err)
	}
	return negZeroInts(v), nil
}

// negZeroInts rewrites the integer literal -0 as 0, as Jackson reads it
// (AWS snapshot in LocalStack tests: test_json_manipulation.snapshot.json,
// test_string_to_json: States.StringToJson("-0") returned 0).
func negZeroInts(v any) any {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			x[i] = negZeroInts(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = negZeroInts(e)
		}
	case json.Number:
		if x == "-0" {
			return json.Number("0")
		}
	}
	return v
}

func fnJSONToString(c *Call, args []any, _ *Env) (any, error) {
	s, err := jsonpath.EncodeString(javaNumbers(args[0]))
	if err != nil {
		return nil, argError(c, "%v", err)
	}
	return s, nil
}

func fnArray(_ *Call, args []any, _ *Env) (any, error) {
	out := make([]any, len(args))
	copy(out, args)
	return out, nil
}

func fnArrayPartition(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantArray(c, args, 0)
	if err != nil {
		return nil, err
	}
	size, err := wantTrunc(c, args, 1)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, argError(c, "the chunk size must be greater than 0, found %d", size)
	}
	out := []any{}
	for i := 0; i < len(a); {
		end := len(a)
		if size < int64(len(a)-i) {
			end = i + int(size)
		}
		chunk := make([]any, end-i)
		copy(chunk, a[i:end])
		out = append(out, chunk)
		i = end
	}
	return out, nil
}

func fnArrayContains(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantArray(c, args, 0)
	if err != nil {
		return nil, err
	}
	want := containsKey(args[1])
	for _, e := range a {
		if containsKey(e) == want {
			return true, nil
		}
	}
	return false, nil
}

// containsKey is what States.ArrayContains compares: a scalar by its text
// (so true matches "true" and 9007199254740991 matches
// "9007199254740991", and 1 does not match 1.0) and an array or object by
// its JSON text. Evidence: a suite of cases run against AWS
// (tests/support/conformance/intrinsicCases/States.ArrayContains.ts, found
// by code search) records those matches, that [0,1,false] is found inside
// a mixed array, and that {"a":1} does not match {"a":1,"extra":null}.
func containsKey(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case []any, map[string]any:
		s, _ := jsonpath.EncodeString(javaNumbers(x))
		return s
	}
	if n, ok := jsonpath.Number(v); ok {
		return javaNumber(n)
	}
	s, _ := jsonpath.EncodeString(v)
	return s
}

func fnArrayRange(c *Call, args []any, _ *Env) (any, error) {
	var n [3]int64
	for i := range n {
		v, err := wantTrunc(c, args, i)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, argError(c, "the step must not be 0")
	}
	count := int64(0)
	if (step > 0 && start <= end) || (step < 0 && start >= end) {
		diff := float64(end) - float64(start)
		count = int64(math.Floor(diff/float64(step))) + 1
	}
	if count > MaxArrayRangeItems {
		return nil, argError(c, "the range has %d items, more than the maximum of %d", count, MaxArrayRangeItems)
	}
	out := make([]any, 0, count)
	for i := int64(0); i < count; i++ {
		out = append(out, intNumber(start+i*step))
	}
	return out, nil
}

func fnArrayGetItem(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantArray(c, args, 0)
	if err != nil {
		return nil, err
	}
	i, err := wantTrunc(c, args, 1)
	if err != nil {
		return nil, err
	}
	if len(a) == 0 {
		// AWS returns null for any index into an empty array.
		return nil, nil
	}
	if i < 0 || i >= int64(len(a)) {
		return nil, argError(c, "the index %d is out of bounds for an array of length %d", i, len(a))
	}
	return a[i], nil
}

func fnArrayLength(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantArray(c, args, 0)
	if err != nil {
		return nil, err
	}
	return intNumber(int64(len(a))), nil
}

func fnArrayUnique(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantArray(c, args, 0)
	if err != nil {
		return nil, err
	}
	return uniqueJava(a), nil
}

func fnBase64Encode(c *Call, args []any, _ *Env) (any, error) {
	s, err := wantString(c, args, 0)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(s); n > MaxBase64Input {
		return nil, argError(c, "the input has %d characters, more than the maximum of %d", n, MaxBase64Input)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(c *Call, args []any, _ *Env) (any, error) {
	s, err := wantString(c, args, 0)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(s); n > MaxBase64Input {
		return nil, argError(c, "the input has %d characters, more than the maximum of %d", n, MaxBase64Input)
	}
	return strings.ToValidUTF8(string(lenientBase64(s)), "\uFFFD"), nil
}

// lenientBase64 decodes s the forgiving way AWS does: characters outside
// the base64 alphabet (spaces, newlines, "!") are skipped, the first "="
// ends the data, and missing padding is accepted. Evidence: a suite of
// cases run against AWS (tests/support/conformance/intrinsicCases/
// States.Base64Decode.ts, found by code search) records that AWS returns
// output for "!!!invalid!!!", "abc", "ab==cd" and " YWJjZA== ".
func lenientBase64(s string) []byte {
	var out []byte
	var acc uint32
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			break
		}
		v := base64Value(c)
		if v < 0 {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

func base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+' || c == '-':
		return 62
	case c == '/' || c == '_':
		return 63
	}
	return -1
}

// hashes maps the algorithm names States.Hash accepts to constructors.
var hashes = map[string]func() hash.Hash{
	"MD5":     md5.New,
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func fnHash(c *Call, args []any, _ *Env) (any, error) {
	// AWS hashes a non-string value as its JSON text.
	s, ok := args[0].(string)
	if !ok {
		t, err := jsonpath.EncodeString(javaNumbers(args[0]))
		if err != nil {
			return nil, argError(c, "%v", err)
		}
		s = t
	}
	alg, err := wantString(c, args, 1)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(s); n > MaxHashInput {
		return nil, argError(c, "the input has %d characters, more than the maximum of %d", n, MaxHashInput)
	}
	newHash, ok := hashes[alg]
	if !ok {
		return nil, argError(c, "the hash algorithm %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", alg)
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantObject(c, args, 0)
	if err != nil {
		return nil, err
	}
	b, err := wantObject(c, args, 1)
	if err != nil {
		return nil, err
	}
	// Only a boolean true asks for the (unsupported) deep merge; AWS treats
	// any other value as a shallow merge.
	if deep, _ := args[2].(bool); deep {
		return nil, argError(c, "deep merging is not supported; the third argument must be false")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

// fnMathRandom returns an integer in [start, end): the bounds are truncated
// to integers and start must be less than end.
func fnMathRandom(c *Call, args []any, env *Env) (any, error) {
	start, err := wantTrunc(c, args, 0)
	if err != nil {
		return nil, err
	}
	end, err := wantTrunc(c, args, 1)
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, argError(c, "the end %d is not greater than the start %d", end, start)
	}
	span := end - start
	var r int64
	switch {
	case len(args) == 3:
		seed, err := wantTrunc(c, args, 2)
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), 0)).Int64N(span)
	case env.RandomInt != nil:
		r = env.RandomInt(span)
		if r < 0 || r >= span {
			r = 0
		}
	default:
		r = mrand.Int64N(span)
	}
	return intNumber(start + r), nil
}

func fnMathAdd(c *Call, args []any, _ *Env) (any, error) {
	a, err := wantRounded(c, args, 0)
	if err != nil {
		return nil, err
	}
	b, err := wantRounded(c, args, 1)
	if err != nil {
		return nil, err
	}
	return intNumber(a + b), nil
}

// fnStringSplit splits on any of the delimiter's characters and drops empty
// pieces.
func fnStringSplit(c *Call, args []any, _ *Env) (any, error) {
	s, err := wantString(c, args, 0)
	if err != nil {
		return nil, err
	}
	delims, err := wantString(c, args, 1)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, f)
	}
	return out, nil
}

func fnUUID(_ *Call, _ []any, env *Env) (any, error) {
	if env.UUID != nil {
		return env.UUID(), nil
	}
	return NewUUID(), nil
}

// NewUUID returns a random (version 4) UUID in its canonical text form.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
