package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// Stub behaviours of the corpus.
const (
	StubIdentity             = "identity"
	StubConstantHelloWorld   = "constant_hello_world"
	StubReturnJSONString     = "return_json_string"
	StubRaiseException       = "raise_exception"
	StubRaiseCustomException = "raise_custom_exception"
	StubLargeOutput257k      = "large_output_257k"
	StubSleep60sIdentity     = "sleep_60s_identity"
)

// StubInvoker is a LambdaInvoker whose functions behave as the corpus'
// stubs describe. Functions are looked up by name (the last segment of an
// ARN); an unknown function fails like Lambda's ResourceNotFoundException.
type StubInvoker struct {
	stubs     map[string]string
	clock     interp.Clock
	region    string
	account   string
	requestID atomic.Int64
}

// NewStubInvoker returns a StubInvoker for the given function name →
// behaviour map; sleeping stubs sleep on clock.
func NewStubInvoker(stubs map[string]string, clock interp.Clock, region, account string) *StubInvoker {
	return &StubInvoker{stubs: stubs, clock: clock, region: region, account: account}
}

// functionName extracts the function name from a name or ARN.
func functionName(s string) string {
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
		if j := strings.IndexByte(s, ':'); j >= 0 {
			s = s[:j]
		}
		return s
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (s *StubInvoker) newRequestID() string {
	n := s.requestID.Add(1)
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

// Invoke implements interp.LambdaInvoker.
func (s *StubInvoker) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	name := functionName(fn)
	behaviour, ok := s.stubs[name]
	if !ok {
		return nil, &interp.LambdaServiceError{
			Code:       "ResourceNotFoundException",
			StatusCode: 404,
			Message:    fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s:$LATEST", s.region, s.account, name),
			RequestID:  s.newRequestID(),
		}
	}
	switch behaviour {
	case StubIdentity:
		return pythonStyle(payload), nil
	case StubConstantHelloWorld:
		return []byte(`{"Return": "HelloWorld"}`), nil
	case StubReturnJSONString:
		return []byte(`"HelloWorld!"`), nil
	case StubRaiseException, StubRaiseCustomException:
		typ, msg := "Exception", "Some exception was raised."
		trace := []string{"  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"Some exception was raised.\")\n"}
		if behaviour == StubRaiseCustomException {
			typ, msg = "CustomException", ""
			trace = []string{"  File \"/var/task/handler.py\", line 9, in handler\n    raise CustomException()\n"}
		}
		fe := &interp.LambdaFunctionError{ErrorType: typ, ErrorMessage: msg, RequestID: s.newRequestID(), StackTrace: trace}
		doc := map[string]any{"errorMessage": msg, "errorType": typ, "requestId": fe.RequestID, "stackTrace": []string{trace[0]}}
		fe.Payload, _ = json.Marshal(doc)
		return nil, fe
	case StubLargeOutput257k:
		return largeOutput(), nil
	case StubSleep60sIdentity:
		if err := s.clock.Sleep(ctx, 60*time.Second); err != nil {
			return nil, err
		}
		return pythonStyle(payload), nil
	}
	return nil, fmt.Errorf("conformance: unknown stub behaviour %q", behaviour)
}

// largeOutput is the payload of the large_output_257k stub: a JSON string
// of 257 KiB of "a", made once (callers do not modify it).
var largeOutput = sync.OnceValue(func() []byte {
	b, _ := json.Marshal(strings.Repeat("a", 257*1024))
	return b
})

// pythonStyle re-serializes a payload as the Python Lambda runtime returns
// it; invalid JSON is returned unchanged.
func pythonStyle(payload []byte) []byte {
	v, err := jsonpath.Decode(payload)
	if err != nil {
		return payload
	}
	return []byte(interp.PythonJSON(v))
}
