package command

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// UnsettledIndex is the sparse global secondary index of every command
// table that lists the commands the command flow has yet to finish:
// PublishAsync writes the command row with the index attributes
// (core.Command.Unsettled, a shard, and UnsettledAt, a time), and the step
// that finishes or fails the command removes them in the same write. It
// costs no request of its own. Sweep queries it; provision it on every
// command table (localstack.TableSpec.Indexes, the deployment template),
// with a KEYS_ONLY projection.
var UnsettledIndex = core.Index{Name: "unsettled", PK: "unsettled", SK: "unsettledAt"}

// UnsettledShards is the number of partitions UnsettledIndex spreads the
// commands over (by a hash of the entity id), so that its writes are not
// bound to one index partition's throughput.
const UnsettledShards = 16

// unsettledShard returns the UnsettledIndex partition of entity id.
func unsettledShard(id string) string { return core.Shard(id, UnsettledShards) }

// Defaults of SweepOptions.
const (
	// DefaultSweepAge is the default of SweepOptions.OlderThan: three
	// default wait timeouts, long past the seconds a command normally
	// takes.
	DefaultSweepAge = 15 * time.Minute
	// DefaultSweepLimit is the default of SweepOptions.Limit.
	DefaultSweepLimit = 1000
)

// SweepOptions configure Sweep.
type SweepOptions struct {
	// OlderThan: a command is looked at when it has been unsettled for
	// longer (since it was published, or since the last sweep looked at
	// it). Default DefaultSweepAge.
	OlderThan time.Duration
	// Limit bounds the commands one sweep looks at; the rest are left to
	// the next sweep. Default DefaultSweepLimit.
	Limit int
	// Now is the sweep's clock (default time.Now).
	Now func() time.Time
}

// SweepResult counts what a sweep found and did.
type SweepResult struct {
	// Found counts the commands unsettled for longer than OlderThan.
	Found int `json:"found"`
	// Started counts commands without an execution (their stream record
	// was lost): their execution was started.
	Started int `json:"started"`
	// Running counts commands whose execution is still running; they are
	// left to it and looked at again after OlderThan.
	Running int `json:"running"`
	// Failed counts commands whose execution ended without finishing them:
	// they were marked failed and their successors resumed.
	Failed int `json:"failed"`
	// Cleared counts commands that were settled already.
	Cleared int `json:"cleared"`
}

// Sweep finds the commands of every module that have been unsettled for
// longer than so.OlderThan and recovers them, so that no command stays
// unsettled for ever, not even the last version of an entity whose stream
// record was lost (a later version would recover it by itself, but there
// is none). It reads the UnsettledIndex — a few index queries, never a
// table scan — and for each command found:
//
//   - no execution under its deterministic name: starts it;
//   - execution running: leaves it (a long wait for a predecessor);
//   - execution ended without finishing the command: marks the command
//     failed (Fail: notification, successors resumed);
//
// and moves its UnsettledAt forward, so that the next sweeps look at it
// again only after OlderThan. opts are the options given to Steps; the
// store must implement core.IndexQuerier (both adapters do).
//
// Deployed, run it on a schedule: an EventBridge Scheduler schedule (or
// rule) every few minutes that invokes the service's Lambda with the
// event SweepEvent describes; Steps routes it here. The embedded runtime
// sweeps by itself (local.Options.SweepInterval).
func Sweep(ctx context.Context, opts StepsOptions, so SweepOptions) (SweepResult, error) {
	st, err := newSteps(opts)
	if err != nil {
		return SweepResult{}, err
	}
	return st.sweep(ctx, so)
}

func (st *steps) sweep(ctx context.Context, so SweepOptions) (SweepResult, error) {
	if so.OlderThan <= 0 {
		so.OlderThan = DefaultSweepAge
	}
	if so.Limit <= 0 {
		so.Limit = DefaultSweepLimit
	}
	if so.Now == nil {
		so.Now = time.Now
	}
	var res SweepResult
	for _, m := range slices.Sorted(maps.Keys(st.opts.Services)) {
		svc := st.opts.Services[m]
		iq, ok := svc.store.(core.IndexQuerier)
		if !ok {
			return res, fmt.Errorf("command: sweep: the item store %T cannot query indexes: %w", svc.store, core.ErrNotImplemented)
		}
		cutoff := core.FormatTime(so.Now().Add(-so.OlderThan))
		for shard := 0; shard < UnsettledShards && res.Found < so.Limit; shard++ {
			page, err := iq.QueryIndex(ctx, svc.commandTable, core.IndexQuery{Index: UnsettledIndex, PK: strconv.Itoa(shard),
				Op: core.SKLessEq, SK: cutoff, Limit: so.Limit - res.Found})
			if err != nil {
				return res, fmt.Errorf("command: sweep %s shard %d: %w", m, shard, err)
			}
			for _, it := range page.Items {
				k, ok := itemKey(it)
				if !ok {
					continue
				}
				res.Found++
				if err := st.sweepOne(ctx, svc, m, k, so.Now(), &res); err != nil {
					return res, err
				}
			}
		}
	}
	if res.Found > 0 {
		st.log.WarnContext(ctx, "sweep recovered unsettled commands", "found", res.Found, "started", res.Started,
			"running", res.Running, "failed", res.Failed, "cleared", res.Cleared)
	}
	return res, nil
}

// itemKey returns the table key of an index item.
func itemKey(it core.Item) (core.Key, bool) {
	pk, ok1 := it["pk"].(*types.AttributeValueMemberS)
	sk, ok2 := it["sk"].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return core.Key{}, false
	}
	return core.Key{PK: pk.Value, SK: sk.Value}, true
}

// sweepOne recovers the command at key (see Sweep).
func (st *steps) sweepOne(ctx context.Context, svc *Service, module string, key core.Key, now time.Time, res *SweepResult) error {
	cmd, err := svc.readCommand(ctx, key)
	if errors.Is(err, core.ErrNotFound) {
		return nil // expired meanwhile
	}
	if err != nil {
		return fmt.Errorf("command: sweep: %w", err)
	}
	log := st.log.With("module", module, "pk", key.PK, "sk", key.SK, "status", cmd.Status)
	if final(cmd.Status) {
		res.Cleared++
		return st.unlist(ctx, svc, cmd)
	}
	name := ExecutionName(module, cmd.PK, cmd.SK)
	ex, err := st.opts.Workflows.DescribeExecution(ctx, executionARN(st.opts.StateMachineARN, name))
	switch {
	case errors.Is(err, core.ErrNotFound):
		in, err := executionInput(module, cmd.PK, cmd.SK)
		if err != nil {
			return err
		}
		if _, err := st.opts.Workflows.StartExecution(ctx, st.opts.StateMachineARN, name, in); err != nil && !errors.Is(err, core.ErrExecutionExists) {
			return fmt.Errorf("command: sweep: start %s: %w", name, err)
		}
		log.WarnContext(ctx, "sweep: unsettled command had no execution (lost stream record); started it", "execution", name)
		res.Started++
	case err != nil:
		return fmt.Errorf("command: sweep: describe %s: %w", name, err)
	case ex.Status == core.ExecutionRunning:
		res.Running++
	default:
		// Ended. Look again: the execution may have finished the command
		// between the two reads.
		if cmd, err = svc.readCommand(ctx, key); err != nil {
			return fmt.Errorf("command: sweep: %w", err)
		}
		if final(cmd.Status) {
			res.Cleared++
			return st.unlist(ctx, svc, cmd)
		}
		cause := fmt.Errorf("execution %s ended (%s %s) without finishing the command", name, ex.Status, ex.Error)
		r, err := svc.Fail(ctx, key, cause)
		if err != nil {
			return fmt.Errorf("command: sweep: %w", err)
		}
		if _, err := st.resume(ctx, log, key, r.Tokens); err != nil {
			return err
		}
		log.ErrorContext(ctx, "sweep: command's execution ended without finishing it; marked failed", "execution", name, "executionStatus", ex.Status)
		res.Failed++
		return nil
	}
	// Look again after OlderThan: move the command along the index.
	_, err = svc.store.Update(ctx, svc.commandTable, key, core.Update{Set: map[string]core.AttributeValue{
		"unsettledAt": &types.AttributeValueMemberS{Value: core.FormatTime(now)},
	}}, core.IfAttrEquals("unsettled", &types.AttributeValueMemberS{Value: cmd.Unsettled}))
	if err != nil && !errors.Is(err, core.ErrConditionFailed) {
		return fmt.Errorf("command: sweep: %w", err)
	}
	return nil
}

// unlist removes a settled command's stale index entry.
func (st *steps) unlist(ctx context.Context, svc *Service, cmd *core.Command) error {
	if cmd.Unsettled == "" {
		return nil
	}
	_, err := svc.store.Update(ctx, svc.commandTable, cmd.Key(), core.Update{Remove: []string{"unsettled", "unsettledAt"}}, statusIs(cmd.Status))
	if err != nil && !errors.Is(err, core.ErrConditionFailed) {
		return fmt.Errorf("command: sweep: %w", err)
	}
	return nil
}

// final reports whether a command's flow is over.
func final(s core.CommandStatus) bool { return s == core.StatusFinished || s == core.StatusFailed }

// The sweep event: Steps routes EventBridge events of this source and
// detail-type to Sweep.
const (
	SweepEventSource     = "stepcqrs"
	SweepEventDetailType = "stepcqrs.command.sweep"
)

// SweepEvent is the detail of the sweep event. A schedule invokes the
// service's Lambda with an EventBridge-shaped input such as
//
//	{"version": "0", "id": "sweep", "source": "stepcqrs",
//	 "detail-type": "stepcqrs.command.sweep", "account": "123456789012",
//	 "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
//	 "resources": [], "detail": {"olderThanSeconds": 900}}
//
// (an EventBridge Scheduler schedule with that JSON as its target input,
// or an EventBridge rule with it as the target's constant Input).
type SweepEvent struct {
	// OlderThanSeconds overrides SweepOptions.OlderThan (0: default).
	OlderThanSeconds int `json:"olderThanSeconds,omitempty"`
	// Limit overrides SweepOptions.Limit (0: default).
	Limit int `json:"limit,omitempty"`
}

// onSweep is the route of the sweep event.
func (st *steps) onSweep(ctx context.Context, ev eventfactory.EventBridgeEvent[SweepEvent]) error {
	res, err := st.sweep(ctx, SweepOptions{OlderThan: time.Duration(ev.Detail.OlderThanSeconds) * time.Second, Limit: ev.Detail.Limit})
	st.log.InfoContext(ctx, "sweep", "found", res.Found, "started", res.Started, "running", res.Running,
		"failed", res.Failed, "cleared", res.Cleared, "err", err)
	return err
}
