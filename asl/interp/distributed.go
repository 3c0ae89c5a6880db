package interp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/stepcqrs/stepcqrs/asl"
	"github.com/stepcqrs/stepcqrs/asl/jsonpath"
)

// ObjectStore is the S3-like store that a distributed Map's ItemReader reads
// from and its ResultWriter writes to. core.ObjectStore satisfies it.
type ObjectStore interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
}

// Integration ARNs of ItemReader and ResultWriter.
const (
	s3GetObjectARN = "arn:aws:states:::s3:getObject"
	s3PutObjectARN = "arn:aws:states:::s3:putObject"
)

// readerParams evaluates the Parameters of an ItemReader or ResultWriter.
func (sr *stateRun) readerParams(raw, args []byte, field string, eff any) (map[string]any, *StatesError) {
	var v any
	var serr *StatesError
	switch {
	case sr.jsonata && len(args) > 0:
		v, serr = sr.evalRaw(args, field+"/Arguments", sr.statesVar(eff, nil))
	case len(raw) == 0:
		return map[string]any{}, nil
	default:
		v, serr = sr.template(raw, eff)
	}
	if serr != nil {
		return nil, serr
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// readItems reads the items of a distributed Map from the object store.
func (sr *stateRun) readItems(ctx context.Context, eff any) ([]any, *StatesError) {
	r := sr.st.ItemReader
	store := sr.th.x.eng.opts.Objects
	fail := func(format string, args ...any) *StatesError {
		return newError(asl.ErrorItemReaderFailed, fmt.Sprintf(format, args...))
	}
	if r.Resource != s3GetObjectARN {
		return nil, fail("The ItemReader resource '%s' is not supported (only %s)", r.Resource, s3GetObjectARN)
	}
	if store == nil {
		return nil, fail("No object store is configured for the ItemReader")
	}
	params, serr := sr.readerParams(r.Parameters, r.Arguments, "ItemReader", eff)
	if serr != nil {
		return nil, serr
	}
	bucket, _ := params["Bucket"].(string)
	key, _ := params["Key"].(string)
	body, err := store.Get(ctx, bucket, key)
	if err != nil {
		return nil, fail("Unable to read s3://%s/%s: %v", bucket, key, err)
	}
	cfg := r.ReaderConfig
	if cfg == nil {
		cfg = &asl.ReaderConfig{InputType: asl.InputTypeJSON}
	}
	var items []any
	switch cfg.InputType {
	case asl.InputTypeCSV:
		items, err = readCSV(body, cfg)
	case asl.InputTypeJSONL:
		items, err = readJSONL(body)
	case asl.InputTypeJSON, "":
		var v any
		v, err = jsonpath.Decode(body)
		if err == nil {
			arr, ok := v.([]any)
			if !ok {
				err = fmt.Errorf("the JSON object must be an array, but was %s", jsonpath.TypeName(v))
			}
			items = arr
		}
	default:
		err = fmt.Errorf("InputType %q is not supported", cfg.InputType)
	}
	if err != nil {
		return nil, fail("Unable to read items from s3://%s/%s: %v", bucket, key, err)
	}
	maxItems := int64(0)
	if cfg.MaxItems != nil {
		maxItems, _ = cfg.MaxItems.Int64()
	} else if cfg.MaxItemsPath != "" {
		v, serr := sr.getFieldPath(cfg.MaxItemsPath, "MaxItemsPath", eff)
		if serr != nil {
			return nil, serr
		}
		maxItems, _ = intLike(v)
	}
	if maxItems > 0 && int64(len(items)) > maxItems {
		items = items[:maxItems]
	}
	return items, nil
}

// readCSV parses CSV rows into objects keyed by header, as Step Functions
// documents its CSV reader: a row with fewer fields than the header gets
// empty strings for the missing ones, a row with more has the extra ones
// skipped. Records are split as encoding/csv splits them with strict
// quoting (RFC 4180): a UTF-8 byte order mark is dropped, lines may end in
// CRLF or LF, blank lines are no records, a quoted field may span lines.
// Item i is the record i+1 after the header, which is how package
// importcsv numbers rows (its Reader reads with the same settings), so that
// an item's index names the same row in both. A record with malformed
// quoting fails the read (States.ItemReaderFailed) naming its row and line:
// how AWS's more lenient reader splits such a file is not documented, so
// the interpreter does not guess.
func readCSV(body []byte, cfg *asl.ReaderConfig) ([]any, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(body))
	switch cfg.CSVDelimiter {
	case "", "COMMA":
		cr.Comma = ','
	case "PIPE":
		cr.Comma = '|'
	case "SEMICOLON":
		cr.Comma = ';'
	case "SPACE":
		cr.Comma = ' '
	case "TAB":
		cr.Comma = '\t'
	default:
		return nil, fmt.Errorf("CSVDelimiter %q is not supported", cfg.CSVDelimiter)
	}
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	var headers []string
	if cfg.CSVHeaderLocation == asl.CSVHeaderGiven {
		headers = cfg.CSVHeaders
	} else {
		h, err := cr.Read()
		if err == io.EOF {
			return []any{}, nil
		}
		if err != nil {
			return nil, err
		}
		headers = append([]string(nil), h...)
	}
	items := []any{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(items)+1, err)
		}
		row := make(map[string]any, len(headers))
		for i, h := range headers {
			if i < len(rec) {
				row[h] = rec[i]
			} else {
				row[h] = ""
			}
		}
		items = append(items, row)
	}
	return items, nil
}

// readJSONL parses one JSON value per non-empty line.
func readJSONL(body []byte) ([]any, error) {
	items := []any{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		v, err := jsonpath.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		items = append(items, v)
	}
	return items, sc.Err()
}

// writeResults writes the results of a distributed Map as AWS does
// (SUCCEEDED_0.json, FAILED_0.json and manifest.json under
// Prefix/<map run id>/) and returns the state result
// {MapRunArn, ResultWriterDetails: {Bucket, Key}}.
func (sr *stateRun) writeResults(ctx context.Context, eff any, mapRunARN string, inputs, results []any, failedItems []bool) (any, *StatesError) {
	w := sr.st.ResultWriter
	store := sr.th.x.eng.opts.Objects
	fail := func(format string, args ...any) *StatesError {
		return newError(asl.ErrorResultWriterFailed, fmt.Sprintf(format, args...))
	}
	if w.Resource != s3PutObjectARN {
		return nil, fail("The ResultWriter resource '%s' is not supported (only %s)", w.Resource, s3PutObjectARN)
	}
	if store == nil {
		return nil, fail("No object store is configured for the ResultWriter")
	}
	params, serr := sr.readerParams(w.Parameters, w.Arguments, "ResultWriter", eff)
	if serr != nil {
		return nil, serr
	}
	bucket, _ := params["Bucket"].(string)
	prefix, _ := params["Prefix"].(string)
	runID := mapRunARN[strings.LastIndexByte(mapRunARN, ':')+1:]
	dir := runID
	if prefix != "" {
		dir = strings.TrimSuffix(prefix, "/") + "/" + runID
	}
	now := formatTime(sr.th.x.eng.opts.Clock.Now())
	var succeeded, failed []any
	for i, r := range results {
		entry := map[string]any{
			"ExecutionArn":    fmt.Sprintf("%s:%d", strings.Replace(mapRunARN, ":mapRun:", ":execution:", 1), i),
			"Input":           encodeJSON(inputs[i]),
			"InputDetails":    map[string]any{"Included": true},
			"Name":            fmt.Sprintf("%s-%d", runID, i),
			"RedriveCount":    jsonInt(0),
			"RedriveStatus":   "NOT_REDRIVABLE",
			"StartDate":       now,
			"StateMachineArn": sr.th.x.eng.StateMachineARN(),
			"StopDate":        now,
		}
		if m, ok := r.(map[string]any); ok && failedItems[i] {
			entry["Status"] = "FAILED"
			entry["Error"] = m["Error"]
			entry["Cause"] = m["Cause"]
			failed = append(failed, entry)
			continue
		}
		entry["Status"] = "SUCCEEDED"
		entry["Output"] = encodeJSON(r)
		entry["OutputDetails"] = map[string]any{"Included": true}
		succeeded = append(succeeded, entry)
	}
	files := map[string]any{"FAILED": []any{}, "PENDING": []any{}, "SUCCEEDED": []any{}}
	put := func(kind string, entries []any) *StatesError {
		if len(entries) == 0 {
			return nil
		}
		key := dir + "/" + kind + "_0.json"
		body := []byte(encodeJSON(entries))
		if err := store.Put(ctx, bucket, key, body, "application/json"); err != nil {
			return fail("Unable to write s3://%s/%s: %v", bucket, key, err)
		}
		files[kind] = []any{map[string]any{"Key": key, "Size": jsonInt(len(body))}}
		return nil
	}
	if serr := put("SUCCEEDED", succeeded); serr != nil {
		return nil, serr
	}
	if serr := put("FAILED", failed); serr != nil {
		return nil, serr
	}
	manifest := map[string]any{"DestinationBucket": bucket, "MapRunArn": mapRunARN, "ResultFiles": files}
	key := dir + "/manifest.json"
	if err := store.Put(ctx, bucket, key, []byte(encodeJSON(manifest)), "application/json"); err != nil {
		return nil, fail("Unable to write s3://%s/%s: %v", bucket, key, err)
	}
	return map[string]any{
		"MapRunArn":           mapRunARN,
		"ResultWriterDetails": map[string]any{"Bucket": bucket, "Key": key},
	}, nil
}
