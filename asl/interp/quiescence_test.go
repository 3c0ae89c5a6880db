package interp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
)

// work is a resource that takes Parameters.work seconds of the clock, as a
// Lambda that runs that long would: it sleeps on the clock with the task's
// context, so a TimeoutSeconds shorter than the work ends it.
func work(clock Clock) Resource {
	return ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		p, _ := req.Parameters.(map[string]any)
		n, _ := p["work"].(json.Number).Int64()
		if err := clock.Sleep(ctx, time.Duration(n)*time.Second); err != nil {
			return nil, err
		}
		return map[string]any{"worked": json.Number(fmt.Sprint(n))}, nil
	})
}

// at returns the seconds since epoch of the events of type typ (of state
// name, when given), in history order.
func at(h []Event, typ EventType, name string) []int {
	var out []int
	for _, ev := range h {
		if ev.Type == typ && (name == "" || ev.StateName == name) {
			out = append(out, int(ev.Timestamp.Sub(epoch)/time.Second))
		}
	}
	return out
}

func eqInts(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestClockMovesAtQuiescence: a Wait in one branch does not move the clock
// while another branch is still working, so it cannot fire that branch's
// timeout; the clock moves once nothing runs.
func TestClockMovesAtQuiescence(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
	  {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}},
	  {"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::busy","TimeoutSeconds":10,"End":true}}}]}}}`
	clock := NewVirtualClock(epoch)
	// busy works in real time, not on the clock: it returns only once the
	// other branch's Wait is pending, which on a clock that moved at any
	// Sleep would have fired its 10 s timeout already.
	busy := ResourceFunc(func(ctx context.Context, _ *TaskRequest) (any, error) {
		for end := time.Now().Add(5 * time.Second); clock.Pending() < 2 && time.Now().Before(end); {
			time.Sleep(100 * time.Microsecond) // for the task's timeout and the Wait
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return "done", nil
	})
	e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::busy": busy}})
	x, err := e.Execute(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := x.Status()
	if r.Status != StatusSucceeded {
		t.Fatalf("result = %+v", r)
	}
	jsonEq(t, r.Output, `[{}, "done"]`)
	h := x.History()
	if got := at(h, EventTaskSucceeded, ""); !eqInts(got, []int{0}) {
		t.Errorf("task succeeded at %v s, want [0]", got)
	}
	if got := at(h, EventType("WaitStateExited"), "W"); !eqInts(got, []int{100}) {
		t.Errorf("wait exited at %v s, want [100]", got)
	}
	if got := at(h, EventExecutionSucceeded, ""); !eqInts(got, []int{100}) {
		t.Errorf("execution ended at %v s, want [100]", got)
	}
}

// TestWorkTimedOnTheClock: work that takes clock time (a resource sleeping
// on the clock) finishes or times out at its own time, whatever a Wait
// beside it asks for.
func TestWorkTimedOnTheClock(t *testing.T) {
	tests := []struct {
		work             int
		status           Status
		taskEnd, execEnd []int
		waitExit         []int
	}{
		{8, StatusSucceeded, []int{8}, []int{100}, []int{100}},
		// The task times out at 10 s and fails the Parallel, which stops
		// the Wait then: nothing happens at 100 s.
		{12, StatusFailed, []int{10}, []int{10}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("work=%ds", tt.work), func(t *testing.T) {
			def := fmt.Sprintf(`{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
			  {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}},
			  {"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::work","Parameters":{"work":%d},"TimeoutSeconds":10,"End":true}}}]}}}`, tt.work)
			clock := NewVirtualClock(epoch)
			e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::work": work(clock)}})
			x, err := e.Execute(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := x.Status(); r.Status != tt.status {
				t.Fatalf("result = %+v, want %s", r, tt.status)
			}
			h := x.History()
			taskEnd := append(at(h, EventTaskSucceeded, ""), at(h, EventTaskTimedOut, "")...)
			if !eqInts(taskEnd, tt.taskEnd) {
				t.Errorf("task ended at %v s, want %v", taskEnd, tt.taskEnd)
			}
			if got := at(h, EventType("WaitStateExited"), "W"); !eqInts(got, tt.waitExit) {
				t.Errorf("wait exited at %v s, want %v", got, tt.waitExit)
			}
			end := h[len(h)-1]
			if got := []int{int(end.Timestamp.Sub(epoch) / time.Second)}; !eqInts(got, tt.execEnd) {
				t.Errorf("execution ended (%s) at %v s, want %v", end.Type, got, tt.execEnd)
			}
			if tt.status == StatusFailed && x.Status().Error != asl.ErrorTimeout {
				t.Errorf("error = %q, want %s", x.Status().Error, asl.ErrorTimeout)
			}
		})
	}
}

// mapTimeouts is a Map of four iterations, two at a time, each a Wait then
// a Task of some work under a 10 s timeout, a timeout caught per
// iteration.
const mapTimeouts = `{"StartAt":"M",%s"States":{"M":{"Type":"Map","MaxConcurrency":2,"End":true,
  "Iterator":{"StartAt":"W","States":{
    "W":{"Type":"Wait","SecondsPath":"$.wait","Next":"T"},
    "T":{"Type":"Task","Resource":"arn:aws:states:::work","Parameters":{"work.$":"$.work"},"TimeoutSeconds":10,"End":true,
         "Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Late"}]},
    "Late":{"Type":"Pass","Result":"timed out","End":true}}}}}}`

const mapItems = `[{"wait":100,"work":5},{"wait":0,"work":8},{"wait":0,"work":12},{"wait":3,"work":4}]`

// TestMapIterationsUnderATimeout: each iteration's task timeout runs from
// its own start on the clock, iterations waiting for a slot are not
// running, and one iteration's Wait does not time out another's task: the
// timeline is AWS's.
func TestMapIterationsUnderATimeout(t *testing.T) {
	clock := NewVirtualClock(epoch)
	e := newEngine(t, fmt.Sprintf(mapTimeouts, ""), Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::work": work(clock)}})
	x, err := e.Execute(context.Background(), json.RawMessage(mapItems))
	if err != nil {
		t.Fatal(err)
	}
	r := x.Status()
	if r.Status != StatusSucceeded {
		t.Fatalf("result = %+v", r)
	}
	jsonEq(t, r.Output, `[{"worked":5},{"worked":8},"timed out",{"worked":4}]`)
	h := x.History()
	// Slots: 0 and 1 start at 0; 1 ends at 8, when 2 starts; 2 times out
	// at 18, when 3 starts (3 s wait, 4 s work: 25); 0 waits to 100 and
	// works to 105.
	var started []int
	for _, ev := range h {
		if ev.Type == EventMapIterationStarted {
			started = append(started, ev.Index, int(ev.Timestamp.Sub(epoch)/time.Second))
		}
	}
	if want := []int{0, 0, 1, 0, 2, 8, 3, 18}; !eqInts(started, want) {
		t.Errorf("iterations started (index, s) %v, want %v", started, want)
	}
	if got := at(h, EventTaskTimedOut, ""); !eqInts(got, []int{18}) {
		t.Errorf("timeouts at %v s, want [18]", got)
	}
	if got := at(h, EventTaskSucceeded, ""); !eqInts(got, []int{8, 25, 105}) {
		t.Errorf("tasks succeeded at %v s, want [8 25 105]", got)
	}
	if got := at(h, EventExecutionSucceeded, ""); !eqInts(got, []int{105}) {
		t.Errorf("execution ended at %v s, want [105]", got)
	}
}

// TestMapUnderTheExecutionTimeout: the execution's TimeoutSeconds ends the
// Map at its time, aborting the iteration still waiting; no event comes
// later.
func TestMapUnderTheExecutionTimeout(t *testing.T) {
	clock := NewVirtualClock(epoch)
	e := newEngine(t, fmt.Sprintf(mapTimeouts, `"TimeoutSeconds":50,`), Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::work": work(clock)}})
	x, err := e.Execute(context.Background(), json.RawMessage(mapItems))
	if err != nil {
		t.Fatal(err)
	}
	if r := x.Status(); r.Status != StatusTimedOut {
		t.Fatalf("result = %+v, want TIMED_OUT", r)
	}
	h := x.History()
	for _, ev := range h {
		if s := ev.Timestamp.Sub(epoch); s > 50*time.Second {
			t.Errorf("%s at %v, after the execution's timeout", ev.Type, s)
		}
	}
	if got := at(h, EventExecutionTimedOut, ""); !eqInts(got, []int{50}) {
		t.Errorf("timed out at %v s, want [50]", got)
	}
	if got := at(h, EventTaskSucceeded, ""); !eqInts(got, []int{8, 25}) {
		t.Errorf("tasks succeeded at %v s, want [8 25]", got)
	}
	var aborted []int
	for _, ev := range h {
		if ev.Type == EventMapIterationAborted {
			aborted = append(aborted, ev.Index)
		}
	}
	if !eqInts(aborted, []int{0}) {
		t.Errorf("iterations aborted %v, want [0]", aborted)
	}
}

// TestIdleResource: a resource that waits for another branch says so with
// Idle, and the clock moves for that branch's Wait meanwhile.
func TestIdleResource(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
	  {"StartAt":"Recv","States":{"Recv":{"Type":"Task","Resource":"arn:aws:states:::recv","TimeoutSeconds":60,"End":true}}},
	  {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"Next":"Send"},
	    "Send":{"Type":"Task","Resource":"arn:aws:states:::send","End":true}}}]}}}`
	clock := NewVirtualClock(epoch)
	ch := make(chan string, 1)
	var gotAt time.Duration
	recv := ResourceFunc(func(ctx context.Context, _ *TaskRequest) (any, error) {
		resume := Idle(ctx)
		defer resume()
		select {
		case v := <-ch:
			gotAt = clock.Now().Sub(epoch)
			return v, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	send := ResourceFunc(func(context.Context, *TaskRequest) (any, error) {
		ch <- "hello"
		return "sent", nil
	})
	e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::recv": recv, "arn:aws:states:::send": send}})
	x, err := e.Execute(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := x.Status(); r.Status != StatusSucceeded {
		t.Fatalf("result = %+v", r)
	}
	jsonEq(t, x.Status().Output, `["hello","sent"]`)
	if gotAt != 5*time.Second {
		t.Errorf("received at %v, want 5s", gotAt)
	}
}

// TestCallbackTimeoutBesideAWait: a task waiting for its token is idle, so
// a Wait beside it moves the clock to the task's timeout (as time passes on
// AWS when no callback comes) and not past it first.
func TestCallbackTimeoutBesideAWait(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
	  {"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}},
	  {"StartAt":"CB","States":{"CB":{"Type":"Task","Resource":"arn:aws:states:::cb.waitForTaskToken","TimeoutSeconds":30,
	     "Catch":[{"ErrorEquals":["States.Timeout"],"Next":"After"}],"End":true},
	   "After":{"Type":"Wait","Seconds":1,"End":true}}}]}}}`
	clock := NewVirtualClock(epoch)
	cb := ResourceFunc(func(context.Context, *TaskRequest) (any, error) { return nil, nil })
	e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::cb": cb}})
	x, err := e.Execute(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := x.Status(); r.Status != StatusSucceeded {
		t.Fatalf("result = %+v", r)
	}
	h := x.History()
	if got := at(h, EventTaskTimedOut, ""); !eqInts(got, []int{30}) {
		t.Errorf("callback timed out at %v s, want [30]", got)
	}
	if got := at(h, EventType("WaitStateExited"), ""); !eqInts(got, []int{31, 100}) {
		t.Errorf("waits exited at %v s, want [31 100]", got)
	}
	if s := fmt.Sprint(x.StatesEntered()); !strings.Contains(s, "After") {
		t.Errorf("states %s: the catcher did not run", s)
	}
}
