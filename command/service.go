package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

// Service publishes, applies and reads the commands of one CQRS module.
// It is safe for concurrent use.
type Service struct {
	module   string
	cfg      core.Config
	store    core.ItemStore
	objects  core.ObjectStore
	topic    core.Topic
	handlers []SyncHandler
	source   string
	now      func() time.Time
	log      *slog.Logger

	commandTable, dataTable, historyTable string
}

// New validates opts and returns the module's Service.
func New(opts Options) (*Service, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Service{
		module:       opts.Module,
		cfg:          opts.Config,
		store:        opts.Store,
		objects:      opts.Objects,
		topic:        opts.Topic,
		handlers:     append([]SyncHandler(nil), opts.Handlers...),
		source:       opts.Source,
		now:          opts.Clock,
		log:          opts.Logger,
		commandTable: opts.Config.CommandTable(opts.Module),
		dataTable:    opts.Config.DataTable(opts.Module),
		historyTable: opts.Config.HistoryTable(opts.Module),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("module", s.module)
	return s, nil
}

// Module returns the module name.
func (s *Service) Module() string { return s.module }

// Tables returns the names of the module's command, data and history tables.
func (s *Service) Tables() (command, data, history string) {
	return s.commandTable, s.dataTable, s.historyTable
}

// SyncHandlers returns the names of the module's data-sync handlers beyond
// the built-in projection, in registration order: the items of the sync
// step's Map, which the state machine skips when there are none.
func (s *Service) SyncHandlers() []string {
	names := make([]string, len(s.handlers))
	for i, h := range s.handlers {
		names[i] = h.Name()
	}
	return names
}

// Input is a full command: the complete new state of an entity.
type Input struct {
	// PK and SK are the entity's key: TYPE#tenantCode and TYPE#code (no
	// version).
	PK, SK string
	// Version is core.VersionNew (create: the entity must not exist),
	// core.VersionLatest (on top of whatever is latest) or the latest
	// version the caller knows; anything else fails with a
	// *core.VersionConflictError.
	Version int64
	// Name is the entity's display name.
	Name string
	// Code, TenantCode and Type default to the code part of SK, the tenant
	// part of PK and the type part of SK. TenantCode, when set, must equal
	// PK's tenant part.
	Code, TenantCode, Type string
	// IsDeleted soft-deletes the entity.
	IsDeleted bool
	// Seq is an optional application sequence number.
	Seq int64
	// TTL (epoch seconds) makes the command and data rows expire; 0 = none
	// (the data row then gets the configured data TTL, if any).
	TTL int64
	// Attributes are the entity's attributes; see core.Attributes.
	Attributes core.Attributes
	// Source says where the command came from; empty means the Service's
	// Source option.
	Source string
}

// PartialInput changes some fields of the latest version of an entity:
// nil fields are kept, Attributes are deep-merged (see MergeAttributes).
type PartialInput struct {
	// PK and SK are the entity's key.
	PK, SK string
	// Version is the version the change is based on: core.VersionLatest or
	// the latest version (anything else is a version conflict). The entity
	// must exist.
	Version int64
	// Name, IsDeleted, Seq and TTL replace the stored values when not nil.
	Name      *string
	IsDeleted *bool
	Seq       *int64
	TTL       *int64
	// Attributes is merged into the stored attributes.
	Attributes map[string]any
	// Source says where the command came from.
	Source string
}

// Result is the outcome of a publish. Command is never nil when the error
// is nil: it is the new command, or, when Unchanged, the latest stored
// version, which the input equals.
type Result struct {
	// Command is the written command, or the latest one when Unchanged.
	Command *core.Command
	// Unchanged reports that the input equals the latest version (name,
	// attributes, isDeleted, seq, ttl), so nothing was written.
	Unchanged bool
}

// ErrPending: a synchronous publish found an earlier version that is still
// being applied asynchronously; retry later or publish asynchronously.
var ErrPending = errors.New("stepcqrs: an earlier version is not applied yet")

// PendingError says which earlier version blocks a synchronous publish. It
// matches ErrPending and core.ErrVersionConflict.
type PendingError struct {
	ID      string
	Version int64 // the version being published
	Pending int64 // the earlier version not yet applied
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("stepcqrs: cannot apply version %d of %s synchronously: version %d is not applied yet", e.Version, e.ID, e.Pending)
}

// Unwrap returns ErrPending and core.ErrVersionConflict.
func (e *PendingError) Unwrap() []error { return []error{ErrPending, core.ErrVersionConflict} }

// authorize applies the one rule for keys entering the service, on the
// write side and the read side alike: the key must pass
// core.ValidateEntityKey, and its tenant core.AuthorizeTenant.
func (s *Service) authorize(ctx context.Context, key core.Key) error {
	if err := core.ValidateEntityKey(key); err != nil {
		return err
	}
	tenant, _ := core.TenantCodeOf(key.PK)
	return s.authorizeTenant(ctx, tenant)
}

// authorizePK is authorize for a whole partition.
func (s *Service) authorizePK(ctx context.Context, pk string) error {
	if err := core.ValidatePK(pk); err != nil {
		return err
	}
	tenant, _ := core.TenantCodeOf(pk)
	return s.authorizeTenant(ctx, tenant)
}

func (s *Service) authorizeTenant(ctx context.Context, tenant string) error {
	return core.AuthorizeTenant(ctx, tenant, s.cfg.RequireInvoke)
}

// normalized is a validated Input with derived fields.
type normalized struct {
	Input
	key core.Key
	id  string
}

func (s *Service) normalize(ctx context.Context, in Input) (normalized, error) {
	n := normalized{Input: in}
	var problems []string
	key := core.Key{PK: in.PK, SK: in.SK}
	if err := core.ValidateEntityKey(key); err != nil {
		return n, err
	}
	tenant, _ := core.TenantCodeOf(in.PK)
	if n.TenantCode == "" {
		n.TenantCode = tenant
	} else if n.TenantCode != tenant {
		// Exact: tenant codes have one spelling (core.ValidateTenantCode).
		problems = append(problems, fmt.Sprintf("tenantCode %q differs from the tenant of pk %q", n.TenantCode, in.PK))
	}
	if n.Code == "" {
		n.Code = core.CodeOf(in.SK)
	}
	if n.Type == "" {
		n.Type = core.TypeOf(in.SK)
	}
	if n.Code == "" {
		problems = append(problems, fmt.Sprintf("sk %q has no code (want TYPE#code)", in.SK))
	}
	if in.Version < core.VersionLatest {
		problems = append(problems, fmt.Sprintf("version %d: want %d (latest), %d (new) or a positive version", in.Version, core.VersionLatest, core.VersionNew))
	}
	if in.TTL < 0 {
		problems = append(problems, fmt.Sprintf("ttl %d is negative", in.TTL))
	}
	if _, err := in.Attributes.MarshalDynamoDBAttributeValue(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return n, &core.ValidationError{Problems: problems}
	}
	if err := s.authorizeTenant(ctx, tenant); err != nil {
		return n, err
	}
	if n.Source == "" {
		n.Source = s.source
	}
	n.key = key
	n.id = core.EntityID(in.PK, in.SK)
	return n, nil
}

// PublishAsync writes a new version of an entity and returns; the command
// state machine applies it later (Apply … Finish). See Input.Version for
// the version rules. Two writers of the same version: exactly one wins, the
// other gets a *core.VersionConflictError. Input equal to the latest
// version writes nothing and returns Result.Unchanged.
func (s *Service) PublishAsync(ctx context.Context, in Input) (Result, error) {
	return s.publish(ctx, in, false)
}

// PublishSync writes a new version and applies it in the same call: the
// command row, the data row, the history copy of the previous data row and
// the TTL of the previous command are one atomic write; then every
// data-sync handler runs and the command is marked finished. No state
// machine runs for it (the row carries syncMode SYNC). If an earlier
// version is still being applied asynchronously it fails with a
// *PendingError and writes nothing.
func (s *Service) PublishSync(ctx context.Context, in Input) (Result, error) {
	return s.publish(ctx, in, true)
}

// PublishPartialUpdateAsync merges in into its base version (see
// PartialInput) and publishes the result asynchronously.
func (s *Service) PublishPartialUpdateAsync(ctx context.Context, in PartialInput) (Result, error) {
	full, err := s.mergePartial(ctx, in)
	if err != nil {
		return Result{}, err
	}
	return s.publish(ctx, full, false)
}

// PublishPartialUpdateSync merges in into its base version and publishes the
// result synchronously, as PublishSync.
func (s *Service) PublishPartialUpdateSync(ctx context.Context, in PartialInput) (Result, error) {
	full, err := s.mergePartial(ctx, in)
	if err != nil {
		return Result{}, err
	}
	return s.publish(ctx, full, true)
}

func (s *Service) mergePartial(ctx context.Context, in PartialInput) (Input, error) {
	key := core.Key{PK: in.PK, SK: in.SK}
	if err := s.authorize(ctx, key); err != nil {
		return Input{}, err
	}
	id := core.EntityID(in.PK, in.SK)
	var base *core.Command
	var err error
	switch {
	case in.Version == core.VersionLatest:
		base, err = s.latest(ctx, key)
		if err == nil && base == nil {
			return Input{}, &core.NotFoundError{Kind: "entity", Name: id}
		}
	case in.Version > 0:
		base, err = s.getCommand(ctx, key, in.Version)
		if errors.Is(err, core.ErrNotFound) {
			return Input{}, s.conflict(ctx, key, in.Version)
		}
	default:
		return Input{}, &core.ValidationError{Problems: []string{fmt.Sprintf("partial update version %d: want %d (latest) or the latest version", in.Version, core.VersionLatest)}}
	}
	if err != nil {
		return Input{}, err
	}
	if err := s.resolveCommand(ctx, base); err != nil {
		return Input{}, err
	}
	full := Input{
		PK: in.PK, SK: in.SK, Version: base.Version, Name: base.Name,
		Code: base.Code, TenantCode: base.TenantCode, Type: base.Type,
		IsDeleted: base.IsDeleted, Seq: base.Seq, TTL: base.TTL,
		Attributes: MergeAttributes(base.Attributes, in.Attributes),
		Source:     in.Source,
	}
	if in.Name != nil {
		full.Name = *in.Name
	}
	if in.IsDeleted != nil {
		full.IsDeleted = *in.IsDeleted
	}
	if in.Seq != nil {
		full.Seq = *in.Seq
	}
	if in.TTL != nil {
		full.TTL = *in.TTL
	}
	return full, nil
}

// MergeAttributes returns a copy of base with patch merged in: maps are
// merged recursively, a nil value removes the key, anything else (arrays
// included) replaces the stored value. Neither argument is modified.
func MergeAttributes(base, patch map[string]any) core.Attributes {
	out := make(core.Attributes, len(base)+len(patch))
	for k, v := range base {
		out[k] = v
	}
	for k, pv := range patch {
		if pv == nil {
			delete(out, k)
			continue
		}
		pm, pIsMap := asMap(pv)
		bm, bIsMap := asMap(out[k])
		if pIsMap && bIsMap {
			out[k] = map[string]any(MergeAttributes(bm, pm))
			continue
		}
		out[k] = pv
	}
	return out
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case core.Attributes:
		return m, true
	}
	return nil, false
}

// conflict builds the version-conflict error for input version v,
// reporting the latest stored version.
func (s *Service) conflict(ctx context.Context, key core.Key, v int64) error {
	latest, err := s.latest(ctx, key)
	if err != nil {
		return err
	}
	var lv int64
	if latest != nil {
		lv = latest.Version
	}
	return &core.VersionConflictError{ID: core.EntityID(key.PK, key.SK), Input: v, Latest: lv}
}

func (s *Service) publish(ctx context.Context, in Input, sync bool) (Result, error) {
	n, err := s.normalize(ctx, in)
	if err != nil {
		return Result{}, err
	}
	// Resolve the base version.
	var base *core.Command
	switch {
	case n.Version == core.VersionNew:
	case n.Version == core.VersionLatest:
		if base, err = s.latest(ctx, n.key); err != nil {
			return Result{}, err
		}
	default:
		base, err = s.getCommand(ctx, n.key, n.Version)
		if errors.Is(err, core.ErrNotFound) {
			return Result{}, s.conflict(ctx, n.key, n.Version)
		}
		if err != nil {
			return Result{}, err
		}
	}
	version := int64(1)
	if base != nil {
		version = base.Version + 1
		if err := s.resolveCommand(ctx, base); err != nil {
			return Result{}, err
		}
		if sameContent(n.Input, base) {
			// Unchanged only if base is still the latest: a stale version
			// with equal content is a conflict all the same.
			if _, err := s.getCommand(ctx, n.key, version); err == nil {
				return Result{}, s.conflict(ctx, n.key, n.Version)
			} else if !errors.Is(err, core.ErrNotFound) {
				return Result{}, err
			}
			s.log.InfoContext(ctx, "command unchanged", "id", n.id, "version", base.Version)
			return Result{Command: base, Unchanged: true}, nil
		}
	}
	cmd, err := s.newCommand(ctx, n, version, sync)
	if err != nil {
		return Result{}, err
	}
	if sync {
		return s.publishSync(ctx, n, cmd)
	}
	item, cleanup, err := s.commandItem(ctx, cmd)
	if err != nil {
		return Result{}, err
	}
	if err := s.store.Put(ctx, s.commandTable, item, core.IfAbsent()); err != nil {
		cleanup(ctx)
		if errors.Is(err, core.ErrConditionFailed) {
			return Result{}, s.conflict(ctx, n.key, n.Version)
		}
		return Result{}, fmt.Errorf("publish %s version %d: %w", n.id, version, err)
	}
	s.log.InfoContext(ctx, "command published", "id", n.id, "version", version, "requestId", cmd.RequestID)
	return Result{Command: cmd}, nil
}

// sameContent is the dirty check: name, isDeleted, seq, ttl and attributes
// (numbers by value, nil equal to empty).
func sameContent(in Input, c *core.Command) bool {
	if in.Name != c.Name || in.IsDeleted != c.IsDeleted || in.Seq != c.Seq || in.TTL != c.TTL ||
		in.Code != c.Code || in.Type != c.Type || in.TenantCode != c.TenantCode {
		return false
	}
	a, err1 := core.Attributes(nonNil(in.Attributes)).MarshalDynamoDBAttributeValue()
	b, err2 := core.Attributes(nonNil(c.Attributes)).MarshalDynamoDBAttributeValue()
	return err1 == nil && err2 == nil && core.AttributeValuesEqual(a, b)
}

func nonNil(a core.Attributes) core.Attributes {
	if a == nil {
		return core.Attributes{}
	}
	return a
}

// newCommand builds the row of version v with audit fields from ctx.
func (s *Service) newCommand(ctx context.Context, n normalized, v int64, sync bool) (*core.Command, error) {
	sk, err := core.VersionedSK(n.SK, v)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	inv, _ := core.FromContext(ctx)
	cmd := &core.Command{
		PK: n.PK, SK: sk, ID: n.id, Code: n.Code, Name: n.Name, Version: v,
		TenantCode: n.TenantCode, Type: n.Type, IsDeleted: n.IsDeleted, Seq: n.Seq, TTL: n.TTL,
		Attributes: n.Attributes, RequestID: inv.RequestID, Source: n.Source,
		Status:    core.StatusStarted,
		CreatedAt: now, CreatedBy: inv.UserID, CreatedIP: inv.SourceIP,
		UpdatedAt: now, UpdatedBy: inv.UserID, UpdatedIP: inv.SourceIP,
	}
	if cmd.Attributes == nil {
		cmd.Attributes = core.Attributes{}
	}
	if sync {
		cmd.SyncMode = core.SyncModeSync
	} else {
		cmd.Unsettled, cmd.UnsettledAt = unsettledShard(n.id), core.FormatTime(now)
	}
	return cmd, nil
}

// commandItem marshals cmd, offloading large attributes. cleanup deletes
// the offloaded object; call it when the row is not written.
func (s *Service) commandItem(ctx context.Context, cmd *core.Command) (core.Item, func(context.Context), error) {
	stored := *cmd
	cleanup := func(context.Context) {}
	ref, err := s.offload(ctx, cmd.PK, cmd.SK, cmd.Attributes)
	if err != nil {
		return nil, cleanup, err
	}
	if ref != "" {
		stored.Attributes, stored.AttributesRef = nil, ref
		cleanup = func(ctx context.Context) { s.deleteOffloaded(ctx, ref) }
	}
	item, err := core.MarshalItem(&stored)
	if err != nil {
		cleanup(ctx)
		return nil, func(context.Context) {}, err
	}
	return item, cleanup, nil
}

// latest returns the latest command of the entity at key, or nil when it
// has none: one consistent descending Query with Limit 1, exact because
// versions are zero-padded in sort keys.
func (s *Service) latest(ctx context.Context, key core.Key) (*core.Command, error) {
	page, err := s.store.Query(ctx, s.commandTable, core.Query{
		PK: key.PK, Op: core.SKBeginsWith, SK: core.VersionPrefix(key.SK),
		Descending: true, Limit: 1, ConsistentRead: true,
	})
	if err != nil {
		return nil, fmt.Errorf("latest version of %s: %w", core.EntityID(key.PK, key.SK), err)
	}
	if len(page.Items) == 0 {
		return nil, nil
	}
	var c core.Command
	if err := core.UnmarshalItem(page.Items[0], &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// getCommand reads version v of the entity at key, consistently, without
// resolving offloaded attributes.
func (s *Service) getCommand(ctx context.Context, key core.Key, v int64) (*core.Command, error) {
	sk, err := core.VersionedSK(key.SK, v)
	if err != nil {
		return nil, err
	}
	return s.readCommand(ctx, core.Key{PK: key.PK, SK: sk})
}

// readCommand reads a command row by its own key, consistently.
func (s *Service) readCommand(ctx context.Context, key core.Key) (*core.Command, error) {
	item, err := s.store.Get(ctx, s.commandTable, key, true)
	if err != nil {
		return nil, err
	}
	var c core.Command
	if err := core.UnmarshalItem(item, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
