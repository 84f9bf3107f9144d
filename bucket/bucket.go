// Package bucket keeps attachment bytes in an S3-compatible bucket (MinIO,
// a cloud object store) through minio-go: the one package that imports it.
package bucket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"opsbot/configs"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Bucket is one bucket of an S3-compatible store.
type Bucket struct {
	client *minio.Client
	name   string
}

// New connects to the bucket cfg names; it does not call the store yet.
func New(cfg configs.S3) (*Bucket, error) {
	if !cfg.Enabled() || cfg.Bucket == "" {
		return nil, errors.New("bucket: no endpoint or bucket configured")
	}
	region := cfg.Region
	if region == "" {
		// A region given up front saves the location lookup, which
		// MinIO and most compatible stores answer with this anyway.
		region = "us-east-1"
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       !cfg.Insecure,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket: %w", err)
	}
	return &Bucket{client: c, name: cfg.Bucket}, nil
}

// Check reports whether the bucket exists and the keys are accepted.
func (b *Bucket) Check(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.name)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", b.name, err)
	}
	if !ok {
		return fmt.Errorf("bucket %s does not exist", b.name)
	}
	return nil
}

// Put stores data under key.
func (b *Bucket) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := b.client.PutObject(ctx, b.name, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("bucket: put %s: %w", key, err)
	}
	return nil
}

// Get reads the object under key, at most limit bytes.
func (b *Bucket) Get(ctx context.Context, key string, limit int64) ([]byte, error) {
	obj, err := b.client.GetObject(ctx, b.name, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("bucket: get %s: %w", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, limit+1))
	if err != nil {
		return nil, fmt.Errorf("bucket: get %s: %w", key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("bucket: get %s: over %d bytes", key, limit)
	}
	return data, nil
}

// Delete removes the object under key; a missing one is not an error.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := b.client.RemoveObject(ctx, b.name, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("bucket: delete %s: %w", key, err)
	}
	return nil
}
