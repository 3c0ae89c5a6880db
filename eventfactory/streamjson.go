package eventfactory

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
// and its images as SDK items.
type decodedStream struct {
	rec                    events.DynamoDBEventRecord
	keys, newItem, oldItem map[string]types.AttributeValue
}

// decodeStream decodes a stream record with its own attribute value parser:
// the images are parsed straight into SDK items, then copied into the
// aws-lambda-go record, without aws-lambda-go's attribute decoder (which
// goes through map[string]interface{} for every value and panics on some
// malformed sets). The parser is strict: one type per value, known type
// names, strings where strings belong, standard base64, NULL true.
func decodeStream(raw json.RawMessage) (decodedStream, error) {
	return decodeStreamJSON(raw, json.Valid(raw))
}

// decodeStreamJSON is decodeStream; valid tells that raw is known to be
// valid JSON (the records split by detect are), which lets the plain
// records skip encoding/json (see scanStreamRecord).
func decodeStreamJSON(raw json.RawMessage, valid bool) (ds decodedStream, err error) {
	defer func() {
		if r := recover(); r != nil { // defence in depth: the parser must not panic
			ds, err = decodedStream{}, &MalformedError{Source: SourceDynamoDB, Record: -1, What: "record",
				Err: fmt.Errorf("decoder panicked: %v", r)}
		}
	}()
	var w wireStreamRecord
	if !valid || !scanStreamRecord(raw, &w) {
		w = wireStreamRecord{}
		if err := json.Unmarshal(raw, &w); err != nil {
			return decodedStream{}, &MalformedError{Source: SourceDynamoDB, Record: -1, What: "record", Err: err}
		}
	}
	for _, img := range []struct {
		what string
		raw  json.RawMessage
		item *map[string]types.AttributeValue
	}{
		{"Keys", w.Change.Keys, &ds.keys},
		{"NewImage", w.Change.NewImage, &ds.newItem},
		{"OldImage", w.Change.OldImage, &ds.oldItem},
	} {
		if *img.item, err = parseImage(img.raw); err != nil {
			return decodedStream{}, &MalformedError{Source: SourceDynamoDB, Record: -1, What: img.what, Err: err}
		}
	}
	ds.rec = events.DynamoDBEventRecord{
		AWSRegion: w.AWSRegion,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: w.Change.ApproximateCreationDateTime,
			Keys:                        core.ToStreamImage(ds.keys),
			NewImage:                    core.ToStreamImage(ds.newItem),
			OldImage:                    core.ToStreamImage(ds.oldItem),
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
	return ds, nil
}

// maxAttributeDepth bounds nesting; DynamoDB allows 32 levels.
const maxAttributeDepth = 64

// imageParser parses DynamoDB JSON (the attribute value encoding of stream
// images) into SDK values. Its input has passed encoding/json, so it is
// valid JSON; the parser still checks every byte it relies on.
type imageParser struct {
	b    []byte
	i    int
	path []pathPart // of the value being parsed
}

var errSyntax = errors.New("unexpected JSON")

// parseImage parses an image object; absent or null gives nil.
func parseImage(raw json.RawMessage) (map[string]types.AttributeValue, error) {
	p := imageParser{b: raw}
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
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
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
	if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
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
	for p.i++; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '\\':
			escaped = true
			p.i++
		case '"':
			p.i++
			if !escaped && utf8.Valid(p.b[start+1:p.i-1]) {
				return string(p.b[start+1 : p.i-1]), true
			}
			// Escapes or invalid UTF-8 (replaced by U+FFFD): as encoding/json.
			var s string
			if json.Unmarshal(p.b[start:p.i], &s) != nil {
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
	m := map[string]types.AttributeValue{}
	if p.consume('}') {
		return m, nil
	}
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
		m[k] = v
		if p.consume('}') {
			return m, nil
		}
		if !p.consume(',') {
			return nil, &AttributeError{Path: p.pathString(), Err: errSyntax}
		}
	}
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
	for j := start; j < len(p.b) && j <= start+len("BOOL"); j++ {
		switch p.b[j] {
		case '"':
			if typ, ok := attrTypeNames[string(p.b[start:j])]; ok {
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
	switch typ {
	case "S", "N":
		s, ok := p.str()
		if !ok {
			return fail("%s must be a string", typ)
		}
		if typ == "S" {
			v = &types.AttributeValueMemberS{Value: s}
		} else {
			v = &types.AttributeValueMemberN{Value: s}
		}
	case "B":
		b, err := p.base64()
		if err != nil {
			return fail("B: %v", err)
		}
		v = &types.AttributeValueMemberB{Value: b}
	case "BOOL":
		switch {
		case p.literal("true"):
			v = &types.AttributeValueMemberBOOL{Value: true}
		case p.literal("false"):
			v = &types.AttributeValueMemberBOOL{Value: false}
		default:
			return fail("BOOL must be true or false")
		}
	case "NULL":
		if !p.literal("true") {
			return fail("NULL must be true")
		}
		v = &types.AttributeValueMemberNULL{Value: true}
	case "M":
		m, err := p.item(depth + 1)
		if err != nil {
			return nil, err
		}
		v = &types.AttributeValueMemberM{Value: m}
	case "L":
		if !p.consume('[') {
			return fail("L must be a list")
		}
		l := []types.AttributeValue{}
		if !p.consume(']') {
			for {
				p.path = append(p.path, pathPart{index: len(l)})
				e, err := p.value(depth + 1)
				p.path = p.path[:len(p.path)-1]
				if err != nil {
					return nil, err
				}
				l = append(l, e)
				if p.consume(']') {
					break
				}
				if !p.consume(',') {
					return fail("malformed L")
				}
			}
		}
		v = &types.AttributeValueMemberL{Value: l}
	case "SS", "NS":
		l, ok := p.strings()
		if !ok {
			return fail("%s must be a list of strings", typ)
		}
		if typ == "SS" {
			v = &types.AttributeValueMemberSS{Value: l}
		} else {
			v = &types.AttributeValueMemberNS{Value: l}
		}
	case "BS":
		if !p.consume('[') {
			return fail("BS must be a list of base64 strings")
		}
		l := [][]byte{}
		if !p.consume(']') {
			for {
				b, err := p.base64()
				if err != nil {
					return fail("BS[%d]: %v", len(l), err)
				}
				l = append(l, b)
				if p.consume(']') {
					break
				}
				if !p.consume(',') {
					return fail("malformed BS")
				}
			}
		}
		v = &types.AttributeValueMemberBS{Value: l}
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
	l := []string{}
	if p.consume(']') {
		return l, true
	}
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		l = append(l, s)
		if p.consume(']') {
			return l, true
		}
		if !p.consume(',') {
			return nil, false
		}
	}
}

func (p *imageParser) base64() ([]byte, error) {
	s, ok := p.str()
	if !ok {
		return nil, errors.New("want a base64 string")
	}
	return base64.StdEncoding.DecodeString(s)
}
