package interp

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
)

// epoch is the start of the virtual clocks of these tests.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// signalClock is a VirtualClock that reports every timer the execution
// registers with After, once it is registered: a test that receives from
// afters knows the execution waits on that timer and can move the clock
// past it.
type signalClock struct {
	*VirtualClock
	afters chan time.Duration
}

func newSignalClock() signalClock {
	return signalClock{VirtualClock: NewVirtualClock(epoch), afters: make(chan time.Duration, 16)}
}

// awaitTimer waits until x registers a timer (a WithTimeout) and returns
// its duration; it fails the test if x ends first.
func (c signalClock) awaitTimer(t *testing.T, x *Execution) time.Duration {
	t.Helper()
	select {
	case d := <-c.afters:
		return d
	case <-x.Done():
		t.Fatalf("execution ended while a timer was expected: %+v", x.Status())
		return 0
	}
}

// WithTimeout implements Clock.
func (c signalClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := c.VirtualClock.WithTimeout(ctx, d)
	c.afters <- d
	return ctx, cancel
}

// attemptLog is a Resource that fails every call with the error it is given
// and records the virtual time of each call.
type attemptLog struct {
	clock *VirtualClock
	err   *StatesError
	mu    sync.Mutex
	at    []time.Duration // since epoch
}

func (a *attemptLog) Invoke(_ context.Context, _ *TaskRequest) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, a.clock.Now().Sub(epoch))
	return nil, a.err
}

// delays returns the waits between consecutive calls.
func (a *attemptLog) delays() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(a.at); i++ {
		out = append(out, a.at[i]-a.at[i-1])
	}
	return out
}

func (a *attemptLog) calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

func TestErrorMatches(t *testing.T) {
	tests := []struct {
		equals []string
		name   string
		want   bool
	}{
		{[]string{"States.TaskFailed"}, "MyError", true},
		{[]string{"States.TaskFailed"}, asl.ErrorTaskFailed, true},
		{[]string{"States.TaskFailed"}, asl.ErrorHeartbeatTimeout, true},
		{[]string{"States.TaskFailed"}, asl.ErrorTimeout, false},
		{[]string{"States.ALL"}, asl.ErrorTimeout, true},
		{[]string{"States.ALL"}, "MyError", true},
		{[]string{"States.ALL"}, asl.ErrorRuntime, false},
		{[]string{"States.TaskFailed"}, asl.ErrorRuntime, false},
		{[]string{asl.ErrorRuntime}, asl.ErrorRuntime, false},
		// As AWS's recorded runs show (not as its guide says).
		{[]string{"States.ALL"}, asl.ErrorDataLimitExceeded, true},
		{[]string{asl.ErrorDataLimitExceeded}, asl.ErrorDataLimitExceeded, true},
		{[]string{"A", "B"}, "B", true},
		{[]string{"A", "B"}, "C", false},
		{nil, "A", false},
	}
	for _, tt := range tests {
		if got := errorMatches(tt.equals, tt.name); got != tt.want {
			t.Errorf("errorMatches(%v, %q) = %v, want %v", tt.equals, tt.name, got, tt.want)
		}
	}
}

// TestRetryAndCatchByErrorName runs a task that fails with one error under
// a Retry and a Catch for one error name: the task is retried (and then
// caught) only when the name matches the failure under AWS's rules.
func TestRetryAndCatchByErrorName(t *testing.T) {
	tests := []struct {
		name      string
		failWith  string
		equals    string
		wantCalls int
		caught    bool
	}{
		{"TaskFailed matches a task's own error", "MyError", asl.ErrorTaskFailed, 3, true},
		{"TaskFailed does not match Timeout", asl.ErrorTimeout, asl.ErrorTaskFailed, 1, false},
		{"ALL matches Timeout", asl.ErrorTimeout, asl.ErrorAll, 3, true},
		{"ALL does not match Runtime", asl.ErrorRuntime, asl.ErrorAll, 1, false},
		{"Runtime named explicitly is not retried or caught", asl.ErrorRuntime, asl.ErrorRuntime, 1, false},
		{"another name does not match", "MyError", "OtherError", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewVirtualClock(epoch)
			res := &attemptLog{clock: clock, err: newError(tt.failWith, "it broke")}
			def := `{"StartAt":"T","States":{
			  "T":{"Type":"Task","Resource":"arn:aws:states:::my:task",
			    "Retry":[{"ErrorEquals":["` + tt.equals + `"],"MaxAttempts":2}],
			    "Catch":[{"ErrorEquals":["` + tt.equals + `"],"ResultPath":"$.caught","Next":"Handled"}],
			    "End":true},
			  "Handled":{"Type":"Pass","End":true}}}`
			e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::my:task": res}})
			x, err := e.Start(context.Background(), json.RawMessage(`{"in":1}`))
			if err != nil {
				t.Fatal(err)
			}
			r, err := x.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := res.calls(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.caught {
				if r.Status != StatusSucceeded {
					t.Fatalf("result = %+v, want caught", r)
				}
				jsonEq(t, r.Output, `{"in":1,"caught":{"Error":"`+tt.failWith+`","Cause":"it broke"}}`)
				if got := x.StatesEntered(); !slices.Equal(got, []string{"T", "Handled"}) {
					t.Errorf("states entered = %v", got)
				}
				return
			}
			if r.Status != StatusFailed || r.Error != tt.failWith || r.Cause != "it broke" {
				t.Errorf("result = %+v, want FAILED with %s", r, tt.failWith)
			}
			if got := x.StatesEntered(); !slices.Equal(got, []string{"T"}) {
				t.Errorf("states entered = %v", got)
			}
		})
	}
}

// TestRetryDelays pins the waits between attempts: the defaults
// (IntervalSeconds 1, BackoffRate 2, MaxAttempts 3), MaxDelaySeconds
// capping the backoff, and MaxAttempts bounding the retries.
func TestRetryDelays(t *testing.T) {
	s := time.Second
	tests := []struct {
		name    string
		retrier string
		want    []time.Duration
	}{
		{"defaults", `{"ErrorEquals":["States.ALL"]}`, []time.Duration{1 * s, 2 * s, 4 * s}},
		{"backoff", `{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"BackoffRate":3}`, []time.Duration{2 * s, 6 * s, 18 * s}},
		{"max delay caps the backoff", `{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":7}`, []time.Duration{2 * s, 6 * s, 7 * s, 7 * s}},
		{"max delay above every wait", `{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"BackoffRate":3,"MaxDelaySeconds":18}`, []time.Duration{2 * s, 6 * s, 18 * s}},
		{"one attempt", `{"ErrorEquals":["States.ALL"],"MaxAttempts":1}`, []time.Duration{1 * s}},
		{"no retry", `{"ErrorEquals":["States.ALL"],"MaxAttempts":0}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewVirtualClock(epoch)
			res := &attemptLog{clock: clock, err: newError("Flaky", "")}
			def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::my:task","Retry":[` + tt.retrier + `],"End":true}}}`
			e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::my:task": res}})
			r, err := e.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != StatusFailed || r.Error != "Flaky" {
				t.Fatalf("result = %+v", r)
			}
			if got := res.delays(); !slices.Equal(got, tt.want) {
				t.Errorf("delays between attempts = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRetryFullJitter: with JitterStrategy FULL each wait is drawn from
// [0, backoff delay), so it is below the delay NONE would wait, and the
// draws differ.
func TestRetryFullJitter(t *testing.T) {
	clock := NewVirtualClock(epoch)
	res := &attemptLog{clock: clock, err: newError("Flaky", "")}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::my:task",
	  "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":10,"BackoffRate":1,"MaxAttempts":5,"JitterStrategy":"FULL"}],"End":true}}}`
	e := newEngine(t, def, Options{Clock: clock, Seed: 7, Resources: map[string]Resource{"arn:aws:states:::my:task": res}})
	if _, err := e.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	delays := res.delays()
	if len(delays) != 5 {
		t.Fatalf("delays = %v, want 5", delays)
	}
	distinct := map[time.Duration]bool{}
	for _, d := range delays {
		if d < 0 || d >= 10*time.Second {
			t.Errorf("delay %v outside [0s, 10s)", d)
		}
		distinct[d] = true
	}
	if len(distinct) < 4 {
		t.Errorf("delays = %v: jitter should vary them", delays)
	}
}

// TestNoRetryAfterExecutionEnds: once the execution times out or is
// stopped, the failing task is neither retried nor caught. (A retry would
// first sleep on the ended context and fail; a Catch without a matching
// retrier would run at once, so the catch-only rows show the guard.)
func TestNoRetryAfterExecutionEnds(t *testing.T) {
	const retry = `"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":5}],`
	def := func(timeout, retry string) string {
		return `{` + timeout + `"StartAt":"T","States":{
		  "T":{"Type":"Task","Resource":"arn:aws:states:::my:block",` + retry + `
		    "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handled"}],"End":true},
		  "Handled":{"Type":"Pass","End":true}}}`
	}
	tests := []struct {
		name    string
		timeout string
		retry   string
		stop    bool
		status  Status
	}{
		{"execution timeout, retry and catch", `"TimeoutSeconds":5,`, retry, false, StatusTimedOut},
		{"execution timeout, catch", `"TimeoutSeconds":5,`, ``, false, StatusTimedOut},
		{"stop, retry and catch", ``, retry, true, StatusAborted},
		{"stop, catch", ``, ``, true, StatusAborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewVirtualClock(epoch)
			started := make(chan struct{}, 8)
			var mu sync.Mutex
			calls := 0
			// The task outlives the execution: it waits a minute of
			// virtual time (the timeout cuts it short) or for the stop,
			// then fails with an error of its own.
			block := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				started <- struct{}{}
				if tt.stop {
					<-ctx.Done()
				} else {
					_ = clock.Sleep(ctx, time.Minute)
				}
				return nil, newError("Late", "after the end")
			})
			e := newEngine(t, def(tt.timeout, tt.retry), Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::my:block": block}})
			x, err := e.Start(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.stop {
				<-started
				if err := x.Stop("Stopped", "by test"); err != nil {
					t.Fatal(err)
				}
			}
			r, err := x.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status {
				t.Errorf("result = %+v, want %s", r, tt.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != 1 {
				t.Errorf("task ran %d times, want 1", calls)
			}
			if got := x.StatesEntered(); !slices.Equal(got, []string{"T"}) {
				t.Errorf("states entered = %v, want [T]", got)
			}
			// The task is interrupted: it does not exit (as it would
			// once caught), and the execution's end is the last event.
			h := x.History()
			for _, ev := range h {
				if ev.Type == "TaskStateExited" {
					t.Errorf("history has %s (output %s) after the execution ended", ev.Type, ev.Output)
				}
			}
			if last := h[len(h)-1].Type; last != EventExecutionTimedOut && last != EventExecutionAborted {
				t.Errorf("last event %s", last)
			}
		})
	}
}

// TestHeartbeatOfCallbackTask: the heartbeat of a .waitForTaskToken task
// restarts with every SendTaskHeartbeat, so a task kept alive outlasts
// HeartbeatSeconds; TimeoutSeconds still bounds it.
func TestHeartbeatOfCallbackTask(t *testing.T) {
	tokens := make(chan string, 1)
	res := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		tokens <- req.TaskToken
		return nil, nil
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::cb.waitForTaskToken","HeartbeatSeconds":10,"TimeoutSeconds":30,"End":true}}}`
	clock := newSignalClock()
	e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::cb": res}})
	x, err := e.Start(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := <-tokens
	if d := clock.awaitTimer(t, x); d != 30*time.Second {
		t.Fatalf("task timer %v, want 30s", d)
	}
	// Three times: 8 s pass, a heartbeat restarts the 10 s interval. The
	// task lives 24 s, past the 10 s HeartbeatSeconds.
	for i := 0; i < 3; i++ {
		if d := clock.awaitTimer(t, x); d != 10*time.Second {
			t.Fatalf("heartbeat timer %v, want 10s", d)
		}
		clock.Advance(8 * time.Second)
		if err := e.SendTaskHeartbeat(tok); err != nil {
			t.Fatalf("heartbeat %d at %v: %v", i, clock.Now().Sub(epoch), err)
		}
	}
	clock.awaitTimer(t, x)
	if err := e.SendTaskSuccess(tok, json.RawMessage(`{"alive":24}`)); err != nil {
		t.Fatal(err)
	}
	r, err := x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusSucceeded {
		t.Fatalf("result = %+v", r)
	}
	jsonEq(t, r.Output, `{"alive":24}`)

	// Kept alive past TimeoutSeconds, it times out at 30 s.
	clock = newSignalClock()
	e = newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::cb": res}})
	x, err = e.Start(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok = <-tokens
	clock.awaitTimer(t, x) // TimeoutSeconds
	for i := 0; i < 3; i++ {
		clock.awaitTimer(t, x)
		clock.Advance(8 * time.Second)
		if err := e.SendTaskHeartbeat(tok); err != nil {
			t.Fatalf("heartbeat %d at %v: %v", i, clock.Now().Sub(epoch), err)
		}
	}
	clock.awaitTimer(t, x)
	clock.Advance(8 * time.Second) // to 32 s
	r, err = x.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusFailed || r.Error != asl.ErrorTimeout {
		t.Errorf("result = %+v, want %s", r, asl.ErrorTimeout)
	}
	if got := clock.Now().Sub(epoch); got != 32*time.Second {
		t.Errorf("clock at %v, want 32s", got)
	}
}
