package importcsv_test

import (
	"archive/zip"
	"bytes"
	"testing"

	"github.com/stepcqrs/stepcqrs/importcsv"
)

// zipOf builds a ZIP of the given entries, in the given order.
func zipOf(t testing.TB, entries ...[2]string) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestImportZip imports a ZIP of CSVs: its .csv entries in name order,
// one at a time, each with its counters, and a summary over them.
func TestImportZip(t *testing.T) {
	z := zipOf(t,
		[2]string{"2-updates.csv", "code,name\na,alpha v2\nb,beta\n"},
		[2]string{"readme.txt", "not imported"},
		[2]string{"__MACOSX/._1-new.csv", "resource fork"},
		[2]string{"1-new.csv", "code,name\na,alpha\nb,beta\nc\n"},
		[2]string{"3-broken.csv", ""},
	)
	for _, mode := range []importcsv.Mode{importcsv.ModeDirect, importcsv.ModeStepFunction} {
		t.Run(string(mode), func(t *testing.T) {
			rt := newRuntime(t, nil, nil)
			d := importFile(t, rt, mode, "batch.zip", z)
			if !d.Job.Zip || d.Job.Files != 3 || len(d.Files) != 3 {
				t.Fatalf("job %+v files %+v", d.Job, d.Files)
			}
			want := []struct {
				name   string
				status importcsv.Status
				counts importcsv.Counts
			}{
				{"1-new.csv", importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 3, Created: 2, Failed: 1}},
				{"2-updates.csv", importcsv.StatusCompleted, importcsv.Counts{Total: 2, Updated: 1, Unchanged: 1}},
				{"3-broken.csv", importcsv.StatusFailed, importcsv.Counts{}},
			}
			for i, w := range want {
				f := d.Files[i]
				if f.Index != i || f.Name != w.name || f.Status != w.status || f.Counts != w.counts {
					t.Errorf("file %d: %+v, want %+v", i, f, w)
				}
			}
			total := importcsv.Counts{Total: 5, Created: 2, Updated: 1, Unchanged: 1, Failed: 1}
			if d.Job.Status != importcsv.StatusCompletedWithFailures || d.Job.Counts != total {
				t.Fatalf("job %s %+v (%s)", d.Job.Status, d.Job.Counts, d.Job.Reason)
			}
			if want := "1 of 3 files failed: 3-broken.csv: the file is empty"; !bytes.Contains([]byte(d.Job.Reason), []byte(want)) {
				t.Errorf("reason %q, want %q", d.Job.Reason, want)
			}
			fails := allFailures(t, rt.Imports(), d.Job.Key(), 0)
			if len(fails) != 1 || fails[0].Row != 3 || fails[0].File != 0 {
				t.Errorf("failures %+v", fails)
			}
		})
	}
}

// TestImportZipWithoutCSV fails the job with a clear reason.
func TestImportZipWithoutCSV(t *testing.T) {
	rt := newRuntime(t, nil, nil)
	d := importFile(t, rt, importcsv.ModeStepFunction, "none.zip", zipOf(t, [2]string{"a.txt", "x"}))
	if d.Job.Status != importcsv.StatusFailed || d.Job.Reason != "the ZIP holds no .csv file" {
		t.Fatalf("job %s %q", d.Job.Status, d.Job.Reason)
	}
}
