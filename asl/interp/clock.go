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

// VirtualClock is a deterministic clock for tests: Wait states, Retry
// intervals and timeouts cost no real time. Timeouts set with WithTimeout
// are virtual deadlines: the context is cancelled when the clock passes
// them. Advance moves the clock by hand (for example to time out a task
// waiting for a callback).
//
// The clock moves by itself only at quiescence. The threads of the
// executions an Engine runs on it (the root, every Parallel branch and Map
// iteration) are its participants. A participant's Sleep registers a
// wake-up and blocks; while any participant is running (evaluating a state,
// or in a Lambda or resource call), the clock stands still. When none is
// and at least one Sleep is pending, the clock moves to the earliest
// wake-up or deadline and fires it. So a Wait in one branch never fires
// another branch's timeout while that branch is still working: time passes
// as it would on AWS, where the other branch's work takes no virtual time.
//
// A participant waits for a Parallel's branches, a Map's iterations, a
// callback token or a heartbeat without counting as running. Code that a
// participant calls (a resource, a Lambda) and that blocks on anything
// other than this clock — another execution, a channel fed by another
// participant — must say so with Idle, or the clock, waiting for it,
// never moves again. A Sleep with a context that belongs to no
// participant (a test's own) also waits for quiescence; with no
// participant at all it returns at once, having moved the clock.
//
// A VirtualClock is safe for concurrent use.
type VirtualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*virtualWaiter
	// stopped counts the waiters in waiters stopped before they were due
	// (a task's timeout when the task ended first); past half of them,
	// they are dropped, so that a clock that seldom moves does not keep
	// them all.
	stopped int
	// running counts the participants not waiting on the clock.
	running int
	// sleepers counts the Sleep calls not yet woken.
	sleepers int
	// waiting holds the sleeps and idle waits not yet woken: one whose
	// context has ended is woken before the clock moves on.
	waiting map[*idleWait]struct{}
	// moving is set while a goroutine moves the clock at quiescence.
	moving bool
}

type virtualWaiter struct {
	at   time.Time
	fire func()    // what to do when due, or:
	wake *idleWait // the sleep to wake when due
	done bool
}

// idleWait is a participant (or, for a sleep, any caller) waiting: when
// it is woken, by its waker or because its context ended, the participant
// counts as running again before anything else happens on the clock.
type idleWait struct {
	ctx         context.Context
	participant bool
	sleep       bool
	woken       bool
	ch          chan struct{} // sleeps: closed when woken
}

// NewVirtualClock returns a virtual clock set to start (UTC).
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start.UTC(), waiting: map[*idleWait]struct{}{}}
}

// virtual returns c: an Engine finds the VirtualClock of a Clock that
// embeds one.
func (c *VirtualClock) virtual() *VirtualClock { return c }

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
	c.fireDue(c.now.Add(d))
	c.settle()
}

// AdvanceToNext moves the clock to the earliest pending timer or deadline
// and fires it; it reports false when nothing is pending, or when a
// participant is running (it will move the clock itself if it sleeps). An
// embedding runtime calls it when it is otherwise idle, so that a task
// waiting for a callback times out without real waiting.
func (c *VirtualClock) AdvanceToNext() bool {
	c.mu.Lock()
	c.wakeEnded()
	next, found := c.next()
	if !found || c.running > 0 {
		c.mu.Unlock()
		return false
	}
	c.fireDue(next)
	c.settle()
	return true
}

// Pending returns the number of timers and deadlines not yet due (sleeps
// included).
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

// next returns the time of the earliest pending waiter. c.mu is held.
func (c *VirtualClock) next() (time.Time, bool) {
	var next time.Time
	found := false
	for _, w := range c.waiters {
		if !w.done && (!found || w.at.Before(next)) {
			next, found = w.at, true
		}
	}
	return next, found
}

// fireDue moves the clock to t (if later) and fires the waiters due, in
// time order. It is called with c.mu held, releases it to fire, and
// returns with it held again.
func (c *VirtualClock) fireDue(t time.Time) {
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
	clear(c.waiters[len(kept):])
	c.waiters, c.stopped = kept, 0
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, w := range due {
		if w.wake != nil {
			c.wake(w.wake)
		} else {
			w.fire()
		}
	}
	c.mu.Lock()
}

// settle moves the clock while it is quiescent: no participant running
// and a sleep pending. Waits whose context has ended are woken first, so
// that a cancelled branch or a timed-out task is running again before the
// clock moves past its end. It is called with c.mu held and releases it.
func (c *VirtualClock) settle() {
	for !c.moving {
		c.wakeEnded()
		if c.running > 0 || c.sleepers == 0 {
			break
		}
		next, found := c.next()
		if !found {
			break
		}
		c.moving = true
		c.fireDue(next)
		c.moving = false
	}
	c.mu.Unlock()
}

// addWaiting registers w as waiting; c.mu is held.
func (c *VirtualClock) addWaiting(w *idleWait) {
	if c.waiting == nil {
		c.waiting = map[*idleWait]struct{}{}
	}
	c.waiting[w] = struct{}{}
}

// wakeEnded wakes the waits whose context has ended. c.mu is held.
func (c *VirtualClock) wakeEnded() {
	for w := range c.waiting {
		if w.ctx.Err() != nil {
			c.wakeLocked(w)
		}
	}
}

// wakeLocked wakes w: its participant counts as running from now on.
func (c *VirtualClock) wakeLocked(w *idleWait) {
	if w.woken {
		return
	}
	w.woken = true
	delete(c.waiting, w)
	if w.participant {
		c.running++
	}
	if w.sleep {
		c.sleepers--
		close(w.ch)
	}
}

// wake wakes w (a waker hands its turn to the waiting participant before it
// signals it).
func (c *VirtualClock) wake(w *idleWait) {
	c.mu.Lock()
	c.wakeLocked(w)
	c.mu.Unlock()
}

// enter counts a new participant, before it starts running.
func (c *VirtualClock) enter() {
	c.mu.Lock()
	c.running++
	c.mu.Unlock()
}

// exit ends a participant; the clock may move.
func (c *VirtualClock) exit() {
	c.mu.Lock()
	c.running--
	c.settle()
}

// goIdle marks the participant of ctx as waiting without moving the clock;
// the caller calls settle after it has released its own locks, then blocks,
// then wakes the wait.
func (c *VirtualClock) goIdle(ctx context.Context) *idleWait {
	w := new(idleWait)
	c.goIdleAs(w, ctx)
	return w
}

// goIdleAs is goIdle with the caller's idleWait, which must not be
// waiting already.
func (c *VirtualClock) goIdleAs(w *idleWait, ctx context.Context) {
	*w = idleWait{ctx: ctx, participant: true}
	c.mu.Lock()
	c.addWaiting(w)
	c.running--
	c.mu.Unlock()
}

// moveIfQuiescent moves the clock if nothing is running.
func (c *VirtualClock) moveIfQuiescent() {
	c.mu.Lock()
	c.settle()
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
	c.stopLocked(w)
	c.mu.Unlock()
}

// stopLocked stops w if it is not done yet; c.mu is held.
func (c *VirtualClock) stopLocked(w *virtualWaiter) {
	if w.done {
		return
	}
	w.done = true
	if c.stopped++; c.stopped > 64 && c.stopped > len(c.waiters)/2 {
		kept := c.waiters[:0]
		for _, w := range c.waiters {
			if !w.done {
				kept = append(kept, w)
			}
		}
		clear(c.waiters[len(kept):])
		c.waiters, c.stopped = kept, 0
	}
}

type virtualDeadlineKey struct{}

// participantKey marks the contexts of an execution's threads with their
// clock.
type participantKey struct{}

// participantClock returns the virtual clock whose participant ctx belongs
// to, or nil.
func participantClock(ctx context.Context) *VirtualClock {
	c, _ := ctx.Value(participantKey{}).(*VirtualClock)
	return c
}

// Sleep implements Clock: it returns once the clock has reached the
// wake-up time, which happens at quiescence (see VirtualClock). A deadline
// of ctx set by WithTimeout that comes first ends the sleep with
// context.DeadlineExceeded.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	// One allocation for the sleep and its timer.
	sl := &struct {
		s idleWait
		w virtualWaiter
	}{s: idleWait{ctx: ctx, participant: participantClock(ctx) == c, sleep: true, ch: make(chan struct{})}}
	s, w := &sl.s, &sl.w
	c.mu.Lock()
	w.at, w.wake = c.now.Add(d), s
	c.waiters = append(c.waiters, w)
	c.addWaiting(s)
	c.sleepers++
	if s.participant {
		c.running--
	}
	c.settle()
	select {
	case <-s.ch:
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.wakeLocked(s)
	c.stopLocked(w)
	now := c.now
	c.mu.Unlock()
	if ctx.Err() == nil {
		return nil
	}
	if dl, ok := ctx.Value(virtualDeadlineKey{}).(time.Time); ok && !now.Before(dl) {
		return context.DeadlineExceeded
	}
	return ctx.Err()
}

// Hold counts the caller as a running participant until release is
// called (once; later calls do nothing). An embedding runtime holds the
// clock while work it will hand to executions is pending — stream records
// not delivered yet — so that the clock does not move past a timeout that
// work would have met. Take the hold on the goroutine that makes the work
// pending, and release it after that work has started what it starts.
func (c *VirtualClock) Hold() (release func()) {
	c.enter()
	var once sync.Once
	return func() { once.Do(c.exit) }
}

// Idle tells the clock that the participant ctx belongs to (a resource or
// Lambda call of an execution run on a VirtualClock gets such a context)
// waits for something other than the clock: another execution, a message
// another participant sends. The clock may then move at quiescence. Call
// the returned resume when the wait is over, before doing anything else.
// With another context, or another clock, Idle does nothing.
func Idle(ctx context.Context) (resume func()) {
	c := participantClock(ctx)
	if c == nil {
		return func() {}
	}
	w := c.goIdle(ctx)
	c.moveIfQuiescent()
	return func() { c.wake(w) }
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
