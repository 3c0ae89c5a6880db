package core_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestNewKey(t *testing.T) {
	tests := []struct {
		name                string
		typ, tenant, code   string
		wantPK, wantSK      string
		wantPart, wantInErr string
	}{
		{name: "ok", typ: "ORDER", tenant: "acme", code: "0001", wantPK: "ORDER#acme", wantSK: "ORDER#0001"},
		{name: "unicode", typ: "ORDER", tenant: "acme", code: "注文-1", wantPK: "ORDER#acme", wantSK: "ORDER#注文-1"},
		{name: "hash in code", typ: "ORDER", tenant: "acme", code: "a#b", wantPart: "code", wantInErr: "'#'"},
		{name: "at in code", typ: "ORDER", tenant: "acme", code: "a@1", wantPart: "code", wantInErr: "'@'"},
		{name: "hash in tenant", typ: "ORDER", tenant: "ac#me", code: "1", wantPart: "tenantCode"},
		{name: "empty type", typ: "", tenant: "acme", code: "1", wantPart: "type", wantInErr: "empty"},
		{name: "empty tenant", typ: "ORDER", tenant: "", code: "1", wantPart: "tenantCode"},
		{name: "empty code", typ: "ORDER", tenant: "acme", code: "", wantPart: "code"},
		{name: "upper-case tenant is lower-cased", typ: "ORDER", tenant: "ACME", code: "1", wantPK: "ORDER#acme", wantSK: "ORDER#1"},
		{name: "star in tenant", typ: "ORDER", tenant: "*", code: "1", wantPart: "tenantCode", wantInErr: "'*'"},
		{name: "space in tenant", typ: "ORDER", tenant: "ac me", code: "1", wantPart: "tenantCode", wantInErr: "white space"},
		{name: "control char", typ: "ORDER", tenant: "acme", code: "a\nb", wantPart: "code", wantInErr: "control"},
		{name: "invalid utf8", typ: "ORDER", tenant: "acme", code: "a\xffb", wantPart: "code", wantInErr: "UTF-8"},
		{name: "sk too long", typ: "ORDER", tenant: "acme", code: strings.Repeat("x", 1024), wantPart: "sk", wantInErr: "too long"},
		{name: "pk too long", typ: "ORDER", tenant: strings.Repeat("t", 2048), code: "1", wantPart: "pk", wantInErr: "2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := core.NewKey(tt.typ, tt.tenant, tt.code)
			if tt.wantPart == "" {
				if err != nil {
					t.Fatal(err)
				}
				if k.PK != tt.wantPK || k.SK != tt.wantSK {
					t.Fatalf("got %+v", k)
				}
				return
			}
			var ke *core.KeyError
			if !errors.As(err, &ke) || !errors.Is(err, core.ErrInvalidKey) {
				t.Fatalf("err = %v, want *KeyError", err)
			}
			if ke.Part != tt.wantPart || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("err = %v (part %q), want part %q containing %q", err, ke.Part, tt.wantPart, tt.wantInErr)
			}
		})
	}
}

func TestVersionedSKRoundTrip(t *testing.T) {
	for _, v := range []int64{1, 9, 10, 99, 100, 101, 12345, core.MaxVersion} {
		sk, err := core.VersionedSK("ORDER#1", v)
		if err != nil {
			t.Fatal(err)
		}
		base, got, err := core.ParseVersionedSK(sk)
		if err != nil || base != "ORDER#1" || got != v {
			t.Fatalf("ParseVersionedSK(%q) = %q, %d, %v", sk, base, got, err)
		}
		if core.BaseSK(sk) != "ORDER#1" || core.EntityID("ORDER#acme", sk) != "ORDER#acme#ORDER#1" {
			t.Fatalf("BaseSK/EntityID of %q wrong", sk)
		}
	}
	for _, v := range []int64{0, -1, core.MaxVersion + 1} {
		if _, err := core.VersionedSK("ORDER#1", v); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("VersionedSK(%d) err = %v", v, err)
		}
	}
	if _, err := core.VersionedSK("ORDER#1@2", 3); !errors.Is(err, core.ErrInvalidKey) {
		t.Errorf("double version accepted: %v", err)
	}
}

func TestVersionOrderIsSortOrder(t *testing.T) {
	var sks []string
	for v := int64(1); v <= 1001; v++ {
		sk, _ := core.VersionedSK("ORDER#1", v)
		sks = append(sks, sk)
	}
	if !sort.StringsAreSorted(sks) {
		t.Fatal("versioned sort keys do not sort in version order")
	}
	for _, sk := range sks {
		if !strings.HasPrefix(sk, core.VersionPrefix("ORDER#1")) {
			t.Fatalf("%q lacks the version prefix", sk)
		}
	}
}

func TestParseVersionedSK(t *testing.T) {
	tests := []struct {
		sk      string
		base    string
		version int64
		bad     bool
	}{
		{sk: "ORDER#1@7", base: "ORDER#1", version: 7},
		{sk: "ORDER#1@0000000007", base: "ORDER#1", version: 7},
		{sk: "ORDER#1@123", base: "ORDER#1", version: 123},
		{sk: "ORDER#1", bad: true},
		{sk: "ORDER#1@", bad: true},
		{sk: "@1", bad: true},
		{sk: "ORDER#1@0", bad: true},
		{sk: "ORDER#1@-1", bad: true},
		{sk: "ORDER#1@1x", bad: true},
		{sk: "ORDER#1@1@2", bad: true},
		{sk: "ORDER#1@99999999999999999999", bad: true},
	}
	for _, tt := range tests {
		base, v, err := core.ParseVersionedSK(tt.sk)
		if tt.bad {
			if !errors.Is(err, core.ErrInvalidKey) {
				t.Errorf("%q: err = %v, want ErrInvalidKey", tt.sk, err)
			}
			continue
		}
		if err != nil || base != tt.base || v != tt.version {
			t.Errorf("%q: got %q %d %v", tt.sk, base, v, err)
		}
	}
}

func TestKeyParts(t *testing.T) {
	if tc, err := core.TenantCodeOf("ORDER#acme"); err != nil || tc != "acme" {
		t.Errorf("TenantCodeOf = %q, %v", tc, err)
	}
	for _, pk := range []string{"ORDER", "ORDER#", ""} {
		if _, err := core.TenantCodeOf(pk); !errors.Is(err, core.ErrInvalidKey) {
			t.Errorf("TenantCodeOf(%q) err = %v", pk, err)
		}
	}
	if got := core.CodeOf("ORDER#2024#7@0000000003"); got != "2024#7" {
		t.Errorf("CodeOf = %q", got)
	}
	if got := core.TypeOf("ORDER#7@0000000003"); got != "ORDER" {
		t.Errorf("TypeOf = %q", got)
	}
	if k, err := core.JoinKey("A", "b", "c"); err != nil || k != "A#b#c" {
		t.Errorf("JoinKey = %q, %v", k, err)
	}
	if _, err := core.JoinKey(); err == nil {
		t.Error("JoinKey() accepted no parts")
	}
	if sk, err := core.NewSK("ORDER", "2024", "7"); err != nil || sk != "ORDER#2024#7" {
		t.Errorf("NewSK = %q, %v", sk, err)
	}
}

func TestValidateEntityKey(t *testing.T) {
	tests := []struct {
		key  core.Key
		part string
	}{
		{key: core.Key{PK: "ORDER#acme", SK: "ORDER#1"}},
		{key: core.Key{PK: "ORDER#acme", SK: "ORDER#2024#1"}},
		{key: core.Key{PK: "ORDER", SK: "ORDER#1"}, part: "pk"},
		{key: core.Key{PK: "ORDER##acme", SK: "ORDER#1"}, part: "pk"},
		// The rule NewKey applies, for raw keys too.
		{key: core.Key{PK: "PRODUCT#ac#me", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "PRODUCT#ACME", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "PRODUCT#Acme", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "PRODUCT#a*", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "PRODUCT#a b", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "#acme", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "PRODUCT#acme@1", SK: "PRODUCT#1"}, part: "pk"},
		{key: core.Key{PK: "PRODUCT#émile", SK: "PRODUCT#1"}},
		{key: core.Key{PK: "ORDER#acme", SK: "ORDER#1@2"}, part: "sk"},
		{key: core.Key{PK: "ORDER#acme", SK: ""}, part: "sk"},
		{key: core.Key{PK: "ORDER#acme", SK: "ORDER#1#"}, part: "sk"},
		{key: core.Key{PK: "ORDER#acme", SK: "ORDER#\t"}, part: "sk"},
		{key: core.Key{PK: "ORDER#acme", SK: "S#" + strings.Repeat("x", 1020)}, part: "sk"},
	}
	for _, tt := range tests {
		err := core.ValidateEntityKey(tt.key)
		var ke *core.KeyError
		switch {
		case tt.part == "" && err != nil:
			t.Errorf("%+v: %v", tt.key, err)
		case tt.part != "" && (!errors.As(err, &ke) || ke.Part != tt.part):
			t.Errorf("%+v: err = %v, want part %s", tt.key, err, tt.part)
		}
	}
}

func ExampleVersionedSK() {
	k, _ := core.NewKey("ORDER", "acme", "0001")
	sk, _ := core.VersionedSK(k.SK, 12)
	base, v, _ := core.ParseVersionedSK(sk)
	fmt.Println(k.PK, k.SK)
	fmt.Println(sk)
	fmt.Println(base, v, core.EntityID(k.PK, sk))
	// Output:
	// ORDER#acme ORDER#0001
	// ORDER#0001@0000000012
	// ORDER#0001 12 ORDER#acme#ORDER#0001
}

func FuzzParseVersionedSK(f *testing.F) {
	for _, s := range []string{"ORDER#1@7", "ORDER#1@0000000007", "A@", "@1", "A@1@2", "A#b@99999999999999999999", "x@-1", "é@01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sk string) {
		base, v, err := core.ParseVersionedSK(sk)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidKey) {
				t.Fatalf("%q: error %v is not ErrInvalidKey", sk, err)
			}
			return
		}
		if v < 1 || base == "" || strings.Contains(base, "@") || core.BaseSK(sk) != base {
			t.Fatalf("%q parsed as %q %d", sk, base, v)
		}
		if v <= core.MaxVersion {
			again, err := core.VersionedSK(base, v)
			if err != nil {
				t.Fatalf("%q: VersionedSK(%q, %d): %v", sk, base, v, err)
			}
			b2, v2, err := core.ParseVersionedSK(again)
			if err != nil || b2 != base || v2 != v {
				t.Fatalf("%q: round trip %q -> %q %d %v", sk, again, b2, v2, err)
			}
		}
	})
}

// TestKeyRuleAgreesWithNewKey: a raw key passes ValidateEntityKey exactly
// when NewKey builds the same key from its parts.
func TestKeyRuleAgreesWithNewKey(t *testing.T) {
	for _, tenant := range []string{"acme", "ACME", "ac#me", "a@b", "", "x*", "a b", "émile", "Émile"} {
		raw := core.Key{PK: "P#" + tenant, SK: "P#1"}
		built, err := core.NewKey("P", tenant, "1")
		rawErr := core.ValidateEntityKey(raw)
		if (rawErr == nil) != (err == nil && built == raw) {
			t.Errorf("tenant %q: ValidateEntityKey(%q) = %v, NewKey = %+v, %v", tenant, raw.PK, rawErr, built, err)
		}
	}
}

func TestValidateTenantCodeSuggestsLowerCase(t *testing.T) {
	err := core.ValidateTenantCode("ACME")
	var ke *core.KeyError
	if !errors.As(err, &ke) || ke.Part != "tenantCode" || !strings.Contains(err.Error(), `"acme"`) {
		t.Fatalf("err = %v, want a *KeyError suggesting \"acme\"", err)
	}
	if err := core.ValidateTenantCode("acme-01"); err != nil {
		t.Fatal(err)
	}
}
