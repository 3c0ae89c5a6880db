package importcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Row is one data row of a CSV file.
//
// Row numbers. Number counts the records after the header row, from 1:
// blank lines are not records and are not counted, and a record whose
// quoted field spans several lines is one row. A record that cannot be
// read (malformed quoting, a wrong number of fields, bytes that are not
// UTF-8) still has its number: it is a failed row, and the rows after it
// keep theirs. It is the Distributed Map's item index plus one, which is
// why both modes, and the interpreter's CSV reader, number rows alike.
// Line is the line of the file the record starts on (1 is the header's
// line), for people; it is only known where the file is read by this
// package (direct mode and the scan of step-function mode).
type Row struct {
	Number int
	Line   int
	// Header is the file's header (shared by every row; do not modify).
	Header []string
	// Fields are the row's values, one per header column.
	Fields []string
}

// Get returns the value of column name and whether the header has it.
func (r Row) Get(name string) (string, bool) {
	for i, h := range r.Header {
		if h == name {
			if i < len(r.Fields) {
				return r.Fields[i], true
			}
			return "", true
		}
	}
	return "", false
}

// Map returns the row as column name to value.
func (r Row) Map() map[string]string {
	m := make(map[string]string, len(r.Header))
	for i, h := range r.Header {
		if i < len(r.Fields) {
			m[h] = r.Fields[i]
		} else {
			m[h] = ""
		}
	}
	return m
}

// DefaultMaxRowBytes is the default of Settings.MaxRowBytes: the largest
// record a file may hold. A larger one — in practice a quoted field that
// is never closed and swallows the rest of the file — ends the file with a
// *FileError, so that a reader never holds more than this in memory.
const DefaultMaxRowBytes = 4 << 20

// Reader reads the rows of a CSV file (RFC 4180, UTF-8, comma-separated,
// header in the first row), with the rules both import modes share:
//
//   - a UTF-8 byte order mark before the header is dropped; lines may end
//     in CRLF or LF, mixed;
//   - the header's names are trimmed of white space; an empty name, a
//     duplicate name, or a header that is not UTF-8 text is a *FileError,
//     as is an empty file; a header and no rows is a file of no rows;
//   - quoting is strict (encoding/csv with LazyQuotes false): a bare quote
//     in an unquoted field, or text after a closing quote, fails its row
//     rather than being kept silently; a quoted field that is never closed
//     runs to the end of the file, which then holds no more rows;
//   - a row's number of fields is checked against the header by the
//     Reader (FieldsPerRecord -1), so a ragged row fails with a message
//     that says both counts, and never ends the file;
//   - a row with bytes that are not UTF-8 fails;
//   - values are kept as they are (not trimmed).
//
// Next returns each row, or a *RowError for a row that cannot be read, or
// io.EOF after the last row; a *FileError ends the file (a record larger
// than the limit, a read error).
type Reader struct {
	name    string
	cr      *csv.Reader
	guard   *guard
	header  []string
	raw     []string
	n       int
	max     int
	lastEnd int64
	err     error
}

// guard fails reads that get too far ahead of the last record boundary, so
// that an unterminated quoted field cannot make csv.Reader buffer a whole
// file.
type guard struct {
	r     io.Reader
	read  int64
	limit int64 // read may not pass limit
}

var errRowTooLarge = errors.New("record too large")

func (g *guard) Read(p []byte) (int, error) {
	if g.read >= g.limit {
		return 0, errRowTooLarge
	}
	if rest := g.limit - g.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

// NewReader reads the header of a CSV file from r and returns a Reader of
// its rows. name names the file in errors. maxRowBytes bounds a record (0:
// DefaultMaxRowBytes). A file that cannot be imported gives a *FileError.
func NewReader(r io.Reader, name string, maxRowBytes int) (*Reader, error) {
	if maxRowBytes <= 0 {
		maxRowBytes = DefaultMaxRowBytes
	}
	br := bufio.NewReaderSize(r, 64*1024)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	if head, _ := br.Peek(4096); !textLike(head) {
		return nil, &FileError{File: name, Line: 1, Reason: notText}
	}
	g := &guard{r: br, limit: int64(maxRowBytes) + 64*1024}
	cr := csv.NewReader(g)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	rd := &Reader{name: name, cr: cr, guard: g, max: maxRowBytes}
	rec, err := cr.Read()
	switch {
	case err == io.EOF:
		return nil, &FileError{File: name, Reason: "the file is empty: it has no header row"}
	case errors.Is(err, errRowTooLarge):
		return nil, &FileError{File: name, Line: 1, Reason: fmt.Sprintf("the header row is larger than %d bytes (an unterminated quoted field?)", maxRowBytes)}
	case err != nil:
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &FileError{File: name, Line: pe.StartLine, Reason: "the header row is malformed: " + parseReason(pe)}
		}
		return nil, &FileError{File: name, Reason: "cannot read the file", Err: err}
	}
	header := make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, h := range rec {
		if !utf8.ValidString(h) || strings.ContainsFunc(h, func(c rune) bool { return unicode.IsControl(c) && c != '\t' }) {
			return nil, &FileError{File: name, Line: 1, Reason: notText}
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, &FileError{File: name, Line: 1, Reason: fmt.Sprintf("column %d of the header has no name", i+1)}
		}
		if j, dup := seen[h]; dup {
			return nil, &FileError{File: name, Line: 1, Reason: fmt.Sprintf("the header names column %q twice (columns %d and %d)", h, j+1, i+1)}
		}
		seen[h] = i
		header[i] = h
	}
	rd.header = header
	rd.raw = append([]string(nil), rec...)
	rd.mark()
	return rd, nil
}

const notText = "the header row is not UTF-8 text (a binary file, or another encoding: save the file as UTF-8 CSV)"

// textLike reports whether the start of a file can be CSV text: no NUL
// byte in it, and its first line valid UTF-8.
func textLike(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	} else {
		// The peek may have cut a character in two.
		for n := 0; n < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); n++ {
			head = head[:len(head)-1]
		}
	}
	return utf8.Valid(head)
}

// mark records a record boundary: the guard may read up to the limit past
// it.
func (rd *Reader) mark() {
	rd.lastEnd = rd.cr.InputOffset()
	rd.guard.limit = rd.lastEnd + int64(rd.max) + 64*1024
}

// Header returns the header's column names (do not modify).
func (rd *Reader) Header() []string { return rd.header }

// RawHeader returns the header's names as the file spells them, before
// trimming: the keys of the Distributed Map's items (do not modify).
func (rd *Reader) RawHeader() []string { return rd.raw }

// Rows returns the number of rows read so far, failed ones included.
func (rd *Reader) Rows() int { return rd.n }

// Next returns the next row; a *RowError for a row that cannot be read
// (the next call goes on with the following row), with the row's number,
// line and, for a ragged row, its fields; io.EOF after the last row; a
// *FileError when the file cannot be read further.
func (rd *Reader) Next() (Row, error) {
	if rd.err != nil {
		return Row{}, rd.err
	}
	rec, err := rd.cr.Read()
	if err == io.EOF {
		rd.err = io.EOF
		return Row{}, io.EOF
	}
	if errors.Is(err, errRowTooLarge) {
		line, _ := rd.cr.FieldPos(0)
		rd.err = &FileError{File: rd.name, Line: line, Reason: fmt.Sprintf("row %d is larger than %d bytes (a quoted field that is never closed?): the file cannot be read past it", rd.n+1, rd.max)}
		return Row{}, rd.err
	}
	var pe *csv.ParseError
	if err != nil && !errors.As(err, &pe) {
		rd.err = &FileError{File: rd.name, Reason: fmt.Sprintf("cannot read row %d", rd.n+1), Err: err}
		return Row{}, rd.err
	}
	rd.n++
	defer rd.mark()
	if pe != nil {
		return Row{}, &RowError{Row: rd.n, Line: pe.StartLine, Reason: parseReason(pe), quoting: true}
	}
	line, _ := rd.cr.FieldPos(0)
	row := Row{Number: rd.n, Line: line, Header: rd.header, Fields: rec}
	if len(rec) != len(rd.header) {
		return row, &RowError{Row: rd.n, Line: line, Reason: fmt.Sprintf("the row has %d fields, the header has %d", len(rec), len(rd.header))}
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			row.Fields = nil
			return row, &RowError{Row: rd.n, Line: line, Reason: fmt.Sprintf("column %q is not UTF-8 text (save the file as UTF-8 CSV)", rd.header[i])}
		}
	}
	return row, nil
}

// parseReason explains a csv.ParseError in words.
func parseReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("a quote in an unquoted field (line %d, column %d): quote the whole field and double the quote (\"\")", pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine:
		return fmt.Sprintf("a quoted field opened on line %d is never closed: the rest of the file (to line %d) was read as this row", pe.StartLine, pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("text after a closing quote, or a quoted field never closed (line %d, column %d)", pe.Line, pe.Column)
	}
	return pe.Err.Error()
}

// quoteProblem reports whether err is a row error from malformed quoting,
// which the Distributed Map's reader may split differently.
func quoteProblem(err error) bool {
	var re *RowError
	return errors.As(err, &re) && re.quoting
}
