package importcsv

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stepcqrs/stepcqrs/core"
)

// runDirect imports a direct job in the calling process: src is the file
// (nil: the job's object).
func (s *Service) runDirect(ctx context.Context, job *jobRow, src io.Reader, progress func(Progress)) (*Job, error) {
	job, err := s.begin(ctx, job)
	if err != nil {
		return nil, err
	}
	if src == nil {
		rc, _, err := s.objects.Open(ctx, job.Bucket, job.ObjectKey)
		if err != nil {
			return s.failJob(ctx, job, fmt.Sprintf("cannot read s3://%s/%s: %v", job.Bucket, job.ObjectKey, err))
		}
		defer rc.Close()
		src = rc
	}
	src, zipped := peekZip(src)
	if zipped {
		return s.runDirectZip(ctx, job, src, progress)
	}
	if job, err = s.createFiles(ctx, job, []fileSpec{{name: job.Name, bucket: job.Bucket, object: job.ObjectKey}}); err != nil {
		return nil, err
	}
	f, err := s.readFile(ctx, job.key(), 0)
	if err != nil {
		return nil, err
	}
	if _, err := s.importStream(ctx, job, f, src, progress, Counts{}); err != nil {
		return nil, err
	}
	if job, err = s.finalize(ctx, job, ""); err != nil {
		return nil, err
	}
	return s.getJob(ctx, job.key())
}

// failJob ends a job FAILED with reason (a job-level error before any file).
func (s *Service) failJob(ctx context.Context, job *jobRow, reason string) (*Job, error) {
	nr, err := s.finalize(ctx, job, reason)
	if err != nil {
		return nil, err
	}
	return nr.job(), nil
}

// importStream imports one file from r in batches, at most the job's
// MaxConcurrency batches at once, reading ahead no more than that: memory
// stays bounded by the batches in flight, whatever the file's size. base
// is what earlier files of the job counted, for progress. It returns the
// file as it ends.
func (s *Service) importStream(ctx context.Context, job *jobRow, f *fileRow, r io.Reader, progress func(Progress), base Counts) (*fileRow, error) {
	set := job.settings()
	rd, err := NewReader(r, f.Name, s.set.MaxRowBytes)
	if err != nil {
		return s.failFile(ctx, f, fileReason(err))
	}
	if f, err = s.startFile(ctx, f, rd.Header(), rd.RawHeader(), -1, 0); err != nil {
		return nil, err
	}
	if f.Status.Final() {
		return f, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(set.MaxConcurrency, 1))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		done     Counts
		batchErr error
		lastBeat = s.now()
		read     atomic.Int64 // rows read so far, for progress
	)
	run := func(rows []batchRow) {
		defer wg.Done()
		defer func() { <-sem }()
		c, err := s.applyBatch(ctx, job, f, rows)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if batchErr == nil {
				batchErr = err
				cancel()
			}
			return
		}
		done = done.add(c)
		if now := s.now(); now.Sub(lastBeat) > s.set.StuckAfter/3 {
			// Tell the sweep this process is alive.
			lastBeat = now
			_, _ = s.store.Update(ctx, s.table, job.key(), core.Update{Set: map[string]core.AttributeValue{
				"unsettledAt": avTime(now.Add(s.set.StuckAfter))}}, statusIs(StatusProcessing))
		}
		if progress != nil {
			p := base.add(done)
			p.Total = base.Total + read.Load()
			progress(Progress{File: f.Index, Counts: p})
		}
	}
	var fileErr error
	batch := make([]batchRow, 0, set.BatchSize)
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		wg.Add(1)
		go run(batch)
		batch = make([]batchRow, 0, set.BatchSize)
		return true
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		var fe *FileError
		if errors.As(err, &fe) {
			fileErr = fe
			break
		}
		if err != nil && row.Number == 0 {
			var re *RowError
			errors.As(err, &re)
			row = Row{Number: re.Row, Line: re.Line}
		}
		read.Store(int64(rd.Rows()))
		batch = append(batch, batchRow{row: row, err: err})
		if len(batch) == set.BatchSize && !flush() {
			break
		}
	}
	if ctx.Err() == nil {
		flush()
	}
	wg.Wait()
	total := int64(rd.Rows())
	it, err := s.store.Update(context.WithoutCancel(ctx), s.table, f.key(), core.Update{
		Set: map[string]core.AttributeValue{"total": avN(total)}, Add: map[string]int64{"version": 1},
	}, statusIs(StatusProcessing))
	if err != nil {
		return nil, err
	}
	if f, err = decodeItem[fileRow](it); err != nil {
		return nil, err
	}
	cause, mapErr := "", ""
	switch {
	case batchErr != nil:
		cause = "not imported: the import stopped: " + batchErr.Error()
		mapErr = "the import stopped: " + batchErr.Error()
	case fileErr != nil:
		mapErr = fileReason(fileErr)
	}
	return s.finishFile(context.WithoutCancel(ctx), job, f, cause, mapErr)
}

// fileReason is the reason of a file's error.
func fileReason(err error) string {
	var fe *FileError
	if errors.As(err, &fe) {
		s := fe.Reason
		if fe.Line > 0 {
			s = fmt.Sprintf("line %d: %s", fe.Line, s)
		}
		if fe.Err != nil {
			s += ": " + fe.Err.Error()
		}
		return s
	}
	return err.Error()
}

// zipEntries lists the CSV entries of a ZIP in name order: .csv files,
// without directories, macOS resource forks (__MACOSX/) and hidden files.
func (s *Service) zipEntries(zr *zip.Reader) ([]*zip.File, error) {
	var out []*zip.File
	for _, f := range zr.File {
		name := f.Name
		base := path.Base(name)
		if f.FileInfo().IsDir() || strings.HasPrefix(name, "__MACOSX/") || strings.HasPrefix(base, ".") ||
			!strings.EqualFold(path.Ext(base), ".csv") {
			continue
		}
		if int64(f.UncompressedSize64) > s.set.MaxZipEntryBytes {
			return nil, fmt.Errorf("entry %s is %d bytes uncompressed, above the limit of %d", name, f.UncompressedSize64, s.set.MaxZipEntryBytes)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) == 0 {
		return nil, errors.New("the ZIP holds no .csv file")
	}
	if len(out) > s.set.MaxZipEntries {
		return nil, fmt.Errorf("the ZIP holds %d .csv files, above the limit of %d", len(out), s.set.MaxZipEntries)
	}
	return out, nil
}

// spool copies r to a temporary file, for archive/zip's random access;
// the caller removes it.
func spool(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "stepcqrs-import-*.zip")
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(f, r)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, n, nil
}

// limitedEntry opens a ZIP entry, failing a read past max bytes (a ZIP
// that lies about an entry's size).
type limitedEntry struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitedEntry) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("the entry is larger than the limit of %d bytes", l.max)
	}
	return n, err
}

// openZip spools a ZIP to a temporary file and lists its CSV entries;
// done removes the file. A ZIP that cannot be imported gives reason (a
// job-level error); a failure to spool it, err.
func (s *Service) openZip(src io.Reader) (entries []*zip.File, done func(), reason string, err error) {
	done = func() {}
	tmp, size, err := spool(src)
	if err != nil {
		return nil, done, "", fmt.Errorf("importcsv: read the ZIP: %w", err)
	}
	done = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	zr, err := zip.NewReader(tmp, size)
	if err != nil {
		return nil, done, "not a readable ZIP: " + err.Error(), nil
	}
	if entries, err = s.zipEntries(zr); err != nil {
		return nil, done, err.Error(), nil
	}
	return entries, done, "", nil
}

// runDirectZip imports the CSV entries of a ZIP one after the other.
func (s *Service) runDirectZip(ctx context.Context, job *jobRow, src io.Reader, progress func(Progress)) (*Job, error) {
	entries, done, reason, err := s.openZip(src)
	if err != nil {
		return nil, err
	}
	defer done()
	if reason != "" {
		return s.failJob(ctx, job, reason)
	}
	specs := make([]fileSpec, len(entries))
	for i, e := range entries {
		specs[i] = fileSpec{name: e.Name}
	}
	if job, err = s.setZip(ctx, job); err != nil {
		return nil, err
	}
	if job, err = s.createFiles(ctx, job, specs); err != nil {
		return nil, err
	}
	var base Counts
	for i, e := range entries {
		f, err := s.readFile(ctx, job.key(), i)
		if err != nil {
			return nil, err
		}
		rc, err := e.Open()
		if err != nil {
			if _, err := s.failFile(ctx, f, "cannot read the entry: "+err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		f, err = s.importStream(ctx, job, f, &limitedEntry{r: rc, max: s.set.MaxZipEntryBytes}, progress, base)
		rc.Close()
		if err != nil {
			return nil, err
		}
		base = base.add(f.counts())
	}
	if job, err = s.finalize(ctx, job, ""); err != nil {
		return nil, err
	}
	return s.getJob(ctx, job.key())
}

// setZip marks the job as a ZIP.
func (s *Service) setZip(ctx context.Context, job *jobRow) (*jobRow, error) {
	if job.Zip {
		return job, nil
	}
	nr, err := s.setJob(ctx, job, job.Status, core.Update{Set: map[string]core.AttributeValue{"zip": &boolTrue}})
	if errors.Is(err, core.ErrConditionFailed) {
		return nil, &BusyError{What: "job " + job.SK}
	}
	return nr, err
}
