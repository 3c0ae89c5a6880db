package importcsv_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/importcsv"
	"github.com/stepcqrs/stepcqrs/local"
)

// largeRows is the size of TestImportLarge: STEPCQRS_IMPORT_ROWS, else
// 100000, or 2000 under the race detector or -short (CI runs the race
// detector, under which the embedded runtime imports some 150 rows/s
// instead of 4000: the full size would take ten minutes there).
func largeRows(t *testing.T) int {
	if s := os.Getenv("STEPCQRS_IMPORT_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("STEPCQRS_IMPORT_ROWS=%q is not a positive number", s)
		}
		return n
	}
	if raceEnabled || testing.Short() {
		t.Logf("race detector or -short: 2000 rows (STEPCQRS_IMPORT_ROWS sets the size; the default is 100000 without them)")
		return 2000
	}
	return 100000
}

// ordersFile is a CSV of n orders.
func ordersFile(n int) []byte {
	var b strings.Builder
	b.Grow(n * 64)
	b.WriteString("code,name,customer,total,city\n")
	cities := []string{"Paris", "Lyon", "Berlin", "Madrid", "Rome"}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "o-%07d,order %d,customer-%d,%d.%02d,%s\n", i, i, i%997, i%500, i%100, cities[i%len(cities)])
	}
	return []byte(b.String())
}

// heapPeak samples the heap until stop is called and returns the peak.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// storeBytes is the size of every item of the runtime's store, as
// DynamoDB counts it.
func storeBytes(rt *local.Runtime) int64 {
	var n int64
	for _, t := range rt.Store.Tables() {
		for _, it := range rt.Store.Items(t) {
			n += int64(core.ItemSize(it))
		}
	}
	return n
}

// TestImportLarge imports a large file in step-function mode on the
// embedded runtime, checks that every row is accounted for, then imports
// it again and checks that every row is unchanged.
func TestImportLarge(t *testing.T) {
	rows := largeRows(t)
	// A soft memory limit, as GOMEMLIMIT sets it for a Lambda of 1 GB:
	// without one, GOGC=100 lets the heap grow to twice the live heap
	// before collecting, and the live heap here is mostly the embedded
	// store's rows (some 4 KB a row: a command and a data row).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(960 << 20))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	rt := newRuntime(t, nil, func(o *local.Options) { o.MaxHistories = 4 })
	body := ordersFile(rows)
	if err := rt.Objects.Put(bg, rt.Config.Bucket(), "uploads/large.csv", body, "text/csv"); err != nil {
		t.Fatal(err)
	}
	svc := rt.Imports()
	run := func() (*importcsv.Detail, local.Stats, time.Duration, uint64) {
		before := rt.Stats()
		stop := heapPeak()
		start := time.Now()
		job, err := svc.Import(bg, importcsv.JobInput{TenantCode: "acme", Module: "order", Mode: importcsv.ModeStepFunction, MaxConcurrency: largeConcurrency(),
			Object: &importcsv.Source{Bucket: rt.Config.Bucket(), Key: "uploads/large.csv"}})
		if err != nil {
			t.Fatal(err)
		}
		waitIdle(t, rt)
		took := time.Since(start)
		peak := stop()
		d, err := svc.Get(bg, job.Key())
		if err != nil {
			t.Fatal(err)
		}
		return d, rt.Stats().Sub(before), took, peak
	}
	d, st, took, peak := run()
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	if p := os.Getenv("STEPCQRS_IMPORT_HEAPPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	c := d.Job.Counts
	accounted := c.Accounted()
	batches := d.Files[0].Batches
	// Step Functions bills the transitions of the parent execution and of
	// every child execution of the Distributed Map (one state each: a
	// batch's ApplyBatch). The runtime counts the parent's.
	transitions := st.Transitions + batches
	t.Logf("rows=%d created=%d updated=%d unchanged=%d failed=%d accounted=%d lost=%d transitions_per_1000_rows=%.1f rows_per_s=%.0f peak_heap_mb=%.0f store_mb=%.1f",
		rows, c.Created, c.Updated, c.Unchanged, c.Failed, accounted, int64(rows)-accounted,
		float64(transitions)*1000/float64(rows), float64(rows)/took.Seconds(),
		float64(peak-min(peak, base.HeapAlloc))/(1<<20), float64(storeBytes(rt))/(1<<20))
	t.Logf("status=%s batches=%d lambda_invocations=%d store_calls_per_row=%.2f took=%s live_heap_after_mb=%.0f (the runtime's store, objects and executions; %s)",
		d.Job.Status, batches, st.LambdaInvocations, float64(st.StoreCalls)/float64(rows), took.Round(time.Millisecond),
		float64(live.HeapAlloc-min(live.HeapAlloc, base.HeapAlloc))/(1<<20), d.Job.Reason)
	if d.Job.Status != importcsv.StatusCompleted || c.Total != int64(rows) || c.Created != int64(rows) || accounted != int64(rows) {
		t.Fatalf("job %s %+v (%s)", d.Job.Status, c, d.Job.Reason)
	}
	if per := float64(transitions) * 1000 / float64(rows); per > 40 {
		t.Errorf("%.1f transitions per 1000 rows, want at most 40", per)
	}
	if peak > 1<<30 {
		t.Errorf("peak heap %d MB, want under 1 GB", peak>>20)
	}
	for _, i := range []int{1, rows / 2, rows} {
		code := fmt.Sprintf("o-%07d", i)
		data, err := rt.Service("order").GetData(bg, core.Key{PK: "ORDER#acme", SK: "ORDER#" + code}, true)
		if err != nil {
			t.Fatal(err)
		}
		if data.Version != 1 || data.Name != fmt.Sprintf("order %d", i) || data.Attributes["customer"] != fmt.Sprintf("customer-%d", i%997) {
			t.Fatalf("data of %s: %+v", code, data)
		}
	}
	d2, st2, took2, _ := run()
	t.Logf("reimport unchanged=%d (rows=%d) failed=%d rows_per_s=%.0f store_calls_per_row=%.2f",
		d2.Job.Counts.Unchanged, rows, d2.Job.Counts.Failed, float64(rows)/took2.Seconds(), float64(st2.StoreCalls)/float64(rows))
	if d2.Job.Counts.Unchanged != int64(rows) || d2.Job.Counts.Total != int64(rows) {
		t.Fatalf("re-import: %+v (%s)", d2.Job.Counts, d2.Job.Reason)
	}
}

// largeConcurrency is the Map's MaxConcurrency of TestImportLarge
// (STEPCQRS_IMPORT_CONCURRENCY, else the default).
func largeConcurrency() int {
	n, _ := strconv.Atoi(os.Getenv("STEPCQRS_IMPORT_CONCURRENCY"))
	return n
}
