package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// MaxExecutionName is the longest Step Functions execution name.
const MaxExecutionName = 80

// ExecutionName returns a deterministic Step Functions execution name: a
// readable prefix (readable with every character outside [A-Za-z0-9-_]
// replaced by '_', cut to fit) and a hash of the parts, at most
// MaxExecutionName characters. The same parts always give the same name, so
// a redelivered event starts no second execution (StartExecution is
// idempotent by name).
func ExecutionName(readable string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := hex.EncodeToString(sum[:12])
	var b strings.Builder
	for _, r := range readable {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if max := MaxExecutionName - 1 - len(h); len(out) > max {
		out = out[:max]
	}
	return out + "-" + h
}

// Shard returns the shard of id among n (0 to n-1, in decimal), by a hash
// of id: the partition of a sparse index that spreads its writes.
func Shard(id string, n int) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return strconv.Itoa(int(h.Sum32() % uint32(n)))
}

// NewID returns a time-ordered unique id: a ULID, 48 bits of Unix
// milliseconds then 80 random bits, in 26 digits of Crockford base32. Ids
// sort by creation time (to the millisecond), so rows keyed by them list
// in order.
func NewID(now time.Time) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	// 128 bits behind two zero bits make 26 digits, most significant
	// first.
	var out [26]byte
	var acc uint64
	bits, idx := 2, 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[idx] = alphabet[(acc>>bits)&31]
			idx++
		}
	}
	return string(out[:idx])
}
