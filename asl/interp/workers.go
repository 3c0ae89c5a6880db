package interp

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// workerPool runs the goroutines of Map iterations and Parallel branches
// on goroutines that, once done, wait a while for more work: their
// stacks, grown by the interpreter's recursion, serve again instead of
// growing anew for every iteration.
type workerPool struct {
	maxIdle  int           // idle workers kept at most; one more ends
	idleTime time.Duration // how long an idle worker waits for work

	mu      sync.Mutex
	idle    []chan func() // the work channels of the idle workers
	started atomic.Int64  // goroutines started, for tests
	onIdle  func()        // called when a worker has become idle, for tests
}

// workers is the pool of every engine.
var workers = workerPool{maxIdle: 64, idleTime: 5 * time.Second}

// goWork runs f on a goroutine: an idle worker's or a new one.
func (p *workerPool) goWork(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- f // buffered: never blocks
		return
	}
	p.mu.Unlock()
	p.started.Add(1)
	go p.work(f)
}

// work runs f, then the work handed to it while idle, until it has waited
// idleTime for nothing or the pool has enough idle workers.
func (p *workerPool) work(f func()) {
	ch := make(chan func(), 1)
	var timer *time.Timer
	for {
		f()
		p.mu.Lock()
		if len(p.idle) >= p.maxIdle {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, ch)
		p.mu.Unlock()
		if p.onIdle != nil {
			p.onIdle()
		}
		if timer == nil {
			timer = time.NewTimer(p.idleTime)
		} else {
			timer.Reset(p.idleTime)
		}
		select {
		case f = <-ch:
			timer.Stop()
		case <-timer.C:
			p.mu.Lock()
			if i := slices.Index(p.idle, ch); i >= 0 {
				p.idle = slices.Delete(p.idle, i, i+1)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			f = <-ch // goWork took this worker as the timer fired: its work comes
		}
	}
}
