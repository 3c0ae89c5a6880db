package interp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

func mustParse(t testing.TB, def string) *asl.StateMachine {
	t.Helper()
	sm, err := asl.Parse([]byte(def))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return sm
}

func newEngine(t testing.TB, def string, opts Options) *Engine {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	e, err := New(mustParse(t, def), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func jsonEq(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	g, err := jsonpath.Decode(got)
	if err != nil {
		t.Fatalf("output %q: %v", got, err)
	}
	w, _ := jsonpath.DecodeString(want)
	if !jsonpath.Equal(g, w) {
		t.Errorf("output = %s, want %s", got, want)
	}
}

func TestSemantics(t *testing.T) {
	tests := []struct {
		name      string
		def       string
		input     string
		status    Status
		output    string
		errName   string
		causeFrag string
	}{
		{
			name:   "pass pipeline",
			def:    `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.in","Parameters":{"x.$":"$.v","c":1},"ResultPath":"$.r","OutputPath":"$.r","End":true}}}`,
			input:  `{"in":{"v":"hello"}}`,
			status: StatusSucceeded, output: `{"x":"hello","c":1}`,
		},
		{
			name:   "null paths and discarded result",
			def:    `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"ResultPath":null,"Next":"B"},"B":{"Type":"Pass","InputPath":null,"End":true}}}`,
			input:  `{"k":1}`,
			status: StatusSucceeded, output: `{}`,
		},
		{
			name:   "context object and intrinsic",
			def:    `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"n.$":"$$.State.Name","s.$":"States.Format('{}-{}', $.a, $.b)"},"End":true}}}`,
			input:  `{"a":"x","b":2}`,
			status: StatusSucceeded, output: `{"n":"A","s":"x-2"}`,
		},
		{
			name:   "choice operators",
			def:    `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.n","NumericGreaterThanEquals":2},{"Variable":"$.s","StringMatches":"a*\\*"},{"Not":{"Variable":"$.t","TimestampLessThan":"2020-01-01T00:00:00Z"}}],"Next":"Y"}],"Default":"N"},"Y":{"Type":"Pass","Result":"yes","End":true},"N":{"Type":"Pass","Result":"no","End":true}}}`,
			input:  `{"n":2.0,"s":"abc*","t":"2021-05-01T10:00:00+02:00"}`,
			status: StatusSucceeded, output: `"yes"`,
		},
		{
			name:    "missing input path",
			def:     `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a.b","End":true}}}`,
			input:   `{}`,
			status:  StatusFailed,
			errName: asl.ErrorRuntime, causeFrag: "An error occurred while executing the state 'P' (entered at the event id #2). Invalid path '$.a.b' : Missing property in path $['a']",
		},
		{
			name:    "fail with paths",
			def:     `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"$.c"}}}`,
			input:   `{"e":"E","c":"because"}`,
			status:  StatusFailed,
			errName: "E", causeFrag: "because",
		},
		{
			name:   "catch and result path",
			def:    `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"c"}}}],"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"D"}],"End":true},"D":{"Type":"Succeed"}}}`,
			input:  `{"k":1}`,
			status: StatusSucceeded,
			output: `{"k":1,"err":{"Error":"Boom","Cause":"c"}}`,
		},
		{
			name:    "wait seconds path negative",
			def:     `{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`,
			input:   `{"s":-1}`,
			status:  StatusFailed,
			errName: asl.ErrorRuntime, causeFrag: "The SecondsPath parameter references a negative value: $.s == -1",
		},
		{
			name:   "map with selector",
			def:    `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value"},"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			input:  `{"xs":["a","b"]}`,
			status: StatusSucceeded, output: `[{"i":0,"v":"a"},{"i":1,"v":"b"}]`,
		},
		{
			name:   "variables",
			def:    `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x.$":"$.v"},"Next":"B"},"B":{"Type":"Pass","OutputPath":"$x","End":true}}}`,
			input:  `{"v":42}`,
			status: StatusSucceeded, output: `42`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, tt.def, Options{})
			res, err := e.Run(context.Background(), json.RawMessage(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status {
				t.Fatalf("status = %s (%s: %s), want %s", res.Status, res.Error, res.Cause, tt.status)
			}
			if tt.output != "" {
				jsonEq(t, res.Output, tt.output)
			}
			if res.Error != tt.errName {
				t.Errorf("error = %q, want %q", res.Error, tt.errName)
			}
			if !strings.Contains(res.Cause, tt.causeFrag) {
				t.Errorf("cause = %q, want it to contain %q", res.Cause, tt.causeFrag)
			}
		})
	}
}

func TestRetryUsesVirtualClock(t *testing.T) {
	clock := NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	var calls atomic.Int32
	fail := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		calls.Add(1)
		return nil, &StatesError{Name: "Flaky", HasName: true}
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::my:flaky","Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":3}],"End":true}}}`
	e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::my:*": fail}})
	start := time.Now()
	res, err := e.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || res.Error != "Flaky" {
		t.Fatalf("result = %+v", res)
	}
	if calls.Load() != 4 {
		t.Errorf("calls = %d, want 4", calls.Load())
	}
	if got, want := clock.Now().Sub(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)), (2+6+18)*time.Second; got != want {
		t.Errorf("virtual time spent = %v, want %v", got, want)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("retries took real time")
	}
}

func TestMapMaxConcurrencyBoundsIterations(t *testing.T) {
	var cur, peak atomic.Int32
	res := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		return req.Parameters, nil
	})
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":3,"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::work","End":true}}},"End":true}}}`
	e := newEngine(t, def, Options{Clock: RealClock{}, Resources: map[string]Resource{"arn:aws:states:::work": res}})
	items := make([]string, 20)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	r, err := e.Run(context.Background(), json.RawMessage("["+strings.Join(items, ",")+"]"))
	if err != nil || r.Status != StatusSucceeded {
		t.Fatalf("run: %v %+v", err, r)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency = %d, want 2..3", p)
	}
	jsonEq(t, r.Output, "["+strings.Join(items, ",")+"]")
}

func TestWaitForTaskToken(t *testing.T) {
	tokens := make(chan string, 1)
	res := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		tokens <- req.TaskToken
		return nil, nil
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::cb.waitForTaskToken","Parameters":{"token.$":"$$.Task.Token"},"HeartbeatSeconds":60,"End":true}}}`
	tests := []struct {
		name    string
		send    func(e *Engine, clock signalClock, x *Execution, token string)
		status  Status
		errName string
	}{
		{"success", func(e *Engine, _ signalClock, _ *Execution, tok string) {
			if err := e.SendTaskSuccess(tok, json.RawMessage(`{"ok":true}`)); err != nil {
				t.Error(err)
			}
		}, StatusSucceeded, ""},
		{"failure", func(e *Engine, _ signalClock, _ *Execution, tok string) {
			if err := e.SendTaskFailure(tok, "MyError", "why"); err != nil {
				t.Error(err)
			}
		}, StatusFailed, "MyError"},
		{"heartbeat timeout", func(e *Engine, clock signalClock, x *Execution, tok string) {
			if d := clock.awaitTimer(t, x); d != 60*time.Second {
				t.Errorf("heartbeat timer %v, want 60s", d)
			}
			clock.Advance(61 * time.Second)
		}, StatusFailed, asl.ErrorHeartbeatTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newSignalClock()
			e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::cb": res}})
			x, err := e.Start(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.send(e, clock, x, <-tokens)
			r, err := x.Wait(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.status || r.Error != tt.errName {
				t.Errorf("result = %+v", r)
			}
			if err := e.SendTaskSuccess("nope", json.RawMessage(`{}`)); !errors.Is(err, ErrUnknownToken) {
				t.Errorf("unknown token: %v", err)
			}
		})
	}
}

func TestStopAborts(t *testing.T) {
	def := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`
	e := newEngine(t, def, Options{Clock: RealClock{}})
	x, err := e.Start(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Stop("Stopped", "by test"); err != nil {
		t.Fatal(err)
	}
	r, _ := x.Wait(context.Background())
	if r.Status != StatusAborted || r.Error != "Stopped" {
		t.Errorf("result = %+v", r)
	}
	h := x.History()
	if h[len(h)-1].Type != EventExecutionAborted {
		t.Errorf("last event = %s", h[len(h)-1].Type)
	}
}

func TestExecutionTimeout(t *testing.T) {
	def := `{"TimeoutSeconds":10,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":100,"End":true}}}`
	e := newEngine(t, def, Options{})
	r, err := e.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusTimedOut {
		t.Errorf("result = %+v", r)
	}
}

func TestHistory(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true}}}`
	inv := LambdaInvokerFunc(func(ctx context.Context, fn string, p []byte) ([]byte, error) { return p, nil })
	e := newEngine(t, def, Options{Lambda: inv})
	x, _ := e.Start(context.Background(), json.RawMessage(`{"a":1}`))
	if _, err := x.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []EventType{EventExecutionStarted, "PassStateEntered", "PassStateExited", "TaskStateEntered",
		EventLambdaScheduled, EventLambdaStarted, EventLambdaSucceeded, "TaskStateExited", EventExecutionSucceeded}
	h := x.History()
	if len(h) != len(want) {
		t.Fatalf("history = %+v", h)
	}
	for i, ev := range h {
		if ev.Type != want[i] || ev.ID != int64(i+1) || ev.PreviousEventID != int64(i) {
			t.Errorf("event %d = %s id %d prev %d", i, ev.Type, ev.ID, ev.PreviousEventID)
		}
	}
}

type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memStore) Get(_ context.Context, bucket, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[bucket+"/"+key]
	if !ok {
		return nil, errors.New("not found")
	}
	return b, nil
}

func (m *memStore) Put(_ context.Context, bucket, key string, body []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[bucket+"/"+key] = body
	return nil
}

func TestDistributedMapCSVBatchesAndResultWriter(t *testing.T) {
	store := &memStore{objs: map[string][]byte{"b/in.csv": []byte("id,name\n1,a\n2,b\n3,c\n")}}
	def := `{"StartAt":"M","States":{"M":{"Type":"Map",
	  "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},"Parameters":{"Bucket":"b","Key":"in.csv"}},
	  "ItemBatcher":{"MaxItemsPerBatch":2,"BatchInput":{"job.$":"$.job"}},
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
	  "ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"b","Prefix":"out"}},
	  "End":true}}}`
	e := newEngine(t, def, Options{Objects: store})
	r, err := e.Run(context.Background(), json.RawMessage(`{"job":"j1"}`))
	if err != nil || r.Status != StatusSucceeded {
		t.Fatalf("run: %v %+v", err, r)
	}
	out, _ := jsonpath.Decode(r.Output)
	key, err := jsonpath.Get("$.ResultWriterDetails.Key", out)
	if err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	manifest, err := store.Get(context.Background(), "b", key.(string))
	if err != nil || !strings.Contains(string(manifest), "SUCCEEDED_0.json") {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	mv, _ := jsonpath.Decode(manifest)
	succKey, _ := jsonpath.Get("$.ResultFiles.SUCCEEDED[0].Key", mv)
	body, _ := store.Get(context.Background(), "b", succKey.(string))
	results, _ := jsonpath.Decode(body)
	arr, _ := results.([]any)
	if len(arr) != 2 {
		t.Fatalf("want 2 batches, got %s", body)
	}
	first, _ := jsonpath.Get("$[0].Output", results)
	jsonEq(t, json.RawMessage(first.(string)), `{"BatchInput":{"job":"j1"},"Items":[{"id":"1","name":"a"},{"id":"2","name":"b"}]}`)
}

func TestJSONata(t *testing.T) {
	_, err := New(mustParse(t, `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% [1,2]^($) %}","End":true}}}`), Options{})
	if !errors.Is(err, ErrJSONataNotSupported) {
		t.Errorf("unsupported construct: err = %v", err)
	}
	def := `{"QueryLanguage":"JSONata","StartAt":"A","States":{
	  "A":{"Type":"Pass","Assign":{"n":"{% $states.input.n %}"},"Next":"C"},
	  "C":{"Type":"Choice","Choices":[{"Condition":"{% $n > 2 %}","Next":"M"}],"Default":"F"},
	  "M":{"Type":"Map","Items":"{% $range(1, $n, 1) %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input * 10 %}","End":true}}},"Output":{"sum":"{% $sum($states.result) %}"},"End":true},
	  "F":{"Type":"Fail","Error":"Small","Cause":"{% 'n=' & $string($n) %}"}}}`
	tests := []struct {
		input, output, errName, cause string
	}{
		{`{"n":3}`, `{"sum":60}`, "", ""},
		{`{"n":1}`, "", "Small", "n=1"},
	}
	for _, tt := range tests {
		e := newEngine(t, def, Options{})
		r, err := e.Run(context.Background(), json.RawMessage(tt.input))
		if err != nil {
			t.Fatal(err)
		}
		if tt.output != "" {
			jsonEq(t, r.Output, tt.output)
		}
		if r.Error != tt.errName || r.Cause != tt.cause {
			t.Errorf("result = %+v", r)
		}
	}
}

func TestVirtualClockAdvanceToNextTimesOutCallback(t *testing.T) {
	clock := NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	submitted := make(chan struct{}, 1)
	res := ResourceFunc(func(ctx context.Context, req *TaskRequest) (any, error) {
		submitted <- struct{}{}
		return nil, nil
	})
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::cb.waitForTaskToken","TimeoutSeconds":300,"End":true}}}`
	e := newEngine(t, def, Options{Clock: clock, Resources: map[string]Resource{"arn:aws:states:::cb": res}})
	x, err := e.Start(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-submitted
	for clock.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	if !clock.AdvanceToNext() {
		t.Fatal("nothing pending")
	}
	r, _ := x.Wait(context.Background())
	if r.Status != StatusFailed || r.Error != asl.ErrorTimeout {
		t.Errorf("result = %+v", r)
	}
}

func TestExecutionTimeoutDuringLambda(t *testing.T) {
	clock := NewVirtualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	slow := LambdaInvokerFunc(func(ctx context.Context, fn string, p []byte) ([]byte, error) {
		if err := clock.Sleep(ctx, time.Minute); err != nil {
			return nil, err
		}
		return p, nil
	})
	def := `{"TimeoutSeconds":5,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:slow","End":true}}}`
	e := newEngine(t, def, Options{Clock: clock, Lambda: slow})
	r, err := e.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusTimedOut {
		t.Errorf("result = %+v", r)
	}
}
