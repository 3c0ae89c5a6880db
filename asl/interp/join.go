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
	// waiting is set while the parent waits: a child that ends then
	// sends on wakeCh (made once, buffered) and, on a virtual clock, wakes
	// the parent's idle wait.
	waiting bool
	wakeCh  chan struct{}
	idle    idleWait
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
// j.mu released and false. The caller checks its condition again: a wake
// may be stale.
func (j *join) block(ctx context.Context) bool {
	if j.wakeCh == nil {
		j.wakeCh = make(chan struct{}, 1)
	}
	j.waiting = true
	if j.vc != nil {
		j.vc.goIdleAs(&j.idle, ctx)
	}
	j.mu.Unlock()
	if j.vc != nil {
		j.vc.moveIfQuiescent()
	}
	select {
	case <-j.wakeCh:
	case <-ctx.Done():
	}
	j.mu.Lock()
	if j.vc != nil {
		j.vc.wake(&j.idle)
	}
	j.waiting = false
	if ctx.Err() != nil {
		j.mu.Unlock()
		return false
	}
	return true
}

// done ends a child: it wakes the waiting parent, then leaves the clock.
// A child started with acquire calls it once, at its end.
func (j *join) done() {
	j.mu.Lock()
	j.active--
	if j.waiting {
		if j.vc != nil {
			j.vc.wake(&j.idle)
		}
		j.waiting = false
		select {
		case j.wakeCh <- struct{}{}:
		default:
		}
	}
	j.mu.Unlock()
	if j.vc != nil {
		j.vc.exit()
	}
}
