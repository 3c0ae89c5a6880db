package local

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/task"
)

// TaskOptions turn on the task capability (package task) in the runtime:
// the tasks table {prefix}tasks with a NEW_IMAGE stream (filtered as
// task.StreamFilterCriteria filters it) and the sparse
// task.UnsettledIndex; the task queue with its dead-letter queue, as an
// SQS event source mapping (visibility timeout Settings.Lease, redrive
// after Settings.MaxReceiveCount receives); the task state machine
// (task.StateMachineJSON) on the interpreter, whose distributed Map reads
// its manifest from the runtime's object store; the task service with its
// routes; and the periodic task sweep (Options.SweepInterval).
type TaskOptions struct {
	// Registry holds the task handlers. With Options.App it is ignored:
	// the application includes task.Module and provides its *task.Registry
	// (the runtime supplies the task.Settings).
	Registry *task.Registry
	// Settings tune the service and the task queue; the runtime sets
	// Clock to its own clock.
	Settings task.Settings
	// BatchSize is the most messages of one task queue invocation (1 to
	// 10, default 10).
	BatchSize int
}

// taskRuntime is the task capability of a Runtime.
type taskRuntime struct {
	opts    TaskOptions
	set     task.Settings
	service *task.Service
	machine []byte
}

// taskMachineName is the name of the runtime's task state machine.
func taskMachineName(cfg core.Config) string { return cfg.Prefix() + "task" }

// withTaskMachine sets cfg.TaskStateMachineARN to the runtime's task state
// machine when tasks are on and it is empty.
func withTaskMachine(cfg core.Config, opts Options) core.Config {
	if opts.Tasks != nil && cfg.TaskStateMachineARN == "" {
		cfg.TaskStateMachineARN = memory.StateMachineARN(taskMachineName(cfg))
	}
	return cfg
}

// setupTasks creates the task resources and wires the task service:
// without fx, its routes join rt.opts.Routes; with Options.App, the
// runtime supplies the task.Settings to the application's graph and
// populates Tasks from it. The task queue joins opts.QueueSources. It runs
// after the workflows exist and before the dispatcher is built.
func (rt *Runtime) setupTasks(opts *Options) error {
	if opts.Tasks == nil {
		return nil
	}
	cfg := rt.Config
	set := opts.Tasks.Settings
	set.Clock = rt.Clock.Now
	tr := &taskRuntime{opts: *opts.Tasks, set: set}
	rt.tasks = tr
	if err := rt.Store.CreateTable(cfg.TasksTable(), memory.WithStream(memory.StreamNewImage), memory.WithIndex(task.UnsettledIndex)); err != nil {
		return fmt.Errorf("local: tasks table: %w", err)
	}
	var err error
	tr.machine, err = task.StateMachineJSON(task.StateMachineOptions{
		FunctionARN: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", memory.Region, memory.Account, opts.FunctionName),
	})
	if err != nil {
		return err
	}
	name := cfg.TaskStateMachineARN[strings.LastIndexByte(cfg.TaskStateMachineARN, ':')+1:]
	if _, err := rt.Workflows.CreateStateMachine(name, string(tr.machine)); err != nil {
		return fmt.Errorf("local: task state machine: %w", err)
	}
	if opts.App != nil {
		rt.opts.App = fx.Options(fx.Supply(set), opts.App, fx.Populate(&tr.service))
	} else {
		tr.service, err = task.New(task.Options{
			Config: cfg, Store: rt.Items, Registry: opts.Tasks.Registry, Queue: rt.Queues, Workflows: rt.Workflows,
			Objects: rt.Objects, Topic: rt.Topics, Settings: set, Logger: rt.log,
		})
		if err != nil {
			return fmt.Errorf("local: %w", err)
		}
		routes, err := tr.service.Routes()
		if err != nil {
			return fmt.Errorf("local: %w", err)
		}
		rt.opts.Routes = append(append([]eventfactory.Registration(nil), rt.opts.Routes...), routes)
	}
	// The queue matches the service's settings: its visibility timeout is
	// the lease, its redrive the receive limit.
	maxReceive, lease := set.MaxReceiveCount, set.Lease
	if maxReceive == 0 {
		maxReceive = task.DefaultMaxReceiveCount
	}
	if lease == 0 {
		lease = task.DefaultLease
	}
	opts.QueueSources = append(opts.QueueSources, QueueSource{
		Queue:     cfg.TaskQueue(),
		Config:    memory.QueueConfig{VisibilityTimeout: lease, DeadLetterQueue: cfg.TaskDLQ(), MaxReceiveCount: maxReceive},
		BatchSize: opts.Tasks.BatchSize,
	})
	return nil
}

// startTasks starts delivering the tasks table's stream and the periodic
// task sweep. It runs once the runtime's context exists.
func (rt *Runtime) startTasks(ctx context.Context) {
	if rt.tasks == nil {
		return
	}
	sh := newShard(rt, rt.Config.TasksTable(), func(r events.DynamoDBEventRecord) bool {
		kind := r.Change.NewImage["kind"]
		return kind.DataType() == events.DataTypeString && task.Streamed(r.EventName, kind.String())
	})
	rt.shards = append(rt.shards, sh)
	rt.unsubs = append(rt.unsubs, rt.Store.Subscribe(sh.table, sh.add))
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		sh.run(ctx)
	}()
	if every := rt.sweepInterval(); every > 0 {
		rt.every(ctx, every, rt.sweepTasksNow)
	}
}

func (rt *Runtime) sweepTasksNow(ctx context.Context) {
	if _, err := rt.SweepTasks(ctx); err != nil && ctx.Err() == nil {
		rt.log.ErrorContext(ctx, "local: task sweep failed", "err", err)
	}
}

// Tasks returns the task service (nil unless Options.Tasks is set).
func (rt *Runtime) Tasks() *task.Service {
	if rt.tasks == nil {
		return nil
	}
	return rt.tasks.service
}

// TaskStateMachine returns the definition the task executions run (nil
// unless Options.Tasks is set).
func (rt *Runtime) TaskStateMachine() []byte {
	if rt.tasks == nil {
		return nil
	}
	return rt.tasks.machine
}

// SweepTasks runs task.Service.Sweep now (see Options.SweepInterval for
// the periodic one).
func (rt *Runtime) SweepTasks(ctx context.Context) (task.SweepResult, error) {
	s := rt.Tasks()
	if s == nil {
		return task.SweepResult{}, fmt.Errorf("local: tasks are off (Options.Tasks is nil): %w", core.ErrNotFound)
	}
	return s.Sweep(ctx, task.SweepOptions{})
}
