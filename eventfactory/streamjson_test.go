package eventfactory

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stepcqrs/stepcqrs/core"
)

// TestWireRecordMirrorsEvents keeps wireStreamRecord in step with
// aws-lambda-go: same field names, types (images aside) and JSON tags.
func TestWireRecordMirrorsEvents(t *testing.T) {
	images := map[string]bool{"Keys": true, "NewImage": true, "OldImage": true}
	var check func(want, got reflect.Type)
	check = func(want, got reflect.Type) {
		if want.NumField() != got.NumField() {
			t.Fatalf("%v has %d fields, %v has %d", want, want.NumField(), got, got.NumField())
		}
		for i := 0; i < want.NumField(); i++ {
			w, g := want.Field(i), got.Field(i)
			if w.Name != g.Name || w.Tag.Get("json") != g.Tag.Get("json") {
				t.Errorf("field %d: %s `%s` vs %s `%s`", i, w.Name, w.Tag.Get("json"), g.Name, g.Tag.Get("json"))
			}
			switch {
			case w.Name == "Change":
				check(w.Type, g.Type)
			case images[w.Name]:
				if g.Type != reflect.TypeOf(json.RawMessage(nil)) {
					t.Errorf("%s: %v", g.Name, g.Type)
				}
			case w.Type != g.Type:
				t.Errorf("%s: %v vs %v", w.Name, w.Type, g.Type)
			}
		}
	}
	check(reflect.TypeOf(events.DynamoDBEventRecord{}), reflect.TypeOf(wireStreamRecord{}))
}

// libImage decodes an image with aws-lambda-go's decoder, panics recovered.
func libImage(data []byte) (img map[string]events.DynamoDBAttributeValue, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	err = json.Unmarshal(data, &img)
	return img, err
}

// TestLibDecoderPanics documents why the dispatcher has its own parser:
// aws-lambda-go's attribute decoder panics on a binary set of numbers.
func TestLibDecoderPanics(t *testing.T) {
	in := []byte(`{"x": {"BS": [1]}}`)
	// The guard is checked whatever the library does.
	if _, err := parseImage(in); err == nil {
		t.Error("parseImage accepted a BS of numbers")
	}
	if _, err := libImage(in); err == nil || !strings.HasPrefix(err.Error(), "panic:") {
		t.Logf("aws-lambda-go no longer panics here (%v); the guard stays", err)
	}
}

// TestDecodeStreamMatchesLib: on every fixture image both decoders agree.
func TestDecodeStreamMatchesLib(t *testing.T) {
	files, err := filepath.Glob("testdata/dynamodb-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture matched: %v", err)
	}
	records := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		for i, raw := range ev.Records {
			mine, err := DecodeStreamRecord(raw)
			if err != nil {
				t.Fatalf("%s[%d]: %v", f, i, err)
			}
			var lib events.DynamoDBEventRecord
			if err := json.Unmarshal(raw, &lib); err != nil {
				t.Fatal(err)
			}
			a, err := json.Marshal(mine)
			if err != nil {
				t.Fatalf("%s[%d]: marshal mine: %v", f, i, err)
			}
			c, err := json.Marshal(lib)
			if err != nil {
				t.Fatalf("%s[%d]: marshal lib: %v", f, i, err)
			}
			var x, y any
			if err := json.Unmarshal(a, &x); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(c, &y); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(x, y) {
				t.Errorf("%s[%d]:\nmine %s\n lib %s", f, i, a, c)
			}
			records++
		}
	}
	if records == 0 {
		t.Fatal("no stream record compared")
	}
}

func TestParseImageErrors(t *testing.T) {
	for _, in := range []string{
		`[]`, `{"x": 1}`, `{"x": {}}`, `{"x": {"S": 1}}`, `{"x": {"S": "a", "N": "1"}}`,
		`{"x": {"S": "a", "S": "b"}}`, `{"x": {"NULL": false}}`, `{"x": {"NULL": "yes"}}`,
		`{"x": {"BOOL": "true"}}`, `{"x": {"B": "%%"}}`, `{"x": {"B": null}}`, `{"x": {"M": null}}`,
		`{"x": {"L": [1]}}`, `{"x": {"L": {}}}`, `{"x": {"SS": [1]}}`, `{"x": {"NS": "1"}}`,
		`{"x": {"BS": ["AQ==", 2]}}`, `{"x": {"Q": "a"}}`, `{"x": {"s": "a"}}`,
	} {
		_, err := parseImage(json.RawMessage(in))
		var ae *AttributeError
		if !errors.As(err, &ae) {
			t.Errorf("%s: %v", in, err)
		}
	}
	deep := `{"x": ` + repeat(`{"L": [`, 70) + `{"S": "a"}` + repeat(`]}`, 70) + `}`
	if _, err := parseImage(json.RawMessage(deep)); err == nil {
		t.Error("70 levels accepted")
	}
	for in, want := range map[string]int{`null`: -1, ``: -1, `{}`: 0, ` {"a": {"S": "\u00e9\"x"}} `: 1} {
		m, err := parseImage(json.RawMessage(in))
		if err != nil || (want < 0) != (m == nil) || (want >= 0 && len(m) != want) {
			t.Errorf("%q: %v %v", in, m, err)
		}
	}
	m, err := parseImage(json.RawMessage(`{"a": {"S": "\u00e9\"x"}, "b": {"S": "` + "\xff" + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := m["a"].(*types.AttributeValueMemberS).Value; s != "é\"x" {
		t.Errorf("escapes: %q", s)
	}
	if s := m["b"].(*types.AttributeValueMemberS).Value; s != "\uFFFD" {
		t.Errorf("invalid UTF-8: %q", s)
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestStreamImageRoundTrip(t *testing.T) {
	var ev struct{ Records []json.RawMessage }
	if err := json.Unmarshal(readFixture(t, "dynamodb-batch.json"), &ev); err != nil || len(ev.Records) == 0 {
		t.Fatalf("fixture: %d records, %v", len(ev.Records), err)
	}
	ds, err := decodeStream(ev.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	back, err := core.FromStreamImage(core.ToStreamImage(ds.newItem))
	if err != nil || !reflect.DeepEqual(back, ds.newItem) {
		t.Errorf("round trip: %v", err)
	}
	if core.ToStreamImage(nil) != nil {
		t.Error("nil item")
	}
}

// FuzzStreamImage compares the dispatcher's attribute parser with
// aws-lambda-go's decoder: whatever the parser accepts, aws-lambda-go
// accepts too, with the same values. (The parser is stricter: it rejects
// NULL other than true, repeated type keys, and never panics.)
func FuzzStreamImage(f *testing.F) {
	for _, s := range []string{
		`{"a": {"S": "x"}, "b": {"N": "1"}, "c": {"B": "AQI="}, "d": {"BOOL": true}, "e": {"NULL": true}}`,
		`{"m": {"M": {"l": {"L": [{"SS": ["a"]}, {"NS": ["1"]}, {"BS": ["AQ=="]}]}}}}`,
		`{"x": {"BS": [1]}}`, `{"x": {"NULL": false}}`, `{"\u0061": {"S": "\ud83d\ude00"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return // images reach the parser only after encoding/json validated them
		}
		mine, err := parseImage(data)
		if err != nil {
			return
		}
		lib, libErr := libImage(data)
		if libErr != nil {
			t.Fatalf("parser accepted what aws-lambda-go rejects (%v): %s", libErr, data)
		}
		conv, err := core.FromStreamImage(lib)
		if err != nil {
			t.Fatalf("lib image does not convert: %v", err)
		}
		if len(mine) == 0 && len(conv) == 0 {
			return
		}
		if !reflect.DeepEqual(mine, conv) {
			t.Fatalf("values differ for %s:\nmine %#v\n lib %#v", data, mine, conv)
		}
	})
}
