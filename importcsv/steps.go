package importcsv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
)

// ExecutionInput is the input of an import execution: the job's keys.
type ExecutionInput struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

// FileState names the file the Distributed Map imports.
type FileState struct {
	Index  int    `json:"index"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// StepState is the state of an import execution between its steps: what
// Next returns, and what it finds again after the Map (with the Map's
// result or error).
type StepState struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
	// File is the file to import (nil once Done).
	File *FileState `json:"file,omitempty"`
	// Done reports that the job is final: Status and Reason say how.
	Done   bool   `json:"done"`
	Status Status `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// The Map's settings, from the job.
	MaxConcurrency        int `json:"maxConcurrency,omitempty"`
	MaxItemsPerBatch      int `json:"maxItemsPerBatch,omitempty"`
	MaxInputBytesPerBatch int `json:"maxInputBytesPerBatch,omitempty"`
	// Results is where the Map's ResultWriter writes (Key: the prefix).
	Results *Source `json:"results,omitempty"`
	// Map is the Map's result ({MapRunArn, ResultWriterDetails}); MapError
	// the error it failed with.
	Map      *MapResult             `json:"map,omitempty"`
	MapError *eventfactory.SFNError `json:"mapError,omitempty"`
	// Error is the error that sent the execution to Abort.
	Error *eventfactory.SFNError `json:"error,omitempty"`
}

// MapResult is the output of a Distributed Map with a ResultWriter.
type MapResult struct {
	MapRunArn           string `json:"MapRunArn"`
	ResultWriterDetails struct {
		Bucket string `json:"Bucket"`
		Key    string `json:"Key"`
	} `json:"ResultWriterDetails"`
}

// BatchItem is one item of a batch: the Map's item index and the row as
// the Distributed Map's CSV reader gives it (column name to value).
type BatchItem struct {
	N int               `json:"n"`
	R map[string]string `json:"r"`
}

// BatchInput is the input of the ApplyBatch and BatchFailed steps.
type BatchInput struct {
	Items      []BatchItem `json:"Items"`
	BatchInput struct {
		PK   string `json:"pk"`
		SK   string `json:"sk"`
		File int    `json:"file"`
	} `json:"BatchInput"`
	Error *eventfactory.SFNError `json:"error,omitempty"`
}

// BatchResult is the result of a batch step: the counts of its rows.
type BatchResult struct {
	First  int    `json:"first"`
	Last   int    `json:"last"`
	Counts Counts `json:"counts"`
}

// ExecutionName returns the deterministic execution name of the job at
// key, so that a retried start starts nothing more.
func ExecutionName(key core.Key) string { return core.ExecutionName(key.SK, key.PK, key.SK) }

func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

func machineName(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// start starts the job's execution (a running one under the same name is
// not started twice).
func (s *Service) start(ctx context.Context, r *jobRow) error {
	in, _ := json.Marshal(ExecutionInput{PK: r.PK, SK: r.SK})
	if _, err := s.wf.StartExecution(ctx, s.cfg.ImportStateMachineARN, ExecutionName(r.key()), in); err != nil && !errors.Is(err, core.ErrExecutionExists) {
		return fmt.Errorf("importcsv: start the execution of %s: %w", r.SK, err)
	}
	return nil
}

// Routes returns the registration of the import state machine's steps
// (core.Config.ImportStateMachineARN) and of the sweep event.
func (s *Service) Routes() (eventfactory.Registration, error) {
	return func(r *eventfactory.Router) {
		if arn := s.cfg.ImportStateMachineARN; arn != "" {
			m := machineName(arn)
			eventfactory.OnStepFunctions(r, m, StateNext, s.stepNext)
			eventfactory.OnStepFunctions(r, m, StateApplyBatch, s.stepApplyBatch)
			eventfactory.OnStepFunctions(r, m, StateBatchFailed, s.stepBatchFailed)
			eventfactory.OnStepFunctions(r, m, StateAbort, s.stepAbort)
		}
		eventfactory.OnEventBridge(r, SweepEventSource, SweepEventDetailType, s.onSweep)
	}, nil
}

// stepCtx marks a step's context and carries the job's Invoke.
func stepCtx(ctx context.Context) context.Context { return context.WithValue(ctx, stepKey{}, true) }

func (s *Service) stepJob(ctx context.Context, pk, sk string) (*jobRow, error) {
	k := core.Key{PK: pk, SK: sk}
	if _, err := checkJobKey(k); err != nil {
		return nil, err
	}
	return s.readJob(ctx, k)
}

// stepNext is the Next step.
func (s *Service) stepNext(ctx context.Context, t eventfactory.SFNTask[StepState]) (StepState, error) {
	ctx = stepCtx(ctx)
	job, err := s.stepJob(ctx, t.Input.PK, t.Input.SK)
	if err != nil {
		return StepState{}, err
	}
	return s.next(ctx, job, t.Input)
}

func (s *Service) next(ctx context.Context, job *jobRow, in StepState) (StepState, error) {
	done := func(j *jobRow) StepState {
		return StepState{PK: j.PK, SK: j.SK, Done: true, Status: j.Status, Reason: j.Reason}
	}
	if job.Status.Final() {
		return done(job), nil
	}
	job, err := s.begin(ctx, job)
	if err != nil {
		return StepState{}, err
	}
	if in.File != nil {
		if err := s.endMapFile(ctx, job, in); err != nil {
			return StepState{}, err
		}
	}
	if job.Files == 0 {
		if job, err = s.stepFiles(ctx, job); err != nil {
			return StepState{}, err
		}
		if job.Status.Final() {
			return done(job), nil
		}
	}
	files, err := s.files(ctx, job.key())
	if err != nil {
		return StepState{}, err
	}
	set := job.settings()
	for _, f := range files {
		if f.Status.Final() {
			continue
		}
		if f.Status == StatusPending {
			if f, err = s.scan(ctx, job, f, set); err != nil {
				return StepState{}, err
			}
			if f.Status.Final() {
				continue
			}
		}
		return StepState{PK: job.PK, SK: job.SK, File: &FileState{Index: f.Index, Bucket: f.Bucket, Key: f.ObjectKey},
			MaxConcurrency: set.MaxConcurrency, MaxItemsPerBatch: set.BatchSize, MaxInputBytesPerBatch: set.MaxInputBytesPerBatch,
			Results: &Source{Bucket: s.cfg.Bucket(), Key: objectPrefix(job.TenantCode, core.CodeOf(job.SK)) + fmt.Sprintf("results/%d", f.Index)}}, nil
	}
	if job, err = s.finalize(ctx, job, ""); err != nil {
		return StepState{}, err
	}
	return done(job), nil
}

// endMapFile ends the file the Map imported: batches whose child
// execution failed (in the ResultWriter's FAILED results) are recorded
// with their error, rows still unaccounted for are failed, and a failed
// Map fails the file.
func (s *Service) endMapFile(ctx context.Context, job *jobRow, in StepState) error {
	f, err := s.readFile(ctx, job.key(), in.File.Index)
	if err != nil {
		return err
	}
	if f.Status != StatusProcessing {
		return nil
	}
	if in.Map != nil && in.Map.ResultWriterDetails.Key != "" {
		if err := s.failedChildren(ctx, job, f, in.Map.ResultWriterDetails.Bucket, in.Map.ResultWriterDetails.Key); err != nil {
			return err
		}
		if f, err = s.readFile(ctx, job.key(), in.File.Index); err != nil {
			return err
		}
	}
	cause, mapErr := "", ""
	if in.MapError != nil {
		mapErr = "the Distributed Map failed: " + in.MapError.Text()
		cause = "not imported: " + mapErr
	}
	_, err = s.finishFile(ctx, job, f, cause, mapErr)
	return err
}

// failedChildren records the batches of the child executions the
// ResultWriter lists as FAILED.
func (s *Service) failedChildren(ctx context.Context, job *jobRow, f *fileRow, bucket, key string) error {
	body, err := s.objects.Get(ctx, bucket, key)
	if err != nil {
		return fmt.Errorf("importcsv: read the Map's results s3://%s/%s: %w", bucket, key, err)
	}
	var manifest struct {
		ResultFiles struct {
			FAILED []struct {
				Key string `json:"Key"`
			} `json:"FAILED"`
		} `json:"ResultFiles"`
	}
	if err := json.Unmarshal(body, &manifest); err != nil {
		return fmt.Errorf("importcsv: the Map's manifest s3://%s/%s: %w", bucket, key, err)
	}
	for _, rf := range manifest.ResultFiles.FAILED {
		b, err := s.objects.Get(ctx, bucket, rf.Key)
		if err != nil {
			return fmt.Errorf("importcsv: read s3://%s/%s: %w", bucket, rf.Key, err)
		}
		var entries []struct {
			Input string `json:"Input"`
			Error string `json:"Error"`
			Cause string `json:"Cause"`
		}
		if err := json.Unmarshal(b, &entries); err != nil {
			return fmt.Errorf("importcsv: s3://%s/%s: %w", bucket, rf.Key, err)
		}
		for _, e := range entries {
			var bi BatchInput
			if err := json.Unmarshal([]byte(e.Input), &bi); err != nil || len(bi.Items) == 0 {
				continue // no rows to tell: the gaps account for them
			}
			cause := (&eventfactory.SFNError{Error: e.Error, Cause: e.Cause}).Text()
			if _, err := s.accountBatch(ctx, job, f, s.itemRows(f, bi.Items), "not imported: the batch failed: "+cause); err != nil {
				return err
			}
		}
	}
	return nil
}

// itemRows turns the Map's items into rows, in the header's order.
func (s *Service) itemRows(f *fileRow, items []BatchItem) []batchRow {
	keys := f.RawHeader
	if len(keys) != len(f.Header) {
		keys = f.Header
	}
	rows := make([]batchRow, len(items))
	for i, it := range items {
		fields := make([]string, len(keys))
		for j, h := range keys {
			fields[j] = it.R[h]
		}
		rows[i] = batchRow{row: Row{Number: it.N + 1, Header: f.Header, Fields: fields}}
	}
	return rows
}

// batchFile reads the job and file of a batch step.
func (s *Service) batchFile(ctx context.Context, in BatchInput) (*jobRow, *fileRow, error) {
	job, err := s.stepJob(ctx, in.BatchInput.PK, in.BatchInput.SK)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.readFile(ctx, job.key(), in.BatchInput.File)
	if err != nil {
		return nil, nil, err
	}
	if len(in.Items) == 0 {
		return nil, nil, &core.ValidationError{Problems: []string{"importcsv: a batch without items"}}
	}
	return job, f, nil
}

// stepApplyBatch is the ApplyBatch step.
func (s *Service) stepApplyBatch(ctx context.Context, t eventfactory.SFNTask[BatchInput]) (BatchResult, error) {
	ctx = stepCtx(ctx)
	job, f, err := s.batchFile(ctx, t.Input)
	if err != nil {
		return BatchResult{}, err
	}
	rows := s.itemRows(f, t.Input.Items)
	c, err := s.applyBatch(ctx, job, f, rows)
	return BatchResult{First: rows[0].row.Number, Last: rows[len(rows)-1].row.Number, Counts: c}, err
}

// stepBatchFailed is the BatchFailed step.
func (s *Service) stepBatchFailed(ctx context.Context, t eventfactory.SFNTask[BatchInput]) (BatchResult, error) {
	ctx = stepCtx(ctx)
	job, f, err := s.batchFile(ctx, t.Input)
	if err != nil {
		return BatchResult{}, err
	}
	rows := s.itemRows(f, t.Input.Items)
	c, err := s.accountBatch(ctx, job, f, rows, "not imported: the batch failed: "+t.Input.Error.Text())
	return BatchResult{First: rows[0].row.Number, Last: rows[len(rows)-1].row.Number, Counts: c}, err
}

// stepAbort is the Abort step: the job fails with the error, every row
// not imported failed with it.
func (s *Service) stepAbort(ctx context.Context, t eventfactory.SFNTask[StepState]) (StepState, error) {
	ctx = stepCtx(ctx)
	job, err := s.stepJob(ctx, t.Input.PK, t.Input.SK)
	if err != nil {
		return StepState{}, err
	}
	job, err = s.abort(ctx, job, "the import state machine failed: "+t.Input.Error.Text())
	if err != nil {
		return StepState{}, err
	}
	return StepState{PK: job.PK, SK: job.SK, Done: true, Status: job.Status, Reason: job.Reason}, nil
}

// abort fails a job that cannot go on: unfinished files end (their rows
// not imported failed with reason), and the job FAILED.
func (s *Service) abort(ctx context.Context, job *jobRow, reason string) (*jobRow, error) {
	if job.Status.Final() {
		return job, nil
	}
	files, err := s.files(ctx, job.key())
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		switch f.Status {
		case StatusPending:
			_, err = s.failFile(ctx, f, reason)
		case StatusProcessing:
			_, err = s.finishFile(ctx, job, f, "not imported: "+reason, reason)
		}
		if err != nil {
			return nil, err
		}
	}
	return s.finalize(ctx, job, reason)
}

// stepFiles creates the files of a step-function job: the CSV itself, or
// the CSV entries of its ZIP, each stored as an object of its own for the
// Distributed Map. A source that cannot be read fails the job.
func (s *Service) stepFiles(ctx context.Context, job *jobRow) (*jobRow, error) {
	rc, _, err := s.objects.Open(ctx, job.Bucket, job.ObjectKey)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return s.finalize(ctx, job, fmt.Sprintf("cannot read s3://%s/%s: %v", job.Bucket, job.ObjectKey, err))
		}
		return nil, err
	}
	defer rc.Close()
	src, zipped := peekZip(rc)
	if !zipped {
		return s.createFiles(ctx, job, []fileSpec{{name: job.Name, bucket: job.Bucket, object: job.ObjectKey}})
	}
	entries, done, reason, err := s.openZip(src)
	if err != nil {
		return nil, err
	}
	defer done()
	if reason != "" {
		return s.finalize(ctx, job, reason)
	}
	specs := make([]fileSpec, len(entries))
	prefix := objectPrefix(job.TenantCode, core.CodeOf(job.SK))
	for i, e := range entries {
		rc, err := e.Open()
		if err != nil {
			return s.finalize(ctx, job, fmt.Sprintf("cannot read entry %s: %v", e.Name, err))
		}
		body, err := io.ReadAll(&limitedEntry{r: rc, max: s.set.MaxZipEntryBytes})
		rc.Close()
		if err != nil {
			return s.finalize(ctx, job, fmt.Sprintf("cannot read entry %s: %v", e.Name, err))
		}
		key := fmt.Sprintf("%sfiles/%05d-%s", prefix, i, path.Base(e.Name))
		if err := s.objects.Put(ctx, s.cfg.Bucket(), key, body, "text/csv"); err != nil {
			return nil, fmt.Errorf("importcsv: store entry %s: %w", e.Name, err)
		}
		specs[i] = fileSpec{name: e.Name, bucket: s.cfg.Bucket(), object: key}
	}
	if job, err = s.setZip(ctx, job); err != nil {
		return nil, err
	}
	return s.createFiles(ctx, job, specs)
}

// batchEnvelope is the room a batch's JSON takes besides its items.
const batchEnvelope = 2048

// scan reads a PENDING file of a step-function job once, streaming: its
// header, its row count, and the rows it fails at once, as the
// Distributed Map's reader cannot tell them (a ragged row arrives padded,
// a row that is not UTF-8 mangled, a row larger than a batch not at all).
// Their failure items are written now and counted by the batch that holds
// them. A file that cannot be imported, or whose quoting is malformed
// (the Map's reader may split such a file into other rows than this one
// does), ends FAILED with nothing imported.
func (s *Service) scan(ctx context.Context, job *jobRow, f *fileRow, set jobSettings) (*fileRow, error) {
	rc, _, err := s.objects.Open(ctx, f.Bucket, f.ObjectKey)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return s.failFile(ctx, f, fmt.Sprintf("cannot read s3://%s/%s: %v", f.Bucket, f.ObjectKey, err))
		}
		return nil, err
	}
	defer rc.Close()
	rd, err := NewReader(rc, f.Name, s.set.MaxRowBytes)
	if err != nil {
		return s.failFile(ctx, f, fileReason(err))
	}
	var puts []core.Item
	var failed int64
	flush := func() error {
		if len(puts) == 0 {
			return nil
		}
		err := s.store.BatchWrite(ctx, s.table, puts, nil)
		puts = puts[:0]
		return err
	}
	fail := func(n int, reason string) error {
		k := failureKey(job.key(), f.Index, n)
		it, err := core.MarshalItem(&failureRow{PK: k.PK, SK: k.SK, Kind: "failure", File: f.Index, Row: n, Reason: reasonText(reason), Scan: true})
		if err != nil {
			return err
		}
		puts = append(puts, it)
		failed++
		if len(puts) >= 25 {
			return flush()
		}
		return nil
	}
	maxItem := set.MaxInputBytesPerBatch - batchEnvelope
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		var fe *FileError
		if errors.As(err, &fe) {
			return s.failFile(ctx, f, fileReason(err))
		}
		if err != nil {
			var re *RowError
			errors.As(err, &re)
			if quoteProblem(err) {
				return s.failFile(ctx, f, fmt.Sprintf("row %d (line %d): %s; in step-function mode a file with malformed quoting "+
					"is refused, since the Distributed Map's CSV reader may split it into other rows: fix the quoting, or import it in direct mode",
					re.Row, re.Line, re.Reason))
			}
			if err := fail(re.Row, re.Reason); err != nil {
				return nil, err
			}
			continue
		}
		if size := itemSize(row); size > maxItem {
			if err := fail(row.Number, fmt.Sprintf("the row takes %d bytes as a Distributed Map item, above the %d a batch holds: import the file in direct mode", size, maxItem)); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	total := int64(rd.Rows())
	if f, err = s.startFile(ctx, f, rd.Header(), rd.RawHeader(), total, failed); err != nil {
		return nil, err
	}
	if total == 0 {
		return s.finishFile(ctx, job, f, "", "")
	}
	return f, nil
}

// itemSize is the size of a row as a JSON item {"n":…,"r":{…}}: exact
// for plain text, an upper bound otherwise.
func itemSize(row Row) int {
	n := 32
	for i, h := range row.Header {
		n += len(h) + 6
		if i < len(row.Fields) {
			v := row.Fields[i]
			n += len(v)
			if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r > 0x7e }) {
				b, _ := json.Marshal(v)
				n += len(b) - len(v)
			}
		}
	}
	return n
}
