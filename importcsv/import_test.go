package importcsv_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
)

const ordersCSV = "code,name,customer,total\n" +
	"o-1,first,Ada,10\n" +
	"o-2,second,Grace,20\n" +
	"o-3,third,Linus\n" + // ragged: fails
	"o-4,fourth,Ken,40\n"

func TestImportModes(t *testing.T) {
	for _, mode := range []importcsv.Mode{importcsv.ModeDirect, importcsv.ModeStepFunction} {
		t.Run(string(mode), func(t *testing.T) {
			rt := newRuntime(t, nil, nil)
			d := importFile(t, rt, mode, "orders.csv", ordersCSV)
			j := d.Job
			if j.Status != importcsv.StatusCompletedWithFailures {
				t.Fatalf("status %s (%s)", j.Status, j.Reason)
			}
			want := importcsv.Counts{Total: 4, Created: 3, Failed: 1}
			if j.Counts != want {
				t.Fatalf("counts %+v, want %+v", j.Counts, want)
			}
			outs := allOutcomes(t, rt.Imports(), j.Key(), 0)
			var got []string
			for _, o := range outs {
				got = append(got, fmt.Sprintf("%d:%s:%s:%d:%s", o.Row, o.Outcome, o.SK, o.Version, o.Reason))
			}
			wantRows := []string{"1:created:ORDER#o-1:1:", "2:created:ORDER#o-2:1:", "3:failed::0:the row has 3 fields, the header has 4", "4:created:ORDER#o-4:1:"}
			if fmt.Sprint(got) != fmt.Sprint(wantRows) {
				t.Fatalf("outcomes\n%v\nwant\n%v", got, wantRows)
			}
			data, err := rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#o-2"}, true)
			if err != nil {
				t.Fatal(err)
			}
			if data.Name != "second" || data.Attributes["customer"] != "Grace" || data.Attributes["total"] != "20" {
				t.Fatalf("data %+v", data)
			}
			fails := allFailures(t, rt.Imports(), j.Key(), 0)
			if len(fails) != 1 || fails[0].Row != 3 {
				t.Fatalf("failures %+v", fails)
			}
			// Again: everything unchanged, nothing written.
			d2 := importFile(t, rt, mode, "orders.csv", ordersCSV)
			want2 := importcsv.Counts{Total: 4, Unchanged: 3, Failed: 1}
			if d2.Job.Counts != want2 {
				t.Fatalf("re-import counts %+v, want %+v (%s)", d2.Job.Counts, want2, d2.Job.Reason)
			}
			vs, err := rt.Service("order").ListVersions(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#o-2"})
			if err != nil || len(vs) != 1 {
				t.Fatalf("versions %d %v", len(vs), err)
			}
		})
	}
}

// TestImportProgress: a direct job reports its progress after every
// batch, up to the final counts.
func TestImportProgress(t *testing.T) {
	rt := newRuntime(t, nil, nil)
	body := string(ordersFile(1050))
	var mu sync.Mutex
	var seen []importcsv.Counts
	job, err := rt.Imports().Import(bg, importcsv.JobInput{TenantCode: "acme", Module: "order", Reader: strings.NewReader(body),
		BatchSize: 100, Progress: func(p importcsv.Progress) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, p.Counts)
		}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 11 {
		t.Fatalf("%d progress reports, want one per batch (11)", len(seen))
	}
	prev := int64(0)
	for i, c := range seen {
		// Batches finish in any order: each adds its 100 rows (the last
		// one 50) to the counts so far.
		if step := c.Created - prev; step != 100 && step != 50 || c.Total < c.Created {
			t.Fatalf("report %d: %+v after %d", i, c, prev)
		}
		prev = c.Created
	}
	if last := seen[len(seen)-1]; last.Total != 1050 || job.Counts != last {
		t.Fatalf("last report %+v, job %+v", last, job.Counts)
	}
}
