package command_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// applyFaultStore is the item store of the command services of
// TestOrderingUnderFaults. It refuses every apply transaction of the
// doomed command rows, as a step that times out however often Step
// Functions retries it, and records the data row each successful apply
// wrote, by command row.
type applyFaultStore struct {
	core.ItemStore
	dataTable, commandTable string
	// doomed holds the sort keys of the doomed command rows; read only
	// once the runtime runs.
	doomed map[string]bool

	mu      sync.Mutex
	refused map[string]int         // command sk → apply transactions refused
	written map[string][]core.Data // command sk → data rows its applies wrote
}

// errInjectedApplyTimeout is the failure of a doomed command's apply.
var errInjectedApplyTimeout = errors.New("injected: the apply step timed out")

func (s *applyFaultStore) Transact(ctx context.Context, ops []core.TxOp) error {
	var applied string // the command row ops mark applied
	var data core.Item // the data row ops write
	for _, op := range ops {
		if op.Table == s.commandTable && op.Update != nil {
			if st, ok := op.Update.Set["status"].(*types.AttributeValueMemberS); ok && st.Value == string(core.StatusApplied) {
				applied = op.Key.SK
			}
		}
		if op.Table == s.dataTable && op.Put != nil {
			data = op.Put
		}
	}
	if applied != "" && s.doomed[applied] {
		s.mu.Lock()
		s.refused[applied]++
		s.mu.Unlock()
		// A name Step Functions retries: the step fails beyond its retries.
		return eventfactory.Named("Sandbox.Timedout", fmt.Errorf("%w (%s)", errInjectedApplyTimeout, applied))
	}
	if err := s.ItemStore.Transact(ctx, ops); err != nil {
		return err
	}
	if applied != "" && data != nil {
		var d core.Data
		if err := core.UnmarshalItem(data, &d); err != nil {
			return err
		}
		s.mu.Lock()
		s.written[applied] = append(s.written[applied], d)
		s.mu.Unlock()
	}
	return nil
}

// faultApp wires the order module's service over fs, and the command
// flow's routes, for local.Options.App.
func faultApp(fs *applyFaultStore) fx.Option {
	discard := slog.New(slog.DiscardHandler)
	return fx.Provide(
		func(cfg core.Config, st core.ItemStore, obj core.ObjectStore, tp core.Topic) (map[string]*command.Service, error) {
			fs.ItemStore = st
			fs.dataTable, fs.commandTable = cfg.DataTable("order"), cfg.CommandTable("order")
			return command.NewServices(command.Options{Config: cfg, Store: fs, Objects: obj, Topic: tp,
				Source: "local", Logger: discard}, nil, "order")
		},
		eventfactory.AsRegistration(func(s map[string]*command.Service, wf core.Workflows, cfg core.Config) (eventfactory.Registration, error) {
			return command.Steps(command.StepsOptions{Services: s, Workflows: wf,
				StateMachineARN: cfg.CommandStateMachineARN, Logger: discard})
		}),
	)
}

// faultVersions is the number of versions of every entity of
// TestOrderingUnderFaults.
const faultVersions = 20

// doomedVersion chooses the versions that fail for good in the permanent
// mode of TestOrderingUnderFaults: about one in twelve, and on purpose
// the first version, the last one (no successor waits for it) and a run
// of three consecutive ones of some entities.
func doomedVersion(e, v int) bool {
	switch {
	case e%10 == 1 && v == 1,
		e%10 == 2 && v == faultVersions,
		e%10 == 3 && v >= 5 && v <= 7:
		return true
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%d", e, v)
	return h.Sum32()%12 == 0
}

func faultKey(e int) core.Key { return orderKey(fmt.Sprintf("e%05d", e)) }

// orderingUnderFaults publishes faultVersions versions of entities from
// concurrent publishers while the runtime duplicates and reorders stream
// deliveries and fails Lambda invocations, and the versions doomed (nil:
// none) fail their apply step beyond its retries. Every entity must end
// with the data of its last version that did not fail, history must hold
// the data row of each earlier applied version exactly, and the commands
// must be finished, or failed when doomed.
func orderingUnderFaults(t *testing.T, entities int, doomed func(e, v int) bool, waitTimeout int) {
	bg := context.Background()
	const publishers = 8
	fs := &applyFaultStore{doomed: map[string]bool{}, refused: map[string]int{}, written: map[string][]core.Data{}}
	nDoomed := 0
	for e := range entities {
		for v := 1; v <= faultVersions; v++ {
			if doomed != nil && doomed(e, v) {
				sk, _ := core.VersionedSK(faultKey(e).SK, int64(v))
				fs.doomed[sk] = true
				nDoomed++
			}
		}
	}
	rt := newRuntime(t, local.Options{App: faultApp(fs), WaitTimeoutSeconds: waitTimeout,
		Faults: local.Faults{DuplicateRate: 0.10, ReorderRate: 0.10, LambdaFailureRate: 0.05}})
	svc := rt.Service("order")
	start, virtualStart := time.Now(), rt.Clock.Now()
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int
			for e := p; e < entities; e += publishers {
				mine = append(mine, e)
			}
			for v := 1; v <= faultVersions; v++ {
				for _, e := range mine {
					k := faultKey(e)
					_, err := svc.PublishAsync(bg, command.Input{PK: k.PK, SK: k.SK, Version: int64(v - 1), Name: fmt.Sprintf("e%d v%d", e, v),
						Attributes: core.Attributes{"v": v, "e": e}})
					if err != nil {
						t.Errorf("publish e%d v%d: %v", e, v, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	wctx, cancel := context.WithTimeout(bg, 5*time.Minute)
	idleErr := rt.WaitIdle(wctx)
	cancel()
	stuck := len(rt.Running())
	lost, historyOK := 0, true
	fs.mu.Lock()
	defer fs.mu.Unlock()
	minRefused := 0
	for e := range entities {
		k := faultKey(e)
		var applied []int64 // the versions that did not fail, in order
		for v := 1; v <= faultVersions; v++ {
			sk, _ := core.VersionedSK(k.SK, int64(v))
			if fs.doomed[sk] {
				if n := fs.refused[sk]; minRefused == 0 || n < minRefused {
					minRefused = n
				}
				if len(fs.written[sk]) != 0 {
					t.Errorf("entity %d: doomed v%d was applied: %+v", e, v, fs.written[sk])
				}
				continue
			}
			applied = append(applied, int64(v))
			if len(fs.written[sk]) != 1 {
				lost++
				t.Errorf("entity %d v%d: applied %d times, want once", e, v, len(fs.written[sk]))
			}
		}
		// written returns the data row version v of entity e had.
		written := func(v int64) core.Data {
			sk, _ := core.VersionedSK(k.SK, v)
			if w := fs.written[sk]; len(w) > 0 {
				return w[0]
			}
			return core.Data{}
		}
		cmds, err := svc.ListVersions(bg, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			want := core.StatusFinished
			if fs.doomed[c.SK] {
				want = core.StatusFailed
			}
			// A doomed command's cause is its last attempt's error: the
			// refused apply, or a fault the runtime injected in that attempt.
			if c.Status != want || (want == core.StatusFailed && !strings.Contains(c.Error, "injected")) {
				lost++
				t.Errorf("entity %d v%d: status %s %q, want %s", e, c.Version, c.Status, c.Error, want)
			}
		}
		d, err := svc.GetData(bg, k, true)
		if len(applied) == 0 {
			if !errors.Is(err, core.ErrNotFound) {
				t.Errorf("entity %d: every version failed, yet data %+v %v", e, d, err)
			}
			continue
		}
		last := applied[len(applied)-1]
		if err != nil || !reflect.DeepEqual(*d, written(last)) || fmt.Sprint(d.Attributes["v"]) != fmt.Sprint(last) || fmt.Sprint(d.Attributes["e"]) != fmt.Sprint(e) {
			lost++
			t.Errorf("entity %d: data %+v %v, want the data row of v%d %+v", e, d, err, last, written(last))
			continue
		}
		hist, err := svc.History(bg, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != len(applied)-1 {
			historyOK = false
			t.Errorf("entity %d: %d history rows, want %d (versions %v)", e, len(hist), len(applied)-1, applied[:len(applied)-1])
			continue
		}
		for i, h := range hist {
			v := applied[i]
			sk, _ := core.VersionedSK(k.SK, v)
			if h.Version != v || h.SK != sk || !reflect.DeepEqual(sansKeyTTL(h), sansKeyTTL(written(v))) {
				historyOK = false
				t.Errorf("entity %d: history row %d is %+v, want the data row of v%d %+v", e, i, h, v, written(v))
			}
		}
	}
	s := rt.Stats()
	refused := 0
	for _, n := range fs.refused {
		refused += n
	}
	t.Logf("entities=%d versions=%d doomed=%d refused_applies=%d (min %d per doomed command) duplicates=%d reordered=%d failures=%d lost=%d stuck=%d history_ok=%v (executions=%d succeeded=%d failed=%d transitions=%d lambda=%d elapsed=%s virtual=%s)",
		entities, faultVersions, nDoomed, refused, minRefused, s.StreamDuplicates, s.StreamReordered, s.InjectedFailures, lost, stuck, historyOK,
		s.ExecutionsStarted, s.ExecutionsSucceeded, s.ExecutionsFailed, s.Transitions, s.LambdaInvocations, time.Since(start).Round(time.Millisecond),
		rt.Clock.Now().Sub(virtualStart).Round(time.Second))
	if idleErr != nil || stuck > 0 || lost > 0 || !historyOK {
		t.Fatalf("idle: %v, stuck %d, lost %d, history ok %v", idleErr, stuck, lost, historyOK)
	}
	total := int64(entities * faultVersions)
	if s.ExecutionsStarted != total || s.ExecutionsFailed != int64(nDoomed) || s.ExecutionsSucceeded != total-int64(nDoomed) {
		t.Fatalf("executions started %d succeeded %d failed %d; want %d, %d and %d (doomed)",
			s.ExecutionsStarted, s.ExecutionsSucceeded, s.ExecutionsFailed, total, total-int64(nDoomed), nDoomed)
	}
	if s.StreamDuplicates == 0 || s.InjectedFailures == 0 {
		t.Fatalf("duplicates %d, injected failures %d: the faults did not happen", s.StreamDuplicates, s.InjectedFailures)
	}
	// Every doomed apply was retried before the command failed.
	if nDoomed > 0 && minRefused < 2 {
		t.Fatalf("a doomed command's apply was tried %d times: it failed without its retries", minRefused)
	}
}
