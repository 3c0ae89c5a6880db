package eventfactory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Source is the AWS service that sent a payload.
type Source int

// Sources, as detected by Detect.
const (
	SourceUnknown Source = iota
	SourceStepFunctions
	SourceDynamoDB
	SourceSQS
	SourceSNS
	SourceS3
	SourceEventBridge
	// SourceAPIGatewayV1 is an HTTP request in API Gateway's payload format
	// 1.0 (events.APIGatewayProxyRequest): REST APIs, and HTTP APIs whose
	// integration uses format 1.0.
	SourceAPIGatewayV1
	// SourceAPIGatewayV2 is an HTTP request of an API Gateway HTTP API in
	// payload format 2.0 (events.APIGatewayV2HTTPRequest).
	SourceAPIGatewayV2
	// SourceFunctionURL is an HTTP request through a Lambda function URL
	// (events.LambdaFunctionURLRequest, also payload format 2.0).
	SourceFunctionURL
	// SourceHTTP names the three HTTP sources together where one name is
	// needed for all of them (the registration problems of OnHTTP). Detect
	// never returns it.
	SourceHTTP
)

var sourceNames = [...]string{
	SourceUnknown:       "unknown",
	SourceStepFunctions: "stepfunctions",
	SourceDynamoDB:      "dynamodb",
	SourceSQS:           "sqs",
	SourceSNS:           "sns",
	SourceS3:            "s3",
	SourceEventBridge:   "eventbridge",
	SourceAPIGatewayV1:  "apigateway-v1",
	SourceAPIGatewayV2:  "apigateway-v2",
	SourceFunctionURL:   "function-url",
	SourceHTTP:          "http",
}

// String returns the source's lower-case name, e.g. "dynamodb".
func (s Source) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// IsHTTP reports whether s is one of the HTTP sources, whose requests
// OnHTTP's handler serves.
func (s Source) IsHTTP() bool {
	return s == SourceAPIGatewayV1 || s == SourceAPIGatewayV2 || s == SourceFunctionURL || s == SourceHTTP
}

// recordSources maps a record's eventSource (EventSource for SNS).
var recordSources = map[string]Source{
	"aws:dynamodb": SourceDynamoDB,
	"aws:sqs":      SourceSQS,
	"aws:sns":      SourceSNS,
	"aws:s3":       SourceS3,
}

// sfnKeys are the top-level keys of a Step Functions task payload.
var sfnKeys = map[string]bool{"input": true, "context": true, "taskToken": true}

// detected is a payload split by Detect.
type detected struct {
	source  Source
	top     map[string]json.RawMessage
	records []json.RawMessage // for Records batches
}

// Detect tells which source sent payload, by its shape alone:
//
//   - an object with a "Records" array: the eventSource ("aws:dynamodb",
//     "aws:sqs", "aws:s3") or EventSource ("aws:sns") its records share;
//   - an object with a "context" key, or whose keys are "input" and perhaps
//     "taskToken": a Step Functions task payload (other keys a state
//     machine adds to its Parameters are ignored);
//   - an object with "detail-type", "source" and "detail": EventBridge;
//   - an object with a "requestContext" and either "version" "2.0" with a
//     "rawPath" (or a requestContext.http): an HTTP request in payload
//     format 2.0, from a Lambda function URL when requestContext.domainName
//     is a function URL host, <url-id>.lambda-url.<region>.on.aws, and from
//     an API Gateway HTTP API otherwise (see HTTP requests in the package
//     documentation for why the host decides);
//   - an object with a "requestContext" and an "httpMethod" (and no
//     "version" or "version" "1.0"): an API Gateway request in payload
//     format 1.0. An Application Load Balancer request has that shape
//     too, with requestContext.elb: it is reported as an unknown source.
//
// The error is a *MalformedError for a payload that is not a JSON object
// (or a Records value that is not an array, or a Step Functions payload
// without context), and a *SourceError for an empty batch
// (ErrEmptyBatch), records of several sources (ErrMixedSources) and any
// other shape (ErrUnknownSource).
func Detect(payload json.RawMessage) (Source, error) {
	d, err := detect(payload)
	return d.source, err
}

// recordProbe reads a record's source. Go's JSON decoder prefers exact key
// matches, so "eventSource" and "EventSource" land in their own fields.
type recordProbe struct {
	Lower string `json:"eventSource"`
	Upper string `json:"EventSource"`
}

var recordsPrefix = []byte(`{"Records"`)

func detect(payload json.RawMessage) (detected, error) {
	var d detected
	// Fast path for the batches AWS sends, {"Records":[…]}: scanRecords
	// splits the array without decoding it, else one decoding pass instead
	// of two. Anything unusual takes the general path.
	if bytes.HasPrefix(bytes.TrimLeft(payload, " \t\r\n"), recordsPrefix) {
		if recs, ok := scanRecords(payload); ok {
			d.records = recs
			return d, d.classifyRecords()
		}
		var top struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(payload, &top); err == nil && len(top.Records) > 0 {
			d.records = top.Records
			return d, d.classifyRecords()
		}
	}
	if err := json.Unmarshal(payload, &d.top); err != nil || d.top == nil {
		if err == nil {
			err = fmt.Errorf("payload is null")
		}
		return d, &MalformedError{Source: SourceUnknown, Record: -1, What: "payload", Err: err}
	}
	if raw, ok := d.top["Records"]; ok {
		return d, d.detectRecords(raw)
	}
	if isSFN(d.top) {
		d.source = SourceStepFunctions
		if _, ok := d.top["context"]; !ok {
			return d, &MalformedError{Source: SourceStepFunctions, Record: -1, What: "payload",
				Err: fmt.Errorf(`no "context": pass "context.$": "$$" in the task's Parameters`)}
		}
		return d, nil
	}
	_, dt := d.top["detail-type"]
	_, src := d.top["source"]
	_, det := d.top["detail"]
	if dt && src && det {
		d.source = SourceEventBridge
		return d, nil
	}
	if s, ok, err := detectHTTP(d.top); ok {
		d.source = s
		return d, err
	}
	return d, &SourceError{Err: ErrUnknownSource, Detail: "top-level keys " + keyList(d.top)}
}

func isSFN(top map[string]json.RawMessage) bool {
	if _, ok := top["context"]; ok {
		return true
	}
	if _, ok := top["input"]; !ok {
		return false
	}
	for k := range top {
		if !sfnKeys[k] {
			return false
		}
	}
	return true
}

func (d *detected) detectRecords(raw json.RawMessage) error {
	if err := json.Unmarshal(raw, &d.records); err != nil {
		return &MalformedError{Source: SourceUnknown, Record: -1, What: "Records", Err: err}
	}
	if len(d.records) == 0 {
		return &SourceError{Err: ErrEmptyBatch}
	}
	return d.classifyRecords()
}

// classifyRecords sets the source shared by the records.
func (d *detected) classifyRecords() error {
	seen := map[Source]bool{}
	var unknown []string
	for _, rec := range d.records {
		name, ok := scanEventSource(rec)
		if !ok {
			var p recordProbe
			if err := json.Unmarshal(rec, &p); err != nil {
				continue // a malformed record of the batch's source
			}
			name = p.Lower
			if name == "" {
				name = p.Upper
			}
		}
		if s, ok := recordSources[name]; ok {
			seen[s] = true
			d.source = s
		} else if name != "" && len(unknown) < 3 {
			unknown = append(unknown, clip(name))
		}
	}
	switch {
	case len(seen) > 1 || (len(seen) == 1 && len(unknown) > 0):
		var srcs []Source
		for s := range seen {
			srcs = append(srcs, s)
		}
		sort.Slice(srcs, func(i, j int) bool { return srcs[i] < srcs[j] })
		d.source = SourceUnknown
		detail := fmt.Sprintf("%v", srcs)
		if len(unknown) > 0 {
			detail += fmt.Sprintf(" and %q", unknown)
		}
		return &SourceError{Err: ErrMixedSources, Detail: detail, Sources: srcs}
	case len(seen) == 0:
		detail := "no record names a supported eventSource"
		if len(unknown) > 0 {
			detail = fmt.Sprintf("unsupported eventSource %q", unknown[0])
		}
		return &SourceError{Err: ErrUnknownSource, Detail: detail}
	}
	return nil
}

func keyList(m map[string]json.RawMessage) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprintf("%q", clip(k)))
	}
	sort.Strings(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "…")
	}
	return "[" + strings.Join(keys, " ") + "]"
}

// clip shortens hostile strings before they reach error messages and logs.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
