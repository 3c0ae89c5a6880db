package interp

import (
	"sync"
	"time"
)

// EventType is the type of a history event, named as Step Functions names
// it.
type EventType string

// History event types.
const (
	EventExecutionStarted      EventType = "ExecutionStarted"
	EventExecutionSucceeded    EventType = "ExecutionSucceeded"
	EventExecutionFailed       EventType = "ExecutionFailed"
	EventExecutionAborted      EventType = "ExecutionAborted"
	EventExecutionTimedOut     EventType = "ExecutionTimedOut"
	EventLambdaScheduled       EventType = "LambdaFunctionScheduled"
	EventLambdaStarted         EventType = "LambdaFunctionStarted"
	EventLambdaSucceeded       EventType = "LambdaFunctionSucceeded"
	EventLambdaFailed          EventType = "LambdaFunctionFailed"
	EventLambdaTimedOut        EventType = "LambdaFunctionTimedOut"
	EventTaskScheduled         EventType = "TaskScheduled"
	EventTaskStarted           EventType = "TaskStarted"
	EventTaskSubmitted         EventType = "TaskSubmitted"
	EventTaskSucceeded         EventType = "TaskSucceeded"
	EventTaskFailed            EventType = "TaskFailed"
	EventTaskTimedOut          EventType = "TaskTimedOut"
	EventMapStateStarted       EventType = "MapStateStarted"
	EventMapStateSucceeded     EventType = "MapStateSucceeded"
	EventMapStateFailed        EventType = "MapStateFailed"
	EventMapStateAborted       EventType = "MapStateAborted"
	EventMapIterationStarted   EventType = "MapIterationStarted"
	EventMapIterationSucceeded EventType = "MapIterationSucceeded"
	EventMapIterationFailed    EventType = "MapIterationFailed"
	EventMapIterationAborted   EventType = "MapIterationAborted"
	EventMapRunStarted         EventType = "MapRunStarted"
	EventMapRunSucceeded       EventType = "MapRunSucceeded"
	EventMapRunFailed          EventType = "MapRunFailed"
	EventParallelStarted       EventType = "ParallelStateStarted"
	EventParallelSucceeded     EventType = "ParallelStateSucceeded"
	EventParallelFailed        EventType = "ParallelStateFailed"
	EventParallelAborted       EventType = "ParallelStateAborted"
	EventWaitStateAborted      EventType = "WaitStateAborted"
)

// stateEventType returns the StateEntered/StateExited event type of a state
// type, e.g. "PassStateEntered".
func stateEventType(stateType string, entered bool) EventType {
	if entered {
		return EventType(stateType + "StateEntered")
	}
	return EventType(stateType + "StateExited")
}

// Event is one entry of an execution history.
type Event struct {
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`
	Timestamp       time.Time `json:"timestamp"`
	Type            EventType `json:"type"`
	// StateName is set on StateEntered/StateExited events.
	StateName string `json:"stateName,omitempty"`
	// Input and Output are JSON texts, set where the event carries them.
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
	// Error and Cause are set on failure events.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// Resource and ResourceType are set on task events.
	Resource     string `json:"resource,omitempty"`
	ResourceType string `json:"resourceType,omitempty"`
	// Index is the iteration index of Map iteration events.
	Index int `json:"index,omitempty"`
	// Length is the number of items of a MapStateStarted event.
	Length int `json:"length,omitempty"`
}

// history is the append-only event log of one execution.
type history struct {
	mu     sync.Mutex
	clock  Clock
	events []Event
}

// add appends an event, numbering it, and returns its id. prev is the id of
// the event that led to it (0 for none).
func (h *history) add(prev int64, ev Event) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev.ID = int64(len(h.events) + 1)
	ev.PreviousEventID = prev
	ev.Timestamp = h.clock.Now()
	h.events = append(h.events, ev)
	return ev.ID
}

// snapshot returns a copy of the events so far.
func (h *history) snapshot() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Event, len(h.events))
	copy(out, h.events)
	return out
}
