package command

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stepcqrs/stepcqrs/core"
)

// Offloaded attributes live at s3://{Config.Bucket}/{offloadPrefix}{table}/
// {pk}/{sk}/{random}.json. The random part keeps two racing writers of the
// same version from overwriting each other's object: the loser's row is
// never written, and its object is deleted. Data and history rows share the
// object of the command they come from (attributes of a version never
// change), so applying a command copies a reference, never the payload.
const offloadPrefix = "attributes/"

// offload stores attrs in the object store when their JSON is larger than
// the configured threshold and returns the s3:// reference, else "".
func (s *Service) offload(ctx context.Context, pk, sk string, attrs core.Attributes) (string, error) {
	if s.objects == nil || len(attrs) == 0 {
		return "", nil
	}
	body, err := json.Marshal(attrs)
	if err != nil {
		return "", &core.ValidationError{Problems: []string{"attributes: " + err.Error()}}
	}
	if len(body) <= s.cfg.OffloadThreshold() {
		return "", nil
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := offloadPrefix + s.commandTable + "/" + pk + "/" + sk + "/" + hex.EncodeToString(rnd[:]) + ".json"
	if err := s.objects.Put(ctx, s.cfg.Bucket(), key, body, "application/json"); err != nil {
		return "", fmt.Errorf("offload attributes of %s/%s: %w", pk, sk, err)
	}
	s.log.InfoContext(ctx, "attributes offloaded", "pk", pk, "sk", sk, "bytes", len(body))
	return "s3://" + s.cfg.Bucket() + "/" + key, nil
}

// parseRef splits s3://bucket/key.
func parseRef(ref string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(ref, "s3://")
	if ok {
		bucket, key, ok = strings.Cut(rest, "/")
	}
	if !ok || bucket == "" || key == "" {
		return "", "", &core.ValidationError{Problems: []string{fmt.Sprintf("attributes reference %q is not s3://bucket/key", ref)}}
	}
	return bucket, key, nil
}

func (s *Service) deleteOffloaded(ctx context.Context, ref string) {
	bucket, key, err := parseRef(ref)
	if err == nil {
		err = s.objects.Delete(ctx, bucket, key)
	}
	if err != nil {
		s.log.WarnContext(ctx, "orphaned offloaded attributes", "ref", ref, "err", err)
	}
}

// loadRef reads offloaded attributes back; numbers become json.Number, as
// for attributes stored in the row.
func (s *Service) loadRef(ctx context.Context, ref string) (core.Attributes, error) {
	if s.objects == nil {
		return nil, fmt.Errorf("attributes at %s: %w", ref, &core.ValidationError{Problems: []string{"no object store configured"}})
	}
	bucket, key, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	body, err := s.objects.Get(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("attributes at %s: %w", ref, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var attrs core.Attributes
	if err := dec.Decode(&attrs); err != nil {
		return nil, fmt.Errorf("attributes at %s: %w", ref, err)
	}
	return attrs, nil
}

// resolveCommand replaces an attributes reference by the attributes.
func (s *Service) resolveCommand(ctx context.Context, c *core.Command) error {
	if c == nil || c.AttributesRef == "" {
		return nil
	}
	a, err := s.loadRef(ctx, c.AttributesRef)
	if err != nil {
		return err
	}
	c.Attributes, c.AttributesRef = a, ""
	return nil
}

// resolveData replaces an attributes reference by the attributes.
func (s *Service) resolveData(ctx context.Context, d *core.Data) error {
	if d == nil || d.AttributesRef == "" {
		return nil
	}
	a, err := s.loadRef(ctx, d.AttributesRef)
	if err != nil {
		return err
	}
	d.Attributes, d.AttributesRef = a, ""
	return nil
}
