package interp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
)

// goldenDef exercises what the history records: templates with paths,
// $$ and intrinsic functions, both Lambda integrations, ResultSelector and
// ResultPath, a Choice, an inline Map, a caught failure and OutputPath.
const goldenDef = `{"StartAt":"Init","States":{
  "Init":{"Type":"Pass","Parameters":{"items.$":"$.items","k":"v","ctx.$":"$$.State.Name","n.$":"States.ArrayLength($.items)"},"Next":"Call"},
  "Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo","ResultSelector":{"got.$":"$.k"},"ResultPath":"$.call","Next":"Invoke"},
  "Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload":{"p.$":"$.k"}},"ResultSelector":{"code.$":"$.StatusCode","p.$":"$.Payload"},"ResultPath":"$.inv","Next":"Check"},
  "Check":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":2,"Next":"Each"}],"Default":"Bad"},
  "Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
    "ItemProcessor":{"StartAt":"Double","States":{"Double":{"Type":"Pass","Parameters":{"d.$":"States.MathAdd($.v, $.v)","i.$":"$.i"},"End":true}}},
    "ResultPath":"$.doubled","Next":"Fail?"},
  "Fail?":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:boom","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Done"}],"End":true},
  "Bad":{"Type":"Fail","Error":"Bad"},
  "Done":{"Type":"Succeed","OutputPath":"$.doubled"}}}`

// goldenRun runs goldenDef to its end.
func goldenRun(t *testing.T) *Execution {
	t.Helper()
	inv := LambdaInvokerFunc(func(ctx context.Context, fn string, p []byte) ([]byte, error) {
		if strings.HasSuffix(fn, "boom") {
			return nil, &LambdaFunctionError{ErrorType: "Boom", ErrorMessage: "went wrong"}
		}
		return p, nil
	})
	e := newEngine(t, goldenDef, Options{Lambda: inv, Seed: 7})
	x, err := e.Execute(context.Background(), json.RawMessage(`{"items":[1,2],"k":"é\u2028<&>"}`), WithName("golden"))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// renderHistory renders every field of the events but their times.
func renderHistory(h []Event) string {
	var b strings.Builder
	for _, ev := range h {
		fmt.Fprintf(&b, "%d %d %s %q in=%s out=%s err=%q cause=%q res=%q/%q idx=%d len=%d\n", ev.ID, ev.PreviousEventID, ev.Type, ev.StateName,
			ev.Input, ev.Output, ev.Error, ev.Cause, ev.Resource, ev.ResourceType, ev.Index, ev.Length)
	}
	return b.String()
}

// TestHistoryGolden compares a whole history, inputs and outputs included,
// with the one the interpreter recorded before histories were encoded on
// demand (testdata/history.golden, made by the eager recorder).
func TestHistoryGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/history.golden")
	if err != nil {
		t.Fatal(err)
	}
	x := goldenRun(t)
	if got := renderHistory(x.History()); got != string(want) {
		t.Errorf("history differs from testdata/history.golden:\n%s", got)
	}
	// Reading again gives the same events, times included.
	if a, b := x.History(), x.History(); !reflect.DeepEqual(a, b) {
		t.Error("a second History differs from the first")
	}
	var entered []string
	for _, ev := range x.History() {
		if strings.HasSuffix(string(ev.Type), "StateEntered") {
			entered = append(entered, ev.StateName)
		}
	}
	if got := x.StatesEntered(); !reflect.DeepEqual(got, entered) {
		t.Errorf("StatesEntered = %v, history says %v", got, entered)
	}
}

// TestHistoryTimes: the events are numbered in order and their times are
// the clock's when each was recorded.
func TestHistoryTimes(t *testing.T) {
	clock := NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"W"},"W":{"Type":"Wait","Seconds":5,"Next":"B"},"B":{"Type":"Pass","End":true}}}`
	e := newEngine(t, def, Options{Clock: clock})
	x, err := e.Execute(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := x.History()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, ev := range h {
		want := start
		if i >= 4 { // WaitStateExited and after
			want = start.Add(5 * time.Second)
		}
		if ev.ID != int64(i+1) || !ev.Timestamp.Equal(want) {
			t.Errorf("event %d %s: id %d at %v, want %v", i, ev.Type, ev.ID, ev.Timestamp, want)
		}
	}
}

// TestHistoryGrows records more events than the first chunks hold.
func TestHistoryGrows(t *testing.T) {
	h := newHistory(RealClock{}, 0)
	for i := 1; i <= 1000; i++ {
		if id := h.add(int64(i-1), Event{Type: EventType(fmt.Sprint("E", i)), Index: i}); id != int64(i) {
			t.Fatalf("id %d, want %d", id, i)
		}
	}
	for i, ev := range h.snapshot() {
		if ev.ID != int64(i+1) || ev.PreviousEventID != int64(i) || ev.Type != EventType(fmt.Sprint("E", i+1)) || ev.Index != i+1 {
			t.Fatalf("event %d = %+v", i, ev)
		}
	}
}

// TestResourceGetsCopies: a user resource may change its parameters and
// keep changing the result it returned; neither reaches the execution. Go
// numbers in its result are JSON numbers from then on.
func TestResourceGetsCopies(t *testing.T) {
	var kept map[string]any
	calls := 0
	res := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		calls++
		p := req.Parameters.(map[string]any)
		if a := p["const"].(map[string]any)["a"]; a != json.Number("1") {
			t.Errorf("call %d: const.a = %v: an earlier call's change leaked into the template", calls, a)
		}
		p["const"].(map[string]any)["a"] = 99
		p["added"] = true
		if kept == nil {
			kept = map[string]any{"n": 1}
		} else {
			kept["n"] = 2 // the result of the first call, changed afterwards
		}
		return kept, nil
	})
	def := `{"StartAt":"T1","States":{
	  "T1":{"Type":"Task","Resource":"arn:aws:states:::my:res","Parameters":{"const":{"a":1},"in.$":"$.x"},"ResultPath":"$.r1","Next":"T2"},
	  "T2":{"Type":"Task","Resource":"arn:aws:states:::my:res","Parameters":{"const":{"a":1},"in.$":"$.x"},"ResultPath":"$.r2","Next":"C"},
	  "C":{"Type":"Choice","Choices":[{"Variable":"$.r1.n","NumericEquals":1,"Next":"Done"}],"Default":"No"},
	  "No":{"Type":"Fail","Error":"NotANumber"},
	  "Done":{"Type":"Succeed"}}}`
	e := newEngine(t, def, Options{Resources: map[string]Resource{"arn:aws:states:::my:res": res}})
	x, err := e.Execute(context.Background(), json.RawMessage(`{"x":"in"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := x.Status()
	if r.Status != StatusSucceeded {
		t.Fatalf("result %+v", r)
	}
	jsonEq(t, r.Output, `{"x":"in","r1":{"n":1},"r2":{"n":2}}`)
	for _, ev := range x.History() {
		if ev.Type == EventTaskScheduled && ev.Input != `{"const":{"a":1},"in":"in"}` {
			t.Errorf("TaskScheduled input %s: the resource's change reached the history", ev.Input)
		}
	}
}

// TestExecute: Execute runs on the caller's goroutine to the end, with the
// result Start and Wait give; an ended context or Stop aborts it.
func TestExecute(t *testing.T) {
	t.Run("result", func(t *testing.T) {
		x := goldenRun(t)
		def := newEngine(t, goldenDef, Options{Lambda: LambdaInvokerFunc(func(ctx context.Context, fn string, p []byte) ([]byte, error) {
			if strings.HasSuffix(fn, "boom") {
				return nil, &LambdaFunctionError{ErrorType: "Boom", ErrorMessage: "went wrong"}
			}
			return p, nil
		}), Seed: 7})
		y, err := def.Start(context.Background(), json.RawMessage(`{"items":[1,2],"k":"é\u2028<&>"}`), WithName("golden"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := y.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := x.Status(); !reflect.DeepEqual(got, want) {
			t.Errorf("Execute result %+v, Start and Wait %+v", got, want)
		}
		if renderHistory(x.History()) != renderHistory(y.History()) {
			t.Error("histories differ")
		}
		select {
		case <-x.Done():
		default:
			t.Error("Execute returned before the execution ended")
		}
	})
	waiting := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::cb.waitForTaskToken","End":true}}}`
	waiter := func(tokens chan<- string) Options {
		return Options{Resources: map[string]Resource{"arn:aws:states:::cb": ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
			tokens <- req.TaskToken
			return nil, nil
		})}}
	}
	t.Run("context ends", func(t *testing.T) {
		tokens := make(chan string, 1)
		e := newEngine(t, waiting, waiter(tokens))
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-tokens // the task waits for its callback
			cancel()
		}()
		x, err := e.Execute(ctx, nil)
		if !errors.Is(err, context.Canceled) || x == nil {
			t.Fatalf("Execute = %v, %v; want the execution and context.Canceled", x, err)
		}
		if r := x.Status(); r.Status != StatusAborted || r.Cause != context.Canceled.Error() {
			t.Errorf("result %+v, want ABORTED with the context's error", r)
		}
	})
	t.Run("callback from another goroutine", func(t *testing.T) {
		tokens := make(chan string, 1)
		e := newEngine(t, waiting, waiter(tokens))
		sent := make(chan error, 1)
		go func() { sent <- e.SendTaskSuccess(<-tokens, json.RawMessage(`{"ok":true}`)) }()
		x, err := e.Execute(context.Background(), nil)
		if err != nil {
			t.Fatalf("Execute error %v for an execution that ended on its own", err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		r := x.Status()
		if r.Status != StatusSucceeded {
			t.Fatalf("result %+v", r)
		}
		jsonEq(t, r.Output, `{"ok":true}`)
	})
	t.Run("bad input", func(t *testing.T) {
		e := newEngine(t, waiting, Options{})
		if x, err := e.Execute(context.Background(), json.RawMessage(`{`)); x != nil || err == nil {
			t.Errorf("Execute = %v, %v; want an error", x, err)
		}
	})
}

// TestMapOneAtATimeStopsAtFirstFailure: with MaxConcurrency 1 the
// iterations run in order and none starts after one has failed.
func TestMapOneAtATimeStopsAtFirstFailure(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"ItemProcessor":{"StartAt":"C","States":{
	  "C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":2,"Next":"F"}],"Default":"P"},
	  "F":{"Type":"Fail","Error":"Two"},
	  "P":{"Type":"Pass","End":true}}},"End":true}}}`
	for i := 0; i < 20; i++ {
		e := newEngine(t, def, Options{})
		x, err := e.Execute(context.Background(), json.RawMessage(`[1,2,3,4]`))
		if err != nil {
			t.Fatal(err)
		}
		if r := x.Status(); r.Status != StatusFailed || r.Error != "Two" {
			t.Fatalf("result %+v", r)
		}
		var started []int
		for _, ev := range x.History() {
			if ev.Type == EventMapIterationStarted {
				started = append(started, ev.Index)
			}
		}
		if !reflect.DeepEqual(started, []int{0, 1}) {
			t.Fatalf("iterations started %v, want [0 1]", started)
		}
	}
}

// TestPayloadLimitOfFirstState: a state that passes its input on still
// checks it when it is the machine's first (the execution input, whose
// encoding may be longer than its text), and a Task's output is checked
// once whatever ResultPath does.
func TestPayloadLimitOfFirstState(t *testing.T) {
	// 40 invalid UTF-8 bytes: 48 bytes of input, 128 once decoded and
	// encoded (each byte becomes U+FFFD).
	input := json.RawMessage(`{"s":"` + strings.Repeat("\xff", 40) + `"}`)
	for _, first := range []string{
		`{"Type":"Choice","Choices":[{"Variable":"$.s","IsPresent":true,"Next":"E"}]}`,
		`{"Type":"Pass","Next":"E"}`,
		`{"Type":"Succeed"}`,
	} {
		def := `{"StartAt":"S","States":{"S":` + first + `,"E":{"Type":"Succeed"}}}`
		e := newEngine(t, def, Options{MaxPayloadBytes: 100})
		x, err := e.Execute(context.Background(), input)
		if err != nil {
			t.Fatal(err)
		}
		if r := x.Status(); r.Status != StatusFailed || r.Error != asl.ErrorDataLimitExceeded {
			t.Errorf("%s: result %+v, want %s", first, r, asl.ErrorDataLimitExceeded)
		}
	}
	// A Task whose result is small but whose output, with the input kept
	// by ResultPath, is too large.
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","ResultPath":"$.r","End":true}}}`
	inv := LambdaInvokerFunc(func(ctx context.Context, fn string, p []byte) ([]byte, error) { return []byte(`"ok"`), nil })
	e := newEngine(t, def, Options{Lambda: inv, MaxPayloadBytes: 100})
	x, err := e.Execute(context.Background(), json.RawMessage(`{"pad":"`+strings.Repeat("x", 90)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := x.Status(); r.Status != StatusFailed || r.Error != asl.ErrorDataLimitExceeded {
		t.Errorf("task output: result %+v, want %s", r, asl.ErrorDataLimitExceeded)
	}
}
