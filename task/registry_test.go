package task_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/task"
)

func noop(context.Context, task.Job[echo]) (echo, error) { return echo{}, nil }

func TestRegistrationProblemsFailNew(t *testing.T) {
	for _, tc := range []struct {
		name     string
		register func(*task.Registry)
		want     []string
	}{
		{"fine", func(r *task.Registry) {
			task.Register(r, "a", noop)
			task.Register(r, "b", noop, task.MaxConcurrency(5))
		}, nil},
		{"empty type", func(r *task.Registry) { task.Register(r, "", noop) }, []string{"empty task type"}},
		{"duplicate", func(r *task.Registry) {
			task.Register(r, "a", noop)
			task.Register(r, "a", noop)
		}, []string{`task type "a" is registered twice`}},
		{"separator", func(r *task.Registry) { task.Register(r, "a#b", noop) }, []string{`task type "a#b"`}},
		{"nil handler", func(r *task.Registry) { task.Register[echo, echo](r, "a", nil) }, []string{`task type "a": nil handler`}},
		{"concurrency", func(r *task.Registry) { task.Register(r, "a", noop, task.MaxConcurrency(0)) }, []string{"MaxConcurrency 0 is below 1"}},
		{"all reported", func(r *task.Registry) {
			task.Register(r, "", noop)
			task.Register(r, "x", noop)
			task.Register(r, "x", noop)
		}, []string{"empty task type", `"x" is registered twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := task.NewRegistry()
			tc.register(reg)
			_, err := task.New(task.Options{Config: core.DefaultConfig(), Store: memory.NewStore(), Registry: reg})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var ve *core.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != len(tc.want) {
				t.Fatalf("New: %v, want the problems %q", err, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(ve.Problems[i], w) {
					t.Errorf("problem %d = %q, want it to mention %q", i, ve.Problems[i], w)
				}
			}
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	_, err := task.New(task.Options{Config: core.DefaultConfig(), Settings: task.Settings{InlineMax: 1001, Lease: -1}})
	var ve *core.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("New: %v", err)
	}
	svc, err := task.New(task.Options{Config: core.DefaultConfig(), Store: memory.NewStore()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Routes(); !errors.Is(err, core.ErrValidation) {
		t.Fatalf("Routes without queue and workflows: %v", err)
	}
	if got := svc.Settings(); got.MaxReceiveCount != task.DefaultMaxReceiveCount || got.Lease != task.DefaultLease ||
		got.InlineMax != task.DefaultInlineMax || got.StuckAfter != task.DefaultStuckAfter || got.Clock == nil {
		t.Fatalf("defaults %+v", got)
	}
}

func TestErrorNames(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&task.UnknownTypeError{Type: "x"}, task.ErrorNameUnknownType},
		{&task.InputError{Type: "x", Err: errors.New("bad")}, task.ErrorNameInput},
		{&task.BusyError{SK: "x"}, task.ErrorNameBusy},
		{task.Permanent(&task.UnknownTypeError{Type: "x"}), task.ErrorNameUnknownType},
		{task.Permanent(errors.New("plain")), eventfactory.ErrorNameHandler},
	} {
		if got := eventfactory.ErrorName(tc.err); got != tc.want {
			t.Errorf("ErrorName(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if !errors.Is(task.Permanent(core.ErrNotFound), core.ErrNotFound) || !errors.Is(task.Permanent(core.ErrNotFound), task.ErrPermanent) {
		t.Error("Permanent hides its error")
	}
	if task.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}

func TestStateMachineDefinition(t *testing.T) {
	if _, err := task.StateMachineJSON(task.StateMachineOptions{}); err == nil {
		t.Fatal("no error without FunctionARN")
	}
	if _, err := task.StateMachine(task.StateMachineOptions{FunctionARN: "f", DistributedExecutionType: "FAST"}); err == nil {
		t.Fatal("no error for an unknown execution type")
	}
	b, err := task.StateMachineJSON(task.StateMachineOptions{FunctionARN: "arn:aws:lambda:us-east-1:1:function:svc"})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := asl.ParseAndValidate(b)
	if err != nil {
		t.Fatalf("exported JSON does not validate: %v", err)
	}
	for _, m := range []string{task.StateRun, task.StateRunDistributed} {
		st := sm.States[m]
		if st.MaxConcurrencyPath != "$.maxConcurrency" || st.MaxConcurrency != nil {
			t.Errorf("%s: MaxConcurrencyPath %q", m, st.MaxConcurrencyPath)
		}
		if len(st.Catch) != 1 || st.Catch[0].Next != task.StateAbort {
			t.Errorf("%s: Catch %+v", m, st.Catch)
		}
	}
	d := sm.States[task.StateRunDistributed]
	if d.ItemReader == nil || d.ItemReader.ReaderConfig.InputType != asl.InputTypeJSONL || d.ResultWriter == nil ||
		d.ItemProcessor.ProcessorConfig.Mode != asl.ModeDistributed || d.ItemProcessor.ProcessorConfig.ExecutionType != asl.ExecutionStandard {
		t.Errorf("distributed Map %+v", d)
	}
	// Every Lambda step retries TransientError first, with its own rule.
	var tasks int
	var walk func(m *asl.StateMachine)
	walk = func(m *asl.StateMachine) {
		for name, st := range m.States {
			if p := st.Processor(); p != nil {
				walk(p)
			}
			if st.Type != asl.TypeTask {
				continue
			}
			tasks++
			if len(st.Retry) < 2 || !slices.Equal(st.Retry[0].ErrorEquals, []string{eventfactory.ErrorNameTransient}) {
				t.Errorf("%s: first Retry %+v", name, st.Retry)
			}
			var payload map[string]any
			if err := json.Unmarshal(st.Parameters, &payload); err != nil || payload["Payload"] == nil {
				t.Errorf("%s: Parameters %s", name, st.Parameters)
			}
		}
	}
	walk(sm)
	if tasks != 6 {
		t.Errorf("%d Lambda steps, want 6", tasks)
	}
	busy := sm.States[task.StateRun].ItemProcessor.States[task.StateSubTask].Retry[1].ErrorEquals
	if !slices.Contains(busy, task.ErrorNameBusy) || !slices.Contains(busy, "Sandbox.Timedout") {
		t.Errorf("SubTask retries %v", busy)
	}
	if f := sm.States[task.StateFailed]; f.Error != task.ErrorNameTaskFailed || f.CausePath != "$.error" {
		t.Errorf("Failed state %+v", f)
	}
}
