package core

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key scheme. A partition key is TYPE#tenantCode, a sort key is TYPE#code
// (more #-separated parts are allowed, e.g. TYPE#year#code), and a command or
// history row appends @version to the sort key of the entity:
//
//	pk  ORDER#acme
//	sk  ORDER#0001                 data row
//	sk  ORDER#0001@0000000007      command row of version 7, history row of data version 7
//	id  ORDER#acme#ORDER#0001      the entity: pk#sk without version
//
// Versions in sort keys are zero-padded to VersionDigits digits so that the
// string order of sort keys (which DynamoDB uses) equals the numeric order of
// versions: "@0000000010" sorts after "@0000000009", where "@10" would sort
// before "@9". The latest command of an entity is therefore one descending
// Query with Limit 1, and version listings come back in version order.
// ParseVersionedSK also accepts unpadded versions ("ORDER#0001@7"), but the
// framework only ever writes the padded form.
const (
	// KeySeparator separates the parts of a pk or sk.
	KeySeparator = "#"
	// VersionSeparator separates the version from the sort key of a command
	// or history row.
	VersionSeparator = "@"
	// VersionDigits is the width versions are zero-padded to in sort keys.
	VersionDigits = 10
	// MaxVersion is the largest version a sort key can carry.
	MaxVersion int64 = 9_999_999_999
	// MaxPKBytes is DynamoDB's limit on a partition key (2048 bytes).
	MaxPKBytes = 2048
	// MaxSKBytes is DynamoDB's limit on a sort key (1024 bytes).
	MaxSKBytes = 1024
)

// Input versions of a command.
const (
	// VersionNew asks to create the entity: no version of it may exist; the
	// command gets version 1.
	VersionNew int64 = 0
	// VersionLatest asks to write on top of whatever version is the latest.
	VersionLatest int64 = -1
)

// ValidateKeyPart checks one part of a key (a type, tenant code or code):
// it must be non-empty valid UTF-8 without separators ('#', '@') or control
// characters. part names the part in the returned *KeyError.
func ValidateKeyPart(part, value string) error {
	if value == "" {
		return &KeyError{Part: part, Value: value, Reason: "empty"}
	}
	if !utf8.ValidString(value) {
		return &KeyError{Part: part, Value: value, Reason: "not valid UTF-8"}
	}
	for _, r := range value {
		switch {
		case r == '#':
			return &KeyError{Part: part, Value: value, Reason: "contains the key separator '#'"}
		case r == '@':
			return &KeyError{Part: part, Value: value, Reason: "contains the version separator '@'"}
		case unicode.IsControl(r):
			return &KeyError{Part: part, Value: value, Reason: "contains a control character"}
		}
	}
	return nil
}

// JoinKey joins validated parts with KeySeparator. It needs at least one
// part; every part must pass ValidateKeyPart.
func JoinKey(parts ...string) (string, error) {
	if len(parts) == 0 {
		return "", &KeyError{Part: "key", Reason: "no parts"}
	}
	for i, p := range parts {
		if err := ValidateKeyPart("part "+strconv.Itoa(i), p); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, KeySeparator), nil
}

// ValidateTenantCode checks a tenant code: a key part (see ValidateKeyPart)
// in lower case, without '*' or white space.
//
// Tenant codes are case-insensitive, and the framework has one spelling of
// each: lower case. NewPK and the InvokeResolver lower-case what they are
// given; a raw key or input that spells a tenant otherwise ("ACME") is
// refused with a *KeyError, rather than stored as a partition of its own
// that reads by "acme" would never find.
func ValidateTenantCode(t string) error {
	if err := ValidateKeyPart("tenantCode", t); err != nil {
		return err
	}
	if l := strings.ToLower(t); l != t {
		return &KeyError{Part: "tenantCode", Value: t, Reason: "not lower case (tenant codes are case-insensitive and written lower-case: " + strconv.Quote(l) + ")"}
	}
	for _, c := range t {
		switch {
		case c == '*':
			return &KeyError{Part: "tenantCode", Value: t, Reason: "contains '*'"}
		case unicode.IsSpace(c):
			return &KeyError{Part: "tenantCode", Value: t, Reason: "contains white space"}
		}
	}
	return nil
}

// NewPK builds the partition key TYPE#tenantCode. The tenant code is
// lower-cased first (see ValidateTenantCode).
func NewPK(typ, tenantCode string) (string, error) {
	if err := ValidateKeyPart("type", typ); err != nil {
		return "", err
	}
	tenantCode = strings.ToLower(tenantCode)
	if err := ValidateTenantCode(tenantCode); err != nil {
		return "", err
	}
	pk := typ + KeySeparator + tenantCode
	if len(pk) > MaxPKBytes {
		return "", &KeyError{Part: "pk", Value: pk, Reason: "longer than 2048 bytes"}
	}
	return pk, nil
}

// NewSK builds the sort key TYPE#code (TYPE#code1#code2… with more codes).
func NewSK(typ string, codes ...string) (string, error) {
	if err := ValidateKeyPart("type", typ); err != nil {
		return "", err
	}
	if len(codes) == 0 {
		return "", &KeyError{Part: "code", Reason: "empty"}
	}
	for _, c := range codes {
		if err := ValidateKeyPart("code", c); err != nil {
			return "", err
		}
	}
	sk := typ + KeySeparator + strings.Join(codes, KeySeparator)
	// Leave room for the version suffix so every valid sk can be versioned.
	if len(sk)+1+VersionDigits > MaxSKBytes {
		return "", &KeyError{Part: "sk", Value: sk, Reason: "too long to carry a version within 1024 bytes"}
	}
	return sk, nil
}

// NewKey builds the key of an entity: pk TYPE#tenantCode and sk TYPE#code.
// The tenant code is lower-cased (see NewPK).
func NewKey(typ, tenantCode, code string) (Key, error) {
	pk, err := NewPK(typ, tenantCode)
	if err != nil {
		return Key{}, err
	}
	sk, err := NewSK(typ, code)
	if err != nil {
		return Key{}, err
	}
	return Key{PK: pk, SK: sk}, nil
}

// validateComposite checks a whole pk or unversioned sk: non-empty parts
// separated by '#', no '@', no control characters, within max bytes.
func validateComposite(part, value string, max int) error {
	if value == "" {
		return &KeyError{Part: part, Value: value, Reason: "empty"}
	}
	if len(value) > max {
		return &KeyError{Part: part, Value: value, Reason: "longer than " + strconv.Itoa(max) + " bytes"}
	}
	for _, p := range strings.Split(value, KeySeparator) {
		if p == "" {
			return &KeyError{Part: part, Value: value, Reason: "has an empty part"}
		}
		if err := ValidateKeyPart(part, p); err != nil {
			ke := err.(*KeyError)
			ke.Value = value
			return ke
		}
	}
	return nil
}

// ValidatePK checks a partition key: exactly TYPE#tenantCode, as NewPK
// builds it, with a valid type and a valid, lower-case tenant code (see
// ValidateTenantCode). It is the one rule for every partition key that
// enters the framework, written or read: a raw "PRODUCT#ac#me" is refused
// as NewPK("PRODUCT", "ac#me") is.
func ValidatePK(pk string) error {
	if err := validateComposite("pk", pk, MaxPKBytes); err != nil {
		return err
	}
	typ, tenant, ok := strings.Cut(pk, KeySeparator)
	if !ok || strings.Contains(tenant, KeySeparator) {
		return &KeyError{Part: "pk", Value: pk, Reason: "must be TYPE#tenantCode (one '#'; tenant codes cannot contain '#')"}
	}
	if err := ValidateKeyPart("type", typ); err != nil {
		return err
	}
	if err := ValidateTenantCode(tenant); err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			return &KeyError{Part: "pk", Value: pk, Reason: "tenant code " + ke.Reason}
		}
		return err
	}
	return nil
}

// ValidateEntityKey checks the key of an entity (a data row): pk as
// ValidatePK requires, sk made of non-empty '#'-separated parts, without a
// version and short enough to carry one.
func ValidateEntityKey(k Key) error {
	if err := ValidatePK(k.PK); err != nil {
		return err
	}
	return validateComposite("sk", k.SK, MaxSKBytes-1-VersionDigits)
}

// VersionedSK returns sk@version with the version zero-padded to
// VersionDigits. sk must not carry a version already; version must be in
// 1..MaxVersion.
func VersionedSK(sk string, version int64) (string, error) {
	if strings.Contains(sk, VersionSeparator) {
		return "", &KeyError{Part: "sk", Value: sk, Reason: "already carries a version"}
	}
	if version < 1 || version > MaxVersion {
		return "", &KeyError{Part: "version", Value: strconv.FormatInt(version, 10), Reason: "out of range 1..9999999999"}
	}
	return sk + VersionSeparator + padVersion(version), nil
}

func padVersion(v int64) string {
	s := strconv.FormatInt(v, 10)
	if len(s) < VersionDigits {
		s = strings.Repeat("0", VersionDigits-len(s)) + s
	}
	return s
}

// VersionPrefix returns the prefix "sk@" shared by every versioned sort key
// of the entity sk, for begins-with queries.
func VersionPrefix(sk string) string { return sk + VersionSeparator }

// ParseVersionedSK splits a command or history sort key into the entity sk
// and the version. It accepts padded ("…@0000000007") and unpadded ("…@7")
// versions. A sort key without '@', with more than one '@', or with a
// version that is not a positive decimal number is a *KeyError.
func ParseVersionedSK(sk string) (base string, version int64, err error) {
	i := strings.Index(sk, VersionSeparator)
	if i < 0 {
		return "", 0, &KeyError{Part: "sk", Value: sk, Reason: "has no version"}
	}
	base, vs := sk[:i], sk[i+1:]
	if base == "" {
		return "", 0, &KeyError{Part: "sk", Value: sk, Reason: "empty before the version"}
	}
	if vs == "" || len(vs) > 19 || strings.TrimLeft(vs, "0123456789") != "" {
		return "", 0, &KeyError{Part: "sk", Value: sk, Reason: "version is not a decimal number"}
	}
	v, perr := strconv.ParseInt(vs, 10, 64)
	if perr != nil || v < 1 {
		return "", 0, &KeyError{Part: "sk", Value: sk, Reason: "version out of range"}
	}
	return base, v, nil
}

// BaseSK returns sk without its version suffix; an sk without one is
// returned as is.
func BaseSK(sk string) string {
	if i := strings.Index(sk, VersionSeparator); i >= 0 {
		return sk[:i]
	}
	return sk
}

// EntityID returns the id of the entity a key belongs to: pk#sk with any
// version removed from sk.
func EntityID(pk, sk string) string { return pk + KeySeparator + BaseSK(sk) }

// TenantCodeOf returns the tenant code of a partition key TYPE#tenantCode:
// the part after the last '#'. A pk without '#' or ending in '#' is a
// *KeyError.
func TenantCodeOf(pk string) (string, error) {
	i := strings.LastIndex(pk, KeySeparator)
	if i < 0 || i == len(pk)-1 {
		return "", &KeyError{Part: "pk", Value: pk, Reason: "has no tenant code (want TYPE#tenantCode)"}
	}
	return pk[i+1:], nil
}

// TypeOf returns the TYPE part of a pk or sk: everything before the first
// '#' (the whole key when it has none).
func TypeOf(key string) string {
	if i := strings.Index(key, KeySeparator); i >= 0 {
		return key[:i]
	}
	return BaseSK(key)
}

// CodeOf returns the code part of an entity sort key TYPE#code: everything
// after the first '#', without any version. An sk without '#' yields "".
func CodeOf(sk string) string {
	base := BaseSK(sk)
	if i := strings.Index(base, KeySeparator); i >= 0 {
		return base[i+1:]
	}
	return ""
}
