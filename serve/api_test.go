package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/localstack"
	"github.com/stepcqrs/stepcqrs/localstack/endpointtest"
	"github.com/stepcqrs/stepcqrs/serve"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
	"github.com/stepcqrs/stepcqrs/serve/servetest"
)

const role = "arn:aws:iam::123456789012:role/test"

// api is a server and an SDK client of it.
type api struct {
	srv *servetest.Server
	c   *sfn.Client
}

func newAPI(t *testing.T, opts serve.Options) *api {
	t.Helper()
	srv := servetest.Start(t, opts)
	return &api{srv: srv, c: sfn.NewFromConfig(srv.Config(t), serve.NoHostPrefix)}
}

func (a *api) create(t *testing.T, name, def string, typ types.StateMachineType) string {
	t.Helper()
	out, err := a.c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String(role), Type: typ})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return aws.ToString(out.StateMachineArn)
}

// wait polls DescribeExecution until the execution ends.
func (a *api) wait(t *testing.T, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ex, err := a.srv.Wait(context.Background(), arn)
	if err != nil {
		t.Fatalf("wait %s: %v", arn, err)
	}
	_ = ex
	out, err := a.c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantAPIError checks that err is the SDK's typed error T.
func wantAPIError[T error](t *testing.T, err error, what string) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Errorf("%s: got %v, want %T", what, err, target)
	}
}

const passDef = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":1},"ResultPath":"$.p","End":true}}}`

func TestStateMachineLifecycle(t *testing.T) {
	a := newAPI(t, serve.Options{})
	ctx := context.Background()
	arn := a.create(t, "life", passDef, types.StateMachineTypeStandard)
	if arn != "arn:aws:states:us-east-1:123456789012:stateMachine:life" {
		t.Fatalf("ARN %s", arn)
	}
	// The same definition again is the same machine; another is refused.
	if again := a.create(t, "life", passDef, types.StateMachineTypeStandard); again != arn {
		t.Errorf("identical create gave %s", again)
	}
	_, err := a.c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("life"), Definition: aws.String(strings.Replace(passDef, `"v":1`, `"v":2`, 1)), RoleArn: aws.String(role)})
	wantAPIError[*types.StateMachineAlreadyExists](t, err, "create with another definition")
	_, err = a.c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad name"), Definition: aws.String(passDef), RoleArn: aws.String(role)})
	wantAPIError[*types.InvalidName](t, err, "create with a space in the name")
	_, err = a.c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("broken"), Definition: aws.String(`{"StartAt":"X","States":{}}`), RoleArn: aws.String(role)})
	var inv *types.InvalidDefinition
	if !errors.As(err, &inv) || !strings.Contains(aws.ToString(inv.Message), "MISSING_TRANSITION_TARGET") {
		t.Errorf("invalid definition: %v", err)
	}

	desc, err := a.c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(desc.Definition) != passDef || aws.ToString(desc.RoleArn) != role || desc.Type != types.StateMachineTypeStandard || desc.Status != types.StateMachineStatusActive || desc.CreationDate == nil {
		t.Errorf("describe: %+v, %v", desc, err)
	}
	a.create(t, "another", passDef, types.StateMachineTypeExpress)
	var names []string
	p := sfn.NewListStateMachinesPaginator(a.c, &sfn.ListStateMachinesInput{MaxResults: 1})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.StateMachines {
			names = append(names, aws.ToString(m.Name)+":"+string(m.Type))
		}
	}
	if !slices.Equal(names, []string{"another:EXPRESS", "life:STANDARD"}) {
		t.Errorf("listed %v", names)
	}

	// An update applies to new executions only.
	waiting := `{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"` + servetest.TokenFunction + `","Payload":{"token.$":"$$.Task.Token","execution.$":"$$.Execution.Id"}},"End":true}}}`
	if _, err := a.c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(waiting)}); err != nil {
		t.Fatal(err)
	}
	old, err := a.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(passDef)}); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.SendTaskSuccess(ctx, a.srv.Token(t, aws.ToString(old.ExecutionArn)), json.RawMessage(`{"from":"token"}`)); err != nil {
		t.Fatal(err)
	}
	if out := a.wait(t, aws.ToString(old.ExecutionArn)); aws.ToString(out.Output) != `{"from":"token"}` {
		t.Errorf("the running execution did not keep its definition: %s", aws.ToString(out.Output))
	}
	fresh, err := a.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := a.wait(t, aws.ToString(fresh.ExecutionArn)); !jsonEqual(aws.ToString(out.Output), `{"a":1,"p":{"v":1}}`) {
		t.Errorf("a new execution after the update: %s", aws.ToString(out.Output))
	}

	if _, err := a.c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = a.c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	wantAPIError[*types.StateMachineDoesNotExist](t, err, "describe after delete")
	_, err = a.c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:lambda:us-east-1:1:function:x")})
	wantAPIError[*types.InvalidArn](t, err, "describe with a Lambda ARN")
	// Executions outlive their machine, as on AWS.
	if _, err := a.c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: fresh.ExecutionArn}); err != nil {
		t.Errorf("describe an execution of a deleted machine: %v", err)
	}
}

func TestValidateStateMachineDefinition(t *testing.T) {
	a := newAPI(t, serve.Options{})
	ctx := context.Background()
	ok, err := a.c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(passDef)})
	if err != nil || ok.Result != types.ValidateStateMachineDefinitionResultCodeOk || len(ok.Diagnostics) != 0 {
		t.Errorf("valid: %+v, %v", ok, err)
	}
	bad, err := a.c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"X"}}}`)})
	if err != nil || bad.Result != types.ValidateStateMachineDefinitionResultCodeFail || len(bad.Diagnostics) == 0 {
		t.Fatalf("invalid: %+v, %v", bad, err)
	}
	d := bad.Diagnostics[0]
	if aws.ToString(d.Code) != "MISSING_TRANSITION_TARGET" || d.Severity != types.ValidateStateMachineDefinitionSeverityError || aws.ToString(d.Location) != "/States/A/Next" {
		t.Errorf("diagnostic %+v", d)
	}
	// A .waitForTaskToken task is not valid in an EXPRESS machine.
	express, err := a.c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Type: types.StateMachineTypeExpress,
		Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f"},"End":true}}}`)})
	if err != nil || express.Result != types.ValidateStateMachineDefinitionResultCodeFail {
		t.Errorf("waitForTaskToken in EXPRESS: %+v, %v", express, err)
	}
}

func TestExecutionsAPI(t *testing.T) {
	a := newAPI(t, serve.Options{})
	ctx := context.Background()
	arn := a.create(t, "exec", passDef, types.StateMachineTypeStandard)
	start := func(name, input string) (*sfn.StartExecutionOutput, error) {
		return a.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(input)})
	}
	first, err := start("one", `{"a": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	out := a.wait(t, aws.ToString(first.ExecutionArn))
	if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Input) != `{"a":1}` || !jsonEqual(aws.ToString(out.Output), `{"a":1,"p":{"v":1}}`) ||
		out.StopDate == nil || out.StartDate == nil || out.StopDate.Before(*out.StartDate) || aws.ToString(out.Name) != "one" || aws.ToString(out.StateMachineArn) != arn {
		t.Errorf("describe: %+v", out)
	}
	// An ended execution's name is taken, whatever the input.
	_, err = start("one", `{"a": 1}`)
	wantAPIError[*types.ExecutionAlreadyExists](t, err, "start of an ended name")
	_, err = start("two", `{not json`)
	wantAPIError[*types.InvalidExecutionInput](t, err, "start with bad input")
	_, err = start("bad/name", `{}`)
	wantAPIError[*types.InvalidName](t, err, "start with a slash in the name")
	_, err = a.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn + "-nope")})
	wantAPIError[*types.StateMachineDoesNotExist](t, err, "start of an unknown machine")
	_, err = a.c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(arn, "stateMachine", "execution", 1) + ":never")})
	wantAPIError[*types.ExecutionDoesNotExist](t, err, "describe an unknown execution")

	for _, n := range []string{"two", "three"} {
		x, err := start(n, `{}`)
		if err != nil {
			t.Fatal(err)
		}
		a.wait(t, aws.ToString(x.ExecutionArn))
	}
	list, err := a.c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), MaxResults: 2, StatusFilter: types.ExecutionStatusSucceeded})
	if err != nil || len(list.Executions) != 2 || aws.ToString(list.Executions[0].Name) != "three" || aws.ToString(list.Executions[1].Name) != "two" || list.NextToken == nil {
		t.Fatalf("first page, newest first: %+v, %v", list, err)
	}
	list, err = a.c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), MaxResults: 2, StatusFilter: types.ExecutionStatusSucceeded, NextToken: list.NextToken})
	if err != nil || len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != "one" || list.NextToken != nil {
		t.Errorf("second page: %+v, %v", list, err)
	}
	_, err = a.c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), NextToken: aws.String("garbage!")})
	wantAPIError[*types.InvalidToken](t, err, "list with a bad token")

	hist, err := a.c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: first.ExecutionArn, IncludeExecutionData: aws.Bool(false)})
	if err != nil || len(hist.Events) != 4 {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	if d := hist.Events[0].ExecutionStartedEventDetails; d == nil || d.Input != nil || aws.ToString(d.RoleArn) != role {
		t.Errorf("ExecutionStarted without data: %+v", d)
	}
	hist, _ = a.c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: first.ExecutionArn})
	if d := hist.Events[2].StateExitedEventDetails; d == nil || aws.ToString(d.Name) != "P" || !jsonEqual(aws.ToString(d.Output), `{"a":1,"p":{"v":1}}`) || hist.Events[2].PreviousEventId != 2 {
		t.Errorf("PassStateExited: %+v", hist.Events[2])
	}
}

// waitingDef waits for a token; SendTaskFailure fails it.
const waitingDef = `{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"` + servetest.TokenFunction + `","Payload":{"token.$":"$$.Task.Token","execution.$":"$$.Execution.Id"}},"HeartbeatSeconds":600,"End":true}}}`

func TestStopAndTaskFailure(t *testing.T) {
	a := newAPI(t, serve.Options{})
	ctx := context.Background()
	arn := a.create(t, "wait", waitingDef, types.StateMachineTypeStandard)
	x, err := a.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	a.srv.Token(t, aws.ToString(x.ExecutionArn))
	stop, err := a.c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: x.ExecutionArn, Error: aws.String("Operator"), Cause: aws.String("stopped by hand")})
	if err != nil || stop.StopDate == nil {
		t.Fatalf("stop: %+v, %v", stop, err)
	}
	out := a.wait(t, aws.ToString(x.ExecutionArn))
	if out.Status != types.ExecutionStatusAborted || aws.ToString(out.Error) != "Operator" || aws.ToString(out.Cause) != "stopped by hand" {
		t.Errorf("stopped: %+v", out)
	}
	hist, _ := a.c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, ReverseOrder: true, MaxResults: 1})
	if len(hist.Events) != 1 || hist.Events[0].Type != types.HistoryEventTypeExecutionAborted || aws.ToString(hist.Events[0].ExecutionAbortedEventDetails.Error) != "Operator" {
		t.Errorf("last event: %+v", hist.Events)
	}

	y, err := a.c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	tok := a.srv.Token(t, aws.ToString(y.ExecutionArn))
	if _, err := a.c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok)}); err != nil {
		t.Fatal(err)
	}
	_, err = a.c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(tok), Output: aws.String(`{not json`)})
	wantAPIError[*types.InvalidOutput](t, err, "SendTaskSuccess with bad output")
	if _, err := a.c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(tok), Error: aws.String("Rejected"), Cause: aws.String("no stock")}); err != nil {
		t.Fatal(err)
	}
	out = a.wait(t, aws.ToString(y.ExecutionArn))
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "Rejected" || aws.ToString(out.Cause) != "no stock" {
		t.Errorf("after SendTaskFailure: %+v", out)
	}
	_, err = a.c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(tok)})
	wantAPIError[*types.TaskTimedOut](t, err, "heartbeat of a completed task")
	_, err = a.c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String("not-a-token"), Output: aws.String(`{}`)})
	wantAPIError[*types.InvalidToken](t, err, "SendTaskSuccess with a malformed token")
}

func TestStartSyncExecution(t *testing.T) {
	a := newAPI(t, serve.Options{})
	ctx := context.Background()
	express := a.create(t, "fast", `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"sum.$":"States.MathAdd($.a, $.b)"},"End":true}}}`, types.StateMachineTypeExpress)
	out, err := a.c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(express), Name: aws.String("s1"), Input: aws.String(`{"a":2,"b":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.SyncExecutionStatusSucceeded || aws.ToString(out.Output) != `{"sum":5}` || !strings.Contains(aws.ToString(out.ExecutionArn), ":express:fast:s1:") || out.BillingDetails == nil {
		t.Errorf("sync execution: %+v", out)
	}
	standard := a.create(t, "slow", passDef, types.StateMachineTypeStandard)
	_, err = a.c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: aws.String(standard)})
	wantAPIError[*types.StateMachineTypeNotSupported](t, err, "StartSyncExecution of a STANDARD machine")
}

func TestTestState(t *testing.T) {
	a := newAPI(t, serve.Options{})
	ctx := context.Background()
	cases := []struct {
		name, state, input string
		status             types.TestExecutionStatus
		output, next, err  string
	}{
		{"pass", `{"Type":"Pass","Parameters":{"x.$":"$.a"},"Next":"After"}`, `{"a":1}`, types.TestExecutionStatusSucceeded, `{"x":1}`, "After", ""},
		{"choice", `{"Type":"Choice","Choices":[{"Variable":"$.a","NumericGreaterThan":0,"Next":"Positive"}],"Default":"Other"}`, `{"a":1}`, types.TestExecutionStatusSucceeded, `{"a":1}`, "Positive", ""},
		{"fail", `{"Type":"Fail","Error":"Nope","Cause":"because"}`, `{}`, types.TestExecutionStatusFailed, "", "", "Nope"},
		{"caught", `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"missing"},"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Handle"}],"End":true}`, `{"a":1}`,
			types.TestExecutionStatusCaughtError, "", "Handle", "Lambda.ResourceNotFoundException"},
		{"retriable", `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"missing"},"Retry":[{"ErrorEquals":["Lambda.ResourceNotFoundException"],"MaxAttempts":3}],"End":true}`, `{}`,
			types.TestExecutionStatusRetriable, "", "", "Lambda.ResourceNotFoundException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := a.c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(c.state), RoleArn: aws.String(role), Input: aws.String(c.input)})
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != c.status || aws.ToString(out.NextState) != c.next || aws.ToString(out.Error) != c.err || (c.output != "" && !jsonEqual(aws.ToString(out.Output), c.output)) {
				t.Errorf("got status %s next %q error %q output %s", out.Status, aws.ToString(out.NextState), aws.ToString(out.Error), aws.ToString(out.Output))
			}
			var caught struct {
				A   int
				Err struct{ Error, Cause string }
			}
			_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &caught)
			if c.status == types.TestExecutionStatusCaughtError && (caught.A != 1 || caught.Err.Error != "Lambda.ResourceNotFoundException" || !strings.HasPrefix(caught.Err.Cause, "Function not found")) {
				t.Errorf("caught output %s", aws.ToString(out.Output))
			}
		})
	}
}

// TestStartExecutionIntegration: states:startExecution, request response,
// .sync and .sync:2, with the fields AWS records.
func TestStartExecutionIntegration(t *testing.T) {
	a := newAPI(t, serve.Options{})
	child := a.create(t, "child", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.fail","IsPresent":true,"Next":"F"}],"Default":"P"},"P":{"Type":"Pass","Result":{"Arg1":"argument1"},"End":true},"F":{"Type":"Fail","Error":"SomeFailure","Cause":"This state machines raises a 'SomeFailure' failure."}}}`, types.StateMachineTypeStandard)
	parent := func(resource, input string) string {
		return `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::states:` + resource + `","Parameters":{"StateMachineArn":"` + child + `","Input":` + input + `},"End":true}}}`
	}
	run := func(name, def string) *sfn.DescribeExecutionOutput {
		arn := a.create(t, name, def, types.StateMachineTypeStandard)
		x, err := a.c.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return a.wait(t, aws.ToString(x.ExecutionArn))
	}
	var rr map[string]any
	out := run("rr", parent("startExecution", `{"Hello":"World"}`))
	_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &rr)
	if !strings.HasPrefix(rr["ExecutionArn"].(string), "arn:aws:states:us-east-1:123456789012:execution:child:") || rr["StartDate"] == nil || rr["SdkHttpMetadata"] == nil {
		t.Errorf("request response: %s", aws.ToString(out.Output))
	}
	var sync1, sync2 map[string]any
	out = run("sync1", parent("startExecution.sync", `null`))
	_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &sync1)
	if sync1["Status"] != "SUCCEEDED" || sync1["Output"] != `{"Arg1":"argument1"}` || sync1["Input"] != `{}` || sync1["StateMachineArn"] != child || sync1["StopDate"] == nil {
		t.Errorf(".sync: %s", aws.ToString(out.Output))
	}
	out = run("sync2", parent("startExecution.sync:2", `{"k":1}`))
	_ = json.Unmarshal([]byte(aws.ToString(out.Output)), &sync2)
	if sync2["Status"] != "SUCCEEDED" || jsonOf(sync2["Output"]) != `{"Arg1":"argument1"}` || jsonOf(sync2["Input"]) != `{"k":1}` {
		t.Errorf(".sync:2: %s", aws.ToString(out.Output))
	}
	out = run("syncfail", parent("startExecution.sync", `{"fail":true}`))
	var cause map[string]any
	_ = json.Unmarshal([]byte(aws.ToString(out.Cause)), &cause)
	if aws.ToString(out.Error) != "States.TaskFailed" || cause["Status"] != "FAILED" || cause["Error"] != "SomeFailure" || cause["Cause"] != "This state machines raises a 'SomeFailure' failure." {
		t.Errorf(".sync of a failing child: %s: %s", aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	out = run("nosm", `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn":"`+child+`x"},"End":true}}}`)
	if aws.ToString(out.Error) != "StepFunctions.StateMachineDoesNotExistException" || !strings.HasPrefix(aws.ToString(out.Cause), "State Machine Does Not Exist: '"+child+"x' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;") {
		t.Errorf("unknown machine: %s: %s", aws.ToString(out.Error), aws.ToString(out.Cause))
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSendMessageMD5MatchesSQS: the MD5OfMessageAttributes of the
// sqs:sendMessage integration equals what an SQS endpoint (moto)
// computes for the same message.
func TestSendMessageMD5MatchesSQS(t *testing.T) {
	cfg := endpointtest.Config(t)
	q := sqs.NewFromConfig(cfg)
	name := endpointtest.Name("md5")
	res, err := localstack.ProvisionWith(context.Background(), localstack.Clients{SQS: q}, localstack.Spec{Queues: []localstack.QueueSpec{{Name: name}}})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]sqstypes.MessageAttributeValue{
		"b_attr": {DataType: aws.String("String"), StringValue: aws.String("Hello")},
		"a_attr": {DataType: aws.String("Number"), StringValue: aws.String("42")},
	}
	sent, err := q.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(res.QueueURLs[name]), MessageBody: aws.String("body"), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	queues := memory.NewQueues()
	if err := queues.CreateQueue("jobs", memory.QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, serve.Options{Backends: integrations.Backends{Queues: queues}})
	arn := a.create(t, "send", `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"jobs","MessageBody":"body","MessageAttributes":{"b_attr":{"DataType":"String","StringValue":"Hello"},"a_attr":{"DataType":"Number","StringValue":"42"}}},"End":true}}}`, types.StateMachineTypeStandard)
	x, err := a.c.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal([]byte(aws.ToString(a.wait(t, aws.ToString(x.ExecutionArn)).Output)), &got)
	if got["MD5OfMessageAttributes"] != aws.ToString(sent.MD5OfMessageAttributes) || got["MD5OfMessageBody"] != aws.ToString(sent.MD5OfMessageBody) {
		t.Errorf("integration MD5s %v / %v, SQS %s / %s", got["MD5OfMessageAttributes"], got["MD5OfMessageBody"], aws.ToString(sent.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageBody))
	}
}
