package intrinsic

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// javaNumber renders a number the way AWS's Java runtime (Jackson) prints
// it after parsing: integer literals keep their digits; any other number is
// a double printed like Java's Double.toString (1.50 -> 1.5, 1e2 -> 100.0,
// 1e7 -> 1.0E7).
func javaNumber(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return s
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		t := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(t, ".") {
			t += ".0"
		}
		return t
	}
	// Computerized scientific notation: d.dddE[-]n.
	t := strconv.FormatFloat(f, 'e', -1, 64) // e.g. 1.5e+07, 1e-05
	mant, exp, _ := strings.Cut(t, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// javaNumbers returns v with every number replaced by its javaNumber text.
func javaNumbers(v any) any {
	return jsonpath.MapLeaves(v, func(leaf any) any {
		switch leaf.(type) {
		case nil, bool, string:
			return leaf
		}
		if n, ok := jsonpath.Number(leaf); ok {
			return json.Number(javaNumber(n))
		}
		return leaf
	})
}
