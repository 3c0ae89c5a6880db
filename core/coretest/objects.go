package coretest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
)

// ObjectStoreHarness adapts an ObjectStore implementation to TestObjectStore.
type ObjectStoreHarness struct {
	// New returns the store under test. Required.
	New func(t *testing.T) core.ObjectStore
	// CreateBucket provisions an empty bucket. Required.
	CreateBucket func(t *testing.T, store core.ObjectStore, bucket string)
}

// TestObjectStore runs the ObjectStore conformance suite against h.
func TestObjectStore(t *testing.T, h ObjectStoreHarness) {
	t.Helper()
	if h.New == nil || h.CreateBucket == nil {
		t.Fatal("coretest: ObjectStoreHarness needs New and CreateBucket")
	}
	ctx := context.Background()
	st := h.New(t)
	bucket := uniqueName("ct-objects")
	h.CreateBucket(t, st, bucket)
	put := func(t *testing.T, key string, body []byte) {
		t.Helper()
		if err := st.Put(ctx, bucket, key, body, "application/octet-stream"); err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
	}

	t.Run("put then get and open", func(t *testing.T) {
		body := []byte("id,name\n1,Ada\n")
		if err := st.Put(ctx, bucket, "in/a.csv", body, "text/csv"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := st.Get(ctx, bucket, "in/a.csv")
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("Get: %q, %v; want %q", got, err, body)
		}
		rc, info, err := st.Open(ctx, bucket, "in/a.csv")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer rc.Close()
		streamed, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(streamed, body) {
			t.Fatalf("Open read: %q, %v; want %q", streamed, err, body)
		}
		if info.Key != "in/a.csv" || info.Size != int64(len(body)) || info.ETag == "" {
			t.Fatalf("Open info %+v: want key in/a.csv, size %d, an ETag", info, len(body))
		}
	})
	t.Run("binary, empty and 3 MB bodies round-trip", func(t *testing.T) {
		big := bytes.Repeat([]byte{0, 1, 2, 0xff}, 3<<18)
		for name, body := range map[string][]byte{"binary": {0, 0xff, '\n', 0}, "empty": {}, "3MB": big} {
			k := "bodies/" + name
			put(t, k, body)
			got, err := st.Get(ctx, bucket, k)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s: got %d bytes, %v; want %d", name, len(got), err, len(body))
			}
		}
	})
	t.Run("put replaces and changes the ETag", func(t *testing.T) {
		put(t, "replace", []byte("one"))
		_, first, err := openClose(ctx, st, bucket, "replace")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		put(t, "replace", []byte("second"))
		got, err := st.Get(ctx, bucket, "replace")
		if err != nil || string(got) != "second" {
			t.Fatalf("Get after replace: %q, %v", got, err)
		}
		_, second, err := openClose(ctx, st, bucket, "replace")
		if err != nil || second.ETag == first.ETag || second.Size != 6 {
			t.Fatalf("info after replace %+v (before %+v), %v", second, first, err)
		}
	})
	t.Run("keys with unusual characters", func(t *testing.T) {
		for _, k := range []string{"a b/c+d%20e.txt", "ünïcödé/ключ", "x=y&z?q#frag", "deep/a/b/c/d/e"} {
			put(t, k, []byte(k))
			got, err := st.Get(ctx, bucket, k)
			if err != nil || string(got) != k {
				t.Fatalf("key %q: got %q, %v", k, got, err)
			}
		}
	})
	t.Run("missing object is ErrNotFound", func(t *testing.T) {
		_, err := st.Get(ctx, bucket, "no/such/key")
		mustNotFound(t, err, "Get")
		_, _, err = st.Open(ctx, bucket, "no/such/key")
		mustNotFound(t, err, "Open")
	})
	t.Run("delete removes; deleting a missing object succeeds", func(t *testing.T) {
		put(t, "del/x", []byte("x"))
		if err := st.Delete(ctx, bucket, "del/x"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := st.Get(ctx, bucket, "del/x")
		mustNotFound(t, err, "Get after Delete")
		if err := st.Delete(ctx, bucket, "del/x"); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
	})
	t.Run("list by prefix in key order", func(t *testing.T) {
		keys := []string{"list/b", "list/a/2", "list/a/1", "list/c", "lisz", "other/list/x", "list/é", "list/Z"}
		for i, k := range keys {
			put(t, k, bytes.Repeat([]byte("x"), i))
		}
		infos, err := st.List(ctx, bucket, "list/")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var got []string
		for _, in := range infos {
			got = append(got, in.Key)
			if want := int64(slices.Index(keys, in.Key)); in.Size != want {
				t.Errorf("%s: size %d, want %d", in.Key, in.Size, want)
			}
		}
		want := []string{"list/Z", "list/a/1", "list/a/2", "list/b", "list/c", "list/é"}
		if !slices.Equal(got, want) {
			t.Fatalf("List: got %q, want %q", got, want)
		}
		infos, err = st.List(ctx, bucket, "nothing/here/")
		if err != nil || len(infos) != 0 {
			t.Fatalf("List of an empty prefix: %v, %v", infos, err)
		}
	})
	t.Run("list past one page of 1000 keys", func(t *testing.T) {
		if testing.Short() {
			t.Skip("coretest: skipped in -short mode")
		}
		for i := range 1003 {
			put(t, fmt.Sprintf("many/%05d", i), nil)
		}
		infos, err := st.List(ctx, bucket, "many/")
		if err != nil || len(infos) != 1003 || infos[1002].Key != "many/01002" {
			t.Fatalf("List: %d objects, %v; want 1003", len(infos), err)
		}
	})
	t.Run("canceled context fails with context.Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		wantErrIs(t, st.Put(cctx, bucket, "ctx", []byte("x"), ""), context.Canceled, "Put")
		_, err := st.Get(cctx, bucket, "ctx")
		wantErrIs(t, err, context.Canceled, "Get")
		_, err = st.List(cctx, bucket, "")
		wantErrIs(t, err, context.Canceled, "List")
		wantErrIs(t, st.Delete(cctx, bucket, "ctx"), context.Canceled, "Delete")
	})
}

func openClose(ctx context.Context, st core.ObjectStore, bucket, key string) ([]byte, core.ObjectInfo, error) {
	rc, info, err := st.Open(ctx, bucket, key)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, info, err
}
