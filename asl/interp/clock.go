package interp

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock is the time source of an execution: Wait states, Retry intervals,
// timeouts and history timestamps all go through it.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep blocks for d or until ctx is done, whichever comes first, and
	// returns ctx.Err() in the latter case. A deadline set by WithTimeout
	// that falls within d ends the sleep at the deadline with
	// context.DeadlineExceeded.
	Sleep(ctx context.Context, d time.Duration) error
	// WithTimeout returns a context that is done after d of this clock's
	// time.
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
	// After returns a channel that receives once d of this clock's time has
	// passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now().UTC() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithTimeout implements Clock.
func (RealClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// VirtualClock is a deterministic clock for tests: Sleep returns at once and
// moves the clock forward, so Wait states, Retry intervals and timeouts cost
// no real time. Timeouts set with WithTimeout are virtual deadlines: a Sleep
// that would pass one ends at the deadline with context.DeadlineExceeded, and
// the context is cancelled when the clock passes it. Advance moves the clock
// by hand (for example to time out a task waiting for a callback).
//
// A VirtualClock is safe for concurrent use. With concurrent sleepers the
// clock moves to the latest wake-up time asked for.
type VirtualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*virtualWaiter
}

type virtualWaiter struct {
	at   time.Time
	fire func()
	done bool
}

// NewVirtualClock returns a virtual clock set to start (UTC).
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start.UTC()}
}

// Now implements Clock.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, firing every timer and deadline that
// falls due.
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.advanceTo(c.now.Add(d))
}

// AdvanceToNext moves the clock to the earliest pending timer or deadline
// and fires it; it reports false when nothing is pending. An embedding
// runtime calls it when it is otherwise idle, so that a task waiting for a
// callback times out without real waiting.
func (c *VirtualClock) AdvanceToNext() bool {
	c.mu.Lock()
	var next time.Time
	found := false
	for _, w := range c.waiters {
		if !w.done && (!found || w.at.Before(next)) {
			next, found = w.at, true
		}
	}
	if !found {
		c.mu.Unlock()
		return false
	}
	c.advanceTo(next)
	return true
}

// Pending returns the number of timers and deadlines not yet due.
func (c *VirtualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waiters {
		if !w.done {
			n++
		}
	}
	return n
}

// advanceTo moves the clock to t (if later) and fires due waiters. It must be
// called with c.mu held and releases it.
func (c *VirtualClock) advanceTo(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
	var due []*virtualWaiter
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.done && !w.at.After(c.now) {
			w.done = true
			due = append(due, w)
		} else if !w.done {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, w := range due {
		w.fire()
	}
}

// schedule registers fire to run when the clock reaches at.
func (c *VirtualClock) schedule(at time.Time, fire func()) *virtualWaiter {
	c.mu.Lock()
	w := &virtualWaiter{at: at, fire: fire}
	if !at.After(c.now) {
		w.done = true
		c.mu.Unlock()
		fire()
		return w
	}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	return w
}

func (c *VirtualClock) cancel(w *virtualWaiter) {
	c.mu.Lock()
	w.done = true
	c.mu.Unlock()
}

type virtualDeadlineKey struct{}

// Sleep implements Clock.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	wake := c.now.Add(d)
	if dl, ok := ctx.Value(virtualDeadlineKey{}).(time.Time); ok && dl.Before(wake) {
		c.advanceTo(dl)
		return context.DeadlineExceeded
	}
	c.advanceTo(wake)
	return ctx.Err()
}

// WithTimeout implements Clock.
func (c *VirtualClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	deadline := c.Now().Add(d)
	if dl, ok := ctx.Value(virtualDeadlineKey{}).(time.Time); ok && dl.Before(deadline) {
		deadline = dl
	}
	inner, cancel := context.WithCancelCause(context.WithValue(ctx, virtualDeadlineKey{}, deadline))
	w := c.schedule(deadline, func() { cancel(context.DeadlineExceeded) })
	return &virtualCtx{Context: inner}, func() {
		c.cancel(w)
		cancel(context.Canceled)
	}
}

// virtualCtx reports context.DeadlineExceeded when its virtual deadline
// passed.
type virtualCtx struct{ context.Context }

// Err implements context.Context.
func (v *virtualCtx) Err() error {
	if v.Context.Err() == nil {
		return nil
	}
	if cause := context.Cause(v.Context); cause == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return v.Context.Err()
}

// AfterFunc calls f when the clock reaches now+d, on the goroutine that
// moves the clock there (inside Advance or AdvanceToNext, which return
// after f does); at once when d <= 0. stop cancels a call that has not
// happened yet.
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) (stop func()) {
	return c.AtFunc(c.Now().Add(d), f)
}

// AtFunc is AfterFunc at an absolute time: at once when t is not after
// the clock's time — also from inside a function the clock is running, so
// a periodic job that schedules its next run from its run catches up on
// every period a move spans, before the other functions due in it.
func (c *VirtualClock) AtFunc(t time.Time, f func()) (stop func()) {
	w := c.schedule(t, f)
	return func() { c.cancel(w) }
}

// After implements Clock.
func (c *VirtualClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.schedule(c.Now().Add(d), func() { ch <- c.Now() })
	return ch
}
