// Package servetest starts a stepcqrs serve.Server for tests: on
// loopback, with an in-process Lambda function that hands out the task
// tokens of its executions, so that clients of the Step Functions API (the
// AWS SDK, the AWS CLI, core/awsadapter's Workflows) can be tested against
// a server that really issues and honours task tokens.
package servetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/serve"
)

// TokenFunction is the name of the function that collects task tokens.
const TokenFunction = "stepcqrs-tokens"

// Server is a serve.Server listening on loopback.
type Server struct {
	*serve.Server
	// URL is the endpoint, e.g. http://127.0.0.1:PORT.
	URL string
	// Functions are the server's Lambda functions; TokenFunction is
	// registered.
	Functions *serve.Functions

	mu     sync.Mutex
	tokens map[string][]string // by execution ARN, not yet handed out
	wake   chan struct{}
}

// Start starts a server for the test and closes it when the test ends.
// opts.Lambda is set to the server's Functions.
func Start(t testing.TB, opts serve.Options) *Server {
	t.Helper()
	fns := serve.NewFunctions(opts.Region, opts.AccountID)
	opts.Lambda = fns
	s := &Server{Server: serve.New(opts), Functions: fns, tokens: map[string][]string{}, wake: make(chan struct{})}
	fns.Add(TokenFunction, serve.HandlerFunction{Name: TokenFunction, Handler: s.collect}, 0)
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("servetest: %v", err)
	}
	s.URL = url
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// collect is TokenFunction: it records {"token", "execution"}.
func (s *Server) collect(_ context.Context, payload json.RawMessage) (any, error) {
	var in struct {
		Token     string `json:"token"`
		Execution string `json:"execution"`
	}
	if err := json.Unmarshal(payload, &in); err != nil || in.Token == "" {
		return nil, fmt.Errorf("servetest: the payload %s has no token", payload)
	}
	s.mu.Lock()
	s.tokens[in.Execution] = append(s.tokens[in.Execution], in.Token)
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
	return map[string]any{}, nil
}

// WaitingDefinition is a state machine whose executions wait on task
// tokens, one after the other, for as long as the tokens are sent back
// within an hour: each wait hands its token to TokenFunction. A
// SendTaskFailure fails the execution.
const WaitingDefinition = `{
  "StartAt": "Wait",
  "States": {
    "Wait": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "` + TokenFunction + `", "Payload": {"token.$": "$$.Task.Token", "execution.$": "$$.Execution.Id"}},
      "TimeoutSeconds": 3600,
      "ResultPath": null,
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
      "Next": "Wait"
    },
    "Failed": {"Type": "Fail", "Error": "TaskFailed"}
  }
}`

// Token waits for the next task token the execution waits on (up to 10
// seconds) and returns it.
func (s *Server) Token(t testing.TB, executionARN string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		if l := s.tokens[executionARN]; len(l) > 0 {
			s.tokens[executionARN] = l[1:]
			s.mu.Unlock()
			return l[0]
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("servetest: execution %s waited on no task token within 10s", executionARN)
		}
	}
}

// Config returns an AWS configuration for the server's endpoint: region
// us-east-1 and static credentials (the server accepts any signature).
func (s *Server) Config(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(s.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatalf("servetest: %v", err)
	}
	return cfg
}

// WorkflowsHarness returns the harness of coretest.TestWorkflows for a
// core.Workflows that talks to this server (newWorkflows builds it): state
// machines of WaitingDefinition, whose executions stay RUNNING and issue
// real task tokens.
func (s *Server) WorkflowsHarness(newWorkflows func(t *testing.T) core.Workflows) coretest.WorkflowsHarness {
	return coretest.WorkflowsHarness{
		New: newWorkflows,
		CreateStateMachine: func(t *testing.T, _ core.Workflows, name string) string {
			arn, err := s.CreateStateMachine(serve.StateMachine{Name: name, Definition: WaitingDefinition})
			if err != nil {
				t.Fatalf("servetest: create state machine %s: %v", name, err)
			}
			return arn
		},
		IssueTaskToken: func(t *testing.T, _ core.Workflows, executionARN string) string {
			return s.Token(t, executionARN)
		},
	}
}
