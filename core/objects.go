package core

import (
	"context"
	"io"
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	ETag string
}

// ObjectStore is the port to an S3-like object store.
//
// Implementations are safe for concurrent use and honour ctx cancellation.
// Reading a missing object returns an error matching ErrNotFound.
type ObjectStore interface {
	// Put stores body under bucket/key, replacing any object there.
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	// Get reads a whole object.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// Open streams an object; the caller closes the reader.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, ObjectInfo, error)
	// Delete removes an object; deleting a missing object succeeds.
	Delete(ctx context.Context, bucket, key string) error
	// List returns the objects whose key begins with prefix, in key order.
	List(ctx context.Context, bucket, prefix string) ([]ObjectInfo, error)
}
