package serve_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/serve"
	"github.com/stepcqrs/stepcqrs/serve/servetest"
)

// awsCLI finds the AWS CLI, or skips (fails under
// STEPCQRS_REQUIRE_ENDPOINT=1) without it.
func awsCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aws")
	if err != nil {
		msg := "the AWS CLI (aws) is not on PATH: pip install awscli"
		if v := os.Getenv(endpointtest.EnvRequire); v == "1" || strings.EqualFold(v, "true") {
			t.Fatal(msg + "; " + endpointtest.EnvRequire + " is set")
		}
		t.Skip(msg)
	}
	return p
}

// cli runs the AWS CLI against the server. viaEnv selects the endpoint
// through AWS_ENDPOINT_URL_SFN rather than --endpoint-url.
type cli struct {
	t      *testing.T
	bin    string
	url    string
	home   string
	viaEnv bool
}

func (c *cli) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	all := append([]string{"stepfunctions"}, args...)
	all = append(all, "--region", "us-east-1", "--output", "json")
	if !c.viaEnv {
		all = append(all, "--endpoint-url", c.url)
	}
	cmd := exec.Command(c.bin, all...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE="+filepath.Join(c.home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(c.home, "credentials"), "AWS_PAGER=")
	if c.viaEnv {
		env = append(env, "AWS_ENDPOINT_URL_SFN="+c.url)
	}
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// json runs a command that must succeed and decodes its output.
func (c *cli) json(out any, args ...string) {
	c.t.Helper()
	stdout, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("aws stepfunctions %s: %v\n%s", args[0], err, stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout), out); err != nil {
			c.t.Fatalf("aws stepfunctions %s: output %q: %v", args[0], stdout, err)
		}
	}
}

// TestServeAWSCLI drives the server with the AWS CLI (v1): it creates a
// state machine whose task waits on a task token, starts an execution,
// completes the task with send-task-success and reads the execution and
// its history back, half of the calls through AWS_ENDPOINT_URL_SFN.
func TestServeAWSCLI(t *testing.T) {
	bin := awsCLI(t)
	srv := servetest.Start(t, serve.Options{})
	dir := t.TempDir()
	c := &cli{t: t, bin: bin, url: srv.URL, home: dir}
	def := `{
  "StartAt": "Approve",
  "States": {
    "Approve": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "` + servetest.TokenFunction + `", "Payload": {"token.$": "$$.Task.Token", "execution.$": "$$.Execution.Id"}},
      "ResultPath": "$.approval",
      "Next": "Done"
    },
    "Done": {"Type": "Pass", "Parameters": {"order.$": "$.order", "approved.$": "$.approval.ok"}, "End": true}
  }
}`
	defFile := filepath.Join(dir, "approval.asl.json")
	if err := os.WriteFile(defFile, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}

	var created struct {
		StateMachineArn string  `json:"stateMachineArn"`
		CreationDate    float64 `json:"creationDate"`
	}
	c.json(&created, "create-state-machine", "--name", "approval", "--definition", "file://"+defFile,
		"--role-arn", "arn:aws:iam::123456789012:role/approval")
	if created.StateMachineArn != "arn:aws:states:us-east-1:123456789012:stateMachine:approval" || created.CreationDate == 0 {
		t.Fatalf("create-state-machine: %+v", created)
	}
	c.viaEnv = true
	var described struct {
		Name, Status, Definition, Type string
	}
	c.json(&described, "describe-state-machine", "--state-machine-arn", created.StateMachineArn)
	if described.Name != "approval" || described.Status != "ACTIVE" || described.Type != "STANDARD" || described.Definition != def {
		t.Errorf("describe-state-machine: %+v", described)
	}

	var started struct {
		ExecutionArn string  `json:"executionArn"`
		StartDate    float64 `json:"startDate"`
	}
	c.json(&started, "start-execution", "--state-machine-arn", created.StateMachineArn, "--name", "order-1", "--input", `{"order":"o-1"}`)
	if started.ExecutionArn != "arn:aws:states:us-east-1:123456789012:execution:approval:order-1" {
		t.Fatalf("start-execution: %+v", started)
	}
	// The same name and input is the same execution; another input is
	// ExecutionAlreadyExists, as the CLI reports AWS's errors.
	var again struct {
		ExecutionArn string `json:"executionArn"`
	}
	c.json(&again, "start-execution", "--state-machine-arn", created.StateMachineArn, "--name", "order-1", "--input", `{"order":"o-1"}`)
	if again.ExecutionArn != started.ExecutionArn {
		t.Errorf("idempotent start-execution gave %s", again.ExecutionArn)
	}
	if _, stderr, err := c.run("start-execution", "--state-machine-arn", created.StateMachineArn, "--name", "order-1", "--input", `{"order":"o-2"}`); err == nil ||
		!strings.Contains(stderr, "(ExecutionAlreadyExists)") {
		t.Errorf("start-execution with another input: err %v, stderr %q", err, stderr)
	}

	var running struct{ Status, Input string }
	c.json(&running, "describe-execution", "--execution-arn", started.ExecutionArn)
	if running.Status != "RUNNING" || running.Input != `{"order":"o-1"}` {
		t.Errorf("describe-execution before the callback: %+v", running)
	}

	token := srv.Token(t, started.ExecutionArn)
	c.viaEnv = false
	c.json(nil, "send-task-success", "--task-token", token, "--task-output", `{"ok":true}`)
	if _, stderr, err := c.run("send-task-success", "--task-token", token, "--task-output", `{}`); err == nil || !strings.Contains(stderr, "(TaskTimedOut)") {
		t.Errorf("second send-task-success: err %v, stderr %q", err, stderr)
	}

	var done struct{ Status, Output string }
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.json(&done, "describe-execution", "--execution-arn", started.ExecutionArn)
		if done.Status != "RUNNING" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling another process (the CLI) for the execution's end
	}
	if done.Status != "SUCCEEDED" || !jsonEqual(done.Output, `{"order":"o-1","approved":true}`) {
		t.Fatalf("describe-execution after send-task-success: %+v", done)
	}

	type event struct {
		ID                        int    `json:"id"`
		Type                      string `json:"type"`
		TaskSubmittedEventDetails *struct {
			ResourceType, Resource string
		} `json:"taskSubmittedEventDetails"`
		TaskSucceededEventDetails *struct{ Output string } `json:"taskSucceededEventDetails"`
	}
	var hist struct {
		Events    []event `json:"events"`
		NextToken string  `json:"nextToken"`
	}
	c.json(&hist, "get-execution-history", "--execution-arn", started.ExecutionArn)
	var types []string
	for i, e := range hist.Events {
		types = append(types, e.Type)
		if e.ID != i+1 {
			t.Errorf("event %d has id %d", i, e.ID)
		}
		if e.Type == "TaskSubmitted" && (e.TaskSubmittedEventDetails == nil || e.TaskSubmittedEventDetails.ResourceType != "lambda" || e.TaskSubmittedEventDetails.Resource != "invoke.waitForTaskToken") {
			t.Errorf("TaskSubmitted details %+v", e.TaskSubmittedEventDetails)
		}
		if e.Type == "TaskSucceeded" && (e.TaskSucceededEventDetails == nil || e.TaskSucceededEventDetails.Output != `{"ok":true}`) {
			t.Errorf("TaskSucceeded details %+v", e.TaskSucceededEventDetails)
		}
	}
	want := []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
		"TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"}
	if !slices.Equal(types, want) {
		t.Errorf("history %v, want %v", types, want)
	}
	// Paged: two events a page, newest first; the CLI follows nextToken.
	var page struct {
		Events    []event `json:"events"`
		NextToken string  `json:"nextToken"`
	}
	c.json(&page, "get-execution-history", "--execution-arn", started.ExecutionArn, "--reverse-order", "--max-results", "2", "--no-paginate")
	if len(page.Events) != 2 || page.Events[0].Type != "ExecutionSucceeded" || page.NextToken == "" {
		t.Errorf("first page of the reversed history: %+v", page)
	}
	c.json(&page, "get-execution-history", "--execution-arn", started.ExecutionArn, "--reverse-order", "--max-results", "2", "--no-paginate", "--next-token", page.NextToken)
	if len(page.Events) != 2 || page.Events[0].ID != 8 || page.Events[1].ID != 7 || page.Events[0].Type != "PassStateEntered" {
		t.Errorf("second page of the reversed history: %+v", page)
	}
	t.Logf("aws CLI: create-state-machine, describe-state-machine, start-execution (x3), describe-execution, send-task-success (x2), get-execution-history (x3) against %s", srv.URL)
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
