package interp

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestVirtualClockAtFunc: scheduled functions run inside the clock move
// that reaches their time, in time order, with the clock at the moved-to
// time; a function scheduled from inside one for a time already passed
// runs at once, before the others due in the same move (so a periodic job
// catches up); stop cancels.
func TestVirtualClockAtFunc(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewVirtualClock(start)
	var ran []string
	var tick func(at time.Time)
	tick = func(at time.Time) {
		c.AtFunc(at, func() {
			ran = append(ran, fmt.Sprintf("tick@%s now=%s", at.Sub(start), c.Now().Sub(start)))
			tick(at.Add(5 * time.Minute))
		})
	}
	tick(start.Add(5 * time.Minute))
	stop := c.AfterFunc(7*time.Minute, func() { ran = append(ran, "cancelled") })
	c.AfterFunc(8*time.Minute, func() { ran = append(ran, fmt.Sprintf("once now=%s", c.Now().Sub(start))) })
	stop()
	c.Advance(4 * time.Minute)
	if len(ran) != 0 {
		t.Fatalf("ran %v before their time", ran)
	}
	c.Advance(8 * time.Minute) // to 12m: ticks at 5m and 10m, once at 8m
	want := "[tick@5m0s now=12m0s tick@10m0s now=12m0s once now=12m0s]"
	if got := fmt.Sprint(ran); got != want {
		t.Fatalf("ran %s, want %s", got, want)
	}
	if n := c.Pending(); n != 1 {
		t.Fatalf("%d pending, want the next tick only", n)
	}
	now := false
	c.AfterFunc(0, func() { now = true })
	if !now {
		t.Fatal("AfterFunc(0) did not run at once")
	}
}

// TestVirtualClockDropsStoppedTimers: timers stopped before they are due
// (a task's timeout when the task ended first) do not pile up on a clock
// that does not move.
func TestVirtualClockDropsStoppedTimers(t *testing.T) {
	c := NewVirtualClock(epoch)
	_, keep := c.WithTimeout(context.Background(), time.Hour) // one that stays
	defer keep()
	for range 10000 {
		_, cancel := c.WithTimeout(context.Background(), time.Minute)
		cancel()
	}
	c.mu.Lock()
	n := len(c.waiters)
	c.mu.Unlock()
	if n > 200 {
		t.Errorf("%d timers kept after 10000 stopped, want at most 200", n)
	}
	if p := c.Pending(); p != 1 {
		t.Errorf("Pending() = %d, want 1", p)
	}
	c.Advance(2 * time.Hour)
	if p := c.Pending(); p != 0 {
		t.Errorf("Pending() after the hour = %d, want 0", p)
	}
}
