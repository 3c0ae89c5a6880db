package integrations

import (
	"context"
	"errors"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
)

// s3Integration is arn:aws:states:::aws-sdk:s3:getObject and putObject on
// a core.ObjectStore.
type s3Integration struct{ b Backends }

// objectKey reads the Bucket and Key parameters.
func objectKey(p map[string]any) (bucket, key string, err error) {
	bucket, key = str(p, "Bucket"), str(p, "Key")
	if bucket == "" || key == "" {
		return "", "", svcS3.fail("", "InvalidRequest", 400, "Bucket and Key are required")
	}
	return bucket, key, nil
}

// getObject reads an object: {"Body" (text), "ContentLength", "ETag", ...}.
func (s *s3Integration) getObject(ctx context.Context, req *interp.TaskRequest) (any, error) {
	p, err := params(req)
	if err != nil {
		return nil, err
	}
	bucket, key, err := objectKey(p)
	if err != nil {
		return nil, err
	}
	body, err := s.b.Objects.Get(ctx, bucket, key)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) {
			var nf *core.NotFoundError
			if errors.As(err, &nf) && nf.Kind == "bucket" {
				return nil, svcS3.fail("NoSuchBucketException", "NoSuchBucket", 404, "The specified bucket does not exist")
			}
			return nil, svcS3.fail("NoSuchKeyException", "NoSuchKey", 404, "The specified key does not exist.")
		}
		return nil, svcS3.portError(err, "", "")
	}
	contentType := "binary/octet-stream"
	if ct, ok := s.b.Objects.(interface {
		ContentType(ctx context.Context, bucket, key string) (string, error)
	}); ok {
		if t, err := ct.ContentType(ctx, bucket, key); err == nil && t != "" {
			contentType = t
		}
	}
	return map[string]any{
		"AcceptRanges":  "bytes",
		"Body":          string(body),
		"ContentLength": len(body),
		"ContentType":   contentType,
		"ETag":          `"` + md5Hex(string(body)) + `"`,
		"Metadata":      map[string]any{},
	}, nil
}

// putObject writes an object: a string Body as is, any other JSON value as
// its compact JSON text. It answers {"ETag"}.
func (s *s3Integration) putObject(ctx context.Context, req *interp.TaskRequest) (any, error) {
	p, err := params(req)
	if err != nil {
		return nil, err
	}
	bucket, key, err := objectKey(p)
	if err != nil {
		return nil, err
	}
	body, _ := messageBody(p["Body"])
	contentType := str(p, "ContentType")
	if contentType == "" {
		contentType = "binary/octet-stream"
	}
	if err := s.b.Objects.Put(ctx, bucket, key, []byte(body), contentType); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return nil, svcS3.fail("NoSuchBucketException", "NoSuchBucket", 404, "The specified bucket does not exist")
		}
		return nil, svcS3.portError(err, "", "")
	}
	return map[string]any{"ETag": `"` + md5Hex(body) + `"`}, nil
}
