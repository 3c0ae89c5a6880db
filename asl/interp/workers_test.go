package interp

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerPoolReuses: work handed out one piece at a time runs on one
// goroutine; pieces that wait for each other get a goroutine each.
func TestWorkerPoolReuses(t *testing.T) {
	idle := make(chan struct{}, 1)
	p := &workerPool{maxIdle: 8, idleTime: time.Hour, onIdle: func() { idle <- struct{}{} }}
	ran := 0
	for i := 0; i < 10; i++ {
		p.goWork(func() { ran++ })
		<-idle // the piece ran and its worker waits for the next
	}
	if ran != 10 || p.started.Load() != 1 {
		t.Errorf("ran %d pieces on %d goroutines, want 10 on 1", ran, p.started.Load())
	}
	// Five pieces that all wait for a release: five goroutines at once.
	p.onIdle = nil
	var wg sync.WaitGroup
	release := make(chan struct{})
	var mu sync.Mutex
	got := map[int]bool{}
	for i := 0; i < 5; i++ {
		wg.Add(1)
		p.goWork(func() {
			defer wg.Done()
			<-release
			mu.Lock()
			got[i] = true
			mu.Unlock()
		})
	}
	close(release)
	wg.Wait()
	if len(got) != 5 || p.started.Load() != 5 {
		t.Errorf("ran %v on %d goroutines, want 5 pieces on 5 (one reused)", got, p.started.Load())
	}
}

// TestWorkerPoolIdleEnds: an idle worker ends after idleTime, and at once
// when the pool has enough idle ones.
func TestWorkerPoolIdleEnds(t *testing.T) {
	p := &workerPool{maxIdle: 1, idleTime: time.Millisecond}
	ran := false
	p.work(func() { ran = true }) // returns once the idle time is over
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	if !ran || idle != 0 {
		t.Errorf("ran %v, %d idle workers left, want none", ran, idle)
	}
	full := &workerPool{maxIdle: 0, idleTime: time.Hour}
	full.work(func() {}) // returns at once: no room for an idle worker
}
