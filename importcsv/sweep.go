package importcsv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// UnsettledIndex is the sparse global secondary index of the import table
// that lists the jobs not final yet, by when the sweep is to look at them
// (the same index as the tasks table's). Provision it with a KEYS_ONLY
// projection.
var UnsettledIndex = core.Index{Name: "unsettled", PK: "unsettled", SK: "unsettledAt"}

// UnsettledShards is the number of partitions UnsettledIndex spreads the
// jobs over.
const UnsettledShards = 16

// SweepResult counts what a sweep found and did.
type SweepResult struct {
	// Found counts the jobs due.
	Found int `json:"found"`
	// Started counts step-function jobs whose execution was started (it
	// never was, or is gone).
	Started int `json:"started"`
	// Failed counts jobs failed because their execution ended without
	// finalizing them, or because the process of a direct job stopped.
	Failed int `json:"failed"`
	// Running counts jobs left to a live execution or process.
	Running int `json:"running"`
}

// Sweep finds the jobs due in UnsettledIndex and recovers them, so that
// no job stays CREATED or PROCESSING for ever: a step-function job whose
// execution never started is started; one whose execution ended without
// finalizing it is failed, its rows not imported failed with the
// execution's error; a direct job whose process stopped (no progress for
// Settings.StuckAfter) is failed likewise. The store must implement
// core.IndexQuerier. Run it on a schedule (SweepEvent); the embedded
// runtime does.
func (s *Service) Sweep(ctx context.Context, limit int) (SweepResult, error) {
	var res SweepResult
	iq, ok := s.store.(core.IndexQuerier)
	if !ok {
		return res, fmt.Errorf("importcsv: sweep: the item store %T cannot query indexes: %w", s.store, core.ErrNotImplemented)
	}
	if limit <= 0 {
		limit = 100
	}
	now := s.now()
	for shard := 0; shard < UnsettledShards && res.Found < limit; shard++ {
		page, err := iq.QueryIndex(ctx, s.table, core.IndexQuery{Index: UnsettledIndex, PK: strconv.Itoa(shard),
			Op: core.SKLessEq, SK: core.FormatTime(now), Limit: limit - res.Found})
		if err != nil {
			return res, fmt.Errorf("importcsv: sweep shard %d: %w", shard, err)
		}
		for _, it := range page.Items {
			k := core.Key{PK: avString(it["pk"]), SK: avString(it["sk"])}
			if k.PK == "" || k.SK == "" {
				continue
			}
			res.Found++
			if err := s.sweepOne(ctx, k, now, &res); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func avString(v core.AttributeValue) string {
	if s, ok := v.(interface{ GetValue() string }); ok {
		return s.GetValue()
	}
	if x, err := core.FromAttributeValue(v); err == nil {
		if s, ok := x.(string); ok {
			return s
		}
	}
	return ""
}

func (s *Service) sweepOne(ctx context.Context, k core.Key, now time.Time, res *SweepResult) error {
	job, err := s.readJob(ctx, k)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if job.Status.Final() {
		_, err := s.store.Update(ctx, s.table, k, core.Update{Remove: []string{"unsettled", "unsettledAt"}}, statusIs(job.Status))
		if err != nil && !errors.Is(err, core.ErrConditionFailed) {
			return err
		}
		return nil
	}
	ctx = stepCtx(ctx)
	switch {
	case job.Mode == ModeDirect:
		if _, err := s.abort(ctx, job, fmt.Sprintf("the importing process stopped: no progress for %s", s.set.StuckAfter)); err != nil {
			return err
		}
		res.Failed++
		return nil
	case s.wf == nil || s.cfg.ImportStateMachineARN == "":
		return nil
	}
	ex, err := s.wf.DescribeExecution(ctx, executionARN(s.cfg.ImportStateMachineARN, ExecutionName(k)))
	switch {
	case errors.Is(err, core.ErrNotFound):
		if err := s.start(ctx, job); err != nil {
			return err
		}
		res.Started++
	case err != nil:
		return err
	case ex.Status == core.ExecutionRunning:
		res.Running++
	default:
		if _, err := s.abort(ctx, job, fmt.Sprintf("the execution ended (%s %s) without finalizing the job", ex.Status, ex.Error)); err != nil {
			return err
		}
		res.Failed++
		return nil
	}
	_, err = s.store.Update(ctx, s.table, k, core.Update{Set: map[string]core.AttributeValue{
		"unsettledAt": avTime(now.Add(s.set.StuckAfter))}}, statusIs(job.Status))
	if err != nil && !errors.Is(err, core.ErrConditionFailed) {
		return err
	}
	return nil
}

// The sweep event: Routes routes EventBridge events of this source and
// detail-type to Sweep.
const (
	SweepEventSource     = "stepcqrs"
	SweepEventDetailType = "stepcqrs.import.sweep"
)

// SweepEvent is the detail of the sweep event (see task.SweepEvent for the
// envelope).
type SweepEvent struct {
	// Limit bounds the jobs one sweep looks at (0: 100).
	Limit int `json:"limit,omitempty"`
}

func (s *Service) onSweep(ctx context.Context, ev eventfactory.EventBridgeEvent[SweepEvent]) error {
	res, err := s.Sweep(ctx, ev.Detail.Limit)
	s.log.InfoContext(ctx, "import sweep", "found", res.Found, "started", res.Started, "failed", res.Failed, "running", res.Running, "err", err)
	return err
}
