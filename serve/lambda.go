package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// Function is one Lambda function: Invoke runs it synchronously with a
// payload and returns its response payload. A function error is a
// *interp.LambdaFunctionError, a failure of the Lambda service a
// *interp.LambdaServiceError.
type Function interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Functions is the server's Lambda service: functions by name. It is the
// interp.LambdaInvoker of state machines and what event source mappings
// invoke. It is safe for concurrent use.
type Functions struct {
	region, account string

	mu sync.Mutex
	m  map[string]*function
}

type function struct {
	f   Function
	sem chan struct{} // nil: unbounded
	n   atomic.Int64  // invocations
}

var _ interp.LambdaInvoker = (*Functions)(nil)

// NewFunctions returns an empty registry whose "function not found"
// errors name functions in region and account.
func NewFunctions(region, account string) *Functions {
	if region == "" {
		region = "us-east-1"
	}
	if account == "" {
		account = "123456789012"
	}
	return &Functions{region: region, account: account, m: map[string]*function{}}
}

// Add registers f under name (a function name, not an ARN). concurrency
// bounds the invocations in flight (0: unbounded); the Lambda Runtime
// Interface Emulator serves one at a time and needs 1.
func (fs *Functions) Add(name string, f Function, concurrency int) {
	fn := &function{f: f}
	if concurrency > 0 {
		fn.sem = make(chan struct{}, concurrency)
	}
	fs.mu.Lock()
	fs.m[name] = fn
	fs.mu.Unlock()
}

// Invocations returns how many times the function name was invoked.
func (fs *Functions) Invocations(name string) int64 {
	fs.mu.Lock()
	fn := fs.m[name]
	fs.mu.Unlock()
	if fn == nil {
		return 0
	}
	return fn.n.Load()
}

// FunctionName returns the name of a function from its name, its ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) or a partial
// ARN (ACCOUNT:function:NAME).
func FunctionName(nameOrARN string) string {
	name := nameOrARN
	if i := strings.Index(name, ":function:"); i >= 0 {
		name = name[i+len(":function:"):]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name
}

// Invoke implements interp.LambdaInvoker: it invokes the function
// functionName names, waiting for a free slot of its concurrency.
func (fs *Functions) Invoke(ctx context.Context, functionName string, payload []byte) ([]byte, error) {
	name := FunctionName(functionName)
	fs.mu.Lock()
	fn := fs.m[name]
	fs.mu.Unlock()
	if fn == nil {
		return nil, &interp.LambdaServiceError{Code: "ResourceNotFoundException", StatusCode: http.StatusNotFound,
			Message:   fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", fs.region, fs.account, name),
			RequestID: newUUID()}
	}
	if fn.sem != nil {
		select {
		case fn.sem <- struct{}{}:
			defer func() { <-fn.sem }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fn.n.Add(1)
	return fn.f.Invoke(ctx, payload)
}

// HandlerFunction runs a Lambda handler in-process, with the JSON
// payloads Lambda would give it: the function of a service built from
// its event-factory dispatcher (eventfactory.HandlerFunc has this shape).
// An error becomes the function error Lambda reports, named as the Go
// runtime names it (messages.InvokeResponse_Error keeps its Type; other
// errors get eventfactory.ErrorName).
type HandlerFunction struct {
	// Name and Region fill the function ARN of the Lambda context.
	Name, Region, AccountID string
	// Handler is the function's code.
	Handler func(ctx context.Context, payload json.RawMessage) (any, error)
}

var requestSeq atomic.Int64

// Invoke implements Function.
func (h HandlerFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	lc := &lambdacontext.LambdaContext{
		AwsRequestID:       fmt.Sprintf("serve-%012d", requestSeq.Add(1)),
		InvokedFunctionArn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", h.Region, h.AccountID, h.Name),
	}
	out, err := h.Handler(lambdacontext.NewContext(ctx, lc), payload)
	if err != nil {
		var ive messages.InvokeResponse_Error
		if errors.As(err, &ive) {
			return nil, &interp.LambdaFunctionError{ErrorType: ive.Type, ErrorMessage: ive.Message, RequestID: lc.AwsRequestID}
		}
		return nil, &interp.LambdaFunctionError{ErrorType: eventfactory.ErrorName(err), ErrorMessage: err.Error(), RequestID: lc.AwsRequestID}
	}
	if raw, ok := out.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(out)
}

// HTTPFunction invokes a function through a Lambda Invoke endpoint (POST
// /2015-03-31/functions/NAME/invocations): the Lambda Runtime Interface
// Emulator, LocalStack or AWS.
type HTTPFunction struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:9000 for the
	// emulator or https://lambda.us-east-1.amazonaws.com.
	Endpoint string
	// Name is the function's name on the endpoint; the emulator serves
	// one function, named "function".
	Name string
	// Credentials, when set, sign requests with SigV4 for Region (AWS,
	// LocalStack); nil sends them unsigned (the emulator).
	Credentials aws.CredentialsProvider
	Region      string
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
}

// functionErrorDoc is the error document of a failed invocation.
type functionErrorDoc struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	StackTrace   []string `json:"stackTrace"`
	RequestID    string   `json:"requestId"`
}

// errorDocument reports whether body is an error document and nothing
// else: the emulator answers a function error with HTTP 200 and no
// X-Amz-Function-Error header, so its body tells.
func errorDocument(body []byte) (functionErrorDoc, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m["errorType"] == nil || m["errorMessage"] == nil {
		return functionErrorDoc{}, false
	}
	for k := range m {
		switch k {
		case "errorType", "errorMessage", "stackTrace", "requestId", "cause":
		default:
			return functionErrorDoc{}, false
		}
	}
	var d functionErrorDoc
	if json.Unmarshal(body, &d) != nil {
		return functionErrorDoc{}, false
	}
	return d, true
}

// Invoke implements Function.
func (h *HTTPFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	u := strings.TrimRight(h.Endpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(h.Name) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return nil, &interp.LambdaServiceError{Code: "SdkClientException", Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	if h.Credentials != nil {
		creds, err := h.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, &interp.LambdaServiceError{Code: "SdkClientException", Message: "retrieving credentials: " + err.Error()}
		}
		sum := sha256.Sum256(payload)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", h.Region, time.Now()); err != nil {
			return nil, &interp.LambdaServiceError{Code: "SdkClientException", Message: "signing: " + err.Error()}
		}
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &interp.LambdaServiceError{Code: "SdkClientException", Message: "Unable to execute HTTP request: " + err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &interp.LambdaServiceError{Code: "SdkClientException", Message: "reading the response: " + err.Error()}
	}
	reqID := resp.Header.Get("X-Amzn-Requestid")
	if resp.StatusCode >= 300 {
		code := resp.Header.Get("X-Amzn-Errortype")
		if i := strings.IndexByte(code, ':'); i >= 0 {
			code = code[:i]
		}
		if code == "" {
			code = "ServiceException"
			if resp.StatusCode == http.StatusNotFound {
				code = "ResourceNotFoundException"
			}
		}
		var msg struct {
			Message  string `json:"message"`
			Message2 string `json:"Message"`
		}
		_ = json.Unmarshal(body, &msg)
		m := msg.Message + msg.Message2
		if m == "" {
			m = strings.TrimSpace(string(body))
		}
		return nil, &interp.LambdaServiceError{Code: code, StatusCode: resp.StatusCode, Message: m, RequestID: reqID}
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		d, _ := errorDocument(body)
		if d.ErrorType == "" {
			var loose functionErrorDoc
			_ = json.Unmarshal(body, &loose)
			d = loose
		}
		return nil, &interp.LambdaFunctionError{ErrorType: d.ErrorType, ErrorMessage: d.ErrorMessage, StackTrace: d.StackTrace, RequestID: reqID, Payload: body}
	}
	if h.Credentials == nil {
		if d, ok := errorDocument(body); ok {
			return nil, &interp.LambdaFunctionError{ErrorType: d.ErrorType, ErrorMessage: d.ErrorMessage, StackTrace: d.StackTrace, RequestID: reqID, Payload: body}
		}
	}
	return body, nil
}
