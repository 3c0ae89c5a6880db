package serve

import (
	"strings"

	"github.com/stepcqrs/stepcqrs/asl/interp"
)

// historyEvent renders an interpreter event as GetExecutionHistory does:
// id, previousEventId, timestamp, type and the details object of the
// event's type. include false leaves input and output out (AWS's
// includeExecutionData).
func historyEvent(ev interp.Event, role, region string, include bool) map[string]any {
	out := map[string]any{
		"id":              ev.ID,
		"previousEventId": ev.PreviousEventID,
		"timestamp":       epoch(ev.Timestamp),
		"type":            string(ev.Type),
	}
	io := func(d map[string]any, field, value string) map[string]any {
		if include {
			d[field] = value
		}
		d[field+"Details"] = map[string]any{"truncated": false}
		return d
	}
	fail := func() map[string]any {
		d := map[string]any{}
		if ev.Error != "" {
			d["error"] = ev.Error
		}
		if ev.Cause != "" {
			d["cause"] = ev.Cause
		}
		return d
	}
	task := func(d map[string]any) map[string]any {
		d["resourceType"], d["resource"] = ev.ResourceType, ev.Resource
		return d
	}
	t := ev.Type
	switch {
	case t == interp.EventExecutionStarted:
		out["executionStartedEventDetails"] = io(map[string]any{"roleArn": role}, "input", ev.Input)
	case t == interp.EventExecutionSucceeded:
		out["executionSucceededEventDetails"] = io(map[string]any{}, "output", ev.Output)
	case t == interp.EventExecutionFailed:
		out["executionFailedEventDetails"] = fail()
	case t == interp.EventExecutionAborted:
		out["executionAbortedEventDetails"] = fail()
	case t == interp.EventExecutionTimedOut:
		out["executionTimedOutEventDetails"] = fail()
	case strings.HasSuffix(string(t), "StateEntered"):
		out["stateEnteredEventDetails"] = io(map[string]any{"name": ev.StateName}, "input", ev.Input)
	case strings.HasSuffix(string(t), "StateExited"):
		out["stateExitedEventDetails"] = io(map[string]any{"name": ev.StateName}, "output", ev.Output)
	case t == interp.EventTaskScheduled:
		d := task(map[string]any{"region": region})
		if include {
			d["parameters"] = ev.Input
		}
		out["taskScheduledEventDetails"] = d
	case t == interp.EventTaskStarted:
		out["taskStartedEventDetails"] = task(map[string]any{})
	case t == interp.EventTaskSubmitted:
		out["taskSubmittedEventDetails"] = io(task(map[string]any{}), "output", ev.Output)
	case t == interp.EventTaskSucceeded:
		out["taskSucceededEventDetails"] = io(task(map[string]any{}), "output", ev.Output)
	case t == interp.EventTaskFailed:
		out["taskFailedEventDetails"] = task(fail())
	case t == interp.EventTaskTimedOut:
		out["taskTimedOutEventDetails"] = task(fail())
	case t == interp.EventLambdaScheduled:
		out["lambdaFunctionScheduledEventDetails"] = io(map[string]any{"resource": ev.Resource}, "input", ev.Input)
	case t == interp.EventLambdaSucceeded:
		out["lambdaFunctionSucceededEventDetails"] = io(map[string]any{}, "output", ev.Output)
	case t == interp.EventLambdaFailed:
		out["lambdaFunctionFailedEventDetails"] = fail()
	case t == interp.EventLambdaTimedOut:
		out["lambdaFunctionTimedOutEventDetails"] = fail()
	case t == interp.EventMapStateStarted:
		out["mapStateStartedEventDetails"] = map[string]any{"length": ev.Length}
	case t == interp.EventMapIterationStarted:
		out["mapIterationStartedEventDetails"] = map[string]any{"name": ev.StateName, "index": ev.Index}
	case t == interp.EventMapIterationSucceeded:
		out["mapIterationSucceededEventDetails"] = map[string]any{"name": ev.StateName, "index": ev.Index}
	case t == interp.EventMapIterationFailed:
		out["mapIterationFailedEventDetails"] = map[string]any{"name": ev.StateName, "index": ev.Index}
	case t == interp.EventMapIterationAborted:
		out["mapIterationAbortedEventDetails"] = map[string]any{"name": ev.StateName, "index": ev.Index}
	case t == interp.EventMapRunFailed:
		out["mapRunFailedEventDetails"] = fail()
	}
	return out
}
