package core

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
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
