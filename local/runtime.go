// Package local is the embedded runtime of stepcqrs: a whole
// service in one process, with no AWS and no Docker.
//
// New wires the in-memory adapters of core/memory (a store whose command
// tables emit DynamoDB stream records, an object store, queues and topics)
// to the service's event-factory dispatcher, exactly as AWS would: stream
// records reach the dispatcher as batched events.DynamoDBEvent JSON, and
// state machine executions run the definitions that are deployed to AWS
// (command.StateMachineJSON) on the asl/interp interpreter, whose Lambda
// tasks invoke the dispatcher in-process with the payloads Step Functions
// sends. Queues with an event source mapping (Options.QueueSources) reach
// it as events.SQSEvent batches with partial batch failures, visibility
// timeouts and dead-letter queues; subscribed topics
// (Options.TopicSubscriptions) as asynchronous events.SNSEvent
// invocations. A virtual clock makes Wait states, retries and timeouts
// instant; fault injection duplicates, reorders and loses stream
// deliveries and fails Lambda invocations; counters and execution
// histories (the last ones, Options.MaxHistories) show what ran.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/serve/integrations"
	"go.uber.org/fx"
)

// Defaults of the runtime's bounds on what it keeps for inspection.
const (
	// DefaultMaxHistories is the default of Options.MaxHistories and
	// Options.MaxFailedHistories.
	DefaultMaxHistories = 1000
	// DefaultMaxPublished is the default of Options.MaxPublished.
	DefaultMaxPublished = 1000
)

// DefaultFunctionName is the name of the service's Lambda function inside
// the runtime; the state machines invoke it.
const DefaultFunctionName = "stepcqrs-local"

// Faults configures fault injection. Rates are probabilities in [0, 1].
type Faults struct {
	// DuplicateRate is the probability that a stream record is delivered
	// a second time, in a later batch.
	DuplicateRate float64
	// ReorderRate is the probability that a stream record is held back
	// and delivered after records that followed it.
	ReorderRate float64
	// LambdaFailureRate is the probability that a Lambda invocation fails:
	// half of the failures before the function runs (a Lambda service
	// error, Lambda.ServiceException), half after it ran (its result is
	// lost, Sandbox.Timedout), as a function timeout would. Step Functions
	// retries them per the state's Retry; failed stream batches are
	// redelivered as an event source mapping does.
	LambdaFailureRate float64
	// DropRate is the probability that a stream record is lost: never
	// delivered, as a record whose batch failed beyond the event source
	// mapping's retries (counted in Stats.StreamDropped).
	DropRate float64
	// Drop, when set, is asked about every stream record before delivery;
	// true loses it like DropRate does (to lose one chosen record).
	Drop func(table string, rec events.DynamoDBEventRecord) bool
	// TransientStoreCalls makes the first TransientStoreCalls ItemStore
	// calls of every state machine step (one state of one execution,
	// across its retries) and of every stream batch (across its
	// redeliveries) fail with a *core.TransientError, as DynamoDB
	// throttling that outlived the AWS SDK's own retries would: the step
	// fails with the error named TransientError, which the state machine
	// retries, and the batch is redelivered. Counted in
	// Stats.TransientStoreErrors.
	TransientStoreCalls int
}

// Options configure a Runtime.
type Options struct {
	// Config is the service configuration; zero means
	// core.DefaultConfig(). An empty CommandStateMachineARN is set to the
	// runtime's command state machine.
	Config core.Config
	// Modules are the CQRS modules (tables {prefix}{module}-command, -data,
	// -history are created, the command table with a NEW_IMAGE stream).
	// A runtime of tasks alone (Options.Tasks) may have none.
	Modules []string
	// Registry holds the modules' data-sync handlers (nil: none).
	Registry *command.Registry
	// Routes are further event-factory registrations of the application.
	Routes []eventfactory.Registration
	// App, when set, builds the service from the application's fx modules,
	// as production does (there with core.Module, awsadapter.Module and
	// eventfactory.Module): the runtime supplies core.Config and its
	// in-memory ports (core.ItemStore, core.Workflows, core.ObjectStore,
	// core.Queue, core.Topic), its clock (core.Clock), a
	// command.RejectedRecordHook counting into Stats.StreamRejected, and
	// includes eventfactory.Module; App must
	// contribute the routes (e.g. command.Steps through
	// eventfactory.AsRegistration) and may provide the
	// map[string]*command.Service the runtime exposes. Registry and Routes
	// are then ignored.
	App fx.Option
	// FunctionName names the service's Lambda; default DefaultFunctionName.
	FunctionName string
	// RealClock runs on the wall clock. By default the runtime uses a
	// virtual clock starting at ClockStart (or now): Wait states, retry
	// intervals and timeouts take no real time.
	RealClock bool
	// ClockStart is the virtual clock's start (zero: now).
	ClockStart time.Time
	// AutoAdvanceClock moves the virtual clock to its next timer whenever
	// the runtime is quiet but for executions waiting on the clock (a
	// Wait for a predecessor, say): timeouts then fire by themselves, as
	// time passing would make them on AWS, and WaitIdle returns once the
	// flow has recovered. Off by default: tests that control time call
	// AdvanceClock. Ignored with RealClock.
	AutoAdvanceClock bool
	// WaitTimeoutSeconds bounds one Wait of the command state machine
	// (default 300).
	WaitTimeoutSeconds int
	// StreamBatchSize is the most records of one stream invocation
	// (default 100, the event source mapping's default).
	StreamBatchSize int
	// Faults configures fault injection (default: none).
	Faults Faults
	// Seed, when non-zero, makes fault injection and the interpreter's
	// ids and jitter deterministic for a given schedule.
	Seed uint64
	// MaxHistories bounds the execution histories kept in memory
	// (Workflows.History, StatesEntered) to those of the running
	// executions, of the last MaxHistories executions that ended, and of
	// the last MaxFailedHistories that failed (kept apart, so a failure's
	// history outlives a long run of successes). Zero means
	// DefaultMaxHistories; negative keeps every history. Execution records
	// (Workflows.Executions) are kept, as Step Functions keeps them, so
	// deterministic names stay idempotent; beyond the last MaxHistories
	// ended executions they keep name, status, error, cause and dates, not
	// input and output.
	MaxHistories int
	// MaxFailedHistories bounds the histories of failed (or timed out, or
	// aborted) executions kept beyond MaxHistories. Zero means
	// DefaultMaxHistories; negative keeps every one.
	MaxFailedHistories int
	// MaxPublished bounds the messages Topics records per topic
	// (Topics.Published): the last MaxPublished. Zero means
	// DefaultMaxPublished; negative records every message.
	MaxPublished int
	// QueueSources are SQS event source mappings: their queues are
	// created and their messages delivered to the service's Lambda (see
	// Runtime.AddQueueSource).
	QueueSources []QueueSource
	// TopicSubscriptions are topics the service's Lambda is subscribed to
	// (see Runtime.SubscribeTopic).
	TopicSubscriptions []string
	// SweepInterval is how often the runtime runs command.Sweep, on its
	// clock (on the virtual clock: when AdvanceClock or AutoAdvanceClock
	// moves it past the next sweep). Zero means 5 minutes; negative turns
	// the periodic sweep off (Runtime.Sweep still runs one).
	SweepInterval time.Duration
	// SweepOlderThan is the sweep's SweepOptions.OlderThan (zero:
	// command.DefaultSweepAge).
	SweepOlderThan time.Duration
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Tasks, when set, runs the task capability (see TaskOptions).
	Tasks *TaskOptions
	// Imports, when set, runs the CSV import capability (see
	// ImportOptions).
	Imports *ImportOptions
	// Events receives the events of the state machines'
	// arn:aws:states:::events:putEvents tasks (see
	// integrations.EventBus); nil validates and acknowledges them as
	// EventBridge does, and drops them.
	Events integrations.EventBus
	// WrapHandler, when set, wraps the service's Lambda handler: every
	// invocation (stream, queue, topic, state machine step) goes through
	// it, e.g. for tracing or fault injection of one's own.
	WrapHandler func(eventfactory.HandlerFunc) eventfactory.HandlerFunc
}

// Stats are the runtime's counters.
type Stats struct {
	// Transitions counts state transitions (StateEntered events, nested
	// states included) of ended executions: what Step Functions bills.
	Transitions int64
	// LambdaInvocations counts every invocation of the service's Lambda:
	// StepInvocations + StreamInvocations + QueueInvocations +
	// TopicInvocations.
	LambdaInvocations int64
	// StepInvocations counts invocations by state machine tasks, retries
	// included.
	StepInvocations int64
	// StreamInvocations counts stream batch invocations, redeliveries
	// included.
	StreamInvocations int64
	// InjectedFailures counts invocations failed by fault injection.
	InjectedFailures int64
	// TransientStoreErrors counts ItemStore calls failed by
	// Faults.TransientStoreCalls.
	TransientStoreErrors int64
	// StoreCalls counts ItemStore calls of the service (a transaction is
	// one call).
	StoreCalls int64
	// StreamRecords counts stream records delivered (duplicates and
	// redeliveries included).
	StreamRecords int64
	// StreamDuplicates and StreamReordered count injected duplicate and
	// held-back deliveries.
	StreamDuplicates, StreamReordered int64
	// Sweeps counts the runs of command.Sweep; SweepStarted and
	// SweepFailed the commands they started an execution for and marked
	// failed (see command.SweepResult).
	Sweeps, SweepStarted, SweepFailed int64
	// StreamRejected counts command stream records that the command
	// flow's stream route rejected (see command.RejectedRecord).
	StreamRejected int64
	// StreamRetries counts batch redeliveries after failures;
	// StreamDropped counts records given up on after MaxStreamRetries or
	// lost by fault injection (Faults.DropRate, Faults.Drop).
	StreamRetries, StreamDropped int64
	// ExecutionsStarted, ExecutionsSucceeded and ExecutionsFailed count
	// state machine executions (failed includes timed out and aborted).
	ExecutionsStarted, ExecutionsSucceeded, ExecutionsFailed int64
	// QueueInvocations counts SQS batch invocations; QueueMessages the
	// messages they carried (redeliveries included); QueueFailures the
	// messages that failed (batchItemFailures or a failed invocation) and
	// went back to their queue.
	QueueInvocations, QueueMessages, QueueFailures int64
	// TopicInvocations counts asynchronous invocations for SNS messages,
	// retries included; TopicFailures the messages given up on after
	// the retries.
	TopicInvocations, TopicFailures int64
}

type counters struct {
	transitions, stepInv, streamInv, injected, storeCalls         atomic.Int64
	streamRecords, streamDup, streamReordered, streamRetries      atomic.Int64
	streamDropped, execStarted, execSucceeded, execFailed, active atomic.Int64
	storeInflight                                                 atomic.Int64
	queueInv, queueMessages, queueFailures                        atomic.Int64
	topicInv, topicFailures, topicInflight                        atomic.Int64
	stepInflight, transientStore, streamRejected                  atomic.Int64
	sweeps, sweepStarted, sweepFailed                             atomic.Int64
}

// Runtime is a running embedded service.
type Runtime struct {
	// Config is the service configuration, with CommandStateMachineARN set.
	Config core.Config
	// Store is the in-memory item store (tables, streams, inspection).
	Store *memory.Store
	// Items is the store as the service sees it: Store, counted.
	Items core.ItemStore
	// Objects, Queues and Topics are the in-memory object store, queues
	// and topics.
	Objects *memory.Objects
	Queues  *memory.Queues
	Topics  *memory.Topics
	// Workflows runs state machine executions on the interpreter.
	Workflows *Workflows
	// Services are the command services by module.
	Services map[string]*command.Service
	// Dispatcher is the service's event factory: what lambda.Start gets in
	// production.
	Dispatcher *eventfactory.Dispatcher
	// Clock is the runtime's clock (an *interp.VirtualClock unless
	// Options.RealClock).
	Clock interp.Clock
	// CommandStateMachine is the definition the command executions run.
	CommandStateMachine []byte

	opts    Options
	log     *slog.Logger
	handler eventfactory.HandlerFunc
	c       counters

	rndMu sync.Mutex
	rnd   *rand.Rand

	// budgets holds the budgets of Faults.TransientStoreCalls by unit of
	// work (see transientBudget).
	budgets sync.Map

	// periodic counts the periodic jobs on the virtual clock (see every):
	// each keeps one timer pending.
	periodic atomic.Int32

	app    *fx.App
	shards []*shard
	unsubs []func()
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	msgMu       sync.Mutex
	pollers     []*poller
	topicUnsubs []func()
	asyncWG     sync.WaitGroup // asynchronous (SNS) invocations

	tasks *taskRuntime // nil unless Options.Tasks

	imports *importRuntime // nil unless Options.Imports
}

// New builds and starts a runtime: tables, topics, the bucket, the command
// services, the dispatcher with the command flow's routes, the command state
// machine, and one stream poller per command table. Close stops it.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if len(opts.Modules) == 0 && opts.Tasks == nil {
		return nil, &core.ValidationError{Problems: []string{"local: Options.Modules is empty (and there are no Options.Tasks)"}}
	}
	cfg := opts.Config
	if cfg.Env == "" && cfg.AppName == "" && cfg.TablePrefix == "" {
		base := core.DefaultConfig()
		base.CommandStateMachineARN = cfg.CommandStateMachineARN
		cfg = base
	}
	if opts.FunctionName == "" {
		opts.FunctionName = DefaultFunctionName
	}
	if opts.StreamBatchSize <= 0 {
		opts.StreamBatchSize = 100
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var clock interp.Clock = interp.RealClock{}
	if !opts.RealClock {
		start := opts.ClockStart
		if start.IsZero() {
			start = time.Now()
		}
		clock = interp.NewVirtualClock(start)
	}
	machineName := cfg.Prefix() + "command"
	if cfg.CommandStateMachineARN == "" {
		cfg.CommandStateMachineARN = memory.StateMachineARN(machineName)
	} else {
		machineName = command.MachineName(cfg.CommandStateMachineARN)
	}
	cfg = withTaskMachine(cfg, opts)
	cfg = withImportMachine(cfg, opts)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rt := &Runtime{
		Config:  cfg,
		Store:   memory.NewStore(memory.WithClock(clock.Now)),
		Objects: memory.NewObjects(),
		Queues:  memory.NewQueues(memory.WithQueuesClock(clock.Now)),
		Topics:  memory.NewTopics(memory.KeepPublished(keepPublished(opts.MaxPublished))),
		Clock:   clock,
		opts:    opts,
		log:     log,
		rnd:     rand.New(rand.NewPCG(seed, seed^0x5bd1e995)),
	}
	rt.Items = &countingStore{ItemStore: rt.Store, n: &rt.c.storeCalls, inflight: &rt.c.storeInflight,
		transient: &rt.c.transientStore, closed: &rt.closed}
	for _, m := range opts.Modules {
		if err := cfg.ValidateModule(m); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
		if err := rt.Store.CreateTable(cfg.CommandTable(m), memory.WithStream(memory.StreamNewImage), memory.WithIndex(command.UnsettledIndex)); err != nil {
			return nil, err
		}
		for _, t := range []string{cfg.DataTable(m), cfg.HistoryTable(m)} {
			if err := rt.Store.CreateTable(t); err != nil {
				return nil, err
			}
		}
	}
	if err := rt.Objects.CreateBucket(cfg.Bucket()); err != nil {
		return nil, err
	}
	if err := rt.Topics.CreateTopic(cfg.NotificationTopic()); err != nil {
		return nil, err
	}
	rt.Workflows = newWorkflows(rt, opts.Seed)
	if err := rt.setupTasks(&opts); err != nil {
		return nil, err
	}
	if err := rt.setupImports(&opts); err != nil {
		return nil, err
	}
	if opts.App != nil {
		if err := rt.startApp(ctx); err != nil {
			return nil, err
		}
	} else if err := rt.build(); err != nil {
		return nil, err
	}
	rt.handler = rt.Dispatcher.Handler()
	if opts.WrapHandler != nil {
		rt.handler = opts.WrapHandler(rt.handler)
	}
	var err error
	rt.CommandStateMachine, err = command.StateMachineJSON(command.StateMachineOptions{
		FunctionARN:        fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", memory.Region, memory.Account, opts.FunctionName),
		WaitTimeoutSeconds: opts.WaitTimeoutSeconds,
	})
	if err != nil {
		return nil, err
	}
	if _, err := rt.Workflows.CreateStateMachine(machineName, string(rt.CommandStateMachine)); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt.runCtx, rt.cancel = runCtx, cancel
	for _, m := range opts.Modules {
		sh := newShard(rt, cfg.CommandTable(m), command.Streamed) // the mapping's filter
		rt.shards = append(rt.shards, sh)
		rt.unsubs = append(rt.unsubs, rt.Store.Subscribe(sh.table, sh.add))
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			sh.run(runCtx)
		}()
	}
	rt.startTasks(runCtx)
	rt.startImports(runCtx)
	if every := rt.sweepInterval(); every > 0 && len(rt.Services) > 0 {
		rt.every(runCtx, every, rt.sweepNow)
	}
	if vc, ok := clock.(*interp.VirtualClock); ok && opts.AutoAdvanceClock {
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			rt.autoAdvance(runCtx, vc)
		}()
	}
	for _, src := range opts.QueueSources {
		if err := rt.AddQueueSource(src); err != nil {
			_ = rt.Close()
			return nil, err
		}
	}
	for _, tp := range opts.TopicSubscriptions {
		if err := rt.SubscribeTopic(tp); err != nil {
			_ = rt.Close()
			return nil, err
		}
	}
	return rt, nil
}

// build wires the command services and the dispatcher without fx.
func (rt *Runtime) build() error {
	cfg, opts, log := rt.Config, rt.opts, rt.log
	svcs, err := command.NewServices(command.Options{
		Config: cfg, Store: rt.Items, Objects: rt.Objects, Topic: rt.Topics,
		Source: "local", Clock: rt.Clock.Now, Logger: log,
	}, opts.Registry, opts.Modules...)
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	rt.Services = svcs
	router := eventfactory.NewRouter(eventfactory.Config{Logger: log})
	if len(svcs) > 0 { // none in a runtime of tasks alone
		steps, err := command.Steps(command.StepsOptions{
			Services: svcs, Workflows: rt.Workflows, StateMachineARN: cfg.CommandStateMachineARN,
			OnRejected: rt.countRejected, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("local: %w", err)
		}
		steps(router)
	}
	for _, reg := range opts.Routes {
		if reg != nil {
			reg(router)
		}
	}
	rt.Dispatcher, err = router.Build()
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	return nil
}

// keepPublished is memory.KeepPublished's n for Options.MaxPublished.
func keepPublished(n int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return DefaultMaxPublished
	}
	return n
}

// Sweep runs command.Sweep over the runtime's modules now (see
// Options.SweepInterval for the periodic one).
func (rt *Runtime) Sweep(ctx context.Context) (command.SweepResult, error) {
	if len(rt.Services) == 0 {
		return command.SweepResult{}, fmt.Errorf("local: no CQRS module to sweep: %w", core.ErrNotFound)
	}
	res, err := command.Sweep(ctx, command.StepsOptions{
		Services: rt.Services, Workflows: rt.Workflows, StateMachineARN: rt.Config.CommandStateMachineARN, Logger: rt.log,
	}, command.SweepOptions{OlderThan: rt.opts.SweepOlderThan, Now: rt.Clock.Now})
	rt.c.sweeps.Add(1)
	rt.c.sweepStarted.Add(int64(res.Started))
	rt.c.sweepFailed.Add(int64(res.Failed))
	return res, err
}

// sweepInterval is the period of the runtime's sweeps (0: none).
func (rt *Runtime) sweepInterval() time.Duration {
	switch d := rt.opts.SweepInterval; {
	case d < 0:
		return 0
	case d == 0:
		return 5 * time.Minute
	default:
		return d
	}
}

// every runs f every d on the runtime's clock until ctx ends. On the
// virtual clock each run happens inside the clock move that reaches its
// time (so AdvanceClock returns after it), and a move across several
// periods runs f once for each, at the time the clock reached; on the wall
// clock a ticker drives it.
func (rt *Runtime) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	vc, ok := rt.Clock.(*interp.VirtualClock)
	if !ok {
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				f(ctx)
			}
		}()
		return
	}
	rt.periodic.Add(1)
	var at func(time.Time)
	at = func(t time.Time) {
		vc.AtFunc(t, func() {
			if ctx.Err() != nil {
				return
			}
			f(ctx)
			at(t.Add(d))
		})
	}
	at(vc.Now().Add(d))
}

// sweepNow runs one periodic sweep, logging a failure.
func (rt *Runtime) sweepNow(ctx context.Context) {
	if _, err := rt.Sweep(ctx); err != nil && ctx.Err() == nil {
		rt.log.ErrorContext(ctx, "local: sweep failed", "err", err)
	}
}

// countRejected is the command flow's RejectedRecordHook: it counts the
// record in Stats.StreamRejected.
func (rt *Runtime) countRejected(context.Context, command.RejectedRecord) {
	rt.c.streamRejected.Add(1)
}

// startApp builds the service from Options.App with fx.
func (rt *Runtime) startApp(ctx context.Context) error {
	type services struct {
		fx.In
		Services map[string]*command.Service `optional:"true"`
	}
	app := fx.New(
		fx.NopLogger,
		fx.Supply(rt.Config, eventfactory.Config{Logger: rt.log}, command.RejectedRecordHook(rt.countRejected), core.Clock(rt.Clock.Now)),
		fx.Provide(
			func() core.ItemStore { return rt.Items },
			func() core.Workflows { return rt.Workflows },
			func() core.ObjectStore { return rt.Objects },
			func() core.Queue { return rt.Queues },
			func() core.Topic { return rt.Topics },
		),
		eventfactory.Module,
		rt.opts.App,
		fx.Populate(&rt.Dispatcher),
		fx.Invoke(func(s services) { rt.Services = s.Services }),
	)
	if err := app.Err(); err != nil {
		return fmt.Errorf("local: fx: %w", err)
	}
	if err := app.Start(ctx); err != nil {
		return fmt.Errorf("local: fx start: %w", err)
	}
	rt.app = app
	return nil
}

// Close stops the stream pollers and aborts running executions. After
// Close every write through the runtime's store (PublishAsync and the
// other write paths of the services) fails with an error matching
// ErrClosed, and stores nothing; reads keep working, for inspection.
func (rt *Runtime) Close() error {
	if !rt.closed.CompareAndSwap(false, true) {
		return nil
	}
	for _, u := range rt.unsubs {
		u()
	}
	rt.msgMu.Lock()
	unsubs := rt.topicUnsubs
	rt.msgMu.Unlock()
	for _, u := range unsubs {
		u()
	}
	rt.cancel()
	for _, sh := range rt.shards {
		sh.wake()
	}
	rt.wg.Wait()
	rt.asyncWG.Wait()
	rt.Workflows.stopAll()
	if rt.app != nil {
		return rt.app.Stop(context.Background())
	}
	return nil
}

// Service returns the command service of module (nil when unknown).
func (rt *Runtime) Service(module string) *command.Service { return rt.Services[module] }

// Handler returns the service's Lambda handler, as lambda.Start gets it.
func (rt *Runtime) Handler() eventfactory.HandlerFunc { return rt.handler }

// Stats returns the counters.
func (rt *Runtime) Stats() Stats {
	c := &rt.c
	s := Stats{
		Transitions:          c.transitions.Load(),
		StepInvocations:      c.stepInv.Load(),
		StreamInvocations:    c.streamInv.Load(),
		InjectedFailures:     c.injected.Load(),
		TransientStoreErrors: c.transientStore.Load(),
		StreamRejected:       c.streamRejected.Load(),
		Sweeps:               c.sweeps.Load(),
		SweepStarted:         c.sweepStarted.Load(),
		SweepFailed:          c.sweepFailed.Load(),
		StoreCalls:           c.storeCalls.Load(),
		StreamRecords:        c.streamRecords.Load(),
		StreamDuplicates:     c.streamDup.Load(),
		StreamReordered:      c.streamReordered.Load(),
		StreamRetries:        c.streamRetries.Load(),
		StreamDropped:        c.streamDropped.Load(),
		ExecutionsStarted:    c.execStarted.Load(),
		ExecutionsSucceeded:  c.execSucceeded.Load(),
		ExecutionsFailed:     c.execFailed.Load(),
		QueueInvocations:     c.queueInv.Load(),
		QueueMessages:        c.queueMessages.Load(),
		QueueFailures:        c.queueFailures.Load(),
		TopicInvocations:     c.topicInv.Load(),
		TopicFailures:        c.topicFailures.Load(),
	}
	s.LambdaInvocations = s.StepInvocations + s.StreamInvocations + s.QueueInvocations + s.TopicInvocations
	return s
}

// Sub returns s - o, counter by counter (figures of a phase).
func (s Stats) Sub(o Stats) Stats {
	return Stats{
		Transitions: s.Transitions - o.Transitions, LambdaInvocations: s.LambdaInvocations - o.LambdaInvocations,
		StepInvocations: s.StepInvocations - o.StepInvocations, StreamInvocations: s.StreamInvocations - o.StreamInvocations,
		InjectedFailures: s.InjectedFailures - o.InjectedFailures, StoreCalls: s.StoreCalls - o.StoreCalls,
		TransientStoreErrors: s.TransientStoreErrors - o.TransientStoreErrors,
		StreamRejected:       s.StreamRejected - o.StreamRejected,
		Sweeps:               s.Sweeps - o.Sweeps, SweepStarted: s.SweepStarted - o.SweepStarted,
		SweepFailed:   s.SweepFailed - o.SweepFailed,
		StreamRecords: s.StreamRecords - o.StreamRecords, StreamDuplicates: s.StreamDuplicates - o.StreamDuplicates,
		StreamReordered: s.StreamReordered - o.StreamReordered, StreamRetries: s.StreamRetries - o.StreamRetries,
		StreamDropped: s.StreamDropped - o.StreamDropped, ExecutionsStarted: s.ExecutionsStarted - o.ExecutionsStarted,
		ExecutionsSucceeded: s.ExecutionsSucceeded - o.ExecutionsSucceeded, ExecutionsFailed: s.ExecutionsFailed - o.ExecutionsFailed,
		QueueInvocations: s.QueueInvocations - o.QueueInvocations, QueueMessages: s.QueueMessages - o.QueueMessages,
		QueueFailures: s.QueueFailures - o.QueueFailures, TopicInvocations: s.TopicInvocations - o.TopicInvocations,
		TopicFailures: s.TopicFailures - o.TopicFailures,
	}
}

// chance reports true with probability p.
func (rt *Runtime) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	rt.rndMu.Lock()
	defer rt.rndMu.Unlock()
	return rt.rnd.Float64() < p
}

// Idle reports whether no stream record is pending or being delivered, no
// execution is running, no call of the service to the store is in
// progress, no SNS message is being delivered and no polled queue has a
// visible message or a batch in delivery. (A queue message that failed
// and waits for its visibility timeout does not count.)
func (rt *Runtime) Idle() bool {
	return rt.c.active.Load() == 0 && rt.quiet()
}

// quiet is Idle but for running executions.
func (rt *Runtime) quiet() bool {
	for _, sh := range rt.shards {
		if sh.busy() {
			return false
		}
	}
	rt.msgMu.Lock()
	pollers := rt.pollers
	rt.msgMu.Unlock()
	for _, p := range pollers {
		if p.busy() {
			return false
		}
	}
	return rt.c.storeInflight.Load() == 0 && rt.c.topicInflight.Load() == 0
}

// WaitIdle waits until the runtime is idle (see Idle), or ctx ends. An
// execution waiting for a task token that nobody sends keeps the runtime
// busy: give ctx a deadline, and see Running for what is left.
func (rt *Runtime) WaitIdle(ctx context.Context) error {
	delay := 100 * time.Microsecond
	stable := 0
	for {
		if rt.Idle() {
			// Idle twice in a row: a stream write racing the check has
			// had time to be queued.
			stable++
			if stable >= 2 {
				return nil
			}
		} else {
			stable = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("local: not idle (%d executions running): %w", rt.c.active.Load(), ctx.Err())
		case <-time.After(delay):
		}
		if delay < 5*time.Millisecond {
			delay *= 2
		}
	}
}

// Running returns the executions still running.
func (rt *Runtime) Running() []core.Execution {
	var out []core.Execution
	for _, e := range rt.Workflows.Executions("") {
		if e.Status == core.ExecutionRunning {
			out = append(out, e)
		}
	}
	return out
}

// PauseStreams holds stream delivery: records queue up until ResumeStreams
// (for tests that control arrival order). WaitIdle does not return while
// records are held.
func (rt *Runtime) PauseStreams() {
	for _, sh := range rt.shards {
		sh.pause(true)
	}
}

// ResumeStreams resumes stream delivery.
func (rt *Runtime) ResumeStreams() {
	for _, sh := range rt.shards {
		sh.pause(false)
	}
}

// AdvanceClock moves the virtual clock forward by d, firing due timeouts
// (for example of a Wait for a predecessor). It fails on the real clock.
func (rt *Runtime) AdvanceClock(d time.Duration) error {
	vc, ok := rt.Clock.(*interp.VirtualClock)
	if !ok {
		return errors.New("local: AdvanceClock needs the virtual clock")
	}
	vc.Advance(d)
	return nil
}

// autoAdvance moves vc to its next timer when nothing but executions
// waiting on the clock has been going on for a few checks in a row.
func (rt *Runtime) autoAdvance(ctx context.Context, vc *interp.VirtualClock) {
	quiet := 0
	tick := time.NewTicker(500 * time.Microsecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// The periodic jobs' own timers (sweeps) are always pending: only
		// a timer of an execution moves the clock.
		if rt.c.active.Load() == 0 || rt.c.stepInflight.Load() > 0 || vc.Pending() <= int(rt.periodic.Load()) || !rt.quiet() {
			quiet = 0
			continue
		}
		if quiet++; quiet >= 4 {
			quiet = 0
			vc.AdvanceToNext()
		}
	}
}

// countingStore counts the calls of an ItemStore.
type countingStore struct {
	core.ItemStore
	n *atomic.Int64
	// inflight counts calls in progress: a write may deliver stream
	// records of other writers before it returns (see memory.Store), so
	// the runtime is idle only when no call is in progress.
	inflight *atomic.Int64
	// transient counts calls failed by Faults.TransientStoreCalls.
	transient *atomic.Int64
	// closed is the runtime's closed flag: writes after Close fail with
	// ErrClosed, because nothing would process them.
	closed *atomic.Bool
}

// ErrClosed: a write reached a closed runtime. Nothing would ever process
// it (no stream delivery, no execution), so it is refused rather than
// stored. Reads keep working after Close, for inspection.
var ErrClosed = errors.New("local: the runtime is closed")

// write is begin for a write: it refuses writes on a closed runtime.
func (s *countingStore) write(ctx context.Context) error {
	if s.closed.Load() {
		s.n.Add(1)
		s.inflight.Add(1)
		return ErrClosed
	}
	return s.begin(ctx)
}

// begin counts a call and marks it in progress; the caller defers end. It
// returns the injected error when the invocation's budget of transient
// failures (Faults.TransientStoreCalls) is not used up yet.
func (s *countingStore) begin(ctx context.Context) error {
	s.n.Add(1)
	s.inflight.Add(1)
	if b, _ := ctx.Value(transientBudgetKey{}).(*atomic.Int64); b != nil && b.Add(-1) >= 0 {
		s.transient.Add(1)
		return &core.TransientError{Service: "dynamodb", Err: errors.New("local: injected ProvisionedThroughputExceededException (Faults.TransientStoreCalls)")}
	}
	return nil
}

func (s *countingStore) end() { s.inflight.Add(-1) }

// Get implements core.ItemStore, counting the call.
func (s *countingStore) Get(ctx context.Context, t string, k core.Key, c bool) (core.Item, error) {
	defer s.end()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	return s.ItemStore.Get(ctx, t, k, c)
}

// Put implements core.ItemStore, counting the call.
func (s *countingStore) Put(ctx context.Context, t string, it core.Item, c core.Condition) error {
	defer s.end()
	if err := s.write(ctx); err != nil {
		return err
	}
	return s.ItemStore.Put(ctx, t, it, c)
}

// Update implements core.ItemStore, counting the call.
func (s *countingStore) Update(ctx context.Context, t string, k core.Key, u core.Update, c core.Condition) (core.Item, error) {
	defer s.end()
	if err := s.write(ctx); err != nil {
		return nil, err
	}
	return s.ItemStore.Update(ctx, t, k, u, c)
}

// Delete implements core.ItemStore, counting the call.
func (s *countingStore) Delete(ctx context.Context, t string, k core.Key, c core.Condition) error {
	defer s.end()
	if err := s.write(ctx); err != nil {
		return err
	}
	return s.ItemStore.Delete(ctx, t, k, c)
}

// Query implements core.ItemStore, counting the call.
func (s *countingStore) Query(ctx context.Context, t string, q core.Query) (core.Page, error) {
	defer s.end()
	if err := s.begin(ctx); err != nil {
		return core.Page{}, err
	}
	return s.ItemStore.Query(ctx, t, q)
}

// Transact implements core.ItemStore, counting the call.
func (s *countingStore) Transact(ctx context.Context, ops []core.TxOp) error {
	defer s.end()
	if err := s.write(ctx); err != nil {
		return err
	}
	return s.ItemStore.Transact(ctx, ops)
}

// BatchGet implements core.ItemStore, counting the call.
func (s *countingStore) BatchGet(ctx context.Context, t string, ks []core.Key, c bool) ([]core.Item, error) {
	defer s.end()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	return s.ItemStore.BatchGet(ctx, t, ks, c)
}

// QueryIndex implements core.IndexQuerier, counting the call.
func (s *countingStore) QueryIndex(ctx context.Context, t string, q core.IndexQuery) (core.IndexPage, error) {
	defer s.end()
	if err := s.begin(ctx); err != nil {
		return core.IndexPage{}, err
	}
	iq, ok := s.ItemStore.(core.IndexQuerier)
	if !ok {
		return core.IndexPage{}, fmt.Errorf("local: %T cannot query indexes: %w", s.ItemStore, core.ErrNotImplemented)
	}
	return iq.QueryIndex(ctx, t, q)
}

// BatchWrite implements core.ItemStore, counting the call.
func (s *countingStore) BatchWrite(ctx context.Context, t string, puts []core.Item, dels []core.Key) error {
	defer s.end()
	if err := s.write(ctx); err != nil {
		return err
	}
	return s.ItemStore.BatchWrite(ctx, t, puts, dels)
}
