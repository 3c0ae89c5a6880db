package awsadapter

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// ItemSize estimates the size DynamoDB accounts for item, following its
// published rules: attribute names plus values, strings and binaries by
// length, numbers by significant digits, one byte for booleans and nulls,
// three bytes of overhead per list or map plus one per element. It never
// underestimates by much, so a client-side check against core.MaxItemBytes
// rejects oversized items before they are sent.
func ItemSize(item core.Item) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize is DynamoDB's size of a number: about one byte per two
// significant digits, plus one.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	s = strings.Replace(s, ".", "", 1)
	s = strings.Trim(s, "0")
	if s == "" {
		return 1
	}
	return (len(s)+1)/2 + 1
}

// checkSize returns an error matching core.ErrItemTooLarge when item exceeds
// core.MaxItemBytes.
func checkSize(table string, item core.Item) error {
	if size := ItemSize(item); size > core.MaxItemBytes {
		return &ItemTooLargeError{Table: table, Size: size}
	}
	return nil
}

// ItemTooLargeError reports an item rejected for its size, before or by
// DynamoDB. It matches core.ErrItemTooLarge.
type ItemTooLargeError struct {
	Table string
	// Size is the estimated item size in bytes; 0 when DynamoDB rejected the
	// item and the size is unknown (an Update).
	Size int
}

// Error says which table rejected the item and, when known, its size.
func (e *ItemTooLargeError) Error() string {
	if e.Size == 0 {
		return "stepcqrs: item too large for table " + e.Table
	}
	return "stepcqrs: item of " + strconv.Itoa(e.Size) + " bytes too large for table " + e.Table
}

// Unwrap returns core.ErrItemTooLarge.
func (e *ItemTooLargeError) Unwrap() error { return core.ErrItemTooLarge }
