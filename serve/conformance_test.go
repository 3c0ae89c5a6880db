package serve_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
	"github.com/stepcqrs/stepcqrs/core/coretest"
	"github.com/stepcqrs/stepcqrs/serve"
	"github.com/stepcqrs/stepcqrs/serve/servetest"
)

// TestWorkflowsConformanceOverAPI runs the core.Workflows conformance
// suite on core/awsadapter's Step Functions adapter, talking to the server
// over HTTP: the task-token subtests included, since the server issues
// real tokens.
func TestWorkflowsConformanceOverAPI(t *testing.T) {
	srv := servetest.Start(t, serve.Options{})
	client := sfn.NewFromConfig(srv.Config(t))
	coretest.TestWorkflows(t, srv.WorkflowsHarness(func(*testing.T) core.Workflows { return awsadapter.NewWorkflows(client) }))
}

// TestWorkflowsConformanceInProcess runs the suite on the Server itself,
// the core.Workflows that in-process functions get.
func TestWorkflowsConformanceInProcess(t *testing.T) {
	srv := servetest.Start(t, serve.Options{})
	coretest.TestWorkflows(t, srv.WorkflowsHarness(func(*testing.T) core.Workflows { return srv.Server }))
}
