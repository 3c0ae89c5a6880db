package eventfactory

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// jsonScan walks JSON that encoding/json has already validated, to read a
// few top-level keys without decoding the rest. It only handles the plain
// case: whenever it meets anything it cannot answer for exactly as
// encoding/json would (escaped or non-ASCII keys, case variants of a wanted
// key, escaped or non-string values, duplicates where they matter), its
// callers report !ok and fall back to encoding/json. It never reads out of
// bounds, whatever its input.
type jsonScan struct {
	b []byte
	i int
	// src, when set, is b as a string: strValue returns parts of it
	// instead of copies.
	src string
}

func (s *jsonScan) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// str reads a string, returning its raw bytes between the quotes and
// whether it is plain: printable ASCII without escapes.
func (s *jsonScan) str() (raw []byte, plain, ok bool) {
	raw, ok = s.rawStr()
	return raw, ok && isPlain(raw), ok
}

// rawStr reads a string, returning its raw bytes between the quotes.
func (s *jsonScan) rawStr() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	if n := bytes.IndexByte(s.b[start:], '"'); n >= 0 && bytes.IndexByte(s.b[start:start+n], '\\') < 0 {
		s.i = start + n + 1 // the common case: no escapes
		return s.b[start : start+n], true
	}
	for s.i = start; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '"':
			s.i++
			return s.b[start : s.i-1], true
		case '\\':
			s.i++
		}
	}
	return nil, false
}

// isPlain tells whether a string's raw bytes are printable ASCII without
// escapes.
func isPlain(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// skip skips one value.
func (s *jsonScan) skip() bool {
	switch s.peek() {
	case 0:
		return false
	case '"':
		_, ok := s.rawStr()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.rawStr(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default: // number or literal
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}

// object calls f for each key of an object, f reading the value. A key that
// is not plain stops the walk with !ok. ok also requires that nothing but
// whitespace follows the object.
func (s *jsonScan) object(f func(key []byte) bool) bool {
	return s.members(f) && s.peek() == 0
}

// members is object, leaving what follows the object alone.
func (s *jsonScan) members(f func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		key, plain, ok := s.str()
		if !ok || !plain || s.peek() != ':' {
			return false
		}
		s.i++
		if !f(key) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

var (
	keyEventSource      = []byte("eventSource")
	keyEventSourceUpper = []byte("EventSource")
	keyRecords          = []byte("Records")
)

// scanEventSource reads a record's source as recordProbe would: ok false
// means the record needs encoding/json. rec must be valid JSON.
func scanEventSource(rec []byte) (name string, ok bool) {
	s := jsonScan{b: rec}
	var lower, upper []byte
	ok = s.object(func(key []byte) bool {
		dst := &lower
		switch {
		case bytes.Equal(key, keyEventSource):
		case bytes.Equal(key, keyEventSourceUpper):
			dst = &upper
		case bytes.EqualFold(key, keyEventSource):
			return false // encoding/json's case-insensitive match
		default:
			return s.skip()
		}
		v, plain, ok := s.str()
		if !ok || !plain {
			return false // null, not a string, escapes: encoding/json decides
		}
		*dst = v // the last one wins, as in encoding/json
		return true
	})
	if !ok {
		return "", false
	}
	if len(lower) > 0 {
		return string(lower), true
	}
	return string(upper), true
}

// scanRecords splits {"Records": [r, …]} as decoding it into
// struct{ Records []json.RawMessage } would (elements alias payload):
// ok false means payload needs encoding/json, or has no records.
func scanRecords(payload []byte) (recs []json.RawMessage, ok bool) {
	if !validJSON(payload) {
		return nil, false
	}
	s := jsonScan{b: payload}
	seen := false
	ok = s.object(func(key []byte) bool {
		switch {
		case bytes.Equal(key, keyRecords):
			if seen {
				return false
			}
			seen = true
		case bytes.EqualFold(key, keyRecords):
			return false
		default:
			return s.skip()
		}
		if s.peek() != '[' {
			return false
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			s.peek()
			start := s.i
			if !s.skip() {
				return false
			}
			recs = append(recs, s.b[start:s.i:s.i])
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	})
	if !ok || len(recs) == 0 {
		return nil, false
	}
	return recs, true
}

// strValue reads a string value as encoding/json decodes it into a string.
func (s *jsonScan) strValue() (string, bool) {
	s.peek()
	start := s.i
	raw, plain, ok := s.str()
	if !ok {
		return "", false
	}
	if plain {
		if s.src != "" {
			return s.src[start+1 : s.i-1], true
		}
		return string(raw), true
	}
	var v string // escapes, control or non-ASCII bytes: as encoding/json
	if json.Unmarshal(s.b[start:s.i], &v) != nil {
		return "", false
	}
	return v, true
}

// span skips one value and returns it.
func (s *jsonScan) span() ([]byte, bool) {
	v, _, ok := s.spanAt()
	return v, ok
}

// spanAt is span, also returning where the value starts.
func (s *jsonScan) spanAt() ([]byte, int, bool) {
	s.peek()
	start := s.i
	if !s.skip() {
		return nil, 0, false
	}
	return s.b[start:s.i:s.i], start, true
}

// foldsToAny tells whether key matches one of names case-insensitively.
func foldsToAny(key []byte, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

var (
	wireRecordKeys = []string{"awsRegion", "dynamodb", "eventID", "eventName", "eventSource",
		"eventVersion", "eventSourceARN", "userIdentity"}
	wireChangeKeys = []string{"ApproximateCreationDateTime", "Keys", "NewImage", "OldImage",
		"SequenceNumber", "SizeBytes", "StreamViewType"}
)

// scanStreamRecord decodes a stream record into w exactly as
// json.Unmarshal would, for the plain case: ok false means raw needs
// encoding/json (w is then to be discarded). raw must be valid JSON. The
// images in w alias raw.
func scanStreamRecord(raw []byte, w *wireStreamRecord) bool {
	return scanStreamRecordIn(raw, "", w, nil)
}

// imageSpans are the offsets in a record of its Keys, NewImage and
// OldImage, -1 for those not found.
type imageSpans struct{ keys, newImage, oldImage int }

// scanStreamRecordIn is scanStreamRecord; rs, when not empty, is raw as a
// string, which the strings of w then share, and spans, when not nil,
// receives where the images are.
func scanStreamRecordIn(raw []byte, rs string, w *wireStreamRecord, spans *imageSpans) bool {
	s := jsonScan{b: raw, src: rs}
	seenChange, seenUser := false, false
	str := func(dst *string) bool {
		v, ok := s.strValue()
		*dst = v
		return ok
	}
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "awsRegion":
			return str(&w.AWSRegion)
		case "eventID":
			return str(&w.EventID)
		case "eventName":
			return str(&w.EventName)
		case "eventSource":
			return str(&w.EventSource)
		case "eventVersion":
			return str(&w.EventVersion)
		case "eventSourceARN":
			return str(&w.EventSourceArn)
		case "userIdentity":
			// Rare (TTL deletions): encoding/json decodes it. A repeated or
			// null userIdentity is left to the full decoder.
			v, ok := s.span()
			if !ok || seenUser || s.b[s.i-1] != '}' {
				return false
			}
			seenUser = true
			w.UserIdentity = new(events.DynamoDBUserIdentity)
			return json.Unmarshal(v, w.UserIdentity) == nil
		case "dynamodb":
			if seenChange {
				return false // encoding/json would merge the two
			}
			seenChange = true
			return scanStreamChange(&s, &w.Change, spans)
		}
		if foldsToAny(key, wireRecordKeys) {
			return false
		}
		return s.skip()
	})
}

// scanStreamChange decodes the "dynamodb" object of a stream record,
// noting in spans (when not nil) where the images are.
func scanStreamChange(s *jsonScan, c *wireStreamChange, spans *imageSpans) bool {
	if s.peek() != '{' {
		return false // null leaves the field alone, anything else fails
	}
	sub := s
	str := func(dst *string) bool {
		v, ok := sub.strValue()
		*dst = v
		return ok
	}
	if spans == nil {
		spans = new(imageSpans) // noted, and dropped
	}
	img := func(dst *json.RawMessage, at *int) bool {
		v, start, ok := sub.spanAt()
		*dst, *at = v, start
		return ok
	}
	return sub.members(func(key []byte) bool {
		switch string(key) {
		case "ApproximateCreationDateTime":
			v, ok := sub.span()
			return ok && decodeEpochSeconds(v, &c.ApproximateCreationDateTime) == nil
		case "Keys":
			return img(&c.Keys, &spans.keys)
		case "NewImage":
			return img(&c.NewImage, &spans.newImage)
		case "OldImage":
			return img(&c.OldImage, &spans.oldImage)
		case "SequenceNumber":
			return str(&c.SequenceNumber)
		case "StreamViewType":
			return str(&c.StreamViewType)
		case "SizeBytes":
			v, ok := sub.span()
			if !ok || len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
				return false
			}
			n, err := strconv.ParseInt(string(v), 10, 64)
			c.SizeBytes = n
			return err == nil
		}
		if foldsToAny(key, wireChangeKeys) {
			return false
		}
		return sub.skip()
	})
}

// maxNestingDepth is encoding/json's nesting limit.
const maxNestingDepth = 10000

// validJSON reports whether b is valid JSON, exactly as json.Valid does (a
// fuzz target compares them), but faster: encoding/json's scanner goes
// through a function call per byte.
func validJSON(b []byte) bool {
	v := jsonValidator{b: b}
	v.ws()
	if !v.value() {
		return false
	}
	v.ws()
	return v.i == len(v.b)
}

type jsonValidator struct {
	b     []byte
	i     int
	depth int
}

func (v *jsonValidator) ws() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

// at tells whether the next byte is c.
func (v *jsonValidator) at(c byte) bool { return v.i < len(v.b) && v.b[v.i] == c }

func (v *jsonValidator) digit() bool { return v.i < len(v.b) && '0' <= v.b[v.i] && v.b[v.i] <= '9' }

func (v *jsonValidator) value() bool {
	if v.i >= len(v.b) {
		return false
	}
	switch c := v.b[v.i]; c {
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if v.depth++; v.depth > maxNestingDepth {
			return false
		}
		v.i++
		v.ws()
		if v.at(end) {
			v.i++
			v.depth--
			return true
		}
		for {
			if c == '{' {
				if !v.at('"') || !v.str() {
					return false
				}
				v.ws()
				if !v.at(':') {
					return false
				}
				v.i++
				v.ws()
			}
			if !v.value() {
				return false
			}
			v.ws()
			switch {
			case v.at(','):
				v.i++
				v.ws()
			case v.at(end):
				v.i++
				v.depth--
				return true
			default:
				return false
			}
		}
	case '"':
		return v.str()
	case 't':
		return v.literal("true")
	case 'f':
		return v.literal("false")
	case 'n':
		return v.literal("null")
	}
	return v.number()
}

func (v *jsonValidator) literal(lit string) bool {
	if len(v.b)-v.i >= len(lit) && string(v.b[v.i:v.i+len(lit)]) == lit {
		v.i += len(lit)
		return true
	}
	return false
}

func (v *jsonValidator) str() bool {
	for v.i++; v.i < len(v.b); {
		switch c := v.b[v.i]; {
		case c == '"':
			v.i++
			return true
		case c == '\\':
			v.i++
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i++
			case 'u':
				v.i++
				for k := 0; k < 4; k++ {
					if v.i >= len(v.b) || !isHex(v.b[v.i]) {
						return false
					}
					v.i++
				}
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			v.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (v *jsonValidator) number() bool {
	if v.at('-') {
		v.i++
	}
	switch {
	case v.at('0'):
		v.i++
	case v.digit():
		for v.digit() {
			v.i++
		}
	default:
		return false
	}
	if v.at('.') {
		v.i++
		if !v.digit() {
			return false
		}
		for v.digit() {
			v.i++
		}
	}
	if v.at('e') || v.at('E') {
		v.i++
		if v.at('+') || v.at('-') {
			v.i++
		}
		if !v.digit() {
			return false
		}
		for v.digit() {
			v.i++
		}
	}
	return true
}
