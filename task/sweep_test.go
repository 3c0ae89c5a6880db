package task_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// Stream records lost beyond the event source mapping's retries: the
// periodic sweep finds the tasks in the unsettled index once they are
// due, enqueues the single task and starts the parent's execution.
func TestSweepRecoversLostStreamRecords(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "w", func(_ context.Context, j task.Job[echo]) (echo, error) { return echo{N: j.Index + 10}, nil })
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.Faults.Drop = func(table string, _ events.DynamoDBEventRecord) bool { return strings.HasSuffix(table, "tasks") }
	})
	svc := rt.Tasks()
	single, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "w"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "w", SubTasks: make([]any, 3)})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	if got := get(t, svc, single.Key()).Task; got.Status != task.StatusCreated {
		t.Fatalf("without its stream record: %s", got.Status)
	}
	if err := rt.AdvanceClock(task.DefaultStuckAfter); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	if got := get(t, svc, single.Key()).Task; got.Status != task.StatusCompleted {
		t.Fatalf("single task after the sweep: %s", got.Status)
	}
	d := get(t, svc, p.Key())
	if d.Task.Status != task.StatusCompleted || d.Task.Counts.Succeeded != 3 || string(d.SubTasks[2].Result) != `{"n":12}` {
		t.Fatalf("parent after the sweep: %s %+v", d.Task.Status, d.Task.Counts)
	}
	// Nothing is left for the sweep.
	if res, err := rt.SweepTasks(bg); err != nil || res != (task.SweepResult{}) {
		t.Fatalf("sweep after recovery: %+v %v", res, err)
	}
}

// A last delivery that crashed while holding the task leaves no delivery
// to take it over (its message goes to the dead-letter queue): the sweep
// fails the task once its lease ran out.
func TestSweepFailsCrashedLastAttempt(t *testing.T) {
	h := newHang()
	reg := task.NewRegistry()
	task.Register(reg, "slow", func(context.Context, task.Job[echo]) (echo, error) {
		h.run()
		return echo{Text: "late"}, nil
	})
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.Tasks.Settings.MaxReceiveCount = 1
		o.WrapHandler = h.timeoutFirst(func(p json.RawMessage) bool { return strings.Contains(string(p), `"eventSource":"aws:sqs"`) })
	})
	svc := rt.Tasks()
	tk, err := svc.Create(bg, task.Input{TenantCode: "acme", Type: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	<-h.held
	waitIdle(t, rt)
	set := svc.Settings()
	if err := rt.AdvanceClock(set.Lease + set.StuckAfter); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	got := get(t, svc, tk.Key()).Task
	if got.Status != task.StatusFailed || !strings.Contains(got.Error, "did not finish within its lease") {
		t.Fatalf("after the sweep: %s %q", got.Status, got.Error)
	}
	dlq, err := rt.Queues.Receive(bg, rt.Config.TaskDLQ(), 10, 0)
	if err != nil || len(dlq) != 1 {
		t.Fatalf("dead-letter queue: %v %v", dlq, err)
	}
	close(h.release)
	<-h.returned
	waitIdle(t, rt)
	if late := get(t, svc, tk.Key()).Task; late.Status != task.StatusFailed || late.Version != got.Version {
		t.Fatalf("the crashed attempt's late outcome changed the task: %+v", late)
	}
}

// A sub-task whose steps fail beyond every retry, recording the failure
// included, fails the Map: Abort records the parent FAILED with the
// error and every unfinished sub-task with it; the counters stay exact.
func TestAbortWhenTheMapFails(t *testing.T) {
	reg := task.NewRegistry()
	task.Register(reg, "w", func(_ context.Context, j task.Job[echo]) (echo, error) { return echo{N: j.Index}, nil },
		task.MaxConcurrency(1))
	rt := newRuntime(t, reg, func(o *local.Options) {
		o.AutoAdvanceClock = true
		o.WrapHandler = func(next eventfactory.HandlerFunc) eventfactory.HandlerFunc {
			return func(ctx context.Context, payload json.RawMessage) (any, error) {
				if i, ok := stepIndex(payload); ok && i == 2 || strings.Contains(string(payload), `"Name":"`+task.StateSubTaskFailed+`"`) {
					return nil, messages.InvokeResponse_Error{Type: "Boom", Message: "the function is broken"}
				}
				return next(ctx, payload)
			}
		}
	})
	svc := rt.Tasks()
	p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "w", SubTasks: make([]any, 5)})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt)
	d := get(t, svc, p.Key())
	if d.Task.Status != task.StatusFailed || !strings.HasPrefix(d.Task.Error, "the task state machine failed: ") {
		t.Fatalf("parent %s %q", d.Task.Status, d.Task.Error)
	}
	if c := recount(d.SubTasks); c != d.Task.Counts || c != (task.Counts{Total: 5, Succeeded: 2, Failed: 3}) {
		t.Fatalf("counters %+v, recount %+v", d.Task.Counts, c)
	}
	fs := allFailures(t, svc, p.Key())
	if indexes(fs) != "2,3,4" || fs[0].Error != d.Task.Error {
		t.Fatalf("failures %+v", fs)
	}
	ex := execution(t, rt, d.Task)
	if ex.Status != core.ExecutionFailed || ex.Error != task.ErrorNameTaskFailed || ex.Cause != d.Task.Error {
		t.Fatalf("execution %s %s %q", ex.Status, ex.Error, ex.Cause)
	}
}
