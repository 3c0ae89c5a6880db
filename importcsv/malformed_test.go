package importcsv_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
)

// outcome is the expected end of a malformed file in one mode.
type outcome struct {
	status importcsv.Status
	counts importcsv.Counts
	// reason is a part of the job's reason.
	reason string
	// failed maps each failed row to a part of its reason.
	failed map[int]string
}

// malformed is the corpus of testdata/malformed (and two large files made
// by the test), with each file's outcome in direct and step-function mode.
var malformed = map[string]struct{ direct, step outcome }{
	"ragged.csv": {
		direct: outcome{importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 4, Created: 2, Failed: 2}, "2 failed",
			map[int]string{2: "the row has 2 fields, the header has 3", 3: "the row has 4 fields, the header has 3"}},
	},
	"bad_quotes.csv": {
		direct: outcome{importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 4, Created: 2, Failed: 2}, "2 failed",
			map[int]string{2: "a quote in an unquoted field (line 3, column 7)", 3: "text after a closing quote"}},
		step: outcome{importcsv.StatusFailed, importcsv.Counts{}, "row 2 (line 3): a quote in an unquoted field", nil},
	},
	"unterminated_quote.csv": {
		direct: outcome{importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 2, Created: 1, Failed: 1}, "1 failed",
			map[int]string{2: "a quoted field opened on line 3 is never closed: the rest of the file (to line 5) was read as this row"}},
		step: outcome{importcsv.StatusFailed, importcsv.Counts{}, "malformed quoting is refused", nil},
	},
	"bom_crlf_mixed.csv": {
		direct: outcome{importcsv.StatusCompleted, importcsv.Counts{Total: 3, Created: 3}, "3 rows: 3 created", nil},
	},
	"empty.csv": {
		direct: outcome{importcsv.StatusFailed, importcsv.Counts{}, "the file is empty: it has no header row", nil},
	},
	"header_only.csv": {
		direct: outcome{importcsv.StatusCompleted, importcsv.Counts{}, "the file has a header and no rows", nil},
	},
	"duplicate_header.csv": {
		direct: outcome{importcsv.StatusFailed, importcsv.Counts{}, `the header names column "name" twice (columns 2 and 4)`, nil},
	},
	"unnamed_column.csv": {
		direct: outcome{importcsv.StatusFailed, importcsv.Counts{}, "column 2 of the header has no name", nil},
	},
	"latin1_row.csv": {
		direct: outcome{importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 2, Created: 1, Failed: 1}, "1 failed",
			map[int]string{1: `column "name" is not UTF-8 text`}},
	},
	"binary.bin": {
		direct: outcome{importcsv.StatusFailed, importcsv.Counts{}, "the header row is not UTF-8 text", nil},
	},
	// Made by the test: a 1 MB field. Direct mode imports it (the command
	// service offloads the attributes to the object store); a batch of the
	// Distributed Map cannot carry it (256 KB), so the scan fails the row.
	"big_field.csv": {
		direct: outcome{importcsv.StatusCompleted, importcsv.Counts{Total: 2, Created: 2}, "2 created", nil},
		step: outcome{importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 2, Created: 1, Failed: 1}, "1 failed",
			map[int]string{1: "as a Distributed Map item, above the"}},
	},
	// Made by the test: a row of 450 KB over 3 columns, above DynamoDB's
	// 400 KB item: offloaded in direct mode, too large for a batch in
	// step-function mode.
	"row_over_item_limit.csv": {
		direct: outcome{importcsv.StatusCompleted, importcsv.Counts{Total: 2, Created: 2}, "2 created", nil},
		step: outcome{importcsv.StatusCompletedWithFailures, importcsv.Counts{Total: 2, Created: 1, Failed: 1}, "1 failed",
			map[int]string{2: "as a Distributed Map item, above the"}},
	},
}

// generated are the corpus files too large to keep in testdata.
func generated() map[string]string {
	big := strings.Repeat("x", 1<<20)
	wide := strings.Repeat("y", 150*1024)
	return map[string]string{
		"big_field.csv":           "code,name,note\no-1,one," + big + "\no-2,two,small\n",
		"row_over_item_limit.csv": "code,name,a,b,c\no-1,one,1,2,3\no-2,two," + wide + "," + wide + "," + wide + "\n",
	}
}

// TestImportMalformed imports every file of the corpus in both modes and
// checks its outcome: row-level failures with their row numbers and
// reasons, or one job-level error, and counters that add up.
func TestImportMalformed(t *testing.T) {
	files := generated()
	entries, err := os.ReadDir("testdata/malformed")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata/malformed", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if _, ok := malformed[n]; !ok {
			t.Errorf("%s: no expected outcome", n)
		}
		names = append(names, n)
	}
	for n := range malformed {
		if _, ok := files[n]; !ok {
			t.Errorf("%s: expected, but not in the corpus", n)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		for _, mode := range []importcsv.Mode{importcsv.ModeDirect, importcsv.ModeStepFunction} {
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				rt := newRuntime(t, nil, nil)
				svc := rt.Imports()
				want := malformed[name].direct
				if mode == importcsv.ModeStepFunction && malformed[name].step.status != "" {
					want = malformed[name].step
				}
				d := importFile(t, rt, mode, name, files[name])
				j := d.Job
				c := j.Counts
				if j.Status != want.status || c != want.counts || !strings.Contains(j.Reason, want.reason) {
					t.Fatalf("job %s %+v %q\nwant %s %+v %q", j.Status, c, j.Reason, want.status, want.counts, want.reason)
				}
				if c.Accounted() != c.Total {
					t.Fatalf("counters do not add up: %+v", c)
				}
				if len(d.Files) != 1 || d.Files[0].Counts != c {
					t.Fatalf("files %+v", d.Files)
				}
				outs := allOutcomes(t, svc, j.Key(), 0)
				if len(outs) != int(c.Total) {
					t.Fatalf("%d outcomes for %d rows", len(outs), c.Total)
				}
				var failed int
				for i, o := range outs {
					if o.Row != i+1 {
						t.Fatalf("outcome %d is row %d", i, o.Row)
					}
					if o.Outcome != importcsv.OutcomeFailed {
						if o.Outcome != importcsv.OutcomeCreated || o.Version != 1 {
							t.Errorf("row %d: %+v", o.Row, o)
						}
						continue
					}
					failed++
					if w, ok := want.failed[o.Row]; !ok || !strings.Contains(o.Reason, w) {
						t.Errorf("row %d failed: %q, want %q", o.Row, o.Reason, w)
					}
				}
				if failed != len(want.failed) {
					t.Errorf("%d failed rows, want %d", failed, len(want.failed))
				}
				fails := allFailures(t, svc, j.Key(), 0)
				if len(fails) != len(want.failed) {
					t.Errorf("Failures lists %d rows, want %d: %+v", len(fails), len(want.failed), fails)
				}
				for _, f := range fails {
					if !strings.Contains(f.Reason, want.failed[f.Row]) {
						t.Errorf("failure of row %d: %q", f.Row, f.Reason)
					}
				}
				if name == "bom_crlf_mixed.csv" {
					// The BOM is not part of the first column's name, and a
					// quoted line break is one value (encoding/csv reads its
					// CRLF as LF).
					data, err := rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#o-3"}, true)
					if err != nil || data.Name != "three\nlines" || data.Attributes["total"] != "3" {
						t.Errorf("o-3: %+v %v", data, err)
					}
				}
			})
		}
	}
}
