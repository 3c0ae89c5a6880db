package eventfactory

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func readFixture(t testing.TB, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// subset reports where want is not contained in got: every key of every
// object in want must be in got with an equal value; arrays must match
// element by element. Decoders may add fields (e.g. urlDecodedKey); they may
// not lose or change any, except that a null, false, 0 or "" may be left
// out (Go decodes it as the zero value, which omitempty drops, and decoding
// the missing field gives the same value back), and except the paths in
// ignore: fields AWS sends that the aws-lambda-go type does not model.
func subset(path string, want, got any, ignore ...string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": not an object"}
		}
		var out []string
		for k, v := range w {
			if slices.Contains(ignore, path+"."+k) {
				continue
			}
			gv, ok := g[k]
			if !ok && (v == nil || v == false || v == 0.0 || v == "") {
				continue
			}
			if !ok {
				out = append(out, path+"."+k+": missing")
				continue
			}
			out = append(out, subset(path+"."+k, v, gv, ignore...)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path + ": array differs"}
		}
		var out []string
		for i := range w {
			out = append(out, subset(path+"["+string(rune('0'+i%10))+"]", w[i], g[i], ignore...)...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{path + ": " + jsonString(want) + " became " + jsonString(got)}
	}
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestGoldenRoundTrip decodes every well-formed fixture into its typed
// shape, encodes it again, and checks that nothing was lost or changed;
// then checks that a second round trip is exact.
func TestGoldenRoundTrip(t *testing.T) {
	cases := []struct {
		file   string
		source Source
		newV   func() any
		ignore []string // what the aws-lambda-go type does not model
	}{
		{"dynamodb-batch.json", SourceDynamoDB, func() any { return new(events.DynamoDBEvent) }, nil},
		{"sqs-batch.json", SourceSQS, func() any { return new(events.SQSEvent) }, nil},
		{"sqs-fifo-batch.json", SourceSQS, func() any { return new(events.SQSEvent) }, nil},
		{"sns.json", SourceSNS, func() any { return new(events.SNSEvent) }, nil},
		{"s3.json", SourceS3, func() any { return new(events.S3Event) }, nil},
		{"eventbridge.json", SourceEventBridge, func() any { return new(events.EventBridgeEvent) }, nil},
		{"sfn-task.json", SourceStepFunctions, func() any { return new(SFNPayload) }, nil},
		{"sfn-task-token.json", SourceStepFunctions, func() any { return new(SFNPayload) }, nil},
		{"sfn-task-map.json", SourceStepFunctions, func() any { return new(SFNPayload) }, nil},
		{"apigw-v1-rest.json", SourceAPIGatewayV1, func() any { return new(events.APIGatewayProxyRequest) }, nil},
		{"apigw-v2-http.json", SourceAPIGatewayV2, func() any { return new(events.APIGatewayV2HTTPRequest) }, nil},
		{"function-url.json", SourceFunctionURL, func() any { return new(events.LambdaFunctionURLRequest) },
			[]string{"$.routeKey", "$.requestContext.routeKey", "$.requestContext.stage"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw := readFixture(t, c.file)
			src, err := Detect(raw)
			if err != nil || src != c.source {
				t.Fatalf("Detect = %v, %v; want %v", src, err, c.source)
			}
			first := c.newV()
			if err := json.Unmarshal(raw, first); err != nil {
				t.Fatal(err)
			}
			enc, err := json.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(enc, &got); err != nil {
				t.Fatal(err)
			}
			for _, d := range subset("$", want, got, c.ignore...) {
				t.Error(d)
			}
			second := c.newV()
			if err := json.Unmarshal(enc, second); err != nil {
				t.Fatal(err)
			}
			enc2, err := json.Marshal(second)
			if err != nil {
				t.Fatal(err)
			}
			if string(enc) != string(enc2) {
				t.Errorf("second round trip differs:\n%s\n%s", enc, enc2)
			}
			if src, err := Detect(enc); err != nil || src != c.source {
				t.Errorf("Detect(re-encoded) = %v, %v", src, err)
			}
		})
	}
}

// TestSFNRoundTripExact: the Step Functions types are ours, so their round
// trip is exact.
func TestSFNRoundTripExact(t *testing.T) {
	for _, f := range []string{"sfn-task.json", "sfn-task-token.json", "sfn-task-map.json"} {
		raw := readFixture(t, f)
		var p SFNPayload
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var want, got any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: round trip differs:\n%s\n%s", f, raw, enc)
		}
	}
}

// TestDetectFixtures checks detection for every fixture, including the
// malformed ones.
func TestDetectFixtures(t *testing.T) {
	cases := map[string]struct {
		source Source
		err    error
	}{
		"bad-truncated.json":               {SourceUnknown, ErrMalformed},
		"bad-not-object.json":              {SourceUnknown, ErrMalformed},
		"bad-null.json":                    {SourceUnknown, ErrMalformed},
		"bad-unknown-shape.json":           {SourceUnknown, ErrUnknownSource},
		"bad-empty-records.json":           {SourceUnknown, ErrEmptyBatch},
		"bad-records-not-array.json":       {SourceUnknown, ErrMalformed},
		"bad-mixed-sources.json":           {SourceUnknown, ErrMixedSources},
		"bad-kinesis.json":                 {SourceUnknown, ErrUnknownSource},
		"bad-sfn-missing-context.json":     {SourceStepFunctions, ErrMalformed},
		"bad-sfn-context-null.json":        {SourceStepFunctions, nil},
		"bad-sfn-context-wrong-types.json": {SourceStepFunctions, nil},
		"bad-sfn-context-no-state.json":    {SourceStepFunctions, nil},
		"bad-dynamodb-base64.json":         {SourceDynamoDB, nil},
		"bad-dynamodb-null-false.json":     {SourceDynamoDB, nil},
		"bad-dynamodb-bs-panic.json":       {SourceDynamoDB, nil},
		"bad-dynamodb-huge-number.json":    {SourceDynamoDB, nil},
		"bad-dynamodb-wrong-types.json":    {SourceDynamoDB, nil},
		"bad-dynamodb-arn.json":            {SourceDynamoDB, nil},
		"bad-dynamodb-no-sequence.json":    {SourceDynamoDB, nil},
		"bad-sqs-wrong-types.json":         {SourceSQS, nil},
		"bad-sqs-body.json":                {SourceSQS, nil},
		"bad-sqs-no-message-id.json":       {SourceSQS, nil},
		"bad-sns-timestamp.json":           {SourceSNS, nil},
		"bad-sns-topic-arn.json":           {SourceSNS, nil},
		"bad-s3-wrong-types.json":          {SourceS3, nil},
		"bad-s3-key-escape.json":           {SourceS3, nil},
		"bad-eventbridge-time.json":        {SourceEventBridge, nil},
		"bad-eventbridge-detail.json":      {SourceEventBridge, nil},
		"bad-huge-number.json":             {SourceStepFunctions, nil},
		"bad-alb.json":                     {SourceUnknown, ErrUnknownSource},
		"bad-apigw-v1-wrong-types.json":    {SourceAPIGatewayV1, nil},
		"bad-apigw-v2-base64.json":         {SourceAPIGatewayV2, nil},
		"bad-function-url-no-method.json":  {SourceFunctionURL, nil},
	}
	files, _ := filepath.Glob("testdata/bad-*.json")
	if len(files) != len(cases) {
		t.Errorf("%d bad-*.json fixtures, %d cases: keep them in step", len(files), len(cases))
	}
	for name, c := range cases {
		src, err := Detect(readFixture(t, name))
		if src != c.source || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: Detect = %v, %v; want %v, %v", name, src, err, c.source, c.err)
		}
		if c.err == ErrMalformed {
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Errorf("%s: %T is not a *MalformedError", name, err)
			}
		}
		if c.err != nil && c.err != ErrMalformed {
			var se *SourceError
			if !errors.As(err, &se) {
				t.Errorf("%s: %T is not a *SourceError", name, err)
			}
		}
	}
}

func TestDetectMixedNamesSources(t *testing.T) {
	_, err := Detect(readFixture(t, "bad-mixed-sources.json"))
	var se *SourceError
	if !errors.As(err, &se) || !reflect.DeepEqual(se.Sources, []Source{SourceDynamoDB, SourceSQS}) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "dynamodb") {
		t.Errorf("message %q does not name the sources", err)
	}
}
