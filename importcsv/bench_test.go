package importcsv_test

import (
	"fmt"
	"testing"

	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// BenchmarkImport imports b.N rows, in each mode, and reports rows/s and
// the store calls per row (a created row costs one PublishSync: a read of
// the data, the transaction of command and data row, the finish; the
// batch shares a read of the data rows and the write of its record).
func BenchmarkImport(b *testing.B) {
	for _, mode := range []importcsv.Mode{importcsv.ModeDirect, importcsv.ModeStepFunction} {
		b.Run(string(mode), func(b *testing.B) {
			rt := newRuntime(b, nil, func(o *local.Options) { o.MaxHistories = 4 })
			body := ordersFile(b.N)
			before := rt.Stats()
			b.ResetTimer()
			d := importFile(b, rt, mode, fmt.Sprintf("bench-%d.csv", b.N), string(body))
			b.StopTimer()
			if d.Job.Counts.Created != int64(b.N) {
				b.Fatalf("job %s %+v (%s)", d.Job.Status, d.Job.Counts, d.Job.Reason)
			}
			st := rt.Stats().Sub(before)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(st.StoreCalls)/float64(b.N), "store-calls/row")
			b.ReportMetric(0, "ns/op")
		})
	}
}
