package importcsv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// batchRow is one row of a batch: read, or failed while reading (err).
type batchRow struct {
	row Row
	err error
}

// RowSource returns the command source the import records on the command
// of a row: "import:{job id}:{file}:{row}". It is how a retried batch
// recognises the rows an earlier attempt applied (the data row's source is
// the row's own), so that it neither applies them twice nor counts them
// as unchanged.
func RowSource(jobID string, file, row int) string {
	return "import:" + jobID + ":" + strconv.Itoa(file) + ":" + strconv.Itoa(row)
}

// parseSource returns the job id, file and row of a RowSource.
func parseSource(src string) (job string, file, row int, ok bool) {
	rest, found := strings.CutPrefix(src, "import:")
	if !found {
		return "", 0, 0, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return "", 0, 0, false
	}
	f, err1 := strconv.Atoi(parts[1])
	r, err2 := strconv.Atoi(parts[2])
	return parts[0], f, r, err1 == nil && err2 == nil
}

// invokeFor returns ctx carrying the Invoke the rows are imported with: the
// job's tenant and creator, and the Lambda request id.
func invokeFor(ctx context.Context, job *jobRow) context.Context {
	inv := core.InvokeFromLambda(ctx)
	if prev, ok := core.FromContext(ctx); ok && inv.RequestID == "" {
		inv.RequestID = prev.RequestID
	}
	inv.TenantCode, inv.UserID = job.TenantCode, job.CreatedBy
	return core.NewContext(ctx, inv)
}

// applyBatch imports the rows of one batch and records their outcomes: it
// returns the batch's counts. It is idempotent: a batch whose record exists
// returns the recorded counts, and rows an earlier attempt applied are
// recognised by their source and counted as that attempt did.
func (s *Service) applyBatch(ctx context.Context, job *jobRow, file *fileRow, rows []batchRow) (Counts, error) {
	return s.runBatch(ctx, job, file, rows, nil)
}

// accountBatch records the rows of a batch whose step failed beyond its
// retries (cause): rows an attempt applied are counted as applied, the
// others failed with cause. Nothing is published.
func (s *Service) accountBatch(ctx context.Context, job *jobRow, file *fileRow, rows []batchRow, cause string) (Counts, error) {
	return s.runBatch(ctx, job, file, rows, &cause)
}

// runBatch is applyBatch, or accountBatch with only set.
func (s *Service) runBatch(ctx context.Context, job *jobRow, file *fileRow, rows []batchRow, only *string) (Counts, error) {
	if len(rows) == 0 {
		return Counts{}, nil
	}
	first, last := rows[0].row.Number, rows[len(rows)-1].row.Number
	if rec, err := s.readBatch(ctx, job.key(), file.Index, first); err == nil {
		return rec.counts(), s.ensureFailures(ctx, job, file, rec, nil)
	} else if !errors.Is(err, core.ErrNotFound) {
		return Counts{}, err
	}
	entries, err := s.runRows(ctx, job, file, rows, only)
	if err != nil {
		return Counts{}, err
	}
	return s.commit(ctx, job, file, first, last, entries, nil, fieldsOf(rows))
}

func fieldsOf(rows []batchRow) map[int][]string {
	m := make(map[int][]string, len(rows))
	for _, r := range rows {
		if r.row.Fields != nil {
			m[r.row.Number] = r.row.Fields
		}
	}
	return m
}

// chain is the rows of one entity within a batch, in row order: they are
// applied one after the other, so the last row of a key wins, as in the
// file.
type chain struct {
	key  core.Key
	idx  []int
	prep []prepared
}

// runRows transforms, compares, maps and publishes the rows, and returns
// one entry per row. With only (the cause of a failed batch), nothing is
// published: rows are recovered from what an earlier attempt applied, or
// failed with the cause.
func (s *Service) runRows(ctx context.Context, job *jobRow, file *fileRow, rows []batchRow, only *string) ([]rowEntry, error) {
	entries := make([]rowEntry, len(rows))
	strat := s.reg.lookup(job.Module)
	svc := s.commands(job.Module)
	ctx = invokeFor(ctx, job)
	fail := func(i int, err error) {
		entries[i].O, entries[i].E = OutcomeFailed, reasonText(reasonOf(err))
	}
	if strat == nil || svc == nil {
		err := error(&UnknownModuleError{Module: job.Module})
		for i := range rows {
			entries[i].N = rows[i].row.Number
			fail(i, err)
		}
		return entries, nil
	}
	scanned, err := s.scanFailures(ctx, job, file, rows)
	if err != nil {
		return nil, err
	}
	chains := map[core.Key]*chain{}
	var order []*chain
	for i, br := range rows {
		entries[i].N = br.row.Number
		if r, ok := scanned[br.row.Number]; ok {
			fail(i, errors.New(r))
			entries[i].S = true
			continue
		}
		if br.err != nil {
			fail(i, br.err)
			continue
		}
		p, err := safePrepare(ctx, strat, job.TenantCode, br.row)
		if err != nil {
			fail(i, err)
			continue
		}
		k := p.key()
		entries[i].PK, entries[i].SK = k.PK, k.SK
		c := chains[k]
		if c == nil {
			c = &chain{key: k}
			chains[k] = c
			order = append(order, c)
		}
		c.idx = append(c.idx, i)
		c.prep = append(c.prep, p)
	}
	if len(order) == 0 {
		return entries, nil
	}
	existing, err := s.readData(ctx, job.Module, svc, order)
	if err != nil {
		return nil, err
	}
	conc := s.set.RowConcurrency
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for _, c := range order {
		sem <- struct{}{}
		if stopped() {
			// The batch fails (and is retried whole): start no more rows.
			<-sem
			break
		}
		wg.Add(1)
		go func(c *chain) {
			defer wg.Done()
			defer func() { <-sem }()
			err := s.runChain(ctx, job, file, svc, c, existing[c.key], entries, only)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return entries, nil
}

// safePrepare runs the strategy's row functions, turning a panic into a
// failed row.
func safePrepare(ctx context.Context, r runner, tenant string, row Row) (p prepared, err error) {
	defer func() {
		if x := recover(); x != nil {
			p, err = nil, &RowError{Row: row.Number, Line: row.Line, Reason: fmt.Sprintf("the strategy panicked: %v", x)}
		}
	}()
	return r.prepare(ctx, tenant, row)
}

// reasonOf is the stored reason of a row's error.
func reasonOf(err error) string {
	var re *RowError
	if errors.As(err, &re) {
		return re.Reason
	}
	return err.Error()
}

// readData reads the data rows of the chains' entities: one batched read
// (BatchGet of up to 100 keys a call), and the command service for rows
// whose attributes are offloaded.
func (s *Service) readData(ctx context.Context, module string, svc *command.Service, order []*chain) (map[core.Key]*core.Data, error) {
	keys := make([]core.Key, len(order))
	for i, c := range order {
		keys[i] = c.key
	}
	items, err := s.store.BatchGet(ctx, s.cfg.DataTable(module), keys, true)
	if err != nil {
		return nil, fmt.Errorf("importcsv: read %d data rows: %w", len(keys), err)
	}
	out := make(map[core.Key]*core.Data, len(items))
	for _, it := range items {
		d, err := decodeItem[core.Data](it)
		if err != nil {
			return nil, err
		}
		if d.AttributesRef != "" {
			if d, err = svc.GetData(ctx, d.Key(), true); err != nil {
				return nil, err
			}
		}
		out[d.Key()] = d
	}
	return out, nil
}

// getData reads one data row through the command service; nil when absent.
func getData(ctx context.Context, svc *command.Service, k core.Key) (*core.Data, error) {
	d, err := svc.GetData(ctx, k, true)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	return d, err
}

// maxRowAttempts bounds the attempts of one row against concurrent writers
// (version conflicts) and passing failures.
const maxRowAttempts = 4

// runChain runs the rows of one entity in order.
func (s *Service) runChain(ctx context.Context, job *jobRow, file *fileRow, svc *command.Service, c *chain, d *core.Data, entries []rowEntry, only *string) error {
	start := 0
	if d != nil {
		// An earlier attempt of this batch may have applied rows of the
		// chain: the data's source names the last one it applied.
		if id, f, r, ok := parseSource(d.Source); ok && id == core.CodeOf(job.SK) && f == file.Index {
			last := -1
			for j, i := range c.idx {
				if entries[i].N == r {
					last = j
				}
			}
			if last >= 0 {
				if err := s.recover(ctx, job, file, svc, c, c.idx[:last+1], entries); err != nil {
					return err
				}
				start = last + 1
			}
		}
	}
	for j := start; j < len(c.idx); j++ {
		i := c.idx[j]
		if only != nil {
			entries[i].O, entries[i].E = OutcomeFailed, reasonText(*only)
			continue
		}
		var err error
		d, err = s.runRow(ctx, job, file, svc, c.prep[j], d, &entries[i])
		if err != nil {
			return err
		}
	}
	return nil
}

// recover sets the outcomes of rows an earlier attempt applied, from the
// entity's versions: a row whose source is on a version created or updated
// it; one whose source is on none found the data equal (unchanged). It
// also settles a version that attempt left applied but not finished.
func (s *Service) recover(ctx context.Context, job *jobRow, file *fileRow, svc *command.Service, c *chain, idx []int, entries []rowEntry) error {
	versions, err := svc.ListVersions(ctx, c.key)
	if err != nil {
		return fmt.Errorf("importcsv: recover %s: %w", c.key.SK, err)
	}
	bySource := map[string]*core.Command{}
	for i := range versions {
		bySource[versions[i].Source] = &versions[i]
	}
	for _, i := range idx {
		e := &entries[i]
		cmd := bySource[RowSource(core.CodeOf(job.SK), file.Index, e.N)]
		if cmd == nil {
			e.O = OutcomeUnchanged
			continue
		}
		e.V = cmd.Version
		e.O = OutcomeUpdated
		if cmd.Version == 1 {
			e.O = OutcomeCreated
		}
		if cmd.Status == core.StatusApplied || cmd.Status == core.StatusSynced {
			// The attempt stopped between the apply and the finish.
			if err := svc.RunSync(ctx, cmd.Key()); err != nil {
				e.O, e.E = OutcomeFailed, reasonText(fmt.Sprintf("applied as version %d, but a data-sync handler failed: %v", cmd.Version, err))
				continue
			}
			if _, err := svc.Finish(ctx, cmd.Key()); err != nil && !errors.Is(err, core.ErrValidation) {
				return err
			}
		}
	}
	return nil
}

// runRow compares, maps and publishes one row; it returns the entity's
// data as the row leaves it.
func (s *Service) runRow(ctx context.Context, job *jobRow, file *fileRow, svc *command.Service, p prepared, d *core.Data, e *rowEntry) (*core.Data, error) {
	source := RowSource(core.CodeOf(job.SK), file.Index, e.N)
	var lastErr error
	for attempt := 0; attempt < maxRowAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return d, err
			}
			var err error
			if d, err = getData(ctx, svc, p.key()); err != nil {
				lastErr = err
				if errors.Is(err, core.ErrTransient) {
					continue
				}
				e.O, e.E = OutcomeFailed, reasonText(err.Error())
				return d, nil
			}
		}
		c, err := safeCompare(ctx, p, d)
		if err != nil {
			e.O, e.E = OutcomeFailed, reasonText("compare: "+err.Error())
			return d, nil
		}
		if c == CompareEqual {
			e.O = OutcomeUnchanged
			if d != nil {
				e.V = d.Version
			}
			return d, nil
		}
		cmd, err := safeMap(ctx, p, c)
		if err != nil {
			e.O, e.E = OutcomeFailed, reasonText("map: "+err.Error())
			return d, nil
		}
		var res command.Result
		switch {
		case cmd.Full != nil:
			in := *cmd.Full
			in.Source = source
			res, err = svc.PublishSync(ctx, in)
		case cmd.Partial != nil:
			in := *cmd.Partial
			in.Source = source
			res, err = svc.PublishPartialUpdateSync(ctx, in)
		default:
			e.O, e.E = OutcomeFailed, "map: the command is empty (neither Full nor Partial)"
			return d, nil
		}
		if err == nil {
			e.V = res.Command.Version
			switch {
			case res.Unchanged:
				e.O = OutcomeUnchanged
			case res.Command.Version == 1:
				e.O = OutcomeCreated
			default:
				e.O = OutcomeUpdated
			}
			if res.Command.PK != "" {
				e.PK, e.SK = res.Command.PK, core.BaseSK(res.Command.SK)
			}
			return dataOf(res.Command, d), nil
		}
		if res.Command != nil {
			// Applied, but a data-sync handler failed (the command is
			// marked failed): the data holds the row, a read model may not.
			e.O, e.E, e.V = OutcomeFailed, reasonText(fmt.Sprintf("applied as version %d, but: %v", res.Command.Version, err)), res.Command.Version
			return dataOf(res.Command, d), nil
		}
		lastErr = err
		switch {
		case errors.Is(err, core.ErrVersionConflict), errors.Is(err, core.ErrConditionFailed), errors.Is(err, core.ErrTransient):
			continue // look again: a concurrent writer, or a passing failure
		}
		e.O, e.E = OutcomeFailed, reasonText(err.Error())
		return d, nil
	}
	if errors.Is(lastErr, core.ErrTransient) && s.abortOnTransient(ctx) {
		// Step-function mode: the state machine retries the whole batch
		// with backoff, which is idempotent.
		return d, lastErr
	}
	e.O, e.E = OutcomeFailed, reasonText(fmt.Sprintf("gave up after %d attempts: %v", maxRowAttempts, lastErr))
	return d, nil
}

// dataOf is the data row a published command leaves.
func dataOf(c *core.Command, prev *core.Data) *core.Data {
	d := &core.Data{PK: c.PK, SK: core.BaseSK(c.SK), ID: c.ID, Code: c.Code, Name: c.Name, Version: c.Version,
		TenantCode: c.TenantCode, Type: c.Type, IsDeleted: c.IsDeleted, Seq: c.Seq, TTL: c.TTL,
		Attributes: c.Attributes, Source: c.Source, CPK: c.PK, CSK: c.SK}
	if prev != nil {
		d.CreatedAt = prev.CreatedAt
	}
	return d
}

func safeCompare(ctx context.Context, p prepared, d *core.Data) (c Comparison, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("panic: %v", x)
		}
	}()
	c, err = p.compare(ctx, d)
	if err == nil && c != CompareEqual && c != CompareNew && c != CompareChanged {
		err = fmt.Errorf("unknown comparison %q", c)
	}
	return c, err
}

func safeMap(ctx context.Context, p prepared, c Comparison) (cmd Command, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("panic: %v", x)
		}
	}()
	return p.mapCommand(ctx, c)
}

// sleep waits before attempt (1, 2, …): 10 ms, 40 ms, 160 ms, with jitter.
func sleep(ctx context.Context, attempt int) error {
	d := time.Duration(10<<(2*(attempt-1))) * time.Millisecond
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stepKey marks a context of a step-function step.
type stepKey struct{}

// abortOnTransient reports whether a passing failure that outlived the
// row's attempts fails the batch (in a step, whose retries back off
// longer) rather than the row (direct mode).
func (s *Service) abortOnTransient(ctx context.Context) bool {
	v, _ := ctx.Value(stepKey{}).(bool)
	return v
}

// readBatch reads the batch record of file starting at first.
func (s *Service) readBatch(ctx context.Context, job core.Key, file, first int) (*batchRecord, error) {
	it, err := s.store.Get(ctx, s.table, batchKey(job, file, first), true)
	if err != nil {
		return nil, err
	}
	return decodeItem[batchRecord](it)
}

// scanFailures returns the reasons of the rows of the batch that the scan
// of step-function mode failed (their items may not show why: the
// Distributed Map's reader pads a ragged row, for one).
func (s *Service) scanFailures(ctx context.Context, job *jobRow, file *fileRow, rows []batchRow) (map[int]string, error) {
	if file.ScanFailed == 0 {
		return nil, nil
	}
	first, last := rows[0].row.Number, rows[len(rows)-1].row.Number
	lo, hi := failureKey(job.key(), file.Index, first), failureKey(job.key(), file.Index, last)
	out := map[int]string{}
	q := core.Query{PK: lo.PK, Op: core.SKBetween, SK: lo.SK, SK2: hi.SK, ConsistentRead: true}
	for {
		page, err := s.store.Query(ctx, s.table, q)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			f, err := decodeItem[failureRow](it)
			if err != nil {
				return nil, err
			}
			if f.Scan {
				out[f.Row] = f.Reason
			}
		}
		if page.Next == nil {
			return out, nil
		}
		q.StartAfter = page.Next
	}
}

// maxRecordBytes bounds the JSON of one batch record's rows; a batch whose
// outcomes are larger is recorded in several records (one transaction).
const maxRecordBytes = 300 * 1024

// commit records the outcomes of rows first..last (entries, and ranges of
// rows failed at once) in batch records and adds their counts to the
// file's, in one transaction; then it writes the failure items. A batch
// another attempt recorded first returns that attempt's counts.
func (s *Service) commit(ctx context.Context, job *jobRow, file *fileRow, first, last int, entries []rowEntry, ranges []rangeEntry, fields map[int][]string) (Counts, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].N < entries[j].N })
	var total Counts
	for _, e := range entries {
		total.count(e.O)
	}
	for _, r := range ranges {
		total.Failed += int64(r.To - r.From + 1)
	}
	recs, err := s.records(job, file, first, last, entries, ranges)
	if err != nil {
		return Counts{}, err
	}
	ops := make([]core.TxOp, 0, len(recs)+1)
	for _, r := range recs {
		it, err := core.MarshalItem(r)
		if err != nil {
			return Counts{}, err
		}
		ops = append(ops, core.TxOp{Table: s.table, Put: it, Cond: core.IfAbsent()})
	}
	ops = append(ops, core.TxOp{Table: s.table, Key: file.key(), Cond: core.IfExists(), Update: &core.Update{Add: map[string]int64{
		"created": total.Created, "updated": total.Updated, "unchanged": total.Unchanged, "failed": total.Failed,
		"batches": 1, "version": 1,
	}}})
	for attempt := 0; ; attempt++ {
		err = s.store.Transact(ctx, ops)
		if err == nil || !errors.Is(err, core.ErrTransient) || attempt >= 5 {
			break
		}
		if err := sleep(ctx, attempt+1); err != nil {
			return Counts{}, err
		}
	}
	var tce *core.TransactionCanceledError
	if errors.As(err, &tce) && len(tce.Reasons) > 0 && tce.Reasons[0] != nil && errors.Is(tce.Reasons[0], core.ErrConditionFailed) {
		// Another attempt recorded this batch first: its outcomes count.
		rec, rerr := s.readBatch(ctx, job.key(), file.Index, first)
		if rerr != nil {
			return Counts{}, rerr
		}
		return rec.counts(), s.ensureFailures(ctx, job, file, rec, fields)
	}
	if err != nil {
		return Counts{}, fmt.Errorf("importcsv: record rows %d-%d: %w", first, last, err)
	}
	for _, r := range recs {
		if err := s.ensureFailures(ctx, job, file, r, fields); err != nil {
			return Counts{}, err
		}
	}
	return total, nil
}

// records builds the batch records of a batch: one, or several when the
// outcomes are large.
func (s *Service) records(job *jobRow, file *fileRow, first, last int, entries []rowEntry, ranges []rangeEntry) ([]*batchRecord, error) {
	newRec := func(from, to int, es []rowEntry, rs []rangeEntry) (*batchRecord, error) {
		k := batchKey(job.key(), file.Index, from)
		r := &batchRecord{PK: k.PK, SK: k.SK, Kind: "batch", First: from, Last: to}
		var c Counts
		for _, e := range es {
			c.count(e.O)
		}
		for _, x := range rs {
			c.Failed += int64(x.To - x.From + 1)
		}
		r.Created, r.Updated, r.Unchanged, r.Failed = c.Created, c.Updated, c.Unchanged, c.Failed
		if len(es) > 0 {
			b, err := json.Marshal(es)
			if err != nil {
				return nil, err
			}
			r.Rows = string(b)
		}
		if len(rs) > 0 {
			b, err := json.Marshal(rs)
			if err != nil {
				return nil, err
			}
			r.Ranges = string(b)
		}
		return r, nil
	}
	one, err := newRec(first, last, entries, ranges)
	if err != nil {
		return nil, err
	}
	if len(one.Rows)+len(one.Ranges) <= maxRecordBytes || len(entries) < 2 {
		return []*batchRecord{one}, nil
	}
	// Split the entries by size; ranges stay with the first record.
	var out []*batchRecord
	from, size := 0, 0
	for i := range entries {
		b, _ := json.Marshal(entries[i])
		if i > from && size+len(b) > maxRecordBytes {
			lo := first
			if len(out) > 0 {
				lo = entries[from].N
			}
			r, err := newRec(lo, entries[i].N-1, entries[from:i], nil)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			from, size = i, 0
		}
		size += len(b)
	}
	lo := first
	if len(out) > 0 {
		lo = entries[from].N
	}
	r, err := newRec(lo, last, entries[from:], nil)
	if err != nil {
		return nil, err
	}
	out = append(out, r)
	if len(ranges) > 0 {
		b, err := json.Marshal(ranges)
		if err != nil {
			return nil, err
		}
		out[0].Ranges = string(b)
		for _, x := range ranges {
			out[0].Failed += int64(x.To - x.From + 1)
		}
	}
	if len(out) > core.MaxTransactItems-1 {
		return nil, fmt.Errorf("importcsv: the outcomes of rows %d-%d need %d records, more than one transaction holds", first, last, len(out))
	}
	return out, nil
}

// maxFieldsBytes bounds the row values kept on a failure item.
const maxFieldsBytes = 16 * 1024

// ensureFailures writes the failure items of a batch record's failed rows
// (idempotent puts): they let Failures page through failed rows without
// reading the other outcomes. fields holds the rows' values when known.
func (s *Service) ensureFailures(ctx context.Context, job *jobRow, file *fileRow, rec *batchRecord, fields map[int][]string) error {
	if rec.Failed == 0 {
		return nil
	}
	var puts []core.Item
	add := func(f *failureRow) error {
		it, err := core.MarshalItem(f)
		if err != nil {
			return err
		}
		puts = append(puts, it)
		return nil
	}
	if rec.Rows != "" {
		var es []rowEntry
		if err := json.Unmarshal([]byte(rec.Rows), &es); err != nil {
			return fmt.Errorf("importcsv: batch record %s: %w", rec.SK, err)
		}
		for _, e := range es {
			if e.O != OutcomeFailed || e.S {
				continue
			}
			k := failureKey(job.key(), file.Index, e.N)
			f := &failureRow{PK: k.PK, SK: k.SK, Kind: "failure", File: file.Index, Row: e.N, Reason: e.E}
			if v, ok := fields[e.N]; ok {
				if b, err := json.Marshal(v); err == nil && len(b) <= maxFieldsBytes {
					f.Fields = string(b)
				}
			}
			if err := add(f); err != nil {
				return err
			}
		}
	}
	if rec.Ranges != "" {
		var rs []rangeEntry
		if err := json.Unmarshal([]byte(rec.Ranges), &rs); err != nil {
			return fmt.Errorf("importcsv: batch record %s: %w", rec.SK, err)
		}
		for _, r := range rs {
			k := failureKey(job.key(), file.Index, r.From)
			f := &failureRow{PK: k.PK, SK: k.SK, Kind: "failure", File: file.Index, Row: r.From, Reason: r.E}
			if r.To > r.From {
				f.LastRow = r.To
			}
			if err := add(f); err != nil {
				return err
			}
		}
	}
	if len(puts) == 0 {
		return nil
	}
	if err := s.store.BatchWrite(ctx, s.table, puts, nil); err != nil {
		return fmt.Errorf("importcsv: write %d failures: %w", len(puts), err)
	}
	return nil
}
