package importcsv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// Defaults of Settings.
const (
	// DefaultBatchSize is the default of Settings.BatchSize: the
	// Distributed Map's MaxItemsPerBatch, and the rows of a batch in
	// direct mode.
	DefaultBatchSize = 100
	// MaxBatchSize is the largest Settings.BatchSize.
	MaxBatchSize = 1000
	// DefaultMaxInputBytesPerBatch is the default of
	// Settings.MaxInputBytesPerBatch: below Step Functions' 256 KiB input
	// of a child execution, with room for the batch's BatchInput.
	DefaultMaxInputBytesPerBatch = 240 * 1024
	// DefaultMaxConcurrency is the default of Settings.MaxConcurrency: the
	// Distributed Map's child executions at once.
	DefaultMaxConcurrency = 50
	// DefaultDirectConcurrency is the default of
	// Settings.DirectConcurrency.
	DefaultDirectConcurrency = 4
	// DefaultRowConcurrency is the default of Settings.RowConcurrency.
	DefaultRowConcurrency = 8
	// DefaultToleratedFailurePercentage is the default of
	// Settings.ToleratedFailurePercentage.
	DefaultToleratedFailurePercentage = 10
	// DefaultMaxZipEntries is the default of Settings.MaxZipEntries.
	DefaultMaxZipEntries = 1000
	// DefaultMaxZipEntryBytes is the default of Settings.MaxZipEntryBytes.
	DefaultMaxZipEntryBytes = 1 << 30
	// DefaultStuckAfter is the default of Settings.StuckAfter.
	DefaultStuckAfter = 15 * time.Minute
)

// Settings tune the import. The zero value takes every default.
type Settings struct {
	// BatchSize is the most rows of one batch: the Distributed Map's
	// MaxItemsPerBatch, and the batches of direct mode. Default
	// DefaultBatchSize, at most MaxBatchSize.
	BatchSize int
	// MaxInputBytesPerBatch is the Distributed Map's
	// MaxInputBytesPerBatch. A row larger than it alone fails in
	// step-function mode. Default DefaultMaxInputBytesPerBatch, at most
	// 256 KiB.
	MaxInputBytesPerBatch int
	// MaxConcurrency is the Distributed Map's MaxConcurrency: batches at
	// once in step-function mode. Default DefaultMaxConcurrency.
	MaxConcurrency int
	// DirectConcurrency is the batches at once in direct mode. Default
	// DefaultDirectConcurrency.
	DirectConcurrency int
	// RowConcurrency is the rows (of distinct entities) in flight within
	// one batch. Default DefaultRowConcurrency.
	RowConcurrency int
	// ToleratedFailurePercentage is the Distributed Map's: the share of
	// batches whose step may fail beyond its retries (and beyond the step
	// that then records their rows failed) before the Map stops. Rows the
	// Map did not process are failed rows. Default
	// DefaultToleratedFailurePercentage; 0 is "none" only with
	// ToleratedFailureZero.
	ToleratedFailurePercentage float64
	// ToleratedFailureZero makes ToleratedFailurePercentage 0.
	ToleratedFailureZero bool
	// MaxRowBytes bounds one record of a file (DefaultMaxRowBytes).
	MaxRowBytes int
	// MaxZipEntries and MaxZipEntryBytes bound a ZIP: its CSV entries, and
	// the uncompressed size of each. Defaults DefaultMaxZipEntries and
	// DefaultMaxZipEntryBytes.
	MaxZipEntries    int
	MaxZipEntryBytes int64
	// StuckAfter is how long a job may stay unfinished without progress
	// before Sweep looks at it. Default DefaultStuckAfter.
	StuckAfter time.Duration
	// Clock is the time source (default time.Now).
	Clock func() time.Time
}

func (s Settings) withDefaults() (Settings, error) {
	var p []string
	if s.BatchSize < 0 || s.BatchSize > MaxBatchSize {
		p = append(p, fmt.Sprintf("Settings.BatchSize %d is outside 0..%d", s.BatchSize, MaxBatchSize))
	}
	if s.MaxInputBytesPerBatch < 0 || s.MaxInputBytesPerBatch > 256*1024 {
		p = append(p, fmt.Sprintf("Settings.MaxInputBytesPerBatch %d is outside 0..262144", s.MaxInputBytesPerBatch))
	}
	if s.MaxConcurrency < 0 || s.DirectConcurrency < 0 || s.RowConcurrency < 0 || s.MaxRowBytes < 0 ||
		s.MaxZipEntries < 0 || s.MaxZipEntryBytes < 0 || s.StuckAfter < 0 {
		p = append(p, "Settings: negative concurrency, MaxRowBytes, MaxZipEntries, MaxZipEntryBytes or StuckAfter")
	}
	if s.ToleratedFailurePercentage < 0 || s.ToleratedFailurePercentage > 100 {
		p = append(p, fmt.Sprintf("Settings.ToleratedFailurePercentage %v is outside 0..100", s.ToleratedFailurePercentage))
	}
	if len(p) > 0 {
		return s, &core.ValidationError{Problems: p}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.BatchSize, DefaultBatchSize)
	def(&s.MaxInputBytesPerBatch, DefaultMaxInputBytesPerBatch)
	def(&s.MaxConcurrency, DefaultMaxConcurrency)
	def(&s.DirectConcurrency, DefaultDirectConcurrency)
	def(&s.RowConcurrency, DefaultRowConcurrency)
	def(&s.MaxRowBytes, DefaultMaxRowBytes)
	def(&s.MaxZipEntries, DefaultMaxZipEntries)
	if s.ToleratedFailurePercentage == 0 && !s.ToleratedFailureZero {
		s.ToleratedFailurePercentage = DefaultToleratedFailurePercentage
	}
	if s.MaxZipEntryBytes == 0 {
		s.MaxZipEntryBytes = DefaultMaxZipEntryBytes
	}
	if s.StuckAfter == 0 {
		s.StuckAfter = DefaultStuckAfter
	}
	if s.Clock == nil {
		s.Clock = time.Now
	}
	return s, nil
}

// Commands finds the command service of a target module (nil when there is
// none). A map's lookup, or local.Runtime.Service.
type Commands func(module string) *command.Service

// CommandsOf returns the Commands of a map of command services.
func CommandsOf(m map[string]*command.Service) Commands {
	return func(module string) *command.Service { return m[module] }
}

// Options configure a Service.
type Options struct {
	// Config names the import table ({prefix}import), the bucket, the
	// notification topic and the import state machine
	// (ImportStateMachineARN; needed by step-function mode).
	Config core.Config
	// Store holds the import table and the modules' data tables. Required.
	Store core.ItemStore
	// Commands finds the command service of each target module: rows
	// become commands through it. Required.
	Commands Commands
	// Registry holds the strategies by module. Required.
	Registry *Registry
	// Objects holds the files (step-function mode, ZIPs) and the
	// Distributed Map's results. Needed unless every job is direct from a
	// reader.
	Objects core.ObjectStore
	// Workflows starts the import state machine (step-function mode).
	Workflows core.Workflows
	// Topic receives the job's status notifications (nil: none).
	Topic core.Topic
	// Settings tune batches, concurrency and limits.
	Settings Settings
	// Logger receives structured logs (nil: slog.Default()).
	Logger *slog.Logger
}

// Service creates, runs and reads import jobs. Create one per application
// (New); it is safe for concurrent use.
type Service struct {
	cfg      core.Config
	store    core.ItemStore
	commands Commands
	reg      *Registry
	objects  core.ObjectStore
	wf       core.Workflows
	topic    core.Topic
	set      Settings
	now      func() time.Time
	log      *slog.Logger
	table    string
}

// New validates opts (the registry's registration mistakes included) and
// returns the Service.
func New(opts Options) (*Service, error) {
	var p []string
	if opts.Store == nil {
		p = append(p, "Store is nil")
	}
	if opts.Commands == nil {
		p = append(p, "Commands is nil")
	}
	if opts.Registry == nil {
		p = append(p, "Registry is nil")
	} else if err := opts.Registry.Validate(); err != nil {
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
			p[i] = "importcsv: " + p[i]
		}
		return nil, &core.ValidationError{Problems: p}
	}
	s := &Service{cfg: opts.Config, store: opts.Store, commands: opts.Commands, reg: opts.Registry, objects: opts.Objects,
		wf: opts.Workflows, topic: opts.Topic, set: set, now: set.Clock, log: opts.Logger, table: opts.Config.ImportTable()}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "importcsv")
	return s, nil
}

// CheckModules reports every registered module that has no command
// service (call it once the command services exist; Module does).
func (s *Service) CheckModules() error {
	var p []string
	for _, m := range s.reg.Modules() {
		if s.commands(m) == nil {
			p = append(p, fmt.Sprintf("importcsv: a strategy is registered for module %q, which has no command service", m))
		}
	}
	if len(p) > 0 {
		return &core.ValidationError{Problems: p}
	}
	return nil
}

// Table returns the name of the import table.
func (s *Service) Table() string { return s.table }

// Settings returns the settings in force, defaults filled in.
func (s *Service) Settings() Settings { return s.set }

// Progress is what JobInput.Progress is told after every batch of direct
// mode: the counts so far of the job (Total: the rows read so far).
type Progress struct {
	File   int
	Counts Counts
}

// JobInput is an import to run.
type JobInput struct {
	// TenantCode is the tenant the rows belong to (lower-cased). Required.
	TenantCode string
	// Module is the target CQRS module: a strategy is registered for it.
	// Required.
	Module string
	// Mode is ModeDirect (default) or ModeStepFunction.
	Mode Mode
	// Object is the file in the object store, or Reader the file itself;
	// exactly one is set. A Reader of a step-function job is first stored
	// in the bucket (read whole: keep such files small, or store them
	// first). A ZIP of CSV files (recognised by its first bytes) imports
	// its .csv entries in name order, one at a time.
	Object *Source
	Reader io.Reader
	// Name is a display name (default: the object key's last part).
	Name string
	// ID, when set, makes the creation idempotent: the job's key is
	// IMPORT#tenant / IMPORT#ID, and importing an ID that exists returns
	// the stored job without importing anything. Empty: a new
	// time-ordered id.
	ID string
	// BatchSize and MaxConcurrency override the Settings for this job
	// (MaxConcurrency: the Distributed Map's in step-function mode, the
	// batches at once in direct mode).
	BatchSize, MaxConcurrency int
	// Progress, when set, is called after every batch of a direct job.
	Progress func(Progress)
}

// Import runs an import. In direct mode it imports the file in the
// calling process, streaming it (a batch of rows at a time, several
// batches at once), and returns the finished job. In step-function mode it
// writes the job and starts its execution of the import state machine,
// and returns the job as created (CREATED); Get follows it. A file that
// cannot be imported gives a job that ends FAILED (with its reason), not
// an error: errors are for inputs that make no job (an unknown module, a
// tenant the caller may not act for, a missing source) and for failures of
// the stores. The tenant rule applies (core.AuthorizeTenant).
func (s *Service) Import(ctx context.Context, in JobInput) (*Job, error) {
	tenant := strings.ToLower(strings.TrimSpace(in.TenantCode))
	var p []string
	switch {
	case tenant == "":
		p = append(p, "TenantCode is empty")
	case s.reg.lookup(in.Module) == nil:
		return nil, &UnknownModuleError{Module: in.Module}
	case s.commands(in.Module) == nil:
		p = append(p, fmt.Sprintf("module %q has no command service", in.Module))
	}
	mode := in.Mode
	if mode == "" {
		mode = ModeDirect
	}
	if mode != ModeDirect && mode != ModeStepFunction {
		p = append(p, fmt.Sprintf("Mode %q: want %q or %q", mode, ModeDirect, ModeStepFunction))
	}
	if (in.Object == nil) == (in.Reader == nil) {
		p = append(p, "set exactly one of Object and Reader")
	}
	if in.Object != nil && (in.Object.Bucket == "" || in.Object.Key == "") {
		p = append(p, "Object needs a Bucket and a Key")
	}
	if in.Object != nil && s.objects == nil {
		p = append(p, "Options.Objects is nil: an Object source needs the object store")
	}
	if mode == ModeStepFunction {
		if s.cfg.ImportStateMachineARN == "" {
			p = append(p, "Config.ImportStateMachineARN is empty: step-function mode runs on the import state machine")
		}
		if s.wf == nil || s.objects == nil {
			p = append(p, "step-function mode needs Options.Workflows and Options.Objects")
		}
	}
	if in.BatchSize < 0 || in.BatchSize > MaxBatchSize || in.MaxConcurrency < 0 {
		p = append(p, fmt.Sprintf("BatchSize %d (0..%d) or MaxConcurrency %d (>= 0) out of range", in.BatchSize, MaxBatchSize, in.MaxConcurrency))
	}
	if len(p) > 0 {
		for i := range p {
			p[i] = "importcsv: " + p[i]
		}
		return nil, &core.ValidationError{Problems: p}
	}
	if err := core.AuthorizeTenant(ctx, tenant, s.cfg.RequireInvoke); err != nil {
		return nil, err
	}
	now := s.now()
	id := in.ID
	explicit := id != ""
	if !explicit {
		id = core.NewID(now)
	}
	key, err := jobKey(tenant, id)
	if err != nil {
		return nil, err
	}
	name := in.Name
	if name == "" && in.Object != nil {
		name = in.Object.Key[strings.LastIndexByte(in.Object.Key, '/')+1:]
	}
	js := jobSettings{BatchSize: s.set.BatchSize, MaxInputBytesPerBatch: s.set.MaxInputBytesPerBatch,
		MaxConcurrency: s.set.MaxConcurrency, ToleratedFailurePct: s.set.ToleratedFailurePercentage}
	if mode == ModeDirect {
		js.MaxConcurrency = s.set.DirectConcurrency
	}
	if in.BatchSize > 0 {
		js.BatchSize = in.BatchSize
	}
	if in.MaxConcurrency > 0 {
		js.MaxConcurrency = in.MaxConcurrency
	}
	sj, _ := json.Marshal(js)
	r := &jobRow{PK: key.PK, SK: key.SK, Kind: "job", TenantCode: tenant, Module: in.Module, Mode: mode, Name: name,
		Status: StatusCreated, Settings: string(sj), Version: 1, CreatedAt: now, UpdatedAt: now,
		Unsettled: core.Shard(core.EntityID(key.PK, key.SK), UnsettledShards), UnsettledAt: core.FormatTime(now.Add(s.set.StuckAfter))}
	if inv, ok := core.FromContext(ctx); ok {
		r.CreatedBy, r.CreatedIP, r.RequestID = inv.UserID, inv.SourceIP, inv.RequestID
	}
	if explicit {
		if cur, err := s.readJob(ctx, key); err == nil {
			return cur.job(), nil
		} else if !errors.Is(err, core.ErrNotFound) {
			return nil, err
		}
	}
	src := in.Reader
	if in.Object != nil {
		r.Bucket, r.ObjectKey = in.Object.Bucket, in.Object.Key
	}
	if mode == ModeStepFunction && in.Reader != nil {
		body, err := io.ReadAll(in.Reader)
		if err != nil {
			return nil, fmt.Errorf("importcsv: read the file: %w", err)
		}
		r.Bucket, r.ObjectKey = s.cfg.Bucket(), objectPrefix(tenant, id)+"source"
		if err := s.objects.Put(ctx, r.Bucket, r.ObjectKey, body, "text/csv"); err != nil {
			return nil, fmt.Errorf("importcsv: store the file: %w", err)
		}
	}
	if mode == ModeStepFunction {
		r.ExecutionARN = executionARN(s.cfg.ImportStateMachineARN, ExecutionName(key))
	}
	it, err := core.MarshalItem(r)
	if err != nil {
		return nil, err
	}
	if err := s.store.Put(ctx, s.table, it, core.IfAbsent()); err != nil {
		if explicit && errors.Is(err, core.ErrConditionFailed) {
			cur, err := s.readJob(ctx, key)
			if err != nil {
				return nil, err
			}
			return cur.job(), nil
		}
		return nil, fmt.Errorf("importcsv: create job: %w", err)
	}
	if mode == ModeStepFunction {
		if err := s.start(ctx, r); err != nil {
			return nil, err
		}
		return r.job(), nil
	}
	return s.runDirect(ctx, r, src, in.Progress)
}

// objectPrefix is where a job's objects go (its stored file, its ZIP's
// entries, the Distributed Map's results).
func objectPrefix(tenant, id string) string { return "stepcqrs/imports/" + tenant + "/" + id + "/" }

// readJob reads a job row consistently.
func (s *Service) readJob(ctx context.Context, k core.Key) (*jobRow, error) {
	it, err := s.store.Get(ctx, s.table, k, true)
	if err != nil {
		return nil, err
	}
	return decodeItem[jobRow](it)
}

// readFile reads a file row consistently.
func (s *Service) readFile(ctx context.Context, job core.Key, index int) (*fileRow, error) {
	it, err := s.store.Get(ctx, s.table, fileKey(job, index), true)
	if err != nil {
		return nil, err
	}
	return decodeItem[fileRow](it)
}

// isZip reports whether b starts like a ZIP archive.
func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// peekZip wraps r and reports whether it holds a ZIP.
func peekZip(r io.Reader) (io.Reader, bool) {
	br := bufio.NewReaderSize(r, 64*1024)
	b, _ := br.Peek(4)
	return br, isZip(b)
}

// setJob updates the job row if its status is still from.
func (s *Service) setJob(ctx context.Context, r *jobRow, from Status, upd core.Update) (*jobRow, error) {
	if upd.Add == nil {
		upd.Add = map[string]int64{}
	}
	upd.Add["version"] = 1
	if upd.Set == nil {
		upd.Set = map[string]core.AttributeValue{}
	}
	upd.Set["updatedAt"] = avTime(s.now())
	it, err := s.store.Update(ctx, s.table, r.key(), upd, statusIs(from))
	if err != nil {
		return nil, err
	}
	return decodeItem[jobRow](it)
}

// begin moves a CREATED job to PROCESSING (a job PROCESSING already is
// returned as it is).
func (s *Service) begin(ctx context.Context, r *jobRow) (*jobRow, error) {
	if r.Status != StatusCreated {
		return r, nil
	}
	now := s.now()
	nr, err := s.setJob(ctx, r, StatusCreated, core.Update{Set: map[string]core.AttributeValue{
		"status": avS(string(StatusProcessing)), "startedAt": avTime(now),
		"unsettledAt": avTime(now.Add(s.set.StuckAfter)),
	}})
	if errors.Is(err, core.ErrConditionFailed) {
		return s.readJob(ctx, r.key())
	}
	if err != nil {
		return nil, err
	}
	return nr, s.notify(ctx, nr)
}
