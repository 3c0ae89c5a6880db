package memory

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

func TestNormalizeNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"+7", "7"}, {"007", "7"}, {"1.50", "1.5"}, {"-1.500", "-1.5"},
		{".5", "0.5"}, {"5.", "5"}, {"1e2", "100"}, {"1.5E+3", "1500"}, {"15e-3", "0.015"},
		{"0.000", "0"}, {"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"1e125", "1" + strings.Repeat("0", 125)}, {"1e-130", "0." + strings.Repeat("0", 129) + "1"},
		{"", "!"}, {"-", "!"}, {"abc", "!"}, {"1.2.3", "!"}, {"1e", "!"}, {"0x10", "!"}, {"1/2", "!"},
		{"1 ", "!"}, {"1e126", "!"}, {"1e-131", "!"}, {"123456789012345678901234567890123456789", "!"},
	}
	for _, c := range cases {
		got, err := normalizeNumber(c.in)
		if c.want == "!" {
			if err == nil {
				t.Errorf("normalizeNumber(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("normalizeNumber(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestAddAndCompareNumbers(t *testing.T) {
	adds := []struct {
		n    string
		d    int64
		want string
	}{
		{"0", 1, "1"}, {"-1", 1, "0"}, {"1.5", 2, "3.5"}, {"9223372036854775807", 1, "9223372036854775808"},
		{"-9223372036854775808", -1, "-9223372036854775809"}, {"0.001", -1, "-0.999"},
	}
	for _, c := range adds {
		if got, err := addNumber(c.n, c.d); err != nil || got != c.want {
			t.Errorf("addNumber(%s, %d) = %s, %v; want %s", c.n, c.d, got, err, c.want)
		}
	}
	cmps := []struct {
		a, b string
		want int
	}{
		{"1", "2", -1}, {"2", "1", 1}, {"3", "3", 0}, {"1.5", "1.50", 0}, {"-0.1", "0", -1},
		{"99999999999999999999", "100000000000000000000", -1}, {"1e3", "1000", 0},
	}
	for _, c := range cmps {
		if got := compareNumbers(c.a, c.b); got != c.want {
			t.Errorf("compareNumbers(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestValidateItem(t *testing.T) {
	key := core.Item{"pk": &types.AttributeValueMemberS{Value: "p"}, "sk": &types.AttributeValueMemberS{Value: "s"}}
	with := func(name string, v core.AttributeValue) core.Item {
		out := core.Item{name: v}
		for k, x := range key {
			out[k] = x
		}
		return out
	}
	bad := map[string]core.Item{
		"nil value":         with("a", nil),
		"empty name":        with("", &types.AttributeValueMemberS{Value: "x"}),
		"bad number":        with("a", &types.AttributeValueMemberN{Value: "x"}),
		"empty string set":  with("a", &types.AttributeValueMemberSS{}),
		"duplicate set":     with("a", &types.AttributeValueMemberSS{Value: []string{"x", "x"}}),
		"duplicate numbers": with("a", &types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}),
		"NULL false":        with("a", &types.AttributeValueMemberNULL{}),
		"nested bad":        with("a", &types.AttributeValueMemberL{Value: []core.AttributeValue{&types.AttributeValueMemberN{Value: "?"}}}),
	}
	for name, item := range bad {
		if _, _, err := validateItem(item); !errors.Is(err, core.ErrValidation) {
			t.Errorf("%s: %v, want ErrValidation", name, err)
		}
	}
	got, _, err := validateItem(with("a", &types.AttributeValueMemberN{Value: "1.50"}))
	if err != nil || got["a"].(*types.AttributeValueMemberN).Value != "1.5" {
		t.Errorf("number not normalized: %v", err)
	}
}
