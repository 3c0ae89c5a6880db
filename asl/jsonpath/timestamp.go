package jsonpath

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// timestampRE is the ISO-8601 extended offset date-time form AWS accepts:
// a 'T' separator and a mandatory offset; seconds and fractions optional.
var timestampRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:\d{2}(?::\d{2})?)$`)

// ParseTimestamp parses an ISO-8601 extended offset date-time string and
// reports whether it is valid (including calendar ranges).
func ParseTimestamp(s string) (time.Time, bool) {
	m := timestampRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	atoi := func(x string) int {
		if x == "" {
			return 0
		}
		n, _ := strconv.Atoi(x)
		return n
	}
	year, month, day := atoi(m[1]), atoi(m[2]), atoi(m[3])
	hour, minute, sec := atoi(m[4]), atoi(m[5]), atoi(m[6])
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nanos := 0
	if m[7] != "" {
		frac := m[7] + strings.Repeat("0", 9-len(m[7]))
		nanos = atoi(frac)
	}
	loc := time.UTC
	if off := m[8]; off != "Z" && off != "z" {
		sign := 1
		if off[0] == '-' {
			sign = -1
		}
		parts := strings.Split(off[1:], ":")
		h, mi := atoi(parts[0]), atoi(parts[1])
		secs := 0
		if len(parts) == 3 {
			secs = atoi(parts[2])
		}
		if h > 18 || mi > 59 || secs > 59 {
			return time.Time{}, false
		}
		loc = time.FixedZone("", sign*(h*3600+mi*60+secs))
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	if t.Day() != day || int(t.Month()) != month {
		return time.Time{}, false
	}
	return t, true
}
