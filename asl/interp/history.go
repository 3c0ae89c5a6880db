package interp

import (
	"strings"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
)

// EventType is the type of a history event, named as Step Functions names
// it.
type EventType string

// ends reports whether the event ends an execution.
func (t EventType) ends() bool {
	switch t {
	case EventExecutionSucceeded, EventExecutionFailed, EventExecutionAborted, EventExecutionTimedOut:
		return true
	}
	return false
}

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
	for _, t := range stateEventTypes {
		if t.state == stateType {
			if entered {
				return t.entered
			}
			return t.exited
		}
	}
	if entered {
		return EventType(stateType + "StateEntered")
	}
	return EventType(stateType + "StateExited")
}

// stateEventTypes holds the event types of each state type, made once.
var stateEventTypes = func() (out [8]struct {
	state           string
	entered, exited EventType
}) {
	for i, t := range []string{asl.TypeTask, asl.TypePass, asl.TypeChoice, asl.TypeWait, asl.TypeSucceed, asl.TypeFail, asl.TypeParallel, asl.TypeMap} {
		out[i].state, out[i].entered, out[i].exited = t, EventType(t+"StateEntered"), EventType(t+"StateExited")
	}
	return out
}()

// Event is one entry of an execution history.
type Event struct {
	ID              int64 `json:"id"`
	PreviousEventID int64 `json:"previousEventId"`
	// Timestamp is the event's time on the engine's clock, in UTC, kept
	// to the nanosecond between the years 1678 and 2262.
	Timestamp time.Time `json:"timestamp"`
	Type      EventType `json:"type"`
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

// Which field of an event record fills from a value.
const (
	lazyInput uint8 = 1 + iota
	lazyOutput
)

// entry is a recorded event, kept small: its type, state name and time,
// the value whose JSON text is its Input or Output (encoded when the
// history is read), and its other fields, for the events that have any.
type entry struct {
	typ  EventType
	name string
	val  any
	more *Event
	at   int64 // Unix nanoseconds, UTC: years 1678 to 2262
	prev int32 // an event id: a history holds far fewer than 2^31 events
	lazy uint8
}

// history is the append-only event log of one execution. Events are kept
// in chunks of doubling size, so that recording never copies earlier ones.
type history struct {
	mu     sync.Mutex
	clock  Clock
	n      int
	first  int       // the size of the first chunk
	chunks [][]entry // chunk k holds first<<k entries
	// chunkArr backs chunks while it has at most six chunks (at least 504
	// events), saving its allocation.
	chunkArr [6][]entry
	// discard drops the events; they are numbered all the same.
	discard bool
	// limit, when positive, is the most events: once limit-1 are
	// recorded, only an execution's end is; any other event is dropped
	// and calls onFull (once), which ends the execution.
	limit  int
	onFull func()
	full   bool
}

// Bounds of the size of a history's first chunk.
const (
	minFirstChunk = 8
	maxFirstChunk = 256
)

// newDiscardHistory returns a history that numbers and times events but
// keeps none: that of a child execution of a distributed Map, which no
// one reads.
func newDiscardHistory(clock Clock) *history { return &history{clock: clock, discard: true} }

// newHistory returns an empty history on clock whose first chunk holds
// about sizeHint events (the length of a previous history of the same
// definition, say).
func newHistory(clock Clock, sizeHint int) *history {
	h := new(history)
	h.init(clock, sizeHint)
	return h
}

// init makes h an empty history, as newHistory does.
func (h *history) init(clock Clock, sizeHint int) {
	*h = history{clock: clock, first: min(max(sizeHint, minFirstChunk), maxFirstChunk)}
	h.chunks = h.chunkArr[:0]
}

// slot returns the place of the next event, growing the history.
func (h *history) slot() *entry {
	k, i := 0, h.n
	for size := h.first; i >= size; size <<= 1 {
		i -= size
		k++
	}
	if k == len(h.chunks) {
		h.chunks = append(h.chunks, make([]entry, h.first<<k))
	}
	h.n++
	return &h.chunks[k][i]
}

// len returns the number of events.
func (h *history) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// add appends an event, numbering it, and returns its id. prev is the id of
// the event that led to it (0 for none).
func (h *history) add(prev int64, ev Event) int64 {
	var more *Event
	if ev.Input != "" || ev.Output != "" || ev.Error != "" || ev.Cause != "" || ev.Resource != "" || ev.ResourceType != "" || ev.Index != 0 || ev.Length != 0 {
		m := ev
		more = &m
	}
	id, _ := h.record(prev, ev.Type, ev.StateName, more, nil, 0)
	return id
}

// record appends an event of type typ for state name whose other fields
// are those of more (nil for none; it is shared and never modified) and
// whose Input (lazy is lazyInput) or Output (lazyOutput) is the JSON text
// of val, made when the history is read (val must not change afterwards).
// It returns the event's id and time.
func (h *history) record(prev int64, typ EventType, name string, more *Event, val any, lazy uint8) (int64, time.Time) {
	h.mu.Lock()
	at := h.clock.Now() // under the lock: ids and times grow together
	if h.limit > 0 && h.n >= h.limit-1 && !typ.ends() {
		first := !h.full
		h.full = true
		n := h.n
		h.mu.Unlock()
		if first && h.onFull != nil {
			h.onFull()
		}
		return int64(n), at
	}
	defer h.mu.Unlock()
	if h.discard {
		h.n++
		return int64(h.n), at
	}
	*h.slot() = entry{typ: typ, name: name, prev: int32(prev), at: at.UnixNano(), val: val, lazy: lazy, more: more}
	return int64(h.n), at
}

// event returns the entry as the event numbered id, encoding its value
// (once: the text replaces the value).
func (e *entry) event(id int64) Event {
	if e.lazy != 0 {
		var more Event
		if e.more != nil {
			more = *e.more
		}
		if e.lazy == lazyInput {
			more.Input = encodeJSON(e.val)
		} else {
			more.Output = encodeJSON(e.val)
		}
		e.more, e.val, e.lazy = &more, nil, 0
	}
	var ev Event
	if e.more != nil {
		ev = *e.more
	}
	ev.ID, ev.PreviousEventID, ev.Timestamp, ev.Type, ev.StateName = id, int64(e.prev), time.Unix(0, e.at).UTC(), e.typ, e.name
	return ev
}

// each calls f for every entry in order, with h.mu held.
func (h *history) each(f func(id int64, e *entry)) {
	id := int64(0)
	for _, c := range h.chunks {
		for i := range c {
			if id == int64(h.n) {
				return
			}
			id++
			f(id, &c[i])
		}
	}
}

// snapshot returns a copy of the events so far.
func (h *history) snapshot() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Event, 0, h.n)
	h.each(func(id int64, e *entry) { out = append(out, e.event(id)) })
	return out
}

// statesEntered returns the names of the states entered, in order.
func (h *history) statesEntered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	h.each(func(_ int64, e *entry) {
		if strings.HasSuffix(string(e.typ), "StateEntered") {
			out = append(out, e.name)
		}
	})
	return out
}
