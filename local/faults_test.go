package local_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// streamWatch records, in delivery order, the sort keys of the command
// stream records the service's Lambda receives (a second handler on the
// command table, beside the command steps). fail, when set, fails a
// record's handling.
type streamWatch struct {
	mu   sync.Mutex
	got  []string
	fail func(sk string, seen int) bool
}

func (w *streamWatch) routes(table string) eventfactory.Registration {
	return func(r *eventfactory.Router) {
		eventfactory.OnDynamoDB(r, table, eventfactory.AllStreamEvents(), func(_ context.Context, rec eventfactory.DynamoDBRecord[map[string]any]) error {
			sk := fmt.Sprint((*rec.NewImage)["sk"])
			w.mu.Lock()
			defer w.mu.Unlock()
			seen := 0
			for _, s := range w.got {
				if s == sk {
					seen++
				}
			}
			w.got = append(w.got, sk)
			if w.fail != nil && w.fail(sk, seen) {
				return errors.New("watch: injected record failure")
			}
			return nil
		})
	}
}

func (w *streamWatch) deliveries() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

// faultRuntime publishes one command for each of n entities with the
// streams paused, so that one batch holds them all, then resumes the
// streams and waits until the runtime is idle. It returns the runtime and
// the versioned sort keys in publication (= stream) order.
func faultRuntime(t *testing.T, n int, w *streamWatch, faults local.Faults) (*local.Runtime, []string) {
	t.Helper()
	ctx := context.Background()
	cfg := core.DefaultConfig()
	rt, err := local.New(ctx, local.Options{Config: cfg, Modules: []string{"order"}, Seed: 11, Faults: faults,
		Routes: []eventfactory.Registration{w.routes(cfg.CommandTable("order"))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	rt.PauseStreams()
	var sks []string
	for i := range n {
		k, _ := core.NewKey("ORDER", "acme", fmt.Sprintf("f%03d", i))
		res, err := rt.Service("order").PublishAsync(ctx, command.Input{PK: k.PK, SK: k.SK, Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		sks = append(sks, res.Command.SK)
	}
	rt.ResumeStreams()
	idle(t, rt)
	return rt, sks
}

func countOf(list []string) map[string]int {
	m := map[string]int{}
	for _, s := range list {
		m[s]++
	}
	return m
}

// TestFaultDuplicatesAreDelivered: a duplicated stream record is delivered
// again, not only counted.
func TestFaultDuplicatesAreDelivered(t *testing.T) {
	var w streamWatch
	rt, sks := faultRuntime(t, 30, &w, local.Faults{DuplicateRate: 0.3})
	got := w.deliveries()
	s := rt.Stats()
	if s.StreamDuplicates == 0 {
		t.Fatal("no duplicate injected")
	}
	if int64(len(got)) != int64(len(sks))+s.StreamDuplicates || s.StreamRecords != int64(len(got)) {
		t.Fatalf("%d deliveries of %d records with %d duplicates (stream records %d)", len(got), len(sks), s.StreamDuplicates, s.StreamRecords)
	}
	counts := countOf(got)
	twice := 0
	for _, sk := range sks {
		switch {
		case counts[sk] == 0:
			t.Errorf("%s never delivered", sk)
		case counts[sk] > 1:
			twice++
		}
	}
	if twice == 0 || len(counts) != len(sks) {
		t.Fatalf("deliveries %q", got)
	}
}

// TestFaultReorderIsReal: a reordered record is delivered after a record
// that follows it in the stream, and still delivered once.
func TestFaultReorderIsReal(t *testing.T) {
	var w streamWatch
	rt, sks := faultRuntime(t, 30, &w, local.Faults{ReorderRate: 0.3})
	got := w.deliveries()
	if s := rt.Stats(); s.StreamReordered == 0 || s.StreamRecords != int64(len(sks)) {
		t.Fatalf("stats %+v", s)
	}
	pos := map[string]int{}
	for i, sk := range sks {
		pos[sk] = i
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if pos[got[i]] < pos[got[i-1]] {
			inversions++
		}
	}
	if inversions == 0 || len(got) != len(sks) || len(countOf(got)) != len(sks) {
		t.Fatalf("deliveries %q: %d inversions, want some, each record once", got, inversions)
	}
}

// TestStreamRedeliversFromFailedRecord: when a record of a batch fails
// (batchItemFailures), the batch is redelivered from that record on; the
// records before it are not delivered again.
func TestStreamRedeliversFromFailedRecord(t *testing.T) {
	var failing string
	w := streamWatch{fail: func(sk string, seen int) bool { return sk == failing && seen == 0 }}
	sk5, _ := core.VersionedSK("ORDER#f005", 1)
	failing = sk5
	rt, sks := faultRuntime(t, 10, &w, local.Faults{})
	counts := countOf(w.deliveries())
	for _, sk := range sks {
		want := 1
		if sk == failing {
			want = 2
		}
		if counts[sk] != want {
			t.Errorf("%s delivered %d times, want %d", sk, counts[sk], want)
		}
	}
	if s := rt.Stats(); s.StreamRetries != 1 || s.StreamInvocations != 2 || s.ExecutionsSucceeded != 10 {
		t.Fatalf("stats %+v", s)
	}
}
