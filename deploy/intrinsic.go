package deploy

import (
	"encoding/base64"
	"encoding/json"
)

// CloudFormation intrinsic functions as string values.
//
// goformation's typed resources have string fields (TableName *string,
// FunctionName string, …). An intrinsic function is written into such a
// field as the base64 encoding of its JSON object, and goformation's
// intrinsics.ProcessJSON turns every string that decodes to exactly one
// intrinsic object back into that object when the template is rendered
// (Template.JSON). That is goformation's own convention (its cloudformation
// package encodes the same way); these helpers exist so that this package
// needs only the resource packages and intrinsics, not the root package,
// which compiles every one of the 250 AWS services.
//
// Intrinsics nest: an argument may be another encoded intrinsic, since
// ProcessJSON decodes recursively.

// encode returns the encoded intrinsic {name: arg}.
func encode(name string, arg any) string {
	b, err := json.Marshal(map[string]any{name: arg})
	if err != nil {
		panic("deploy: intrinsic " + name + ": " + err.Error()) // only strings and slices of strings are passed
	}
	return base64.StdEncoding.EncodeToString(b)
}

// ref is {"Ref": name}: a parameter's value or a resource's reference
// value (a table's name, a queue's URL, a function's name, …).
func ref(name string) string { return encode("Ref", name) }

// getAtt is {"Fn::GetAtt": [resource, attribute]}.
func getAtt(resource, attribute string) string {
	return encode("Fn::GetAtt", []string{resource, attribute})
}

// sub is {"Fn::Sub": s}: ${Param}, ${AWS::Region}, ${Resource.Attr}
// substituted.
func sub(s string) string { return encode("Fn::Sub", s) }

// join is {"Fn::Join": ["", parts]}: the parts (literals or intrinsics)
// concatenated. A part that is itself such a join is spliced in, and
// empty literals are dropped.
func join(parts ...string) string {
	var flat []string
	for _, p := range parts {
		if inner, ok := joined(p); ok {
			flat = append(flat, inner...)
		} else if p != "" {
			flat = append(flat, p)
		}
	}
	return encode("Fn::Join", []any{"", flat})
}

// joined returns the parts of an encoded {"Fn::Join": ["", parts]}.
func joined(s string) ([]string, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	var v struct {
		Join []json.RawMessage `json:"Fn::Join"`
	}
	if json.Unmarshal(b, &v) != nil || len(v.Join) != 2 || string(v.Join[0]) != `""` {
		return nil, false
	}
	var parts []string
	if json.Unmarshal(v.Join[1], &parts) != nil {
		return nil, false
	}
	return parts, true
}

// ifCond is {"Fn::If": [condition, then, else]}.
func ifCond(condition, then, otherwise string) string {
	return encode("Fn::If", []any{condition, then, otherwise})
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
