package importcsv_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// TestImportRetriedBatches injects failures into the batch steps — Lambda
// invocations that fail before or after the function ran, and store calls
// that fail as throttling would — so that Step Functions retries batches
// after some of their rows were applied. Every row must end created once:
// one version per entity, exact counters, one outcome per row.
func TestImportRetriedBatches(t *testing.T) {
	const rows = 600
	for _, f := range []local.Faults{
		{LambdaFailureRate: 0.3},
		{TransientStoreCalls: 3},
	} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			rt := newRuntime(t, nil, func(o *local.Options) { o.Faults = f; o.AutoAdvanceClock = true })
			var b strings.Builder
			b.WriteString("code,name,n\n")
			for i := 1; i <= rows; i++ {
				fmt.Fprintf(&b, "c-%04d,item %d,%d\n", i, i, i)
			}
			d := importFile(t, rt, importcsv.ModeStepFunction, "retried.csv", b.String())
			want := importcsv.Counts{Total: rows, Created: rows}
			if d.Job.Status != importcsv.StatusCompleted || d.Job.Counts != want {
				t.Fatalf("job %s %+v (%s)", d.Job.Status, d.Job.Counts, d.Job.Reason)
			}
			st := rt.Stats()
			if st.InjectedFailures+st.TransientStoreErrors == 0 {
				t.Fatal("no fault was injected")
			}
			outs := allOutcomes(t, rt.Imports(), d.Job.Key(), 0)
			if len(outs) != rows {
				t.Fatalf("%d outcomes", len(outs))
			}
			for i, o := range outs {
				if o.Row != i+1 || o.Outcome != importcsv.OutcomeCreated || o.Version != 1 || o.SK != fmt.Sprintf("ORDER#c-%04d", i+1) {
					t.Fatalf("outcome %+v", o)
				}
			}
			svc := rt.Service("order")
			for i := 1; i <= rows; i++ {
				k := core.Key{PK: "ORDER#acme", SK: fmt.Sprintf("ORDER#c-%04d", i)}
				vs, err := svc.ListVersions(bg, k)
				if err != nil || len(vs) != 1 || vs[0].Status != core.StatusFinished {
					t.Fatalf("%s: %d versions (%v), status %v", k.SK, len(vs), err, vs)
				}
			}
			t.Logf("injected %d Lambda failures, %d store failures; %d step invocations for %d batches",
				st.InjectedFailures, st.TransientStoreErrors, st.StepInvocations, d.Files[0].Batches)
		})
	}
}

// TestImportDuplicateKeys: rows of one key in one batch apply in file
// order, the last one wins, and each is accounted for.
func TestImportDuplicateKeys(t *testing.T) {
	for _, mode := range []importcsv.Mode{importcsv.ModeDirect, importcsv.ModeStepFunction} {
		t.Run(string(mode), func(t *testing.T) {
			rt := newRuntime(t, nil, nil)
			d := importFile(t, rt, mode, "dup.csv", "code,name,v\na,first,1\nb,other,1\na,first,1\na,second,2\n")
			want := importcsv.Counts{Total: 4, Created: 2, Updated: 1, Unchanged: 1}
			if d.Job.Counts != want {
				t.Fatalf("counts %+v (%s)", d.Job.Counts, d.Job.Reason)
			}
			var got []string
			for _, o := range allOutcomes(t, rt.Imports(), d.Job.Key(), 0) {
				got = append(got, fmt.Sprintf("%d:%s:v%d", o.Row, o.Outcome, o.Version))
			}
			if strings.Join(got, " ") != "1:created:v1 2:created:v1 3:unchanged:v1 4:updated:v2" {
				t.Fatalf("outcomes %v", got)
			}
			data, err := rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#a"}, true)
			if err != nil || data.Name != "second" || data.Version != 2 {
				t.Fatalf("data %+v %v", data, err)
			}
		})
	}
}
