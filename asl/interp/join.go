package interp

import (
	"context"
	"sync"
)

// join runs the child threads of a Parallel or Map state and waits for
// them. On a virtual clock every child is a participant: it counts as
// running from before it starts, and the parent, while it waits for a
// free slot or for the last child, does not. A child that frees the parent
// hands it its turn before it ends, so the clock never sees a moment with
// nothing running between the two.
type join struct {
	vc     *VirtualClock // nil: no clock bookkeeping
	mu     sync.Mutex
	active int
	// wait is non-nil while the parent waits: the channel to close and,
	// on a virtual clock, the parent's idle wait to wake.
	wait   chan struct{}
	idleOf *idleWait
}

// acquire waits until fewer than limit children are running and counts a
// new one; it reports false, counting nothing, when ctx ends first.
func (j *join) acquire(ctx context.Context, limit int) bool {
	j.mu.Lock()
	for j.active >= limit {
		if !j.block(ctx) {
			return false
		}
	}
	j.active++
	j.mu.Unlock()
	if j.vc != nil {
		j.vc.enter()
	}
	return true
}

// waitAll waits until every child has ended.
func (j *join) waitAll() {
	j.mu.Lock()
	for j.active > 0 {
		j.block(context.Background())
	}
	j.mu.Unlock()
}

// block waits, with j.mu held, until a child ends or ctx does; it returns
// with j.mu held and reports whether ctx is still going, or returns with
// j.mu released and false.
func (j *join) block(ctx context.Context) bool {
	ch := make(chan struct{})
	j.wait = ch
	if j.vc != nil {
		j.idleOf = j.vc.goIdle(ctx)
	}
	j.mu.Unlock()
	if j.vc != nil {
		j.vc.moveIfQuiescent()
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
	j.mu.Lock()
	if j.idleOf != nil {
		j.vc.wake(j.idleOf)
		j.idleOf = nil
	}
	j.wait = nil
	if ctx.Err() != nil {
		j.mu.Unlock()
		return false
	}
	return true
}

// goChild runs f on a worker as a child; acquire has counted it.
func (j *join) goChild(f func()) {
	workers.goWork(func() {
		defer j.done()
		f()
	})
}

// done ends a child: it wakes the waiting parent, then leaves the clock.
func (j *join) done() {
	j.mu.Lock()
	j.active--
	if j.wait != nil {
		if j.idleOf != nil {
			j.vc.wake(j.idleOf)
			j.idleOf = nil
		}
		close(j.wait)
		j.wait = nil
	}
	j.mu.Unlock()
	if j.vc != nil {
		j.vc.exit()
	}
}
