package awsadapter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/awsadapter"
)

// fakeSFN fails every task call with err.
type fakeSFN struct {
	awsadapter.SFNAPI
	err error
}

func (f fakeSFN) SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	return nil, f.err
}

func (f fakeSFN) SendTaskFailure(context.Context, *sfn.SendTaskFailureInput, ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	return nil, f.err
}

func (f fakeSFN) SendTaskHeartbeat(context.Context, *sfn.SendTaskHeartbeatInput, ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error) {
	return nil, f.err
}

func TestTaskTokenErrors(t *testing.T) {
	ctx := context.Background()
	for _, e := range []error{&types.TaskDoesNotExist{}, &types.InvalidToken{}, &types.TaskTimedOut{}} {
		wf := awsadapter.NewWorkflows(fakeSFN{err: e})
		for name, err := range map[string]error{
			"success":   wf.SendTaskSuccess(ctx, "tok", nil),
			"failure":   wf.SendTaskFailure(ctx, "tok", "E", "c"),
			"heartbeat": wf.SendTaskHeartbeat(ctx, "tok"),
		} {
			if !errors.Is(err, core.ErrTaskTokenInvalid) || !errors.Is(err, e) {
				t.Errorf("%T on %s: %v", e, name, err)
			}
		}
	}
	other := errors.New("boom")
	if err := awsadapter.NewWorkflows(fakeSFN{err: other}).SendTaskHeartbeat(ctx, "tok"); err != other {
		t.Errorf("other error changed: %v", err)
	}
}
