package interp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// LambdaInvoker invokes Lambda functions synchronously. functionName is a
// function name, a partial or a full ARN, as the state machine gives it.
//
// A function that fails returns a *LambdaFunctionError; a failure of the
// Lambda service itself (unknown function, throttling...) returns a
// *LambdaServiceError. Any other error is reported as Lambda.Unknown.
type LambdaInvoker interface {
	Invoke(ctx context.Context, functionName string, payload []byte) ([]byte, error)
}

// LambdaInvokerFunc adapts a function to LambdaInvoker.
type LambdaInvokerFunc func(ctx context.Context, functionName string, payload []byte) ([]byte, error)

// Invoke implements LambdaInvoker.
func (f LambdaInvokerFunc) Invoke(ctx context.Context, functionName string, payload []byte) ([]byte, error) {
	return f(ctx, functionName, payload)
}

// LambdaFunctionError is an error raised by the code of a Lambda function.
// Step Functions reports it with the error name ErrorType and, as cause, the
// JSON object {errorMessage, errorType, requestId, stackTrace}.
type LambdaFunctionError struct {
	ErrorType    string
	ErrorMessage string
	RequestID    string
	StackTrace   []string
	// Payload is the error document the function produced, when known; it
	// is used as the cause verbatim by lambda:invoke.
	Payload []byte
}

// Error implements error.
func (e *LambdaFunctionError) Error() string {
	return fmt.Sprintf("lambda function error %s: %s", e.ErrorType, e.ErrorMessage)
}

// document returns the error document as a JSON value.
func (e *LambdaFunctionError) document() any {
	if len(e.Payload) > 0 {
		if v, err := jsonpath.Decode(e.Payload); err == nil {
			return v
		}
	}
	doc := map[string]any{"errorMessage": e.ErrorMessage, "errorType": e.ErrorType}
	if e.RequestID != "" {
		doc["requestId"] = e.RequestID
	}
	if e.StackTrace != nil {
		st := make([]any, len(e.StackTrace))
		for i, s := range e.StackTrace {
			st[i] = s
		}
		doc["stackTrace"] = st
	}
	return doc
}

// LambdaServiceError is an error of the Lambda service, such as
// ResourceNotFoundException for an unknown function. Step Functions reports
// it as "Lambda." + Code.
type LambdaServiceError struct {
	Code       string // e.g. ResourceNotFoundException
	StatusCode int    // HTTP status, e.g. 404
	Message    string // e.g. "Function not found: arn:..."
	RequestID  string
}

// Error implements error.
func (e *LambdaServiceError) Error() string {
	return fmt.Sprintf("%s (Service: AWSLambda; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)", e.Message, e.StatusCode, e.Code, e.RequestID)
}

// lambdaError converts an invocation error to the States error AWS reports.
// pythonStyle selects the cause layout of the bare-ARN integration.
func lambdaError(err error, pythonStyle bool) *StatesError {
	var fe *LambdaFunctionError
	if errors.As(err, &fe) {
		doc := fe.document()
		var cause string
		if pythonStyle {
			cause = pythonJSON(doc)
		} else if len(fe.Payload) > 0 {
			cause = string(bytes.TrimSpace(fe.Payload))
		} else {
			cause, _ = jsonpath.EncodeString(doc)
		}
		name := fe.ErrorType
		if name == "" {
			name = "Lambda.Unknown"
		}
		return newError(name, cause)
	}
	var se *LambdaServiceError
	if errors.As(err, &se) {
		return newError("Lambda."+se.Code, se.Error())
	}
	var st *StatesError
	if errors.As(err, &st) {
		return st
	}
	return newError("Lambda.Unknown", err.Error())
}

// PythonJSON renders a JSON value (see package jsonpath) the way Python's
// json.dumps does by default: ", " and ": " separators and non-ASCII
// characters escaped; object keys are sorted. It is how the Lambda Python
// runtime serializes results and errors, which Step Functions reports
// verbatim (Content-Length headers, error causes).
func PythonJSON(v any) string { return pythonJSON(v) }

func pythonJSON(v any) string {
	var b strings.Builder
	writePythonJSON(&b, v)
	return b.String()
}

func writePythonJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(string(x))
	case string:
		b.WriteByte('"')
		for _, r := range x {
			switch {
			case r == '"':
				b.WriteString(`\"`)
			case r == '\\':
				b.WriteString(`\\`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20 || r > 0x7e:
				if r > 0xffff {
					r1, r2 := utf16Pair(r)
					fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePythonJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writePythonJSON(b, k)
			b.WriteString(": ")
			writePythonJSON(b, x[k])
		}
		b.WriteByte('}')
	default:
		s, _ := jsonpath.EncodeString(x)
		b.WriteString(s)
	}
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
