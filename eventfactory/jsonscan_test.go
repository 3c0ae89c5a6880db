package eventfactory

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func addScanSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		var top struct{ Records []json.RawMessage }
		if json.Unmarshal(b, &top) == nil {
			for _, r := range top.Records {
				f.Add([]byte(r))
			}
		}
	}
	for _, s := range []string{
		`{"eventSource":"aws:sqs","EventSource":"aws:sns"}`,
		`{"eventSource":"","EventSource":"aws:sns"}`,
		`{"eventSource":"aws:sqs","eventSource":"aws:s3"}`,
		`{"eventSource":"aws:sqs","eventSource":null}`,
		`{"EVENTSOURCE":"aws:sqs"}`,
		`{"eventſource":"aws:sqs"}`,
		`{"event\u0053ource":"aws:sqs"}`,
		`{"eventSource":"aws:\u0073qs"}`,
		`{"eventSource":1}`,
		`{"a":[{"eventSource":"x"}],"eventSource":"aws:s3", "b" : {"c":"}"}}`,
		` [ ] `, `null`, `"s"`, `{}`,
		`{"Records":[]}`, `{"Records":null}`, `{"Records":[1, "a" ,{"x":[]},null,true]}`,
		`{"Records":[{}],"records":[{},{}]}`, `{"Records":[{}],"Records":[{},{}]}`,
		`{"Records":{}}`, `{"Recordſ":[{}]}`, ` {"x":1,"Records" : [ {"a":"\""} ] } `,
	} {
		f.Add([]byte(s))
	}
}

// FuzzScanEventSource checks scanEventSource against the encoding/json
// probe it stands in for: whenever it answers, the probe agrees.
func FuzzScanEventSource(f *testing.F) {
	addScanSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		name, ok := scanEventSource(data) // must not panic, even on invalid JSON
		if !json.Valid(data) || !ok {
			return
		}
		var p recordProbe
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("scanner read %q, encoding/json failed: %v", name, err)
		}
		want := p.Lower
		if want == "" {
			want = p.Upper
		}
		if name != want {
			t.Fatalf("scanner read %q, encoding/json %q", name, want)
		}
	})
}

// FuzzScanRecords checks scanRecords against decoding into
// struct{ Records []json.RawMessage }: whenever it answers, the decoder
// succeeds with the same records.
func FuzzScanRecords(f *testing.F) {
	addScanSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, ok := scanRecords(data)
		if !ok {
			return
		}
		var top struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(data, &top); err != nil {
			t.Fatalf("scanner split %d records, encoding/json failed: %v", len(recs), err)
		}
		if len(recs) != len(top.Records) {
			t.Fatalf("scanner split %d records, encoding/json %d", len(recs), len(top.Records))
		}
		for i := range recs {
			if !bytes.Equal(recs[i], top.Records[i]) {
				t.Fatalf("record %d: scanner %q, encoding/json %q", i, recs[i], top.Records[i])
			}
		}
	})
}

// FuzzScanStreamRecord checks scanStreamRecord against json.Unmarshal into
// wireStreamRecord: whenever it answers, the decoder succeeds with the same
// record.
func FuzzScanStreamRecord(f *testing.F) {
	addScanSeeds(f)
	for _, s := range []string{
		`{"eventSource":"aws:dynamodb","dynamodb":{"SequenceNumber":"1","SizeBytes":12,"ApproximateCreationDateTime":1.5,"Keys":null,"NewImage":{"a":{"S":"x"}}}}`,
		`{"dynamodb":{"SizeBytes":1.0}}`, `{"dynamodb":{"SizeBytes":-0}}`, `{"dynamodb":{"SizeBytes":99999999999999999999}}`,
		`{"dynamodb":{"ApproximateCreationDateTime":null}}`, `{"dynamodb":{"ApproximateCreationDateTime":"1"}}`,
		`{"dynamodb":{"Keys":1,"Keys":[2]}}`, `{"dynamodb":null}`, `{"dynamodb":{},"dynamodb":{}}`,
		`{"userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"}}`, `{"userIdentity":null}`,
		`{"eventName":"INSERT","eventName":"MODIFY","eventname":"x"}`, `{"eventName":"\u00e9\n"}`,
		`{"eventName":"` + "\xff" + `"}`, `{"dynamodb":{"sequenceNumber":"1"}}`,
		`{"dynamodb":{"ApproximateCreationDateTime":-1763700000}}`, `{"dynamodb":{"ApproximateCreationDateTime":999999999999999}}`,
		`{"dynamodb":{"ApproximateCreationDateTime":1234567890123456789}}`, `{"dynamodb":{"ApproximateCreationDateTime":-0}}`,
		`{"dynamodb":{"ApproximateCreationDateTime":1e3}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got wireStreamRecord
		ok := scanStreamRecord(data, &got) // must not panic, even on invalid JSON
		if !json.Valid(data) || !ok {
			return
		}
		var want wireStreamRecord
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("scanner decoded %+v, encoding/json failed: %v", got, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("scanner decoded\n%+v\nencoding/json\n%+v", got, want)
		}
	})
}

// FuzzValidJSON checks validJSON against json.Valid.
func FuzzValidJSON(f *testing.F) {
	addScanSeeds(f)
	for _, s := range []string{
		``, ` `, `0`, `-`, `-0`, `01`, `1.`, `1.e5`, `1e`, `1e+`, `1E-7`, `-1.5e+10`, `tru`, `truex`, `nul`, `[1,]`,
		`{"a":1,}`, `{"a" 1}`, `{1:2}`, `"\u00zz"`, `"\u00e9"`, `"\x"`, "\"\t\"", "\"\xff\"", `[[[]]]`, `{"a":[{"b":{}}]}`,
		`"\/\b\f\n\r\t\\\""`, `[1 2]`, `{}{}`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid %v", data, got, want)
		}
	})
}

func TestValidJSONDepth(t *testing.T) {
	for _, n := range []int{maxNestingDepth - 1, maxNestingDepth, maxNestingDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			closer := "]"
			if open != "[" {
				closer = "}"
			}
			b := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(closer, n))
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Fatalf("depth %d %s: validJSON %v, json.Valid %v", n, open, got, want)
			}
		}
	}
}

// TestScanStreamRecordKeys keeps scanStreamRecord's key lists in step with
// wireStreamRecord: a field it does not know would be silently dropped.
func TestScanStreamRecordKeys(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		keys []string
	}{
		{reflect.TypeOf(wireStreamRecord{}), wireRecordKeys},
		{reflect.TypeOf(wireStreamChange{}), wireChangeKeys},
	} {
		var tags []string
		for i := 0; i < c.typ.NumField(); i++ {
			tags = append(tags, strings.Split(c.typ.Field(i).Tag.Get("json"), ",")[0])
		}
		if !reflect.DeepEqual(tags, c.keys) {
			t.Errorf("%v: JSON keys %q, scanner knows %q", c.typ, tags, c.keys)
		}
	}
}
