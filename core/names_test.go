package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestExecutionName(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range []struct {
		readable string
		parts    []string
	}{
		{"order-1", []string{"a", "b"}},
		{"order-1", []string{"a", "c"}},
		{"order-1", []string{"ab"}}, // parts are separated, not concatenated
		{"ORDER#日本 x", []string{"a", "b", "c"}},
		{strings.Repeat("x", 200), []string{"long"}},
		{"", []string{"empty"}},
	} {
		n := core.ExecutionName(c.readable, c.parts...)
		if len(n) > core.MaxExecutionName || strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Errorf("%v: bad name %q", c, n)
		}
		if n != core.ExecutionName(c.readable, c.parts...) {
			t.Errorf("%v: not deterministic", c)
		}
		if seen[n] {
			t.Errorf("%v: %q collides", c, n)
		}
		seen[n] = true
	}
	if got := core.ExecutionName("ORDER#1 x", "p"); !strings.HasPrefix(got, "ORDER_1_x-") {
		t.Errorf("readable part of %q", got)
	}
	if got := core.ExecutionName(strings.Repeat("x", 200), "p"); len(got) != core.MaxExecutionName {
		t.Errorf("long name has %d characters, want %d", len(got), core.MaxExecutionName)
	}
}

func TestShard(t *testing.T) {
	counts := map[string]int{}
	for i := range 1600 {
		s := core.Shard(fmt.Sprintf("ORDER#acme#ORDER#%d", i), 16)
		if s != core.Shard(fmt.Sprintf("ORDER#acme#ORDER#%d", i), 16) {
			t.Fatal("not deterministic")
		}
		counts[s]++
	}
	if len(counts) != 16 {
		t.Fatalf("%d shards used, want 16: %v", len(counts), counts)
	}
	for s, n := range counts {
		if n < 50 || n > 150 {
			t.Errorf("shard %s got %d of 1600 ids: badly spread", s, n)
		}
	}
}

func TestNewID(t *testing.T) {
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := core.NewID(at.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Fatalf("id %q is not 26 Crockford base32 digits", id)
		}
		if seen[id] || id <= prev {
			t.Fatalf("id %q repeats or does not sort after %q", id, prev)
		}
		seen[id], prev = true, id
	}
	// The time is in the first 10 digits: 48 bits of milliseconds.
	if a, b := core.NewID(at), core.NewID(at); a[:10] != b[:10] || a == b {
		t.Fatalf("same millisecond: %q %q", a, b)
	}
}
