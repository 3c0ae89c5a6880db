package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// importOptions are the flags of stepcqrs import.
type importOptions struct {
	file, module, tenant, mode, typ, failedRows string
	batchSize, concurrency                      int
	noProgress                                  bool
}

// importCmd imports a CSV (or a ZIP of CSVs) on the embedded runtime.
func importCmd() *cobra.Command {
	var o importOptions
	c := &cobra.Command{
		Use:   "import --file FILE --module MODULE [--tenant T] [--mode direct|step-function] [--failed-rows FILE]",
		Short: "import a CSV file (or a ZIP of CSV files) into a module on the embedded runtime",
		Long: `Import a CSV file (or a ZIP of CSV files) into a CQRS module on the
embedded runtime, with the default strategy: every column a string
attribute, "code" the key's code, "name" the name. Shows a progress bar
on the standard error and prints the job's summary; --failed-rows writes
the failed rows to a CSV with "row" and "reason" columns. Exits 1 when
the job failed or some rows did.`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			switch {
			case o.file == "":
				return usagef(c, "import: --file is required")
			case o.module == "":
				return usagef(c, "import: --module is required")
			case o.mode != string(importcsv.ModeDirect) && o.mode != string(importcsv.ModeStepFunction):
				return usagef(c, "import: --mode must be direct or step-function, not %q", o.mode)
			case o.batchSize < 0 || o.batchSize > importcsv.MaxBatchSize || o.concurrency < 0:
				return usagef(c, "import: --batch-size must be 1..%d and --concurrency positive", importcsv.MaxBatchSize)
			}
			return runImport(c.Context(), c.OutOrStdout(), c.ErrOrStderr(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.file, "file", "", "the CSV (or ZIP of CSVs) `FILE` to import")
	f.StringVar(&o.module, "module", "", "the target CQRS `MODULE`, e.g. order")
	f.StringVar(&o.tenant, "tenant", "default", "the `TENANT` code the rows belong to")
	f.StringVar(&o.mode, "mode", string(importcsv.ModeDirect), "direct (in this process) or step-function (the import state machine on the interpreter)")
	f.StringVar(&o.typ, "type", "", "the entity `TYPE` of the keys (default: the module in upper case)")
	f.StringVar(&o.failedRows, "failed-rows", "", "write the failed rows to `FILE` (CSV, with row and reason columns)")
	f.IntVar(&o.batchSize, "batch-size", 0, "rows per batch (default 100)")
	f.IntVar(&o.concurrency, "concurrency", 0, "batches at once (default 4 direct, 50 step-function)")
	f.BoolVar(&o.noProgress, "no-progress", false, "do not show the progress bar")
	return c
}

// runImport runs the import and prints its summary.
func runImport(ctx context.Context, stdout, stderr io.Writer, o importOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	typ := o.typ
	if typ == "" {
		typ = strings.ToUpper(o.module)
	}
	rows, zipped, err := countRows(o.file)
	if err != nil {
		return err
	}
	reg := importcsv.NewRegistry()
	importcsv.Register(reg, o.module, importcsv.Strategy[core.Attributes]{Type: typ})
	rt, err := local.New(ctx, local.Options{Modules: []string{o.module}, Imports: &local.ImportOptions{Registry: reg}, RealClock: true})
	if err != nil {
		return err
	}
	defer rt.Close()
	svc := rt.Imports()
	var bar *progressbar.ProgressBar
	if !o.noProgress {
		bar = progressbar.NewOptions64(rows,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("importing "+filepath.Base(o.file)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
	}
	set := func(c importcsv.Counts) {
		if bar != nil {
			_ = bar.Set64(c.Accounted())
		}
	}
	in := importcsv.JobInput{TenantCode: o.tenant, Module: o.module, Mode: importcsv.Mode(o.mode), Name: filepath.Base(o.file),
		BatchSize: o.batchSize, MaxConcurrency: o.concurrency}
	start := time.Now()
	var job *importcsv.Job
	if in.Mode == importcsv.ModeDirect {
		f, err := os.Open(o.file)
		if err != nil {
			return err
		}
		defer f.Close()
		in.Reader = f
		in.Progress = func(p importcsv.Progress) { set(p.Counts) }
		if job, err = svc.Import(ctx, in); err != nil {
			return err
		}
	} else {
		body, err := os.ReadFile(o.file)
		if err != nil {
			return err
		}
		key := "uploads/" + filepath.Base(o.file)
		if err := rt.Objects.Put(ctx, rt.Config.Bucket(), key, body, "text/csv"); err != nil {
			return err
		}
		in.Object = &importcsv.Source{Bucket: rt.Config.Bucket(), Key: key}
		if job, err = svc.Import(ctx, in); err != nil {
			return err
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for !rt.Idle() {
			if d, err := svc.Get(ctx, job.Key()); err == nil {
				set(d.Progress())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		if err := rt.WaitIdle(ctx); err != nil {
			return err
		}
	}
	took := time.Since(start)
	d, err := svc.Get(ctx, job.Key())
	if err != nil {
		return err
	}
	if bar != nil {
		set(d.Job.Counts)
		_ = bar.Finish()
	}
	printSummary(stdout, d, took, zipped)
	if o.failedRows != "" {
		n, err := writeFailedRows(ctx, svc, d, o.file, zipped, o.failedRows)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "failed rows: %d written to %s\n", n, o.failedRows)
	}
	if d.Job.Status != importcsv.StatusCompleted {
		return errFailures
	}
	return nil
}

// countRows counts the rows of a CSV file (for the progress bar); a ZIP's
// size is unknown (-1).
func countRows(path string) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	if n == 4 && string(head[:2]) == "PK" {
		return -1, true, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, false, err
	}
	rd, err := importcsv.NewReader(f, path, 0)
	if err != nil {
		return 0, false, nil // the import reports it
	}
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		var fe *importcsv.FileError
		if errors.As(err, &fe) {
			break
		}
	}
	return int64(rd.Rows()), false, nil
}

// printSummary prints the job: its status and reason, its counters, and
// for a ZIP one line per file.
func printSummary(w io.Writer, d *importcsv.Detail, took time.Duration, zipped bool) {
	j := d.Job
	c := j.Counts
	fmt.Fprintf(w, "import %s: %s\n", j.ID, j.Status)
	fmt.Fprintf(w, "  %s\n", j.Reason)
	fmt.Fprintf(w, "  rows %d: created %d, updated %d, unchanged %d, failed %d\n", c.Total, c.Created, c.Updated, c.Unchanged, c.Failed)
	rate := ""
	if s := took.Seconds(); s > 0 && c.Total > 0 {
		rate = fmt.Sprintf(", %.0f rows/s", float64(c.Total)/s)
	}
	fmt.Fprintf(w, "  mode %s, module %s, tenant %s, %s%s\n", j.Mode, j.Module, j.TenantCode, took.Round(time.Millisecond), rate)
	if zipped || len(d.Files) > 1 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  file\tstatus\trows\tcreated\tupdated\tunchanged\tfailed\treason")
		for _, f := range d.Files {
			fc := f.Counts
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", f.Name, f.Status, fc.Total, fc.Created, fc.Updated, fc.Unchanged, fc.Failed, f.Reason)
		}
		tw.Flush()
	}
}

// writeFailedRows writes the failed rows of every file to out: the file's
// header (with "file" first for a ZIP), then "row" and "reason". It
// returns the rows written.
func writeFailedRows(ctx context.Context, svc *importcsv.Service, d *importcsv.Detail, path string, zipped bool, out string) (int, error) {
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	n := 0
	wroteHeader := false
	for _, file := range d.Files {
		var fails []importcsv.RowOutcome
		q := importcsv.OutcomeQuery{File: file.Index, Limit: importcsv.MaxPageSize}
		for {
			p, err := svc.Failures(ctx, d.Job.Key(), q)
			if err != nil {
				return n, err
			}
			fails = append(fails, p.Rows...)
			if p.Next == 0 {
				break
			}
			q.After = p.Next
		}
		if !wroteHeader {
			var h []string
			if zipped {
				h = append(h, "file")
			}
			h = append(append(h, file.Header...), "row", "reason")
			if err := w.Write(h); err != nil {
				return n, err
			}
			wroteHeader = true
		}
		fields := map[int][]string{}
		if !zipped {
			if fields, err = rowFields(path, fails); err != nil {
				return n, err
			}
		}
		for _, fr := range fails {
			var rec []string
			if zipped {
				rec = append(rec, file.Name)
			}
			v := fr.Fields
			if got, ok := fields[fr.Row]; ok {
				v = got
			}
			row := make([]string, len(file.Header))
			copy(row, v)
			rec = append(append(rec, row...), strconv.Itoa(fr.Row), fr.Reason)
			if err := w.Write(rec); err != nil {
				return n, err
			}
			n++
		}
	}
	w.Flush()
	return n, w.Error()
}

// rowFields reads the values of the failed rows from the file itself.
func rowFields(path string, fails []importcsv.RowOutcome) (map[int][]string, error) {
	want := map[int]bool{}
	for _, f := range fails {
		want[f.Row] = true
	}
	out := map[int][]string{}
	if len(want) == 0 {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := importcsv.NewReader(f, path, 0)
	if err != nil {
		return out, nil
	}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		var fe *importcsv.FileError
		if errors.As(err, &fe) {
			return out, nil
		}
		if row.Fields != nil && want[row.Number] {
			out[row.Number] = row.Fields
		}
	}
}
