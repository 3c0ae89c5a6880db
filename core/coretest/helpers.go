package coretest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

var (
	runID   = strconv.FormatUint(rand.Uint64()%(36*36*36*36*36), 36)
	counter atomic.Int64
)

// uniqueName returns a lowercase name valid for tables, buckets, queues,
// topics and state machines: prefix, a per-process part and a counter.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, runID, counter.Add(1))
}

func s(v string) core.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) core.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func ni(v int64) core.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// item builds an item with key pk/sk and the given name/value pairs.
func item(pk, sk string, kv ...any) core.Item {
	it := core.Item{"pk": s(pk), "sk": s(sk)}
	for i := 0; i+1 < len(kv); i += 2 {
		it[kv[i].(string)] = kv[i+1].(core.AttributeValue)
	}
	return it
}

func key(pk, sk string) core.Key { return core.Key{PK: pk, SK: sk} }

// strAttr returns the string attribute name of it, or "" when absent or not
// a string.
func strAttr(it core.Item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// equalValue compares attribute values as DynamoDB's "=" does.
func equalValue(a, b core.AttributeValue) bool { return core.AttributeValuesEqual(a, b) }

// equalItems compares items deeply.
func equalItems(a, b core.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !equalValue(v, w) {
			return false
		}
	}
	return true
}

// fmtItem renders an item for failure messages.
func fmtItem(it core.Item) string {
	if it == nil {
		return "<absent>"
	}
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", k, fmtValue(it[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func fmtValue(v core.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return strconv.Quote(x.Value)
	case *types.AttributeValueMemberN:
		return "N" + x.Value
	case *types.AttributeValueMemberB:
		return fmt.Sprintf("B%x", x.Value)
	case *types.AttributeValueMemberBOOL:
		return strconv.FormatBool(x.Value)
	case *types.AttributeValueMemberNULL:
		return "null"
	case *types.AttributeValueMemberSS:
		return fmt.Sprintf("SS%q", x.Value)
	case *types.AttributeValueMemberNS:
		return fmt.Sprintf("NS%v", x.Value)
	case *types.AttributeValueMemberBS:
		return fmt.Sprintf("BS%x", x.Value)
	case *types.AttributeValueMemberL:
		parts := make([]string, len(x.Value))
		for i, e := range x.Value {
			parts[i] = fmtValue(e)
		}
		return fmt.Sprintf("%v", parts)
	case *types.AttributeValueMemberM:
		return fmtItem(x.Value)
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("%T", v)
}

// mustNotFound fails t unless err matches ErrNotFound and is a
// *core.NotFoundError.
func mustNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error, want ErrNotFound", what)
	}
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("%s: got %v (%T), want an error matching core.ErrNotFound", what, err, err)
	}
	var nf *core.NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("%s: %v does not unwrap to *core.NotFoundError", what, err)
	}
}
