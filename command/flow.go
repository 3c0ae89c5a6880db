package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// Outcome is the result of Apply.
type Outcome string

// Apply outcomes.
const (
	// OutcomeApplied: this call applied the command.
	OutcomeApplied Outcome = "applied"
	// OutcomeAlreadyApplied: the data row already holds this version or a
	// later one (a redelivered or retried apply); nothing was written.
	OutcomeAlreadyApplied Outcome = "already_applied"
	// OutcomeWait: an earlier version is not applied yet; wait for it with
	// a task token (RegisterWaitToken).
	OutcomeWait Outcome = "wait"
	// OutcomeFailed: the command was failed by Fail; it will not be applied.
	OutcomeFailed Outcome = "failed"
)

// ApplyResult says what Apply did.
type ApplyResult struct {
	Outcome Outcome `json:"outcome"`
	// Version is the command's version.
	Version int64 `json:"version"`
	// WaitFor and WaitForStatus name the earlier version being waited for
	// (OutcomeWait only).
	WaitFor       int64              `json:"waitFor,omitempty"`
	WaitForStatus core.CommandStatus `json:"waitForStatus,omitempty"`
}

// WaitResult says whether a command that registered its task token must
// resume itself.
type WaitResult struct {
	// Resume is true when the predecessor settled before the token was
	// stored (or the command needs no wait any more): the caller sends
	// SendTaskSuccess for its own token and goes back to Apply. When
	// false, the predecessor's Finish or Fail returns the token.
	Resume bool `json:"resume"`
	// WaitFor is the earlier version still being waited for (Resume false).
	WaitFor int64 `json:"waitFor,omitempty"`
}

// Resume lists the task tokens of waiting successors that a finished or
// failed command must resume (SendTaskSuccess). A token may already be
// used (the successor resumed itself): core.ErrTaskTokenInvalid from
// SendTaskSuccess is then expected and harmless.
type Resume struct {
	Tokens []string `json:"tokens,omitempty"`
}

// statusIs is the condition "the command's status is still st": the
// optimistic lock of every status change. A row without status (not
// written by this package) only has to exist.
func statusIs(st core.CommandStatus) core.Condition {
	if st == "" {
		return core.IfExists()
	}
	return core.IfAttrEquals("status", &types.AttributeValueMemberS{Value: string(st)})
}

// settled reports whether a command no longer holds up its successors.
func settled(st core.CommandStatus) bool {
	switch st {
	case core.StatusApplied, core.StatusSynced, core.StatusFinished, core.StatusFailed:
		return true
	}
	return false
}

// cmdKey validates a command row key and returns its entity key and version.
func cmdKey(key core.Key) (core.Key, int64, error) {
	base, v, err := core.ParseVersionedSK(key.SK)
	if err != nil {
		return core.Key{}, 0, err
	}
	ek := core.Key{PK: key.PK, SK: base}
	if err := core.ValidateEntityKey(ek); err != nil {
		return core.Key{}, 0, err
	}
	// Normalise to the padded form the framework writes.
	return ek, v, nil
}

// readData reads the entity's data row consistently; nil when absent.
func (s *Service) readData(ctx context.Context, ek core.Key) (*core.Data, error) {
	item, err := s.store.Get(ctx, s.dataTable, ek, true)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var d core.Data
	if err := core.UnmarshalItem(item, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// gap reads the commands with versions in (d, v) and returns the highest
// one that is not settled (nil when all are) and the keys of the settled
// ones that exist.
func (s *Service) gap(ctx context.Context, ek core.Key, d, v int64) (*core.Command, []core.Key, error) {
	if v-d <= 1 {
		return nil, nil, nil
	}
	lo, err := core.VersionedSK(ek.SK, d+1)
	if err != nil {
		return nil, nil, err
	}
	hi, err := core.VersionedSK(ek.SK, v-1)
	if err != nil {
		return nil, nil, err
	}
	var blocker *core.Command
	var keys []core.Key
	q := core.Query{PK: ek.PK, Op: core.SKBetween, SK: lo, SK2: hi, ConsistentRead: true}
	for {
		page, err := s.store.Query(ctx, s.commandTable, q)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range page.Items {
			var c core.Command
			if err := core.UnmarshalItem(it, &c); err != nil {
				return nil, nil, err
			}
			if settled(c.Status) {
				keys = append(keys, c.Key())
			} else {
				cc := c
				blocker = &cc
			}
		}
		if page.Next == nil {
			return blocker, keys, nil
		}
		q.StartAfter = page.Next
	}
}

// Apply is the check/apply step. It re-reads the command; when every
// earlier version is settled it writes, in one transaction, the new data
// row (conditioned on the data version it read), the history copy of the
// previous data row, the command TTL on the superseded command(s) and the
// status "applied" on the command row. A version already in the data row
// gives OutcomeAlreadyApplied; an earlier unsettled version OutcomeWait.
func (s *Service) Apply(ctx context.Context, key core.Key) (ApplyResult, error) {
	r, _, err := s.apply(ctx, key)
	return r, err
}

// apply is Apply that also returns the command as it is afterwards (nil on
// error).
func (s *Service) apply(ctx context.Context, key core.Key) (ApplyResult, *core.Command, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return ApplyResult{}, nil, err
	}
	log := s.log.With("id", core.EntityID(ek.PK, ek.SK), "version", v)
	skipTTL := false
	for attempt := 0; ; attempt++ {
		cmd, err := s.getCommand(ctx, ek, v)
		if err != nil {
			return ApplyResult{}, nil, fmt.Errorf("apply: %w", err)
		}
		if cmd.Status == core.StatusFailed {
			return ApplyResult{Outcome: OutcomeFailed, Version: v}, cmd, nil
		}
		data, err := s.readData(ctx, ek)
		if err != nil {
			return ApplyResult{}, nil, fmt.Errorf("apply: %w", err)
		}
		var d int64
		if data != nil {
			d = data.Version
		}
		if d >= v {
			log.InfoContext(ctx, "command already applied", "dataVersion", d)
			return ApplyResult{Outcome: OutcomeAlreadyApplied, Version: v}, cmd, nil
		}
		blocker, skipped, err := s.gap(ctx, ek, d, v)
		if err != nil {
			return ApplyResult{}, nil, fmt.Errorf("apply: %w", err)
		}
		if blocker != nil {
			log.InfoContext(ctx, "command waits for an earlier version", "waitFor", blocker.Version, "waitForStatus", blocker.Status)
			return ApplyResult{Outcome: OutcomeWait, Version: v, WaitFor: blocker.Version, WaitForStatus: blocker.Status}, cmd, nil
		}
		now := s.now().UTC()
		ops, ttlOps, err := s.applyOps(cmd, data, skipped, now, !skipTTL)
		if err != nil {
			return ApplyResult{}, nil, err
		}
		ops = append(ops, core.TxOp{
			Table: s.commandTable, Key: cmd.Key(),
			Update: &core.Update{Set: map[string]core.AttributeValue{
				"status":    &types.AttributeValueMemberS{Value: string(core.StatusApplied)},
				"updatedAt": &types.AttributeValueMemberS{Value: core.FormatTime(now)},
			}},
			Cond: statusIs(cmd.Status),
		})
		err = s.store.Transact(ctx, ops)
		if err == nil {
			log.InfoContext(ctx, "command applied", "previousDataVersion", d, "skipped", len(skipped))
			cmd.Status = core.StatusApplied
			return ApplyResult{Outcome: OutcomeApplied, Version: v}, cmd, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || attempt >= 4 {
			return ApplyResult{}, nil, fmt.Errorf("apply %s: %w", cmd.SK, err)
		}
		if onlyFailed(err, ttlOps) {
			// A superseded command row vanished (expired or never in the
			// padded form): its TTL is moot; apply without the TTL writes
			// rather than fail for ever.
			log.WarnContext(ctx, "superseded command row missing; applying without command TTL", "err", err)
			skipTTL = true
			continue
		}
		// Something moved between our reads and the write (a concurrent
		// apply or fail): look again.
		log.InfoContext(ctx, "apply raced, re-reading", "err", err)
	}
}

// onlyFailed reports whether err is a cancelled transaction whose failed
// ops all have indices in [lo, hi).
func onlyFailed(err error, r [2]int) bool {
	var tc *core.TransactionCanceledError
	if !errors.As(err, &tc) || r[0] >= r[1] {
		return false
	}
	found := false
	for i, reason := range tc.Reasons {
		if reason == nil {
			continue
		}
		if i < r[0] || i >= r[1] {
			return false
		}
		found = true
	}
	return found
}

// applyOps builds the data, history and (when withTTL) TTL writes that apply
// cmd on top of prev (nil: no data row). superseded are settled commands
// between prev and cmd whose rows exist; they get the command TTL too.
// ttlOps is the index range of the TTL writes in ops.
func (s *Service) applyOps(cmd *core.Command, prev *core.Data, superseded []core.Key, now time.Time, withTTL bool) (ops []core.TxOp, ttlOps [2]int, err error) {
	ek := core.Key{PK: cmd.PK, SK: core.BaseSK(cmd.SK)}
	ttl := s.cfg.TTLFor(cmd.TenantCode)
	data := core.Data{
		PK: ek.PK, SK: ek.SK, ID: cmd.ID, Code: cmd.Code, Name: cmd.Name, Version: cmd.Version,
		TenantCode: cmd.TenantCode, Type: cmd.Type, IsDeleted: cmd.IsDeleted, Seq: cmd.Seq, TTL: cmd.TTL,
		Attributes: cmd.Attributes, AttributesRef: cmd.AttributesRef, RequestID: cmd.RequestID, Source: cmd.Source,
		CPK: cmd.PK, CSK: cmd.SK,
		CreatedAt: cmd.CreatedAt, CreatedBy: cmd.CreatedBy, CreatedIP: cmd.CreatedIP,
		UpdatedAt: cmd.UpdatedAt, UpdatedBy: cmd.UpdatedBy, UpdatedIP: cmd.UpdatedIP,
	}
	if data.TTL == 0 {
		data.TTL = ttl.Expiry(core.DataTableKind, now)
	}
	if data.AttributesRef != "" {
		data.Attributes = nil
	} else if data.Attributes == nil {
		data.Attributes = core.Attributes{}
	}
	cond := core.IfAbsent()
	if prev != nil {
		cond = core.IfVersion(prev.Version)
		data.CreatedAt, data.CreatedBy, data.CreatedIP = prev.CreatedAt, prev.CreatedBy, prev.CreatedIP
		hist := *prev
		sk, err := core.VersionedSK(prev.SK, prev.Version)
		if err != nil {
			return nil, ttlOps, err
		}
		hist.SK = sk
		hist.TTL = ttl.Expiry(core.HistoryTableKind, now)
		item, err := core.MarshalItem(&hist)
		if err != nil {
			return nil, ttlOps, err
		}
		ops = append(ops, core.TxOp{Table: s.historyTable, Put: item})
		// The previous data row's command is superseded now. Its row exists
		// unless it carried a TTL that has passed (DynamoDB may have deleted
		// it); then it is left alone, because an update of a missing item in
		// the transaction would fail it for ever.
		if prev.CSK != "" && (prev.TTL == 0 || prev.TTL > now.Unix()) {
			superseded = append(superseded, core.Key{PK: prev.CPK, SK: prev.CSK})
		}
	}
	item, err := core.MarshalItem(&data)
	if err != nil {
		return nil, ttlOps, err
	}
	ops = append([]core.TxOp{{Table: s.dataTable, Put: item, Cond: cond}}, ops...)
	ttlOps = [2]int{len(ops), len(ops)}
	if exp := ttl.Expiry(core.CommandTableKind, now); exp > 0 && withTTL {
		for _, k := range superseded {
			if k.SK == "" || len(ops) >= core.MaxTransactItems-2 {
				continue
			}
			ops = append(ops, core.TxOp{
				Table: s.commandTable, Key: k, Cond: core.IfExists(),
				Update: &core.Update{Set: map[string]core.AttributeValue{
					"ttl": &types.AttributeValueMemberN{Value: fmt.Sprint(exp)},
				}},
			})
		}
	}
	ttlOps[1] = len(ops)
	return ops, ttlOps, nil
}

// publishSync writes cmd and applies it in one transaction, then runs the
// sync handlers and finishes it.
func (s *Service) publishSync(ctx context.Context, n normalized, cmd *core.Command) (Result, error) {
	log := s.log.With("id", n.id, "version", cmd.Version)
	data, err := s.readData(ctx, n.key)
	if err != nil {
		return Result{}, err
	}
	var d int64
	if data != nil {
		d = data.Version
	}
	if d >= cmd.Version {
		return Result{}, s.conflict(ctx, n.key, n.Version)
	}
	blocker, skipped, err := s.gap(ctx, n.key, d, cmd.Version)
	if err != nil {
		return Result{}, err
	}
	if blocker != nil {
		return Result{}, &PendingError{ID: n.id, Version: cmd.Version, Pending: blocker.Version}
	}
	cmd.Status = core.StatusApplied
	item, cleanup, err := s.commandItem(ctx, cmd)
	if err != nil {
		return Result{}, err
	}
	stored := *cmd
	if ref, ok := item["attributesRef"].(*types.AttributeValueMemberS); ok {
		stored.Attributes, stored.AttributesRef = nil, ref.Value
	}
	ops, ttlOps, err := s.applyOps(&stored, data, skipped, s.now().UTC(), true)
	if err != nil {
		cleanup(ctx)
		return Result{}, err
	}
	ops = append([]core.TxOp{{Table: s.commandTable, Put: item, Cond: core.IfAbsent()}}, ops...)
	err = s.store.Transact(ctx, ops)
	if onlyFailed(err, [2]int{ttlOps[0] + 1, ttlOps[1] + 1}) {
		// See apply: a missing superseded row only loses its TTL.
		log.WarnContext(ctx, "superseded command row missing; applying without command TTL", "err", err)
		ops, _, err = s.applyOps(&stored, data, skipped, s.now().UTC(), false)
		if err == nil {
			ops = append([]core.TxOp{{Table: s.commandTable, Put: item, Cond: core.IfAbsent()}}, ops...)
			err = s.store.Transact(ctx, ops)
		}
	}
	if err != nil {
		cleanup(ctx)
		if errors.Is(err, core.ErrConditionFailed) {
			return Result{}, s.conflict(ctx, n.key, n.Version)
		}
		return Result{}, fmt.Errorf("publish %s version %d: %w", n.id, cmd.Version, err)
	}
	log.InfoContext(ctx, "command published and applied synchronously")
	if err := s.runHandlers(ctx, cmd, false); err != nil {
		if _, ferr := s.Fail(ctx, cmd.Key(), err); ferr != nil {
			err = errors.Join(err, ferr)
		}
		cmd.Status = core.StatusFailed
		return Result{Command: cmd}, err
	}
	if _, err := s.Finish(ctx, cmd.Key()); err != nil {
		return Result{Command: cmd}, err
	}
	cmd.Status = core.StatusFinished
	return Result{Command: cmd}, nil
}

// RegisterWaitToken is the wait step: it stores token on the command row
// (status "waiting"), then re-checks, consistently, whether the command
// still has to wait. Because a predecessor's Finish reads its successor's
// token only after the predecessor is applied, either that Finish sees the
// token, or this re-check sees the predecessor applied: no interleaving
// leaves the command waiting with nobody to resume it.
func (s *Service) RegisterWaitToken(ctx context.Context, key core.Key, token string) (WaitResult, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return WaitResult{}, err
	}
	if token == "" {
		return WaitResult{}, &core.ValidationError{Problems: []string{"task token is empty"}}
	}
	cmd, err := s.getCommand(ctx, ek, v)
	if err != nil {
		return WaitResult{}, fmt.Errorf("register wait token: %w", err)
	}
	if settled(cmd.Status) {
		return WaitResult{Resume: true}, nil
	}
	_, err = s.store.Update(ctx, s.commandTable, cmd.Key(), core.Update{Set: map[string]core.AttributeValue{
		"taskToken": &types.AttributeValueMemberS{Value: token},
		"status":    &types.AttributeValueMemberS{Value: string(core.StatusWaiting)},
		"updatedAt": &types.AttributeValueMemberS{Value: core.FormatTime(s.now())},
	}}, statusIs(cmd.Status))
	if errors.Is(err, core.ErrConditionFailed) {
		// The status moved under us (failed, or applied by a retry): no
		// reason to wait; Apply will tell what happened.
		return WaitResult{Resume: true}, nil
	}
	if err != nil {
		return WaitResult{}, fmt.Errorf("register wait token: %w", err)
	}
	data, err := s.readData(ctx, ek)
	if err != nil {
		return WaitResult{}, err
	}
	var d int64
	if data != nil {
		d = data.Version
	}
	if d >= v {
		return WaitResult{Resume: true}, nil
	}
	blocker, _, err := s.gap(ctx, ek, d, v)
	if err != nil {
		return WaitResult{}, err
	}
	if blocker == nil {
		s.log.InfoContext(ctx, "predecessor settled while registering the wait token; resuming", "id", cmd.ID, "version", v)
		return WaitResult{Resume: true}, nil
	}
	s.log.InfoContext(ctx, "command waiting", "id", cmd.ID, "version", v, "waitFor", blocker.Version)
	return WaitResult{WaitFor: blocker.Version}, nil
}

// Finish is the finish step of an applied command: it records the status
// "finished", publishes a notification and returns the tokens of the
// successors to resume. Finishing a command that is not applied is an
// error (it would let successors skip it); finishing twice is harmless.
func (s *Service) Finish(ctx context.Context, key core.Key) (Resume, error) {
	return s.finish(ctx, key, nil)
}

// finish is Finish starting from cmd when the caller has just read or
// written it (nil: read it).
func (s *Service) finish(ctx context.Context, key core.Key, cmd *core.Command) (Resume, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return Resume{}, err
	}
	for attempt := 0; ; attempt++ {
		if cmd == nil {
			if cmd, err = s.getCommand(ctx, ek, v); err != nil {
				return Resume{}, fmt.Errorf("finish: %w", err)
			}
		}
		switch cmd.Status {
		case core.StatusFinished:
		case core.StatusApplied, core.StatusSynced:
			err := s.setStatus(ctx, cmd, core.StatusFinished, "")
			if errors.Is(err, core.ErrConditionFailed) && attempt < 4 {
				cmd = nil // a concurrent step moved the status: look again
				continue
			}
			if err != nil {
				return Resume{}, err
			}
		default:
			return Resume{}, &core.ValidationError{Problems: []string{fmt.Sprintf("finish %s: status is %q, not applied", cmd.SK, cmd.Status)}}
		}
		s.log.InfoContext(ctx, "command finished", "id", cmd.ID, "version", v)
		return s.afterEnd(ctx, cmd, core.StatusFinished)
	}
}

// Fail is the fail step: it marks the command failed with cause, publishes
// a notification and returns the tokens of the successors to resume. Under
// the failure policy of the package doc, a command failed before it was applied is never
// applied, and its successors skip it; one failed after it was applied (a
// sync handler failed) stays in the data row, and its successors apply on
// top of it as usual. A finished command is left as it is.
func (s *Service) Fail(ctx context.Context, key core.Key, cause error) (Resume, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return Resume{}, err
	}
	msg := "failed"
	if cause != nil {
		msg = cause.Error()
	}
	for attempt := 0; ; attempt++ {
		cmd, err := s.getCommand(ctx, ek, v)
		if err != nil {
			return Resume{}, fmt.Errorf("fail: %w", err)
		}
		if cmd.Status == core.StatusFinished {
			return Resume{}, nil
		}
		if cmd.Status != core.StatusFailed {
			err = s.setStatus(ctx, cmd, core.StatusFailed, msg)
			if errors.Is(err, core.ErrConditionFailed) && attempt < 4 {
				continue
			}
			if err != nil {
				return Resume{}, err
			}
		}
		s.log.WarnContext(ctx, "command failed", "id", cmd.ID, "version", v, "cause", msg)
		return s.afterEnd(ctx, cmd, core.StatusFailed)
	}
}

// setStatus updates the status of cmd if it is still cmd.Status, removing
// its task token.
func (s *Service) setStatus(ctx context.Context, cmd *core.Command, st core.CommandStatus, errMsg string) error {
	set := map[string]core.AttributeValue{
		"status":    &types.AttributeValueMemberS{Value: string(st)},
		"updatedAt": &types.AttributeValueMemberS{Value: core.FormatTime(s.now())},
	}
	if errMsg != "" {
		set["error"] = &types.AttributeValueMemberS{Value: errMsg}
	}
	upd := core.Update{Set: set}
	if cmd.TaskToken != "" {
		upd.Remove = []string{"taskToken"}
	}
	if (st == core.StatusFinished || st == core.StatusFailed) && cmd.Unsettled != "" {
		// Out of the unsettled index, in the same write as the final status.
		upd.Remove = append(upd.Remove, "unsettled", "unsettledAt")
	}
	_, err := s.store.Update(ctx, s.commandTable, cmd.Key(), upd, statusIs(cmd.Status))
	if err != nil {
		return fmt.Errorf("set status %s of %s: %w", st, cmd.SK, err)
	}
	cmd.Status = st
	if errMsg != "" {
		cmd.Error = errMsg
	}
	if st == core.StatusFinished || st == core.StatusFailed {
		cmd.Unsettled, cmd.UnsettledAt = "", ""
	}
	return nil
}

// afterEnd notifies and collects the successors' tokens: every successor
// up to and including the first unsettled one (failed successors are
// skipped over, so a waiter behind them is resumed too).
func (s *Service) afterEnd(ctx context.Context, cmd *core.Command, st core.CommandStatus) (Resume, error) {
	var res Resume
	ek := core.Key{PK: cmd.PK, SK: core.BaseSK(cmd.SK)}
	lo, err := core.VersionedSK(ek.SK, cmd.Version+1)
	if err != nil {
		return res, err
	}
	hi, _ := core.VersionedSK(ek.SK, core.MaxVersion)
	q := core.Query{PK: ek.PK, Op: core.SKBetween, SK: lo, SK2: hi, Limit: 10, ConsistentRead: true}
scan:
	for {
		page, err := s.store.Query(ctx, s.commandTable, q)
		if err != nil {
			return res, fmt.Errorf("read successors of %s: %w", cmd.SK, err)
		}
		for _, it := range page.Items {
			var c core.Command
			if err := core.UnmarshalItem(it, &c); err != nil {
				return res, err
			}
			if c.TaskToken != "" {
				res.Tokens = append(res.Tokens, c.TaskToken)
			}
			if !settled(c.Status) {
				break scan
			}
		}
		if page.Next == nil {
			break
		}
		q.StartAfter = page.Next
	}
	if err := s.notify(ctx, cmd, st); err != nil {
		return res, err
	}
	return res, nil
}

// ActionCommandStatus is the action of command notifications: the
// "action" field of Notification and the "action" message attribute that
// topic subscriptions filter on.
const ActionCommandStatus = "command-status"

// Notification is the message published on the notification topic when a
// command finishes or fails.
type Notification struct {
	Action     string             `json:"action"` // ActionCommandStatus
	Table      string             `json:"table"`
	PK         string             `json:"pk"`
	SK         string             `json:"sk"`
	ID         string             `json:"id"`
	TenantCode string             `json:"tenantCode"`
	Version    int64              `json:"version"`
	Status     core.CommandStatus `json:"status"`
	Error      string             `json:"error,omitempty"`
}

func (s *Service) notify(ctx context.Context, cmd *core.Command, st core.CommandStatus) error {
	if s.topic == nil {
		return nil
	}
	msg, err := json.Marshal(Notification{Action: ActionCommandStatus, Table: s.commandTable, PK: cmd.PK, SK: cmd.SK,
		ID: cmd.ID, TenantCode: cmd.TenantCode, Version: cmd.Version, Status: st, Error: cmd.Error})
	if err != nil {
		return err
	}
	if _, err := s.topic.Publish(ctx, s.cfg.NotificationTopic(), string(msg), map[string]string{"action": ActionCommandStatus}); err != nil {
		return fmt.Errorf("notify %s %s: %w", cmd.SK, st, err)
	}
	return nil
}

// RunSync is the sync step: it runs Up of every data-sync handler, in
// registration order, with the command's attributes resolved, and records
// the status "synced". Errors of all handlers are joined, each naming its
// handler. With no handlers it does nothing (the built-in projection was
// done by Apply).
func (s *Service) RunSync(ctx context.Context, key core.Key) error {
	if len(s.handlers) == 0 {
		return nil
	}
	cmd, err := s.loadForSync(ctx, key, true)
	if err != nil {
		return err
	}
	if err := s.runHandlers(ctx, cmd, false); err != nil {
		return err
	}
	if cmd.Status == core.StatusApplied {
		if err := s.setStatus(ctx, cmd, core.StatusSynced, ""); err != nil && !errors.Is(err, core.ErrConditionFailed) {
			return err
		}
	}
	return nil
}

// RunHandler runs Up of the handler called name: one iteration of the sync
// step's Map.
func (s *Service) RunHandler(ctx context.Context, key core.Key, name string) error {
	h := s.handler(name)
	if h == nil {
		return &core.NotFoundError{Kind: "sync handler", Name: s.module + "/" + name}
	}
	cmd, err := s.loadForSync(ctx, key, true)
	if err != nil {
		return err
	}
	if err := h.Up(ctx, cmd); err != nil {
		return fmt.Errorf("sync handler %q: %w", name, err)
	}
	return s.markSynced(ctx, cmd, name)
}

// syncedFlag is the attribute of a command row that records that the
// data-sync handler at index i ran (modules with several handlers only).
func syncedFlag(i int) string { return fmt.Sprintf("synced_%d", i) }

// markSynced records that handler name ran for cmd and, when it was the
// last of the module's handlers to run, the status "synced". Only the sync
// path pays for it (the default path has no handler): with one handler it
// is one conditional status write; with several, each handler sets its own
// flag (idempotent, so a retried iteration is harmless) and the iteration
// that completes the set writes the status. A status that moved on
// (synced, finished, failed) is left alone.
func (s *Service) markSynced(ctx context.Context, cmd *core.Command, name string) error {
	if cmd.Status != core.StatusApplied {
		return nil
	}
	if len(s.handlers) > 1 {
		idx := -1
		for i, h := range s.handlers {
			if h.Name() == name {
				idx = i
			}
		}
		item, err := s.store.Update(ctx, s.commandTable, cmd.Key(), core.Update{Set: map[string]core.AttributeValue{
			syncedFlag(idx): &types.AttributeValueMemberBOOL{Value: true},
		}}, statusIs(core.StatusApplied))
		if errors.Is(err, core.ErrConditionFailed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record sync handler %q of %s: %w", name, cmd.SK, err)
		}
		for i := range s.handlers {
			if b, ok := item[syncedFlag(i)].(*types.AttributeValueMemberBOOL); !ok || !b.Value {
				return nil // another handler is still to run
			}
		}
	}
	if err := s.setStatus(ctx, cmd, core.StatusSynced, ""); err != nil && !errors.Is(err, core.ErrConditionFailed) {
		return err
	}
	return nil
}

// unsettledBefore returns the earlier versions of the command at key that
// are not settled and hold it up (empty when it is applied, failed, or
// free to apply).
func (s *Service) unsettledBefore(ctx context.Context, key core.Key) ([]core.Command, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return nil, err
	}
	data, err := s.readData(ctx, ek)
	if err != nil {
		return nil, err
	}
	var d int64
	if data != nil {
		d = data.Version
	}
	if v-d <= 1 {
		return nil, nil
	}
	lo, err := core.VersionedSK(ek.SK, d+1)
	if err != nil {
		return nil, err
	}
	hi, err := core.VersionedSK(ek.SK, v-1)
	if err != nil {
		return nil, err
	}
	var out []core.Command
	q := core.Query{PK: ek.PK, Op: core.SKBetween, SK: lo, SK2: hi, ConsistentRead: true}
	for {
		page, err := s.store.Query(ctx, s.commandTable, q)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			var c core.Command
			if err := core.UnmarshalItem(it, &c); err != nil {
				return nil, err
			}
			if !settled(c.Status) {
				out = append(out, c)
			}
		}
		if page.Next == nil {
			return out, nil
		}
		q.StartAfter = page.Next
	}
}

// abandon marks the command at key failed with cause if it is still
// unsettled (started or waiting), for a command whose execution ended
// without settling it: nothing would ever apply it, and its successors
// would wait for it forever. A settled command is left as it is
// (abandoned false). Like Fail, it notifies and returns the successors to
// resume.
func (s *Service) abandon(ctx context.Context, key core.Key, cause string) (Resume, bool, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return Resume{}, false, err
	}
	for attempt := 0; ; attempt++ {
		cmd, err := s.getCommand(ctx, ek, v)
		if err != nil {
			return Resume{}, false, fmt.Errorf("abandon: %w", err)
		}
		if settled(cmd.Status) {
			return Resume{}, false, nil
		}
		err = s.setStatus(ctx, cmd, core.StatusFailed, cause)
		if errors.Is(err, core.ErrConditionFailed) && attempt < 4 {
			continue
		}
		if err != nil {
			return Resume{}, false, err
		}
		s.log.ErrorContext(ctx, "command abandoned: its execution ended without settling it", "id", cmd.ID, "version", v, "cause", cause)
		r, err := s.afterEnd(ctx, cmd, core.StatusFailed)
		return r, true, err
	}
}

// RunDown runs Down of every data-sync handler, in reverse registration
// order, for the command at key.
func (s *Service) RunDown(ctx context.Context, key core.Key) error {
	cmd, err := s.loadForSync(ctx, key, false)
	if err != nil {
		return err
	}
	return s.runHandlers(ctx, cmd, true)
}

func (s *Service) handler(name string) SyncHandler {
	for _, h := range s.handlers {
		if h.Name() == name {
			return h
		}
	}
	return nil
}

// loadForSync reads the command at key with its attributes resolved; with
// applied, it refuses a command that is not applied (handlers must never
// project a version the data table does not hold).
func (s *Service) loadForSync(ctx context.Context, key core.Key, applied bool) (*core.Command, error) {
	ek, v, err := cmdKey(key)
	if err != nil {
		return nil, err
	}
	cmd, err := s.getCommand(ctx, ek, v)
	if err != nil {
		return nil, err
	}
	if applied {
		switch cmd.Status {
		case core.StatusApplied, core.StatusSynced, core.StatusFinished:
		default:
			return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("sync %s: status is %q, not applied", cmd.SK, cmd.Status)}}
		}
	}
	if err := s.resolveCommand(ctx, cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

func (s *Service) runHandlers(ctx context.Context, cmd *core.Command, down bool) error {
	var errs []error
	for i := range s.handlers {
		h := s.handlers[i]
		if down {
			h = s.handlers[len(s.handlers)-1-i]
		}
		c := *cmd
		var err error
		if down {
			err = h.Down(ctx, &c)
		} else {
			err = h.Up(ctx, &c)
		}
		if err != nil {
			s.log.ErrorContext(ctx, "sync handler failed", "handler", h.Name(), "id", cmd.ID, "version", cmd.Version, "down", down, "err", err)
			errs = append(errs, fmt.Errorf("sync handler %q: %w", h.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// AdvanceResult says what Advance did.
type AdvanceResult struct {
	// Apply is the result of the apply step.
	Apply ApplyResult `json:"apply"`
	// Finished reports that Advance also ran the finish step.
	Finished bool `json:"finished"`
	// Resume holds the successors to resume when Finished.
	Resume Resume `json:"resume"`
}

// Advance is the default path of the command flow in one call: Apply, and,
// when the command is applied (now or before) and the module has no
// data-sync handlers, Finish. It lets a state machine handle a command with
// one Lambda invocation when nothing has to wait and only the built-in
// projection runs; otherwise the caller continues with the wait or sync
// steps as the result says.
func (s *Service) Advance(ctx context.Context, key core.Key) (AdvanceResult, error) {
	ar, cmd, err := s.apply(ctx, key)
	if err != nil {
		return AdvanceResult{}, err
	}
	res := AdvanceResult{Apply: ar}
	if len(s.handlers) > 0 {
		return res, nil
	}
	switch ar.Outcome {
	case OutcomeApplied:
	case OutcomeAlreadyApplied:
		// A redelivery: finish only a command that was applied, not one
		// that failed (it stays failed).
		if cmd.Status != core.StatusApplied && cmd.Status != core.StatusSynced && cmd.Status != core.StatusFinished {
			return res, nil
		}
	default:
		return res, nil
	}
	r, err := s.finish(ctx, key, cmd)
	if err != nil {
		return res, err
	}
	res.Finished, res.Resume = true, r
	return res, nil
}
