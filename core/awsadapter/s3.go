package awsadapter

import (
	"bytes"
	"context"
	"io"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stepcqrs/stepcqrs/core"
)

// S3API is the part of *s3.Client that ObjectStore calls.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// ObjectStore is core.ObjectStore on Amazon S3.
//
// On AWS, S3 answers a read of a missing key with 403 AccessDenied instead
// of 404 NoSuchKey when the caller lacks s3:ListBucket on the bucket; grant
// it so that a missing object gives core.ErrNotFound.
type ObjectStore struct {
	client S3API
}

var _ core.ObjectStore = (*ObjectStore)(nil)

// NewObjectStore returns an ObjectStore that calls client, typically an
// *s3.Client. Against moto or LocalStack build the client with path-style
// addressing (see NewS3Client).
func NewObjectStore(client S3API) *ObjectStore { return &ObjectStore{client: client} }

// NewS3Client returns an S3 client of cfg; pathStyle selects path-style
// addressing (http://host/bucket/key), which endpoints such as moto and
// LocalStack need when they are reached by IP or localhost.
func NewS3Client(cfg aws.Config, pathStyle bool) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

func s3Err(bucket, key string, err error) error {
	switch apiCode(err) {
	case "NoSuchKey", "NotFound":
		return notFound("object", bucket+"/"+key, err)
	case "NoSuchBucket":
		return notFound("bucket", bucket, err)
	}
	return transient("s3", err)
}

// Put implements core.ObjectStore.
func (o *ObjectStore) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	_, err := o.client.PutObject(ctx, in)
	return s3Err(bucket, key, err)
}

// Get implements core.ObjectStore.
func (o *ObjectStore) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	rc, _, err := o.Open(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Open implements core.ObjectStore.
func (o *ObjectStore) Open(ctx context.Context, bucket, key string) (io.ReadCloser, core.ObjectInfo, error) {
	out, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, core.ObjectInfo{}, s3Err(bucket, key, err)
	}
	info := core.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag)}
	return out.Body, info, nil
}

// Delete implements core.ObjectStore.
func (o *ObjectStore) Delete(ctx context.Context, bucket, key string) error {
	_, err := o.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if apiCode(err) == "NoSuchKey" {
		return nil
	}
	return s3Err(bucket, key, err)
}

// List implements core.ObjectStore, reading every page of ListObjectsV2.
func (o *ObjectStore) List(ctx context.Context, bucket, prefix string) ([]core.ObjectInfo, error) {
	var infos []core.ObjectInfo
	p := s3.NewListObjectsV2Paginator(o.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3Err(bucket, prefix, err)
		}
		for _, obj := range out.Contents {
			infos = append(infos, core.ObjectInfo{Key: aws.ToString(obj.Key), Size: aws.ToInt64(obj.Size), ETag: aws.ToString(obj.ETag)})
		}
	}
	// S3 lists in UTF-8 binary order already; sorting keeps the contract on
	// endpoints that do not.
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}
