package interp

import (
	"context"
	"sync"
)

// runParallel runs the branches of a Parallel state concurrently; the result
// is the array of branch outputs in branch order. The first failing branch
// fails the state with its error and stops the others.
func (sr *stateRun) runParallel(ctx context.Context, eff any) (any, *StatesError) {
	st := sr.st
	input, serr := sr.taskArguments(eff)
	if serr != nil {
		return nil, serr
	}
	sr.th.event(Event{Type: EventParallelStarted})
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]any, len(st.Branches))
	var (
		mu       sync.Mutex
		firstErr *StatesError
	)
	j := join{vc: sr.th.x.eng.vc}
	for i, b := range st.Branches {
		child := sr.th.child(nil)
		j.acquire(context.Background(), len(st.Branches))
		workers.goWork(func() {
			defer j.done()
			out, serr := child.safeRunMachine(bctx, b, input)
			mu.Lock()
			defer mu.Unlock()
			if serr != nil {
				if firstErr == nil && serr != canceledError {
					firstErr = serr
					cancel()
				}
				return
			}
			results[i] = out
		})
	}
	j.waitAll()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctxError(ctx)
	}
	if firstErr != nil {
		sr.th.event(Event{Type: EventParallelFailed, Error: firstErr.Name, Cause: firstErr.Cause})
		return nil, firstErr
	}
	sr.th.event(Event{Type: EventParallelSucceeded})
	return results, nil
}
