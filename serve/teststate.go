package serve

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// testStateName is the name the tested state gets in its one-state
// machine.
const testStateName = "TestState"

// opTestState runs one state (TestState): the state is put in a machine
// of its own whose transitions end in Succeed states, its Retry is taken
// out (a matching error answers RETRIABLE, as AWS does, instead of being
// retried), and it runs on a virtual clock with the server's Lambda and
// integrations. The answer has the state's output, or its error and
// cause, the next state and the status (SUCCEEDED, FAILED, RETRIABLE,
// CAUGHT_ERROR).
func (s *Server) opTestState(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Definition string  `json:"definition"`
		RoleArn    string  `json:"roleArn"`
		Input      *string `json:"input"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var state map[string]any
	if err := json.Unmarshal([]byte(in.Definition), &state); err != nil || state == nil {
		return nil, apiErr(CodeInvalidDefinition, "Invalid State Machine Definition: 'the state definition must be a JSON object'")
	}
	var retriers []struct{ ErrorEquals []string }
	if r, ok := state["Retry"]; ok {
		b, _ := json.Marshal(r)
		_ = json.Unmarshal(b, &retriers)
		delete(state, "Retry")
	}
	states := map[string]any{testStateName: state}
	var targets []string
	add := func(v any) {
		if n, ok := v.(string); ok && n != "" && n != testStateName {
			targets = append(targets, n)
			states[n] = map[string]any{"Type": "Succeed"}
		}
	}
	add(state["Next"])
	add(state["Default"])
	for _, field := range []string{"Choices", "Catch"} {
		if list, ok := state[field].([]any); ok {
			for _, c := range list {
				if m, ok := c.(map[string]any); ok {
					add(m["Next"])
				}
			}
		}
	}
	def, _ := json.Marshal(map[string]any{"StartAt": testStateName, "States": states})
	sm, err := asl.ParseAndValidate(def)
	if err != nil {
		return nil, apiErr(CodeInvalidDefinition, "%s", definitionMessage(err))
	}
	role := in.RoleArn
	if role == "" {
		role = defaultRoleARN
	}
	eng, err := interp.New(sm, interp.Options{
		Clock: interp.NewVirtualClock(s.opts.Clock.Now()), Lambda: s.opts.Lambda, Resources: s.resources,
		Objects: s.opts.Objects, Region: s.opts.Region, AccountID: s.opts.AccountID,
		StateMachineName: "TestState", RoleArn: role, Tokens: s.tokens,
	})
	if err != nil {
		return nil, apiErr(CodeInvalidDefinition, "Invalid State Machine Definition: '%v'", err)
	}
	input := json.RawMessage(`{}`)
	if in.Input != nil {
		if !json.Valid([]byte(*in.Input)) {
			return nil, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: 'the input is not JSON'")
		}
		input = json.RawMessage(*in.Input)
	}
	x, err := eng.Start(ctx, input)
	if err != nil {
		return nil, apiErr(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}
	res, err := x.Wait(ctx)
	if err != nil {
		_ = x.Stop("States.Aborted", "the TestState request ended")
		return nil, err
	}
	evs := x.History()
	out := map[string]any{}
	entered := x.StatesEntered()
	next := ""
	if len(entered) > 1 {
		next = entered[1]
	}
	// The error the state raised, caught or not.
	var errName, cause string
	for _, ev := range evs {
		if ev.Error != "" && ev.Type != interp.EventExecutionFailed {
			errName, cause = ev.Error, ev.Cause
		}
	}
	if res.Status == interp.StatusFailed && errName == "" {
		errName, cause = res.Error, res.Cause
	}
	retriable := errName != "" && slices.ContainsFunc(retriers, func(r struct{ ErrorEquals []string }) bool {
		return slices.ContainsFunc(r.ErrorEquals, func(e string) bool {
			return e == errName || e == asl.ErrorAll || (e == asl.ErrorTaskFailed && errName != asl.ErrorTimeout)
		})
	})
	switch {
	case retriable:
		out["status"], out["error"], out["cause"] = "RETRIABLE", errName, cause
	case res.Status == interp.StatusSucceeded && errName != "" && next != "":
		out["status"], out["error"], out["cause"], out["nextState"] = "CAUGHT_ERROR", errName, cause, next
		for _, ev := range evs {
			if strings.HasSuffix(string(ev.Type), "StateEntered") && ev.StateName == next {
				out["output"] = ev.Input
			}
		}
	case res.Status == interp.StatusSucceeded:
		out["status"] = "SUCCEEDED"
		for _, ev := range evs {
			if strings.HasSuffix(string(ev.Type), "StateExited") && ev.StateName == testStateName {
				out["output"] = ev.Output
			}
		}
		if next != "" && slices.Contains(targets, next) {
			out["nextState"] = next
		}
	default:
		out["status"], out["error"], out["cause"] = "FAILED", res.Error, res.Cause
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	return out, nil
}
