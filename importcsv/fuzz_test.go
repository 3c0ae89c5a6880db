package importcsv_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/core/memory"
	"github.com/stepcqrs/stepcqrs/importcsv"
)

// mapReader reads a CSV with the interpreter's Distributed Map (CSV
// ItemReader, FIRST_ROW): the items it would hand to the batches.
func mapReader(t *testing.T) func(body []byte) ([]map[string]string, bool) {
	def, err := asl.ParseAndValidate([]byte(`{"StartAt":"M","States":{"M":{"Type":"Map",
	  "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
	    "Parameters":{"Bucket":"b","Key":"k"}},
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
	  "End":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	objects := memory.NewObjects()
	if err := objects.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	eng, err := interp.New(def, interp.Options{Objects: objects, MaxPayloadBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return func(body []byte) ([]map[string]string, bool) {
		if err := objects.Put(context.Background(), "b", "k", body, ""); err != nil {
			t.Fatal(err)
		}
		res, err := eng.Run(context.Background(), json.RawMessage(`{}`))
		if err != nil || res.Status != interp.StatusSucceeded {
			return nil, false
		}
		var items []map[string]string
		if err := json.Unmarshal(res.Output, &items); err != nil {
			t.Fatalf("items %s: %v", res.Output, err)
		}
		return items, true
	}
}

// FuzzImportRows feeds arbitrary bytes to the row pipeline — the reader,
// then the default strategy's transform and entity — and checks that it
// never panics, that every record gets the next row number (a row or a
// row error, nothing dropped), and that the Distributed Map's reader of
// the interpreter numbers the rows of a well-quoted file alike, with the
// same values.
func FuzzImportRows(f *testing.F) {
	for _, s := range []string{
		"code,name\na,b\n", "\ufeffcode,name\r\na,b\nc,d\r\n", "code,name\na\nb,c,d\n", "code\n\"a\nb\"\n",
		"code,name\na,\"b\"c\n", "code,name\na,\"b\n", "", "code,code\n", "a,b\n\xff,x\n", "code\n\n\n1\n",
	} {
		f.Add([]byte(s))
	}
	read := mapReader(&testing.T{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := importcsv.NewReader(strings.NewReader(string(data)), "fuzz.csv", 1<<16)
		if err != nil {
			var fe *importcsv.FileError
			if !errors.As(err, &fe) || !errors.Is(err, importcsv.ErrFile) || fe.Reason == "" {
				t.Fatalf("NewReader: %v", err)
			}
			return
		}
		header := rd.RawHeader()
		var rows []importcsv.Row
		failed := map[int]bool{}
		quoting, fileErr := false, false
		for n := 1; ; n++ {
			row, err := rd.Next()
			if err == io.EOF {
				break
			}
			var fe *importcsv.FileError
			if errors.As(err, &fe) {
				fileErr = true
				break
			}
			if err != nil {
				var re *importcsv.RowError
				if !errors.As(err, &re) || re.Row != n || re.Reason == "" {
					t.Fatalf("row %d: %v", n, err)
				}
				quoting = quoting || strings.Contains(re.Reason, "quote")
				failed[n] = true
				rows = append(rows, row)
				continue
			}
			if row.Number != n || len(row.Fields) != len(header) {
				t.Fatalf("row %d: %+v", n, row)
			}
			a, err := importcsv.TransformAttributes(context.Background(), row)
			if err != nil || len(a) != len(header) {
				t.Fatalf("transform row %d: %v %v", n, a, err)
			}
			if e, err := importcsv.AttributesOf(a); err != nil || len(e) != len(a) {
				t.Fatalf("attributes of row %d: %v", n, err)
			}
			if _, err := core.Attributes(a).MarshalDynamoDBAttributeValue(); err != nil {
				t.Fatalf("row %d cannot be stored: %v", n, err)
			}
			rows = append(rows, row)
		}
		if rd.Rows() != len(rows) {
			t.Fatalf("Rows() %d, read %d", rd.Rows(), len(rows))
		}
		if quoting || fileErr || len(rows) > 64 {
			return // the scan refuses such files in step-function mode; long ones cost the fuzzer too much
		}
		items, ok := read(data)
		if !ok {
			t.Fatalf("the interpreter's reader failed a file this reader reads")
		}
		if len(items) != len(rows) {
			t.Fatalf("the interpreter reads %d rows, this reader %d", len(items), len(rows))
		}
		for i, row := range rows {
			if failed[i+1] {
				continue // the scan fails the row: only its number matters
			}
			for j, h := range header {
				if got, want := items[i][h], row.Fields[j]; got != want {
					t.Fatalf("row %d column %q: interpreter %q, reader %q", i+1, h, got, want)
				}
			}
		}
	})
}
