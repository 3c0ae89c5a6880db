package memory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/stepcqrs/stepcqrs/core"
)

// ObjectsOption configures an Objects.
type ObjectsOption func(*Objects)

// StrictBuckets makes operations on a bucket that was not created with
// CreateBucket fail with a *core.NotFoundError of kind "bucket", as S3
// does. Without it, buckets spring into existence on first use.
func StrictBuckets() ObjectsOption { return func(o *Objects) { o.strict = true } }

// Objects is an in-memory core.ObjectStore. ETags are the quoted MD5 of the
// body, as S3 gives for single-part uploads.
type Objects struct {
	strict  bool
	mu      sync.RWMutex
	buckets map[string]map[string]*object
}

type object struct {
	body        []byte
	contentType string
	etag        string
}

var _ core.ObjectStore = (*Objects)(nil)

// NewObjects returns an empty object store.
func NewObjects(opts ...ObjectsOption) *Objects {
	o := &Objects{buckets: map[string]map[string]*object{}}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// CreateBucket creates a bucket; creating an existing one succeeds.
func (o *Objects) CreateBucket(name string) error {
	if name == "" {
		return validation("empty bucket name")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buckets[name] == nil {
		o.buckets[name] = map[string]*object{}
	}
	return nil
}

// bucketLocked returns the bucket; nil with a nil error when it is absent
// and the store is not strict. With create, an absent bucket is created
// (caller holds the write lock).
func (o *Objects) bucketLocked(name string, create bool) (map[string]*object, error) {
	if b := o.buckets[name]; b != nil {
		return b, nil
	}
	if o.strict {
		return nil, &core.NotFoundError{Kind: "bucket", Name: name}
	}
	if name == "" {
		return nil, validation("empty bucket name")
	}
	if !create {
		return nil, nil
	}
	b := map[string]*object{}
	o.buckets[name] = b
	return b, nil
}

// Put implements core.ObjectStore.
func (o *Objects) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return validation("empty object key")
	}
	sum := md5.Sum(body)
	obj := &object{body: bytes.Clone(body), contentType: contentType, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	o.mu.Lock()
	defer o.mu.Unlock()
	b, err := o.bucketLocked(bucket, true)
	if err != nil {
		return err
	}
	b[key] = obj
	return nil
}

func (o *Objects) lookup(ctx context.Context, bucket, key string) (*object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, err := o.bucketLocked(bucket, false)
	if err != nil {
		return nil, err
	}
	if obj := b[key]; obj != nil {
		return obj, nil
	}
	return nil, &core.NotFoundError{Kind: "object", Name: bucket + "/" + key}
}

// Get implements core.ObjectStore.
func (o *Objects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	obj, err := o.lookup(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(obj.body), nil
}

// Open implements core.ObjectStore. Stored bodies are never modified in
// place, so the reader needs no copy.
func (o *Objects) Open(ctx context.Context, bucket, key string) (io.ReadCloser, core.ObjectInfo, error) {
	obj, err := o.lookup(ctx, bucket, key)
	if err != nil {
		return nil, core.ObjectInfo{}, err
	}
	info := core.ObjectInfo{Key: key, Size: int64(len(obj.body)), ETag: obj.etag}
	return io.NopCloser(bytes.NewReader(obj.body)), info, nil
}

// ContentType returns the content type an object was stored with.
func (o *Objects) ContentType(ctx context.Context, bucket, key string) (string, error) {
	obj, err := o.lookup(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	return obj.contentType, nil
}

// Delete implements core.ObjectStore.
func (o *Objects) Delete(ctx context.Context, bucket, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b, err := o.bucketLocked(bucket, false)
	if err != nil {
		return err
	}
	delete(b, key)
	return nil
}

// List implements core.ObjectStore.
func (o *Objects) List(ctx context.Context, bucket, prefix string) ([]core.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, err := o.bucketLocked(bucket, false)
	if err != nil {
		return nil, err
	}
	var out []core.ObjectInfo
	for k, obj := range b {
		if strings.HasPrefix(k, prefix) {
			out = append(out, core.ObjectInfo{Key: k, Size: int64(len(obj.body)), ETag: obj.etag})
		}
	}
	slices.SortFunc(out, func(a, b core.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
