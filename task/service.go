package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// Defaults of Settings.
const (
	// DefaultMaxReceiveCount is the default of Settings.MaxReceiveCount,
	// as the reference framework's task queue.
	DefaultMaxReceiveCount = 5
	// DefaultLease is the default of Settings.Lease: the longest a Lambda
	// function runs.
	DefaultLease = 15 * time.Minute
	// DefaultInlineMax is the default (and the largest) of
	// Settings.InlineMax: the most items States.ArrayRange makes.
	DefaultInlineMax = 1000
	// DefaultStuckAfter is the default of Settings.StuckAfter.
	DefaultStuckAfter = 15 * time.Minute
)

// Settings tune the task capability. The zero value takes every default.
type Settings struct {
	// MaxReceiveCount is the task queue's maxReceiveCount (its redrive
	// policy to the dead-letter queue): the delivery whose receive count
	// reaches it is the last, and a failure there marks the task FAILED
	// before the message moves to the dead-letter queue. Default
	// DefaultMaxReceiveCount; set the queue's redrive policy to the same
	// number.
	MaxReceiveCount int
	// Lease is how long one attempt may hold a task or sub-task before
	// another may take it over (its Lambda must have ended by then). Set
	// the task queue's visibility timeout to at least the function
	// timeout, and Lease to the visibility timeout. Default DefaultLease.
	Lease time.Duration
	// InlineMax: fan-outs with at most this many sub-tasks run on the
	// inline Map; larger ones on the distributed Map over a manifest in
	// the object store. Default and upper bound DefaultInlineMax.
	InlineMax int
	// StuckAfter is how long a task may stay CREATED or QUEUED, or
	// PROCESSING beyond its lease, before Sweep recovers it. Default
	// DefaultStuckAfter.
	StuckAfter time.Duration
	// Clock is the time source of leases, audit fields and the sweep
	// (default time.Now).
	Clock func() time.Time
}

func (s Settings) withDefaults() (Settings, error) {
	var p []string
	if s.MaxReceiveCount < 0 || s.Lease < 0 || s.InlineMax < 0 || s.StuckAfter < 0 {
		p = append(p, "Settings: negative MaxReceiveCount, Lease, InlineMax or StuckAfter")
	}
	if s.InlineMax > DefaultInlineMax {
		p = append(p, fmt.Sprintf("Settings.InlineMax %d is above %d (the most items States.ArrayRange makes)", s.InlineMax, DefaultInlineMax))
	}
	if len(p) > 0 {
		return s, &core.ValidationError{Problems: p}
	}
	if s.MaxReceiveCount == 0 {
		s.MaxReceiveCount = DefaultMaxReceiveCount
	}
	if s.Lease == 0 {
		s.Lease = DefaultLease
	}
	if s.InlineMax == 0 {
		s.InlineMax = DefaultInlineMax
	}
	if s.StuckAfter == 0 {
		s.StuckAfter = DefaultStuckAfter
	}
	if s.Clock == nil {
		s.Clock = time.Now
	}
	return s, nil
}

// Options configure a Service.
type Options struct {
	// Config names the tasks table ({prefix}tasks), the task queue, the
	// notification topic, the bucket of manifests and the task state
	// machine (TaskStateMachineARN; needed by fan-outs).
	Config core.Config
	// Store holds the tasks table. Required.
	Store core.ItemStore
	// Registry holds the handlers by task type (nil: none; a service that
	// only creates and reads tasks needs none).
	Registry *Registry
	// Queue is the task queue's service. Needed by Routes.
	Queue core.Queue
	// Workflows starts the task state machine's executions. Needed by
	// Routes.
	Workflows core.Workflows
	// Objects holds the manifests of fan-outs beyond Settings.InlineMax.
	Objects core.ObjectStore
	// Topic receives the notifications (nil: none).
	Topic core.Topic
	// Settings tune retries, leases and the fan-out threshold.
	Settings Settings
	// Logger receives structured logs (nil: slog.Default()).
	Logger *slog.Logger
}

// Service creates, runs and reads tasks. Create one per application (New);
// it is safe for concurrent use.
type Service struct {
	cfg     core.Config
	store   core.ItemStore
	reg     *Registry
	queue   core.Queue
	wf      core.Workflows
	objects core.ObjectStore
	topic   core.Topic
	set     Settings
	now     func() time.Time
	log     *slog.Logger
	table   string
}

// New validates opts (registration mistakes of the Registry included) and
// returns the Service.
func New(opts Options) (*Service, error) {
	var p []string
	if opts.Store == nil {
		p = append(p, "Store is nil")
	}
	if err := opts.Registry.Validate(); err != nil {
		p = append(p, core.Problems(err)...)
	}
	if err := opts.Config.Validate(); err != nil {
		p = append(p, err.Error())
	}
	set, err := opts.Settings.withDefaults()
	if err != nil {
		p = append(p, core.Problems(err)...)
	}
	if len(p) > 0 {
		for i := range p {
			p[i] = "task: " + p[i]
		}
		return nil, &core.ValidationError{Problems: p}
	}
	s := &Service{
		cfg: opts.Config, store: opts.Store, reg: opts.Registry, queue: opts.Queue, wf: opts.Workflows,
		objects: opts.Objects, topic: opts.Topic, set: set, now: set.Clock, log: opts.Logger,
		table: opts.Config.TasksTable(),
	}
	if s.reg == nil {
		s.reg = NewRegistry()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "task")
	return s, nil
}

// Table returns the name of the tasks table.
func (s *Service) Table() string { return s.table }

// Settings returns the settings in force, defaults filled in.
func (s *Service) Settings() Settings { return s.set }

// Registry returns the handler registry.
func (s *Service) Registry() *Registry { return s.reg }

// authorize applies the tenant rule (core.AuthorizeTenant) to tenant.
func (s *Service) authorize(ctx context.Context, tenant string) error {
	return core.AuthorizeTenant(ctx, tenant, s.cfg.RequireInvoke)
}

// Input is a single task to create.
type Input struct {
	// TenantCode is the tenant the task belongs to (lower-cased).
	// Required.
	TenantCode string
	// Type selects the handler. Required; a key part (no '#' or '@').
	Type string
	// Name is a display name (default: Type).
	Name string
	// Input is the task's input, stored as JSON and decoded into the
	// handler's input type.
	Input any
	// ID, when set, makes the creation idempotent: the task's key is
	// TASK#tenant / {type}#{ID}, and creating an ID that exists returns
	// the stored task without writing anything. Empty: a new
	// time-ordered id.
	ID string
}

// FanOutInput is a fan-out parent to create with its sub-tasks.
type FanOutInput struct {
	// TenantCode, Type, Name and ID are as for Input. Every sub-task runs
	// the handler of Type; its MaxConcurrency bounds how many run at once.
	TenantCode, Type, Name, ID string
	// SubTasks are the inputs of the sub-tasks, in index order.
	SubTasks []any
	// Generate, instead of SubTasks, yields the inputs one by one, for
	// fan-outs too large to hold in memory (or typed ones: Each). An error
	// it yields aborts the creation (no parent is written, so nothing
	// runs).
	Generate iter.Seq2[any, error]
}

// Each yields the elements of xs as sub-task inputs, for
// FanOutInput.Generate.
func Each[T any](xs []T) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for _, x := range xs {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// unsettledShard returns the UnsettledIndex partition of a task.
func unsettledShard(id string) string { return core.Shard(id, UnsettledShards) }

// audit fills the audit fields of r from the invoke context.
func audit(ctx context.Context, r *row) {
	if inv, ok := core.FromContext(ctx); ok {
		r.CreatedBy, r.CreatedIP, r.RequestID = inv.UserID, inv.SourceIP, inv.RequestID
	}
}

// newTaskRow validates the common fields of a creation and returns the
// row of the task or parent, not yet written.
func (s *Service) newTaskRow(ctx context.Context, kind Kind, tenant, typ, name, id string) (*row, bool, error) {
	tenant = strings.ToLower(strings.TrimSpace(tenant))
	var p []string
	if tenant == "" {
		p = append(p, "TenantCode is empty")
	}
	if typ == "" {
		p = append(p, "Type is empty")
	}
	if len(p) > 0 {
		return nil, false, &core.ValidationError{Problems: p}
	}
	explicit := id != ""
	now := s.now()
	if !explicit {
		id = core.NewID(now)
	}
	key, err := taskKey(tenant, typ, id)
	if err != nil {
		return nil, false, err
	}
	if err := s.authorize(ctx, tenant); err != nil {
		return nil, false, err
	}
	if name == "" {
		name = typ
	}
	r := &row{
		PK: key.PK, SK: key.SK, ID: core.EntityID(key.PK, key.SK), Kind: kind, TenantCode: tenant, Type: typ,
		Name: name, Status: StatusCreated, Version: 1, CreatedAt: now, UpdatedAt: now,
		Unsettled: unsettledShard(core.EntityID(key.PK, key.SK)), UnsettledAt: core.FormatTime(now.Add(s.set.StuckAfter)),
	}
	audit(ctx, r)
	return r, explicit, nil
}

// Create writes a single task, CREATED, and returns it. The tasks
// table's stream takes it from there: the INSERT record enqueues it on
// the task queue (QUEUED), and the queue consumer runs the handler of its
// type (PROCESSING, then COMPLETED with the result or FAILED with the
// cause). The tenant rule applies (core.AuthorizeTenant).
func (s *Service) Create(ctx context.Context, in Input) (*Task, error) {
	r, explicit, err := s.newTaskRow(ctx, KindTask, in.TenantCode, in.Type, in.Name, in.ID)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(in.Input)
	if err != nil {
		return nil, &core.ValidationError{Problems: []string{"Input: " + err.Error()}}
	}
	r.Input = string(b)
	return s.putNew(ctx, r, explicit)
}

// putNew writes a new task or parent row; with an explicit id, an
// existing row is returned as it is.
func (s *Service) putNew(ctx context.Context, r *row, explicit bool) (*Task, error) {
	it, err := core.MarshalItem(r)
	if err != nil {
		return nil, err
	}
	err = s.store.Put(ctx, s.table, it, core.IfAbsent())
	if explicit && errors.Is(err, core.ErrConditionFailed) {
		return s.existing(ctx, r)
	}
	if err != nil {
		return nil, fmt.Errorf("task: create %s: %w", r.SK, err)
	}
	return r.task(), nil
}

// existing returns the stored row at r's key, which must be of the same
// kind and type (an idempotent re-creation).
func (s *Service) existing(ctx context.Context, r *row) (*Task, error) {
	cur, err := s.read(ctx, r.key())
	if err != nil {
		return nil, err
	}
	if cur.Kind != r.Kind || cur.Type != r.Type {
		return nil, &core.ConditionFailedError{Table: s.table, Key: r.key()}
	}
	return cur.task(), nil
}

// read reads one row with a consistent read.
func (s *Service) read(ctx context.Context, k core.Key) (*row, error) {
	it, err := s.store.Get(ctx, s.table, k, true)
	if err != nil {
		return nil, err
	}
	return decodeRow(it)
}

// batchWriteItems is the most items of one BatchWrite call: DynamoDB's
// BatchWriteItem limit, so that one call is one request.
const batchWriteItems = 25

// maxTxBytes bounds the items of one Transact call (DynamoDB: 4 MB).
const maxTxBytes = 4_000_000

// CreateFanOut writes a parent and its sub-tasks and returns the parent.
// The sub-task rows are written first (CREATED, each with its input), the
// parent last, so that when its INSERT record starts the task state
// machine everything is in place; the execution then runs each sub-task
// through the handler of Type, at most Type's MaxConcurrency at once.
// Beyond Settings.InlineMax sub-tasks it also writes a manifest to the
// object store for the distributed Map. A fan-out of no sub-task is
// COMPLETED at once. The tenant rule applies.
func (s *Service) CreateFanOut(ctx context.Context, in FanOutInput) (*Task, error) {
	if in.SubTasks != nil && in.Generate != nil {
		return nil, &core.ValidationError{Problems: []string{"task: set SubTasks or Generate, not both"}}
	}
	if s.cfg.TaskStateMachineARN == "" {
		return nil, &core.ValidationError{Problems: []string{"task: Config.TaskStateMachineARN is empty: fan-outs run on the task state machine"}}
	}
	parent, explicit, err := s.newTaskRow(ctx, KindFanOut, in.TenantCode, in.Type, in.Name, in.ID)
	if err != nil {
		return nil, err
	}
	parent.Input = "null"
	if explicit {
		// A retried creation: nothing to write when the parent exists.
		if _, err := s.read(ctx, parent.key()); err == nil {
			return s.existing(ctx, parent)
		} else if !errors.Is(err, core.ErrNotFound) {
			return nil, err
		}
	}
	gen := in.Generate
	if gen == nil {
		gen = Each(in.SubTasks)
	}
	w := subTaskWriter{s: s, ctx: ctx, conditional: explicit}
	n := 0
	for v, gerr := range gen {
		if gerr != nil {
			return nil, fmt.Errorf("task: sub-task %d: %w", n, gerr)
		}
		if n >= MaxSubTasks {
			return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("task: more than %d sub-tasks", MaxSubTasks)}}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("task: sub-task %d: input: %v", n, err)}}
		}
		k := subTaskKey(parent.key(), n)
		if err := w.add(&row{PK: k.PK, SK: k.SK, Kind: KindSubTask, TenantCode: parent.TenantCode, Type: parent.Type,
			Name: parent.Name, Status: StatusCreated, Input: string(b), Index: n, Version: 1,
			CreatedAt: parent.CreatedAt, CreatedBy: parent.CreatedBy, UpdatedAt: parent.CreatedAt}); err != nil {
			return nil, err
		}
		n++
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	parent.Total = int64(n)
	parent.MaxConcurrency = s.reg.maxConcurrency(parent.Type)
	if n == 0 {
		parent.Status, parent.FinishedAt, parent.Unsettled, parent.UnsettledAt = StatusCompleted, parent.CreatedAt, "", ""
	}
	if n > s.set.InlineMax {
		if parent.Manifest, err = s.writeManifest(ctx, parent, n); err != nil {
			return nil, err
		}
	}
	return s.putNew(ctx, parent, explicit)
}

// subTaskWriter writes sub-task rows in batches: BatchWrite of 25 rows
// (one request each) for a new parent, or, for a parent with an explicit
// ID whose creation may be a retry racing another, transactions that
// write only absent rows, so that a row already running is never
// overwritten.
type subTaskWriter struct {
	s           *Service
	ctx         context.Context
	conditional bool
	items       []core.Item
	bytes       int
}

func (w *subTaskWriter) add(r *row) error {
	it, err := core.MarshalItem(r)
	if err != nil {
		return err
	}
	size := core.ItemSize(it)
	if size > core.MaxItemBytes {
		return fmt.Errorf("task: sub-task %d: %w", r.Index, &core.ValidationError{Problems: []string{
			fmt.Sprintf("the sub-task row is %d bytes, above DynamoDB's %d (make its input smaller)", size, core.MaxItemBytes)}})
	}
	if w.conditional && (len(w.items) == core.MaxTransactItems || w.bytes+size > maxTxBytes) ||
		!w.conditional && len(w.items) == batchWriteItems {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.items = append(w.items, it)
	w.bytes += size
	return nil
}

func (w *subTaskWriter) flush() error {
	if len(w.items) == 0 {
		return nil
	}
	items := w.items
	w.items, w.bytes = nil, 0
	if !w.conditional {
		if err := w.s.store.BatchWrite(w.ctx, w.s.table, items, nil); err != nil {
			return fmt.Errorf("task: write sub-tasks: %w", err)
		}
		return nil
	}
	ops := make([]core.TxOp, len(items))
	for i, it := range items {
		ops[i] = core.TxOp{Table: w.s.table, Put: it, Cond: core.IfAbsent()}
	}
	err := w.s.store.Transact(w.ctx, ops)
	if errors.Is(err, core.ErrConditionFailed) {
		// Written by an earlier attempt of this creation.
		return nil
	}
	if err != nil {
		return fmt.Errorf("task: write sub-tasks: %w", err)
	}
	return nil
}

// Manifest is the location of a fan-out's manifest and results, as the
// execution input carries it.
type Manifest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Results is the prefix the distributed Map's ResultWriter writes to.
	Results string `json:"results"`
}

// manifestPrefix is the object key prefix of a parent's manifest and
// results.
func manifestPrefix(r *row) string {
	id := strings.TrimPrefix(r.SK, r.Type+core.KeySeparator)
	return "stepcqrs/tasks/" + r.TenantCode + "/" + r.Type + "/" + id + "/"
}

// writeManifest writes the JSON Lines manifest of n sub-tasks, one
// {"i": index} per line, and returns its key.
func (s *Service) writeManifest(ctx context.Context, parent *row, n int) (string, error) {
	if s.objects == nil {
		return "", &core.ValidationError{Problems: []string{fmt.Sprintf(
			"task: %d sub-tasks are more than Settings.InlineMax (%d): the distributed Map needs Options.Objects for its manifest", n, s.set.InlineMax)}}
	}
	var b strings.Builder
	b.Grow(n * 12)
	for i := range n {
		b.WriteString(`{"i":`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString("}\n")
	}
	key := manifestPrefix(parent) + "manifest.jsonl"
	if err := s.objects.Put(ctx, s.cfg.Bucket(), key, []byte(b.String()), "application/jsonl"); err != nil {
		return "", fmt.Errorf("task: write manifest: %w", err)
	}
	return key, nil
}

// Cancel cancels a task. A fan-out parent that is running goes
// CANCELLING: no new sub-task starts (each finds the parent no longer
// PROCESSING and records itself CANCELLED), sub-tasks already running
// finish, and the Finalize step sets the parent CANCELLED. A parent whose
// execution has not started, and a single task not yet taken by the
// consumer (CREATED or QUEUED), become CANCELLED at once. Cancelling a
// cancelled task returns it unchanged; a running single task or a final
// task cannot be cancelled (a *StatusError matching ErrNotCancellable).
// The tenant rule applies.
func (s *Service) Cancel(ctx context.Context, key core.Key) (*Task, error) {
	tenant, err := checkTaskKey(key)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, tenant); err != nil {
		return nil, err
	}
	for range 5 {
		r, err := s.read(ctx, key)
		if err != nil {
			return nil, err
		}
		if r.Kind != KindTask && r.Kind != KindFanOut {
			return nil, &core.NotFoundError{Kind: "task", Name: key.PK + "/" + key.SK}
		}
		next := StatusCancelled
		switch {
		case r.Status == StatusCancelled || r.Status == StatusCancelling:
			return r.task(), nil
		case r.Kind == KindFanOut && r.Status == StatusProcessing:
			next = StatusCancelling
		case r.Status == StatusCreated || r.Status == StatusQueued:
		default:
			return nil, &StatusError{SK: key.SK, Status: r.Status, Op: "cancel", Err: ErrNotCancellable}
		}
		now := s.now()
		upd := core.Update{
			Set: map[string]core.AttributeValue{"status": avS(string(next)), "updatedAt": avTime(now)},
			Add: map[string]int64{"version": 1},
		}
		if next == StatusCancelled {
			upd.Set["finishedAt"] = avTime(now)
			upd.Remove = []string{"unsettled", "unsettledAt"}
		}
		it, err := s.store.Update(ctx, s.table, key, upd, statusIs(r.Status))
		if errors.Is(err, core.ErrConditionFailed) {
			continue // it moved on meanwhile: look again
		}
		if err != nil {
			return nil, err
		}
		if r, err = decodeRow(it); err != nil {
			return nil, err
		}
		if err := s.notifyTask(ctx, r); err != nil {
			return nil, err
		}
		return r.task(), nil
	}
	return nil, fmt.Errorf("task: cancel %s: the task kept changing: %w", key.SK, core.ErrConditionFailed)
}
