package interp

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// countLoop runs Inc then Check n times and ends in Done: an execution of
// it has 4n+4 events.
const countLoop = `{"StartAt":"Inc","States":{
  "Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)","n.$":"$.n"},"Next":"Check"},
  "Check":{"Type":"Choice","Choices":[{"Variable":"$.i","NumericLessThanPath":"$.n","Next":"Inc"}],"Default":"Done"},
  "Done":{"Type":"Succeed"}}}`

// TestHistoryLimit runs executions whose history would have just under,
// exactly and just over the quota of events: the last fails with
// States.Runtime, its ExecutionFailed being the quota-th event.
func TestHistoryLimit(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		opts       Options
		iterations int
		wantEvents int
		wantStatus Status
	}{
		{"default quota, one event short", Options{}, 6248, 24996, StatusSucceeded},
		{"default quota, ends on the last event", Options{}, 6249, 25000, StatusSucceeded},
		{"default quota, one iteration over", Options{}, 6250, 25000, StatusFailed},
		{"express has no quota", Options{Express: true}, 6250, 25004, StatusSucceeded},
		{"negative means no quota", Options{MaxHistoryEvents: -1}, 6250, 25004, StatusSucceeded},
		{"custom quota", Options{MaxHistoryEvents: 21}, 5, 21, StatusFailed},
		{"custom quota met", Options{MaxHistoryEvents: 24}, 5, 24, StatusSucceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, countLoop, tc.opts)
			in := json.RawMessage(fmt.Sprintf(`{"i":0,"n":%d}`, tc.iterations))
			x, err := e.Execute(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			r := x.Status()
			h := x.History()
			if r.Status != tc.wantStatus || len(h) != tc.wantEvents {
				t.Fatalf("status %s with %d events, want %s with %d (%+v)", r.Status, len(h), tc.wantStatus, tc.wantEvents, r)
			}
			for i, ev := range h {
				if ev.ID != int64(i+1) {
					t.Fatalf("event %d has id %d", i+1, ev.ID)
				}
			}
			last := h[len(h)-1]
			if tc.wantStatus == StatusSucceeded {
				if last.Type != EventExecutionSucceeded || string(r.Output) != fmt.Sprintf(`{"i":%d,"n":%d}`, tc.iterations, tc.iterations) {
					t.Fatalf("last event %+v, output %s", last, r.Output)
				}
				return
			}
			if last.Type != EventExecutionFailed || last.Error != "States.Runtime" || r.Error != "States.Runtime" || r.Cause == "" || last.Cause != r.Cause {
				t.Fatalf("last event %+v, result %+v", last, r)
			}
			// Run counts the events it does not keep and ends alike.
			rr, err := e.Run(ctx, in)
			if err != nil || rr.Status != r.Status || rr.Error != r.Error || rr.Cause != r.Cause {
				t.Fatalf("Run: %+v %v, Execute: %+v", rr, err, r)
			}
		})
	}
}
