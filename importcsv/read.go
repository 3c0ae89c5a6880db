package importcsv

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/stepcqrs/stepcqrs/core"
)

// Detail is a job with its files.
type Detail struct {
	Job   *Job
	Files []File
}

// Progress returns the counts of the job so far: its files' counters
// (while it runs, Total counts the rows of the files read so far).
func (d *Detail) Progress() Counts {
	var c Counts
	for _, f := range d.Files {
		c = c.add(f.Counts)
	}
	return c
}

// Get returns the job at key with its files. The tenant rule applies.
func (s *Service) Get(ctx context.Context, key core.Key) (*Detail, error) {
	r, err := s.authorizedJob(ctx, key)
	if err != nil {
		return nil, err
	}
	files, err := s.files(ctx, key)
	if err != nil {
		return nil, err
	}
	d := &Detail{Job: r.job()}
	for _, f := range files {
		d.Files = append(d.Files, f.file())
	}
	return d, nil
}

// getJob reads a job for its caller (no tenant check: the caller made it).
func (s *Service) getJob(ctx context.Context, key core.Key) (*Job, error) {
	r, err := s.readJob(ctx, key)
	if err != nil {
		return nil, err
	}
	return r.job(), nil
}

func (s *Service) authorizedJob(ctx context.Context, key core.Key) (*jobRow, error) {
	tenant, err := checkJobKey(key)
	if err != nil {
		return nil, err
	}
	if err := core.AuthorizeTenant(ctx, tenant, s.cfg.RequireInvoke); err != nil {
		return nil, err
	}
	return s.readJob(ctx, key)
}

// Page sizes of the read side.
const (
	// DefaultPageSize is the page size when a query has no Limit.
	DefaultPageSize = 100
	// MaxPageSize is the largest page.
	MaxPageSize = 1000
)

// OutcomeQuery asks for one page of row outcomes of one file of a job.
type OutcomeQuery struct {
	// File is the file's index (0 for a CSV job).
	File int
	// After continues after this row number (0: from the first row): the
	// Next of the previous page.
	After int
	// Limit caps the page (0: DefaultPageSize, at most MaxPageSize).
	Limit int
}

func (q OutcomeQuery) limit() int {
	switch {
	case q.Limit <= 0:
		return DefaultPageSize
	case q.Limit > MaxPageSize:
		return MaxPageSize
	}
	return q.Limit
}

// OutcomePage is one page of row outcomes, in row order. Next is the After
// of the next page; 0 on the last page.
type OutcomePage struct {
	Rows []RowOutcome
	Next int
}

// Outcomes returns one page of the outcomes of a file's rows, in row
// order, from its batch records (a few reads a page, whatever the file's
// size). The tenant rule applies.
func (s *Service) Outcomes(ctx context.Context, key core.Key, q OutcomeQuery) (OutcomePage, error) {
	if _, err := s.authorizedJob(ctx, key); err != nil {
		return OutcomePage{}, err
	}
	limit := q.limit()
	var out []RowOutcome
	add := func(items []core.Item) (*batchRecord, error) {
		var last *batchRecord
		for _, it := range items {
			b, err := decodeItem[batchRecord](it)
			if err != nil {
				return nil, err
			}
			last = b
			if b.Last <= q.After {
				continue
			}
			rows, err := b.outcomes(q.File, q.After, limit+1)
			if err != nil {
				return nil, err
			}
			out = append(out, rows...)
		}
		return last, nil
	}
	// Records cover disjoint ranges of rows: of those that start at or
	// before After, only the last may hold rows after it.
	if q.After > 0 {
		hi := batchKey(key, q.File, q.After)
		page, err := s.store.Query(ctx, s.table, core.Query{PK: hi.PK, Op: core.SKBetween, SK: filePrefix(key, q.File),
			SK2: hi.SK, Descending: true, Limit: 1, ConsistentRead: true})
		if err != nil {
			return OutcomePage{}, err
		}
		if _, err := add(page.Items); err != nil {
			return OutcomePage{}, err
		}
	}
	lo := batchKey(key, q.File, q.After+1)
	dq := core.Query{PK: lo.PK, Op: core.SKBetween, SK: lo.SK, SK2: filePrefix(key, q.File) + "~", ConsistentRead: true, Limit: 20}
	for {
		page, err := s.store.Query(ctx, s.table, dq)
		if err != nil {
			return OutcomePage{}, err
		}
		last, err := add(page.Items)
		if err != nil {
			return OutcomePage{}, err
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Row < out[j].Row })
		// Records start in row order: once one starts after the rows
		// gathered, no later one holds a row before them.
		if page.Next == nil || len(out) > limit && last != nil && last.First > out[limit].Row {
			break
		}
		dq.StartAfter = page.Next
	}
	res := OutcomePage{Rows: out}
	if len(out) > limit {
		res.Rows = out[:limit]
		res.Next = out[limit-1].Row
	}
	return res, nil
}

// outcomes expands a batch record into the outcomes of its rows after
// after, at most n of them.
func (b *batchRecord) outcomes(file, after, n int) ([]RowOutcome, error) {
	var out []RowOutcome
	if b.Rows != "" {
		var es []rowEntry
		if err := json.Unmarshal([]byte(b.Rows), &es); err != nil {
			return nil, fmt.Errorf("importcsv: batch record %s: %w", b.SK, err)
		}
		for _, e := range es {
			if e.N > after {
				out = append(out, RowOutcome{File: file, Row: e.N, Outcome: e.O, PK: e.PK, SK: e.SK, Version: e.V, Reason: e.E})
			}
		}
	}
	if b.Ranges != "" {
		var rs []rangeEntry
		if err := json.Unmarshal([]byte(b.Ranges), &rs); err != nil {
			return nil, fmt.Errorf("importcsv: batch record %s: %w", b.SK, err)
		}
		for _, r := range rs {
			for row := max(r.From, after+1); row <= min(r.To, after+n); row++ {
				out = append(out, RowOutcome{File: file, Row: row, Outcome: OutcomeFailed, Reason: r.E})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Row < out[j].Row })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// Failures returns one page of the failed rows of a file, in row order,
// with their reasons (and their values, when they were read and fit). The
// tenant rule applies.
func (s *Service) Failures(ctx context.Context, key core.Key, q OutcomeQuery) (OutcomePage, error) {
	if _, err := s.authorizedJob(ctx, key); err != nil {
		return OutcomePage{}, err
	}
	limit := q.limit()
	var out []RowOutcome
	add := func(f *failureRow) {
		last := max(f.LastRow, f.Row)
		var fields []string
		if f.Fields != "" {
			_ = json.Unmarshal([]byte(f.Fields), &fields)
		}
		for row := max(f.Row, q.After+1); row <= last && len(out) <= limit; row++ {
			out = append(out, RowOutcome{File: f.File, Row: row, Outcome: OutcomeFailed, Reason: f.Reason, Fields: fields})
		}
	}
	// A range item that starts before After may cover the rows after it.
	if q.After > 0 {
		hi := failureKey(key, q.File, q.After)
		page, err := s.store.Query(ctx, s.table, core.Query{PK: hi.PK, Op: core.SKBetween, SK: filePrefix(key, q.File),
			SK2: hi.SK, Descending: true, Limit: 1, ConsistentRead: true})
		if err != nil {
			return OutcomePage{}, err
		}
		for _, it := range page.Items {
			f, err := decodeItem[failureRow](it)
			if err != nil {
				return OutcomePage{}, err
			}
			if f.LastRow > q.After {
				add(f)
			}
		}
	}
	lo := failureKey(key, q.File, q.After+1)
	dq := core.Query{PK: lo.PK, Op: core.SKBetween, SK: lo.SK, SK2: filePrefix(key, q.File) + "~", ConsistentRead: true, Limit: limit + 1}
	for len(out) <= limit {
		page, err := s.store.Query(ctx, s.table, dq)
		if err != nil {
			return OutcomePage{}, err
		}
		for _, it := range page.Items {
			f, err := decodeItem[failureRow](it)
			if err != nil {
				return OutcomePage{}, err
			}
			add(f)
		}
		if page.Next == nil {
			break
		}
		dq.StartAfter = page.Next
	}
	res := OutcomePage{Rows: out}
	if len(out) > limit {
		res.Rows = out[:limit]
		res.Next = out[limit-1].Row
	}
	return res, nil
}
