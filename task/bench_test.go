package task_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/local"
	"github.com/stepcqrs/stepcqrs/task"
)

// BenchmarkTaskFanOut measures a fan-out of n sub-tasks end to end on the
// embedded runtime — CreateFanOut, the stream, the task state machine,
// every sub-task step, Finalize — and reports its cost per sub-task:
// ItemStore calls (a transaction or a batch write is one call), state
// transitions (what Step Functions bills) and Lambda invocations (steps
// and stream batches). n=100 and n=1000 run on the inline Map, n=3000 on
// the distributed Map over a manifest. The runtime counts the transitions
// of the parent execution only: a distributed Map's child executions are
// not in its history, so for n=3000 the figure leaves out the one
// transition (SubTask) each STANDARD child execution bills on AWS.
func BenchmarkTaskFanOut(b *testing.B) {
	for _, n := range []int{100, 1000, 3000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			reg := task.NewRegistry()
			task.Register(reg, "work", func(_ context.Context, j task.Job[echo]) (echo, error) {
				return echo{N: j.Input.N + 1}, nil
			}, task.MaxConcurrency(16))
			rt := newRuntime(b, reg, func(o *local.Options) { o.MaxHistories = 1 })
			svc := rt.Tasks()
			inputs := make([]any, n)
			for i := range inputs {
				inputs[i] = echo{N: i}
			}
			before := rt.Stats()
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				p, err := svc.CreateFanOut(bg, task.FanOutInput{TenantCode: "acme", Type: "work", SubTasks: inputs})
				if err != nil {
					b.Fatal(err)
				}
				waitIdle(b, rt)
				if d := get(b, svc, p.Key()); d.Task.Status != task.StatusCompleted || d.Task.Counts.Succeeded != int64(n) {
					b.Fatalf("parent %s %+v", d.Task.Status, d.Task.Counts)
				}
			}
			b.StopTimer()
			s := rt.Stats().Sub(before)
			subs := float64(b.N * n)
			b.ReportMetric(float64(s.StoreCalls)/subs, "store-calls/subtask")
			b.ReportMetric(float64(s.Transitions)/subs, "transitions/subtask")
			b.ReportMetric(float64(s.LambdaInvocations)/subs, "lambda-invocations/subtask")
			b.ReportMetric(subs/time.Since(start).Seconds(), "subtasks/s")
		})
	}
}
