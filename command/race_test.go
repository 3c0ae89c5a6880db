package command_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
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

// execute plays one command state machine execution: apply, wait with a
// token when told to, sync, finish; or fail when doomed. Only duplicated
// executions of one command (which deterministic execution names prevent
// in production) may need the wait state's timeout: the command row keeps
// one token, so the other execution is woken by its timeout and re-applies.
// For any other execution a timeout is a lost wake-up and fails the test.
func execute(e *env, tk *tokens, k core.Key, doomed bool, exec string, duplicated bool) error {
	if doomed {
		// Fail at a random point: before or after trying to apply.
		if rand.IntN(2) == 0 {
			if _, err := e.svc.Apply(ctx, k); err != nil {
				return err
			}
		}
		res, err := e.svc.Fail(ctx, k, errors.New("doomed"))
		for _, t := range res.Tokens {
			tk.send(t)
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		r, err := e.svc.Apply(ctx, k)
		if err != nil {
			return err
		}
		switch r.Outcome {
		case command.OutcomeWait:
			tok := fmt.Sprintf("%s/%s/%d", k.SK, exec, attempt)
			c := tk.register(tok)
			w, err := e.svc.RegisterWaitToken(ctx, k, tok)
			if err != nil {
				return err
			}
			if w.Resume {
				continue
			}
			timeout := 5 * time.Second
			if duplicated {
				timeout = 50 * time.Millisecond
			}
			select {
			case <-c:
			case <-time.After(timeout):
				if !duplicated {
					return fmt.Errorf("%s waits for ever on version %d", k.SK, w.WaitFor)
				}
			}
			continue
		case command.OutcomeApplied, command.OutcomeAlreadyApplied:
		default:
			return fmt.Errorf("%s: unexpected %+v", k.SK, r)
		}
		if err := e.svc.RunSync(ctx, k); err != nil {
			return err
		}
		res, err := e.svc.Finish(ctx, k)
		for _, t := range res.Tokens {
			tk.send(t)
		}
		return err
	}
}

func TestConcurrentExecutionsNeverStall(t *testing.T) {
	e := newEnv(t)
	const rounds, versions = 40, 6
	for round := 0; round < rounds; round++ {
		k := key(fmt.Sprintf("chain-%d", round))
		var keys []core.Key
		for v := 0; v < versions; v++ {
			c := e.publish(t, command.Input{PK: k.PK, SK: k.SK, Version: core.VersionLatest, Name: fmt.Sprint("v", v+1)})
			keys = append(keys, c.Key())
		}
		doomed := map[int]bool{}
		if round%2 == 1 {
			doomed[rand.IntN(versions)] = true
			doomed[rand.IntN(versions)] = true
		}
		tk := &tokens{ch: map[string]chan struct{}{}}
		errs := make([]error, versions)
		var wg sync.WaitGroup
		for _, i := range rand.Perm(versions) {
			// A duplicated execution of the same command, now and then.
			dup := rand.IntN(4) == 0 && !doomed[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = execute(e, tk, keys[i], doomed[i], "a", dup)
			}()
			if dup {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := execute(e, tk, keys[i], false, "b", true); err != nil {
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
		// Every finished version is in the data row (the last one) or in
		// history, exactly once; history versions increase. (A doomed
		// command that applied before failing may be there too.)
		vers, _ := e.svc.ListVersions(ctx, k)
		var finished []int64
		for _, c := range vers {
			if c.Status == core.StatusFinished {
				finished = append(finished, c.Version)
			} else if c.Status != core.StatusFailed {
				t.Fatalf("round %d: v%d ends %s", round, c.Version, c.Status)
			}
		}
		d, err := e.svc.GetData(ctx, k, true)
		if len(finished) == 0 {
			continue
		}
		if err != nil || d.Version < finished[len(finished)-1] {
			t.Fatalf("round %d: data %+v, %v; finished %v", round, d, err, finished)
		}
		hist, _ := e.svc.History(ctx, k)
		inHist := map[int64]bool{}
		for i, h := range hist {
			if inHist[h.Version] || h.Version >= d.Version || (i > 0 && h.Version <= hist[i-1].Version) {
				t.Fatalf("round %d: bad history order at %d: %+v", round, i, h)
			}
			inHist[h.Version] = true
		}
		for _, v := range finished {
			if v != d.Version && !inHist[v] {
				t.Fatalf("round %d: finished v%d neither in data (v%d) nor in history", round, v, d.Version)
			}
		}
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
