package awsadapter

import (
	"strconv"

	"github.com/stepcqrs/stepcqrs/core"
)

// checkSize returns an error matching core.ErrItemTooLarge when item exceeds
// core.MaxItemBytes.
func checkSize(table string, item core.Item) error {
	if size := core.ItemSize(item); size > core.MaxItemBytes {
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
