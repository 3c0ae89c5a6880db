package memory

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// normalizeNumber validates a DynamoDB number and returns it in the plain
// form DynamoDB stores: no exponent, no leading or trailing zeros, no plus
// sign. At most 38 significant digits are allowed.
func normalizeNumber(in string) (string, error) {
	s := in
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	digits := make([]byte, 0, len(s))
	point := -1
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if point >= 0 {
				return "", fmt.Errorf("invalid number %q", in)
			}
			point = len(digits)
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		digits = append(digits, c)
	}
	if len(digits) == 0 {
		return "", fmt.Errorf("invalid number %q", in)
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return "", fmt.Errorf("invalid number %q", in)
		}
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return "", fmt.Errorf("invalid number %q", in)
		}
		exp = e
	}
	if point < 0 {
		point = len(digits)
	}
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	digits = digits[lead:]
	point -= lead
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		return "0", nil
	}
	if len(digits) > 38 {
		return "", fmt.Errorf("number %q has more than 38 significant digits", in)
	}
	point += exp
	if point-1 > 125 || point-1 < -130 {
		return "", fmt.Errorf("number %q is out of range", in)
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case point <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.Write(digits)
	case point >= len(digits):
		b.Write(digits)
		b.WriteString(strings.Repeat("0", point-len(digits)))
	default:
		b.Write(digits[:point])
		b.WriteByte('.')
		b.Write(digits[point:])
	}
	return b.String(), nil
}

// compareNumbers compares two valid DynamoDB numbers numerically.
func compareNumbers(a, b string) int {
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	x, okx := new(big.Rat).SetString(a)
	y, oky := new(big.Rat).SetString(b)
	if !okx || !oky {
		return strings.Compare(a, b)
	}
	return x.Cmp(y)
}

// addNumber returns the DynamoDB number n + delta.
func addNumber(n string, delta int64) (string, error) {
	if x, err := strconv.ParseInt(n, 10, 64); err == nil {
		sum := x + delta
		if (delta > 0 && sum > x) || (delta < 0 && sum < x) || delta == 0 {
			return strconv.FormatInt(sum, 10), nil
		}
	}
	x, ok := new(big.Rat).SetString(n)
	if !ok {
		return "", fmt.Errorf("invalid number %q", n)
	}
	x.Add(x, new(big.Rat).SetInt64(delta))
	return normalizeNumber(x.FloatString(40))
}

// validateItem checks that item is storable and returns a normalized deep
// copy of it and its key.
func validateItem(item core.Item) (core.Item, core.Key, error) {
	k, err := itemKey(item)
	if err != nil {
		return nil, k, err
	}
	out := make(core.Item, len(item))
	for name, v := range item {
		if name == "" {
			return nil, k, validation("empty attribute name")
		}
		c, err := normalizeValue(v, name)
		if err != nil {
			return nil, k, err
		}
		out[name] = c
	}
	return out, k, nil
}

// itemKey extracts the key of an item, checking its attributes.
func itemKey(item core.Item) (core.Key, error) {
	pk, ok1 := item["pk"].(*types.AttributeValueMemberS)
	sk, ok2 := item["sk"].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return core.Key{}, validation("item needs string attributes pk and sk")
	}
	k := core.Key{PK: pk.Value, SK: sk.Value}
	return k, validateKey(k)
}

func validateKey(k core.Key) error {
	if k.PK == "" || k.SK == "" {
		return validation(fmt.Sprintf("key attributes must be non-empty strings (pk %q, sk %q)", k.PK, k.SK))
	}
	if len(k.PK) > 2048 || len(k.SK) > 1024 {
		return validation("key attribute too long")
	}
	return nil
}

func validation(problem string) error {
	return &core.ValidationError{Problems: []string{problem}}
}

// normalizeValue validates v and returns a deep copy with numbers
// normalized. path names v in error messages.
func normalizeValue(v core.AttributeValue, path string) (core.AttributeValue, error) {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: x.Value}, nil
	case *types.AttributeValueMemberN:
		n, err := normalizeNumber(x.Value)
		if err != nil {
			return nil, validation(path + ": " + err.Error())
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: bytes.Clone(nonNil(x.Value))}, nil
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: x.Value}, nil
	case *types.AttributeValueMemberNULL:
		if !x.Value {
			return nil, validation(path + ": NULL must be true")
		}
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case *types.AttributeValueMemberSS:
		if err := checkSet(x.Value, path); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberSS{Value: slices.Clone(x.Value)}, nil
	case *types.AttributeValueMemberNS:
		out := make([]string, len(x.Value))
		for i, e := range x.Value {
			n, err := normalizeNumber(e)
			if err != nil {
				return nil, validation(path + ": " + err.Error())
			}
			out[i] = n
		}
		if err := checkSet(out, path); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberNS{Value: out}, nil
	case *types.AttributeValueMemberBS:
		strs := make([]string, len(x.Value))
		out := make([][]byte, len(x.Value))
		for i, e := range x.Value {
			strs[i] = string(e)
			out[i] = bytes.Clone(nonNil(e))
		}
		if err := checkSet(strs, path); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberBS{Value: out}, nil
	case *types.AttributeValueMemberL:
		out := make([]core.AttributeValue, len(x.Value))
		for i, e := range x.Value {
			c, err := normalizeValue(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case *types.AttributeValueMemberM:
		out := make(map[string]core.AttributeValue, len(x.Value))
		for k, e := range x.Value {
			c, err := normalizeValue(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	case nil:
		return nil, validation(path + ": nil attribute value")
	}
	return nil, validation(fmt.Sprintf("%s: unsupported attribute value %T", path, v))
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func checkSet(members []string, path string) error {
	if len(members) == 0 {
		return validation(path + ": empty set")
	}
	seen := make(map[string]struct{}, len(members))
	for _, m := range members {
		if _, dup := seen[m]; dup {
			return validation(path + ": set has duplicates")
		}
		seen[m] = struct{}{}
	}
	return nil
}

// cloneItem deep-copies a stored (already valid) item.
func cloneItem(it core.Item) core.Item {
	if it == nil {
		return nil
	}
	out := make(core.Item, len(it))
	for k, v := range it {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v core.AttributeValue) core.AttributeValue {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: x.Value}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: x.Value}
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: bytes.Clone(x.Value)}
	case *types.AttributeValueMemberBOOL:
		return &types.AttributeValueMemberBOOL{Value: x.Value}
	case *types.AttributeValueMemberNULL:
		return &types.AttributeValueMemberNULL{Value: x.Value}
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: slices.Clone(x.Value)}
	case *types.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: slices.Clone(x.Value)}
	case *types.AttributeValueMemberBS:
		out := make([][]byte, len(x.Value))
		for i, e := range x.Value {
			out[i] = bytes.Clone(e)
		}
		return &types.AttributeValueMemberBS{Value: out}
	case *types.AttributeValueMemberL:
		out := make([]core.AttributeValue, len(x.Value))
		for i, e := range x.Value {
			out[i] = cloneValue(e)
		}
		return &types.AttributeValueMemberL{Value: out}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: cloneItem(x.Value)}
	}
	return v
}

// sameItem reports whether two stored items hold the same data.
func sameItem(a, b core.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !core.AttributeValuesEqual(v, w) {
			return false
		}
	}
	return true
}
