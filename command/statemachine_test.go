package command_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

func TestStateMachineJSON(t *testing.T) {
	b, err := command.StateMachineJSON(command.StateMachineOptions{FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:svc"})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := asl.ParseAndValidate(b)
	if err != nil {
		t.Fatalf("exported definition does not validate: %v\n%s", err, b)
	}
	for _, name := range []string{command.StateApply, command.StateRoute, command.StateDone, command.StateWait,
		command.StateSync, command.StateFinish, command.StateMarkFailed, command.StateFailed} {
		if sm.States[name] == nil {
			t.Errorf("state %s missing", name)
		}
	}
	for name, st := range sm.States {
		if st.Type == asl.TypeTask && !strings.HasPrefix(st.Resource, "arn:aws:states:::lambda:invoke") {
			t.Errorf("state %s resource %s", name, st.Resource)
		}
	}
	if w := sm.States[command.StateWait]; w.Resource != "arn:aws:states:::lambda:invoke.waitForTaskToken" || !strings.Contains(strings.Join(strings.Fields(string(w.Parameters)), ""), `"taskToken.$":"$$.Task.Token"`) {
		t.Errorf("wait state: %s %s", w.Resource, w.Parameters)
	}
	if _, err := command.StateMachineJSON(command.StateMachineOptions{}); err == nil {
		t.Error("no FunctionARN: want error")
	}
}

func TestExecutionName(t *testing.T) {
	long := strings.Repeat("x", 300)
	seen := map[string]bool{}
	for _, c := range []struct{ module, pk, sk string }{
		{"order", "ORDER#acme", "ORDER#o-1@0000000001"},
		{"order", "ORDER#acme", "ORDER#o-1@0000000002"},
		{"order", "ORDER#acme", "ORDER#o 1@0000000001"},
		{"order", "ORDER#acme", "ORDER#o_1@0000000001"},
		{"order", "ORDER#globex", "ORDER#o-1@0000000001"},
		{"item", "ORDER#acme", "ORDER#o-1@0000000001"},
		{"order", "ORDER#acme", "ORDER#" + long + "@0000000001"},
		{"order", "ORDER#acme", "ORDER#" + long + "@0000000002"},
		{"order", "ORDER#acme", "ORDER#日本@0000000001"},
	} {
		n := command.ExecutionName(c.module, c.pk, c.sk)
		if n != command.ExecutionName(c.module, c.pk, c.sk) {
			t.Errorf("%v: not deterministic", c)
		}
		if len(n) == 0 || len(n) > 80 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Errorf("%v: bad name %q", c, n)
		}
		if seen[n] {
			t.Errorf("%v: name %q collides", c, n)
		}
		seen[n] = true
	}
	// The names of deployed executions must never change: a redelivered
	// record of a command published before an upgrade must find its
	// execution.
	if got := command.ExecutionName("order", "ORDER#acme", "ORDER#o-1@0000000007"); got != "order-o-1-v7-34a224ad1bb79f60897feecd" {
		t.Errorf("name %q changed", got)
	}
}

func TestStepsOptionsValidated(t *testing.T) {
	_, err := command.Steps(command.StepsOptions{})
	var ve *core.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("err = %v", err)
	}
}
