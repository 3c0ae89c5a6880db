package integrations

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// attrFromJSON converts a DynamoDB JSON attribute value ({"S": "x"},
// {"N": "1"}, {"M": {...}}, ...) as a state machine writes it into a
// core.AttributeValue.
func attrFromJSON(v any) (core.AttributeValue, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, fmt.Errorf("an attribute value must be an object with exactly one type key, got %s", describe(v))
	}
	for typ, x := range m {
		switch typ {
		case "S":
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("attribute value S must be a string")
			}
			return &types.AttributeValueMemberS{Value: s}, nil
		case "N":
			s, err := numberText(x)
			if err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberN{Value: s}, nil
		case "B":
			b, err := decodeBinary(x)
			if err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberB{Value: b}, nil
		case "BOOL":
			b, ok := x.(bool)
			if !ok {
				return nil, fmt.Errorf("attribute value BOOL must be a boolean")
			}
			return &types.AttributeValueMemberBOOL{Value: b}, nil
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}, nil
		case "SS", "NS", "BS":
			l, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("attribute value %s must be an array", typ)
			}
			switch typ {
			case "SS":
				out := make([]string, len(l))
				for i, e := range l {
					s, ok := e.(string)
					if !ok {
						return nil, fmt.Errorf("SS members must be strings")
					}
					out[i] = s
				}
				return &types.AttributeValueMemberSS{Value: out}, nil
			case "NS":
				out := make([]string, len(l))
				for i, e := range l {
					s, err := numberText(e)
					if err != nil {
						return nil, err
					}
					out[i] = s
				}
				return &types.AttributeValueMemberNS{Value: out}, nil
			default:
				out := make([][]byte, len(l))
				for i, e := range l {
					b, err := decodeBinary(e)
					if err != nil {
						return nil, err
					}
					out[i] = b
				}
				return &types.AttributeValueMemberBS{Value: out}, nil
			}
		case "L":
			l, ok := x.([]any)
			if !ok {
				return nil, fmt.Errorf("attribute value L must be an array")
			}
			out := make([]types.AttributeValue, len(l))
			for i, e := range l {
				a, err := attrFromJSON(e)
				if err != nil {
					return nil, err
				}
				out[i] = a
			}
			return &types.AttributeValueMemberL{Value: out}, nil
		case "M":
			item, err := itemFromJSON(x)
			if err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberM{Value: item}, nil
		default:
			return nil, fmt.Errorf("unknown attribute value type %q", typ)
		}
	}
	return nil, nil // unreachable: m has one key
}

// itemFromJSON converts a DynamoDB JSON item (attribute name to value).
func itemFromJSON(v any) (core.Item, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("an item must be an object, got %s", describe(v))
	}
	out := make(core.Item, len(m))
	for k, x := range m {
		a, err := attrFromJSON(x)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = a
	}
	return out, nil
}

// attrToJSON renders an attribute value as DynamoDB JSON.
func attrToJSON(a core.AttributeValue) any {
	switch a := a.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": a.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": a.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(a.Value)}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": a.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberSS:
		l := make([]any, len(a.Value))
		for i, s := range a.Value {
			l[i] = s
		}
		return map[string]any{"SS": l}
	case *types.AttributeValueMemberNS:
		l := make([]any, len(a.Value))
		for i, s := range a.Value {
			l[i] = s
		}
		return map[string]any{"NS": l}
	case *types.AttributeValueMemberBS:
		l := make([]any, len(a.Value))
		for i, b := range a.Value {
			l[i] = base64.StdEncoding.EncodeToString(b)
		}
		return map[string]any{"BS": l}
	case *types.AttributeValueMemberL:
		l := make([]any, len(a.Value))
		for i, e := range a.Value {
			l[i] = attrToJSON(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": itemToJSON(a.Value)}
	}
	return map[string]any{"NULL": true}
}

// itemToJSON renders an item as DynamoDB JSON.
func itemToJSON(it core.Item) map[string]any {
	out := make(map[string]any, len(it))
	for k, v := range it {
		out[k] = attrToJSON(v)
	}
	return out
}

// keyFromJSON reads a Key parameter: the framework's tables are keyed by
// the strings pk and sk, which the ItemStore port requires.
func keyFromJSON(v any) (core.Key, error) {
	item, err := itemFromJSON(v)
	if err != nil {
		return core.Key{}, err
	}
	return keyOf(item)
}

// keyOf extracts the pk/sk key of an item or key map.
func keyOf(item core.Item) (core.Key, error) {
	pk, ok1 := item["pk"].(*types.AttributeValueMemberS)
	sk, ok2 := item["sk"].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		names := make([]string, 0, len(item))
		for k := range item {
			names = append(names, k)
		}
		sort.Strings(names)
		return core.Key{}, fmt.Errorf("the provided key element does not match the schema (key attributes %v; tables served through the ItemStore port are keyed by the strings pk and sk)", names)
	}
	return core.Key{PK: pk.Value, SK: sk.Value}, nil
}

// keyToJSON renders a key as DynamoDB JSON.
func keyToJSON(k core.Key) map[string]any {
	return map[string]any{"pk": map[string]any{"S": k.PK}, "sk": map[string]any{"S": k.SK}}
}

// numberText accepts a number as DynamoDB JSON writes it (a string) or as
// a JSON number.
func numberText(x any) (string, error) {
	switch n := x.(type) {
	case string:
		if _, err := json.Number(n).Float64(); err != nil {
			return "", fmt.Errorf("attribute value N %q is not a number", n)
		}
		return n, nil
	case json.Number:
		return n.String(), nil
	case float64:
		return json.Number(fmt.Sprint(n)).String(), nil
	case int:
		return fmt.Sprint(n), nil
	case int64:
		return fmt.Sprint(n), nil
	}
	return "", fmt.Errorf("attribute value N must be a number string")
}

// decodeBinary decodes a base64 binary attribute.
func decodeBinary(x any) ([]byte, error) {
	s, ok := x.(string)
	if !ok {
		return nil, fmt.Errorf("attribute value B must be a base64 string")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("attribute value B is not base64: %v", err)
	}
	return b, nil
}

// describe names the JSON type of v for messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}
