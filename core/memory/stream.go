package memory

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stepcqrs/stepcqrs/core"
)

// ToStreamImage converts an item to the image form of a DynamoDB stream
// record (events.DynamoDBAttributeValue), deep-copying it.
func ToStreamImage(item core.Item) map[string]events.DynamoDBAttributeValue {
	if item == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = ToStreamValue(v)
	}
	return out
}

// ToStreamValue converts one attribute value to its stream-record form. A
// nil or unknown value becomes NULL.
func ToStreamValue(v core.AttributeValue) events.DynamoDBAttributeValue {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(x.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(x.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(bytes.Clone(x.Value))
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(x.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(slices.Clone(x.Value))
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(slices.Clone(x.Value))
	case *types.AttributeValueMemberBS:
		out := make([][]byte, len(x.Value))
		for i, b := range x.Value {
			out[i] = bytes.Clone(b)
		}
		return events.NewBinarySetAttribute(out)
	case *types.AttributeValueMemberL:
		out := make([]events.DynamoDBAttributeValue, len(x.Value))
		for i, e := range x.Value {
			out[i] = ToStreamValue(e)
		}
		return events.NewListAttribute(out)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(ToStreamImage(x.Value))
	}
	return events.NewNullAttribute()
}

// FromStreamImage converts a stream-record image back to an item. It fails
// on a value whose type is not set (a zero events.DynamoDBAttributeValue).
func FromStreamImage(image map[string]events.DynamoDBAttributeValue) (core.Item, error) {
	if image == nil {
		return nil, nil
	}
	out := make(core.Item, len(image))
	for k, v := range image {
		c, err := FromStreamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

// FromStreamValue converts one stream-record value to an attribute value.
func FromStreamValue(v events.DynamoDBAttributeValue) (out core.AttributeValue, err error) {
	defer func() {
		// The events accessors panic on a value whose payload does not
		// match its type, as the zero value's does.
		if r := recover(); r != nil {
			out, err = nil, &core.ValidationError{Problems: []string{fmt.Sprintf("malformed stream attribute value: %v", r)}}
		}
	}()
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		b := v.Binary()
		if b == nil {
			return nil, &core.ValidationError{Problems: []string{"stream attribute value has no type"}}
		}
		return &types.AttributeValueMemberB{Value: bytes.Clone(b)}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: slices.Clone(v.StringSet())}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: slices.Clone(v.NumberSet())}, nil
	case events.DataTypeBinarySet:
		bs := v.BinarySet()
		cp := make([][]byte, len(bs))
		for i, b := range bs {
			cp[i] = bytes.Clone(b)
		}
		return &types.AttributeValueMemberBS{Value: cp}, nil
	case events.DataTypeList:
		l := v.List()
		items := make([]core.AttributeValue, len(l))
		for i, e := range l {
			c, err := FromStreamValue(e)
			if err != nil {
				return nil, err
			}
			items[i] = c
		}
		return &types.AttributeValueMemberL{Value: items}, nil
	case events.DataTypeMap:
		m, err := FromStreamImage(v.Map())
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = core.Item{}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, &core.ValidationError{Problems: []string{fmt.Sprintf("unknown stream attribute type %d", v.DataType())}}
}
