package command_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/command"
	"github.com/stepcqrs/stepcqrs/core"
)

// tokens stands in for Step Functions' task tokens: one channel per token.
type tokens struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func (tk *tokens) register(tok string) chan struct{} {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	c := make(chan struct{}, 1)
	tk.ch[tok] = c
	return c
}

func (tk *tokens) send(tok string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if c, ok := tk.ch[tok]; ok {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// execPlan is what one execution of TestConcurrentExecutionsNeverStall does,
// drawn from the test's seeded source before the goroutines start.
type execPlan struct {
	// doomed executions fail the command, after trying to apply it when
	// applyFirst.
	doomed, applyFirst bool
	// duplicated: a second execution of the same command runs beside.
	duplicated bool
}

// execute plays one command state machine execution: apply, wait with a
// token when told to, sync, finish; or fail when doomed. Only duplicated
// executions of one command (which deterministic execution names prevent
// in production) may need the wait state's timeout: the command row keeps
// one token, so the other execution is woken by its timeout and re-applies.
// For any other execution a timeout is a lost wake-up and fails the test.
// applied reports that a doomed execution applied its command before
// failing it (it then stays in the data row, as the failure policy says).
func execute(e *env, tk *tokens, k core.Key, p execPlan, exec string) (applied bool, err error) {
	if p.doomed {
		if p.applyFirst {
			r, err := e.svc.Apply(ctx, k)
			if err != nil {
				return false, err
			}
			applied = r.Outcome == command.OutcomeApplied
		}
		res, err := e.svc.Fail(ctx, k, errors.New("doomed"))
		for _, t := range res.Tokens {
			tk.send(t)
		}
		return applied, err
	}
	for attempt := 0; ; attempt++ {
		r, err := e.svc.Apply(ctx, k)
		if err != nil {
			return false, err
		}
		switch r.Outcome {
		case command.OutcomeWait:
			tok := fmt.Sprintf("%s/%s/%d", k.SK, exec, attempt)
			c := tk.register(tok)
			w, err := e.svc.RegisterWaitToken(ctx, k, tok)
			if err != nil {
				return false, err
			}
			if w.Resume {
				continue
			}
			timeout := 5 * time.Second
			if p.duplicated {
				timeout = 50 * time.Millisecond
			}
			select {
			case <-c:
			case <-time.After(timeout):
				if !p.duplicated {
					return false, fmt.Errorf("%s waits for ever on version %d", k.SK, w.WaitFor)
				}
			}
			continue
		case command.OutcomeApplied, command.OutcomeAlreadyApplied:
		default:
			return false, fmt.Errorf("%s: unexpected %+v", k.SK, r)
		}
		if err := e.svc.RunSync(ctx, k); err != nil {
			return false, err
		}
		res, err := e.svc.Finish(ctx, k)
		for _, t := range res.Tokens {
			tk.send(t)
		}
		return true, err
	}
}

// testSeed returns the seed of a randomized test: STEPCQRS_SEED when set,
// else the clock. It is logged, so a failing schedule can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STEPCQRS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STEPCQRS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with STEPCQRS_SEED=%d)", seed, seed)
	return seed
}

// TestConcurrentExecutionsNeverStall runs the executions of every version
// of an entity at once, in a random order, some duplicated, some doomed to
// fail, and checks that none waits for ever and that the entity ends
// exactly as the failure policy says: the data row holds the highest
// applied version, history every other applied version once, in order,
// each with its own content.
func TestConcurrentExecutionsNeverStall(t *testing.T) {
	seed := testSeed(t)
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := newEnv(t)
	const rounds, versions = 40, 6
	for round := 0; round < rounds; round++ {
		k := key(fmt.Sprintf("chain-%d", round))
		var cmds []*core.Command
		for v := 1; v <= versions; v++ {
			cmds = append(cmds, e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest,
				Name: fmt.Sprint("v", v), Attributes: core.Attributes{"v": v, "round": round}}))
		}
		plans := make([]execPlan, versions)
		if round%2 == 1 {
			for range 2 {
				i := rnd.IntN(versions)
				plans[i].doomed, plans[i].applyFirst = true, rnd.IntN(2) == 0
			}
		}
		for i := range plans {
			plans[i].duplicated = rnd.IntN(4) == 0 && !plans[i].doomed
		}
		tk := &tokens{ch: map[string]chan struct{}{}}
		errs := make([]error, versions)
		applied := make([]bool, versions)
		var wg sync.WaitGroup
		for _, i := range rnd.Perm(versions) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				applied[i], errs[i] = execute(e, tk, cmds[i].Key(), plans[i], "a")
			}()
			if plans[i].duplicated {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := execute(e, tk, cmds[i].Key(), plans[i], "b"); err != nil {
						t.Errorf("round %d redelivery of v%d: %v", round, i+1, err)
					}
				}()
			}
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d v%d: %v", round, i+1, err)
			}
		}
		// The applied versions: every one not doomed, and the doomed ones
		// applied before they failed.
		var want []int64
		for i, p := range plans {
			if !p.doomed || applied[i] {
				want = append(want, int64(i+1))
			}
		}
		checkStallChain(t, e, k, round, cmds, plans, want)
	}
}

// checkStallChain checks the entity k after a round of
// TestConcurrentExecutionsNeverStall: statuses per plan, the data row is
// the last of the applied versions want, history holds the others, each
// row with its own version's content and the entity's creation audit.
func checkStallChain(t *testing.T, e *env, k core.Key, round int, cmds []*core.Command, plans []execPlan, want []int64) {
	t.Helper()
	vers, err := e.svc.ListVersions(ctx, k)
	if err != nil {
		t.Fatalf("round %d: ListVersions: %v", round, err)
	}
	if len(vers) != len(plans) {
		t.Fatalf("round %d: %d versions, want %d", round, len(vers), len(plans))
	}
	for i, c := range vers {
		switch {
		case c.Version != int64(i+1):
			t.Fatalf("round %d: version %d listed at %d", round, c.Version, i)
		case plans[i].doomed && (c.Status != core.StatusFailed || c.Error != "doomed"):
			t.Fatalf("round %d: doomed v%d ends %s %q", round, c.Version, c.Status, c.Error)
		case !plans[i].doomed && c.Status != core.StatusFinished:
			t.Fatalf("round %d: v%d ends %s %q, want finished", round, c.Version, c.Status, c.Error)
		}
	}
	// content checks that row r is the data of version v.
	content := func(what string, r core.Data, v int64) {
		t.Helper()
		c := cmds[v-1]
		if r.Version != v || r.Name != fmt.Sprint("v", v) || r.CSK != c.SK || r.ID != c.ID ||
			len(r.Attributes) != 2 || fmt.Sprint(r.Attributes["v"]) != fmt.Sprint(v) || fmt.Sprint(r.Attributes["round"]) != fmt.Sprint(round) {
			t.Fatalf("round %d: %s is %+v, want the content of v%d", round, what, r, v)
		}
		if first := cmds[want[0]-1]; !r.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("round %d: %s created %v, want %v (v%d, the first applied)", round, what, r.CreatedAt, first.CreatedAt, first.Version)
		}
	}
	last := want[len(want)-1]
	d, err := e.svc.GetData(ctx, k, true)
	if err != nil {
		t.Fatalf("round %d: GetData: %v (applied %v)", round, err, want)
	}
	content("data row", *d, last)
	hist, err := e.svc.History(ctx, k)
	if err != nil {
		t.Fatalf("round %d: History: %v", round, err)
	}
	got := make([]int64, len(hist))
	for i, h := range hist {
		got[i] = h.Version
	}
	if !reflect.DeepEqual(got, want[:len(want)-1]) {
		t.Fatalf("round %d: history versions %v, want %v (applied %v)", round, got, want[:len(want)-1], want)
	}
	for _, h := range hist {
		content(fmt.Sprintf("history row v%d", h.Version), h, h.Version)
	}
}

func TestConcurrentRedeliveredApply(t *testing.T) {
	e := newEnv(t)
	for round := 0; round < 30; round++ {
		k := key(fmt.Sprintf("dup-%d", round))
		c1 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Name: "v1"})
		e.run(t, c1.Key())
		c2 := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: 1, Name: "v2"})
		var wg sync.WaitGroup
		outcomes := make([]command.Outcome, 3)
		for i := range outcomes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.svc.Apply(ctx, c2.Key())
				if err != nil {
					t.Error(err)
				}
				outcomes[i] = r.Outcome
			}()
		}
		wg.Wait()
		n := 0
		for _, o := range outcomes {
			if o == command.OutcomeApplied {
				n++
			} else if o != command.OutcomeAlreadyApplied {
				t.Fatalf("outcome %s", o)
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d applies won", round, n)
		}
		if hist, _ := e.svc.History(ctx, k); len(hist) != 1 {
			t.Fatalf("round %d: %d history rows", round, len(hist))
		}
	}
}
