package integrations

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// Event is one EventBridge event of a PutEvents call.
type Event struct {
	ID           string
	Source       string
	DetailType   string
	Detail       json.RawMessage
	Resources    []string
	EventBusName string
	Time         time.Time
}

// EventBus receives the events of arn:aws:states:::events:putEvents that
// passed validation. core has no EventBridge port: implement it to route
// events where they should go.
type EventBus interface {
	PutEvents(ctx context.Context, events []Event) error
}

// EventRecorder is an in-memory EventBus that keeps the events it is
// given, for inspection.
type EventRecorder struct {
	mu     sync.Mutex
	events []Event
}

// PutEvents implements EventBus.
func (r *EventRecorder) PutEvents(_ context.Context, events []Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
	return nil
}

// Events returns the events received so far.
func (r *EventRecorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// eventsIntegration is arn:aws:states:::events:putEvents.
type eventsIntegration struct{ b Backends }

// putEvents validates every entry as EventBridge does (Source and
// DetailType required, Detail a JSON object), sends the valid ones to the
// bus and answers {"Entries": [{"EventId"}...], "FailedEntryCount": 0}; with
// any failed entry the task fails with EventBridge.FailedEntry and that
// document as cause.
func (ev *eventsIntegration) putEvents(ctx context.Context, req *interp.TaskRequest) (any, error) {
	p, err := params(req)
	if err != nil {
		return nil, err
	}
	list, _ := p["Entries"].([]any)
	var ok []Event
	entries := make([]any, len(list))
	failed := 0
	for i, e := range list {
		m, _ := e.(map[string]any)
		reject := func(code, msg string) {
			entries[i] = map[string]any{"ErrorCode": code, "ErrorMessage": msg}
			failed++
		}
		var detail json.RawMessage
		switch d := m["Detail"].(type) {
		case string:
			detail = json.RawMessage(d)
		case map[string]any:
			b, _ := jsonpath.Encode(d)
			detail = b
		}
		var obj map[string]any
		switch {
		case str(m, "Source") == "":
			reject("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.")
		case str(m, "DetailType") == "":
			reject("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
		case detail == nil || json.Unmarshal(detail, &obj) != nil || obj == nil:
			reject("MalformedDetail", "Detail is malformed.")
		default:
			x := Event{ID: newUUID(), Source: str(m, "Source"), DetailType: str(m, "DetailType"), Detail: detail,
				EventBusName: str(m, "EventBusName"), Time: ev.b.Now()}
			if rs, _ := m["Resources"].([]any); rs != nil {
				for _, r := range rs {
					if s, ok := r.(string); ok {
						x.Resources = append(x.Resources, s)
					}
				}
			}
			ok = append(ok, x)
			entries[i] = map[string]any{"EventId": x.ID}
		}
	}
	if len(ok) > 0 {
		if err := ev.b.Events.PutEvents(ctx, ok); err != nil {
			return nil, err
		}
	}
	out := map[string]any{"Entries": entries, "FailedEntryCount": failed}
	if failed > 0 {
		cause, _ := jsonpath.EncodeString(jsonpath.Clone(out))
		return nil, &interp.StatesError{Name: "EventBridge.FailedEntry", Cause: cause, HasName: true, HasCause: true}
	}
	return out, nil
}
