package importcsv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/stepcqrs/stepcqrs/core"
)

// fileSpec is a file of a job to create.
type fileSpec struct {
	name           string
	bucket, object string
}

// createFiles writes the file rows of a job (PENDING) and the job's file
// count, unless they exist (a retried step).
func (s *Service) createFiles(ctx context.Context, job *jobRow, specs []fileSpec) (*jobRow, error) {
	if job.Files > 0 {
		return job, nil
	}
	var puts []core.Item
	for i, sp := range specs {
		k := fileKey(job.key(), i)
		it, err := core.MarshalItem(&fileRow{PK: k.PK, SK: k.SK, Kind: "file", Index: i, Name: sp.name, Bucket: sp.bucket,
			ObjectKey: sp.object, Status: StatusPending, Version: 1})
		if err != nil {
			return nil, err
		}
		puts = append(puts, it)
	}
	if err := s.store.BatchWrite(ctx, s.table, puts, nil); err != nil {
		return nil, fmt.Errorf("importcsv: create files: %w", err)
	}
	nr, err := s.setJob(ctx, job, job.Status, core.Update{Set: map[string]core.AttributeValue{"files": avN(int64(len(specs)))}})
	if errors.Is(err, core.ErrConditionFailed) {
		return nil, &BusyError{What: "job " + job.SK}
	}
	return nr, err
}

// startFile moves a PENDING file to PROCESSING with its header and (in
// step-function mode) its row count and scan failures.
func (s *Service) startFile(ctx context.Context, f *fileRow, header, raw []string, total int64, scanFailed int64) (*fileRow, error) {
	set := map[string]core.AttributeValue{"status": avS(string(StatusProcessing))}
	if len(header) > 0 {
		hv, err := core.ToAttributeValue(header)
		if err != nil {
			return nil, err
		}
		set["header"] = hv
		if !slices.Equal(header, raw) {
			rv, err := core.ToAttributeValue(raw)
			if err != nil {
				return nil, err
			}
			set["rawHeader"] = rv
		}
	}
	if total >= 0 {
		set["total"] = avN(total)
	}
	if scanFailed > 0 {
		set["scanFailed"] = avN(scanFailed)
	}
	it, err := s.store.Update(ctx, s.table, f.key(), core.Update{Set: set, Add: map[string]int64{"version": 1}}, statusIs(StatusPending))
	if errors.Is(err, core.ErrConditionFailed) {
		return s.readFile(ctx, keyOfFile(f), f.Index)
	}
	if err != nil {
		return nil, err
	}
	return decodeItem[fileRow](it)
}

// keyOfFile returns the key of the job a file row belongs to.
func keyOfFile(f *fileRow) core.Key {
	tenant, _ := core.TenantCodeOf(f.PK)
	id, _, _ := strings.Cut(f.SK, core.KeySeparator)
	return core.Key{PK: KeyTypeJob + core.KeySeparator + tenant, SK: KeyTypeJob + core.KeySeparator + id}
}

// failFile ends a file FAILED with reason before any row was imported (a
// job-level error of the file).
func (s *Service) failFile(ctx context.Context, f *fileRow, reason string) (*fileRow, error) {
	if f.Status.Final() {
		return f, nil
	}
	it, err := s.store.Update(ctx, s.table, f.key(), core.Update{
		Set: map[string]core.AttributeValue{"status": avS(string(StatusFailed)), "reason": avS(reasonText(reason))},
		Add: map[string]int64{"version": 1},
	}, statusIs(f.Status))
	if errors.Is(err, core.ErrConditionFailed) {
		return s.readFile(ctx, keyOfFile(f), f.Index)
	}
	if err != nil {
		return nil, err
	}
	return decodeItem[fileRow](it)
}

// finishFile ends a PROCESSING file: rows still unaccounted for (batches
// that never ran: the Map stopped, the process died) are failed with
// cause, then the status follows from the counters; mapErr, when set, is a
// job-level error of the file (a failed Distributed Map).
func (s *Service) finishFile(ctx context.Context, job *jobRow, f *fileRow, cause, mapErr string) (*fileRow, error) {
	if f.Status.Final() {
		return f, nil
	}
	if f.counts().Accounted() < f.Total {
		if cause == "" {
			cause = "not imported: no batch processed this row"
		}
		if err := s.accountGaps(ctx, job, f, cause); err != nil {
			return nil, err
		}
		var err error
		if f, err = s.readFile(ctx, job.key(), f.Index); err != nil {
			return nil, err
		}
	}
	c := f.counts()
	st, reason := StatusCompleted, summary(c)
	switch {
	case mapErr != "":
		st, reason = StatusFailed, mapErr
	case c.Accounted() != c.Total:
		st, reason = StatusFailed, fmt.Sprintf("%d of %d rows are not accounted for", c.Total-c.Accounted(), c.Total)
	case c.Failed > 0:
		st = StatusCompletedWithFailures
	}
	it, err := s.store.Update(ctx, s.table, f.key(), core.Update{
		Set: map[string]core.AttributeValue{"status": avS(string(st)), "reason": avS(reasonText(reason))},
		Add: map[string]int64{"version": 1},
	}, statusIs(StatusProcessing))
	if errors.Is(err, core.ErrConditionFailed) {
		return s.readFile(ctx, job.key(), f.Index)
	}
	if err != nil {
		return nil, err
	}
	return decodeItem[fileRow](it)
}

// summary says what became of the rows.
func summary(c Counts) string {
	s := fmt.Sprintf("%d rows: %d created, %d updated, %d unchanged, %d failed", c.Total, c.Created, c.Updated, c.Unchanged, c.Failed)
	if c.Total == 1 {
		s = strings.Replace(s, "1 rows", "1 row", 1)
	}
	if c.Total == 0 {
		s = "the file has a header and no rows"
	}
	return s
}

// accountGaps fails the rows of f that no batch record covers, in batch
// records of their own (ranges, and the scan's failures with their own
// reasons), so that every row ends with an outcome.
func (s *Service) accountGaps(ctx context.Context, job *jobRow, f *fileRow, cause string) error {
	type span struct{ first, last int }
	var covered []span
	q := core.Query{PK: batchKey(job.key(), f.Index, 0).PK, Op: core.SKBeginsWith, SK: filePrefix(job.key(), f.Index), ConsistentRead: true}
	for {
		page, err := s.store.Query(ctx, s.table, q)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			b, err := decodeItem[batchRecord](it)
			if err != nil {
				return err
			}
			covered = append(covered, span{b.First, b.Last})
		}
		if page.Next == nil {
			break
		}
		q.StartAfter = page.Next
	}
	sort.Slice(covered, func(i, j int) bool { return covered[i].first < covered[j].first })
	var gaps []span
	next := 1
	for _, c := range covered {
		if c.first > next {
			gaps = append(gaps, span{next, c.first - 1})
		}
		next = max(next, c.last+1)
	}
	if int64(next) <= f.Total {
		gaps = append(gaps, span{next, int(f.Total)})
	}
	for _, g := range gaps {
		scan := map[int]string{}
		if f.ScanFailed > 0 {
			var err error
			rows := []batchRow{{row: Row{Number: g.first}}, {row: Row{Number: g.last}}}
			if scan, err = s.scanFailures(ctx, job, f, rows); err != nil {
				return err
			}
		}
		var entries []rowEntry
		var ranges []rangeEntry
		from := g.first
		nums := make([]int, 0, len(scan))
		for n := range scan {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			if n > from {
				ranges = append(ranges, rangeEntry{From: from, To: n - 1, E: reasonText(cause)})
			}
			entries = append(entries, rowEntry{N: n, O: OutcomeFailed, E: scan[n], S: true})
			from = n + 1
		}
		if from <= g.last {
			ranges = append(ranges, rangeEntry{From: from, To: g.last, E: reasonText(cause)})
		}
		if _, err := s.commit(ctx, job, f, g.first, g.last, entries, ranges, nil); err != nil {
			return err
		}
		s.log.WarnContext(ctx, "import rows not processed: failed", "job", job.SK, "file", f.Index, "first", g.first, "last", g.last, "cause", cause)
	}
	return nil
}

// finalize ends the job: its counters are the sum of its files', its
// status follows from theirs. A job whose files all completed is
// COMPLETED; one whose files all failed (or that has none) FAILED; any
// other COMPLETED_WITH_FAILURES.
func (s *Service) finalize(ctx context.Context, job *jobRow, failure string) (*jobRow, error) {
	if job.Status.Final() {
		return job, nil
	}
	files, err := s.files(ctx, job.key())
	if err != nil {
		return nil, err
	}
	var c Counts
	var failed, pending []string
	for _, f := range files {
		c = c.add(f.counts())
		switch f.Status {
		case StatusFailed:
			failed = append(failed, fmt.Sprintf("%s: %s", f.Name, f.Reason))
		case StatusCompleted, StatusCompletedWithFailures:
		default:
			pending = append(pending, f.Name)
		}
	}
	st, reason := StatusCompleted, summary(c)
	switch {
	case failure != "":
		st, reason = StatusFailed, failure
	case len(pending) > 0:
		st, reason = StatusFailed, fmt.Sprintf("%d files were not imported: %s", len(pending), strings.Join(pending, ", "))
	case len(files) == 0:
		st, reason = StatusFailed, "no file to import"
	case len(failed) == len(files) && len(files) == 1:
		st, reason = StatusFailed, files[0].Reason
	case len(failed) == len(files):
		st, reason = StatusFailed, fmt.Sprintf("all %d files failed: %s", len(files), strings.Join(failed, "; "))
	case len(failed) > 0:
		st, reason = StatusCompletedWithFailures, fmt.Sprintf("%s; %d of %d files failed: %s", summary(c), len(failed), len(files), strings.Join(failed, "; "))
	case c.Failed > 0:
		st, reason = StatusCompletedWithFailures, summary(c)
	}
	now := s.now()
	nr, err := s.setJob(ctx, job, job.Status, core.Update{
		Set: map[string]core.AttributeValue{
			"status": avS(string(st)), "reason": avS(reasonText(reason)), "finishedAt": avTime(now),
			"total": avN(c.Total), "created": avN(c.Created), "updated": avN(c.Updated),
			"unchanged": avN(c.Unchanged), "failed": avN(c.Failed),
		},
		Remove: []string{"unsettled", "unsettledAt"},
	})
	if errors.Is(err, core.ErrConditionFailed) {
		cur, rerr := s.readJob(ctx, job.key())
		if rerr != nil {
			return nil, rerr
		}
		if cur.Status.Final() {
			return cur, nil
		}
		return nil, &BusyError{What: "job " + job.SK}
	}
	if err != nil {
		return nil, err
	}
	if st == StatusFailed {
		s.log.ErrorContext(ctx, "import failed", "job", nr.SK, "reason", reason)
	} else {
		s.log.InfoContext(ctx, "import finished", "job", nr.SK, "status", st, "reason", reason)
	}
	return nr, s.notify(ctx, nr)
}

// files reads every file row of a job, in index order.
func (s *Service) files(ctx context.Context, job core.Key) ([]*fileRow, error) {
	k := fileKey(job, 0)
	q := core.Query{PK: k.PK, Op: core.SKBeginsWith, SK: core.CodeOf(job.SK) + core.KeySeparator, ConsistentRead: true}
	var out []*fileRow
	for {
		page, err := s.store.Query(ctx, s.table, q)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			f, err := decodeItem[fileRow](it)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		if page.Next == nil {
			return out, nil
		}
		q.StartAfter = page.Next
	}
}

// Notification actions, also sent as the message attribute "action".
const (
	// ActionImportStatus is the action of a job's status change.
	ActionImportStatus = "import-status"
)

// Notification is the message published on the notification topic
// (core.Config.NotificationTopic) when a job's status changes
// (PROCESSING, then its final status), in the envelope of the command and
// task notifications. At least once: a retried step publishes again;
// Version orders them.
type Notification struct {
	Action     string `json:"action"` // ActionImportStatus
	Table      string `json:"table"`
	PK         string `json:"pk"`
	SK         string `json:"sk"`
	ID         string `json:"id"`
	TenantCode string `json:"tenantCode"`
	Module     string `json:"module"`
	Version    int64  `json:"version"`
	Status     Status `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Counts     Counts `json:"counts"`
}

// notify publishes the status of a job; without a topic it does nothing.
func (s *Service) notify(ctx context.Context, r *jobRow) error {
	if s.topic == nil {
		return nil
	}
	b, err := json.Marshal(Notification{Action: ActionImportStatus, Table: s.table, PK: r.PK, SK: r.SK,
		ID: core.EntityID(r.PK, r.SK), TenantCode: r.TenantCode, Module: r.Module, Version: r.Version,
		Status: r.Status, Reason: r.Reason, Counts: r.counts()})
	if err != nil {
		return err
	}
	if _, err := s.topic.Publish(ctx, s.cfg.NotificationTopic(), string(b), map[string]string{"action": ActionImportStatus}); err != nil {
		return fmt.Errorf("importcsv: notify %s %s: %w", r.SK, r.Status, err)
	}
	return nil
}
