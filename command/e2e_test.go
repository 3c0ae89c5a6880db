package command_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/local"
)

// End-to-end tests of the command flow on the embedded runtime: the
// exported state machine on the interpreter, stream records into the
// dispatcher, the step handlers of steps.go.

func newRuntime(t testing.TB, o local.Options) *local.Runtime {
	t.Helper()
	if o.Modules == nil {
		o.Modules = []string{"order"}
	}
	rt, err := local.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

func waitIdle(t testing.TB, rt *local.Runtime, d time.Duration) {
	t.Helper()
	wctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		t.Fatalf("%v; still running: %d", err, len(rt.Running()))
	}
}

func orderKey(code string) core.Key {
	k, err := core.NewKey("ORDER", "acme", code)
	if err != nil {
		panic(err)
	}
	return k
}

func mustPublish(t testing.TB, svc *command.Service, in command.Input) *core.Command {
	t.Helper()
	res, err := svc.PublishAsync(context.Background(), in)
	if err != nil {
		t.Fatalf("publish %s v%d: %v", in.SK, in.Version, err)
	}
	return res.Command
}

func historyVersions(t testing.TB, svc *command.Service, k core.Key) []int64 {
	t.Helper()
	h, err := svc.History(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(h))
	for i, d := range h {
		out[i] = d.Version
	}
	return out
}

func TestE2ECreateUpdateDelete(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{})
	svc := rt.Service("order")
	k := orderKey("o1")
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "order 1", Attributes: core.Attributes{"qty": 1, "lines": []any{"a"}}})
	waitIdle(t, rt, 10*time.Second)
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "order 1", Attributes: core.Attributes{"qty": 2, "lines": []any{"a"}}})
	name := "order one"
	if _, err := svc.PublishPartialUpdateAsync(bg, command.PartialInput{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: &name,
		Attributes: map[string]any{"note": "rush"}}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt, 10*time.Second)
	del := true
	if _, err := svc.PublishPartialUpdateAsync(bg, command.PartialInput{PK: k.PK, SK: k.SK, Version: 3, IsDeleted: &del}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, rt, 10*time.Second)
	d, err := svc.GetData(bg, k, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 4 || !d.IsDeleted || d.Name != "order one" || fmt.Sprint(d.Attributes["qty"]) != "2" || d.Attributes["note"] != "rush" {
		t.Fatalf("data = %+v", d)
	}
	if got := historyVersions(t, svc, k); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("history versions %v", got)
	}
	for v := int64(1); v <= 4; v++ {
		c, err := svc.GetCommand(bg, k, v)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != core.StatusFinished {
			t.Errorf("v%d status %s", v, c.Status)
		}
	}
	if n := len(rt.Topics.Published(rt.Config.NotificationTopic())); n != 4 {
		t.Errorf("%d notifications, want 4", n)
	}
	if s := rt.Stats(); s.ExecutionsSucceeded != 4 || s.ExecutionsFailed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestE2EOutOfOrder starts the executions of three versions in reverse
// order: v3 and v2 wait with task tokens, v1 applies and resumes v2, which
// resumes v3. The stream records delivered afterwards find the executions
// by name and start nothing.
func TestE2EOutOfOrder(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{})
	svc := rt.Service("order")
	k := orderKey("ooo")
	rt.PauseStreams()
	var cmds []*core.Command
	for v := int64(0); v < 3; v++ {
		cmds = append(cmds, mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: v, Name: "x", Attributes: core.Attributes{"v": v + 1}}))
	}
	arns := make([]string, 3)
	for i := 2; i >= 0; i-- {
		c := cmds[i]
		in := fmt.Sprintf(`{"module":"order","pk":%q,"sk":%q}`, c.PK, c.SK)
		arn, err := rt.Workflows.StartExecution(bg, rt.Config.CommandStateMachineARN, command.ExecutionName("order", c.PK, c.SK), []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		arns[i] = arn
		if i > 0 {
			// Let it reach its Wait before the predecessor starts.
			deadline := time.Now().Add(5 * time.Second)
			for {
				got, _ := svc.GetCommand(bg, k, c.Version)
				if got.Status == core.StatusWaiting || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	rt.ResumeStreams()
	waitIdle(t, rt, 10*time.Second)
	d, err := svc.GetData(bg, k, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 {
		t.Fatalf("data version %d", d.Version)
	}
	if got := historyVersions(t, svc, k); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("history %v", got)
	}
	for i, arn := range arns {
		states, err := rt.Workflows.StatesEntered(arn)
		if err != nil {
			t.Fatal(err)
		}
		want := "[Apply Route Done]"
		if i > 0 {
			want = "[Apply Route Wait Apply Route Done]"
		}
		if fmt.Sprint(states) != want {
			t.Errorf("v%d states %v, want %s", i+1, states, want)
		}
	}
	if n := len(rt.Workflows.Executions("")); n != 3 {
		t.Errorf("%d executions, want 3", n)
	}
}

func TestE2EConflictingWriters(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{})
	svc := rt.Service("order")
	k := orderKey("race")
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "base"})
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.PublishAsync(bg, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: fmt.Sprintf("writer %d", i)})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, core.ErrVersionConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waitIdle(t, rt, 10*time.Second)
	if wins.Load() != 1 || conflicts.Load() != 15 {
		t.Fatalf("wins %d conflicts %d", wins.Load(), conflicts.Load())
	}
	d, err := svc.GetData(bg, k, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 2 || !strings.HasPrefix(d.Name, "writer ") {
		t.Fatalf("data %+v", d)
	}
}

func TestE2ERedelivery(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{Seed: 7, Faults: local.Faults{DuplicateRate: 0.5, ReorderRate: 0.3}})
	svc := rt.Service("order")
	const n = 30
	for i := range n {
		k := orderKey(fmt.Sprintf("r%d", i))
		mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "x"})
		mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "y"})
	}
	waitIdle(t, rt, 20*time.Second)
	s := rt.Stats()
	if s.StreamDuplicates == 0 {
		t.Fatal("no duplicate delivered")
	}
	if s.ExecutionsStarted != 2*n {
		t.Fatalf("%d executions for %d commands (%d duplicates)", s.ExecutionsStarted, 2*n, s.StreamDuplicates)
	}
	for i := range n {
		d, err := svc.GetData(bg, orderKey(fmt.Sprintf("r%d", i)), true)
		if err != nil || d.Version != 2 || d.Name != "y" {
			t.Fatalf("entity %d: %+v %v", i, d, err)
		}
	}
}

func TestE2ELargeAttributes(t *testing.T) {
	bg := context.Background()
	cfg := core.Config{Env: "test", AppName: "shop", AttributeOffloadBytes: 1024}
	rt := newRuntime(t, local.Options{Config: cfg})
	svc := rt.Service("order")
	k := orderKey("big")
	big := strings.Repeat("x", 50_000)
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "big", Attributes: core.Attributes{"blob": big}})
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "big", Attributes: core.Attributes{"blob": big + "y"}})
	waitIdle(t, rt, 10*time.Second)
	d, err := svc.GetData(bg, k, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 2 || d.Attributes["blob"] != big+"y" {
		t.Fatalf("data v%d, blob of %d bytes", d.Version, len(fmt.Sprint(d.Attributes["blob"])))
	}
	objs, err := rt.Objects.List(bg, rt.Config.Bucket(), "")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no offloaded object: %v", err)
	}
}

// flakyHandler fails its first failures calls of every command, or always.
type flakyHandler struct {
	name     string
	failures int
	always   func(*core.Command) bool
	mu       sync.Mutex
	calls    map[string]int
	applied  map[string]bool
}

func (h *flakyHandler) Name() string { return h.name }

func (h *flakyHandler) Up(_ context.Context, c *core.Command) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls[c.SK]++
	if h.always != nil && h.always(c) {
		return errors.New("read model rejects this command")
	}
	if h.calls[c.SK] <= h.failures {
		return fmt.Errorf("transient read-model failure %d", h.calls[c.SK])
	}
	h.applied[c.SK] = true
	return nil
}

func (h *flakyHandler) Down(context.Context, *core.Command) error { return nil }

func TestE2ESyncHandlerFailureAndRetry(t *testing.T) {
	bg := context.Background()
	h := &flakyHandler{name: "sql", failures: 2, calls: map[string]int{}, applied: map[string]bool{},
		always: func(c *core.Command) bool { return c.Name == "poison" }}
	rt := newRuntime(t, local.Options{Registry: command.NewRegistry().Register("order", h)})
	svc := rt.Service("order")
	k := orderKey("sync")
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "ok"})
	waitIdle(t, rt, 10*time.Second)
	c1, _ := svc.GetCommand(bg, k, 1)
	if c1.Status != core.StatusFinished || !h.applied[c1.SK] || h.calls[c1.SK] != 3 {
		t.Fatalf("v1 status %s, handler calls %d", c1.Status, h.calls[c1.SK])
	}
	// A command whose handler always fails is marked failed; its
	// successor is not blocked.
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "poison"})
	mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 2, Name: "after"})
	waitIdle(t, rt, 10*time.Second)
	c2, _ := svc.GetCommand(bg, k, 2)
	c3, _ := svc.GetCommand(bg, k, 3)
	if c2.Status != core.StatusFailed || c3.Status != core.StatusFinished {
		t.Fatalf("v2 %s (%s), v3 %s", c2.Status, c2.Error, c3.Status)
	}
	d, _ := svc.GetData(bg, k, true)
	if d.Version != 3 || d.Name != "after" {
		t.Fatalf("data %+v", d)
	}
	if s := rt.Stats(); s.ExecutionsFailed != 1 || s.ExecutionsSucceeded != 2 {
		t.Errorf("executions: %+v", s)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestOrderingUnderFaults publishes many versions of many entities from
// concurrent publishers while the runtime duplicates and reorders stream
// deliveries and fails Lambda invocations. In the permanent mode some
// versions also fail their apply step beyond its retries (the first, the
// last, runs of several, and about one in twelve more), so the chains must
// skip them. STEPCQRS_FAULT_SCALE multiplies the number of entities.
func TestOrderingUnderFaults(t *testing.T) {
	scale := envInt("STEPCQRS_FAULT_SCALE", 1)
	for _, mode := range []struct {
		name     string
		entities int
		doomed   func(e, v int) bool
		// waitTimeout is the Wait state's timeout in seconds (0: the
		// default, 300). The virtual clock moves only at quiescence, so
		// the retries of the doomed applies (up to a minute of backoff
		// each) do not time out the waits of chains whose predecessor is
		// still progressing (on a clock that moved at every sleep, 10 of
		// 40 runs gave up a wait; they needed a day per wait).
		waitTimeout int
	}{
		{name: "transient", entities: 200 * scale},
		{name: "permanent", entities: 100 * scale, doomed: doomedVersion},
	} {
		t.Run(mode.name, func(t *testing.T) {
			entities := mode.entities
			if testing.Short() {
				entities = 40
			}
			orderingUnderFaults(t, entities, mode.doomed, mode.waitTimeout)
		})
	}
}

type nopHandler struct{}

func (nopHandler) Name() string                              { return "noop" }
func (nopHandler) Up(context.Context, *core.Command) error   { return nil }
func (nopHandler) Down(context.Context, *core.Command) error { return nil }

// BenchmarkCommandFlow measures the command flow on the embedded runtime:
// the default path (no wait, built-in projection only), with one data-sync
// handler, and for a command that waits for its predecessor.
func BenchmarkCommandFlow(b *testing.B) {
	bg := context.Background()
	report := func(b *testing.B, s local.Stats, n int, d time.Duration) {
		b.ReportMetric(float64(s.Transitions)/float64(n), "transitions/op")
		b.ReportMetric(float64(s.StepInvocations)/float64(n), "lambda-invocations/op")
		b.ReportMetric(float64(s.StreamInvocations)/float64(n), "stream-invocations/op")
		b.ReportMetric(float64(s.StoreCalls)/float64(n), "store-calls/op")
		b.ReportMetric(float64(n)/d.Seconds(), "commands/s")
	}
	publishAll := func(b *testing.B, svc *command.Service, prefix string, n int, version int64) {
		var wg sync.WaitGroup
		const workers = 4
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					k := orderKey(fmt.Sprintf("%s%d", prefix, i))
					if _, err := svc.PublishAsync(bg, command.Input{PK: k.PK, SK: k.SK, Version: version, Name: "n", Attributes: core.Attributes{"i": i, "after": version}}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run := func(b *testing.B, o local.Options) {
		rt := newRuntime(b, o)
		svc := rt.Service("order")
		b.ResetTimer()
		start := time.Now()
		before := rt.Stats()
		publishAll(b, svc, "b", b.N, core.VersionNew)
		waitIdle(b, rt, 10*time.Minute)
		b.StopTimer()
		report(b, rt.Stats().Sub(before), b.N, time.Since(start))
	}
	b.Run("default", func(b *testing.B) { run(b, local.Options{}) })
	b.Run("sync-handler", func(b *testing.B) {
		run(b, local.Options{Registry: command.NewRegistry().Register("order", nopHandler{})})
	})
	b.Run("wait", func(b *testing.B) {
		// Each op is a version 2 whose execution starts before version 1
		// is applied: Apply, Route, Wait, then resumed by version 1's
		// finish, Apply, Route, Done. Transitions and invocations are
		// version 2's (from its execution history); store calls are those
		// of both versions.
		rt := newRuntime(b, local.Options{MaxHistories: -1}) // reads every history below
		svc := rt.Service("order")
		rt.PauseStreams()
		publishAll(b, svc, "w", b.N, core.VersionNew)
		publishAll(b, svc, "w", b.N, 1)
		b.ResetTimer()
		start := time.Now()
		s0 := rt.Stats()
		arns := make([]string, b.N)
		for i := range b.N {
			k := orderKey(fmt.Sprintf("w%d", i))
			sk, _ := core.VersionedSK(k.SK, 2)
			in := fmt.Sprintf(`{"module":"order","pk":%q,"sk":%q}`, k.PK, sk)
			arn, err := rt.Workflows.StartExecution(bg, rt.Config.CommandStateMachineARN, command.ExecutionName("order", k.PK, sk), []byte(in))
			if err != nil {
				b.Fatal(err)
			}
			arns[i] = arn
		}
		// Let every version 2 reach its Wait (Apply + Wait invoked).
		for rt.Stats().StepInvocations-s0.StepInvocations < int64(2*b.N) {
			time.Sleep(100 * time.Microsecond)
		}
		rt.ResumeStreams()
		waitIdle(b, rt, 10*time.Minute)
		b.StopTimer()
		var v2 local.Stats
		for _, arn := range arns {
			h, err := rt.Workflows.History(arn)
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range h {
				switch {
				case strings.HasSuffix(string(ev.Type), "StateEntered"):
					v2.Transitions++
				case ev.Type == "TaskScheduled" || ev.Type == "LambdaFunctionScheduled":
					v2.StepInvocations++
				}
			}
		}
		v2.StoreCalls = rt.Stats().Sub(s0).StoreCalls
		report(b, v2, b.N, time.Since(start))
	})
}

// TestE2EWaitTimeout lets a waiting command time out (virtual clock)
// while its predecessor's stream record is held back, so the
// predecessor's execution never started: the timed-out Apply re-starts it
// under its deterministic name, it applies and resumes the waiter. The
// record delivered afterwards starts nothing.
func TestE2EWaitTimeout(t *testing.T) {
	bg := context.Background()
	rt := newRuntime(t, local.Options{WaitTimeoutSeconds: 60})
	svc := rt.Service("order")
	k := orderKey("timeout")
	rt.PauseStreams()
	c1 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Name: "a"})
	c2 := mustPublish(t, svc, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "b"})
	in := fmt.Sprintf(`{"module":"order","pk":%q,"sk":%q}`, c2.PK, c2.SK)
	arn, err := rt.Workflows.StartExecution(bg, rt.Config.CommandStateMachineARN, command.ExecutionName("order", c2.PK, c2.SK), []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		states, _ := rt.Workflows.StatesEntered(arn)
		got, _ := svc.GetCommand(bg, k, 2)
		if len(states) >= 3 && got.Status == core.StatusWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %v, status %s", states, got.Status)
		}
		time.Sleep(time.Millisecond)
	}
	if err := rt.AdvanceClock(61 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The held records keep the runtime busy: wait for the executions.
	wctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	if ex, err := rt.Workflows.Wait(wctx, arn); err != nil || ex.Status != core.ExecutionSucceeded {
		t.Fatalf("v2 execution %+v %v", ex, err)
	}
	if ex, err := rt.Workflows.Wait(wctx, executionARN(rt, c1)); err != nil || ex.Status != core.ExecutionSucceeded {
		t.Fatalf("v1 execution %+v %v", ex, err)
	}
	states, _ := rt.Workflows.StatesEntered(arn)
	if want := "[Apply Route Wait Apply Route Wait Apply Route Done]"; fmt.Sprint(states) != want {
		t.Fatalf("states %v, want %s", states, want)
	}
	if d, _ := svc.GetData(bg, k, true); d == nil || d.Version != 2 {
		t.Fatalf("data %+v", d)
	}
	if s := rt.Stats(); s.ExecutionsStarted != 2 {
		t.Fatalf("%d executions started, want 2 (v2 and the re-started v1)", s.ExecutionsStarted)
	}
	rt.ResumeStreams()
	waitIdle(t, rt, 10*time.Second)
	if s := rt.Stats(); s.ExecutionsStarted != 2 {
		t.Fatalf("%d executions started after the held records were delivered, want 2", s.ExecutionsStarted)
	}
}

// executionARN is the ARN of the command execution of c.
func executionARN(rt *local.Runtime, c *core.Command) string {
	return strings.Replace(rt.Config.CommandStateMachineARN, ":stateMachine:", ":execution:", 1) + ":" +
		command.ExecutionName("order", c.PK, c.SK)
}
