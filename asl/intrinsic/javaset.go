package intrinsic

import (
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// uniqueJava returns the distinct elements of a in the order a Java
// HashSet built from them iterates: AWS evaluates States.ArrayUnique by
// putting the elements, read as plain Java values (Integer, Long, Double,
// String, Boolean, null, List, Map), into a HashSet. So equality is Java's
// (1 and 1.0 differ, objects compare regardless of key order) and the
// order is that of the hash table's buckets, not first-seen order.
//
// Evidence: a suite of cases run against AWS
// (tests/support/conformance/intrinsicCases/States.ArrayUnique.ts, found by
// code search) records [false, true] for [true, false, true, false],
// [[2,1],[1,2]] for [[1,2],[1,2],[2,1]], [null, 1] for [null, null, 1, null]
// and one element for {"a":1,"b":2} and {"b":2,"a":1}; each matches
// java.util.HashSet's iteration order for Boolean, List, null and Map.
func uniqueJava(a []any) []any {
	type entry struct {
		v      any
		hash   int32
		bucket int
	}
	seen := make(map[string]bool, len(a))
	var es []entry
	for _, e := range a {
		k := javaKey(e)
		if seen[k] {
			continue
		}
		seen[k] = true
		es = append(es, entry{v: e, hash: javaHash(e)})
	}
	// new HashSet<>(collection): capacity max(n/.75+1, 16), rounded up to
	// a power of two.
	want := max(int(float32(len(a))/0.75)+1, 16)
	capacity := 1
	for capacity < want {
		capacity <<= 1
	}
	for i := range es {
		h := uint32(es[i].hash)
		es[i].bucket = int((h ^ h>>16) & uint32(capacity-1))
	}
	slices.SortStableFunc(es, func(x, y entry) int { return x.bucket - y.bucket })
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = e.v
	}
	return out
}

// javaNum classifies a JSON number the way Jackson reads it into a Java
// value: an integer literal is an Integer, Long or BigInteger by size; any
// other number is a Double.
func javaNum(n string) (kind byte, i *big.Int, f float64) {
	if !strings.ContainsAny(n, ".eE") {
		b, ok := new(big.Int).SetString(n, 10)
		if ok {
			switch {
			case b.IsInt64() && b.Int64() >= math.MinInt32 && b.Int64() <= math.MaxInt32:
				return 'I', b, 0
			case b.IsInt64():
				return 'L', b, 0
			}
			return 'B', b, 0
		}
	}
	f, _ = strconv.ParseFloat(n, 64)
	return 'D', nil, f
}

// javaKey is a text that is equal for two values exactly when the Java
// values are equal (equals).
func javaKey(v any) string {
	var b strings.Builder
	writeJavaKey(&b, v)
	return b.String()
}

func writeJavaKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("n")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for _, e := range x {
			writeJavaKey(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for _, k := range sortedKeys(x) {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeJavaKey(b, x[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	default:
		n, ok := jsonpath.Number(v)
		if !ok {
			s, _ := jsonpath.EncodeString(v)
			b.WriteString(s)
			return
		}
		kind, i, f := javaNum(string(n))
		b.WriteByte(kind)
		if i != nil {
			b.WriteString(i.String())
		} else {
			b.WriteString(strconv.FormatUint(math.Float64bits(f), 16))
		}
	}
}

// javaHash is the Java hashCode of the value v reads as.
func javaHash(v any) int32 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1231
		}
		return 1237
	case string:
		var h int32
		for _, u := range utf16.Encode([]rune(x)) {
			h = 31*h + int32(u)
		}
		return h
	case []any:
		h := int32(1)
		for _, e := range x {
			h = 31*h + javaHash(e)
		}
		return h
	case map[string]any:
		var h int32
		for k, e := range x {
			h += javaHash(k) ^ javaHash(e)
		}
		return h
	}
	n, ok := jsonpath.Number(v)
	if !ok {
		return 0
	}
	kind, i, f := javaNum(string(n))
	switch kind {
	case 'I':
		return int32(i.Int64())
	case 'L':
		l := uint64(i.Int64())
		return int32(l ^ l>>32)
	case 'B':
		// BigInteger.hashCode: 31*h + each 32-bit word of the magnitude,
		// most significant first, times the sign.
		var h int32
		mag := new(big.Int).Abs(i).Bytes()
		for len(mag)%4 != 0 {
			mag = append([]byte{0}, mag...)
		}
		for j := 0; j < len(mag); j += 4 {
			w := uint32(mag[j])<<24 | uint32(mag[j+1])<<16 | uint32(mag[j+2])<<8 | uint32(mag[j+3])
			h = 31*h + int32(w)
		}
		return h * int32(i.Sign())
	}
	bits := math.Float64bits(f)
	return int32(bits ^ bits>>32)
}
