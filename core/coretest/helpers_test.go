package coretest

import (
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestEqualValue(t *testing.T) {
	ss := func(v ...string) core.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
	bs := func(v ...[]byte) core.AttributeValue { return &types.AttributeValueMemberBS{Value: v} }
	l := func(v ...core.AttributeValue) core.AttributeValue { return &types.AttributeValueMemberL{Value: v} }
	m := func(k string, v core.AttributeValue) core.AttributeValue {
		return &types.AttributeValueMemberM{Value: map[string]core.AttributeValue{k: v}}
	}
	cases := []struct {
		name string
		a, b core.AttributeValue
		want bool
	}{
		{"same string", s("a"), s("a"), true},
		{"string vs number", s("1"), n("1"), false},
		{"sets ignore order", ss("a", "b"), ss("b", "a"), true},
		{"sets differ", ss("a", "b"), ss("a", "c"), false},
		{"binary sets ignore order", bs([]byte{1}, []byte{2}), bs([]byte{2}, []byte{1}), true},
		{"lists keep order", l(s("a"), s("b")), l(s("b"), s("a")), false},
		{"nested maps", m("k", l(n("1"))), m("k", l(n("1"))), true},
		{"nested maps differ", m("k", l(n("1"))), m("k", l(n("2"))), false},
		{"nil", nil, s("a"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := equalValue(c.a, c.b); got != c.want {
				t.Fatalf("equalValue(%s, %s) = %v", fmtValue(c.a), fmtValue(c.b), got)
			}
		})
	}
}

// Names must suit every resource the suites create: S3 buckets are the
// strictest (3-63 lowercase letters, digits, dots and hyphens).
func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	seen := map[string]bool{}
	for range 100 {
		name := uniqueName("ct-objects")
		if !valid.MatchString(name) || seen[name] {
			t.Fatalf("name %q invalid or repeated", name)
		}
		seen[name] = true
	}
}
