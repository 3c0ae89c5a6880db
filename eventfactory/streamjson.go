package eventfactory

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// wireStreamRecord mirrors events.DynamoDBEventRecord field for field (a test
// keeps them in step), with the images left as JSON for parseImage.
type wireStreamRecord struct {
	AWSRegion      string                       `json:"awsRegion"`
	Change         wireStreamChange             `json:"dynamodb"`
	EventID        string                       `json:"eventID"`
	EventName      string                       `json:"eventName"`
	EventSource    string                       `json:"eventSource"`
	EventVersion   string                       `json:"eventVersion"`
	EventSourceArn string                       `json:"eventSourceARN"` //nolint:revive // AWS spelling
	UserIdentity   *events.DynamoDBUserIdentity `json:"userIdentity,omitempty"`
}

// wireStreamChange mirrors events.DynamoDBStreamRecord.
type wireStreamChange struct {
	ApproximateCreationDateTime events.SecondsEpochTime `json:"ApproximateCreationDateTime,omitempty"`
	Keys                        json.RawMessage         `json:"Keys,omitempty"`
	NewImage                    json.RawMessage         `json:"NewImage,omitempty"`
	OldImage                    json.RawMessage         `json:"OldImage,omitempty"`
	SequenceNumber              string                  `json:"SequenceNumber"`
	SizeBytes                   int64                   `json:"SizeBytes"`
	StreamViewType              string                  `json:"StreamViewType"`
}

// decodedStream is a stream record decoded once: the aws-lambda-go record
// (with its images unless they were left out) and its images as SDK items.
type decodedStream struct {
	rec                    events.DynamoDBEventRecord
	keys, newItem, oldItem map[string]types.AttributeValue
	// newM and oldM wrap newItem and oldItem for attributevalue's decoder.
	newM, oldM *types.AttributeValueMemberM
}

// decodeStream decodes a stream record with its own attribute value parser:
// the images are parsed straight into SDK items, then copied into the
// aws-lambda-go record, without aws-lambda-go's attribute decoder (which
// goes through map[string]interface{} for every value and panics on some
// malformed sets). The parser is strict: one type per value, known type
// names, strings where strings belong, standard base64, NULL true.
func decodeStream(raw json.RawMessage) (decodedStream, error) {
	return decodeStreamJSON(raw, json.Valid(raw), true, new(imageParser))
}

// decodeStreamJSON is decodeStream; valid tells that raw is known to be
// valid JSON (the records split by detect are), which lets the plain
// records skip encoding/json (see scanStreamRecord). lambdaImages asks for
// the images of the aws-lambda-go record too (else its Keys, NewImage and
// OldImage are nil). p parses the images; one parser serves the records of
// a batch in turn, its scratch space and arena amortized over them.
//
// The record is copied into one string, which the strings of the result
// share: a plain record costs one allocation for all its strings.
func decodeStreamJSON(raw json.RawMessage, valid, lambdaImages bool, p *imageParser) (ds decodedStream, err error) {
	defer func() {
		if r := recover(); r != nil { // defence in depth: the parser must not panic
			ds, err = decodedStream{}, &MalformedError{Source: SourceDynamoDB, Record: -1, What: "record",
				Err: fmt.Errorf("decoder panicked: %v", r)}
		}
	}()
	var w wireStreamRecord
	rs := ""
	spans := imageSpans{keys: -1, newImage: -1, oldImage: -1}
	if valid {
		rs = string(raw)
	}
	if !valid || !scanStreamRecordIn(raw, rs, &w, &spans) {
		w, rs = wireStreamRecord{}, ""
		spans = imageSpans{keys: -1, newImage: -1, oldImage: -1}
		if err := json.Unmarshal(raw, &w); err != nil {
			return decodedStream{}, &MalformedError{Source: SourceDynamoDB, Record: -1, What: "record", Err: err}
		}
	}
	for _, img := range []struct {
		what string
		raw  json.RawMessage
		at   int
		item *map[string]types.AttributeValue
	}{
		{"Keys", w.Change.Keys, spans.keys, &ds.keys},
		{"NewImage", w.Change.NewImage, spans.newImage, &ds.newItem},
		{"OldImage", w.Change.OldImage, spans.oldImage, &ds.oldItem},
	} {
		src := ""
		if img.at >= 0 {
			src = rs[img.at : img.at+len(img.raw)] // shares rs
		} else {
			src = string(img.raw)
		}
		if *img.item, err = p.image(src); err != nil {
			return decodedStream{}, &MalformedError{Source: SourceDynamoDB, Record: -1, What: img.what, Err: err}
		}
	}
	if ds.newItem != nil {
		ds.newM = put(&p.arena.m, 4, types.AttributeValueMemberM{Value: ds.newItem})
	}
	if ds.oldItem != nil {
		ds.oldM = put(&p.arena.m, 4, types.AttributeValueMemberM{Value: ds.oldItem})
	}
	ds.rec = events.DynamoDBEventRecord{
		AWSRegion: w.AWSRegion,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: w.Change.ApproximateCreationDateTime,
			SequenceNumber:              w.Change.SequenceNumber,
			SizeBytes:                   w.Change.SizeBytes,
			StreamViewType:              w.Change.StreamViewType,
		},
		EventID:        w.EventID,
		EventName:      w.EventName,
		EventSource:    w.EventSource,
		EventVersion:   w.EventVersion,
		EventSourceArn: w.EventSourceArn,
		UserIdentity:   w.UserIdentity,
	}
	if lambdaImages {
		ds.rec = withLambdaImages(ds.rec, ds.keys, ds.newItem, ds.oldItem)
	}
	return ds, nil
}

// withLambdaImages returns rec with its Keys, NewImage and OldImage made
// from the SDK items (copies: the two sides share no slices).
func withLambdaImages(rec events.DynamoDBEventRecord, keys, newItem, oldItem map[string]types.AttributeValue) events.DynamoDBEventRecord {
	rec.Change.Keys = core.ToStreamImage(keys)
	rec.Change.NewImage = core.ToStreamImage(newItem)
	rec.Change.OldImage = core.ToStreamImage(oldItem)
	return rec
}

// decodeEpochSeconds is SecondsEpochTime.UnmarshalJSON, without its
// allocations for the usual whole seconds (up to 15 digits, which a
// float64 holds exactly).
func decodeEpochSeconds(v []byte, t *events.SecondsEpochTime) error {
	digits := v
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return t.UnmarshalJSON(v)
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return t.UnmarshalJSON(v)
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(v) {
		n = -n
	}
	*t = events.SecondsEpochTime{Time: time.Unix(n, 0)}
	return nil
}

// maxAttributeDepth bounds nesting; DynamoDB allows 32 levels.
const maxAttributeDepth = 64

// imageParser parses DynamoDB JSON (the attribute value encoding of stream
// images) into SDK values. Its input has passed encoding/json, so it is
// valid JSON; the parser still checks every byte it relies on. Strings of
// the result share the input; maps and lists are allocated once at their
// size, and the values come from an arena (so a value kept by a handler
// keeps its arena chunk, a few dozen values, alive).
type imageParser struct {
	s    string
	i    int
	path []pathPart // of the value being parsed
	// Stacks of the entries of the maps and lists being parsed.
	pairs []attrPair
	vals  []types.AttributeValue
	strs  []string
	blobs [][]byte
	arena attrArena
}

// attrPair is an entry of a map being parsed.
type attrPair struct {
	k string
	v types.AttributeValue
}

var errSyntax = errors.New("unexpected JSON")

// parseImage parses an image object; absent or null gives nil.
func parseImage(raw json.RawMessage) (map[string]types.AttributeValue, error) {
	var p imageParser
	return p.image(string(raw))
}

// image parses an image object held in s; absent or null gives nil.
func (p *imageParser) image(s string) (map[string]types.AttributeValue, error) {
	p.s, p.i, p.path = s, 0, p.path[:0]
	if p.peek() == 0 {
		return nil, nil
	}
	if p.literal("null") {
		return nil, nil
	}
	m, err := p.item(0)
	if err != nil {
		return nil, err
	}
	if p.peek() != 0 {
		return nil, errSyntax
	}
	return m, nil
}

func (p *imageParser) peek() byte {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return c
		}
	}
	return 0
}

func (p *imageParser) consume(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *imageParser) literal(lit string) bool {
	p.peek()
	if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
		p.i += len(lit)
		return true
	}
	return false
}

// str parses a JSON string.
func (p *imageParser) str() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	start := p.i
	escaped := false
	for p.i++; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '\\':
			escaped = true
			p.i++
		case '"':
			p.i++
			if !escaped && utf8.ValidString(p.s[start+1:p.i-1]) {
				return p.s[start+1 : p.i-1], true
			}
			// Escapes or invalid UTF-8 (replaced by U+FFFD): as encoding/json.
			var s string
			if json.Unmarshal([]byte(p.s[start:p.i]), &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}

func at(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// pathPart is a part of the path of the value being parsed: a key, or a
// list index.
type pathPart struct {
	key   string
	index int // a list index, or -1 for key
}

// pathString is the path of the value being parsed, e.g.
// "attributes.items[2]", built only for an error.
func (p *imageParser) pathString() string {
	path := ""
	for _, part := range p.path {
		if part.index >= 0 {
			path += "[" + strconv.Itoa(part.index) + "]"
		} else {
			path = at(path, part.key)
		}
	}
	return path
}

// item parses {"name": value, …}.
func (p *imageParser) item(depth int) (map[string]types.AttributeValue, error) {
	if depth > maxAttributeDepth {
		return nil, &AttributeError{Path: p.pathString(), Err: errors.New("nested too deeply")}
	}
	if !p.consume('{') {
		return nil, &AttributeError{Path: p.pathString(), Err: errors.New("want an object of attribute values")}
	}
	if p.consume('}') {
		return map[string]types.AttributeValue{}, nil
	}
	base := len(p.pairs)
	for {
		k, ok := p.str()
		if !ok || !p.consume(':') {
			return nil, &AttributeError{Path: p.pathString(), Err: errSyntax}
		}
		p.path = append(p.path, pathPart{key: k, index: -1})
		v, err := p.value(depth)
		p.path = p.path[:len(p.path)-1]
		if err != nil {
			return nil, err
		}
		p.pairs = append(p.pairs, attrPair{k, v})
		if p.consume('}') {
			break
		}
		if !p.consume(',') {
			return nil, &AttributeError{Path: p.pathString(), Err: errSyntax}
		}
	}
	m := make(map[string]types.AttributeValue, len(p.pairs)-base)
	for _, kv := range p.pairs[base:] {
		m[kv.k] = kv.v // a repeated key keeps its last value, as in encoding/json
	}
	clear(p.pairs[base:])
	p.pairs = p.pairs[:base]
	return m, nil
}

// attrTypeNames interns the attribute type names.
var attrTypeNames = map[string]string{
	"S": "S", "N": "N", "B": "B", "BOOL": "BOOL", "NULL": "NULL",
	"M": "M", "L": "L", "SS": "SS", "NS": "NS", "BS": "BS",
}

// typeName is str for the type of an attribute value, without allocating
// for the known type names.
func (p *imageParser) typeName() (string, bool) {
	if p.peek() != '"' {
		return "", false
	}
	start := p.i + 1
	for j := start; j < len(p.s) && j <= start+len("BOOL"); j++ {
		switch p.s[j] {
		case '"':
			if typ, ok := attrTypeNames[p.s[start:j]]; ok {
				p.i = j + 1
				return typ, true
			}
			return p.str()
		case '\\':
			return p.str()
		}
	}
	return p.str()
}

// value parses {"TYPE": …}.
func (p *imageParser) value(depth int) (types.AttributeValue, error) {
	fail := func(format string, args ...any) (types.AttributeValue, error) {
		return nil, &AttributeError{Path: p.pathString(), Err: fmt.Errorf(format, args...)}
	}
	if depth > maxAttributeDepth {
		return fail("nested too deeply")
	}
	if !p.consume('{') {
		return fail("want an attribute value object such as {\"S\": \"…\"}")
	}
	typ, ok := p.typeName()
	if !ok || !p.consume(':') {
		if p.consume('}') {
			return fail("attribute value without a type")
		}
		return fail("malformed attribute value")
	}
	var v types.AttributeValue
	a := &p.arena
	switch typ {
	case "S", "N":
		s, ok := p.str()
		if !ok {
			return fail("%s must be a string", typ)
		}
		if typ == "S" {
			v = put(&a.s, 16, types.AttributeValueMemberS{Value: s})
		} else {
			v = put(&a.n, 8, types.AttributeValueMemberN{Value: s})
		}
	case "B":
		b, err := p.base64()
		if err != nil {
			return fail("B: %v", err)
		}
		v = put(&a.bin, 4, types.AttributeValueMemberB{Value: b})
	case "BOOL":
		switch {
		case p.literal("true"):
			v = put(&a.b, 8, types.AttributeValueMemberBOOL{Value: true})
		case p.literal("false"):
			v = put(&a.b, 8, types.AttributeValueMemberBOOL{Value: false})
		default:
			return fail("BOOL must be true or false")
		}
	case "NULL":
		if !p.literal("true") {
			return fail("NULL must be true")
		}
		v = put(&a.null, 8, types.AttributeValueMemberNULL{Value: true})
	case "M":
		m, err := p.item(depth + 1)
		if err != nil {
			return nil, err
		}
		v = put(&a.m, 4, types.AttributeValueMemberM{Value: m})
	case "L":
		if !p.consume('[') {
			return fail("L must be a list")
		}
		base := len(p.vals)
		if !p.consume(']') {
			for {
				p.path = append(p.path, pathPart{index: len(p.vals) - base})
				e, err := p.value(depth + 1)
				p.path = p.path[:len(p.path)-1]
				if err != nil {
					return nil, err
				}
				p.vals = append(p.vals, e)
				if p.consume(']') {
					break
				}
				if !p.consume(',') {
					return fail("malformed L")
				}
			}
		}
		l := make([]types.AttributeValue, len(p.vals)-base)
		copy(l, p.vals[base:])
		clear(p.vals[base:])
		p.vals = p.vals[:base]
		v = put(&a.l, 4, types.AttributeValueMemberL{Value: l})
	case "SS", "NS":
		l, ok := p.strings()
		if !ok {
			return fail("%s must be a list of strings", typ)
		}
		if typ == "SS" {
			v = put(&a.ss, 4, types.AttributeValueMemberSS{Value: l})
		} else {
			v = put(&a.ns, 4, types.AttributeValueMemberNS{Value: l})
		}
	case "BS":
		if !p.consume('[') {
			return fail("BS must be a list of base64 strings")
		}
		base := len(p.blobs)
		if !p.consume(']') {
			for {
				b, err := p.base64()
				if err != nil {
					return fail("BS[%d]: %v", len(p.blobs)-base, err)
				}
				p.blobs = append(p.blobs, b)
				if p.consume(']') {
					break
				}
				if !p.consume(',') {
					return fail("malformed BS")
				}
			}
		}
		l := make([][]byte, len(p.blobs)-base)
		copy(l, p.blobs[base:])
		clear(p.blobs[base:])
		p.blobs = p.blobs[:base]
		v = put(&a.bs, 4, types.AttributeValueMemberBS{Value: l})
	default:
		return fail("unknown attribute type %q", clip(typ))
	}
	if !p.consume('}') {
		return fail("attribute value with more than one type")
	}
	return v, nil
}

func (p *imageParser) strings() ([]string, bool) {
	if !p.consume('[') {
		return nil, false
	}
	if p.consume(']') {
		return []string{}, true
	}
	base := len(p.strs)
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		p.strs = append(p.strs, s)
		if p.consume(']') {
			break
		}
		if !p.consume(',') {
			return nil, false
		}
	}
	l := make([]string, len(p.strs)-base)
	copy(l, p.strs[base:])
	clear(p.strs[base:])
	p.strs = p.strs[:base]
	return l, true
}

func (p *imageParser) base64() ([]byte, error) {
	s, ok := p.str()
	if !ok {
		return nil, errors.New("want a base64 string")
	}
	return base64.StdEncoding.DecodeString(s)
}

// attrArena holds the attribute values a parser hands out, in slices
// allocated a few at a time (see put), instead of one allocation per value.
type attrArena struct {
	s    []types.AttributeValueMemberS
	n    []types.AttributeValueMemberN
	b    []types.AttributeValueMemberBOOL
	null []types.AttributeValueMemberNULL
	m    []types.AttributeValueMemberM
	l    []types.AttributeValueMemberL
	bin  []types.AttributeValueMemberB
	ss   []types.AttributeValueMemberSS
	ns   []types.AttributeValueMemberNS
	bs   []types.AttributeValueMemberBS
}

// put stores v in the next element of *buf, refilled with chunk elements
// when empty, and returns it.
func put[T any](buf *[]T, chunk int, v T) *T {
	if len(*buf) == 0 {
		*buf = make([]T, chunk)
	}
	p := &(*buf)[0]
	*p = v
	*buf = (*buf)[1:]
	return p
}
