package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
)

// Options configure a Server.
type Options struct {
	// Region and AccountID build the ARNs of state machines and
	// executions; default us-east-1 and 123456789012.
	Region, AccountID string
	// Clock is the time source of executions (Wait states, retries,
	// timeouts); nil means the wall clock.
	Clock interp.Clock
	// Lambda invokes the Lambda functions of Lambda tasks (bare function
	// ARNs and arn:aws:states:::lambda:invoke), typically a *Functions.
	Lambda interp.LambdaInvoker
	// Backends back the service integrations (package integrations); the
	// Workflows field is the server itself and need not be set. Nil ports
	// leave their integrations out.
	Backends integrations.Backends
	// Resources are further task resources; they take precedence over the
	// integrations.
	Resources map[string]interp.Resource
	// Objects is the object store of distributed Map ItemReader and
	// ResultWriter; nil means Backends.Objects.
	Objects interp.ObjectStore
	// MaxRequestBytes bounds a request body; default 1 MiB.
	MaxRequestBytes int64
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server runs state machines on the asl/interp interpreter and serves
// them over the Step Functions API (AWS JSON 1.0: X-Amz-Target
// AWSStepFunctions.<Operation>). SigV4 signatures are accepted, not
// verified. A Server is safe for concurrent use; it also implements
// core.Workflows, for functions that run in the same process.
type Server struct {
	opts      Options
	log       *slog.Logger
	tokens    *interp.TaskTokens
	resources map[string]interp.Resource
	ops       map[string]operation

	mu       sync.Mutex
	machines map[string]*machine   // by ARN
	execs    map[string]*execution // by ARN
	order    []*execution          // start order

	httpMu  sync.Mutex
	httpSrv *http.Server
	closed  bool
}

// New returns a Server with no state machines.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Clock == nil {
		opts.Clock = interp.RealClock{}
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 1 << 20
	}
	if opts.Objects == nil && opts.Backends.Objects != nil {
		opts.Objects = opts.Backends.Objects
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     opts,
		log:      log,
		tokens:   interp.NewTaskTokens(),
		machines: map[string]*machine{},
		execs:    map[string]*execution{},
	}
	b := opts.Backends
	b.Workflows = s
	if b.Region == "" {
		b.Region = opts.Region
	}
	if b.AccountID == "" {
		b.AccountID = opts.AccountID
	}
	if b.Now == nil {
		b.Now = opts.Clock.Now
	}
	s.ops = s.operations()
	s.resources = integrations.Resources(b)
	for k, r := range opts.Resources {
		s.resources[k] = r
	}
	return s
}

// Region returns the region of the server's ARNs.
func (s *Server) Region() string { return s.opts.Region }

// AccountID returns the account of the server's ARNs.
func (s *Server) AccountID() string { return s.opts.AccountID }

// StateMachineARN returns the ARN the server gives the state machine
// named name.
func (s *Server) StateMachineARN(name string) string {
	return "arn:aws:states:" + s.opts.Region + ":" + s.opts.AccountID + ":stateMachine:" + name
}

// Serve serves the API on l until Close.
func (s *Server) Serve(l net.Listener) error {
	s.httpMu.Lock()
	if s.closed {
		s.httpMu.Unlock()
		return http.ErrServerClosed
	}
	if s.httpSrv == nil {
		s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	}
	srv := s.httpSrv
	s.httpMu.Unlock()
	return srv.Serve(l)
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves the API on a
// goroutine; it returns the endpoint URL ("http://127.0.0.1:PORT").
func (s *Server) Start(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	go func() {
		if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve: http server ended", "err", err)
		}
	}()
	return "http://" + l.Addr().String(), nil
}

// Close stops serving HTTP and aborts the running executions.
func (s *Server) Close() error {
	s.httpMu.Lock()
	s.closed = true
	srv := s.httpSrv
	s.httpMu.Unlock()
	var err error
	if srv != nil {
		// Requests in flight get a moment to finish; connections that
		// never sent one (Shutdown waits 5s for those) are closed.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		if srv.Shutdown(ctx) != nil {
			err = srv.Close()
		}
		cancel()
	}
	s.mu.Lock()
	running := make([]*execution, 0)
	for _, e := range s.order {
		if e.x.Status().Status == interp.StatusRunning {
			running = append(running, e)
		}
	}
	s.mu.Unlock()
	for _, e := range running {
		_ = e.x.Stop("Server.Closed", "the server was closed")
	}
	return err
}

// operation is one API operation: it decodes its input from the request
// body and returns its output.
type operation func(ctx context.Context, body []byte) (any, error)

// operations maps X-Amz-Target operation names to their implementations.
func (s *Server) operations() map[string]operation {
	return map[string]operation{
		"CreateStateMachine":               s.opCreateStateMachine,
		"UpdateStateMachine":               s.opUpdateStateMachine,
		"DescribeStateMachine":             s.opDescribeStateMachine,
		"DescribeStateMachineForExecution": s.opDescribeStateMachineForExecution,
		"ListStateMachines":                s.opListStateMachines,
		"DeleteStateMachine":               s.opDeleteStateMachine,
		"ValidateStateMachineDefinition":   s.opValidate,
		"StartExecution":                   s.opStartExecution,
		"StartSyncExecution":               s.opStartSyncExecution,
		"DescribeExecution":                s.opDescribeExecution,
		"ListExecutions":                   s.opListExecutions,
		"GetExecutionHistory":              s.opGetExecutionHistory,
		"StopExecution":                    s.opStopExecution,
		"SendTaskSuccess":                  s.opSendTaskSuccess,
		"SendTaskFailure":                  s.opSendTaskFailure,
		"SendTaskHeartbeat":                s.opSendTaskHeartbeat,
		"TestState":                        s.opTestState,
		"TagResource":                      s.opNoop,
		"UntagResource":                    s.opNoop,
		"ListTagsForResource":              s.opListTags,
	}
}

// ServeHTTP implements http.Handler: one AWS JSON 1.0 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newUUID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if r.Method != http.MethodPost {
		writeError(w, apiErr(CodeUnknownOperation, "the Step Functions API takes POST requests"))
		return
	}
	target := r.Header.Get("X-Amz-Target")
	svc, op, ok := strings.Cut(target, ".")
	if !ok || svc != "AWSStepFunctions" {
		writeError(w, apiErr(CodeUnknownOperation, "unknown X-Amz-Target %q", target))
		return
	}
	fn := s.ops[op]
	if fn == nil {
		writeError(w, apiErr(CodeUnknownOperation, "the operation %s is not supported by stepcqrs serve", op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxRequestBytes+1))
	if err != nil {
		writeError(w, apiErr(CodeSerialization, "reading the request: %v", err))
		return
	}
	if int64(len(body)) > s.opts.MaxRequestBytes {
		writeError(w, apiErr(CodeValidation, "the request exceeds %d bytes", s.opts.MaxRequestBytes))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	out, err := fn(r.Context(), body)
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			s.log.Error("serve: internal failure", "operation", op, "err", err)
			ae = &APIError{Code: CodeInternalFailure, Message: err.Error(), Status: http.StatusInternalServerError}
		}
		writeError(w, ae)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, &APIError{Code: CodeInternalFailure, Message: err.Error(), Status: http.StatusInternalServerError})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write(b)
}

// writeError sends an error in AWS's shape.
func writeError(w http.ResponseWriter, e *APIError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": errorType(e.Code), "message": e.Message})
	_, _ = w.Write(b)
}

// decode reads the JSON input of an operation; unknown fields are
// ignored, as AWS ignores them.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return apiErr(CodeSerialization, "the request body is not the operation's JSON input: %v", err)
	}
	return nil
}

// epoch renders a time as AWS JSON 1.0 timestamps are sent: seconds since
// the epoch, with milliseconds.
func epoch(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (s *Server) opNoop(context.Context, []byte) (any, error) { return struct{}{}, nil }

func (s *Server) opListTags(context.Context, []byte) (any, error) {
	return map[string]any{"tags": []any{}}, nil
}

// NoHostPrefix is an option of the AWS SDK's Step Functions client for
// endpoints on an IP address or localhost: the SDK sends
// StartSyncExecution and TestState to "sync-" + the endpoint's host (as
// AWS serves them), a name that does not resolve for 127.0.0.1; with
// NoHostPrefix they go to the endpoint itself.
//
//	client := sfn.NewFromConfig(cfg, serve.NoHostPrefix)
func NoHostPrefix(o *sfn.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("stepcqrsNoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}
